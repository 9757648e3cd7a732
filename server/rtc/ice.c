#include "ice.h"

#include <assert.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ice_agent {
	char local_ufrag[ICE_UFRAG_LEN + 1];
	char local_pwd[ICE_PWD_LEN + 1];
	char username[2 * 256 + 2];     /* what a valid request's USERNAME must be */
	struct sockaddr_storage selected;
	bool nominated;
	struct sockaddr_storage checked[4]; /* addresses that passed a check, newest first */
	int n_checked;
	int64_t last_valid_ms;
	bool seen;
	struct ice_stats stats;
};

/*
 * RFC 8839 section 5.4: ice-char = ALPHA / DIGIT / "+" / "/" — exactly 64
 * characters, so each random byte's low six bits pick one without bias.
 */
static void to_ice_chars(const uint8_t *r, size_t n, char *out)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] & 63];
	out[n] = '\0';
}

void ice_credentials_from(const uint8_t rnd[ICE_UFRAG_LEN + ICE_PWD_LEN],
			  char ufrag[ICE_UFRAG_LEN + 1], char pwd[ICE_PWD_LEN + 1])
{
	to_ice_chars(rnd, ICE_UFRAG_LEN, ufrag);
	to_ice_chars(rnd + ICE_UFRAG_LEN, ICE_PWD_LEN, pwd);
}

void ice_credentials(char ufrag[ICE_UFRAG_LEN + 1], char pwd[ICE_PWD_LEN + 1])
{
	uint8_t r[ICE_UFRAG_LEN + ICE_PWD_LEN];
	/* Guessable credentials would let anyone inject media: no fallback, like OOM. */
	if (RAND_bytes(r, (int)sizeof r) != 1) {
		fprintf(stderr, "fatal: OpenSSL RAND_bytes failed\n");
		abort();
	}
	ice_credentials_from(r, ufrag, pwd);
}

bool ice_local_ufrag(const struct stun_msg *m, char *out, size_t cap)
{
	const struct stun_attr *u = stun_find(m, STUN_A_USERNAME);
	if (!u)
		return false;
	const char *p = (const char *)m->buf + u->off;
	const char *colon = memchr(p, ':', u->len);
	size_t n = colon ? (size_t)(colon - p) : 0;
	if (n == 0 || n >= cap)
		return false;
	memcpy(out, p, n);
	out[n] = '\0';
	return true;
}

ice_agent *ice_agent_create(const char *local_ufrag, const char *local_pwd,
			    const char *remote_ufrag)
{
	if (strlen(local_ufrag) > ICE_UFRAG_LEN || strlen(local_pwd) > ICE_PWD_LEN ||
	    strlen(remote_ufrag) > 256)
		return NULL;
	ice_agent *a = rs_calloc(1, sizeof *a);
	rs_strlcpy(a->local_ufrag, local_ufrag, sizeof a->local_ufrag);
	rs_strlcpy(a->local_pwd, local_pwd, sizeof a->local_pwd);
	snprintf(a->username, sizeof a->username, "%s:%s", local_ufrag, remote_ufrag);
	return a;
}

void ice_agent_free(ice_agent *a)
{
	free(a);
}

/* Section 7.3: a check is ours when USERNAME, integrity and fingerprint all hold. */
static int check_request(const ice_agent *a, const struct stun_msg *m)
{
	if (m->method != STUN_BINDING || m->cls != STUN_REQUEST)
		return ICE_E_NOT_REQUEST;
	if (!m->has_fingerprint)
		return ICE_E_FINGERPRINT;
	const struct stun_attr *u = stun_find(m, STUN_A_USERNAME);
	if (!u || u->len != strlen(a->username) ||
	    memcmp(m->buf + u->off, a->username, u->len) != 0)
		return ICE_E_USERNAME;
	if (stun_check_integrity(m, (const uint8_t *)a->local_pwd, strlen(a->local_pwd)) != STUN_OK)
		return ICE_E_INTEGRITY;
	if (!stun_find(m, STUN_A_ICE_CONTROLLING) && stun_find(m, STUN_A_ICE_CONTROLLED))
		return ICE_E_ROLE; /* a lite agent is always controlled (section 6.1.1) */
	return ICE_OK;
}

/*
 * A transport address is family, address and port (RFC 8445 section 4):
 * padding, IPv6 flow labels and scope ids are not part of it and may differ
 * between datagrams of the same peer.
 */
static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)a;
		const struct sockaddr_in *y = (const struct sockaddr_in *)b;
		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (b->sa_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
	}
	return false;
}

static void remember(ice_agent *a, const struct sockaddr *from, socklen_t from_len)
{
	for (int i = 0; i < a->n_checked; i++)
		if (same_addr(&a->checked[i], from))
			return;
	if (from_len > sizeof a->checked[0])
		return;
	memmove(&a->checked[1], &a->checked[0], sizeof a->checked[0] * 3);
	memset(&a->checked[0], 0, sizeof a->checked[0]);
	memcpy(&a->checked[0], from, from_len);
	if (a->n_checked < 4)
		a->n_checked++;
}

size_t ice_agent_tuples(const ice_agent *a, const struct sockaddr_storage **out)
{
	*out = a->checked;
	return (size_t)a->n_checked;
}

bool ice_agent_validated(const ice_agent *a, const struct sockaddr *from)
{
	for (int i = 0; i < a->n_checked; i++)
		if (same_addr(&a->checked[i], from))
			return true;
	return false;
}

static void count_refusal(struct ice_stats *st, int rc)
{
	switch (rc) {
	case ICE_E_NOT_STUN: st->not_stun++; break;
	case ICE_E_NOT_REQUEST: st->not_request++; break;
	case ICE_E_USERNAME: st->bad_username++; break;
	case ICE_E_INTEGRITY: st->bad_integrity++; break;
	case ICE_E_FINGERPRINT: st->bad_fingerprint++; break;
	case ICE_E_ROLE: st->role_conflicts++; break;
	default: break;
	}
}

/* Parses and authenticates a check; the agent's state is untouched. */
static int verify(const ice_agent *a, const uint8_t *buf, size_t len, struct stun_msg *m)
{
	int rc = stun_parse(buf, len, m);
	if (rc == STUN_E_FINGERPRINT)
		return ICE_E_FINGERPRINT;
	if (rc != STUN_OK)
		return ICE_E_NOT_STUN;
	return check_request(a, m);
}

/* A valid check from `from`: consent refreshed, the address remembered, maybe nominated. */
static void accept_check(ice_agent *a, int64_t now_ms, const struct stun_msg *m,
			 const struct sockaddr *from, socklen_t from_len)
{
	remember(a, from, from_len);
	a->last_valid_ms = now_ms;
	a->seen = true;
	a->stats.answered++;
	if (stun_find(m, STUN_A_USE_CANDIDATE) && from_len <= sizeof a->selected) {
		memset(&a->selected, 0, sizeof a->selected);
		memcpy(&a->selected, from, from_len);
		a->nominated = true;
		a->stats.nominations++;
	}
}

int ice_agent_input(ice_agent *a, int64_t now_ms, const uint8_t *buf, size_t len,
		    const struct sockaddr *from, socklen_t from_len, uint8_t *resp, size_t cap,
		    size_t *resp_len)
{
	return ice_agent_input_mapped(a, now_ms, buf, len, from, from_len, from, resp, cap,
				      resp_len);
}

int ice_agent_input_mapped(ice_agent *a, int64_t now_ms, const uint8_t *buf, size_t len,
			   const struct sockaddr *from, socklen_t from_len,
			   const struct sockaddr *mapped, uint8_t *resp, size_t cap, size_t *resp_len)
{
	struct stun_msg m;
	const uint8_t *key = (const uint8_t *)a->local_pwd;
	size_t key_len = strlen(a->local_pwd);
	*resp_len = 0;
	int rc = verify(a, buf, len, &m);
	count_refusal(&a->stats, rc);
	if (rc == ICE_E_ROLE) {
		int n = stun_binding_error(m.tid, STUN_CODE_ROLE_CONFLICT, "Role Conflict", key,
					   key_len, resp, cap);
		*resp_len = n > 0 ? (size_t)n : 0;
	}
	if (rc != ICE_OK)
		return rc;
	int n = stun_binding_success(m.tid, mapped, key, key_len, resp, cap);
	if (n < 0)
		return ICE_E_NO_SPACE;
	*resp_len = (size_t)n;
	accept_check(a, now_ms, &m, from, from_len);
	return ICE_OK;
}

const struct sockaddr_storage *ice_agent_destination(const ice_agent *a)
{
	if (a->nominated)
		return &a->selected;
	return a->n_checked ? &a->checked[0] : NULL;
}

const struct sockaddr_storage *ice_agent_selected(const ice_agent *a)
{
	return a->nominated ? &a->selected : NULL;
}

int64_t ice_agent_consent_deadline(const ice_agent *a)
{
	return a->seen ? a->last_valid_ms + ICE_CONSENT_MS : INT64_MAX;
}

bool ice_agent_alive(const ice_agent *a, int64_t now_ms)
{
	return !a->seen || now_ms < ice_agent_consent_deadline(a);
}

const struct ice_stats *ice_agent_stats(const ice_agent *a)
{
	return &a->stats;
}

const char *ice_strerror(int err)
{
	switch (err) {
	case ICE_OK: return "ok";
	case ICE_E_NOT_STUN: return "not a STUN message";
	case ICE_E_NOT_REQUEST: return "not a Binding request";
	case ICE_E_USERNAME: return "USERNAME does not name this connection";
	case ICE_E_INTEGRITY: return "MESSAGE-INTEGRITY does not verify";
	case ICE_E_FINGERPRINT: return "FINGERPRINT missing or wrong";
	case ICE_E_ROLE: return "both agents claim the controlled role";
	case ICE_E_NO_SPACE: return "response buffer too small";
	case ICE_E_DUPLICATE: return "ICE ufrag already registered";
	}
	return "unknown ICE error";
}

/* ---- ice_server: ufrag and address tables ------------------------------------ */

/*
 * Open addressing with linear probing and backward-shift deletion, so a
 * lookup is a few probes into one array and never allocates. Keys of up to
 * 20 bytes (every address, our own ufrags) live in the slot; longer ufrags
 * get a heap copy.
 */
#define KEY_INLINE 20

struct slot {
	void *owner;                 /* borrowed; NULL marks an empty slot */
	uint64_t hash;
	size_t klen;
	uint8_t *heap;               /* owned copy of a long key, else NULL */
	uint8_t small[KEY_INLINE];
};

struct table {
	struct slot *slots;          /* owned */
	size_t cap, n;               /* cap is a power of two */
};

struct ice_server {
	uint64_t seed;
	struct table ufrags, addrs;
};

static const uint8_t *slot_key(const struct slot *sl)
{
	return sl->heap ? sl->heap : sl->small;
}

/* FNV-1a keyed by the seed, then a 64-bit finalizer so the low bits mix well. */
static uint64_t hash_bytes(uint64_t seed, const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ seed;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(const struct table *t, uint64_t h, const uint8_t *key, size_t klen)
{
	size_t mask = t->cap - 1, i = (size_t)h & mask;
	while (t->slots[i].owner) {
		const struct slot *sl = &t->slots[i];
		if (sl->hash == h && sl->klen == klen && memcmp(slot_key(sl), key, klen) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

static void *table_get(const struct table *t, uint64_t h, const uint8_t *key, size_t klen)
{
	return t->cap ? t->slots[probe(t, h, key, klen)].owner : NULL;
}

/* Doubles the table (or makes the first one), rehoming every slot. */
static void table_grow(struct table *t)
{
	struct table old = *t;
	t->cap = old.cap ? old.cap * 2 : 16;
	t->slots = rs_calloc(t->cap, sizeof *t->slots);
	for (size_t i = 0; i < old.cap; i++) {
		struct slot *sl = &old.slots[i];
		if (sl->owner)
			t->slots[probe(t, sl->hash, slot_key(sl), sl->klen)] = *sl;
	}
	free(old.slots);
}

/* Sets key -> owner, replacing an existing mapping; returns false if one existed and !replace. */
static bool table_put(struct table *t, uint64_t h, const uint8_t *key, size_t klen, void *owner,
		      bool replace)
{
	assert(owner && klen > 0);
	if ((t->n + 1) * 2 > t->cap)
		table_grow(t);
	struct slot *sl = &t->slots[probe(t, h, key, klen)];
	if (sl->owner) {
		if (replace)
			sl->owner = owner;
		return replace;
	}
	*sl = (struct slot){ .owner = owner, .hash = h, .klen = klen };
	if (klen > KEY_INLINE)
		sl->heap = rs_malloc(klen);
	memcpy(sl->heap ? sl->heap : sl->small, key, klen);
	t->n++;
	return true;
}

/* Empties slot i and shifts later members of its cluster back so probes still find them. */
static void table_delete_at(struct table *t, size_t i)
{
	size_t mask = t->cap - 1;
	free(t->slots[i].heap);
	t->slots[i] = (struct slot){ 0 };
	t->n--;
	for (size_t j = (i + 1) & mask; t->slots[j].owner; j = (j + 1) & mask) {
		size_t home = (size_t)t->slots[j].hash & mask;
		/* j may move to the hole at i unless its home lies cyclically in (i, j]. */
		bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		t->slots[j] = (struct slot){ 0 };
		i = j;
	}
}

static void table_remove_owner(struct table *t, void *owner)
{
	for (size_t i = 0; i < t->cap; i++)
		while (t->slots[i].owner == owner && owner)
			table_delete_at(t, i);
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->cap; i++)
		free(t->slots[i].heap);
	free(t->slots);
}

/* An address as key bytes: family, port, then 4 or 16 address bytes. */
static size_t addr_key(const struct sockaddr *sa, uint8_t key[KEY_INLINE])
{
	memset(key, 0, KEY_INLINE);
	key[0] = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		memcpy(key + 2, &s4->sin_port, 2);
		memcpy(key + 4, &s4->sin_addr, 4);
		return 8;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		memcpy(key + 2, &s6->sin6_port, 2);
		memcpy(key + 4, &s6->sin6_addr, 16);
		return 20;
	}
	return 0;
}

ice_server *ice_server_create(uint64_t seed)
{
	ice_server *s = rs_calloc(1, sizeof *s);
	s->seed = seed;
	return s;
}

void ice_server_destroy(ice_server *s)
{
	if (!s)
		return;
	table_free(&s->ufrags);
	table_free(&s->addrs);
	free(s);
}

int ice_server_add(ice_server *s, const char *ufrag, void *owner)
{
	size_t n = strlen(ufrag);
	assert(owner);
	if (n == 0 || n > 256)
		return ICE_E_USERNAME;
	uint64_t h = hash_bytes(s->seed, (const uint8_t *)ufrag, n);
	return table_put(&s->ufrags, h, (const uint8_t *)ufrag, n, owner, false) ? ICE_OK
										  : ICE_E_DUPLICATE;
}

void ice_server_remove(ice_server *s, void *owner)
{
	table_remove_owner(&s->ufrags, owner);
	table_remove_owner(&s->addrs, owner);
}

void ice_server_bind(ice_server *s, const struct sockaddr *from, void *owner)
{
	uint8_t key[KEY_INLINE];
	size_t n = addr_key(from, key);
	if (n)
		(void)table_put(&s->addrs, hash_bytes(s->seed, key, n), key, n, owner, true);
}

/* Deletes key from t when owner holds it. */
static void table_delete_key(struct table *t, uint64_t h, const uint8_t *key, size_t klen,
			     void *owner)
{
	if (!t->cap)
		return;
	size_t i = probe(t, h, key, klen);
	if (t->slots[i].owner && t->slots[i].owner == owner)
		table_delete_at(t, i);
}

void ice_server_unbind(ice_server *s, const struct sockaddr *from, void *owner)
{
	uint8_t key[KEY_INLINE];
	size_t n = addr_key(from, key);
	if (n)
		table_delete_key(&s->addrs, hash_bytes(s->seed, key, n), key, n, owner);
}

void ice_server_remove_ufrag(ice_server *s, const char *ufrag, void *owner)
{
	size_t n = strlen(ufrag);
	if (n)
		table_delete_key(&s->ufrags, hash_bytes(s->seed, (const uint8_t *)ufrag, n),
				 (const uint8_t *)ufrag, n, owner);
}

void *ice_server_by_ufrag(const ice_server *s, const char *ufrag, size_t len)
{
	if (len == 0)
		return NULL;
	uint64_t h = hash_bytes(s->seed, (const uint8_t *)ufrag, len);
	return table_get(&s->ufrags, h, (const uint8_t *)ufrag, len);
}

void *ice_server_by_address(const ice_server *s, const struct sockaddr *from)
{
	uint8_t key[KEY_INLINE];
	size_t n = addr_key(from, key);
	return n ? table_get(&s->addrs, hash_bytes(s->seed, key, n), key, n) : NULL;
}

void *ice_server_route(const ice_server *s, const uint8_t *buf, size_t len,
		       const struct sockaddr *from)
{
	struct stun_msg m;
	if (stun_is_stun(buf, len) && stun_parse(buf, len, &m) == STUN_OK) {
		const struct stun_attr *u = stun_find(&m, STUN_A_USERNAME);
		const char *p = u ? (const char *)stun_value(&m, u) : NULL;
		const char *colon = p ? memchr(p, ':', u->len) : NULL;
		if (colon)
			return ice_server_by_ufrag(s, p, (size_t)(colon - p));
	}
	return ice_server_by_address(s, from);
}

size_t ice_server_n_ufrags(const ice_server *s)
{
	return s->ufrags.n;
}

size_t ice_server_n_addresses(const ice_server *s)
{
	return s->addrs.n;
}
