/*
 * stun: STUN messages (RFC 8489, formerly RFC 5389) as ICE-lite needs them —
 * parse and check a Binding request, build its success or error response.
 * Sans-IO and allocation-free: it works on caller buffers.
 *
 * A parsed message keeps offsets into the caller's buffer, which must outlive
 * it. Integrity (HMAC-SHA1, section 14.5) and FINGERPRINT (CRC-32 xor
 * 0x5354554e, section 14.7) are checked over the exact received bytes.
 */
#ifndef ROSTRUM_STUN_H
#define ROSTRUM_STUN_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define STUN_HEADER_LEN 20
#define STUN_MAGIC 0x2112a442u
#define STUN_MAX_ATTRS 32

enum stun_class { STUN_REQUEST = 0, STUN_INDICATION = 1, STUN_SUCCESS = 2, STUN_ERROR = 3 };
#define STUN_BINDING 0x001

/* Attribute types used here (RFC 8489 section 18.3, RFC 8445 section 16.1). */
enum stun_attr_type {
	STUN_A_USERNAME = 0x0006,
	STUN_A_MESSAGE_INTEGRITY = 0x0008,
	STUN_A_ERROR_CODE = 0x0009,
	STUN_A_UNKNOWN_ATTRIBUTES = 0x000a,
	STUN_A_REALM = 0x0014,
	STUN_A_NONCE = 0x0015,
	STUN_A_MESSAGE_INTEGRITY_SHA256 = 0x001c,
	STUN_A_XOR_MAPPED_ADDRESS = 0x0020,
	STUN_A_PRIORITY = 0x0024,
	STUN_A_USE_CANDIDATE = 0x0025,
	STUN_A_SOFTWARE = 0x8022,
	STUN_A_FINGERPRINT = 0x8028,
	STUN_A_ICE_CONTROLLED = 0x8029,
	STUN_A_ICE_CONTROLLING = 0x802a,
};

enum stun_err {
	STUN_OK = 0,
	STUN_E_SHORT = -1,       /* shorter than a header, or than its length field says */
	STUN_E_NOT_STUN = -2,    /* first bits, magic cookie or length alignment wrong, or over 1500 bytes */
	STUN_E_ATTR = -3,        /* an attribute overruns the message, or too many */
	STUN_E_FINGERPRINT = -4, /* FINGERPRINT present and wrong, or not last */
	STUN_E_INTEGRITY = -5,   /* MESSAGE-INTEGRITY absent or wrong */
	STUN_E_NO_SPACE = -6,    /* build: the output buffer is too small */
	STUN_E_ADDRESS = -7,     /* an address family STUN cannot carry */
	STUN_E_LENGTH = -8,      /* the datagram is longer than its length field says */
	STUN_E_ERROR_CODE = -9,  /* ERROR-CODE malformed, or a code outside 300..699 */
};

/* Error response codes used here (RFC 8489 section 14.8, RFC 8445 section 7.3.1.1). */
#define STUN_CODE_BAD_REQUEST 400
#define STUN_CODE_UNAUTHORIZED 401
#define STUN_CODE_ROLE_CONFLICT 487

struct stun_attr {
	uint16_t type;
	uint16_t len;
	uint16_t off;          /* of the value, from the start of the message */
};

struct stun_msg {
	const uint8_t *buf;    /* borrowed: the received bytes */
	size_t len;            /* header + attributes */
	uint16_t method;
	enum stun_class cls;
	uint8_t tid[12];
	struct stun_attr attrs[STUN_MAX_ATTRS];
	int n_attrs;
	int integrity_at;      /* index of MESSAGE-INTEGRITY in attrs, or -1 */
	bool has_fingerprint;  /* present and correct */
};

/* True when the first bytes look like STUN (RFC 7983 demultiplexing plus the magic cookie). */
bool stun_is_stun(const uint8_t *buf, size_t len);
/*
 * Parses one whole message: buf[0..len) must be exactly the message (one
 * datagram, or one RFC 4571 frame). Checks every attribute's bounds and the
 * FINGERPRINT when present; MESSAGE-INTEGRITY is checked separately because
 * only the caller knows the key. Attributes after MESSAGE-INTEGRITY other
 * than FINGERPRINT are ignored (section 14.5).
 */
RS_MUST_CHECK int stun_parse(const uint8_t *buf, size_t len, struct stun_msg *out);
/* The first attribute of a type (later duplicates are ignored, section 14), or NULL. */
const struct stun_attr *stun_find(const struct stun_msg *m, uint16_t type);
/* The value bytes of an attribute of m (a->len of them). */
const uint8_t *stun_value(const struct stun_msg *m, const struct stun_attr *a);
/* Checks MESSAGE-INTEGRITY with a short-term key (the ICE password), section 14.5. */
RS_MUST_CHECK int stun_check_integrity(const struct stun_msg *m, const uint8_t *key,
				       size_t key_len);
/* Decodes an XOR-MAPPED-ADDRESS value into ss (IPv4 or IPv6). */
RS_MUST_CHECK int stun_xor_address(const struct stun_msg *m, const struct stun_attr *a,
				   struct sockaddr_storage *ss);
/* A 32-bit attribute value (PRIORITY); 0 when a is NULL or not 4 bytes. */
uint32_t stun_u32(const struct stun_msg *m, const struct stun_attr *a);
/* A 64-bit value (the ICE-CONTROLLING/-CONTROLLED tie-breaker); 0 when a is NULL or not 8 bytes. */
uint64_t stun_u64(const struct stun_msg *m, const struct stun_attr *a);
/*
 * Decodes ERROR-CODE (section 14.8): *code gets class * 100 + number; the
 * reason phrase (not NUL-terminated, unchecked UTF-8) is at *reason for
 * *reason_len bytes. STUN_E_ERROR_CODE when malformed.
 */
RS_MUST_CHECK int stun_error_code(const struct stun_msg *m, const struct stun_attr *a, int *code,
				  const char **reason, size_t *reason_len);

/*
 * Builds a Binding success response to tid for the peer address `from`, with
 * XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY (key) and FINGERPRINT. Returns the
 * length, or a negative stun_err.
 */
RS_MUST_CHECK int stun_binding_success(const uint8_t tid[12], const struct sockaddr *from,
				       const uint8_t *key, size_t key_len, uint8_t *out,
				       size_t cap);
/*
 * Builds a Binding request as an ICE controlling agent sends it (RFC 8445
 * section 7.1.2): USERNAME, PRIORITY, ICE-CONTROLLING, optionally
 * USE-CANDIDATE, then MESSAGE-INTEGRITY (key) and FINGERPRINT. For tests and
 * for checks of our own. Returns the length or a negative stun_err.
 */
RS_MUST_CHECK int stun_binding_request(const uint8_t tid[12], const char *username,
				       uint32_t priority, uint64_t tiebreaker, bool use_candidate,
				       const uint8_t *key, size_t key_len, uint8_t *out, size_t cap);
/*
 * Builds a Binding error response to tid: ERROR-CODE code (300..699) with a
 * reason phrase, then MESSAGE-INTEGRITY when key is not NULL (a 401 to an
 * unauthenticated request carries none, section 9.1.3), then FINGERPRINT.
 * Returns the length or a negative stun_err.
 */
RS_MUST_CHECK int stun_binding_error(const uint8_t tid[12], int code, const char *reason,
				     const uint8_t *key, size_t key_len, uint8_t *out, size_t cap);
/* The FINGERPRINT value of buf[0..len) (the message up to that attribute). */
uint32_t stun_fingerprint(const uint8_t *buf, size_t len);
/* A static description of a stun_err. */
const char *stun_strerror(int err);

#endif
