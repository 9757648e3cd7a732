#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* RFC 4648 section 5 without padding. */
static char *b64url_encode(const uint8_t *in, size_t n)
{
	char *out = rs_malloc(n * 4 / 3 + 4);
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64url[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = b64url[v & 63];
	}
	out[o] = '\0';
	return out;
}

static int b64url_val(char c)
{
	const char *p = c ? strchr(b64url, c) : NULL;
	return p ? (int)(p - b64url) : -1;
}

/*
 * Decodes n base64url chars into out, which holds cap bytes. Returns the
 * decoded length, or -1 for a bad length or character, or when the result
 * would not fit: the input alone never decides how much is written.
 */
static long b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap)
{
	if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_val(in[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (long)o;
}

static void sign(const uint8_t *secret, const char *msg, size_t n, uint8_t mac[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), secret, TOKEN_SECRET_LEN, (const uint8_t *)msg, n, mac, &len);
}

static int write_new_secret(const char *path, uint8_t *secret)
{
	if (RAND_bytes(secret, TOKEN_SECRET_LEN) != 1)
		return TOKEN_IO;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return TOKEN_IO;
	ssize_t w = write(fd, secret, TOKEN_SECRET_LEN);
	int ok = w == TOKEN_SECRET_LEN && fsync(fd) == 0;
	close(fd);
	return ok ? TOKEN_OK : TOKEN_IO;
}

int token_secret_load(const char *data_dir, uint8_t secret[TOKEN_SECRET_LEN])
{
	if (mkdir(data_dir, 0750) != 0 && errno != EEXIST)
		return TOKEN_IO;
	char path[4096];
	snprintf(path, sizeof path, "%s/secret", data_dir);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return errno == ENOENT ? write_new_secret(path, secret) : TOKEN_IO;
	ssize_t r = read(fd, secret, TOKEN_SECRET_LEN);
	close(fd);
	return r == TOKEN_SECRET_LEN ? TOKEN_OK : TOKEN_IO;
}

static json_t *claims_to_json(const struct token_claims *c)
{
	json_t *o = json_object();
	json_object_set_new(o, "v", json_integer(1));
	json_object_set_new(o, "room", json_string(c->room));
	json_object_set_new(o, "role", json_string(attrs_role_name(c->role)));
	attrs_to_json(&c->attrs, o);
	if (c->exp)
		json_object_set_new(o, "exp", json_integer(c->exp));
	char id[TOKEN_ID_LEN + 1];
	if (c->jti[0])
		rs_strlcpy(id, c->jti, sizeof id);
	else
		token_new_id(id);
	json_object_set_new(o, "jti", json_string(id));
	return o;
}

void token_new_id(char id[TOKEN_ID_LEN + 1])
{
	uint8_t r[16];
	if (RAND_bytes(r, sizeof r) != 1)
		abort(); /* no randomness: nothing the server signs could be trusted */
	char *s = b64url_encode(r, sizeof r);
	rs_strlcpy(id, s, TOKEN_ID_LEN + 1);
	free(s);
}

bool token_id_valid(const char *id)
{
	size_t n = strlen(id);
	if (n != TOKEN_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (b64url_val(id[i]) < 0)
			return false;
	return true;
}

char *token_issue(const uint8_t secret[TOKEN_SECRET_LEN], const struct token_claims *c)
{
	json_t *o = claims_to_json(c);
	char *js = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	char *body = b64url_encode((const uint8_t *)js, strlen(js));
	free(js);
	uint8_t mac[32];
	sign(secret, body, strlen(body), mac);
	char *sig = b64url_encode(mac, sizeof mac);
	struct rs_buf out = { 0 };
	rs_buf_printf(&out, "%s.%s", body, sig);
	free(body);
	free(sig);
	return out.p;
}

/* Fills claims from the decoded JSON; false when a field is missing or bad. */
static bool claims_from_json(json_t *o, struct token_claims *c)
{
	const char *room = json_string_value(json_object_get(o, "room"));
	const char *role = json_string_value(json_object_get(o, "role"));
	const char *name = json_string_value(json_object_get(o, "name"));
	json_t *exp = json_object_get(o, "exp");
	json_t *jti = json_object_get(o, "jti");
	memset(c, 0, sizeof *c);
	c->attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	if (!room || !token_room_id_valid(room) || !role || !attrs_role_parse(role, &c->role))
		return false;
	if (!name || !attrs_set_name(&c->attrs, name) || attrs_from_json(&c->attrs, o))
		return false;
	if (exp && !json_is_integer(exp))
		return false;
	if (jti && (!json_is_string(jti) || !token_id_valid(json_string_value(jti))))
		return false;
	if (jti)
		rs_strlcpy(c->jti, json_string_value(jti), sizeof c->jti);
	attrs_lock_from_json(&c->attrs, o);
	rs_strlcpy(c->room, room, sizeof c->room);
	c->exp = exp ? json_integer_value(exp) : 0;
	return true;
}

static token_revoked_fn revoked_fn;
static void *revoked_ctx;

void token_set_revocation_check(token_revoked_fn fn, void *ctx)
{
	revoked_fn = fn;
	revoked_ctx = ctx;
}

bool token_id_revoked(const char *id)
{
	return id && id[0] && revoked_fn && revoked_fn(revoked_ctx, id);
}

#define SIG_B64_LEN 43 /* 32 bytes of HMAC-SHA256, base64url without padding */

/* Checks the shape and the signature; on success *body_len is the claims part's length. */
static int check_signature(const uint8_t *secret, const char *token, size_t *body_len)
{
	size_t n = strnlen(token, TOKEN_MAX_LEN + 1);
	const char *dot = memchr(token, '.', n);
	if (n > TOKEN_MAX_LEN || !dot || n - (size_t)(dot + 1 - token) != SIG_B64_LEN)
		return TOKEN_MALFORMED;
	uint8_t mac[32], given[32];
	if (b64url_decode(dot + 1, SIG_B64_LEN, given, sizeof given) != 32)
		return TOKEN_MALFORMED;
	*body_len = (size_t)(dot - token);
	sign(secret, token, *body_len, mac);
	return CRYPTO_memcmp(mac, given, 32) == 0 ? TOKEN_OK : TOKEN_BAD_SIGNATURE;
}

/* Decodes and reads the claims of a token whose signature was checked. */
static int read_claims(const char *token, size_t body_len, struct token_claims *out)
{
	size_t cap = body_len / 4 * 3 + 3;
	uint8_t *js = rs_malloc(cap);
	long jn = b64url_decode(token, body_len, js, cap);
	json_t *o = jn > 0 ? json_loadb((const char *)js, (size_t)jn, 0, NULL) : NULL;
	free(js);
	bool ok = json_is_object(o) && claims_from_json(o, out);
	json_decref(o);
	if (!ok)
		return TOKEN_MALFORMED;
	if (!out->jti[0]) /* minted before tokens had ids: name it by its signature */
		rs_strlcpy(out->jti, token + body_len + 1, sizeof out->jti);
	return TOKEN_OK;
}

int token_id_of(const uint8_t secret[TOKEN_SECRET_LEN], const char *token,
		char id[TOKEN_ID_LEN + 1])
{
	size_t body_len;
	struct token_claims c;
	int rc = check_signature(secret, token, &body_len);
	if (rc == TOKEN_OK)
		rc = read_claims(token, body_len, &c);
	if (rc == TOKEN_OK)
		rs_strlcpy(id, c.jti, TOKEN_ID_LEN + 1);
	return rc;
}

int token_verify(const uint8_t secret[TOKEN_SECRET_LEN], const char *token, int64_t now_s,
		 struct token_claims *out)
{
	size_t body_len;
	int rc = check_signature(secret, token, &body_len);
	if (rc == TOKEN_OK)
		rc = read_claims(token, body_len, out);
	if (rc != TOKEN_OK)
		return rc;
	if (revoked_fn && revoked_fn(revoked_ctx, out->jti))
		return TOKEN_REVOKED;
	if (out->exp && out->exp <= now_s)
		return TOKEN_EXPIRED;
	return TOKEN_OK;
}

const char *token_strerror(int err)
{
	switch (err) {
	case TOKEN_OK: return "ok";
	case TOKEN_MALFORMED: return "the token is malformed";
	case TOKEN_BAD_SIGNATURE: return "the token's signature does not match this server";
	case TOKEN_EXPIRED: return "the token has expired";
	case TOKEN_IO: return "the server secret could not be read or created";
	case TOKEN_REVOKED: return "the token was revoked";
	}
	return "unknown token error";
}

bool token_room_id_valid(const char *room)
{
	size_t n = strlen(room);
	if (n == 0 || n > TOKEN_ROOM_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = room[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}
