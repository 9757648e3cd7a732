#!/usr/bin/env python3
"""Caption fan-out latency at N participants: captioner send -> participant receipt.

Starts the real server on loopback, then bench/fanout_client (C, epoll) opens N
participant connections and one captioner connection, sends captions at a steady
rate with the send time in their text, and times every delivery. Also reports the
server's CPU time per delivered caption.

usage: /usr/bin/python3 bench/caption_fanout.py [--build build-release]
         [--participants 1000] [--captions 200] [--rate 10]
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
import rs  # noqa: E402


def cpu_ms(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", default="build-release")
    p.add_argument("--participants", type=int, default=1000)
    p.add_argument("--captions", type=int, default=200)
    p.add_argument("--rate", type=float, default=10)
    a = p.parse_args()
    rs.BIN = os.path.join(a.build, "server", "rostrum")
    cfg = {"limits": {"max_connections": a.participants + 10, "rate_per_sec": 1000,
                      "rate_burst": 1000}}
    server = rs.Server(config=cfg)
    try:
        token = server.token("plenary", "captioner", "Bench Captioner")
        c0, t0 = cpu_ms(server.proc.pid), time.monotonic()
        out = subprocess.run([os.path.join(a.build, "bench", "fanout_client"), str(server.port),
                              "plenary", token, str(a.participants), str(a.captions),
                              str(a.rate)], capture_output=True, text=True, timeout=600)
        c1, t1 = cpu_ms(server.proc.pid), time.monotonic()
        sys.stdout.write(out.stdout)
        sys.stderr.write(out.stderr)
        deliveries = a.participants * a.captions
        print("server_cpu_ms=%.0f over %.1f s (joins included); %.1f us per delivered caption"
              % (c1 - c0, t1 - t0, 1000 * (c1 - c0) / deliveries))
        return out.returncode
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
