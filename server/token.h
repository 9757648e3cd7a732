/*
 * token: signed join tokens.
 *
 * A token is base64url(JSON claims) "." base64url(HMAC-SHA256(secret, first part)).
 * The claims carry the room, role, display name, attributes and expiry, so the
 * server needs no token database: the organiser mints links offline with
 * `rostrum token` against the same data directory's secret.
 */
#ifndef ROSTRUM_TOKEN_H
#define ROSTRUM_TOKEN_H

#include "attrs.h"
#include "util.h"

#include <stdint.h>

#define TOKEN_SECRET_LEN 32
#define TOKEN_ROOM_MAX 64
#define TOKEN_MAX_LEN 2048
#define TOKEN_ID_LEN 22            /* base64url of 16 random bytes */
#define TOKEN_DEFAULT_TTL_S (7 * 24 * 3600) /* `rostrum token` without --ttl */

enum token_err {
	TOKEN_OK = 0,
	TOKEN_MALFORMED = -1,     /* not two base64url parts, or claims not valid JSON */
	TOKEN_BAD_SIGNATURE = -2, /* forged or signed with another server's secret */
	TOKEN_EXPIRED = -3,
	TOKEN_IO = -4,            /* the secret file could not be read or created */
	TOKEN_REVOKED = -5,       /* its id is on the data directory's revocation list */
};

struct token_claims {
	char room[TOKEN_ROOM_MAX + 1];
	enum rs_role role;
	struct rs_attrs attrs;
	int64_t exp;              /* Unix seconds; 0 = never */
	/*
	 * The token's id: its "jti" claim, or for tokens minted before ids
	 * existed the first TOKEN_ID_LEN characters of the signature. Revocation
	 * names tokens by it. token_issue mints a fresh one when it is empty.
	 */
	char jti[TOKEN_ID_LEN + 1];
};

/*
 * Loads the server secret from DIR/secret, creating DIR and a fresh random
 * secret with mode 0600 when absent. Returns TOKEN_OK or TOKEN_IO.
 */
RS_MUST_CHECK int token_secret_load(const char *data_dir, uint8_t secret[TOKEN_SECRET_LEN]);

/*
 * Signs claims; returns a malloc'd token string. A token with an empty c->jti
 * gets a fresh random id (call token_new_id first to know it).
 */
char *token_issue(const uint8_t secret[TOKEN_SECRET_LEN], const struct token_claims *c);

/* Writes a fresh random token id. */
void token_new_id(char id[TOKEN_ID_LEN + 1]);

/*
 * Checks signature, revocation and expiry (against now_s, Unix seconds) and
 * fills *out. Any input is safe: length, alphabet and shape are checked before
 * anything is decoded. The caller checks that out->room is the room being joined.
 */
RS_MUST_CHECK int token_verify(const uint8_t secret[TOKEN_SECRET_LEN], const char *token,
			       int64_t now_s, struct token_claims *out);

/*
 * The revocation check token_verify asks: true when the token of that id is
 * revoked. NULL (the default) revokes nothing. Process-wide, set once at start.
 */
typedef bool (*token_revoked_fn)(void *ctx, const char *id);
void token_set_revocation_check(token_revoked_fn fn, void *ctx);
/* Asks the revocation check about a token id (a member resuming without its token). */
bool token_id_revoked(const char *id);

/*
 * The id of a token this server signed, ignoring expiry and revocation (for
 * `rostrum token --revoke TOKEN`). Returns TOKEN_OK, TOKEN_MALFORMED or
 * TOKEN_BAD_SIGNATURE.
 */
RS_MUST_CHECK int token_id_of(const uint8_t secret[TOKEN_SECRET_LEN], const char *token,
			      char id[TOKEN_ID_LEN + 1]);

/* True for strings shaped like a token id: TOKEN_ID_LEN base64url characters. */
bool token_id_valid(const char *id);

/* Human text for a token_err. */
const char *token_strerror(int err);

/* True for room ids the server accepts: 1-64 chars of [a-z0-9_-]. */
bool token_room_id_valid(const char *room);

#endif
