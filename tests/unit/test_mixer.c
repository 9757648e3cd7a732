/*
 * mixer: tones encoded here with libopus go in on fake time, the mixer's
 * output is decoded here and measured with a Goertzel filter. The mix holds
 * every speaker; each mix-minus lacks its own listener. Reordering and
 * sequence wrap play out in order (the output equals a reference decode);
 * a lost packet is concealed, or recovered when the next one carries FEC;
 * duplicates and garbage are refused and counted; two full-scale sources
 * are soft-clipped, not wrapped or hard-clipped; a buffer too deep skips
 * ahead; a silent source stops concealing and primes again; every packet
 * duration Opus has plays.
 */
#include "check.h"
#include "mixer.h"

#include <math.h>
#include <opus/opus.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846
#define MAX_DECODED 5760
#define LONG_RUN 120 /* ticks a listener records: 2.4 s */

/* ---- a speaker and a listener, both plain libopus ------------------------------- */

struct talker {
	OpusEncoder *enc;
	double freq, amp;
	uint64_t produced;      /* samples generated so far, for a continuous phase */
	uint16_t seq;
	uint32_t ts;
};

/* SILK at wideband (as a browser sends speech), so FEC is LBRR when asked for. */
static void talker_init(struct talker *t, double freq, double amp, bool fec, uint16_t seq0)
{
	int err;
	memset(t, 0, sizeof *t);
	t->enc = opus_encoder_create(MIXER_RATE, 1, OPUS_APPLICATION_VOIP, &err);
	CHECK(t->enc != NULL);
	CHECK(opus_encoder_ctl(t->enc, OPUS_SET_BITRATE(32000)) == OPUS_OK);
	CHECK(opus_encoder_ctl(t->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) == OPUS_OK);
	CHECK(opus_encoder_ctl(t->enc, OPUS_SET_MAX_BANDWIDTH(OPUS_BANDWIDTH_WIDEBAND)) == OPUS_OK);
	CHECK(opus_encoder_ctl(t->enc, OPUS_SET_INBAND_FEC(fec ? 1 : 0)) == OPUS_OK);
	CHECK(opus_encoder_ctl(t->enc, OPUS_SET_PACKET_LOSS_PERC(fec ? 20 : 0)) == OPUS_OK);
	t->freq = freq;
	t->amp = amp;
	t->seq = seq0;
	t->ts = 0x1000u * seq0;
}

/* Encodes the next samples of the tone; the packet's seq and ts, its length. */
static size_t talker_next(struct talker *t, int samples, uint8_t *pkt, uint16_t *seq, uint32_t *ts)
{
	float pcm[MAX_DECODED];
	for (int i = 0; i < samples; i++)
		pcm[i] = (float)(t->amp * sin(2 * PI * t->freq * (double)(t->produced + i) / MIXER_RATE));
	t->produced += (uint64_t)samples;
	int len = opus_encode_float(t->enc, pcm, samples, pkt, MIXER_MAX_PACKET);
	CHECK(len > 0);
	*seq = t->seq++;
	*ts = t->ts;
	t->ts += (uint32_t)samples;
	return len > 0 ? (size_t)len : 0;
}

static void talker_free(struct talker *t)
{
	opus_encoder_destroy(t->enc);
}

/* Encodes one frame and pushes it as source id; the mixer's answer. */
static int talk(mixer *m, uint32_t id, struct talker *t, int samples, int64_t now)
{
	uint8_t pkt[MIXER_MAX_PACKET];
	uint16_t seq;
	uint32_t ts;
	size_t len = talker_next(t, samples, pkt, &seq, &ts);
	return mixer_push(m, id, seq, ts, pkt, len, now);
}

struct listener {
	OpusDecoder *dec;
	float *pcm;
	size_t n, cap;
};

static void listener_init(struct listener *l)
{
	int err;
	l->dec = opus_decoder_create(MIXER_RATE, 1, &err);
	CHECK(l->dec != NULL);
	l->cap = (size_t)LONG_RUN * MIXER_FRAME;
	l->pcm = calloc(l->cap, sizeof *l->pcm);
	l->n = 0;
}

static void listener_hear(struct listener *l, const uint8_t *pkt, size_t len)
{
	float out[MAX_DECODED];
	int got = opus_decode_float(l->dec, pkt, (opus_int32)len, out, MAX_DECODED, 0);
	CHECK(got == MIXER_FRAME);
	if (got > 0 && l->n + (size_t)got <= l->cap) {
		memcpy(l->pcm + l->n, out, (size_t)got * sizeof out[0]);
		l->n += (size_t)got;
	}
}

static void listener_free(struct listener *l)
{
	opus_decoder_destroy(l->dec);
	free(l->pcm);
}

/* The amplitude of freq in x[0..n). */
static double tone_amp(const float *x, size_t n, double freq)
{
	return check_tone_amp(x, n, freq, MIXER_RATE);
}

static const struct mixer_minus *minus_of(const struct mixer_out *o, uint32_t id)
{
	for (size_t i = 0; i < o->n_minus; i++)
		if (o->minus[i].id == id)
			return &o->minus[i];
	return NULL;
}

/* ---- the mix and the mix-minus -------------------------------------------------- */

static void test_mix_minus(void)
{
	mixer *m = mixer_create(NULL);
	CHECK(m != NULL);
	CHECK(mixer_add(m, 1, true) == MIXER_OK);
	CHECK(mixer_add(m, 2, true) == MIXER_OK);
	CHECK(mixer_add(m, 3, false) == MIXER_OK); /* a listener-less source that stays silent */
	struct talker t1, t2;
	talker_init(&t1, 440, 0.3, false, 1000);
	talker_init(&t2, 880, 0.3, false, 60000);
	struct listener all, l1, l2;
	listener_init(&all);
	listener_init(&l1);
	listener_init(&l2);
	int bad_ticks = 0;
	for (int k = 0; k < LONG_RUN; k++) {
		int64_t now = 20 * k;
		CHECK(talk(m, 1, &t1, MIXER_FRAME, now) == MIXER_OK);
		CHECK(talk(m, 2, &t2, MIXER_FRAME, now) == MIXER_OK);
		struct mixer_out o;
		CHECK(mixer_tick(m, now, &o) == MIXER_OK);
		const struct mixer_minus *m1 = minus_of(&o, 1), *m2 = minus_of(&o, 2);
		CHECK(o.n_minus == 2 && m1 && m2 && !minus_of(&o, 3));
		if (!m1 || !m2)
			break;
		if (k >= 2 && o.contributing != 2)
			bad_ticks++;
		listener_hear(&all, o.mix, o.mix_len);
		listener_hear(&l1, m1->pkt, m1->len);
		listener_hear(&l2, m2->pkt, m2->len);
	}
	CHECK(bad_ticks == 0);
	/* Measure after the start (priming, codec delay): the last two seconds. */
	size_t from = 20 * MIXER_FRAME, n = all.n - from;
	double a440 = tone_amp(all.pcm + from, n, 440), a880 = tone_amp(all.pcm + from, n, 880);
	double b440 = tone_amp(l1.pcm + from, n, 440), b880 = tone_amp(l1.pcm + from, n, 880);
	double c440 = tone_amp(l2.pcm + from, n, 440), c880 = tone_amp(l2.pcm + from, n, 880);
	if (!(a440 > 0.2 && a880 > 0.2 && b880 > 0.2 && b440 < 0.01 && c440 > 0.2 && c880 < 0.01))
		fprintf(stderr, "mix %.4f/%.4f, minus 1 %.4f/%.4f, minus 2 %.4f/%.4f (440/880)\n",
			a440, a880, b440, b880, c440, c880);
	CHECK(a440 > 0.2 && a880 > 0.2);
	CHECK(b880 > 0.2 && b440 < 0.01);
	CHECK(c440 > 0.2 && c880 < 0.01);
	const struct mixer_stats *st = mixer_stats(m);
	CHECK(st->ticks == LONG_RUN && st->encoded == 3 * LONG_RUN);
	CHECK(st->packets == 2 * LONG_RUN && st->concealed == 0 && st->late == 0 && st->bad == 0);
	listener_free(&all);
	listener_free(&l1);
	listener_free(&l2);
	talker_free(&t1);
	talker_free(&t2);
	mixer_destroy(m);
}

/* ---- order ---------------------------------------------------------------------- */

#define ORDER_N 24

/*
 * Packets arrive one per tick in the order given; the mix must equal the
 * packets decoded in sequence order by a decoder of our own (the tone is
 * quiet, so soft clipping leaves it untouched).
 */
static void check_order(const char *name, uint16_t seq0, int jitter_ms, const int *order)
{
	uint8_t pkts[ORDER_N][MIXER_MAX_PACKET];
	size_t lens[ORDER_N];
	uint16_t seqs[ORDER_N];
	uint32_t tss[ORDER_N];
	struct talker t;
	talker_init(&t, 523.25, 0.25, false, seq0);
	for (int i = 0; i < ORDER_N; i++)
		lens[i] = talker_next(&t, MIXER_FRAME, pkts[i], &seqs[i], &tss[i]);
	talker_free(&t);
	struct listener ref;
	listener_init(&ref);
	for (int i = 0; i < ORDER_N; i++)
		listener_hear(&ref, pkts[i], lens[i]);

	struct mixer_opts opts = { .complexity = -1, .jitter_ms = jitter_ms };
	mixer *m = mixer_create(&opts);
	CHECK(mixer_add(m, 7, false) == MIXER_OK);
	int played = 0, mismatched = 0;
	for (int k = 0; played < ORDER_N && k < ORDER_N + 5; k++) {
		if (k < ORDER_N) {
			int i = order[k];
			CHECK(mixer_push(m, 7, seqs[i], tss[i], pkts[i], lens[i], 20 * k) == MIXER_OK);
		}
		struct mixer_out o;
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK);
		if (!o.contributing)
			continue;
		const float *want = ref.pcm + (size_t)played * MIXER_FRAME;
		for (int j = 0; j < MIXER_FRAME; j++)
			if (fabsf(o.pcm[j] - want[j]) > 1e-6f)
				mismatched++;
		played++;
	}
	const struct mixer_stats *st = mixer_stats(m);
	if (played != ORDER_N || mismatched || st->concealed || st->late)
		fprintf(stderr, "order %s: played %d, %d samples differ, concealed %llu, late %llu\n",
			name, played, mismatched, (unsigned long long)st->concealed,
			(unsigned long long)st->late);
	CHECK(played == ORDER_N && mismatched == 0);
	CHECK(st->decoded == ORDER_N && st->concealed == 0 && st->late == 0);
	listener_free(&ref);
	mixer_destroy(m);
}

static void test_order(void)
{
	int in_order[ORDER_N], swapped[ORDER_N], late_third[ORDER_N];
	for (int i = 0; i < ORDER_N; i++)
		in_order[i] = swapped[i] = late_third[i] = i;
	for (int i = 1; i + 1 < ORDER_N; i += 2) {
		swapped[i] = i + 1;         /* 0 2 1 4 3 ...: each odd packet one tick late */
		swapped[i + 1] = i;
	}
	/* 0 1 3 4 2 ...: two ticks late, which a 60 ms playout delay absorbs. */
	late_third[2] = 3;
	late_third[3] = 4;
	late_third[4] = 2;
	static const struct { const char *name; uint16_t seq0; int jitter_ms, kind; } cases[] = {
		{ "in order", 100, 40, 0 },
		{ "swapped pairs", 100, 40, 1 },
		{ "two late", 100, 60, 2 },
		{ "wrap in order", 65530, 40, 0 },     /* 16-bit wrap after six packets */
		{ "wrap swapped", 65531, 40, 1 },      /* 65535 and 0 trade places */
		{ "wrap two late", 65533, 60, 2 },     /* 65535 arrives after 0 and 1 */
	};
	const int *orders[] = { in_order, swapped, late_third };
	for (size_t c = 0; c < RS_ARRAY_LEN(cases); c++)
		check_order(cases[c].name, cases[c].seq0, cases[c].jitter_ms, orders[cases[c].kind]);
}

/* ---- loss, FEC, duplicates ------------------------------------------------------ */

/*
 * Packet 6 is lost on the way. With FEC on, packet 7 carries it at low
 * bitrate and the mixer decodes that; without, it conceals. Either way the
 * tone goes on and every tick after the start has audio.
 */
static void check_loss(bool fec)
{
	mixer *m = mixer_create(NULL);
	CHECK(mixer_add(m, 1, false) == MIXER_OK);
	struct talker t;
	talker_init(&t, 440, 0.3, fec, 42);
	int silent = 0;
	float recovered[MIXER_FRAME] = { 0 };
	for (int k = 0; k < 40; k++) {
		uint8_t pkt[MIXER_MAX_PACKET];
		uint16_t seq;
		uint32_t ts;
		size_t len = talker_next(&t, MIXER_FRAME, pkt, &seq, &ts);
		if (k != 6)
			CHECK(mixer_push(m, 1, seq, ts, pkt, len, 20 * k) == MIXER_OK);
		struct mixer_out o;
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK);
		if (k >= 1 && o.contributing != 1)
			silent++;
		if (k == 7) /* packet 6's turn: the first play was at tick 1 */
			memcpy(recovered, o.pcm, sizeof recovered);
	}
	const struct mixer_stats *st = mixer_stats(m);
	CHECK(silent == 0);
	CHECK(st->decoded == 38); /* 40 sent, one lost, the last still buffered */
	CHECK(fec ? st->fec == 1 && st->concealed == 0 : st->fec == 0 && st->concealed == 1);
	/* FEC gives the tone back at nearly full strength; concealment holds it at least roughly. */
	double a = tone_amp(recovered, MIXER_FRAME, 440);
	if (a < (fec ? 0.2 : 0.05))
		fprintf(stderr, "loss (fec %d): recovered frame 440 Hz at %.4f\n", fec, a);
	CHECK(a > (fec ? 0.2 : 0.05));
	talker_free(&t);
	mixer_destroy(m);
}

static void test_loss(void)
{
	check_loss(false);
	check_loss(true);
}

static void test_duplicates(void)
{
	mixer *m = mixer_create(NULL);
	CHECK(mixer_add(m, 1, false) == MIXER_OK);
	struct talker t;
	talker_init(&t, 440, 0.3, false, 500);
	uint8_t p0[MIXER_MAX_PACKET], p1[MIXER_MAX_PACKET];
	uint16_t s0, s1;
	uint32_t ts0, ts1;
	size_t l0 = talker_next(&t, MIXER_FRAME, p0, &s0, &ts0);
	size_t l1 = talker_next(&t, MIXER_FRAME, p1, &s1, &ts1);
	CHECK(mixer_push(m, 1, s0, ts0, p0, l0, 0) == MIXER_OK);
	CHECK(mixer_push(m, 1, s0, ts0, p0, l0, 0) == MIXER_E_LATE);   /* while filling */
	CHECK(mixer_push(m, 1, s1, ts1, p1, l1, 20) == MIXER_OK);
	CHECK(mixer_push(m, 1, s1, ts1, p1, l1, 20) == MIXER_E_LATE);
	struct mixer_out o;
	CHECK(mixer_tick(m, 20, &o) == MIXER_OK && o.contributing == 1);
	CHECK(mixer_push(m, 1, s0, ts0, p0, l0, 25) == MIXER_E_LATE);  /* already played */
	CHECK(mixer_push(m, 1, (uint16_t)(s0 - 1), ts0 - MIXER_FRAME, p0, l0, 25) == MIXER_E_LATE);
	const struct mixer_stats *st = mixer_stats(m);
	CHECK(st->late == 4 && st->packets == 2);
	talker_free(&t);
	mixer_destroy(m);
}

/* ---- clipping ------------------------------------------------------------------- */

/*
 * Two full-scale sources in phase sum to twice full scale. The mix stays in
 * [-1, 1] without wrapping (no jump between samples a sine this low could
 * not make) and is shaped, not flattened: a hard clip would hold about two
 * thirds of the samples at the rail.
 */
static void test_clipping(void)
{
	mixer *m = mixer_create(NULL);
	CHECK(mixer_add(m, 1, true) == MIXER_OK);
	CHECK(mixer_add(m, 2, true) == MIXER_OK);
	struct talker t;
	talker_init(&t, 440, 1.0, false, 9);
	struct listener all;
	listener_init(&all);
	float peak = 0, max_step = 0, out_of_range = 0;
	size_t railed = 0, counted = 0;
	for (int k = 0; k < 60; k++) {
		uint8_t pkt[MIXER_MAX_PACKET];
		uint16_t seq;
		uint32_t ts;
		size_t len = talker_next(&t, MIXER_FRAME, pkt, &seq, &ts);
		CHECK(mixer_push(m, 1, seq, ts, pkt, len, 20 * k) == MIXER_OK);
		CHECK(mixer_push(m, 2, seq, ts, pkt, len, 20 * k) == MIXER_OK);
		struct mixer_out o;
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK);
		listener_hear(&all, o.mix, o.mix_len);
		for (int j = 0; j < MIXER_FRAME; j++) {
			float x = fabsf(o.pcm[j]);
			if (x > 1.0f)
				out_of_range++;
			peak = x > peak ? x : peak;
			if (k < 10)
				continue;
			float step = fabsf(o.pcm[j] - (j ? o.pcm[j - 1] : o.pcm[j]));
			max_step = step > max_step ? step : max_step;
			railed += x >= 0.999f;
			counted++;
		}
	}
	double rail = (double)railed / (double)counted;
	size_t from = 20 * MIXER_FRAME;
	double heard = tone_amp(all.pcm + from, all.n - from, 440);
	if (out_of_range || peak < 0.95f || rail > 0.3 || max_step > 0.3f || heard < 0.6)
		fprintf(stderr, "clip: %g over, peak %.4f, %.3f at the rail, step %.4f, heard %.3f\n",
			out_of_range, peak, rail, max_step, heard);
	CHECK(out_of_range == 0 && peak >= 0.95f);
	CHECK(rail < 0.3);
	CHECK(max_step < 0.3f);
	CHECK(heard > 0.6);
	listener_free(&all);
	talker_free(&t);
	mixer_destroy(m);
}

/* ---- refusals, lifecycle -------------------------------------------------------- */

static void test_garbage(void)
{
	static uint8_t big[MIXER_MAX_PACKET + 1];
	big[0] = 0x08; /* a valid TOC: SILK narrowband 10 ms, one frame */
	static const struct { const uint8_t *p; size_t len; } cases[] = {
		{ NULL, 0 },
		{ (const uint8_t *)"\x08", 0 },       /* empty */
		{ big, sizeof big },                  /* oversized */
		{ (const uint8_t *)"\x03\x00", 2 },   /* code 3 with no frames */
		{ (const uint8_t *)"\x0b\x07\x00", 3 }, /* code 3: seven 20 ms frames, over 120 ms */
		{ (const uint8_t *)"\x03\x31", 2 },   /* code 3: 49 frames */
		{ (const uint8_t *)"\x01\x01", 2 },   /* code 1: two equal frames of odd total */
		{ (const uint8_t *)"\x02\xfa\x01", 3 }, /* code 2: first frame longer than the rest */
	};
	mixer *m = mixer_create(NULL);
	CHECK(mixer_add(m, 1, true) == MIXER_OK);
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		int rc = mixer_push(m, 1, (uint16_t)i, (uint32_t)i * 960, cases[i].p, cases[i].len, 0);
		if (rc != MIXER_E_PACKET)
			fprintf(stderr, "garbage case %zu: %s\n", i, mixer_strerror(rc));
		CHECK(rc == MIXER_E_PACKET);
	}
	CHECK(mixer_stats(m)->bad == RS_ARRAY_LEN(cases) && mixer_stats(m)->packets == 0);
	CHECK(mixer_push(m, 99, 0, 0, big, 10, 0) == MIXER_E_UNKNOWN);
	/* Garbage leaves the source as it was: silent, contributing nothing. */
	struct mixer_out o;
	CHECK(mixer_tick(m, 0, &o) == MIXER_OK && o.contributing == 0 && o.n_minus == 1);
	mixer_destroy(m);
}

static void test_lifecycle(void)
{
	mixer *m = mixer_create(NULL);
	CHECK(mixer_count(m) == 0 && !mixer_has(m, 1));
	for (uint32_t id = 1; id <= MIXER_MAX_SOURCES; id++)
		CHECK(mixer_add(m, id, id % 2 == 0) == MIXER_OK);
	CHECK(mixer_add(m, 100, true) == MIXER_E_FULL);
	CHECK(mixer_add(m, 3, true) == MIXER_E_EXISTS);
	CHECK(mixer_count(m) == MIXER_MAX_SOURCES && mixer_has(m, 16));
	mixer_remove(m, 3);
	mixer_remove(m, 3);      /* unknown now: ignored */
	mixer_remove(m, 12345);
	CHECK(mixer_count(m) == MIXER_MAX_SOURCES - 1 && !mixer_has(m, 3));
	CHECK(mixer_add(m, 100, true) == MIXER_OK);
	/* Mix-minus in the order sources were added, the removed one gone. */
	struct mixer_out o;
	CHECK(mixer_tick(m, 0, &o) == MIXER_OK);
	CHECK(o.n_minus == 9 && o.minus[0].id == 2 && o.minus[8].id == 100);
	CHECK(o.contributing == 0 && o.mix_len > 0 && o.pcm[0] == 0.0f);
	mixer_destroy(m);
	mixer_destroy(NULL);

	static const struct { struct mixer_opts o; bool ok; } opts[] = {
		{ { 0, -1, 0, 0 }, true },
		{ { 64000, 10, 60, 300 }, true },
		{ { 16000, 0, 20, 0 }, true },
		{ { 0, 11, 0, 0 }, false },       /* complexity out of range */
		{ { 0, -2, 0, 0 }, false },
		{ { 0, -1, -20, 0 }, false },     /* negative jitter */
		{ { 0, -1, 0, 1000 }, false },    /* deeper than the buffer holds */
		{ { -5, -1, 0, 0 }, false },      /* a bitrate libopus refuses */
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(opts); i++) {
		mixer *x = mixer_create(&opts[i].o);
		if ((x != NULL) != opts[i].ok)
			fprintf(stderr, "opts case %zu: %s\n", i, x ? "made" : "refused");
		CHECK((x != NULL) == opts[i].ok);
		mixer_destroy(x);
	}
	static const int errs[] = { MIXER_OK, MIXER_E_FULL, MIXER_E_EXISTS, MIXER_E_UNKNOWN,
				    MIXER_E_PACKET, MIXER_E_LATE, MIXER_E_CODEC };
	for (size_t i = 0; i < RS_ARRAY_LEN(errs); i++)
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(mixer_strerror(errs[i]), mixer_strerror(errs[j])) != 0);
	CHECK_STR(mixer_strerror(-99), "unknown error");
}

/* ---- depth, silence, packet durations ------------------------------------------- */

/* A burst of 300 ms arriving at once is cut back to the playout delay. */
static void test_skip_ahead(void)
{
	mixer *m = mixer_create(NULL);
	CHECK(mixer_add(m, 1, false) == MIXER_OK);
	struct talker t;
	talker_init(&t, 440, 0.3, false, 65500);
	struct mixer_out o;
	int k = 0;
	for (; k < 10; k++) {
		CHECK(talk(m, 1, &t, MIXER_FRAME, 20 * k) == MIXER_OK);
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK);
	}
	for (int i = 0; i < 15; i++)
		CHECK(talk(m, 1, &t, MIXER_FRAME, 20 * k) == MIXER_OK);
	CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK && o.contributing == 1);
	const struct mixer_stats *st = mixer_stats(m);
	/* 16 packets buffered (320 ms) cut to 2 (40 ms), then one of those played. */
	CHECK(st->skipped == 14);
	for (k++; k < 30; k++) {
		CHECK(talk(m, 1, &t, MIXER_FRAME, 20 * k) == MIXER_OK);
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK && o.contributing == 1);
	}
	CHECK(st->concealed == 0 && st->late == 0 && st->skipped == 14);
	talker_free(&t);
	mixer_destroy(m);
}

/*
 * A speaker who stops: a few frames are concealed, then silence (nothing
 * contributed) after about 100 ms; when packets come back the source fills
 * its buffer again before it plays.
 */
static void test_goes_quiet(void)
{
	mixer *m = mixer_create(NULL);
	CHECK(mixer_add(m, 1, true) == MIXER_OK);
	struct talker t;
	talker_init(&t, 440, 0.3, false, 7);
	struct mixer_out o;
	int k = 0, contributing = 0;
	for (; k < 10; k++) {
		CHECK(talk(m, 1, &t, MIXER_FRAME, 20 * k) == MIXER_OK);
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK);
	}
	for (; k < 30; k++) {
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK);
		contributing += o.contributing;
	}
	const struct mixer_stats *st = mixer_stats(m);
	/* One buffered frame plays, then concealment until 100 ms after the last arrival. */
	if (contributing < 3 || contributing > 7 || st->concealed > 6)
		fprintf(stderr, "quiet: %d ticks heard, %llu concealed\n", contributing,
			(unsigned long long)st->concealed);
	CHECK(contributing >= 3 && contributing <= 7);
	CHECK(st->concealed >= 2 && st->concealed <= 6);
	CHECK(o.contributing == 0 && o.n_minus == 1);
	uint64_t concealed = st->concealed;
	/* Back, after a jump in sequence numbers (the silent frames were never sent). */
	t.seq += 20;
	t.ts += 20 * MIXER_FRAME;
	CHECK(talk(m, 1, &t, MIXER_FRAME, 20 * k) == MIXER_OK);
	CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK && o.contributing == 0); /* filling */
	for (k++; k < 40; k++) {
		CHECK(talk(m, 1, &t, MIXER_FRAME, 20 * k) == MIXER_OK);
		CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK && o.contributing == 1);
	}
	CHECK(st->concealed == concealed);
	talker_free(&t);
	mixer_destroy(m);
}

/* Every Opus packet duration a browser might send plays without a gap. */
static void test_durations(void)
{
	static const int durations[] = { 480, 960, 1920, 2880 };
	for (size_t d = 0; d < RS_ARRAY_LEN(durations); d++) {
		int dur = durations[d];
		mixer *m = mixer_create(NULL);
		CHECK(mixer_add(m, 1, false) == MIXER_OK);
		struct talker t;
		talker_init(&t, 660, 0.3, false, 30000);
		struct listener all;
		listener_init(&all);
		int gaps = 0;
		uint64_t sent = 0;
		for (int k = 0; k < 80; k++) {
			/* Send what the speaker has captured by the end of this tick. */
			while (sent + (uint64_t)dur <= (uint64_t)(k + 1) * MIXER_FRAME) {
				CHECK(talk(m, 1, &t, dur, 20 * k) == MIXER_OK);
				sent += (uint64_t)dur;
			}
			struct mixer_out o;
			CHECK(mixer_tick(m, 20 * k, &o) == MIXER_OK);
			if (k >= 8 && o.contributing != 1)
				gaps++;
			listener_hear(&all, o.mix, o.mix_len);
		}
		const struct mixer_stats *st = mixer_stats(m);
		size_t from = 20 * MIXER_FRAME;
		double a = tone_amp(all.pcm + from, all.n - from, 660);
		if (gaps || st->concealed || a < 0.2)
			fprintf(stderr, "duration %d: %d gaps, %llu concealed, 660 Hz at %.3f\n", dur,
				gaps, (unsigned long long)st->concealed, a);
		CHECK(gaps == 0 && st->concealed == 0 && a > 0.2);
		listener_free(&all);
		talker_free(&t);
		mixer_destroy(m);
	}
}

int main(void)
{
	test_mix_minus();
	test_order();
	test_loss();
	test_duplicates();
	test_clipping();
	test_garbage();
	test_lifecycle();
	test_skip_ahead();
	test_goes_quiet();
	test_durations();
	return check_done();
}
