#!/bin/sh
# Installs what the server needs, builds it and starts it with the embedded
# default: http://127.0.0.1:8080/ and the open demo room 'plenary'.
set -eu
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" = 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends \
		gcc meson ninja-build pkg-config \
		libwebsockets-dev libjansson-dev libssl-dev libsrtp2-dev \
		libopus-dev libopusenc-dev libspeexdsp-dev
fi
[ -d build ] || meson setup build
meson compile -C build
exec ./build/server/rostrum "$@"
