#!/usr/bin/python3
"""Join storm and loop wake-up cost on the signaling side, against a real rostrum.

  join storm: N WebSocket clients (spread over worker processes so that the
  clients are not the bottleneck) open their sockets, wait at a barrier, and
  all send `join` within the same few milliseconds. Each keeps reading until
  the end. Reported: joined, refused (connection failed), dropped (closed by
  the server), join time p50/p99/max (send to result), roster messages a
  member received, the server's CPU time and RSS.

  wake-up: N idle joined sockets, then one client sends pings one after the
  other; the server's CPU time per ping is the cost of one loop wake-up with
  N sockets open (poll() walks them all, epoll does not).

Usage:
  /usr/bin/python3 bench/join_storm.py --bin build-release/server/rostrum \
      --client-bin build-release/bench/storm_client \
      --storm 1000 2000 5000 [--loop poll|epoll] [--wakeup 5000] [--client python]
"""
import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time

import websockets

SUBPROTOCOL = "rostrum.v1"


def start_server(binary, loop, extra_cfg=None):
    tmp = tempfile.mkdtemp(prefix="rostrum-bench-")
    cfg = {"rooms": [{"id": "plenary", "title": "Plenary", "open": True}],
           "limits": {"max_connections": 20000, "max_room_members": 20000}}
    if extra_cfg:
        cfg["limits"].update(extra_cfg)
    path = os.path.join(tmp, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    env = dict(os.environ)
    if loop == "poll":
        env["ROSTRUM_LOOP"] = "poll"
    proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--data",
                             os.path.join(tmp, "data"), "--config", path],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    line = proc.stdout.readline()
    m = re.search(r":(\d+)/", line)
    if not m:
        raise SystemExit("server did not start: %r" % line)
    return proc, "ws://127.0.0.1:%s/ws" % m.group(1)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


# ---- a worker process: n clients ---------------------------------------------------------

async def client(url, name, go_at, settle_s, out):
    try:
        ws = await websockets.connect(url, subprotocols=[SUBPROTOCOL], max_size=2 ** 24,
                                      open_timeout=60, ping_interval=None)
    except Exception:
        out["refused"] += 1
        return
    await asyncio.sleep(max(0, go_at - time.time()))
    t0 = time.monotonic()
    roster = 0
    try:
        await ws.send(json.dumps({"type": "join", "id": 1, "room": "plenary", "name": name}))
        end = None
        while True:
            timeout = 1.0 if end is None else max(0.01, end - time.monotonic())
            try:
                msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            except asyncio.TimeoutError:
                if end is not None and time.monotonic() >= end:
                    break
                continue
            if msg.get("re") == 1:
                out["join_ms"].append((time.monotonic() - t0) * 1000)
                end = time.monotonic() + settle_s
            elif msg.get("type", "").startswith("roster."):
                roster += 1
    except websockets.ConnectionClosed as e:
        out["dropped"] += 1
        out["codes"][str(e.code)] = out["codes"].get(str(e.code), 0) + 1
        return
    out["roster"].append(roster)
    await ws.close()


def worker(url, first, n, go_at, settle_s, q):
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1:] * 2)
    out = {"join_ms": [], "roster": [], "refused": 0, "dropped": 0, "codes": {}}

    async def main():
        await asyncio.gather(*(client(url, "P%d" % (first + i), go_at, settle_s, out)
                               for i in range(n)))
    asyncio.run(main())
    q.put(out)


def pct(v, p):
    if not v:
        return float("nan")
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p / 100))]


def storm(binary, loop, n, procs, settle_s):
    proc, url = start_server(binary, loop)
    try:
        cpu0 = cpu_s(proc.pid)
        q = mp.Queue()
        go_at = time.time() + 3 + n / 1500  # time for every socket to open first
        per = (n + procs - 1) // procs
        ws = []
        for i in range(procs):
            k = min(per, n - i * per)
            if k <= 0:
                break
            p = mp.Process(target=worker, args=(url, i * per, k, go_at, settle_s, q))
            p.start()
            ws.append(p)
        outs = [q.get() for _ in ws]
        for p in ws:
            p.join()
        cpu = cpu_s(proc.pid) - cpu0
        rss = rss_kib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    join_ms = [x for o in outs for x in o["join_ms"]]
    roster = [x for o in outs for x in o["roster"]]
    codes = {}
    for o in outs:
        for c, k in o["codes"].items():
            codes[c] = codes.get(c, 0) + k
    return {"loop": loop, "clients": n, "joined": len(join_ms),
            "refused": sum(o["refused"] for o in outs),
            "dropped": sum(o["dropped"] for o in outs), "close_codes": codes,
            "join_p50_ms": round(pct(join_ms, 50), 1), "join_p99_ms": round(pct(join_ms, 99), 1),
            "join_max_ms": round(max(join_ms) if join_ms else float("nan"), 1),
            "roster_msgs_per_member_p50": pct(roster, 50),
            "server_cpu_s": round(cpu, 2), "server_rss_mib": round(rss / 1024, 1)}


def storm_c(binary, loop, n, settle_s, client_bin):
    """The same storm from storm_client (C, one epoll loop): the server's latency, not Python's."""
    proc, url = start_server(binary, loop)
    port = url.split(":")[2].split("/")[0]
    try:
        cpu0 = cpu_s(proc.pid)
        out = subprocess.run([client_bin, port, "plenary", str(n), str(settle_s)],
                             capture_output=True, text=True, timeout=300)
        cpu = cpu_s(proc.pid) - cpu0
        rss = rss_kib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    r = json.loads(out.stdout)
    r.update({"loop": loop, "server_cpu_s": round(cpu, 2), "server_rss_mib": round(rss / 1024, 1)})
    return r


# ---- wake-up cost ------------------------------------------------------------------------

async def idle_then_ping(url, n, pings):
    socks = []
    for i in range(n):
        ws = await websockets.connect(url, subprotocols=[SUBPROTOCOL], max_size=2 ** 24,
                                      open_timeout=60, ping_interval=None)
        socks.append(ws)
    pinger = await websockets.connect(url, subprotocols=[SUBPROTOCOL], ping_interval=None)
    return socks, pinger


def wakeup(binary, loop, n, pings):
    proc, url = start_server(binary, loop)
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1:] * 2)

    async def main():
        socks, pinger = await idle_then_ping(url, n, pings)
        await asyncio.sleep(1.0)
        cpu0, t0 = cpu_s(proc.pid), time.monotonic()
        for i in range(pings):
            await pinger.send(json.dumps({"type": "ping", "id": i}))
            await pinger.recv()
            if i % 15 == 14:
                await asyncio.sleep(0.8)  # stay under the rate limit (20/s, burst 40)
        cpu = cpu_s(proc.pid) - cpu0
        wall = time.monotonic() - t0
        for ws in socks + [pinger]:
            await ws.close()
        return cpu, wall
    try:
        cpu, wall = asyncio.run(main())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    # Each ping is at least two wake-ups (the request in, the answer out).
    return {"loop": loop, "idle_sockets": n, "pings": pings,
            "server_cpu_per_ping_us": round(cpu / pings * 1e6, 1),
            "server_cpu_s": round(cpu, 3), "wall_s": round(wall, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/server/rostrum")
    ap.add_argument("--loop", choices=["epoll", "poll"], default="epoll")
    ap.add_argument("--storm", type=int, nargs="*", default=[])
    ap.add_argument("--procs", type=int, default=4)
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--wakeup", type=int, default=0, help="idle sockets for the wake-up test")
    ap.add_argument("--pings", type=int, default=300)
    ap.add_argument("--client", choices=["c", "python"], default="c")
    ap.add_argument("--client-bin", default=os.path.join(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), "build", "bench", "storm_client"))
    a = ap.parse_args()
    for n in a.storm:
        if a.client == "c":
            r = storm_c(a.bin, a.loop, n, a.settle, a.client_bin)
        else:
            r = storm(a.bin, a.loop, n, a.procs, a.settle)
        print(json.dumps(r), flush=True)
    if a.wakeup:
        print(json.dumps(wakeup(a.bin, a.loop, a.wakeup, a.pings)), flush=True)


if __name__ == "__main__":
    sys.exit(main())
