/*
 * lg_srtp: the generator's own SRTP unprotect for AEAD_AES_128_GCM
 * (RFC 7714) on OpenSSL, for the stream each simulated listener receives.
 * libsrtp2 as Debian builds it (on NSS) costs the generator a third of its
 * CPU per received packet; this keeps one cipher context per listener.
 * No replay window: the generator counts duplicates itself.
 */
#ifndef LG_SRTP_H
#define LG_SRTP_H

#include "dtls.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct lg_srtp lg_srtp;

/* For the remote half of keys; NULL when the profile is not AES-128-GCM. */
lg_srtp *lg_srtp_create(const struct dtls_srtp_keys *keys);
void lg_srtp_free(lg_srtp *s);
/* Decrypts an SRTP packet in place; *len loses the tag. False when it does not authenticate. */
bool lg_srtp_unprotect(lg_srtp *s, uint8_t *pkt, size_t *len);

#endif
