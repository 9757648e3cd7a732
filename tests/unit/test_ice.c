/*
 * ICE-lite: a browser's connectivity checks answered, nomination, consent
 * freshness on fake time, and checks with the wrong credentials refused.
 */
#include "check.h"
#include "ice.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static char lufrag[ICE_UFRAG_LEN + 1], lpwd[ICE_PWD_LEN + 1];
static const char *rufrag = "brws";

static struct sockaddr_in peer(int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "10.213.0.2", &s.sin_addr);
	return s;
}

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
	static const uint8_t sample[] = {
		0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
		0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e,
		0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24,
		0x00, 0x04, 0x6e, 0x00, 0x01, 0xff, 0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1,
		0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68,
		0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
		0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49, 0xc1, 0xb5,
		0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf };
	CHECK(ice_agent_input(lite, 1, sample, sizeof sample, (struct sockaddr *)&p, sizeof p, resp,
			      sizeof resp, &rlen) == ICE_E_ROLE);
	ice_agent_free(lite);
}

int main(void)
{
	test_checks_and_nomination();
	test_refusals();
	return check_done();
}
