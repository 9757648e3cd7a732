/*
 * RTP and RTCP datagrams as the media port demultiplexes them (RFC 7983):
 * each input is a sequence of datagrams (2-byte big-endian length, then the
 * bytes). RTP goes through the parser, the extension lookups, the stripper
 * and the rewriter that forwards it, and the receiver statistics; RTCP
 * through the compound walk and every packet parser. A report built from the
 * statistics afterwards must walk cleanly.
 */
#include "demux.h"
#include "fuzz.h"
#include "rtcp.h"
#include "rtp.h"

static long seen; /* parse results: any value is fine, a crash is not */

static void on_item(void *ctx, uint32_t ssrc, int type, const uint8_t *text, size_t len)
{
	(void)ctx;
	seen += ssrc + (uint32_t)type + (len ? text[len - 1] : 0);
}

static void on_rtcp(void *ctx, int type, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	struct rtcp_sr_info sr;
	struct rtcp_rr_info rr;
	struct rtcp_bye_info bye;
	switch (type) {
	case RTCP_SR:
		if (rtcp_parse_sr(pkt, len, &sr) == RTCP_OK && sr.n_blocks > RTCP_MAX_BLOCKS)
			abort();
		break;
	case RTCP_RR:
		if (rtcp_parse_rr(pkt, len, &rr) == RTCP_OK && rr.n_blocks > RTCP_MAX_BLOCKS)
			abort();
		break;
	case RTCP_SDES:
		seen += rtcp_parse_sdes(pkt, len, on_item, NULL);
		break;
	case RTCP_BYE:
		if (rtcp_parse_bye(pkt, len, &bye) == RTCP_OK &&
		    (bye.n_ssrcs > RTCP_MAX_BLOCKS ||
		     (bye.reason && bye.reason + bye.reason_len > pkt + len)))
			abort();
		break;
	default:
		break;
	}
}

static void one_rtp(struct rtp_rewriter *w, struct rtcp_rx *rx, const uint8_t *d, size_t len,
		    int64_t now)
{
	uint8_t pkt[RTP_MAX_PACKET + 16];
	struct rtp_hdr h;
	if (len > RTP_MAX_PACKET + 16 || rtp_parse(d, len, 1, &h) != RTP_OK)
		return;
	if (h.header_len + h.payload_len + h.padding_len != len || h.ext_off + h.ext_len > len)
		abort(); /* the parts of a parsed packet tile it exactly */
	memcpy(pkt, d, len);
	for (int id = 0; id < 16; id++) {
		const uint8_t *val;
		size_t vl;
		if (rtp_ext_find(pkt, &h, id, &val, &vl) && (val < pkt || val + vl > pkt + len))
			abort();
	}
	size_t n = rtp_strip_extension(pkt, len, &h);
	struct rtp_hdr again;
	if (n > len || rtp_parse(pkt, n, 1, &again) != RTP_OK || again.ext_profile != 0)
		abort(); /* a stripped packet is still a packet, without extension */
	seen += rtp_rewrite(w, pkt, &h, now);
	seen += rtcp_rx_packet(rx, h.ssrc, h.seq, h.ts, now, 48000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtp_rewriter w;
	rtp_rewriter_init(&w, 0x11223344, 1000, 5000, 48000);
	struct rtcp_rx rx = { 0 };
	int64_t now = 1000;
	struct fz f = { data, size };
	const uint8_t *d;
	size_t len;
	while (fz_chunk(&f, &d, &len)) {
		now += 20;
		switch (demux_classify(d, len)) {
		case DEMUX_RTP:
			one_rtp(&w, &rx, d, len, now);
			break;
		case DEMUX_RTCP:
			seen += rtcp_validate_compound(d, len);
			seen += rtcp_walk(d, len, on_rtcp, NULL);
			break;
		default:
			break;
		}
	}
	uint8_t out[1500];
	struct rtcp_rx *rxs[] = { &rx };
	struct rtcp_sender snd = { .rtp_ts = 1, .packets = 2, .octets = 3 };
	int n = rtcp_build_report(out, sizeof out, 1, &snd, rxs, rx.started ? 1 : 0, now, now,
				  "fuzz-cname");
	if (n <= 0 || rtcp_validate_compound(out, (size_t)n) != RTCP_OK)
		abort();
	return 0;
}
