"""The command line: help, version, usage errors, tokens, bad config files."""
import json
import os
import subprocess
import tempfile

from rs import BIN


def rs(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=20)


def test_help_and_version():
    r = rs("--help")
    assert r.returncode == 0 and "rostrum token" in r.stdout
    r = rs("--version")
    assert r.returncode == 0 and r.stdout.startswith("rostrum ")


def test_unknown_flag_exits_2():
    r = rs("--frobnicate")
    assert r.returncode == 2 and "frobnicate" in r.stderr
    r = rs("--listen", "nonsense")
    assert r.returncode == 2 and "HOST:PORT" in r.stderr
    r = rs("token", "--room", "x")
    assert r.returncode == 2


def test_bad_config_exits_2():
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "c.json")
        with open(p, "w") as f:
            f.write('{"listen": "127.0.0.1:0", "romos": []}')
        r = rs("--config", p)
        assert r.returncode == 2 and "romos" in r.stderr
        with open(p, "w") as f:
            f.write('{"rooms": [')
        r = rs("--config", p)
        assert r.returncode == 2 and "line" in r.stderr
        r = rs("--config", os.path.join(d, "missing.json"))
        assert r.returncode == 2


def test_token_prints_join_url_and_secret_is_private():
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        r = rs("token", "--data", data, "--room", "plenary", "--role", "moderator",
               "--name", "Anriette Esterhuysen", "--group", "civil_society", "--ttl", "3600",
               "--base-url", "https://forum.example.org/")
        assert r.returncode == 0, r.stderr
        url = r.stdout.strip()
        assert url.startswith("https://forum.example.org/?room=plenary&token=")
        assert oct(os.stat(os.path.join(data, "secret")).st_mode & 0o777) == "0o600"
        r = rs("token", "--data", data, "--room", "plenary", "--role", "king", "--name", "X")
        assert r.returncode == 2 and "role" in r.stderr
        r = rs("token", "--data", data, "--room", "plenary", "--caption-url")
        assert r.returncode == 0 and "/caption/plenary?token=" in r.stdout


def test_example_config_is_valid():
    src = os.environ.get("ROSTRUM_SOURCE", ".")
    with open(os.path.join(src, "server", "rostrum.example.json")) as f:
        cfg = json.load(f)
    assert cfg["rooms"]
