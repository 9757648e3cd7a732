/*
 * STUN against the RFC 5769 test vectors (sample request, IPv4 and IPv6
 * responses, the long-term-credential request), our own Binding success
 * and error responses, and damaged input.
 */
#include "check.h"
#include "stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
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

/* Section 2.4: USERNAME in katakana, NONCE, REALM, MESSAGE-INTEGRITY, no FINGERPRINT. */
static const char rfc_long_term[] =
	"00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
	"00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00"
	"00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46"
	"53 54 76 79 36 34 73 41"
	"00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
	"00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66";

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

/* Rewrites the FINGERPRINT that ends a len-byte message after an edit. */
static void put_fingerprint(uint8_t *b, size_t len)
{
	uint32_t f = stun_fingerprint(b, len - 8);
	for (int i = 0; i < 4; i++)
		b[len - 4 + i] = (uint8_t)(f >> (24 - 8 * i));
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

/* Parsed as the RFC describes it; its integrity checks with the long-term key MD5(user:realm:pass). */
static void test_long_term(void)
{
	uint8_t b[256];
	size_t n = unhex(rfc_long_term, b);
	struct stun_msg m;
	CHECK(n == 116);
	CHECK(stun_parse(b, n, &m) == STUN_OK);
	CHECK(m.method == STUN_BINDING && m.cls == STUN_REQUEST && !m.has_fingerprint);
	static const char user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf"
				   "\xe3\x82\xb9";
	const struct stun_attr *u = stun_find(&m, STUN_A_USERNAME);
	CHECK(u && u->len == 18 && memcmp(stun_value(&m, u), user, 18) == 0);
	const struct stun_attr *nonce = stun_find(&m, STUN_A_NONCE);
	CHECK(nonce && nonce->len == 28 &&
	      memcmp(stun_value(&m, nonce), "f//499k954d6OL34oL9FSTvy64sA", 28) == 0);
	const struct stun_attr *realm = stun_find(&m, STUN_A_REALM);
	CHECK(realm && realm->len == 11 && memcmp(stun_value(&m, realm), "example.org", 11) == 0);
	/* RFC 8489 section 9.2.2: key = MD5(username ":" realm ":" SASLprep(password)). */
	char text[128];
	snprintf(text, sizeof text, "%s:example.org:TheMatrIX", user);
	uint8_t key[16];
	unsigned int klen = 0;
	CHECK(EVP_Digest(text, strlen(text), key, &klen, EVP_md5(), NULL) == 1 && klen == 16);
	CHECK(stun_check_integrity(&m, key, 16) == STUN_OK);
	key[0] ^= 1;
	CHECK(stun_check_integrity(&m, key, 16) == STUN_E_INTEGRITY);
}

/* Error responses: ERROR-CODE written and read back, with and without integrity. */
static void test_error_response(void)
{
	static const uint8_t tid[12] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };
	static const struct { int code; const char *reason; const uint8_t *key; int want; } cases[] = {
		{ 487, "Role Conflict", (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBt", STUN_OK },
		{ 401, "Unauthorized", NULL, STUN_OK },
		{ 400, "", NULL, STUN_OK },
		{ 299, "too low", NULL, STUN_E_ERROR_CODE },
		{ 700, "too high", NULL, STUN_E_ERROR_CODE },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		uint8_t out[256];
		size_t klen = cases[i].key ? strlen((const char *)cases[i].key) : 0;
		int n = stun_binding_error(tid, cases[i].code, cases[i].reason, cases[i].key, klen,
					   out, sizeof out);
		if (cases[i].want != STUN_OK) {
			CHECK(n == cases[i].want);
			continue;
		}
		struct stun_msg m;
		CHECK(n > 0 && stun_parse(out, (size_t)n, &m) == STUN_OK);
		CHECK(m.cls == STUN_ERROR && m.method == STUN_BINDING && m.has_fingerprint);
		CHECK(memcmp(m.tid, tid, 12) == 0);
		CHECK((m.integrity_at >= 0) == (cases[i].key != NULL));
		if (cases[i].key)
			CHECK(stun_check_integrity(&m, cases[i].key, klen) == STUN_OK);
		int code = 0;
		const char *reason = NULL;
		size_t rlen = 0;
		CHECK(stun_error_code(&m, stun_find(&m, STUN_A_ERROR_CODE), &code, &reason, &rlen) ==
		      STUN_OK);
		CHECK(code == cases[i].code && rlen == strlen(cases[i].reason) &&
		      memcmp(reason, cases[i].reason, rlen) == 0);
	}
	uint8_t small[40];
	CHECK(stun_binding_error(tid, 400, "Bad Request", NULL, 0, small, sizeof small) ==
	      STUN_E_NO_SPACE);
	/* A malformed ERROR-CODE value: class 2 is not an error class. */
	uint8_t out[64];
	int n = stun_binding_error(tid, 400, "x", NULL, 0, out, sizeof out);
	CHECK(n > 0);
	out[20 + 4 + 2] = 2;
	struct stun_msg m;
	CHECK(stun_parse(out, (size_t)n, &m) == STUN_E_FINGERPRINT);
	put_fingerprint(out, (size_t)n);
	CHECK(stun_parse(out, (size_t)n, &m) == STUN_OK);
	int code;
	const char *reason;
	size_t rlen;
	CHECK(stun_error_code(&m, stun_find(&m, STUN_A_ERROR_CODE), &code, &reason, &rlen) ==
	      STUN_E_ERROR_CODE);
	CHECK(stun_error_code(&m, NULL, &code, &reason, &rlen) == STUN_E_ERROR_CODE);
}

/* The request's ICE attributes read with the typed accessors. */
static void test_accessors(void)
{
	uint8_t b[256];
	size_t n = unhex(rfc_request, b);
	struct stun_msg m;
	CHECK(stun_parse(b, n, &m) == STUN_OK);
	CHECK(stun_u64(&m, stun_find(&m, STUN_A_ICE_CONTROLLED)) == 0x932ff9b151263b36ULL);
	CHECK(stun_u64(&m, stun_find(&m, STUN_A_PRIORITY)) == 0); /* wrong size */
	CHECK(stun_u32(&m, stun_find(&m, STUN_A_ICE_CONTROLLED)) == 0);
	CHECK(stun_u32(&m, NULL) == 0 && stun_u64(&m, NULL) == 0);
	CHECK(stun_find(&m, STUN_A_USE_CANDIDATE) == NULL);
	const struct stun_attr *sw = stun_find(&m, STUN_A_SOFTWARE);
	CHECK(sw && sw->len == 16 && memcmp(stun_value(&m, sw), "STUN test client", 16) == 0);
	/* Our own request carries what ICE needs, in a form the parser reads back. */
	uint8_t out[256];
	int len = stun_binding_request(m.tid, "a:b", 77, 0x0102030405060708ULL, true,
				       (const uint8_t *)"pw", 2, out, sizeof out);
	struct stun_msg r;
	CHECK(len > 0 && stun_parse(out, (size_t)len, &r) == STUN_OK && r.has_fingerprint);
	CHECK(stun_u32(&r, stun_find(&r, STUN_A_PRIORITY)) == 77);
	CHECK(stun_u64(&r, stun_find(&r, STUN_A_ICE_CONTROLLING)) == 0x0102030405060708ULL);
	CHECK(stun_find(&r, STUN_A_USE_CANDIDATE) != NULL);
	CHECK(stun_check_integrity(&r, (const uint8_t *)"pw", 2) == STUN_OK);
	char longname[600];
	memset(longname, 'u', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	CHECK(stun_binding_request(m.tid, longname, 1, 1, false, (const uint8_t *)"pw", 2, out,
				   sizeof out) == STUN_E_NO_SPACE);
}

/* Hand-made malformed messages, each refused with the documented error. */
static void test_negatives(void)
{
	static const struct { const char *name, *hex; int want; } cases[] = {
		{ "empty", "", STUN_E_SHORT },
		{ "short header", "00 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00",
		  STUN_E_SHORT },
		{ "not 0-3 first byte", "40 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00",
		  STUN_E_NOT_STUN },
		{ "bad cookie", "00 01 00 00 21 12 a4 43 00 00 00 00 00 00 00 00 00 00 00 00",
		  STUN_E_NOT_STUN },
		{ "length not a multiple of 4",
		  "00 01 00 02 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
		  STUN_E_NOT_STUN },
		{ "length beyond the datagram",
		  "00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 00",
		  STUN_E_SHORT },
		{ "trailing bytes",
		  "00 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
		  STUN_E_LENGTH },
		{ "attribute header cut",
		  "00 01 00 04 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 08",
		  STUN_E_ATTR },
		{ "attribute value overruns",
		  "00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00 00 06 00 05 61 62 63 64",
		  STUN_E_ATTR },
		{ "FINGERPRINT not last",
		  "00 01 00 10 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00"
		  "80 28 00 04 00 00 00 00 00 25 00 00 00 25 00 00", STUN_E_FINGERPRINT },
		{ "FINGERPRINT wrong size",
		  "00 01 00 0c 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00"
		  "80 28 00 08 00 00 00 00 00 00 00 00", STUN_E_FINGERPRINT },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		uint8_t b[256];
		struct stun_msg m;
		size_t n = unhex(cases[i].hex, b);
		int rc = stun_parse(b, n, &m);
		if (rc != cases[i].want)
			fprintf(stderr, "case '%s': got %s\n", cases[i].name, stun_strerror(rc));
		CHECK(rc == cases[i].want);
	}
	/* More attributes than the parser keeps. */
	uint8_t many[20 + 4 * (STUN_MAX_ATTRS + 1)] = { 0x00, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42 };
	many[3] = 4 * (STUN_MAX_ATTRS + 1);
	for (int i = 0; i <= STUN_MAX_ATTRS; i++)
		many[20 + 4 * i + 1] = 0x25; /* USE-CANDIDATE, empty */
	struct stun_msg m;
	CHECK(stun_parse(many, sizeof many, &m) == STUN_E_ATTR);
	/* MESSAGE-INTEGRITY of the wrong size never verifies. */
	uint8_t b[64];
	size_t n = unhex("00 01 00 08 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00"
			 "00 08 00 04 00 00 00 00", b);
	CHECK(stun_parse(b, n, &m) == STUN_OK && m.integrity_at == 0);
	CHECK(stun_check_integrity(&m, (const uint8_t *)"k", 1) == STUN_E_INTEGRITY);
	/* Without MESSAGE-INTEGRITY at all. */
	n = unhex("00 01 00 00 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00", b);
	CHECK(stun_parse(b, n, &m) == STUN_OK && m.integrity_at < 0);
	CHECK(stun_check_integrity(&m, (const uint8_t *)"k", 1) == STUN_E_INTEGRITY);
	/* An XOR-MAPPED-ADDRESS of an unknown family. */
	n = unhex("01 01 00 0c 21 12 a4 42 00 00 00 00 00 00 00 00 00 00 00 00"
		  "00 20 00 08 00 03 00 00 00 00 00 00", b);
	struct sockaddr_storage ss;
	CHECK(stun_parse(b, n, &m) == STUN_OK);
	CHECK(stun_xor_address(&m, stun_find(&m, STUN_A_XOR_MAPPED_ADDRESS), &ss) == STUN_E_ADDRESS);
	for (int e = 0; e >= -9; e--)
		CHECK(strcmp(stun_strerror(e), "unknown STUN error") != 0);
	CHECK(strcmp(stun_strerror(-100), "unknown STUN error") == 0);
}

int main(void)
{
	test_request();
	test_long_term();
	test_error_response();
	test_accessors();
	test_negatives();
	check_response(rfc_ipv4, AF_INET, "192.0.2.1");
	check_response(rfc_ipv6, AF_INET6, "2001:db8:1234:5678:11:2233:4455:6677");
	test_build();
	test_damage();
	return check_done();
}
