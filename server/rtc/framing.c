#include "framing.h"

#include <string.h>

long framing_input(struct framing *f, const uint8_t *in, size_t len,
		   void (*fn)(void *ctx, uint8_t *pkt, size_t len), void *ctx)
{
	size_t used = 0;
	while (!f->broken && used < len) {
		size_t want = f->have < 2 ? 2 : 2 + ((size_t)f->buf[0] << 8 | f->buf[1]);
		if (f->have >= 2 && want - 2 > FRAMING_MAX) {
			f->broken = true;
			break;
		}
		size_t take = want - f->have < len - used ? want - f->have : len - used;
		memcpy(f->buf + f->have, in + used, take);
		f->have += take;
		used += take;
		if (f->have >= 2 && f->have == 2 + ((size_t)f->buf[0] << 8 | f->buf[1])) {
			if (f->have > 2) /* an empty frame carries nothing */
				fn(ctx, f->buf + 2, f->have - 2);
			f->have = 0;
		}
	}
	return f->broken ? -1 : (long)used;
}

bool framing_header(size_t len, uint8_t hdr[2])
{
	if (len > FRAMING_MAX)
		return false;
	hdr[0] = (uint8_t)(len >> 8);
	hdr[1] = (uint8_t)len;
	return true;
}
