/*
 * ICE-lite: a browser's connectivity checks answered, nomination, consent
 * freshness on fake time, checks with the wrong credentials refused and
 * counted, and the server-wide tables that route datagrams on one port.
 * The table test is randomized: argv[1] sets its seed, printed on failure.
 */
#include "check.h"
#include "ice.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static char lufrag[ICE_UFRAG_LEN + 1], lpwd[ICE_PWD_LEN + 1];
static const char *rufrag = "brws";

static struct sockaddr_in peer(int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "10.213.0.2", &s.sin_addr);
	return s;
}

/* RFC 5769 section 2.1: a controlled agent's check, user evtj:h6vY, password VOkJxbRl1RmTxUk/WvJxBt. */
static const uint8_t sample[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
	0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e,
	0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24,
	0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
	0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68,
	0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5,
	0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf };

/* A check as the browser sends it: USERNAME "ours:theirs", keyed with our password. */
static size_t check(uint8_t *out, const char *user, const char *pwd, bool nominate, int k)
{
	uint8_t tid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, (uint8_t)k };
	int n = stun_binding_request(tid, user, 0x6e0001ff, 0x1122334455667788ULL, nominate,
				     (const uint8_t *)pwd, strlen(pwd), out, 512);
	CHECK(n > 0);
	return (size_t)n;
}

static void test_checks_and_nomination(void)
{
	ice_credentials(lufrag, lpwd);
	CHECK(strlen(lufrag) == ICE_UFRAG_LEN && strlen(lpwd) == ICE_PWD_LEN);
	ice_agent *a = ice_agent_create(lufrag, lpwd, rufrag);
	char user[64];
	snprintf(user, sizeof user, "%s:%s", lufrag, rufrag);
	uint8_t req[512], resp[512];
	size_t rlen;
	struct sockaddr_in p1 = peer(50001), p2 = peer(50002);
	size_t n = check(req, user, lpwd, false, 1);
	struct stun_msg m;
	char found[32];
	CHECK(stun_parse(req, n, &m) == STUN_OK && ice_local_ufrag(&m, found, sizeof found));
	CHECK_STR(found, lufrag);
	CHECK(ice_agent_consent_deadline(a) == INT64_MAX);
	CHECK(ice_agent_input(a, 1000, req, n, (struct sockaddr *)&p1, sizeof p1, resp, sizeof resp,
			      &rlen) == ICE_OK);
	CHECK(ice_agent_selected(a) == NULL); /* answered, not yet nominated */
	/* The browser checks the response with our password and reads its own address. */
	CHECK(stun_parse(resp, rlen, &m) == STUN_OK && m.cls == STUN_SUCCESS && m.has_fingerprint);
	CHECK(stun_check_integrity(&m, (const uint8_t *)lpwd, strlen(lpwd)) == STUN_OK);
	struct sockaddr_storage ss;
	CHECK(stun_xor_address(&m, stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS), &ss) == STUN_OK);
	CHECK(((struct sockaddr_in *)&ss)->sin_port == htons(50001));
	n = check(req, user, lpwd, true, 2);
	CHECK(ice_agent_input(a, 2000, req, n, (struct sockaddr *)&p2, sizeof p2, resp, sizeof resp,
			      &rlen) == ICE_OK);
	const struct sockaddr_storage *sel = ice_agent_selected(a);
	CHECK(sel && ((const struct sockaddr_in *)sel)->sin_port == htons(50002));
	/* Consent (RFC 7675): 30 s after the last valid check. */
	CHECK(ice_agent_consent_deadline(a) == 2000 + ICE_CONSENT_MS);
	CHECK(ice_agent_alive(a, 2000 + ICE_CONSENT_MS - 1));
	CHECK(!ice_agent_alive(a, 2000 + ICE_CONSENT_MS));
	ice_agent_free(a);
}

static void test_refusals(void)
{
	ice_agent *a = ice_agent_create(lufrag, lpwd, rufrag);
	char user[64], wrong_user[64];
	snprintf(user, sizeof user, "%s:%s", lufrag, rufrag);
	snprintf(wrong_user, sizeof wrong_user, "%s:other", lufrag);
	uint8_t req[512], resp[512];
	size_t rlen = 0;
	struct sockaddr_in p = peer(50003);
	size_t n = check(req, user, "not-the-password", true, 3);
	CHECK(ice_agent_input(a, 1, req, n, (struct sockaddr *)&p, sizeof p, resp, sizeof resp,
			      &rlen) == ICE_E_INTEGRITY);
	n = check(req, wrong_user, lpwd, true, 4);
	CHECK(ice_agent_input(a, 1, req, n, (struct sockaddr *)&p, sizeof p, resp, sizeof resp,
			      &rlen) == ICE_E_USERNAME);
	n = check(req, user, lpwd, true, 5);
	req[n - 1] ^= 1; /* a damaged FINGERPRINT */
	CHECK(ice_agent_input(a, 1, req, n, (struct sockaddr *)&p, sizeof p, resp, sizeof resp,
			      &rlen) == ICE_E_FINGERPRINT);
	CHECK(ice_agent_input(a, 1, (const uint8_t *)"\x80\x6f garbage", 10, (struct sockaddr *)&p,
			      sizeof p, resp, sizeof resp, &rlen) == ICE_E_NOT_STUN);
	CHECK(ice_agent_selected(a) == NULL);
	ice_agent_free(a);
	/* RFC 5769's sample request comes from a controlled agent: two controlled agents is an error. */
	ice_agent *lite = ice_agent_create("evtj", "VOkJxbRl1RmTxUk/WvJxBt", "h6vY");
	CHECK(ice_agent_input(lite, 1, sample, sizeof sample, (struct sockaddr *)&p, sizeof p, resp,
			      sizeof resp, &rlen) == ICE_E_ROLE);
	ice_agent_free(lite);
}

/* The same random bytes give the same credentials, all ice-chars, of the lengths announced. */
static void test_credentials(void)
{
	uint8_t r[ICE_UFRAG_LEN + ICE_PWD_LEN];
	for (size_t i = 0; i < sizeof r; i++)
		r[i] = (uint8_t)(i * 37 + 255);
	char u1[ICE_UFRAG_LEN + 1], p1[ICE_PWD_LEN + 1], u2[ICE_UFRAG_LEN + 1], p2[ICE_PWD_LEN + 1];
	ice_credentials_from(r, u1, p1);
	ice_credentials_from(r, u2, p2);
	CHECK_STR(u1, u2);
	CHECK_STR(p1, p2);
	CHECK(strlen(u1) == ICE_UFRAG_LEN && strlen(p1) == ICE_PWD_LEN);
	CHECK(strspn(p1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") ==
	      ICE_PWD_LEN);
	ice_credentials(u1, p1);
	ice_credentials(u2, p2);
	CHECK(strcmp(u1, u2) != 0 || strcmp(p1, p2) != 0);
	char big[300];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(ice_agent_create(big, "p", "r") == NULL);
	CHECK(ice_agent_create("u", "p", big) == NULL);
}

/* The browser moves its nomination: the latest valid one wins; consent is refreshed by each check. */
static void test_renomination_and_consent(void)
{
	ice_agent *a = ice_agent_create("locl", "0123456789012345678901", "rmte");
	uint8_t req[512], resp[512];
	size_t rlen;
	struct sockaddr_in p1 = peer(40001), p2 = peer(40002);
	struct sockaddr_in6 p6 = { .sin6_family = AF_INET6, .sin6_port = htons(40003) };
	inet_pton(AF_INET6, "2001:db8::7", &p6.sin6_addr);
	const char *pwd = "0123456789012345678901";
	size_t n = check(req, "locl:rmte", pwd, true, 1);
	CHECK(ice_agent_input(a, 0, req, n, (struct sockaddr *)&p1, sizeof p1, resp, sizeof resp,
			      &rlen) == ICE_OK);
	n = check(req, "locl:rmte", pwd, true, 2);
	CHECK(ice_agent_input(a, 10000, req, n, (struct sockaddr *)&p6, sizeof p6, resp,
			      sizeof resp, &rlen) == ICE_OK);
	const struct sockaddr_storage *sel = ice_agent_selected(a);
	CHECK(sel && sel->ss_family == AF_INET6);
	CHECK(ice_agent_destination(a) == sel);
	/* The response carries the IPv6 address the browser was seen from. */
	struct stun_msg m;
	struct sockaddr_storage ss;
	CHECK(stun_parse(resp, rlen, &m) == STUN_OK &&
	      stun_xor_address(&m, stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS), &ss) == STUN_OK);
	CHECK(ss.ss_family == AF_INET6 && memcmp(&((struct sockaddr_in6 *)&ss)->sin6_addr,
						 &p6.sin6_addr, 16) == 0);
	/* A check without USE-CANDIDATE keeps the nomination but refreshes consent. */
	n = check(req, "locl:rmte", pwd, false, 3);
	CHECK(ice_agent_input(a, 25000, req, n, (struct sockaddr *)&p2, sizeof p2, resp,
			      sizeof resp, &rlen) == ICE_OK);
	CHECK(ice_agent_selected(a)->ss_family == AF_INET6);
	/* An IPv6 source is its address and port: a flow label changes nothing, a port does. */
	struct sockaddr_in6 q6 = p6;
	q6.sin6_flowinfo = htonl(0x12345);
	CHECK(ice_agent_validated(a, (struct sockaddr *)&q6));
	q6.sin6_port = htons(40004);
	CHECK(!ice_agent_validated(a, (struct sockaddr *)&q6));
	q6 = p6;
	q6.sin6_addr.s6_addr[15] ^= 1;
	CHECK(!ice_agent_validated(a, (struct sockaddr *)&q6));
	struct sockaddr_in p4 = p1;
	memset(p4.sin_zero, 0x5a, sizeof p4.sin_zero);
	CHECK(ice_agent_validated(a, (struct sockaddr *)&p4));
	CHECK(ice_agent_validated(a, (struct sockaddr *)&p1) &&
	      ice_agent_validated(a, (struct sockaddr *)&p2));
	CHECK(ice_agent_consent_deadline(a) == 25000 + ICE_CONSENT_MS);
	CHECK(ice_agent_alive(a, 25000 + ICE_CONSENT_MS - 1) && !ice_agent_alive(a, 55000));
	/* A refused check does not refresh consent. */
	n = check(req, "locl:rmte", "wrong-password-000000000", false, 4);
	CHECK(ice_agent_input(a, 50000, req, n, (struct sockaddr *)&p2, sizeof p2, resp,
			      sizeof resp, &rlen) == ICE_E_INTEGRITY && rlen == 0);
	CHECK(ice_agent_consent_deadline(a) == 25000 + ICE_CONSENT_MS);
	const struct ice_stats *st = ice_agent_stats(a);
	CHECK(st->answered == 3 && st->nominations == 2 && st->bad_integrity == 1);
	ice_agent_free(a);
}

/* Every kind of refusal is counted once under its own name. */
static void test_counters(void)
{
	const char *pwd = "0123456789012345678901";
	ice_agent *a = ice_agent_create("locl", pwd, "rmte");
	uint8_t req[512], resp[512];
	size_t rlen = 99, n;
	struct sockaddr_in p = peer(40010);
	const struct sockaddr *from = (const struct sockaddr *)&p;
	CHECK(ice_agent_input(a, 0, (const uint8_t *)"garbage", 7, from, sizeof p, resp,
			      sizeof resp, &rlen) == ICE_E_NOT_STUN && rlen == 0);
	/* A success response is not a check. */
	uint8_t tid[12] = { 0 };
	int k = stun_binding_success(tid, from, (const uint8_t *)pwd, strlen(pwd), req, sizeof req);
	CHECK(k > 0 && ice_agent_input(a, 0, req, (size_t)k, from, sizeof p, resp, sizeof resp,
				       &rlen) == ICE_E_NOT_REQUEST);
	n = check(req, "locl:other", pwd, false, 1);
	CHECK(ice_agent_input(a, 0, req, n, from, sizeof p, resp, sizeof resp, &rlen) ==
	      ICE_E_USERNAME);
	n = check(req, "locl", pwd, false, 2); /* no colon */
	CHECK(ice_agent_input(a, 0, req, n, from, sizeof p, resp, sizeof resp, &rlen) ==
	      ICE_E_USERNAME);
	n = check(req, "locl:rmte", pwd, false, 3);
	req[n - 2] ^= 0x40;
	CHECK(ice_agent_input(a, 0, req, n, from, sizeof p, resp, sizeof resp, &rlen) ==
	      ICE_E_FINGERPRINT);
	n = check(req, "locl:rmte", pwd, false, 4);
	CHECK(ice_agent_input(a, 0, req, n, from, sizeof p, resp, 40, &rlen) == ICE_E_NO_SPACE);
	const struct ice_stats *st = ice_agent_stats(a);
	CHECK(st->not_stun == 1 && st->not_request == 1 && st->bad_username == 2 &&
	      st->bad_fingerprint == 1 && st->bad_integrity == 0 && st->answered == 0);
	CHECK(ice_agent_selected(a) == NULL && ice_agent_destination(a) == NULL);
	CHECK(ice_agent_alive(a, INT64_MAX - 1)); /* no check yet: nothing to expire */
	ice_agent_free(a);
	for (int e = 0; e >= -8; e--)
		CHECK(strcmp(ice_strerror(e), "unknown ICE error") != 0);
}

/* A controlled peer gets a 487 it can verify with our password. */
static void test_role_conflict_response(void)
{
	ice_agent *lite = ice_agent_create("evtj", "VOkJxbRl1RmTxUk/WvJxBt", "h6vY");
	uint8_t resp[512];
	size_t rlen = 0;
	struct sockaddr_in p = peer(40020);
	struct stun_msg m;
	/* RFC 5769's sample request is from a controlled agent, keyed with our password. */
	CHECK(ice_agent_input(lite, 1, sample, sizeof sample, (struct sockaddr *)&p, sizeof p, resp,
			      sizeof resp, &rlen) == ICE_E_ROLE);
	CHECK(rlen > 0 && stun_parse(resp, rlen, &m) == STUN_OK);
	CHECK(m.cls == STUN_ERROR && m.has_fingerprint && memcmp(m.tid, sample + 8, 12) == 0);
	CHECK(stun_check_integrity(&m, (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBt", 22) == STUN_OK);
	int code;
	const char *reason;
	size_t reason_len;
	CHECK(stun_error_code(&m, stun_find(&m, STUN_A_ERROR_CODE), &code, &reason, &reason_len) ==
	      STUN_OK && code == 487);
	CHECK(ice_agent_stats(lite)->role_conflicts == 1 && !ice_agent_validated(lite, (struct sockaddr *)&p));
	ice_agent_free(lite);
}

/* Routing on the shared port: by ufrag for checks, by address for the rest. */
static void test_server_routing(void)
{
	ice_server *s = ice_server_create(42);
	int A, B;
	CHECK(ice_server_add(s, "ufragA", &A) == ICE_OK);
	CHECK(ice_server_add(s, "a-much-longer-ufrag-than-twenty-bytes", &B) == ICE_OK);
	CHECK(ice_server_add(s, "ufragA", &B) == ICE_E_DUPLICATE);
	CHECK(ice_server_add(s, "", &B) == ICE_E_USERNAME);
	CHECK(ice_server_n_ufrags(s) == 2);
	uint8_t req[512];
	size_t n = check(req, "a-much-longer-ufrag-than-twenty-bytes:brws", "pw", false, 1);
	struct sockaddr_in pa = peer(41000), pb = peer(41001);
	/* A check finds its connection by ufrag whatever the address. */
	CHECK(ice_server_route(s, req, n, (struct sockaddr *)&pa) == &B);
	ice_server_bind(s, (struct sockaddr *)&pa, &A);
	CHECK(ice_server_route(s, req, n, (struct sockaddr *)&pa) == &B);
	/* Media and DTLS find it by address once bound. */
	static const uint8_t media[] = { 0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 };
	CHECK(ice_server_route(s, media, sizeof media, (struct sockaddr *)&pa) == &A);
	CHECK(ice_server_route(s, media, sizeof media, (struct sockaddr *)&pb) == NULL);
	/* A check for an unknown ufrag goes nowhere, even from a bound address. */
	n = check(req, "nobody:brws", "pw", false, 2);
	CHECK(ice_server_route(s, req, n, (struct sockaddr *)&pa) == NULL);
	/* The latest binding of an address wins; removing an owner forgets all of it. */
	ice_server_bind(s, (struct sockaddr *)&pa, &B);
	ice_server_bind(s, (struct sockaddr *)&pb, &B);
	CHECK(ice_server_by_address(s, (struct sockaddr *)&pa) == &B);
	CHECK(ice_server_n_addresses(s) == 2);
	ice_server_remove(s, &B);
	CHECK(ice_server_n_addresses(s) == 0 && ice_server_n_ufrags(s) == 1);
	CHECK(ice_server_by_ufrag(s, "ufragA", 6) == &A && ice_server_by_ufrag(s, "ufrag", 5) == NULL);
	CHECK(ice_server_by_ufrag(s, "", 0) == NULL);
	struct sockaddr un = { .sa_family = AF_UNIX };
	ice_server_bind(s, &un, &A); /* not an IP address: ignored */
	CHECK(ice_server_n_addresses(s) == 0 && ice_server_by_address(s, &un) == NULL);
	ice_server_destroy(s);
}

/* Tuples come and go one at a time: unbinding touches only that address, and only for its owner. */
static void test_server_tuples(void)
{
	ice_server *s = ice_server_create(7);
	int A, B;
	CHECK(ice_server_add(s, "ufragA", &A) == ICE_OK && ice_server_add(s, "ufragB", &B) == ICE_OK);
	struct sockaddr_in p1 = peer(42001), p2 = peer(42002), p3 = peer(42003);
	ice_server_bind(s, (struct sockaddr *)&p1, &A);
	ice_server_bind(s, (struct sockaddr *)&p2, &A);
	ice_server_bind(s, (struct sockaddr *)&p3, &B);
	ice_server_unbind(s, (struct sockaddr *)&p1, &A);
	CHECK(ice_server_by_address(s, (struct sockaddr *)&p1) == NULL);
	CHECK(ice_server_by_address(s, (struct sockaddr *)&p2) == &A);
	ice_server_unbind(s, (struct sockaddr *)&p3, &A); /* B's tuple: A cannot take it away */
	CHECK(ice_server_by_address(s, (struct sockaddr *)&p3) == &B);
	ice_server_bind(s, (struct sockaddr *)&p2, &B); /* moved to B by a newer check */
	ice_server_unbind(s, (struct sockaddr *)&p2, &A); /* A's stale removal leaves it with B */
	CHECK(ice_server_by_address(s, (struct sockaddr *)&p2) == &B);
	ice_server_remove_ufrag(s, "ufragA", &B); /* not B's */
	CHECK(ice_server_by_ufrag(s, "ufragA", 6) == &A);
	ice_server_remove_ufrag(s, "ufragA", &A);
	CHECK(ice_server_by_ufrag(s, "ufragA", 6) == NULL && ice_server_by_ufrag(s, "ufragB", 6) == &B);
	CHECK(ice_server_n_ufrags(s) == 1 && ice_server_n_addresses(s) == 2);
	ice_server_unbind(s, (struct sockaddr *)&p2, &B);
	ice_server_unbind(s, (struct sockaddr *)&p3, &B);
	CHECK(ice_server_n_addresses(s) == 0);
	ice_server_destroy(s);
}

static uint64_t rng_state;

/* xorshift64*: a small seeded generator so a failing run can be repeated. */
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* Random adds, binds and removals against a plain array: the tables agree at every step. */
static void test_server_random(uint64_t seed)
{
	enum { OWNERS = 300, STEPS = 20000 };
	static int owners[OWNERS];
	static bool added[OWNERS];
	static int bound_to[OWNERS]; /* address i (port 20000 + i) -> owner index, or -1 */
	int before = check_failed;
	rng_state = seed ? seed : 1;
	memset(added, 0, sizeof added);
	for (int i = 0; i < OWNERS; i++)
		bound_to[i] = -1;
	ice_server *s = ice_server_create(seed);
	for (int step = 0; step < STEPS && check_failed == before; step++) {
		int o = (int)(rng() % OWNERS), addr = (int)(rng() % OWNERS);
		char ufrag[32];
		snprintf(ufrag, sizeof ufrag, "u%d%s", o, o % 3 ? "" : "-padded-past-inline-size");
		struct sockaddr_in pa = peer(20000 + addr);
		switch (rng() % 4) {
		case 0:
			CHECK(ice_server_add(s, ufrag, &owners[o]) == (added[o] ? ICE_E_DUPLICATE : ICE_OK));
			added[o] = true;
			break;
		case 1:
			ice_server_bind(s, (struct sockaddr *)&pa, &owners[o]);
			bound_to[addr] = o;
			break;
		case 2:
			ice_server_remove(s, &owners[o]);
			added[o] = false;
			for (int i = 0; i < OWNERS; i++)
				if (bound_to[i] == o)
					bound_to[i] = -1;
			break;
		default:
			CHECK(ice_server_by_ufrag(s, ufrag, strlen(ufrag)) == (added[o] ? &owners[o] : NULL));
			CHECK(ice_server_by_address(s, (struct sockaddr *)&pa) ==
			      (bound_to[addr] >= 0 ? &owners[bound_to[addr]] : NULL));
		}
	}
	size_t n_added = 0, n_bound = 0;
	for (int i = 0; i < OWNERS; i++) {
		n_added += added[i];
		n_bound += bound_to[i] >= 0;
		struct sockaddr_in pa = peer(20000 + i);
		CHECK(ice_server_by_address(s, (struct sockaddr *)&pa) ==
		      (bound_to[i] >= 0 ? &owners[bound_to[i]] : NULL));
	}
	CHECK(ice_server_n_ufrags(s) == n_added && ice_server_n_addresses(s) == n_bound);
	ice_server_destroy(s);
	if (check_failed != before)
		fprintf(stderr, "test_server_random failed with seed %llu (rerun: test_ice %llu)\n",
			(unsigned long long)seed, (unsigned long long)seed);
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x1ce5eed;
	test_checks_and_nomination();
	test_refusals();
	test_credentials();
	test_renomination_and_consent();
	test_counters();
	test_role_conflict_response();
	test_server_routing();
	test_server_tuples();
	test_server_random(seed);
	return check_done();
}
