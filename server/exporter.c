#include "exporter.h"
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define PIPE_READ_MAX 16384      /* bytes taken from the child per turn of the client: small
				  * pieces keep each callback short, as lws' own file serving does */
#define PIECE_CAP (LWS_PRE + 16 + PIPE_READ_MAX + 8) /* chunk header, data, CRLF, last chunk */
#define PIPE_SIZE (256 * 1024)   /* the child's send buffer: fewer wake-ups per export */
#define REAP_PERIOD_MS 100
#define CHILD_NICE 5
#define FRAME_HDR 4

enum job_state {
	JOB_WAITING,   /* for the room's records to be durable */
	JOB_RUNNING,   /* the child renders; the pipe is relayed */
	JOB_REPLY,     /* a short error answer is to be sent */
};

struct export_job {
	/* passed in */
	exporter *e;
	struct lws *http;             /* borrowed; NULL once the transaction is gone */
	struct api_export req;
	/* owned */
	struct lws *pipe;             /* the read end in the loop, NULL once closed */
	pid_t pid;                    /* the child, 0 once reaped or handed to the reaper */
	uint8_t *out;                 /* payload bytes read and not yet written (PIPE_READ_MAX) */
	uint8_t *piece;               /* the chunk being written, with LWS_PRE headroom (PIECE_CAP) */
	size_t out_len;
	/* state */
	enum job_state state;
	bool headers_sent, eof, done_ok, finished;
	uint8_t hdr[FRAME_HDR];
	size_t hdr_have;
	uint32_t frame_left;          /* payload bytes of the current frame still to come */
	int reply_status;
	const char *reply_text;
	struct lws_dll2 node;         /* in e->jobs */
};

struct exporter {
	/* passed in */
	struct lws_context *ctx;
	struct lws_vhost *vh;
	recorder *rec;
	/* owned */
	struct lws_dll2_owner jobs;   /* every job not yet freed */
	pid_t *zombies;               /* children killed or ended, not yet reaped */
	size_t n_zombies;
	lws_sorted_usec_list_t reap_sul;
	bool reaping;
	bool stopping;                /* the lws context is going: no more timers */
};

/* ---- rendering (the child, and `rostrum transcript`) ------------------------------ */

struct render_ctx {
	transcript *t;
};

static int add_record(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	(void)offset;
	transcript_add(((struct render_ctx *)ctx)->t, (const char *)payload, len);
	return 0;
}

int exporter_render(const char *path, uint64_t limit, enum transcript_format fmt,
		    const struct transcript_opts *opts, transcript_sink_fn sink, void *ctx,
		    char *err, size_t errlen)
{
	struct render_ctx rc = { 0 };
	int st = transcript_create(fmt, opts, &rc.t);
	if (st != TRANSCRIPT_OK) {
		snprintf(err, errlen, "%s", transcript_strerror(st));
		return -1;
	}
	if (recorder_scan_journal(path, limit, add_record, &rc, NULL, err, errlen) != RECORDER_OK) {
		transcript_destroy(rc.t);
		return -1;
	}
	st = transcript_render(rc.t, sink, ctx, NULL);
	transcript_destroy(rc.t);
	if (st != TRANSCRIPT_OK) {
		snprintf(err, errlen, "%s", transcript_strerror(st));
		return -1;
	}
	return 0;
}

static int write_all(int fd, const void *p, size_t len)
{
	const uint8_t *b = p;
	while (len) {
		ssize_t w = write(fd, b, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		len -= (size_t)w;
	}
	return 0;
}

/* transcript_sink_fn of the child: one frame per piece; the loop side has gone when it fails. */
static int frame_sink(void *ctx, const char *bytes, size_t len)
{
	int fd = *(int *)ctx;
	uint8_t hdr[FRAME_HDR] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
				   (uint8_t)(len >> 24) };
	return write_all(fd, hdr, sizeof hdr) || write_all(fd, bytes, len) ? -1 : 0;
}

/* Leaves the child only stdio and the pipe (as fd 3): no socket of the server stays open in it. */
static int child_fds(int wfd)
{
	if (wfd != 3 && dup2(wfd, 3) < 0)
		return -1;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, 4u, ~0u, 0u) == 0)
		return 3;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (long fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
		close((int)fd);
	return 3;
}

static _Noreturn void child_main(pid_t parent, int wfd, const char *path, uint64_t limit,
				 const struct api_export *req)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	signal(SIGTERM, SIG_DFL); /* the server's handlers would touch its lws context */
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	int fd = child_fds(wfd);
	if (fd < 0)
		_exit(1);
	setpriority(PRIO_PROCESS, 0, CHILD_NICE);
	struct transcript_opts opts = { .lang = req->lang[0] ? req->lang : NULL };
	char err[512];
	if (exporter_render(path, limit, req->fmt, &opts, frame_sink, &fd, err, sizeof err) != 0) {
		fprintf(stderr, "rostrum: export of %s failed: %s\n", req->room, err);
		_exit(1);
	}
	uint8_t end[FRAME_HDR] = { 0 };
	if (write_all(fd, end, sizeof end))
		_exit(1);
	/*
	 * Stay until the server has read everything: the end of the stream is
	 * our shutdown, and exiting now would close the socket altogether,
	 * which lws sees as a hang-up and may act on before the last bytes
	 * are read while the server holds back reading for a slow client.
	 */
	shutdown(fd, SHUT_WR);
	char c;
	while (read(fd, &c, 1) > 0)
		;
	_exit(0);
}

/* ---- children ----------------------------------------------------------------------- */

static void reap_tick(lws_sorted_usec_list_t *sul);

static void reap_arm(exporter *e)
{
	if (e->reaping || e->stopping || !e->n_zombies)
		return;
	e->reaping = true;
	lws_sul_schedule(e->ctx, 0, &e->reap_sul, reap_tick,
			 REAP_PERIOD_MS * LWS_US_PER_MS);
}

/* Reaps what has exited without waiting; the rest stays for the next tick. */
static void reap_some(exporter *e)
{
	size_t k = 0;
	for (size_t i = 0; i < e->n_zombies; i++)
		if (waitpid(e->zombies[i], NULL, WNOHANG) == 0)
			e->zombies[k++] = e->zombies[i];
	e->n_zombies = k;
}

static void reap_tick(lws_sorted_usec_list_t *sul)
{
	exporter *e = lws_container_of(sul, exporter, reap_sul);
	e->reaping = false;
	reap_some(e);
	reap_arm(e);
}

/* The child is of no more use (done, failed or abandoned): kill it if asked, reap it later. */
static void child_release(exporter *e, export_job *j, bool kill_it)
{
	if (!j->pid)
		return;
	if (kill_it)
		kill(j->pid, SIGKILL);
	e->zombies = rs_realloc(e->zombies, (e->n_zombies + 1) * sizeof *e->zombies);
	e->zombies[e->n_zombies++] = j->pid;
	j->pid = 0;
	reap_some(e);
	reap_arm(e);
}

/* ---- jobs --------------------------------------------------------------------------- */

static void job_free_if_done(export_job *j)
{
	if (j->http || j->pipe || j->state == JOB_WAITING)
		return;
	child_release(j->e, j, true);
	lws_dll2_remove(&j->node);
	free(j->out);
	free(j->piece);
	free(j);
}

static void job_reply(export_job *j, int status, const char *text)
{
	j->state = JOB_REPLY;
	j->reply_status = status;
	j->reply_text = text;
	if (j->http)
		lws_callback_on_writable(j->http);
}

/* Forks the renderer and puts its pipe into the loop. */
static void job_start(export_job *j)
{
	exporter *e = j->e;
	struct recorder_room_info info = { 0 };
	char path[4096];
	recorder_room_info(e->rec, j->req.room, &info);
	recorder_journal_path(recorder_data_dir(e->rec), j->req.room, path, sizeof path);
	int p[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0)
		return job_reply(j, 503, "the server cannot start an export now\n");
	int sz = PIPE_SIZE;
	setsockopt(p[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		child_main(parent, p[1], path, info.bytes, &j->req);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return job_reply(j, 503, "the server cannot start an export now\n");
	}
	j->pid = pid;
	j->state = JOB_RUNNING;
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	lws_sock_file_fd_type fd;
	fd.filefd = p[0];
	j->pipe = lws_adopt_descriptor_vhost(e->vh, LWS_ADOPT_RAW_FILE_DESC, fd, EXPORTER_PROTOCOL,
					     NULL);
	if (!j->pipe) { /* lws closed the fd */
		child_release(e, j, true);
		return job_reply(j, 503, "the server cannot start an export now\n");
	}
	lws_set_opaque_user_data(j->pipe, j);
	metrics_add("rostrum_exports_started_total", 1);
}

/* recorder_ack_fn: the room's records are on disk (or never will be: export what is). */
static void job_durable(void *ctx, int status)
{
	(void)status;
	export_job *j = ctx;
	if (j->state != JOB_WAITING)
		return;
	job_start(j);
}

size_t exporter_running(const exporter *e)
{
	size_t n = 0;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head((struct lws_dll2_owner *)&e->jobs)) {
		const export_job *j = lws_container_of(d, export_job, node);
		n += j->state == JOB_WAITING || j->state == JOB_RUNNING;
	} lws_end_foreach_dll(d);
	return n;
}

void exporter_stop(exporter *e)
{
	if (!e)
		return;
	e->stopping = true;
	if (e->reaping)
		lws_sul_cancel(&e->reap_sul);
	e->reaping = false;
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&e->jobs)) {
		export_job *j = lws_container_of(d, export_job, node);
		if (j->pid)
			kill(j->pid, SIGKILL);
	} lws_end_foreach_dll(d);
}

exporter *exporter_create(struct lws_context *ctx, struct lws_vhost *vh, recorder *rec)
{
	exporter *e = rs_calloc(1, sizeof *e);
	e->ctx = ctx;
	e->vh = vh;
	e->rec = rec;
	return e;
}

void exporter_destroy(exporter *e)
{
	if (!e)
		return;
	lws_start_foreach_dll_safe(struct lws_dll2 *, d, d1, lws_dll2_get_head(&e->jobs)) {
		export_job *j = lws_container_of(d, export_job, node);
		if (j->state == JOB_WAITING)
			recorder_cancel(e->rec, j);
		if (j->pid)
			kill(j->pid, SIGKILL);
		if (j->pid)
			waitpid(j->pid, NULL, 0);
		lws_dll2_remove(&j->node);
		free(j->out);
		free(j->piece);
		free(j);
	} lws_end_foreach_dll_safe(d, d1);
	for (size_t i = 0; i < e->n_zombies; i++)
		waitpid(e->zombies[i], NULL, 0); /* each was killed or has ended */
	free(e->zombies);
	free(e);
}

int exporter_begin(exporter *e, struct lws *wsi, const struct api_export *req, export_job **job)
{
	export_job *j = rs_calloc(1, sizeof *j);
	j->e = e;
	j->http = wsi;
	j->req = *req;
	*job = j;
	if (exporter_running(e) >= EXPORTER_MAX_JOBS) {
		metrics_add("rostrum_exports_refused_total", 1);
		lws_dll2_add_tail(&j->node, &e->jobs);
		job_reply(j, 503, "too many transcript exports are running: retry in a few seconds\n");
		return 0;
	}
	lws_dll2_add_tail(&j->node, &e->jobs);
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, EXPORTER_IDLE_S);
	j->state = JOB_WAITING;
	if (!recorder_healthy(e->rec) || !recorder_wait_room(e->rec, req->room, job_durable, j))
		job_start(j);
	return 0;
}

void exporter_abort(exporter *e, export_job *j)
{
	if (!j)
		return;
	if (j->state == JOB_WAITING) {
		recorder_cancel(e->rec, j);
		j->state = JOB_REPLY;
	}
	j->http = NULL;
	child_release(e, j, true);
	if (j->pipe)
		lws_set_timeout(j->pipe, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	job_free_if_done(j);
}

/* ---- the HTTP side ------------------------------------------------------------------ */

static bool is_h2(struct lws *wsi)
{
	return lws_get_network_wsi(wsi) != wsi;
}

static int send_headers(export_job *j, int status, const char *ctype, size_t len, bool chunked)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
			*end = buf + sizeof buf - 1;
	struct lws *wsi = j->http;
	if (lws_add_http_header_status(wsi, (unsigned int)status, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					 (const unsigned char *)ctype, (int)strlen(ctype), &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end))
		return -1;
	/* One answer per API connection (net.c): the client asks again on a new one. */
	if (!is_h2(wsi) && lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
						      (const unsigned char *)"close", 5, &p, end))
		return -1;
	if (chunked && !is_h2(wsi) &&
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING,
					 (const unsigned char *)"chunked", 7, &p, end))
		return -1;
	if (!chunked && lws_add_http_header_content_length(wsi, len, &p, end))
		return -1;
	if (status == 503 && lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
							 (const unsigned char *)"5", 1, &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	j->headers_sent = true;
	return 0;
}

/* The answer is written: the job lets go of the transaction (the caller closes it). */
static int complete(export_job **job)
{
	export_job *j = *job;
	*job = NULL;
	j->http = NULL;
	j->finished = true;
	job_free_if_done(j);
	return 1;
}

/* A short answer with a length, once (503 busy, 500 when the child failed at once). */
static int write_reply(export_job **job)
{
	export_job *j = *job;
	size_t n = strlen(j->reply_text);
	if (!j->headers_sent) {
		if (send_headers(j, j->reply_status, "text/plain; charset=utf-8", n, false))
			return -1;
		lws_callback_on_writable(j->http);
		return 0;
	}
	unsigned char buf[LWS_PRE + 256];
	memcpy(buf + LWS_PRE, j->reply_text, n);
	if (lws_write(j->http, buf + LWS_PRE, n, LWS_WRITE_HTTP_FINAL) < (int)n)
		return -1;
	return complete(job);
}

/* One piece of the body: a chunk of the chunked coding on HTTP/1.1, as is on HTTP/2. */
static int write_piece(export_job *j, const uint8_t *data, size_t len, bool last)
{
	if (!j->piece)
		j->piece = rs_malloc(PIECE_CAP);
	unsigned char *p = j->piece + LWS_PRE;
	size_t n = 0;
	bool h2 = is_h2(j->http);
	if (!h2 && len)
		n += (size_t)snprintf((char *)p, 16, "%zx\r\n", len);
	if (len)
		memcpy(p + n, data, len);
	n += len;
	if (!h2 && len) {
		memcpy(p + n, "\r\n", 2);
		n += 2;
	}
	if (!h2 && last) {
		memcpy(p + n, "0\r\n\r\n", 5);
		n += 5;
	}
	int w = lws_write(j->http, p, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP);
	return w < (int)n ? -1 : 0;
}

int exporter_writable(exporter *e, export_job **job)
{
	(void)e;
	export_job *j = *job;
	if (j->state == JOB_REPLY)
		return write_reply(job);
	if (j->state != JOB_RUNNING || (!j->out_len && !j->eof))
		return 0; /* waiting for the disk or the child */
	if (!j->headers_sent) {
		if (j->eof && !j->out_len && !j->done_ok) {
			job_reply(j, 500, "the transcript could not be rendered\n");
			return write_reply(job);
		}
		if (send_headers(j, 200, transcript_content_type(j->req.fmt), 0, true))
			return -1;
		lws_callback_on_writable(j->http);
		return 0;
	}
	if (j->eof && !j->done_ok && !j->out_len) {
		metrics_add("rostrum_exports_failed_total", 1);
		return -1; /* the chunked body stays unterminated: the client sees the failure */
	}
	bool last = j->eof && j->done_ok;
	if (write_piece(j, j->out, j->out_len, last))
		return -1;
	j->out_len = 0;
	lws_set_timeout(j->http, PENDING_TIMEOUT_HTTP_CONTENT, EXPORTER_IDLE_S);
	if (last) {
		metrics_add("rostrum_exports_completed_total", 1);
		return complete(job);
	}
	if (j->pipe)
		lws_rx_flow_control(j->pipe, 1); /* the client took it: read the next piece */
	else
		lws_callback_on_writable(j->http);
	return 0;
}

/* ---- the pipe side ------------------------------------------------------------------ */

/* Strips the child's frame headers from raw[0..n), appending payload to j->out. */
static void unframe(export_job *j, const uint8_t *raw, size_t n)
{
	while (n) {
		if (j->frame_left == 0) {
			j->hdr[j->hdr_have++] = *raw++;
			n--;
			if (j->hdr_have < FRAME_HDR)
				continue;
			j->hdr_have = 0;
			j->frame_left = (uint32_t)j->hdr[0] | (uint32_t)j->hdr[1] << 8 |
					(uint32_t)j->hdr[2] << 16 | (uint32_t)j->hdr[3] << 24;
			if (j->frame_left == 0)
				j->done_ok = true;
			continue;
		}
		size_t take = n < j->frame_left ? n : j->frame_left;
		memcpy(j->out + j->out_len, raw, take);
		j->out_len += take;
		j->frame_left -= (uint32_t)take;
		raw += take;
		n -= take;
	}
}

/* One read per turn of the client; returns -1 to close the pipe (end, error). */
static int pipe_readable(export_job *j)
{
	if (j->out_len || !j->http) {
		lws_rx_flow_control(j->pipe, 0);
		return 0;
	}
	if (!j->out)
		j->out = rs_malloc(PIPE_READ_MAX);
	uint8_t raw[PIPE_READ_MAX];
	ssize_t r = read(lws_get_socket_fd(j->pipe), raw, sizeof raw);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r > 0 && !j->done_ok) {
		unframe(j, raw, (size_t)r);
		if (j->out_len)
			lws_rx_flow_control(j->pipe, 0); /* until the client has taken it */
		lws_callback_on_writable(j->http);
		return 0;
	}
	j->eof = true; /* end of the stream (or bytes after the end mark: a broken child) */
	lws_callback_on_writable(j->http);
	return -1;
}

int exporter_pipe_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	export_job *j = lws_get_opaque_user_data(wsi);
	if (!j)
		return 0; /* the adoption is still under way */
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return pipe_readable(j);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		lws_set_opaque_user_data(wsi, NULL);
		j->pipe = NULL;
		if (!j->eof) {
			j->eof = true;
			if (j->http)
				lws_callback_on_writable(j->http);
		}
		child_release(j->e, j, !j->done_ok);
		job_free_if_done(j);
		break;
	default:
		break;
	}
	return 0;
}
