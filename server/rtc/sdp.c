#include "sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One line without its CRLF (or LF), as pointer and length. */
struct line {
	const char *p;
	size_t n;
};

static bool next_line(const char **cur, const char *end, struct line *l)
{
	if (*cur >= end)
		return false;
	const char *nl = memchr(*cur, '\n', (size_t)(end - *cur));
	const char *stop = nl ? nl : end;
	l->p = *cur;
	l->n = (size_t)(stop - *cur);
	if (l->n && l->p[l->n - 1] == '\r')
		l->n--;
	*cur = nl ? nl + 1 : end;
	return true;
}

static bool starts(const struct line *l, const char *prefix)
{
	size_t k = strlen(prefix);
	return l->n >= k && memcmp(l->p, prefix, k) == 0;
}

/* Copies the rest of a line after prefix into dst (cap bytes); false when too long or empty. */
static bool value(const struct line *l, const char *prefix, char *dst, size_t cap)
{
	size_t k = strlen(prefix), n = l->n - k;
	if (n == 0 || n >= cap)
		return false;
	memcpy(dst, l->p + k, n);
	dst[n] = '\0';
	return true;
}

/* a=rtpmap:<pt> opus/48000/2 (RFC 7587 section 7). */
static void read_rtpmap(const struct line *l, struct sdp_offer *o)
{
	char buf[128];
	int pt;
	char codec[64];
	if (!value(l, "a=rtpmap:", buf, sizeof buf) || sscanf(buf, "%d %63s", &pt, codec) != 2)
		return;
	if (!o->opus_pt && strcasecmp(codec, "opus/48000/2") == 0 && pt >= 0 && pt < 128)
		o->opus_pt = pt;
}

static void read_extmap(const struct line *l, struct sdp_offer *o)
{
	char buf[256], uri[200];
	int id;
	if (value(l, "a=extmap:", buf, sizeof buf) && sscanf(buf, "%d %199s", &id, uri) == 2 &&
	    strcmp(uri, SDP_LEVEL_URI) == 0 && id >= 1 && id <= 14)
		o->level_ext_id = id;
}

static void read_fingerprint(const struct line *l, struct sdp_offer *o)
{
	char buf[160];
	if (value(l, "a=fingerprint:", buf, sizeof buf) && strncasecmp(buf, "sha-256 ", 8) == 0 &&
	    strlen(buf + 8) == 95)
		rs_strlcpy(o->fingerprint, buf + 8, sizeof o->fingerprint);
}

/* Attributes of the audio section (or session-level ones that apply to it). */
static void read_attr(const struct line *l, struct sdp_offer *o)
{
	char buf[64];
	if (starts(l, "a=ice-ufrag:"))
		(void)value(l, "a=ice-ufrag:", o->ice_ufrag, sizeof o->ice_ufrag);
	else if (starts(l, "a=ice-pwd:"))
		(void)value(l, "a=ice-pwd:", o->ice_pwd, sizeof o->ice_pwd);
	else if (starts(l, "a=fingerprint:"))
		read_fingerprint(l, o);
	else if (starts(l, "a=setup:"))
		(void)value(l, "a=setup:", o->setup, sizeof o->setup);
	else if (starts(l, "a=mid:"))
		(void)value(l, "a=mid:", o->mid, sizeof o->mid);
	else if (starts(l, "a=rtpmap:"))
		read_rtpmap(l, o);
	else if (starts(l, "a=extmap:"))
		read_extmap(l, o);
	else if (starts(l, "a=rtcp-mux") && l->n == 10)
		o->rtcp_mux = true;
	else if (starts(l, "a=recvonly") && l->n == 10)
		o->recv_only = true;
	else if (starts(l, "a=ssrc:") && !o->ssrc && value(l, "a=ssrc:", buf, sizeof buf))
		o->ssrc = (uint32_t)strtoul(buf, NULL, 10);
}

/* Section 5.14: m=audio <port> <proto> <fmt>...; a zero port is a rejected section. */
static bool audio_mline(const struct line *l)
{
	int port;
	return starts(l, "m=audio ") && sscanf(l->p + 8, "%d", &port) == 1 && port > 0;
}

int sdp_parse_offer(const char *sdp, size_t len, struct sdp_offer *out)
{
	memset(out, 0, sizeof *out);
	if (len > SDP_MAX_LEN)
		return SDP_E_TOO_LONG;
	if (len < 4 || strncmp(sdp, "v=0", 3) != 0)
		return SDP_E_SYNTAX;
	const char *cur = sdp, *end = sdp + len;
	struct line l;
	int section = 0; /* 0 session, 1 our audio section, 2 any other section */
	bool audio = false;
	while (next_line(&cur, end, &l)) {
		if (starts(&l, "m=")) {
			section = !audio && audio_mline(&l) ? 1 : 2;
			audio = audio || section == 1;
		} else if (section < 2 && starts(&l, "a=")) {
			read_attr(&l, out);
		}
	}
	if (!audio)
		return SDP_E_NO_AUDIO;
	if (!out->opus_pt)
		return SDP_E_NO_OPUS;
	if (strlen(out->ice_ufrag) < 4 || strlen(out->ice_pwd) < 22)
		return SDP_E_NO_ICE;
	if (!out->fingerprint[0] || strcmp(out->setup, "passive") == 0)
		return SDP_E_NO_DTLS;
	return SDP_OK;
}

struct writer {
	char *p;
	size_t len, cap;
	bool full;
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct writer *w, const char *fmt, ...)
{
	if (w->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= w->cap - w->len)
		w->full = true;
	else
		w->len += (size_t)n;
}

/* RFC 8445 section 5.1.2.1 priorities for host candidates; TCP below UDP. */
static void put_candidates(struct writer *w, const struct sdp_answer *a)
{
	for (size_t i = 0; i < a->n_candidates; i++) {
		const struct sdp_candidate *c = &a->candidates[i];
		uint32_t prio = c->tcp ? (126u << 24) | ((65535u - 1000u) << 8) | 255u
				       : (126u << 24) | (65535u << 8) | 255u;
		put(w, "a=candidate:%zu 1 %s %u %s %d typ host%s\r\n", i + 1, c->tcp ? "tcp" : "udp",
		    prio, c->ip, c->port, c->tcp ? " tcptype passive" : "");
	}
	put(w, "a=end-of-candidates\r\n");
}

int sdp_build_answer(const struct sdp_offer *o, const struct sdp_answer *a, char *out, size_t cap)
{
	struct writer w = { out, 0, cap, cap == 0 };
	const char *mid = o->mid[0] ? o->mid : "0";
	put(&w, "v=0\r\no=rostrum %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
	    (unsigned long long)a->session_id);
	put(&w, "a=group:BUNDLE %s\r\na=ice-lite\r\na=msid-semantic: WMS rostrum\r\n", mid);
	put(&w, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\n", o->opus_pt);
	put(&w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", a->ice_ufrag, a->ice_pwd);
	put(&w, "a=fingerprint:sha-256 %s\r\na=setup:passive\r\na=mid:%s\r\n", a->fingerprint, mid);
	if (o->level_ext_id)
		put(&w, "a=extmap:%d %s\r\n", o->level_ext_id, SDP_LEVEL_URI);
	put(&w, "a=%s\r\na=msid:rostrum room\r\na=rtcp-mux\r\n", o->recv_only ? "sendonly" : "sendrecv");
	put(&w, "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n", o->opus_pt,
	    o->opus_pt);
	put(&w, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:rostrum room\r\n", a->ssrc, a->cname, a->ssrc);
	put_candidates(&w, a);
	return w.full ? SDP_E_NO_SPACE : (int)w.len;
}

const char *sdp_strerror(int err)
{
	switch (err) {
	case SDP_OK: return "ok";
	case SDP_E_SYNTAX: return "not an SDP description";
	case SDP_E_NO_AUDIO: return "the offer has no audio section";
	case SDP_E_NO_OPUS: return "the offer's audio does not include Opus";
	case SDP_E_NO_ICE: return "the offer lacks ICE credentials";
	case SDP_E_NO_DTLS: return "the offer lacks a sha-256 fingerprint or a usable setup role";
	case SDP_E_TOO_LONG: return "the offer is too long";
	case SDP_E_NO_SPACE: return "the answer does not fit the buffer";
	}
	return "unknown SDP error";
}
