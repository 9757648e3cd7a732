/*
 * hub_floor: the moderated speaking queue in the hub. floor_msg does the
 * protocol work; this file only hands it the actor and delivers its outbox
 * (to everyone, to moderators, to one participant, or to the journal).
 */
#include "floor_msg.h"
#include "hub_internal.h"
#include "metrics.h"

#include <string.h>

static floor_actor actor_of(const struct room_member *m)
{
	return (floor_actor){ .pid = m->pid, .role = m->role, .attrs = &m->attrs };
}

/* The journal form of a floor message: its fields, with kind and t. */
static void journal_item(hub *h, struct hroom *hr, json_t *msg, int64_t now)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	json_t *rec = json_deep_copy(msg);
	json_object_del(rec, "type");
	json_object_set_new(rec, "kind", json_string(type && strncmp(type, "written.", 8) == 0
							? "written" : "floor"));
	/* The transcript reads who and when at the top of a record. */
	json_t *who = json_object_get(msg, "who");
	const char *keys[] = { "name", "group" };
	for (size_t i = 0; i < RS_ARRAY_LEN(keys); i++)
		if (json_object_get(who, keys[i]) && !json_object_get(rec, keys[i]))
			json_object_set(rec, keys[i], json_object_get(who, keys[i]));
	json_t *at = json_object_get(msg, "at");
	json_object_set_new(rec, "t", json_is_integer(at) ? json_incref(at) : json_integer(now));
	if (hub_record(h, hr, rec, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: a floor event was not journaled", room_id(hr->room));
	json_decref(rec);
}

/* Messages that carry a whole state replace an unsent older one (msg.h). */
static uint32_t replace_key(json_t *msg)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	if (!type)
		return RS_KEY_NONE;
	if (strcmp(type, "floor.queue") == 0)
		return RS_KEY_FLOOR_QUEUE;
	if (strcmp(type, "written.queue") == 0)
		return RS_KEY_WRITTEN_QUEUE;
	if (strcmp(type, "floor.stats") == 0)
		return RS_KEY_FLOOR_STATS;
	return RS_KEY_NONE;
}

static void deliver(hub *h, struct hroom *hr, json_t *outbox, int64_t now)
{
	size_t i;
	json_t *item;
	json_array_foreach(outbox, i, item) {
		json_t *to = json_object_get(item, "to");
		json_t *msg = json_object_get(item, "msg");
		const char *dest = json_string_value(to);
		if (dest && strcmp(dest, "journal") == 0) {
			journal_item(h, hr, msg, now);
			continue;
		}
		rs_msg *m = rs_msg_from_json(msg);
		rs_msg_set_key(m, replace_key(msg));
		if (dest && strcmp(dest, "all") == 0)
			room_broadcast(hr->room, m, ROOM_TO_ALL, NULL);
		else if (dest && strcmp(dest, "moderators") == 0)
			room_broadcast(hr->room, m, ROOM_TO(RS_ROLE_MODERATOR), NULL);
		else if (json_is_integer(to)) {
			struct room_member *who = room_find(hr->room, (uint32_t)json_integer_value(to));
			if (who)
				room_send(hr->room, who, m);
		}
		rs_msg_unref(m);
	}
	if (json_array_size(outbox))
		hub_media_floor_changed(h, hr, now);
}

int hub_floor_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
		      struct reply *rep)
{
	struct hroom *hr = c->hr;
	floor_actor a = actor_of(c->member);
	json_t *out = json_array(), *data = NULL;
	int rc = floor_msg_handle(hr->floor, now, &a, type, req, &data, out);
	if (rc == 0) {
		rep->data = data;
	} else {
		const char *field = json_string_value(json_object_get(data, "field"));
		if (field) {
			rs_strlcpy(rep->fieldbuf, field, sizeof rep->fieldbuf);
			rep->field = rep->fieldbuf;
		}
		hub_fail(rep, floor_msg_code(rc), "%s", floor_msg_strerror(rc));
		json_decref(data);
	}
	deliver(h, hr, out, now);
	json_decref(out);
	metrics_add("rostrum_floor_requests_total", 1);
	return rc == 0 ? 0 : -1;
}

void hub_floor_joined(hub *h, hub_conn *c, int64_t now, json_t *snapshot)
{
	(void)h;
	floor_actor a = actor_of(c->member);
	if (floor_msg_joined(c->hr->floor, now, &a) != FLOOR_OK)
		rs_log(RS_LOG_WARN, "room %s: the floor has no room for participant %u",
		       room_id(c->hr->room), a.pid);
	json_object_set_new(snapshot, "floor", floor_msg_snapshot(c->hr->floor, now, &a));
}

void hub_floor_left(hub *h, struct hroom *hr, uint32_t pid, int64_t now)
{
	json_t *out = json_array();
	floor_msg_left(hr->floor, now, pid, out);
	deliver(h, hr, out, now);
	json_decref(out);
}

void hub_floor_updated(hub *h, hub_conn *c, int64_t now)
{
	json_t *out = json_array();
	floor_actor a = actor_of(c->member);
	floor_msg_updated(c->hr->floor, now, &a, out);
	deliver(h, c->hr, out, now);
	json_decref(out);
}

void hub_floor_tick(hub *h, struct hroom *hr, int64_t now)
{
	json_t *out = json_array();
	floor_msg_tick(hr->floor, now, out);
	deliver(h, hr, out, now);
	json_decref(out);
}

/* ---- the feature's entry ------------------------------------------------------ */

static void floor_room_created(hub *h, struct hroom *hr, json_t *policy)
{
	(void)h;
	struct floor_policy fp;
	char err[256];
	if (floor_msg_policy(policy, &fp, err, sizeof err) != 0)
		floor_policy_default(&fp); /* config_parse validated configured rooms */
	hr->floor = floor_create(&fp);
}

static void floor_room_destroyed(hub *h, struct hroom *hr)
{
	(void)h;
	floor_destroy(hr->floor);
	hr->floor = NULL;
}

static void floor_joined_hook(hub *h, hub_conn *c, int64_t now, json_t *snapshot)
{
	hub_floor_joined(h, c, now, snapshot);
}

static void floor_left_hook(hub *h, struct hroom *hr, uint32_t pid, int64_t now)
{
	hub_floor_left(h, hr, pid, now);
}

/* Speakers and the queue stay named in a large room's roster. */
static bool floor_pinned(hub *h, struct hroom *hr, uint32_t pid)
{
	(void)h;
	struct floor_req_view v;
	return hr->floor && floor_find_live(hr->floor, pid, &v);
}

static size_t floor_pinned_list(hub *h, struct hroom *hr, uint32_t *pids, size_t max)
{
	(void)h;
	static const enum floor_state live[] = { FLOOR_GRANTED, FLOOR_ACCEPTED, FLOOR_PENDING,
						 FLOOR_HELD };
	size_t n = 0;
	struct floor_req_view v;
	for (size_t s = 0; s < RS_ARRAY_LEN(live); s++)
		for (size_t i = 0; n < max && floor_at(hr->floor, live[s], i, &v); i++)
			pids[n++] = v.pid;
	return n;
}

static int floor_request_hook(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
			      struct reply *rep)
{
	int rc = hub_floor_request(h, c, req, type, now, rep);
	/* Entering or leaving the queue changes whether a large room lists the member. */
	if (c->member && room_partial(c->hr->room))
		hub_member_touch(h, c->hr, c->member->pid, now);
	return rc;
}

static int64_t floor_room_deadline(const struct hroom *hr)
{
	return floor_next_deadline(hr->floor);
}

const struct hub_feature hub_floor_feature = {
	.name = "floor",
	.owns = floor_msg_owns,
	.request = floor_request_hook,
	.room_created = floor_room_created,
	.room_destroyed = floor_room_destroyed,
	.joined = floor_joined_hook,
	.updated = hub_floor_updated,
	.left = floor_left_hook,
	.pinned = floor_pinned,
	.pinned_list = floor_pinned_list,
	.room_deadline = floor_room_deadline,
	.room_tick = hub_floor_tick,
};
