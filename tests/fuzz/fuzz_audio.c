/*
 * Opus payloads as SRTP delivers them (after authentication, so from a
 * member, but still any bytes a browser or a hostile client encodes): into a
 * two-source mix (jitter buffers, decoding, concealment, mix-minus) and into
 * a room recording (Ogg Opus pages). Each input is a sequence of packets
 * (2-byte big-endian length, then the bytes); a packet's first byte gives
 * the source (bit 0), a sequence jump (bits 1-3, reordering and loss) and
 * whether the mixer ticks after it (bit 4, at most MAX_TICKS an input: each
 * tick encodes the mix and both mix-minus frames); the rest is the payload.
 * Every write to the recording must be whole Ogg pages.
 *
 * libopus runs CPUID (which traps in a VM) each time it makes an encoder
 * or decoder, so the mixer with its two sources and the recording are made
 * once and replaced every KEEP_INPUTS inputs, not per input. Between
 * inputs the clock jumps a second, so both sources have run dry and refill
 * their jitter buffers as new ones do, and the sequence numbers go on where
 * the last input left them. What carries over within a set: the decoders'
 * and encoders' state, the sources' sequence positions and the recording's
 * timeline. The first input after start-up sees a new set, so a crash file
 * replayed alone runs as it would first; a crash that needs the state left
 * by earlier inputs reproduces by replaying the work corpus in order.
 */
#include "fuzz.h"
#include "mixer.h"
#include "oggrec.h"

#define MAX_TICKS 2
#define KEEP_INPUTS 256

static mixer *mx;
static oggrec *rec;
static int inputs;          /* since the set was made */
static int64_t now;
static uint16_t seq[2], rec_seq;

static void sink_write(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (len < 27 || memcmp(buf, "OggS", 4) != 0)
		abort();
}

static const struct oggrec_sink sink = { sink_write, NULL };

/* A new mixer with sources 1 and 2 and a new recording, every KEEP_INPUTS inputs. */
static void next_input(void)
{
	now += 1000;
	if (mx && ++inputs < KEEP_INPUTS)
		return;
	if (mx) {
		oggrec_finish(rec, now);
		mixer_destroy(mx);
	}
	/* The lowest encoder complexity: the mix is ours, the payloads under test are decoded. */
	static const struct mixer_opts opts = { .complexity = 0 };
	mx = mixer_create(&opts);
	rec = oggrec_create(&sink, now, "fuzz", "Fuzz room");
	if (!mx || !rec || mixer_add(mx, 1, true) != MIXER_OK || mixer_add(mx, 2, true) != MIXER_OK)
		abort();
	inputs = 0;
	seq[0] = 100;
	seq[1] = 60000;
	rec_seq = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	next_input();
	struct fz f = { data, size };
	const uint8_t *p;
	size_t n;
	struct mixer_out out;
	int ticks = 0;
	while (fz_chunk(&f, &p, &n)) {
		if (n < 1)
			continue;
		int src = p[0] & 1;
		uint16_t step = (uint16_t)(((p[0] >> 1) & 7) - 2);
		seq[src] = (uint16_t)(seq[src] + step);
		size_t len = n - 1 > MIXER_MAX_PACKET ? MIXER_MAX_PACKET : n - 1;
		(void)!mixer_push(mx, 1 + (uint32_t)src, seq[src], (uint32_t)seq[src] * 960, p + 1, len,
				  now);
		rec_seq = (uint16_t)(rec_seq + step);
		(void)!oggrec_opus(rec, now, rec_seq, p + 1, n - 1);
		if ((p[0] & 16) && ticks++ < MAX_TICKS) {
			now += 20;
			if (mixer_tick(mx, now, &out) == MIXER_OK && out.n_minus > MIXER_MAX_SOURCES)
				abort();
		}
	}
	return 0;
}
