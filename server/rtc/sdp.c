#include "sdp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_FMTS 32

/* One line without its CRLF (or LF), as pointer and length. */
struct line {
	const char *p;
	size_t n;
};

/* Parser state beyond the result: where the audio section is and what it lists. */
struct reader {
	struct sdp_offer *o;
	int section;             /* -1 at session level, else the index of the current m-line */
	const char *audio_start, *audio_end;
	int fmts[MAX_FMTS];      /* payload types on the audio m-line */
	int n_fmts;
	char bundle[256];        /* the a=group:BUNDLE mids, space-separated */
	int err;                 /* first structural error (too many sections) */
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

static bool is(const struct line *l, const char *whole)
{
	return l->n == strlen(whole) && memcmp(l->p, whole, l->n) == 0;
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

/* RFC 8839 section 5.4: ice-char = ALPHA / DIGIT / "+" / "/", with a length range. */
static bool ice_chars(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);
	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '/'))
			return false;
	return true;
}

/* RFC 8866 section 9 token (what a mid is, RFC 5888 section 4): no spaces, no controls. */
static bool token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`{|}~";
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
		      (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

/* RFC 8122 section 5: 32 upper- or lower-case hex pairs joined by colons for sha-256. */
static bool sha256_fingerprint(const char *s)
{
	if (strlen(s) != 95)
		return false;
	for (int i = 0; i < 95; i++) {
		bool colon = i % 3 == 2;
		if (colon ? s[i] != ':' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	}
	return true;
}

static bool audio_lists(const struct reader *r, int pt)
{
	for (int i = 0; i < r->n_fmts; i++)
		if (r->fmts[i] == pt)
			return true;
	return false;
}

/* a=rtpmap:<pt> opus/48000/2 (RFC 7587 section 7), only for a payload type the m-line lists. */
static void read_rtpmap(const struct line *l, struct reader *r)
{
	char buf[128], codec[64];
	int pt;
	if (!value(l, "a=rtpmap:", buf, sizeof buf) || sscanf(buf, "%d %63s", &pt, codec) != 2)
		return;
	if (!r->o->opus_pt && strcasecmp(codec, "opus/48000/2") == 0 && pt >= 0 && pt < 128 &&
	    audio_lists(r, pt))
		r->o->opus_pt = pt;
}

/* a=extmap:<id>[/<direction>] <uri> (RFC 8285 section 8); ids 1-14 one-byte, up to 255 two-byte. */
static void read_extmap(const struct line *l, struct sdp_offer *o)
{
	char buf[256], uri[200];
	int id, used = 0;
	if (!value(l, "a=extmap:", buf, sizeof buf) || sscanf(buf, "%d%n", &id, &used) != 1)
		return;
	const char *rest = buf + used;
	if (*rest == '/')
		rest += strcspn(rest, " ");
	if (sscanf(rest, " %199s", uri) == 1 && strcmp(uri, SDP_LEVEL_URI) == 0 && id >= 1 &&
	    id <= 255 && id != 15)
		o->level_ext_id = id;
}

static void read_fingerprint(const struct line *l, struct sdp_offer *o)
{
	char buf[160];
	if (value(l, "a=fingerprint:", buf, sizeof buf) && strncasecmp(buf, "sha-256 ", 8) == 0 &&
	    sha256_fingerprint(buf + 8))
		rs_strlcpy(o->fingerprint, buf + 8, sizeof o->fingerprint);
}

/* a=candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ... */
static void read_candidate(const struct line *l, struct sdp_offer *o)
{
	char buf[512], transport[8];
	unsigned prio;
	struct sdp_ice_candidate c = { 0 };
	if (!value(l, "a=candidate:", buf, sizeof buf) ||
	    sscanf(buf, "%32s %d %7s %u %63s %d typ %7s", c.foundation, &c.component, transport,
		   &prio, c.address, &c.port, c.type) != 7 ||
	    c.port < 0 || c.port > 65535)
		return;
	c.tcp = strcasecmp(transport, "tcp") == 0;
	c.priority = prio;
	if (o->n_candidates < SDP_MAX_CANDIDATES)
		o->candidates[o->n_candidates] = c;
	o->n_candidates++;
}

static void read_direction(const struct line *l, struct sdp_offer *o)
{
	static const char *const names[] = { "a=sendrecv", "a=sendonly", "a=recvonly",
					     "a=inactive" };
	for (int d = 0; d < 4; d++)
		if (is(l, names[d]))
			o->dir = (enum sdp_dir)d;
}

/* Attributes of the audio section, or session-level ones that apply to it. */
static void read_attr(const struct line *l, struct reader *r)
{
	struct sdp_offer *o = r->o;
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
		read_rtpmap(l, r);
	else if (starts(l, "a=extmap:"))
		read_extmap(l, o);
	else if (starts(l, "a=candidate:"))
		read_candidate(l, o);
	else if (is(l, "a=end-of-candidates"))
		o->end_of_candidates = true;
	else if (is(l, "a=rtcp-mux"))
		o->rtcp_mux = true;
	else if (starts(l, "a=ssrc:") && !o->ssrc && value(l, "a=ssrc:", buf, sizeof buf))
		o->ssrc = (uint32_t)strtoul(buf, NULL, 10);
	else if (starts(l, "a=group:BUNDLE ") && r->section < 0)
		(void)value(l, "a=group:BUNDLE ", r->bundle, sizeof r->bundle);
	else
		read_direction(l, o);
}

/* The payload types listed on the audio m-line: the rest of it after the proto. */
static void read_fmts(struct reader *r, const char *p)
{
	while (r->n_fmts < MAX_FMTS) {
		char *stop;
		long pt = strtol(p, &stop, 10);
		if (stop == p || pt < 0 || pt > 127)
			break;
		r->fmts[r->n_fmts++] = (int)pt;
		p = stop;
	}
}

/*
 * RFC 8866 section 5.14: m=<media> <port>[/<n>] <proto> <fmt> ...; a zero
 * port is a section the offerer itself disabled. The first audio m-line with
 * a port becomes ours.
 */
static void read_mline(const struct line *l, struct reader *r)
{
	struct sdp_offer *o = r->o;
	if (o->n_sections == SDP_MAX_SECTIONS) {
		r->err = SDP_E_TOO_MANY;
		r->section = SDP_MAX_SECTIONS; /* a sink: its attributes are ignored */
		return;
	}
	char text[512], port[16];
	int used = 0;
	struct sdp_section *s = &o->sections[o->n_sections];
	memset(s, 0, sizeof *s);
	r->section = o->n_sections++;
	if (!value(l, "m=", text, sizeof text) ||
	    sscanf(text, "%15s %15s %31s%n", s->media, port, s->proto, &used) != 3)
		return;
	(void)sscanf(text + used, " %31s", s->fmt);
	if (o->audio_index < 0 && strcmp(s->media, "audio") == 0 && strtol(port, NULL, 10) > 0) {
		o->audio_index = r->section;
		r->audio_start = l->p;
		read_fmts(r, text + used);
	}
}

/* a=fmtp:<opus pt> minptime=10;useinbandfec=1;stereo=1 (RFC 7587 section 6.1). */
static void read_opus_fmtp(const struct line *l, struct sdp_offer *o)
{
	char prefix[24], buf[256];
	snprintf(prefix, sizeof prefix, "a=fmtp:%d ", o->opus_pt);
	if (!starts(l, prefix) || !value(l, prefix, buf, sizeof buf))
		return;
	char *save = NULL;
	for (char *kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
		kv += strspn(kv, " ");
		int v;
		if (sscanf(kv, "useinbandfec=%d", &v) == 1)
			o->opus_fec = v == 1;
		else if (sscanf(kv, "stereo=%d", &v) == 1)
			o->opus_stereo = v == 1;
		else if (sscanf(kv, "minptime=%d", &v) == 1 && v > 0 && v <= 120)
			o->opus_minptime = v;
	}
}

/* True when the space-separated list has tok as one of its items. */
static bool in_list(const char *list, const char *tok)
{
	size_t n = strlen(tok);
	for (const char *p = list; (p = strstr(p, tok)) != NULL; p += n)
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return true;
	return false;
}

/* Walks every line once: sections, and the attributes of the session and audio section. */
static void read_lines(struct reader *r, const char *sdp, const char *end)
{
	const char *cur = sdp;
	struct line l;
	while (next_line(&cur, end, &l)) {
		if (starts(&l, "m=")) {
			if (r->audio_start && !r->audio_end)
				r->audio_end = l.p;
			read_mline(&l, r);
		} else if (r->section >= 0 && r->section != r->o->audio_index) {
			if (starts(&l, "a=mid:") && r->section < SDP_MAX_SECTIONS)
				(void)value(&l, "a=mid:", r->o->sections[r->section].mid,
					    sizeof r->o->sections[r->section].mid);
		} else if (starts(&l, "a=")) {
			read_attr(&l, r);
		}
	}
	if (r->audio_start && !r->audio_end)
		r->audio_end = end;
}

/* The Opus parameters may come before or after the rtpmap: a second look, audio section only. */
static void read_fmtp(struct reader *r)
{
	struct line l;
	const char *cur = r->audio_start;
	while (next_line(&cur, r->audio_end, &l))
		read_opus_fmtp(&l, r->o);
}

/* What the answer cannot do without, in the order the errors are reported. */
static int validate(const struct reader *r)
{
	const struct sdp_offer *o = r->o;
	if (r->err)
		return r->err;
	if (o->audio_index < 0)
		return SDP_E_NO_AUDIO;
	if (o->mid[0] && !token(o->mid))
		return SDP_E_SYNTAX;
	for (int i = 0; i < o->n_sections; i++)
		if (o->sections[i].mid[0] && !token(o->sections[i].mid))
			return SDP_E_SYNTAX;
	if (!o->opus_pt)
		return SDP_E_NO_OPUS;
	if (!ice_chars(o->ice_ufrag, 4, 256) || !ice_chars(o->ice_pwd, 22, 256))
		return SDP_E_NO_ICE;
	if (!o->fingerprint[0] || strcmp(o->setup, "passive") == 0)
		return SDP_E_NO_DTLS;
	return SDP_OK;
}

int sdp_parse_offer(const char *sdp, size_t len, struct sdp_offer *out)
{
	memset(out, 0, sizeof *out);
	out->audio_index = -1;
	if (len > SDP_MAX_LEN)
		return SDP_E_TOO_LONG;
	if (len < 4 || strncmp(sdp, "v=0", 3) != 0 || (sdp[3] != '\r' && sdp[3] != '\n'))
		return SDP_E_SYNTAX;
	if (memchr(sdp, '\0', len))
		return SDP_E_SYNTAX;
	struct reader r = { .o = out, .section = -1 };
	read_lines(&r, sdp, sdp + len);
	if (out->audio_index >= 0)
		rs_strlcpy(out->sections[out->audio_index].mid, out->mid, sizeof out->mid);
	if (out->opus_pt)
		read_fmtp(&r);
	out->recv_only = out->dir == SDP_RECVONLY;
	out->bundled = out->mid[0] && in_list(r.bundle, out->mid);
	return validate(&r);
}

/* ---- the answer ---------------------------------------------------------------- */

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

/*
 * RFC 8445 section 5.1.2.1: priority = 2^24 * type pref + 2^8 * local pref +
 * (256 - component). Host type preference 126; UDP above TCP, because TCP
 * is the fallback for networks that block UDP (RFC 6544 section 4.2).
 */
static void put_candidates(struct writer *w, const struct sdp_answer *a)
{
	for (size_t i = 0; i < a->n_candidates; i++) {
		const struct sdp_candidate *c = &a->candidates[i];
		uint32_t local = c->tcp ? 65535u - 1000u : 65535u;
		uint32_t prio = (126u << 24) | (local << 8) | 255u;
		put(w, "a=candidate:%zu 1 %s %u %s %d typ host%s\r\n", i + 1, c->tcp ? "tcp" : "udp",
		    prio, c->ip, c->port, c->tcp ? " tcptype passive" : "");
	}
	put(w, "a=end-of-candidates\r\n");
}

/* RFC 3264 section 6.1: the answer's direction is the offer's seen from our side. */
static const char *answer_direction(enum sdp_dir offered)
{
	switch (offered) {
	case SDP_SENDRECV: return "sendrecv";
	case SDP_SENDONLY: return "recvonly";
	case SDP_RECVONLY: return "sendonly";
	case SDP_INACTIVE: return "inactive";
	}
	return "inactive";
}

static void put_audio(struct writer *w, const struct sdp_offer *o, const struct sdp_answer *a,
		      const char *mid)
{
	put(w, "m=audio 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\n", o->opus_pt);
	put(w, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", a->ice_ufrag, a->ice_pwd);
	put(w, "a=fingerprint:sha-256 %s\r\na=setup:passive\r\na=mid:%s\r\n", a->fingerprint, mid);
	if (o->level_ext_id)
		put(w, "a=extmap:%d %s\r\n", o->level_ext_id, SDP_LEVEL_URI);
	put(w, "a=%s\r\na=msid:rostrum room\r\na=rtcp-mux\r\n", answer_direction(o->dir));
	put(w, "a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1\r\n", o->opus_pt,
	    o->opus_pt);
	put(w, "a=ssrc:%u cname:%s\r\na=ssrc:%u msid:rostrum room\r\n", a->ssrc, a->cname, a->ssrc);
	put_candidates(w, a);
}

/* RFC 3264 section 6: a refused stream keeps its place with port zero. */
static void put_rejected(struct writer *w, const struct sdp_section *s)
{
	put(w, "m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", s->media[0] ? s->media : "audio",
	    s->proto[0] ? s->proto : "RTP/AVP", s->fmt[0] ? s->fmt : "0");
	if (s->mid[0])
		put(w, "a=mid:%s\r\n", s->mid);
	put(w, "a=inactive\r\n");
}

int sdp_build_answer(const struct sdp_offer *o, const struct sdp_answer *a, char *out, size_t cap)
{
	struct writer w = { out, 0, cap, cap == 0 };
	const char *mid = o->mid[0] ? o->mid : "0";
	put(&w, "v=0\r\no=rostrum %llu 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
	    (unsigned long long)a->session_id);
	/* RFC 8843 section 7.3: only accepted sections that were offered bundled. */
	if (o->bundled || o->n_sections == 0)
		put(&w, "a=group:BUNDLE %s\r\n", mid);
	put(&w, "a=ice-lite\r\na=msid-semantic: WMS rostrum\r\n");
	if (o->n_sections == 0)
		put_audio(&w, o, a, mid);
	for (int i = 0; i < o->n_sections; i++) {
		if (i == o->audio_index)
			put_audio(&w, o, a, mid);
		else
			put_rejected(&w, &o->sections[i]);
	}
	return w.full ? SDP_E_NO_SPACE : (int)w.len;
}

const char *sdp_strerror(int err)
{
	switch (err) {
	case SDP_OK: return "ok";
	case SDP_E_SYNTAX: return "not an SDP description, or a malformed mid";
	case SDP_E_NO_AUDIO: return "the offer has no audio section";
	case SDP_E_NO_OPUS: return "the offer's audio does not include Opus";
	case SDP_E_NO_ICE: return "the offer lacks ICE credentials";
	case SDP_E_NO_DTLS: return "the offer lacks a sha-256 fingerprint or a usable setup role";
	case SDP_E_TOO_LONG: return "the offer is too long";
	case SDP_E_NO_SPACE: return "the answer does not fit the buffer";
	case SDP_E_TOO_MANY: return "the offer has too many media sections";
	}
	return "unknown SDP error";
}
