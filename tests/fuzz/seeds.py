#!/usr/bin/python3
"""Writes the seed corpora under tests/fuzz/corpus/ from the test examples:
protocol/examples, the literals of the unit tests, the example config, and
hand-made protocol units. Run from anywhere; it rewrites the named seeds and
leaves the other files (inputs kept from fuzzing runs, named by their SHA-1)."""
import base64, hashlib, hmac, json, os, re, struct, sys

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(SRC, "tests", "fuzz", "corpus")
SECRET = b"rostrum-fuzz-secret-rostrum-fuz\0"  # the harnesses' test secret


def read(*p):
    with open(os.path.join(SRC, *p), "rb") as f:
        return f.read()


def c_strings(path, name):
    """The value of the C string literal(s) assigned to `name` in a test source."""
    text = read(path).decode()
    m = re.search(r"\b%s\[\]\s*=\s*((?:\s*\"(?:[^\"\\]|\\.)*\")+)" % re.escape(name), text)
    return b"".join(unescape(s) for s in re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1)))


def all_c_strings(path):
    """Every string literal of a source file, adjacent ones joined."""
    text = read(path).decode()
    out = []
    for m in re.finditer(r"((?:\"(?:[^\"\\\n]|\\.)*\"\s*)+)", text):
        out.append(b"".join(unescape(s) for s in re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1))))
    return out


def unescape(s):
    out, i = bytearray(), 0
    simple = {"n": 10, "r": 13, "t": 9, "\\": 92, "\"": 34, "'": 39, "0": 0, "b": 8}
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
        elif s[i + 1] == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", s[i + 2:])
            out.append(int(m.group(0), 16))
            i += 2 + len(m.group(0))
        else:
            out.append(simple[s[i + 1]])
            i += 2
    return bytes(out)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=")


def token(claims):
    body = b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return body + b"." + b64(hmac.new(SECRET, body, hashlib.sha256).digest())


def compact(j):
    return json.dumps(j, separators=(",", ":"), ensure_ascii=False).encode()


def examples():
    d = os.path.join(SRC, "protocol", "examples")
    for n in sorted(os.listdir(d)):
        if n.startswith("client."):
            yield n[7:-5], json.loads(read("protocol", "examples", n))


def write(target, seeds):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def seeds_token():
    claims = {
        "moderator": {"v": 1, "room": "plenary", "role": "moderator", "name": "Chair"},
        "captioner": {"v": 1, "room": "plenary", "role": "captioner", "name": "CART", "exp": 1800000000},
        "attrs": {"v": 1, "room": "wg-2", "role": "participant", "name": "Zoë Ndiaye",
                  "group": "civil_society", "region": "Africa", "onsite": True, "label": "Speaker"},
        "expired": {"v": 1, "room": "plenary", "role": "observer", "name": "Obs", "exp": 1600000000},
        "bad-role": {"v": 1, "room": "plenary", "role": "interpreter", "name": "Interp"},
    }
    s = {}
    for k, c in claims.items():
        s["raw-" + k] = b"\0" + token(c)
        s["claims-" + k] = b"\1" + compact(c)
    s["raw-forged"] = b"\0eyJhIjoxfQ." + b"A" * 43
    s["raw-no-dot"] = b"\0eyJhIjoxfQ"
    return s


def seeds_config():
    s = {"example": read("server", "rostrum.example.json")}
    for i, lit in enumerate(all_c_strings("tests/unit/test_config.c")):
        if lit.startswith(b"{"):
            s["unit-%02d" % i] = lit
    return s


def seeds_hub():
    s = {}
    for name, j in examples():
        for who in (0, 1, 3):
            s["%s-%d" % (name, who)] = b"%d" % who + compact(j)
    s["floor-cycle"] = b"\n".join([
        b'1{"type":"floor.request","id":5,"topic":"rural networks"}',
        b'0{"type":"floor.grant","id":6,"request":1,"limit_s":30}',
        b'4{"type":"floor.limit","id":7,"limit_s":5}',
        b'1{"type":"floor.release","id":8}',
        b'~1', b'1{"type":"join","id":9,"room":"plenary","name":"Back"}'])
    s["captions"] = b"\n".join([
        b'2{"type":"caption.partial","id":3,"text":"The Forum is","lang":"en"}',
        b'2{"type":"caption.final","id":4,"text":"The Forum is modest.","lang":"en"}',
        b'2{"type":"caption.final","id":5,"text":"Le Forum est modeste.","lang":"fr"}'])
    s["observer-join"] = b'3{"type":"join","id":1,"room":"plenary","token":"$OBS"}'
    s["moderator-rejoin"] = b'3{"type":"join","id":1,"room":"closed","token":"$MOD"}'
    s["written"] = b"\n".join([
        b'1{"type":"written.submit","id":2,"text":"What about spectrum?"}',
        b'0{"type":"written.read","id":3,"written":1}',
        b'0{"type":"written.answer","id":4,"written":1}'])
    return s


TARGETS = {"token": seeds_token, "config": seeds_config, "hub": seeds_hub}



def hexbytes(s):
    return bytes.fromhex(s.decode() if isinstance(s, bytes) else s)


def seeds_stun():
    s = {}
    for name in ("rfc_request", "rfc_ipv4", "rfc_ipv6", "rfc_long_term"):
        s[name] = hexbytes(c_strings("tests/unit/test_stun.c", name))
    text = read("tests/unit/test_stun.c").decode()
    neg = text[text.index("test_negatives"):]
    for i, lit in enumerate(all_c_strings_text(neg)):
        if re.fullmatch(rb"[0-9a-f ]+", lit) and len(lit) >= 8:
            s["negative-%02d" % i] = hexbytes(lit)
    return s


def all_c_strings_text(text):
    out = []
    for m in re.finditer(r"((?:\"(?:[^\"\\\n]|\\.)*\"\s*)+)", text):
        out.append(b"".join(unescape(x) for x in re.findall(r"\"((?:[^\"\\]|\\.)*)\"", m.group(1))))
    return out


def chunks(*pkts):
    return b"".join(struct.pack(">H", len(p)) + p for p in pkts)


def rtp(seq, ts=0, ssrc=0x1234, ext=b"", marker=0, pad=0, payload=b"\xfc\xff\xfe"):
    b0 = 0x80 | (0x10 if ext else 0) | (0x20 if pad else 0)
    h = struct.pack(">BBHII", b0, (marker << 7) | 111, seq, ts, ssrc)
    if ext:
        h += b"\xbe\xde" + struct.pack(">H", (len(ext) + 3) // 4) + ext.ljust((len(ext) + 3) // 4 * 4, b"\0")
    body = payload + (b"\0" * (pad - 1) + bytes([pad]) if pad else b"")
    return h + body


def rtcp_sr(ssrc=0x1234):
    block = struct.pack(">IIIIII", 0x5678, 0x01000002, 0x10064, 7, 0x11223344, 0x10000)
    sr = struct.pack(">BBHIIIIII", 0x81, 200, 12, ssrc, 0xe0000000, 0, 960, 10, 1000) + block
    sdes = struct.pack(">BBHI", 0x81, 202, 3, ssrc) + b"\x01\x04abcd" + b"\0\0"
    return sr + sdes


def seeds_rtp():
    level = b"\x10\x85"  # id 1, one byte: voice, -5 dBov
    return {
        "rtp-seq": chunks(rtp(1, 0), rtp(2, 960), rtp(4, 2880), rtp(3, 1920)),
        "rtp-ext": chunks(rtp(10, 0, ext=level), rtp(11, 960, ext=level + b"\x22\x01\x02\x03")),
        "rtp-pad-marker": chunks(rtp(7, 5, marker=1, pad=4)),
        "rtp-switch": chunks(rtp(1, 0, ssrc=1), rtp(2, 960, ssrc=1), rtp(900, 77, ssrc=2), rtp(3, 1920, ssrc=1)),
        "rtcp-sr-sdes": chunks(rtcp_sr()),
        "rtcp-rr-bye": chunks(struct.pack(">BBHI", 0x80, 201, 1, 9) +
                              struct.pack(">BBHI", 0x81, 203, 3, 9) + b"\x03bye"),
        "mixed": chunks(rtp(1, 0), rtcp_sr(), b"\x00\x01\x00\x00" + b"\x21\x12\xa4\x42" + b"\0" * 12,
                        b"\x16\xfe\xfd" + b"\0" * 10),
    }


def seeds_sdp():
    s = {}
    text = read("tests/unit/test_sdp.c").decode()
    for m in re.finditer(r"static const char (\w+)\[\] =", text):
        s[m.group(1)] = c_strings("tests/unit/test_sdp.c", m.group(1))
    for name, j in examples():
        if "sdp" in j:
            s["example-" + name] = j["sdp"].encode()
    return s


def seeds_framing():
    f = lambda p: struct.pack(">H", len(p)) + p
    stun = hexbytes(c_strings("tests/unit/test_stun.c", "rfc_request"))
    return {
        "whole": b"\0" + f(stun) + f(rtp(1)) + f(b""),
        "bytewise": b"\x01" + f(stun) + f(rtp(2)),
        "split-7": b"\x07" + f(rtp(3, payload=b"x" * 300)) + f(stun),
        "too-big": b"\0" + b"\xff\xff\x01\x02\x03",
        "max": b"\x40" + f(b"m" * 1500),
    }


def seeds_journal():
    def frame(p):
        crc = crc32c(struct.pack("<I", len(p)) + p)
        return struct.pack("<II", len(p), crc) + p
    hdr = b"\x89RSJRNL\n" + struct.pack("<I", 1)
    hdr += struct.pack("<I", crc32c(hdr))
    recs = [compact(j) for _, j in list(examples())[:6]]
    img = hdr + b"".join(frame(r) for r in recs)
    built = lambda cut, ps: b"\x01" + struct.pack(">H", cut) + chunks(*ps)
    return {
        "image": b"\0" + img,
        "image-torn": b"\0" + img[:-5],
        "image-zero-tail": b"\0" + img + b"\0" * 12,
        "image-corrupt-mid": b"\0" + img[:40] + bytes([img[40] ^ 1]) + img[41:],
        "header-only": b"\0" + hdr,
        "built-whole": built(0xffff, recs),
        "built-cut": built(100, recs),
        "built-caption": built(0xffff, [b'{"kind":"caption","seq":1,"text":"x","lang":"en"}']),
    }


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


TARGETS.update({"stun": seeds_stun, "rtp": seeds_rtp, "sdp": seeds_sdp,
                "framing": seeds_framing, "journal": seeds_journal})


def seeds_caption():
    def rec(op, who, seq=b"", lang=b"", clang=b"", body=b""):
        return bytes([op, who]) + seq + b"\0" + lang + b"\0" + clang + b"\0" + body
    post = lambda who, seq, body, lang=b"en-US": rec(0, who, seq, lang, b"", body)
    tick = lambda s: bytes([3, s])
    text = read("..", "shared", "data", "igf-rio-2007-synthesis-paper.txt") if os.path.exists(
        "/work/shared/data/igf-rio-2007-synthesis-paper.txt") else b"The Forum is modest."
    line = text[:200].replace(b"\n", b" ")
    return {
        "zoom-seq": chunks(post(0, b"1", b"The Forum is\n"), post(0, b"2", b"modest in its means\n"),
                           post(0, b"2", b"modest in its means\n"), post(0, b"4", b"but not\n"),
                           rec(1, 0)),
        "zoom-stale-future": chunks(post(0, b"1500", b"x\n"), post(0, b"1", b"y\n"), post(0, b"99999", b"z\n"),
                                    post(0, b"-3", b"w\n"), post(0, b"abc", b"v\n")),
        "streamtext-backspace": chunks(post(1, b"1", b"Helo"), post(1, b"2", b"\x08\x08lo wor"),
                                       post(1, b"3", b"ld\x7f\x7fld\r\nNext"), tick(90), tick(90)),
        "langs": chunks(post(0, b"1", b"hello\n", b"en"), rec(0, 0, b"2", b"", b"fr-CA", b"bonjour\n"),
                        post(0, b"3", b"ni hao\n", b"zh-hant"), post(0, b"4", b"x\n", b"not a tag!")),
        "browser": chunks(rec(2, 2, b"", b"en", b"", b"The Forum"), rec(2, 2 | 8, b"", b"en", b"", b"The Forum is modest."),
                          rec(2, 2 | 16, b"", b"", b"", b"tab\there"), tick(255)),
        "unauthorized-method": chunks(post(4, b"1", b"x\n"), rec(1, 1 | 4), rec(0, 2, b"1", b"", b"", b"")),
        "utf8": chunks(post(0, b"1", "Zoë – naïve ☃\n".encode()), post(0, b"2", b"\xff\xfe\n"),
                       post(1, b"1", "é\x08e\n".encode())),
        "long-line": chunks(post(1, b"1", line * 6), post(1, b"2", b"\r\n")),
    }


TARGETS["caption"] = seeds_caption


def seeds_http():
    def req(method, target, body=b"", headers=()):
        h = b"".join(b"%s: %s\r\n" % kv for kv in headers)
        if body:
            h += b"Content-Length: %d\r\n" % len(body)
        return b"%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n%s" % (method, target, h, body)
    cl = ((b"Content-Type", b"text/plain"), (b"Content-Language", b"en-US"))
    s = {
        "healthz": req(b"GET", b"/healthz"),
        "healthz-post": req(b"POST", b"/healthz", b"x"),
        "metrics": req(b"GET", b"/metrics"),
        "caption-zoom": req(b"POST", b"/caption/plenary?token=$CAP&seq=1&lang=en-US", b"The Forum is modest.\n", cl),
        "caption-seq": req(b"GET", b"/caption/plenary/seq?token=$CAP"),
        "caption-streamtext": req(b"POST", b"/caption/plenary?token=$CAP&seq=2", b"Helo\x08\x08lo\r\n", cl),
        "caption-no-token": req(b"POST", b"/caption/plenary?seq=3", b"x\n"),
        "caption-bad-token": req(b"POST", b"/caption/plenary?token=eyJhIjoxfQ.AAAA&seq=3", b"x\n"),
        "caption-encoded": req(b"POST", b"/caption/plen%61ry?token=$CAP&seq=4&lang=fr%2DCA", b"bonjour+le+monde\n"),
        "caption-empty-body": req(b"POST", b"/caption/plenary?token=$CAP&seq=5"),
        "recordings": req(b"GET", b"/api/rooms/plenary/recordings?token=$MOD"),
        "recording-file": req(b"GET", b"/api/rooms/plenary/recordings/../../secret?token=$MOD"),
        "observer": req(b"GET", b"/api/rooms/plenary/transcript.txt?token=$OBS"),
        "long-token": req(b"GET", b"/api/rooms/plenary/transcript.txt?token=eyJhIjoxfQ." + b"A" * 600),
        "wrong-room": req(b"GET", b"/api/rooms/closed/transcript.vtt?token=$MOD"),
        "unknown": req(b"DELETE", b"/api/rooms/plenary"),
    }
    for fmt in (b"vtt", b"srt", b"txt", b"json"):
        s["transcript-" + fmt.decode()] = req(b"GET", b"/api/rooms/plenary/transcript.%s?token=$MOD&lang=en" % fmt)
    return s


TARGETS["http"] = seeds_http


def seeds_dtls():
    op = lambda *b: bytes(b)
    rec = lambda ctype, body, epoch=0: bytes([ctype]) + b"\xfe\xfd" + struct.pack(">H", epoch) + \
        b"\0\0\0\0\0\0" + struct.pack(">H", len(body)) + body
    inj = lambda r: b"\0" + r
    full = [op(1)] + [op(2)] * 5 + [op(1)] * 6 + [op(2)] * 3
    hs_hdr = b"\x01\x00\x00\x20\x00\x00\x00\x00\x00\x00\x00\x20" + b"\xfe\xfd" + b"\x11" * 30
    # The first byte picks the target: 0 a fresh server, 1 the kept established association.
    fresh = {
        "handshake": chunks(*full),
        "handshake-flipped-hello": chunks(op(3, 40), *full[1:]),
        "handshake-flipped-flight3": chunks(op(1), *[op(2)] * 5, op(3, 13), op(3, 200), *[op(1)] * 4, *[op(2)] * 3),
        "handshake-then-garbage": chunks(*full, inj(rec(23, b"\x00" * 40, 1)), inj(rec(21, b"\x01\x00", 1))),
        "inject-records": chunks(inj(rec(22, hs_hdr)), inj(rec(20, b"\x01")), inj(rec(21, b"\x02\x28")),
                                 inj(rec(23, b"x" * 16)), op(1)),
        "replay-hello": chunks(op(1), op(1), op(2), op(0, 0, 1)),
    }
    kept = {
        "kept-app-data": chunks(inj(rec(23, b"\x00" * 40, 1)), inj(rec(23, b"x" * 64, 1))),
        "kept-alert": chunks(inj(rec(21, b"\x02\x28", 1))),
        "kept-rehandshake": chunks(inj(rec(22, hs_hdr)), op(2), op(1)),
        "kept-flipped": chunks(op(2), op(3, 7), op(1)),
    }
    out = {k: b"\0" + v for k, v in fresh.items()}
    out.update({k: b"\1" + v for k, v in kept.items()})
    return out


TARGETS["dtls"] = seeds_dtls


def ogg_packets(data):
    """The packets of an Ogg stream (RFC 3533), header packets included."""
    out, cur, i = [], b"", 0
    while i + 27 <= len(data) and data[i:i + 4] == b"OggS":
        nseg = data[i + 26]
        lace = data[i + 27:i + 27 + nseg]
        j = i + 27 + nseg
        for l in lace:
            cur += data[j:j + l]
            j += l
            if l < 255:
                out.append(cur)
                cur = b""
        i = j
    return out


def seeds_audio():
    """Opus frames of a 440 Hz tone: tests/fuzz/tone.opus, made with
    sox -n -r 48000 -c 1 -b 16 tone.wav synth 0.3 sine 440; opusenc --bitrate 24 --framesize 20."""
    frames = ogg_packets(read("tests", "fuzz", "tone.opus"))[2:]
    pkt = lambda flags, f: bytes([flags]) + f
    tick = 16
    return {
        "two-sources": chunks(*[pkt(tick | (i & 1) | 4, f) for i, f in enumerate(frames[:12])]),
        "reordered": chunks(pkt(4 | tick, frames[0]), pkt(8, frames[2]), pkt(0 | tick, frames[1]),
                            pkt(4 | tick, frames[3]), pkt(4, frames[3])),
        "loss": chunks(*[pkt(tick | 14, f) for f in frames[:6]]),
        "dtx-and-junk": chunks(pkt(tick | 4, b"\xf8\xff\xfe"), pkt(tick | 4, b""), pkt(tick | 5, b"\x00" * 40),
                               pkt(tick | 4, frames[4])),
    }


TARGETS["audio"] = seeds_audio

if __name__ == "__main__":
    for t in sys.argv[1:] or TARGETS:
        write(t, TARGETS[t]())
