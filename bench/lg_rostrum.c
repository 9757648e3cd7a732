/*
 * lg_rostrum: the load generator speaking Rostrum's protocol (PROTOCOL.md):
 * join, audio.offer, and for speakers floor.request, granted by the chair.
 * Roster events are counted without being parsed: at a thousand members
 * they are most of what arrives.
 */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ID_JOIN = 1, ID_OFFER = 2, ID_FLOOR = 3, ID_GRANT = 1000 };

/* Room 0 is the base room (the chair's token names it), then, ... */
static void room_name(struct lg *g, int room, char *out, size_t cap)
{
	if (room > 0)
		snprintf(out, cap, "%s-%d", g->o.room, room);
	else
		snprintf(out, cap, "%s", g->o.room);
}

void lg_rostrum_open(struct lg *g, struct lg_part *p)
{
	char room[96], name[64];
	room_name(g, p->room, room, sizeof room);
	json_t *j = json_pack("{s:s, s:i, s:s}", "type", "join", "id", ID_JOIN, "room", room);
	if (p->role == LG_CHAIR)
		json_object_set_new(j, "token", json_string(g->o.chair_token));
	else if (p->role == LG_CAPTIONER)
		json_object_set_new(j, "token", json_string(g->o.captioner_token));
	else {
		snprintf(name, sizeof name, "%s %d", p->role == LG_SPEAKER ? "Speaker" : "Listener",
			 p->idx);
		json_object_set_new(j, "name", json_string(name));
	}
	lg_send_json(g, p, j);
}

/* "text":"<ns>|..." of a final caption, timed on arrival. */
static void caption_event(struct lg *g, struct lg_part *p, const char *text)
{
	if (!strstr(text, "\"kind\":\"final\""))
		return;
	const char *t = strstr(text, "\"text\":\"");
	if (!t || p->role == LG_CAPTIONER)
		return;
	long long sent = strtoll(t + 8, NULL, 10);
	if (sent <= 0 || sent < p->t0_real_ns)
		return; /* the backlog a late joiner gets: not a delivery to time */
	g->captions_rx++;
	if (g->measuring)
		lg_sample(&g->caption, (double)(lg_real_ns() - sent) / 1e6);
}

static void on_join(struct lg *g, struct lg_part *p)
{
	lg_joined(g, p);
	if (p->role == LG_CHAIR || p->role == LG_CAPTIONER || !g->o.media)
		return;
	const char *offer = lg_offer(g, p);
	if (!offer)
		return;
	lg_send_json(g, p, json_pack("{s:s, s:i, s:s}", "type", "audio.offer", "id", ID_OFFER, "sdp",
				     offer));
	if (p->role == LG_SPEAKER)
		lg_send_json(g, p, json_pack("{s:s, s:i, s:s}", "type", "floor.request", "id",
					     ID_FLOOR, "topic", "Load test"));
}

/* The chair grants a speaker's request at once, with no time limit. */
static void grant(struct lg *g, struct lg_part *speaker, json_int_t request)
{
	struct lg_part *c = lg_chair(g);
	if (!c || c->phase != LG_P_READY) {
		lg_fail(g, speaker, "no chair to grant the floor");
		return;
	}
	speaker->floor_request = request;
	lg_send_json(g, c, json_pack("{s:s, s:i, s:I, s:i}", "type", "floor.grant", "id",
				     ID_GRANT + speaker->idx, "request", request, "limit_s", 0));
}

static void on_reply(struct lg *g, struct lg_part *p, json_t *m, json_int_t re)
{
	bool ok = strcmp(json_string_value(json_object_get(m, "type")), "result") == 0;
	json_t *data = json_object_get(m, "data");
	if (!ok) {
		char why[128];
		snprintf(why, sizeof why, "request %lld: %s", (long long)re,
			 json_string_value(json_object_get(m, "code")) ?: "error");
		if (re < ID_GRANT)
			lg_fail(g, p, why);
		else
			lg_fail(g, &g->parts[re - ID_GRANT], why);
		return;
	}
	if (re == ID_JOIN)
		on_join(g, p);
	else if (re == ID_OFFER)
		lg_answer(g, p, json_string_value(json_object_get(data, "sdp")));
	else if (re == ID_FLOOR)
		grant(g, p, json_integer_value(json_object_get(data, "request")));
}

void lg_rostrum_text(struct lg *g, struct lg_part *p, char *text, size_t len)
{
	size_t head = len < 48 ? len : 48;
	if (memmem(text, head, "\"roster.", 8)) {
		g->roster_msgs++;
		return;
	}
	if (memmem(text, head, "\"type\":\"caption\"", 16)) {
		caption_event(g, p, text);
		return;
	}
	if (!memmem(text, head, "\"result\"", 8) && !memmem(text, head, "\"error\"", 7) &&
	    !memmem(text, head, "\"floor.you\"", 11) && !memmem(text, head, "\"audio.send\"", 12))
		return; /* floor.queue, floor.event, audio.talking...: not needed here */
	json_t *m = json_loadb(text, len, 0, NULL);
	if (!m)
		return;
	const char *type = json_string_value(json_object_get(m, "type"));
	json_t *re = json_object_get(m, "re");
	if (type && json_is_integer(re)) {
		on_reply(g, p, m, json_integer_value(re));
	} else if (type && strcmp(type, "floor.you") == 0) {
		const char *st = json_string_value(json_object_get(m, "state"));
		p->granted = st && strcmp(st, "granted") == 0;
	} else if (type && strcmp(type, "audio.send") == 0) {
		p->paused = !json_is_true(json_object_get(m, "active"));
	} else if (type && strcmp(type, "error") == 0 && !g->first_error[0]) {
		snprintf(g->first_error, sizeof g->first_error, "%s",
			 json_string_value(json_object_get(m, "code")) ?: "error");
	}
	json_decref(m);
}

void lg_rostrum_caption(struct lg *g, struct lg_part *p, uint64_t n)
{
	char text[128];
	snprintf(text, sizeof text, "%lld|Caption line %llu of the load test.",
		 (long long)lg_real_ns(), (unsigned long long)n);
	lg_send_json(g, p, json_pack("{s:s, s:I, s:s}", "type", "caption.final", "id",
				     (json_int_t)(100 + n), "text", text));
}
