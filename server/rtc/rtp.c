#include "rtp.h"
#include "bytes.h"

#include <string.h>

#define REORDER_WINDOW 64 /* packets a source may arrive late by and still be forwarded */


/* RFC 8285 one-byte form (profile 0xBEDE): finds the RFC 6464 audio level element. */
static void find_level(const uint8_t *ext, size_t n, int id, struct rtp_hdr *h)
{
	size_t i = 0;
	while (i < n) {
		uint8_t b = ext[i];
		if (b == 0) { /* padding */
			i++;
			continue;
		}
		int eid = b >> 4, len = (b & 0x0f) + 1;
		if (eid == 15 || i + 1 + (size_t)len > n)
			return;
		if (eid == id && len >= 1) {
			h->voice = ext[i + 1] & 0x80;
			h->audio_level = ext[i + 1] & 0x7f;
		}
		i += 1 + (size_t)len;
	}
}

/* Section 5.3.1: a 4-byte extension header, then length words. */
static int parse_extension(const uint8_t *pkt, size_t len, int ext_level_id, struct rtp_hdr *h)
{
	if (len < h->header_len + 4)
		return RTP_E_SHORT;
	const uint8_t *x = pkt + h->header_len;
	size_t words = get16(x + 2);
	if (len < h->header_len + 4 + words * 4)
		return RTP_E_SHORT;
	if (get16(x) == 0xBEDE && ext_level_id > 0)
		find_level(x + 4, words * 4, ext_level_id, h);
	h->header_len += 4 + words * 4;
	return RTP_OK;
}

int rtp_parse(const uint8_t *pkt, size_t len, int ext_level_id, struct rtp_hdr *h)
{
	memset(h, 0, sizeof *h);
	h->audio_level = -1;
	if (len < RTP_HEADER_MIN)
		return RTP_E_SHORT;
	if ((pkt[0] >> 6) != 2)
		return RTP_E_VERSION;
	h->marker = pkt[1] & 0x80;
	h->pt = pkt[1] & 0x7f;
	h->seq = get16(pkt + 2);
	h->ts = get32(pkt + 4);
	h->ssrc = get32(pkt + 8);
	h->header_len = RTP_HEADER_MIN + 4u * (pkt[0] & 0x0f);
	if (len < h->header_len)
		return RTP_E_SHORT;
	if (pkt[0] & 0x10) {
		int rc = parse_extension(pkt, len, ext_level_id, h);
		if (rc)
			return rc;
	}
	size_t pad = (pkt[0] & 0x20) ? pkt[len - 1] : 0;
	if (pad > len - h->header_len || ((pkt[0] & 0x20) && pad == 0))
		return RTP_E_PADDING;
	h->payload_len = len - h->header_len - pad;
	return RTP_OK;
}

void rtp_rewriter_init(struct rtp_rewriter *w, uint32_t out_ssrc, uint16_t first_seq,
		       uint32_t first_ts, uint32_t clock_hz)
{
	memset(w, 0, sizeof *w);
	w->out_ssrc = out_ssrc;
	w->clock_hz = clock_hz;
	w->last_seq = (uint16_t)(first_seq - 1);
	w->last_ts = first_ts;
}

/*
 * A new source: its first packet follows the last output seq by one and the
 * last output timestamp by the wall time since then (at least one 20 ms
 * frame, so two speakers never share a timestamp).
 */
static void switch_source(struct rtp_rewriter *w, const struct rtp_hdr *h, int64_t now_ms)
{
	uint32_t elapsed = 960; /* 20 ms at 48 kHz: one Opus frame */
	if (w->started && now_ms > w->last_ms) {
		uint64_t ticks = (uint64_t)(now_ms - w->last_ms) * w->clock_hz / 1000;
		if (ticks > elapsed)
			elapsed = ticks > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)ticks;
	}
	uint32_t out_ts = w->started ? w->last_ts + elapsed : w->last_ts;
	w->src_ssrc = h->ssrc;
	w->seq_delta = (uint16_t)(w->last_seq + 1 - h->seq);
	w->ts_delta = out_ts - h->ts;
	w->last_in_seq = (uint16_t)(h->seq - 1);
	w->started = true;
}

bool rtp_rewrite(struct rtp_rewriter *w, uint8_t *pkt, const struct rtp_hdr *h, int64_t now_ms)
{
	if (!w->started || h->ssrc != w->src_ssrc)
		switch_source(w, h, now_ms);
	int16_t ahead = (int16_t)(h->seq - w->last_in_seq);
	if (ahead == 0 || (ahead < 0 && -ahead >= REORDER_WINDOW)) {
		w->dropped_old++; /* a duplicate of the newest, or too late to matter */
		return false;
	}
	uint16_t out_seq = (uint16_t)(h->seq + w->seq_delta);
	uint32_t out_ts = h->ts + w->ts_delta;
	if (ahead > 0) {
		w->last_in_seq = h->seq;
		w->last_seq = out_seq;
		w->last_ts = out_ts;
		w->last_ms = now_ms;
	}
	put16(pkt + 2, out_seq);
	put32(pkt + 4, out_ts);
	put32(pkt + 8, w->out_ssrc);
	w->packets++;
	return true;
}

const char *rtp_strerror(int err)
{
	switch (err) {
	case RTP_OK: return "ok";
	case RTP_E_SHORT: return "truncated RTP packet";
	case RTP_E_VERSION: return "not RTP version 2";
	case RTP_E_PADDING: return "bad RTP padding";
	}
	return "unknown RTP error";
}
