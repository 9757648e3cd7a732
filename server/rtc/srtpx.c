#include "srtpx.h"

#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

/* libsrtp2 holds one wildcard stream template per session, so one session each way. */
struct srtpx {
	srtp_t out;     /* what this endpoint sends, with the local keys */
	srtp_t in;      /* what it receives, with the remote keys */
};

int srtpx_init(void)
{
	static int done;
	if (!done && srtp_init() != srtp_err_status_ok)
		return SRTPX_E_INIT;
	done = 1;
	return SRTPX_OK;
}

static void set_policy(srtp_policy_t *p, enum dtls_srtp_profile profile, uint8_t *key,
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
	srtp_policy_t out, in;
	uint8_t local[32], remote[32];
	memcpy(local, keys->local, sizeof local);
	memcpy(remote, keys->remote, sizeof remote);
	set_policy(&out, keys->profile, local, ssrc_any_outbound);
	set_policy(&in, keys->profile, remote, ssrc_any_inbound);
	srtpx *s = rs_calloc(1, sizeof *s);
	if (srtp_create(&s->out, &out) != srtp_err_status_ok) {
		free(s);
		return NULL;
	}
	if (srtp_create(&s->in, &in) != srtp_err_status_ok) {
		srtp_dealloc(s->out);
		free(s);
		return NULL;
	}
	return s;
}

void srtpx_free(srtpx *s)
{
	if (!s)
		return;
	srtp_dealloc(s->out);
	srtp_dealloc(s->in);
	free(s);
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
	int n = (int)*len;
	int rc = map(srtp_protect(s->out, pkt, &n));
	*len = (size_t)n;
	return rc;
}

int srtpx_unprotect_rtp(srtpx *s, uint8_t *pkt, size_t *len)
{
	if (*len < 12)
		return SRTPX_E_BAD;
	int n = (int)*len;
	int rc = map(srtp_unprotect(s->in, pkt, &n));
	*len = (size_t)n;
	return rc;
}

int srtpx_protect_rtcp(srtpx *s, uint8_t *pkt, size_t *len, size_t cap)
{
	if (*len < 8 || cap < *len + SRTP_MAX_TRAILER_LEN + 4)
		return SRTPX_E_BAD;
	int n = (int)*len;
	int rc = map(srtp_protect_rtcp(s->out, pkt, &n));
	*len = (size_t)n;
	return rc;
}

int srtpx_unprotect_rtcp(srtpx *s, uint8_t *pkt, size_t *len)
{
	if (*len < 8)
		return SRTPX_E_BAD;
	int n = (int)*len;
	int rc = map(srtp_unprotect_rtcp(s->in, pkt, &n));
	*len = (size_t)n;
	return rc;
}

const char *srtpx_strerror(int err)
{
	switch (err) {
	case SRTPX_OK: return "ok";
	case SRTPX_E_AUTH: return "SRTP authentication failed";
	case SRTPX_E_REPLAY: return "SRTP replay";
	case SRTPX_E_BAD: return "malformed SRTP packet";
	case SRTPX_E_INIT: return "SRTP session could not be created";
	}
	return "unknown SRTP error";
}
