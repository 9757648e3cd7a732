#include "room.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

struct room {
	/* owned */
	char *id, *title;
	json_t *policy;
	struct room_member **members; /* join order */
	size_t n_members, cap_members;
	/* passed in */
	bool open;
	int max_members;
	struct room_listener l;
};

room *room_create(const char *id, const char *title, bool open, json_t *policy, int max_members,
		  const struct room_listener *l)
{
	room *r = rs_calloc(1, sizeof *r);
	r->id = rs_strdup(id);
	r->title = rs_strdup(title);
	r->policy = policy ? json_incref(policy) : json_object();
	r->open = open;
	r->max_members = max_members;
	r->l = *l;
	return r;
}

void room_destroy(room *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_members; i++)
		free(r->members[i]);
	free(r->members);
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
	for (size_t i = 0; i < r->n_members; i++)
		if (r->members[i]->pid == pid)
			return r->members[i];
	return NULL;
}

json_t *room_member_json(const struct room_member *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "pid", json_integer(m->pid));
	json_object_set_new(o, "role", json_string(attrs_role_name(m->role)));
	attrs_to_json(&m->attrs, o);
	return o;
}

static void record_member(room *r, const char *kind, const struct room_member *m, int64_t wall_ms)
{
	json_t *rec = room_member_json(m);
	json_object_set_new(rec, "kind", json_string(kind));
	json_object_set_new(rec, "t", json_integer(wall_ms));
	room_record(r, rec);
	json_decref(rec);
}

/* Sends {"type": type, key: payload} to everyone but `except`; payload is consumed. */
static void announce(room *r, const char *type, const char *key, json_t *payload,
		     const struct room_member *except)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, key, payload);
	rs_msg *m = rs_msg_take_json(o);
	room_broadcast(r, m, ROOM_TO_ALL, except);
	rs_msg_unref(m);
}

int room_join(room *r, int64_t wall_ms, uint32_t pid, enum rs_role role,
	      const struct rs_attrs *attrs, void *conn, struct room_member **out)
{
	if (r->n_members >= (size_t)r->max_members)
		return ROOM_FULL;
	if (r->n_members == r->cap_members) {
		r->cap_members = r->cap_members ? r->cap_members * 2 : 8;
		r->members = rs_realloc(r->members, r->cap_members * sizeof *r->members);
	}
	struct room_member *m = rs_calloc(1, sizeof *m);
	*m = (struct room_member){ .pid = pid, .role = role, .attrs = *attrs, .conn = conn,
				   .joined_ms = wall_ms };
	r->members[r->n_members++] = m;
	announce(r, "roster.join", "participant", room_member_json(m), m);
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
	announce(r, "roster.leave", "pid", json_integer(m->pid), NULL);
	record_member(r, "leave", m, wall_ms);
	free(m);
}

void room_set_attrs(room *r, struct room_member *m, const struct rs_attrs *a)
{
	char name[sizeof m->attrs.name];
	memcpy(name, m->attrs.name, sizeof name);
	m->attrs = *a;
	memcpy(m->attrs.name, name, sizeof name);
	announce(r, "roster.update", "participant", room_member_json(m), NULL);
}

void room_broadcast(room *r, rs_msg *msg, unsigned mask, const struct room_member *except)
{
	for (size_t i = 0; i < r->n_members; i++) {
		struct room_member *m = r->members[i];
		if (m != except && (mask & ROOM_TO(m->role)))
			r->l.send(r->l.ctx, m->conn, msg);
	}
}

void room_send(room *r, struct room_member *to, rs_msg *m)
{
	r->l.send(r->l.ctx, to->conn, m);
}

void room_record(room *r, json_t *rec)
{
	if (r->l.record)
		r->l.record(r->l.ctx, r, rec);
}

json_t *room_snapshot(const room *r)
{
	json_t *roster = json_array();
	for (size_t i = 0; i < r->n_members; i++)
		json_array_append_new(roster, room_member_json(r->members[i]));
	json_t *o = json_object();
	json_t *info = json_object();
	json_object_set_new(info, "id", json_string(r->id));
	json_object_set_new(info, "title", json_string(r->title));
	json_object_set_new(info, "open", json_boolean(r->open));
	json_object_set_new(o, "room", info);
	json_object_set_new(o, "roster", roster);
	return o;
}
