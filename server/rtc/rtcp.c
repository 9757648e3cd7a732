#include "rtcp.h"
#include "bytes.h"

#include <string.h>

#define NTP_UNIX_OFFSET 2208988800ULL /* seconds from 1900 to 1970 */


uint64_t rtcp_ntp(int64_t wall_ms)
{
	uint64_t secs = (uint64_t)(wall_ms / 1000) + NTP_UNIX_OFFSET;
	uint64_t frac = ((uint64_t)(wall_ms % 1000) << 32) / 1000;
	return secs << 32 | frac;
}

/* Appendix A.1: a new stream starts its sequence bookkeeping. */
static void rx_init(struct rtcp_rx *rx, uint32_t ssrc, uint16_t seq)
{
	uint32_t lsr = rx->lsr;
	int64_t at = rx->lsr_at_ms;
	memset(rx, 0, sizeof *rx);
	rx->ssrc = ssrc;
	rx->started = true;
	rx->base_seq = seq;
	rx->max_seq = (uint16_t)(seq - 1);
	rx->lsr = lsr;
	rx->lsr_at_ms = at;
}

void rtcp_rx_packet(struct rtcp_rx *rx, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts,
		    int64_t now_ms, uint32_t clock_hz)
{
	if (!rx->started || rx->ssrc != ssrc)
		rx_init(rx, ssrc, seq);
	uint16_t delta = (uint16_t)(seq - rx->max_seq);
	if (delta < 0x8000) { /* in order, maybe with a gap */
		if (seq < rx->max_seq)
			rx->cycles += 1u << 16;
		rx->max_seq = seq;
	}
	rx->received++;
	/* A.8: J += (|D| - J) / 16, with transit in RTP units. */
	int64_t arrival = now_ms * (int64_t)clock_hz / 1000;
	int64_t transit = arrival - (int64_t)rtp_ts;
	if (rx->received > 1) {
		int64_t d = transit - rx->last_transit;
		rx->jitter += ((double)(d < 0 ? -d : d) - rx->jitter) / 16.0;
	}
	rx->last_transit = transit;
}

void rtcp_rx_sr(struct rtcp_rx *rx, uint64_t ntp, int64_t now_ms)
{
	rx->lsr = (uint32_t)(ntp >> 16);
	rx->lsr_at_ms = now_ms;
}

/* SDES with one CNAME item, padded to a word (section 6.5). */
static int put_sdes(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname)
{
	size_t n = strlen(cname) > 255 ? 255 : strlen(cname);
	size_t body = 4 + 2 + n + 1;             /* ssrc, type+len, text, end */
	size_t words = (body + 3) / 4;
	if (cap < 4 + words * 4)
		return -1;
	memset(out, 0, 4 + words * 4);
	out[0] = 0x81;
	out[1] = RTCP_SDES;
	put16(out + 2, (uint16_t)words);
	put32(out + 4, ssrc);
	out[8] = 1; /* CNAME */
	out[9] = (uint8_t)n;
	memcpy(out + 10, cname, n);
	return (int)(4 + words * 4);
}

int rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, int64_t wall_ms, uint32_t rtp_ts,
		  uint32_t packets, uint32_t octets, const char *cname)
{
	if (cap < 28)
		return -1;
	uint64_t ntp = rtcp_ntp(wall_ms);
	out[0] = 0x80;
	out[1] = RTCP_SR;
	put16(out + 2, 6);
	put32(out + 4, ssrc);
	put32(out + 8, (uint32_t)(ntp >> 32));
	put32(out + 12, (uint32_t)ntp);
	put32(out + 16, rtp_ts);
	put32(out + 20, packets);
	put32(out + 24, octets);
	int s = put_sdes(out + 28, cap - 28, ssrc, cname);
	return s < 0 ? -1 : 28 + s;
}

/* Section 6.4.1: fraction lost since the last report, cumulative loss, jitter, LSR/DLSR. */
static void put_block(uint8_t *b, struct rtcp_rx *rx, int64_t now_ms)
{
	uint32_t ext_max = rx->cycles + rx->max_seq;
	uint32_t expected = ext_max - rx->base_seq + 1;
	int64_t lost = (int64_t)expected - rx->received;
	if (lost > 0x7fffff) lost = 0x7fffff;
	if (lost < -0x800000) lost = -0x800000;
	uint32_t exp_int = expected - rx->expected_prior;
	uint32_t rec_int = rx->received - rx->received_prior;
	rx->expected_prior = expected;
	rx->received_prior = rx->received;
	int64_t lost_int = (int64_t)exp_int - rec_int;
	uint8_t fraction = exp_int == 0 || lost_int <= 0 ? 0 : (uint8_t)((lost_int << 8) / exp_int);
	put32(b, rx->ssrc);
	put32(b + 4, (uint32_t)fraction << 24 | ((uint32_t)lost & 0xffffff));
	put32(b + 8, ext_max);
	put32(b + 12, (uint32_t)rx->jitter);
	put32(b + 16, rx->lsr);
	uint64_t dlsr = rx->lsr ? (uint64_t)(now_ms - rx->lsr_at_ms) * 65536 / 1000 : 0;
	put32(b + 20, (uint32_t)dlsr);
}

int rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc, struct rtcp_rx *rx,
		  int64_t now_ms, const char *cname)
{
	if (cap < 32 || !rx->started)
		return -1;
	out[0] = 0x81;
	out[1] = RTCP_RR;
	put16(out + 2, 7);
	put32(out + 4, sender_ssrc);
	put_block(out + 8, rx, now_ms);
	int s = put_sdes(out + 32, cap - 32, sender_ssrc, cname);
	return s < 0 ? -1 : 32 + s;
}

bool rtcp_walk(const uint8_t *buf, size_t len,
	       void (*fn)(void *ctx, int type, const uint8_t *pkt, size_t len), void *ctx)
{
	size_t off = 0;
	if (len < 4)
		return false;
	while (off < len) {
		if (len - off < 4 || (buf[off] >> 6) != 2)
			return false;
		size_t n = 4 + 4 * (size_t)(buf[off + 2] << 8 | buf[off + 3]);
		if (n > len - off)
			return false;
		if (fn)
			fn(ctx, buf[off + 1], buf + off, n);
		off += n;
	}
	return true;
}
