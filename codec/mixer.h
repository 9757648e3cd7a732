/*
 * mixer: the room's audio mix, for when more than one person is heard at
 * once (floor holders and moderators speaking together).
 *
 * Each source (one speaker's incoming Opus stream) has a jitter buffer
 * ordered by RTP sequence number, an Opus decoder with loss concealment and
 * in-band FEC, and a PCM queue. Every 20 ms tick takes one frame from each
 * source, sums them in float, protects against clipping (opus_pcm_soft_clip)
 * and encodes the mix once for every listener; each source that also
 * listens gets its own mix-minus (the mix without itself), encoded with an
 * encoder of its own so that nobody hears themselves.
 *
 * Sans-IO: packets and the time go in, encoded frames come out of
 * mixer_tick(); no clock, no socket, no timer. The owner calls the tick every
 * MIXER_FRAME_MS while at least two sources are live.
 *
 * Ownership: the caller owns the mixer. Payloads passed in are copied; the
 * buffers mixer_tick() points at belong to the mixer and stay valid until
 * the next mixer_tick() or mixer_destroy().
 */
#ifndef ROSTRUM_MIXER_H
#define ROSTRUM_MIXER_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MIXER_RATE 48000
#define MIXER_FRAME_MS 20
#define MIXER_FRAME (MIXER_RATE / 1000 * MIXER_FRAME_MS) /* 960 samples, mono */
#define MIXER_MAX_SOURCES 16
#define MIXER_MAX_PACKET 1500   /* bytes of one encoded frame, at most */

typedef struct mixer mixer;

enum mixer_err {
	MIXER_OK = 0,
	MIXER_E_FULL = -1,      /* MIXER_MAX_SOURCES already */
	MIXER_E_EXISTS = -2,    /* a source with that id is there already */
	MIXER_E_UNKNOWN = -3,   /* no source with that id */
	MIXER_E_PACKET = -4,    /* empty, oversized or not Opus (dropped, counted) */
	MIXER_E_LATE = -5,      /* behind the playout point or a duplicate (dropped, counted) */
	MIXER_E_CODEC = -6,     /* libopus refused (the encoder could not be made) */
};

/*
 * Note that complexity 0 is a real setting: a zeroed struct asks for the
 * cheapest encoder, so set it to -1 for the default.
 */
struct mixer_opts {
	int bitrate;            /* bits/s of each encoded mix; 0: 32000 */
	int complexity;         /* Opus encoder complexity 0..10; -1: 5 */
	int jitter_ms;          /* playout delay a source starts with; 0: 40 */
	int jitter_max_ms;      /* a source buffered deeper than this skips ahead (back to
				   jitter_ms); 0: 200; at least jitter_ms + 20, at most 600 */
};

/* One encoded mix-minus: for the source id, everything but itself. */
struct mixer_minus {
	uint32_t id;
	const uint8_t *pkt;
	size_t len;
};

struct mixer_out {
	const uint8_t *mix;     /* the mix of every source, Opus, for every other listener */
	size_t mix_len;
	const float *pcm;       /* that mix before encoding: MIXER_FRAME samples in [-1, 1] */
	size_t n_minus;
	struct mixer_minus minus[MIXER_MAX_SOURCES];
	int contributing;       /* sources that gave decoded audio (not silence) this tick */
};

struct mixer_stats {
	uint64_t ticks;
	uint64_t packets;       /* accepted into a jitter buffer */
	uint64_t decoded;       /* packets decoded */
	uint64_t concealed;     /* missing packets concealed (PLC) */
	uint64_t fec;           /* missing packets recovered from the next one's FEC */
	uint64_t late, bad;     /* refused: MIXER_E_LATE, MIXER_E_PACKET (or undecodable) */
	uint64_t skipped;       /* buffered packets dropped to catch up with the playout delay */
	uint64_t encoded;       /* frames encoded, the mix and every mix-minus */
};

/*
 * A mixer; opts may be NULL for the defaults. NULL when an option is out of
 * range or libopus refuses it (a bitrate it does not take, say).
 */
mixer *mixer_create(const struct mixer_opts *opts);
/* Frees the mixer and its sources; NULL is a no-op. */
void mixer_destroy(mixer *m);

/*
 * Adds a source under id (the owner's key, e.g. a participant id). listens:
 * the source also hears the room, so it gets a mix-minus every tick.
 * MIXER_OK, MIXER_E_FULL, MIXER_E_EXISTS or MIXER_E_CODEC.
 */
RS_MUST_CHECK int mixer_add(mixer *m, uint32_t id, bool listens);
/*
 * Removes a source and what it had buffered; unknown ids are ignored. The
 * others keep their order, which is also the order of out->minus.
 */
void mixer_remove(mixer *m, uint32_t id);
/* Whether a source with that id is there. */
bool mixer_has(const mixer *m, uint32_t id);
/* The number of sources. */
size_t mixer_count(const mixer *m);

/*
 * Queues one RTP payload of source id (its RTP sequence number and
 * timestamp; now_ms the arrival time). Reordered packets take their place;
 * duplicates and packets behind the playout point are refused.
 * MIXER_OK, MIXER_E_UNKNOWN, MIXER_E_PACKET or MIXER_E_LATE.
 */
RS_MUST_CHECK int mixer_push(mixer *m, uint32_t id, uint16_t seq, uint32_t ts,
			     const uint8_t *payload, size_t len, int64_t now_ms);

/*
 * One 20 ms frame of the mix: each source's next frame (decoded; a lost one
 * recovered from the next packet's FEC when it has it, else concealed; a
 * source still filling its jitter buffer, or one that has run dry, adds
 * silence), summed and soft-clipped, encoded once, plus a mix-minus for each
 * listening source. Returns MIXER_OK and fills *out; MIXER_E_CODEC if an
 * encoder fails (libopus does not for valid input: an internal fault).
 * A source stops concealing after about 100 ms with nothing received and
 * adds silence until it has buffered jitter_ms again.
 */
RS_MUST_CHECK int mixer_tick(mixer *m, int64_t now_ms, struct mixer_out *out);

/* The counters since mixer_create(). */
const struct mixer_stats *mixer_stats(const mixer *m);
/* A static description of a mixer_err. */
const char *mixer_strerror(int err);

#endif
