/*
 * RTP parsing and the room stream rewriter: one SSRC, sequence numbers rising
 * by one and timestamps following wall time across changes of speaker.
 */
#include "check.h"
#include "rtp.h"

#include <string.h>

/* Builds a packet: header, optional CSRCs, optional audio-level extension (id 1), payload. */
static size_t make(uint8_t *p, uint16_t seq, uint32_t ts, uint32_t ssrc, int csrcs, int level,
		   size_t payload, int pad)
{
	size_t n = 0;
	p[n++] = (uint8_t)(0x80 | (level >= 0 ? 0x10 : 0) | (pad ? 0x20 : 0) | csrcs);
	p[n++] = 111;
	p[n++] = (uint8_t)(seq >> 8); p[n++] = (uint8_t)seq;
	for (int i = 3; i >= 0; i--) p[n++] = (uint8_t)(ts >> (8 * i));
	for (int i = 3; i >= 0; i--) p[n++] = (uint8_t)(ssrc >> (8 * i));
	for (int c = 0; c < csrcs; c++, n += 4)
		memset(p + n, 0xcc, 4);
	if (level >= 0) {
		static const uint8_t ext[] = { 0xBE, 0xDE, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00 };
		memcpy(p + n, ext, sizeof ext);
		p[n + 5] = (uint8_t)(0x80 | level);
		n += sizeof ext;
	}
	memset(p + n, 0x5a, payload);
	n += payload;
	if (pad) {
		memset(p + n, 0, (size_t)pad - 1);
		n += (size_t)pad;
		p[n - 1] = (uint8_t)pad;
	}
	return n;
}

static void test_parse(void)
{
	uint8_t p[256];
	struct rtp_hdr h;
	size_t n = make(p, 7, 960, 0xabc, 2, 42, 50, 4);
	CHECK(rtp_parse(p, n, 1, &h) == RTP_OK);
	CHECK(h.seq == 7 && h.ts == 960 && h.ssrc == 0xabc && h.pt == 111);
	CHECK(h.header_len == 12 + 8 + 8 && h.payload_len == 50);
	CHECK(h.audio_level == 42 && h.voice);
	CHECK(rtp_parse(p, n, 0, &h) == RTP_OK && h.audio_level == -1);
	for (size_t cut = 0; cut < 12 + 8 + 8; cut++)
		CHECK(rtp_parse(p, cut, 1, &h) != RTP_OK);
	p[0] = (uint8_t)(p[0] & 0x3f);
	CHECK(rtp_parse(p, n, 1, &h) == RTP_E_VERSION);
	n = make(p, 1, 1, 1, 0, -1, 3, 0);
	p[0] |= 0x20;
	p[n - 1] = 200; /* padding larger than the packet */
	CHECK(rtp_parse(p, n, 1, &h) == RTP_E_PADDING);
}

struct out { uint16_t seq; uint32_t ts, ssrc; };

static bool send(struct rtp_rewriter *w, uint16_t seq, uint32_t ts, uint32_t ssrc, int64_t now,
		 struct out *o)
{
	uint8_t p[64];
	struct rtp_hdr h;
	size_t n = make(p, seq, ts, ssrc, 0, -1, 20, 0);
	if (rtp_parse(p, n, 0, &h) != RTP_OK || !rtp_rewrite(w, p, &h, now))
		return false;
	CHECK(rtp_parse(p, n, 0, &h) == RTP_OK);
	*o = (struct out){ h.seq, h.ts, h.ssrc };
	return true;
}

static void test_rewriter(void)
{
	struct rtp_rewriter w;
	rtp_rewriter_init(&w, 0x5eed, 1000, 50000, 48000);
	struct out o, prev = { 0 };
	int64_t now = 0;
	/* Speaker A: 50 packets of 20 ms, input seq wrapping through 65535. */
	for (int i = 0; i < 50; i++, now += 20) {
		CHECK(send(&w, (uint16_t)(65510 + i), 7000000u + 960u * (uint32_t)i, 0xa, now, &o));
		CHECK(o.ssrc == 0x5eed);
		if (i == 0)
			CHECK(o.seq == 1000 && o.ts == 50000);
		else
			CHECK(o.seq == (uint16_t)(prev.seq + 1) && o.ts == prev.ts + 960);
		prev = o;
	}
	/* A duplicate and a packet far too old are dropped; a slightly late one keeps its place. */
	CHECK(!send(&w, (uint16_t)(65510 + 49), 0, 0xa, now, &o));
	CHECK(!send(&w, (uint16_t)(65510 + 49 - 100), 0, 0xa, now, &o));
	CHECK(send(&w, (uint16_t)(65510 + 47), 7000000u + 960u * 47, 0xa, now, &o));
	CHECK(o.seq == (uint16_t)(prev.seq - 2) && o.ts == prev.ts - 2 * 960);
	/* 300 ms of silence, then speaker B with unrelated numbers: no gap, no jump. */
	now += 300 - 20;
	CHECK(send(&w, 4242, 123, 0xb, now, &o));
	CHECK(o.ssrc == 0x5eed && o.seq == (uint16_t)(prev.seq + 1));
	CHECK(o.ts == prev.ts + 300 * 48);
	prev = o;
	for (int i = 1; i < 10; i++) {
		now += 20;
		CHECK(send(&w, (uint16_t)(4242 + i), 123u + 960u * (uint32_t)i, 0xb, now, &o));
		CHECK(o.seq == (uint16_t)(prev.seq + 1) && o.ts == prev.ts + 960);
		prev = o;
	}
	/* An immediate switch back still advances the timestamp by at least one frame. */
	CHECK(send(&w, 9, 9, 0xa, now, &o));
	CHECK(o.seq == (uint16_t)(prev.seq + 1) && o.ts == prev.ts + 960);
}

int main(void)
{
	test_parse();
	test_rewriter();
	return check_done();
}
