"""Test harness: start the real rostrum binary on a free loopback port and talk to it.

Every test gets its own data directory and server process; nothing is mocked.
"""
import asyncio
import json
import os
import re
import signal
import sys
import subprocess
import tempfile
import time
import urllib.request

import websockets

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from schema_check import validate  # noqa: E402

BIN = os.environ.get("ROSTRUM_BIN", "build/server/rostrum")
SOURCE = os.environ.get("ROSTRUM_SOURCE", ".")
SUBPROTOCOL = "rostrum.v1"


class Server:
    """A rostrum process listening on 127.0.0.1 with an ephemeral port."""

    def __init__(self, config=None, data=None, args=()):
        self.tmp = tempfile.TemporaryDirectory(prefix="rostrum-it-")
        self.data = data or os.path.join(self.tmp.name, "data")
        cmd = [BIN, "--listen", "127.0.0.1:0", "--data", self.data, *args]
        if config is not None:
            path = os.path.join(self.tmp.name, "config.json")
            with open(path, "w") as f:
                json.dump(config, f)
            cmd += ["--config", path]
        self.log_path = os.path.join(self.tmp.name, "server.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"listening on (https?)://[^:]+:(\d+)/", line)
        if not m:
            self.proc.kill()
            raise RuntimeError("server did not start: %r\n%s" % (line, self.stderr()))
        self.port = int(m.group(2))
        self.http = "http://127.0.0.1:%d" % self.port
        self.ws_url = "ws://127.0.0.1:%d/ws" % self.port

    def stderr(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def token(self, room, role, name, *extra):
        out = subprocess.run([BIN, "token", "--data", self.data, "--room", room, "--role", role,
                              "--name", name, *extra], capture_output=True, text=True, check=True)
        url = out.stdout.strip()
        return url.split("token=", 1)[1]

    def get(self, path, data=None, method=None, headers=None):
        req = urllib.request.Request(self.http + path, data=data, method=method,
                                     headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def close(self):
        self.stop()
        self.tmp.cleanup()


class Client:
    """A signaling client: requests wait for their own reply; events are queued."""

    def __init__(self, ws, check=True):
        self.ws = ws
        self.check = check
        self.events = []
        self.next_id = 1
        self.replies = {}

    @classmethod
    async def connect(cls, server, check=True, **kw):
        """check=False skips schema validation (bulk listeners in load tests)."""
        ws = await websockets.connect(server.ws_url, subprotocols=[SUBPROTOCOL],
                                      max_size=2 ** 22, **kw)
        return cls(ws, check)

    async def _pump(self, timeout):
        msg = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        if self.check:
            validate(msg)  # everything the server sends is documented
        if msg.get("type") in ("result", "error") and msg.get("re") is not None:
            self.replies[msg["re"]] = msg
        else:
            self.events.append(msg)
        return msg

    async def request(self, type_, timeout=5, **fields):
        rid = self.next_id
        self.next_id += 1
        await self.ws.send(json.dumps({"type": type_, "id": rid, **fields}))
        deadline = time.monotonic() + timeout
        while rid not in self.replies:
            await self._pump(max(0.01, deadline - time.monotonic()))
        return self.replies.pop(rid)

    async def ok(self, type_, **fields):
        r = await self.request(type_, **fields)
        assert r["type"] == "result", r
        return r["data"]

    async def event(self, type_, timeout=5, pred=lambda m: True):
        """Waits for (and removes) the first queued or incoming event of a type."""
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get("type") == type_ and pred(m):
                    return self.events.pop(i)
            await self._pump(max(0.01, deadline - time.monotonic()))

    async def raw(self, text):
        await self.ws.send(text)

    async def close(self):
        await self.ws.close()


class RawWS:
    """A byte-level WebSocket client, for floods and frames a polite library won't send."""

    def __init__(self, server, subprotocol=SUBPROTOCOL):
        import base64
        import socket
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        proto = "Sec-WebSocket-Protocol: %s\r\n" % subprotocol if subprotocol else ""
        self.sock.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n%s\r\n" % (key, proto)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            head += chunk
        self.status = int(head.split(b" ", 2)[1]) if head else 0
        self.buf = head.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in head else b""

    def send_text(self, text, opcode=0x1):
        import struct
        p = text.encode() if isinstance(text, str) else text
        mask = os.urandom(4)
        if len(p) < 126:
            hdr = bytes([0x80 | opcode, 0x80 | len(p)])
        elif len(p) < 65536:
            hdr = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack("!H", len(p))
        else:
            hdr = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack("!Q", len(p))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(p))
        self.sock.sendall(hdr + mask + masked)

    def read_all(self, timeout=5):
        """Reads until the peer closes or is silent for timeout; returns (text messages, close code or None)."""
        import struct
        self.sock.settimeout(timeout)
        data, self.buf = self.buf, b""
        deadline = time.monotonic() + max(30, 4 * timeout)  # a peer that never pauses still ends it
        try:
            while time.monotonic() < deadline:
                d = self.sock.recv(65536)
                if not d:
                    break
                data += d
        except OSError:
            pass
        msgs, code, i = [], None, 0
        while i + 2 <= len(data):
            start = i
            op, n = data[i] & 0x0f, data[i + 1] & 0x7f
            i += 2
            if n == 126:
                n = struct.unpack("!H", data[i:i + 2])[0]
                i += 2
            elif n == 127:
                n = struct.unpack("!Q", data[i:i + 8])[0]
                i += 8
            if i + n > len(data):      # a frame cut by the timeout: keep it for next time
                self.buf = data[start:]
                break
            payload = data[i:i + n]
            i += n
            if op == 1:
                msgs.append(json.loads(payload))
            elif op == 8 and len(payload) >= 2:
                code = struct.unpack("!H", payload[:2])[0]
        return msgs, code

    def close(self):
        self.sock.close()
