/*
 * STUN against the RFC 5769 test vectors (sample request, IPv4 and IPv6
 * responses), our own Binding success responses, and damaged input.
 */
#include "check.h"
#include "stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static const char *const password = "VOkJxbRl1RmTxUk/WvJxBt";

/* RFC 5769 section 2.1 (and Appendix A), written as hex text as the RFC prints it. */
static const char rfc_request[] =
	"00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
	"80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
	"00 24 00 04 6e 00 01 ff 80 29 00 08 93 2f f9 b1 51 26 3b 36"
	"00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
	"00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
	"80 28 00 04 e5 7a 3b cf";
/* Section 2.2: 192.0.2.1 port 32853. */
static const char rfc_ipv4[] =
	"01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
	"80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
	"00 20 00 08 00 01 a1 47 e1 12 a6 43"
	"00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
	"80 28 00 04 c0 7d 4c 96";
/* Section 2.3: 2001:db8:1234:5678:11:2233:4455:6677 port 32853. */
static const char rfc_ipv6[] =
	"01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
	"80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
	"00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
	"00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
	"80 28 00 04 c8 fb 0b 4c";

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		unsigned v;
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return n;
}

static void test_request(void)
{
	uint8_t b[256];
	size_t n = unhex(rfc_request, b);
	struct stun_msg m;
	CHECK(n == 108);
	CHECK(stun_parse(b, n, &m) == STUN_OK);
	CHECK(m.method == STUN_BINDING && m.cls == STUN_REQUEST && m.has_fingerprint);
	const struct stun_attr *u = stun_find(&m, STUN_A_USERNAME);
	CHECK(u && u->len == 9 && memcmp(b + u->off, "evtj:h6vY", 9) == 0);
	CHECK(stun_u32(&m, stun_find(&m, STUN_A_PRIORITY)) == 0x6e0001ff);
	CHECK(stun_find(&m, STUN_A_ICE_CONTROLLED) != NULL);
	CHECK(stun_check_integrity(&m, (const uint8_t *)password, strlen(password)) == STUN_OK);
	CHECK(stun_check_integrity(&m, (const uint8_t *)"wrong", 5) == STUN_E_INTEGRITY);
}

static void check_response(const char *hex, int family, const char *ip)
{
	uint8_t b[256];
	size_t n = unhex(hex, b);
	struct stun_msg m;
	CHECK(stun_parse(b, n, &m) == STUN_OK);
	CHECK(m.cls == STUN_SUCCESS && m.has_fingerprint);
	CHECK(stun_check_integrity(&m, (const uint8_t *)password, strlen(password)) == STUN_OK);
	struct sockaddr_storage ss;
	CHECK(stun_xor_address(&m, stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS), &ss) == STUN_OK);
	char text[64];
	CHECK(ss.ss_family == family);
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &s->sin_addr, text, sizeof text);
		CHECK(ntohs(s->sin_port) == 32853);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s->sin6_addr, text, sizeof text);
		CHECK(ntohs(s->sin6_port) == 32853);
	}
	CHECK_STR(text, ip);
}

/* Our response to the sample request must verify as the RFC's own responses do. */
static void test_build(void)
{
	uint8_t req[256], out[256];
	size_t n = unhex(rfc_request, req);
	struct stun_msg m, r;
	CHECK(stun_parse(req, n, &m) == STUN_OK);
	struct sockaddr_in6 from6 = { .sin6_family = AF_INET6, .sin6_port = htons(32853) };
	inet_pton(AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677", &from6.sin6_addr);
	struct sockaddr_in from4 = { .sin_family = AF_INET, .sin_port = htons(50000) };
	inet_pton(AF_INET, "10.213.0.2", &from4.sin_addr);
	const struct sockaddr *froms[] = { (struct sockaddr *)&from4, (struct sockaddr *)&from6 };
	for (int i = 0; i < 2; i++) {
		int len = stun_binding_success(m.tid, froms[i], (const uint8_t *)password,
					       strlen(password), out, sizeof out);
		CHECK(len > 0);
		CHECK(stun_parse(out, (size_t)len, &r) == STUN_OK);
		CHECK(r.cls == STUN_SUCCESS && r.method == STUN_BINDING && r.has_fingerprint);
		CHECK(memcmp(r.tid, m.tid, 12) == 0);
		CHECK(stun_check_integrity(&r, (const uint8_t *)password, strlen(password)) == STUN_OK);
		struct sockaddr_storage ss;
		CHECK(stun_xor_address(&r, stun_find(&r, STUN_A_XOR_MAPPED_ADDRESS), &ss) == STUN_OK);
		CHECK(ss.ss_family == froms[i]->sa_family);
	}
	/* The IPv6 answer's XOR-MAPPED-ADDRESS bytes equal the RFC's for the same address. */
	uint8_t v6[256];
	unhex(rfc_ipv6, v6);
	int len = stun_binding_success(m.tid, froms[1], (const uint8_t *)password, strlen(password),
				       out, sizeof out);
	CHECK(len > 0 && memcmp(out + 20, v6 + 36, 24) == 0);
	CHECK(stun_binding_success(m.tid, froms[0], (const uint8_t *)password, strlen(password),
				   out, 40) == STUN_E_NO_SPACE);
}

/* Every truncation and every single-bit flip is refused or, at worst, parsed without harm. */
static void test_damage(void)
{
	uint8_t b[256], d[256];
	size_t n = unhex(rfc_request, b);
	struct stun_msg m;
	for (size_t cut = 0; cut < n; cut++)
		CHECK(stun_parse(b, cut, &m) != STUN_OK);
	int refused = 0;
	for (size_t bit = 0; bit < n * 8; bit++) {
		memcpy(d, b, n);
		d[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int rc = stun_parse(d, n, &m);
		/* A shorter length field can cut FINGERPRINT off; ICE needs it, so it counts too. */
		if (rc != STUN_OK || !m.has_fingerprint ||
		    stun_check_integrity(&m, (const uint8_t *)password, strlen(password)) != STUN_OK)
			refused++;
	}
	CHECK(refused == (int)(n * 8)); /* FINGERPRINT and MESSAGE-INTEGRITY catch every flip */
	static const uint8_t junk[] = { 0x00, 0x01, 0x00, 0x04, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4,
					5, 6, 7, 8, 9, 10, 11, 12, 0x00, 0x06, 0xff, 0xff };
	CHECK(stun_parse(junk, sizeof junk, &m) == STUN_E_ATTR);
	CHECK(!stun_is_stun((const uint8_t *)"\x80\x00", 2));
	uint8_t big[2000] = { 0 };
	memcpy(big, b, n);
	CHECK(stun_parse(big, sizeof big, &m) == STUN_E_NOT_STUN);
}

int main(void)
{
	test_request();
	check_response(rfc_ipv4, AF_INET, "192.0.2.1");
	check_response(rfc_ipv6, AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677");
	test_build();
	test_damage();
	return check_done();
}
