/*
 * lg_audio: what the simulated speakers say and how listeners time it.
 *
 * A speaker sends a one-second period of Opus frames encoded once at start:
 * a 200 ms tone, then near silence. Every packet carries a timing marker in
 * Opus padding (RFC 6716 section 3.2.5, a code 3 packet of one frame): any
 * decoder ignores it, and a forwarding server passes the payload unchanged,
 * so a listener reads the send time back from what it receives. A mixing
 * server decodes and re-encodes, which removes the marker; there the tone's
 * onset, found in the decoded stream, is matched with the time it was sent.
 */
#ifndef LG_AUDIO_H
#define LG_AUDIO_H

#include <opus/opus.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LG_FRAMES 50          /* one period of 20 ms frames */
#define LG_TONE_FRAMES 10     /* the tone's length */
#define LG_MARK_LEN 20

struct lg_mark {
	uint16_t speaker;
	uint32_t serial;          /* the speaker's packet count */
	int64_t sent_ns;          /* CLOCK_REALTIME */
};

/* Encodes the period (frequency hz, offset by shift frames for the second speaker). */
int lg_audio_init(void);
/* The marked packet for frame index i into out (cap >= 1300); its length. */
size_t lg_audio_packet(int i, const struct lg_mark *m, uint8_t *out);
/* True when frame i of a period is tone (for the audio level). */
bool lg_audio_is_tone(int i);
/* Reads a marker from a received payload. */
bool lg_audio_mark(const uint8_t *payload, size_t len, struct lg_mark *m);

/* An onset detector on one listener's decoded stream. */
struct lg_onset {
	OpusDecoder *dec;
	int quiet_blocks;         /* 2.5 ms blocks below the threshold in a row */
};
int lg_onset_init(struct lg_onset *o);
void lg_onset_free(struct lg_onset *o);
/*
 * Decodes one payload; returns the offset in samples at 48 kHz of a tone
 * onset inside it (after at least 150 ms of quiet), or -1.
 */
int lg_onset_feed(struct lg_onset *o, const uint8_t *payload, size_t len);
/* Where the onset lies in our own frames decoded straight away: the codec's delay, samples. */
int lg_audio_codec_delay(void);

#endif
