"""The transcript store under load: exports of a 100,000-record journal streamed
while a bystander pings, memory after join/leave and floor churn, and the open
caption lines of captioning software in live, shutdown and offline exports."""
import asyncio
import concurrent.futures
import json
import os
import signal
import struct
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

from rs import BIN, Client, Server

try:
    import crcmod.predefined
    _crc32c = crcmod.predefined.mkCrcFun("crc-32c")
except ImportError:  # the pure form: slower, same result
    _TABLE = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        _TABLE.append(c)

    def _crc32c(data, crc=0):
        crc ^= 0xFFFFFFFF
        for b in data:
            crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
        return crc ^ 0xFFFFFFFF

T0 = 1425376800000  # 2015-03-03T10:00:00Z, the MAG virtual meeting
N_RECORDS = 100_000
ASAN = "asan" in os.path.basename(BIN)
DATA = os.path.join(os.environ.get("ROSTRUM_SOURCE", "."), "..", "..", "shared", "data")
# A small request table, so the floor's bounded history of finished requests fills
# during the warm-up and what is measured after is only what churn would leak.
OPEN_ROOMS = {"rooms": [{"id": "panel", "title": "Panel", "open": True,
                         "policy": {"floor": {"max_requests": 40}}}],
              "limits": {"rate_per_sec": 2000, "rate_burst": 2000, "max_connections": 200}}


def run(coro):
    return asyncio.run(coro)


def journal_bytes(records):
    """A journal file in the real format (server/journal.h): header, then framed records."""
    head = b"\x89RSJRNL\n" + struct.pack("<I", 1)
    out = [head + struct.pack("<I", _crc32c(head))]
    for r in records:
        p = json.dumps(r, separators=(",", ":"), ensure_ascii=False).encode()
        ln = struct.pack("<I", len(p))
        out.append(ln + struct.pack("<I", _crc32c(p, _crc32c(ln))) + p)
    return b"".join(out)


def sentences():
    path = os.path.join(DATA, "igf-rio-2007-synthesis-paper.txt")
    if not os.path.exists(path):
        path = "/work/shared/data/igf-rio-2007-synthesis-paper.txt"
    text = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
    out = [s.strip() for s in text.replace("\n", " ").split(". ") if 20 < len(s.strip()) < 300]
    return out or ["The forum is a space for dialogue among all stakeholders"]


def meeting(n):
    """n records of a long plenary: captions mostly, floor events, joins and leaves."""
    said = sentences()
    people = [("Jānis Kārkliņš", "government"), ("Chengetai Masango", "intergovernmental"),
              ("María Victoria Caballero Romero", "civil_society"),
              ("Juan Alfonso Fernández González", "private_sector"),
              ("Adrián Quesada Rodríguez", "technical")]
    recs = [{"kind": "session", "t": T0, "room": "plenary", "title": "MAG virtual meeting",
             "started_at": T0, "langs": ["en"]}]
    captions = 0
    t = T0
    while len(recs) < n:
        i = len(recs)
        t += 700
        name, group = people[i % len(people)]
        k = i % 10
        if k < 7:
            captions += 1
            recs.append({"kind": "caption", "t": t, "t0": t - 500, "seq": captions, "lang": "en",
                         "text": said[i % len(said)], "speaker": {"name": name, "group": group},
                         "captioner": "CART", "captioner_id": "p1"})
        elif k < 9:
            recs.append({"kind": "floor", "t": t, "event": ("requested", "granted")[k - 7],
                         "name": name, "group": group, "request": i})
        else:
            recs.append({"kind": ("join", "leave")[i // 10 % 2], "t": t, "name": name,
                         "role": "participant", "group": group})
    return recs, captions


def fetch(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read()


def fetch_summary(url):
    """What the checks need of an export, computed in the downloading process, so the
    pinger's process never spends time taking megabytes in."""
    import hashlib
    status, headers, body = fetch(url)
    out = {"status": status, "headers": {k.lower(): v for k, v in headers.items()},
           "len": len(body), "sha": hashlib.sha256(body).hexdigest(),
           "cues": body.count(b" --> "), "head": body[:64].decode(errors="replace")}
    if out["headers"].get("content-type") == "application/json":
        doc = json.loads(body)
        out.update(captions=len(doc["captions"]), participants=len(doc["participants"]),
                   room=doc["room"])
    return out


def metric(server, name):
    text = server.get("/metrics")[1]
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def cpu_wait(pid):
    """Seconds pid has spent runnable but waiting for a CPU (/proc/PID/schedstat)."""
    with open("/proc/%s/schedstat" % pid) as f:
        return int(f.read().split()[1]) / 1e9


async def bystander_pings(server, stop, waits):
    """Pings every 50 ms; each wait is less the time the server or this process spent
    waiting for a CPU of this shared machine: that time is the host's, not the server's."""
    c = await Client.connect(server)
    pid = server.proc.pid
    while not stop.is_set():
        w0, s0, t = cpu_wait(pid), cpu_wait("self"), time.monotonic()
        await c.ok("ping")
        queued = (cpu_wait(pid) - w0) + (cpu_wait("self") - s0)
        waits.append(max(0.0, time.monotonic() - t - queued))
        await asyncio.sleep(0.05)
    await c.close()


def test_export_of_100k_records_streams_off_the_loop():
    recs, n_captions = meeting(N_RECORDS)
    n_people = sum(r["kind"] in ("join", "leave") for r in recs)
    tmp = tempfile.TemporaryDirectory(prefix="rostrum-store-")  # the journal goes in first
    data = os.path.join(tmp.name, "data")
    os.makedirs(os.path.join(data, "journal"))
    with open(os.path.join(data, "journal", "plenary.rsj"), "wb") as f:
        f.write(journal_bytes(recs))
    s = Server(data=data)
    try:
        tok = s.token("plenary", "observer", "Archivist")
        base = s.http + "/api/rooms/plenary/transcript.%s?token=" + tok

        async def go():
            stop, waits = asyncio.Event(), []
            pinger = asyncio.create_task(bystander_pings(s, stop, waits))
            await asyncio.sleep(0.3)
            loop = asyncio.get_running_loop()
            got = {}
            # Downloads run in other processes, so the pinger never waits for this one's GIL.
            with concurrent.futures.ProcessPoolExecutor(2) as pool:
                for fmt in ("json", "vtt", "srt", "txt"):
                    got[fmt] = await loop.run_in_executor(pool, fetch_summary, base % fmt)
                # Two at once as well: each has its own child.
                both = await asyncio.gather(
                    loop.run_in_executor(pool, fetch_summary, base % "json"),
                    loop.run_in_executor(pool, fetch_summary, base % "txt"))
            await asyncio.sleep(0.3)
            stop.set()
            await pinger
            return got, both, waits

        got, both, waits = run(go())
        j = got["json"]
        assert j["status"] == 200 and j["headers"].get("transfer-encoding") == "chunked"
        assert j["headers"].get("content-type") == "application/json"
        assert j["captions"] == n_captions and j["room"] == "plenary"
        assert j["participants"] == n_people
        assert j["len"] > 5_000_000
        assert got["vtt"]["cues"] == n_captions and got["srt"]["cues"] == n_captions
        assert got["txt"]["head"].startswith("Transcript: MAG virtual meeting\n")
        assert both[0]["sha"] == j["sha"] and both[1]["sha"] == got["txt"]["sha"]
        assert len(waits) > 10
        worst = max(waits)
        print("bystander: %d pings, worst %.1f ms; loop lag max %s ms" % (
            len(waits), worst * 1000, metric(s, "rostrum_loop_lag_max_ms")))
        assert worst < 0.1, "the bystander waited %.0f ms for a ping" % (worst * 1000)
        # The lag timer cannot tell the host's delays from the loop's: a loose bound here
        # (the code before streaming stalled for seconds); bench/export_lag.py measures it.
        # Under ASan the loop's own work is several times slower again: the bystander's
        # corrected waits are the check there.
        lag = metric(s, "rostrum_loop_lag_max_ms")
        assert lag is not None and (ASAN or lag < 500), "loop lag reached %s ms" % lag
        assert ASAN or json.loads(s.get("/healthz")[1])["loop_lag_ms"] < 500
    finally:
        s.close()
        tmp.cleanup()


def test_export_limits_and_errors(make_server):
    s = make_server()
    tok = s.token("plenary", "moderator", "Chair")
    assert s.get("/api/rooms/plenary/transcript.txt?token=" + tok)[0] == 404  # nothing yet
    cap = caption_path(s)
    assert post(s, cap, "First line.\n", 1)[0] == 200
    status, body = s.get("/api/rooms/plenary/transcript.srt?token=%s&lang=e%%20n" % tok)
    assert status == 400
    # More exports than the limit at once: the extra ones get a clear 503.
    import http.client
    conns = []
    for _ in range(12):
        c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        c.request("GET", "/api/rooms/plenary/transcript.json?token=" + tok)
        conns.append(c)
    codes = []
    for c in conns:
        r = c.getresponse()
        codes.append(r.status)
        data = r.read()
        if r.status == 503:
            assert r.getheader("Retry-After") == "5" and b"retry" in data
        else:
            assert json.loads(data)["captions"][0]["text"] == "First line."
        c.close()
    assert 200 in codes and set(codes) <= {200, 503}
    # Keep-alive: two exports on one connection, then another request.
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    for fmt in ("txt", "vtt"):
        c.request("GET", "/api/rooms/plenary/transcript.%s?token=%s" % (fmt, tok))
        r = c.getresponse()
        assert r.status == 200 and b"First line." in r.read()
    c.request("GET", "/healthz")
    assert c.getresponse().status == 200
    c.close()
    # A client that goes away mid-export leaves no child behind.
    c = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    c.request("GET", "/api/rooms/plenary/transcript.json?token=" + tok)
    c.close()
    time.sleep(0.5)
    assert children(s.proc.pid) <= 1  # the journal writer only
    assert s.get("/healthz")[0] == 200


def children(pid):
    n = 0
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open("/proc/%s/stat" % p) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid and fields[0] != "Z":
                    n += 1
            except OSError:
                pass
    return n


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def churn(server, clients, cycles, what):
    """cycles join/leave (or floor.request/cancel) cycles spread over the clients."""
    per = cycles // len(clients)

    async def one(i, c):
        for _ in range(per):
            if what == "join":
                await c.ok("join", room="panel", name="Guest %d" % i)
                await c.ok("leave")
            else:
                await c.ok("floor.request")
                await c.ok("floor.cancel")
    await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)))


def test_memory_returns_after_churn(make_server):
    s = make_server(config=OPEN_ROOMS)

    async def go():
        chair_tok = s.token("panel", "moderator", "Chair")
        chair = await Client.connect(s, check=False)
        await chair.ok("join", room="panel", token=chair_tok)  # the room stays open throughout
        clients = [await Client.connect(s, check=False) for _ in range(20)]
        await churn(s, clients, 200, "join")  # warm-up: allocator arenas settle
        base = rss_kb(s.proc.pid)
        await churn(s, clients, 1000, "join")
        after_join = rss_kb(s.proc.pid)
        for i, c in enumerate(clients):
            await c.ok("join", room="panel", name="Speaker %d" % i)
        await churn(s, clients, 1000, "floor")  # the floor's bounded history fills first
        base_floor = rss_kb(s.proc.pid)
        await churn(s, clients, 1000, "floor")
        after_floor = rss_kb(s.proc.pid)
        for c in clients + [chair]:
            await c.close()
        return base, after_join, base_floor, after_floor

    base, after_join, base_floor, after_floor = run(go())
    print("rss: join/leave %d -> %d KB, request/cancel %d -> %d KB"
          % (base, after_join, base_floor, after_floor))
    tok = s.token("panel", "observer", "Archivist")
    try:
        status, txt = s.get("/api/rooms/panel/transcript.json?token=" + tok)
    except Exception:
        print(s.stderr())
        raise
    assert status == 200 and len(json.loads(txt)["participants"]) >= 2400
    if ASAN:
        return  # ASan's quarantine holds freed memory: the figures mean nothing there
    # Before the index, 1,000 cycles kept about 1.8 MB (join/leave) and 2.7 MB (floor).
    assert after_join - base < 400, "join/leave grew RSS by %d KB" % (after_join - base)
    assert after_floor - base_floor < 400, "floor churn grew RSS by %d KB" % (
        after_floor - base_floor)


def caption_path(server, room="plenary", name="Cap One"):
    url = subprocess.run([BIN, "token", "--data", server.data, "--room", room,
                          "--caption-url", "--name", name],
                         capture_output=True, text=True, check=True).stdout.strip()
    parts = urllib.parse.urlsplit(url)
    return parts.path + "?" + parts.query


def post(server, path, body, seq):
    return server.get(path + "&seq=%d" % seq, data=body.encode(), method="POST",
                      headers={"Content-Type": "text/plain; charset=utf-8"})


def offline(server, fmt):
    out = subprocess.run([BIN, "transcript", "--data", server.data, "--room", "plenary",
                          "--format", fmt], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_open_lines_in_live_export_and_after_sigterm(make_server):
    s = make_server()
    cap = caption_path(s)
    tok = s.token("plenary", "moderator", "Chair")
    assert post(s, cap, "The first line is complete.\n", 1)[0] == 200
    assert post(s, cap, "The second line has no break yet", 2)[0] == 200  # acknowledged: saved
    status, txt = s.get("/api/rooms/plenary/transcript.txt?token=" + tok)
    assert status == 200 and "The second line has no break yet" in txt
    doc = json.loads(s.get("/api/rooms/plenary/transcript.json?token=" + tok)[1])
    texts = {c["text"]: c for c in doc["captions"]}
    assert texts["The second line has no break yet"]["open"] is True
    assert "open" not in texts["The first line is complete."]
    assert "The second line has no break yet" in s.get(
        "/api/rooms/plenary/transcript.vtt?token=" + tok)[1]
    # The line grows: only its latest text is shown, once.
    assert post(s, cap, ", and now it goes on", 3)[0] == 200
    txt = s.get("/api/rooms/plenary/transcript.txt?token=" + tok)[1]
    assert txt.count("The second line has no break yet") == 1
    assert "The second line has no break yet, and now it goes on" in txt
    assert s.stop(signal.SIGTERM) == 0
    # A clean shutdown journaled the open line as a final.
    doc = json.loads(offline(s, "json"))
    finals = [c for c in doc["captions"] if "and now it goes on" in c["text"]]
    assert len(finals) == 1 and "open" not in finals[0], finals
    assert "The second line has no break yet, and now it goes on" in offline(s, "srt")


def test_open_line_after_a_crash_offline_and_recovered(make_server):
    s = make_server()
    cap = caption_path(s)
    assert post(s, cap, "Acknowledged but never completed", 1)[0] == 200
    s.stop(signal.SIGKILL)
    # The offline export completes it as recovery will.
    doc = json.loads(offline(s, "json"))
    assert [c["text"] for c in doc["captions"]] == ["Acknowledged but never completed"]
    assert "Acknowledged but never completed" in offline(s, "txt")
    # The next start completes it in the journal; it is still there once.
    s2 = make_server(data=s.data)
    tok = s2.token("plenary", "moderator", "Chair")
    doc = json.loads(s2.get("/api/rooms/plenary/transcript.json?token=" + tok)[1])
    caps = [c for c in doc["captions"] if c["text"] == "Acknowledged but never completed"]
    assert len(caps) == 1 and caps[0].get("recovered") is True and "open" not in caps[0]
