#include "floor_msg.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define LIMIT_S_MAX (FLOOR_LIMIT_MAX_MS / 1000)
#define MAX_FIELDS 4
#define TOUCHED_MAX 64 /* owners told floor.you after one call; more only see floor.queue */

/* One request being handled. */
struct call {
	floor_ctl *f;
	int64_t now;
	const floor_actor *a;
	json_t *req;
	json_t *data;         /* the reply on success (owned until handed out) */
	const char *field;    /* the field at fault on bad_field */
};

typedef int (*handler_fn)(struct call *c);

struct handler {
	const char *type;
	const char *fields[MAX_FIELDS]; /* accepted besides "type" and "id" */
	handler_fn fn;
};

/* ---- codes -------------------------------------------------------------- */

bool floor_msg_owns(const char *type)
{
	return strncmp(type, "floor.", 6) == 0 || strncmp(type, "written.", 8) == 0;
}

const char *floor_msg_code(int err)
{
	return err == FLOOR_MSG_E_UNKNOWN_TYPE ? "unknown_type" : floor_code(err);
}

const char *floor_msg_strerror(int err)
{
	return err == FLOOR_MSG_E_UNKNOWN_TYPE ? "unknown floor message type" : floor_strerror(err);
}

/* ---- building blocks of outgoing messages ------------------------------- */

static json_t *msg_new(const char *type)
{
	return json_pack("{s:s}", "type", type);
}

static void set_int(json_t *o, const char *key, int64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* Sets key to s, or leaves it out when s is empty. */
static void set_text(json_t *o, const char *key, const char *s)
{
	if (s && s[0])
		json_object_set_new(o, key, json_string(s));
}

/* {"pid": ..., "name": ..., "group": ..., ...}: who an entry or event is about. */
static json_t *who_json(uint32_t pid, const struct rs_attrs *a)
{
	json_t *o = json_object();
	set_int(o, "pid", pid);
	attrs_to_json(a, o);
	return o;
}

/* Appends {"to": to, "msg": msg} to outbox, taking a new reference to msg. */
static void post(json_t *outbox, json_t *to, json_t *msg)
{
	json_array_append_new(outbox, json_pack("{s:o, s:O}", "to", to, "msg", msg));
}

static void post_all(json_t *outbox, json_t *msg)
{
	post(outbox, json_string("all"), msg);
}

/* Sends msg to everyone and into the journal, and releases it. */
static void post_public(json_t *outbox, json_t *msg)
{
	post_all(outbox, msg);
	post(outbox, json_string("journal"), msg);
	json_decref(msg);
}

/* ---- snapshots ---------------------------------------------------------- */

/* Time limit fields of a granted entry. */
static void set_limit(json_t *o, int64_t limit_ms, int64_t ends_ms)
{
	set_int(o, "limit_s", limit_ms / 1000);
	if (ends_ms)
		set_int(o, "ends_at", ends_ms);
}

/* One entry of the public queue. */
static json_t *entry_json(const struct floor_req_view *v, int64_t now)
{
	json_t *o = json_object();
	set_int(o, "request", v->id);
	json_object_set_new(o, "who", who_json(v->pid, v->who));
	set_text(o, "topic", v->topic);
	set_int(o, "since", v->created_ms);
	if (v->position)
		set_int(o, "position", v->position);
	if (v->state == FLOOR_GRANTED) {
		set_int(o, "granted_at", v->granted_ms);
		set_int(o, "speaking_ms", now - v->granted_ms);
		set_limit(o, v->limit_ms, v->ends_ms);
		json_object_set_new(o, "muted", json_boolean(v->muted));
	} else {
		set_int(o, "waiting_ms", now - v->created_ms);
	}
	return o;
}

static json_t *line_json(const floor_ctl *f, enum floor_state s, int64_t now)
{
	json_t *arr = json_array();
	struct floor_req_view v;
	for (size_t i = 0; floor_at(f, s, i, &v); i++)
		json_array_append_new(arr, entry_json(&v, now));
	return arr;
}

json_t *floor_msg_queue(const floor_ctl *f, int64_t now)
{
	const struct floor_policy *p = floor_policy(f);
	json_t *m = msg_new("floor.queue");
	set_int(m, "t", now);
	json_object_set_new(m, "order", json_string(floor_order_name(p->order)));
	set_int(m, "max_holders", p->max_holders);
	set_int(m, "limit_s", p->limit_ms / 1000);
	set_int(m, "warn_s", p->warn_ms / 1000);
	json_object_set_new(m, "on_expiry", json_string(floor_expiry_name(p->on_expiry)));
	json_object_set_new(m, "holders", line_json(f, FLOOR_GRANTED, now));
	json_object_set_new(m, "queue", line_json(f, FLOOR_ACCEPTED, now));
	json_object_set_new(m, "pending", line_json(f, FLOOR_PENDING, now));
	json_object_set_new(m, "held", line_json(f, FLOOR_HELD, now));
	uint32_t s = floor_suggest(f, now);
	json_object_set_new(m, "suggested", s ? json_integer(s) : json_null());
	return m;
}

/* floor.you about one request (0: the participant has none). */
static json_t *you_json(const floor_ctl *f, int64_t now, uint32_t pid, uint32_t request)
{
	json_t *m = msg_new("floor.you");
	set_int(m, "t", now);
	struct floor_req_view v;
	struct floor_person_view pv;
	json_object_set_new(m, "muted", json_boolean(floor_person(f, pid, now, &pv) && pv.muted));
	if (!request || !floor_find(f, request, &v)) {
		json_object_set_new(m, "request", json_null());
		return m;
	}
	set_int(m, "request", v.id);
	json_object_set_new(m, "state", json_string(floor_state_name(v.state)));
	set_int(m, "position", v.position);
	set_text(m, "topic", v.topic);
	set_int(m, "since", v.since_ms);
	if (v.state == FLOOR_GRANTED)
		set_limit(m, v.limit_ms, v.ends_ms);
	return m;
}

json_t *floor_msg_you(const floor_ctl *f, int64_t now, uint32_t pid)
{
	struct floor_req_view v;
	return you_json(f, now, pid, floor_find_live(f, pid, &v) ? v.id : 0);
}

static json_t *groups_json(const floor_ctl *f, int64_t now)
{
	json_t *o = json_object();
	for (int i = 0; attrs_groups[i]; i++)
		set_int(o, attrs_groups[i], floor_spoken_by(f, now, FLOOR_DIM_GROUP, attrs_groups[i]));
	set_int(o, "undeclared", floor_spoken_by(f, now, FLOOR_DIM_GROUP, ""));
	return o;
}

static json_t *sides_json(const floor_ctl *f, int64_t now)
{
	static const char *const sides[] = { "onsite", "remote", "unknown" };
	json_t *o = json_object();
	for (size_t i = 0; i < RS_ARRAY_LEN(sides); i++)
		set_int(o, sides[i], floor_spoken_by(f, now, FLOOR_DIM_ONSITE, sides[i]));
	return o;
}

/* [{"region": ..., "spoken_ms": ...}], "" for undeclared regions. */
static json_t *regions_json(const floor_ctl *f, int64_t now)
{
	json_t *arr = json_array();
	for (size_t i = 0; i <= floor_regions(f); i++) {
		const char *r = i < floor_regions(f) ? floor_region_at(f, i) : "";
		json_array_append_new(arr, json_pack("{s:s, s:I}", "region", r, "spoken_ms",
						     (json_int_t)floor_spoken_by(f, now,
										FLOOR_DIM_REGION, r)));
	}
	return arr;
}

/* Everyone who has held the floor, with their time. */
static json_t *speakers_json(const floor_ctl *f, int64_t now)
{
	json_t *arr = json_array();
	struct floor_person_view v;
	for (size_t i = 0; floor_person_at(f, i, now, &v); i++) {
		if (!v.turns)
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "who", who_json(v.pid, v.who));
		set_int(o, "spoken_ms", v.spoken_ms);
		set_int(o, "turns", v.turns);
		json_array_append_new(arr, o);
	}
	return arr;
}

static json_t *counts_json(const floor_ctl *f)
{
	struct floor_written_counts c;
	floor_written_totals(f, &c);
	return json_pack("{s:i, s:i, s:i, s:i, s:i}", "asked", c.asked, "read", c.read,
			 "answered", c.answered, "dismissed", c.dismissed, "withdrawn", c.withdrawn);
}

json_t *floor_msg_stats(const floor_ctl *f, int64_t now)
{
	json_t *m = msg_new("floor.stats");
	set_int(m, "t", now);
	set_int(m, "total_ms", floor_spoken_total(f, now));
	json_object_set_new(m, "participants", speakers_json(f, now));
	json_object_set_new(m, "groups", groups_json(f, now));
	json_object_set_new(m, "onsite", sides_json(f, now));
	json_object_set_new(m, "regions", regions_json(f, now));
	json_object_set_new(m, "written", counts_json(f));
	return m;
}

json_t *floor_msg_written_queue(const floor_ctl *f, int64_t now)
{
	json_t *m = msg_new("written.queue");
	set_int(m, "t", now);
	json_t *items = json_array();
	struct floor_written_view v;
	for (size_t i = 0; floor_written_at(f, i, &v); i++)
		json_array_append_new(items, json_pack("{s:I, s:o, s:s, s:s, s:I, s:I}",
			"written", (json_int_t)v.id, "who", who_json(v.pid, v.who), "text", v.text,
			"state", floor_wstate_name(v.state), "submitted_at",
			(json_int_t)v.submitted_ms, "waiting_ms", (json_int_t)(now - v.submitted_ms)));
	json_object_set_new(m, "items", items);
	json_object_set_new(m, "counts", counts_json(f));
	return m;
}

json_t *floor_msg_snapshot(floor_ctl *f, int64_t now, const floor_actor *viewer)
{
	json_t *o = json_object();
	json_object_set_new(o, "queue", floor_msg_queue(f, now));
	json_object_set_new(o, "you", floor_msg_you(f, now, viewer->pid));
	json_object_set_new(o, "may_speak", json_boolean(floor_may_speak(f, viewer)));
	if (viewer->role == RS_ROLE_MODERATOR) {
		json_object_set_new(o, "stats", floor_msg_stats(f, now));
		json_object_set_new(o, "written", floor_msg_written_queue(f, now));
	}
	return o;
}

/* ---- events into messages ----------------------------------------------- */

/* The past-tense name of what happened, as floor.event's "event". */
static const char *event_name(const struct floor_event *e)
{
	static const char *const done[FLOOR_OP_COUNT] = {
		"accepted", "granted", "denied", "cancelled", "released", "revoked", "held",
		"resumed", "moved", "left", "expired",
	};
	switch (e->kind) {
	case FLOOR_EV_STATE:
		if (e->from < 0)
			return "requested";
		return e->cleared ? "cleared" : done[e->op];
	case FLOOR_EV_MOVED:
		return "moved";
	case FLOOR_EV_MUTED:
		return e->muted ? "muted" : "unmuted";
	case FLOOR_EV_LIMIT:
		return "limit";
	default:
		return "unknown";
	}
}

static json_t *by_json(const struct floor_event *e)
{
	if (e->by_system)
		return json_pack("{s:s}", "role", "system");
	return json_pack("{s:I, s:s}", "pid", (json_int_t)e->by, "role", attrs_role_name(e->by_role));
}

/* The fields every event message has: when, what, about whom, by whom. */
static json_t *event_base(const char *type, const struct floor_event *e)
{
	json_t *m = msg_new(type);
	set_int(m, "at", e->at_ms);
	if (e->pid)
		json_object_set_new(m, "who", who_json(e->pid, &e->who));
	json_object_set_new(m, "by", by_json(e));
	return m;
}

static json_t *floor_event_json(const struct floor_event *e)
{
	json_t *m = event_base("floor.event", e);
	json_object_set_new(m, "event", json_string(event_name(e)));
	json_object_set_new(m, "request", e->request ? json_integer(e->request) : json_null());
	if (e->kind == FLOOR_EV_STATE) {
		if (e->from >= 0)
			json_object_set_new(m, "from", json_string(floor_state_name(e->from)));
		json_object_set_new(m, "to", json_string(floor_state_name(e->to)));
		if (e->from == FLOOR_GRANTED)
			set_int(m, "duration_ms", e->duration_ms);
	}
	if (e->position)
		set_int(m, "position", e->position);
	if (e->kind == FLOOR_EV_LIMIT || e->to == FLOOR_GRANTED)
		set_limit(m, e->limit_ms, e->ends_ms);
	set_text(m, "topic", e->topic);
	set_text(m, "reason", e->reason);
	return m;
}

static json_t *timer_json(const struct floor_event *e)
{
	json_t *m = event_base("floor.timer", e);
	json_object_set_new(m, "event",
			    json_string(e->kind == FLOOR_EV_WARNING ? "warning" : "expired"));
	set_int(m, "request", e->request);
	set_limit(m, e->limit_ms, e->ends_ms);
	set_int(m, "remaining_ms", e->ends_ms > e->at_ms ? e->ends_ms - e->at_ms : 0);
	return m;
}

static json_t *written_json(const struct floor_event *e)
{
	static const char *const done[FLOOR_WOP_COUNT] = { "read", "answered", "dismissed",
							   "withdrawn" };
	json_t *m = event_base("written.event", e);
	json_object_set_new(m, "event", json_string(e->from < 0 ? "submitted" : done[e->wop]));
	set_int(m, "written", e->request);
	if (e->from >= 0)
		json_object_set_new(m, "from", json_string(floor_wstate_name(e->from)));
	json_object_set_new(m, "to", json_string(floor_wstate_name(e->to)));
	if (e->text)
		json_object_set_new(m, "text", json_string(e->text));
	return m;
}

/* What one call changed, so each snapshot is sent once however many events it took. */
struct changes {
	bool queue, stats, written;
	uint32_t touched_pid[TOUCHED_MAX];
	uint32_t touched_req[TOUCHED_MAX];
	size_t n_touched;
};

/* Remembers that an owner's own view changed (the latest request wins). */
static void touch(struct changes *ch, uint32_t pid, uint32_t request)
{
	for (size_t i = 0; i < ch->n_touched; i++)
		if (ch->touched_pid[i] == pid) {
			ch->touched_req[i] = request;
			return;
		}
	if (ch->n_touched < TOUCHED_MAX) {
		ch->touched_pid[ch->n_touched] = pid;
		ch->touched_req[ch->n_touched++] = request;
	}
}

/* Posts a written.event to its author and the journal. */
static void post_written(json_t *outbox, const struct floor_event *e)
{
	json_t *m = written_json(e);
	post(outbox, json_integer(e->pid), m);
	post(outbox, json_string("journal"), m);
	json_decref(m);
}

/* Posts one event and notes which snapshots it makes stale. */
static void post_event(json_t *outbox, const struct floor_event *e, struct changes *ch)
{
	switch (e->kind) {
	case FLOOR_EV_STATE:
	case FLOOR_EV_MOVED:
	case FLOOR_EV_MUTED:
	case FLOOR_EV_LIMIT:
		ch->queue = true;
		ch->stats |= e->from == FLOOR_GRANTED || e->to == FLOOR_GRANTED;
		if (e->pid)
			touch(ch, e->pid, e->request);
		post_public(outbox, floor_event_json(e));
		break;
	case FLOOR_EV_WARNING:
	case FLOOR_EV_EXPIRED:
		post_public(outbox, timer_json(e));
		break;
	case FLOOR_EV_WRITTEN:
		ch->written = true;
		ch->stats = true; /* the written counts are part of the statistics */
		post_written(outbox, e);
		break;
	default:
		assert(!"unknown floor event kind");
	}
}

void floor_msg_flush(floor_ctl *f, int64_t now, json_t *outbox)
{
	struct changes ch = { 0 };
	struct floor_event e;
	while (floor_poll(f, &e))
		post_event(outbox, &e, &ch);
	for (size_t i = 0; i < ch.n_touched; i++) {
		json_t *m = you_json(f, now, ch.touched_pid[i], ch.touched_req[i]);
		post(outbox, json_integer(ch.touched_pid[i]), m);
		json_decref(m);
	}
	json_t *m;
	if (ch.queue) {
		post_all(outbox, m = floor_msg_queue(f, now));
		json_decref(m);
	}
	if (ch.stats) {
		post(outbox, json_string("moderators"), m = floor_msg_stats(f, now));
		json_decref(m);
	}
	if (ch.written) {
		post(outbox, json_string("moderators"), m = floor_msg_written_queue(f, now));
		json_decref(m);
	}
}

void floor_msg_tick(floor_ctl *f, int64_t now, json_t *outbox)
{
	floor_tick(f, now);
	floor_msg_flush(f, now, outbox);
}

int floor_msg_joined(floor_ctl *f, int64_t now, const floor_actor *a)
{
	return floor_participant_joined(f, now, a);
}

void floor_msg_left(floor_ctl *f, int64_t now, uint32_t pid, json_t *outbox)
{
	floor_participant_left(f, now, pid);
	floor_msg_flush(f, now, outbox);
}

void floor_msg_updated(floor_ctl *f, int64_t now, const floor_actor *a, json_t *outbox)
{
	struct floor_req_view v;
	if (floor_participant_update(f, now, a) == FLOOR_OK && floor_find_live(f, a->pid, &v)) {
		json_t *m = floor_msg_queue(f, now);
		post_all(outbox, m);
		json_decref(m);
	}
	floor_msg_flush(f, now, outbox);
}

/* ---- reading request fields --------------------------------------------- */

static int bad(struct call *c, const char *field)
{
	c->field = field;
	return FLOOR_MSG_E_BAD_FIELD;
}

/* An optional id field (1..2^32-1); *out stays 0 when absent. */
static int get_id(struct call *c, const char *key, bool required, uint32_t *out)
{
	json_t *v = json_object_get(c->req, key);
	*out = 0;
	if (!v)
		return required ? bad(c, key) : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > (json_int_t)UINT32_MAX)
		return bad(c, key);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* An optional integer field within [min, max]; *present says whether it was there. */
static int get_int(struct call *c, const char *key, int64_t min, int64_t max, int64_t *out,
		   bool *present)
{
	json_t *v = json_object_get(c->req, key);
	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return bad(c, key);
	*out = json_integer_value(v);
	return 0;
}

/* An optional string field without NUL bytes; *out is NULL when absent. */
static int get_str(struct call *c, const char *key, bool required, const char **out)
{
	json_t *v = json_object_get(c->req, key);
	*out = NULL;
	if (!v)
		return required ? bad(c, key) : 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return bad(c, key);
	*out = json_string_value(v);
	return 0;
}

/* Refuses any field the message type does not define. */
static int check_fields(struct call *c, const struct handler *h)
{
	const char *key;
	json_t *v;
	json_object_foreach(c->req, key, v) {
		bool known = strcmp(key, "type") == 0 || strcmp(key, "id") == 0;
		for (int i = 0; i < MAX_FIELDS && h->fields[i] && !known; i++)
			known = strcmp(key, h->fields[i]) == 0;
		if (!known)
			return bad(c, key);
	}
	return 0;
}

/* Names the field a floor BAD_ARG refers to, passing other results through. */
static int blame(struct call *c, int rc, const char *field)
{
	if (rc == FLOOR_E_BAD_ARG)
		c->field = field;
	return rc;
}

/* {"request": id, "state": ...} for a reply. */
static json_t *request_data(const floor_ctl *f, uint32_t id)
{
	struct floor_req_view v;
	if (!floor_find(f, id, &v))
		return json_pack("{s:I}", "request", (json_int_t)id);
	json_t *o = json_pack("{s:I, s:s}", "request", (json_int_t)id, "state",
			      floor_state_name(v.state));
	if (v.position)
		set_int(o, "position", v.position);
	if (v.state == FLOOR_GRANTED)
		set_limit(o, v.limit_ms, v.ends_ms);
	return o;
}

/* ---- handlers ----------------------------------------------------------- */

static int h_request(struct call *c)
{
	const char *topic;
	uint32_t id;
	int rc = get_str(c, "topic", false, &topic);
	if (rc || (rc = blame(c, floor_request(c->f, c->now, c->a, topic, &id), "topic")))
		return rc;
	c->data = request_data(c->f, id);
	return 0;
}

/* The participant operations on an optional "request" (default: the actor's own). */
static int own_op(struct call *c, int (*op)(floor_ctl *, int64_t, const floor_actor *, uint32_t))
{
	uint32_t id;
	int rc = get_id(c, "request", false, &id);
	if (rc)
		return rc;
	struct floor_req_view v;
	if (!id && floor_find_live(c->f, c->a->pid, &v))
		id = v.id;
	if ((rc = op(c->f, c->now, c->a, id)))
		return rc;
	c->data = request_data(c->f, id);
	return 0;
}

static int h_cancel(struct call *c) { return own_op(c, floor_cancel); }
static int h_hold(struct call *c) { return own_op(c, floor_hold); }
static int h_resume(struct call *c) { return own_op(c, floor_resume); }
static int h_release(struct call *c) { return own_op(c, floor_release); }

static int h_accept(struct call *c)
{
	uint32_t id;
	int rc = get_id(c, "request", true, &id);
	if (rc || (rc = floor_accept(c->f, c->now, c->a, id)))
		return rc;
	c->data = request_data(c->f, id);
	return 0;
}

static int h_grant(struct call *c)
{
	uint32_t id, granted;
	int64_t limit_s = -1;
	bool has_limit;
	int rc = get_id(c, "request", false, &id);
	if (rc || (rc = get_int(c, "limit_s", 0, LIMIT_S_MAX, &limit_s, &has_limit)))
		return rc;
	rc = floor_grant(c->f, c->now, c->a, id, has_limit ? limit_s * 1000 : -1, &granted);
	if ((rc = blame(c, rc, "limit_s")))
		return rc;
	c->data = request_data(c->f, granted);
	return 0;
}

/* deny and revoke: a required request and an optional reason. */
static int h_end(struct call *c, int (*op)(floor_ctl *, int64_t, const floor_actor *, uint32_t,
					  const char *))
{
	uint32_t id;
	const char *reason;
	int rc = get_id(c, "request", true, &id);
	if (rc || (rc = get_str(c, "reason", false, &reason)))
		return rc;
	if ((rc = blame(c, op(c->f, c->now, c->a, id, reason), "reason")))
		return rc;
	c->data = request_data(c->f, id);
	return 0;
}

static int h_deny(struct call *c) { return h_end(c, floor_deny); }
static int h_revoke(struct call *c) { return h_end(c, floor_revoke); }

/* The target place of a move: "to" as given, or the current place plus "by", kept in the queue. */
static int move_target(struct call *c, uint32_t id, int *to)
{
	int64_t v = 0;
	bool has_to, has_by;
	int rc = get_int(c, "to", 1, FLOOR_MAX_REQUESTS, &v, &has_to);
	if (rc)
		return rc;
	*to = (int)v;
	if ((rc = get_int(c, "by", -FLOOR_MAX_REQUESTS, FLOOR_MAX_REQUESTS, &v, &has_by)))
		return rc;
	if (has_to == has_by)
		return bad(c, has_to ? "by" : "to");
	if (has_to)
		return 0;
	struct floor_req_view r;
	int n = (int)floor_count(c->f, FLOOR_ACCEPTED);
	/* A request out of the queue keeps *to = 1: the floor then names the real refusal. */
	*to = floor_find(c->f, id, &r) && r.position ? r.position + (int)v : 1;
	*to = *to < 1 ? 1 : *to > n && n > 0 ? n : *to;
	return 0;
}

static int h_move(struct call *c)
{
	uint32_t id;
	int to;
	int rc = get_id(c, "request", true, &id);
	if (rc || (rc = move_target(c, id, &to)))
		return rc;
	if ((rc = blame(c, floor_move(c->f, c->now, c->a, id, to), "to")))
		return rc;
	c->data = request_data(c->f, id);
	return 0;
}

static int h_clear(struct call *c)
{
	const char *reason;
	int n;
	int rc = get_str(c, "reason", false, &reason);
	if (rc || (rc = blame(c, floor_clear(c->f, c->now, c->a, reason, &n), "reason")))
		return rc;
	c->data = json_pack("{s:i}", "cleared", n);
	return 0;
}

static int h_mute(struct call *c)
{
	uint32_t pid;
	int rc = get_id(c, "pid", true, &pid);
	if (rc)
		return rc;
	json_t *m = json_object_get(c->req, "muted");
	if (m && !json_is_boolean(m))
		return bad(c, "muted");
	bool muted = !m || json_is_true(m);
	if ((rc = floor_mute(c->f, c->now, c->a, pid, muted)))
		return rc;
	c->data = json_pack("{s:I, s:b}", "pid", (json_int_t)pid, "muted", muted);
	return 0;
}

static int h_limit(struct call *c)
{
	uint32_t id;
	int64_t limit_s = 0;
	bool has;
	int rc = get_id(c, "request", false, &id);
	if (rc || (rc = get_int(c, "limit_s", 0, LIMIT_S_MAX, &limit_s, &has)))
		return rc;
	if (!has)
		return bad(c, "limit_s");
	if ((rc = blame(c, floor_set_limit(c->f, c->now, c->a, id, limit_s * 1000), "limit_s")))
		return rc;
	c->data = id ? request_data(c->f, id) : json_object();
	set_int(c->data, "limit_s", limit_s);
	return 0;
}

static int h_stats(struct call *c)
{
	if (c->a->role != RS_ROLE_MODERATOR)
		return FLOOR_E_FORBIDDEN_ROLE;
	c->data = floor_msg_stats(c->f, c->now);
	json_object_del(c->data, "type");
	return 0;
}

static json_t *written_data(const floor_ctl *f, uint32_t id)
{
	struct floor_written_view v;
	if (!floor_written_find(f, id, &v))
		return json_pack("{s:I}", "written", (json_int_t)id);
	return json_pack("{s:I, s:s}", "written", (json_int_t)id, "state",
			 floor_wstate_name(v.state));
}

static int h_submit(struct call *c)
{
	const char *text;
	uint32_t id;
	int rc = get_str(c, "text", true, &text);
	if (rc || (rc = blame(c, floor_written_submit(c->f, c->now, c->a, text, &id), "text")))
		return rc;
	c->data = written_data(c->f, id);
	return 0;
}

static int written_op(struct call *c, enum floor_wop op)
{
	uint32_t id;
	int rc = get_id(c, "written", true, &id);
	if (rc || (rc = floor_written_op(c->f, c->now, c->a, id, op)))
		return rc;
	c->data = written_data(c->f, id);
	return 0;
}

static int h_read(struct call *c) { return written_op(c, FLOOR_WOP_READ); }
static int h_answer(struct call *c) { return written_op(c, FLOOR_WOP_ANSWER); }
static int h_dismiss(struct call *c) { return written_op(c, FLOOR_WOP_DISMISS); }
static int h_withdraw(struct call *c) { return written_op(c, FLOOR_WOP_WITHDRAW); }

static const struct handler handlers[] = {
	{ "floor.request", { "topic" }, h_request },
	{ "floor.cancel", { "request" }, h_cancel },
	{ "floor.hold", { "request" }, h_hold },
	{ "floor.resume", { "request" }, h_resume },
	{ "floor.release", { "request" }, h_release },
	{ "floor.accept", { "request" }, h_accept },
	{ "floor.grant", { "request", "limit_s" }, h_grant },
	{ "floor.deny", { "request", "reason" }, h_deny },
	{ "floor.revoke", { "request", "reason" }, h_revoke },
	{ "floor.move", { "request", "to", "by" }, h_move },
	{ "floor.clear", { "reason" }, h_clear },
	{ "floor.mute", { "pid", "muted" }, h_mute },
	{ "floor.limit", { "limit_s", "request" }, h_limit },
	{ "floor.stats", { NULL }, h_stats },
	{ "written.submit", { "text" }, h_submit },
	{ "written.read", { "written" }, h_read },
	{ "written.answer", { "written" }, h_answer },
	{ "written.dismiss", { "written" }, h_dismiss },
	{ "written.withdraw", { "written" }, h_withdraw },
};

/* The handler of a message type, or NULL. */
static const struct handler *find_handler(const char *type)
{
	for (size_t i = 0; type && i < RS_ARRAY_LEN(handlers); i++)
		if (strcmp(handlers[i].type, type) == 0)
			return &handlers[i];
	return NULL;
}

int floor_msg_handle(floor_ctl *f, int64_t now, const floor_actor *actor, const char *type,
		     json_t *req, json_t **reply_data, json_t *outbox)
{
	struct call c = { .f = f, .now = now, .a = actor, .req = req };
	const struct handler *h = find_handler(type);
	int rc = !h ? FLOOR_MSG_E_UNKNOWN_TYPE : !json_is_object(req) ? FLOOR_MSG_E_BAD_FIELD
						: check_fields(&c, h);
	if (rc == 0)
		rc = h->fn(&c);
	floor_msg_flush(f, now, outbox);
	if (rc == 0) {
		*reply_data = c.data ? c.data : json_object();
		return 0;
	}
	json_decref(c.data);
	*reply_data = c.field ? json_pack("{s:s}", "field", c.field) : NULL;
	return rc;
}

/* ---- replaying the journal --------------------------------------------- */

/* Index of a state name given by names(i) for i < n, or -1 (absent: -1 too). */
static int state_index(json_t *v, const char *(*names)(int), int n)
{
	const char *s = json_string_value(v);
	for (int i = 0; s && i < n; i++)
		if (strcmp(names(i), s) == 0)
			return i;
	return -1;
}

static const char *state_name_i(int i) { return floor_state_name((enum floor_state)i); }
static const char *wstate_name_i(int i) { return floor_wstate_name((enum floor_wstate)i); }

static int64_t rec_int(json_t *rec, const char *key)
{
	json_t *v = json_object_get(rec, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* pid and attributes of a who object (or of a roster record itself). */
static bool who_of(json_t *o, uint32_t *pid, struct rs_attrs *a)
{
	memset(a, 0, sizeof *a);
	a->onsite = ATTRS_ONSITE_UNKNOWN;
	int64_t p = rec_int(o, "pid");
	const char *name = json_string_value(json_object_get(o, "name"));
	if (p <= 0 || p > UINT32_MAX || !name || !attrs_set_name(a, name) ||
	    attrs_from_json(a, o) != NULL)
		return false;
	*pid = (uint32_t)p;
	return true;
}

/* A "join", "leave" or "presence" record: who is in the room. */
static int replay_roster(floor_ctl *f, json_t *rec, const char *kind, int64_t t)
{
	uint32_t pid;
	struct rs_attrs a;
	enum rs_role role;
	if (!who_of(rec, &pid, &a))
		return FLOOR_E_BAD_ARG;
	if (strcmp(kind, "leave") == 0) {
		floor_restore_left(f, t, pid);
		return 1;
	}
	if (!attrs_role_parse(json_string_value(json_object_get(rec, "role")), &role))
		return FLOOR_E_BAD_ARG;
	floor_actor act = { .pid = pid, .role = role, .attrs = &a };
	int rc = floor_participant_joined(f, t, &act);
	return rc ? rc : 1;
}

/* The kind of a floor record and its own fields into e. */
static int floor_record_event(json_t *rec, const char *event, struct floor_event *e)
{
	bool has_to = json_object_get(rec, "to") != NULL;
	json_t *req = json_object_get(rec, "request");
	e->request = json_is_integer(req) ? (uint32_t)json_integer_value(req) : 0;
	if (strcmp(event, "warning") == 0 || (strcmp(event, "expired") == 0 && !has_to)) {
		e->kind = strcmp(event, "warning") == 0 ? FLOOR_EV_WARNING : FLOOR_EV_EXPIRED;
	} else if (strcmp(event, "moved") == 0) {
		e->kind = FLOOR_EV_MOVED;
		e->position = (int)rec_int(rec, "position");
	} else if (strcmp(event, "muted") == 0 || strcmp(event, "unmuted") == 0) {
		e->kind = FLOOR_EV_MUTED;
		e->muted = strcmp(event, "muted") == 0;
	} else if (strcmp(event, "limit") == 0) {
		e->kind = FLOOR_EV_LIMIT;
		e->limit_ms = rec_int(rec, "limit_s") * 1000;
	} else if (has_to) {
		e->kind = FLOOR_EV_STATE;
		e->from = state_index(json_object_get(rec, "from"), state_name_i, FLOOR_STATE_COUNT);
		e->to = state_index(json_object_get(rec, "to"), state_name_i, FLOOR_STATE_COUNT);
		if (e->to < 0)
			return FLOOR_E_BAD_ARG;
		/* The turn's limit exactly: its end less its start (limit_s is rounded). */
		int64_t ends = rec_int(rec, "ends_at");
		e->limit_ms = ends ? ends - e->at_ms : 0;
	} else {
		return FLOOR_E_BAD_ARG;
	}
	return FLOOR_OK;
}

static int written_record_event(json_t *rec, struct floor_event *e)
{
	e->kind = FLOOR_EV_WRITTEN;
	e->request = (uint32_t)rec_int(rec, "written");
	e->from = state_index(json_object_get(rec, "from"), wstate_name_i, FLOOR_W_STATE_COUNT);
	e->to = state_index(json_object_get(rec, "to"), wstate_name_i, FLOOR_W_STATE_COUNT);
	e->text = json_string_value(json_object_get(rec, "text"));
	return e->to < 0 ? FLOOR_E_BAD_ARG : FLOOR_OK;
}

int floor_msg_replay(floor_ctl *f, json_t *rec)
{
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	if (!kind)
		return 0;
	json_t *at = json_object_get(rec, "at");
	int64_t t = json_is_integer(at) ? (int64_t)json_integer_value(at) : rec_int(rec, "t");
	if (strcmp(kind, "join") == 0 || strcmp(kind, "leave") == 0 ||
	    strcmp(kind, "presence") == 0)
		return replay_roster(f, rec, kind, t);
	bool written = strcmp(kind, "written") == 0;
	if (!written && strcmp(kind, "floor") != 0)
		return 0;
	struct floor_event e;
	memset(&e, 0, sizeof e);
	e.at_ms = t;
	e.from = e.to = -1;
	json_t *who = json_object_get(rec, "who");
	if (who && !who_of(who, &e.pid, &e.who))
		return FLOOR_E_BAD_ARG;
	const char *topic = json_string_value(json_object_get(rec, "topic"));
	if (topic && !rs_utf8_valid(topic, strlen(topic)))
		return FLOOR_E_BAD_ARG;
	rs_strlcpy(e.topic, topic ? topic : "", sizeof e.topic);
	const char *event = json_string_value(json_object_get(rec, "event"));
	if (!event)
		return FLOOR_E_BAD_ARG;
	int rc = written ? written_record_event(rec, &e) : floor_record_event(rec, event, &e);
	if (rc == FLOOR_OK)
		rc = floor_apply(f, &e);
	return rc == FLOOR_OK ? 1 : rc;
}

/* ---- room policy -------------------------------------------------------- */

/* Reads one integer key of the floor policy within [min, max]; -1 on a bad value. */
static int pol_int(json_t *o, const char *key, int64_t min, int64_t max, int64_t *out, char *err,
		   size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, errlen, "policy.floor.%s must be an integer from %lld to %lld", key,
			 (long long)min, (long long)max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* Reads a key holding one of a few names. */
static int pol_name(json_t *o, const char *key, bool (*parse)(const char *, int *), int *out,
		    char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v) || !parse(json_string_value(v), out)) {
		snprintf(err, errlen, "policy.floor.%s has an unknown value", key);
		return -1;
	}
	return 0;
}

static bool parse_order(const char *s, int *out)
{
	enum floor_order o;
	bool ok = floor_order_parse(s, &o);
	*out = (int)o;
	return ok;
}

static bool parse_expiry(const char *s, int *out)
{
	enum floor_expiry e;
	bool ok = floor_expiry_parse(s, &e);
	*out = (int)e;
	return ok;
}

/* The keys of policy.floor; anything else is a typo worth stopping for. */
static int pol_keys(json_t *o, char *err, size_t errlen)
{
	static const char *const keys[] = { "order", "max_holders", "limit_s", "warn_s",
					    "on_expiry", "moderated_queue", "max_requests" };
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		size_t i = 0;
		while (i < RS_ARRAY_LEN(keys) && strcmp(keys[i], key) != 0)
			i++;
		if (i == RS_ARRAY_LEN(keys)) {
			snprintf(err, errlen, "policy.floor.%s is not a floor policy key", key);
			return -1;
		}
	}
	json_t *mq = json_object_get(o, "moderated_queue");
	if (mq && !json_is_boolean(mq)) {
		snprintf(err, errlen, "policy.floor.moderated_queue must be true or false");
		return -1;
	}
	return 0;
}

int floor_msg_policy(json_t *room_policy, struct floor_policy *out, char *err, size_t errlen)
{
	floor_policy_default(out);
	json_t *o = room_policy ? json_object_get(room_policy, "floor") : NULL;
	if (!o)
		return 0;
	if (!json_is_object(o)) {
		snprintf(err, errlen, "policy.floor must be an object");
		return -1;
	}
	int64_t holders = out->max_holders, limit = 0, warn = out->warn_ms / 1000;
	int64_t max_req = out->max_requests;
	int order = (int)out->order, expiry = (int)out->on_expiry;
	if (pol_keys(o, err, errlen) ||
	    pol_name(o, "order", parse_order, &order, err, errlen) ||
	    pol_name(o, "on_expiry", parse_expiry, &expiry, err, errlen) ||
	    pol_int(o, "max_holders", 1, 16, &holders, err, errlen) ||
	    pol_int(o, "limit_s", 0, LIMIT_S_MAX, &limit, err, errlen) ||
	    pol_int(o, "warn_s", 0, LIMIT_S_MAX, &warn, err, errlen) ||
	    pol_int(o, "max_requests", 1, FLOOR_MAX_REQUESTS, &max_req, err, errlen))
		return -1;
	out->order = (enum floor_order)order;
	out->on_expiry = (enum floor_expiry)expiry;
	out->max_holders = (int)holders;
	out->limit_ms = limit * 1000;
	out->warn_ms = warn * 1000;
	out->max_requests = (int)max_req;
	out->moderated_queue = json_is_true(json_object_get(o, "moderated_queue"));
	assert(floor_policy_valid(out));
	return 0;
}
