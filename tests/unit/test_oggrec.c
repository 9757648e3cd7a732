/*
 * The Ogg Opus recording: a timeline of silence, PCM tone, silence and
 * Opus tone (one packet lost and concealed, one repeated, one late, the
 * sequence numbers wrapping) on fake time, decoded back with opusdec when
 * it is installed and checked window by window with a Goertzel filter: the
 * tone where it was heard, silence in the gaps, the length of wall time.
 * Without opusdec only the Ogg structure is checked. Also: the comment
 * header, garbage packets that do not break the stream, and pages that
 * reach the sink while the recording runs rather than only at the end.
 */
#include "check.h"
#include "oggrec.h"

#include <ogg/ogg.h>
#include <opus/opus.h>

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RATE 48000
#define FRAME 960                 /* 20 ms */
#define T0 1700000000000LL        /* the recording's start, wall milliseconds */
#define TONE_HZ 440.0
#define TONE_AMP 0.5
#define WINDOW 4800               /* 100 ms: the Goertzel window */
#define OPUSDEC "/usr/bin/opusdec"

/* ---- the sink: the file in memory --------------------------------------------- */

struct mem {
	uint8_t *p;
	size_t len, cap;
	int writes;
	const oggrec *rec;        /* set once created: the header pages come before */
	int64_t last_page_ms;     /* written_ms() when the last page arrived */
};

static void mem_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct mem *m = ctx;
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->p = realloc(m->p, m->cap);
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	m->writes++;
	m->last_page_ms = m->rec ? oggrec_written_ms(m->rec) : 0;
}

static oggrec *mem_rec(struct mem *m, const char *room, const char *title)
{
	*m = (struct mem){ 0 };
	struct oggrec_sink sink = { mem_write, m };
	oggrec *r = oggrec_create(&sink, T0, room, title);
	m->rec = r;
	return r;
}

/* Writes the bytes to a new temporary file; the caller unlinks and frees the name. */
static char *mem_to_file(const struct mem *m)
{
	char *name = strdup("/tmp/rostrum-oggrec-XXXXXX");
	int fd = mkstemp(name);
	if (fd < 0) {
		free(name);
		return NULL;
	}
	bool ok = write(fd, m->p, m->len) == (ssize_t)m->len;
	close(fd);
	if (!ok) {
		unlink(name);
		free(name);
		return NULL;
	}
	return name;
}

static bool contains(const struct mem *m, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= m->len; i++)
		if (memcmp(m->p + i, s, n) == 0)
			return true;
	return false;
}

/* ---- signals ------------------------------------------------------------------ */

/* Sample i of the tone, on one phase for the whole test. */
static float tone(int64_t i)
{
	return (float)(TONE_AMP * sin(2 * M_PI * TONE_HZ * (double)i / RATE));
}


static double rms(const float *x, size_t n)
{
	double e = 0;
	for (size_t i = 0; i < n; i++)
		e += (double)x[i] * x[i];
	return sqrt(e / (double)n);
}

/* ---- WAV ------------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}


/* Mono 16-bit 48 kHz samples of a WAV file as floats; NULL when it is not one. */
static float *wav_read(const char *path, size_t *n)
{
	size_t len, off = 12;
	uint8_t *b = check_slurp(path, &len);
	float *out = NULL;
	bool fmt_ok = false;
	if (!b || len < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WAVE", 4) != 0)
		goto done;
	while (off + 8 <= len) {
		uint32_t clen = le32(b + off + 4);
		const uint8_t *c = b + off + 8;
		if (clen > len - off - 8)
			clen = (uint32_t)(len - off - 8);  /* a streamed WAV may leave the size open */
		if (memcmp(b + off, "fmt ", 4) == 0 && clen >= 16)
			fmt_ok = le16(c + 2) == 1 && le32(c + 4) == RATE && le16(c + 14) == 16;
		if (memcmp(b + off, "data", 4) == 0 && fmt_ok) {
			*n = clen / 2;
			out = malloc((*n ? *n : 1) * sizeof *out);
			for (size_t i = 0; i < *n; i++)
				out[i] = (float)(int16_t)le16(c + 2 * i) / 32768.0f;
			break;
		}
		off += 8 + clen + (clen & 1);
	}
done:
	free(b);
	return out;
}

/* Decodes the recording with opusdec; NULL when that fails. */
static float *decode_file(const char *ogg, size_t *n)
{
	char wav[300], cmd[700];
	snprintf(wav, sizeof wav, "%s.wav", ogg);
	snprintf(cmd, sizeof cmd, OPUSDEC " --quiet --no-dither --rate 48000 '%s' '%s'", ogg, wav);
	int rc = system(cmd);
	float *pcm = rc == 0 ? wav_read(wav, n) : NULL;
	if (rc != 0)
		fprintf(stderr, "opusdec failed: %d\n", rc);
	unlink(wav);
	return pcm;
}

/* ---- the timeline ------------------------------------------------------------- */

/*
 * Expected content by wall time since T0 (milliseconds): tone in [1000, 3000)
 * and [4000, 5000), silence elsewhere, 5000 in all.
 */
static const struct {
	int from_ms, to_ms;
	bool tone;
} expect[] = {
	{ 0, 1000, false }, { 1000, 3000, true }, { 3000, 4000, false }, { 4000, 5000, true },
};

/* The tone as PCM: 2 s in 20 ms chunks heard from 1 s on. */
static void feed_pcm(oggrec *r, struct mem *m, int64_t *max_unflushed)
{
	float buf[FRAME];
	for (int c = 0; c < 100; c++) {
		int64_t first = (int64_t)RATE + (int64_t)c * FRAME;
		for (int i = 0; i < FRAME; i++)
			buf[i] = tone(first + i);
		CHECK(oggrec_pcm(r, T0 + 1000 + 20 * (c + 1), buf, FRAME) == OGGREC_OK);
		int64_t lag = oggrec_written_ms(r) - m->last_page_ms;
		if (lag > *max_unflushed)
			*max_unflushed = lag;
	}
}

/* One 20 ms Opus packet of the tone starting at sample first. */
static int encode_tone(OpusEncoder *enc, int64_t first, uint8_t *pkt, int cap)
{
	float buf[FRAME];
	for (int i = 0; i < FRAME; i++)
		buf[i] = tone(first + i);
	return opus_encode_float(enc, buf, FRAME, pkt, cap);
}

/*
 * The tone as Opus packets: 1 s heard from 4 s on. Packet 20 never arrives
 * (concealed), 30 comes twice and 33 once more late (both skipped); the
 * sequence numbers wrap through 65535.
 */
static void feed_opus(oggrec *r)
{
	int err;
	OpusEncoder *enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &err);
	CHECK(enc != NULL);
	if (!enc)
		return;
	uint8_t pkts[50][400];
	int lens[50];
	for (int j = 0; j < 50; j++) {
		lens[j] = encode_tone(enc, 4 * (int64_t)RATE + (int64_t)j * FRAME, pkts[j], 400);
		CHECK(lens[j] > 0);
	}
	for (int j = 0; j < 50; j++) {
		int64_t now = T0 + 4000 + 20 * (j + 1);
		uint16_t seq = (uint16_t)(65520 + j);
		if (j == 20)
			continue;
		CHECK(oggrec_opus(r, now, seq, pkts[j], (size_t)lens[j]) == OGGREC_OK);
		int64_t before = oggrec_written_ms(r);
		if (j == 30)
			CHECK(oggrec_opus(r, now, seq, pkts[j], (size_t)lens[j]) == OGGREC_OK);
		if (j == 35)
			CHECK(oggrec_opus(r, now, (uint16_t)(seq - 2), pkts[33], (size_t)lens[33]) ==
			      OGGREC_OK);
		CHECK(oggrec_written_ms(r) == before);
		CHECK(oggrec_written_ms(r) == 4000 + 20 * (j + 1));  /* the loss was concealed */
	}
	opus_encoder_destroy(enc);
}

/* Every 100 ms window inside an interval, 100 ms clear of its edges. */
static void check_windows(const float *pcm, size_t n)
{
	int bad = 0;
	double min_amp = 1, max_rms = 0;
	for (size_t k = 0; k < RS_ARRAY_LEN(expect); k++) {
		for (int ms = expect[k].from_ms + 100; ms + 100 <= expect[k].to_ms - 100; ms += 100) {
			size_t at = (size_t)ms * (RATE / 1000);
			if (at + WINDOW > n)
				break;
			double amp = check_tone_amp(pcm + at, WINDOW, TONE_HZ, RATE), level = rms(pcm + at, WINDOW);
			/* Tone: most of the window's energy (amp^2 / 2) is at 440 Hz. */
			bool ok = expect[k].tone ? amp > 0.6 * TONE_AMP && amp * amp / 2 > 0.7 * level * level
						 : level < 0.002;
			if (expect[k].tone && amp < min_amp)
				min_amp = amp;
			if (!expect[k].tone && level > max_rms)
				max_rms = level;
			if (!ok && bad++ < 10)
				fprintf(stderr, "window at %d ms: amp %.4f rms %.4f, want %s\n", ms, amp,
					level, expect[k].tone ? "tone" : "silence");
			CHECK(ok);
		}
	}
	printf("tone windows: amplitude >= %.3f (sent %.3f); silent windows: rms <= %.5f\n",
	       min_amp, TONE_AMP, max_rms);
}

/* The decoded file, or failing that its Ogg structure. */
static void check_recording(const struct mem *m)
{
	char *name = mem_to_file(m);
	CHECK(name != NULL);
	if (!name)
		return;
	if (access(OPUSDEC, X_OK) == 0) {
		size_t n = 0;
		float *pcm = decode_file(name, &n);
		CHECK(pcm != NULL);
		double ms = (double)n * 1000 / RATE;
		printf("decoded %.1f ms of audio from %zu bytes\n", ms, m->len);
		CHECK(fabs(ms - 5000) <= 60);
		if (pcm)
			check_windows(pcm, n);
		free(pcm);
	} else {
		printf("no " OPUSDEC ": checking the Ogg structure only\n");
		CHECK(m->len > 4 && memcmp(m->p, "OggS", 4) == 0);
		CHECK(contains(m, "OpusHead") && contains(m, "OpusTags"));
		CHECK(contains(m, "ROSTRUM_START_MS="));
	}
	unlink(name);
	free(name);
}

static void test_timeline(void)
{
	struct mem m;
	oggrec *r = mem_rec(&m, "plenary", "Budget hearing");
	CHECK(r != NULL);
	if (!r)
		return;
	size_t header_bytes = m.len;
	int64_t max_unflushed = 0;
	feed_pcm(r, &m, &max_unflushed);
	CHECK(oggrec_written_ms(r) == 3000);
	feed_opus(r);
	/* Pages came while it ran, about once a second of audio, not only at the end. */
	CHECK(m.len > header_bytes);
	printf("pages before finish: %d, longest stretch unflushed %lld ms\n", m.writes,
	       (long long)max_unflushed);
	CHECK(max_unflushed <= 1500);
	oggrec_finish(r, T0 + 5000);
	check_recording(&m);
	free(m.p);
}

/* ---- the rest ------------------------------------------------------------------- */

/* The identification header of RFC 7845 section 5.1 and the comments we add. */
static void test_headers(void)
{
	struct mem m;
	oggrec *r = mem_rec(&m, "room-7", "Zoning = board");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(m.writes > 0);  /* the headers go out at once */
	CHECK(m.len > 4 && memcmp(m.p, "OggS", 4) == 0);
	CHECK(m.len > 28 + 19 && memcmp(m.p + 28, "OpusHead", 8) == 0);
	if (m.len > 28 + 19) {
		CHECK(m.p[28 + 9] == 1);                       /* mono */
		CHECK(le32(m.p + 28 + 12) == RATE);            /* input rate */
		CHECK(m.p[28 + 18] == 0);                      /* mapping family 0 */
	}
	CHECK(contains(&m, "OpusTags"));
	CHECK(contains(&m, "ROSTRUM_START_MS=1700000000000"));
	CHECK(contains(&m, "ROSTRUM_ROOM=room-7"));
	CHECK(contains(&m, "TITLE=Zoning = board"));
	oggrec_finish(r, T0);
	free(m.p);

	r = mem_rec(&m, NULL, NULL);
	CHECK(r != NULL);
	if (r) {
		CHECK(contains(&m, "ROSTRUM_START_MS=") && !contains(&m, "TITLE="));
		oggrec_finish(r, T0 + 100);
	}
	free(m.p);
}

/*
 * Garbage between good packets: each is refused with OGGREC_E_PACKET and
 * writes nothing, the good ones around it still decode, and the gaps are
 * filled with silence so the file still follows wall time.
 */
static void test_bad_packets(void)
{
	static const uint8_t code3_zero[] = { 0x03, 0x00 };              /* zero frames */
	static const uint8_t code3_long[] = { 0x03, 0x3f, 0xff, 0xff };  /* 63 frames: over 120 ms */
	static const uint8_t code1_odd[] = { 0x01, 0x11 };               /* two equal frames in 1 byte */
	struct { const uint8_t *p; size_t len; } bad[] = {
		{ code3_zero, sizeof code3_zero }, { code3_long, sizeof code3_long },
		{ code1_odd, sizeof code1_odd }, { code3_zero, 0 }, { NULL, 0 },
	};
	int err;
	struct mem m;
	oggrec *r = mem_rec(&m, "r", "t");
	OpusEncoder *enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &err);
	CHECK(r != NULL && enc != NULL);
	if (!r || !enc)
		return;
	uint8_t pkt[400];
	uint16_t seq = 10;
	for (int j = 0; j < 100; j++) {
		int64_t now = T0 + 20 * (j + 1);
		if (j % 10 == 5) {
			size_t b = (size_t)(j / 10) % RS_ARRAY_LEN(bad);
			int64_t before = oggrec_written_ms(r);
			CHECK(oggrec_opus(r, now, seq++, bad[b].p, bad[b].len) == OGGREC_E_PACKET);
			CHECK(oggrec_written_ms(r) == before);
			continue;
		}
		int len = encode_tone(enc, (int64_t)j * FRAME, pkt, sizeof pkt);
		CHECK(len > 0);
		CHECK(oggrec_opus(r, now, seq++, pkt, (size_t)len) == OGGREC_OK);
	}
	/* The holes add up to more than the slack now and then, and are padded. */
	CHECK(oggrec_written_ms(r) > 2000 - 60 && oggrec_written_ms(r) <= 2000);
	oggrec_finish(r, T0 + 2000);
	char *name = mem_to_file(&m);
	if (name && access(OPUSDEC, X_OK) == 0) {
		size_t n = 0;
		float *pcm = decode_file(name, &n);
		CHECK(pcm != NULL && labs((long)n - 2 * RATE) <= 60 * (RATE / 1000));
		free(pcm);
	}
	if (name)
		unlink(name);
	free(name);
	opus_encoder_destroy(enc);
	free(m.p);
}

/*
 * Audio early or slightly late is appended, later than the slack is padded;
 * a call without samples only pads; finish pads to the end.
 */
static void test_slack(void)
{
	static float buf[FRAME];
	struct mem m;
	oggrec *r = mem_rec(&m, "r", "t");
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(oggrec_pcm(r, T0 + 20, buf, FRAME) == OGGREC_OK);
	CHECK(oggrec_written_ms(r) == 20);
	CHECK(oggrec_pcm(r, T0 + 80, buf, FRAME) == OGGREC_OK);    /* 40 ms late: jitter */
	CHECK(oggrec_written_ms(r) == 40);
	CHECK(oggrec_pcm(r, T0 + 200, buf, FRAME) == OGGREC_OK);   /* 140 ms late: padded */
	CHECK(oggrec_written_ms(r) == 200);
	CHECK(oggrec_pcm(r, T0 + 150, buf, FRAME) == OGGREC_OK);   /* early: appended */
	CHECK(oggrec_written_ms(r) == 220);
	CHECK(oggrec_pcm(r, T0 + 270, NULL, 0) == OGGREC_OK);     /* a tick within the slack */
	CHECK(oggrec_written_ms(r) == 220);
	CHECK(oggrec_pcm(r, T0 + 300, NULL, 0) == OGGREC_OK);     /* a tick: silence to now */
	CHECK(oggrec_written_ms(r) == 300);
	oggrec_finish(r, T0 + 1000);
	CHECK(m.len > 0);
	free(m.p);
	CHECK(strcmp(oggrec_strerror(OGGREC_E_PACKET), oggrec_strerror(12345)) != 0);
}

/* Every packet of the file after the two headers, with its page's granule and flags. */
struct parsed {
	int packets, pages, eos_pages;
	int64_t last_granule;
	bool granules_rise;
	bool found[3];              /* the forwarded packets, byte for byte */
};

static void parse_file(const struct mem *m, const uint8_t *want[3], const int want_len[3],
		       struct parsed *out)
{
	ogg_sync_state sy;
	ogg_stream_state os;
	ogg_page pg;
	ogg_packet op;
	bool init = false;
	*out = (struct parsed){ .granules_rise = true, .last_granule = -1 };
	ogg_sync_init(&sy);
	char *buf = ogg_sync_buffer(&sy, (long)m->len);
	memcpy(buf, m->p, m->len);
	ogg_sync_wrote(&sy, (long)m->len);
	while (ogg_sync_pageout(&sy, &pg) == 1) {
		if (!init) {
			ogg_stream_init(&os, ogg_page_serialno(&pg));
			init = true;
		}
		out->pages++;
		out->eos_pages += ogg_page_eos(&pg) != 0;
		int64_t g = ogg_page_granulepos(&pg);
		if (g >= 0) {
			out->granules_rise = out->granules_rise && g >= out->last_granule;
			out->last_granule = g;
		}
		ogg_stream_pagein(&os, &pg);
		while (ogg_stream_packetout(&os, &op) == 1) {
			if (op.packetno < 2)
				continue;
			out->packets++;
			for (int k = 0; k < 3; k++)
				if (op.bytes == want_len[k] && memcmp(op.packet, want[k], (size_t)want_len[k]) == 0)
					out->found[k] = true;
		}
	}
	if (init)
		ogg_stream_clear(&os);
	ogg_sync_clear(&sy);
}

/*
 * Forwarded packets are muxed, not transcoded: each is in the file byte for
 * byte. A minute of silence is a copy per 20 ms (a few bytes each), the
 * granule positions rise to the length of the timeline, and only the last
 * page ends the stream.
 */
static void test_mux(void)
{
	int err;
	struct mem m;
	oggrec *r = mem_rec(&m, "r", "t");
	OpusEncoder *enc = opus_encoder_create(RATE, 1, OPUS_APPLICATION_VOIP, &err);
	CHECK(r != NULL && enc != NULL);
	if (!r || !enc)
		return;
	uint8_t pkts[3][400];
	const uint8_t *want[3];
	int lens[3];
	for (int j = 0; j < 3; j++) {
		lens[j] = encode_tone(enc, (int64_t)j * FRAME, pkts[j], 400);
		want[j] = pkts[j];
		CHECK(oggrec_opus(r, T0 + 20 * (j + 1), (uint16_t)j, pkts[j], (size_t)lens[j]) == OGGREC_OK);
	}
	size_t before_gap = m.len;
	CHECK(oggrec_pcm(r, T0 + 60060, NULL, 0) == OGGREC_OK); /* a minute of silence */
	CHECK(oggrec_written_ms(r) == 60060);
	size_t gap_bytes = m.len - before_gap;
	printf("a minute of silence: %zu bytes\n", gap_bytes);
	CHECK(gap_bytes < 40000);
	/* A loss of two packets is two concealed frames, then the next packet as it is. */
	CHECK(oggrec_opus(r, T0 + 60120, 5, pkts[0], (size_t)lens[0]) == OGGREC_OK);
	CHECK(oggrec_written_ms(r) == 60120);
	oggrec_finish(r, T0 + 61000);
	struct parsed p;
	parse_file(&m, want, lens, &p);
	CHECK(p.found[0] && p.found[1] && p.found[2]);
	CHECK(p.granules_rise && p.last_granule == 61000 * (RATE / 1000));
	CHECK(p.eos_pages == 1);
	CHECK(p.packets == 3 + 3000 + 2 + 1 + 44);
	opus_encoder_destroy(enc);
	free(m.p);
}

int main(void)
{
	test_mux();
	test_headers();
	test_slack();
	test_bad_packets();
	test_timeline();
	return check_done();
}
