/*
 * Join tokens: round trip, forgery, expiry, malformed and hostile input (long
 * signatures, every length, garbage), ids and revocation, the secret file;
 * and the attribute rules tokens carry (a token's attributes win, cleaning).
 */
#include "check.h"
#include "revoke.h"
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

/* A signature part of any length must be refused without writing past a buffer (ASan checks). */
static void test_long_signatures(void)
{
	struct token_claims c = sample(), out;
	char *tok = token_issue(secret, &c);
	const char *dot = strchr(tok, '.');
	size_t body = (size_t)(dot - tok);
	char *buf = malloc(body + 1 + 3001);
	memcpy(buf, tok, body + 1);
	for (size_t n = 0; n <= 3000; n++) {
		memset(buf + body + 1, 'A', n);
		buf[body + 1 + n] = '\0';
		int rc = token_verify(secret, buf, 1000, &out);
		CHECK(rc == TOKEN_MALFORMED || (n == 43 && rc == TOKEN_BAD_SIGNATURE));
	}
	/* The issue's example: a 600-character signature on a tiny body. */
	char small[700];
	snprintf(small, sizeof small, "eyJhIjoxfQ.%0600d", 0);
	memset(small + 11, 'A', 600);
	CHECK(token_verify(secret, small, 0, &out) == TOKEN_MALFORMED);
	free(buf);
	free(tok);
}

/* Every length of token made of any byte, and random cuts of a real one. */
static void test_garbage(void)
{
	struct token_claims out;
	uint32_t x = 0x9e3779b9u;
	char buf[3002];
	for (size_t n = 0; n <= 3000; n++) {
		for (size_t i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf[i] = (char)(x % 5 == 0 ? '.' : 1 + x % 255);
		}
		buf[n] = '\0';
		CHECK(token_verify(secret, buf, 0, &out) != TOKEN_OK);
		memset(buf, 'A', n);
		if (n > 2)
			buf[n / 3] = '.';
		CHECK(token_verify(secret, buf, 0, &out) != TOKEN_OK);
	}
	struct token_claims c = sample();
	char *tok = token_issue(secret, &c);
	size_t len = strlen(tok);
	for (size_t cut = 0; cut < len; cut++) {
		char *t = strndup(tok, cut);
		CHECK(token_verify(secret, t, 1000, &out) != TOKEN_OK);
		free(t);
	}
	free(tok);
}

static bool revoked_none(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	return false;
}

static bool revoked_list(void *ctx, const char *id)
{
	return revoke_has(ctx, id);
}

static void test_ids_and_revocation(void)
{
	struct token_claims c = sample(), out;
	token_new_id(c.jti);
	CHECK(token_id_valid(c.jti));
	char *tok = token_issue(secret, &c);
	CHECK(token_verify(secret, tok, 1000, &out) == TOKEN_OK);
	CHECK_STR(out.jti, c.jti);
	char id[TOKEN_ID_LEN + 1];
	CHECK(token_id_of(secret, tok, id) == TOKEN_OK);
	CHECK_STR(id, c.jti);
	/* Two tokens minted without an id get different fresh ones. */
	struct token_claims d = sample(), o1, o2;
	char *t1 = token_issue(secret, &d), *t2 = token_issue(secret, &d);
	CHECK(token_verify(secret, t1, 1000, &o1) == TOKEN_OK);
	CHECK(token_verify(secret, t2, 1000, &o2) == TOKEN_OK);
	CHECK(strcmp(o1.jti, o2.jti) != 0);

	char dir[] = "/tmp/rostrum-revoke-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	revoke_list *rl = revoke_create(dir);
	CHECK(revoke_refresh(rl) == 0); /* no file: nothing revoked */
	token_set_revocation_check(revoked_list, rl);
	CHECK(token_verify(secret, tok, 1000, &out) == TOKEN_OK);
	CHECK(revoke_add(dir, c.jti, 2000, 1000) == REVOKE_OK);
	CHECK(revoke_add(dir, c.jti, 2000, 1000) == REVOKE_OK); /* twice is once */
	CHECK(revoke_add(dir, "not an id", 0, 1000) == REVOKE_BAD_ID);
	CHECK(revoke_refresh(rl) == 1);
	CHECK(revoke_count(rl) == 1);
	CHECK(revoke_refresh(rl) == 0); /* unchanged: not reread */
	CHECK(token_verify(secret, tok, 1000, &out) == TOKEN_REVOKED);
	CHECK(token_verify(secret, t1, 1000, &out) == TOKEN_OK);
	CHECK(revoke_add(dir, o1.jti, 0, 1000) == REVOKE_OK);
	CHECK(revoke_refresh(rl) == 1);
	CHECK(token_verify(secret, t1, 1000, &out) == TOKEN_REVOKED);
	/* Entries long expired are pruned on the next write; revoked ones without expiry stay. */
	CHECK(revoke_add(dir, o2.jti, 0, 2000 + 2 * 86400) == REVOKE_OK);
	CHECK(revoke_refresh(rl) == 1);
	CHECK(revoke_count(rl) == 2 && !revoke_has(rl, c.jti) && revoke_has(rl, o1.jti));
	/* A torn or foreign file never un-revokes. */
	char path[300];
	snprintf(path, sizeof path, "%s/%s", dir, REVOKE_FILE);
	FILE *f = fopen(path, "w");
	fputs("garbage line\n", f);
	fclose(f);
	CHECK(revoke_refresh(rl) == REVOKE_BAD_FILE);
	CHECK(revoke_has(rl, o1.jti));
	unlink(path);
	CHECK(revoke_refresh(rl) == 1 && revoke_count(rl) == 0);
	token_set_revocation_check(revoked_none, NULL);
	token_set_revocation_check(NULL, NULL);
	revoke_destroy(rl);
	rmdir(dir);
	free(tok);
	free(t1);
	free(t2);
}

/* The join form and presence updates never override what the token set, nor erase what they omit. */
static void test_token_attrs_win(void)
{
	struct token_claims c = sample(), out;
	c.attrs.group[0] = '\0';
	strcpy(c.attrs.group, "academia");
	c.attrs.region[0] = '\0';
	char *tok = token_issue(secret, &c);
	CHECK(token_verify(secret, tok, 1000, &out) == TOKEN_OK);
	json_error_t e;
	json_t *form = json_loads("{\"group\": \"private_sector\", \"onsite\": false, "
				  "\"region\": \"Europe\", \"label\": \"x\"}", 0, &e);
	CHECK(attrs_from_json(&out.attrs, form) == NULL);
	CHECK_STR(out.attrs.group, "academia");
	CHECK(out.attrs.onsite == ATTRS_ONSITE);
	CHECK_STR(out.attrs.label, "remote hub: Nairobi");
	CHECK_STR(out.attrs.region, "Europe"); /* the token did not set it */
	json_decref(form);
	/* A presence update naming one field leaves the others. */
	json_t *upd = json_loads("{\"region\": \"Africa\"}", 0, &e);
	CHECK(attrs_from_json(&out.attrs, upd) == NULL);
	CHECK_STR(out.attrs.region, "Africa");
	CHECK_STR(out.attrs.group, "academia");
	json_decref(upd);
	/* A bad field changes nothing at all. */
	upd = json_loads("{\"region\": \"Asia\", \"group\": \"pirates\"}", 0, &e);
	CHECK(attrs_from_json(&out.attrs, upd) != NULL);
	CHECK_STR(out.attrs.region, "Africa");
	json_decref(upd);
	free(tok);
}

static void test_cleaning(void)
{
	struct rs_attrs a = { .onsite = ATTRS_ONSITE_UNKNOWN };
	CHECK(attrs_set_name(&a, "Zo\xc3\xab\x1b[31m Ndiaye\x07"));
	CHECK_STR(a.name, "Zo\xc3\xab[31m Ndiaye");
	CHECK(attrs_set_name(&a, "A\xc2\x9b" "2J\tB"));
	CHECK_STR(a.name, "A2J B");
	CHECK(!attrs_set_name(&a, "\x1b\x1b\x07"));
	CHECK(!attrs_set_name(&a, " \t "));
	char t[] = "a\x1b\r\nb\x7f\xc2\xa0" "c";
	size_t n = rs_text_clean(t, strlen(t));
	t[n] = '\0';
	CHECK_STR(t, "a  b\xc2\xa0" "c"); /* U+00A0 is a space, not a control */
	json_error_t e;
	json_t *o = json_loads("{\"label\": \"hub\\u001b[2J\"}", 0, &e);
	CHECK(attrs_from_json(&a, o) == NULL);
	CHECK_STR(a.label, "hub[2J");
	json_decref(o);
}

int main(void)
{
	test_long_signatures();
	test_garbage();
	test_ids_and_revocation();
	test_token_attrs_win();
	test_cleaning();
	test_round_trip();
	test_forgery();
	test_malformed();
	test_secret_file();
	test_room_ids();
	return check_done();
}
