/*
 * rtcp: sender and receiver reports (RFC 3550 section 6.4) for the room
 * stream we send and the speaker streams we receive, with the receiver
 * statistics of RFC 3550 appendix A.1 (sequence numbers), A.3 (loss) and
 * A.8 (interarrival jitter); parsing of SR, RR, SDES and BYE. Sans-IO:
 * times are passed in; packets are built in caller buffers and read with
 * bounds checks, never allocating.
 */
#ifndef ROSTRUM_RTCP_H
#define ROSTRUM_RTCP_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rtcp_type { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202, RTCP_BYE = 203,
		 RTCP_APP = 204, RTCP_RTPFB = 205, RTCP_PSFB = 206 };

enum rtcp_err {
	RTCP_OK = 0,
	RTCP_E_NO_SPACE = -1,    /* build: the output buffer is too small */
	RTCP_E_SHORT = -2,       /* shorter than a header, or than its length or counts say */
	RTCP_E_VERSION = -3,     /* not version 2 */
	RTCP_E_TYPE = -4,        /* not the packet type asked for */
	RTCP_E_PADDING = -5,     /* padding on a packet other than the last, or a bad count */
	RTCP_E_COMPOUND = -6,    /* a compound that does not start with SR or RR (section 6.1) */
};

#define RTCP_MAX_BLOCKS 31       /* a 5-bit count */
#define RTCP_SDES_CNAME 1

/* One reception report block (section 6.4.1) as read from a peer's SR or RR. */
struct rtcp_block {
	uint32_t ssrc;           /* the stream it reports on */
	uint8_t fraction;        /* lost since the previous report, in 1/256 */
	int32_t lost;            /* cumulative, 24-bit signed */
	uint32_t ext_max_seq;    /* cycles << 16 | highest seq */
	uint32_t jitter;         /* RTP timestamp units */
	uint32_t lsr, dlsr;      /* middle 32 bits of the last SR's NTP time; delay in 1/65536 s */
};

struct rtcp_sr_info {
	uint32_t ssrc;
	uint64_t ntp;
	uint32_t rtp_ts, packets, octets;
	int n_blocks;
	struct rtcp_block blocks[RTCP_MAX_BLOCKS];
};

struct rtcp_rr_info {
	uint32_t ssrc;
	int n_blocks;
	struct rtcp_block blocks[RTCP_MAX_BLOCKS];
};

struct rtcp_bye_info {
	int n_ssrcs;
	uint32_t ssrcs[RTCP_MAX_BLOCKS];
	const uint8_t *reason;   /* borrowed from the packet; NULL when none */
	size_t reason_len;
};

/* What we learn of one incoming stream (a speaker). Zero it to start. */
struct rtcp_rx {
	uint32_t ssrc;
	bool started;
	uint16_t max_seq;
	uint32_t cycles;          /* sequence number wraps, shifted left by 16 */
	uint32_t base_seq;
	uint32_t bad_seq;         /* A.1: the seq after a large jump, to confirm a restart */
	uint32_t received, expected_prior, received_prior;
	double jitter;            /* in RTP timestamp units */
	int64_t last_transit;
	uint32_t lsr;             /* middle 32 bits of the NTP time of its last SR */
	int64_t lsr_at_ms;        /* when that SR arrived */
};

/*
 * Counts one packet of the stream at arrival time now_ms (for jitter: the
 * clock rate is clock_hz), per appendix A.1 with MAX_DROPOUT 3000 and
 * MAX_MISORDER 100. There is no probation: packets reach here only after
 * SRTP authentication, so a new SSRC is genuine from its first packet.
 * Returns false for a packet taken as a stray after a large jump (not
 * counted; a second in sequence after it restarts the statistics).
 */
bool rtcp_rx_packet(struct rtcp_rx *rx, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts,
		    int64_t now_ms, uint32_t clock_hz);
/* Notes a sender report of the stream (its NTP time), for LSR/DLSR. */
void rtcp_rx_sr(struct rtcp_rx *rx, uint64_t ntp, int64_t now_ms);
/* Appendix A.3: packets expected and lost so far (lost may be negative with duplicates). */
uint32_t rtcp_rx_expected(const struct rtcp_rx *rx);
int64_t rtcp_rx_lost(const struct rtcp_rx *rx);

/* NTP timestamp (RFC 5905 format) of a Unix time in ms. */
uint64_t rtcp_ntp(int64_t wall_ms);
/*
 * Round-trip time from a report block about our stream that arrived at
 * wall_ms (section 6.4.1: arrival - LSR - DLSR), in ms; -1 when the block
 * has no LSR yet or the result is negative (clock trouble).
 */
int64_t rtcp_rtt_ms(const struct rtcp_block *b, int64_t wall_ms);

/* What a sender report says about the stream we send. */
struct rtcp_sender {
	uint32_t rtp_ts;          /* the RTP timestamp matching wall_ms */
	uint32_t packets, octets; /* sent so far */
};

/*
 * A compound report from ssrc (section 6.1): an SR when snd is not NULL,
 * else an RR, with one report block per started rx (at most 31), then
 * SDES with our CNAME. wall_ms gives the SR's NTP time; now_ms (the clock
 * rtcp_rx_sr was given) the DLSR. Resets each rx's interval counters.
 * Returns the length or RTCP_E_NO_SPACE.
 */
RS_MUST_CHECK int rtcp_build_report(uint8_t *out, size_t cap, uint32_t ssrc,
				    const struct rtcp_sender *snd, struct rtcp_rx *const *rx,
				    size_t n_rx, int64_t wall_ms, int64_t now_ms,
				    const char *cname);
/*
 * A compound SR + SDES(CNAME) for the stream we send: ssrc, the wall time and
 * matching RTP timestamp, packets and octets sent. Returns the length or an error.
 */
RS_MUST_CHECK int rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, int64_t wall_ms,
				uint32_t rtp_ts, uint32_t packets, uint32_t octets,
				const char *cname);
/*
 * A compound RR (one report block for rx) + SDES(CNAME) from sender_ssrc.
 * Returns the length, or RTCP_E_NO_SPACE also when rx has seen no packet.
 */
RS_MUST_CHECK int rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc,
				struct rtcp_rx *rx, int64_t now_ms, const char *cname);
/*
 * The time to the next report, RFC 3550 section 6.3.1 and appendix A.7, for
 * a session of two members (a participant and the hub) with one sender.
 * At audio bandwidths the bandwidth-derived interval of two members is far
 * below the minimum, so Td is min_ms (RTCP_MIN_INTERVAL_MS; halved for the
 * first report, section 6.2); it is multiplied by a factor uniform in
 * [0.5, 1.5] taken from rnd (32 random bits) and divided by e - 3/2, the
 * compensation for timer reconsideration. Transports that connected in the
 * same millisecond thus report at spread-out times, never in a burst.
 */
#define RTCP_MIN_INTERVAL_MS 5000
int64_t rtcp_interval_ms(int64_t min_ms, bool initial, uint32_t rnd);
/* Bounds of rtcp_interval_ms for a Td (0.5 / (e - 1.5) = 0.4104, 1.5 / (e - 1.5) = 1.2312). */
#define RTCP_INTERVAL_LO(td_ms) ((td_ms) * 410 / 1000)
#define RTCP_INTERVAL_HI(td_ms) ((td_ms) * 1232 / 1000)

/* A BYE for ssrc (section 6.6), without a reason. Returns the length or RTCP_E_NO_SPACE. */
RS_MUST_CHECK int rtcp_build_bye(uint8_t *out, size_t cap, uint32_t ssrc);

/*
 * Calls fn for each packet of a compound RTCP datagram; false when it is
 * malformed (version, lengths, padding anywhere but the last packet). fn
 * sees each packet whole, padding included. Lenient about which packet
 * comes first, so reduced-size RTCP (RFC 5506) walks too.
 */
bool rtcp_walk(const uint8_t *buf, size_t len,
	       void (*fn)(void *ctx, int type, const uint8_t *pkt, size_t len), void *ctx);
/* Appendix A.2's checks on a compound: what rtcp_walk checks, and SR or RR first. */
RS_MUST_CHECK int rtcp_validate_compound(const uint8_t *buf, size_t len);

/* Reads one SR packet (as rtcp_walk hands it). */
RS_MUST_CHECK int rtcp_parse_sr(const uint8_t *pkt, size_t len, struct rtcp_sr_info *out);
/* Reads one RR packet. */
RS_MUST_CHECK int rtcp_parse_rr(const uint8_t *pkt, size_t len, struct rtcp_rr_info *out);
/*
 * Walks one SDES packet (section 6.5): item is called for each item of
 * each chunk with its SSRC, type and text (not NUL-terminated).
 */
RS_MUST_CHECK int rtcp_parse_sdes(const uint8_t *pkt, size_t len,
				  void (*item)(void *ctx, uint32_t ssrc, int type,
					       const uint8_t *text, size_t text_len),
				  void *ctx);
/* Reads one BYE packet (section 6.6); out->reason points into pkt. */
RS_MUST_CHECK int rtcp_parse_bye(const uint8_t *pkt, size_t len, struct rtcp_bye_info *out);
/* A static description of an rtcp_err. */
const char *rtcp_strerror(int err);

#endif
