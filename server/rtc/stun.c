#include "stun.h"
#include "bytes.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#define MAX_DATAGRAM 1500 /* a STUN message that must fit one UDP datagram on the path */
#define FINGERPRINT_XOR 0x5354554eu


/* CRC-32 (ISO 3309, as FINGERPRINT requires), bitwise: STUN messages are short. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

uint32_t stun_fingerprint(const uint8_t *buf, size_t len)
{
	return crc32_ieee(buf, len) ^ FINGERPRINT_XOR;
}

/* RFC 7983: first byte 0..3; RFC 8489 section 5: the magic cookie. */
bool stun_is_stun(const uint8_t *buf, size_t len)
{
	return len >= STUN_HEADER_LEN && buf[0] < 4 && get32(buf + 4) == STUN_MAGIC;
}

/* Section 5: the class bits are C1 (bit 8) and C0 (bit 4) of the type; the rest is the method. */
static void split_type(uint16_t t, uint16_t *method, enum stun_class *cls)
{
	*cls = (enum stun_class)(((t >> 4) & 1) | ((t >> 7) & 2));
	*method = (uint16_t)((t & 0x000f) | ((t >> 1) & 0x0070) | ((t >> 2) & 0x0f80));
}

static uint16_t join_type(uint16_t method, enum stun_class cls)
{
	return (uint16_t)((method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) |
			  ((cls & 1) << 4) | ((cls & 2) << 7));
}

/* Walks the attributes; section 14: after MESSAGE-INTEGRITY only FINGERPRINT counts. */
static int parse_attrs(struct stun_msg *m)
{
	size_t off = STUN_HEADER_LEN;
	while (off < m->len) {
		if (m->len - off < 4 || m->n_attrs == STUN_MAX_ATTRS)
			return STUN_E_ATTR;
		uint16_t type = get16(m->buf + off), alen = get16(m->buf + off + 2);
		size_t padded = ((size_t)alen + 3) & ~(size_t)3;
		if (m->len - off - 4 < padded)
			return STUN_E_ATTR;
		bool after_mi = m->integrity_at >= 0;
		if (type == STUN_A_FINGERPRINT) {
			if (alen != 4 || off + 8 != m->len ||
			    get32(m->buf + off + 4) != stun_fingerprint(m->buf, off))
				return STUN_E_FINGERPRINT;
			m->has_fingerprint = true;
		} else if (!after_mi) {
			if (type == STUN_A_MESSAGE_INTEGRITY)
				m->integrity_at = m->n_attrs;
			m->attrs[m->n_attrs++] = (struct stun_attr){ type, alen, (uint16_t)(off + 4) };
		}
		off += 4 + padded;
	}
	return STUN_OK;
}

int stun_parse(const uint8_t *buf, size_t len, struct stun_msg *out)
{
	memset(out, 0, sizeof *out);
	out->integrity_at = -1;
	if (len < STUN_HEADER_LEN)
		return STUN_E_SHORT;
	uint16_t mlen = get16(buf + 2);
	if (!stun_is_stun(buf, len) || (mlen & 3) || len > MAX_DATAGRAM)
		return STUN_E_NOT_STUN;
	if ((size_t)mlen + STUN_HEADER_LEN > len)
		return STUN_E_SHORT;
	/* Section 6.3: trailing bytes would hide from FINGERPRINT and integrity alike. */
	if ((size_t)mlen + STUN_HEADER_LEN < len)
		return STUN_E_LENGTH;
	out->buf = buf;
	out->len = (size_t)mlen + STUN_HEADER_LEN;
	split_type(get16(buf), &out->method, &out->cls);
	memcpy(out->tid, buf + 8, 12);
	return parse_attrs(out);
}

const struct stun_attr *stun_find(const struct stun_msg *m, uint16_t type)
{
	for (int i = 0; i < m->n_attrs; i++)
		if (m->attrs[i].type == type)
			return &m->attrs[i];
	return NULL;
}

const uint8_t *stun_value(const struct stun_msg *m, const struct stun_attr *a)
{
	return m->buf + a->off;
}

uint32_t stun_u32(const struct stun_msg *m, const struct stun_attr *a)
{
	return a && a->len == 4 ? get32(m->buf + a->off) : 0;
}

uint64_t stun_u64(const struct stun_msg *m, const struct stun_attr *a)
{
	if (!a || a->len != 8)
		return 0;
	return (uint64_t)get32(m->buf + a->off) << 32 | get32(m->buf + a->off + 4);
}

/* Section 14.8: 21 zero bits, a 3-bit class (3..6), an 8-bit number (0..99), the reason. */
int stun_error_code(const struct stun_msg *m, const struct stun_attr *a, int *code,
		    const char **reason, size_t *reason_len)
{
	if (!a || a->len < 4)
		return STUN_E_ERROR_CODE;
	const uint8_t *v = m->buf + a->off;
	int cls = v[2] & 7, number = v[3];
	if (cls < 3 || cls > 6 || number > 99)
		return STUN_E_ERROR_CODE;
	*code = cls * 100 + number;
	*reason = (const char *)v + 4;
	*reason_len = (size_t)a->len - 4;
	return STUN_OK;
}

/*
 * HMAC-SHA1 over the message up to MESSAGE-INTEGRITY, with the header's
 * length as if the message ended right after that attribute (section 14.5).
 */
static void integrity_of(const uint8_t *buf, size_t mi_hdr_off, const uint8_t *key,
			 size_t key_len, uint8_t mac[20])
{
	uint8_t tmp[MAX_DATAGRAM];
	memcpy(tmp, buf, mi_hdr_off);
	put16(tmp + 2, (uint16_t)(mi_hdr_off - STUN_HEADER_LEN + 24));
	unsigned int n = 20;
	HMAC(EVP_sha1(), key, (int)key_len, tmp, mi_hdr_off, mac, &n);
}

int stun_check_integrity(const struct stun_msg *m, const uint8_t *key, size_t key_len)
{
	if (m->integrity_at < 0)
		return STUN_E_INTEGRITY;
	const struct stun_attr *a = &m->attrs[m->integrity_at];
	if (a->len != 20)
		return STUN_E_INTEGRITY;
	uint8_t mac[20];
	integrity_of(m->buf, (size_t)a->off - 4, key, key_len, mac);
	return CRYPTO_memcmp(mac, m->buf + a->off, 20) == 0 ? STUN_OK : STUN_E_INTEGRITY;
}

/*
 * Section 14.2: the port is xored with the cookie's top half, an IPv4
 * address with the cookie, an IPv6 one with the cookie and transaction id.
 */
static void xor_mask(const uint8_t tid[12], uint8_t mask[16])
{
	put32(mask, STUN_MAGIC);
	memcpy(mask + 4, tid, 12);
}

int stun_xor_address(const struct stun_msg *m, const struct stun_attr *a,
		     struct sockaddr_storage *ss)
{
	const uint8_t *v = m->buf + a->off;
	uint8_t mask[16];
	xor_mask(m->tid, mask);
	memset(ss, 0, sizeof *ss);
	if (a->len == 8 && v[1] == 1) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(get16(v + 2) ^ (uint16_t)(STUN_MAGIC >> 16));
		uint8_t ip[4];
		for (int i = 0; i < 4; i++)
			ip[i] = v[4 + i] ^ mask[i];
		memcpy(&s4->sin_addr, ip, 4);
		return STUN_OK;
	}
	if (a->len == 20 && v[1] == 2) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(get16(v + 2) ^ (uint16_t)(STUN_MAGIC >> 16));
		for (int i = 0; i < 16; i++)
			s6->sin6_addr.s6_addr[i] = v[4 + i] ^ mask[i];
		return STUN_OK;
	}
	return STUN_E_ADDRESS;
}

/* Writes XOR-MAPPED-ADDRESS for from at out; returns its length with header, or an error. */
static int put_xor_address(uint8_t *out, size_t cap, const uint8_t tid[12],
			   const struct sockaddr *from)
{
	uint8_t mask[16];
	xor_mask(tid, mask);
	const uint8_t *ip;
	uint16_t port;
	int n;
	if (from->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)from;
		ip = (const uint8_t *)&s4->sin_addr;
		port = ntohs(s4->sin_port);
		n = 4;
	} else if (from->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)from;
		ip = s6->sin6_addr.s6_addr;
		port = ntohs(s6->sin6_port);
		n = 16;
	} else {
		return STUN_E_ADDRESS;
	}
	if (cap < (size_t)(8 + n))
		return STUN_E_NO_SPACE;
	put16(out, STUN_A_XOR_MAPPED_ADDRESS);
	put16(out + 2, (uint16_t)(4 + n));
	out[4] = 0;
	out[5] = n == 4 ? 1 : 2;
	put16(out + 6, port ^ (uint16_t)(STUN_MAGIC >> 16));
	for (int i = 0; i < n; i++)
		out[8 + i] = ip[i] ^ mask[i];
	return 8 + n;
}

/* Appends an attribute; returns the new offset or 0 when it does not fit. */
static size_t put_attr(uint8_t *out, size_t off, size_t cap, uint16_t type, const void *v,
		       size_t len)
{
	size_t padded = (len + 3) & ~(size_t)3;
	if (off + 4 + padded > cap)
		return 0;
	put16(out + off, type);
	put16(out + off + 2, (uint16_t)len);
	memset(out + off + 4, 0, padded);
	if (len)
		memcpy(out + off + 4, v, len);
	return off + 4 + padded;
}

/*
 * Appends MESSAGE-INTEGRITY (when key is not NULL) and FINGERPRINT to the
 * message ending at off, fixing the header's length before each (section 14.5, 14.7).
 */
static int seal(uint8_t *out, size_t off, size_t cap, const uint8_t *key, size_t key_len)
{
	size_t need = (key ? 24 : 0) + 8;
	if (off + need > cap || off + need > MAX_DATAGRAM)
		return STUN_E_NO_SPACE;
	if (key) {
		put16(out + 2, (uint16_t)(off - STUN_HEADER_LEN + 24));
		put16(out + off, STUN_A_MESSAGE_INTEGRITY);
		put16(out + off + 2, 20);
		integrity_of(out, off, key, key_len, out + off + 4);
		off += 24;
	}
	put16(out + 2, (uint16_t)(off - STUN_HEADER_LEN + 8));
	put16(out + off, STUN_A_FINGERPRINT);
	put16(out + off + 2, 4);
	put32(out + off + 4, stun_fingerprint(out, off));
	return (int)(off + 8);
}

/* Writes a header of a Binding message of class cls; false when cap is too small. */
static bool put_header(uint8_t *out, size_t cap, enum stun_class cls, const uint8_t tid[12])
{
	if (cap < STUN_HEADER_LEN)
		return false;
	put16(out, join_type(STUN_BINDING, cls));
	put16(out + 2, 0);
	put32(out + 4, STUN_MAGIC);
	memcpy(out + 8, tid, 12);
	return true;
}

int stun_binding_request(const uint8_t tid[12], const char *username, uint32_t priority,
			 uint64_t tiebreaker, bool use_candidate, const uint8_t *key,
			 size_t key_len, uint8_t *out, size_t cap)
{
	/* Section 14.3: USERNAME is under 513 bytes. */
	if (strlen(username) >= 513 || !put_header(out, cap, STUN_REQUEST, tid))
		return STUN_E_NO_SPACE;
	uint8_t pr[4], tb[8];
	put32(pr, priority);
	put32(tb, (uint32_t)(tiebreaker >> 32));
	put32(tb + 4, (uint32_t)tiebreaker);
	size_t off = put_attr(out, STUN_HEADER_LEN, cap, STUN_A_USERNAME, username,
			      strlen(username));
	off = off ? put_attr(out, off, cap, STUN_A_PRIORITY, pr, 4) : 0;
	off = off ? put_attr(out, off, cap, STUN_A_ICE_CONTROLLING, tb, 8) : 0;
	if (off && use_candidate)
		off = put_attr(out, off, cap, STUN_A_USE_CANDIDATE, NULL, 0);
	return off ? seal(out, off, cap, key, key_len) : STUN_E_NO_SPACE;
}

int stun_binding_success(const uint8_t tid[12], const struct sockaddr *from, const uint8_t *key,
			 size_t key_len, uint8_t *out, size_t cap)
{
	if (cap < STUN_HEADER_LEN + 24 + 24 + 8 || !put_header(out, cap, STUN_SUCCESS, tid))
		return STUN_E_NO_SPACE;
	int n = put_xor_address(out + STUN_HEADER_LEN, cap - STUN_HEADER_LEN - 32, tid, from);
	if (n < 0)
		return n;
	return seal(out, STUN_HEADER_LEN + (size_t)n, cap, key, key_len);
}

int stun_binding_error(const uint8_t tid[12], int code, const char *reason, const uint8_t *key,
		       size_t key_len, uint8_t *out, size_t cap)
{
	if (code < 300 || code > 699)
		return STUN_E_ERROR_CODE;
	size_t rlen = strlen(reason);
	if (rlen > 763) /* section 14.8: at most 128 characters, 763 bytes */
		return STUN_E_ERROR_CODE;
	if (!put_header(out, cap, STUN_ERROR, tid))
		return STUN_E_NO_SPACE;
	uint8_t v[4 + 763] = { 0, 0, (uint8_t)(code / 100), (uint8_t)(code % 100) };
	memcpy(v + 4, reason, rlen);
	size_t off = put_attr(out, STUN_HEADER_LEN, cap, STUN_A_ERROR_CODE, v, 4 + rlen);
	return off ? seal(out, off, cap, key, key_len) : STUN_E_NO_SPACE;
}

const char *stun_strerror(int err)
{
	switch (err) {
	case STUN_OK: return "ok";
	case STUN_E_SHORT: return "truncated STUN message";
	case STUN_E_NOT_STUN: return "not a STUN message";
	case STUN_E_ATTR: return "malformed STUN attribute";
	case STUN_E_FINGERPRINT: return "bad STUN FINGERPRINT";
	case STUN_E_INTEGRITY: return "bad or missing MESSAGE-INTEGRITY";
	case STUN_E_NO_SPACE: return "output buffer too small";
	case STUN_E_ADDRESS: return "unsupported address family";
	case STUN_E_LENGTH: return "datagram longer than the STUN message";
	case STUN_E_ERROR_CODE: return "malformed or out-of-range ERROR-CODE";
	}
	return "unknown STUN error";
}
