/*
 * Opus payloads as SRTP delivers them (after authentication, so from a
 * member, but still any bytes a browser or a hostile client encodes): into a
 * two-source mix (jitter buffers, decoding, concealment, mix-minus) and into
 * a room recording (Ogg Opus pages). Each input is a sequence of packets
 * (2-byte big-endian length, then the bytes); a packet's first byte gives
 * the source (bit 0), a sequence jump (bits 1-3, reordering and loss) and
 * whether the mixer ticks after it (bit 4, at most 6 ticks an input, since
 * each encodes the mix and both mix-minus frames); the rest is the payload. Every
 * write to the recording must be whole Ogg pages.
 */
#include "fuzz.h"
#include "mixer.h"
#include "oggrec.h"

static void sink_write(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (len < 27 || memcmp(buf, "OggS", 4) != 0)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rs_log_set_level(RS_LOG_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	mixer *mx = mixer_create(NULL);
	struct oggrec_sink sink = { sink_write, NULL };
	oggrec *rec = oggrec_create(&sink, 0, "fuzz", "Fuzz room");
	if (!mx || !rec || mixer_add(mx, 1, true) != MIXER_OK || mixer_add(mx, 2, true) != MIXER_OK)
		abort();
	uint16_t seq[2] = { 100, 60000 };
	int64_t now = 0;
	struct fz f = { data, size };
	const uint8_t *p;
	size_t n;
	struct mixer_out out;
	int ticks = 0;
	while (fz_chunk(&f, &p, &n)) {
		if (n < 1)
			continue;
		int src = p[0] & 1;
		seq[src] = (uint16_t)(seq[src] + ((p[0] >> 1) & 7) - 2);
		size_t len = n - 1 > MIXER_MAX_PACKET ? MIXER_MAX_PACKET : n - 1;
		(void)!mixer_push(mx, 1 + (uint32_t)src, seq[src], (uint32_t)seq[src] * 960, p + 1, len,
				  now);
		(void)!oggrec_opus(rec, now, seq[src], p + 1, n - 1);
		if ((p[0] & 16) && ticks++ < 6) { /* each tick encodes 3 frames: keep inputs fast */
			now += 20;
			if (mixer_tick(mx, now, &out) == MIXER_OK && out.n_minus > MIXER_MAX_SOURCES)
				abort();
		}
	}
	oggrec_finish(rec, now + 20);
	mixer_destroy(mx);
	return 0;
}
