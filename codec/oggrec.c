#include "oggrec.h"

#include <opus/opus.h>
#include <opus/opusenc.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define SAMPLES_PER_MS (OGGREC_RATE / 1000)
/*
 * How far behind wall time the file may fall before silence is inserted:
 * packets arrive with network jitter, and padding on every late one would
 * chop the audio into pieces. 60 ms is three 20 ms frames.
 */
#define SLACK_SAMPLES (60 * SAMPLES_PER_MS)
/* A page reaches the sink at least this often (in samples), so a crash loses about a second. */
#define MUXING_DELAY OGGREC_RATE
/* libopusenc's lookahead before it encodes; small, so pages are not held back behind it. */
#define DECISION_DELAY (200 * SAMPLES_PER_MS)
#define BITRATE 32000
/* The longest Opus packet (RFC 6716 section 3.2.5): 120 ms. */
#define PACKET_MAX_SAMPLES (120 * SAMPLES_PER_MS)
/* Lost packets concealed before a late one; a longer gap is left to the silence fill. */
#define CONCEAL_MAX 3
#define DEC_BUF_SAMPLES ((CONCEAL_MAX + 1) * PACKET_MAX_SAMPLES)
#define SILENCE_CHUNK 4800
/*
 * Encoding costs about as much for silence as for speech, and a long gap is
 * filled in one call on the event loop: past this many samples of silence
 * the encoder runs at its cheapest setting, with DTX (RFC 6716 section
 * 2.1.9) so that the silence takes little room in the file too.
 */
#define CHEAP_FILL_SAMPLES (OGGREC_RATE / 2)
#define SPEECH_COMPLEXITY 9

struct oggrec {
	/* passed in */
	struct oggrec_sink sink;
	int64_t start_ms;
	/* owned */
	OggOpusEnc *enc;
	OpusDecoder *dec;
	int64_t written;          /* samples given to the encoder, silence included */
	bool failed;              /* the encoder refused once: nothing more is written */
	bool have_seq;
	uint16_t last_seq;        /* highest RTP sequence number decoded */
	int last_frame;           /* samples in the last decoded packet: the size of a concealed one */
	float pcm[DEC_BUF_SAMPLES];
};

static const float zeros[SILENCE_CHUNK];

static int sink_write(void *ctx, const unsigned char *buf, opus_int32 len)
{
	const struct oggrec *r = ctx;
	r->sink.write(r->sink.ctx, buf, (size_t)len);
	return 0;
}

/* The sink has no end of its own: the owner closes whatever it writes to. */
static int sink_close(void *ctx)
{
	(void)ctx;
	return 0;
}

static OggOpusComments *make_comments(int64_t start_ms, const char *room, const char *title)
{
	char start[24];
	OggOpusComments *c = ope_comments_create();
	if (!c)
		return NULL;
	snprintf(start, sizeof start, "%" PRId64, start_ms);
	if (ope_comments_add(c, "ROSTRUM_START_MS", start) != OPE_OK ||
	    (room && ope_comments_add(c, "ROSTRUM_ROOM", room) != OPE_OK) ||
	    (title && ope_comments_add(c, "TITLE", title) != OPE_OK)) {
		ope_comments_destroy(c);
		return NULL;
	}
	return c;
}

/*
 * Speech at a modest rate, and pages flushed often enough that a crash
 * costs little. The frame duration is libopusenc's default, set anyway:
 * 0.2.1 reads its copy of it uninitialized while draining otherwise.
 */
static bool configure(OggOpusEnc *enc)
{
	return ope_encoder_ctl(enc, OPE_SET_MUXING_DELAY(MUXING_DELAY)) == OPE_OK &&
	       ope_encoder_ctl(enc, OPUS_SET_EXPERT_FRAME_DURATION(OPUS_FRAMESIZE_20_MS)) == OPE_OK &&
	       ope_encoder_ctl(enc, OPE_SET_DECISION_DELAY(DECISION_DELAY)) == OPE_OK &&
	       ope_encoder_ctl(enc, OPUS_SET_APPLICATION(OPUS_APPLICATION_VOIP)) == OPE_OK &&
	       ope_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE)) == OPE_OK &&
	       ope_encoder_ctl(enc, OPUS_SET_COMPLEXITY(SPEECH_COMPLEXITY)) == OPE_OK &&
	       ope_encoder_ctl(enc, OPUS_SET_BITRATE(BITRATE)) == OPE_OK;
}

static OggOpusEnc *make_encoder(oggrec *r, const char *room, const char *title)
{
	static const OpusEncCallbacks cb = { sink_write, sink_close };
	int err = OPE_OK;
	OggOpusComments *c = make_comments(r->start_ms, room, title);
	if (!c)
		return NULL;
	/* The encoder keeps its own copy of the comments. */
	OggOpusEnc *enc = ope_encoder_create_callbacks(&cb, r, c, OGGREC_RATE, 1, 0, &err);
	ope_comments_destroy(c);
	if (!enc)
		return NULL;
	if (!configure(enc) || ope_encoder_flush_header(enc) != OPE_OK) {
		ope_encoder_destroy(enc);
		return NULL;
	}
	return enc;
}

oggrec *oggrec_create(const struct oggrec_sink *sink, int64_t start_ms, const char *room,
		      const char *title)
{
	int err;
	oggrec *r = rs_calloc(1, sizeof *r);
	r->sink = *sink;
	r->start_ms = start_ms;
	r->last_frame = 20 * SAMPLES_PER_MS;
	r->dec = opus_decoder_create(OGGREC_RATE, 1, &err);
	if (!r->dec)
		goto err;
	r->enc = make_encoder(r, room, title);
	if (!r->enc)
		goto err;
	return r;
err:
	if (r->dec)
		opus_decoder_destroy(r->dec);
	free(r);
	return NULL;
}

/* Hands n samples to the encoder; a refusal ends the recording's writing for good. */
static int encode(oggrec *r, const float *pcm, int64_t n)
{
	if (r->failed)
		return OGGREC_E_DONE;
	if (ope_encoder_write_float(r->enc, pcm, (int)n) != OPE_OK) {
		r->failed = true;
		return OGGREC_E_CODEC;
	}
	r->written += n;
	return OGGREC_OK;
}

/* Switches between the settings for speech and the cheap ones for a long silence. */
static int set_cheap(oggrec *r, bool cheap)
{
	if (ope_encoder_ctl(r->enc, OPUS_SET_COMPLEXITY(cheap ? 0 : SPEECH_COMPLEXITY)) != OPE_OK ||
	    ope_encoder_ctl(r->enc, OPUS_SET_DTX(cheap)) != OPE_OK) {
		r->failed = true;
		return OGGREC_E_CODEC;
	}
	return OGGREC_OK;
}

/* Writes silence until the file reaches sample position upto. */
static int fill_silence(oggrec *r, int64_t upto)
{
	bool cheap = upto - r->written >= CHEAP_FILL_SAMPLES;
	int rc = cheap ? set_cheap(r, true) : OGGREC_OK;
	while (rc == OGGREC_OK && r->written < upto) {
		int64_t n = upto - r->written;
		rc = encode(r, zeros, n < SILENCE_CHUNK ? n : SILENCE_CHUNK);
	}
	if (cheap && rc == OGGREC_OK)
		rc = set_cheap(r, false);
	return rc;
}

static int64_t position_of(const oggrec *r, int64_t now_ms)
{
	return (now_ms - r->start_ms) * SAMPLES_PER_MS;
}

int oggrec_pcm(oggrec *r, int64_t now_ms, const float *pcm, size_t n)
{
	if (r->failed)
		return OGGREC_E_DONE;
	int64_t target = position_of(r, now_ms) - (int64_t)n;
	if (target - r->written > SLACK_SAMPLES) {
		int rc = fill_silence(r, target);
		if (rc != OGGREC_OK)
			return rc;
	}
	return n ? encode(r, pcm, (int64_t)n) : OGGREC_OK;
}

/* Decodes packet loss concealment for the missing packets into r->pcm; returns the samples. */
static int conceal(oggrec *r, int missing)
{
	int total = 0;
	for (int i = 0; i < missing; i++) {
		int n = opus_decode_float(r->dec, NULL, 0, r->pcm + total, r->last_frame, 0);
		if (n <= 0)
			break;  /* concealment is a nicety: the silence fill covers the rest */
		total += n;
	}
	return total;
}

/* Decides what seq means: -1 late or repeated, else how many packets before it were lost. */
static int seq_gap(oggrec *r, uint16_t seq)
{
	if (!r->have_seq)
		return 0;
	int16_t d = (int16_t)(uint16_t)(seq - r->last_seq);
	return d <= 0 ? -1 : d - 1;
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
	/* Checked before concealment touches the decoder; empty data would mean "lost" to libopus. */
	int frame = pkt && len > 0 && len <= INT32_MAX
			    ? opus_packet_get_nb_samples(pkt, (opus_int32)len, OGGREC_RATE)
			    : OPUS_INVALID_PACKET;
	if (frame <= 0 || frame > PACKET_MAX_SAMPLES)
		return OGGREC_E_PACKET;
	int have = lost > 0 && lost <= CONCEAL_MAX ? conceal(r, lost) : 0;
	int n = opus_decode_float(r->dec, pkt, (opus_int32)len, r->pcm + have, PACKET_MAX_SAMPLES, 0);
	size_t total = (size_t)have + (n > 0 ? (size_t)n : 0);
	int rc = total ? oggrec_pcm(r, now_ms, r->pcm, total) : OGGREC_OK;
	if (n <= 0)
		return rc == OGGREC_OK ? OGGREC_E_PACKET : rc;
	r->last_frame = n;
	return rc;
}

void oggrec_finish(oggrec *r, int64_t now_ms)
{
	int64_t end = position_of(r, now_ms);
	/*
	 * libopusenc 0.2.1 cannot drain a stream without audio (it asserts on
	 * an uninitialized end position), so an empty recording gets one frame.
	 */
	if (end < 20 * SAMPLES_PER_MS)
		end = 20 * SAMPLES_PER_MS;
	if (!r->failed && fill_silence(r, end) == OGGREC_OK)
		(void)ope_encoder_drain(r->enc);  /* nothing left to do about a refusal here */
	ope_encoder_destroy(r->enc);
	opus_decoder_destroy(r->dec);
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
