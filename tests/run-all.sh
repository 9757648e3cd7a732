#!/bin/sh
# Installs what the tests need, builds with warnings as errors and runs every
# meson test suite (unit, integration, sanitize, browser, fuzz).
set -eu
cd "$(dirname "$0")/.."
sh server/install-deps.sh test
if [ -f tests/browser/package-lock.json ]; then
	(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

builddir=${BUILDDIR:-build-test}
if [ -d "$builddir" ]; then
	meson setup --reconfigure "$builddir" -Dwerror=true
else
	meson setup "$builddir" -Dwerror=true
fi
meson compile -C "$builddir"
status=0
meson test -C "$builddir" --print-errorlogs --num-processes 2 || status=$?

# One closing line that counts what ran, whatever the runner prints above it.
/usr/bin/python3 - "$builddir/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif r == "SKIP":
        skipped += 1
    else:
        bad += 1
print("%d passed, %d failed, %d skipped" % (ok, bad, skipped))
PY
exit $status
