/*
 * hub_resume: sessions that survive a dropped link or a server restart, as
 * a feature of the hub (hub_internal.h).
 *
 * Every join result carries a resume secret (resume.h). When a member's
 * connection closes without a `leave`, this feature keeps the member
 * (HUB_KEEP_RECONNECTING): it stays in the room with no connection for the
 * grace period, shown as reconnecting, with its pid, role, attributes,
 * floor request or grant (its clock runs; the audio transport goes until the
 * browser offers again), written interventions and open caption line. A
 * join with the secret within the grace period moves the member onto the
 * new connection (hub_member_resume); after it the member leaves as any
 * member does (hub_member_expire).
 *
 * A restart rebuilds each journaled room: the floor from its events
 * (floor_msg_replay), caption numbering and the late-joiner ring, and every
 * member who was in the room when the server stopped, reconnecting, with a
 * grace period from the restart. The journal keeps, per membership, a
 * "resume" record with the check value of its current secret (never the
 * secret itself).
 */
#include "floor_msg.h"
#include "hub_internal.h"
#include "metrics.h"
#include "resume.h"

#include <openssl/rand.h>

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOSE_RESUMED_ELSEWHERE 4003 /* the member resumed on a newer connection */

struct hub_resume {
	resume_table *t;      /* owned */
	bool quiet;           /* rebuilding: roster records are in the journal already */
	uint64_t after_seq;   /* the last caption seq a resuming joiner named */
};

/* ---- the journal -------------------------------------------------------------- */

/* The membership's current check value (and its join token's id, for revocation) to the journal. */
static void record_check(hub *h, struct hroom *hr, uint32_t pid, const char *check,
			 const char *jti, int64_t now)
{
	json_t *rec = json_pack("{s:s, s:I, s:I, s:s}", "kind", "resume", "t", (json_int_t)now,
				"pid", (json_int_t)pid, "check", check);
	if (jti && jti[0])
		json_object_set_new(rec, "jti", json_string(jti));
	if (hub_record(h, hr, rec, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: a resume record was not journaled; participant %" PRIu32
		       " cannot resume after a restart", room_id(hr->room), pid);
	json_decref(rec);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void resume_init_hook(hub *h)
{
	struct hub_resume *r = rs_calloc(1, sizeof *r);
	r->t = resume_create(h->secret, TOKEN_SECRET_LEN,
			     (int64_t)h->cfg->limits.resume_grace_s * 1000);
	h->resume = r;
}

/* Members still reconnecting end with the hub, without a leave: a restart restores them. */
static void resume_fini_hook(hub *h)
{
	if (!h->resume)
		return;
	resume_destroy(h->resume->t);
	free(h->resume);
	h->resume = NULL;
}

bool hub_resume_quiet(const hub *h)
{
	return h->resume && h->resume->quiet;
}

/* ---- the join result ------------------------------------------------------------------ */

/* A new secret for c's membership, journaled as its check value, into the join result. */
static void issue(hub *h, hub_conn *c, int64_t now, json_t *data)
{
	struct hub_resume *r = h->resume;
	uint8_t nonce[RESUME_NONCE_LEN];
	char secret[RESUME_SECRET_MAX + 1], check[RESUME_CHECK_HEX + 1];
	if (RAND_bytes(nonce, sizeof nonce) != 1 ||
	    resume_issue(r->t, room_id(c->hr->room), c->member->pid, nonce, secret, check) !=
		    RESUME_OK) {
		rs_log(RS_LOG_WARN, "no resume secret for participant %" PRIu32, c->member->pid);
		return;
	}
	resume_set_tag(r->t, c->member->pid, c->token_id);
	record_check(h, c->hr, c->member->pid, check, c->token_id, now);
	json_object_set_new(data, "resume",
			    json_pack("{s:s, s:I}", "secret", secret, "grace_s",
				      (json_int_t)(resume_grace_ms(r->t) / 1000)));
}

/* joined hook: every join result (fresh or resumed) carries the membership's next secret. */
static void resume_joined_hook(hub *h, hub_conn *c, int64_t now, json_t *snapshot)
{
	issue(h, c, now, snapshot);
}

/* rep->after of a resume that named its last caption: only what it has not seen. */
static void backlog_since(hub *h, hub_conn *c, int64_t now)
{
	if (c->hr)
		hub_caption_backlog_since(h, c, now, h->resume->after_seq);
}

/* rep->after of a resume without it: what any joiner gets after its result. */
static void after_join_all(hub *h, hub_conn *c, int64_t now)
{
	for (size_t i = 0; i < h->n_features && c->hr; i++)
		if (h->features[i]->after_join)
			h->features[i]->after_join(h, c, now);
}

/* ---- resuming ------------------------------------------------------------------------------ */

/* Validates a resume join and finds the member it names. */
static int resume_target(hub *h, json_t *req, struct hroom **hr, struct room_member **m,
			 struct reply *rep)
{
	json_t *s = json_object_get(req, "resume"), *after = json_object_get(req, "last_caption_seq");
	const char *name = json_string_value(json_object_get(req, "room"));
	if (!json_is_string(s)) {
		rep->field = "resume";
		return hub_fail(rep, "bad_field", "field 'resume' must be a string");
	}
	if (after && (!json_is_integer(after) || json_integer_value(after) < 0)) {
		rep->field = "last_caption_seq";
		return hub_fail(rep, "bad_field", "field 'last_caption_seq' must be an integer >= 0");
	}
	*hr = name ? hub_hroom(h, name) : NULL;
	uint32_t pid = 0;
	int rc = *hr ? resume_verify(h->resume->t, name, json_string_value(s), &pid)
		     : RESUME_E_GONE;
	*m = rc == RESUME_OK ? room_find((*hr)->room, pid) : NULL;
	if (rc == RESUME_OK && !*m)
		rc = RESUME_E_GONE;
	if (rc == RESUME_OK && token_id_revoked(resume_tag(h->resume->t, pid)))
		return hub_fail(rep, "token_revoked", "the join token of that membership was revoked");
	if (rc != RESUME_OK) {
		metrics_add("rostrum_resume_refused_total", 1);
		return hub_fail(rep, resume_code(rc), "%s", resume_strerror(rc));
	}
	return 0;
}

int hub_resume_join(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	struct hroom *hr = NULL;
	struct room_member *m = NULL;
	if (resume_target(h, req, &hr, &m, rep))
		return -1;
	if (m->conn) {
		/* A link the server has not seen die yet: the newer connection wins. */
		hub_conn *old = m->conn;
		hub_member_detach(h, old, now);
		if (!old->closing) {
			old->closing = true;
			h->io.close(h->io.ctx, old->transport, CLOSE_RESUMED_ELSEWHERE,
				    "resumed on another connection");
		}
	}
	/* The new connection carries the membership's token id: a revocation still closes it. */
	rs_strlcpy(c->token_id, resume_tag(h->resume->t, m->pid), sizeof c->token_id);
	hub_member_resume(h, c, hr, m, now);
	rep->data = room_snapshot(hr->room);
	json_object_set_new(rep->data, "you", room_member_json(m));
	for (size_t i = 0; i < h->n_features; i++)
		if (h->features[i]->joined)
			h->features[i]->joined(h, c, now, rep->data);
	json_object_set_new(json_object_get(rep->data, "resume"), "resumed", json_true());
	json_t *after = json_object_get(req, "last_caption_seq");
	h->resume->after_seq = after ? (uint64_t)json_integer_value(after) : 0;
	rep->after = after ? backlog_since : after_join_all;
	metrics_add("rostrum_resumed_total", 1);
	return 0;
}

/* ---- dropping and leaving ------------------------------------------------------------------ */

/* keep hook: a member with a secret waits for its resume instead of leaving. */
static enum hub_keep resume_keep_hook(hub *h, hub_conn *c, int64_t now)
{
	(void)now;
	uint32_t pid = c->member ? c->member->pid : 0;
	/* A member closed for a revoked token leaves: its secret must not bring it back. */
	if (!pid || !resume_known(h->resume->t, pid) || token_id_revoked(c->token_id))
		return HUB_KEEP_NO;
	return HUB_KEEP_RECONNECTING;
}

static void resume_detached_hook(hub *h, struct hroom *hr, struct room_member *m, hub_conn *c,
				 int64_t now)
{
	(void)hr;
	(void)c;
	resume_detach(h->resume->t, m->pid, now);
	metrics_add("rostrum_reconnecting_total", 1);
}

/* left hook: the membership ended; its secrets stop working. */
static void resume_left_hook(hub *h, struct hroom *hr, uint32_t pid, int64_t now)
{
	(void)hr;
	(void)now;
	resume_forget(h->resume->t, pid);
}

/* updated hook: new attributes are journaled, so a restart restores them. */
static void resume_updated_hook(hub *h, hub_conn *c, int64_t now)
{
	json_t *rec = room_member_json(c->member);
	json_object_del(rec, "state");
	json_object_set_new(rec, "kind", json_string("presence"));
	json_object_set_new(rec, "t", json_integer(now));
	if (hub_record(h, c->hr, rec, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: a presence record was not journaled",
		       room_id(c->hr->room));
	json_decref(rec);
}

static int64_t resume_deadline_hook(const hub *h)
{
	return h->resume ? resume_next_deadline(h->resume->t) : INT64_MAX;
}

/* tick hook: members whose grace period ran out leave. */
static void resume_tick_hook(hub *h, int64_t now)
{
	uint32_t pid;
	char room[RESUME_ROOM_MAX + 1];
	while (resume_expired(h->resume->t, now, &pid, room)) {
		struct hroom *hr = hub_hroom(h, room);
		struct room_member *m = hr ? room_find(hr->room, pid) : NULL;
		if (!m || m->conn)
			continue;
		hub_member_expire(h, hr, m, now);
		metrics_add("rostrum_resume_expired_total", 1);
	}
}

static void resume_health_hook(const hub *h, json_t *o)
{
	json_object_set_new(o, "resumable", json_integer((json_int_t)resume_count(h->resume->t)));
}

const struct hub_feature hub_resume_feature = {
	.name = "resume",
	.init = resume_init_hook,
	.fini = resume_fini_hook,
	.joined = resume_joined_hook,
	.keep = resume_keep_hook,
	.detached = resume_detached_hook,
	.left = resume_left_hook,
	.updated = resume_updated_hook,
	.deadline = resume_deadline_hook,
	.tick = resume_tick_hook,
	.health = resume_health_hook,
};

/* ---- after a restart ------------------------------------------------------------------------- */

/* Who was in a room when its journal ended: pid -> {role, attrs, check}. */
struct present {
	json_t *by_pid;       /* owned: object keyed by the decimal pid */
	uint32_t max_pid;
	uint64_t last_seq;    /* the largest caption seq or reservation */
};

static void note_roster(struct present *p, json_t *rec, const char *kind)
{
	json_int_t pid = json_integer_value(json_object_get(rec, "pid"));
	if (pid <= 0 || pid > UINT32_MAX)
		return;
	char key[16];
	snprintf(key, sizeof key, "%" JSON_INTEGER_FORMAT, pid);
	if ((uint32_t)pid > p->max_pid)
		p->max_pid = (uint32_t)pid;
	json_t *cur = json_object_get(p->by_pid, key);
	if (strcmp(kind, "leave") == 0) {
		json_object_del(p->by_pid, key);
	} else if (strcmp(kind, "resume") == 0) {
		if (cur) {
			json_object_set(cur, "check", json_object_get(rec, "check"));
			if (json_object_get(rec, "jti"))
				json_object_set(cur, "jti", json_object_get(rec, "jti"));
		}
	} else {
		json_t *e = json_deep_copy(rec);
		const char *keep[] = { "check", "jti" };
		for (size_t i = 0; cur && i < RS_ARRAY_LEN(keep); i++)
			if (json_object_get(cur, keep[i]))
				json_object_set(e, keep[i], json_object_get(cur, keep[i]));
		json_object_set_new(p->by_pid, key, e);
	}
}

static void note_caption(struct hroom *hr, struct present *p, json_t *rec, const char *kind,
			 int64_t now)
{
	const char *key = strcmp(kind, "caption_seq") == 0 ? "upto" : "seq";
	json_int_t v = json_integer_value(json_object_get(rec, key));
	if (v > 0 && (uint64_t)v > p->last_seq)
		p->last_seq = (uint64_t)v;
	if (strcmp(kind, "caption") == 0 && caption_room_restore_final(hr->cap, rec, now) != CAPTION_OK)
		rs_log(RS_LOG_WARN, "room %s: a journaled caption could not be restored",
		       room_id(hr->room));
}

/* One room being rebuilt from its journal. */
struct replay {
	struct hroom *hr;
	struct present p;
	int64_t now;
	size_t skipped;
};

/* recorder_json_fn: one record into the floor, the captions and who was present. */
static int replay_record(void *ctx, const json_t *crec)
{
	struct replay *rp = ctx;
	json_t *rec = (json_t *)crec; /* read only: jansson's getters want no const */
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	if (!kind)
		return 0;
	rp->skipped += floor_msg_replay(rp->hr->floor, rec) < 0;
	if (!strcmp(kind, "join") || !strcmp(kind, "leave") || !strcmp(kind, "presence") ||
	    !strcmp(kind, "resume"))
		note_roster(&rp->p, rec, kind);
	else if (!strcmp(kind, "caption") || !strcmp(kind, "caption_open") ||
		 !strcmp(kind, "caption_seq"))
		note_caption(rp->hr, &rp->p, rec, kind, rp->now);
	return 0;
}

/* Replays one room's journal, from its file, into its floor, captions and members. */
static void replay_room(hub *h, struct replay *rp)
{
	const char *room = room_id(rp->hr->room);
	if (recorder_foreach(h->rec, room, replay_record, rp) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: its journal could not be read to the end", room);
	if (rp->p.last_seq)
		caption_room_restore_seq(rp->hr->cap, rp->p.last_seq);
	if (rp->skipped)
		rs_log(RS_LOG_WARN, "room %s: %zu floor records did not fit and were skipped", room,
		       rp->skipped);
}

/* A member who was present: back in the room, reconnecting, waiting for its secret. */
static void restore_member(hub *h, struct hroom *hr, json_t *e, int64_t now)
{
	struct hub_resume *r = h->resume;
	enum rs_role role;
	struct rs_attrs a = { .onsite = ATTRS_ONSITE_UNKNOWN };
	uint32_t pid = (uint32_t)json_integer_value(json_object_get(e, "pid"));
	const char *name = json_string_value(json_object_get(e, "name"));
	struct room_member *m;
	if (!pid || !attrs_role_parse(json_string_value(json_object_get(e, "role")), &role) ||
	    !name || !attrs_set_name(&a, name) || attrs_from_json(&a, e) ||
	    room_join(hr->room, now, pid, role, &a, NULL, &m) != ROOM_OK)
		return;
	room_detach(hr->room, m, now);
	/* Without a journaled check (a failing disk) nobody can resume it: it leaves after the grace. */
	const char *check = json_string_value(json_object_get(e, "check"));
	if (!check || resume_restore(r->t, room_id(hr->room), pid, check, now) != RESUME_OK) {
		char none[RESUME_CHECK_HEX + 1];
		memset(none, '0', RESUME_CHECK_HEX);
		none[RESUME_CHECK_HEX] = '\0';
		if (resume_restore(r->t, room_id(hr->room), pid, none, now) != RESUME_OK)
			rs_log(RS_LOG_WARN, "participant %" PRIu32 " has no grace period", pid);
	}
	resume_set_tag(r->t, pid, json_string_value(json_object_get(e, "jti")));
	hub_room_dirty(h, hr);
}

void hub_restore(hub *h, int64_t now)
{
	const char *names[1024];
	size_t n;
	recorder_rooms(h->rec, &n, names, RS_ARRAY_LEN(names));
	char **copy = rs_calloc(n ? n : 1, sizeof *copy); /* names live until the next append */
	for (size_t i = 0; i < n; i++)
		copy[i] = rs_strdup(names[i]);
	h->resume->quiet = true;
	size_t members = 0;
	for (size_t i = 0; i < n; i++) {
		struct hroom *hr = hub_hroom_ensure(h, copy[i]);
		if (!hr)
			continue;
		struct replay rp = { .hr = hr, .p = { .by_pid = json_object() }, .now = now };
		replay_room(h, &rp);
		if (rp.p.max_pid >= h->next_pid)
			h->next_pid = rp.p.max_pid + 1;
		const char *key;
		json_t *e;
		json_object_foreach(rp.p.by_pid, key, e) {
			restore_member(h, hr, e, now);
			members++;
		}
		json_decref(rp.p.by_pid);
	}
	h->resume->quiet = false;
	for (size_t i = 0; i < n; i++)
		free(copy[i]);
	free(copy);
	if (members)
		rs_log(RS_LOG_INFO, "%zu members may resume within %d s", members,
		       h->cfg->limits.resume_grace_s);
}
