#!/bin/sh
# Installs (as root, on Debian 12) the packages that build the server; with
# "test", also those the test suites use. Does nothing for other users.
set -eu
[ "$(id -u)" = 0 ] || exit 0
export DEBIAN_FRONTEND=noninteractive
build="gcc meson ninja-build pkg-config libwebsockets-dev libwebsockets-evlib-ev libev-dev libjansson-dev libssl-dev
	libsrtp2-dev libopus-dev libogg-dev"
test="python3 python3-websockets python3-pytest python3-webvtt python3-jsonschema
	chromium opus-tools sox iproute2 util-linux openssl ca-certificates
	clang libclang-rt-14-dev"
apt-get update -q
# shellcheck disable=SC2086 # the lists are meant to split into words
if [ "${1:-}" = test ]; then
	apt-get install -y -q --no-install-recommends $build $test
	command -v npm >/dev/null 2>&1 || apt-get install -y -q --no-install-recommends nodejs npm
else
	apt-get install -y -q --no-install-recommends $build
fi
