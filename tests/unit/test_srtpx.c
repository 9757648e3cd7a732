/*
 * srtpx's own outbound RTP protect against libsrtp2 set up directly from the
 * same key material: for both profiles, thousands of packets of every size
 * with CSRCs and header extensions, across SEQ wraps (so the ROC rolls
 * over) and an SSRC change. Each packet must equal libsrtp2's own protect
 * byte for byte, open in an independent libsrtp2 receiver, and fail there
 * with any bit flipped. SRTCP, srtpx's own both ways, the same against
 * libsrtp2 in both directions, with its replay window, tampering, the E
 * flag clear and the end of the 31-bit index. The seed is printed; pass one
 * to repeat a run.
 */
#include "check.h"
#include "srtpx.h"

#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

#define PACKETS 6000
#define MAX_PAYLOAD 1200
#define BUF (12 + 15 * 4 + 4 + 16 * 4 + MAX_PAYLOAD + SRTPX_TRAILER)

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13; /* xorshift64 */
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 32);
}

static uint32_t below(uint32_t n)
{
	return rnd() % n;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

static srtp_t raw_session(enum dtls_srtp_profile profile, uint8_t *key, srtp_ssrc_type_t dir)
{
	srtp_policy_t pol;
	srtpx_policy(&pol, profile, key, dir);
	srtp_t s = NULL;
	CHECK(srtp_create(&s, &pol) == srtp_err_status_ok);
	return s;
}

/* A random RTP packet: sometimes CSRCs, sometimes a header extension; returns its length. */
static size_t make_packet(uint8_t *p, uint16_t seq, uint32_t ssrc, size_t *hdr)
{
	int cc = below(4) == 0 ? (int)below(16) : 0;
	bool ext = below(3) == 0;
	p[0] = (uint8_t)(0x80 | (ext ? 0x10 : 0) | cc);
	p[1] = (uint8_t)(below(2) << 7 | 111);
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	fill(p + 4, 4);
	for (int i = 0; i < 4; i++)
		p[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	size_t h = 12;
	fill(p + h, 4 * (size_t)cc);
	h += 4 * (size_t)cc;
	if (ext) {
		size_t words = below(17);
		p[h] = 0xbe;
		p[h + 1] = 0xde;
		p[h + 2] = 0;
		p[h + 3] = (uint8_t)words;
		fill(p + h + 4, 4 * words);
		h += 4 + 4 * words;
	}
	size_t payload = 1 + below(MAX_PAYLOAD);
	fill(p + h, payload);
	*hdr = h;
	return h + payload;
}

/* A flipped bit in an authenticated field the receiver still parses must fail the check. */
static void check_tamper(srtp_t rx, const uint8_t *pkt, size_t len, size_t hdr)
{
	static const size_t fixed[] = { 1, 4, 5, 6, 7 }; /* marker/PT, timestamp */
	uint8_t bad[BUF];
	memcpy(bad, pkt, len);
	size_t at = below(3) == 0 ? fixed[below(5)] : hdr + below((uint32_t)(len - hdr));
	bad[at] ^= (uint8_t)(1u << below(8));
	int n = (int)len;
	CHECK(srtp_unprotect(rx, bad, &n) == srtp_err_status_auth_fail);
}

struct run {
	srtpx *ours;
	srtp_t ref, rx;          /* libsrtp2 protecting the same input; libsrtp2 receiving */
	size_t tag;
	int same, opened, wraps;
};

/* One packet through ours and the reference; both outputs must agree and open. */
static void one(struct run *r, uint16_t seq, uint32_t ssrc, bool tamper)
{
	uint8_t clear[BUF], a[BUF], b[BUF];
	size_t hdr, len = make_packet(clear, seq, ssrc, &hdr);
	memcpy(a, clear, len);
	memcpy(b, clear, len);
	size_t alen = len;
	int blen = (int)len;
	CHECK(srtpx_protect_rtp(r->ours, a, &alen, sizeof a) == SRTPX_OK);
	CHECK(srtp_protect(r->ref, b, &blen) == srtp_err_status_ok);
	CHECK(alen == len + r->tag && (size_t)blen == alen);
	if (alen == (size_t)blen && memcmp(a, b, alen) == 0)
		r->same++;
	else
		fprintf(stderr, "seq %u ssrc %08x len %zu hdr %zu: differs from libsrtp2\n", seq,
			ssrc, len, hdr);
	if (tamper)
		check_tamper(r->rx, a, alen, hdr);
	int n = (int)alen;
	if (srtp_unprotect(r->rx, a, &n) == srtp_err_status_ok && (size_t)n == len &&
	    memcmp(a, clear, len) == 0)
		r->opened++;
}

/*
 * PACKETS packets from just before a SEQ wrap; the middle third skips
 * ahead by 33 to 64 at a time so a second wrap must come, and an SSRC
 * change two thirds in starts a fresh ROC.
 */
/* Ours, the reference and a receiver, all on one random key; false when one failed. */
static bool run_open(enum dtls_srtp_profile profile, struct run *r)
{
	bool gcm = profile == DTLS_SRTP_AEAD_AES_128_GCM;
	struct dtls_srtp_keys k;
	memset(&k, 0, sizeof k);
	k.profile = profile;
	k.key_len = 16;
	k.salt_len = gcm ? 12 : 14;
	fill(k.local, sizeof k.local);
	fill(k.remote, sizeof k.remote);
	uint8_t key[32];
	memcpy(key, k.local, sizeof key);
	*r = (struct run){ .ours = srtpx_create(&k), .tag = gcm ? 16 : 10 };
	r->ref = raw_session(profile, key, ssrc_any_outbound);
	r->rx = raw_session(profile, key, ssrc_any_inbound);
	CHECK(r->ours && r->ref && r->rx);
	return r->ours && r->ref && r->rx;
}

/*
 * Late packets the room stream forwards in their place: sent after higher
 * ones, across a SEQ wrap too, with the ROC of their own side of it (as
 * libsrtp2 would), once only.
 */
static void test_late(enum dtls_srtp_profile profile)
{
	struct run r;
	if (!run_open(profile, &r))
		return;
	static const uint16_t order[] = { 65530, 65531, 65533, 0, 2, 65532, 1 };
	for (size_t i = 0; i < RS_ARRAY_LEN(order); i++)
		one(&r, order[i], 0x1234, false);
	CHECK(r.same == (int)RS_ARRAY_LEN(order) && r.opened == (int)RS_ARRAY_LEN(order));
	uint8_t p[BUF];
	size_t hdr, len;
	static const uint16_t refused[] = { 65532, 1, 65535 - 70 }; /* again, again, too far back */
	for (size_t i = 0; i < RS_ARRAY_LEN(refused); i++) {
		len = make_packet(p, refused[i], 0x1234, &hdr);
		CHECK(srtpx_protect_rtp(r.ours, p, &len, sizeof p) == SRTPX_E_REPLAY);
	}
	srtp_dealloc(r.ref);
	srtp_dealloc(r.rx);
	srtpx_free(r.ours);
}

static void test_profile(enum dtls_srtp_profile profile)
{
	bool gcm = profile == DTLS_SRTP_AEAD_AES_128_GCM;
	struct run r;
	if (!run_open(profile, &r))
		return;
	uint32_t ssrc = rnd();
	uint16_t seq = (uint16_t)(65535 - below(1000));
	for (int i = 0; i < PACKETS; i++) {
		if (i == 2 * PACKETS / 3) {
			ssrc ^= 0x01000001u;
			seq = (uint16_t)(65535 - below(200));
		}
		one(&r, seq, ssrc, i % 7 == 0);
		uint16_t step = (uint16_t)(i > PACKETS / 3 && i < 2 * PACKETS / 3 ? 33 + below(32) : 1);
		if ((uint16_t)(seq + step) < seq)
			r.wraps++;
		seq = (uint16_t)(seq + step);
	}
	CHECK(r.same == PACKETS && r.opened == PACKETS);
	CHECK(r.wraps >= 3); /* two on the first SSRC, one on the second */
	printf("%s: %d/%d identical to libsrtp2, %d opened, %d SEQ wraps\n",
	       gcm ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80", r.same, PACKETS, r.opened, r.wraps);
	srtp_dealloc(r.ref);
	srtp_dealloc(r.rx);
	srtpx_free(r.ours);
}

/* What protect refuses: a reused or older index, a header overrunning the packet, no room. */
static void test_refusals(enum dtls_srtp_profile profile)
{
	struct dtls_srtp_keys k = { .profile = profile, .key_len = 16 };
	k.salt_len = profile == DTLS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
	fill(k.local, sizeof k.local);
	srtpx *s = srtpx_create(&k);
	CHECK(s != NULL);
	if (!s)
		return;
	uint8_t p[64 + SRTPX_TRAILER] = { 0x80, 111, 0, 10, 0, 0, 0, 0, 1, 2, 3, 4 };
	size_t len = 64;
	CHECK(srtpx_protect_rtp(s, p, &len, sizeof p) == SRTPX_OK);
	p[3] = 10;
	len = 64;
	CHECK(srtpx_protect_rtp(s, p, &len, sizeof p) == SRTPX_E_REPLAY);
	p[3] = 9;                    /* never sent: a late packet in its place */
	len = 64;
	CHECK(srtpx_protect_rtp(s, p, &len, sizeof p) == SRTPX_OK);
	p[3] = 9;
	len = 64;
	CHECK(srtpx_protect_rtp(s, p, &len, sizeof p) == SRTPX_E_REPLAY);
	p[3] = 11;
	len = 64;
	CHECK(srtpx_protect_rtp(s, p, &len, 64 + 10) == SRTPX_E_BAD); /* no room */
	p[0] = 0x90;                 /* an extension claiming 255 words */
	p[12] = 0xbe, p[13] = 0xde, p[14] = 0, p[15] = 255;
	len = 64;
	CHECK(srtpx_protect_rtp(s, p, &len, sizeof p) == SRTPX_E_BAD && len == 64);
	p[0] = 0x40;                 /* RTP version 1 */
	CHECK(srtpx_protect_rtp(s, p, &len, sizeof p) == SRTPX_E_BAD);
	p[0] = 0x80;
	CHECK(srtpx_protect_rtp(s, p, &len, sizeof p) == SRTPX_OK);
	k.salt_len = 4;              /* keys that fit no profile */
	CHECK(srtpx_create(&k) == NULL);
	srtpx_free(s);
}

/* Two srtpx sessions with swapped keys talk to each other, RTP and RTCP. */
static void test_pair(enum dtls_srtp_profile profile)
{
	struct dtls_srtp_keys a = { .profile = profile, .key_len = 16 }, b;
	a.salt_len = profile == DTLS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
	fill(a.local, sizeof a.local);
	fill(a.remote, sizeof a.remote);
	b = a;
	memcpy(b.local, a.remote, sizeof b.local);
	memcpy(b.remote, a.local, sizeof b.remote);
	srtpx *sa = srtpx_create(&a), *sb = srtpx_create(&b);
	CHECK(sa && sb);
	uint8_t p[100 + SRTPX_TRAILER] = { 0x80, 111, 0xff, 0xfe, 0, 0, 0, 0, 9, 9, 9, 9 };
	for (int i = 0; i < 4; i++) {
		p[2] = (uint8_t)((0xfffe + i) >> 8 & 0xff);
		p[3] = (uint8_t)(0xfffe + i);
		memset(p + 12, i, 88);
		size_t len = 100;
		CHECK(srtpx_protect_rtp(sa, p, &len, sizeof p) == SRTPX_OK);
		CHECK(srtpx_unprotect_rtp(sb, p, &len) == SRTPX_OK && len == 100 && p[99] == i);
	}
	uint8_t rr[8 + SRTPX_TRAILER] = { 0x80, 201, 0, 1, 0, 0, 0, 42 };
	size_t len = 8;
	CHECK(srtpx_protect_rtcp(sa, rr, &len, sizeof rr) == SRTPX_OK);
	CHECK(srtpx_unprotect_rtcp(sb, rr, &len) == SRTPX_OK && len == 8 && rr[7] == 42);
	srtpx_free(sa);
	srtpx_free(sb);
}

/* ---- SRTCP against libsrtp2 --------------------------------------------------------- */

#define RTCP_BUF (4 * 64 + SRTPX_TRAILER)

/* A random compound-looking RTCP packet: header with an SSRC, 8 to 256 bytes. */
static size_t make_rtcp(uint8_t *p, uint32_t ssrc)
{
	size_t words = 1 + below(63);
	fill(p, 4 * (words + 1));
	p[0] = (uint8_t)(0x80 | below(32));
	p[1] = (uint8_t)(200 + below(5));
	p[2] = (uint8_t)(words >> 8);
	p[3] = (uint8_t)words;
	for (int i = 0; i < 4; i++)
		p[4 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	return 4 * (words + 1);
}

struct rtcp_run {
	srtpx *ours;
	struct dtls_srtp_keys k;
	srtp_t ref_out, ref_rx;   /* libsrtp2 on our local key: protect, unprotect */
	srtp_t peer_out;          /* libsrtp2 on our remote key: what the peer sends */
	size_t overhead;
};

static bool rtcp_open(enum dtls_srtp_profile profile, struct rtcp_run *r)
{
	bool gcm = profile == DTLS_SRTP_AEAD_AES_128_GCM;
	memset(r, 0, sizeof *r);
	r->k.profile = profile;
	r->k.key_len = 16;
	r->k.salt_len = gcm ? 12 : 14;
	fill(r->k.local, sizeof r->k.local);
	fill(r->k.remote, sizeof r->k.remote);
	uint8_t a[32], b[32], c[32];
	memcpy(a, r->k.local, 32);
	memcpy(b, r->k.local, 32);
	memcpy(c, r->k.remote, 32);
	r->ours = srtpx_create(&r->k);
	r->ref_out = raw_session(profile, a, ssrc_any_outbound);
	r->ref_rx = raw_session(profile, b, ssrc_any_inbound);
	r->peer_out = raw_session(profile, c, ssrc_any_outbound);
	r->overhead = 4 + (gcm ? 16 : 10);
	CHECK(r->ours && r->ref_out && r->ref_rx && r->peer_out);
	return r->ours && r->ref_out && r->ref_rx && r->peer_out;
}

static void rtcp_close(struct rtcp_run *r)
{
	srtpx_free(r->ours);
	srtp_dealloc(r->ref_out);
	srtp_dealloc(r->ref_rx);
	srtp_dealloc(r->peer_out);
}

/*
 * Ours protects what libsrtp2 protects, byte for byte (so the same index
 * sequence from 1), libsrtp2 opens it, a flipped bit anywhere fails there;
 * the reverse way ours opens libsrtp2's, refuses it tampered and refuses it
 * again. 600 packets each way cover indexes with every bit of the low byte.
 * Byte equality needs one SSRC (libsrtp2 counts per SSRC, ours per
 * session); from three SSRCs both sides must still open everything.
 */
static void test_rtcp(enum dtls_srtp_profile profile)
{
	struct rtcp_run r;
	if (!rtcp_open(profile, &r))
		return;
	int same = 0, opened = 0, ours_opened = 0;
	const int n = 600;
	for (int i = 0; i < 2 * n; i++) {
		uint8_t clear[RTCP_BUF], a[RTCP_BUF], b[RTCP_BUF];
		size_t len = make_rtcp(clear, 0x10000 + (i < n ? 0 : (uint32_t)below(3)));
		memcpy(a, clear, len);
		memcpy(b, clear, len);
		size_t alen = len;
		int blen = (int)len;
		CHECK(srtpx_protect_rtcp(r.ours, a, &alen, sizeof a) == SRTPX_OK);
		CHECK(srtp_protect_rtcp(r.ref_out, b, &blen) == srtp_err_status_ok);
		CHECK(alen == len + r.overhead);
		same += i < n && (size_t)blen == alen && memcmp(a, b, alen) == 0;
		uint8_t bad[RTCP_BUF];
		memcpy(bad, a, alen);
		bad[below((uint32_t)alen)] ^= (uint8_t)(1u << below(8));
		int m = (int)alen;
		CHECK(srtp_unprotect_rtcp(r.ref_rx, bad, &m) != srtp_err_status_ok);
		m = (int)alen;
		opened += srtp_unprotect_rtcp(r.ref_rx, a, &m) == srtp_err_status_ok &&
			  (size_t)m == len && memcmp(a, clear, len) == 0;
		/* The reverse: the peer's libsrtp2 to us. */
		memcpy(b, clear, len);
		blen = (int)len;
		CHECK(srtp_protect_rtcp(r.peer_out, b, &blen) == srtp_err_status_ok);
		memcpy(bad, b, (size_t)blen);
		bad[below((uint32_t)blen)] ^= (uint8_t)(1u << below(8));
		size_t blen2 = (size_t)blen;
		int rc = srtpx_unprotect_rtcp(r.ours, bad, &blen2);
		CHECK(rc == SRTPX_E_AUTH || rc == SRTPX_E_REPLAY);
		uint8_t copy[RTCP_BUF];
		memcpy(copy, b, (size_t)blen);
		blen2 = (size_t)blen;
		ours_opened += srtpx_unprotect_rtcp(r.ours, b, &blen2) == SRTPX_OK && blen2 == len &&
			       memcmp(b, clear, len) == 0;
		blen2 = (size_t)blen;
		CHECK(srtpx_unprotect_rtcp(r.ours, copy, &blen2) == SRTPX_E_REPLAY);
	}
	CHECK(same == n && opened == 2 * n && ours_opened == 2 * n);
	printf("SRTCP %s: %d/%d identical to libsrtp2, %d/%d opened there, %d of libsrtp2's opened\n",
	       profile == DTLS_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80",
	       same, n, opened, 2 * n, ours_opened);
	/* A fifth SSRC finds no window (0x10000 to 0x10002 and one more hold them). */
	uint8_t p[RTCP_BUF];
	for (uint32_t ssrc = 0x20000; ssrc < 0x20002; ssrc++) {
		int m = (int)make_rtcp(p, ssrc);
		CHECK(srtp_protect_rtcp(r.peer_out, p, &m) == srtp_err_status_ok);
		size_t got = (size_t)m;
		CHECK(srtpx_unprotect_rtcp(r.ours, p, &got) == (ssrc == 0x20000 ? SRTPX_OK : SRTPX_E_BAD));
	}
	CHECK(!srtpx_receives_rtp(r.ours)); /* RTCP alone never makes a libsrtp2 session */
	rtcp_close(&r);
}

/*
 * The replay window on reordered packets from libsrtp2: late ones within 64
 * open once, those further back are refused, as is the same one twice.
 */
static void test_rtcp_window(enum dtls_srtp_profile profile)
{
	struct rtcp_run r;
	if (!rtcp_open(profile, &r))
		return;
	enum { N = 100 };
	static uint8_t pkts[N][RTCP_BUF];
	size_t lens[N];
	for (int i = 0; i < N; i++) {  /* indexes 1 to 100 */
		int m = (int)make_rtcp(pkts[i], 77);
		CHECK(srtp_protect_rtcp(r.peer_out, pkts[i], &m) == srtp_err_status_ok);
		lens[i] = (size_t)m;
	}
	static const struct { int i, rc; } order[] = {
		{ 9, SRTPX_OK }, { 4, SRTPX_OK }, { 99, SRTPX_OK }, { 98, SRTPX_OK },
		{ 40, SRTPX_OK },                 /* 60 behind: within the window */
		{ 9, SRTPX_E_REPLAY },            /* 90 behind: too old to know */
		{ 35, SRTPX_E_REPLAY },           /* 64 behind */
		{ 36, SRTPX_OK },                 /* 63 behind */
		{ 36, SRTPX_E_REPLAY }, { 99, SRTPX_E_REPLAY }, { 40, SRTPX_E_REPLAY },
	};
	for (size_t k = 0; k < RS_ARRAY_LEN(order); k++) {
		uint8_t p[RTCP_BUF];
		size_t len = lens[order[k].i];
		memcpy(p, pkts[order[k].i], len);
		int rc = srtpx_unprotect_rtcp(r.ours, p, &len);
		CHECK(rc == order[k].rc);
		if (rc != order[k].rc)
			fprintf(stderr, "window step %zu: index %d gave %d\n", k, order[k].i + 1, rc);
	}
	rtcp_close(&r);
}

/*
 * The index space's end: the last indexes (up to 2^31 - 1) go out and open
 * in libsrtp2, then protect refuses rather than wrap to a used index.
 */
static void test_rtcp_index_end(enum dtls_srtp_profile profile)
{
	struct rtcp_run r;
	if (!rtcp_open(profile, &r))
		return;
	srtpx_set_rtcp_index(r.ours, 0x7ffffffd);
	uint8_t p[RTCP_BUF];
	for (uint32_t want = 0x7ffffffe; want != 0x80000000u; want++) {
		size_t len = make_rtcp(p, 5);
		CHECK(srtpx_protect_rtcp(r.ours, p, &len, sizeof p) == SRTPX_OK);
		uint8_t *trailer = p + len - (profile == DTLS_SRTP_AEAD_AES_128_GCM ? 4 : 14);
		CHECK(((uint32_t)trailer[0] << 24 | trailer[1] << 16 | trailer[2] << 8 | trailer[3]) ==
		      (0x80000000u | want));
		int m = (int)len;
		CHECK(srtp_unprotect_rtcp(r.ref_rx, p, &m) == srtp_err_status_ok);
	}
	size_t len = make_rtcp(p, 5);
	CHECK(srtpx_protect_rtcp(r.ours, p, &len, sizeof p) == SRTPX_E_LIMIT);
	rtcp_close(&r);
}

/* RFC 3711 section 3.4: the E flag clear, authenticated only (libsrtp2 with auth-only RTCP). */
static void test_rtcp_unencrypted(void)
{
	struct rtcp_run r;
	if (!rtcp_open(DTLS_SRTP_AES128_CM_SHA1_80, &r))
		return;
	srtp_policy_t pol;
	uint8_t key[32];
	memcpy(key, r.k.remote, 32);
	srtpx_policy(&pol, DTLS_SRTP_AES128_CM_SHA1_80, key, ssrc_any_outbound);
	pol.rtcp.sec_serv = sec_serv_auth;
	srtp_t peer;
	CHECK(srtp_create(&peer, &pol) == srtp_err_status_ok);
	uint8_t clear[RTCP_BUF], p[RTCP_BUF];
	size_t len = make_rtcp(clear, 9);
	memcpy(p, clear, len);
	int m = (int)len;
	CHECK(srtp_protect_rtcp(peer, p, &m) == srtp_err_status_ok);
	CHECK(m > 0 && !(p[m - 14] & 0x80) && memcmp(p, clear, len) == 0);
	uint8_t bad[RTCP_BUF];
	memcpy(bad, p, (size_t)m);
	bad[20] ^= 4;
	size_t n = (size_t)m;
	CHECK(srtpx_unprotect_rtcp(r.ours, bad, &n) == SRTPX_E_AUTH);
	n = (size_t)m;
	CHECK(srtpx_unprotect_rtcp(r.ours, p, &n) == SRTPX_OK && n == len && memcmp(p, clear, len) == 0);
	srtp_dealloc(peer);
	rtcp_close(&r);
}

/* Short or truncated SRTCP is malformed, never read past its end. */
static void test_rtcp_short(enum dtls_srtp_profile profile)
{
	struct rtcp_run r;
	if (!rtcp_open(profile, &r))
		return;
	uint8_t p[RTCP_BUF] = { 0x80, 201, 0, 1, 0, 0, 0, 5 };
	for (size_t len = 0; len < 8 + r.overhead; len++) {
		size_t n = len;
		CHECK(srtpx_unprotect_rtcp(r.ours, p, &n) == SRTPX_E_BAD);
	}
	size_t n = 4;
	CHECK(srtpx_protect_rtcp(r.ours, p, &n, sizeof p) == SRTPX_E_BAD);
	n = 8;
	CHECK(srtpx_protect_rtcp(r.ours, p, &n, 8 + 10) == SRTPX_E_BAD); /* no room */
	rtcp_close(&r);
}

/* Random bytes of every length are refused without reading past them (the ASan build checks). */
static void test_rtcp_garbage(enum dtls_srtp_profile profile)
{
	struct rtcp_run r;
	if (!rtcp_open(profile, &r))
		return;
	int refused = 0;
	for (int i = 0; i < 5000; i++) {
		size_t len = below(300);
		uint8_t *p = malloc(len ? len : 1);
		fill(p, len);
		refused += srtpx_unprotect_rtcp(r.ours, p, &len) != SRTPX_OK;
		free(p);
	}
	CHECK(refused == 5000);
	rtcp_close(&r);
}

/* The libsrtp2 session for received RTP exists only after the first such packet. */
static void test_lazy_rtp_in(enum dtls_srtp_profile profile)
{
	struct rtcp_run r;
	if (!rtcp_open(profile, &r))
		return;
	CHECK(!srtpx_receives_rtp(r.ours));
	uint8_t key[32];
	memcpy(key, r.k.remote, 32);
	srtp_t peer_rtp = raw_session(profile, key, ssrc_any_outbound);
	uint8_t clear[BUF], p[BUF];
	size_t hdr, len = make_packet(clear, 1000, 0xabc, &hdr);
	memcpy(p, clear, len);
	int m = (int)len;
	CHECK(srtp_protect(peer_rtp, p, &m) == srtp_err_status_ok);
	size_t n = (size_t)m;
	CHECK(srtpx_unprotect_rtp(r.ours, p, &n) == SRTPX_OK && n == len &&
	      memcmp(p, clear, len) == 0);
	CHECK(srtpx_receives_rtp(r.ours));
	srtp_dealloc(peer_rtp);
	rtcp_close(&r);
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5a17c0de2026ULL;
	printf("seed 0x%llx\n", (unsigned long long)seed);
	rng_state = seed ? seed : 1;
	CHECK(srtpx_init() == SRTPX_OK);
	static const enum dtls_srtp_profile profiles[] = { DTLS_SRTP_AES128_CM_SHA1_80,
							   DTLS_SRTP_AEAD_AES_128_GCM };
	for (size_t i = 0; i < 2; i++) {
		test_profile(profiles[i]);
		test_late(profiles[i]);
		test_refusals(profiles[i]);
		test_pair(profiles[i]);
		test_rtcp(profiles[i]);
		test_rtcp_window(profiles[i]);
		test_rtcp_index_end(profiles[i]);
		test_rtcp_short(profiles[i]);
		test_rtcp_garbage(profiles[i]);
		test_lazy_rtp_in(profiles[i]);
	}
	test_rtcp_unencrypted();
	int rc = check_done();
	if (rc)
		printf("failed with seed 0x%llx\n", (unsigned long long)seed);
	return rc;
}
