#include "oggrec.h"

#include <ogg/ogg.h>
#include <opus/opus.h>

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES_PER_MS (OGGREC_RATE / 1000)
/*
 * How far behind wall time the file may fall before silence is inserted:
 * packets arrive with network jitter, and padding on every late one would
 * chop the audio into pieces. 60 ms is three 20 ms frames.
 */
#define SLACK_SAMPLES (60 * SAMPLES_PER_MS)
/* A page reaches the sink at least this often (in samples), so a crash loses about a second. */
#define FLUSH_SAMPLES OGGREC_RATE
#define BITRATE 32000
/* The longest Opus packet (RFC 6716 section 3.2.5): 120 ms. */
#define PACKET_MAX_SAMPLES (120 * SAMPLES_PER_MS)
/* Lost packets concealed before a late one; a longer gap is left to the silence fill. */
#define CONCEAL_MAX 3
#define SPEECH_COMPLEXITY 9
#define PACKET_MAX 1500
/* The frame sizes Opus codes (RFC 6716 section 2.1.4), longest first, for PCM and silence. */
static const int frame_sizes[] = { 960, 480, 240, 120 };
#define N_SIZES 4

struct oggrec {
	/* passed in */
	struct oggrec_sink sink;
	int64_t start_ms;
	/* owned */
	ogg_stream_state os;
	OpusEncoder *enc;         /* only for PCM (the mix); forwarded packets go in as they are */
	int64_t written;          /* samples in the stream, silence included */
	int64_t flushed;          /* samples up to the last page given to the sink */
	int64_t packetno;
	bool failed;              /* the encoder refused once: nothing more is written */
	bool have_seq;
	uint16_t last_seq;        /* highest RTP sequence number muxed */
	uint8_t last_toc;         /* of the last forwarded packet: the shape of a concealed one */
	bool have_toc;
	int last_frame;           /* samples in the last forwarded packet */
	/* One packet held back, so that the last one can carry end-of-stream. */
	uint8_t held[PACKET_MAX];
	size_t held_len;
	bool holding;
	/* Digital silence as CELT packets, one per frame size, made once. */
	uint8_t silence[N_SIZES][16];
	int silence_len[N_SIZES];
	/* A page put together before it goes out: the sink takes whole pages, since
	 * it may drop a write when the disk falls behind, and a header without its
	 * body would break the file. 27 + 255 bytes of header, 255 segments of 255. */
	uint8_t page[27 + 255 + 255 * 255];
};

/* ---- pages -------------------------------------------------------------------------- */

static void write_page(oggrec *r, const ogg_page *pg)
{
	size_t h = (size_t)pg->header_len, b = (size_t)pg->body_len;
	assert(h + b <= sizeof r->page);
	memcpy(r->page, pg->header, h);
	if (b)
		memcpy(r->page + h, pg->body, b);
	r->sink.write(r->sink.ctx, r->page, h + b);
}

/* Pages libogg has filled; all of them, on a page of their own, when forced. */
static void drain_pages(oggrec *r, bool force)
{
	ogg_page pg;
	while (force ? ogg_stream_flush(&r->os, &pg) : ogg_stream_pageout(&r->os, &pg))
		write_page(r, &pg);
	if (force)
		r->flushed = r->written;
}

static void packet_in(oggrec *r, const uint8_t *p, size_t len, int64_t granule, bool bos,
		      bool eos)
{
	ogg_packet op = { .packet = (unsigned char *)p, .bytes = (long)len, .b_o_s = bos,
			  .e_o_s = eos, .granulepos = granule, .packetno = r->packetno++ };
	(void)ogg_stream_packetin(&r->os, &op);
}

/*
 * Appends one Opus packet of n samples. The previous one goes into the
 * stream now (its granule position is where it ends, RFC 7845 section 4);
 * this one is held until the next, or the end.
 */
static void mux(oggrec *r, const uint8_t *p, size_t len, int n)
{
	if (r->holding)
		packet_in(r, r->held, r->held_len, r->written, false, false);
	memcpy(r->held, p, len);
	r->held_len = len;
	r->holding = true;
	r->written += n;
	drain_pages(r, r->written - r->flushed >= FLUSH_SAMPLES);
}

/* ---- headers (RFC 7845 section 5) ------------------------------------------------ */

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Identification header: mono, no pre-skip (the timeline starts at sample 0), family 0. */
static void write_head(oggrec *r)
{
	uint8_t h[19] = { 'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 1, 0, 0 };
	put_le32(h + 12, OGGREC_RATE);
	packet_in(r, h, sizeof h, 0, true, false);
	drain_pages(r, true);
}

static size_t put_comment(uint8_t *p, const char *key, const char *value)
{
	int n = snprintf((char *)p + 4, 600, "%s=%s", key, value);
	put_le32(p, (uint32_t)n);
	return 4 + (size_t)n;
}

/* Comment header: the start time, the room and the title (each cut at 512 bytes). */
static void write_tags(oggrec *r, const char *room, const char *title)
{
	static const char vendor[] = "rostrum";
	uint8_t t[8 + 4 + sizeof vendor + 4 + 3 * 610];
	char start[24], cut[2][513];
	memcpy(t, "OpusTags", 8);
	put_le32(t + 8, sizeof vendor - 1);
	memcpy(t + 12, vendor, sizeof vendor - 1);
	size_t at = 12 + sizeof vendor - 1, count_at = at;
	at += 4;
	uint32_t count = 1;
	snprintf(start, sizeof start, "%" PRId64, r->start_ms);
	at += put_comment(t + at, "ROSTRUM_START_MS", start);
	if (room) {
		snprintf(cut[0], sizeof cut[0], "%s", room);
		at += put_comment(t + at, "ROSTRUM_ROOM", cut[0]);
		count++;
	}
	if (title) {
		snprintf(cut[1], sizeof cut[1], "%s", title);
		at += put_comment(t + at, "TITLE", cut[1]);
		count++;
	}
	put_le32(t + count_at, count);
	packet_in(r, t, at, 0, false, false);
	drain_pages(r, true); /* audio starts on a fresh page (section 3) */
}

/* ---- codecs -------------------------------------------------------------------------- */

/*
 * Digital silence per frame size, from a CELT-only encoder: a CELT frame of
 * silence carries its silence flag and decodes to zeros whatever came
 * before, so a gap costs a copy per 20 ms instead of an encode.
 */
static bool make_silence(oggrec *r)
{
	int err;
	static const float zeros[960];
	OpusEncoder *e = opus_encoder_create(OGGREC_RATE, 1, OPUS_APPLICATION_RESTRICTED_LOWDELAY,
					     &err);
	if (!e)
		return false;
	bool ok = true;
	for (int i = 0; i < N_SIZES && ok; i++)
		for (int k = 0; k < 2 && ok; k++) {
			r->silence_len[i] = opus_encode_float(e, zeros, frame_sizes[i], r->silence[i],
							      (opus_int32)sizeof r->silence[i]);
			ok = r->silence_len[i] > 0;
		}
	opus_encoder_destroy(e);
	return ok;
}

/* The mix's encoder: speech at a modest rate. */
static OpusEncoder *make_encoder(void)
{
	int err;
	OpusEncoder *e = opus_encoder_create(OGGREC_RATE, 1, OPUS_APPLICATION_VOIP, &err);
	if (e && (opus_encoder_ctl(e, OPUS_SET_BITRATE(BITRATE)) != OPUS_OK ||
		  opus_encoder_ctl(e, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) != OPUS_OK ||
		  opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(SPEECH_COMPLEXITY)) != OPUS_OK)) {
		opus_encoder_destroy(e);
		return NULL;
	}
	return e;
}

oggrec *oggrec_create(const struct oggrec_sink *sink, int64_t start_ms, const char *room,
		      const char *title)
{
	oggrec *r = rs_calloc(1, sizeof *r);
	r->sink = *sink;
	r->start_ms = start_ms;
	r->last_frame = 20 * SAMPLES_PER_MS;
	if (ogg_stream_init(&r->os, (int)(start_ms & 0x7fffffff)) != 0) {
		free(r);
		return NULL;
	}
	r->enc = make_encoder();
	if (!r->enc || !make_silence(r)) {
		if (r->enc)
			opus_encoder_destroy(r->enc);
		ogg_stream_clear(&r->os);
		free(r);
		return NULL;
	}
	write_head(r);
	write_tags(r, room, title);
	return r;
}

/* Silence until the stream reaches sample upto (down to a whole 2.5 ms). */
static void fill_silence(oggrec *r, int64_t upto)
{
	for (int i = 0; i < N_SIZES; i++)
		while (upto - r->written >= frame_sizes[i])
			mux(r, r->silence[i], (size_t)r->silence_len[i], frame_sizes[i]);
}

/* Encodes n samples (a multiple of 120) in the longest frames that fit. */
static int encode(oggrec *r, const float *pcm, int64_t n)
{
	uint8_t pkt[PACKET_MAX];
	for (int i = 0; i < N_SIZES; i++)
		while (n >= frame_sizes[i]) {
			int len = opus_encode_float(r->enc, pcm, frame_sizes[i], pkt, sizeof pkt);
			if (len <= 0) {
				r->failed = true;
				return OGGREC_E_CODEC;
			}
			mux(r, pkt, (size_t)len, frame_sizes[i]);
			pcm += frame_sizes[i];
			n -= frame_sizes[i];
		}
	return OGGREC_OK;
}

static int64_t position_of(const oggrec *r, int64_t now_ms)
{
	return (now_ms - r->start_ms) * SAMPLES_PER_MS;
}

/* Silence when what arrives at now_ms for n samples lies past the slack. */
static void catch_up(oggrec *r, int64_t now_ms, int64_t n)
{
	int64_t target = position_of(r, now_ms) - n;
	if (target - r->written > SLACK_SAMPLES)
		fill_silence(r, target);
}

int oggrec_pcm(oggrec *r, int64_t now_ms, const float *pcm, size_t n)
{
	if (r->failed)
		return OGGREC_E_DONE;
	catch_up(r, now_ms, (int64_t)n);
	return n ? encode(r, pcm, (int64_t)n) : OGGREC_OK;
}

/* Decides what seq means: -1 late or repeated, else how many packets before it were lost. */
static int seq_gap(oggrec *r, uint16_t seq)
{
	if (!r->have_seq)
		return 0;
	int16_t d = (int16_t)(uint16_t)(seq - r->last_seq);
	return d <= 0 ? -1 : d - 1;
}

/* The packet's length in samples, or 0 when it is not one a decoder would take. */
static int packet_samples(const uint8_t *pkt, size_t len)
{
	const unsigned char *frames[48];
	opus_int16 sizes[48];
	if (!pkt || len == 0 || len > PACKET_MAX ||
	    opus_packet_parse(pkt, (opus_int32)len, NULL, frames, sizes, NULL) <= 0)
		return 0;
	int n = opus_packet_get_nb_samples(pkt, (opus_int32)len, OGGREC_RATE);
	return n > 0 && n <= PACKET_MAX_SAMPLES ? n : 0;
}

/*
 * Lost packets become packets of one TOC byte and no frame data (RFC 6716
 * section 3.2.1: a zero-length frame), which every decoder conceals from
 * what it last decoded, as it would a loss on the network.
 */
static void conceal(oggrec *r, int lost)
{
	uint8_t toc = (uint8_t)(r->last_toc & 0xfc);
	int per = opus_packet_get_samples_per_frame(&toc, OGGREC_RATE);
	int frames = per > 0 ? lost * (r->last_frame / per) : 0;
	for (int i = 0; i < frames; i++)
		mux(r, &toc, 1, per);
}

int oggrec_opus(oggrec *r, int64_t now_ms, uint16_t seq, const uint8_t *pkt, size_t len)
{
	if (r->failed)
		return OGGREC_E_DONE;
	int lost = seq_gap(r, seq);
	if (lost < 0)
		return OGGREC_OK;
	r->have_seq = true;
	r->last_seq = seq;
	int n = packet_samples(pkt, len);
	if (n == 0)
		return OGGREC_E_PACKET;
	if (lost > 0 && lost <= CONCEAL_MAX && r->have_toc)
		conceal(r, lost);
	catch_up(r, now_ms, n);
	mux(r, pkt, len, n);
	r->last_toc = pkt[0];
	r->have_toc = true;
	r->last_frame = n;
	return OGGREC_OK;
}

void oggrec_finish(oggrec *r, int64_t now_ms)
{
	int64_t end = position_of(r, now_ms);
	if (end < 20 * SAMPLES_PER_MS) /* an Ogg Opus stream needs at least one packet */
		end = 20 * SAMPLES_PER_MS;
	if (!r->failed)
		fill_silence(r, end);
	if (r->holding)
		packet_in(r, r->held, r->held_len, r->written, false, true);
	drain_pages(r, true);
	ogg_stream_clear(&r->os);
	opus_encoder_destroy(r->enc);
	free(r);
}

int64_t oggrec_written_ms(const oggrec *r)
{
	return r->written / SAMPLES_PER_MS;
}

const char *oggrec_strerror(int err)
{
	switch (err) {
	case OGGREC_OK: return "ok";
	case OGGREC_E_CODEC: return "the Opus encoder refused";
	case OGGREC_E_PACKET: return "Opus packet does not decode";
	case OGGREC_E_DONE: return "recording can no longer be written";
	}
	return "unknown recording error";
}
