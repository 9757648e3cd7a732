/* Join tokens: round trip, forgery, expiry, malformed input, the secret file. */
#include "check.h"
#include "token.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const uint8_t secret[TOKEN_SECRET_LEN] = "0123456789abcdef0123456789abcde";

static struct token_claims sample(void)
{
	struct token_claims c = { .role = RS_ROLE_MODERATOR, .exp = 2000 };
	strcpy(c.room, "plenary");
	c.attrs.onsite = ATTRS_ONSITE;
	CHECK(attrs_set_name(&c.attrs, "Chengetai Masango"));
	strcpy(c.attrs.group, "intergovernmental");
	strcpy(c.attrs.label, "remote hub: Nairobi");
	return c;
}

static void test_round_trip(void)
{
	struct token_claims c = sample(), out;
	char *tok = token_issue(secret, &c);
	CHECK(token_verify(secret, tok, 1000, &out) == TOKEN_OK);
	CHECK_STR(out.room, "plenary");
	CHECK(out.role == RS_ROLE_MODERATOR);
	CHECK_STR(out.attrs.name, "Chengetai Masango");
	CHECK_STR(out.attrs.group, "intergovernmental");
	CHECK_STR(out.attrs.label, "remote hub: Nairobi");
	CHECK(out.attrs.onsite == ATTRS_ONSITE);
	CHECK(out.exp == 2000);
	CHECK(token_verify(secret, tok, 2000, &out) == TOKEN_EXPIRED);
	free(tok);
}

static void test_forgery(void)
{
	struct token_claims c = sample(), out;
	char *tok = token_issue(secret, &c);
	uint8_t other[TOKEN_SECRET_LEN] = { 1 };
	CHECK(token_verify(other, tok, 1000, &out) == TOKEN_BAD_SIGNATURE);
	/* Swapping in claims of another token keeps a valid-looking shape. */
	c.role = RS_ROLE_PARTICIPANT;
	char *tok2 = token_issue(secret, &c);
	char *dot1 = strchr(tok, '.'), *dot2 = strchr(tok2, '.');
	char forged[TOKEN_MAX_LEN];
	snprintf(forged, sizeof forged, "%.*s%s", (int)(dot2 - tok2), tok2, dot1);
	CHECK(token_verify(secret, forged, 1000, &out) == TOKEN_BAD_SIGNATURE);
	free(tok);
	free(tok2);
}

static void test_malformed(void)
{
	static const char *bad[] = { "", ".", "abc", "a.b.c", "!!!.???", "eyJ9.AAAA" };
	struct token_claims out;
	for (size_t i = 0; i < RS_ARRAY_LEN(bad); i++)
		CHECK(token_verify(secret, bad[i], 0, &out) != TOKEN_OK);
	char huge[TOKEN_MAX_LEN + 10];
	memset(huge, 'A', sizeof huge - 1);
	huge[sizeof huge - 1] = '\0';
	huge[5] = '.';
	CHECK(token_verify(secret, huge, 0, &out) == TOKEN_MALFORMED);
}

static void test_secret_file(void)
{
	char dir[] = "/tmp/rostrum-token-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char sub[300];
	snprintf(sub, sizeof sub, "%s/data", dir);
	uint8_t a[TOKEN_SECRET_LEN], b[TOKEN_SECRET_LEN];
	CHECK(token_secret_load(sub, a) == TOKEN_OK);
	CHECK(token_secret_load(sub, b) == TOKEN_OK);
	CHECK(memcmp(a, b, sizeof a) == 0);
	char path[400];
	snprintf(path, sizeof path, "%s/secret", sub);
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

static void test_room_ids(void)
{
	CHECK(token_room_id_valid("plenary"));
	CHECK(token_room_id_valid("ws-42_b"));
	CHECK(!token_room_id_valid(""));
	CHECK(!token_room_id_valid("Plenary"));
	CHECK(!token_room_id_valid("a/b"));
}

int main(void)
{
	test_round_trip();
	test_forgery();
	test_malformed();
	test_secret_file();
	test_room_ids();
	return check_done();
}
