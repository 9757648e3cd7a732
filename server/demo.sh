#!/bin/sh
# Installs what the server needs, builds it and starts it with the embedded
# default: http://127.0.0.1:8080/ and the open demo room 'plenary'.
set -eu
cd "$(dirname "$0")/.."
sh server/install-deps.sh
[ -d build ] || meson setup build
meson compile -C build
exec ./build/server/rostrum "$@"
