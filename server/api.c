#include "api.h"
#include "metrics.h"

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

void api_handle(struct api_ctx *ctx, const struct api_request *req, int64_t now,
		struct api_response *resp)
{
	metrics_add("rostrum_http_requests_total", 1);
	bool get = strcmp(req->method, "GET") == 0;
	if (strcmp(req->path, "/healthz") == 0 && get)
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
}
