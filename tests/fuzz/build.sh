#!/bin/sh
# Usage: tests/fuzz/build.sh BUILDDIR [run]
# Configures BUILDDIR as a clang build of the project and compiles the
# libFuzzer harnesses only (the rest of the tree is not built). With "run",
# also runs tests/fuzz/run.sh on each, two at a time, for $FUZZ_SECONDS each.
# Exits 77 (a skip for meson) when clang or its libFuzzer runtime is missing.
set -eu
dir=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
fuzz=$src/tests/fuzz
command -v clang >/dev/null 2>&1 || { echo "clang not installed: skipped"; exit 77; }
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return (int)(d && n); }\n' \
	>"$probe/p.c"
clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null ||
	{ echo "clang cannot link -fsanitize=fuzzer (libclang-rt-dev missing): skipped"; exit 77; }
if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" "$src" --buildtype=debugoptimized >"$probe/setup.log" ||
		{ cat "$probe/setup.log"; exit 1; }
fi
names=$(sed -n "/^fuzz_targets = \[/,/^\]/s/^ *'\([a-z_]*\)',*$/\1/p" "$fuzz/meson.build")
targets=
for n in $names; do targets="$targets tests/fuzz/fuzz_$n"; done
# shellcheck disable=SC2086 # one word per target
nice -n 10 meson compile -C "$dir" $targets
[ "${2:-}" = run ] || exit 0
# Two at a time: a failing harness fails the run, after the others have finished.
status=0
set -- $names
while [ $# -gt 0 ]; do
	a=$1; shift
	nice -n 10 "$fuzz/run.sh" "$dir/tests/fuzz/fuzz_$a" "$a" >"$dir/fuzz-$a.log" 2>&1 &
	pa=$!
	pb=
	if [ $# -gt 0 ]; then
		b=$1; shift
		nice -n 10 "$fuzz/run.sh" "$dir/tests/fuzz/fuzz_$b" "$b" >"$dir/fuzz-$b.log" 2>&1 &
		pb=$!
	fi
	wait $pa || { status=1; echo "FAIL $a"; tail -40 "$dir/fuzz-$a.log"; }
	[ -z "$pb" ] || wait $pb || { status=1; echo "FAIL $b"; tail -40 "$dir/fuzz-$b.log"; }
done
for n in $names; do
	printf '%-8s %s\n' "$n" "$(grep -a -m1 '^Done\|^#[0-9]*.*DONE' "$dir/fuzz-$n.log" || true)"
done
exit $status
