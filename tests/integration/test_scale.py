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


class Trickle:
    """A raw WebSocket reader with a tiny receive buffer, so that the server's writes
    to it are partial: reads `step` bytes every `pause` seconds (None: never reads)."""

    def __init__(self, server, step=None, pause=0.005):
        import base64
        import os
        import socket
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n"
                           % (key, SUBPROTOCOL)).encode())
        self.sock.setblocking(False)
        self.step, self.pause = step, pause
        self.buf, self.head_done = b"", False
        self.texts, self.close_code = [], None

    def send_json(self, obj):
        import os
        p, mask = json.dumps(obj).encode(), os.urandom(4)
        assert len(p) < 126
        self.sock.sendall(bytes([0x81, 0x80 | len(p)]) + mask +
                          bytes(b ^ mask[i % 4] for i, b in enumerate(p)))

    def _frames(self):
        import struct
        if not self.head_done:
            if b"\r\n\r\n" not in self.buf:
                return
            self.buf = self.buf.split(b"\r\n\r\n", 1)[1]
            self.head_done = True
        while len(self.buf) >= 2:
            op, n, i = self.buf[0] & 0x0f, self.buf[1] & 0x7f, 2
            if len(self.buf) < {126: 4, 127: 10}.get(n, 2):
                return
            if n == 126:
                n, i = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                n, i = struct.unpack("!Q", self.buf[2:10])[0], 10
            if len(self.buf) < i + n:
                return
            payload, self.buf = self.buf[i:i + n], self.buf[i + n:]
            if op == 1:
                self.texts.append(json.loads(payload))  # a torn frame fails here
            elif op == 8:
                self.close_code = struct.unpack("!H", payload[:2])[0] if n >= 2 else 1005

    async def run(self, stop):
        while not stop.is_set() and self.close_code is None:
            await asyncio.sleep(self.pause)
            if self.step is None and self.head_done:
                continue
            try:
                d = self.sock.recv(self.step or 65536)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not d:
                break
            self.buf += d
            self._frames()

    def finals(self):
        return [m["text"] for m in self.texts if m.get("type") == "caption"
                and m.get("kind") == "final"]


def test_slow_reader_closed_only_past_its_byte_limit(make_server):
    """Fan-out with partial writes: fast readers, a trickling reader whose backlog stays
    under the limit, and a stalled one. Only the stalled one is closed (4001), once its
    backlog passes send_queue_bytes; everyone else gets every caption, whole and in order."""
    limit, n_caps, n_fast = 64 * 1024, 150, 30
    server = make_server(config={"limits": {"send_queue_bytes": limit, "rate_per_sec": 10000,
                                            "rate_burst": 10000, "max_connections": 100}})
    cap_tok = server.token("plenary", "captioner", "Cap")

    def slow_closes():
        text = server.get("/metrics")[1]
        text = text.decode() if isinstance(text, bytes) else text
        for line in text.splitlines():
            if line.startswith("rostrum_slow_consumers_total"):
                return int(float(line.split()[-1]))
        return 0

    async def go():
        stop = asyncio.Event()
        fast = []
        for i in range(n_fast):
            c = await Client.connect(server, check=i == 0)
            await c.ok("join", room="plenary", name="Fast %d" % i)
            fast.append(c)
        trickle, stalled = Trickle(server, step=2048), Trickle(server, step=None)
        for t, name in ((trickle, "Trickle"), (stalled, "Stalled")):
            while not t.head_done:
                await asyncio.sleep(0.01)
                try:
                    t.buf += t.sock.recv(4096)
                except BlockingIOError:
                    pass
                t._frames()
            t.send_json({"type": "join", "id": 1, "room": "plenary", "name": name})
        tasks = [asyncio.create_task(t.run(stop)) for t in (trickle, stalled)]
        cap = await Client.connect(server)
        await cap.ok("join", room="plenary", token=cap_tok)
        sent = []

        async def send_and_collect(n, pause):
            first = len(sent)
            for i in range(first, first + n):
                text = (("Line %03d " % i) + "of the session record, padded to a long line. " * 20)
                await cap.ok("caption.final", text=text[:900])
                sent.append(text[:900])
                await asyncio.sleep(pause)

            async def collect(c):
                got = []
                while len(got) < n:
                    ev = await c.event("caption", timeout=20, pred=lambda m: m["kind"] == "final")
                    got.append(ev["text"])
                return got
            for got in await asyncio.gather(*(collect(c) for c in fast)):
                assert got == sent[first:]
        # About 250 a second: the trickle keeps up, its writes partial all along.
        await send_and_collect(n_caps, 0.004)
        deadline = time.monotonic() + 20
        while len(trickle.finals()) < n_caps and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tasks)
        assert trickle.close_code is None and trickle.finals() == sent
        # Then faster, until the server gives up on the stalled reader: only once its
        # backlog is past the 64 KiB limit (plus what the kernel holds for it).
        for c in fast[3:]:
            await c.close()
        fast = fast[:3]
        while slow_closes() == 0 and len(sent) < 6000:
            await send_and_collect(100, 0)
        assert slow_closes() == 1
        assert len(sent) * 900 > limit
        stalled.sock.setblocking(True)
        stalled.sock.settimeout(5)
        while stalled.close_code is None:
            try:
                d = stalled.sock.recv(65536)
            except OSError:
                break
            if not d:
                break
            stalled.buf += d
            stalled._frames()
        got = stalled.finals()
        assert stalled.close_code == 4001, (stalled.close_code, len(got))
        assert got == sent[:len(got)] and len(got) < len(sent)  # whole and in order
        for c in fast:
            assert c.ws.close_code is None
        await asyncio.gather(*(c.close() for c in fast + [cap]))
        trickle.sock.close()
        stalled.sock.close()
    run(go())
