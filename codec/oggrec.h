/*
 * oggrec: a room's audio recording as an Ogg Opus file (RFC 7845), muxed
 * with libogg. The forwarded Opus packets go into the file as they are (no
 * decoding, no encoding); only PCM (the mixer's output) is encoded, and
 * silence is a prepared CELT silence frame copied per 20 ms.
 *
 * The file's timeline is wall time: sample 0 is start_ms, and a gap in what
 * is given (nobody speaking, a lost packet) is filled with silence when the
 * next audio arrives or when the recording finishes, so a player can seek
 * to (t - start_ms) for any transcript timestamp t. No timer is needed while
 * the room is silent.
 *
 * Sans-IO: PCM or Opus packets and the time go in; Ogg pages come out
 * through the sink, which the owner hands to the journal writer process (the
 * event loop never writes to disk itself). The start time, room and title
 * are written into the OpusTags comment header too (ROSTRUM_START_MS,
 * ROSTRUM_ROOM, TITLE).
 *
 * Ownership: the caller owns the recording and the sink's context. Pages
 * given to the sink are borrowed for the call only.
 */
#ifndef ROSTRUM_OGGREC_H
#define ROSTRUM_OGGREC_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define OGGREC_RATE 48000

typedef struct oggrec oggrec;

struct oggrec_sink {
	/* Bytes of the file, in order (whole Ogg pages). */
	void (*write)(void *ctx, const uint8_t *buf, size_t len);
	void *ctx;
};

enum oggrec_err {
	OGGREC_OK = 0,
	OGGREC_E_CODEC = -1,    /* libopus refused */
	OGGREC_E_PACKET = -2,   /* not a valid Opus packet (skipped; silence instead) */
	OGGREC_E_DONE = -3,     /* the encoder refused earlier: nothing more is written */
};

/*
 * A recording that starts at wall time start_ms (the clock of the transcript's
 * timestamps). The headers go to the sink at once. NULL when libopus refuses.
 */
oggrec *oggrec_create(const struct oggrec_sink *sink, int64_t start_ms, const char *room,
		      const char *title);
/*
 * n mono samples at 48 kHz in [-1, 1] (n a multiple of 120) heard at now_ms
 * (the time the last of them was heard). Silence fills any gap before them
 * of more than 60 ms (less is network jitter: the audio is appended as it
 * is); audio that arrives early is appended too, the file never goes back.
 * After OGGREC_E_CODEC every call returns OGGREC_E_DONE.
 * With n = 0 (pcm may be NULL) it only fills silence up to now_ms (down to a
 * whole 2.5 ms). Filling costs a copy per 20 ms; an owner that wants pages
 * to keep reaching the disk while the room is quiet calls this once a
 * second.
 */
RS_MUST_CHECK int oggrec_pcm(oggrec *r, int64_t now_ms, const float *pcm, size_t n);
/*
 * An Opus packet of the room's forwarded stream, seq its RTP sequence
 * number, muxed as it is (up to three missing seqs become zero-length
 * frames a player conceals, a longer gap is left to the silence fill; a
 * late or repeated one is skipped and OGGREC_OK), placed on the timeline as
 * oggrec_pcm() places PCM. A packet that is not valid Opus (RFC 6716
 * section 3) gives OGGREC_E_PACKET and writes nothing of its own.
 */
RS_MUST_CHECK int oggrec_opus(oggrec *r, int64_t now_ms, uint16_t seq, const uint8_t *pkt,
			      size_t len);
/*
 * Fills silence up to now_ms, writes the last page (end of stream) and frees
 * r. After a codec failure the file just stops at its last whole page. A
 * recording shorter than 20 ms is padded to 20 ms: an Ogg Opus stream
 * needs at least one packet.
 */
void oggrec_finish(oggrec *r, int64_t now_ms);
/* Milliseconds of audio written so far. */
int64_t oggrec_written_ms(const oggrec *r);
const char *oggrec_strerror(int err);

#endif
