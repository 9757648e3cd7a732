"""TLS (https and wss with a given certificate) and a full disk under the journal."""
import asyncio
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest
import websockets

from rs import BIN, SUBPROTOCOL, Server


def test_tls_https_and_wss(make_server):
    d = tempfile.mkdtemp(prefix="rostrum-tls-")
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=localhost", "-keyout", key, "-out", cert], check=True,
                   capture_output=True)
    server = make_server(config={"tls": {"cert": cert, "key": key}})
    ctx = ssl.create_default_context(cafile=cert)
    ctx.check_hostname = False
    url = "https://127.0.0.1:%d" % server.port
    with urllib.request.urlopen(url + "/healthz", context=ctx, timeout=10) as r:
        assert json.loads(r.read())["status"] == "ok"

    async def go():
        async with websockets.connect("wss://127.0.0.1:%d/ws" % server.port,
                                      subprotocols=[SUBPROTOCOL], ssl=ctx) as ws:
            await ws.send(json.dumps({"type": "join", "id": 1, "room": "plenary", "name": "T"}))
            assert json.loads(await ws.recv())["type"] == "result"
    asyncio.run(go())
    shutil.rmtree(d)


class NamespacedServer:
    """rostrum with its data directory on a 2 MiB tmpfs in a private mount namespace."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="rostrum-full-")
        self.data = os.path.join(self.tmp, "data")
        os.mkdir(self.data)
        script = 'mount -t tmpfs -o size=2m tmpfs "$0" && exec "$@"'
        self.proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script, self.data, BIN,
                                      "--listen", "127.0.0.1:0", "--data", self.data],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        self.port = int(re.search(r":(\d+)/", line).group(1))
        # The server's view of its data directory, from outside its namespace.
        self.inside = "/proc/%d/root%s" % (self.proc.pid, self.data)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def token(self, *args):
        out = subprocess.run([BIN, "token", "--data", self.inside, *args], check=True,
                             capture_output=True, text=True).stdout.strip()
        return out

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def post(url, body, timeout):
    req = urllib.request.Request(url, data=body.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private tmpfs")
def test_full_disk_stops_acks_and_loses_nothing():
    s = NamespacedServer()
    try:
        cap = s.token("--room", "plenary", "--caption-url", "--base-url", s.url(""))
        assert post(cap + "&seq=1", "Before the disk filled up.\n", 10) == 200
        with open(os.path.join(s.inside, "filler"), "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        result = {}

        # Enough text to need new pages of the journal file (a small record fits in its last page).
        body = "Written while the disk was full.\n" + "".join(
            "Line %d %s.\n" % (i, "x" * 900) for i in range(8))

        def late_post():
            result["status"] = post(cap + "&seq=2", body, 30)
        t = threading.Thread(target=late_post)
        t.start()
        time.sleep(1.5)
        assert "status" not in result          # not acknowledged while nothing is durable
        health = json.loads(urllib.request.urlopen(s.url("/healthz"), timeout=5).read())
        assert health["status"] == "degraded" and health["journal"]["state"] == "disk_error"
        metrics = urllib.request.urlopen(s.url("/metrics"), timeout=5).read().decode()
        assert "rostrum_journal_healthy 0" in metrics
        os.unlink(os.path.join(s.inside, "filler"))
        t.join(20)
        assert result.get("status") == 200     # acknowledged once it is on disk
        health = json.loads(urllib.request.urlopen(s.url("/healthz"), timeout=5).read())
        assert health["status"] == "ok"
        obs = s.token("--room", "plenary", "--role", "observer", "--name", "A").split("token=")[1]
        txt = urllib.request.urlopen(s.url("/api/rooms/plenary/transcript.txt?token=" + obs),
                                     timeout=5).read().decode()
        assert "Before the disk filled up." in txt and "Written while the disk was full." in txt
    finally:
        s.close()
