"""Captions end to end: caption URLs (Zoom and StreamText styles), the WebSocket
console, fan-out to 200 participants, exports, and a SIGKILL in the middle."""
import asyncio
import io
import json
import os
import signal
import subprocess
import threading
import urllib.parse

import webvtt

from rs import BIN, Client, Server


def run(coro):
    return asyncio.run(coro)


def caption_path(server, room="plenary", name="Cap One"):
    url = subprocess.run([BIN, "token", "--data", server.data, "--room", room,
                          "--caption-url", "--name", name],
                         capture_output=True, text=True, check=True).stdout.strip()
    parts = urllib.parse.urlsplit(url)
    return parts.path + "?" + parts.query


def post(server, path, body, seq=None, lang=None, headers=None):
    q = ""
    if seq is not None:
        q += "&seq=%s" % seq
    if lang:
        q += "&lang=%s" % lang
    data = body.encode() if isinstance(body, str) else body
    return server.get(path + q, data=data, method="POST",
                      headers={"Content-Type": "text/plain; charset=utf-8", **(headers or {})})


def export(server, fmt, room="plenary"):
    tok = server.token(room, "moderator", "Exporter")
    return server.get("/api/rooms/%s/transcript.%s?token=%s" % (room, fmt, tok))


def test_zoom_style_seq_rules(server):
    path = caption_path(server)
    status, body = post(server, path, "Good morning, everyone.\n", seq=1, lang="en-US")
    assert status == 200 and body.strip().endswith("Z")
    first_ack = body
    assert post(server, path, "Good morning, everyone.\n", seq=1, lang="en-US") == (200, first_ack)
    assert post(server, path, "Fourth line arrives early.\n", seq=4)[0] == 200
    assert post(server, path, "Third line arrives late.\n", seq=3)[0] == 200
    assert post(server, path, "Third line arrives late.\n", seq=3)[0] == 200  # retry
    assert server.get(path.replace("/caption/plenary", "/caption/plenary/seq"))[1].strip() == "4"
    assert post(server, path, "no seq\n")[0] == 403
    assert post(server, path, "far away\n", seq=999999)[0] == 400
    assert post(server, path, b"\xff\xfe broken\n", seq=5)[0] == 400
    assert server.get(path + "&seq=6")[0] == 405          # GET on the POST form
    bad = path.split("token=")[0] + "token=forged.token"
    assert post(server, bad, "forged\n", seq=1)[0] == 403
    assert post(server, path, "x" * 20000, seq=7)[0] == 413
    status, text = export(server, "txt")
    assert status == 200
    assert text.count("Good morning, everyone.") == 1
    assert text.count("Third line arrives late.") == 1
    assert text.index("Fourth line") < text.index("Third line")   # arrival order


def test_streamtext_backspaces_and_headers(server):
    path = caption_path(server, name="Stream Texter")
    hdr = {"Content-Language": "fr", "X-Timestamp": "2026-11-22T10:00:00.000Z"}
    assert post(server, path, "Bonjour à tous, bienvenus", seq=1, headers=hdr)[0] == 200
    assert post(server, path, "\b\bues\n", seq=2, headers=hdr)[0] == 200
    assert post(server, path, "Deuxième lignee\x08.\n", seq=3, headers=hdr)[0] == 200
    status, doc = export(server, "json")
    caps = [c["text"] for c in json.loads(doc)["captions"]]
    assert "Bonjour à tous, bienvenues" in caps
    assert "Deuxième ligne." in caps
    assert all(c["lang"] == "fr" for c in json.loads(doc)["captions"])


def test_websocket_console_speaker_and_roles(server):
    cap_tok = server.token("plenary", "captioner", "Lynn St. Amour")
    mod_tok = server.token("plenary", "moderator", "Chair")

    async def go():
        mod = await Client.connect(server)
        await mod.ok("join", room="plenary", token=mod_tok)
        speaker = await Client.connect(server)
        await speaker.ok("join", room="plenary", name="Jānis Kārkliņš",
                         attrs={"group": "government"})
        req = await speaker.ok("floor.request", topic="Opening remarks")
        await mod.ok("floor.grant", request=req["request"])
        cap = await Client.connect(server)
        await cap.ok("join", room="plenary", token=cap_tok)
        await cap.ok("caption.partial", text="The Forum is modest", lang="en")
        ev = await speaker.event("caption", pred=lambda m: m["kind"] == "partial")
        assert ev["text"] == "The Forum is modest"
        await cap.ok("caption.final", text="The Forum is modest in its means.", lang="en")
        ev = await speaker.event("caption", pred=lambda m: m["kind"] == "final")
        assert ev["speaker"] == {"name": "Jānis Kārkliņš", "group": "government"}
        assert ev["captioner"] == "Lynn St. Amour"
        # Participants may not caption; bad input is refused and changes nothing.
        r = await speaker.request("caption.final", text="sneaky")
        assert r["code"] == "forbidden"
        r = await cap.request("caption.final", text="x" * 5000)
        assert r["code"] == "too_long"
        r = await cap.request("caption.final", text="hi", lang="not a tag")
        assert r["code"] == "bad_lang"
        # A late joiner gets the recent captions.
        late = await Client.connect(server)
        await late.ok("join", room="plenary", name="Late")
        ev = await late.event("caption", pred=lambda m: m["kind"] == "final")
        assert ev["text"] == "The Forum is modest in its means."
        for c in (mod, speaker, cap, late):
            await c.close()
    run(go())
    status, vtt = export(server, "vtt")
    assert status == 200
    cues = webvtt.read_buffer(io.StringIO(vtt))
    assert any("The Forum is modest in its means." in c.text for c in cues)
    assert "<v Jānis Kārkliņš (government)>" in vtt
    status, srt = export(server, "srt")
    assert status == 200 and "Jānis Kārkliņš (government): The Forum" in srt
    # Exports need a moderator or observer token of that room.
    ptok = server.token("plenary", "participant", "P")
    assert server.get("/api/rooms/plenary/transcript.vtt?token=" + ptok)[0] == 403
    assert server.get("/api/rooms/plenary/transcript.vtt")[0] == 403


def test_200_participants_get_every_final_in_order_once(make_server):
    # The captioner sends faster than a typist: lift its rate limit for the test.
    server = make_server(config={"limits": {"max_connections": 400, "rate_per_sec": 1000,
                                            "rate_burst": 1000}})
    cap_tok = server.token("plenary", "captioner", "Cap")
    n_listeners, n_captions = 200, 60

    async def go():
        listeners = []
        for i in range(n_listeners):
            c = await Client.connect(server, check=i == 0)
            await c.ok("join", room="plenary", name="Listener %d" % i)
            listeners.append(c)
        cap = await Client.connect(server)
        await cap.ok("join", room="plenary", token=cap_tok)
        sent = []
        for i in range(n_captions):
            text = "Line %03d of the session record." % i
            await cap.ok("caption.final", text=text)
            sent.append(text)

        async def collect(c):
            got = []
            while len(got) < n_captions:
                ev = await c.event("caption", timeout=20, pred=lambda m: m["kind"] == "final")
                got.append(ev["text"])
            return got
        results = await asyncio.gather(*(collect(c) for c in listeners))
        for got in results:
            assert got == sent
        for c in listeners:
            assert not [e for e in c.events if e.get("type") == "caption"]
        await asyncio.gather(*(c.close() for c in listeners + [cap]))
    run(go())


def test_sigkill_keeps_every_acknowledged_caption(make_server):
    server = make_server()
    path = caption_path(server)
    acked, stop = [], threading.Event()

    def feed():
        seq = 0
        while not stop.is_set() and seq < 2000:
            seq += 1
            text = "Acknowledged line number %d." % seq
            try:
                status, _ = post(server, path, text + "\n", seq=seq)
            except Exception:
                return
            if status == 200:
                acked.append(text)
    t = threading.Thread(target=feed)
    t.start()
    while len(acked) < 150:
        pass
    # An open line (no newline yet) is acknowledged too, and must survive.
    server.proc.send_signal(signal.SIGKILL)
    stop.set()
    t.join()
    server.proc.wait()
    assert len(acked) >= 150
    again = Server(data=server.data)
    try:
        for fmt in ("txt", "vtt", "srt", "json"):
            status, doc = export(again, fmt)
            assert status == 200
            missing = [a for a in acked if a not in doc]
            assert not missing, (fmt, missing[:3])
        path2 = caption_path(again)
        assert post(again, path2, "Still going after the restart", seq=1)[0] == 200
        assert post(again, path2, " and the session continues.\n", seq=2)[0] == 200
        status, doc = export(again, "txt")
        assert "Still going after the restart and the session continues." in doc
        # An open line acknowledged just before a crash is kept as a final.
        assert post(again, path2, "Open line at the moment of the crash", seq=3)[0] == 200
        again.proc.send_signal(signal.SIGKILL)
        again.proc.wait()
        third = Server(data=server.data)
        try:
            status, doc = export(third, "txt")
            assert "Open line at the moment of the crash" in doc
        finally:
            third.close()
    finally:
        again.close()


def test_cli_transcript(server):
    path = caption_path(server)
    assert post(server, path, "Printed by the command line.\n", seq=1)[0] == 200
    out = subprocess.run([BIN, "transcript", "--data", server.data, "--room", "plenary",
                          "--format", "vtt"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("WEBVTT")
    assert "Printed by the command line." in out.stdout
    out = subprocess.run([BIN, "transcript", "--data", server.data, "--room", "plenary",
                          "--format", "doc"], capture_output=True, text=True)
    assert out.returncode == 2
