/*
 * hub_resume: sessions that survive a dropped link or a server restart.
 *
 * Every join result carries a resume secret (resume.h). When a member's
 * connection closes without a `leave`, the member stays in the room for the
 * grace period on a connection-less hub_conn (a "ghost": marked closing, so
 * nothing is queued on it): same pid, role, attributes, floor request and
 * grant (its clock runs; the audio transport is dropped until the browser
 * offers again), written interventions and open caption line. The others see
 * the member "reconnecting" in a roster.update. A join with the secret within
 * the grace period moves the member onto the new connection; after it the
 * ghost leaves as any member does.
 *
 * A restart rebuilds each journaled room: the floor from its events
 * (floor_msg_replay), caption numbering and the late-joiner ring, and every
 * member who was in the room when the server stopped, as a ghost whose grace
 * period starts at the restart. The journal keeps, per membership, a "resume"
 * record with the check value of its current secret (never the secret).
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
	hub_conn **ghosts;    /* owned: members waiting for their connection */
	size_t n, cap;
	bool quiet;           /* rebuilding: roster records are in the journal already */
	bool has_after;       /* the joiner named its last caption seq */
	uint64_t after_seq;
};

/* ---- the journal -------------------------------------------------------------- */

/*
 * The room's records from the start of its journal, in order. The one place
 * that reads them, so the recorder's storage can change behind it.
 */
static json_t *room_records(hub *h, const char *room)
{
	return recorder_records(h->rec, room);
}

static void record_check(hub *h, struct hroom *hr, uint32_t pid, const char *check, int64_t now)
{
	json_t *rec = json_pack("{s:s, s:I, s:I, s:s}", "kind", "resume", "t", (json_int_t)now,
				"pid", (json_int_t)pid, "check", check);
	if (hub_record(h, hr, rec, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: a resume record was not journaled; participant %" PRIu32
		       " cannot resume after a restart", room_id(hr->room), pid);
	json_decref(rec);
}

/* ---- ghosts ---------------------------------------------------------------------- */

static void ghost_add(struct hub_resume *r, hub_conn *g)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->ghosts = rs_realloc(r->ghosts, r->cap * sizeof *r->ghosts);
	}
	r->ghosts[r->n++] = g;
}

/* Takes the ghost of pid out of the list (NULL when the member has none). */
static hub_conn *ghost_take(struct hub_resume *r, uint32_t pid)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->ghosts[i]->member && r->ghosts[i]->member->pid == pid) {
			hub_conn *g = r->ghosts[i];
			r->ghosts[i] = r->ghosts[--r->n];
			return g;
		}
	return NULL;
}

static bool is_ghost(const struct hub_resume *r, uint32_t pid)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->ghosts[i]->member && r->ghosts[i]->member->pid == pid)
			return true;
	return false;
}

/* Forgets the requests of c waiting for the disk: nobody is there to answer. */
static void drop_waiting(hub *h, hub_conn *c)
{
	recorder_cancel(h->rec, c);
	while (c->pending_len) {
		json_decref(c->pending[c->pending_head]);
		c->pending_head = (c->pending_head + 1) % HUB_PENDING_MAX;
		c->pending_len--;
	}
}

/* Tells the room about m: its roster entry, with "state" when it is not connected. */
static void announce(struct hroom *hr, struct room_member *m, const char *state)
{
	json_t *p = room_member_json(m);
	if (state)
		json_object_set_new(p, "state", json_string(state));
	rs_msg *msg = rs_msg_take_json(json_pack("{s:s, s:o}", "type", "roster.update",
						 "participant", p));
	room_broadcast(hr->room, msg, ROOM_TO_ALL, m);
	rs_msg_unref(msg);
}

/* Marks the roster entries of a snapshot whose member is reconnecting. */
static void mark_roster(const struct hub_resume *r, json_t *snapshot)
{
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(snapshot, "roster"), i, e)
		if (is_ghost(r, (uint32_t)json_integer_value(json_object_get(e, "pid"))))
			json_object_set_new(e, "state", json_string("reconnecting"));
}

/* ---- lifecycle ---------------------------------------------------------------------- */

void hub_resume_init(hub *h)
{
	struct hub_resume *r = rs_calloc(1, sizeof *r);
	r->t = resume_create(h->secret, TOKEN_SECRET_LEN,
			     (int64_t)h->cfg->limits.resume_grace_s * 1000);
	h->resume = r;
}

void hub_resume_free(hub *h)
{
	struct hub_resume *r = h->resume;
	if (!r)
		return;
	/* Ghosts end with the hub, without a leave: the journal keeps them for a restart. */
	for (size_t i = 0; i < r->n; i++) {
		drop_waiting(h, r->ghosts[i]);
		free(r->ghosts[i]);
	}
	free(r->ghosts);
	resume_destroy(r->t);
	free(r);
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
	record_check(h, c->hr, c->member->pid, check, now);
	json_object_set_new(data, "resume",
			    json_pack("{s:s, s:I}", "secret", secret, "grace_s",
				      (json_int_t)(resume_grace_ms(r->t) / 1000)));
}

/* rep->after for a joiner who named its last caption: only what it has not seen. */
static void backlog_since(hub *h, hub_conn *c, int64_t now)
{
	struct hub_resume *r = h->resume;
	uint64_t after = r->after_seq;
	r->has_after = false;
	hub_caption_backlog_since(h, c, now, after);
}

/*
 * Reads "last_caption_seq" of a join (checked before anything changed, so a
 * malformed one refuses the join). Returns 0 or -1 with rep filled.
 */
int hub_resume_read_after(hub *h, json_t *req, struct reply *rep)
{
	json_t *v = json_object_get(req, "last_caption_seq");
	h->resume->has_after = false;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		rep->field = "last_caption_seq";
		return hub_fail(rep, "bad_field", "field 'last_caption_seq' must be an integer >= 0");
	}
	h->resume->has_after = true;
	h->resume->after_seq = (uint64_t)json_integer_value(v);
	return 0;
}

void hub_resume_joined(hub *h, hub_conn *c, int64_t now, struct reply *rep)
{
	issue(h, c, now, rep->data);
	mark_roster(h->resume, rep->data);
	if (h->resume->has_after)
		rep->after = backlog_since;
}

/* ---- resuming ------------------------------------------------------------------------------ */

/*
 * The member is still attached to an older connection (the server has not
 * noticed that link die): the newer one wins and the older is closed.
 */
static void take_from(hub *h, hub_conn *old)
{
	drop_waiting(h, old);
	hub_media_drop(h, old);
	old->hr = NULL;
	old->member = NULL;
	if (!old->closing) {
		old->closing = true;
		h->io.close(h->io.ctx, old->transport, CLOSE_RESUMED_ELSEWHERE,
			    "resumed on another connection");
	}
}

/* Validates a resume join and finds the member it names. */
static int resume_target(hub *h, json_t *req, struct hroom **hr, struct room_member **m,
			 struct reply *rep)
{
	json_t *s = json_object_get(req, "resume");
	const char *name = json_string_value(json_object_get(req, "room"));
	if (!json_is_string(s)) {
		rep->field = "resume";
		return hub_fail(rep, "bad_field", "field 'resume' must be a string");
	}
	*hr = name ? hub_hroom(h, name) : NULL;
	uint32_t pid = 0;
	int rc = *hr ? resume_verify(h->resume->t, name, json_string_value(s), &pid)
		     : RESUME_E_GONE;
	*m = rc == RESUME_OK ? room_find((*hr)->room, pid) : NULL;
	if (rc == RESUME_OK && !*m)
		rc = RESUME_E_GONE;
	if (rc != RESUME_OK) {
		metrics_add("rostrum_resume_refused_total", 1);
		return hub_fail(rep, resume_code(rc), "%s", resume_strerror(rc));
	}
	return 0;
}

int hub_resume_join(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	struct hub_resume *r = h->resume;
	struct hroom *hr;
	struct room_member *m;
	if (hub_resume_read_after(h, req, rep) || resume_target(h, req, &hr, &m, rep))
		return -1;
	hub_conn *g = ghost_take(r, m->pid);
	if (g)
		free(g); /* its waiting requests and audio went when it was detached */
	else if (m->conn && m->conn != c)
		take_from(h, m->conn);
	m->conn = c;
	c->hr = hr;
	c->member = m;
	rep->data = room_snapshot(hr->room);
	json_object_set_new(rep->data, "you", room_member_json(m));
	hub_floor_joined(h, c, now, rep->data);
	hub_caption_joined(h, c, now, rep->data);
	json_object_set_new(rep->data, "recording", hub_mix_snapshot(hr));
	issue(h, c, now, rep->data);
	json_object_set_new(json_object_get(rep->data, "resume"), "resumed", json_true());
	mark_roster(r, rep->data);
	rep->after = r->has_after ? backlog_since : hub_caption_after_join;
	announce(hr, m, NULL);
	metrics_add("rostrum_resumed_total", 1);
	return 0;
}

/* ---- dropping and leaving ------------------------------------------------------------------ */

bool hub_resume_detach(hub *h, hub_conn *c, int64_t now)
{
	struct hub_resume *r = h->resume;
	if (!r || !c->hr || !c->member || resume_is_detached(r->t, c->member->pid))
		return false;
	resume_detach(r->t, c->member->pid, now);
	if (!resume_is_detached(r->t, c->member->pid))
		return false; /* no secret was issued: nothing to come back with */
	drop_waiting(h, c);
	hub_media_drop(h, c);
	c->closing = true; /* nothing is queued on a ghost */
	c->transport = NULL;
	ghost_add(r, c);
	announce(c->hr, c->member, "reconnecting");
	metrics_add("rostrum_reconnecting_total", 1);
	return true;
}

void hub_resume_left(hub *h, uint32_t pid)
{
	if (h->resume)
		resume_forget(h->resume->t, pid);
}

void hub_resume_presence(hub *h, hub_conn *c, int64_t now)
{
	json_t *rec = room_member_json(c->member);
	json_object_set_new(rec, "kind", json_string("presence"));
	json_object_set_new(rec, "t", json_integer(now));
	if (hub_record(h, c->hr, rec, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: a presence record was not journaled",
		       room_id(c->hr->room));
	json_decref(rec);
}

int64_t hub_resume_deadline(const hub *h)
{
	return h->resume ? resume_next_deadline(h->resume->t) : INT64_MAX;
}

void hub_resume_tick(hub *h, int64_t now)
{
	struct hub_resume *r = h->resume;
	uint32_t pid;
	char room[RESUME_ROOM_MAX + 1];
	while (resume_expired(r->t, now, &pid, room)) {
		hub_conn *g = ghost_take(r, pid);
		if (!g)
			continue;
		hub_leave_room(h, g, now);
		free(g);
		metrics_add("rostrum_resume_expired_total", 1);
	}
}

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
		if (cur)
			json_object_set(cur, "check", json_object_get(rec, "check"));
	} else {
		json_t *e = json_deep_copy(rec);
		if (cur && json_object_get(cur, "check"))
			json_object_set(e, "check", json_object_get(cur, "check"));
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

/* Replays one room's journal into its floor, captions and the list of who was present. */
static void replay_room(struct hroom *hr, json_t *records, struct present *p, int64_t now)
{
	size_t i, skipped = 0;
	json_t *rec;
	json_array_foreach(records, i, rec) {
		const char *kind = json_string_value(json_object_get(rec, "kind"));
		if (!kind)
			continue;
		skipped += floor_msg_replay(hr->floor, rec) < 0;
		if (!strcmp(kind, "join") || !strcmp(kind, "leave") || !strcmp(kind, "presence") ||
		    !strcmp(kind, "resume"))
			note_roster(p, rec, kind);
		else if (!strcmp(kind, "caption") || !strcmp(kind, "caption_open") ||
			 !strcmp(kind, "caption_seq"))
			note_caption(hr, p, rec, kind, now);
	}
	if (p->last_seq)
		caption_room_restore_seq(hr->cap, p->last_seq);
	if (skipped)
		rs_log(RS_LOG_WARN, "room %s: %zu floor records did not fit and were skipped",
		       room_id(hr->room), skipped);
}

/* A member who was present: back in the room as a ghost, waiting for its secret. */
static void restore_member(hub *h, struct hroom *hr, json_t *e, int64_t now)
{
	struct hub_resume *r = h->resume;
	enum rs_role role;
	struct rs_attrs a = { .onsite = ATTRS_ONSITE_UNKNOWN };
	uint32_t pid = (uint32_t)json_integer_value(json_object_get(e, "pid"));
	const char *name = json_string_value(json_object_get(e, "name"));
	if (!pid || !attrs_role_parse(json_string_value(json_object_get(e, "role")), &role) || !name ||
	    !attrs_set_name(&a, name) || attrs_from_json(&a, e))
		return;
	hub_conn *g = rs_calloc(1, sizeof *g);
	g->closing = true;
	if (room_join(hr->room, now, pid, role, &a, g, &g->member) != ROOM_OK) {
		free(g);
		return;
	}
	g->hr = hr;
	/* Without a journaled check (a failing disk) the member cannot resume: it leaves after the grace. */
	const char *check = json_string_value(json_object_get(e, "check"));
	if (!check || resume_restore(r->t, room_id(hr->room), pid, check, now) != RESUME_OK) {
		char none[RESUME_CHECK_HEX + 1];
		memset(none, '0', RESUME_CHECK_HEX);
		none[RESUME_CHECK_HEX] = '\0';
		if (resume_restore(r->t, room_id(hr->room), pid, none, now) != RESUME_OK)
			rs_log(RS_LOG_WARN, "participant %" PRIu32 " has no grace period", pid);
	}
	ghost_add(r, g);
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
		json_t *records = room_records(h, copy[i]);
		struct hroom *hr = records ? hub_hroom_ensure(h, copy[i]) : NULL;
		if (!hr)
			continue;
		struct present p = { .by_pid = json_object() };
		replay_room(hr, records, &p, now);
		if (p.max_pid >= h->next_pid)
			h->next_pid = p.max_pid + 1;
		const char *key;
		json_t *e;
		json_object_foreach(p.by_pid, key, e) {
			restore_member(h, hr, e, now);
			members++;
		}
		json_decref(p.by_pid);
	}
	h->resume->quiet = false;
	for (size_t i = 0; i < n; i++)
		free(copy[i]);
	free(copy);
	if (members)
		rs_log(RS_LOG_INFO, "%zu members may resume within %d s", members,
		       h->cfg->limits.resume_grace_s);
}
