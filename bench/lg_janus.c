/*
 * lg_janus: the load generator speaking Janus's WebSocket API to the
 * AudioBridge plugin: create a session, attach janus.plugin.audiobridge,
 * the chair creates the rooms, everyone else joins with the offer as JSEP
 * (trickle off: our one host candidate is in the offer) and takes the
 * answer from the "joined" event. Listeners join muted; every session
 * sends a keepalive well inside Janus's 60 s session timeout.
 */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEEPALIVE_MS 25000

static void janus_send(struct lg *g, struct lg_part *p, const char *what, const char *tx,
		       json_t *extra)
{
	json_t *j = json_pack("{s:s, s:s}", "janus", what, "transaction", tx);
	if (p->session)
		json_object_set_new(j, "session_id", json_integer(p->session));
	if (p->handle)
		json_object_set_new(j, "handle_id", json_integer(p->handle));
	if (extra) {
		json_object_update(j, extra);
		json_decref(extra);
	}
	lg_send_json(g, p, j);
}

void lg_janus_open(struct lg *g, struct lg_part *p)
{
	p->session = p->handle = 0;
	janus_send(g, p, "create", "create", NULL);
}

static int room_id(struct lg *g, int room)
{
	return atoi(g->o.room) + room;
}

static void create_rooms(struct lg *g, struct lg_part *p)
{
	for (int i = 0; i < g->o.rooms; i++) {
		json_t *body = json_pack("{s:s, s:i, s:i, s:b, s:b}", "request", "create", "room",
					 room_id(g, i), "sampling_rate", 48000, "record", 0,
					 "audiolevel_event", 0);
		janus_send(g, p, "message", "room", json_pack("{s:o}", "body", body));
	}
}

static void join(struct lg *g, struct lg_part *p)
{
	const char *offer = lg_offer(g, p);
	if (!offer)
		return;
	char name[32];
	snprintf(name, sizeof name, "%s %d", p->role == LG_SPEAKER ? "Speaker" : "Listener", p->idx);
	json_t *body = json_pack("{s:s, s:i, s:s, s:b}", "request", "join", "room",
				 room_id(g, p->room), "display", name, "muted",
				 p->role != LG_SPEAKER);
	json_t *jsep = json_pack("{s:s, s:s, s:b}", "type", "offer", "sdp", offer, "trickle", 0);
	janus_send(g, p, "message", "join", json_pack("{s:o, s:o}", "body", body, "jsep", jsep));
}

static void on_success(struct lg *g, struct lg_part *p, json_t *m, const char *tx)
{
	json_int_t id = json_integer_value(json_object_get(json_object_get(m, "data"), "id"));
	if (strcmp(tx, "create") == 0) {
		p->session = id;
		janus_send(g, p, "attach", "attach",
			   json_pack("{s:s}", "plugin", "janus.plugin.audiobridge"));
	} else if (strcmp(tx, "attach") == 0) {
		p->handle = id;
		if (p->role == LG_CHAIR)
			create_rooms(g, p);
		else if (g->o.media)
			join(g, p);
		else
			lg_joined(g, p);
	} else if (strcmp(tx, "room") == 0) {
		json_t *d = json_object_get(json_object_get(m, "plugindata"), "data");
		const char *ab = json_string_value(json_object_get(d, "audiobridge"));
		if (!ab || strcmp(ab, "created") != 0) {
			lg_fail(g, p, "room create refused");
			return;
		}
		if (++g->rooms_created == g->o.rooms)
			lg_joined(g, p);
	}
}

static void on_event(struct lg *g, struct lg_part *p, json_t *m)
{
	json_t *d = json_object_get(json_object_get(m, "plugindata"), "data");
	const char *ab = json_string_value(json_object_get(d, "audiobridge"));
	if (json_object_get(d, "error")) {
		lg_fail(g, p, json_string_value(json_object_get(d, "error")) ?: "audiobridge error");
		return;
	}
	json_t *jsep = json_object_get(m, "jsep");
	if (ab && strcmp(ab, "joined") == 0 && jsep && p->phase == LG_P_WS) {
		lg_joined(g, p);
		lg_answer(g, p, json_string_value(json_object_get(jsep, "sdp")));
	} else if (ab && strcmp(ab, "event") == 0) {
		g->roster_msgs++;
	} else if (ab && strcmp(ab, "joined") == 0) {
		g->roster_msgs++; /* someone else joined */
	}
}

void lg_janus_text(struct lg *g, struct lg_part *p, char *text, size_t len)
{
	json_t *m = json_loadb(text, len, 0, NULL);
	if (!m)
		return;
	const char *what = json_string_value(json_object_get(m, "janus"));
	const char *tx = json_string_value(json_object_get(m, "transaction"));
	if (getenv("LG_DEBUG"))
		fprintf(stderr, "janus %d: %.*s\n", p->idx, (int)(len < 300 ? len : 300), text);
	if (!what) {
	} else if (strcmp(what, "success") == 0 && tx) {
		on_success(g, p, m, tx);
	} else if (strcmp(what, "event") == 0) {
		on_event(g, p, m);
	} else if (strcmp(what, "error") == 0) {
		json_t *e = json_object_get(m, "error");
		lg_fail(g, p, json_string_value(json_object_get(e, "reason")) ?: "janus error");
	} else if (strcmp(what, "hangup") == 0 || strcmp(what, "timeout") == 0) {
		if (p->phase == LG_P_READY)
			g->closed_after_join++;
		lg_fail(g, p, what);
	}
	json_decref(m);
}

void lg_janus_tick(struct lg *g, struct lg_part *p, int64_t now_ms)
{
	if (!p->session || now_ms < p->next_keepalive_ms)
		return;
	p->next_keepalive_ms = now_ms + KEEPALIVE_MS;
	lg_send_json(g, p, json_pack("{s:s, s:s, s:I}", "janus", "keepalive", "transaction",
				     "keepalive", "session_id", (json_int_t)p->session));
}
