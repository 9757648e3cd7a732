#include "rtp.h"
#include "bytes.h"

#include <string.h>

#define REORDER_WINDOW 64 /* packets a source may arrive late by and still be forwarded */
#define PROFILE_ONE_BYTE 0xBEDE
#define PROFILE_TWO_BYTE 0x1000 /* upper 12 bits; the low 4 are "appbits" */

static bool two_byte_form(uint16_t profile)
{
	return (profile & 0xfff0) == PROFILE_TWO_BYTE;
}

/*
 * Walks the elements of an RFC 8285 extension block x[0..n) looking for id.
 * One-byte form (section 4.2): ID in the high nibble, length - 1 in the low;
 * a zero byte is padding; ID 15 ends the walk. Two-byte form (section 4.3):
 * an ID byte, a length byte; a zero ID byte is padding.
 */
static bool ext_walk(const uint8_t *x, size_t n, bool two, int id, const uint8_t **val,
		     size_t *len)
{
	size_t i = 0;
	while (i < n) {
		if (x[i] == 0) {
			i++;
			continue;
		}
		int eid = two ? x[i] : x[i] >> 4;
		if (!two && (eid == 15 || eid == 0))
			return false;
		if (two && i + 1 >= n)
			return false;
		size_t elen = two ? x[i + 1] : (size_t)(x[i] & 0x0f) + 1;
		size_t data = i + (two ? 2 : 1);
		if (elen > n - data)
			return false; /* overruns the block: ignore the rest of it */
		if (eid == id) {
			*val = x + data;
			*len = elen;
			return true;
		}
		i = data + elen;
	}
	return false;
}

bool rtp_ext_find(const uint8_t *pkt, const struct rtp_hdr *h, int id, const uint8_t **val,
		  size_t *val_len)
{
	bool one = h->ext_profile == PROFILE_ONE_BYTE, two = two_byte_form(h->ext_profile);
	if ((!one && !two) || id <= 0 || id > (one ? 14 : 255))
		return false;
	return ext_walk(pkt + h->ext_off, h->ext_len, two, id, val, val_len);
}

/* RFC 6464 section 3: one byte, V flag then the level in -dBov. */
static void read_level(const uint8_t *pkt, int id, struct rtp_hdr *h)
{
	const uint8_t *v;
	size_t n;
	if (id > 0 && rtp_ext_find(pkt, h, id, &v, &n) && n >= 1) {
		h->voice = v[0] & 0x80;
		h->audio_level = v[0] & 0x7f;
	}
}

/* RFC 3550 section 5.3.1: a 4-byte extension header, then length words. */
static int parse_extension(const uint8_t *pkt, size_t len, struct rtp_hdr *h)
{
	if (len < h->header_len + 4)
		return RTP_E_SHORT;
	const uint8_t *x = pkt + h->header_len;
	size_t words = get16(x + 2);
	if (len - h->header_len - 4 < words * 4)
		return RTP_E_SHORT;
	h->ext_profile = get16(x);
	h->ext_off = h->header_len + 4;
	h->ext_len = words * 4;
	h->header_len += 4 + words * 4;
	return RTP_OK;
}

int rtp_parse(const uint8_t *pkt, size_t len, int ext_level_id, struct rtp_hdr *h)
{
	memset(h, 0, sizeof *h);
	h->audio_level = -1;
	if (len < RTP_HEADER_MIN)
		return RTP_E_SHORT;
	if (len > RTP_MAX_PACKET)
		return RTP_E_TOO_LONG;
	if ((pkt[0] >> 6) != 2)
		return RTP_E_VERSION;
	h->marker = pkt[1] & 0x80;
	h->pt = pkt[1] & 0x7f;
	h->seq = get16(pkt + 2);
	h->ts = get32(pkt + 4);
	h->ssrc = get32(pkt + 8);
	h->csrc_count = pkt[0] & 0x0f;
	h->header_len = RTP_HEADER_MIN + 4u * h->csrc_count;
	if (len < h->header_len)
		return RTP_E_SHORT;
	if (pkt[0] & 0x10) {
		int rc = parse_extension(pkt, len, h);
		if (rc)
			return rc;
	}
	/* Section 5.1: the last padding byte counts the padding, itself included. */
	size_t pad = (pkt[0] & 0x20) ? pkt[len - 1] : 0;
	if (pad > len - h->header_len || ((pkt[0] & 0x20) && pad == 0))
		return RTP_E_PADDING;
	h->padding_len = pad;
	h->payload_len = len - h->header_len - pad;
	read_level(pkt, ext_level_id, h);
	return RTP_OK;
}

size_t rtp_strip_extension(uint8_t *pkt, size_t len, struct rtp_hdr *h)
{
	if (!(pkt[0] & 0x10))
		return len;
	size_t start = RTP_HEADER_MIN + 4u * h->csrc_count, ext = 4 + h->ext_len;
	memmove(pkt + start, pkt + start + ext, len - start - ext);
	pkt[0] &= (uint8_t)~0x10;
	h->header_len -= ext;
	h->ext_profile = 0;
	h->ext_off = h->ext_len = 0;
	h->audio_level = -1;
	h->voice = false;
	return len - ext;
}

/* ---- the room stream rewriter ------------------------------------------------ */

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
 * The output timestamp after the newest packet, by the wall time since it
 * went out, and at least one 20 ms frame so two packets never share one.
 * The first packet of the stream gets the initial timestamp.
 */
uint32_t rtp_rewriter_next_ts(const struct rtp_rewriter *w, int64_t now_ms)
{
	if (!w->started)
		return w->last_ts;
	uint32_t frame = w->clock_hz / 50;
	uint64_t ticks = frame;
	if (now_ms > w->last_ms)
		ticks = (uint64_t)(now_ms - w->last_ms) * w->clock_hz / 1000;
	if (ticks < frame)
		ticks = frame;
	/* Beyond half the range a receiver would take the step for going back. */
	if (ticks > UINT32_MAX / 2)
		ticks = UINT32_MAX / 2;
	return w->last_ts + (uint32_t)ticks;
}

/* A new source (or the same after a mixer's splice): its first packet follows the last one out. */
static void anchor(struct rtp_rewriter *w, const struct rtp_hdr *h, int64_t now_ms)
{
	if (w->anchored && w->src_ssrc != h->ssrc) {
		w->has_prev = true;
		w->prev_ssrc = w->src_ssrc;
		w->prev_last_in_seq = w->last_in_seq;
	}
	if (w->started)
		w->switches++;
	uint32_t out_ts = rtp_rewriter_next_ts(w, now_ms);
	w->src_ssrc = h->ssrc;
	w->seq_delta = (uint16_t)(w->last_seq + 1 - h->seq);
	w->ts_delta = out_ts - h->ts;
	w->last_in_seq = (uint16_t)(h->seq - 1);
	w->first_in_seq = h->seq;
	w->seen = 0;
	w->anchored = true;
}

/*
 * After a switch, the previous speaker's packets still in flight are late,
 * not a new turn: anything at or a little behind its last forwarded seq.
 */
static bool straggler(const struct rtp_rewriter *w, const struct rtp_hdr *h)
{
	int16_t ahead = (int16_t)(h->seq - w->prev_last_in_seq);
	return w->has_prev && h->ssrc == w->prev_ssrc && ahead <= 0 && -ahead < REORDER_WINDOW;
}

static bool refuse(struct rtp_rewriter *w, bool duplicate)
{
	if (duplicate)
		w->dropped_dup++;
	else
		w->dropped_late++;
	w->dropped_old++;
	return false;
}

/* Whether a packet of the current source goes out, updating the window of seen numbers. */
static bool admit(struct rtp_rewriter *w, uint16_t seq, bool *newest)
{
	int16_t ahead = (int16_t)(seq - w->last_in_seq);
	*newest = ahead > 0;
	if (ahead > 0) {
		w->seen = ahead >= 64 ? 1 : (w->seen << ahead) | 1;
		w->last_in_seq = seq;
		return true;
	}
	unsigned behind = (unsigned)-(int)ahead;
	if (behind >= REORDER_WINDOW || (int16_t)(seq - w->first_in_seq) < 0)
		return refuse(w, false); /* too late, or would collide with output already sent */
	if (w->seen & (1ULL << behind))
		return refuse(w, true);
	w->seen |= 1ULL << behind;
	return true;
}

bool rtp_rewrite(struct rtp_rewriter *w, uint8_t *pkt, const struct rtp_hdr *h, int64_t now_ms)
{
	if (!w->anchored || h->ssrc != w->src_ssrc) {
		if (straggler(w, h))
			return refuse(w, false);
		anchor(w, h, now_ms);
	}
	bool newest;
	if (!admit(w, h->seq, &newest))
		return false;
	uint16_t out_seq = (uint16_t)(h->seq + w->seq_delta);
	uint32_t out_ts = h->ts + w->ts_delta;
	if (newest) {
		w->last_seq = out_seq;
		w->last_ts = out_ts;
		w->last_ms = now_ms;
		w->started = true;
	}
	put16(pkt + 2, out_seq);
	put32(pkt + 4, out_ts);
	put32(pkt + 8, w->out_ssrc);
	w->packets++;
	return true;
}

void rtp_rewriter_local(struct rtp_rewriter *w, uint8_t *pkt, uint32_t ts, int64_t now_ms)
{
	if (w->anchored) {
		/* The forwarded source's packets still in flight are stragglers now. */
		w->has_prev = true;
		w->prev_ssrc = w->src_ssrc;
		w->prev_last_in_seq = w->last_in_seq;
		w->anchored = false;
		w->switches++;
	}
	w->last_seq++;
	w->last_ts = ts;
	w->last_ms = now_ms;
	w->started = true;
	put16(pkt + 2, w->last_seq);
	put32(pkt + 4, ts);
	put32(pkt + 8, w->out_ssrc);
	w->packets++;
	w->local++;
}

const char *rtp_strerror(int err)
{
	switch (err) {
	case RTP_OK: return "ok";
	case RTP_E_SHORT: return "truncated RTP packet";
	case RTP_E_VERSION: return "not RTP version 2";
	case RTP_E_PADDING: return "bad RTP padding";
	case RTP_E_TOO_LONG: return "RTP packet longer than a datagram";
	}
	return "unknown RTP error";
}
