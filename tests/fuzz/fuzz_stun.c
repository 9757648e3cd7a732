/*
 * STUN as it arrives on the media port (ICE connectivity checks, RFC 8489 and
 * 8445): parse, then every accessor the ICE code uses on each attribute, the
 * integrity check, and a reply built for the message that must parse back.
 */
#include "fuzz.h"
#include "stun.h"

#include <netinet/in.h>

static const char *const password = "VOkJxbRl1RmTxUk/WvJxBt"; /* RFC 5769's */

static long seen; /* accessor results: any value is fine, a crash is not */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (stun_is_stun(data, size))
		seen++;
	struct stun_msg m;
	if (stun_parse(data, size, &m) != STUN_OK)
		return 0;
	for (int i = 0; i < m.n_attrs; i++) {
		const struct stun_attr *a = &m.attrs[i];
		if (a->off + (size_t)a->len > m.len)
			abort(); /* every attribute lies inside the message */
		struct sockaddr_storage ss;
		int code;
		const char *reason;
		size_t reason_len;
		seen += stun_u32(&m, a) + stun_u64(&m, a) + (stun_value(&m, a) != NULL);
		seen += stun_xor_address(&m, a, &ss) == STUN_OK;
		if (stun_error_code(&m, a, &code, &reason, &reason_len) == STUN_OK &&
		    (code < 300 || code > 699 || reason + reason_len > (const char *)m.buf + m.len))
			abort();
	}
	seen += stun_find(&m, STUN_A_USERNAME) != NULL;
	seen += stun_check_integrity(&m, (const uint8_t *)password, strlen(password)) == STUN_OK;
	seen += stun_check_integrity(&m, (const uint8_t *)"", 0) == STUN_OK;
	/* What the server answers a request with must be a valid message itself. */
	struct sockaddr_in6 from = { .sin6_family = AF_INET6, .sin6_port = htons(5000) };
	memcpy(&from.sin6_addr, data, size < 16 ? size : 16);
	uint8_t out[1500];
	int n = stun_binding_success(m.tid, (const struct sockaddr *)&from, (const uint8_t *)"pw",
				     2, out, sizeof out);
	struct stun_msg back;
	if (n <= 0 || stun_parse(out, (size_t)n, &back) != STUN_OK ||
	    stun_check_integrity(&back, (const uint8_t *)"pw", 2) != STUN_OK || !back.has_fingerprint)
		abort();
	return 0;
}
