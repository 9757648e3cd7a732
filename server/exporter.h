/*
 * exporter: transcript exports over HTTP without stalling the event loop.
 *
 * Rendering a long session (a 100,000-record journal gives a JSON document
 * of tens of megabytes) takes hundreds of milliseconds of CPU and reads the
 * whole journal file: neither may happen on the loop. So each export is
 * rendered by a short-lived child process, forked for it, that reads the
 * journal file, renders it (transcript.h) and writes the output into a pipe.
 * The loop adopts the pipe's read end into lws and relays it to the HTTP
 * client as it drains:
 *
 *   GET .../transcript.FMT
 *     -> wait until the room's records so far are durable (recorder_wait_room),
 *        so the file holds everything the server has appended
 *     -> fork: the child reads the file up to the length the recorder's
 *        index gives (a consistent snapshot) and writes frames into the pipe
 *     -> the pipe's wsi: one read when the client has taken the last one,
 *        else the pipe is not polled (back-pressure: the child blocks in
 *        write(), so neither side buffers more than the pipe holds)
 *     -> the HTTP wsi: one chunk per writable callback (chunked transfer
 *        coding over HTTP/1.1, DATA frames over HTTP/2)
 *
 * The child frames its output as {length u32 LE, bytes}; a zero length ends
 * a successful rendering. The response's status line is sent with the first
 * bytes, so a child that fails before writing anything becomes a 500; one
 * that dies later leaves the chunked body unterminated and the connection is
 * closed, which an HTTP client reports as a truncated response rather than a
 * complete transcript. At most EXPORTER_MAX_JOBS exports run at once; more
 * get 503 with Retry-After. A client that stops reading for
 * EXPORTER_IDLE_S is closed and its child killed.
 *
 * The child closes every inherited descriptor except the pipe and stdio,
 * resets the server's signal handlers, is killed if the server dies
 * (PR_SET_PDEATHSIG) and runs at a lower priority than the loop.
 *
 * Ownership: net owns the exporter; the exporter owns its jobs and their
 * pipes; a job borrows its HTTP wsi until exporter_abort() or the end of the
 * response. `rostrum transcript` uses exporter_render() directly.
 */
#ifndef ROSTRUM_EXPORTER_H
#define ROSTRUM_EXPORTER_H

#include "api.h"
#include "recorder.h"
#include "transcript.h"

#include <libwebsockets.h>

#define EXPORTER_MAX_JOBS 4
#define EXPORTER_IDLE_S 60
#define EXPORTER_PROTOCOL "rostrum-export"

typedef struct exporter exporter;
typedef struct export_job export_job;

/* An exporter answering on vhost vh of ctx from rec's journals (all borrowed). */
exporter *exporter_create(struct lws_context *ctx, struct lws_vhost *vh, recorder *rec);
/* Before the lws context is destroyed: kills the children, arms no more timers. */
void exporter_stop(exporter *e);
/* Reaps every child and frees e; after the lws context is destroyed. */
void exporter_destroy(exporter *e);

/*
 * Takes over the answer to the HTTP transaction on wsi: req (copied) is the
 * export the API accepted. *job is set to the job (NULL when the answer is
 * a 503 the exporter sends at once); the caller keeps it to forward
 * writable callbacks and its close. Returns 0, or -1 to close the connection.
 */
RS_MUST_CHECK int exporter_begin(exporter *e, struct lws *wsi, const struct api_export *req,
				 export_job **job);
/*
 * The HTTP wsi of *job is writable. Returns 0, -1 to close the connection
 * now, or 1 once the response is completely written (*job is then NULL; the
 * answer said `Connection: close`, so the caller closes the connection once
 * lws has sent it).
 */
RS_MUST_CHECK int exporter_writable(exporter *e, export_job **job);
/* The HTTP transaction of job went away: its child is killed, its pipe closed. */
void exporter_abort(exporter *e, export_job *job);
/* The lws protocol callback of the pipes (register it as EXPORTER_PROTOCOL). */
int exporter_pipe_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len);
/* Exports running now (health output and tests). */
size_t exporter_running(const exporter *e);

/*
 * Renders the journal at path, up to offset limit (0: the whole file), in
 * format fmt to sink. Blocking: for the export child and `rostrum
 * transcript`. Returns 0, or -1 with a message in err (the journal cannot
 * be read, the options are wrong, or the sink stopped).
 */
RS_MUST_CHECK int exporter_render(const char *path, uint64_t limit, enum transcript_format fmt,
				  const struct transcript_opts *opts, transcript_sink_fn sink,
				  void *ctx, char *err, size_t errlen);

#endif
