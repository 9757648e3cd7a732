#!/bin/sh
# Runs test_jwriter with a real full disk: a 2 MiB tmpfs in a private mount
# namespace, passed as JWRITER_FULL_DIR. Needs root (mount namespaces); other
# users get meson's skip code.
# Usage: jwriter_full.sh path/to/test_jwriter [seed]
test_bin=${1:?usage: jwriter_full.sh path/to/test_jwriter [seed]}
shift
if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	echo "SKIP: full-disk test needs root and mount namespaces"
	exit 77
fi
dir=$(mktemp -d /tmp/rostrum-full-XXXXXX) || exit 1
unshare -m sh -c 'mount -t tmpfs -o size=2m tmpfs "$1" && JWRITER_FULL_DIR="$1" exec "$2" "$3"' \
	sh "$dir" "$test_bin" "$@"
rc=$?
rmdir "$dir" 2>/dev/null
exit $rc
