/*
 * rtcp: sender and receiver reports (RFC 3550 section 6.4) for the room
 * stream we send and the speaker streams we receive, with the receiver
 * statistics of RFC 3550 appendix A.1 (sequence numbers, loss) and A.8
 * (interarrival jitter). Sans-IO: times are passed in; packets are built in
 * caller buffers and walked with bounds checks.
 */
#ifndef ROSTRUM_RTCP_H
#define ROSTRUM_RTCP_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum rtcp_type { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202, RTCP_BYE = 203 };

/* What we learn of one incoming stream (a speaker). */
struct rtcp_rx {
	uint32_t ssrc;
	bool started;
	uint16_t max_seq;
	uint32_t cycles;          /* sequence number wraps, shifted left by 16 */
	uint32_t base_seq;
	uint32_t received, expected_prior, received_prior;
	double jitter;            /* in RTP timestamp units */
	int64_t last_transit;
	uint32_t lsr;             /* middle 32 bits of the NTP time of its last SR */
	int64_t lsr_at_ms;        /* when that SR arrived */
};

/* Counts one packet of the stream at arrival time now_ms (for jitter: the clock rate is clock_hz). */
void rtcp_rx_packet(struct rtcp_rx *rx, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts,
		    int64_t now_ms, uint32_t clock_hz);
/* Notes a sender report of the stream (from rtcp_walk), for LSR/DLSR. */
void rtcp_rx_sr(struct rtcp_rx *rx, uint64_t ntp, int64_t now_ms);

/* NTP timestamp (RFC 5905 format) of a Unix time in ms. */
uint64_t rtcp_ntp(int64_t wall_ms);

/*
 * A compound SR + SDES(CNAME) for the stream we send: ssrc, the wall time and
 * matching RTP timestamp, packets and octets sent. Returns the length or -1.
 */
int rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, int64_t wall_ms, uint32_t rtp_ts,
		  uint32_t packets, uint32_t octets, const char *cname);
/* A compound RR (one report block for rx) + SDES(CNAME) from sender_ssrc. Returns length or -1. */
int rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc, struct rtcp_rx *rx,
		  int64_t now_ms, const char *cname);

/* Calls fn for each packet of a compound RTCP datagram; false when it is malformed. */
bool rtcp_walk(const uint8_t *buf, size_t len,
	       void (*fn)(void *ctx, int type, const uint8_t *pkt, size_t len), void *ctx);

#endif
