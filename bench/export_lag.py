"""Transcript store benchmark: loop lag and a bystander's worst ping wait while a
100,000-record journal is exported (JSON, VTT, SRT, TXT over HTTP), and RSS growth
per join/leave and per floor.request/cancel cycle. Runs each given binary in the
same run, so the figures compare within one machine state.

  /usr/bin/python3 bench/export_lag.py --bin NEW [--bin OLD ...] [--records 100000]
"""
import argparse
import asyncio
import concurrent.futures
import json
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))


def fetch_timed(url):
    """(status or an error name, bytes received, seconds): the old build may break off."""
    import urllib.request
    t = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=300) as r:
            return r.status, len(r.read()), time.monotonic() - t
    except Exception as e:  # noqa: BLE001 - the failure is the figure
        return type(e).__name__, 0, time.monotonic() - t


async def pings(server, stop, waits):
    """A bystander pinging every 50 ms; a reply that takes 60 s still counts."""
    import rs
    import test_store as T
    c = await rs.Client.connect(server)
    pid = server.proc.pid
    while not stop.is_set():
        w0, s0, t = T.cpu_wait(pid), T.cpu_wait("self"), time.monotonic()
        await c.request("ping", timeout=60)
        queued = (T.cpu_wait(pid) - w0) + (T.cpu_wait("self") - s0)
        waits.append((time.monotonic() - t, max(0.0, time.monotonic() - t - queued)))
        await asyncio.sleep(0.05)
    await c.close()


def export_run(bin_path, n_records):
    os.environ["ROSTRUM_BIN"] = bin_path
    import rs
    import test_store as T
    rs.BIN = T.BIN = bin_path
    recs, n_captions = T.meeting(n_records)
    tmp = tempfile.TemporaryDirectory(prefix="rostrum-bench-")
    data = os.path.join(tmp.name, "data")
    os.makedirs(os.path.join(data, "journal"))
    with open(os.path.join(data, "journal", "plenary.rsj"), "wb") as f:
        f.write(T.journal_bytes(recs))
    s = rs.Server(data=data)
    out = {}
    try:
        tok = s.token("plenary", "observer", "Archivist")
        base = s.http + "/api/rooms/plenary/transcript.%s?token=" + tok

        async def go():
            stop, waits = asyncio.Event(), []
            pinger = asyncio.create_task(pings(s, stop, waits))
            await asyncio.sleep(0.5)
            loop = asyncio.get_running_loop()
            with concurrent.futures.ProcessPoolExecutor(1) as pool:
                for fmt in ("json", "vtt", "srt", "txt"):
                    out[fmt] = await loop.run_in_executor(pool, fetch_timed, base % fmt)
            await asyncio.sleep(0.5)
            stop.set()
            await pinger
            return waits

        waits = asyncio.run(go())
        out["worst_ping_ms"] = max(w[0] for w in waits) * 1000
        out["worst_ping_less_cpu_wait_ms"] = max(w[1] for w in waits) * 1000
        out["pings"] = len(waits)
        out["lag_max_ms"] = T.metric(s, "rostrum_loop_lag_max_ms")
    finally:
        s.close()
        tmp.cleanup()
    return out


def churn_run(bin_path):
    import rs
    import test_store as T
    s = rs.Server(config=T.OPEN_ROOMS)

    async def go():
        chair = await rs.Client.connect(s, check=False)
        await chair.ok("join", room="panel", token=s.token("panel", "moderator", "Chair"))
        clients = [await rs.Client.connect(s, check=False) for _ in range(20)]
        await T.churn(s, clients, 200, "join")
        a = T.rss_kb(s.proc.pid)
        await T.churn(s, clients, 1000, "join")
        b = T.rss_kb(s.proc.pid)
        for i, c in enumerate(clients):
            await c.ok("join", room="panel", name="Speaker %d" % i)
        await T.churn(s, clients, 1000, "floor")
        c0 = T.rss_kb(s.proc.pid)
        await T.churn(s, clients, 1000, "floor")
        d = T.rss_kb(s.proc.pid)
        for c in clients + [chair]:
            await c.close()
        return a, b, c0, d
    try:
        a, b, c0, d = asyncio.run(go())
    finally:
        s.close()
    return {"join_b_per_cycle": (b - a) * 1024 / 1000, "floor_b_per_cycle": (d - c0) * 1024 / 1000,
            "rss_kb": (a, b, c0, d)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True)
    ap.add_argument("--records", type=int, default=100_000)
    args = ap.parse_args()
    rows = []
    for b in args.bin:
        e = export_run(b, args.records)
        c = churn_run(b)
        rows.append((b, e, c))
        print(b, json.dumps({**e, **c}), flush=True)
    print()
    print("| binary | JSON size | JSON / VTT / SRT / TXT export time (s) | loop lag max (ms) "
          "| bystander worst ping (ms) | ... less CPU wait (ms) | RSS per join/leave (B) "
          "| RSS per request/cancel (B) |")
    print("|---|---|---|---|---|---|---|---|")
    for b, e, c in rows:
        times = " / ".join("%.2f%s" % (e[f][2], "" if e[f][0] == 200 else " (%s)" % e[f][0])
                           for f in ("json", "vtt", "srt", "txt"))
        print("| %s | %.1f MB | %s | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            b, max(e[f][1] for f in ("json", "vtt")) / 1e6, times, e["lag_max_ms"] or 0,
            e["worst_ping_ms"], e["worst_ping_less_cpu_wait_ms"], c["join_b_per_cycle"],
            c["floor_b_per_cycle"]))


if __name__ == "__main__":
    main()
