/*
 * A transport against an in-process browser stand-in: ICE check and
 * nomination, DTLS handshake, SRTP both ways, and garbage of every kind
 * dropped with its reason while media keeps flowing.
 */
#include "check.h"
#include "transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define QMAX 64

/* Datagrams the transport sent, waiting for the browser stand-in. */
static uint8_t q[QMAX][1500];
static size_t qlen[QMAX];
static int nq;
static uint16_t last_to_port;  /* where the last datagram went */
static int rtp_seen, last_level;
static enum transport_state last_state;

static void t_send(void *ctx, const struct sockaddr *to, socklen_t tl, const uint8_t *b, size_t n)
{
	(void)ctx; (void)tl;
	last_to_port = ntohs(((const struct sockaddr_in *)to)->sin_port);
	if (nq < QMAX) {
		memcpy(q[nq], b, n);
		qlen[nq++] = n;
	}
}

static void t_rtp(void *ctx, transport *t, uint8_t *p, size_t n, const struct rtp_hdr *h)
{
	(void)ctx; (void)t; (void)p; (void)n;
	rtp_seen++;
	last_level = h->audio_level;
}

static void t_state(void *ctx, transport *t, enum transport_state s)
{
	(void)ctx; (void)t;
	last_state = s;
}

/* An ICE-TCP link's real peer behind its synthetic address. */
static bool t_mapped(void *ctx, const struct sockaddr *from, socklen_t fl, struct sockaddr_storage *out)
{
	(void)ctx; (void)fl;
	if (from->sa_family != AF_INET6)
		return false;
	struct sockaddr_in *real = (struct sockaddr_in *)out;
	memset(out, 0, sizeof *out);
	real->sin_family = AF_INET;
	real->sin_port = htons(9);
	inet_pton(AF_INET, "10.213.0.2", &real->sin_addr);
	return true;
}

/* A check from a synthetic address is answered with the real peer's address. */
static void mapped_address(dtls_ctx *sctx, const struct sdp_offer *offer)
{
	struct transport_listener l = { t_send, t_rtp, t_state, NULL, t_mapped, NULL };
	transport *t = transport_create(sctx, offer, &l, NULL);
	struct sockaddr_in6 syn = { .sin6_family = AF_INET6, .sin6_port = htons(40000) };
	inet_pton(AF_INET6, "100::1:0:0", &syn.sin6_addr);
	char user[64];
	snprintf(user, sizeof user, "%s:brws", transport_ufrag(t));
	uint8_t tid[12] = { 3 }, req[512];
	int n = stun_binding_request(tid, user, 1, 2, true, (const uint8_t *)transport_pwd(t),
				     strlen(transport_pwd(t)), req, sizeof req);
	nq = 0;
	CHECK(transport_input(t, 5, req, (size_t)n, (struct sockaddr *)&syn, sizeof syn) ==
	      TRANSPORT_DROP_NONE);
	CHECK(nq == 1);
	struct stun_msg m;
	struct sockaddr_storage got;
	CHECK(stun_parse(q[0], qlen[0], &m) == STUN_OK);
	const struct stun_attr *x = stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS);
	CHECK(x && stun_xor_address(&m, x, &got) == STUN_OK);
	CHECK(got.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&got)->sin_port) == 9);
	CHECK(transport_validated(t, (struct sockaddr *)&syn)); /* routed by the synthetic one */
	nq = 0;
	transport_free(t);
}

static int tuples_added, tuples_removed;
static uint16_t removed_port;

static void t_tuple(void *ctx, transport *t, const struct sockaddr *addr, bool added)
{
	(void)ctx; (void)t;
	if (added) {
		tuples_added++;
		return;
	}
	tuples_removed++;
	removed_port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
}

/*
 * The owner's table by address follows the tuples: each new one that passes
 * a check is reported once, a repeat is not, a failed check never is, and
 * the fifth pushes out the oldest, reported as removed.
 */
static void tuples_follow(dtls_ctx *sctx, const struct sdp_offer *offer)
{
	struct transport_listener l = { t_send, t_rtp, t_state, NULL, NULL, t_tuple };
	transport *t = transport_create(sctx, offer, &l, NULL);
	char user[64];
	snprintf(user, sizeof user, "%s:brws", transport_ufrag(t));
	uint8_t tid[12] = { 4 }, req[512];
	int n = stun_binding_request(tid, user, 1, 2, false, (const uint8_t *)transport_pwd(t),
				     strlen(transport_pwd(t)), req, sizeof req);
	struct sockaddr_in from = { .sin_family = AF_INET };
	inet_pton(AF_INET, "10.213.0.2", &from.sin_addr);
	for (int port = 1; port <= 5; port++) {
		from.sin_port = htons((uint16_t)(40000 + port));
		CHECK(transport_input(t, port, req, (size_t)n, (struct sockaddr *)&from, sizeof from) ==
		      TRANSPORT_DROP_NONE);
		CHECK(transport_input(t, port, req, (size_t)n, (struct sockaddr *)&from, sizeof from) ==
		      TRANSPORT_DROP_NONE); /* the same tuple again: no event */
	}
	CHECK(tuples_added == 5 && tuples_removed == 1 && removed_port == 40001);
	const struct sockaddr_storage *tl;
	CHECK(transport_tuples(t, &tl) == ICE_MAX_TUPLES);
	req[n - 1] ^= 1;
	from.sin_port = htons(40010);
	CHECK(transport_input(t, 9, req, (size_t)n, (struct sockaddr *)&from, sizeof from) ==
	      TRANSPORT_DROP_STUN);
	CHECK(tuples_added == 5);
	nq = 0;
	transport_free(t);
}

int main(void)
{
	CHECK(srtpx_init() == SRTPX_OK);
	dtls_cert *server_cert = dtls_cert_generate(), *browser_cert = dtls_cert_generate();
	dtls_ctx *sctx = dtls_ctx_create(server_cert, NULL), *bctx = dtls_ctx_create(browser_cert, NULL);
	struct sdp_offer offer = { .opus_pt = 111, .level_ext_id = 1, .rtcp_mux = true };
	strcpy(offer.ice_ufrag, "brws");
	strcpy(offer.ice_pwd, "0123456789012345678901");
	strcpy(offer.fingerprint, dtls_cert_fingerprint(browser_cert));
	strcpy(offer.setup, "actpass");
	mapped_address(sctx, &offer);
	tuples_follow(sctx, &offer);
	struct transport_listener l = { t_send, t_rtp, t_state, NULL, NULL, NULL };
	transport *t = transport_create(sctx, &offer, &l, NULL);
	CHECK(t != NULL);
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(50000) };
	inet_pton(AF_INET, "10.213.0.2", &from.sin_addr);
	const struct sockaddr *fa = (struct sockaddr *)&from;

	/* Garbage before anything: each kind is dropped with its reason. */
	uint8_t junk[64] = { 0xff, 1, 2 };
	CHECK(transport_input(t, 0, junk, sizeof junk, fa, sizeof from) == TRANSPORT_DROP_GARBAGE);
	junk[0] = 22;
	CHECK(transport_input(t, 0, junk, sizeof junk, fa, sizeof from) == TRANSPORT_DROP_DTLS);
	junk[0] = 0x80;
	CHECK(transport_input(t, 0, junk, sizeof junk, fa, sizeof from) == TRANSPORT_DROP_SRTP);

	/* The browser's nominating check. */
	char user[64];
	snprintf(user, sizeof user, "%s:brws", transport_ufrag(t));
	uint8_t tid[12] = { 9 }, req[512];
	int n = stun_binding_request(tid, user, 1, 2, true, (const uint8_t *)transport_pwd(t),
				     strlen(transport_pwd(t)), req, sizeof req);
	CHECK(transport_input(t, 10, req, (size_t)n, fa, sizeof from) == TRANSPORT_DROP_NONE);
	CHECK(nq == 1 && last_state == TRANSPORT_CONNECTING);
	nq = 0;
	req[n - 1] ^= 1;
	CHECK(transport_input(t, 11, req, (size_t)n, fa, sizeof from) == TRANSPORT_DROP_STUN);

	/* DTLS: the browser is the client. */
	dtls_conn *b = dtls_conn_create(bctx, DTLS_CLIENT, dtls_cert_fingerprint(server_cert));
	CHECK(dtls_conn_start(b) == DTLS_OK);
	uint8_t buf[2048];
	for (int round = 0; round < 20 && transport_state(t) != TRANSPORT_CONNECTED; round++) {
		while ((n = dtls_conn_poll_output(b, buf, sizeof buf)) > 0)
			(void)transport_input(t, 20, buf, (size_t)n, fa, sizeof from);
		for (int i = 0; i < nq; i++)
			(void)!dtls_conn_input(b, q[i], qlen[i]);
		nq = 0;
	}
	while ((n = dtls_conn_poll_output(b, buf, sizeof buf)) > 0) /* the last flight */
		(void)transport_input(t, 20, buf, (size_t)n, fa, sizeof from);
	CHECK(transport_state(t) == TRANSPORT_CONNECTED && last_state == TRANSPORT_CONNECTED);
	CHECK(dtls_conn_state(b) == DTLS_CONNECTED);
	struct dtls_srtp_keys keys;
	CHECK(dtls_conn_srtp_keys(b, &keys) == DTLS_OK);
	srtpx *bs = srtpx_create(&keys);

	/* Browser -> server: an Opus packet with an audio level of 30. */
	uint8_t pkt[256] = { 0x90, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 0xBE, 0xDE, 0, 1, 0x10, 0x9e,
			     0, 0 };
	size_t len = 20 + 40;
	CHECK(srtpx_protect_rtp(bs, pkt, &len, sizeof pkt) == SRTPX_OK);
	CHECK(transport_input(t, 30, pkt, len, fa, sizeof from) == TRANSPORT_DROP_NONE);
	CHECK(rtp_seen == 1 && last_level == 30);
	CHECK(transport_input(t, 31, pkt, len, fa, sizeof from) == TRANSPORT_DROP_SRTP); /* replay */

	/* Server -> browser. */
	uint8_t out[256 + SRTPX_TRAILER] = { 0x80, 111, 0, 5, 0, 0, 3, 0xc0, 0, 0, 0, 42 };
	nq = 0;
	CHECK(transport_send_rtp(t, 32, out, 12 + 50, sizeof out) == 0 && nq == 1);
	len = qlen[0];
	CHECK(srtpx_unprotect_rtp(bs, q[0], &len) == SRTPX_OK && len == 62);
	/*
	 * The first report comes at half the 5 s minimum, randomised (RFC 3550
	 * 6.2, 6.3.1): one compound, an SR with a block for the stream heard.
	 */
	nq = 0;
	transport_set_sender(t, 42, "rostrum-test");
	int64_t due = transport_next_deadline(t, 40);
	CHECK(due >= 20 + RTCP_INTERVAL_LO(RTCP_MIN_INTERVAL_MS / 2));
	CHECK(due <= 20 + RTCP_INTERVAL_HI(RTCP_MIN_INTERVAL_MS / 2));
	transport_tick(t, due - 1);
	CHECK(nq == 0);
	transport_tick(t, due);
	CHECK(nq == 1);
	len = qlen[0];
	CHECK(srtpx_unprotect_rtcp(bs, q[0], &len) == SRTPX_OK);
	CHECK(q[0][1] == RTCP_SR && (q[0][0] & 0x1f) == 1);
	/* Then at the full minimum, randomised; nothing sent or heard since: no report at all. */
	int64_t next = transport_next_deadline(t, due);
	CHECK(next >= due + RTCP_INTERVAL_LO(RTCP_MIN_INTERVAL_MS));
	CHECK(next <= due + RTCP_INTERVAL_HI(RTCP_MIN_INTERVAL_MS));
	nq = 0;
	transport_tick(t, next);
	CHECK(nq == 0);
	/* Only sending (the participant is silent, as a listener is): an SR without a block. */
	out[3] = 6;
	CHECK(transport_send_rtp(t, next + 1, out, 12 + 50, sizeof out) == 0);
	nq = 0;
	due = transport_next_deadline(t, next);
	transport_tick(t, due);
	CHECK(nq == 1);
	len = qlen[0];
	CHECK(srtpx_unprotect_rtcp(bs, q[0], &len) == SRTPX_OK);
	CHECK(q[0][1] == RTCP_SR && (q[0][0] & 0x1f) == 0);

	/* The browser nominates another address: the next packet goes there, not to the old one. */
	struct sockaddr_in from2 = from;
	from2.sin_port = htons(50002);
	tid[0] = 10;
	n = stun_binding_request(tid, user, 1, 2, true, (const uint8_t *)transport_pwd(t),
				 strlen(transport_pwd(t)), req, sizeof req);
	CHECK(transport_input(t, due + 1, req, (size_t)n, (struct sockaddr *)&from2,
			      sizeof from2) == TRANSPORT_DROP_NONE);
	out[3] = 7;
	nq = 0;
	CHECK(transport_send_rtp(t, due + 2, out, 12 + 50, sizeof out) == 0);
	CHECK(nq == 1 && last_to_port == 50002);

	/* Consent lapses 30 s after the last check. */
	transport_tick(t, due + ICE_CONSENT_MS);
	CHECK(transport_state(t) == TRANSPORT_CONNECTED);
	transport_tick(t, due + 2 + ICE_CONSENT_MS);
	CHECK(transport_state(t) == TRANSPORT_FAILED);

	srtpx_free(bs);
	dtls_conn_free(b);
	transport_free(t);
	dtls_ctx_free(sctx);
	dtls_ctx_free(bctx);
	dtls_cert_free(server_cert);
	dtls_cert_free(browser_cert);
	return check_done();
}
