#include "ice.h"

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
};

/* RFC 8839 section 5.4: ice-char = ALPHA / DIGIT / "+" / "/". */
static void random_chars(char *out, size_t n)
{
	static const char set[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint8_t r[64];
	RAND_bytes(r, (int)n);
	for (size_t i = 0; i < n; i++)
		out[i] = set[r[i] % 64];
	out[n] = '\0';
}

void ice_credentials(char ufrag[ICE_UFRAG_LEN + 1], char pwd[ICE_PWD_LEN + 1])
{
	random_chars(ufrag, ICE_UFRAG_LEN);
	random_chars(pwd, ICE_PWD_LEN);
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

static size_t addr_len(const struct sockaddr *s)
{
	return s->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	return a->ss_family == b->sa_family && memcmp(a, b, addr_len(b)) == 0;
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

bool ice_agent_validated(const ice_agent *a, const struct sockaddr *from)
{
	for (int i = 0; i < a->n_checked; i++)
		if (same_addr(&a->checked[i], from))
			return true;
	return false;
}

int ice_agent_input(ice_agent *a, int64_t now_ms, const uint8_t *buf, size_t len,
		    const struct sockaddr *from, socklen_t from_len, uint8_t *resp, size_t cap,
		    size_t *resp_len)
{
	struct stun_msg m;
	int rc = stun_parse(buf, len, &m);
	if (rc == STUN_E_FINGERPRINT)
		return ICE_E_FINGERPRINT;
	if (rc != STUN_OK)
		return ICE_E_NOT_STUN;
	if ((rc = check_request(a, &m)) != ICE_OK)
		return rc;
	int n = stun_binding_success(m.tid, from, (const uint8_t *)a->local_pwd,
				     strlen(a->local_pwd), resp, cap);
	if (n < 0)
		return ICE_E_NO_SPACE;
	*resp_len = (size_t)n;
	remember(a, from, from_len);
	a->last_valid_ms = now_ms;
	a->seen = true;
	if (stun_find(&m, STUN_A_USE_CANDIDATE) && from_len <= sizeof a->selected) {
		memset(&a->selected, 0, sizeof a->selected);
		memcpy(&a->selected, from, from_len);
		a->nominated = true;
	}
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
	}
	return "unknown ICE error";
}
