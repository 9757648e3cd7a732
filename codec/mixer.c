#include "mixer.h"

#include <assert.h>
#include <opus/opus.h>
#include <stdlib.h>
#include <string.h>

/*
 * Slots in a source's jitter buffer, indexed by sequence number modulo the
 * size: 32 frames of 20 ms hold 640 ms, well past jitter_max_ms, and even
 * 10 ms packets leave room for the default 200 ms.
 */
#define RING 32
#define RING_MASK (RING - 1)
#define MAX_PACKET_SAMPLES 5760     /* 120 ms, the longest Opus packet (RFC 6716 section 3.2.5) */
#define GRANULE 120                 /* 2.5 ms: every Opus frame size is a multiple of it */
#define FIFO_CAP (MIXER_FRAME + MAX_PACKET_SAMPLES)
#define IDLE_MS 100                 /* silence after this much without a packet, not concealment */
#define IDLE_SAMPLES (MIXER_RATE / 1000 * IDLE_MS)
#define LATE_WINDOW 64              /* a stopped source still refuses packets this far behind */
#define MIX_LOSS_PERC 5             /* loss the mix encoders expect, so they carry some FEC */

struct slot {
	bool used;
	uint16_t seq;
	uint32_t ts;
	int samples;                /* opus_packet_get_nb_samples at 48 kHz */
	size_t len;
	uint8_t data[MIXER_MAX_PACKET];
};

struct source {
	/* Passed in. */
	uint32_t id;
	bool listens;
	/* Owned. */
	OpusDecoder *dec;
	OpusEncoder *enc;           /* its mix-minus encoder; NULL when it does not listen */
	struct slot ring[RING];
	float fifo[FIFO_CAP];       /* decoded audio not yet mixed: fifo[off .. off + len) */
	size_t fifo_off, fifo_len;
	float frame[MIXER_FRAME];   /* what it adds to this tick's mix */
	float clip_mem;             /* opus_pcm_soft_clip state of its mix-minus */
	uint8_t pkt[MIXER_MAX_PACKET];
	/* Playout state. */
	bool have;                  /* head means something */
	bool playing;               /* primed and decoding; false while filling or stopped */
	bool played;                /* it has played since it was added */
	uint16_t head;              /* playing: the next seq to decode; else the lowest buffered */
	uint16_t high;              /* highest seq buffered */
	uint32_t next_ts;           /* the RTP timestamp expected at head */
	int count;                  /* slots in use */
	int buffered;               /* samples in those slots */
	int last_dur;               /* samples of the last packet decoded, the size of a concealment */
	int loss_run;               /* samples concealed in a row */
	int64_t last_rx_ms;
};

struct mixer {
	/* Passed in. */
	struct mixer_opts opts;
	/* Owned. */
	OpusEncoder *enc;
	struct source *src[MIXER_MAX_SOURCES];
	size_t n;
	float sum[MIXER_FRAME];     /* every contribution, before clipping */
	float mix[MIXER_FRAME];     /* the clipped mix: out->pcm */
	float minus[MIXER_FRAME];   /* scratch for one mix-minus */
	float clip_mem;
	uint8_t pkt[MIXER_MAX_PACKET];
	struct mixer_stats stats;
};

/* ---- options and codecs ---------------------------------------------------------- */

/* Fills in the defaults; false for values out of range. */
static bool resolve_opts(const struct mixer_opts *in, struct mixer_opts *o)
{
	struct mixer_opts d = { .bitrate = 0, .complexity = -1, .jitter_ms = 0, .jitter_max_ms = 0 };
	*o = in ? *in : d;
	if (o->bitrate == 0)
		o->bitrate = 32000;
	if (o->complexity == -1)
		o->complexity = 5;
	if (o->jitter_ms == 0)
		o->jitter_ms = 40;
	if (o->jitter_max_ms == 0)
		o->jitter_max_ms = 200;
	/* Skipping ahead must leave the start depth plus a frame, and fit the ring of 20 ms frames. */
	if (o->jitter_max_ms < o->jitter_ms + MIXER_FRAME_MS)
		o->jitter_max_ms = o->jitter_ms + MIXER_FRAME_MS;
	return o->complexity >= 0 && o->complexity <= 10 && o->jitter_ms > 0 &&
	       o->jitter_max_ms <= (RING - 2) * MIXER_FRAME_MS;
}

/*
 * An encoder for one outgoing mix. VOIP tuning since the mix is speech; FEC
 * with a small expected loss so a listener's decoder can bridge one lost
 * packet.
 */
static OpusEncoder *make_encoder(const struct mixer_opts *o)
{
	int err;
	OpusEncoder *e = opus_encoder_create(MIXER_RATE, 1, OPUS_APPLICATION_VOIP, &err);
	if (!e)
		return NULL;
	if (opus_encoder_ctl(e, OPUS_SET_BITRATE(o->bitrate)) != OPUS_OK ||
	    opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(o->complexity)) != OPUS_OK ||
	    opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(1)) != OPUS_OK ||
	    opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(MIX_LOSS_PERC)) != OPUS_OK) {
		opus_encoder_destroy(e);
		return NULL;
	}
	return e;
}

mixer *mixer_create(const struct mixer_opts *opts)
{
	struct mixer_opts o;
	if (!resolve_opts(opts, &o))
		return NULL;
	OpusEncoder *e = make_encoder(&o);
	if (!e)
		return NULL;
	mixer *m = rs_calloc(1, sizeof *m);
	m->opts = o;
	m->enc = e;
	return m;
}

static void source_free(struct source *s)
{
	opus_decoder_destroy(s->dec);
	if (s->enc)
		opus_encoder_destroy(s->enc);
	free(s);
}

void mixer_destroy(mixer *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		source_free(m->src[i]);
	opus_encoder_destroy(m->enc);
	free(m);
}

/* ---- sources --------------------------------------------------------------------- */

static struct source *find(const mixer *m, uint32_t id, size_t *at)
{
	for (size_t i = 0; i < m->n; i++) {
		if (m->src[i]->id == id) {
			if (at)
				*at = i;
			return m->src[i];
		}
	}
	return NULL;
}

int mixer_add(mixer *m, uint32_t id, bool listens)
{
	if (find(m, id, NULL))
		return MIXER_E_EXISTS;
	if (m->n == MIXER_MAX_SOURCES)
		return MIXER_E_FULL;
	int err;
	OpusDecoder *dec = opus_decoder_create(MIXER_RATE, 1, &err);
	if (!dec)
		return MIXER_E_CODEC;
	OpusEncoder *enc = NULL;
	if (listens && !(enc = make_encoder(&m->opts))) {
		opus_decoder_destroy(dec);
		return MIXER_E_CODEC;
	}
	struct source *s = rs_calloc(1, sizeof *s);
	s->id = id;
	s->listens = listens;
	s->dec = dec;
	s->enc = enc;
	s->last_dur = MIXER_FRAME;
	m->src[m->n++] = s;
	return MIXER_OK;
}

void mixer_remove(mixer *m, uint32_t id)
{
	size_t at;
	struct source *s = find(m, id, &at);
	if (!s)
		return;
	source_free(s);
	/* Keep the order, so the mix-minus list does not reshuffle under the owner. */
	memmove(&m->src[at], &m->src[at + 1], (m->n - at - 1) * sizeof m->src[0]);
	m->n--;
}

bool mixer_has(const mixer *m, uint32_t id)
{
	return find(m, id, NULL) != NULL;
}

size_t mixer_count(const mixer *m)
{
	return m->n;
}

/* ---- the jitter buffer ----------------------------------------------------------- */

/* a - b in sequence space (RFC 3550 section A.1: 16-bit numbers that wrap). */
static int seq_diff(uint16_t a, uint16_t b)
{
	return (int16_t)(uint16_t)(a - b);
}

static struct slot *slot_at(struct source *s, uint16_t seq)
{
	struct slot *p = &s->ring[seq & RING_MASK];
	return p->used && p->seq == seq ? p : NULL;
}

static void slot_drop(struct source *s, struct slot *p)
{
	p->used = false;
	s->count--;
	s->buffered -= p->samples;
	assert(s->count >= 0 && s->buffered >= 0);
}

/* Moves head onto the next buffered packet, if any; its timestamp becomes the expected one. */
static void head_to_present(struct source *s)
{
	if (s->count == 0)
		return;
	struct slot *p;
	/* Every buffered packet lies within RING of head, so this ends within RING steps. */
	for (int steps = 0; !(p = slot_at(s, s->head)); steps++) {
		assert(steps < RING);
		s->head++;
	}
	s->next_ts = p->ts;
}

/* Drops packets from the head until seq fits in the ring (skip ahead), counting them. */
static void make_room(mixer *m, struct source *s, uint16_t seq)
{
	while (s->count > 0 && seq_diff(seq, s->head) >= RING) {
		struct slot *p = slot_at(s, s->head);
		if (p) {
			slot_drop(s, p);
			m->stats.skipped++;
		}
		s->head++;
	}
	if (s->count == 0)
		s->head = seq;
	else
		head_to_present(s);
}

/*
 * Decides where seq goes, moving head when it must: MIXER_OK (a free slot
 * now waits for it) or MIXER_E_LATE.
 */
static int place(mixer *m, struct source *s, uint16_t seq)
{
	if (!s->have || (s->count == 0 && !s->playing)) {
		/* An empty, stopped buffer: behind the last played only if just behind. */
		int d = s->have ? seq_diff(seq, s->head) : 0;
		if (s->played && d < 0 && d >= -LATE_WINDOW)
			return MIXER_E_LATE;
		s->head = s->high = seq;
		s->have = true;
		return MIXER_OK;
	}
	int d = seq_diff(seq, s->head);
	if (d < 0) {
		/* While filling, an earlier packet extends the buffer backwards if it fits. */
		if (s->playing || seq_diff(s->high, seq) >= RING)
			return MIXER_E_LATE;
		s->head = seq;
		return MIXER_OK;
	}
	if (slot_at(s, seq))
		return MIXER_E_LATE;
	if (d >= RING)
		make_room(m, s, seq);
	if (s->count == 0 || seq_diff(seq, s->high) > 0)
		s->high = seq;
	return MIXER_OK;
}

/*
 * The samples in an Opus packet at 48 kHz, or -1 when it is not one we can
 * decode: empty, oversized, or with a TOC and frame lengths that do not
 * parse (RFC 6716 section 3).
 */
static int packet_samples(const uint8_t *payload, size_t len)
{
	if (!payload || len == 0 || len > MIXER_MAX_PACKET)
		return -1;
	const unsigned char *frames[48];
	opus_int16 sizes[48];
	if (opus_packet_parse(payload, (opus_int32)len, NULL, frames, sizes, NULL) <= 0)
		return -1;
	int n = opus_packet_get_nb_samples(payload, (opus_int32)len, MIXER_RATE);
	return n > 0 && n <= MAX_PACKET_SAMPLES ? n : -1;
}

int mixer_push(mixer *m, uint32_t id, uint16_t seq, uint32_t ts, const uint8_t *payload,
	       size_t len, int64_t now_ms)
{
	struct source *s = find(m, id, NULL);
	if (!s)
		return MIXER_E_UNKNOWN;
	int samples = packet_samples(payload, len);
	if (samples < 0) {
		m->stats.bad++;
		return MIXER_E_PACKET;
	}
	if (place(m, s, seq) != MIXER_OK) {
		m->stats.late++;
		return MIXER_E_LATE;
	}
	struct slot *p = &s->ring[seq & RING_MASK];
	assert(!p->used);
	p->used = true;
	p->seq = seq;
	p->ts = ts;
	p->samples = samples;
	p->len = len;
	memcpy(p->data, payload, len);
	s->count++;
	s->buffered += samples;
	s->last_rx_ms = now_ms;
	m->stats.packets++;
	return MIXER_OK;
}

/* ---- decoding -------------------------------------------------------------------- */

/*
 * True when the packet's first frame carries LBRR data, i.e. FEC for the
 * frame before it. RFC 6716 section 4.2.3: a SILK or hybrid frame opens
 * with one VAD flag per 20 ms SILK frame, then the LBRR flag, each coded
 * with probability one half, so they are the leading bits of the first
 * byte. CELT-only packets carry no FEC.
 */
static bool has_lbrr(const struct slot *p)
{
	if ((p->data[0] >> 3) >= 16)
		return false;
	const unsigned char *frames[48];
	opus_int16 sizes[48];
	if (opus_packet_parse(p->data, (opus_int32)p->len, NULL, frames, sizes, NULL) <= 0 ||
	    sizes[0] == 0)
		return false;
	int per_frame = opus_packet_get_samples_per_frame(p->data, MIXER_RATE);
	int silk_frames = per_frame > MIXER_FRAME ? per_frame / MIXER_FRAME : 1;
	return (frames[0][0] >> (7 - silk_frames)) & 1;
}

/* Room for at least one longest packet at the end of the FIFO. */
static float *fifo_tail(struct source *s)
{
	if (s->fifo_off > 0) {
		memmove(s->fifo, s->fifo + s->fifo_off, s->fifo_len * sizeof s->fifo[0]);
		s->fifo_off = 0;
	}
	assert(FIFO_CAP - s->fifo_len >= MAX_PACKET_SAMPLES);
	return s->fifo + s->fifo_len;
}

/* Appends n decoded samples, or n of silence when libopus returned an error. */
static void fifo_commit(struct source *s, int got, int n)
{
	if (got < 0) {
		memset(s->fifo + s->fifo_len, 0, (size_t)n * sizeof s->fifo[0]);
		got = n;
	}
	s->fifo_len += (size_t)got;
}

/* Decodes the packet at head. */
static void decode_head(mixer *m, struct source *s, struct slot *p)
{
	float *out = fifo_tail(s);
	int got = opus_decode_float(s->dec, p->data, (opus_int32)p->len, out,
				    MAX_PACKET_SAMPLES, 0);
	if (got < 0)
		m->stats.bad++; /* it parsed but would not decode: its length in silence */
	else
		m->stats.decoded++;
	fifo_commit(s, got, p->samples);
	s->next_ts = p->ts + (uint32_t)p->samples;
	s->last_dur = p->samples;
	s->loss_run = 0;
	slot_drop(s, p);
	s->head++;
}

/*
 * The duration of the missing packet at head when the one after it is
 * there: the timestamp gap, if it is a plausible Opus duration, else the
 * last packet's.
 */
static int gap_samples(const struct source *s, const struct slot *next)
{
	uint32_t gap = next->ts - s->next_ts;
	if (gap > 0 && gap <= MAX_PACKET_SAMPLES && gap % GRANULE == 0)
		return (int)gap;
	return s->last_dur;
}

/*
 * The packet at head is missing: recovered from the next packet's in-band
 * FEC when it carries it (RFC 6716 section 4.2.4), else concealed.
 */
static void recover_head(mixer *m, struct source *s)
{
	struct slot *next = slot_at(s, (uint16_t)(s->head + 1));
	float *out = fifo_tail(s);
	int n = next ? gap_samples(s, next) : s->last_dur, got;
	/* libopus only takes FEC for a gap at least one of the next packet's frames long. */
	if (next && has_lbrr(next) &&
	    n >= opus_packet_get_samples_per_frame(next->data, MIXER_RATE)) {
		got = opus_decode_float(s->dec, next->data, (opus_int32)next->len, out, n, 1);
		m->stats.fec++;
	} else {
		got = opus_decode_float(s->dec, NULL, 0, out, n, 0);
		m->stats.concealed++;
	}
	fifo_commit(s, got, n);
	s->loss_run += got < 0 ? n : got;
	s->next_ts += (uint32_t)(got < 0 ? n : got);
	s->head++;
}

/* Stops playout; the next packets fill the jitter buffer again. */
static void stop(struct source *s)
{
	s->playing = false;
	s->loss_run = 0;
}

/*
 * Decodes into the FIFO until it holds a frame. A missing packet is
 * recovered or concealed, but not for long: after IDLE_MS of loss a
 * source jumps to what it has buffered, and one with nothing buffered
 * and nothing received stops and adds silence.
 */
static void fill(mixer *m, struct source *s, int64_t now_ms)
{
	while (s->playing && s->fifo_len < MIXER_FRAME) {
		struct slot *p = slot_at(s, s->head);
		if (p) {
			decode_head(m, s, p);
		} else if (s->count == 0 &&
			   (s->loss_run >= IDLE_SAMPLES || now_ms - s->last_rx_ms >= IDLE_MS)) {
			stop(s);
		} else if (s->count > 0 && s->loss_run >= IDLE_SAMPLES) {
			head_to_present(s);
			s->loss_run = 0;
		} else {
			recover_head(m, s);
		}
	}
}

/* Starts playout once jitter_ms is buffered; skips ahead when over jitter_max_ms. */
static void adjust_depth(mixer *m, struct source *s)
{
	int start = m->opts.jitter_ms * (MIXER_RATE / 1000);
	if (!s->playing) {
		if (s->count == 0 || s->buffered < start)
			return;
		head_to_present(s);
		s->playing = s->played = true;
		s->loss_run = 0;
		return;
	}
	if (s->buffered <= m->opts.jitter_max_ms * (MIXER_RATE / 1000))
		return;
	while (s->count > 0 && s->buffered > start) {
		struct slot *p = slot_at(s, s->head);
		if (p) {
			slot_drop(s, p);
			m->stats.skipped++;
		}
		s->head++;
	}
	head_to_present(s);
}

/* The source's next frame into s->frame; true when it holds audio rather than silence. */
static bool source_frame(mixer *m, struct source *s, int64_t now_ms)
{
	adjust_depth(m, s);
	fill(m, s, now_ms);
	size_t n = s->fifo_len < MIXER_FRAME ? s->fifo_len : MIXER_FRAME;
	memcpy(s->frame, s->fifo + s->fifo_off, n * sizeof s->frame[0]);
	memset(s->frame + n, 0, (MIXER_FRAME - n) * sizeof s->frame[0]);
	s->fifo_off += n;
	s->fifo_len -= n;
	if (s->fifo_len == 0)
		s->fifo_off = 0;
	return n > 0;
}

/* ---- the tick -------------------------------------------------------------------- */

/* Soft-clips pcm in place and encodes it; the length or MIXER_E_CODEC. */
static int clip_encode(mixer *m, OpusEncoder *e, float *pcm, float *clip_mem, uint8_t *pkt)
{
	opus_pcm_soft_clip(pcm, MIXER_FRAME, 1, clip_mem);
	int len = opus_encode_float(e, pcm, MIXER_FRAME, pkt, MIXER_MAX_PACKET);
	if (len < 0)
		return MIXER_E_CODEC;
	m->stats.encoded++;
	return len;
}

/* Every source's frame into m->sum; the number that held audio. */
static int sum_sources(mixer *m, int64_t now_ms)
{
	int contributing = 0;
	memset(m->sum, 0, sizeof m->sum);
	for (size_t i = 0; i < m->n; i++) {
		struct source *s = m->src[i];
		if (!source_frame(m, s, now_ms))
			continue;
		contributing++;
		for (int k = 0; k < MIXER_FRAME; k++)
			m->sum[k] += s->frame[k];
	}
	return contributing;
}

int mixer_tick(mixer *m, int64_t now_ms, struct mixer_out *out)
{
	m->stats.ticks++;
	out->contributing = sum_sources(m, now_ms);
	memcpy(m->mix, m->sum, sizeof m->mix);
	int len = clip_encode(m, m->enc, m->mix, &m->clip_mem, m->pkt);
	if (len < 0)
		return len;
	out->mix = m->pkt;
	out->mix_len = (size_t)len;
	out->pcm = m->mix;
	out->n_minus = 0;
	for (size_t i = 0; i < m->n; i++) {
		struct source *s = m->src[i];
		if (!s->listens)
			continue;
		for (int k = 0; k < MIXER_FRAME; k++)
			m->minus[k] = m->sum[k] - s->frame[k];
		len = clip_encode(m, s->enc, m->minus, &s->clip_mem, s->pkt);
		if (len < 0)
			return len;
		out->minus[out->n_minus++] = (struct mixer_minus){ s->id, s->pkt, (size_t)len };
	}
	return MIXER_OK;
}

const struct mixer_stats *mixer_stats(const mixer *m)
{
	return &m->stats;
}

const char *mixer_strerror(int err)
{
	switch (err) {
	case MIXER_OK: return "ok";
	case MIXER_E_FULL: return "too many sources";
	case MIXER_E_EXISTS: return "source exists";
	case MIXER_E_UNKNOWN: return "unknown source";
	case MIXER_E_PACKET: return "not an Opus packet";
	case MIXER_E_LATE: return "late or duplicate packet";
	case MIXER_E_CODEC: return "codec error";
	}
	return "unknown error";
}
