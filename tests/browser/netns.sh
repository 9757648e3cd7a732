#!/bin/sh
# Runs a command in a private network namespace with lo up and a veth pair
# whose ends both stay inside (10.213.0.1 and 10.213.0.2): Chromium gathers
# no ICE candidates on loopback, so media tests need a real interface, and
# this keeps every packet inside the namespace. Needs root (unshare -n).
set -eu
if [ "${ROSTRUM_IN_NETNS:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "SKIP: media tests need root for a private network namespace"
		exit 77
	fi
	ROSTRUM_IN_NETNS=1 exec unshare -n "$0" "$@"
fi
ip link set lo up
ip link add rs0 type veth peer name rs1
ip addr add 10.213.0.1/24 dev rs0
ip addr add 10.213.0.2/24 dev rs1
ip link set rs0 up
ip link set rs1 up
exec "$@"
