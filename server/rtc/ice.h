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
	ICE_E_DUPLICATE = -8,    /* ice_server: the ufrag is already registered */
};

/* What an agent refused, for metrics: each failed check is counted once. */
struct ice_stats {
	uint64_t answered;       /* valid checks answered with a success response */
	uint64_t nominations;    /* of which carried USE-CANDIDATE */
	uint64_t not_stun, not_request, bad_username, bad_integrity, bad_fingerprint;
	uint64_t role_conflicts; /* answered with 487 */
};

/*
 * A local ufrag and password from caller-supplied random bytes (ufrag from
 * rnd[0..ICE_UFRAG_LEN), password from the next ICE_PWD_LEN), mapped onto
 * ice-chars (RFC 8839 section 5.4) without bias. Deterministic, for tests.
 */
void ice_credentials_from(const uint8_t rnd[ICE_UFRAG_LEN + ICE_PWD_LEN],
			  char ufrag[ICE_UFRAG_LEN + 1], char pwd[ICE_PWD_LEN + 1]);
/* The same from OpenSSL's CSPRNG (RFC 8445 section 5.3: at least 24 and 128 bits of randomness). */
void ice_credentials(char ufrag[ICE_UFRAG_LEN + 1], char pwd[ICE_PWD_LEN + 1]);
/*
 * The local ufrag named by a Binding request's USERNAME ("local:remote"), for
 * finding the agent a datagram belongs to; false when there is none.
 */
bool ice_local_ufrag(const struct stun_msg *m, char *out, size_t cap);

/*
 * An agent with our credentials and the peer's ufrag (from its SDP); the
 * strings are copied. NULL when one is too long (ufrag over ICE_UFRAG_LEN,
 * pwd over ICE_PWD_LEN, remote ufrag over 256 bytes).
 */
ice_agent *ice_agent_create(const char *local_ufrag, const char *local_pwd,
			    const char *remote_ufrag);
/* Frees the agent; NULL is a no-op. */
void ice_agent_free(ice_agent *a);
/*
 * A datagram from `from` at now_ms. On ICE_OK, resp holds the Binding success
 * response to send back to `from` (*resp_len bytes), consent is refreshed and,
 * with USE-CANDIDATE, `from` becomes the selected address (the latest
 * nomination wins: a lite agent follows the controlling agent, RFC 8445
 * section 8.2). On ICE_E_ROLE, resp holds a 487 Role Conflict error response
 * worth sending (RFC 8445 section 7.3.1.1: a lite agent cannot switch to
 * controlling). On every other error *resp_len is 0, nothing changes but
 * the agent's counters, and nothing should be sent: unauthenticated input
 * gets no answer, so the port cannot be used to reflect traffic.
 */
RS_MUST_CHECK int ice_agent_input(ice_agent *a, int64_t now_ms, const uint8_t *buf, size_t len,
				  const struct sockaddr *from, socklen_t from_len, uint8_t *resp,
				  size_t cap, size_t *resp_len);
/*
 * The same, where the address that identifies the peer (`from`, validated
 * and nominated) is not the one it should be told it has: the
 * XOR-MAPPED-ADDRESS of the response is `mapped` (an ICE-TCP link's real
 * peer behind the synthetic address it is routed by).
 */
RS_MUST_CHECK int ice_agent_input_mapped(ice_agent *a, int64_t now_ms, const uint8_t *buf,
					 size_t len, const struct sockaddr *from, socklen_t from_len,
					 const struct sockaddr *mapped, uint8_t *resp, size_t cap,
					 size_t *resp_len);
/* True when `from` passed a check (nominated or not): it may start DTLS. */
bool ice_agent_validated(const ice_agent *a, const struct sockaddr *from);
/*
 * Where to send: the nominated address, or before nomination the address of
 * the latest valid check (the browser answers DTLS from it), NULL before any.
 */
const struct sockaddr_storage *ice_agent_destination(const ice_agent *a);
/*
 * The addresses that passed a check, newest first (at most ICE_MAX_TUPLES:
 * a fifth pushes out the oldest). Owners mirror them into an ice_server.
 */
#define ICE_MAX_TUPLES 4
size_t ice_agent_tuples(const ice_agent *a, const struct sockaddr_storage **out);
/* The nominated remote address (NULL until one is nominated). */
const struct sockaddr_storage *ice_agent_selected(const ice_agent *a);
/* When consent expires without another valid check (INT64_MAX before the first). */
int64_t ice_agent_consent_deadline(const ice_agent *a);
/* False once the consent deadline has passed (RFC 7675 section 5.1: stop sending then). */
bool ice_agent_alive(const ice_agent *a, int64_t now_ms);
/* The agent's counters. */
const struct ice_stats *ice_agent_stats(const ice_agent *a);
/* A static description of an ice_err. */
const char *ice_strerror(int err);

/*
 * ice_server: which connection a datagram on the shared media port belongs
 * to. Connections register under their local ufrag; an address is bound to
 * a connection once a check from it succeeded. STUN requests carrying a
 * USERNAME are routed by its local ufrag (so a reused address cannot steal
 * another connection's checks); everything else by source address.
 * Lookups are allocation-free hash probes; registering may grow a table.
 * Owners are opaque, borrowed pointers: the server never dereferences them.
 */
typedef struct ice_server ice_server;

/* An empty server; seed keys the hash so remote addresses cannot aim at one bucket. */
ice_server *ice_server_create(uint64_t seed);
/* Frees the tables (not the owners); NULL is a no-op. */
void ice_server_destroy(ice_server *s);
/*
 * Registers owner (not NULL) under ufrag (copied): ICE_OK, ICE_E_DUPLICATE if
 * the ufrag is taken, ICE_E_USERNAME if it is empty or over 256 bytes.
 */
RS_MUST_CHECK int ice_server_add(ice_server *s, const char *ufrag, void *owner);
/* Forgets owner: its ufrag and every address bound to it. */
void ice_server_remove(ice_server *s, void *owner);
/* Binds a validated source address to owner (the latest check wins). */
void ice_server_bind(ice_server *s, const struct sockaddr *from, void *owner);
/* Forgets one address, if it is bound to owner (a tuple that went away). */
void ice_server_unbind(ice_server *s, const struct sockaddr *from, void *owner);
/* Forgets one ufrag, if it is registered to owner: O(1), unlike ice_server_remove. */
void ice_server_remove_ufrag(ice_server *s, const char *ufrag, void *owner);
/* The owner registered under ufrag (len bytes, not NUL-terminated), or NULL. */
void *ice_server_by_ufrag(const ice_server *s, const char *ufrag, size_t len);
/* The owner an address is bound to, or NULL. */
void *ice_server_by_address(const ice_server *s, const struct sockaddr *from);
/*
 * Where a datagram goes: for a STUN message with a USERNAME, the owner of
 * its local ufrag; otherwise the owner of the source address. NULL when
 * unknown (drop and count it).
 */
void *ice_server_route(const ice_server *s, const uint8_t *buf, size_t len,
		       const struct sockaddr *from);
/* Registered ufrags and bound addresses, for metrics and tests. */
size_t ice_server_n_ufrags(const ice_server *s);
size_t ice_server_n_addresses(const ice_server *s);

#endif
