#!/bin/sh
# Usage: run.sh HARNESS NAME [SECONDS]
# Replays tests/fuzz/regress/NAME (each must pass), then fuzzes NAME for
# SECONDS (default $FUZZ_SECONDS or 8) from its committed corpus with its
# dictionary. New inputs and any crash go to a work dir beside the harness,
# never into the source tree. Exits non-zero on any crash, leak or timeout.
set -eu
exe=$1 name=$2 secs=${3:-${FUZZ_SECONDS:-8}}
src=${FUZZ_SOURCE:-$(cd "$(dirname "$0")" && pwd)}
work=$(dirname "$exe")/work-$name
rm -rf "$work"
mkdir -p "$work/corpus"
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -d "$src/regress/$name" ]; then
	echo "== $name: regression inputs"
	"$exe" -rss_limit_mb=2048 "$src/regress/$name"/*
fi
echo "== $name: fuzzing for ${secs}s"
"$exe" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict="$src/dict/$name.dict" -artifact_prefix="$work/" \
	"$work/corpus" "$src/corpus/$name"
