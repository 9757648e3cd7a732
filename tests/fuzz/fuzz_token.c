/*
 * Join tokens as any request may carry them (?token=, join's "token").
 * The first byte picks the mode: even, the rest is the token exactly as
 * received (forged, long, damaged); odd, the rest is the claims JSON, which
 * the harness signs with the test secret so the claims parser is reached
 * past the signature check. A token that verifies must survive a round trip
 * through token_issue with the same claims.
 */
#include "token.h"

#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t secret[TOKEN_SECRET_LEN] = "rostrum-fuzz-secret-rostrum-fuz";
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64url(const uint8_t *in, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
			     (i + 2 < n ? in[i + 2] : 0);
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = b64[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	return o;
}

/* body.signature for claims JSON, signed as the server signs. */
static char *sign_claims(const uint8_t *js, size_t n)
{
	char *tok = malloc(n * 4 / 3 + 64);
	size_t body = b64url(js, n, tok);
	uint8_t mac[32];
	unsigned int mac_len = sizeof mac;
	HMAC(EVP_sha256(), secret, sizeof secret, (const uint8_t *)tok, body, mac, &mac_len);
	tok[body] = '.';
	b64url(mac, sizeof mac, tok + body + 1);
	return tok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 4096)
		return 0;
	char *tok;
	if (data[0] & 1) {
		tok = sign_claims(data + 1, size - 1);
	} else {
		tok = malloc(size);
		memcpy(tok, data + 1, size - 1);
		tok[size - 1] = '\0';
	}
	struct token_claims out;
	if (token_verify(secret, tok, 1700000000, &out) == TOKEN_OK) {
		char *again = token_issue(secret, &out);
		struct token_claims back;
		if (token_verify(secret, again, 1700000000, &back) != TOKEN_OK ||
		    strcmp(back.room, out.room) != 0 || back.role != out.role || back.exp != out.exp ||
		    strcmp(back.attrs.name, out.attrs.name) != 0)
			abort(); /* what the server signs it must accept, unchanged */
		free(again);
	}
	free(tok);
	return 0;
}
