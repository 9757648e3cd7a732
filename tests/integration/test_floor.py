"""A moderated session over WebSocket: requests, hold, reorder, grant, a time limit
with its warning and automatic revoke, a written intervention, and the statistics."""
import asyncio
import time

from rs import Client

PANEL = {"rooms": [{"id": "panel", "title": "Panel", "open": True,
                    "policy": {"floor": {"limit_s": 2, "warn_s": 1, "on_expiry": "revoke"}}}]}


def run(coro):
    return asyncio.run(coro)


def test_moderated_session(make_server):
    server = make_server(config=PANEL)
    mod_tok = server.token("panel", "moderator", "Chair", "--group", "intergovernmental")

    async def go():
        mod = await Client.connect(server)
        snap = await mod.ok("join", room="panel", token=mod_tok)
        assert "floor" in snap and snap["floor"]["may_speak"] is True
        people = {}
        for name, group, onsite in (("Ana", "civil_society", False), ("Bo", "government", True),
                                    ("Chen", "private_sector", False)):
            c = await Client.connect(server)
            await c.ok("join", room="panel", name=name, attrs={"group": group, "onsite": onsite})
            people[name] = c
        ana, bo, chen = people["Ana"], people["Bo"], people["Chen"]
        req = {}
        for name in ("Ana", "Bo", "Chen"):
            r = await people[name].ok("floor.request", topic="On %s's point" % name)
            req[name] = r["request"]
            assert r["state"] == "accepted"
        r = await ana.request("floor.request")
        assert r["code"] == "already_requested"
        r = await ana.request("floor.grant")
        assert r["code"] == "forbidden"
        # Bo declines to speak for now; Chen is moved to the front.
        assert (await bo.ok("floor.hold"))["state"] == "held"
        assert (await mod.ok("floor.move", request=req["Chen"], to=1))["position"] == 1
        q = await ana.event("floor.queue", pred=lambda m: [e["who"]["name"] for e in m["queue"]]
                            == ["Chen", "Ana"])
        assert q["suggested"] == req["Chen"]
        # Grant the suggestion: Chen. The 2 s limit warns at 1 s and revokes at 2 s.
        t0 = time.monotonic()
        g = await mod.ok("floor.grant")
        assert g["request"] == req["Chen"] and g["state"] == "granted" and g["limit_s"] == 2
        you = await chen.event("floor.you", pred=lambda m: m.get("state") == "granted")
        assert you["request"] == req["Chen"]
        warn = await ana.event("floor.timer", pred=lambda m: m["event"] == "warning")
        assert warn["request"] == req["Chen"] and 0.7 < time.monotonic() - t0 < 1.8
        exp = await ana.event("floor.event", timeout=5, pred=lambda m: m.get("to") == "revoked")
        assert exp["request"] == req["Chen"] and 1.7 < time.monotonic() - t0 < 3.5
        # Bo comes back at the end of the queue; Ana speaks and releases.
        assert (await bo.ok("floor.resume"))["position"] == 2
        g = await mod.ok("floor.grant", request=req["Ana"], limit_s=0)
        assert g["state"] == "granted"
        await asyncio.sleep(0.5)
        assert (await ana.ok("floor.release"))["state"] == "released"
        r = await chen.request("floor.release")
        assert r["type"] == "error"
        # A written intervention is read out and answered.
        w = await chen.ok("written.submit", text="How will remote hubs be heard?")
        wq = await mod.event("written.queue", pred=lambda m: len(m.get("items", m.get("queue", []))) >= 1)
        assert wq
        assert (await mod.ok("written.read", written=w["written"]))["state"] == "read"
        assert (await mod.ok("written.answer", written=w["written"]))["state"] == "answered"
        stats = await mod.ok("floor.stats")
        by = {p["who"]["name"]: p for p in stats["participants"]}
        assert 1800 <= by["Chen"]["spoken_ms"] <= 3500
        assert 400 <= by["Ana"]["spoken_ms"] <= 2000
        assert stats["total_ms"] == sum(p["spoken_ms"] for p in stats["participants"])
        assert stats["groups"]["private_sector"] == by["Chen"]["spoken_ms"]
        assert stats["groups"]["civil_society"] == by["Ana"]["spoken_ms"]
        assert stats["onsite"]["remote"] == stats["total_ms"]
        assert stats["written"]["asked"] == 1 and stats["written"]["read"] == 1
        assert stats["written"]["answered"] == 1
        # Participants do not get the statistics.
        assert (await ana.request("floor.stats"))["code"] == "forbidden"
        for c in (mod, ana, bo, chen):
            await c.close()
    run(go())
    # Every floor event is in the transcript, with the people named.
    tok = server.token("panel", "observer", "Press")
    status, txt = server.get("/api/rooms/panel/transcript.txt?token=" + tok)
    assert status == 200
    assert "Floor given to Chen (private_sector)" in txt
    assert "Floor taken back from Chen (private_sector)" in txt or "Speaking time ended" in txt
    assert "How will remote hubs be heard?" in txt


def test_leaving_speaker_ends_turn_and_holder_limit(make_server):
    server = make_server(config=PANEL)
    mod_tok = server.token("panel", "moderator", "Chair")

    async def go():
        mod = await Client.connect(server)
        await mod.ok("join", room="panel", token=mod_tok)
        a = await Client.connect(server)
        await a.ok("join", room="panel", name="A")
        b = await Client.connect(server)
        await b.ok("join", room="panel", name="B")
        ra = (await a.ok("floor.request"))["request"]
        rb = (await b.ok("floor.request"))["request"]
        await mod.ok("floor.grant", request=ra, limit_s=0)
        r = await mod.request("floor.grant", request=rb)
        assert r["code"] == "holder_limit"
        await a.ok("leave")  # a dropped link would keep the floor for the grace period
        await a.close()
        ev = await mod.event("floor.event", pred=lambda m: m["request"] == ra and
                             m["to"] in ("released", "cancelled", "revoked"))
        assert ev
        assert (await mod.ok("floor.grant", request=rb))["state"] == "granted"
        await b.close()
        await mod.close()
    run(go())
