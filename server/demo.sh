#!/bin/sh
# Installs what the server needs, builds the server alone (-Dtests=false: no
# test, sanitizer or benchmark targets) and starts it with the embedded
# default: http://127.0.0.1:8080/ and the open demo room 'plenary'. Before it
# starts it prints a chair's (moderator's) join link, so the moderator view
# can be tried at once. Arguments go to the server (--listen, --data, --config).
set -eu
cd "$(dirname "$0")/.."
sh server/install-deps.sh
if [ -d build ]; then
	meson configure build -Dtests=false >/dev/null
else
	meson setup build -Dtests=false
fi
meson compile -C build server/rostrum

listen=127.0.0.1:8080 data=rostrum-data config=
prev=
for arg in "$@"; do
	case $prev in
	--listen) listen=$arg ;;
	--data) data=$arg ;;
	--config) config=$arg ;;
	esac
	case $arg in
	--listen=*) listen=${arg#*=} ;;
	--data=*) data=${arg#*=} ;;
	--config=*) config=${arg#*=} ;;
	esac
	prev=$arg
done
case $listen in *:0) ;; *)
	# The token command creates the server's secret when it is missing, as the server would.
	link=$(./build/server/rostrum token --data "$data" ${config:+--config "$config"} \
		--room plenary --role moderator --name Chair --ttl 86400 \
		--base-url "http://$listen/" 2>/dev/null) &&
		echo "moderator link (the chair of 'plenary', valid 24 hours): $link"
	;;
esac
exec ./build/server/rostrum "$@"
