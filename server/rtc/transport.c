#include "transport.h"
#include "bytes.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define DGRAM_MAX 1500

struct transport {
	/* owned */
	ice_agent *ice;
	dtls_conn *dtls;
	srtpx *srtp;
	char ufrag[ICE_UFRAG_LEN + 1], pwd[ICE_PWD_LEN + 1];
	/* passed in */
	struct sdp_offer offer;
	struct transport_listener l;
	void *owner;
	enum transport_state state;
	int64_t dtls_due;      /* absolute ms, INT64_MAX when no retransmission runs */
	/* RTCP (RFC 3550 section 6) */
	struct rtcp_rx rx;     /* the stream the participant sends */
	uint32_t send_ssrc;
	char cname[80];          /* "rostrum-" and a 64-character room id fit */
	uint32_t sent_packets, sent_octets, sent_ts;
	int64_t sent_ms, rtcp_due;
	int64_t reported_ms;     /* when the last report went out */
	bool rx_heard;           /* a packet of the participant's stream since then */
	uint32_t rng;            /* xorshift32 state for the report intervals */
	/* the selected address, refreshed when ICE may have changed it (a check passed) */
	struct sockaddr_storage dest;
	socklen_t dest_len;      /* 0 while there is none */
};

/* 32 random bits (xorshift32, Marsaglia 2003): the report interval's spread needs no more. */
static uint32_t next_rand(transport *t)
{
	uint32_t x = t->rng;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return t->rng = x;
}

/* Seeds from our ufrag, which is random (ice_credentials): transports differ from each other. */
static void seed_rand(transport *t)
{
	uint32_t hsh = 2166136261u; /* FNV-1a */
	for (const char *p = t->ufrag; *p; p++)
		hsh = (hsh ^ (uint8_t)*p) * 16777619u;
	t->rng = hsh ? hsh : 1;
}

static void set_state(transport *t, enum transport_state s)
{
	if (t->state == s)
		return;
	t->state = s;
	if (t->l.on_state)
		t->l.on_state(t->l.ctx, t, s);
}

transport *transport_create(dtls_ctx *dtls, const struct sdp_offer *offer,
			    const struct transport_listener *l, void *owner)
{
	transport *t = rs_calloc(1, sizeof *t);
	t->offer = *offer;
	t->l = *l;
	t->owner = owner;
	t->dtls_due = INT64_MAX;
	t->rtcp_due = INT64_MAX;
	rs_strlcpy(t->cname, "rostrum", sizeof t->cname);
	ice_credentials(t->ufrag, t->pwd);
	seed_rand(t);
	t->ice = ice_agent_create(t->ufrag, t->pwd, offer->ice_ufrag);
	t->dtls = dtls_conn_create(dtls, DTLS_SERVER, offer->fingerprint);
	if (!t->ice || !t->dtls) {
		transport_free(t);
		return NULL;
	}
	return t;
}

void transport_free(transport *t)
{
	if (!t)
		return;
	ice_agent_free(t->ice);
	dtls_conn_free(t->dtls);
	srtpx_free(t->srtp);
	free(t);
}

void *transport_owner(const transport *t) { return t->owner; }
const char *transport_ufrag(const transport *t) { return t->ufrag; }
const char *transport_pwd(const transport *t) { return t->pwd; }
enum transport_state transport_state(const transport *t) { return t->state; }
int transport_level_ext(const transport *t) { return t->offer.level_ext_id; }
int transport_opus_pt(const transport *t) { return t->offer.opus_pt; }

/* Sends whatever the handshake queued, to where the peer is. */
static void flush_dtls(transport *t, const struct sockaddr *to, socklen_t to_len, int64_t now)
{
	uint8_t buf[DGRAM_MAX];
	int n;
	while ((n = dtls_conn_poll_output(t->dtls, buf, sizeof buf)) > 0)
		t->l.send(t->l.ctx, to, to_len, buf, (size_t)n);
	int64_t wait = dtls_conn_next_deadline_ms(t->dtls);
	t->dtls_due = wait < 0 ? INT64_MAX : now + wait;
}

/* Copies ICE's selected address into the transport, where each send finds it. */
static void refresh_dest(transport *t)
{
	const struct sockaddr_storage *s = ice_agent_destination(t->ice);
	t->dest_len = 0;
	if (!s)
		return;
	t->dest = *s;
	t->dest_len = s->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
					       : sizeof(struct sockaddr_in);
}

static const struct sockaddr *selected(const transport *t, socklen_t *len)
{
	*len = t->dest_len;
	return t->dest_len ? (const struct sockaddr *)&t->dest : NULL;
}

static enum transport_drop on_stun(transport *t, int64_t now, const uint8_t *buf, size_t len,
				   const struct sockaddr *from, socklen_t from_len)
{
	uint8_t resp[512];
	size_t n;
	struct sockaddr_storage real;
	const struct sockaddr *mapped = from;
	if (t->l.mapped && t->l.mapped(t->l.ctx, from, from_len, &real))
		mapped = (const struct sockaddr *)&real;
	bool known = ice_agent_validated(t->ice, from);
	const struct sockaddr_storage *tuples;
	struct sockaddr_storage oldest;
	bool full = ice_agent_tuples(t->ice, &tuples) == ICE_MAX_TUPLES;
	if (full)
		oldest = tuples[ICE_MAX_TUPLES - 1];
	if (ice_agent_input_mapped(t->ice, now, buf, len, from, from_len, mapped, resp, sizeof resp,
				   &n) != ICE_OK)
		return TRANSPORT_DROP_STUN;
	refresh_dest(t);
	t->l.send(t->l.ctx, from, from_len, resp, n);
	if (!known && t->l.on_tuple) {
		t->l.on_tuple(t->l.ctx, t, from, true);
		if (full && !ice_agent_validated(t->ice, (const struct sockaddr *)&oldest))
			t->l.on_tuple(t->l.ctx, t, (const struct sockaddr *)&oldest, false);
	}
	if (t->state == TRANSPORT_NEW)
		set_state(t, TRANSPORT_CONNECTING);
	return TRANSPORT_DROP_NONE;
}

/* Only an address that passed an ICE check may speak DTLS or media to us. */
bool transport_validated(const transport *t, const struct sockaddr *from)
{
	return ice_agent_validated(t->ice, from);
}

size_t transport_tuples(const transport *t, const struct sockaddr_storage **out)
{
	return ice_agent_tuples(t->ice, out);
}

#define validated transport_validated

static enum transport_drop on_dtls(transport *t, int64_t now, const uint8_t *buf, size_t len,
				   const struct sockaddr *from, socklen_t from_len)
{
	if (!validated(t, from))
		return TRANSPORT_DROP_DTLS;
	int rc = dtls_conn_input(t->dtls, buf, len);
	flush_dtls(t, from, from_len, now);
	if (rc != DTLS_OK) {
		set_state(t, TRANSPORT_FAILED);
		return TRANSPORT_DROP_DTLS;
	}
	if (dtls_conn_state(t->dtls) == DTLS_CONNECTED && !t->srtp) {
		struct dtls_srtp_keys k;
		if (dtls_conn_srtp_keys(t->dtls, &k) == DTLS_OK)
			t->srtp = srtpx_create(&k);
		set_state(t, t->srtp ? TRANSPORT_CONNECTED : TRANSPORT_FAILED);
		t->reported_ms = now;
		t->rtcp_due = now + rtcp_interval_ms(RTCP_MIN_INTERVAL_MS, true, next_rand(t));
	}
	return TRANSPORT_DROP_NONE;
}

struct sr_seen {
	transport *t;
	int64_t now;
};

/* A sender report from the participant: its NTP time, for our RR's LSR/DLSR. */
static void on_rtcp_packet(void *ctx, int type, const uint8_t *pkt, size_t len)
{
	struct sr_seen *s = ctx;
	if (type != RTCP_SR || len < 20)
		return;
	uint64_t ntp = (uint64_t)get32(pkt + 8) << 32 | get32(pkt + 12);
	rtcp_rx_sr(&s->t->rx, ntp, s->now);
}

/*
 * Authentic SRTP or SRTCP proves the peer has our last flight and its keys,
 * so the DTLS state (most of a listener's memory) can go before its linger.
 */
static void peer_keyed(transport *t)
{
	if (dtls_conn_released(t->dtls))
		return;
	dtls_conn_peer_keyed(t->dtls);
	if (dtls_conn_released(t->dtls))
		t->dtls_due = INT64_MAX;
}

static enum transport_drop on_media(transport *t, int64_t now, uint8_t *buf, size_t len)
{
	if (!t->srtp)
		return TRANSPORT_DROP_SRTP;
	bool rtcp = len >= 2 && buf[1] >= 192 && buf[1] <= 223; /* RFC 5761 section 4 */
	if (rtcp) {
		if (srtpx_unprotect_rtcp(t->srtp, buf, &len) != SRTPX_OK)
			return TRANSPORT_DROP_SRTP;
		peer_keyed(t);
		struct sr_seen s = { t, now };
		return rtcp_walk(buf, len, on_rtcp_packet, &s) ? TRANSPORT_DROP_NONE
							      : TRANSPORT_DROP_RTP;
	}
	if (srtpx_unprotect_rtp(t->srtp, buf, &len) != SRTPX_OK)
		return TRANSPORT_DROP_SRTP;
	peer_keyed(t);
	struct rtp_hdr h;
	if (rtp_parse(buf, len, t->offer.level_ext_id, &h) != RTP_OK)
		return TRANSPORT_DROP_RTP;
	t->rx_heard |= rtcp_rx_packet(&t->rx, h.ssrc, h.seq, h.ts, now, 48000);
	if (t->l.on_rtp)
		t->l.on_rtp(t->l.ctx, t, buf, len, &h);
	return TRANSPORT_DROP_NONE;
}

enum transport_drop transport_input(transport *t, int64_t now_ms, uint8_t *buf, size_t len,
				    const struct sockaddr *from, socklen_t from_len)
{
	if (len == 0 || len > DGRAM_MAX)
		return TRANSPORT_DROP_GARBAGE;
	uint8_t b = buf[0];
	if (b <= 3)
		return on_stun(t, now_ms, buf, len, from, from_len);
	if (b >= 20 && b <= 63)
		return on_dtls(t, now_ms, buf, len, from, from_len);
	if (b >= 128 && b <= 191)
		return validated(t, from) ? on_media(t, now_ms, buf, len) : TRANSPORT_DROP_SRTP;
	return TRANSPORT_DROP_GARBAGE;
}

int transport_send_rtp(transport *t, int64_t now_ms, uint8_t *pkt, size_t len, size_t cap)
{
	socklen_t sl;
	const struct sockaddr *to = selected(t, &sl);
	if (t->state != TRANSPORT_CONNECTED || !to)
		return -1;
	t->sent_packets++;
	t->sent_octets += (uint32_t)(len > 12 ? len - 12 : 0);
	t->sent_ts = get32(pkt + 4);
	t->sent_ms = now_ms;
	if (srtpx_protect_rtp(t->srtp, pkt, &len, cap) != SRTPX_OK)
		return -1;
	t->l.send(t->l.ctx, to, sl, pkt, len);
	return 0;
}

void transport_set_sender(transport *t, uint32_t ssrc, const char *cname)
{
	t->send_ssrc = ssrc;
	rs_strlcpy(t->cname, cname, sizeof t->cname);
}

/* Encrypts and sends one compound RTCP packet built in buf. */
static void send_rtcp(transport *t, uint8_t *buf, int n, size_t cap)
{
	socklen_t sl;
	const struct sockaddr *to = selected(t, &sl);
	size_t len = (size_t)n;
	if (n > 0 && to && srtpx_protect_rtcp(t->srtp, buf, &len, cap) == SRTPX_OK)
		t->l.send(t->l.ctx, to, sl, buf, len);
}

/*
 * Section 6.4, as one compound (one encryption, one datagram): an SR when
 * we sent the room stream since the last report, with a report block only
 * when the participant's stream was heard since then (6.4: blocks are for
 * sources heard since the last report; a paused sender's packets are never
 * decrypted, so a listener gets none); an RR alone when only that. Nothing
 * when neither: consent checks keep the path alive.
 */
static void report(transport *t, int64_t now)
{
	uint8_t buf[256 + SRTPX_TRAILER];
	bool sent = t->sent_packets && t->sent_ms >= t->reported_ms;
	struct rtcp_rx *rx[] = { &t->rx };
	size_t n_rx = t->rx_heard && t->rx.started;
	if (sent || n_rx) {
		uint32_t ts = t->sent_ts + (uint32_t)((now - t->sent_ms) * 48);
		struct rtcp_sender snd = { ts, t->sent_packets, t->sent_octets };
		send_rtcp(t, buf, rtcp_build_report(buf, 256, t->send_ssrc, sent ? &snd : NULL, rx,
						    n_rx, now, now, t->cname), sizeof buf);
	}
	t->rx_heard = false;
	t->reported_ms = now;
	t->rtcp_due = now + rtcp_interval_ms(RTCP_MIN_INTERVAL_MS, false, next_rand(t));
}

int64_t transport_next_deadline(const transport *t, int64_t now_ms)
{
	(void)now_ms;
	int64_t consent = ice_agent_consent_deadline(t->ice);
	if (t->state == TRANSPORT_FAILED)
		return INT64_MAX;
	int64_t due = consent < t->dtls_due ? consent : t->dtls_due;
	return t->rtcp_due < due ? t->rtcp_due : due;
}

void transport_tick(transport *t, int64_t now_ms)
{
	if (t->dtls_due <= now_ms) {
		dtls_conn_timeout(t->dtls);
		socklen_t sl;
		const struct sockaddr *to = selected(t, &sl);
		if (to)
			flush_dtls(t, to, sl, now_ms);
		else
			t->dtls_due = INT64_MAX;
	}
	if (t->state == TRANSPORT_CONNECTED && t->rtcp_due <= now_ms)
		report(t, now_ms);
	if (!ice_agent_alive(t->ice, now_ms))
		set_state(t, TRANSPORT_FAILED);
}
