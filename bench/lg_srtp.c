/*
 * lg_srtp: see lg_srtp.h. Session keys come from the RFC 3711 section 4.3
 * key derivation (AES in counter mode over the master salt with the label
 * at byte 7, key derivation rate 0); the GCM nonce is RFC 7714 section 8.1's
 * (SSRC, rollover counter and sequence number XOR the session salt).
 */
#include "lg_srtp.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LEN 16

struct lg_srtp {
	EVP_CIPHER_CTX *gcm;   /* owned, keyed with the session key */
	uint8_t salt[12];
	uint32_t roc;
	uint16_t last_seq;
	bool started;
};

/* len bytes of the key derivation's output for label. */
static bool derive(const uint8_t *master, const uint8_t *msalt, uint8_t label, uint8_t *out,
		   size_t len)
{
	uint8_t iv[16] = { 0 }, zero[32] = { 0 }, ks[32];
	memcpy(iv, msalt, 12);
	iv[7] ^= label;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int n = 0;
	bool ok = c && EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, master, iv) == 1 &&
		  EVP_EncryptUpdate(c, ks, &n, zero, (int)len) == 1 && n == (int)len;
	EVP_CIPHER_CTX_free(c);
	if (ok)
		memcpy(out, ks, len);
	return ok;
}

lg_srtp *lg_srtp_create(const struct dtls_srtp_keys *keys)
{
	if (keys->profile != DTLS_SRTP_AEAD_AES_128_GCM || keys->key_len != 16 ||
	    keys->salt_len != 12)
		return NULL;
	lg_srtp *s = calloc(1, sizeof *s);
	uint8_t k[16];
	if (!s || !derive(keys->remote, keys->remote + 16, 0x00, k, 16) ||
	    !derive(keys->remote, keys->remote + 16, 0x02, s->salt, 12) ||
	    !(s->gcm = EVP_CIPHER_CTX_new()) ||
	    EVP_DecryptInit_ex(s->gcm, EVP_aes_128_gcm(), NULL, k, NULL) != 1) {
		lg_srtp_free(s);
		return NULL;
	}
	return s;
}

void lg_srtp_free(lg_srtp *s)
{
	if (!s)
		return;
	EVP_CIPHER_CTX_free(s->gcm);
	free(s);
}

/* The header's length: fixed part, CSRCs, extension; 0 when malformed. */
static size_t header_len(const uint8_t *p, size_t len)
{
	if (len < 12)
		return 0;
	size_t h = 12 + 4 * (size_t)(p[0] & 0x0f);
	if ((p[0] & 0x10) && len >= h + 4)
		h += 4 + 4 * (size_t)(p[h + 2] << 8 | p[h + 3]);
	return h <= len ? h : 0;
}

/* The rollover counter for seq, guessed as RFC 3711 appendix A does. */
static uint32_t guess_roc(const lg_srtp *s, uint16_t seq)
{
	if (!s->started)
		return 0;
	if (s->last_seq > 0xC000 && seq < 0x4000)
		return s->roc + 1;
	if (s->last_seq < 0x4000 && seq > 0xC000 && s->roc > 0)
		return s->roc - 1;
	return s->roc;
}

bool lg_srtp_unprotect(lg_srtp *s, uint8_t *pkt, size_t *len)
{
	size_t h = header_len(pkt, *len);
	if (!h || *len < h + TAG_LEN)
		return false;
	uint16_t seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	uint32_t roc = guess_roc(s, seq);
	uint8_t iv[12] = { 0, 0, pkt[8], pkt[9], pkt[10], pkt[11], (uint8_t)(roc >> 24),
			   (uint8_t)(roc >> 16), (uint8_t)(roc >> 8), (uint8_t)roc, pkt[2], pkt[3] };
	for (int i = 0; i < 12; i++)
		iv[i] ^= s->salt[i];
	size_t ct = *len - h - TAG_LEN;
	int n = 0;
	if (EVP_DecryptInit_ex(s->gcm, NULL, NULL, NULL, iv) != 1 ||
	    EVP_DecryptUpdate(s->gcm, NULL, &n, pkt, (int)h) != 1 ||
	    EVP_DecryptUpdate(s->gcm, pkt + h, &n, pkt + h, (int)ct) != 1 ||
	    EVP_CIPHER_CTX_ctrl(s->gcm, EVP_CTRL_GCM_SET_TAG, TAG_LEN, pkt + h + ct) != 1 ||
	    EVP_DecryptFinal_ex(s->gcm, pkt + h + ct, &n) != 1)
		return false;
	if (!s->started || roc > s->roc || (roc == s->roc && (int16_t)(seq - s->last_seq) > 0)) {
		s->roc = roc;
		s->last_seq = seq;
		s->started = true;
	}
	*len = h + ct;
	return true;
}
