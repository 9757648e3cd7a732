#include "transport.h"

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
};

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
	ice_credentials(t->ufrag, t->pwd);
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

static const struct sockaddr *selected(const transport *t, socklen_t *len)
{
	const struct sockaddr_storage *s = ice_agent_selected(t->ice);
	if (!s)
		return NULL;
	*len = s->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	return (const struct sockaddr *)s;
}

static enum transport_drop on_stun(transport *t, int64_t now, const uint8_t *buf, size_t len,
				   const struct sockaddr *from, socklen_t from_len)
{
	uint8_t resp[512];
	size_t n;
	if (ice_agent_input(t->ice, now, buf, len, from, from_len, resp, sizeof resp, &n) != ICE_OK)
		return TRANSPORT_DROP_STUN;
	t->l.send(t->l.ctx, from, from_len, resp, n);
	if (t->state == TRANSPORT_NEW)
		set_state(t, TRANSPORT_CONNECTING);
	return TRANSPORT_DROP_NONE;
}

/* Only an address that passed an ICE check may speak DTLS or media to us. */
bool transport_validated(const transport *t, const struct sockaddr *from)
{
	return ice_agent_validated(t->ice, from);
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
	}
	return TRANSPORT_DROP_NONE;
}

static enum transport_drop on_media(transport *t, uint8_t *buf, size_t len)
{
	if (!t->srtp)
		return TRANSPORT_DROP_SRTP;
	bool rtcp = len >= 2 && buf[1] >= 192 && buf[1] <= 223; /* RFC 5761 section 4 */
	if (rtcp) /* reports are decrypted to keep the replay window right; not used yet */
		return srtpx_unprotect_rtcp(t->srtp, buf, &len) == SRTPX_OK ? TRANSPORT_DROP_NONE
									   : TRANSPORT_DROP_SRTP;
	if (srtpx_unprotect_rtp(t->srtp, buf, &len) != SRTPX_OK)
		return TRANSPORT_DROP_SRTP;
	struct rtp_hdr h;
	if (rtp_parse(buf, len, t->offer.level_ext_id, &h) != RTP_OK)
		return TRANSPORT_DROP_RTP;
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
		return validated(t, from) ? on_media(t, buf, len) : TRANSPORT_DROP_SRTP;
	return TRANSPORT_DROP_GARBAGE;
}

int transport_send_rtp(transport *t, uint8_t *pkt, size_t len, size_t cap)
{
	socklen_t sl;
	const struct sockaddr *to = selected(t, &sl);
	if (t->state != TRANSPORT_CONNECTED || !to)
		return -1;
	if (srtpx_protect_rtp(t->srtp, pkt, &len, cap) != SRTPX_OK)
		return -1;
	t->l.send(t->l.ctx, to, sl, pkt, len);
	return 0;
}

int64_t transport_next_deadline(const transport *t, int64_t now_ms)
{
	(void)now_ms;
	int64_t consent = ice_agent_consent_deadline(t->ice);
	if (t->state == TRANSPORT_FAILED)
		return INT64_MAX;
	return consent < t->dtls_due ? consent : t->dtls_due;
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
	if (!ice_agent_alive(t->ice, now_ms))
		set_state(t, TRANSPORT_FAILED);
}
