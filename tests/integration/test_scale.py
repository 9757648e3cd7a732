"""Presence at scale against the real binary: a join storm and a presence flood.

Hundreds of real WebSocket clients in one asyncio process. Each reads all it
is sent; a bystander pings every 200 ms beside them and must never be closed.
"""
import asyncio
import json
import time

import websockets

from rs import SUBPROTOCOL, Client

STORM = 400


def run(coro):
    return asyncio.run(coro)


class Reader:
    """A bulk client: joins, then reads and counts everything until told to stop."""

    def __init__(self, server, name):
        self.server, self.name = server, name
        self.joined_in = None
        self.snapshot = None
        self.events = 0
        self.close_code = None

    async def run(self, go, stop):
        ws = await websockets.connect(self.server.ws_url, subprotocols=[SUBPROTOCOL],
                                      max_size=2 ** 22, open_timeout=30)
        await go.wait()
        t0 = time.monotonic()
        await ws.send(json.dumps({"type": "join", "id": 1, "room": "plenary", "name": self.name}))
        try:
            while not stop.is_set():
                try:
                    msg = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except asyncio.TimeoutError:
                    continue
                if msg.get("re") == 1:
                    assert msg["type"] == "result", msg
                    self.joined_in = time.monotonic() - t0
                    self.snapshot = msg["data"]
                else:
                    self.events += 1
        except websockets.ConnectionClosed as e:
            self.close_code = e.code
            return
        self.close_code = ws.close_code
        await ws.close()


async def bystander(server, stop, worst):
    """Pings every 200 ms while the others run; each ping must be answered (5 s at most)."""
    c = await Client.connect(server)
    await c.ok("join", room="plenary", name="Bystander")
    while not stop.is_set():
        t0 = time.monotonic()
        await c.ok("ping")
        worst[0] = max(worst[0], time.monotonic() - t0)
        await asyncio.sleep(0.2)
    assert c.ws.close_code is None
    roster_events = [m for m in c.events if m["type"].startswith("roster.")]
    await c.close()
    return roster_events


def test_join_storm_all_joined_none_dropped(server):
    async def go():
        stop, start = asyncio.Event(), asyncio.Event()
        worst = [0.0]
        watch = asyncio.create_task(bystander(server, stop, worst))
        await asyncio.sleep(0.3)
        readers = [Reader(server, "P%d" % i) for i in range(STORM)]
        tasks = [asyncio.create_task(r.run(start, stop)) for r in readers]
        await asyncio.sleep(1.0)  # every socket open, then all joins in one burst
        start.set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(r.joined_in is None and r.close_code is None
                                                  for r in readers):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)  # the last deltas
        stop.set()
        await asyncio.gather(*tasks)
        roster = await watch
        joined = [r for r in readers if r.joined_in is not None]
        dropped = [r for r in readers if r.close_code not in (None, 1000)]
        assert len(joined) == STORM, "%d of %d joined" % (len(joined), STORM)
        assert not dropped, "closed: %s" % sorted({r.close_code for r in dropped})
        # One delta per tick instead of one message per join: O(N), not O(N²).
        assert len(roster) <= 60, "%d roster messages for %d joins" % (len(roster), STORM)
        assert sum(r.events for r in readers) <= STORM * 60
        # A room over roster_full lists only its moderators, speakers and queue, with counts.
        last = max(joined, key=lambda r: r.snapshot["count"])
        assert last.snapshot["count"] >= 200 and last.snapshot["partial"] is True
        assert len(last.snapshot["roster"]) < 10
        # Its pings were all answered (timings belong to bench/join_storm.py, not to a test).
        assert worst[0] > 0
    run(go())


def test_presence_flood_spares_a_reading_bystander(server):
    """Issue 10, defect 4: 20 senders within their rate limits, a bystander who reads."""
    async def go():
        by = await Client.connect(server)
        await by.ok("join", room="plenary", name="Bystander")
        senders = []
        for i in range(20):
            c = await Client.connect(server, check=False)
            await c.ok("join", room="plenary", name="Sender %d" % i)
            senders.append(c)

        async def burst(c, i):
            for k in range(40):  # the default burst: no request is rate limited
                await c.ws.send(json.dumps({"type": "presence", "id": 100 + k,
                                            "attrs": {"region": "R%d" % k}}))
            for k in range(40):
                while 100 + k not in c.replies:
                    await c._pump(5)
                assert c.replies[100 + k]["type"] == "result", c.replies[100 + k]
        await asyncio.sleep(0.5)  # the join took a token: let the bucket refill
        await asyncio.gather(*(burst(c, i) for i, c in enumerate(senders)))
        # The bystander is still served, and the latest attributes of each sender reach it.
        await by.ok("ping")
        latest = {}
        deadline = time.monotonic() + 5
        while len([p for p in latest.values() if p.get("region") == "R39"]) < 20:
            ev = await by.event("roster.delta", timeout=max(0.1, deadline - time.monotonic()))
            for p in ev["updated"] + ev["joined"]:
                latest[p["pid"]] = p
        assert by.ws.close_code is None
        for c in senders:
            await c.close()
        await by.close()
    run(go())
