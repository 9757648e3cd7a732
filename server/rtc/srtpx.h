/*
 * srtpx: SRTP and SRTCP sessions keyed from a DTLS handshake. One session
 * protects what this endpoint sends and unprotects what it receives.
 * Outbound RTP, sent once per listener, and SRTCP both ways are srtpx's own
 * code on OpenSSL; received RTP goes through a libsrtp2 session created
 * with the first such packet, so a listener that sends none never has one.
 * protect() works in place and needs SRTPX_TRAILER spare bytes after the
 * packet.
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
	SRTPX_E_LIMIT = -5,    /* the 2^31 SRTCP indexes are used up (RFC 3711 section 9.2) */
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
/*
 * SRTCP (RFC 3711 section 3.4; RFC 7714 section 9 for GCM). Each protect
 * takes the next 31-bit index, starting at 1; SRTPX_E_LIMIT once they are
 * used up; one counter serves every SSRC sent, so no (SSRC, index) repeats.
 * Unprotect keeps a 64-index replay window per sending SSRC, for up to 4
 * SSRCs (a fifth is SRTPX_E_BAD), and accepts the E flag clear
 * (authenticated, not encrypted) as well as set.
 */
RS_MUST_CHECK int srtpx_protect_rtcp(srtpx *s, uint8_t *pkt, size_t *len, size_t cap);
RS_MUST_CHECK int srtpx_unprotect_rtcp(srtpx *s, uint8_t *pkt, size_t *len);
/* True once RTP was received, so the libsrtp2 session for it exists. */
bool srtpx_receives_rtp(const srtpx *s);
/* Sets the last SRTCP index sent (tests start near the end of the index space). */
void srtpx_set_rtcp_index(srtpx *s, uint32_t sent);
const char *srtpx_strerror(int err);

/*
 * A libsrtp2 policy for a negotiated profile (RTP and RTCP alike), keyed
 * with key (master key then salt, borrowed) for dir: what srtpx gives
 * libsrtp2, and what tests and benchmarks set up libsrtp2 with directly.
 */
void srtpx_policy(srtp_policy_t *p, enum dtls_srtp_profile profile, uint8_t *key,
		  srtp_ssrc_type_t dir);

#endif
