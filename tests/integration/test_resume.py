"""Sessions that survive: a dropped link or a server restart costs nobody their place.

Links are cut without a close frame (the TCP connection aborted, as when a phone
loses its network); members come back with the resume secret of their join result.
"""
import asyncio
import signal
import time

from rs import Client, Server

GRACE = {"rooms": [{"id": "panel", "title": "Panel", "open": True}],
         "limits": {"resume_grace_s": 30}}
SHORT = {"rooms": [{"id": "panel", "title": "Panel", "open": True}],
         "limits": {"resume_grace_s": 2}}
MODERATED = {"rooms": [{"id": "panel", "title": "Panel", "open": True,
                        "policy": {"floor": {"moderated_queue": True, "max_holders": 2,
                                             "order": "balanced"}}}],
             "limits": {"resume_grace_s": 30}}


def run(coro):
    return asyncio.run(coro)


def cut(client):
    """The link dies: no close frame, the socket is simply gone."""
    client.ws.transport.abort()


async def join(server, **fields):
    c = await Client.connect(server)
    snap = await c.ok("join", room="panel", **fields)
    assert snap["resume"]["grace_s"] > 0 and snap["resume"]["secret"].startswith("rs1.")
    return c, snap


async def resume(server, snap, **extra):
    c = await Client.connect(server)
    r = await c.request("join", room="panel", resume=snap["resume"]["secret"], **extra)
    return c, r


def entry(delta, pid):
    """The member's entry in a roster.delta (joined or updated), or None."""
    for e in delta.get("joined", []) + delta.get("updated", []):
        if e["pid"] == pid:
            return e
    return None


def position(queue_msg, pid):
    for e in queue_msg["queue"]:
        if e["who"]["pid"] == pid:
            return e["position"]
    return None


def test_cut_second_in_queue_keeps_place(make_server):
    server = make_server(config=GRACE)
    tok = server.token("panel", "moderator", "Chair")

    async def go():
        mod, _ = await join(server, token=tok)
        ana, _ = await join(server, name="Ana")
        bo, bsnap = await join(server, name="Bo", attrs={"group": "academia", "onsite": False})
        await ana.ok("floor.request", topic="First")
        r = await bo.ok("floor.request", topic="Second")
        assert r["position"] == 2
        pid = bsnap["you"]["pid"]
        cut(bo)
        ev = await mod.event("roster.delta", pred=lambda m: entry(m, pid))
        assert entry(ev, pid)["state"] == "reconnecting" and pid not in ev["left"]
        await asyncio.sleep(3)
        bo2, r = await resume(server, bsnap)
        assert r["type"] == "result", r
        d = r["data"]
        assert d["you"]["pid"] == pid and d["you"]["role"] == "participant"
        assert d["you"]["name"] == "Bo" and d["you"]["group"] == "academia"
        assert d["resume"]["resumed"] is True and d["resume"]["secret"] != bsnap["resume"]["secret"]
        assert position(d["floor"]["queue"], pid) == 2
        assert d["floor"]["you"]["state"] == "accepted" and d["floor"]["you"]["position"] == 2
        ev = await mod.event("roster.delta", pred=lambda m: entry(m, pid)
                             and "state" not in entry(m, pid))
        await asyncio.sleep(0.3)
        for c in (mod, ana):
            while True:  # drain what arrived
                try:
                    await c._pump(0.05)
                except (asyncio.TimeoutError, TimeoutError):
                    break
            assert not [m for m in c.events if m["type"] == "roster.delta" and pid in m["left"]]
            assert not [m for m in c.events if m["type"] == "floor.event"
                        and m.get("event") in ("left", "cancelled")]
        # Nobody else can use the old secret now.
        x = await Client.connect(server)
        r = await x.request("join", room="panel", resume=bsnap["resume"]["secret"])
        assert r["type"] == "error" and r["code"] == "resume_invalid"
        for c in (mod, ana, bo2, x):
            await c.close()
    run(go())


def test_cut_holder_keeps_grant(make_server):
    server = make_server(config=GRACE)
    tok = server.token("panel", "moderator", "Chair")

    async def go():
        mod, _ = await join(server, token=tok)
        ana, asnap = await join(server, name="Ana")
        rq = (await ana.ok("floor.request"))["request"]
        g = await mod.ok("floor.grant", request=rq, limit_s=60)
        cut(ana)
        await asyncio.sleep(3)
        ana2, r = await resume(server, asnap)
        assert r["type"] == "result", r
        fl = r["data"]["floor"]
        assert fl["may_speak"] is True
        assert fl["you"]["state"] == "granted" and fl["you"]["request"] == rq
        holder = fl["queue"]["holders"][0]
        assert holder["request"] == rq and holder["ends_at"] == g["ends_at"]  # the clock ran on
        assert holder["speaking_ms"] >= 2900
        assert not [m for m in mod.events if m["type"] == "floor.event" and m["request"] == rq
                    and m.get("from") == "granted"]
        for c in (mod, ana2):
            await c.close()
    run(go())


def test_member_who_does_not_return_leaves(make_server):
    server = make_server(config=SHORT)
    tok = server.token("panel", "moderator", "Chair")

    async def go():
        mod, _ = await join(server, token=tok)
        ana, asnap = await join(server, name="Ana")
        rq = (await ana.ok("floor.request"))["request"]
        pid = asnap["you"]["pid"]
        t0 = time.monotonic()
        cut(ana)
        ev = await mod.event("roster.delta", timeout=6, pred=lambda m: pid in m["left"])
        assert 1.5 < time.monotonic() - t0 < 5
        ev = await mod.event("floor.event", pred=lambda m: m["request"] == rq and
                             m.get("to") == "cancelled")
        assert ev["event"] == "left"
        _, r = await resume(server, asnap)
        assert r["type"] == "error" and r["code"] == "resume_expired"
        await mod.close()
    run(go())


def test_forged_and_reused_secrets(make_server):
    server = make_server(config=GRACE)

    async def go():
        ana, asnap = await join(server, name="Ana")
        s = asnap["resume"]["secret"]
        x = await Client.connect(server)
        forged = s[:-1] + ("0" if s[-1] != "0" else "1")
        for bad, code in ((forged, "resume_invalid"), ("rs1.1.00.00", "resume_invalid"),
                          ("x" * 5000, "resume_invalid"), (s.replace("rs1.", "rs1.9", 1),
                                                           "resume_invalid")):
            r = await x.request("join", room="panel", resume=bad)
            assert r["type"] == "error" and r["code"] == code, (bad[:40], r)
        r = await x.request("join", room="panel", resume=17)
        assert r["code"] == "bad_field" and r["field"] == "resume"
        # The secret while the old link still looks alive: the new connection takes over.
        r = await x.request("join", room="panel", resume=s)
        assert r["type"] == "result" and r["data"]["you"]["pid"] == asnap["you"]["pid"]
        try:
            await asyncio.wait_for(ana.ws.wait_closed(), 5)
        except (asyncio.TimeoutError, TimeoutError):
            pass
        assert ana.ws.close_code == 4003
        # Reused: the first secret worked once.
        y = await Client.connect(server)
        r = await y.request("join", room="panel", resume=s)
        assert r["type"] == "error" and r["code"] == "resume_invalid"
        # An explicit leave ends it for good.
        s2 = r and None
        await x.ok("leave")
        r = await y.request("join", room="panel", resume=s)
        assert r["code"] in ("resume_invalid", "resume_expired")
        assert s2 is None
        for c in (x, y):
            await c.close()
    run(go())


def comparable_queue(q):
    """The floor.queue fields that do not move with the clock."""
    def entry(e):
        return {k: v for k, v in e.items() if k not in ("waiting_ms", "speaking_ms")}
    return {k: ([entry(e) for e in v] if isinstance(v, list) else v)
            for k, v in q.items() if k not in ("t", "type")}


def test_sigkill_mid_session_and_restart(make_server):
    server = make_server(config=MODERATED)
    tok = server.token("panel", "moderator", "Chair")
    vice_tok = server.token("panel", "moderator", "Vice chair")
    cap_tok = server.token("panel", "captioner", "Lynn")
    holder = {}

    async def go():
        mod, msnap = await join(server, token=tok)
        cap, csnap = await join(server, token=cap_tok)
        people = {}
        for name, group in (("Ana", "civil_society"), ("Bo", "government"), ("Chen", "academia"),
                            ("Dee", "private_sector"), ("Eli", "other")):
            c, snap = await join(server, name=name, attrs={"group": group})
            people[name] = (c, snap)
        req = {}
        for name in ("Ana", "Bo", "Chen", "Dee", "Eli"):
            req[name] = (await people[name][0].ok("floor.request", topic="On " + name))["request"]
        await mod.ok("floor.limit", limit_s=90)
        for name in ("Bo", "Chen", "Eli"):
            await mod.ok("floor.accept", request=req[name])
        await mod.ok("floor.grant", request=req["Ana"])
        await mod.ok("floor.move", request=req["Eli"], to=1)
        await people["Chen"][0].ok("floor.hold")
        await people["Dee"][0].ok("written.submit", text="How will the fund include civil society?")
        await people["Bo"][0].ok("written.submit", text="A second question")
        await cap.ok("caption.final", text="The Forum is modest in its means.")
        last_seq = (await mod.event("caption"))["seq"]
        await asyncio.sleep(1.0)
        before = await mod.ok("floor.stats")
        # The complete floor as a moderator sees it, just before the kill.
        vice, vsnap = await join(server, token=vice_tok)
        data = vsnap
        await asyncio.sleep(0.5)  # the group commit reaches the disk
        # Killed in the middle of the session, every member still connected.
        server.stop(sig=signal.SIGKILL)
        await asyncio.sleep(0.5)  # the writer process finishes what it was given
        again = Server(config=MODERATED, data=server.data)
        holder["again"] = again
        t0 = time.monotonic()
        clients = {}
        results = {}
        for name, snap in [("Chair", msnap), ("Vice", vsnap), ("Lynn", csnap)] + \
                [(n, people[n][1]) for n in people]:
            c, r = await resume(again, snap, last_caption_seq=last_seq)
            assert r["type"] == "result", (name, r)
            clients[name], results[name] = c, r["data"]
        assert time.monotonic() - t0 < 5
        chair = results["Chair"]
        assert chair["you"]["pid"] == msnap["you"]["pid"] and chair["you"]["role"] == "moderator"
        for n in people:
            assert results[n]["you"]["pid"] == people[n][1]["you"]["pid"]
            assert results[n]["you"]["role"] == "participant"
        assert results["Lynn"]["you"]["role"] == "captioner"
        q0, q1 = data["floor"]["queue"], results["Eli"]["floor"]["queue"]
        assert comparable_queue(q0) == comparable_queue(q1)
        assert q1["limit_s"] == 90
        assert [e["request"] for e in q1["queue"]] == [req["Eli"], req["Bo"]]
        assert [e["request"] for e in q1["held"]] == [req["Chen"]]
        assert [e["request"] for e in q1["pending"]] == [req["Dee"]]
        assert [e["request"] for e in q1["holders"]] == [req["Ana"]]
        assert results["Ana"]["floor"]["may_speak"] is True
        assert results["Chen"]["floor"]["you"]["state"] == "held"
        w0 = [(i["written"], i["text"], i["state"]) for i in data["floor"]["written"]["items"]]
        w1 = [(i["written"], i["text"], i["state"]) for i in chair["floor"]["written"]["items"]]
        assert w0 == w1 and len(w1) == 2
        s1 = chair["floor"]["stats"]
        assert s1["written"] == before["written"]
        assert s1["total_ms"] >= before["total_ms"]
        assert [p["who"]["pid"] for p in s1["participants"]] == \
            [p["who"]["pid"] for p in before["participants"]]
        # Captions typed after the restart reach everyone, numbered past the old ones.
        await clients["Lynn"].ok("caption.final", text="After the restart.")
        for name in ("Chair", "Ana", "Eli"):
            ev = await clients[name].event("caption", pred=lambda m: m["text"] ==
                                           "After the restart.")
            assert ev["seq"] > last_seq
        # A newcomer gets a pid nobody had.
        n, nsnap = await join(again, name="New")
        assert nsnap["you"]["pid"] > max(r["you"]["pid"] for r in results.values())
        for c in list(clients.values()) + [n]:
            await c.close()
        for c in (mod, cap, vice, *[p[0] for p in people.values()]):
            c.ws.transport.abort()

    try:
        run(go())
    finally:
        if "again" in holder:
            holder["again"].close()
