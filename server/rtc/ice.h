/*
 * ice: the ICE-lite side of a participant's media connection (RFC 8445
 * sections 2.5 and 7.3; consent freshness, RFC 7675).
 *
 * A lite agent gathers only host candidates, never sends checks, answers the
 * browser's Binding requests and takes the pair the browser (the controlling
 * agent) nominates with USE-CANDIDATE. The agent is sans-IO: a datagram and
 * its source address go in, a response to send back comes out.
 */
#ifndef ROSTRUM_ICE_H
#define ROSTRUM_ICE_H

#include "stun.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define ICE_UFRAG_LEN 8   /* RFC 8839 section 5.4: at least 4 ice-chars */
#define ICE_PWD_LEN 24    /* at least 22 */
#define ICE_CONSENT_MS 30000

typedef struct ice_agent ice_agent;

enum ice_err {
	ICE_OK = 0,
	ICE_E_NOT_STUN = -1,     /* not a STUN message at all */
	ICE_E_NOT_REQUEST = -2,  /* not a Binding request */
	ICE_E_USERNAME = -3,     /* no USERNAME, or not "our-ufrag:their-ufrag" */
	ICE_E_INTEGRITY = -4,    /* MESSAGE-INTEGRITY does not verify with our password */
	ICE_E_FINGERPRINT = -5,  /* FINGERPRINT missing or wrong (RFC 8445 section 7.2.2) */
	ICE_E_ROLE = -6,         /* the peer claims to be controlled too */
	ICE_E_NO_SPACE = -7,
};

/* Random ice-chars for a local ufrag and password (NUL-terminated). */
void ice_credentials(char ufrag[ICE_UFRAG_LEN + 1], char pwd[ICE_PWD_LEN + 1]);
/*
 * The local ufrag named by a Binding request's USERNAME ("local:remote"), for
 * finding the agent a datagram belongs to; false when there is none.
 */
bool ice_local_ufrag(const struct stun_msg *m, char *out, size_t cap);

/* An agent with our credentials and the peer's ufrag (from its SDP). */
ice_agent *ice_agent_create(const char *local_ufrag, const char *local_pwd,
			    const char *remote_ufrag);
void ice_agent_free(ice_agent *a);
/*
 * A datagram from `from` at now_ms. On ICE_OK, resp holds the Binding success
 * response to send back to `from` (*resp_len bytes), consent is refreshed and,
 * with USE-CANDIDATE, `from` becomes the selected address.
 */
RS_MUST_CHECK int ice_agent_input(ice_agent *a, int64_t now_ms, const uint8_t *buf, size_t len,
				  const struct sockaddr *from, socklen_t from_len, uint8_t *resp,
				  size_t cap, size_t *resp_len);
/* True when `from` passed a check (nominated or not): it may start DTLS. */
bool ice_agent_validated(const ice_agent *a, const struct sockaddr *from);
/*
 * Where to send: the nominated address, or before nomination the address of
 * the latest valid check (the browser answers DTLS from it), NULL before any.
 */
const struct sockaddr_storage *ice_agent_destination(const ice_agent *a);
/* The nominated remote address (NULL until one is nominated). */
const struct sockaddr_storage *ice_agent_selected(const ice_agent *a);
/* When consent expires without another valid check (INT64_MAX before the first). */
int64_t ice_agent_consent_deadline(const ice_agent *a);
bool ice_agent_alive(const ice_agent *a, int64_t now_ms);
const char *ice_strerror(int err);

#endif
