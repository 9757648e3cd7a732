"""Signaling over real WebSockets against the real binary."""
import asyncio
import json
import time

import pytest
import websockets

from rs import Client, RawWS


def run(coro):
    return asyncio.run(coro)


def test_join_demo_room_and_roster_updates(server):
    async def go():
        a = await Client.connect(server)
        hello = await a.ok("hello", protocol=1)
        assert hello["server"] == "rostrum" and hello["protocol"] == 1
        snap = await a.ok("join", room="plenary", name="Zoë Ndiaye",
                          attrs={"group": "civil_society", "onsite": False})
        assert snap["room"]["id"] == "plenary"
        assert snap["you"]["role"] == "participant"
        b = await Client.connect(server)
        await b.ok("join", room="plenary", name="Bob")
        ev = await a.event("roster.delta", pred=lambda m: any(
            p["name"] == "Bob" for p in m["joined"]))
        assert ev["count"] == 2 and ev["partial"] is False
        await b.ok("presence", attrs={"region": "Europe", "label": "remote hub: Geneva"})
        ev = await a.event("roster.delta", pred=lambda m: m["updated"])
        assert ev["updated"][0]["label"] == "remote hub: Geneva"
        await b.close()  # a closed link is "reconnecting" until the grace period ends
        ev = await a.event("roster.delta", pred=lambda m: any(
            p.get("state") == "reconnecting" for p in m["updated"]))
        assert ev["updated"][0]["pid"] == snap["you"]["pid"] + 1
        b = await Client.connect(server)
        again = await b.ok("join", room="plenary", name="Bob")  # without the secret: new pid
        assert again["you"]["pid"] == snap["you"]["pid"] + 2
        await a.event("roster.delta", pred=lambda m: any(
            p["pid"] == again["you"]["pid"] for p in m["joined"]))
        await b.ok("leave")  # an explicit leave is at once
        ev = await a.event("roster.delta", pred=lambda m: m["left"])
        assert ev["left"] == [again["you"]["pid"]]
        await b.close()
        await a.close()
    run(go())


def test_moderator_token_valid_forged_expired(server):
    good = server.token("plenary", "moderator", "Chair", "--group", "government")
    expired = server.token("plenary", "moderator", "Chair", "--ttl", "1")

    async def go():
        c = await Client.connect(server)
        snap = await c.ok("join", room="plenary", token=good)
        assert snap["you"]["role"] == "moderator" and snap["you"]["group"] == "government"
        await c.ok("leave")
        body, sig = good.split(".")
        forged = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + sig
        r = await c.request("join", room="plenary", token=forged)
        assert r["type"] == "error" and r["code"] in ("bad_token",)
        r = await c.request("join", room="other", token=good)
        assert r["code"] == "wrong_room"
        await asyncio.sleep(2.1)
        r = await c.request("join", room="plenary", token=expired)
        assert r["code"] == "token_expired" and r["message"]
        await c.close()
    run(go())


def test_bad_inputs_answered_while_others_keep_working(make_server):
    server = make_server(config={"limits": {"max_connections": 6, "max_message_bytes": 4096,
                                            "rate_per_sec": 5, "rate_burst": 10}})

    async def go():
        bystander = await Client.connect(server)
        await bystander.ok("join", room="plenary", name="Bystander")
        bad = await Client.connect(server)
        cases = [("{oops", "bad_json"), ('{"id":1}', "bad_message"),
                 ('{"type":"warp","id":1}', "unknown_type"),
                 ('{"type":"join","id":1,"room":5}', "bad_field"),
                 ('{"type":"presence","id":1}', "not_joined")]
        for text, code in cases:
            await bad.raw(text)
            msg = json.loads(await bad.ws.recv())
            assert msg["type"] == "error" and msg["code"] == code, (text, msg)
            assert msg["message"]
        assert (await bystander.ok("ping"))["t"] > 0
        # Binary frames are refused politely.
        await bad.ws.send(b"\x00\x01")
        assert json.loads(await bad.ws.recv())["code"] == "bad_message"
        # Flood: rate_limited errors, then the connection is closed with 1008.
        # Sent in steps so that nothing is unread when the server closes (else TCP resets).
        flood = RawWS(server)
        msgs, code, i = [], None, 0
        while code is None and i < 600:
            for _ in range(200 if i == 0 else 5):
                flood.send_text('{"type":"ping","id":%d}' % i)
                i += 1
            got, code = flood.read_all(timeout=0.3)
            msgs += got
        flood.close()
        assert code == 1008
        assert "rate_limited" in {m.get("code") for m in msgs}
        assert (await bystander.ok("ping"))["t"] > 0
        # Oversized message: error then close 1009.
        big = await Client.connect(server)
        await big.raw(json.dumps({"type": "ping", "id": 1, "pad": "x" * 8000}))
        msg = json.loads(await big.ws.recv())
        assert msg["code"] == "too_big"
        with pytest.raises(websockets.ConnectionClosed) as ei:
            await asyncio.wait_for(big.ws.recv(), 5)
        assert ei.value.code == 1009
        # Too many connections: server_full then 1013; the bystander is unaffected.
        extra = [await Client.connect(server) for _ in range(5)]
        closed = []
        for c in extra:
            try:
                m = json.loads(await asyncio.wait_for(c.ws.recv(), 0.5))
                if m.get("code") == "server_full":
                    await asyncio.wait_for(c.ws.recv(), 5)
            except websockets.ConnectionClosed as e:
                closed.append(e.code)
            except asyncio.TimeoutError:
                pass
        assert 1013 in closed
        assert (await bystander.ok("ping"))["t"] > 0
        for c in extra:
            await c.ws.close()
        await bystander.close()
    run(go())


def test_wrong_or_missing_subprotocol_refused(server):
    wrong = RawWS(server, subprotocol="rostrum.v0")
    assert wrong.status != 101
    wrong.close()
    missing = RawWS(server, subprotocol=None)
    if missing.status == 101:
        _, code = missing.read_all()
        assert code == 4002
    missing.close()


def test_health_and_metrics(server):
    async def go():
        c = await Client.connect(server)
        await c.ok("join", room="plenary", name="A")
        await c.raw("{bad")
        await c.ws.recv()
        status, body = server.get("/healthz")
        h = json.loads(body)
        assert status == 200 and h["connections"] == 1 and h["rooms"] >= 1
        assert h["version"] and "uptime_s" in h
        status, text = server.get("/metrics")
        assert status == 200
        assert 'rostrum_errors_total{code="bad_json"} 1' in text
        assert "rostrum_connections 1" in text
        assert "rostrum_loop_lag_ms" in text
        assert "rostrum_messages_in_total" in text
        await c.close()
    run(go())


def test_web_client_served(server):
    status, body = server.get("/")
    assert status == 200 and "<html" in body.lower()
    assert server.get("/nope.html")[0] == 404


def test_clean_shutdown_going_away(server):
    async def go():
        c = await Client.connect(server)
        await c.ok("join", room="plenary", name="A")
        t0 = time.monotonic()
        server.proc.send_signal(15)
        with pytest.raises(websockets.ConnectionClosed) as ei:
            while True:
                await asyncio.wait_for(c.ws.recv(), 5)
        assert ei.value.code == 1001
        assert time.monotonic() - t0 < 5
    run(go())
    assert server.proc.wait(10) == 0
