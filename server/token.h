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

enum token_err {
	TOKEN_OK = 0,
	TOKEN_MALFORMED = -1,     /* not two base64url parts, or claims not valid JSON */
	TOKEN_BAD_SIGNATURE = -2, /* forged or signed with another server's secret */
	TOKEN_EXPIRED = -3,
	TOKEN_IO = -4,            /* the secret file could not be read or created */
};

struct token_claims {
	char room[TOKEN_ROOM_MAX + 1];
	enum rs_role role;
	struct rs_attrs attrs;
	int64_t exp;              /* Unix seconds; 0 = never */
};

/*
 * Loads the server secret from DIR/secret, creating DIR and a fresh random
 * secret with mode 0600 when absent. Returns TOKEN_OK or TOKEN_IO.
 */
RS_MUST_CHECK int token_secret_load(const char *data_dir, uint8_t secret[TOKEN_SECRET_LEN]);

/* Signs claims; returns a malloc'd token string. */
char *token_issue(const uint8_t secret[TOKEN_SECRET_LEN], const struct token_claims *c);

/*
 * Checks signature and expiry (against now_s, Unix seconds) and fills *out.
 * The caller checks that out->room is the room being joined.
 */
RS_MUST_CHECK int token_verify(const uint8_t secret[TOKEN_SECRET_LEN], const char *token,
			       int64_t now_s, struct token_claims *out);

/* Human text for a token_err. */
const char *token_strerror(int err);

/* True for room ids the server accepts: 1-64 chars of [a-z0-9_-]. */
bool token_room_id_valid(const char *room);

#endif
