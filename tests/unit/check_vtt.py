#!/usr/bin/python3
"""Checks a transcript export against the cues test_transcript expects.

usage: check_vtt.py [--srt] EXPORT EXPECTED_JSON

EXPECTED_JSON is {"cues": [{"start": ms, "end": ms, "voice": str|null,
"text": str}, ...]}. The export is parsed with python3-webvtt (WebVTT, or
SRT with --srt), then checked line by line for what that lenient parser
lets through: the signature, timestamp syntax, start order, end after start,
and, in WebVTT, that cue text escapes & < > and uses only the voice and lang
spans. Exit status 0 when everything matches, 1 on a mismatch, 77 when
python3-webvtt is missing (the caller reports a skip).
"""
import html
import json
import re
import sys

try:
    import webvtt
except ImportError:
    print("check_vtt: python3-webvtt is not installed")
    sys.exit(77)

VTT_TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})\.(\d{3}) --> (\d{2,}):(\d{2}):(\d{2})\.(\d{3})$")
SRT_TIMING = re.compile(r"^(\d{2,}):(\d{2}):(\d{2}),(\d{3}) --> (\d{2,}):(\d{2}):(\d{2}),(\d{3})$")
VOICE = re.compile(r"^<v ([^>]+)>")
ALLOWED_TAG = re.compile(r"<(v [^>]+|lang [^>]+|/lang)>")
ENTITY = re.compile(r"&(amp|lt|gt);")


def to_ms(h, m, s, f):
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1000 + int(f)


def lines_check(path, timing):
    """Strict checks on the raw file; returns the (start, end) of every cue."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    spans = []
    for no, line in enumerate(lines, 1):
        m = timing.match(line)
        if "-->" in line and not m:
            raise AssertionError(f"line {no}: '-->' outside a cue timing: {line!r}")
        if m:
            start, end = to_ms(*m.groups()[:4]), to_ms(*m.groups()[4:])
            if end <= start:
                raise AssertionError(f"line {no}: cue ends before it starts")
            if spans and start < spans[-1][0]:
                raise AssertionError(f"line {no}: cues out of start order")
            spans.append((start, end))
    return lines, spans


def vtt_text_check(lines):
    if lines[0] != "WEBVTT" or lines[1] != "":
        raise AssertionError("the file does not start with the WEBVTT signature line")
    in_cue = False
    for no, line in enumerate(lines, 1):
        if VTT_TIMING.match(line):
            in_cue = True
            continue
        if not line:
            in_cue = False
            continue
        if in_cue:
            bare = ALLOWED_TAG.sub("", line)
            if "<" in bare or ">" in bare:
                raise AssertionError(f"line {no}: unescaped < or >: {line!r}")
            if "&" in ENTITY.sub("", bare):
                raise AssertionError(f"line {no}: unescaped &: {line!r}")


def cue_fields(raw, srt, voices):
    """(voice, text) of a parsed cue."""
    if srt:
        for v in voices:
            if v and raw.startswith(v + ": "):
                return v, raw[len(v) + 2:]
        return None, raw
    m = VOICE.match(raw)
    voice = html.unescape(m.group(1)) if m else None
    text = html.unescape(re.sub(r"<[^>]*>", "", raw))
    return voice, text


def main(argv):
    srt = argv[1:2] == ["--srt"]
    args = argv[2:] if srt else argv[1:]
    if len(args) != 2:
        print(__doc__)
        return 2
    path, expected_path = args
    with open(expected_path, encoding="utf-8") as f:
        expected = json.load(f)["cues"]
    try:
        captions = webvtt.from_srt(path) if srt else webvtt.read(path)
        lines, spans = lines_check(path, SRT_TIMING if srt else VTT_TIMING)
        if not srt:
            vtt_text_check(lines)
        if len(captions) != len(expected) or len(spans) != len(expected):
            raise AssertionError(f"{len(captions)} cues parsed, {len(spans)} timings, "
                                 f"{len(expected)} expected")
        voices = sorted({e["voice"] for e in expected if e["voice"]}, key=len, reverse=True)
        if srt:  # SRT has no escapes: the exporter breaks up "-->" in text
            for e in expected:
                e["text"] = e["text"].replace("-->", "-- >")
        for i, (cap, span, exp) in enumerate(zip(captions, spans, expected), 1):
            if span != (exp["start"], exp["end"]):
                raise AssertionError(f"cue {i}: timing {span}, expected "
                                     f"{(exp['start'], exp['end'])}")
            if abs(cap.start_in_seconds * 1000 - exp["start"]) > 1:
                raise AssertionError(f"cue {i}: webvtt parsed start {cap.start}")
            voice, text = cue_fields(cap.raw_text, srt, voices)
            if (voice, text) != (exp["voice"], exp["text"]):
                raise AssertionError(f"cue {i}: got {(voice, text)!r}, expected "
                                     f"{(exp['voice'], exp['text'])!r}")
    except (AssertionError, webvtt.errors.MalformedFileError,
            webvtt.errors.MalformedCaptionError) as e:
        print(f"check_vtt: {path}: {e}")
        return 1
    print(f"check_vtt: {path}: {len(expected)} cues ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
