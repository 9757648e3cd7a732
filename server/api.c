#include "api.h"
#include "metrics.h"
#include "transcript.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *api_arg(const struct api_request *req, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < req->n_args; i++)
		if (strncmp(req->args[i], name, n) == 0 && req->args[i][n] == '=')
			return req->args[i] + n + 1;
	return NULL;
}

static void respond(struct api_response *resp, int status, const char *ctype, char *body,
		    size_t len)
{
	resp->status = status;
	resp->content_type = ctype;
	resp->body = body;
	resp->body_len = len;
}

static void respond_text(struct api_response *resp, int status, const char *text)
{
	respond(resp, status, "text/plain; charset=utf-8", rs_strdup(text), strlen(text));
}

static void respond_json(struct api_response *resp, int status, json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	respond(resp, status, "application/json", s, strlen(s));
}

static void get_healthz(struct api_ctx *ctx, int64_t now, struct api_response *resp)
{
	json_t *o = hub_health(ctx->hub, now);
	json_object_set_new(o, "uptime_s", json_integer((now - ctx->started_ms) / 1000));
	json_object_set_new(o, "loop_lag_ms", json_real(ctx->loop_lag_ms));
	respond_json(resp, 200, o);
}

static void get_metrics(struct api_ctx *ctx, struct api_response *resp)
{
	hub_update_gauges(ctx->hub);
	size_t len;
	char *text = metrics_render(&len);
	respond(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

/* POST /caption/ROOM and GET /caption/ROOM/seq: captioning software, unchanged. */
static void caption_url(struct api_ctx *ctx, const struct api_request *req, int64_t now,
			struct api_response *resp)
{
	char room[TOKEN_ROOM_MAX + 1];
	const char *p = req->path + strlen("/caption/");
	size_t n = strcspn(p, "/");
	bool seq_form = strcmp(p + n, "/seq") == 0;
	if (n == 0 || n > TOKEN_ROOM_MAX || (p[n] && !seq_form))
		return respond_text(resp, 404, "not found\n");
	snprintf(room, sizeof room, "%.*s", (int)n, p);
	struct hub_caption_http hreq = {
		.room = room, .token = api_arg(req, "token"), .method = req->method,
		.seq_form = seq_form,
		.push = { .seq = api_arg(req, "seq"), .lang = api_arg(req, "lang"),
			  .content_language = req->header ? req->header(req->header_ctx,
									"content-language") : NULL,
			  .body = req->body, .body_len = req->body_len },
	};
	struct caption_http_reply rep;
	bool deferred = false;
	hub_caption_http(ctx->hub, &hreq, now, &rep, ctx->on_ack, req->waiter, &deferred);
	respond_text(resp, rep.status, rep.body);
	resp->deferred = deferred;
}

/* May this token read the room's transcript? Moderators and observers of the room may. */
static bool transcript_allowed(struct api_ctx *ctx, const char *room, const char *token,
			       int64_t now)
{
	struct token_claims cl;
	if (!token || token_verify(hub_secret(ctx->hub), token, now / 1000, &cl) != TOKEN_OK)
		return false;
	return strcmp(cl.room, room) == 0 &&
	       (cl.role == RS_ROLE_MODERATOR || cl.role == RS_ROLE_OBSERVER);
}

/*
 * The room's recordings from the recorder's index of its journal, each with
 * its download URL. The journal is the list, so only files this server wrote
 * for this room can ever be named in a download.
 */
static json_t *recordings_of(struct api_ctx *ctx, const char *room)
{
	json_t *list = recorder_recordings(hub_recorder(ctx->hub), room);
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		char url[256];
		snprintf(url, sizeof url, "/api/rooms/%s/%s", room,
			 json_string_value(json_object_get(r, "file")));
		json_object_set_new(r, "url", json_string(url));
	}
	return list;
}

/* GET /api/rooms/ROOM/recordings (the list) and /api/rooms/ROOM/recordings/NAME.opus (a file). */
static void recordings_url(struct api_ctx *ctx, const char *room, const char *rest,
			   struct api_response *resp)
{
	json_t *list = recordings_of(ctx, room);
	if (strcmp(rest, "recordings") == 0)
		return respond_json(resp, 200, json_pack("{s:s, s:o}", "room", room, "recordings",
							 list));
	size_t i;
	json_t *r;
	json_array_foreach(list, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "file")), rest) != 0)
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", recorder_data_dir(hub_recorder(ctx->hub)), rest);
		json_decref(list);
		resp->status = 200;
		resp->content_type = "audio/ogg";
		resp->file = rs_strdup(path);
		return;
	}
	json_decref(list);
	respond_text(resp, 404, "no such recording in this room\n");
}

/* GET /api/rooms/ROOM/transcript.FMT?token=T[&lang=L], and the room's recordings. */
static void transcript_url(struct api_ctx *ctx, const struct api_request *req, int64_t now,
			   struct api_response *resp)
{
	char room[TOKEN_ROOM_MAX + 1], fmt_name[8];
	const char *p = req->path + strlen("/api/rooms/");
	size_t n = strcspn(p, "/");
	if (n == 0 || n > TOKEN_ROOM_MAX || !p[n])
		return respond_text(resp, 404, "not found\n");
	snprintf(room, sizeof room, "%.*s", (int)n, p);
	if (strncmp(p + n, "/recordings", 11) == 0) {
		if (strcmp(req->method, "GET") != 0)
			return respond_text(resp, 405, "method not allowed\n");
		if (!transcript_allowed(ctx, room, api_arg(req, "token"), now))
			return respond_text(resp, 403,
					    "a moderator or observer token for this room is needed\n");
		return recordings_url(ctx, room, p + n + 1, resp);
	}
	if (strncmp(p + n, "/transcript.", 12) != 0 || strlen(p + n + 12) >= sizeof fmt_name)
		return respond_text(resp, 404, "not found\n");
	snprintf(fmt_name, sizeof fmt_name, "%s", p + n + 12);
	enum transcript_format fmt;
	if (!transcript_format_parse(fmt_name, &fmt))
		return respond_text(resp, 404, "unknown transcript format\n");
	if (strcmp(req->method, "GET") != 0)
		return respond_text(resp, 405, "method not allowed\n");
	if (!transcript_allowed(ctx, room, api_arg(req, "token"), now))
		return respond_text(resp, 403, "a moderator or observer token for this room is needed\n");
	struct recorder_room_info info;
	if (!recorder_room_info(hub_recorder(ctx->hub), room, &info))
		return respond_text(resp, 404, "no transcript for this room yet\n");
	const char *lang = api_arg(req, "lang");
	struct transcript_opts opts = { .lang = lang };
	transcript *probe; /* checks the options now, so a bad one is a 400, not a broken stream */
	int rc = transcript_create(fmt, &opts, &probe);
	transcript_destroy(probe);
	if (rc != TRANSCRIPT_OK || (lang && strlen(lang) >= sizeof resp->export->lang))
		return respond_text(resp, 400, transcript_strerror(rc ? rc : TRANSCRIPT_E_LANG));
	resp->export = rs_calloc(1, sizeof *resp->export);
	rs_strlcpy(resp->export->room, room, sizeof resp->export->room);
	resp->export->fmt = fmt;
	rs_strlcpy(resp->export->lang, lang ? lang : "", sizeof resp->export->lang);
	resp->status = 200;
	resp->content_type = transcript_content_type(fmt);
}

/* Any route given a revoked token says so plainly, before its own checks. */
static bool refuse_revoked(struct api_ctx *ctx, const struct api_request *req, int64_t now,
			   struct api_response *resp)
{
	const char *tok = api_arg(req, "token");
	struct token_claims cl;
	if (!tok || token_verify(hub_secret(ctx->hub), tok, now / 1000, &cl) != TOKEN_REVOKED)
		return false;
	metrics_error("token_revoked");
	respond_json(resp, 403, json_pack("{s:s, s:s}", "error", "token_revoked", "message",
					  "this join token was revoked by the organiser"));
	return true;
}

void api_handle(struct api_ctx *ctx, const struct api_request *req, int64_t now,
		struct api_response *resp)
{
	metrics_add("rostrum_http_requests_total", 1);
	bool get = strcmp(req->method, "GET") == 0;
	if (refuse_revoked(ctx, req, now, resp))
		return;
	if (strncmp(req->path, "/caption/", 9) == 0)
		caption_url(ctx, req, now, resp);
	else if (strncmp(req->path, "/api/rooms/", 11) == 0)
		transcript_url(ctx, req, now, resp);
	else if (strcmp(req->path, "/healthz") == 0 && get)
		get_healthz(ctx, now, resp);
	else if (strcmp(req->path, "/metrics") == 0 && get)
		get_metrics(ctx, resp);
	else if (strcmp(req->path, "/healthz") == 0 || strcmp(req->path, "/metrics") == 0)
		respond_text(resp, 405, "method not allowed\n");
	else
		respond_text(resp, 404, "not found\n");
}

void api_response_free(struct api_response *resp)
{
	free(resp->body);
	resp->body = NULL;
	free(resp->file);
	resp->file = NULL;
	free(resp->export);
	resp->export = NULL;
}
