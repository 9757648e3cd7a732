/*
 * hub_caption: live captions in the hub — browser and HTTP intake, fan-out
 * of each caption message (built once) to the room, and the journal, so that
 * a caption is acknowledged only once it is durable.
 */
#include "hub_internal.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

#define BACKLOG_MAX 512

bool hub_floor_speaker(struct hroom *hr, struct caption_speaker *out)
{
	struct floor_req_view v;
	if (!floor_at(hr->floor, FLOOR_GRANTED, 0, &v))
		return false;
	out->name = v.who->name;
	out->group = v.who->group[0] ? v.who->group : NULL;
	return true;
}

/*
 * What goes into the journal for one caption event: every final, and the open
 * line of an HTTP source (software is told its text is saved before the line
 * is complete; the open line is recovered as a final after a crash).
 */
static json_t *journal_record_for(const caption *c)
{
	json_t *rec = caption_journal_record(c);
	if (rec)
		return rec;
	const struct caption_view *v = caption_view(c);
	if (strncmp(v->captioner_id, "t:", 2) != 0)
		return NULL;
	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "kind", "caption_open", "t",
			 (json_int_t)v->t_ms, "seq", (json_int_t)v->seq, "lang", v->lang, "text",
			 v->text, "captioner", v->captioner, "captioner_id", v->captioner_id);
}

/*
 * Journals a new block of caption seqs before any caption numbered in it goes
 * out, so numbering continues past it after a restart (caption.h).
 */
static void reserve_seqs(hub *h, struct hroom *hr, int64_t now)
{
	uint64_t upto;
	if (!caption_room_seq_reservation(hr->cap, &upto))
		return;
	json_t *rec = json_pack("{s:s, s:I, s:I}", "kind", "caption_seq", "t", (json_int_t)now,
				"upto", (json_int_t)upto);
	if (hub_record(h, hr, rec, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: a caption seq reservation was not journaled",
		       room_id(hr->room));
	json_decref(rec);
}

/*
 * Runs the room's caption timers, sends every event to the room and journals
 * what must be kept. When fn is given it is attached to the last record
 * journaled. Returns 1 when fn was attached, 0 when nothing needed the disk,
 * or a negative recorder error (the events were still sent).
 */
static int drain(hub *h, struct hroom *hr, int64_t now, recorder_ack_fn fn, void *ctx)
{
	hr->cap_due = caption_room_tick(hr->cap, now);
	reserve_seqs(h, hr, now);
	caption *c;
	json_t *last = NULL;
	int rc = RECORDER_OK;
	while ((c = caption_room_poll(hr->cap))) {
		room_broadcast(hr->room, caption_msg(c), ROOM_TO_ALL, NULL);
		metrics_add("rostrum_captions_total", 1);
		json_t *rec = journal_record_for(c);
		caption_unref(c);
		if (!rec)
			continue;
		if (last && rc == RECORDER_OK)
			rc = hub_record(h, hr, last, NULL, NULL);
		json_decref(last);
		last = rec;
	}
	if (caption_room_live_changed(hr->cap)) {
		rs_msg *m = caption_room_live_msg(hr->cap);
		room_broadcast(hr->room, m, ROOM_TO(RS_ROLE_MODERATOR), NULL);
		rs_msg_unref(m);
	}
	if (!last)
		return rc;
	if (rc == RECORDER_OK)
		rc = hub_record(h, hr, last, fn, ctx);
	json_decref(last);
	return rc == RECORDER_OK ? (fn != NULL) : rc;
}

static void browser_who(const struct room_member *m, char id[16], struct caption_who *who)
{
	snprintf(id, 16, "p%u", m->pid);
	*who = (struct caption_who){ .id = id, .name = m->attrs.name, .via = CAPTION_VIA_BROWSER };
}

/*
 * The sender's answer given drain()'s outcome: a result once durable (the id
 * stays queued), a result now when nothing needed the disk, or an error.
 */
static int caption_reply(hub_conn *c, int rc, struct reply *rep)
{
	if (rc == 1) {
		rep->deferred = true;
		return 0;
	}
	hub_pending_unpush(c);
	if (rc < 0)
		return hub_fail(rep, "storage_unavailable", "%s", recorder_strerror(rc));
	return 0;
}

int hub_caption_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
			struct reply *rep)
{
	(void)type;
	struct room_member *m = c->member;
	if (m->role != RS_ROLE_CAPTIONER && m->role != RS_ROLE_MODERATOR)
		return hub_fail(rep, "forbidden", "only captioners and moderators send captions");
	struct caption_request cq;
	const char *field = NULL;
	if (caption_parse_request(req, &cq, &field) != CAPTION_OK) {
		rep->field = field;
		return hub_fail(rep, "bad_field", "field '%s' is missing or malformed",
				field ? field : "type");
	}
	if (hub_pending_full(c))
		return hub_fail(rep, "storage_busy", "too many captions waiting for the disk");
	char idbuf[16];
	struct caption_who who;
	browser_who(m, idbuf, &who);
	struct caption_speaker sp;
	bool has_sp = hub_floor_speaker(c->hr, &sp);
	int rc = caption_room_input(c->hr->cap, &who, cq.kind, cq.lang, cq.text, cq.len,
				    has_sp ? &sp : NULL, now);
	if (rc < 0)
		return hub_fail(rep, caption_err_code(rc), "%s", caption_strerror(rc));
	hub_pending_push(c, json_object_get(req, "id"));
	rc = drain(h, c->hr, now, hub_pending_fn(), c);
	return caption_reply(c, rc, rep);
}

/* Sends the late-joiner backlog: recent finals, then open partials. */
static void send_backlog(hub *h, hub_conn *c, int64_t now)
{
	caption *list[BACKLOG_MAX];
	size_t n = caption_room_backlog(c->hr->cap, now, list, BACKLOG_MAX);
	for (size_t i = 0; i < n && i < BACKLOG_MAX; i++)
		hub_send(h, c, caption_msg(list[i]));
}

/*
 * A viewer back after a drop or a restart names the last seq it saw: it gets
 * what the late-joiner ring holds after that one (the finals of the last
 * minutes, rebuilt from the journal after a restart), then the open
 * partials newer than it.
 */
void hub_caption_backlog_since(hub *h, hub_conn *c, int64_t now, uint64_t after)
{
	caption *list[BACKLOG_MAX];
	size_t n = caption_room_backlog(c->hr->cap, now, list, BACKLOG_MAX);
	for (size_t i = 0; i < n && i < BACKLOG_MAX; i++)
		if (caption_view(list[i])->seq > after)
			hub_send(h, c, caption_msg(list[i]));
}

void hub_caption_joined(hub *h, hub_conn *c, int64_t now, json_t *snapshot)
{
	(void)h;
	(void)now;
	json_t *o = json_object();
	json_object_set_new(o, "langs", caption_room_tracks_json(c->hr->cap));
	json_object_set_new(o, "captioners", caption_room_live_json(c->hr->cap));
	json_object_set_new(snapshot, "captions", o);
}

void hub_caption_after_join(hub *h, hub_conn *c, int64_t now)
{
	send_backlog(h, c, now);
}

void hub_caption_left(hub *h, struct hroom *hr, struct room_member *m, int64_t now)
{
	if (m->role != RS_ROLE_CAPTIONER && m->role != RS_ROLE_MODERATOR)
		return;
	char idbuf[16];
	snprintf(idbuf, sizeof idbuf, "p%u", m->pid);
	caption_room_leave(hr->cap, idbuf, now);
	if (drain(h, hr, now, NULL, NULL) < 0)
		rs_log(RS_LOG_WARN, "room %s: a caption was not journaled", room_id(hr->room));
}

void hub_caption_tick(hub *h, struct hroom *hr, int64_t now)
{
	if (drain(h, hr, now, NULL, NULL) < 0)
		rs_log(RS_LOG_WARN, "room %s: a caption was not journaled", room_id(hr->room));
}

/* ---- caption URLs ------------------------------------------------------------ */

/* The captioner a caption URL's token names; false when it may not caption this room. */
static bool http_who(hub *h, const struct hub_caption_http *req, int64_t now,
		     struct token_claims *cl, char id[24], struct caption_who *who)
{
	if (!req->token || token_verify(h->secret, req->token, now / 1000, cl) != TOKEN_OK)
		return false;
	if (strcmp(cl->room, req->room) != 0)
		return false;
	if (cl->role != RS_ROLE_CAPTIONER && cl->role != RS_ROLE_MODERATOR)
		return false;
	const char *sig = strchr(req->token, '.');
	snprintf(id, 24, "t:%.16s", sig ? sig + 1 : req->token);
	*who = (struct caption_who){ .id = id, .name = cl->attrs.name, .via = CAPTION_VIA_HTTP };
	return true;
}

static void unavailable(struct caption_http_reply *rep, int rc)
{
	rep->status = 503;
	snprintf(rep->body, sizeof rep->body, "storage_unavailable: %s\n", recorder_strerror(rc));
	metrics_error("storage_unavailable");
}

void hub_caption_http(hub *h, const struct hub_caption_http *req, int64_t now,
		      struct caption_http_reply *rep, recorder_ack_fn fn, void *waiter,
		      bool *deferred)
{
	*deferred = false;
	struct token_claims cl;
	char idbuf[24];
	struct caption_who who;
	bool ok = http_who(h, req, now, &cl, idbuf, &who);
	struct hroom *hr = ok ? hub_hroom_ensure(h, req->room) : NULL;
	struct caption_speaker sp;
	bool has_sp = hr && hub_floor_speaker(hr, &sp);
	struct caption_http_req creq = { .method = req->method, .seq_form = req->seq_form,
					 .who = ok ? &who : NULL, .push = req->push };
	caption_http(hr ? hr->cap : NULL, &creq, has_sp ? &sp : NULL, now, rep);
	metrics_add("rostrum_caption_http_total", 1);
	if (rep->status != 200 || req->seq_form)
		return;
	int rc = rep->err == CAPTION_OK ? drain(h, hr, now, fn, waiter)
					 : recorder_wait_all(h->rec, fn, waiter);
	if (rc < 0)
		unavailable(rep, rc);
	else
		*deferred = rc == 1;
}

/* ---- shutdown and after a crash ---------------------------------------------- */

void hub_caption_close(hub *h, struct hroom *hr, int64_t now)
{
	caption_room_finish_all(hr->cap, now);
	if (drain(h, hr, now, NULL, NULL) < 0)
		rs_log(RS_LOG_WARN, "room %s: an open caption line was not journaled at shutdown",
		       room_id(hr->room));
}

/*
 * Captioning software was told its open line was saved; if the server died
 * before the line was completed, the line is completed now, as a final, so
 * every export holds it. The recorder's index names the open lines.
 */
static void recover_room(recorder *rec, const char *room)
{
	json_t *open = recorder_open_lines(rec, room);
	size_t i;
	json_t *r;
	json_array_foreach(open, i, r) {
		json_t *fin = json_deep_copy(r);
		json_object_set_new(fin, "kind", json_string("caption"));
		json_object_set_new(fin, "speaker", json_null());
		json_object_set_new(fin, "recovered", json_true());
		if (recorder_append(rec, room, NULL, fin, NULL, NULL) != RECORDER_OK)
			rs_log(RS_LOG_WARN, "room %s: a recovered caption line was not journaled", room);
		json_decref(fin);
	}
	json_decref(open);
}

void hub_caption_recover(recorder *rec, const char *const *rooms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		recover_room(rec, rooms[i]);
}
