/*
 * srtpx: SRTP and SRTCP sessions keyed from a DTLS handshake. One session
 * protects what this endpoint sends and unprotects what it receives.
 * Outbound RTP, sent once per listener, is srtpx's own code on OpenSSL;
 * RTCP and everything inbound go through libsrtp2. protect() works in
 * place and needs SRTPX_TRAILER spare bytes after the packet.
 */
#ifndef ROSTRUM_SRTPX_H
#define ROSTRUM_SRTPX_H

#include "dtls.h"

#include <srtp2/srtp.h>

#include <stddef.h>

#define SRTPX_TRAILER 148 /* libsrtp2 may write SRTP_MAX_TRAILER_LEN, plus the SRTCP index */

typedef struct srtpx srtpx;

enum srtpx_err {
	SRTPX_OK = 0,
	SRTPX_E_AUTH = -1,     /* authentication failed: damaged or forged */
	SRTPX_E_REPLAY = -2,   /* a packet already received, or too old */
	SRTPX_E_BAD = -3,      /* malformed, or no room for the trailer */
	SRTPX_E_INIT = -4,     /* the session could not be created */
};

/* Initializes libsrtp2 once per process. */
RS_MUST_CHECK int srtpx_init(void);
/* A session from exported keys; NULL when libsrtp2 refuses them. */
srtpx *srtpx_create(const struct dtls_srtp_keys *keys);
void srtpx_free(srtpx *s);
/*
 * In place; *len grows by the tag. cap is the buffer's size. Packets of one
 * SSRC must come in sequence order (gaps are fine): a SEQ not after the
 * highest sent is SRTPX_E_REPLAY, since its index would reuse keystream. A
 * new SSRC starts its rollover counter at 0 (RFC 3711 section 3.3.1).
 */
RS_MUST_CHECK int srtpx_protect_rtp(srtpx *s, uint8_t *pkt, size_t *len, size_t cap);
RS_MUST_CHECK int srtpx_unprotect_rtp(srtpx *s, uint8_t *pkt, size_t *len);
RS_MUST_CHECK int srtpx_protect_rtcp(srtpx *s, uint8_t *pkt, size_t *len, size_t cap);
RS_MUST_CHECK int srtpx_unprotect_rtcp(srtpx *s, uint8_t *pkt, size_t *len);
const char *srtpx_strerror(int err);

/*
 * A libsrtp2 policy for a negotiated profile (RTP and RTCP alike), keyed
 * with key (master key then salt, borrowed) for dir: what srtpx gives
 * libsrtp2, and what tests and benchmarks set up libsrtp2 with directly.
 */
void srtpx_policy(srtp_policy_t *p, enum dtls_srtp_profile profile, uint8_t *key,
		  srtp_ssrc_type_t dir);

#endif
