#include "srtpx.h"

#include "bytes.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/modes.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

/*
 * Outbound RTP, the fan-out hot path, is protected here with OpenSSL: one
 * packet per listener per 20 ms, each listener with its own keys. Debian's
 * libsrtp2 is built on NSS and holds about 30 KB per session (two per
 * srtpx), so at hundreds of listeners every protect misses the cache and
 * costs several microseconds. The state below is under 200 bytes plus
 * about 1 KB of OpenSSL contexts, keyed once. SRTCP both ways is here too
 * (a report each way every few seconds per listener, which libsrtp2 on
 * NSS made tens of microseconds each), on bare session keys and contexts
 * shared by every session. Only received RTP, from the few who speak,
 * goes through libsrtp2, in a session made when the first packet comes.
 *
 * OpenSSL 3.0's EVP layer costs more per call than AES on a 100-byte packet
 * does, so the hot path makes as few calls as it can: counter blocks are
 * built here and encrypted by one ECB call (re-initialising a CTR context's
 * IV costs more than that), and GCM uses the CRYPTO_gcm128 functions of
 * <openssl/modes.h> with that ECB context as its block cipher rather than
 * an EVP GCM context, whose per-packet IV, AAD, final and tag calls cost
 * about 0.6 us together.
 */

#define KEY_LEN 16      /* both profiles use AES-128 */
#define CM_SALT_LEN 14  /* RFC 3711 section 8.2 */
#define GCM_SALT_LEN 12 /* RFC 7714 section 12 */
#define AUTH_KEY_LEN 20 /* RFC 3711 section 8.2: n_a = 160 */
#define CM_TAG_LEN 10   /* HMAC-SHA1 truncated to 80 bits */
#define GCM_TAG_LEN 16  /* RFC 7714 section 14.2 */
#define SHA1_BLOCK 64
#define SHA1_LEN 20
#define KS_BLOCKS 32    /* keystream made per pass: 512 bytes on the stack */

/* RFC 3711 section 4.3.1 key derivation labels, SRTP then SRTCP. */
enum { LABEL_CIPHER = 0x00, LABEL_AUTH = 0x01, LABEL_SALT = 0x02,
       LABEL_RTCP_CIPHER = 0x03, LABEL_RTCP_AUTH = 0x04, LABEL_RTCP_SALT = 0x05 };

#define SRTCP_E 0x80000000u         /* RFC 3711 section 3.4: the E flag before the index */
#define SRTCP_INDEX_MAX 0x7fffffffu /* 31 bits; rekeying is due before it would wrap */

/*
 * What this endpoint sends over RTP. Owned: the OpenSSL contexts. The
 * session keys live in them and in the HMAC pads; the session salt is kept
 * because every packet's IV is built from it.
 */
struct srtpx_tx {
	enum dtls_srtp_profile profile;
	EVP_CIPHER_CTX *ecb;    /* AES-128-ECB with the session key: the counter-mode keystream */
	EVP_MD_CTX *sha1;       /* AES-CM: HMAC's two hashes, one after the other */
	GCM128_CONTEXT *gcm;    /* AEAD: GHASH key and state; blocks through ecb */
	uint8_t salt[CM_SALT_LEN];
	uint8_t pads[2][SHA1_BLOCK]; /* AES-CM: k_a XOR ipad, k_a XOR opad (RFC 2104 section 2) */
	/* The one SSRC sent (RFC 3711 section 3.3.1: the sender keeps ROC and the last SEQ). */
	bool started;
	uint32_t ssrc, roc;
	uint16_t seq;           /* the highest sequence number sent */
	uint64_t sent;          /* bit k: index seq - k was sent (the 64 before it, too) */
};

/*
 * SRTCP one way: the session keys only (RFC 3711 section 4.3.2, labels 3 to
 * 5). A listener sends and receives a report every few seconds, so each
 * packet keys a context shared by all sessions (AES key expansion is tens
 * of nanoseconds) rather than every session holding its own contexts.
 */
struct srtcp_keys {
	uint8_t k_e[KEY_LEN];
	uint8_t k_a[AUTH_KEY_LEN];  /* AES-CM only */
	uint8_t salt[CM_SALT_LEN];  /* GCM uses the first 12 bytes */
};

/*
 * What was received from one SSRC over SRTCP: each sender numbers its own
 * packets (RFC 3711 section 3.2.3: a context per SSRC), libsrtp2 and so
 * Chromium included. A browser sending audio reports from one or two.
 */
#define RTCP_SOURCES 4
struct rtcp_window {
	bool used;
	uint32_t ssrc;
	uint32_t top;                /* the highest SRTCP index received */
	uint64_t bits;               /* bit k: index top - k was received */
};

/*
 * Owned: tx's contexts, and the libsrtp2 session for received RTP, which
 * exists only once RTP has come (a listener never sends any): Debian's
 * libsrtp2 is built on NSS and holds about 30 KB per session.
 */
struct srtpx {
	struct srtpx_tx tx;          /* what this endpoint sends over RTP */
	enum dtls_srtp_profile profile;
	struct srtcp_keys rtcp_out;  /* what it sends over RTCP, from the local keys */
	struct srtcp_keys rtcp_in;   /* what it receives over RTCP, from the remote keys */
	uint32_t rtcp_sent;          /* the last SRTCP index sent (the first is 1, as libsrtp2's) */
	struct rtcp_window rtcp_rx[RTCP_SOURCES];
	srtp_t in;                   /* libsrtp2: RTP received, created with its first packet */
	uint8_t remote[32];          /* the remote master key and salt, until in exists */
};

int srtpx_init(void)
{
	static int done;
	if (!done && srtp_init() != srtp_err_status_ok)
		return SRTPX_E_INIT;
	done = 1;
	return SRTPX_OK;
}

/* ---- outbound RTP ---------------------------------------------------------------- */

/* n AES blocks from in to out with the session key (ECB: the keystream's counters). */
static int aes_blocks(EVP_CIPHER_CTX *ecb, const uint8_t *in, uint8_t *out, size_t n)
{
	int got;
	return EVP_EncryptUpdate(ecb, out, &got, in, (int)(16 * n)) == 1 && got == (int)(16 * n);
}

/*
 * A keyed ECB context cannot fail to encrypt; if it ever did, carrying on
 * would send a zero keystream, so that broken invariant aborts.
 */
static void aes_or_abort(EVP_CIPHER_CTX *ecb, const uint8_t *in, uint8_t *out, size_t n)
{
	if (!aes_blocks(ecb, in, out, n))
		abort();
}

/* The block function the GCM code calls for H and E(K, Y0). */
static void gcm_block(const unsigned char in[16], unsigned char out[16], const void *key)
{
	aes_or_abort((EVP_CIPHER_CTX *)key, in, out, 1);
}

/*
 * The GCM code's counter mode (32-bit counter in the last word, NIST SP
 * 800-38D section 6.5), as one ECB call over a run of counter blocks.
 */
static void gcm_ctr32(const unsigned char *in, unsigned char *out, size_t blocks,
		      const void *key, const unsigned char ivec[16])
{
	uint8_t ks[KS_BLOCKS * 16];
	uint32_t ctr = get32(ivec + 12);
	while (blocks) {
		size_t n = blocks < KS_BLOCKS ? blocks : KS_BLOCKS;
		for (size_t b = 0; b < n; b++) {
			memcpy(ks + 16 * b, ivec, 12);
			put32(ks + 16 * b + 12, ctr++);
		}
		aes_or_abort((EVP_CIPHER_CTX *)key, ks, ks, n);
		for (size_t i = 0; i < 16 * n; i++)
			out[i] = in[i] ^ ks[i];
		in += 16 * n;
		out += 16 * n;
		blocks -= n;
	}
}

/*
 * AES in counter mode from a 16-byte IV whose low 16 bits are zero (RFC 3711
 * section 4.1.1): block j is E(k, IV + j), so j simply fills the last two
 * bytes. XORs len bytes of buf in place; len < 2^20 bytes, far above an MTU.
 */
static bool aes_cm(EVP_CIPHER_CTX *ecb, const uint8_t iv[16], uint8_t *buf, size_t len)
{
	uint8_t ks[KS_BLOCKS * 16];
	uint32_t j = 0;
	while (len) {
		size_t n = (len + 15) / 16 < KS_BLOCKS ? (len + 15) / 16 : KS_BLOCKS;
		for (size_t b = 0; b < n; b++, j++) {
			memcpy(ks + 16 * b, iv, 14);
			put16(ks + 16 * b + 14, (uint16_t)j);
		}
		if (!aes_blocks(ecb, ks, ks, n))
			return false;
		size_t m = len < 16 * n ? len : 16 * n;
		for (size_t i = 0; i < m; i++)
			buf[i] ^= ks[i];
		buf += m;
		len -= m;
	}
	return true;
}

/*
 * RFC 3711 section 4.3.1 with kdr = 0: x = label << 48 XOR master salt, the
 * label landing in the eighth of the salt's 14 bytes; AES-CM under the
 * master key from IV x * 2^16 gives the session value. RFC 7714 section 11
 * keeps this PRF for its 12-byte salt, which is the top 96 of the 112 bits.
 */
static bool derive(EVP_CIPHER_CTX *master, const uint8_t *salt, size_t salt_len, uint8_t label,
		   uint8_t *out, size_t len)
{
	uint8_t iv[16] = { 0 };
	memcpy(iv, salt, salt_len);
	iv[7] ^= label;
	memset(out, 0, len);
	return aes_cm(master, iv, out, len);
}

static EVP_CIPHER_CTX *ecb_new(const uint8_t key[KEY_LEN])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (c && EVP_EncryptInit_ex(c, EVP_aes_128_ecb(), NULL, key, NULL) == 1 &&
	    EVP_CIPHER_CTX_set_padding(c, 0) == 1)
		return c;
	EVP_CIPHER_CTX_free(c);
	return NULL;
}

/* k_a XOR ipad, k_a XOR opad (RFC 2104 section 2). */
static void hmac_pads(uint8_t pads[2][SHA1_BLOCK], const uint8_t k_a[AUTH_KEY_LEN])
{
	for (int p = 0; p < 2; p++) {
		memset(pads[p], p ? 0x5c : 0x36, SHA1_BLOCK);
		for (size_t i = 0; i < AUTH_KEY_LEN; i++)
			pads[p][i] ^= k_a[i];
	}
}

static void tx_free(struct srtpx_tx *t)
{
	EVP_CIPHER_CTX_free(t->ecb);
	EVP_MD_CTX_free(t->sha1);
	if (t->gcm)
		CRYPTO_gcm128_release(t->gcm);
	OPENSSL_cleanse(t, sizeof *t);
}

/* Session keys from the master key and salt (keys->local); false on an OpenSSL failure. */
static bool tx_init(struct srtpx_tx *t, const struct dtls_srtp_keys *keys)
{
	bool gcm = keys->profile == DTLS_SRTP_AEAD_AES_128_GCM;
	size_t salt_len = gcm ? GCM_SALT_LEN : CM_SALT_LEN;
	if (keys->key_len != KEY_LEN || keys->salt_len != salt_len)
		return false;
	t->profile = keys->profile;
	uint8_t k_e[KEY_LEN], k_a[AUTH_KEY_LEN];
	const uint8_t *salt = keys->local + KEY_LEN;
	EVP_CIPHER_CTX *master = ecb_new(keys->local);
	bool ok = master && derive(master, salt, salt_len, LABEL_CIPHER, k_e, sizeof k_e) &&
		  derive(master, salt, salt_len, LABEL_SALT, t->salt, salt_len) &&
		  (gcm || derive(master, salt, salt_len, LABEL_AUTH, k_a, sizeof k_a));
	EVP_CIPHER_CTX_free(master);
	if (ok && (t->ecb = ecb_new(k_e)) == NULL)
		ok = false;
	if (ok && gcm) {
		t->gcm = CRYPTO_gcm128_new(t->ecb, gcm_block);
		ok = t->gcm != NULL;
	} else if (ok) {
		t->sha1 = EVP_MD_CTX_new();
		ok = t->sha1 && EVP_DigestInit_ex(t->sha1, EVP_sha1(), NULL) == 1;
		hmac_pads(t->pads, k_a);
	}
	OPENSSL_cleanse(k_e, sizeof k_e);
	OPENSSL_cleanse(k_a, sizeof k_a);
	return ok;
}

/*
 * The index of the packet about to be sent (RFC 3711 section 3.3.1): the
 * ROC goes up when SEQ wraps past the highest sent. Reusing an index would
 * reuse keystream (and in GCM an IV, which forfeits authenticity, RFC 7714
 * section 8.1), so an index already sent, or one too far back to know, is
 * refused; a late packet the room stream forwards in its place (up to 63
 * behind) goes out with the ROC of its own side of a wrap. A new SSRC
 * starts over at ROC 0, as a receiver learning it does.
 */
static bool tx_index(struct srtpx_tx *t, uint32_t ssrc, uint16_t seq, uint32_t *roc)
{
	if (!t->started || ssrc != t->ssrc) {
		t->started = true;
		t->ssrc = ssrc;
		t->roc = 0;
		t->seq = seq;
		t->sent = 1;
		*roc = 0;
		return true;
	}
	int16_t ahead = (int16_t)(uint16_t)(seq - t->seq);
	if (ahead <= 0) {
		int back = -ahead;
		if (back >= 64 || (t->sent >> back & 1) || (seq > t->seq && t->roc == 0))
			return false;
		t->sent |= 1ull << back;
		*roc = seq > t->seq ? t->roc - 1 : t->roc; /* from before the last wrap */
		return true;
	}
	if (seq < t->seq)
		t->roc++;
	t->sent = ahead >= 64 ? 1 : t->sent << ahead | 1;
	t->seq = seq;
	*roc = t->roc;
	return true;
}

/*
 * RFC 3711 section 4.2: the first 80 bits of HMAC-SHA1(k_a, packet || ROC).
 * The pads are hashed again for every packet, one more SHA-1 block each
 * way: copying pre-fed EVP_MD_CTXs measured no faster, EVP_MAC re-init no
 * faster either, EVP_MAC_CTX_dup twice as slow. In OpenSSL 3.0 each of
 * these allocates the provider's small SHA-1 state per hash (here two per
 * packet, from the allocator's per-thread cache); only the deprecated
 * SHA1_* functions avoid it. The GCM path allocates nothing.
 */
static bool hmac80(EVP_MD_CTX *sha1, const uint8_t pads[2][SHA1_BLOCK], const uint8_t *data,
		   size_t len, uint8_t out[CM_TAG_LEN])
{
	uint8_t inner[SHA1_BLOCK + SHA1_LEN], outer[SHA1_LEN]; /* opad block || inner hash */
	unsigned int n;
	memcpy(inner, pads[1], SHA1_BLOCK);
	if (EVP_DigestInit_ex(sha1, NULL, NULL) != 1 ||
	    EVP_DigestUpdate(sha1, pads[0], SHA1_BLOCK) != 1 ||
	    EVP_DigestUpdate(sha1, data, len) != 1 ||
	    EVP_DigestFinal_ex(sha1, inner + SHA1_BLOCK, &n) != 1 ||
	    EVP_DigestInit_ex(sha1, NULL, NULL) != 1 ||
	    EVP_DigestUpdate(sha1, inner, sizeof inner) != 1 ||
	    EVP_DigestFinal_ex(sha1, outer, &n) != 1)
		return false;
	memcpy(out, outer, CM_TAG_LEN);
	return true;
}

static bool cm_tag(struct srtpx_tx *t, uint8_t *pkt, size_t len, uint32_t roc)
{
	put32(pkt + len, roc); /* in the trailer room, so one update takes packet and ROC */
	return hmac80(t->sha1, (const uint8_t(*)[SHA1_BLOCK])t->pads, pkt, len + 4, pkt + len);
}

/*
 * RFC 3711 section 4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16),
 * i = ROC * 2^16 + SEQ; the payload is encrypted, then header and payload
 * and ROC are authenticated (section 3.3).
 */
static bool cm_protect(struct srtpx_tx *t, uint8_t *pkt, size_t hdr, size_t *len, uint32_t roc)
{
	uint8_t iv[16] = { 0 };
	memcpy(iv, t->salt, CM_SALT_LEN);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= pkt[8 + i];             /* SSRC */
	uint8_t r[4];
	put32(r, roc);
	for (int i = 0; i < 4; i++)
		iv[8 + i] ^= r[i];                   /* ROC */
	iv[12] ^= pkt[2];                            /* SEQ */
	iv[13] ^= pkt[3];
	if (!aes_cm(t->ecb, iv, pkt + hdr, *len - hdr) || !cm_tag(t, pkt, *len, roc))
		return false;
	*len += CM_TAG_LEN;
	return true;
}

/*
 * RFC 7714 section 8.1: IV = salt XOR (00 00 || SSRC || ROC || SEQ); the
 * header is the associated data and the payload is encrypted (section 8.2);
 * the 16-byte tag follows.
 */
static bool gcm_protect(struct srtpx_tx *t, uint8_t *pkt, size_t hdr, size_t *len, uint32_t roc)
{
	uint8_t iv[GCM_SALT_LEN] = { 0 };
	memcpy(iv + 2, pkt + 8, 4);
	put32(iv + 6, roc);
	memcpy(iv + 10, pkt + 2, 2);
	for (size_t i = 0; i < GCM_SALT_LEN; i++)
		iv[i] ^= t->salt[i];
	CRYPTO_gcm128_setiv(t->gcm, iv, sizeof iv);
	if (CRYPTO_gcm128_aad(t->gcm, pkt, hdr) != 0 ||
	    CRYPTO_gcm128_encrypt_ctr32(t->gcm, pkt + hdr, pkt + hdr, *len - hdr, gcm_ctr32) != 0)
		return false;
	CRYPTO_gcm128_tag(t->gcm, pkt + *len, GCM_TAG_LEN);
	*len += GCM_TAG_LEN;
	return true;
}

/* RFC 3550 section 5.1 header length (CSRCs, extension), or 0 when it overruns len. */
static size_t rtp_header_len(const uint8_t *pkt, size_t len)
{
	if ((pkt[0] >> 6) != 2)
		return 0;
	size_t hdr = 12 + 4 * (size_t)(pkt[0] & 0x0f);
	if (pkt[0] & 0x10) {
		if (len < hdr + 4)
			return 0;
		hdr += 4 + 4 * (size_t)get16(pkt + hdr + 2);
	}
	return hdr <= len ? hdr : 0;
}

static int tx_protect(struct srtpx_tx *t, uint8_t *pkt, size_t *len)
{
	size_t hdr = rtp_header_len(pkt, *len);
	uint32_t roc;
	if (!hdr)
		return SRTPX_E_BAD;
	if (!tx_index(t, get32(pkt + 8), get16(pkt + 2), &roc))
		return SRTPX_E_REPLAY;
	bool ok = t->profile == DTLS_SRTP_AEAD_AES_128_GCM ? gcm_protect(t, pkt, hdr, len, roc)
							   : cm_protect(t, pkt, hdr, len, roc);
	return ok ? SRTPX_OK : SRTPX_E_BAD;
}

/* ---- SRTCP both ways (RFC 3711 section 3.4, RFC 7714 section 9) -------------------- */

/*
 * Contexts shared by every session's SRTCP, keyed per packet. The server
 * has one thread, as do the tests and the load generator that link this.
 */
static struct {
	EVP_CIPHER_CTX *ecb;     /* AES-128-ECB: AES-CM's keystream */
	EVP_CIPHER_CTX *gcm;     /* AES-128-GCM, either direction */
	EVP_MD_CTX *sha1;
} shared;

static bool shared_ready(void)
{
	if (shared.ecb)
		return true;
	static const uint8_t zero[KEY_LEN];
	shared.ecb = ecb_new(zero);
	shared.gcm = EVP_CIPHER_CTX_new();
	shared.sha1 = EVP_MD_CTX_new();
	if (shared.ecb && shared.gcm && shared.sha1 &&
	    EVP_DigestInit_ex(shared.sha1, EVP_sha1(), NULL) == 1 &&
	    EVP_CipherInit_ex(shared.gcm, EVP_aes_128_gcm(), NULL, NULL, NULL, 1) == 1)
		return true;
	EVP_CIPHER_CTX_free(shared.ecb);
	EVP_CIPHER_CTX_free(shared.gcm);
	EVP_MD_CTX_free(shared.sha1);
	shared.ecb = shared.gcm = NULL;
	shared.sha1 = NULL;
	return false;
}

/* SRTCP session keys from a master key and salt (labels 3, 4, 5). */
static bool rtcp_keys(struct srtcp_keys *k, const uint8_t *master, enum dtls_srtp_profile p)
{
	bool gcm = p == DTLS_SRTP_AEAD_AES_128_GCM;
	size_t salt_len = gcm ? GCM_SALT_LEN : CM_SALT_LEN;
	EVP_CIPHER_CTX *m = ecb_new(master);
	bool ok = m && derive(m, master + KEY_LEN, salt_len, LABEL_RTCP_CIPHER, k->k_e, KEY_LEN) &&
		  derive(m, master + KEY_LEN, salt_len, LABEL_RTCP_SALT, k->salt, salt_len) &&
		  (gcm || derive(m, master + KEY_LEN, salt_len, LABEL_RTCP_AUTH, k->k_a, AUTH_KEY_LEN));
	EVP_CIPHER_CTX_free(m);
	return ok;
}

/*
 * AES-CM over buf (RFC 3711 section 4.1.1): IV = (k_s * 2^16) XOR (SSRC *
 * 2^64) XOR (index * 2^16), the 31-bit SRTCP index in bytes 10 to 13.
 */
static bool rtcp_cm_crypt(const struct srtcp_keys *k, const uint8_t *pkt, uint32_t index,
			  uint8_t *buf, size_t len)
{
	uint8_t iv[16] = { 0 }, idx[4];
	memcpy(iv, k->salt, CM_SALT_LEN);
	for (int i = 0; i < 4; i++)
		iv[4 + i] ^= pkt[4 + i];
	put32(idx, index);
	for (int i = 0; i < 4; i++)
		iv[10 + i] ^= idx[i];
	return EVP_EncryptInit_ex(shared.ecb, NULL, NULL, k->k_e, NULL) == 1 &&
	       aes_cm(shared.ecb, iv, buf, len);
}

/* The 80-bit tag over the header, the (encrypted) body and E || index (section 3.4). */
static bool rtcp_cm_tag(const struct srtcp_keys *k, const uint8_t *data, size_t len,
			uint8_t out[CM_TAG_LEN])
{
	uint8_t pads[2][SHA1_BLOCK];
	hmac_pads(pads, k->k_a);
	bool ok = hmac80(shared.sha1, (const uint8_t(*)[SHA1_BLOCK])pads, data, len, out);
	OPENSSL_cleanse(pads, sizeof pads);
	return ok;
}

/* RFC 7714 section 9.1: IV = salt XOR (00 00 || SSRC || 00 00 || 0 || SRTCP index). */
static void rtcp_gcm_iv(const struct srtcp_keys *k, const uint8_t *pkt, uint32_t index,
			uint8_t iv[GCM_SALT_LEN])
{
	memset(iv, 0, GCM_SALT_LEN);
	memcpy(iv + 2, pkt + 4, 4);
	put32(iv + 8, index & SRTCP_INDEX_MAX);
	for (size_t i = 0; i < GCM_SALT_LEN; i++)
		iv[i] ^= k->salt[i];
}

/*
 * AEAD_AES_128_GCM one way (section 9.2): the associated data is the first
 * aad bytes of pkt then E || index (trailer); body[0..len) is encrypted or
 * decrypted in place. Sealing writes the tag; opening checks it.
 */
static bool rtcp_gcm(const struct srtcp_keys *k, bool seal, uint8_t *pkt, size_t aad,
		     const uint8_t trailer[4], uint8_t *body, size_t len, uint8_t tag[GCM_TAG_LEN])
{
	uint8_t iv[GCM_SALT_LEN];
	int n;
	rtcp_gcm_iv(k, pkt, get32(trailer), iv);
	EVP_CIPHER_CTX *c = shared.gcm;
	bool ok = EVP_CipherInit_ex(c, NULL, NULL, k->k_e, iv, seal) == 1 &&
		  EVP_CipherUpdate(c, NULL, &n, pkt, (int)aad) == 1 &&
		  EVP_CipherUpdate(c, NULL, &n, trailer, 4) == 1 &&
		  (len == 0 || EVP_CipherUpdate(c, body, &n, body, (int)len) == 1);
	if (ok && !seal)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG_LEN, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, body + len, &n) == 1;
	if (ok && seal)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG_LEN, tag) == 1;
	ERR_clear_error();
	return ok;
}

/*
 * Section 3.4: the first 8 bytes stay clear, the rest is encrypted, then
 * E || index and the tag follow (for GCM the tag comes first, RFC 7714
 * section 9.1). Each packet takes the next index; none is ever reused.
 */
static int rtcp_protect(srtpx *s, uint8_t *pkt, size_t *len)
{
	if (!shared_ready())
		return SRTPX_E_INIT;
	if (s->rtcp_sent >= SRTCP_INDEX_MAX)
		return SRTPX_E_LIMIT;
	uint32_t index = ++s->rtcp_sent;
	uint8_t trailer[4];
	put32(trailer, SRTCP_E | index);
	size_t n = *len;
	bool ok;
	if (s->profile == DTLS_SRTP_AEAD_AES_128_GCM) {
		ok = rtcp_gcm(&s->rtcp_out, true, pkt, 8, trailer, pkt + 8, n - 8, pkt + n);
		memcpy(pkt + n + GCM_TAG_LEN, trailer, 4);
		*len = n + GCM_TAG_LEN + 4;
	} else {
		ok = rtcp_cm_crypt(&s->rtcp_out, pkt, index, pkt + 8, n - 8);
		memcpy(pkt + n, trailer, 4);
		ok = ok && rtcp_cm_tag(&s->rtcp_out, pkt, n + 4, pkt + n + 4);
		*len = n + 4 + CM_TAG_LEN;
	}
	return ok ? SRTPX_OK : SRTPX_E_BAD;
}

/*
 * The window of ssrc, or a free one for it; NULL when RTCP_SOURCES others
 * hold them all (a window is never recycled, which would let its old
 * packets be replayed).
 */
static struct rtcp_window *rtcp_window(srtpx *s, uint32_t ssrc)
{
	struct rtcp_window *free_one = NULL;
	for (int i = 0; i < RTCP_SOURCES; i++) {
		struct rtcp_window *w = &s->rtcp_rx[i];
		if (w->used && w->ssrc == ssrc)
			return w;
		if (!w->used && !free_one)
			free_one = w;
	}
	if (free_one)
		*free_one = (struct rtcp_window){ .ssrc = ssrc };
	return free_one;
}

/* Section 3.3.2: a 64-index window behind the highest index received. */
static bool rtcp_fresh(const struct rtcp_window *w, uint32_t index)
{
	if (!w->used || index > w->top)
		return true;
	uint32_t back = w->top - index;
	return back < 64 && !(w->bits >> back & 1);
}

static void rtcp_accept(struct rtcp_window *w, uint32_t index)
{
	if (!w->used || index > w->top) {
		uint32_t ahead = w->used ? index - w->top : 64;
		w->bits = ahead >= 64 ? 1 : w->bits << ahead | 1;
		w->top = index;
		w->used = true;
	} else {
		w->bits |= 1ull << (w->top - index);
	}
}

/* Checks the replay window and the tag before anything is decrypted or remembered. */
static int rtcp_unprotect(srtpx *s, uint8_t *pkt, size_t *len)
{
	bool gcm = s->profile == DTLS_SRTP_AEAD_AES_128_GCM;
	size_t tag_len = gcm ? GCM_TAG_LEN : CM_TAG_LEN;
	if (!shared_ready())
		return SRTPX_E_INIT;
	if (*len < 8 + 4 + tag_len)
		return SRTPX_E_BAD;
	size_t body = *len - 4 - tag_len;    /* header and payload, without the trailer */
	uint8_t *trailer = gcm ? pkt + *len - 4 : pkt + body;
	uint32_t word = get32(trailer), index = word & SRTCP_INDEX_MAX;
	bool encrypted = word & SRTCP_E;
	struct rtcp_window *w = rtcp_window(s, get32(pkt + 4));
	if (!w)
		return SRTPX_E_BAD;
	if (!rtcp_fresh(w, index))
		return SRTPX_E_REPLAY;
	if (gcm) {
		size_t aad = encrypted ? 8 : body;  /* unencrypted: the whole packet is authenticated */
		if (!rtcp_gcm(&s->rtcp_in, false, pkt, aad, trailer, pkt + aad, body - aad,
			      pkt + body))
			return SRTPX_E_AUTH;
	} else {
		uint8_t tag[CM_TAG_LEN];
		if (!rtcp_cm_tag(&s->rtcp_in, pkt, body + 4, tag))
			return SRTPX_E_BAD;
		if (CRYPTO_memcmp(tag, pkt + body + 4, CM_TAG_LEN) != 0)
			return SRTPX_E_AUTH;
		if (encrypted && !rtcp_cm_crypt(&s->rtcp_in, pkt, index, pkt + 8, body - 8))
			return SRTPX_E_BAD;
	}
	rtcp_accept(w, index);
	*len = body;
	return SRTPX_OK;
}

/* ---- libsrtp2: RTP in ---------------------------------------------------------------- */

void srtpx_policy(srtp_policy_t *p, enum dtls_srtp_profile profile, uint8_t *key,
		  srtp_ssrc_type_t dir)
{
	memset(p, 0, sizeof *p);
	if (profile == DTLS_SRTP_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
	} else {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
	}
	p->ssrc.type = dir;
	p->key = key;
	p->window_size = 1024;
	p->allow_repeat_tx = 0;
}

srtpx *srtpx_create(const struct dtls_srtp_keys *keys)
{
	srtpx *s = rs_calloc(1, sizeof *s);
	s->profile = keys->profile;
	memcpy(s->remote, keys->remote, sizeof s->remote);
	if (!tx_init(&s->tx, keys) || !rtcp_keys(&s->rtcp_out, keys->local, keys->profile) ||
	    !rtcp_keys(&s->rtcp_in, keys->remote, keys->profile)) {
		srtpx_free(s);
		return NULL;
	}
	return s;
}

void srtpx_free(srtpx *s)
{
	if (!s)
		return;
	tx_free(&s->tx);
	if (s->in)
		srtp_dealloc(s->in);
	OPENSSL_cleanse(s, sizeof *s);
	free(s);
}

bool srtpx_receives_rtp(const srtpx *s)
{
	return s->in != NULL;
}

void srtpx_set_rtcp_index(srtpx *s, uint32_t sent)
{
	s->rtcp_sent = sent & SRTCP_INDEX_MAX;
}

/* The libsrtp2 session for received RTP, made from the remote keys when first needed. */
static bool open_in(srtpx *s)
{
	srtp_policy_t p;
	uint8_t key[32];
	memcpy(key, s->remote, sizeof key);
	srtpx_policy(&p, s->profile, key, ssrc_any_inbound);
	bool ok = srtp_create(&s->in, &p) == srtp_err_status_ok;
	OPENSSL_cleanse(key, sizeof key);
	if (ok)
		OPENSSL_cleanse(s->remote, sizeof s->remote);
	else
		s->in = NULL;
	return ok;
}

static int map(srtp_err_status_t st)
{
	switch (st) {
	case srtp_err_status_ok: return SRTPX_OK;
	case srtp_err_status_auth_fail: return SRTPX_E_AUTH;
	case srtp_err_status_replay_fail:
	case srtp_err_status_replay_old: return SRTPX_E_REPLAY;
	default: return SRTPX_E_BAD;
	}
}

int srtpx_protect_rtp(srtpx *s, uint8_t *pkt, size_t *len, size_t cap)
{
	if (*len < 12 || cap < *len + SRTP_MAX_TRAILER_LEN)
		return SRTPX_E_BAD;
	return tx_protect(&s->tx, pkt, len);
}

int srtpx_unprotect_rtp(srtpx *s, uint8_t *pkt, size_t *len)
{
	if (*len < 12)
		return SRTPX_E_BAD;
	if (!s->in && !open_in(s))
		return SRTPX_E_INIT;
	int n = (int)*len;
	int rc = map(srtp_unprotect(s->in, pkt, &n));
	*len = (size_t)n;
	return rc;
}

int srtpx_protect_rtcp(srtpx *s, uint8_t *pkt, size_t *len, size_t cap)
{
	if (*len < 8 || cap < *len + SRTP_MAX_TRAILER_LEN + 4)
		return SRTPX_E_BAD;
	return rtcp_protect(s, pkt, len);
}

int srtpx_unprotect_rtcp(srtpx *s, uint8_t *pkt, size_t *len)
{
	return rtcp_unprotect(s, pkt, len);
}

const char *srtpx_strerror(int err)
{
	switch (err) {
	case SRTPX_OK: return "ok";
	case SRTPX_E_AUTH: return "SRTP authentication failed";
	case SRTPX_E_REPLAY: return "SRTP replay";
	case SRTPX_E_BAD: return "malformed SRTP packet";
	case SRTPX_E_INIT: return "SRTP session could not be created";
	case SRTPX_E_LIMIT: return "SRTCP index exhausted: the keys must be renewed";
	}
	return "unknown SRTP error";
}
