/*
 * framing: RFC 4571 framing of RTP, RTCP, STUN and DTLS over a TCP stream —
 * each packet preceded by its length as two bytes — for passive ICE-TCP
 * candidates (RFC 6544). Sans-IO: bytes as they arrive from the socket go
 * in, whole packets come out, whatever the split of the reads.
 */
#ifndef ROSTRUM_FRAMING_H
#define ROSTRUM_FRAMING_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define FRAMING_MAX 1500 /* a packet larger than one datagram would be refused on UDP too */

struct framing {
	uint8_t buf[2 + FRAMING_MAX];
	size_t have;             /* bytes of the current frame (length included) */
	bool broken;             /* a frame over FRAMING_MAX: the stream cannot be trusted */
};

/*
 * Feeds in[0..len); calls fn for each whole packet. Returns the bytes used
 * (all of them), or -1 once a frame announces more than FRAMING_MAX (close
 * the connection then).
 */
RS_MUST_CHECK long framing_input(struct framing *f, const uint8_t *in, size_t len,
				 void (*fn)(void *ctx, uint8_t *pkt, size_t len), void *ctx);
/* Writes the two-byte length of a len-byte packet into hdr; false when too long. */
bool framing_header(size_t len, uint8_t hdr[2]);

#endif
