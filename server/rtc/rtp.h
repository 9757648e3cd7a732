/*
 * rtp: RTP headers (RFC 3550 section 5.1, header extensions per RFC 8285,
 * the audio level of RFC 6464) and the outgoing stream rewriter that makes
 * floor-gated forwarding look like one continuous stream.
 *
 * Listeners receive one room stream. Speakers come and go with the floor, each
 * with their own SSRC, sequence numbers and timestamps; the rewriter maps the
 * current source's packets onto one output SSRC with sequence numbers that
 * rise by one per packet and a timestamp that keeps running with wall time
 * across a change of speaker (no gap, no jump). The mapping is done once per
 * packet for the whole room; each listener only encrypts (SRTP). A mixer's
 * own packets can be spliced into the same stream.
 * Sans-IO, no allocation: packets are parsed and rewritten in place.
 */
#ifndef ROSTRUM_RTP_H
#define ROSTRUM_RTP_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTP_HEADER_MIN 12
#define RTP_MAX_PACKET 1500      /* larger is not a packet from one datagram */

enum rtp_err {
	RTP_OK = 0,
	RTP_E_SHORT = -1,      /* shorter than its header, CSRCs or extension say */
	RTP_E_VERSION = -2,    /* not version 2 */
	RTP_E_PADDING = -3,    /* padding count zero or larger than the payload */
	RTP_E_TOO_LONG = -4,   /* over RTP_MAX_PACKET */
};

struct rtp_hdr {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts;
	uint32_t ssrc;
	uint8_t csrc_count;
	size_t header_len;     /* fixed header + CSRCs + extension */
	size_t payload_len;    /* without padding */
	size_t padding_len;    /* the padding, count byte included */
	uint16_t ext_profile;  /* 0xBEDE one-byte, 0x100x two-byte (RFC 8285), 0 none */
	size_t ext_off, ext_len; /* the extension's data (after its 4-byte header) */
	int audio_level;       /* RFC 6464 level 0..127 (-dBov), -1 when absent */
	bool voice;            /* RFC 6464 V flag */
};

/*
 * Parses an RTP packet. ext_level_id is the negotiated header extension id of
 * the RFC 6464 audio level (0 = none), looked for in either RFC 8285 form.
 * Malformed extension elements are skipped, not fatal: the extension block's
 * own length is what bounds the packet. Returns RTP_OK or an error.
 */
RS_MUST_CHECK int rtp_parse(const uint8_t *pkt, size_t len, int ext_level_id, struct rtp_hdr *h);
/*
 * Finds extension element id (RFC 8285 sections 4.2 and 4.3) in a packet
 * parsed as h: its value at *val for *val_len bytes. False when absent.
 */
bool rtp_ext_find(const uint8_t *pkt, const struct rtp_hdr *h, int id, const uint8_t **val,
		  size_t *val_len);
/*
 * Removes the header extension from pkt (len bytes, parsed as h) in place,
 * so a forwarded packet carries no extension ids the listener did not
 * negotiate. Updates h; returns the new length.
 */
size_t rtp_strip_extension(uint8_t *pkt, size_t len, struct rtp_hdr *h);

/*
 * The room's outgoing stream: one SSRC, continuous sequence numbers and
 * timestamps. Plain struct so it can live inside its owner; touch it only
 * through the functions below (the counters may be read).
 */
struct rtp_rewriter {
	uint32_t out_ssrc;
	uint32_t clock_hz;      /* 48000 for Opus (RFC 7587 section 4.1) */
	bool started;           /* a packet has gone out */
	bool anchored;          /* the current source has a mapping */
	uint32_t src_ssrc;      /* the source being forwarded */
	uint16_t seq_delta;     /* out seq = in seq + seq_delta */
	uint32_t ts_delta;      /* out ts = in ts + ts_delta */
	uint16_t last_seq;      /* highest output seq sent */
	uint32_t last_ts;       /* output ts of the highest packet */
	uint16_t last_in_seq;   /* highest input seq of the current source */
	uint16_t first_in_seq;  /* its first input seq since the mapping was made */
	uint64_t seen;          /* bit k: input seq last_in_seq - k was forwarded */
	int64_t last_ms;        /* wall time the last packet was sent */
	bool has_prev;
	uint32_t prev_ssrc;     /* the source before the current one */
	uint16_t prev_last_in_seq;
	/* Counters. */
	uint64_t packets;       /* forwarded or emitted */
	uint64_t dropped_old;   /* all refusals: the two below */
	uint64_t dropped_dup, dropped_late;
	uint64_t switches;      /* changes of source, a mixer's splice included */
	uint64_t local;         /* packets emitted with rtp_rewriter_local */
};

/* A rewriter for output SSRC out_ssrc, starting at sequence number first_seq, timestamp first_ts. */
void rtp_rewriter_init(struct rtp_rewriter *w, uint32_t out_ssrc, uint16_t first_seq,
		       uint32_t first_ts, uint32_t clock_hz);
/*
 * Rewrites pkt (parsed as h) in place for the output stream at time now_ms.
 * A packet from a new SSRC starts a new mapping: one sequence number after
 * the last one out, a timestamp after the last by the wall time elapsed (at
 * least one 20 ms frame). Within a source, late packets keep their place
 * and duplicates are refused. Returns false (drop it, it was counted) for a
 * duplicate, a packet more than 64 behind, one older than the start of the
 * current mapping, or a late packet of the previous source.
 */
bool rtp_rewrite(struct rtp_rewriter *w, uint8_t *pkt, const struct rtp_hdr *h, int64_t now_ms);
/*
 * The timestamp a packet starting at now_ms should carry to continue the
 * output without a jump: what a mixer takes when it starts producing.
 */
uint32_t rtp_rewriter_next_ts(const struct rtp_rewriter *w, int64_t now_ms);
/*
 * Emits a locally produced packet (a mixer's; pkt has at least a 12-byte
 * header): the next sequence number, timestamp ts, the output SSRC. The
 * next forwarded packet starts a new mapping after it, even from the source
 * forwarded before.
 */
void rtp_rewriter_local(struct rtp_rewriter *w, uint8_t *pkt, uint32_t ts, int64_t now_ms);

/* A static description of an rtp_err. */
const char *rtp_strerror(int err);

#endif
