/*
 * dtls: DTLS 1.2 for DTLS-SRTP (RFC 5764) through OpenSSL, with memory I/O.
 *
 * The caller moves datagrams: dtls_conn_input() takes one received datagram,
 * dtls_conn_poll_output() yields the datagrams to send, one per call. No
 * socket is touched. The server answers as DTLS server (a=setup:passive);
 * the client role exists for tests that run two endpoints against each other.
 * The peer's certificate must match the SHA-256 fingerprint from its SDP.
 *
 * Retransmission: OpenSSL keeps the handshake's retransmission clock itself;
 * the caller asks dtls_conn_next_deadline_ms() how long until it is due and
 * calls dtls_conn_timeout() then.
 *
 * After the handshake the SSL object is freed, keeping only the exported
 * keys: by a server DTLS_LINGER_MS after the last DTLS datagram it received
 * (the deadline above then runs until that moment), or at once when the
 * owner calls dtls_conn_peer_keyed(); by a client as soon as it is
 * connected. A released connection stays CONNECTED, still gives its keys,
 * and drops every DTLS datagram unanswered (a close_notify included).
 */
#ifndef ROSTRUM_DTLS_H
#define ROSTRUM_DTLS_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dtls_cert dtls_cert;
typedef struct dtls_ctx dtls_ctx;
typedef struct dtls_conn dtls_conn;

#define DTLS_FINGERPRINT_LEN 95 /* "AB:CD:..." for SHA-256, without the NUL */
#define DTLS_MTU 1200
#define DTLS_LINGER_MS 5000 /* a few of the client's retransmissions (1 s, 2 s, ...) */

enum dtls_role { DTLS_SERVER, DTLS_CLIENT };
enum dtls_state { DTLS_NEW, DTLS_CONNECTING, DTLS_CONNECTED, DTLS_FAILED, DTLS_CLOSED };

enum dtls_err {
	DTLS_OK = 0,
	DTLS_E_HANDSHAKE = -1,   /* the handshake failed (bad record, alert, wrong fingerprint) */
	DTLS_E_STATE = -2,       /* not possible in this state */
	DTLS_E_NO_SRTP = -3,     /* no SRTP profile was negotiated */
	DTLS_E_TOO_BIG = -4,     /* datagram larger than the output buffer */
};

/* SRTP profiles (RFC 5764 section 4.1.2, RFC 7714 section 14.2). */
enum dtls_srtp_profile { DTLS_SRTP_AES128_CM_SHA1_80 = 1, DTLS_SRTP_AEAD_AES_128_GCM = 7 };

/* Keys exported from the handshake (RFC 5764 section 4.2), from this endpoint's view. */
struct dtls_srtp_keys {
	enum dtls_srtp_profile profile;
	uint8_t local[32];     /* master key then salt, for what this endpoint sends */
	uint8_t remote[32];    /* for what it receives */
	size_t key_len, salt_len;
};

/* A fresh self-signed ECDSA P-256 certificate; NULL on failure. */
dtls_cert *dtls_cert_generate(void);
void dtls_cert_free(dtls_cert *c);
/* "AB:CD:..." SHA-256 fingerprint of the certificate (a=fingerprint:sha-256 ...). */
const char *dtls_cert_fingerprint(const dtls_cert *c);

/*
 * A context for cert (borrowed; it must outlive the context). profiles is the
 * OpenSSL use_srtp list, NULL for both profiles, GCM preferred.
 */
dtls_ctx *dtls_ctx_create(const dtls_cert *cert, const char *profiles);
void dtls_ctx_free(dtls_ctx *ctx);
/* The server's linger for connections created from now on (tests shorten it). */
void dtls_ctx_set_linger_ms(dtls_ctx *ctx, int64_t ms);

/* A connection expecting the peer's fingerprint (case-insensitive "AB:CD:..."). */
dtls_conn *dtls_conn_create(dtls_ctx *ctx, enum dtls_role role, const char *remote_fingerprint);
void dtls_conn_free(dtls_conn *c);
/* Starts the handshake (the client sends its ClientHello). */
RS_MUST_CHECK int dtls_conn_start(dtls_conn *c);
/* One received datagram. Returns DTLS_OK or DTLS_E_HANDSHAKE (the state is then FAILED). */
RS_MUST_CHECK int dtls_conn_input(dtls_conn *c, const uint8_t *dgram, size_t len);
/* The next datagram to send into buf: its length, 0 when none, or DTLS_E_TOO_BIG. */
int dtls_conn_poll_output(dtls_conn *c, uint8_t *buf, size_t cap);
/* Milliseconds until the retransmission timer is due, or -1 when none runs. */
int64_t dtls_conn_next_deadline_ms(dtls_conn *c);
/* The retransmission timer or the linger is due (it may queue datagrams, or release). */
void dtls_conn_timeout(dtls_conn *c);
/*
 * The peer sent authentic SRTP or SRTCP, so it holds the keys and finished
 * its handshake: the SSL can go now rather than at the linger's end.
 */
void dtls_conn_peer_keyed(dtls_conn *c);
/* True once the SSL is freed after the handshake (only the keys are left). */
bool dtls_conn_released(const dtls_conn *c);
enum dtls_state dtls_conn_state(const dtls_conn *c);
const char *dtls_state_name(enum dtls_state s);
/* The SRTP keys exported when the handshake finished (CONNECTED, released or not). */
RS_MUST_CHECK int dtls_conn_srtp_keys(dtls_conn *c, struct dtls_srtp_keys *out);
const char *dtls_strerror(int err);

#endif
