#!/bin/sh
# Keeps the load generator from rotting: a real rostrum on loopback, five
# listeners and one speaker granted the floor for two seconds, and the
# report must show everyone connected and the speaker's packets delivered
# with their timing markers. Figures are not judged (see bench/README.md).
#   smoke.sh ROSTRUM LOADGEN
set -eu
rostrum=$1 loadgen=$2
tmp=$(mktemp -d /tmp/lg-smoke.XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
cat > "$tmp/config.json" <<JSON
{"rooms": [{"id": "bench", "title": "Bench", "open": true, "policy": {"recording": "off"}}]}
JSON
"$rostrum" --listen 127.0.0.1:0 --data "$tmp/data" --config "$tmp/config.json" \
	>"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 50); do
	grep -q 'listening on' "$tmp/out" 2>/dev/null && break
	sleep 0.1
done
port=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\)/.*|\1|p' "$tmp/out" | head -1)
[ -n "$port" ] || { echo "rostrum did not start"; cat "$tmp/err"; exit 1; }
tok=$("$rostrum" token --data "$tmp/data" --config "$tmp/config.json" --room bench \
	--role moderator --name Chair | sed 's/.*token=//')
"$loadgen" --server rostrum --ws "127.0.0.1:$port" --listeners 5 --speakers 1 --duration 2 \
	--idle 0.5 --chair-token "$tok" --server-pid "$pid" --json "$tmp/r.json" --label smoke
grep -q '"connected":6,' "$tmp/r.json" || { echo "not everyone connected"; exit 1; }
grep -q '"packets_lost":0,' "$tmp/r.json" || { echo "packets lost on loopback"; exit 1; }
grep -q '"markers_received":[1-9]' "$tmp/r.json" || { echo "no marked packet arrived"; exit 1; }
echo "smoke: ok"
