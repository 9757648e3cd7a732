/*
 * api: the HTTP endpoints that are not static files — health, metrics and,
 * as the hub grows, transcripts and caption intake.
 *
 * Sans-IO: net.c turns an lws HTTP transaction into an api_request and writes
 * back the api_response; nothing here touches a socket.
 */
#ifndef ROSTRUM_API_H
#define ROSTRUM_API_H

#include "hub.h"
#include "token.h"
#include "transcript.h"

#include <stddef.h>
#include <stdint.h>

#define API_MAX_ARGS 16
#define API_MAX_BODY (256 * 1024)

struct api_request {
	const char *method;      /* "GET", "POST", ... */
	const char *path;        /* decoded path, no query */
	const char *args[API_MAX_ARGS]; /* decoded "name=value" query parts */
	int n_args;
	const char *body;        /* POST body (NUL-terminated), may be NULL */
	size_t body_len;
	/* Looks up a request header by lower-case name ("x-timestamp"); NULL when absent. */
	const char *(*header)(void *ctx, const char *name);
	void *header_ctx;
	void *waiter;            /* identifies this transaction for a deferred answer */
};

/* A transcript export the API accepted; net hands it to the exporter, which answers. */
struct api_export {
	char room[TOKEN_ROOM_MAX + 1];
	enum transcript_format fmt;
	char lang[64];           /* "" = the format's default */
};

struct api_response {
	int status;
	const char *content_type;
	char *body;              /* malloc'd, owned by the response */
	size_t body_len;
	bool deferred;           /* wait for ctx->on_ack(waiter, status) before answering */
	char *file;              /* malloc'd: send this file (served in chunks) instead of body */
	struct api_export *export; /* malloc'd: stream this export instead of body (exporter.h) */
};

struct api_ctx {
	hub *hub;
	int64_t started_ms;      /* server time at start, for uptime */
	double loop_lag_ms;      /* last measured event-loop lag */
	/* Completes a deferred answer: RECORDER_OK sends it, anything else answers 503. */
	recorder_ack_fn on_ack;
};

/* Answers one request; always fills resp (404 for unknown paths). */
void api_handle(struct api_ctx *ctx, const struct api_request *req, int64_t now,
		struct api_response *resp);
/* Value of query argument name (decoded), or NULL. */
const char *api_arg(const struct api_request *req, const char *name);
/* Frees the body of a response. */
void api_response_free(struct api_response *resp);

#endif
