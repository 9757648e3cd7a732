/*
 * Shared by the tests that drive the hub directly (test_hub, test_hub_resume,
 * test_media_gate): a fake transport that records what the hub queues for it,
 * lookups over what it saw, and the fake clock every request is stamped with.
 * No sockets: the hub's io callbacks land here.
 *
 * Everything is static (inline for functions) so that each test includes it
 * once and uses what it needs without unused-function warnings.
 */
#ifndef ROSTRUM_HUB_FIXTURE_H
#define ROSTRUM_HUB_FIXTURE_H

#include "check.h"
#include "hub.h"
#include "token.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#define MAX_SEEN 256

static struct rs_config cfg;
static int64_t now = 1700000000000;

/* One connection's side: the messages it was sent, parsed, and how it was closed. */
struct fake {
	json_t *seen[MAX_SEEN];
	int n;
	int closed_code;
	bool full; /* refuse sends, like an overflowing queue */
	int sent;  /* messages ever queued */
	int cap;   /* non-zero: refuse sends past this many, as the old 512-message queue did */
};

static inline int fake_send(void *ctx, void *transport, rs_msg *m)
{
	(void)ctx;
	struct fake *f = transport;
	if (f->full || (f->cap && f->sent >= f->cap))
		return -1;
	f->sent++;
	if (f->n < MAX_SEEN)
		f->seen[f->n++] = json_loads((const char *)rs_msg_payload(m), 0, NULL);
	return 0;
}

static inline void fake_close(void *ctx, void *transport, int code, const char *reason)
{
	(void)ctx;
	(void)reason;
	((struct fake *)transport)->closed_code = code;
}

/* Forgets the messages seen; the close code stays (a test may still check it). */
static inline void fake_clear(struct fake *f)
{
	for (int i = 0; i < f->n; i++)
		json_decref(f->seen[i]);
	f->n = 0;
}

/* Forgets the messages and the close code, for a transport used again. */
static inline void fake_reset(struct fake *f)
{
	fake_clear(f);
	f->closed_code = 0;
}

static inline bool is_type(json_t *msg, const char *type)
{
	const char *t = json_string_value(json_object_get(msg, "type"));
	return t && strcmp(t, type) == 0;
}

/* The last message of the given type, or NULL. */
static inline json_t *last_of(struct fake *f, const char *type)
{
	for (int i = f->n - 1; i >= 0; i--)
		if (is_type(f->seen[i], type))
			return f->seen[i];
	return NULL;
}

/* How many messages of that type f has seen. */
static inline int count_of(struct fake *f, const char *type)
{
	int n = 0;
	for (int i = 0; i < f->n; i++)
		n += is_type(f->seen[i], type);
	return n;
}

/* The code of the last error f was sent, or NULL. */
static inline const char *last_error(struct fake *f)
{
	json_t *e = last_of(f, "error");
	return e ? json_string_value(json_object_get(e, "code")) : NULL;
}

/* Follows a dotted path of object keys ("data.you.role"). */
static inline json_t *jpath(json_t *j, const char *path)
{
	char key[64];
	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		j = json_object_get(j, key);
		path += n + (path[n] == '.');
	}
	return j;
}

/* One message from c, at now; the clock moves on 100 ms. */
static inline void say(hub *h, hub_conn *c, const char *text)
{
	hub_conn_input(h, c, text, strlen(text), now);
	now += 100;
}

/* A join token for room and role, signed with secret, expiring at exp (seconds; 0: never). */
static inline char *fixture_mint(const uint8_t *secret, const char *room, enum rs_role role,
				 const char *name, int64_t exp)
{
	struct token_claims c = { .role = role, .exp = exp };
	strcpy(c.room, room);
	c.attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	CHECK(attrs_set_name(&c.attrs, name));
	return token_issue(secret, &c);
}

#endif
