"""The room recording over WebSocket: a moderator starts and stops it, the Ogg
Opus file lands in the data directory and decodes, the journal says where it
starts, and wrong roles, fields and policies are refused."""
import asyncio
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import wave

from rs import BIN, Client

ROOMS = {"rooms": [
    {"id": "panel", "title": "Panel", "open": True, "policy": {"recording": "manual"}},
    {"id": "closed", "title": "No recording", "open": True, "policy": {"recording": "off"}},
]}


def run(coro):
    return asyncio.run(coro)


def decode_seconds(path):
    """Decodes with opusdec (Debian's opus-tools) and returns the duration and peak."""
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, "out.wav")
        subprocess.run(["opusdec", "--quiet", "--rate", "48000", path, wav], check=True,
                       timeout=30)
        with wave.open(wav) as w:
            frames = w.readframes(w.getnframes())
            n = w.getnframes()
            rate = w.getframerate()
        peak = max((abs(int.from_bytes(frames[i:i + 2], "little", signed=True))
                    for i in range(0, len(frames), 2)), default=0)
        return n / rate, peak


def test_moderator_records_a_session(make_server):
    server = make_server(config=ROOMS)
    mod_tok = server.token("panel", "moderator", "Chair")

    async def go():
        mod = await Client.connect(server)
        snap = await mod.ok("join", room="panel", token=mod_tok)
        assert snap["recording"] == {"active": False, "mode": "manual"}
        ana = await Client.connect(server)
        await ana.ok("join", room="panel", name="Ana")
        r = await ana.request("audio.record", active=True)
        assert r["code"] == "forbidden"
        r = await mod.request("audio.record", active="yes")
        assert r["code"] == "bad_field" and r["field"] == "active"
        t0 = int(time.time() * 1000)
        started = await mod.ok("audio.record", active=True)
        assert started["active"] is True and started["file"].startswith("recordings/panel-")
        assert abs(started["started_t"] - t0) < 1000
        ev = await ana.event("audio.recording", pred=lambda m: m["active"])
        assert ev["file"] == started["file"] and ev["by"] == "Chair"
        health = json.loads(server.get("/healthz")[1])
        assert health["audio"]["recording"] == 1 and health["audio"]["mixing"] == 0
        # A second start is the same recording, not a new file.
        again = await mod.ok("audio.record", active=True)
        assert again["file"] == started["file"]
        await asyncio.sleep(1.2)
        stopped = await mod.ok("audio.record", active=False)
        assert stopped["active"] is False
        ev = await ana.event("audio.recording", pred=lambda m: not m["active"])
        assert ev["by"] == "Chair"
        await mod.close()
        await ana.close()
        return started

    started = run(go())
    path = os.path.join(server.data, started["file"])
    # Organisers list and download the room's recordings with a moderator or observer token.
    obs = server.token("panel", "observer", "Archive")
    status, body = server.get("/api/rooms/panel/recordings?token=" + obs)
    assert status == 200
    listed = json.loads(body)["recordings"]
    assert len(listed) == 1 and listed[0]["file"] == started["file"]
    assert listed[0]["active"] is False and listed[0]["stop_t"] >= listed[0]["start_t"]
    with urllib.request.urlopen(server.http + listed[0]["url"] + "?token=" + obs, timeout=10) as r:
        assert r.headers["content-type"].startswith("audio/ogg")
        served = r.read()
    with open(path, "rb") as f:
        assert served == f.read()
    assert server.get("/api/rooms/panel/recordings")[0] == 403
    ana = server.token("panel", "participant", "Ana")
    assert server.get("/api/rooms/panel/recordings?token=" + ana)[0] == 403
    for bad in ("recordings/nothing.opus", "recordings/../journal/panel.rsj",
                "recordings/" + os.path.basename(started["file"]) + "x"):
        assert server.get("/api/rooms/panel/" + bad + "?token=" + obs)[0] == 404, bad
    assert server.get("/api/rooms/panel/recordings?token=" + obs, data=b"x")[0] == 405
    server.stop()
    with open(path, "rb") as f:
        head = f.read(4096)
    assert head.startswith(b"OggS") and b"OpusHead" in head and b"ROSTRUM_START_MS=" in head
    if shutil.which("opusdec"):
        seconds, peak = decode_seconds(path)
        assert 1.0 < seconds < 2.5, seconds  # silence: nobody spoke, the clock still ran
        assert peak < 200
    # The journal says where the recording starts, for players of the transcript.
    out = subprocess.run([BIN, "transcript", "--data", server.data, "--room", "panel",
                          "--format", "json"], capture_output=True, text=True, check=True)
    recs = json.loads(out.stdout)["recordings"]
    assert [r["event"] for r in recs] == ["start", "stop"]
    assert recs[0]["file"] == started["file"] and recs[0]["start_t"] == started["started_t"]


def test_recording_survives_a_crash(make_server):
    """SIGKILL mid-recording: what reached the disk (pages about once a second) still plays."""
    server = make_server(config=ROOMS)
    tok = server.token("panel", "moderator", "Chair")

    async def go():
        mod = await Client.connect(server)
        await mod.ok("join", room="panel", token=tok)
        started = await mod.ok("audio.record", active=True)
        await asyncio.sleep(3.5)
        server.stop(sig=signal.SIGKILL)  # while the room is still in session
        await mod.close()
        return started

    started = run(go())
    path = os.path.join(server.data, started["file"])
    deadline = time.time() + 5  # the writer process finishes what it was given
    while time.time() < deadline and os.path.getsize(path) < 200:
        time.sleep(0.1)
    if shutil.which("opusdec"):
        seconds, _ = decode_seconds(path)
        assert seconds >= 1.0, seconds


def test_policy_off_refuses(make_server):
    server = make_server(config=ROOMS)
    tok = server.token("closed", "moderator", "Chair")

    async def go():
        mod = await Client.connect(server)
        snap = await mod.ok("join", room="closed", token=tok)
        assert snap["recording"]["mode"] == "off"
        r = await mod.request("audio.record", active=True)
        assert r["code"] == "recording_off"
        await mod.close()

    run(go())
    assert not os.path.exists(os.path.join(server.data, "recordings"))


def test_bad_recording_policy_exits_2():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "c.json")
        with open(p, "w") as f:
            json.dump({"rooms": [{"id": "a", "policy": {"recording": "always"}}]}, f)
        r = subprocess.run([BIN, "--config", p], capture_output=True, text=True, timeout=20)
        assert r.returncode == 2 and "recording" in r.stderr
