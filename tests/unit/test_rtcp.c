/* RTCP: sender and receiver reports built and walked; loss, jitter and LSR/DLSR. */
#include "check.h"
#include "rtcp.h"

#include <string.h>

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int types[8], n_types;
static const uint8_t *sr_pkt;

static void seen(void *ctx, int type, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	(void)len;
	if (n_types < 8)
		types[n_types++] = type;
	if (type == RTCP_SR)
		sr_pkt = pkt;
}

/*
 * Report intervals (RFC 3550 6.3.1, A.7): within [0.5, 1.5] x Td / (e - 3/2),
 * the first at half the minimum, and a thousand transports that connect at
 * once spread over the whole range instead of reporting together.
 */
static void intervals(void)
{
	int bins[10] = { 0 };
	uint32_t x = 12345;
	int64_t lo = RTCP_INTERVAL_LO(RTCP_MIN_INTERVAL_MS), hi = RTCP_INTERVAL_HI(RTCP_MIN_INTERVAL_MS);
	for (int i = 0; i < 1000; i++) {
		x = x * 1664525u + 1013904223u;
		int64_t d = rtcp_interval_ms(RTCP_MIN_INTERVAL_MS, false, x);
		CHECK(d >= lo && d <= hi);
		bins[(d - lo) * 10 / (hi - lo + 1)]++;
		int64_t f = rtcp_interval_ms(RTCP_MIN_INTERVAL_MS, true, x);
		CHECK(f >= RTCP_INTERVAL_LO(RTCP_MIN_INTERVAL_MS / 2));
		CHECK(f <= RTCP_INTERVAL_HI(RTCP_MIN_INTERVAL_MS / 2));
	}
	for (int i = 0; i < 10; i++)
		CHECK(bins[i] > 50 && bins[i] < 150); /* about 100 each: no burst */
	CHECK(rtcp_interval_ms(5000, false, 0) == 2052);
	CHECK(rtcp_interval_ms(5000, false, UINT32_MAX) == 6156);
}

int main(void)
{
	intervals();
	uint8_t buf[256];
	int n = rtcp_build_sr(buf, sizeof buf, 0x5eed, 1700000000123, 48000, 50, 5000, "rostrum-plenary");
	CHECK(n > 28 && n % 4 == 0);
	n_types = 0;
	CHECK(rtcp_walk(buf, (size_t)n, seen, NULL));
	CHECK(n_types == 2 && types[0] == RTCP_SR && types[1] == RTCP_SDES);
	CHECK(get32(sr_pkt + 4) == 0x5eed && get32(sr_pkt + 20) == 50 && get32(sr_pkt + 24) == 5000);
	uint64_t ntp = (uint64_t)get32(sr_pkt + 8) << 32 | get32(sr_pkt + 12);
	CHECK(ntp == rtcp_ntp(1700000000123));
	CHECK((ntp >> 32) == 1700000000ULL + 2208988800ULL);

	/* A speaker's stream: 100 packets, 5 lost, through a sequence wrap, 20 ms apart. */
	struct rtcp_rx rx = { 0 };
	int64_t now = 1000;
	for (int i = 0; i < 100; i++, now += 20)
		if (i % 20 != 7)
			rtcp_rx_packet(&rx, 0xabc, (uint16_t)(65500 + i), 960u * (uint32_t)i, now, 48000);
	CHECK(rx.received == 95);
	rtcp_rx_sr(&rx, rtcp_ntp(1700000001000), now - 500);
	n = rtcp_build_rr(buf, sizeof buf, 0x5eed, &rx, now, "rostrum-plenary");
	CHECK(n > 32);
	CHECK(rtcp_walk(buf, (size_t)n, NULL, NULL));
	const uint8_t *blk = buf + 8;
	CHECK(get32(blk) == 0xabc);
	CHECK((get32(blk + 4) & 0xffffff) == 5);                 /* cumulative lost */
	CHECK((get32(blk + 4) >> 24) == (5 * 256) / 100);         /* fraction lost */
	CHECK(get32(blk + 8) == (1u << 16) + (uint16_t)(65500 + 99)); /* one wrap */
	CHECK(get32(blk + 12) < 5);                               /* steady 20 ms: little jitter */
	CHECK(get32(blk + 16) == (uint32_t)(rtcp_ntp(1700000001000) >> 16));
	CHECK(get32(blk + 20) == 500 * 65536 / 1000);             /* DLSR: 500 ms */
	/* A second report counts the interval only. */
	n = rtcp_build_rr(buf, sizeof buf, 0x5eed, &rx, now, "x");
	CHECK((get32(buf + 12) >> 24) == 0);

	/* Malformed compounds are refused. */
	CHECK(!rtcp_walk(buf, 3, NULL, NULL));
	buf[2] = 0x7f;
	CHECK(!rtcp_walk(buf, (size_t)n, NULL, NULL));
	buf[0] = 0x40;
	CHECK(!rtcp_walk(buf, (size_t)n, NULL, NULL));
	return check_done();
}
