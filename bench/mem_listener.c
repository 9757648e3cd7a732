/*
 * mem_listener: where a WebRTC listener's heap bytes go on the server side.
 *
 * Creates N server-side DTLS+SRTP states through real in-process DTLS 1.2
 * handshakes against a client endpoint (no sockets), and after each step
 * reads mallinfo2()'s bytes in use. Only the server's own steps are counted:
 * the client's work happens between the readings. The steps are those a
 * listener goes through in the hub: the DTLS connection, its handshake, the
 * handshake state left after the linger (ended here by dtls_conn_peer_keyed(),
 * as the peer's first SRTP would), the SRTP session, the first SRTCP each
 * way (libsrtp2, where used, clones a stream per SSRC there), the first outbound RTP, and, for a speaker only,
 * the first inbound RTP.
 *
 * Then the CPU cost of SRTCP protect, a report per listener in turn as the
 * transport sends them, through srtpx and through a libsrtp2 session per
 * listener on the same keys (what srtpx did before).
 *
 *   bench/mem_listener [N] [profile]   N listeners (default 1000); profile
 *                                      "gcm" (default) or "cm"
 */
#include "dtls.h"
#include "srtpx.h"

#include <malloc.h>
#include <srtp2/srtp.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum step { S_CONN, S_HANDSHAKE, S_LINGER, S_SRTP, S_RTCP_OUT, S_RTCP_IN, S_RTP_OUT, S_RTP_IN,
	    S_COUNT };

static const char *const step_names[S_COUNT] = {
	"dtls_conn_create (SSL, BIOs)",
	"DTLS handshake, held while connected",
	"after the linger (SSL released)",
	"srtpx_create",
	"first SRTCP protect (SR/RR out)",
	"first SRTCP unprotect (RR in)",
	"first RTP protect (forwarded audio)",
	"first RTP unprotect (speakers only)",
};

struct listener {
	dtls_conn *server, *client;
	srtpx *ss, *sc;
};

static long long in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return (long long)mi.uordblks + (long long)mi.hblkhd;
}

static long long totals[S_COUNT];

/* Runs f on the server's state and charges the heap growth to step s. */
#define SERVER_STEP(s, expr)                     \
	do {                                     \
		long long before_ = in_use();    \
		expr;                            \
		totals[s] += in_use() - before_; \
	} while (0)

static void die(const char *what)
{
	fprintf(stderr, "mem_listener: %s\n", what);
	exit(1);
}

/* Client datagrams to the server (counted), server datagrams to the client (not). */
static void handshake(struct listener *l)
{
	uint8_t buf[2048];
	if (dtls_conn_start(l->client) != DTLS_OK)
		die("client start");
	for (int round = 0; round < 20; round++) {
		int n, moved = 0;
		while ((n = dtls_conn_poll_output(l->client, buf, sizeof buf)) > 0) {
			moved++;
			SERVER_STEP(S_HANDSHAKE, if (dtls_conn_input(l->server, buf, (size_t)n) != DTLS_OK) die("server input"));
		}
		long long before = in_use();
		uint8_t out[8][2048];
		int lens[8], k = 0;
		while (k < 8 && (lens[k] = dtls_conn_poll_output(l->server, out[k], 2048)) > 0)
			k++;
		totals[S_HANDSHAKE] += in_use() - before; /* the server's queue drained */
		for (int i = 0; i < k; i++, moved++)
			if (dtls_conn_input(l->client, out[i], (size_t)lens[i]) != DTLS_OK)
				die("client input");
		if (!moved && dtls_conn_state(l->client) == DTLS_CONNECTED &&
		    dtls_conn_state(l->server) == DTLS_CONNECTED)
			return;
	}
	die("handshake did not finish");
}

/* An RTP packet of an Opus frame's size, or a receiver report. */
static size_t rtp(uint8_t *p, uint16_t seq, uint32_t ssrc)
{
	memset(p, 0x55, 12 + 80);
	p[0] = 0x80, p[1] = 111, p[2] = (uint8_t)(seq >> 8), p[3] = (uint8_t)seq;
	p[8] = (uint8_t)(ssrc >> 24), p[9] = (uint8_t)(ssrc >> 16), p[10] = (uint8_t)(ssrc >> 8),
	p[11] = (uint8_t)ssrc;
	return 12 + 80;
}

static size_t rr(uint8_t *p, uint32_t ssrc)
{
	memset(p, 0, 32);
	p[0] = 0x81, p[1] = 201, p[3] = 7;
	p[4] = (uint8_t)(ssrc >> 24), p[5] = (uint8_t)(ssrc >> 16), p[6] = (uint8_t)(ssrc >> 8),
	p[7] = (uint8_t)ssrc;
	return 32;
}

static void keys_for(struct listener *l)
{
	struct dtls_srtp_keys ks, kc;
	if (dtls_conn_srtp_keys(l->client, &kc) != DTLS_OK || !(l->sc = srtpx_create(&kc)))
		die("client keys");
	SERVER_STEP(S_SRTP, {
		if (dtls_conn_srtp_keys(l->server, &ks) != DTLS_OK || !(l->ss = srtpx_create(&ks)))
			die("server keys");
	});
}

static void media(struct listener *l, uint32_t i)
{
	uint8_t p[256 + SRTPX_TRAILER];
	size_t len = rr(p, 0x5000 + i);
	int rc = 0;
	SERVER_STEP(S_RTCP_OUT, rc |= srtpx_protect_rtcp(l->ss, p, &len, sizeof p));
	len = rr(p, 0x9000 + i);
	rc |= srtpx_protect_rtcp(l->sc, p, &len, sizeof p);
	SERVER_STEP(S_RTCP_IN, rc |= srtpx_unprotect_rtcp(l->ss, p, &len));
	len = rtp(p, 100, 0x5000);
	SERVER_STEP(S_RTP_OUT, rc |= srtpx_protect_rtp(l->ss, p, &len, sizeof p));
	len = rtp(p, 7, 0x9000 + i);
	rc |= srtpx_protect_rtp(l->sc, p, &len, sizeof p);
	SERVER_STEP(S_RTP_IN, rc |= srtpx_unprotect_rtp(l->ss, p, &len));
	if (rc)
		die("SRTP refused a packet");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ns per SRTCP protect of a 72-byte SR, round robin over the listeners. */
static void rtcp_cost(struct listener *ls, int n)
{
	enum { ROUNDS = 100 };
	srtp_t *ref = calloc((size_t)n, sizeof *ref);
	for (int i = 0; i < n; i++) {
		struct dtls_srtp_keys k;
		srtp_policy_t pol;
		if (!ref || dtls_conn_srtp_keys(ls[i].server, &k) != DTLS_OK)
			die("keys");
		srtpx_policy(&pol, k.profile, k.local, ssrc_any_outbound);
		if (srtp_create(&ref[i], &pol) != srtp_err_status_ok)
			die("libsrtp2");
	}
	uint8_t p[256 + SRTPX_TRAILER];
	double t[2];
	for (int impl = 0; impl < 2; impl++) {
		double t0 = now_s();
		for (int r = 0; r < ROUNDS; r++)
			for (int i = 0; i < n; i++) {
				size_t len = rr(p, 0x5000 + (uint32_t)i) + 40;
				int m = (int)len;
				if (impl ? srtp_protect_rtcp(ref[i], p, &m) != srtp_err_status_ok
					 : srtpx_protect_rtcp(ls[i].ss, p, &len, sizeof p) != SRTPX_OK)
					die("SRTCP protect");
			}
		t[impl] = (now_s() - t0) * 1e9 / ((double)ROUNDS * n);
	}
	printf("SRTCP protect, %d sessions round robin: srtpx %.0f ns, libsrtp2 %.0f ns (%.1fx)\n",
	       n, t[0], t[1], t[1] / t[0]);
	for (int i = 0; i < n; i++)
		srtp_dealloc(ref[i]);
	free(ref);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	const char *profile = argc > 2 && strcmp(argv[2], "cm") == 0 ? "SRTP_AES128_CM_SHA1_80"
								     : NULL;
	if (n <= 0 || srtpx_init() != SRTPX_OK)
		die("usage: mem_listener [N] [gcm|cm]");
	dtls_cert *cs = dtls_cert_generate(), *cc = dtls_cert_generate();
	dtls_ctx *xs = cs ? dtls_ctx_create(cs, NULL) : NULL;
	dtls_ctx *xc = cc ? dtls_ctx_create(cc, profile) : NULL;
	struct listener *ls = calloc((size_t)n, sizeof *ls);
	if (!xs || !xc || !ls)
		die("setup");
	for (int i = 0; i < n; i++) {
		struct listener *l = &ls[i];
		SERVER_STEP(S_CONN, l->server = dtls_conn_create(xs, DTLS_SERVER,
								 dtls_cert_fingerprint(cc)));
		l->client = dtls_conn_create(xc, DTLS_CLIENT, dtls_cert_fingerprint(cs));
		if (!l->server || !l->client)
			die("dtls_conn_create");
		handshake(l);
		keys_for(l);
		/* The linger's end, or the peer's first SRTP: the SSL goes. */
		SERVER_STEP(S_LINGER, dtls_conn_peer_keyed(l->server));
		media(l, (uint32_t)i);
	}
	long long listener = 0, speaker = 0;
	printf("%d listeners, %s; heap bytes per listener (mallinfo2, server side only)\n", n,
	       profile ? "AES128_CM_SHA1_80" : "AEAD_AES_128_GCM");
	for (int s = 0; s < S_COUNT; s++) {
		printf("  %-40s %9.0f\n", step_names[s], (double)totals[s] / n);
		if (s != S_RTP_IN)
			listener += totals[s];
		speaker += totals[s];
	}
	printf("  %-40s %9.0f\n", "total, a listener", (double)listener / n);
	printf("  %-40s %9.0f\n", "total, a speaker", (double)speaker / n);
	rtcp_cost(ls, n);
	for (int i = 0; i < n; i++) {
		dtls_conn_free(ls[i].server);
		dtls_conn_free(ls[i].client);
		srtpx_free(ls[i].ss);
		srtpx_free(ls[i].sc);
	}
	free(ls);
	dtls_ctx_free(xs);
	dtls_ctx_free(xc);
	dtls_cert_free(cs);
	dtls_cert_free(cc);
	return 0;
}
