/*
 * lg_rtc: see lg_rtc.h. The order of a connection is the browser's: offer,
 * answer, a nominating check to the answer's candidate, DTLS, then SRTP.
 */
#include "lg_rtc.h"

#include "demux.h"
#include "lg_srtp.h"
#include "stun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHECK_EVERY_MS 200
#define CHECK_TRIES 75      /* 15 s, as long as a browser keeps trying one pair */
#define CONSENT_EVERY_MS 5000

static const char ice_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

int lg_rtc_open(struct lg_rtc *r, dtls_ctx *ctx, const char *fingerprint, const char *local_ip,
		uint32_t seed, bool verify)
{
	memset(r, 0, sizeof *r);
	r->verify = verify;
	r->dtls_ctx = ctx;
	r->fingerprint = fingerprint;
	uint32_t s = seed * 2654435761u + 0x9e3779b9u;
	if (!s)
		s = 1;
	for (int i = 0; i < 8; i++)
		r->lufrag[i] = ice_chars[rnd(&s) % 64];
	for (int i = 0; i < 24; i++)
		r->lpwd[i] = ice_chars[rnd(&s) % 64];
	for (int i = 0; i < 12; i++)
		r->tid[i] = (uint8_t)rnd(&s);
	r->ssrc = rnd(&s) | 1;
	r->seq = (uint16_t)rnd(&s);
	r->ts = rnd(&s);
	r->tiebreak = (uint64_t)rnd(&s) << 32 | rnd(&s);
	r->opus_pt = 111;
	r->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return -1;
	int one = 1;
	if (verify)
		setsockopt(r->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
	r->local.sin_family = AF_INET;
	inet_pton(AF_INET, local_ip, &r->local.sin_addr);
	socklen_t l = sizeof r->local;
	if (bind(r->fd, (struct sockaddr *)&r->local, sizeof r->local) != 0 ||
	    getsockname(r->fd, (struct sockaddr *)&r->local, &l) != 0) {
		close(r->fd);
		r->fd = -1;
		return -1;
	}
	return r->fd;
}

int lg_rtc_offer(struct lg_rtc *r, bool send, char *out, size_t cap)
{
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &r->local.sin_addr, ip, sizeof ip);
	int port = ntohs(r->local.sin_port);
	char track[160] = "";
	if (send)
		snprintf(track, sizeof track, "a=msid:lg%08x t%08x\r\n", r->ssrc, r->ssrc);
	char ssrc[160] = "";
	if (send)
		snprintf(ssrc, sizeof ssrc, "a=ssrc:%u cname:lg%08x\r\na=ssrc:%u msid:lg%08x t%08x\r\n",
			 r->ssrc, r->ssrc, r->ssrc, r->ssrc, r->ssrc);
	return snprintf(out, cap,
		"v=0\r\no=- %u%u 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
		"a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS lg%08x\r\n"
		"m=audio %d UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
		"c=IN IP4 %s\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
		"a=candidate:1 1 udp 2122260223 %s %d typ host generation 0 network-id 1\r\n"
		"a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n"
		"a=fingerprint:sha-256 %s\r\na=setup:actpass\r\na=mid:0\r\n"
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
		"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
		"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
		"a=%s\r\n%sa=rtcp-mux\r\n"
		"a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
		"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
		"a=rtpmap:63 red/48000/2\r\na=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\n"
		"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\n"
		"a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n%s",
		r->ssrc, (unsigned)(r->tiebreak & 0xffff), r->ssrc, port, ip, ip, port, r->lufrag, r->lpwd,
		r->fingerprint, send ? "sendrecv" : "recvonly", track, ssrc);
}

/* Copies the value after prefix up to the end of the line. */
static bool line_value(const char *line, size_t n, const char *prefix, char *out, size_t cap)
{
	size_t p = strlen(prefix);
	if (n < p || strncasecmp(line, prefix, p) != 0)
		return false;
	size_t v = n - p;
	if (v >= cap)
		v = cap - 1;
	memcpy(out, line + p, v);
	out[v] = '\0';
	return true;
}

/* a=candidate:F 1 udp PRIO IP PORT typ ...: the first IPv4 UDP one of component 1. */
static void candidate(struct lg_rtc *r, const char *line, struct sockaddr_in *to, bool *have)
{
	char found[64], proto[16], ip[64];
	int comp, port;
	unsigned long prio;
	if (*have || sscanf(line, "a=candidate:%63s %d %15s %lu %63s %d", found, &comp, proto, &prio,
			    ip, &port) != 6)
		return;
	(void)r;
	if (comp != 1 || strcasecmp(proto, "udp") != 0 || inet_pton(AF_INET, ip, &to->sin_addr) != 1)
		return;
	to->sin_family = AF_INET;
	to->sin_port = htons((uint16_t)port);
	*have = true;
}

static void send_check(struct lg_rtc *r, bool nominate)
{
	char user[300];
	snprintf(user, sizeof user, "%s:%s", r->rufrag, r->lufrag);
	uint8_t req[512];
	int n = stun_binding_request(r->tid, user, 2122260223u, r->tiebreak, nominate,
				     (const uint8_t *)r->rpwd, strlen(r->rpwd), req, sizeof req);
	if (n > 0)
		(void)!send(r->fd, req, (size_t)n, 0);
}

int lg_rtc_answer(struct lg_rtc *r, const char *sdp, int64_t now_ms)
{
	struct sockaddr_in to = { 0 };
	bool have = false;
	char setup[16] = "";
	for (const char *l = sdp; *l;) {
		const char *e = strpbrk(l, "\r\n");
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char opus[32];
		int pt;
		(void)(line_value(l, n, "a=ice-ufrag:", r->rufrag, sizeof r->rufrag) ||
		       line_value(l, n, "a=ice-pwd:", r->rpwd, sizeof r->rpwd) ||
		       line_value(l, n, "a=fingerprint:sha-256 ", r->rfp, sizeof r->rfp) ||
		       line_value(l, n, "a=setup:", setup, sizeof setup));
		if (n > 12 && strncmp(l, "a=candidate:", 12) == 0)
			candidate(r, l, &to, &have);
		if (n > 9 && sscanf(l, "a=rtpmap:%d %31s", &pt, opus) == 2 &&
		    strncasecmp(opus, "opus/48000", 10) == 0)
			r->opus_pt = pt;
		if (!e)
			break;
		l = e;
		while (*l == '\r' || *l == '\n')
			l++;
	}
	if (!have || !r->rufrag[0] || !r->rpwd[0] || !r->rfp[0])
		return -1;
	if (connect(r->fd, (struct sockaddr *)&to, sizeof to) != 0)
		return -1;
	r->dtls_server = strcasecmp(setup, "active") == 0;
	r->dtls = dtls_conn_create(r->dtls_ctx, r->dtls_server ? DTLS_SERVER : DTLS_CLIENT, r->rfp);
	if (!r->dtls)
		return -1;
	r->state = LG_RTC_CHECKING;
	send_check(r, true);
	r->checks = 1;
	r->next_check_ms = now_ms + CHECK_EVERY_MS;
	return 0;
}

static void dtls_flush(struct lg_rtc *r)
{
	uint8_t buf[2048];
	int n;
	while ((n = dtls_conn_poll_output(r->dtls, buf, sizeof buf)) > 0)
		(void)!send(r->fd, buf, (size_t)n, 0);
}

/* LG_DEBUG=1 in the environment traces each connection's steps on stderr. */
static int debug = -1;
#define TRACE(...) do { if (debug < 0) debug = getenv("LG_DEBUG") != NULL; \
			 if (debug) fprintf(stderr, __VA_ARGS__); } while (0)

static void on_stun(struct lg_rtc *r, int64_t now_ms, const uint8_t *b, size_t n)
{
	struct stun_msg m;
	if (stun_parse(b, n, &m) != STUN_OK || m.method != STUN_BINDING)
		return;
	TRACE("%s: stun class %d, state %d\n", r->lufrag, (int)m.cls, (int)r->state);
	if (m.cls == STUN_REQUEST) { /* a full ICE peer checks the pair too */
		struct sockaddr_in peer;
		socklen_t l = sizeof peer;
		uint8_t out[512];
		if (getpeername(r->fd, (struct sockaddr *)&peer, &l) != 0)
			return;
		int k = stun_binding_success(m.tid, (struct sockaddr *)&peer, (const uint8_t *)r->lpwd,
					     strlen(r->lpwd), out, sizeof out);
		if (k > 0)
			(void)!send(r->fd, out, (size_t)k, 0);
		return;
	}
	if (m.cls != STUN_SUCCESS || memcmp(m.tid, r->tid, 12) != 0 || r->state != LG_RTC_CHECKING)
		return;
	r->state = LG_RTC_DTLS;
	r->next_consent_ms = now_ms + CONSENT_EVERY_MS;
	if (!r->dtls_server) {
		if (dtls_conn_start(r->dtls) != DTLS_OK) {
			r->state = LG_RTC_FAILED;
			return;
		}
		dtls_flush(r);
	}
}

static void on_dtls(struct lg_rtc *r, const uint8_t *b, size_t n)
{
	if (!r->dtls || r->state == LG_RTC_FAILED)
		return;
	if (dtls_conn_input(r->dtls, b, n) != DTLS_OK) {
		TRACE("%s: dtls input failed\n", r->lufrag);
		r->state = LG_RTC_FAILED;
		return;
	}
	dtls_flush(r);
	if (!r->srtp && dtls_conn_state(r->dtls) == DTLS_CONNECTED) {
		struct dtls_srtp_keys keys;
		if (dtls_conn_srtp_keys(r->dtls, &keys) != DTLS_OK || !(r->srtp = srtpx_create(&keys))) {
			TRACE("%s: no srtp session\n", r->lufrag);
			r->state = LG_RTC_FAILED;
			return;
		}
		r->fast = getenv("LG_LIBSRTP") ? NULL : lg_srtp_create(&keys);
		r->state = LG_RTC_READY;
		TRACE("%s: srtp ready\n", r->lufrag);
	}
}

static void on_rtp(struct lg_rtc *r, uint8_t *b, size_t n, int64_t rx_ns, lg_rtc_on_rtp cb,
		   void *ctx)
{
	if (!r->srtp)
		return;
	size_t len = n;
	struct rtp_hdr h;
	if (!r->verify) { /* counted from the plaintext header only */
		if (rtp_parse(b, len, 1, &h) == RTP_OK)
			cb(ctx, b, len, &h, 0);
		return;
	}
	if (r->fast ? !lg_srtp_unprotect(r->fast, b, &len)
		    : srtpx_unprotect_rtp(r->srtp, b, &len) != SRTPX_OK) {
		r->auth_failures++;
		return;
	}
	if (rtp_parse(b, len, 1, &h) == RTP_OK)
		cb(ctx, b, len, &h, rx_ns);
}

#define RX_BATCH 8

/* The kernel's arrival time of one datagram, 0 when it gave none. */
static int64_t rx_time(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof ts);
			return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	return 0;
}

/*
 * One recvmmsg takes what is waiting, up to a batch: a short batch means the
 * queue is empty, so there is no second call to learn it; the rest of a full
 * one is read at the next wake (level-triggered). The buffers are static:
 * the generator is one thread, and nothing keeps a pointer past the callback.
 */
void lg_rtc_readable(struct lg_rtc *r, int64_t now_ms, lg_rtc_on_rtp cb, void *ctx)
{
	static uint8_t buf[RX_BATCH][2048];
	static char ctl[RX_BATCH][64];
	static struct iovec iov[RX_BATCH];
	static struct mmsghdr mm[RX_BATCH];
	for (int i = 0; i < RX_BATCH; i++) {
		iov[i] = (struct iovec){ buf[i], sizeof buf[i] };
		mm[i].msg_hdr = (struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1,
						 .msg_control = r->verify ? ctl[i] : NULL,
						 .msg_controllen = r->verify ? sizeof ctl[i] : 0 };
	}
	int k = recvmmsg(r->fd, mm, RX_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < k; i++) {
		size_t n = mm[i].msg_len;
		switch (demux_classify(buf[i], n)) {
		case DEMUX_STUN: on_stun(r, now_ms, buf[i], n); break;
		case DEMUX_DTLS: on_dtls(r, buf[i], n); break;
		case DEMUX_RTP:
			on_rtp(r, buf[i], n, r->verify ? rx_time(&mm[i].msg_hdr) : 0, cb, ctx);
			break;
		default: break; /* RTCP reports from the server are not needed here */
		}
	}
}

void lg_rtc_tick(struct lg_rtc *r, int64_t now_ms)
{
	if (r->state == LG_RTC_CHECKING && now_ms >= r->next_check_ms) {
		if (++r->checks > CHECK_TRIES) {
			TRACE("%s: no answer to %d checks\n", r->lufrag, r->checks - 1);
			r->state = LG_RTC_FAILED;
			return;
		}
		send_check(r, true);
		r->next_check_ms = now_ms + CHECK_EVERY_MS;
	}
	if (r->state == LG_RTC_DTLS && r->dtls && dtls_conn_next_deadline_ms(r->dtls) == 0) {
		dtls_conn_timeout(r->dtls);
		dtls_flush(r);
		if (dtls_conn_state(r->dtls) == DTLS_FAILED) {
			TRACE("%s: dtls timed out\n", r->lufrag);
			r->state = LG_RTC_FAILED;
		}
	}
	if ((r->state == LG_RTC_DTLS || r->state == LG_RTC_READY) && now_ms >= r->next_consent_ms) {
		r->tid[0]++; /* a fresh transaction; its answer is not waited for */
		send_check(r, true);
		r->next_consent_ms = now_ms + CONSENT_EVERY_MS;
	}
}

int lg_rtc_send_opus(struct lg_rtc *r, const uint8_t *payload, size_t len, uint8_t level)
{
	if (r->state != LG_RTC_READY || len > 1200)
		return -1;
	uint8_t pkt[1300 + SRTPX_TRAILER];
	r->seq++;
	r->ts += 960;
	pkt[0] = 0x90;
	pkt[1] = (uint8_t)r->opus_pt;
	pkt[2] = (uint8_t)(r->seq >> 8);
	pkt[3] = (uint8_t)r->seq;
	for (int i = 0; i < 4; i++) {
		pkt[4 + i] = (uint8_t)(r->ts >> (24 - 8 * i));
		pkt[8 + i] = (uint8_t)(r->ssrc >> (24 - 8 * i));
	}
	/* RFC 8285 one-byte extension: id 1, the RFC 6464 level with the voice flag. */
	static const uint8_t ext[4] = { 0xBE, 0xDE, 0, 1 };
	memcpy(pkt + 12, ext, 4);
	pkt[16] = 0x10;
	pkt[17] = level < 127 ? (uint8_t)(0x80 | level) : 127;
	pkt[18] = pkt[19] = 0;
	memcpy(pkt + 20, payload, len);
	size_t n = 20 + len;
	if (srtpx_protect_rtp(r->srtp, pkt, &n, sizeof pkt) != SRTPX_OK)
		return -1;
	return send(r->fd, pkt, n, 0) == (ssize_t)n ? 0 : -1;
}

void lg_rtc_close(struct lg_rtc *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	if (r->srtp)
		srtpx_free(r->srtp);
	lg_srtp_free(r->fast);
	r->fast = NULL;
	if (r->dtls)
		dtls_conn_free(r->dtls);
	r->srtp = NULL;
	r->dtls = NULL;
	r->state = LG_RTC_NEW;
}
