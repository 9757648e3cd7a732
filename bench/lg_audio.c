/*
 * lg_audio: see lg_audio.h.
 */
#include "lg_audio.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint8_t frames[LG_FRAMES][400];
static int frame_len[LG_FRAMES];
static int codec_delay = -1;
static const uint8_t magic[4] = { 'L', 'G', 'M', 'K' };

bool lg_audio_is_tone(int i)
{
	return i % LG_FRAMES < LG_TONE_FRAMES;
}

/* 440 Hz at about -12 dBFS during the tone, faint noise elsewhere (never digital zero). */
static void synth(int frame, int16_t *pcm, uint32_t *noise)
{
	for (int s = 0; s < 960; s++) {
		double t = (frame * 960 + s) / 48000.0;
		*noise = *noise * 1664525u + 1013904223u;
		double v = ((int32_t)(*noise >> 16) - 32768) / 32768.0 * 30.0;
		if (lg_audio_is_tone(frame))
			v += 8000.0 * sin(2 * M_PI * 440.0 * t);
		pcm[s] = (int16_t)v;
	}
}

int lg_audio_init(void)
{
	int err;
	OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	if (err != OPUS_OK)
		return -1;
	opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
	opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(5));
	uint32_t noise = 1;
	int16_t pcm[960];
	/* Two periods: the second, encoded from a warmed-up encoder, is the one sent. */
	for (int p = 0; p < 2; p++)
		for (int i = 0; i < LG_FRAMES; i++) {
			synth(i, pcm, &noise);
			frame_len[i] = opus_encode(enc, pcm, 960, frames[i], sizeof frames[i]);
			if (frame_len[i] < 1 || (frames[i][0] & 3) != 0)
				return -1;
		}
	opus_encoder_destroy(enc);
	struct lg_onset o;
	if (lg_onset_init(&o) != 0)
		return -1;
	for (int p = 0; p < 2 && codec_delay < 0; p++)
		for (int i = 0; i < LG_FRAMES; i++) {
			int at = lg_onset_feed(&o, frames[i], (size_t)frame_len[i]);
			if (at >= 0 && p == 1 && codec_delay < 0)
				codec_delay = i * 960 + at;
		}
	lg_onset_free(&o);
	return codec_delay >= 0 ? 0 : -1;
}

int lg_audio_codec_delay(void)
{
	return codec_delay;
}

/* TOC with code 3, one CBR frame, padding: the marker is the padding. */
size_t lg_audio_packet(int i, const struct lg_mark *m, uint8_t *out)
{
	i %= LG_FRAMES;
	size_t n = 0;
	out[n++] = (uint8_t)(frames[i][0] | 3);
	out[n++] = 0x40 | 1;
	out[n++] = LG_MARK_LEN;
	memcpy(out + n, frames[i] + 1, (size_t)frame_len[i] - 1);
	n += (size_t)frame_len[i] - 1;
	memcpy(out + n, magic, 4);
	out[n + 4] = (uint8_t)(m->speaker >> 8);
	out[n + 5] = (uint8_t)m->speaker;
	out[n + 6] = out[n + 7] = 0;
	for (int k = 0; k < 4; k++)
		out[n + 8 + k] = (uint8_t)(m->serial >> (24 - 8 * k));
	for (int k = 0; k < 8; k++)
		out[n + 12 + k] = (uint8_t)((uint64_t)m->sent_ns >> (56 - 8 * k));
	return n + LG_MARK_LEN;
}

bool lg_audio_mark(const uint8_t *p, size_t len, struct lg_mark *m)
{
	if (len < 3 + LG_MARK_LEN || (p[0] & 3) != 3 || memcmp(p + len - LG_MARK_LEN, magic, 4) != 0)
		return false;
	const uint8_t *q = p + len - LG_MARK_LEN;
	m->speaker = (uint16_t)(q[4] << 8 | q[5]);
	m->serial = 0;
	for (int k = 0; k < 4; k++)
		m->serial = m->serial << 8 | q[8 + k];
	uint64_t t = 0;
	for (int k = 0; k < 8; k++)
		t = t << 8 | q[12 + k];
	m->sent_ns = (int64_t)t;
	return true;
}

int lg_onset_init(struct lg_onset *o)
{
	int err;
	o->dec = opus_decoder_create(48000, 1, &err);
	o->quiet_blocks = 0;
	return err == OPUS_OK ? 0 : -1;
}

void lg_onset_free(struct lg_onset *o)
{
	opus_decoder_destroy(o->dec);
	o->dec = NULL;
}

int lg_onset_feed(struct lg_onset *o, const uint8_t *payload, size_t len)
{
	int16_t pcm[5760];
	int n = opus_decode(o->dec, payload, (opus_int32)len, pcm, 5760, 0);
	int found = -1;
	for (int b = 0; b + 120 <= n; b += 120) { /* 2.5 ms blocks */
		double e = 0;
		for (int s = 0; s < 120; s++)
			e += (double)pcm[b + s] * pcm[b + s];
		bool loud = sqrt(e / 120) > 1500.0;
		/* 150 ms of quiet: two speakers' tones, half a period apart, leave 300 ms
		 * between them, which a mix's codec delay and smear shorten. */
		if (loud && o->quiet_blocks >= 60 && found < 0)
			found = b;
		o->quiet_blocks = loud ? 0 : o->quiet_blocks + 1;
	}
	return found;
}
