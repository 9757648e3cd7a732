#include "room.h"
#include "presence.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct room {
	/* owned */
	char *id, *title;
	json_t *policy;
	struct room_member **members; /* join order */
	size_t n_members, cap_members;
	struct room_member **by_pid;  /* open addressing on pid, a power of two > 2 n_members */
	size_t n_slots;
	presence *pres;               /* roster changes waiting for the next delta */
	size_t roles[RS_ROLE_COUNT];  /* members per role */
	struct room_member **staff;   /* members whose role is not participant, join order */
	size_t n_staff, cap_staff;
	/* passed in */
	bool open;
	struct room_limits lim;
	struct room_listener l;
};

/* ---- the pid index ------------------------------------------------------------ */

static size_t pid_home(const room *r, uint32_t pid)
{
	return (pid * 2654435761u) & (r->n_slots - 1);
}

static void index_put(room *r, struct room_member *m)
{
	size_t i = pid_home(r, m->pid);
	while (r->by_pid[i])
		i = (i + 1) & (r->n_slots - 1);
	r->by_pid[i] = m;
}

static void index_grow(room *r)
{
	free(r->by_pid);
	r->n_slots = r->n_slots ? r->n_slots * 2 : 32;
	r->by_pid = rs_calloc(r->n_slots, sizeof *r->by_pid);
	for (size_t i = 0; i < r->n_members; i++)
		index_put(r, r->members[i]);
}

/* Linear probing deletion: shift later entries of the run back (Knuth 6.4, algorithm R). */
static void index_del(room *r, const struct room_member *m)
{
	size_t mask = r->n_slots - 1, i = pid_home(r, m->pid);
	while (r->by_pid[i] != m)
		i = (i + 1) & mask;
	r->by_pid[i] = NULL;
	for (size_t j = (i + 1) & mask; r->by_pid[j]; j = (j + 1) & mask) {
		size_t k = pid_home(r, r->by_pid[j]->pid);
		bool movable = i <= j ? (k <= i || k > j) : (k <= i && k > j);
		if (movable) {
			r->by_pid[i] = r->by_pid[j];
			r->by_pid[j] = NULL;
			i = j;
		}
	}
}

room *room_create(const char *id, const char *title, bool open, json_t *policy,
		  const struct room_limits *lim, const struct room_listener *l)
{
	room *r = rs_calloc(1, sizeof *r);
	r->id = rs_strdup(id);
	r->title = rs_strdup(title);
	r->policy = policy ? json_incref(policy) : json_object();
	r->open = open;
	r->lim = *lim;
	r->l = *l;
	r->pres = presence_create(lim->tick_ms);
	index_grow(r);
	return r;
}

void room_destroy(room *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_members; i++)
		free(r->members[i]);
	free(r->members);
	free(r->by_pid);
	free(r->staff);
	presence_destroy(r->pres);
	json_decref(r->policy);
	free(r->id);
	free(r->title);
	free(r);
}

const char *room_id(const room *r) { return r->id; }
const char *room_title(const room *r) { return r->title; }
bool room_is_open(const room *r) { return r->open; }
json_t *room_policy(const room *r) { return r->policy; }
size_t room_count(const room *r) { return r->n_members; }

struct room_member *room_member_at(const room *r, size_t i)
{
	assert(i < r->n_members);
	return r->members[i];
}

struct room_member *room_find(const room *r, uint32_t pid)
{
	for (size_t i = pid_home(r, pid); r->by_pid[i]; i = (i + 1) & (r->n_slots - 1))
		if (r->by_pid[i]->pid == pid)
			return r->by_pid[i];
	return NULL;
}

json_t *room_member_json(const struct room_member *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "pid", json_integer(m->pid));
	json_object_set_new(o, "role", json_string(attrs_role_name(m->role)));
	attrs_to_json(&m->attrs, o);
	if (!m->conn)
		json_object_set_new(o, "state", json_string("reconnecting"));
	return o;
}

/* Whether a large room's roster names m: every role but participant, and the pinned. */
static bool listed(const room *r, const struct room_member *m)
{
	return m->role != RS_ROLE_PARTICIPANT ||
	       (r->l.pinned && r->l.pinned(r->l.ctx, (room *)r, m->pid));
}

bool room_partial(const room *r)
{
	return r->n_members > (size_t)r->lim.roster_full;
}

static void record_member(room *r, const char *kind, const struct room_member *m, int64_t wall_ms)
{
	json_t *rec = room_member_json(m);
	json_object_set_new(rec, "kind", json_string(kind));
	json_object_set_new(rec, "t", json_integer(wall_ms));
	room_record(r, rec);
	json_decref(rec);
}

int room_join(room *r, int64_t wall_ms, uint32_t pid, enum rs_role role,
	      const struct rs_attrs *attrs, void *conn, struct room_member **out)
{
	if (r->n_members >= (size_t)r->lim.max_members)
		return ROOM_FULL;
	if (r->n_members == r->cap_members) {
		r->cap_members = r->cap_members ? r->cap_members * 2 : 8;
		r->members = rs_realloc(r->members, r->cap_members * sizeof *r->members);
	}
	struct room_member *m = rs_calloc(1, sizeof *m);
	*m = (struct room_member){ .pid = pid, .role = role, .attrs = *attrs, .conn = conn,
				   .joined_ms = wall_ms };
	r->members[r->n_members++] = m;
	if (r->n_members * 2 > r->n_slots)
		index_grow(r);
	else
		index_put(r, m);
	r->roles[role]++;
	if (role != RS_ROLE_PARTICIPANT) {
		if (r->n_staff == r->cap_staff) {
			r->cap_staff = r->cap_staff ? r->cap_staff * 2 : 8;
			r->staff = rs_realloc(r->staff, r->cap_staff * sizeof *r->staff);
		}
		r->staff[r->n_staff++] = m;
	}
	/* A newcomer holds no floor request yet: its role alone says whether it is listed. */
	presence_joined(r->pres, wall_ms, pid, room_member_json(m), role != RS_ROLE_PARTICIPANT);
	record_member(r, "join", m, wall_ms);
	*out = m;
	return ROOM_OK;
}

void room_leave(room *r, struct room_member *m, int64_t wall_ms)
{
	size_t i = 0;
	while (i < r->n_members && r->members[i] != m)
		i++;
	assert(i < r->n_members);
	memmove(&r->members[i], &r->members[i + 1], (r->n_members - i - 1) * sizeof *r->members);
	r->n_members--;
	index_del(r, m);
	r->roles[m->role]--;
	for (size_t k = 0; k < r->n_staff; k++)
		if (r->staff[k] == m) {
			memmove(&r->staff[k], &r->staff[k + 1], (r->n_staff - k - 1) * sizeof *r->staff);
			r->n_staff--;
			break;
		}
	presence_left(r->pres, wall_ms, m->pid, listed(r, m));
	record_member(r, "leave", m, wall_ms);
	free(m);
}

void room_set_attrs(room *r, struct room_member *m, const struct rs_attrs *a, int64_t now)
{
	char name[sizeof m->attrs.name];
	memcpy(name, m->attrs.name, sizeof name);
	m->attrs = *a;
	memcpy(m->attrs.name, name, sizeof name);
	room_touch(r, m, now);
}

void room_touch(room *r, struct room_member *m, int64_t now)
{
	presence_updated(r->pres, now, m->pid, room_member_json(m), listed(r, m));
}

void room_detach(room *r, struct room_member *m, int64_t now)
{
	m->conn = NULL;
	room_touch(r, m, now);
}

void room_attach(room *r, struct room_member *m, void *conn, int64_t now)
{
	m->conn = conn;
	room_touch(r, m, now);
}

bool room_member_reconnecting(const struct room_member *m)
{
	return !m->conn;
}

int64_t room_deadline(const room *r)
{
	return presence_deadline(r->pres);
}

void room_tick(room *r, int64_t now)
{
	if (presence_deadline(r->pres) > now)
		return;
	json_t *delta = presence_flush(r->pres, r->n_members, room_partial(r));
	if (!delta)
		return;
	rs_msg *m = rs_msg_take_json(delta);
	room_broadcast(r, m, ROOM_TO_ALL, NULL);
	rs_msg_unref(m);
}

void room_broadcast(room *r, rs_msg *msg, unsigned mask, const struct room_member *except)
{
	for (size_t i = 0; i < r->n_members; i++) {
		struct room_member *m = r->members[i];
		if (m != except && m->conn && (mask & ROOM_TO(m->role)))
			r->l.send(r->l.ctx, m->conn, msg);
	}
}

void room_send(room *r, struct room_member *to, rs_msg *m)
{
	if (to->conn)
		r->l.send(r->l.ctx, to->conn, m);
}

void room_record(room *r, json_t *rec)
{
	if (r->l.record)
		r->l.record(r->l.ctx, r, rec);
}

#define PINNED_MAX 256 /* pinned participants a large room's snapshot names */

/* A large room's roster: the staff in join order, then the pinned participants. */
static json_t *listed_roster(const room *r)
{
	json_t *roster = json_array();
	for (size_t i = 0; i < r->n_staff; i++)
		json_array_append_new(roster, room_member_json(r->staff[i]));
	uint32_t pids[PINNED_MAX];
	size_t n = r->l.pinned_list ? r->l.pinned_list(r->l.ctx, (room *)r, pids, PINNED_MAX) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct room_member *m = room_find(r, pids[i]);
		if (m && m->role == RS_ROLE_PARTICIPANT)
			json_array_append_new(roster, room_member_json(m));
	}
	return roster;
}

/*
 * O(listed) in a large room, O(members) up to roster_full: a join storm of N
 * costs O(N) snapshot work in all, not O(N²).
 */
json_t *room_snapshot(const room *r)
{
	bool partial = room_partial(r);
	json_t *roster;
	if (partial) {
		roster = listed_roster(r);
	} else {
		roster = json_array();
		for (size_t i = 0; i < r->n_members; i++)
			json_array_append_new(roster, room_member_json(r->members[i]));
	}
	json_t *counts = json_object();
	for (int i = 0; i < RS_ROLE_COUNT; i++)
		json_object_set_new(counts, attrs_role_name((enum rs_role)i),
				    json_integer((json_int_t)r->roles[i]));
	json_t *o = json_object();
	json_t *info = json_object();
	json_object_set_new(info, "id", json_string(r->id));
	json_object_set_new(info, "title", json_string(r->title));
	json_object_set_new(info, "open", json_boolean(r->open));
	json_object_set_new(o, "room", info);
	json_object_set_new(o, "roster", roster);
	json_object_set_new(o, "count", json_integer((json_int_t)r->n_members));
	json_object_set_new(o, "counts", counts);
	json_object_set_new(o, "partial", json_boolean(partial));
	return o;
}

json_t *room_page(const room *r, size_t offset, size_t limit)
{
	json_t *list = json_array();
	for (size_t i = offset; i < r->n_members && i - offset < limit; i++)
		json_array_append_new(list, room_member_json(r->members[i]));
	return json_pack("{s:I, s:I, s:o}", "count", (json_int_t)r->n_members, "offset",
			 (json_int_t)offset, "members", list);
}
