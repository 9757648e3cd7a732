/*
 * DTLS-SRTP between two in-process endpoints: a real handshake (with lost
 * datagrams and retransmission), the fingerprint check, both SRTP profiles,
 * and SRTP/SRTCP with the exported keys against libsrtp2 used directly; the
 * SSL freed after the handshake (and a lost last flight answered before
 * that), and the bytes a listener's state keeps, bounded.
 */
#include "check.h"
#include "dtls.h"
#include "srtpx.h"

#include <malloc.h>
#include <srtp2/srtp.h>
#include <string.h>
#include <time.h>

struct pair {
	dtls_cert *cs, *cc;
	dtls_ctx *xs, *xc;
	dtls_conn *server, *client;
	int server_refused, client_refused; /* datagrams a side refused (a failed handshake) */
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static void setup(struct pair *p, const char *client_profiles, const char *expect_server_fp)
{
	p->cs = dtls_cert_generate();
	p->cc = dtls_cert_generate();
	CHECK(p->cs && p->cc);
	CHECK(strlen(dtls_cert_fingerprint(p->cs)) == DTLS_FINGERPRINT_LEN);
	p->xs = dtls_ctx_create(p->cs, NULL);
	p->xc = dtls_ctx_create(p->cc, client_profiles);
	p->server = dtls_conn_create(p->xs, DTLS_SERVER, dtls_cert_fingerprint(p->cc));
	p->client = dtls_conn_create(p->xc, DTLS_CLIENT,
				     expect_server_fp ? expect_server_fp : dtls_cert_fingerprint(p->cs));
}

/* Both endpoints on fresh certificates, the server lingering linger_ms after its handshake. */
static void setup_linger(struct pair *p, int64_t linger_ms)
{
	p->cs = dtls_cert_generate();
	p->cc = dtls_cert_generate();
	p->xs = dtls_ctx_create(p->cs, NULL);
	p->xc = dtls_ctx_create(p->cc, NULL);
	dtls_ctx_set_linger_ms(p->xs, linger_ms);
	p->server = dtls_conn_create(p->xs, DTLS_SERVER, dtls_cert_fingerprint(p->cc));
	p->client = dtls_conn_create(p->xc, DTLS_CLIENT, dtls_cert_fingerprint(p->cs));
}

static void teardown(struct pair *p)
{
	dtls_conn_free(p->server);
	dtls_conn_free(p->client);
	dtls_ctx_free(p->xs);
	dtls_ctx_free(p->xc);
	dtls_cert_free(p->cs);
	dtls_cert_free(p->cc);
}

/* Moves datagrams both ways until both sides settle; drops the first `drop` datagrams. */
static void pump(struct pair *p, int drop)
{
	uint8_t buf[2048];
	CHECK(dtls_conn_start(p->client) == DTLS_OK);
	for (int round = 0; round < 200; round++) {
		int moved = 0, n;
		while ((n = dtls_conn_poll_output(p->client, buf, sizeof buf)) > 0) {
			moved++;
			if (drop-- > 0)
				continue;
			if (dtls_conn_input(p->server, buf, (size_t)n) != DTLS_OK)
				p->server_refused++;
		}
		while ((n = dtls_conn_poll_output(p->server, buf, sizeof buf)) > 0) {
			moved++;
			if (dtls_conn_input(p->client, buf, (size_t)n) != DTLS_OK)
				p->client_refused++;
		}
		enum dtls_state a = dtls_conn_state(p->client), b = dtls_conn_state(p->server);
		if ((a == DTLS_CONNECTED || a == DTLS_FAILED) && (b == DTLS_CONNECTED || b == DTLS_FAILED)
		    && !moved)
			return;
		if (!moved) { /* wait for the retransmission timer */
			int64_t t = dtls_conn_next_deadline_ms(p->client);
			sleep_ms(t > 0 ? (long)t : 5);
			dtls_conn_timeout(p->client);
			dtls_conn_timeout(p->server);
		}
	}
}

/* Protects with one side's wrapper, unprotects with the other's, then through raw libsrtp2. */
static void check_srtp(struct pair *p, enum dtls_srtp_profile want)
{
	struct dtls_srtp_keys ks, kc;
	CHECK(dtls_conn_srtp_keys(p->server, &ks) == DTLS_OK);
	CHECK(dtls_conn_srtp_keys(p->client, &kc) == DTLS_OK);
	CHECK(ks.profile == want && kc.profile == want);
	CHECK(memcmp(ks.local, kc.remote, ks.key_len + ks.salt_len) == 0);
	CHECK(memcmp(ks.remote, kc.local, ks.key_len + ks.salt_len) == 0);
	srtpx *ss = srtpx_create(&ks), *sc = srtpx_create(&kc);
	CHECK(ss && sc);
	uint8_t pkt[12 + 160 + SRTPX_TRAILER], clear[12 + 160];
	for (int i = 0; i < 12 + 160; i++)
		clear[i] = (uint8_t)(i * 7);
	clear[0] = 0x80;
	clear[1] = 111;
	for (int seq = 1; seq <= 5; seq++) {
		clear[3] = (uint8_t)seq;
		memcpy(pkt, clear, sizeof clear);
		size_t len = sizeof clear;
		CHECK(srtpx_protect_rtp(ss, pkt, &len, sizeof pkt) == SRTPX_OK && len > sizeof clear);
		uint8_t copy[sizeof pkt];
		size_t clen = len;
		memcpy(copy, pkt, len);
		CHECK(srtpx_unprotect_rtp(sc, pkt, &len) == SRTPX_OK);
		CHECK(len == sizeof clear && memcmp(pkt, clear, len) == 0);
		CHECK(srtpx_unprotect_rtp(sc, copy, &clen) == SRTPX_E_REPLAY);
	}
	/* Tampering is caught. */
	clear[3] = 9;
	memcpy(pkt, clear, sizeof clear);
	size_t len = sizeof clear;
	CHECK(srtpx_protect_rtp(ss, pkt, &len, sizeof pkt) == SRTPX_OK);
	pkt[40] ^= 1;
	CHECK(srtpx_unprotect_rtp(sc, pkt, &len) == SRTPX_E_AUTH);
	/* RTCP both ways (a receiver report). */
	uint8_t rr[8 + SRTPX_TRAILER] = { 0x80, 201, 0, 1, 0, 0, 0, 42 };
	len = 8;
	CHECK(srtpx_protect_rtcp(sc, rr, &len, sizeof rr) == SRTPX_OK);
	CHECK(srtpx_unprotect_rtcp(ss, rr, &len) == SRTPX_OK && len == 8 && rr[7] == 42);
	/* The wrapper's output opens with libsrtp2 set up directly from the raw keys. */
	srtp_policy_t pol;
	srtpx_policy(&pol, want, kc.remote, ssrc_any_inbound);
	srtp_t raw;
	CHECK(srtp_create(&raw, &pol) == srtp_err_status_ok);
	clear[3] = 20;
	memcpy(pkt, clear, sizeof clear);
	len = sizeof clear;
	CHECK(srtpx_protect_rtp(ss, pkt, &len, sizeof pkt) == SRTPX_OK);
	int n = (int)len;
	CHECK(srtp_unprotect(raw, pkt, &n) == srtp_err_status_ok);
	CHECK(n == (int)sizeof clear && memcmp(pkt, clear, sizeof clear) == 0);
	srtp_dealloc(raw);
	srtpx_free(ss);
	srtpx_free(sc);
}

static void test_handshake(const char *profiles, enum dtls_srtp_profile want, int drop)
{
	struct pair p = { 0 };
	setup(&p, profiles, NULL);
	pump(&p, drop);
	CHECK(dtls_conn_state(p.client) == DTLS_CONNECTED);
	CHECK(dtls_conn_state(p.server) == DTLS_CONNECTED);
	check_srtp(&p, want);
	teardown(&p);
}

static void test_wrong_fingerprint(void)
{
	struct pair p = { 0 };
	dtls_cert *other = dtls_cert_generate();
	setup(&p, NULL, dtls_cert_fingerprint(other));
	pump(&p, 0);
	CHECK(dtls_conn_state(p.client) == DTLS_FAILED && p.client_refused > 0);
	CHECK(dtls_conn_state(p.server) != DTLS_CONNECTED);
	struct dtls_srtp_keys k;
	CHECK(dtls_conn_srtp_keys(p.client, &k) == DTLS_E_STATE);
	dtls_cert_free(other);
	teardown(&p);
}

static void test_garbage(void)
{
	struct pair p = { 0 };
	setup(&p, NULL, NULL);
	uint8_t junk[300];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 31 + 7);
	junk[0] = 22; /* looks like a handshake record */
	int rc = dtls_conn_input(p.server, junk, sizeof junk);
	CHECK(rc == DTLS_OK || rc == DTLS_E_HANDSHAKE); /* refused without a crash */
	uint8_t buf[2048];
	CHECK(dtls_conn_poll_output(p.server, buf, 10) <= 0);
	teardown(&p);
}

/* Connected, not yet released: the keys, then the release, then the same keys. */
static void test_release(void)
{
	struct pair p = { 0 };
	setup(&p, NULL, NULL);
	pump(&p, 0);
	CHECK(dtls_conn_state(p.server) == DTLS_CONNECTED);
	CHECK(dtls_conn_released(p.client));    /* a client has nothing left to answer */
	CHECK(!dtls_conn_released(p.server));   /* the server lingers */
	int64_t left = dtls_conn_next_deadline_ms(p.server);
	CHECK(left > 0 && left <= DTLS_LINGER_MS);
	dtls_conn_timeout(p.server);            /* early: nothing happens */
	CHECK(!dtls_conn_released(p.server));
	struct dtls_srtp_keys before, after;
	CHECK(dtls_conn_srtp_keys(p.server, &before) == DTLS_OK);
	dtls_conn_peer_keyed(p.server);
	CHECK(dtls_conn_released(p.server) && dtls_conn_state(p.server) == DTLS_CONNECTED);
	CHECK(dtls_conn_next_deadline_ms(p.server) == -1);
	CHECK(dtls_conn_srtp_keys(p.server, &after) == DTLS_OK);
	CHECK(memcmp(&before, &after, sizeof before) == 0);
	check_srtp(&p, DTLS_SRTP_AEAD_AES_128_GCM);
	/* A record now is dropped unanswered (an alert or close_notify alike). */
	uint8_t rec[64] = { 21, 0xfe, 0xfd, 0, 1 };
	CHECK(dtls_conn_input(p.server, rec, sizeof rec) == DTLS_OK);
	uint8_t buf[2048];
	CHECK(dtls_conn_poll_output(p.server, buf, sizeof buf) == 0);
	teardown(&p);
}

/* With a short linger the deadline runs out and dtls_conn_timeout() releases. */
static void test_linger_expires(void)
{
	struct pair p = { 0 };
	setup_linger(&p, 30);
	pump(&p, 0);
	CHECK(dtls_conn_state(p.server) == DTLS_CONNECTED && !dtls_conn_released(p.server));
	for (int i = 0; i < 50 && !dtls_conn_released(p.server); i++) {
		int64_t left = dtls_conn_next_deadline_ms(p.server);
		CHECK(left >= 0 && left <= 30);
		sleep_ms(left > 0 ? (long)left : 1);
		dtls_conn_timeout(p.server);
	}
	CHECK(dtls_conn_released(p.server));
	check_srtp(&p, DTLS_SRTP_AEAD_AES_128_GCM);
	teardown(&p);
}

/*
 * DTLS 1.2 section 4.2.4: the server's last flight (ChangeCipherSpec,
 * Finished) is lost. The client resends its own; the connected server must
 * answer it again until it releases, and the client then connects. After
 * the release the same datagrams get no answer.
 */
static void test_lost_last_flight(void)
{
	struct pair p = { 0 };
	setup(&p, NULL, NULL);
	uint8_t buf[2048], last[2048];
	size_t last_len = 0;
	int dropped = 0, answered = 0;
	CHECK(dtls_conn_start(p.client) == DTLS_OK);
	for (int round = 0; round < 100 && dtls_conn_state(p.client) != DTLS_CONNECTED; round++) {
		int n, moved = 0;
		while ((n = dtls_conn_poll_output(p.client, buf, sizeof buf)) > 0) {
			moved++;
			memcpy(last, buf, (size_t)n);
			last_len = (size_t)n;
			CHECK(dtls_conn_input(p.server, buf, (size_t)n) == DTLS_OK);
		}
		bool done = dtls_conn_state(p.server) == DTLS_CONNECTED;
		while ((n = dtls_conn_poll_output(p.server, buf, sizeof buf)) > 0) {
			moved++;
			if (done && !dropped) {
				dropped = -1;         /* the whole last flight of this round is lost */
				continue;
			}
			if (dropped == -1)
				continue;
			answered += done;
			CHECK(dtls_conn_input(p.client, buf, (size_t)n) == DTLS_OK);
		}
		if (dropped == -1)
			dropped = 1;
		if (!moved) {  /* only the client's clock: the server must not need one */
			int64_t t = dtls_conn_next_deadline_ms(p.client);
			sleep_ms(t > 0 ? (long)t : 5);
			dtls_conn_timeout(p.client);
		}
	}
	CHECK(dropped == 1 && answered > 0);
	CHECK(dtls_conn_state(p.client) == DTLS_CONNECTED);
	CHECK(dtls_conn_state(p.server) == DTLS_CONNECTED && !dtls_conn_released(p.server));
	check_srtp(&p, DTLS_SRTP_AEAD_AES_128_GCM);
	dtls_conn_peer_keyed(p.server);
	CHECK(dtls_conn_input(p.server, last, last_len) == DTLS_OK);
	CHECK(dtls_conn_poll_output(p.server, buf, sizeof buf) == 0);
	teardown(&p);
}

static long long heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (long long)mi.uordblks + (long long)mi.hblkhd;
}

/*
 * The bytes a listener's DTLS and SRTP state keep on the server once it is
 * connected, released and has exchanged SRTCP both ways, from mallinfo2:
 * under LISTENER_BYTES each, against about 100 KB before the SSL was
 * released and SRTCP left libsrtp2 (bench/mem_listener has the breakdown).
 */
#define LISTENERS 40
#define LISTENER_BYTES 4096
static void test_listener_bytes(void)
{
	dtls_cert *cs = dtls_cert_generate(), *cc = dtls_cert_generate();
	dtls_ctx *xs = dtls_ctx_create(cs, NULL), *xc = dtls_ctx_create(cc, NULL);
	static struct pair ps[LISTENERS];
	static srtpx *ss[LISTENERS];
	long long base = heap_in_use();
	for (int i = 0; i < LISTENERS; i++) {
		struct pair *p = &ps[i];
		p->server = dtls_conn_create(xs, DTLS_SERVER, dtls_cert_fingerprint(cc));
		p->client = dtls_conn_create(xc, DTLS_CLIENT, dtls_cert_fingerprint(cs));
		pump(p, 0);
		struct dtls_srtp_keys ks, kc;
		CHECK(dtls_conn_srtp_keys(p->server, &ks) == DTLS_OK);
		CHECK(dtls_conn_srtp_keys(p->client, &kc) == DTLS_OK);
		ss[i] = srtpx_create(&ks);
		srtpx *sc = srtpx_create(&kc);
		CHECK(ss[i] && sc);
		uint8_t rr[8 + SRTPX_TRAILER] = { 0x80, 201, 0, 1, 0, 0, 1, (uint8_t)i };
		size_t len = 8;
		CHECK(srtpx_protect_rtcp(sc, rr, &len, sizeof rr) == SRTPX_OK);
		CHECK(srtpx_unprotect_rtcp(ss[i], rr, &len) == SRTPX_OK);   /* the peer is keyed */
		dtls_conn_peer_keyed(p->server);
		len = 8;
		CHECK(srtpx_protect_rtcp(ss[i], rr, &len, sizeof rr) == SRTPX_OK);
		srtpx_free(sc);
		dtls_conn_free(p->client);
		p->client = NULL;
	}
	long long per = (heap_in_use() - base) / LISTENERS;
	printf("a listener's DTLS and SRTP state: %lld bytes (bound %d)\n", per, LISTENER_BYTES);
	CHECK(per <= LISTENER_BYTES);
	for (int i = 0; i < LISTENERS; i++) {
		srtpx_free(ss[i]);
		dtls_conn_free(ps[i].server);
	}
	dtls_ctx_free(xs);
	dtls_ctx_free(xc);
	dtls_cert_free(cs);
	dtls_cert_free(cc);
}

int main(void)
{
	CHECK(srtpx_init() == SRTPX_OK);
	test_handshake(NULL, DTLS_SRTP_AEAD_AES_128_GCM, 0);
	test_handshake("SRTP_AES128_CM_SHA1_80", DTLS_SRTP_AES128_CM_SHA1_80, 0);
	test_handshake(NULL, DTLS_SRTP_AEAD_AES_128_GCM, 1); /* the ClientHello is lost once */
	test_wrong_fingerprint();
	test_garbage();
	test_release();
	test_linger_expires();
	test_lost_last_flight();
	test_listener_bytes();
	return check_done();
}
