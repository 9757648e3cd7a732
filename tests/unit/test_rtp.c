/*
 * RTP, RTCP and datagram classification: header parsing with both RFC 8285
 * extension forms and the RFC 6464 audio level; the room stream rewriter
 * (one SSRC, sequence numbers rising by one and timestamps following wall
 * time across changes of speaker and a mixer's splices), including a
 * randomized run over a simulated network; RTCP reports built, walked and
 * read back; receiver statistics per RFC 3550 A.1, A.3 and A.8; RFC 4571
 * framing of media over ICE-TCP, whatever the split of the reads.
 * argv[1] sets the random seed, printed on failure.
 */
#include "bytes.h"
#include "check.h"
#include "demux.h"
#include "framing.h"
#include "rtcp.h"
#include "rtp.h"

#include <stdlib.h>
#include <string.h>

/* ---- demux ---------------------------------------------------------------------- */

static void test_demux(void)
{
	static const struct { uint8_t b0, b1; size_t len; enum demux_kind want; } cases[] = {
		{ 0, 1, 20, DEMUX_STUN }, { 3, 0, 20, DEMUX_STUN }, { 4, 0, 20, DEMUX_GARBAGE },
		{ 16, 0, 20, DEMUX_GARBAGE },     /* ZRTP: not ours */
		{ 19, 0, 20, DEMUX_GARBAGE }, { 20, 0, 20, DEMUX_DTLS }, { 22, 254, 20, DEMUX_DTLS },
		{ 63, 0, 20, DEMUX_DTLS }, { 64, 0, 20, DEMUX_GARBAGE }, /* TURN channel */
		{ 127, 0, 20, DEMUX_GARBAGE }, { 128, 111, 20, DEMUX_RTP },
		{ 0x80, 0xef, 20, DEMUX_RTP },    /* PT 111 with the marker bit */
		{ 0x81, 191, 20, DEMUX_RTP }, { 0x81, 192, 20, DEMUX_RTCP }, { 0x80, 200, 8, DEMUX_RTCP },
		{ 0x81, 201, 8, DEMUX_RTCP }, { 0x8f, 206, 8, DEMUX_RTCP }, { 0x80, 223, 8, DEMUX_RTCP },
		{ 0x80, 224, 8, DEMUX_RTP }, { 191, 0, 20, DEMUX_RTP }, { 192, 0, 20, DEMUX_GARBAGE },
		{ 255, 0, 20, DEMUX_GARBAGE }, { 0x80, 0, 1, DEMUX_GARBAGE }, { 0, 0, 0, DEMUX_GARBAGE },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		uint8_t b[2] = { cases[i].b0, cases[i].b1 };
		enum demux_kind k = demux_classify(b, cases[i].len);
		if (k != cases[i].want)
			fprintf(stderr, "demux case %zu: %s, want %s\n", i, demux_name(k),
				demux_name(cases[i].want));
		CHECK(k == cases[i].want);
	}
	CHECK(demux_classify(NULL, 0) == DEMUX_GARBAGE);
	CHECK(strcmp(demux_name(DEMUX_RTCP), "rtcp") == 0);
}

/* ---- parsing -------------------------------------------------------------------- */

/* Builds a packet: header, optional CSRCs, optional audio-level extension (id 1), payload. */
static size_t make(uint8_t *p, uint16_t seq, uint32_t ts, uint32_t ssrc, int csrcs, int level,
		   size_t payload, int pad)
{
	size_t n = 0;
	p[n++] = (uint8_t)(0x80 | (level >= 0 ? 0x10 : 0) | (pad ? 0x20 : 0) | csrcs);
	p[n++] = 111;
	put16(p + n, seq);
	put32(p + n + 2, ts);
	put32(p + n + 6, ssrc);
	n += 10;
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

/* A packet with an extension block given as bytes (profile, then data words). */
static size_t make_ext(uint8_t *p, uint16_t profile, const uint8_t *data, size_t words)
{
	size_t n = make(p, 1, 2, 3, 0, -1, 0, 0);
	p[0] |= 0x10;
	put16(p + n, profile);
	put16(p + n + 2, (uint16_t)words);
	memcpy(p + n + 4, data, words * 4);
	n += 4 + words * 4;
	memset(p + n, 0x77, 10);
	return n + 10;
}

static void test_parse(void)
{
	uint8_t p[256];
	struct rtp_hdr h;
	size_t n = make(p, 7, 960, 0xabc, 2, 42, 50, 4);
	CHECK(rtp_parse(p, n, 1, &h) == RTP_OK);
	CHECK(h.seq == 7 && h.ts == 960 && h.ssrc == 0xabc && h.pt == 111 && h.csrc_count == 2);
	CHECK(h.header_len == 12 + 8 + 8 && h.payload_len == 50 && h.padding_len == 4);
	CHECK(h.audio_level == 42 && h.voice && h.ext_profile == 0xBEDE);
	CHECK(rtp_parse(p, n, 0, &h) == RTP_OK && h.audio_level == -1);
	CHECK(rtp_parse(p, n, 2, &h) == RTP_OK && h.audio_level == -1);
	for (size_t cut = 0; cut < 12 + 8 + 8; cut++)
		CHECK(rtp_parse(p, cut, 1, &h) != RTP_OK);
	p[0] = (uint8_t)(p[0] & 0x3f);
	CHECK(rtp_parse(p, n, 1, &h) == RTP_E_VERSION);
	n = make(p, 1, 1, 1, 0, -1, 3, 0);
	p[0] |= 0x20;
	p[n - 1] = 200; /* padding larger than the packet */
	CHECK(rtp_parse(p, n, 1, &h) == RTP_E_PADDING);
	p[n - 1] = 0;   /* a zero padding count */
	CHECK(rtp_parse(p, n, 1, &h) == RTP_E_PADDING);
	static uint8_t big[RTP_MAX_PACKET + 1];
	n = make(big, 1, 1, 1, 0, -1, RTP_MAX_PACKET + 1 - 12, 0);
	CHECK(rtp_parse(big, n, 0, &h) == RTP_E_TOO_LONG);
	CHECK(rtp_parse(big, n - 1, 0, &h) == RTP_OK);
	for (int e = 0; e >= -4; e--)
		CHECK(strcmp(rtp_strerror(e), "unknown RTP error") != 0);
}

/* RFC 8285: both forms, padding, elements found by id, and malformed blocks survived. */
static void test_extensions(void)
{
	static const struct {
		const char *name;
		uint16_t profile;
		uint8_t data[16];
		size_t words;
		int level_id;
		int want_level; /* -1: none found */
		bool want_voice;
	} cases[] = {
		{ "one-byte, level after another element", 0xBEDE,
		  { 0x21, 0xaa, 0xbb, 0x00, 0x30, 0x85, 0x00, 0x00 }, 2, 3, 5, true },
		{ "one-byte, padding first", 0xBEDE, { 0x00, 0x00, 0x10, 0x3f }, 1, 1, 63, false },
		{ "one-byte, id 15 stops the walk", 0xBEDE, { 0xf0, 0x10, 0x7f, 0x00 }, 1, 1, -1, false },
		{ "one-byte, element overruns", 0xBEDE, { 0x1f, 0x01, 0x02, 0x03 }, 1, 1, -1, false },
		{ "two-byte, level id 200", 0x1000,
		  { 0x05, 0x02, 0x01, 0x02, 0xc8, 0x01, 0x9e, 0x00 }, 2, 200, 30, true },
		{ "two-byte with appbits, padding", 0x100f,
		  { 0x00, 0x00, 0x07, 0x01, 0x11, 0x00, 0x00, 0x00 }, 2, 7, 17, false },
		{ "two-byte, length overruns", 0x1000, { 0x07, 0x09, 0x11, 0x00 }, 1, 7, -1, false },
		{ "two-byte, id byte last", 0x1000, { 0x00, 0x00, 0x00, 0x07 }, 1, 7, -1, false },
		{ "unknown profile", 0xABCD, { 0x10, 0x85, 0x00, 0x00 }, 1, 1, -1, false },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		uint8_t p[128];
		struct rtp_hdr h;
		size_t n = make_ext(p, cases[i].profile, cases[i].data, cases[i].words);
		CHECK(rtp_parse(p, n, cases[i].level_id, &h) == RTP_OK);
		if (h.audio_level != cases[i].want_level || h.voice != cases[i].want_voice)
			fprintf(stderr, "extension case '%s': level %d voice %d\n", cases[i].name,
				h.audio_level, h.voice);
		CHECK(h.audio_level == cases[i].want_level && h.voice == cases[i].want_voice);
		CHECK(h.payload_len == 10 && h.ext_len == cases[i].words * 4);
	}
	/* A generic element, then the extension stripped: the payload survives, the level goes. */
	uint8_t p[128];
	struct rtp_hdr h;
	size_t n = make_ext(p, 0xBEDE, cases[0].data, 2);
	CHECK(rtp_parse(p, n, 3, &h) == RTP_OK);
	const uint8_t *v;
	size_t vlen;
	CHECK(rtp_ext_find(p, &h, 2, &v, &vlen) && vlen == 2 && v[0] == 0xaa && v[1] == 0xbb);
	CHECK(!rtp_ext_find(p, &h, 4, &v, &vlen) && !rtp_ext_find(p, &h, 15, &v, &vlen));
	size_t m = rtp_strip_extension(p, n, &h);
	CHECK(m == n - 12 && h.header_len == 12 && h.audio_level == -1);
	CHECK(rtp_parse(p, m, 3, &h) == RTP_OK && h.payload_len == 10 && h.ext_profile == 0);
	CHECK(p[12] == 0x77 && p[m - 1] == 0x77);
	CHECK(rtp_strip_extension(p, m, &h) == m);
	/* A declared extension longer than the packet is truncation, not a level. */
	n = make_ext(p, 0xBEDE, cases[0].data, 2);
	put16(p + 14, 9);
	CHECK(rtp_parse(p, n, 3, &h) == RTP_E_SHORT);
}

/* ---- the rewriter --------------------------------------------------------------- */

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
	/* Duplicates of the newest and of an older packet, and one far too old: dropped. */
	CHECK(!send(&w, (uint16_t)(65510 + 49), 0, 0xa, now, &o));
	CHECK(!send(&w, (uint16_t)(65510 + 47), 0, 0xa, now, &o));
	CHECK(!send(&w, (uint16_t)(65510 + 49 - 100), 0, 0xa, now, &o));
	CHECK(w.dropped_dup == 2 && w.dropped_late == 1 && w.dropped_old == 3);
	/* A gap, then the missing packet late: it keeps its place, once. */
	CHECK(send(&w, (uint16_t)(65510 + 51), 7000000u + 960u * 51, 0xa, now, &o));
	CHECK(o.seq == (uint16_t)(prev.seq + 2) && o.ts == prev.ts + 2 * 960);
	prev = o;
	CHECK(send(&w, (uint16_t)(65510 + 50), 7000000u + 960u * 50, 0xa, now, &o));
	CHECK(o.seq == (uint16_t)(prev.seq - 1) && o.ts == prev.ts - 960);
	CHECK(!send(&w, (uint16_t)(65510 + 50), 7000000u + 960u * 50, 0xa, now, &o));
	/* 300 ms of silence, then speaker B with unrelated numbers: no gap, no jump. */
	now += 300;
	CHECK(send(&w, 4242, 123, 0xb, now, &o));
	CHECK(o.ssrc == 0x5eed && o.seq == (uint16_t)(prev.seq + 1));
	CHECK(o.ts == prev.ts + 300 * 48);
	CHECK(w.switches == 1);
	prev = o;
	/* B's packet sent before its first one arrives late: its number is taken, so it is dropped. */
	CHECK(!send(&w, 4241, 123 - 960, 0xb, now, &o));
	/* A's packets still in flight are stragglers, not a new turn. */
	CHECK(!send(&w, (uint16_t)(65510 + 49), 0, 0xa, now, &o));
	for (int i = 1; i < 10; i++) {
		now += 20;
		CHECK(send(&w, (uint16_t)(4242 + i), 123u + 960u * (uint32_t)i, 0xb, now, &o));
		CHECK(o.seq == (uint16_t)(prev.seq + 1) && o.ts == prev.ts + 960);
		prev = o;
	}
	/* A speaks again (its numbers ran on meanwhile): at least one frame later, never the same ts. */
	CHECK(send(&w, (uint16_t)(65510 + 80), 9, 0xa, now, &o));
	CHECK(o.seq == (uint16_t)(prev.seq + 1) && o.ts == prev.ts + 960);
	CHECK(w.switches == 2);
}

/* A mixer takes over and hands back: one sequence, timestamps continuing. */
static void test_mixer_splice(void)
{
	struct rtp_rewriter w;
	rtp_rewriter_init(&w, 7, 0, 0, 48000);
	CHECK(rtp_rewriter_next_ts(&w, 12345) == 0); /* nothing out yet: the initial timestamp */
	struct out o, prev;
	int64_t now = 1000;
	for (int i = 0; i < 5; i++, now += 20)
		CHECK(send(&w, (uint16_t)(100 + i), 960u * (uint32_t)i, 0xa, now, &prev));
	/* 25 ms after A's last packet the mixer starts: its first ts is 25 ms on. */
	now += 5;
	uint32_t ts = rtp_rewriter_next_ts(&w, now);
	CHECK(ts == prev.ts + 25 * 48);
	uint8_t p[64];
	struct rtp_hdr h;
	for (int i = 0; i < 3; i++, now += 20, ts += 960) {
		size_t n = make(p, 0, 0, 0, 0, -1, 20, 0);
		rtp_rewriter_local(&w, p, ts, now);
		CHECK(rtp_parse(p, n, 0, &h) == RTP_OK);
		CHECK(h.ssrc == 7 && h.seq == (uint16_t)(prev.seq + 1) && h.ts == (i ? prev.ts + 960 : ts));
		prev = (struct out){ h.seq, h.ts, h.ssrc };
	}
	CHECK(w.local == 3 && w.switches == 1);
	/* A's packet from before the splice is a straggler; A's next turn is a fresh mapping. */
	CHECK(!send(&w, 104, 960u * 4, 0xa, now, &o));
	CHECK(send(&w, 110, 960u * 10, 0xa, now, &o));
	CHECK(o.seq == (uint16_t)(prev.seq + 1) && o.ts == prev.ts + 960);
	CHECK(w.switches == 2);
	CHECK(send(&w, 111, 960u * 11, 0xa, now + 20, &prev));
	CHECK(prev.seq == (uint16_t)(o.seq + 1) && prev.ts == o.ts + 960);
}

static uint64_t rng_state;

/* xorshift64*: small, seeded, repeatable. */
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

enum { SPEAKERS = 4, PACKETS = 20000, MIXER = SPEAKERS };

struct arrival {
	int64_t at;
	int speaker;
	uint16_t seq;
	uint32_t ts;
};

static int by_time(const void *a, const void *b)
{
	const struct arrival *x = a, *y = b;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Every speaker sends a 20 ms frame all the time; the network delays, reorders, loses, duplicates. */
static size_t simulate_network(struct arrival *arr)
{
	uint16_t seq[SPEAKERS];
	uint32_t ts[SPEAKERS];
	for (int s = 0; s < SPEAKERS; s++) {
		seq[s] = (uint16_t)rng();
		ts[s] = (uint32_t)rng();
	}
	size_t n = 0;
	for (int k = 0; k < PACKETS / SPEAKERS; k++)
		for (int s = 0; s < SPEAKERS; s++) {
			int64_t sent = 20 * (int64_t)k;
			int copies = rng() % 50 == 0 ? 0 : rng() % 50 == 0 ? 2 : 1;
			for (int c = 0; c < copies; c++)
				arr[n++] = (struct arrival){ sent + (int64_t)(rng() % 80), s, seq[s], ts[s] };
			seq[s]++;
			ts[s] += 960;
		}
	qsort(arr, n, sizeof *arr, by_time);
	return n;
}

struct sent { uint64_t useq; uint32_t ts; };

static int by_useq(const void *a, const void *b)
{
	const struct sent *x = a, *y = b;
	return x->useq < y->useq ? -1 : x->useq > y->useq;
}

/* Tracks the output on an unwrapped sequence axis. */
struct axis {
	bool any;
	uint16_t newest;
	uint64_t newest_u;
	uint32_t newest_ts;
};

/* Places an emitted packet; returns its signed step from the newest before it. */
static int place(struct axis *ax, uint16_t seq, uint32_t ts, struct sent *rec)
{
	int step = ax->any ? (int16_t)(seq - ax->newest) : 1;
	uint64_t u = ax->any ? ax->newest_u + (uint64_t)(int64_t)step : 1u << 20;
	*rec = (struct sent){ u, ts };
	if (step > 0) {
		ax->newest = seq;
		ax->newest_u = u;
		ax->newest_ts = ts;
	}
	ax->any = true;
	return step;
}

/* Emits one arrival through the rewriter if its sender holds the floor (or the mixer's frame is due). */
static bool emit(struct rtp_rewriter *w, const struct arrival *a, int holder, uint32_t *mix_ts,
		 int64_t *next_mix, uint8_t *p, size_t *len)
{
	*len = make(p, a->seq, a->ts, 0x1000u + (uint32_t)a->speaker, 0, -1, 20, 0);
	if (holder == MIXER) {
		if (a->at < *next_mix)
			return false;
		rtp_rewriter_local(w, p, *mix_ts, a->at);
		*mix_ts += 960;
		*next_mix += 20;
		return true;
	}
	struct rtp_hdr h;
	if (holder != a->speaker || rtp_parse(p, *len, 0, &h) != RTP_OK)
		return false;
	return rtp_rewrite(w, p, &h, a->at);
}

/*
 * The floor moves at random (sometimes to a mixer); only the holder's
 * packets reach the rewriter, as the hub gates them. Checks: one SSRC;
 * every change of source continues at the next sequence number and at the
 * timestamp rtp_rewriter_next_ts promised; no sequence number is used twice;
 * in sequence order, timestamps strictly rise.
 */
static void test_rewriter_random(uint64_t seed)
{
	static struct arrival arr[PACKETS * 2];
	static struct sent out[PACKETS * 2];
	int before = check_failed;
	rng_state = seed ? seed : 1;
	size_t n = simulate_network(arr), n_out = 0;
	struct rtp_rewriter w;
	rtp_rewriter_init(&w, 99, (uint16_t)rng(), (uint32_t)rng(), 48000);
	struct axis ax = { 0 };
	int holder = 0;
	int64_t next_mix = 0;
	uint32_t mix_ts = 0;
	for (size_t i = 0; i < n && check_failed == before; i++) {
		const struct arrival *a = &arr[i];
		if (rng() % 200 == 0) {
			holder = (int)(rng() % (SPEAKERS + 1));
			next_mix = a->at;
			mix_ts = rtp_rewriter_next_ts(&w, a->at);
		}
		uint64_t switches = w.switches;
		uint32_t promised = rtp_rewriter_next_ts(&w, a->at);
		uint8_t p[64];
		size_t len;
		if (!emit(&w, a, holder, &mix_ts, &next_mix, p, &len))
			continue;
		struct rtp_hdr h;
		CHECK(rtp_parse(p, len, 0, &h) == RTP_OK && h.ssrc == 99);
		int step = place(&ax, h.seq, h.ts, &out[n_out++]);
		if (w.switches != switches)
			CHECK(step == 1 && h.ts == promised);
	}
	qsort(out, n_out, sizeof *out, by_useq);
	for (size_t i = 1; i < n_out && check_failed == before; i++) {
		CHECK(out[i].useq > out[i - 1].useq);
		CHECK((int32_t)(out[i].ts - out[i - 1].ts) > 0);
	}
	CHECK(w.packets == n_out && n_out > PACKETS / 8 && w.switches > 10 && w.local > 0);
	CHECK(w.dropped_dup > 0 && w.dropped_late > 0);
	if (check_failed != before)
		fprintf(stderr, "test_rewriter_random failed with seed %llu (rerun: test_rtp %llu)\n",
			(unsigned long long)seed, (unsigned long long)seed);
}

/* ---- RTCP ----------------------------------------------------------------------- */

struct walked {
	int types[8], n;
	const uint8_t *pkt[8];
	size_t len[8];
};

static void on_packet(void *ctx, int type, const uint8_t *pkt, size_t len)
{
	struct walked *w = ctx;
	if (w->n < 8) {
		w->types[w->n] = type;
		w->pkt[w->n] = pkt;
		w->len[w->n++] = len;
	}
}

struct cname { uint32_t ssrc; char text[64]; int items; };

static void on_item(void *ctx, uint32_t ssrc, int type, const uint8_t *text, size_t len)
{
	struct cname *c = ctx;
	c->items++;
	if (type == RTCP_SDES_CNAME && len < sizeof c->text) {
		c->ssrc = ssrc;
		memcpy(c->text, text, len);
		c->text[len] = '\0';
	}
}

/* A speaker's stream seen by us: 100 packets 20 ms apart, every 20th lost, through a wrap. */
static void feed(struct rtcp_rx *rx, uint32_t ssrc, int64_t t0)
{
	for (int i = 0; i < 100; i++)
		if (i % 20 != 7)
			(void)rtcp_rx_packet(rx, ssrc, (uint16_t)(65500 + i), 960u * (uint32_t)i,
					     t0 + 20 * i, 48000);
}

/* Our SR with a block for the stream we receive, read back field by field. */
static void test_rtcp_sr_round_trip(void)
{
	struct rtcp_rx rx = { 0 }, idle = { 0 };
	feed(&rx, 0xabc, 1000);
	struct rtcp_rx *const rxs[] = { &rx, &idle, NULL };
	struct rtcp_sender snd = { 480000, 500, 40000 };
	uint8_t buf[512];
	int n = rtcp_build_report(buf, sizeof buf, 0x5eed, &snd, rxs, 3, 1700000000500, 3000,
				  "room-7@rostrum");
	CHECK(n > 0 && n % 4 == 0);
	CHECK(rtcp_validate_compound(buf, (size_t)n) == RTCP_OK);
	struct walked wk = { 0 };
	CHECK(rtcp_walk(buf, (size_t)n, on_packet, &wk));
	CHECK(wk.n == 2 && wk.types[0] == RTCP_SR && wk.types[1] == RTCP_SDES);
	struct rtcp_sr_info sr;
	CHECK(rtcp_parse_sr(wk.pkt[0], wk.len[0], &sr) == RTCP_OK);
	CHECK(sr.ssrc == 0x5eed && sr.ntp == rtcp_ntp(1700000000500) && sr.rtp_ts == 480000);
	CHECK(sr.packets == 500 && sr.octets == 40000 && sr.n_blocks == 1); /* idle stream: no block */
	CHECK(sr.blocks[0].ssrc == 0xabc && sr.blocks[0].lost == 5);
	CHECK(sr.blocks[0].fraction == 5 * 256 / 100);
	CHECK(sr.blocks[0].ext_max_seq == (1u << 16) + (uint16_t)(65500 + 99));
	CHECK(sr.blocks[0].jitter < 5 && sr.blocks[0].lsr == 0 && sr.blocks[0].dlsr == 0);
	struct cname c = { 0 };
	CHECK(rtcp_parse_sdes(wk.pkt[1], wk.len[1], on_item, &c) == RTCP_OK);
	CHECK(c.items == 1 && c.ssrc == 0x5eed);
	CHECK_STR(c.text, "room-7@rostrum");
	CHECK(rtcp_parse_rr(wk.pkt[0], wk.len[0], &(struct rtcp_rr_info){ 0 }) == RTCP_E_TYPE);
	CHECK(rtcp_build_report(buf, 40, 0x5eed, &snd, rxs, 3, 0, 0, "x") == RTCP_E_NO_SPACE);
	CHECK(rtcp_build_report(buf, 60, 0x5eed, &snd, rxs, 3, 0, 0, "a-long-cname") ==
	      RTCP_E_NO_SPACE);
	/* NTP: 1970 is 2208988800 s after 1900; half a second is half the fraction range. */
	CHECK(rtcp_ntp(500) == (2208988800ULL << 32 | 0x80000000ULL));
}

/* The peer answers our SR with an RR: LSR/DLSR give the round trip. */
static void test_rtcp_rtt(void)
{
	int64_t sent = 1700000000000, owd = 40, held = 300;
	uint8_t buf[256];
	int n = rtcp_build_sr(buf, sizeof buf, 0x5eed, sent, 0, 1, 100, "us");
	struct rtcp_sr_info sr;
	CHECK(n > 0 && rtcp_parse_sr(buf, (size_t)n, &sr) == RTCP_OK);
	/* The peer, on its own monotonic clock, notes the SR and reports 300 ms later. */
	struct rtcp_rx peer = { 0 };
	(void)rtcp_rx_packet(&peer, 0x5eed, 1, 0, 50000, 48000);
	rtcp_rx_sr(&peer, sr.ntp, 50000 + owd);
	n = rtcp_build_rr(buf, sizeof buf, 0xbeef, &peer, 50000 + owd + held, "them");
	CHECK(n > 0 && rtcp_validate_compound(buf, (size_t)n) == RTCP_OK);
	struct rtcp_rr_info rr;
	CHECK(rtcp_parse_rr(buf, (size_t)n, &rr) == RTCP_OK && rr.ssrc == 0xbeef && rr.n_blocks == 1);
	CHECK(rr.blocks[0].lsr == (uint32_t)(rtcp_ntp(sent) >> 16));
	CHECK(rr.blocks[0].dlsr == (uint32_t)(held * 65536 / 1000));
	int64_t rtt = rtcp_rtt_ms(&rr.blocks[0], sent + owd + held + owd);
	CHECK(rtt >= 2 * owd - 1 && rtt <= 2 * owd + 1);
	struct rtcp_block none = { 0 };
	CHECK(rtcp_rtt_ms(&none, sent) == -1);
	CHECK(rtcp_rtt_ms(&rr.blocks[0], sent) == -1); /* before it was even sent: clock trouble */
	struct rtcp_rx never = { 0 };
	CHECK(rtcp_build_rr(buf, sizeof buf, 1, &never, 0, "x") < 0);
}

static void test_rtcp_bye(void)
{
	uint8_t buf[64];
	int n = rtcp_build_bye(buf, sizeof buf, 0x5eed);
	struct rtcp_bye_info bye;
	CHECK(n == 8 && rtcp_parse_bye(buf, (size_t)n, &bye) == RTCP_OK);
	CHECK(bye.n_ssrcs == 1 && bye.ssrcs[0] == 0x5eed && bye.reason == NULL);
	CHECK(rtcp_build_bye(buf, 7, 1) == RTCP_E_NO_SPACE);
	/* Two SSRCs and a reason, padded to a word. */
	static const uint8_t two[] = { 0x82, 203, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2,
				       4, 'b', 'y', 'e', '!', 0, 0, 0 };
	CHECK(rtcp_parse_bye(two, sizeof two, &bye) == RTCP_OK);
	CHECK(bye.n_ssrcs == 2 && bye.ssrcs[1] == 2 && bye.reason_len == 4 &&
	      memcmp(bye.reason, "bye!", 4) == 0);
	uint8_t bad[sizeof two];
	memcpy(bad, two, sizeof two);
	bad[12] = 9; /* the reason runs past the packet */
	CHECK(rtcp_parse_bye(bad, sizeof bad, &bye) == RTCP_E_SHORT);
	bad[0] = 0x85; /* five SSRCs in four words */
	CHECK(rtcp_parse_bye(bad, sizeof bad, &bye) == RTCP_E_SHORT);
}

/* Malformed compounds and packets: each refused with its error, nothing read out of bounds. */
static void test_rtcp_malformed(void)
{
	static const struct { const char *name; uint8_t b[40]; size_t len; int want_walk, want_rr; } cases[] = {
		{ "empty RR", { 0x80, 201, 0, 1, 0, 0, 0, 9 }, 8, RTCP_OK, RTCP_OK },
		{ "three bytes", { 0x80, 201, 0 }, 3, RTCP_E_SHORT, RTCP_E_SHORT },
		{ "version 1", { 0x40, 201, 0, 1, 0, 0, 0, 9 }, 8, RTCP_E_VERSION, RTCP_E_VERSION },
		{ "length past the end", { 0x80, 201, 0, 2, 0, 0, 0, 9 }, 8, RTCP_E_SHORT, RTCP_E_SHORT },
		{ "block count past the length", { 0x81, 201, 0, 1, 0, 0, 0, 9 }, 8, RTCP_OK,
		  RTCP_E_SHORT },
		/* Read alone, that first packet's padding would eat its SSRC. */
		{ "padding on the first packet", { 0xa0, 201, 0, 1, 0, 0, 0, 4, 0x80, 201, 0, 1 }, 16,
		  RTCP_E_PADDING, RTCP_E_SHORT },
		{ "zero padding count", { 0xa0, 201, 0, 1, 0, 0, 0, 0 }, 8, RTCP_E_PADDING,
		  RTCP_E_PADDING },
		{ "padding eats the header", { 0xa0, 201, 0, 1, 0, 0, 0, 8 }, 8, RTCP_E_PADDING,
		  RTCP_E_PADDING },
		{ "padded last packet", { 0x80, 201, 0, 1, 0, 0, 0, 9, 0xa0, 201, 0, 2, 0, 0, 0, 9,
					  0, 0, 0, 4 }, 20, RTCP_OK, RTCP_OK },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		bool walked = rtcp_walk(cases[i].b, cases[i].len, NULL, NULL);
		struct rtcp_rr_info rr;
		int rc = rtcp_parse_rr(cases[i].b, cases[i].len, &rr);
		if (walked != (cases[i].want_walk == RTCP_OK) || rc != cases[i].want_rr)
			fprintf(stderr, "rtcp case '%s': walk %d, rr %s\n", cases[i].name, walked,
				rtcp_strerror(rc));
		CHECK(walked == (cases[i].want_walk == RTCP_OK));
		CHECK(rc == cases[i].want_rr);
		if (cases[i].want_walk != RTCP_OK)
			CHECK(rtcp_validate_compound(cases[i].b, cases[i].len) == cases[i].want_walk);
	}
	/* Reduced-size RTCP walks, but is not a compound. */
	static const uint8_t sdes_only[] = { 0x81, 202, 0, 2, 0, 0, 0, 1, 1, 1, 'x', 0 };
	CHECK(rtcp_walk(sdes_only, sizeof sdes_only, NULL, NULL));
	CHECK(rtcp_validate_compound(sdes_only, sizeof sdes_only) == RTCP_E_COMPOUND);
	struct cname c = { 0 };
	CHECK(rtcp_parse_sdes(sdes_only, sizeof sdes_only, on_item, &c) == RTCP_OK && c.items == 1);
	CHECK_STR(c.text, "x");
	/* SDES items that run past the packet, a chunk without its end, more chunks than fit. */
	static const uint8_t item_over[] = { 0x81, 202, 0, 2, 0, 0, 0, 1, 1, 9, 'x', 0 };
	static const uint8_t no_end[] = { 0x81, 202, 0, 2, 0, 0, 0, 1, 1, 2, 'x', 'y' };
	static const uint8_t two_chunks[] = { 0x82, 202, 0, 2, 0, 0, 0, 1, 1, 1, 'x', 0 };
	CHECK(rtcp_parse_sdes(item_over, sizeof item_over, on_item, &c) == RTCP_E_SHORT);
	CHECK(rtcp_parse_sdes(no_end, sizeof no_end, on_item, &c) == RTCP_E_SHORT);
	CHECK(rtcp_parse_sdes(two_chunks, sizeof two_chunks, NULL, NULL) == RTCP_E_SHORT);
	struct rtcp_sr_info sr;
	static const uint8_t short_sr[] = { 0x80, 200, 0, 1, 0, 0, 0, 1 };
	CHECK(rtcp_parse_sr(short_sr, sizeof short_sr, &sr) == RTCP_E_SHORT);
	/* Every truncation of a real compound is refused or read within bounds. */
	uint8_t buf[256];
	int n = rtcp_build_sr(buf, sizeof buf, 1, 0, 0, 0, 0, "cname");
	for (int cut = 0; cut < n; cut++)
		CHECK(!rtcp_walk(buf, (size_t)cut, NULL, NULL) || cut == 28);
	for (int e = 0; e >= -6; e--)
		CHECK(strcmp(rtcp_strerror(e), "unknown RTCP error") != 0);
}

/* Appendix A.1 and A.3: sequence numbers from zero, reordering, duplicates, a restart. */
static void test_receiver_seq(void)
{
	struct rtcp_rx rx = { 0 };
	for (uint16_t s = 0; s < 10; s++)
		CHECK(rtcp_rx_packet(&rx, 7, s, 960u * s, 20 * s, 48000));
	CHECK(rtcp_rx_expected(&rx) == 10 && rtcp_rx_lost(&rx) == 0 && rx.cycles == 0);
	/* 12 arrives before 10 and 11; 11 twice: nothing lost, one extra. */
	CHECK(rtcp_rx_packet(&rx, 7, 12, 0, 300, 48000));
	CHECK(rtcp_rx_packet(&rx, 7, 10, 0, 301, 48000));
	CHECK(rtcp_rx_packet(&rx, 7, 11, 0, 302, 48000));
	CHECK(rtcp_rx_packet(&rx, 7, 11, 0, 303, 48000));
	CHECK(rx.max_seq == 12 && rtcp_rx_expected(&rx) == 13 && rtcp_rx_lost(&rx) == -1);
	/* A jump of 20000: a stray until the next packet confirms it, then a fresh start. */
	CHECK(!rtcp_rx_packet(&rx, 7, 20012, 0, 400, 48000));
	CHECK(rx.max_seq == 12 && rx.received == 14);
	CHECK(rtcp_rx_packet(&rx, 7, 13, 0, 401, 48000)); /* the stream goes on: the stray is forgotten */
	CHECK(!rtcp_rx_packet(&rx, 7, 30000, 0, 402, 48000));
	CHECK(rtcp_rx_packet(&rx, 7, 30001, 0, 403, 48000));
	CHECK(rx.base_seq == 30001 && rx.received == 1 && rtcp_rx_expected(&rx) == 1);
	/* A new SSRC starts over but keeps the last SR time. */
	rtcp_rx_sr(&rx, 0x0000123456780000ULL, 500);
	CHECK(rtcp_rx_packet(&rx, 8, 65535, 0, 600, 48000));
	CHECK(rtcp_rx_packet(&rx, 8, 1, 0, 620, 48000)); /* wraps, 0 lost */
	CHECK(rx.ssrc == 8 && rx.cycles == 1u << 16 && rtcp_rx_expected(&rx) == 3);
	CHECK(rtcp_rx_lost(&rx) == 1 && rx.lsr == 0x12345678u);
}

/* Appendix A.8: steady transit gives no jitter; transit alternating by 10 ms converges on 480. */
static void test_receiver_jitter(void)
{
	struct rtcp_rx steady = { 0 }, shaky = { 0 };
	for (int i = 0; i < 400; i++) {
		(void)rtcp_rx_packet(&steady, 1, (uint16_t)i, 960u * (uint32_t)i + 7, 20 * i + 55, 48000);
		(void)rtcp_rx_packet(&shaky, 2, (uint16_t)i, 960u * (uint32_t)i, 20 * i + (i & 1) * 10,
				     48000);
	}
	CHECK(steady.jitter < 0.001);
	CHECK(shaky.jitter > 479 && shaky.jitter < 481);
	/* RTP timestamps wrapping at 2^32 do not look like a jump in transit. */
	struct rtcp_rx wrap = { 0 };
	for (int i = 0; i < 100; i++)
		(void)rtcp_rx_packet(&wrap, 3, (uint16_t)i, 0xffff0000u + 960u * (uint32_t)i, 20 * i,
				     48000);
	CHECK(wrap.jitter < 0.001);
}

static void test_rtcp(void)
{
	test_rtcp_sr_round_trip();
	test_rtcp_rtt();
	test_rtcp_bye();
	test_rtcp_malformed();
	test_receiver_seq();
	test_receiver_jitter();
}

/* ---- RFC 4571 framing ----------------------------------------------------------- */

/* What came out of the framer, in order: every packet's bytes back to back. */
struct unframed {
	uint8_t bytes[4096];
	size_t len;
	size_t lens[16];
	int n;
};

static void on_frame(void *ctx, uint8_t *pkt, size_t len)
{
	struct unframed *u = ctx;
	if (u->n < 16 && u->len + len <= sizeof u->bytes) {
		memcpy(u->bytes + u->len, pkt, len);
		u->len += len;
		u->lens[u->n++] = len;
	}
}

/* A STUN, an RTP, an RTCP and a DTLS-looking packet, framed back to back. */
static size_t framed_stream(uint8_t *out, uint8_t *plain, size_t *lens)
{
	static const size_t sizes[4] = { 20, 172, 28, 1 };
	static const uint8_t first[4][2] = { { 0x00, 0x01 }, { 0x80, 111 }, { 0x80, 200 }, { 22, 0 } };
	size_t o = 0, p = 0;
	for (int i = 0; i < 4; i++) {
		uint8_t hdr[2];
		CHECK(framing_header(sizes[i], hdr));
		memcpy(out + o, hdr, 2);
		for (size_t k = 0; k < sizes[i]; k++)
			plain[p + k] = k < 2 ? first[i][k] : (uint8_t)(i * 31 + k);
		memcpy(out + o + 2, plain + p, sizes[i]);
		o += 2 + sizes[i];
		p += sizes[i];
		lens[i] = sizes[i];
	}
	return o;
}

/* Feeds stream in pieces of at most step bytes, cut at offset cut first. */
static void feed_split(const uint8_t *stream, size_t len, size_t cut, size_t step,
		       struct unframed *u)
{
	struct framing f;
	memset(&f, 0, sizeof f);
	memset(u, 0, sizeof *u);
	size_t at = 0;
	while (at < len) {
		size_t n = at == 0 && cut ? cut : step;
		if (n > len - at)
			n = len - at;
		CHECK(framing_input(&f, stream + at, n, on_frame, u) == (long)n);
		at += n;
	}
}

static void test_framing_splits(void)
{
	uint8_t stream[512], plain[512];
	size_t lens[4];
	size_t len = framed_stream(stream, plain, lens);
	size_t plain_len = lens[0] + lens[1] + lens[2] + lens[3];
	int bad = 0;
	for (size_t cut = 0; cut < len; cut++) {
		for (size_t step = 1; step <= 7; step += 3) {
			struct unframed u;
			feed_split(stream, len, cut, step, &u);
			bad += u.n != 4 || u.len != plain_len || memcmp(u.bytes, plain, plain_len) != 0;
		}
	}
	CHECK(bad == 0);
	struct unframed u;
	feed_split(stream, len, 0, len, &u);
	CHECK(u.n == 4 && u.lens[1] == 172);
	CHECK(demux_classify(u.bytes, u.lens[0]) == DEMUX_STUN);
	CHECK(demux_classify(u.bytes + u.lens[0], u.lens[1]) == DEMUX_RTP);
	CHECK(demux_classify(u.bytes + u.lens[0] + u.lens[1], u.lens[2]) == DEMUX_RTCP);
}

/* A frame announcing more than a datagram can hold condemns the stream. */
static void test_framing_oversize(void)
{
	uint8_t hdr[2];
	CHECK(!framing_header(FRAMING_MAX + 1, hdr));
	struct framing f;
	memset(&f, 0, sizeof f);
	struct unframed u;
	memset(&u, 0, sizeof u);
	const uint8_t huge[3] = { 0xff, 0xff, 0x80 };
	CHECK(framing_input(&f, huge, sizeof huge, on_frame, &u) < 0);
	CHECK(u.n == 0);
	const uint8_t fine[3] = { 0x00, 0x01, 0x80 };
	CHECK(framing_input(&f, fine, sizeof fine, on_frame, &u) < 0);
	CHECK(u.n == 0);
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5eed2026;
	test_demux();
	test_parse();
	test_extensions();
	test_rewriter();
	test_mixer_splice();
	test_rewriter_random(seed);
	test_rtcp();
	test_framing_splits();
	test_framing_oversize();
	return check_done();
}
