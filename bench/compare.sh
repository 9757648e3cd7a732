#!/bin/bash
# Runs one scenario against Rostrum and against Janus AudioBridge and prints
# both reports and the ratios. Everything happens inside a private network
# namespaces this script creates and removes: the servers' (unshare -n, lo
# up, 10.213.0.1 on one end of a veth pair) and the clients' (ip netns,
# 10.213.0.2 on the other end). Janus gathers no ICE candidates on
# loopback, hence the veth. Server and generator are pinned to separate cores
# with taskset and run under nice.
#
#   bench/compare.sh [LISTENERS] [SECONDS] [SPEAKERS]     (default 200 10 1)
#
# Environment: BUILD (default build-release, with bench/loadgen and
# server/rostrum built), SERVER_CPU / CLIENT_CPU (default 1 / 0), ONLY
# (rostrum or janus to run one), LOADGEN_ARGS (extra loadgen options, for
# example "--join-rate 100" or "--rooms 200 --speakers 0"), OUT (directory
# for the JSON reports, default a temporary one), PERF=1 (perf record -g on
# the server for the speaking window, into OUT/SERVER.perf.data), PERF_JOIN=S
# (the same for S seconds from the start of the joins, OUT/SERVER.join.perf.data),
# RPS=0 (leave each veth end's receive work where the kernel puts it: in the
# sender's context; by default the clients' end is steered to CLIENT_CPU and
# the servers' end to SERVER_CPU, as if they were separate machines).
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "${LG_IN_NETNS:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ] || ! unshare -n true 2>/dev/null; then
		echo "compare.sh needs root for a private network namespace" >&2
		exit 77
	fi
	LG_IN_NETNS=1 exec unshare -n "$0" "$@"
fi
# The clients get a namespace of their own: with both ends of the veth in
# one namespace, a socket bound to the interface (libnice's) sends towards an
# address the kernel owns itself and never resolves it.
cns=lgclients$$
ip link set lo up
ip link add lg0 type veth peer name lg1
ip netns add "$cns"
ip link set lg1 netns "$cns"
ip addr add 10.213.0.1/24 dev lg0
ip link set lg0 up
ip -n "$cns" addr add 10.213.0.2/24 dev lg1
ip -n "$cns" link set lo up
ip -n "$cns" link set lg1 up

# veth delivers a datagram in the sender's softirq, so without steering the
# clients' receive path (socket lookup, enqueue, wake-up) is charged to the
# server's core. RPS queues each end's receive work to the core of the side
# that owns it; the sender keeps all of its own send path.
cpumask() { printf '%x' $((1 << $1)); }
if [ "${RPS:-1}" != 0 ]; then
	unshare -m sh -c "mount -t sysfs none /sys && echo $(cpumask "${SERVER_CPU:-1}") > /sys/class/net/lg0/queues/rx-0/rps_cpus" ||
		echo "compare.sh: RPS on lg0 not set" >&2
	ip netns exec "$cns" sh -c "echo $(cpumask "${CLIENT_CPU:-0}") > /sys/class/net/lg1/queues/rx-0/rps_cpus" ||
		echo "compare.sh: RPS on lg1 not set" >&2
fi

N=${1:-200}
SECS=${2:-10}
K=${3:-1}
BUILD=${BUILD:-$here/build-release}
SCPU=${SERVER_CPU:-1}
CCPU=${CLIENT_CPU:-0}
ONLY=${ONLY:-}
NICE=${NICE:-10}   # both sides; a measured run on a shared machine wants -5 or lower
SRV=10.213.0.1
CLI=10.213.0.2
tmp=$(mktemp -d /tmp/lg-compare.XXXXXX)
OUT=${OUT:-$tmp}
mkdir -p "$OUT"
spid=
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null || true
	rm -rf "$tmp"
	ip netns del "$cns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM
ulimit -n 262144 2>/dev/null || true
run_loadgen() { # server port pid json extra...
	srv=$1 port=$2 pid=$3 json=$4
	shift 4
	if [ -n "${PERF_JOIN:-}" ]; then
		set -- "$@" --join-cmd "perf record -q -g -F 999 -p $pid -o $OUT/$srv.join.perf.data -- sleep $PERF_JOIN >/dev/null 2>&1"
	fi
	if [ -n "${PERF:-}" ]; then
		set -- "$@" --window-cmd "perf record -q -g -F 999 -p $pid -o $OUT/$srv.perf.data -- sleep $SECS >/dev/null 2>&1"
	fi
	ip netns exec "$cns" timeout $((SECS + 240)) taskset -c "$CCPU" nice -n "$NICE" ${LG_WRAP:-} "$BUILD/bench/loadgen" \
		--server "$srv" --ws "$SRV:$port" --local "$CLI" --listeners "$N" --speakers "$K" \
		--duration "$SECS" --server-pid "$pid" --label "compare" --json "$json" \
		${LOADGEN_ARGS---join-rate 50} "$@" | grep -v '^JSON '
}
wait_port() { # port
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/$SRV/$1") 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	echo "nothing listens on $SRV:$1" >&2
	return 1
}

# ---- Rostrum ----
if [ "$ONLY" != janus ]; then
	rooms='{"id": "bench", "title": "Bench", "open": true, "policy": {"floor": {"max_holders": 16, "limit_s": 0}, "recording": "off"}}'
	for i in $(seq 1 255); do
		rooms="$rooms, {\"id\": \"bench-$i\", \"title\": \"Bench $i\", \"open\": true, \"policy\": {\"recording\": \"off\"}}"
	done
	cat > "$tmp/rostrum.json" <<JSON
{"limits": {"max_connections": 100000, "max_room_members": 100000, "max_rooms": 300,
            "rate_per_sec": 100, "rate_burst": 200},
 "rooms": [$rooms]}
JSON
	taskset -c "$SCPU" nice -n "$NICE" "$BUILD/server/rostrum" --listen "$SRV:8080" \
		--data "$tmp/rdata" --config "$tmp/rostrum.json" >"$tmp/rostrum.log" 2>&1 &
	spid=$!
	wait_port 8080
	tok() { "$BUILD/server/rostrum" token --data "$tmp/rdata" --config "$tmp/rostrum.json" \
		--room bench --role "$1" --name "$2" | sed 's/.*token=//'; }
	run_loadgen rostrum 8080 "$spid" "$OUT/rostrum.json" --chair-token "$(tok moderator Chair)" \
		--captioner-token "$(tok captioner Captioner)"
	kill "$spid"; wait "$spid" 2>/dev/null || true
	spid=
fi

# ---- Janus AudioBridge: only that plugin and the WebSocket transport ----
if [ "$ONLY" != rostrum ]; then
	j=$tmp/janus
	mkdir -p "$j/plugins" "$j/transports" "$j/events" "$j/loggers"
	lib=/usr/lib/x86_64-linux-gnu/janus
	ln -s "$lib/plugins/libjanus_audiobridge.so" "$j/plugins/"
	ln -s "$lib/transports/libjanus_websockets.so" "$j/transports/"
	cat > "$j/janus.jcfg" <<JCFG
general: {
	configs_folder = "$j"
	plugins_folder = "$j/plugins"
	transports_folder = "$j/transports"
	events_folder = "$j/events"
	loggers_folder = "$j/loggers"
	debug_level = ${JANUS_DEBUG:-3}
	session_timeout = 120
}
media: {
	ipv6 = false
	rtp_port_range = "20000-60000"
}
nat: {
	ice_enforce_list = "$SRV"
	ice_lite = false
	ice_tcp = false
	full_trickle = false
	nice_debug = false
}
plugins: {
}
transports: {
}
events: {
	broadcast = false
}
JCFG
	cat > "$j/janus.transport.websockets.jcfg" <<JCFG
general: {
	json = "compact"
	ws = true
	ws_port = 8188
	ws_ip = "$SRV"
	wss = false
}
admin: {
	admin_ws = false
	admin_wss = false
}
JCFG
	cat > "$j/janus.plugin.audiobridge.jcfg" <<JCFG
general: {
}
JCFG
	taskset -c "$SCPU" nice -n "$NICE" janus -C "$j/janus.jcfg" -F "$j" -o >"$tmp/janus.log" 2>&1 &
	spid=$!
	wait_port 8188
	[ -n "${LG_DEBUG_NET:-}" ] && (sleep 4; ss -uanp > "$OUT/ss.txt"; cat /proc/net/snmp > "$OUT/snmp.txt") &
	run_loadgen janus 8188 "$spid" "$OUT/janus.json" || { tail -20 "$tmp/janus.log"; exit 1; }
	kill "$spid"; wait "$spid" 2>/dev/null || true
	spid=
	[ "$tmp" = "$OUT" ] || cp "$tmp/janus.log" "$OUT/janus.log"
fi

[ -n "$ONLY" ] && exit 0
/usr/bin/python3 - "$OUT/rostrum.json" "$OUT/janus.json" <<'PY'
import json, sys
r, j = (json.load(open(p)) for p in sys.argv[1:3])
def g(d, *path):
    for k in path:
        d = d[k]
    return d
rows = [("connected", ("connected",)), ("loss % (sequence gaps)", ("loss_pct",)),
        ("delivered % of 50/s", ("delivery", "pct_of_50_per_s")),
        ("latency p50 ms (tone onset)", ("onset_latency_ms", "p50")),
        ("latency p99 ms (tone onset)", ("onset_latency_ms", "p99")),
        ("media ready p99 ms", ("media_ready_ms", "p99")),
        ("server CPU idle %", ("server_cpu", "idle_pct")),
        ("server CPU speaking %", ("server_cpu", "active_pct")),
        ("us CPU per delivered packet", ("server_cpu", "us_per_delivered_packet")),
        ("RSS KiB per participant", ("server_rss_kib", "per_participant")),
        ("generator CPU %", ("extra", "generator_cpu_pct"))]
print("\n| %-30s | %12s | %12s | %14s |" % ("", "rostrum", "janus", "janus/rostrum"))
print("|---|---|---|---|")
for name, path in rows:
    a, b = g(r, *path), g(j, *path)
    ratio = "%.2fx" % (b / a) if a and a > 0 and b is not None and b >= 0 else "-"
    print("| %-30s | %12.3f | %12.3f | %14s |" % (name, a, b, ratio))
PY
