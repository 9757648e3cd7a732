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
