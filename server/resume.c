#include "resume.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAC_LEN 16                  /* HMAC-SHA256 truncated to 128 bits */
#define KEY_LABEL "rostrum resume key v1"

struct membership {
	uint32_t pid;
	char room[RESUME_ROOM_MAX + 1];
	uint8_t check[RESUME_CHECK_HEX / 2]; /* SHA-256 of the current nonce, truncated */
	int64_t deadline;                    /* end of the grace period, NO_DEADLINE while attached */
	char tag[RESUME_TAG_MAX + 1];
};

struct resume_table {
	/* owned */
	uint8_t key[32];                     /* derived from the server secret for resumption only */
	int64_t grace_ms;
	struct membership *m;
	size_t n, cap;
};

/* ---- errors ---------------------------------------------------------------- */

const char *resume_code(int err)
{
	switch (err) {
	case RESUME_OK: return "ok";
	case RESUME_E_GONE: return "resume_expired";
	case RESUME_E_BAD_ARG: return "bad_field";
	default: return "resume_invalid";
	}
}

const char *resume_strerror(int err)
{
	switch (err) {
	case RESUME_OK: return "success";
	case RESUME_E_MALFORMED: return "not a resume secret";
	case RESUME_E_FORGED: return "the resume secret was not issued for this room by this server";
	case RESUME_E_USED: return "the resume secret was used already";
	case RESUME_E_GONE: return "that membership has ended; join again";
	case RESUME_E_BAD_ARG: return "a room id or check value of the wrong shape";
	default: return "unknown resume error";
	}
}

/* OpenSSL without SHA-256 is a broken build, not bad input. */
static void hmac_failed(void)
{
	rs_log(RS_LOG_ERR, "HMAC-SHA256 is unavailable");
	abort();
}

/* ---- lifecycle ---------------------------------------------------------------- */

resume_table *resume_create(const uint8_t *server_secret, size_t secret_len, int64_t grace_ms)
{
	resume_table *t = rs_calloc(1, sizeof *t);
	unsigned int len = sizeof t->key;
	if (!HMAC(EVP_sha256(), server_secret, (int)secret_len, (const uint8_t *)KEY_LABEL,
		  strlen(KEY_LABEL), t->key, &len))
		hmac_failed();
	t->grace_ms = grace_ms > 0 ? grace_ms : RESUME_DEFAULT_GRACE_MS;
	return t;
}

void resume_destroy(resume_table *t)
{
	if (!t)
		return;
	OPENSSL_cleanse(t->key, sizeof t->key);
	free(t->m);
	free(t);
}

int64_t resume_grace_ms(const resume_table *t)
{
	return t->grace_ms;
}

size_t resume_count(const resume_table *t)
{
	return t->n;
}

/* ---- helpers --------------------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

static int unhex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Exactly 2n lowercase hex digits into n bytes. */
static bool unhex(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = unhex_digit(s[2 * i]), lo = unhex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static bool room_ok(const char *room)
{
	return room && room[0] && strlen(room) <= RESUME_ROOM_MAX;
}

/* The MAC binding a nonce to a room and a pid. */
static void mac_of(const resume_table *t, const char *room, uint32_t pid,
		   const uint8_t nonce[RESUME_NONCE_LEN], uint8_t mac[MAC_LEN])
{
	uint8_t msg[RESUME_ROOM_MAX + 1 + 4 + RESUME_NONCE_LEN];
	size_t rl = strlen(room);
	memcpy(msg, room, rl);
	msg[rl] = 0; /* room ids hold no NUL: the boundary is unambiguous */
	uint8_t *p = msg + rl + 1;
	p[0] = (uint8_t)(pid >> 24), p[1] = (uint8_t)(pid >> 16), p[2] = (uint8_t)(pid >> 8),
	p[3] = (uint8_t)pid;
	memcpy(p + 4, nonce, RESUME_NONCE_LEN);
	uint8_t full[32];
	unsigned int len = sizeof full;
	if (!HMAC(EVP_sha256(), t->key, sizeof t->key, msg, rl + 1 + 4 + RESUME_NONCE_LEN, full,
		  &len))
		hmac_failed();
	memcpy(mac, full, MAC_LEN);
}

static void check_of(const uint8_t nonce[RESUME_NONCE_LEN], uint8_t check[RESUME_CHECK_HEX / 2])
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256(nonce, RESUME_NONCE_LEN, d);
	memcpy(check, d, RESUME_CHECK_HEX / 2);
}

static struct membership *find(const resume_table *t, uint32_t pid)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->m[i].pid == pid)
			return &t->m[i];
	return NULL;
}

/* The membership of pid, created when new. */
static struct membership *upsert(resume_table *t, const char *room, uint32_t pid)
{
	struct membership *m = find(t, pid);
	if (!m) {
		if (t->n == t->cap) {
			t->cap = t->cap ? t->cap * 2 : 16;
			t->m = rs_realloc(t->m, t->cap * sizeof *t->m);
		}
		m = &t->m[t->n++];
		memset(m, 0, sizeof *m);
		m->pid = pid;
	}
	rs_strlcpy(m->room, room, sizeof m->room);
	return m;
}

/* ---- issuing and checking ----------------------------------------------------------- */

int resume_issue(resume_table *t, const char *room, uint32_t pid,
		 const uint8_t nonce[RESUME_NONCE_LEN], char out[RESUME_SECRET_MAX + 1],
		 char check[RESUME_CHECK_HEX + 1])
{
	if (!room_ok(room) || pid == 0)
		return RESUME_E_BAD_ARG;
	struct membership *m = upsert(t, room, pid);
	check_of(nonce, m->check);
	m->deadline = RESUME_NO_DEADLINE;
	uint8_t mac[MAC_LEN];
	mac_of(t, room, pid, nonce, mac);
	char nh[2 * RESUME_NONCE_LEN + 1], mh[2 * MAC_LEN + 1];
	hex(nonce, RESUME_NONCE_LEN, nh);
	hex(mac, MAC_LEN, mh);
	snprintf(out, RESUME_SECRET_MAX + 1, "rs1.%" PRIu32 ".%s.%s", pid, nh, mh);
	hex(m->check, sizeof m->check, check);
	return RESUME_OK;
}

int resume_restore(resume_table *t, const char *room, uint32_t pid, const char *check,
		   int64_t now)
{
	uint8_t c[RESUME_CHECK_HEX / 2];
	if (!room_ok(room) || pid == 0 || !check || !unhex(check, strlen(check), c, sizeof c))
		return RESUME_E_BAD_ARG;
	struct membership *m = upsert(t, room, pid);
	memcpy(m->check, c, sizeof c);
	m->deadline = now + t->grace_ms;
	return RESUME_OK;
}

/* Splits "rs1.PID.NONCE.MAC"; false when it is not of that shape. */
static bool parse(const char *s, uint32_t *pid, uint8_t nonce[RESUME_NONCE_LEN],
		  uint8_t mac[MAC_LEN])
{
	size_t len = strnlen(s, RESUME_SECRET_MAX + 1);
	if (len > RESUME_SECRET_MAX || strncmp(s, "rs1.", 4) != 0)
		return false;
	const char *p = s + 4;
	uint64_t v = 0;
	size_t digits = 0;
	for (; *p >= '0' && *p <= '9' && digits < 10; p++, digits++)
		v = v * 10 + (uint64_t)(*p - '0');
	if (digits == 0 || (digits > 1 && p[-(long)digits] == '0') || v == 0 || v > UINT32_MAX ||
	    *p != '.')
		return false;
	const char *n = p + 1, *dot = strchr(n, '.');
	if (!dot || !unhex(n, (size_t)(dot - n), nonce, RESUME_NONCE_LEN) ||
	    !unhex(dot + 1, strlen(dot + 1), mac, MAC_LEN))
		return false;
	*pid = (uint32_t)v;
	return true;
}

int resume_verify(const resume_table *t, const char *room, const char *secret, uint32_t *pid)
{
	uint32_t p;
	uint8_t nonce[RESUME_NONCE_LEN], mac[MAC_LEN], want[MAC_LEN];
	if (!secret || !room_ok(room) || !parse(secret, &p, nonce, mac))
		return RESUME_E_MALFORMED;
	mac_of(t, room, p, nonce, want);
	if (CRYPTO_memcmp(mac, want, MAC_LEN) != 0)
		return RESUME_E_FORGED;
	const struct membership *m = find(t, p);
	if (!m)
		return RESUME_E_GONE;
	if (strcmp(m->room, room) != 0)
		return RESUME_E_FORGED; /* cannot happen with a valid MAC unless pids were reused */
	uint8_t c[RESUME_CHECK_HEX / 2];
	check_of(nonce, c);
	if (CRYPTO_memcmp(c, m->check, sizeof c) != 0)
		return RESUME_E_USED;
	*pid = p;
	return RESUME_OK;
}

/* ---- grace periods ------------------------------------------------------------------ */

void resume_detach(resume_table *t, uint32_t pid, int64_t now)
{
	struct membership *m = find(t, pid);
	if (m)
		m->deadline = now + t->grace_ms;
}

void resume_set_tag(resume_table *t, uint32_t pid, const char *tag)
{
	struct membership *m = find(t, pid);
	if (m)
		rs_strlcpy(m->tag, tag ? tag : "", sizeof m->tag);
}

const char *resume_tag(const resume_table *t, uint32_t pid)
{
	const struct membership *m = find(t, pid);
	return m ? m->tag : "";
}

bool resume_known(const resume_table *t, uint32_t pid)
{
	return find(t, pid) != NULL;
}

bool resume_is_detached(const resume_table *t, uint32_t pid)
{
	const struct membership *m = find(t, pid);
	return m && m->deadline != RESUME_NO_DEADLINE;
}

void resume_forget(resume_table *t, uint32_t pid)
{
	struct membership *m = find(t, pid);
	if (m)
		*m = t->m[--t->n];
}

int64_t resume_next_deadline(const resume_table *t)
{
	int64_t best = RESUME_NO_DEADLINE;
	for (size_t i = 0; i < t->n; i++)
		if (t->m[i].deadline < best)
			best = t->m[i].deadline;
	return best;
}

bool resume_expired(resume_table *t, int64_t now, uint32_t *pid, char *room)
{
	for (size_t i = 0; i < t->n; i++) {
		struct membership *m = &t->m[i];
		if (m->deadline != RESUME_NO_DEADLINE && m->deadline <= now) {
			*pid = m->pid;
			memcpy(room, m->room, sizeof m->room);
			*m = t->m[--t->n];
			return true;
		}
	}
	return false;
}
