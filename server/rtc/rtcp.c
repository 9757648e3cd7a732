#include "rtcp.h"
#include "bytes.h"

#include <string.h>

#define NTP_UNIX_OFFSET 2208988800ULL /* seconds from 1900 to 1970 */
#define SEQ_MOD (1u << 16)
#define MAX_DROPOUT 3000              /* appendix A.1's suggestions for audio-rate streams */
#define MAX_MISORDER 100

uint64_t rtcp_ntp(int64_t wall_ms)
{
	uint64_t secs = (uint64_t)(wall_ms / 1000) + NTP_UNIX_OFFSET;
	uint64_t frac = ((uint64_t)(wall_ms % 1000) << 32) / 1000;
	return secs << 32 | frac;
}

/* ---- receiver statistics (appendix A.1, A.3, A.8) ----------------------------- */

/*
 * A.1 init_seq(): a new stream, or a restart confirmed, starts its
 * bookkeeping. A sender report may have come before the first packet, so
 * LSR survives.
 */
static void rx_init(struct rtcp_rx *rx, uint32_t ssrc, uint16_t seq)
{
	uint32_t lsr = rx->lsr;
	int64_t at = rx->lsr_at_ms;
	memset(rx, 0, sizeof *rx);
	rx->ssrc = ssrc;
	rx->started = true;
	rx->base_seq = seq;
	rx->max_seq = seq;
	rx->bad_seq = SEQ_MOD + 1; /* none */
	rx->lsr = lsr;
	rx->lsr_at_ms = at;
}

/* A.1 update_seq() without probation; false for a stray after a large jump. */
static bool update_seq(struct rtcp_rx *rx, uint16_t seq)
{
	uint16_t udelta = (uint16_t)(seq - rx->max_seq);
	if (udelta < MAX_DROPOUT) {
		if (seq < rx->max_seq)
			rx->cycles += SEQ_MOD; /* wrapped */
		rx->max_seq = seq;
	} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
		/* A very large jump: believe it only when the next packet follows it. */
		if (seq != rx->bad_seq) {
			rx->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
			return false;
		}
		rx_init(rx, rx->ssrc, seq);
	}
	/* else a duplicate or a packet out of order: counted, max_seq unchanged */
	rx->received++;
	return true;
}

/* A.8: J += (|D| - J) / 16, with transit times in RTP timestamp units. */
static void update_jitter(struct rtcp_rx *rx, uint32_t rtp_ts, int64_t now_ms, uint32_t clock_hz)
{
	int64_t arrival = now_ms * (int64_t)clock_hz / 1000;
	int64_t transit = arrival - (int64_t)rtp_ts;
	if (rx->received > 1) {
		int64_t d = transit - rx->last_transit;
		/* Timestamps wrap at 2^32: take the short way round. */
		d = (int64_t)(int32_t)(uint32_t)d;
		rx->jitter += ((double)(d < 0 ? -d : d) - rx->jitter) / 16.0;
	}
	rx->last_transit = transit;
}

bool rtcp_rx_packet(struct rtcp_rx *rx, uint32_t ssrc, uint16_t seq, uint32_t rtp_ts,
		    int64_t now_ms, uint32_t clock_hz)
{
	if (!rx->started || rx->ssrc != ssrc)
		rx_init(rx, ssrc, seq);
	if (!update_seq(rx, seq))
		return false;
	update_jitter(rx, rtp_ts, now_ms, clock_hz);
	return true;
}

void rtcp_rx_sr(struct rtcp_rx *rx, uint64_t ntp, int64_t now_ms)
{
	rx->lsr = (uint32_t)(ntp >> 16);
	rx->lsr_at_ms = now_ms;
}

uint32_t rtcp_rx_expected(const struct rtcp_rx *rx)
{
	return rx->started ? rx->cycles + rx->max_seq - rx->base_seq + 1 : 0;
}

int64_t rtcp_rx_lost(const struct rtcp_rx *rx)
{
	return (int64_t)rtcp_rx_expected(rx) - rx->received;
}

int64_t rtcp_rtt_ms(const struct rtcp_block *b, int64_t wall_ms)
{
	if (!b->lsr)
		return -1;
	uint32_t arrival = (uint32_t)(rtcp_ntp(wall_ms) >> 16);
	int32_t rtt = (int32_t)(arrival - b->lsr - b->dlsr); /* 1/65536 s, wraps with the clock */
	return rtt < 0 ? -1 : (int64_t)rtt * 1000 / 65536;
}

/* ---- building ------------------------------------------------------------------- */

static void put_rtcp_header(uint8_t *p, int count, int type, size_t len_bytes)
{
	p[0] = (uint8_t)(0x80 | count);
	p[1] = (uint8_t)type;
	put16(p + 2, (uint16_t)(len_bytes / 4 - 1)); /* section 6.4.1: length in words minus one */
}

/* SDES with one CNAME item, padded with zeros to a word (section 6.5). */
static int put_sdes(uint8_t *out, size_t cap, uint32_t ssrc, const char *cname)
{
	size_t n = strlen(cname) > 255 ? 255 : strlen(cname);
	size_t body = 4 + 2 + n + 1;             /* ssrc, type+len, text, end */
	size_t total = 4 + (body + 3) / 4 * 4;
	if (cap < total)
		return RTCP_E_NO_SPACE;
	memset(out, 0, total);
	put_rtcp_header(out, 1, RTCP_SDES, total);
	put32(out + 4, ssrc);
	out[8] = RTCP_SDES_CNAME;
	out[9] = (uint8_t)n;
	memcpy(out + 10, cname, n);
	return (int)total;
}

/*
 * Section 6.4.1: one report block for rx — fraction lost since the last
 * report (A.3), cumulative loss clamped to 24 bits, jitter, LSR/DLSR.
 */
static void put_block(uint8_t *b, struct rtcp_rx *rx, int64_t now_ms)
{
	uint32_t expected = rtcp_rx_expected(rx);
	int64_t lost = rtcp_rx_lost(rx);
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
	put32(b + 8, rx->cycles + rx->max_seq);
	put32(b + 12, (uint32_t)rx->jitter);
	put32(b + 16, rx->lsr);
	int64_t held = now_ms - rx->lsr_at_ms;
	uint64_t dlsr = rx->lsr && held > 0 ? (uint64_t)held * 65536 / 1000 : 0;
	put32(b + 20, dlsr > UINT32_MAX ? UINT32_MAX : (uint32_t)dlsr);
}

/* The SR or RR packet with its blocks; returns its length or RTCP_E_NO_SPACE. */
static int put_report(uint8_t *out, size_t cap, uint32_t ssrc, const struct rtcp_sender *snd,
		      struct rtcp_rx *const *rx, size_t n_rx, int64_t wall_ms, int64_t now_ms)
{
	int blocks = 0;
	for (size_t i = 0; i < n_rx; i++)
		blocks += rx[i] && rx[i]->started && blocks < RTCP_MAX_BLOCKS;
	size_t fixed = snd ? 28 : 8, len = fixed + 24 * (size_t)blocks;
	if (cap < len)
		return RTCP_E_NO_SPACE;
	put_rtcp_header(out, blocks, snd ? RTCP_SR : RTCP_RR, len);
	put32(out + 4, ssrc);
	if (snd) {
		uint64_t ntp = rtcp_ntp(wall_ms);
		put32(out + 8, (uint32_t)(ntp >> 32));
		put32(out + 12, (uint32_t)ntp);
		put32(out + 16, snd->rtp_ts);
		put32(out + 20, snd->packets);
		put32(out + 24, snd->octets);
	}
	uint8_t *b = out + fixed;
	for (size_t i = 0; i < n_rx && b < out + len; i++)
		if (rx[i] && rx[i]->started) {
			put_block(b, rx[i], now_ms);
			b += 24;
		}
	return (int)len;
}

int rtcp_build_report(uint8_t *out, size_t cap, uint32_t ssrc, const struct rtcp_sender *snd,
		      struct rtcp_rx *const *rx, size_t n_rx, int64_t wall_ms, int64_t now_ms,
		      const char *cname)
{
	int r = put_report(out, cap, ssrc, snd, rx, n_rx, wall_ms, now_ms);
	if (r < 0)
		return r;
	int s = put_sdes(out + r, cap - (size_t)r, ssrc, cname);
	return s < 0 ? s : r + s;
}

int rtcp_build_sr(uint8_t *out, size_t cap, uint32_t ssrc, int64_t wall_ms, uint32_t rtp_ts,
		  uint32_t packets, uint32_t octets, const char *cname)
{
	struct rtcp_sender snd = { rtp_ts, packets, octets };
	return rtcp_build_report(out, cap, ssrc, &snd, NULL, 0, wall_ms, wall_ms, cname);
}

int rtcp_build_rr(uint8_t *out, size_t cap, uint32_t sender_ssrc, struct rtcp_rx *rx,
		  int64_t now_ms, const char *cname)
{
	if (!rx->started)
		return RTCP_E_NO_SPACE; /* nothing to report on */
	struct rtcp_rx *const one[] = { rx };
	return rtcp_build_report(out, cap, sender_ssrc, NULL, one, 1, now_ms, now_ms, cname);
}

int64_t rtcp_interval_ms(int64_t min_ms, bool initial, uint32_t rnd)
{
	double td = (double)(initial ? min_ms / 2 : min_ms);
	double factor = 0.5 + (double)rnd / 4294967296.0; /* [0.5, 1.5) */
	return (int64_t)(td * factor / 1.21828182845904523536); /* e - 3/2 */
}

int rtcp_build_bye(uint8_t *out, size_t cap, uint32_t ssrc)
{
	if (cap < 8)
		return RTCP_E_NO_SPACE;
	put_rtcp_header(out, 1, RTCP_BYE, 8);
	put32(out + 4, ssrc);
	return 8;
}

/* ---- reading -------------------------------------------------------------------- */

/* Checks one packet's header at buf[0..avail); *n gets its whole length. */
static int packet_at(const uint8_t *buf, size_t avail, bool last, size_t *n)
{
	if (avail < 4)
		return RTCP_E_SHORT;
	if ((buf[0] >> 6) != 2)
		return RTCP_E_VERSION;
	*n = 4 + 4 * (size_t)get16(buf + 2);
	if (*n > avail)
		return RTCP_E_SHORT;
	/* Appendix A.2: only the last packet of a compound may be padded. */
	bool padded = buf[0] & 0x20;
	if (padded && !last && *n != avail)
		return RTCP_E_PADDING;
	if (padded && (buf[*n - 1] == 0 || buf[*n - 1] > *n - 4))
		return RTCP_E_PADDING;
	return RTCP_OK;
}

/* Walks the compound; the first packet's type goes to *first. */
static int walk(const uint8_t *buf, size_t len, int *first,
		void (*fn)(void *ctx, int type, const uint8_t *pkt, size_t len), void *ctx)
{
	if (len < 4)
		return RTCP_E_SHORT;
	*first = buf[1];
	for (size_t off = 0, n = 0; off < len; off += n) {
		int rc = packet_at(buf + off, len - off, false, &n);
		if (rc)
			return rc;
		if (fn)
			fn(ctx, buf[off + 1], buf + off, n);
	}
	return RTCP_OK;
}

bool rtcp_walk(const uint8_t *buf, size_t len,
	       void (*fn)(void *ctx, int type, const uint8_t *pkt, size_t len), void *ctx)
{
	int first;
	return walk(buf, len, &first, fn, ctx) == RTCP_OK;
}

int rtcp_validate_compound(const uint8_t *buf, size_t len)
{
	int first;
	int rc = walk(buf, len, &first, NULL, NULL);
	if (rc)
		return rc;
	return first == RTCP_SR || first == RTCP_RR ? RTCP_OK : RTCP_E_COMPOUND;
}

/* The packet's length without its padding (already checked by packet_at). */
static size_t unpadded(const uint8_t *pkt, size_t len)
{
	return (pkt[0] & 0x20) ? len - pkt[len - 1] : len;
}

/* A single packet of the expected type, whole and well-formed; *n is its unpadded length. */
static int expect(const uint8_t *pkt, size_t len, int type, size_t *n)
{
	size_t whole;
	int rc = packet_at(pkt, len, true, &whole);
	if (rc)
		return rc;
	if (pkt[1] != type)
		return RTCP_E_TYPE;
	*n = unpadded(pkt, whole);
	return RTCP_OK;
}

static void read_block(const uint8_t *b, struct rtcp_block *out)
{
	uint32_t w = get32(b + 4);
	out->ssrc = get32(b);
	out->fraction = (uint8_t)(w >> 24);
	out->lost = (int32_t)(w << 8) >> 8; /* sign-extend 24 bits */
	out->ext_max_seq = get32(b + 8);
	out->jitter = get32(b + 12);
	out->lsr = get32(b + 16);
	out->dlsr = get32(b + 20);
}

/* Reads count report blocks at pkt + fixed, all within n bytes. */
static int read_blocks(const uint8_t *pkt, size_t n, size_t fixed, struct rtcp_block *blocks,
		       int *n_blocks)
{
	int count = pkt[0] & 0x1f;
	if (n < fixed + 24 * (size_t)count)
		return RTCP_E_SHORT;
	for (int i = 0; i < count; i++)
		read_block(pkt + fixed + 24 * (size_t)i, &blocks[i]);
	*n_blocks = count;
	return RTCP_OK;
}

int rtcp_parse_sr(const uint8_t *pkt, size_t len, struct rtcp_sr_info *out)
{
	size_t n;
	memset(out, 0, sizeof *out);
	int rc = expect(pkt, len, RTCP_SR, &n);
	if (rc)
		return rc;
	if (n < 28)
		return RTCP_E_SHORT;
	out->ssrc = get32(pkt + 4);
	out->ntp = (uint64_t)get32(pkt + 8) << 32 | get32(pkt + 12);
	out->rtp_ts = get32(pkt + 16);
	out->packets = get32(pkt + 20);
	out->octets = get32(pkt + 24);
	return read_blocks(pkt, n, 28, out->blocks, &out->n_blocks);
}

int rtcp_parse_rr(const uint8_t *pkt, size_t len, struct rtcp_rr_info *out)
{
	size_t n;
	memset(out, 0, sizeof *out);
	int rc = expect(pkt, len, RTCP_RR, &n);
	if (rc)
		return rc;
	if (n < 8)
		return RTCP_E_SHORT;
	out->ssrc = get32(pkt + 4);
	return read_blocks(pkt, n, 8, out->blocks, &out->n_blocks);
}

/* One SDES chunk at p[0..n): items up to the null item; returns its padded length or an error. */
static int read_chunk(const uint8_t *p, size_t n,
		      void (*item)(void *, uint32_t, int, const uint8_t *, size_t), void *ctx)
{
	if (n < 8)
		return RTCP_E_SHORT;
	uint32_t ssrc = get32(p);
	size_t i = 4;
	while (i < n && p[i] != 0) {
		if (n - i < 2 || (size_t)p[i + 1] > n - i - 2)
			return RTCP_E_SHORT;
		if (item)
			item(ctx, ssrc, p[i], p + i + 2, p[i + 1]);
		i += 2 + (size_t)p[i + 1];
	}
	if (i >= n)
		return RTCP_E_SHORT; /* no end item */
	return (int)((i + 1 + 3) / 4 * 4); /* the end item, then zeros to a word */
}

int rtcp_parse_sdes(const uint8_t *pkt, size_t len,
		    void (*item)(void *ctx, uint32_t ssrc, int type, const uint8_t *text,
				 size_t text_len),
		    void *ctx)
{
	size_t n;
	int rc = expect(pkt, len, RTCP_SDES, &n);
	if (rc)
		return rc;
	int count = pkt[0] & 0x1f;
	size_t off = 4;
	for (int c = 0; c < count; c++) {
		int used = read_chunk(pkt + off, n - off, item, ctx);
		if (used < 0)
			return used;
		off += (size_t)used < n - off ? (size_t)used : n - off;
	}
	return RTCP_OK;
}

int rtcp_parse_bye(const uint8_t *pkt, size_t len, struct rtcp_bye_info *out)
{
	size_t n;
	memset(out, 0, sizeof *out);
	int rc = expect(pkt, len, RTCP_BYE, &n);
	if (rc)
		return rc;
	int count = pkt[0] & 0x1f;
	size_t off = 4 + 4 * (size_t)count;
	if (n < off)
		return RTCP_E_SHORT;
	for (int i = 0; i < count; i++)
		out->ssrcs[i] = get32(pkt + 4 + 4 * (size_t)i);
	out->n_ssrcs = count;
	if (off < n) { /* section 6.6: an optional length-prefixed reason */
		if ((size_t)pkt[off] > n - off - 1)
			return RTCP_E_SHORT;
		out->reason = pkt + off + 1;
		out->reason_len = pkt[off];
	}
	return RTCP_OK;
}

const char *rtcp_strerror(int err)
{
	switch (err) {
	case RTCP_OK: return "ok";
	case RTCP_E_NO_SPACE: return "output buffer too small";
	case RTCP_E_SHORT: return "truncated RTCP packet";
	case RTCP_E_VERSION: return "not RTCP version 2";
	case RTCP_E_TYPE: return "unexpected RTCP packet type";
	case RTCP_E_PADDING: return "bad RTCP padding";
	case RTCP_E_COMPOUND: return "compound RTCP not starting with SR or RR";
	}
	return "unknown RTCP error";
}
