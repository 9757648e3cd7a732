/*
 * rtp: RTP headers (RFC 3550 section 5.1) and the outgoing stream rewriter
 * that makes floor-gated forwarding look like one continuous stream.
 *
 * Listeners receive one room stream. Speakers come and go with the floor, each
 * with their own SSRC, sequence numbers and timestamps; the rewriter maps the
 * current source's packets onto one output SSRC with sequence numbers that
 * rise by one per packet and a timestamp that keeps running with wall time
 * across a change of speaker (no gap, no jump). The mapping is done once per
 * packet for the whole room; each listener only encrypts (SRTP).
 * Sans-IO, no allocation: packets are rewritten in place.
 */
#ifndef ROSTRUM_RTP_H
#define ROSTRUM_RTP_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HEADER_MIN 12

enum rtp_err {
	RTP_OK = 0,
	RTP_E_SHORT = -1,      /* shorter than its header, CSRCs or extension say */
	RTP_E_VERSION = -2,    /* not version 2 */
	RTP_E_PADDING = -3,    /* padding count larger than the payload */
};

struct rtp_hdr {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	size_t header_len;     /* fixed header + CSRCs + extension */
	size_t payload_len;    /* without padding */
	int audio_level;       /* RFC 6464 level 0..127 (-dBov), -1 when absent */
	bool voice;            /* RFC 6464 V flag */
};

/*
 * Parses an RTP packet. ext_level_id is the negotiated one-byte header
 * extension id of the RFC 6464 audio level (0 = none). Returns RTP_OK or an error.
 */
RS_MUST_CHECK int rtp_parse(const uint8_t *pkt, size_t len, int ext_level_id, struct rtp_hdr *h);

/* The room's outgoing stream: one SSRC, continuous sequence numbers and timestamps. */
struct rtp_rewriter {
	uint32_t out_ssrc;
	uint32_t clock_hz;      /* 48000 for Opus (RFC 7587 section 4.1) */
	bool started;
	uint32_t src_ssrc;      /* the source being forwarded */
	uint16_t seq_delta;     /* out seq = in seq + seq_delta */
	uint32_t ts_delta;      /* out ts = in ts + ts_delta */
	uint16_t last_seq;      /* highest output seq sent */
	uint32_t last_ts;       /* output ts of the highest packet */
	uint16_t last_in_seq;   /* highest input seq of the current source */
	int64_t last_ms;        /* wall time the last packet was sent */
	uint64_t packets, dropped_old;
};

/* A rewriter for output SSRC out_ssrc, starting at sequence number first_seq and timestamp first_ts. */
void rtp_rewriter_init(struct rtp_rewriter *w, uint32_t out_ssrc, uint16_t first_seq,
		       uint32_t first_ts, uint32_t clock_hz);
/*
 * Rewrites pkt (parsed as h) in place for the output stream at time now_ms.
 * A packet from a new SSRC starts a new mapping whose timestamp follows the
 * last one by the wall time elapsed. Returns false (drop it) for a packet
 * older than the current source's last one by more than a small reorder
 * window, or a duplicate.
 */
bool rtp_rewrite(struct rtp_rewriter *w, uint8_t *pkt, const struct rtp_hdr *h, int64_t now_ms);

const char *rtp_strerror(int err);

#endif
