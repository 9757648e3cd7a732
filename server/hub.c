/*
 * hub: rooms, connections, the router and the timers. It names no feature:
 * requests go to the feature whose prefix owns the type, and every room and
 * member event walks hub_features[] (hub_internal.h says how one plugs in).
 */
#include "hub_internal.h"
#include "metrics.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTOCOL_VERSION 1
#define ID_MAX 64
/* A client with this many refused messages within FLOOD_WINDOW_MS is cut off. */
#define FLOOD_CLOSE_AFTER 200
#define FLOOD_WINDOW_MS 10000
#define ROSTER_TICK_MS 150    /* roster changes wait at most this long to share one delta */
#define PAGE_MAX 500          /* members per roster.page */

/* Walks the hub's features in table order (or reverse), f naming each. */
#define FOR_FEATURES(f) \
	for (size_t f##_i = 0; f##_i < h->n_features; f##_i++) \
		for (const struct hub_feature *f = h->features[f##_i]; f; f = NULL)
#define FOR_FEATURES_REVERSE(f) \
	for (size_t f##_i = h->n_features; f##_i-- > 0;) \
		for (const struct hub_feature *f = h->features[f##_i]; f; f = NULL)

typedef int (*route_fn)(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep);

struct route {
	const char *type;
	bool needs_room;
	route_fn fn;
};

int hub_fail(struct reply *rep, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rep->message, sizeof rep->message, fmt, ap);
	va_end(ap);
	rep->code = code;
	return -1;
}

#define fail hub_fail

static int bad_field(struct reply *rep, const char *field, const char *why)
{
	rep->field = field;
	return fail(rep, "bad_field", "field '%s' %s", field, why);
}

/* ---- sending ---------------------------------------------------------------- */

void hub_send(hub *h, hub_conn *c, rs_msg *m)
{
	if (c->closing)
		return;
	metrics_add("rostrum_messages_out_total", 1);
	if (h->io.send(h->io.ctx, c->transport, m) != 0) {
		c->closing = true;
		metrics_add("rostrum_slow_consumers_total", 1);
		h->io.close(h->io.ctx, c->transport, HUB_CLOSE_SLOW, "send queue overflow");
	}
}

void hub_send_json(hub *h, hub_conn *c, json_t *o)
{
	rs_msg *m = rs_msg_take_json(o);
	hub_send(h, c, m);
	rs_msg_unref(m);
}

void hub_send_reply(hub *h, hub_conn *c, json_t *id, const struct reply *rep)
{
	json_t *o = json_object();
	if (rep->code) {
		json_object_set_new(o, "type", json_string("error"));
		json_object_set(o, "re", id ? id : json_null());
		json_object_set_new(o, "code", json_string(rep->code));
		json_object_set_new(o, "message", json_string(rep->message));
		if (rep->field)
			json_object_set_new(o, "field", json_string(rep->field));
		metrics_error(rep->code);
	} else {
		json_object_set_new(o, "type", json_string("result"));
		json_object_set(o, "re", id);
		json_object_set_new(o, "data", rep->data ? rep->data : json_object());
	}
	hub_send_json(h, c, o);
}

void hub_conn_error(hub *h, hub_conn *c, const char *code, const char *message)
{
	struct reply rep = { .code = code };
	rs_strlcpy(rep.message, message, sizeof rep.message);
	hub_send_reply(h, c, NULL, &rep);
}

/* ---- rooms ------------------------------------------------------------------ */

/* The room's listener calls come with its hroom as ctx: no lookup by id per record or member. */
static void room_send_cb(void *ctx, void *conn, rs_msg *m)
{
	struct hroom *hr = ctx;
	hub_send(hr->hub, conn, m);
}

int hub_record(hub *h, struct hroom *hr, json_t *rec, recorder_ack_fn fn, void *ctx)
{
	return recorder_append(h->rec, room_id(hr->room), room_title(hr->room), rec, fn, ctx);
}

static void room_record_cb(void *ctx, room *r, json_t *rec)
{
	struct hroom *hr = ctx;
	hub *h = hr->hub;
	if (hub_resume_quiet(h))
		return; /* members restored after a restart are in the journal already */
	if (hub_record(h, hr, rec, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: a %s record was not journaled", room_id(r),
		       json_string_value(json_object_get(rec, "kind")));
}

static bool room_pinned_cb(void *ctx, room *r, uint32_t pid)
{
	(void)r;
	struct hroom *hr = ctx;
	hub *h = hr->hub;
	bool pinned = false;
	FOR_FEATURES(f)
		pinned = pinned || (f->pinned && f->pinned(h, hr, pid));
	return pinned;
}

static size_t room_pinned_list_cb(void *ctx, room *r, uint32_t *pids, size_t max)
{
	(void)r;
	struct hroom *hr = ctx;
	hub *h = hr->hub;
	size_t n = 0;
	FOR_FEATURES(f)
		if (f->pinned_list && n < max)
			n += f->pinned_list(h, hr, pids + n, max - n);
	return n;
}

/* The index slot holding the room named id, or the empty slot where it would go. */
static size_t room_slot(const hub *h, const char *id)
{
	uint32_t x = 2166136261u; /* FNV-1a */
	for (const char *p = id; *p; p++)
		x = (x ^ (uint8_t)*p) * 16777619u;
	size_t mask = ((size_t)1 << h->id_bits) - 1;
	for (size_t i = x & mask;; i = (i + 1) & mask) {
		((hub *)h)->room_probes++; /* a count only: every hub is allocated writable */
		if (!h->by_id[i] || strcmp(room_id(h->by_id[i]->room), id) == 0)
			return i;
	}
}

/* Adds a new room to the index by id (rooms live until the hub goes: no removal). */
static void index_room(hub *h, struct hroom *hr)
{
	if (2 * h->n_rooms > ((size_t)1 << h->id_bits)) {
		free(h->by_id);
		h->id_bits = h->id_bits ? h->id_bits + 1 : 4;
		h->by_id = rs_calloc((size_t)1 << h->id_bits, sizeof *h->by_id);
		for (size_t i = 0; i < h->n_rooms; i++)
			h->by_id[room_slot(h, room_id(h->rooms[i]->room))] = h->rooms[i];
		return; /* hr is among them */
	}
	h->by_id[room_slot(h, room_id(hr->room))] = hr;
}

static struct hroom *add_room(hub *h, const char *id, const char *title, bool open, json_t *policy)
{
	struct room_listener l = { .send = room_send_cb, .record = room_record_cb,
				   .pinned = room_pinned_cb, .pinned_list = room_pinned_list_cb };
	const struct config_limits *cl = &h->cfg->limits;
	struct room_limits lim = { .max_members = cl->max_room_members,
				   .roster_full = cl->roster_full, .tick_ms = ROSTER_TICK_MS };
	struct hroom *hr = rs_calloc(1, sizeof *hr);
	hr->hub = h;
	l.ctx = hr;
	hr->room = room_create(id, title, open, policy, &lim, &l);
	deadline_node_init(&hr->timer, hr);
	FOR_FEATURES(f)
		if (f->room_created)
			f->room_created(h, hr, policy);
	h->rooms = rs_realloc(h->rooms, (h->n_rooms + 1) * sizeof *h->rooms);
	h->rooms[h->n_rooms++] = hr;
	index_room(h, hr);
	return hr;
}

static void free_room(hub *h, struct hroom *hr)
{
	FOR_FEATURES_REVERSE(f)
		if (f->room_destroyed)
			f->room_destroyed(h, hr);
	deadline_set(h->timers, &hr->timer, DEADLINE_NEVER);
	room_destroy(hr->room);
	free(hr);
}

struct hroom *hub_hroom(const hub *h, const char *id)
{
	return h->n_rooms ? h->by_id[room_slot(h, id)] : NULL;
}

struct hroom *hub_hroom_ensure(hub *h, const char *id)
{
	struct hroom *hr = hub_hroom(h, id);
	if (!hr && h->n_rooms < (size_t)h->cfg->limits.max_rooms)
		hr = add_room(h, id, id, false, NULL);
	if (hr) /* the caller is about to change it (a caption push): recheck its timers */
		hub_room_dirty(h, hr);
	return hr;
}

room *hub_room(const hub *h, const char *id)
{
	struct hroom *hr = hub_hroom(h, id);
	return hr ? hr->room : NULL;
}

hub *hub_create(const struct rs_config *cfg, const uint8_t *secret, const struct hub_io *io,
		recorder *rec)
{
	hub *h = rs_calloc(1, sizeof *h);
	h->cfg = cfg;
	h->secret = secret;
	h->io = *io;
	h->rec = rec;
	h->next_pid = 1;
	h->timers = deadline_heap_create();
	for (size_t i = 0; i < hub_n_features; i++)
		h->features[h->n_features++] = hub_features[i];
	FOR_FEATURES(f)
		if (f->init)
			f->init(h);
	for (size_t i = 0; i < cfg->n_rooms; i++) {
		const struct config_room *cr = &cfg->rooms[i];
		add_room(h, cr->id, cr->title, cr->open, cr->policy);
	}
	return h;
}

void hub_destroy(hub *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_rooms; i++) {
		hub_caption_close(h, h->rooms[i], rs_wall_ms());
		free_room(h, h->rooms[i]);
	}
	free(h->rooms);
	free(h->by_id);
	FOR_FEATURES_REVERSE(f)
		if (f->fini)
			f->fini(h);
	deadline_heap_destroy(h->timers);
	free(h->dirty);
	free(h);
}

const uint8_t *hub_secret(const hub *h)
{
	return h->secret;
}

recorder *hub_recorder(const hub *h)
{
	return h->rec;
}

/* ---- connections ------------------------------------------------------------ */

hub_conn *hub_conn_open(hub *h, void *transport, int64_t now)
{
	hub_conn tmp = { .transport = transport };
	if (h->n_conns >= (size_t)h->cfg->limits.max_connections) {
		hub_conn_error(h, &tmp, "server_full", "the server has no room for another connection");
		return NULL;
	}
	hub_conn *c = rs_calloc(1, sizeof *c);
	c->transport = transport;
	c->tokens = h->cfg->limits.rate_burst;
	c->refilled_ms = now;
	h->n_conns++;
	metrics_add("rostrum_connections_accepted_total", 1);
	return c;
}

static void drop_pending(hub *h, hub_conn *c)
{
	recorder_cancel(h->rec, c);
	while (c->pending_len) {
		json_decref(c->pending[c->pending_head]);
		c->pending_head = (c->pending_head + 1) % HUB_PENDING_MAX;
		c->pending_len--;
	}
}

/* c leaves its room: the features drop their part, the roster its member. */
static void leave_room(hub *h, hub_conn *c, int64_t now)
{
	if (!c->hr)
		return;
	struct hroom *hr = c->hr;
	struct room_member *m = c->member;
	drop_pending(h, c);
	FOR_FEATURES_REVERSE(f)
		if (f->leaving)
			f->leaving(h, c, now);
	uint32_t pid = m->pid;
	room_leave(hr->room, m, now);
	c->hr = NULL;
	c->member = NULL;
	FOR_FEATURES(f)
		if (f->left)
			f->left(h, hr, pid, now);
	if (room_count(hr->room) == 0)
		FOR_FEATURES(f)
			if (f->room_empty)
				f->room_empty(h, hr, now);
	hub_room_dirty(h, hr);
}

/*
 * The connection is gone. A feature may keep its member in the room as
 * "reconnecting" (resumption): then the member outlives c, with no
 * connection, until the feature resumes or expires it.
 */
static bool keep_member(hub *h, hub_conn *c, int64_t now)
{
	if (!c->hr)
		return false;
	bool keep = false;
	FOR_FEATURES(f)
		if (f->keep && f->keep(h, c, now) == HUB_KEEP_RECONNECTING)
			keep = true;
	if (!keep)
		return false;
	hub_member_detach(h, c, now);
	return true;
}

void hub_member_detach(hub *h, hub_conn *c, int64_t now)
{
	struct hroom *hr = c->hr;
	struct room_member *m = c->member;
	drop_pending(h, c);
	FOR_FEATURES_REVERSE(f)
		if (f->detached)
			f->detached(h, hr, m, c, now);
	room_detach(hr->room, m, now);
	c->hr = NULL;
	c->member = NULL;
	hub_room_dirty(h, hr);
}

void hub_conn_closed(hub *h, hub_conn *c, int64_t now)
{
	if (!c)
		return;
	if (!keep_member(h, c, now))
		leave_room(h, c, now);
	drop_pending(h, c);
	assert(h->n_conns > 0);
	h->n_conns--;
	free(c);
}

void hub_member_expire(hub *h, struct hroom *hr, struct room_member *m, int64_t now)
{
	assert(!m->conn);
	/* A stand-in connection carries the member through the usual leaving hooks. */
	hub_conn tmp = { .hr = hr, .member = m };
	leave_room(h, &tmp, now);
}

void hub_member_resume(hub *h, hub_conn *c, struct hroom *hr, struct room_member *m, int64_t now)
{
	assert(!c->hr && !m->conn);
	c->hr = hr;
	c->member = m;
	room_attach(hr->room, m, c, now);
	FOR_FEATURES(f)
		if (f->resumed)
			f->resumed(h, c, now);
	hub_room_dirty(h, hr);
}

void hub_member_touch(hub *h, struct hroom *hr, uint32_t pid, int64_t now)
{
	struct room_member *m = room_find(hr->room, pid);
	if (m)
		room_touch(hr->room, m, now);
	hub_room_dirty(h, hr);
}

size_t hub_conn_count(const hub *h)
{
	return h->n_conns;
}

/* Token bucket: rate_per_sec sustained, rate_burst at once. */
static bool rate_ok(hub *h, hub_conn *c, int64_t now)
{
	const struct config_limits *l = &h->cfg->limits;
	double dt = (double)(now - c->refilled_ms) / 1000.0;
	c->refilled_ms = now;
	c->tokens += dt * l->rate_per_sec;
	if (c->tokens > l->rate_burst)
		c->tokens = l->rate_burst;
	if (c->tokens < 1.0)
		return false;
	c->tokens -= 1.0;
	return true;
}

/* ---- requests answered once durable ----------------------------------------- */

/* recorder_ack_fn: the oldest deferred request of this connection is durable. */
static void pending_done(void *ctx, int status)
{
	hub_conn *c = ctx;
	if (!c->pending_len || !c->hr)
		return;
	json_t *id = c->pending[c->pending_head];
	c->pending_head = (c->pending_head + 1) % HUB_PENDING_MAX;
	c->pending_len--;
	struct reply rep = { 0 };
	if (status != RECORDER_OK)
		fail(&rep, "storage_unavailable", "%s", recorder_strerror(status));
	hub_send_reply(c->hr->hub, c, id, &rep);
	json_decref(id);
}

void hub_pending_push(hub_conn *c, json_t *id)
{
	assert(c->pending_len < HUB_PENDING_MAX);
	c->pending[(c->pending_head + c->pending_len++) % HUB_PENDING_MAX] = json_incref(id);
}

void hub_pending_unpush(hub_conn *c)
{
	assert(c->pending_len > 0);
	c->pending_len--;
	json_decref(c->pending[(c->pending_head + c->pending_len) % HUB_PENDING_MAX]);
}

bool hub_pending_full(const hub_conn *c)
{
	return c->pending_len == HUB_PENDING_MAX;
}

recorder_ack_fn hub_pending_fn(void)
{
	return pending_done;
}

/* ---- handlers --------------------------------------------------------------- */

static int h_hello(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	(void)c;
	(void)now;
	json_t *v = json_object_get(req, "protocol");
	if (v && !json_is_integer(v))
		return bad_field(rep, "protocol", "must be an integer");
	if (v && json_integer_value(v) != PROTOCOL_VERSION)
		return fail(rep, "version_unsupported", "this server speaks protocol %d",
			    PROTOCOL_VERSION);
	rep->data = json_pack("{s:s, s:s, s:i, s:{s:i, s:i, s:i}}", "server", "rostrum", "version",
			      RS_VERSION, "protocol", PROTOCOL_VERSION, "limits", "max_message_bytes",
			      h->cfg->limits.max_message_bytes, "rate_per_sec",
			      h->cfg->limits.rate_per_sec, "rate_burst", h->cfg->limits.rate_burst);
	return 0;
}

static int h_ping(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	(void)h;
	(void)c;
	(void)req;
	rep->data = json_pack("{s:I}", "t", (json_int_t)now);
	return 0;
}

/* Resolves who is joining from the token, or from the open room's defaults. */
static int join_identity(hub *h, json_t *req, const char *room_name, int64_t now,
			 struct token_claims *who, struct reply *rep)
{
	json_t *tok = json_object_get(req, "token");
	if (tok && !json_is_string(tok))
		return bad_field(rep, "token", "must be a string");
	if (tok) {
		int rc = token_verify(h->secret, json_string_value(tok), now / 1000, who);
		if (rc == TOKEN_EXPIRED)
			return fail(rep, "token_expired", "%s", token_strerror(rc));
		if (rc == TOKEN_REVOKED)
			return fail(rep, "token_revoked", "%s", token_strerror(rc));
		if (rc != TOKEN_OK)
			return fail(rep, "bad_token", "%s", token_strerror(rc));
		if (strcmp(who->room, room_name) != 0)
			return fail(rep, "wrong_room", "the token is for room '%s'", who->room);
		return 0;
	}
	memset(who, 0, sizeof *who);
	who->role = RS_ROLE_PARTICIPANT;
	who->attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	const char *name = json_string_value(json_object_get(req, "name"));
	if (!name || !attrs_set_name(&who->attrs, name))
		return bad_field(rep, "name", "must be 1-64 bytes of UTF-8");
	return 0;
}

/* Finds the room to join, creating it when a valid token names a new one. */
static struct hroom *join_room(hub *h, const char *name, bool has_token, struct reply *rep)
{
	struct hroom *hr = hub_hroom(h, name);
	if (hr) {
		if (!has_token && !room_is_open(hr->room)) {
			fail(rep, "room_closed", "room '%s' needs a join token", name);
			return NULL;
		}
		return hr;
	}
	if (!has_token) {
		fail(rep, "no_such_room", "there is no room '%s'", name);
		return NULL;
	}
	if (h->n_rooms >= (size_t)h->cfg->limits.max_rooms) {
		fail(rep, "too_many_rooms", "the server holds its maximum of rooms");
		return NULL;
	}
	return add_room(h, name, name, false, NULL);
}

/* After the join result went out: what features send a joiner next (the caption backlog). */
static void after_join(hub *h, hub_conn *c, int64_t now)
{
	FOR_FEATURES(f)
		if (f->after_join && c->hr)
			f->after_join(h, c, now);
}

static int h_join(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	if (c->hr)
		return fail(rep, "already_joined", "leave room '%s' first", room_id(c->hr->room));
	if (json_object_get(req, "resume")) /* the same member again (hub_resume.c) */
		return hub_resume_join(h, c, req, now, rep);
	const char *name = json_string_value(json_object_get(req, "room"));
	if (!name || !token_room_id_valid(name))
		return bad_field(rep, "room", "must be a room id");
	struct token_claims who;
	if (join_identity(h, req, name, now, &who, rep))
		return -1;
	json_t *attrs = json_object_get(req, "attrs");
	const char *bad = attrs ? attrs_from_json(&who.attrs, attrs) : NULL;
	if (bad)
		return bad_field(rep, bad, "is not a valid attribute");
	struct hroom *hr = join_room(h, name, json_object_get(req, "token") != NULL, rep);
	if (!hr)
		return -1;
	if (room_join(hr->room, now, h->next_pid, who.role, &who.attrs, c, &c->member) != ROOM_OK)
		return fail(rep, "room_full", "room '%s' is full", name);
	h->next_pid++;
	c->hr = hr;
	rs_strlcpy(c->token_id, json_object_get(req, "token") ? who.jti : "", sizeof c->token_id);
	rep->data = room_snapshot(hr->room);
	json_object_set_new(rep->data, "you", room_member_json(c->member));
	FOR_FEATURES(f)
		if (f->joined)
			f->joined(h, c, now, rep->data);
	rep->after = after_join;
	return 0;
}

static int h_leave(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	(void)req;
	(void)rep;
	leave_room(h, c, now);
	return 0;
}

static int h_presence(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	struct rs_attrs a = c->member->attrs;
	const char *bad = attrs_from_json(&a, json_object_get(req, "attrs"));
	if (bad)
		return bad_field(rep, bad, "is not a valid attribute");
	room_set_attrs(c->hr->room, c->member, &a, now);
	FOR_FEATURES(f)
		if (f->updated)
			f->updated(h, c, now);
	return 0;
}

/* A page of a room's roster, in join order: how a large room's full list is read. */
static int h_roster_page(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	(void)h;
	(void)now;
	json_t *off = json_object_get(req, "offset"), *lim = json_object_get(req, "limit");
	if (off && (!json_is_integer(off) || json_integer_value(off) < 0))
		return bad_field(rep, "offset", "must be an integer >= 0");
	if (lim && (!json_is_integer(lim) || json_integer_value(lim) < 1 ||
		    json_integer_value(lim) > PAGE_MAX))
		return bad_field(rep, "limit", "must be an integer from 1 to 500");
	rep->data = room_page(c->hr->room, off ? (size_t)json_integer_value(off) : 0,
			      lim ? (size_t)json_integer_value(lim) : 100);
	return 0;
}

static const struct route routes[] = {
	{ "hello", false, h_hello },
	{ "ping", false, h_ping },
	{ "join", false, h_join },
	{ "leave", true, h_leave },
	{ "presence", true, h_presence },
	{ "roster.page", true, h_roster_page },
};

/* ---- the router ------------------------------------------------------------- */

/* Checks the envelope; on success *type and *id point into msg. */
static int envelope(json_t *msg, const char **type, json_t **id, struct reply *rep)
{
	json_t *t = json_object_get(msg, "type");
	json_t *i = json_object_get(msg, "id");
	bool id_ok = i && ((json_is_string(i) && json_string_length(i) <= ID_MAX) ||
			   json_is_integer(i));
	*id = id_ok ? i : NULL;
	if (!json_is_string(t))
		return fail(rep, "bad_message", "every message needs a string 'type'");
	if (!id_ok)
		return fail(rep, "bad_message", "every request needs an 'id' (integer or short string)");
	*type = json_string_value(t);
	return 0;
}

static const struct route *find_route(const char *type)
{
	for (size_t i = 0; i < RS_ARRAY_LEN(routes); i++)
		if (strcmp(routes[i].type, type) == 0)
			return &routes[i];
	return NULL;
}

/* The feature that answers requests of this type, or NULL. */
static const struct hub_feature *feature_for(const hub *h, const char *type)
{
	FOR_FEATURES(f) {
		if (!f->request)
			continue;
		if ((f->prefix && strncmp(type, f->prefix, strlen(f->prefix)) == 0) ||
		    (f->owns && f->owns(type)))
			return f;
	}
	return NULL;
}

/* Sends a request to the hub's own table or to the feature that owns its type. */
static int route_request(hub *h, hub_conn *c, json_t *msg, const char *type, int64_t now,
			 struct reply *rep)
{
	const struct route *rt = find_route(type);
	const struct hub_feature *f = rt ? NULL : feature_for(h, type);
	if (!rt && !f)
		return fail(rep, "unknown_type", "unknown message type '%.64s'", type);
	if ((!rt || rt->needs_room) && !c->hr)
		return fail(rep, "not_joined", "join a room first");
	if (f)
		return f->request(h, c, msg, type, now, rep);
	return rt->fn(h, c, msg, now, rep);
}

/* The refusal of a message over the rate limit; a sustained flood closes the connection. */
static void refuse_flood(hub *h, hub_conn *c, json_t *id, int64_t now)
{
	struct reply rep = { 0 };
	if (now - c->refused_since > FLOOD_WINDOW_MS) {
		c->refused_since = now;
		c->refused = 0;
	}
	if (++c->refused >= FLOOD_CLOSE_AFTER && !c->closing) {
		c->closing = true;
		h->io.close(h->io.ctx, c->transport, HUB_CLOSE_POLICY, "message flood");
	}
	fail(&rep, "rate_limited", "slow down: at most %d messages a second",
	     h->cfg->limits.rate_per_sec);
	hub_send_reply(h, c, id, &rep);
}

void hub_conn_input(hub *h, hub_conn *c, const char *text, size_t len, int64_t now)
{
	metrics_add("rostrum_messages_in_total", 1);
	struct reply rep = { 0 };
	json_error_t je;
	json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	const char *type = NULL;
	json_t *id = NULL;
	int env = json_is_object(msg) ? envelope(msg, &type, &id, &rep) : -1;
	if (!rate_ok(h, c, now)) {
		refuse_flood(h, c, id, now); /* the id, when readable, lets the client match it */
		json_decref(msg);
		return;
	}
	if (!json_is_object(msg))
		fail(&rep, "bad_json", "not a JSON object: %s", msg ? "wrong type" : je.text);
	else if (env == 0)
		route_request(h, c, msg, type, now, &rep);
	if (!rep.deferred)
		hub_send_reply(h, c, id, &rep);
	if (rep.after && !rep.code)
		rep.after(h, c, now);
	if (c->hr) /* a request may have moved the room's timers (a leave marked its own) */
		hub_room_dirty(h, c->hr);
	json_decref(msg);
}

void hub_conn_binary(hub *h, hub_conn *c, int64_t now)
{
	if (!rate_ok(h, c, now)) {
		refuse_flood(h, c, NULL, now);
		return;
	}
	hub_conn_error(h, c, "bad_message", "signaling messages are JSON text, not binary frames");
}

const char *hub_conn_token_id(const hub_conn *c)
{
	return c && c->hr && c->token_id[0] ? c->token_id : NULL;
}

/* ---- timers ----------------------------------------------------------------- */

int hub_add_feature(hub *h, const struct hub_feature *f)
{
	if (h->n_features == HUB_FEATURE_MAX)
		return -1;
	h->features[h->n_features] = f;
	if (f->init)
		f->init(h);
	for (size_t i = 0; i < h->n_rooms; i++)
		if (f->room_created)
			f->room_created(h, h->rooms[i], room_policy(h->rooms[i]->room));
	return (int)h->n_features++;
}

void hub_room_dirty(hub *h, struct hroom *hr)
{
	if (hr->dirty)
		return;
	hr->dirty = true;
	if (h->n_dirty == h->cap_dirty) {
		h->cap_dirty = h->cap_dirty ? h->cap_dirty * 2 : 16;
		h->dirty = rs_realloc(h->dirty, h->cap_dirty * sizeof *h->dirty);
	}
	h->dirty[h->n_dirty++] = hr;
}

/* The earliest of the room's own (roster delta) and its features' deadlines. */
static int64_t room_due(const struct hroom *hr)
{
	const hub *h = hr->hub;
	int64_t due = room_deadline(hr->room);
	FOR_FEATURES(f) {
		int64_t d = f->room_deadline ? f->room_deadline(hr) : INT64_MAX;
		if (d < due)
			due = d;
	}
	return due;
}

int64_t hub_next_deadline(hub *h)
{
	for (size_t i = 0; i < h->n_dirty; i++) {
		struct hroom *hr = h->dirty[i];
		hr->dirty = false;
		deadline_set(h->timers, &hr->timer, room_due(hr));
	}
	h->n_dirty = 0;
	int64_t due = deadline_next(h->timers);
	FOR_FEATURES(f) {
		int64_t d = f->deadline ? f->deadline(h) : INT64_MAX;
		if (d < due)
			due = d;
	}
	return due;
}

static void tick_room(hub *h, struct hroom *hr, int64_t now)
{
	FOR_FEATURES(f)
		if (f->room_tick && f->room_deadline && f->room_deadline(hr) <= now)
			f->room_tick(h, hr, now);
	room_tick(hr->room, now); /* last: the delta carries what the features changed */
}

void hub_tick(hub *h, int64_t now)
{
	FOR_FEATURES(f)
		if (f->tick && f->deadline && f->deadline(h) <= now)
			f->tick(h, now);
	/* Each room due is ticked once and recomputed; the rest of the heap is not looked at. */
	struct deadline_node *top;
	while ((top = deadline_pop_due(h->timers, now))) {
		struct hroom *hr = top->owner;
		tick_room(h, hr, now);
		hub_room_dirty(h, hr);
	}
}

/* ---- health ----------------------------------------------------------------- */

static size_t member_total(const hub *h)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n_rooms; i++)
		n += room_count(h->rooms[i]->room);
	return n;
}

json_t *hub_health(const hub *h, int64_t now)
{
	(void)now;
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "status", "ok", "version", RS_VERSION,
			      "rooms", (json_int_t)h->n_rooms, "connections",
			      (json_int_t)h->n_conns, "participants", (json_int_t)member_total(h));
	recorder_health(h->rec, o);
	FOR_FEATURES(f)
		if (f->health)
			f->health(h, o);
	return o;
}

void hub_update_gauges(const hub *h)
{
	metrics_set("rostrum_connections", (double)h->n_conns);
	metrics_set("rostrum_rooms", (double)h->n_rooms);
	metrics_set("rostrum_participants", (double)member_total(h));
	FOR_FEATURES(f)
		if (f->gauges)
			f->gauges(h);
	json_t *tmp = json_object();
	recorder_health(h->rec, tmp);
	json_decref(tmp);
}
