#include "net.h"
#include "api.h"
#include "exporter.h"
#include "hub.h"
#include "idle.h"
#include "jwriter.h"
#include "metrics.h"
#include "recorder.h"
#include "sendq.h"
#include "revoke.h"
#include "static.h"
#include "tcplink.h"
#include "udpbatch.h"
#include "token.h"

#include <assert.h>
#include <ev.h>
#include <libwebsockets.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS_SUBPROTOCOL "rostrum.v1"
#define LAG_PERIOD_MS 250
#define WS_TX_PACKET (64 * 1024)
#define SHUTDOWN_GRACE_MS 2000
#define HOUSEKEEPING_MS 1000     /* revocation list poll and idle WebSocket deadlines */

#ifndef ROSTRUM_WEBROOT
#define ROSTRUM_WEBROOT "web-client"
#endif

/* One WebSocket connection: its queue of outgoing frames and its input buffer. */
struct ws_conn {
	struct lws *wsi;
	hub_conn *hc;            /* owned by the hub */
	struct sendq q;          /* what waits for the socket, bounded in bytes */
	bool open;               /* established (and not yet closed) */
	struct rs_buf rx;        /* a message being reassembled from fragments */
	bool rx_discard;         /* the current message went over the limit */
	int close_code;          /* non-zero: close once the queue is flushed */
	char close_reason[64];
	struct idle_entry idle;  /* last frame or pong received, in net.idle */
	bool ping_due;           /* quiet for a while: ask for a pong (browsers answer by themselves) */
	bool peer_closed;        /* the peer sent a close frame: lws answers it, we send no more */
	bool want_write;         /* lws was asked for a writable callback that has not come yet */
	size_t dirty_at;         /* 1 + index in net.dirty, 0: not there */
	struct lws_dll2 node;    /* in net.conns */
};

/* One HTTP transaction for the API. */
struct http_tx {
	struct lws *wsi;
	struct rs_buf body_in;
	struct api_response resp;
	bool too_big;
	bool waiting;            /* the answer waits for the journal */
	export_job *job;         /* a transcript export answers this transaction */
	bool busy;               /* this connection's one request is being answered */
	bool dispatched;         /* ... and was handed to the API */
	bool ignoring;           /* a request pipelined behind it: never answered (we close) */
	bool counted;            /* the refusal is in the metrics */
	bool done;               /* the whole answer is written: close once lws flushed it */
};

struct net {
	/* passed in */
	struct rs_config *cfg;
	/* owned */
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	hub *hub;
	jwriter *jw;
	recorder *rec;
	exporter *exp;           /* transcript exports in child processes */
	struct lws *jwsi;        /* the writer's socket adopted into the loop */
	lws_sorted_usec_list_t hub_sul;
	int64_t hub_due;         /* server time the hub timer is armed for, INT64_MAX: none */
	int udp_fd;              /* the media port (lws watches it; it closes it at the end) */
	struct udpbatch udp_out; /* its sends in this pass of the loop, out with sendmmsg */
	int media_port;
	int tcp_fd;              /* the ICE-TCP listener (lws watches and closes it), -1: none */
	int tcp_port;
	struct lws *tcp_lwsi;    /* the listener in the loop */
	tcplink_table *links;    /* owned: its accepted connections, NULL without ICE-TCP */
	lws_sorted_usec_list_t tcp_sul; /* the links' deadline sweep, armed while any is open */
	bool tcp_sweeping;
	struct api_ctx api;
	static_site *site;       /* the web client's files, read at start */
	uint8_t secret[TOKEN_SECRET_LEN];
	struct lws_dll2_owner conns;
	struct idle_set idle;    /* every open WebSocket's idle deadline */
	/*
	 * Connections given a message in this pass, in the order they were
	 * given one (borrowed; NULL where one closed since): flushed once,
	 * before the loop waits again (flush_dirty).
	 */
	struct ws_conn **dirty;
	size_t n_dirty, cap_dirty;
	uint64_t flush_rand;     /* the rotating start of each flush */
	lws_sorted_usec_list_t lag_sul;
	int64_t lag_due_ms;
	lws_sorted_usec_list_t house_sul;
	revoke_list *revoked;    /* owned: DIR/revoked as last read */
	char iface[INET6_ADDRSTRLEN]; /* the listen address, numeric */
	int64_t wall_base_ms, mono_base_ms;
	bool stopping;
	int64_t stop_deadline;
	/* the loop: libev on epoll through lws' evlib plugin, or lws' own poll() loop */
	struct ev_loop *loop;    /* owned; NULL: lws' default loop */
	ev_prepare before_sleep; /* after_pass() before every wait, as redis' beforeSleep */
	/*
	 * On our loop the hub's timer is a libev timer, not an lws_sul: lws
	 * 4.1's libev plugin re-arms its own timer only from its callbacks, so a
	 * sul scheduled from before_sleep() for sooner than lws' next timer
	 * would fire late (a 20 ms mix tick after a 250 ms one).
	 */
	ev_timer hub_ev;
	ev_timer stop_ev;        /* while stopping: wake every 50 ms to look again */
};

static struct net *the_net;           /* for the signal handler only */
static volatile sig_atomic_t got_signal, got_hup;

/* Server time: wall-clock based but advancing monotonically. */
static int64_t net_now(const struct net *n)
{
	return n->wall_base_ms + (rs_mono_ms() - n->mono_base_ms);
}

/* ---- outgoing queue -------------------------------------------------------- */

/* Asks lws for a writable callback unless one is already on its way. */
static void want_writable(struct ws_conn *c)
{
	if (c->want_write)
		return;
	c->want_write = true;
	lws_callback_on_writable(c->wsi);
}

/* Notes that c has something new to send in this pass (at most once per pass). */
static void mark_dirty(struct net *n, struct ws_conn *c)
{
	if (c->dirty_at)
		return;
	if (n->n_dirty == n->cap_dirty) {
		n->cap_dirty = n->cap_dirty ? n->cap_dirty * 2 : 256;
		n->dirty = rs_realloc(n->dirty, n->cap_dirty * sizeof *n->dirty);
	}
	n->dirty[n->n_dirty++] = c;
	c->dirty_at = n->n_dirty;
}

static void unmark_dirty(struct net *n, struct ws_conn *c)
{
	if (c->dirty_at)
		n->dirty[c->dirty_at - 1] = NULL;
	c->dirty_at = 0;
}

static int io_send(void *ctx, void *transport, rs_msg *m)
{
	struct net *n = ctx;
	struct ws_conn *c = transport;
	if (c->close_code)
		return 0;
	int rc = sendq_push(&c->q, m);
	if (rc == SENDQ_FULL)
		return -1;
	if (rc == SENDQ_REPLACED)
		metrics_add("rostrum_messages_coalesced_total", 1);
	else
		mark_dirty(n, c);
	return 0;
}

static void io_close(void *ctx, void *transport, int code, const char *reason)
{
	(void)ctx;
	struct ws_conn *c = transport;
	if (c->close_code)
		return;
	c->close_code = code;
	rs_strlcpy(c->close_reason, reason, sizeof c->close_reason);
	want_writable(c);
}

#define WRITE_BUDGET_BYTES (256 * 1024) /* per connection per pass, so one reader cannot hog the loop */

/*
 * Hands queued frames to lws while nothing of an earlier one waits in lws'
 * own buffer, up to a budget. lws 4.1.6 (lws_issue_raw): with its buffer
 * empty, lws_write sends what the socket takes and keeps the unsent tail
 * (all of it on EAGAIN) in wsi->buflist_out, asks for POLLOUT itself and
 * returns the whole length; only a broken socket returns less. Stopping at
 * the first buffered tail means lws holds at most one frame beyond the
 * socket, so a slow reader's backlog stays in c->q, under its byte limit.
 * No poll() per frame (lws_send_pipe_choked makes one). -1: close it.
 */
static int write_queue(struct ws_conn *c)
{
	size_t written = 0;
	rs_msg *m;
	while (written < WRITE_BUDGET_BYTES && !lws_partial_buffered(c->wsi) &&
	       (m = sendq_peek(&c->q))) {
		size_t len = rs_msg_len(m);
		int w = lws_write(c->wsi, rs_msg_payload(m), len, LWS_WRITE_TEXT);
		sendq_pop(&c->q);
		if (w < (int)len)
			return -1;
		written += len;
	}
	return 0;
}

/*
 * The writable callback: a close that is due, a ping, or the rest of the
 * queue. Returns -1 to close the connection.
 */
static int ws_writable(struct net *n, struct ws_conn *c)
{
	(void)n;
	c->want_write = false;
	bool flush_first = c->close_code && c->close_code != HUB_CLOSE_SLOW;
	if (c->close_code && (!c->q.len || !flush_first)) {
		lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
				 (unsigned char *)c->close_reason, strlen(c->close_reason));
		return -1;
	}
	if (c->ping_due) {
		/* lws 4.1 tells us of a pong only when it carries a payload */
		unsigned char ping[LWS_PRE + 4] = { [LWS_PRE] = 'i', 'd', 'l', 'e' };
		c->ping_due = false;
		if (lws_write(c->wsi, ping + LWS_PRE, 4, LWS_WRITE_PING) < 4)
			return -1;
		if (c->q.len)
			want_writable(c);
		return 0;
	}
	if (write_queue(c))
		return -1;
	if (c->q.len || c->close_code)
		want_writable(c);
	return 0;
}

/*
 * Writes c's new messages now, outside lws' writable callback, when that is
 * safe: the connection is open, nothing of ours is pending (a close, a
 * ping, a peer's close being answered) and lws holds nothing unsent for it.
 * A fan-out to 5,000 then costs one send() each, not an epoll_ctl to arm
 * POLLOUT, a wake-up, the callback, a poll() and an epoll_ctl to disarm.
 * Anything else waits for the writable callback, as before.
 */
static void ws_flush(struct ws_conn *c)
{
	if (!c->q.len || c->want_write)
		return;
	if (c->close_code || c->ping_due || c->peer_closed || lws_partial_buffered(c->wsi)) {
		want_writable(c);
		return;
	}
	if (write_queue(c)) {
		/* outside its callbacks: lws closes it from its own */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
		return;
	}
	if (c->q.len && !lws_partial_buffered(c->wsi))
		want_writable(c); /* over the budget: the rest when writable */
}

/*
 * Flushes every connection given a message in this pass. The start rotates
 * (a random member each pass) so that no member of a big room is always the
 * last one written to.
 */
static void flush_dirty(struct net *n)
{
	size_t count = n->n_dirty;
	if (!count)
		return;
	n->flush_rand = n->flush_rand * 6364136223846793005ULL + 1442695040888963407ULL;
	size_t start = (size_t)(n->flush_rand >> 33) % count;
	for (size_t i = 0; i < count; i++) {
		struct ws_conn *c = n->dirty[(start + i) % count];
		if (!c)
			continue;
		c->dirty_at = 0;
		ws_flush(c);
	}
	assert(n->n_dirty == count); /* flushing never queues */
	n->n_dirty = 0;
}

/* ---- WebSocket ------------------------------------------------------------- */

static void ws_established(struct net *n, struct ws_conn *c, struct lws *wsi)
{
	memset(c, 0, sizeof *c);
	c->wsi = wsi;
	c->open = true;
	sendq_init(&c->q, (size_t)n->cfg->limits.send_queue_bytes, (size_t)n->cfg->limits.send_queue);
	idle_add(&n->idle, &c->idle, rs_mono_ms());
	lws_dll2_add_tail(&c->node, &n->conns);
	if (n->stopping) {
		io_close(n, c, HUB_CLOSE_GOING_AWAY, "server shutting down");
		return;
	}
	c->hc = hub_conn_open(n->hub, c, net_now(n));
	if (!c->hc)
		io_close(n, c, HUB_CLOSE_TRY_LATER, "server full");
}

static void ws_closed(struct net *n, struct ws_conn *c)
{
	if (!c->open)
		return; /* never established */
	c->open = false;
	unmark_dirty(n, c);
	idle_remove(&n->idle, &c->idle);
	hub_conn_closed(n->hub, c->hc, net_now(n));
	c->hc = NULL;
	sendq_clear(&c->q);
	free(c->rx.p);
	c->rx = (struct rs_buf){ 0 };
	lws_dll2_remove(&c->node);
}

/* Reassembles fragments; hands whole messages to the hub, refuses oversized ones. */
static void ws_receive(struct net *n, struct ws_conn *c, const void *in, size_t len)
{
	struct lws *wsi = c->wsi;
	idle_heard(&c->idle, rs_mono_ms());
	if (!c->hc || c->close_code)
		return;
	if (lws_is_first_fragment(wsi)) {
		c->rx.len = 0;
		c->rx_discard = false;
	}
	if (!c->rx_discard && c->rx.len + len > (size_t)n->cfg->limits.max_message_bytes) {
		c->rx_discard = true;
		metrics_add("rostrum_oversized_messages_total", 1);
		hub_conn_error(n->hub, c->hc, "too_big", "message over the size limit");
		io_close(n, c, HUB_CLOSE_TOO_BIG, "message too big");
	}
	if (!c->rx_discard)
		rs_buf_append(&c->rx, in, len);
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) || c->rx_discard)
		return;
	if (lws_frame_is_binary(wsi))
		hub_conn_binary(n->hub, c->hc, net_now(n));
	else
		hub_conn_input(n->hub, c->hc, c->rx.p ? c->rx.p : "", c->rx.len, net_now(n));
	c->rx.len = 0;
}

static int cb_ws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		 size_t len)
{
	struct net *n = lws_context_user(lws_get_context(wsi));
	struct ws_conn *c = user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		ws_established(n, c, wsi);
		break;
	case LWS_CALLBACK_RECEIVE:
		ws_receive(n, c, in, len);
		break;
	case LWS_CALLBACK_RECEIVE_PONG:
		idle_heard(&c->idle, rs_mono_ms()); /* a browser answers our pings by itself */
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		c->peer_closed = true;
		break;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writable(n, c);
	case LWS_CALLBACK_CLOSED:
		ws_closed(n, c);
		break;
	default:
		break;
	}
	return 0;
}

/* ---- HTTP ------------------------------------------------------------------ */

struct hdr_ctx {
	struct lws *wsi;
	char buf[512];
};

static const char *http_header(void *ctx, const char *name)
{
	struct hdr_ctx *h = ctx;
	if (strcmp(name, "content-language") == 0)
		return lws_hdr_copy(h->wsi, h->buf, sizeof h->buf,
				    WSI_TOKEN_HTTP_CONTENT_LANGUAGE) > 0 ? h->buf : NULL;
	char key[64];
	snprintf(key, sizeof key, "%s:", name);
	int n = lws_hdr_custom_copy(h->wsi, h->buf, sizeof h->buf, key, (int)strlen(key));
	if (n < 0)
		return NULL;
	return h->buf;
}

/* Collects the decoded query arguments into req->args (storage in store). */
static void http_args(struct lws *wsi, struct api_request *req, char *store, size_t cap)
{
	size_t used = 0;
	for (int i = 0; i < API_MAX_ARGS && used < cap; i++) {
		int got = lws_hdr_copy_fragment(wsi, store + used, (int)(cap - used),
						WSI_TOKEN_HTTP_URI_ARGS, i);
		if (got < 0)
			break;
		req->args[req->n_args++] = store + used;
		used += (size_t)got + 1;
	}
}

/*
 * Every API answer carries `Connection: close` and the connection closes
 * once it is sent: the API refuses pipelining the way RFC 9112 section 9.6
 * allows (the client sends what it pipelined again on a new connection).
 * Static files keep lws' own keep-alive.
 */
static int http_send_headers(struct lws *wsi, struct http_tx *tx)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
			*end = buf + sizeof buf - 1;
	if (lws_add_http_common_headers(wsi, (unsigned int)tx->resp.status, tx->resp.content_type,
					tx->resp.body_len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
					(const unsigned char *)"close", 5, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
					(const unsigned char *)"no-store", 8, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	return 0;
}

#define HTTP_SEND_TIMEOUT_S 300 /* a big export to a slow phone; then the connection goes */

/*
 * Writes the whole answer at once, before lws can parse anything pipelined
 * behind the request (which would rebind the protocol and lose writability).
 * Returns -1 when it is all sent (the caller closes the connection), or 0
 * when lws keeps part of it: the writable callback after lws has sent the
 * rest closes the connection then.
 */
static int http_respond(struct lws *wsi, struct http_tx *tx)
{
	if (http_send_headers(wsi, tx))
		return -1;
	unsigned char *buf = rs_malloc(LWS_PRE + tx->resp.body_len);
	if (tx->resp.body_len)
		memcpy(buf + LWS_PRE, tx->resp.body, tx->resp.body_len);
	int w = lws_write(wsi, buf + LWS_PRE, tx->resp.body_len, LWS_WRITE_HTTP_FINAL);
	free(buf);
	tx->done = true;
	if (w < 0 || !lws_partial_buffered(wsi))
		return -1;
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, HTTP_SEND_TIMEOUT_S);
	lws_callback_on_writable(wsi);
	return 0;
}

/* Runs the API for the current request and starts the response. */
static int http_dispatch(struct net *n, struct lws *wsi, struct http_tx *tx, const char *method)
{
	char path[512], args[2048];
	struct hdr_ctx hc = { .wsi = wsi };
	struct api_request req = { .method = method, .path = path, .header = http_header,
				   .header_ctx = &hc, .waiter = tx };
	if (lws_hdr_copy(wsi, path, sizeof path,
			 strcmp(method, "POST") == 0 ? WSI_TOKEN_POST_URI : WSI_TOKEN_GET_URI) < 0)
		rs_strlcpy(path, "/", sizeof path);
	http_args(wsi, &req, args, sizeof args);
	tx->dispatched = true;
	req.body = tx->body_in.p;
	req.body_len = tx->body_in.len;
	if (tx->too_big) {
		tx->resp = (struct api_response){ .status = 413, .content_type = "text/plain",
						  .body = rs_strdup("request body too large\n") };
		tx->resp.body_len = strlen(tx->resp.body);
	} else {
		tx->wsi = wsi;
		api_handle(&n->api, &req, net_now(n), &tx->resp);
	}
	if (tx->resp.export) { /* the exporter answers, streaming from a child process */
		int r = exporter_begin(n->exp, wsi, tx->resp.export, &tx->job);
		api_response_free(&tx->resp);
		tx->resp = (struct api_response){ 0 };
		return r;
	}
	if (tx->resp.deferred) {
		tx->waiting = true; /* http_acked() answers once the journal says so */
		return 0;
	}
	if (tx->resp.file) { /* lws sends it a chunk per writable callback, as static files */
		int r = lws_serve_http_file(wsi, tx->resp.file, tx->resp.content_type, NULL, 0);
		return r != 0 ? -1 : 0; /* > 0: all sent already; one answer per connection */
	}
	return http_respond(wsi, tx);
}

/* recorder_ack_fn for deferred HTTP answers: what the software sent is durable (or never will be). */
static void http_acked(void *waiter, int status)
{
	struct http_tx *tx = waiter;
	if (!tx->waiting)
		return;
	tx->waiting = false;
	if (status != RECORDER_OK) {
		api_response_free(&tx->resp);
		tx->resp.status = 503;
		tx->resp.body = rs_strdup("storage_unavailable: the transcript store is failing\n");
		tx->resp.body_len = strlen(tx->resp.body);
	}
	/* Outside the connection's callbacks: lws closes it from its own. */
	if (http_respond(tx->wsi, tx))
		lws_set_timeout(tx->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
}

static void http_tx_reset(struct net *n, struct http_tx *tx)
{
	if (tx->waiting)
		recorder_cancel(n->rec, tx);
	exporter_abort(n->exp, tx->job);
	free(tx->body_in.p);
	api_response_free(&tx->resp);
	memset(tx, 0, sizeof *tx);
}

/*
 * One request per connection for the API. lws 4.1 parses what a client
 * pipelines behind a request as soon as the first is read, rebinding the
 * protocol (which frees its per-session data) and, after a POST, replaying
 * the buffered request forever; and rx flow control would stop its HTTP
 * writes too. So the transaction lives in the connection's opaque pointer,
 * out of lws' reach; a request that arrives while one is being answered is
 * ignored, and the answer carries `Connection: close` (http_send_headers) and
 * closes the connection once sent: RFC 9112 section 9.6 lets the client send
 * the rest again on a new connection.
 */
static struct http_tx *http_tx_of(struct lws *wsi, bool create)
{
	struct http_tx *tx = lws_get_opaque_user_data(wsi);
	if (!tx && create) {
		tx = rs_calloc(1, sizeof *tx);
		lws_set_opaque_user_data(wsi, tx);
	}
	return tx;
}

static void http_tx_free(struct net *n, struct lws *wsi)
{
	struct http_tx *tx = http_tx_of(wsi, false);
	if (!tx)
		return;
	http_tx_reset(n, tx);
	free(tx);
	lws_set_opaque_user_data(wsi, NULL);
}

/* LWS_CALLBACK_HTTP: a request's headers are in. */
static int http_begin(struct net *n, struct lws *wsi)
{
	struct http_tx *tx = http_tx_of(wsi, true);
	if (tx->busy) {
		tx->ignoring = true;
		if (!tx->counted)
			metrics_add("rostrum_http_pipelined_refused_total", 1);
		tx->counted = true;
		return 0;
	}
	tx->busy = true;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI))
		return 0; /* wait for the body */
	return http_dispatch(n, wsi, tx, "GET");
}

static void http_body(struct lws *wsi, const void *in, size_t len)
{
	struct http_tx *tx = http_tx_of(wsi, false);
	if (!tx || tx->ignoring || tx->dispatched)
		return;
	if (tx->body_in.len + len > API_MAX_BODY)
		tx->too_big = true;
	else
		rs_buf_append(&tx->body_in, in, len);
}

static int http_body_done(struct net *n, struct lws *wsi)
{
	struct http_tx *tx = http_tx_of(wsi, false);
	if (!tx || tx->ignoring || tx->dispatched)
		return 0;
	return http_dispatch(n, wsi, tx, "POST");
}

/* An export's piece; once it is complete, the connection closes as after any API answer. */
static int http_export_writable(struct net *n, struct lws *wsi, struct http_tx *tx)
{
	int r = exporter_writable(n->exp, &tx->job);
	if (r <= 0)
		return r;
	tx->done = true;
	if (!lws_partial_buffered(wsi))
		return -1;
	lws_set_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, HTTP_SEND_TIMEOUT_S);
	lws_callback_on_writable(wsi);
	return 0;
}

static int cb_http(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		   size_t len)
{
	struct net *n = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return http_begin(n, wsi);
	case LWS_CALLBACK_HTTP_BODY:
		http_body(wsi, in, len);
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return http_body_done(n, wsi);
	case LWS_CALLBACK_HTTP_WRITEABLE: /* an export's next piece, or lws has sent what it kept */
		if (http_tx_of(wsi, false) && http_tx_of(wsi, false)->job)
			return http_export_writable(n, wsi, http_tx_of(wsi, false));
		return http_tx_of(wsi, false) && http_tx_of(wsi, false)->done ? -1 : 0;
	case LWS_CALLBACK_HTTP_FILE_COMPLETION:
		if (http_tx_of(wsi, false))
			return -1; /* a recording download: one answer per connection, as the API */
		/* a static file: lws keeps the connection for the next GET */
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_WSI_DESTROY:
		http_tx_free(n, wsi);
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		/* A WebSocket without our subprotocol lands on the default protocol. */
		lws_close_reason(wsi, (enum lws_close_status)HUB_CLOSE_SUBPROTOCOL,
				 (unsigned char *)"subprotocol " WS_SUBPROTOCOL " required", 30);
		return -1;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

/* ---- the journal writer's socket ------------------------------------------- */

static int cb_journal(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		      size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	struct net *n = lws_context_user(lws_get_context(wsi));
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (n->jw && jwriter_on_readable(n->jw) == JWRITER_EDEAD) {
			rs_log(RS_LOG_ERR, "the journal writer died: captions are no longer acknowledged");
			n->jwsi = NULL;
			return -1;
		}
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (n->jw && jwriter_on_writable(n->jw) == JWRITER_EDEAD) {
			n->jwsi = NULL;
			return -1;
		}
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		n->jwsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static void jw_durable(void *ctx, uint64_t ticket)
{
	struct net *n = ctx;
	recorder_on_durable(n->rec, ticket);
}

static void jw_state(void *ctx, enum jwriter_state state, int sys_errno)
{
	(void)ctx;
	if (state == JWRITER_HEALTHY)
		rs_log(RS_LOG_INFO, "journal writes succeed again");
	else
		rs_log(RS_LOG_ERR, "journal: %s (%s): acknowledgements stop until it recovers",
		       jwriter_state_name(state), sys_errno ? strerror(sys_errno) : "");
}

/* ---- the media port ---------------------------------------------------------- */

#define MEDIA_BATCH 64 /* datagrams read per wake-up before other sockets get a turn */
#define MEDIA_RECV_BATCH 32 /* datagrams per recvmmsg */

static void tcp_send(struct net *n, const struct sockaddr *to, socklen_t to_len, const uint8_t *buf,
		     size_t len);

/* The hub's media_peer: who really stands behind an ICE-TCP link's synthetic address. */
static bool io_media_peer(void *ctx, const struct sockaddr *from, socklen_t from_len,
			  struct sockaddr_storage *out)
{
	struct net *n = ctx;
	return n->links && tcplink_peer(n->links, from, from_len, out);
}

/* The hub's send_udp: a synthetic 100::/64 destination is an ICE-TCP link, anything else UDP. */
static void io_send_udp(void *ctx, const struct sockaddr *to, socklen_t to_len, const uint8_t *buf,
			size_t len)
{
	struct net *n = ctx;
	if (tcplink_is_address(to, to_len)) {
		tcp_send(n, to, to_len, buf, len);
		return;
	}
	udpbatch_add(&n->udp_out, to, to_len, buf, len);
}

/* Sends the pass's queued datagrams; a full socket buffer drops some, as UDP does. */
static void flush_udp(struct net *n)
{
	if (!n->udp_out.n)
		return;
	int dropped = udpbatch_flush(&n->udp_out);
	if (dropped)
		metrics_add("rostrum_media_send_errors_total", (uint64_t)dropped);
}

static int cb_media(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		    size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	struct net *n = lws_context_user(lws_get_context(wsi));
	if (reason != LWS_CALLBACK_RAW_RX_FILE)
		return 0;
	/* One recvmmsg per batch: a wake-up with 32 datagrams waiting costs one system call, not 32. */
	static uint8_t bufs[MEDIA_RECV_BATCH][2048];
	struct sockaddr_storage from[MEDIA_RECV_BATCH];
	struct iovec iov[MEDIA_RECV_BATCH];
	struct mmsghdr mm[MEDIA_RECV_BATCH];
	for (int round = 0; round < MEDIA_BATCH / MEDIA_RECV_BATCH; round++) {
		for (int i = 0; i < MEDIA_RECV_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof bufs[i] };
			mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &from[i],
				.msg_namelen = sizeof from[i], .msg_iov = &iov[i], .msg_iovlen = 1 } };
		}
		int got = recvmmsg(n->udp_fd, mm, MEDIA_RECV_BATCH, MSG_DONTWAIT, NULL);
		if (got <= 0)
			break;
		int64_t now = net_now(n);
		for (int i = 0; i < got; i++)
			hub_media_input(n->hub, now, bufs[i], mm[i].msg_len,
					(struct sockaddr *)&from[i], mm[i].msg_hdr.msg_namelen);
		if (got < MEDIA_RECV_BATCH)
			break;
	}
	flush_udp(n);
	return 0;
}

/* The announced address (candidates name it, so the media sockets bind it), any when unparsable. */
static struct sockaddr_in media_address(const struct net *n, int port)
{
	const struct config_rtc *r = &n->cfg->rtc;
	const char *ip = r->announce ? r->announce : n->cfg->listen_host;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
		sa.sin_addr.s_addr = htonl(INADDR_ANY);
	return sa;
}

/*
 * Puts a bound media socket into the loop under protocol; *port gets the
 * port it is bound to. NULL (the fd closed by lws) when lws refuses it.
 */
static struct lws *watch_media_socket(struct net *n, int fd, const char *protocol, int *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	*port = ntohs(sa.sin_port);
	lws_sock_file_fd_type d;
	d.filefd = fd;
	return lws_adopt_descriptor_vhost(n->vhost, LWS_ADOPT_RAW_FILE_DESC, d, protocol, NULL);
}

/* Binds the first free port of the configured range on the announced address. */
static int bind_media(struct net *n)
{
	const struct config_rtc *r = &n->cfg->rtc;
	struct sockaddr_in sa = media_address(n, 0);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	for (int port = r->udp_port_min; port <= r->udp_port_max; port++) {
		sa.sin_port = htons((uint16_t)port);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0)
			return fd;
	}
	close(fd);
	return -1;
}

static void open_media(struct net *n)
{
	n->udp_fd = bind_media(n);
	udpbatch_init(&n->udp_out, n->udp_fd);
	if (n->udp_fd < 0) {
		rs_log(RS_LOG_ERR, "no UDP port for audio (%s)", strerror(errno));
		return;
	}
	int port;
	if (!watch_media_socket(n, n->udp_fd, "rostrum-media", &port)) {
		rs_log(RS_LOG_ERR, "cannot watch the audio port");
		return;
	}
	n->media_port = port;
	hub_media_port(n->hub, n->media_port);
}

/* ---- the ICE-TCP port ------------------------------------------------------------ */

/*
 * Passive ICE-TCP (RFC 6544) for participants whose networks let no UDP
 * through: a listening socket on the announced address and its accepted
 * connections, all raw descriptors in this loop. tcplink holds the state;
 * here are only the socket calls. Each link's packets reach the hub from its
 * synthetic address, so ICE, DTLS and the transport treat it as one more
 * UDP peer.
 */

#define TCP_ACCEPT_BATCH 32   /* connections accepted per wake-up */
#define TCP_READ_BATCH 8      /* reads per wake-up of one link before others get a turn */
#define TCP_SWEEP_MS 1000     /* how often link deadlines are checked */
#define TCP_EXPIRE_BATCH 64

static int link_id(struct lws *wsi)
{
	return (int)(intptr_t)lws_get_opaque_user_data(wsi) - 1;
}

static void tcp_gauge(struct net *n)
{
	metrics_set("rostrum_media_tcp_links", (double)tcplink_count(n->links));
}

static void tcp_send(struct net *n, const struct sockaddr *to, socklen_t to_len, const uint8_t *buf,
		     size_t len)
{
	int id = n->links ? tcplink_lookup(n->links, to, to_len) : TCPLINK_E_STALE;
	int rc = id < 0 ? id : tcplink_queue(n->links, id, buf, len);
	if (rc == TCPLINK_OK) {
		lws_callback_on_writable(tcplink_sock(n->links, id));
		return;
	}
	/* Audio prefers loss to delay: a full buffer drops the packet, as a full UDP buffer does. */
	metrics_add(rc == TCPLINK_E_OVERFLOW ? "rostrum_media_tcp_frames_dropped_total{reason=\"full\"}"
		    : rc == TCPLINK_E_STALE ? "rostrum_media_tcp_frames_dropped_total{reason=\"closed\"}"
		    : "rostrum_media_tcp_frames_dropped_total{reason=\"too_big\"}", 1);
}

static void tcp_packet(void *ctx, uint8_t *pkt, size_t len, const struct sockaddr *from,
		       socklen_t from_len)
{
	struct net *n = ctx;
	hub_media_input(n->hub, net_now(n), pkt, len, from, from_len);
}

/* Reads what arrived on a link; -1 closes it (end of stream, error, or a broken frame). */
static int link_readable(struct net *n, struct lws *wsi, int id)
{
	uint8_t buf[4096];
	for (int i = 0; i < TCP_READ_BATCH; i++) {
		ssize_t r = recv(lws_get_socket_fd(wsi), buf, sizeof buf, 0);
		if (r == 0)
			return -1;
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
		int rc = tcplink_input(n->links, id, net_now(n), buf, (size_t)r, tcp_packet, n);
		if (rc == TCPLINK_E_BROKEN)
			metrics_add("rostrum_media_tcp_bad_frames_total", 1);
		if (rc != TCPLINK_OK)
			return -1;
	}
	return 0;
}

/* One write per callback; a partial write leaves the rest for the next. */
static int link_writable(struct net *n, struct lws *wsi, int id)
{
	size_t len;
	const uint8_t *p = tcplink_pending(n->links, id, &len);
	if (!len)
		return 0;
	ssize_t w = send(lws_get_socket_fd(wsi), p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -1;
	if (w > 0)
		tcplink_consume(n->links, id, (size_t)w);
	if (w < 0 || (size_t)w < len)
		lws_callback_on_writable(wsi);
	return 0;
}

static int cb_tcp_link(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	struct net *n = lws_context_user(lws_get_context(wsi));
	int id = link_id(wsi);
	if (id < 0 || !n->links)
		return 0; /* not yet a link: the adoption is still under way */
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		return link_readable(n, wsi, id);
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		return link_writable(n, wsi, id);
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		lws_set_opaque_user_data(wsi, NULL);
		tcplink_close(n->links, id);
		metrics_add("rostrum_media_tcp_links_closed_total", 1);
		tcp_gauge(n);
		break;
	default:
		break;
	}
	return 0;
}

/* Closes the links whose deadline passed; runs every TCP_SWEEP_MS while links or a pause exist. */
static void tcp_sweep(lws_sorted_usec_list_t *sul)
{
	struct net *n = lws_container_of(sul, struct net, tcp_sul);
	int ids[TCP_EXPIRE_BATCH];
	enum tcplink_expiry why[TCP_EXPIRE_BATCH];
	size_t k = tcplink_expired(n->links, net_now(n), ids, why, TCP_EXPIRE_BATCH);
	for (size_t i = 0; i < k; i++) {
		metrics_add(why[i] == TCPLINK_NO_ICE
			    ? "rostrum_media_tcp_links_expired_total{reason=\"no_ice\"}"
			    : "rostrum_media_tcp_links_expired_total{reason=\"idle\"}", 1);
		/* Outside the link's own callbacks, so closing now is safe. */
		lws_set_timeout(tcplink_sock(n->links, ids[i]), PENDING_TIMEOUT_USER_OK,
				LWS_TO_KILL_SYNC);
	}
	if (n->tcp_lwsi)
		lws_rx_flow_control(n->tcp_lwsi, 1); /* resume accepting after running out of descriptors */
	n->tcp_sweeping = tcplink_count(n->links) > 0;
	if (n->tcp_sweeping)
		lws_sul_schedule(n->ctx, 0, &n->tcp_sul, tcp_sweep, TCP_SWEEP_MS * LWS_US_PER_MS);
}

static void tcp_arm_sweep(struct net *n)
{
	if (n->tcp_sweeping)
		return;
	n->tcp_sweeping = true;
	lws_sul_schedule(n->ctx, 0, &n->tcp_sul, tcp_sweep, TCP_SWEEP_MS * LWS_US_PER_MS);
}

/* Takes one accepted connection into the loop as a link, or refuses it. */
static void tcp_adopt(struct net *n, int fd, const struct sockaddr *peer)
{
	if (tcplink_count(n->links) >= TCPLINK_MAX) {
		close(fd);
		metrics_add("rostrum_media_tcp_links_refused_total", 1);
		return;
	}
	/* Small audio packets must leave at once, not wait for Nagle's algorithm. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	lws_sock_file_fd_type d;
	d.filefd = fd;
	struct lws *wsi = lws_adopt_descriptor_vhost(n->vhost, LWS_ADOPT_RAW_FILE_DESC, d,
						     "rostrum-ice-tcp", NULL);
	if (!wsi) { /* lws closed fd */
		metrics_add("rostrum_media_tcp_links_refused_total", 1);
		return;
	}
	int id = tcplink_open(n->links, net_now(n), peer, wsi);
	if (id < 0) { /* too many from this address still waiting for ICE */
		metrics_add("rostrum_media_tcp_links_refused_total", 1);
		lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return;
	}
	lws_set_opaque_user_data(wsi, (void *)(intptr_t)(id + 1));
	metrics_add("rostrum_media_tcp_links_accepted_total", 1);
	tcp_gauge(n);
	tcp_arm_sweep(n);
}

/* accept() until the backlog is empty (or a batch is done: the loop serves others too). */
static void tcp_accept(struct net *n)
{
	for (int i = 0; i < TCP_ACCEPT_BATCH; i++) {
		struct sockaddr_storage peer;
		socklen_t pl = sizeof peer;
		int fd = accept4(n->tcp_fd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			tcp_adopt(n, fd, (struct sockaddr *)&peer);
			continue;
		}
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			/* The backlog stays readable: stop polling it until the next sweep. */
			metrics_add("rostrum_media_tcp_accept_errors_total", 1);
			lws_rx_flow_control(n->tcp_lwsi, 0);
			tcp_arm_sweep(n);
		}
		return; /* EAGAIN: drained; ECONNABORTED and the like: try at the next wake-up */
	}
}

static int cb_tcp_port(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		       size_t len)
{
	(void)user;
	(void)in;
	(void)len;
	struct net *n = lws_context_user(lws_get_context(wsi));
	if (reason == LWS_CALLBACK_RAW_RX_FILE && n->tcp_lwsi == wsi)
		tcp_accept(n);
	else if (reason == LWS_CALLBACK_RAW_CLOSE_FILE && n->tcp_lwsi == wsi)
		n->tcp_lwsi = NULL;
	return 0;
}

/* A non-blocking listening socket on the announced address, like the media port. */
static int bind_ice_tcp(struct net *n)
{
	struct sockaddr_in sa = media_address(n, n->cfg->rtc.tcp_port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1; /* a restart must not wait for the last run's connections to time out */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 128) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void open_ice_tcp(struct net *n)
{
	if (!n->cfg->rtc.ice_tcp)
		return;
	n->tcp_fd = bind_ice_tcp(n);
	if (n->tcp_fd < 0) {
		rs_log(RS_LOG_ERR, "no TCP port for ICE-TCP audio (%s): UDP only", strerror(errno));
		return;
	}
	int port;
	n->tcp_lwsi = watch_media_socket(n, n->tcp_fd, "rostrum-ice-tcp-port", &port);
	if (!n->tcp_lwsi) {
		n->tcp_fd = -1;
		rs_log(RS_LOG_ERR, "cannot watch the ICE-TCP port: UDP only");
		return;
	}
	n->links = tcplink_create(TCPLINK_MAX);
	n->tcp_port = port;
	hub_media_tcp_port(n->hub, n->tcp_port);
}

/* ---- the hub's timer -------------------------------------------------------- */

static void hub_timer(lws_sorted_usec_list_t *sul)
{
	struct net *n = lws_container_of(sul, struct net, hub_sul);
	n->hub_due = INT64_MAX;
	hub_tick(n->hub, net_now(n));
	flush_udp(n);
}

static void hub_ev_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	struct net *n = w->data;
	n->hub_due = INT64_MAX;
	hub_tick(n->hub, net_now(n));
	flush_udp(n);
}

/* Arms the hub's one timer wait ms from now (INT64_MAX: none). */
static void arm_hub_timer(struct net *n, int64_t due)
{
	int64_t wait = due - net_now(n);
	wait = wait > 0 ? wait : 0;
	if (n->loop) {
		ev_timer_stop(n->loop, &n->hub_ev);
		if (due == INT64_MAX)
			return;
		ev_now_update(n->loop); /* libev counts from the start of the pass otherwise */
		ev_timer_set(&n->hub_ev, (double)wait / 1000.0, 0);
		ev_timer_start(n->loop, &n->hub_ev);
		return;
	}
	if (due == INT64_MAX)
		lws_sul_cancel(&n->hub_sul);
	else
		lws_sul_schedule(n->ctx, 0, &n->hub_sul, hub_timer, (lws_usec_t)wait * LWS_US_PER_MS);
}

/* After every loop pass: arm one timer at the hub's next deadline, kick the journal socket. */
static void after_pass(struct net *n)
{
	flush_dirty(n);
	flush_udp(n);
	int64_t due = hub_next_deadline(n->hub);
	if (due != n->hub_due) {
		n->hub_due = due;
		arm_hub_timer(n, due);
	}
	if (n->jwsi && jwriter_want_write(n->jw))
		lws_callback_on_writable(n->jwsi);
}

/* ---- timers and signals ---------------------------------------------------- */

/* Measures how late the loop runs a timer that should fire every LAG_PERIOD_MS. */
static void lag_tick(lws_sorted_usec_list_t *sul)
{
	struct net *n = lws_container_of(sul, struct net, lag_sul);
	int64_t now = rs_mono_ms();
	double lag = (double)(now - n->lag_due_ms);
	n->api.loop_lag_ms = lag < 0 ? 0 : lag;
	metrics_set("rostrum_loop_lag_ms", n->api.loop_lag_ms);
	if (n->api.loop_lag_ms > metrics_get("rostrum_loop_lag_max_ms"))
		metrics_set("rostrum_loop_lag_max_ms", n->api.loop_lag_ms);
	n->lag_due_ms = now + LAG_PERIOD_MS;
	lws_sul_schedule(n->ctx, 0, &n->lag_sul, lag_tick, LAG_PERIOD_MS * LWS_US_PER_MS);
}

static void stop_poll(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop; /* only wakes the loop so that before_sleep() looks again */
	(void)w;
	(void)revents;
}

/* Ends the connections that joined with a token now on the revocation list. */
static void close_revoked(struct net *n)
{
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&n->conns)) {
		struct ws_conn *c = lws_container_of(d, struct ws_conn, node);
		const char *id = hub_conn_token_id(c->hc);
		if (id && !c->close_code && revoke_has(n->revoked, id)) {
			rs_log(RS_LOG_INFO, "token %s revoked: closing its connection", id);
			metrics_add("rostrum_revoked_closes_total", 1);
			hub_conn_error(n->hub, c->hc, "token_revoked", "the join token was revoked");
			io_close(n, c, HUB_CLOSE_REVOKED, "token revoked");
		}
	} lws_end_foreach_dll(d);
}

/* Rereads DIR/revoked when it changed (one stat() otherwise). */
static void refresh_revocations(struct net *n)
{
	int rc = revoke_refresh(n->revoked);
	if (rc < 0) {
		static int warned;
		if (!warned++)
			rs_log(RS_LOG_WARN, "%s/%s: %s (the last good list stays in force)",
			       n->cfg->data_dir, REVOKE_FILE, revoke_strerror(rc));
		return;
	}
	if (rc == 1) {
		rs_log(RS_LOG_INFO, "revocation list: %zu tokens", revoke_count(n->revoked));
		close_revoked(n);
	}
}

/*
 * Pings WebSockets quiet for a third of idle_timeout_s, and closes those that
 * sent nothing, not even the pong every browser answers by itself, for all of
 * it. Only connections whose own deadline has come are looked at (idle.h).
 */
static void close_idle(struct net *n)
{
	enum idle_action act;
	struct idle_entry *e;
	while ((e = idle_poll(&n->idle, rs_mono_ms(), &act))) {
		struct ws_conn *c = lws_container_of(e, struct ws_conn, idle);
		if (c->close_code)
			continue;
		if (act == IDLE_PING) {
			c->ping_due = true;
			want_writable(c);
			continue;
		}
		metrics_add("rostrum_idle_closes_total", 1);
		io_close(n, c, HUB_CLOSE_IDLE, "idle timeout");
		/* a peer that does not read either never takes the close frame */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, 5);
	}
}

static void housekeeping(lws_sorted_usec_list_t *sul)
{
	struct net *n = lws_container_of(sul, struct net, house_sul);
	refresh_revocations(n);
	close_idle(n);
	lws_sul_schedule(n->ctx, 0, &n->house_sul, housekeeping, HOUSEKEEPING_MS * LWS_US_PER_MS);
}

static bool is_revoked(void *ctx, const char *id)
{
	struct net *n = ctx;
	return revoke_has(n->revoked, id);
}

static void on_hup(int sig)
{
	(void)sig;
	got_hup = 1;
	if (the_net && the_net->ctx)
		lws_cancel_service(the_net->ctx);
}

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
	if (the_net && the_net->ctx)
		lws_cancel_service(the_net->ctx);
}

static void begin_shutdown(struct net *n)
{
	n->stopping = true;
	n->stop_deadline = rs_mono_ms() + SHUTDOWN_GRACE_MS;
	rs_log(RS_LOG_INFO, "shutting down: closing %u connections", n->conns.count);
	lws_start_foreach_dll(struct lws_dll2 *, d, lws_dll2_get_head(&n->conns)) {
		struct ws_conn *c = lws_container_of(d, struct ws_conn, node);
		io_close(n, c, HUB_CLOSE_GOING_AWAY, "server shutting down");
	} lws_end_foreach_dll(d);
}

/* ---- setup ----------------------------------------------------------------- */

static int cb_static(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
		     size_t len)
{
	struct net *n = lws_context_user(lws_get_context(wsi));
	return static_http(n->site, wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "http", cb_http, 0, 0, 0, NULL, 0 }, /* state: http_tx_of() */
	{ "rostrum-static", cb_static, sizeof(struct static_tx), 0, 0, NULL, 0 },
	/* tx_packet_size: a frame up to 64 KiB (a big room's snapshot) goes to send() whole */
	{ WS_SUBPROTOCOL, cb_ws, sizeof(struct ws_conn), 4096, 0, NULL, WS_TX_PACKET },
	{ "rostrum-journal", cb_journal, 0, 0, 0, NULL, 0 },
	{ EXPORTER_PROTOCOL, exporter_pipe_cb, 0, 0, 0, NULL, 0 },
	{ "rostrum-media", cb_media, 0, 0, 0, NULL, 0 },
	{ "rostrum-ice-tcp-port", cb_tcp_port, 0, 0, 0, NULL, 0 },
	{ "rostrum-ice-tcp", cb_tcp_link, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static struct lws_http_mount mounts[5];

static void setup_mounts(void)
{
	static const char *const api_paths[] = { "/healthz", "/metrics", "/caption", "/api" };
	/* lws lets the last matching callback mount win, whatever its length: "/" goes first. */
	mounts[0] = (struct lws_http_mount){ .mount_next = &mounts[1], .mountpoint = "/",
		.origin = "rostrum-static", .origin_protocol = LWSMPRO_CALLBACK, .mountpoint_len = 1 };
	for (size_t i = 0; i < RS_ARRAY_LEN(api_paths); i++)
		mounts[i + 1] = (struct lws_http_mount){
			.mount_next = i + 1 < RS_ARRAY_LEN(api_paths) ? &mounts[i + 2] : NULL,
			.mountpoint = api_paths[i], .origin = "http",
			.origin_protocol = LWSMPRO_CALLBACK,
			.mountpoint_len = (unsigned char)strlen(api_paths[i]) };
}

static void print_banner(struct net *n)
{
	int port = lws_get_vhost_listen_port(n->vhost);
	const char *scheme = n->cfg->tls_cert ? "https" : "http";
	printf("rostrum %s listening on %s://%s:%d/\n", RS_VERSION, scheme, n->cfg->listen_host, port);
	if (n->media_port)
		printf("audio on udp %s:%d\n", n->cfg->rtc.announce ? n->cfg->rtc.announce
				: n->cfg->listen_host, n->media_port);
	if (n->tcp_port)
		printf("audio on tcp %s:%d (ICE-TCP)\n", n->cfg->rtc.announce ? n->cfg->rtc.announce
				: n->cfg->listen_host, n->tcp_port);
	for (size_t i = 0; i < n->cfg->n_rooms; i++)
		if (n->cfg->rooms[i].open)
			printf("open room '%s': %s://%s:%d/?room=%s\n", n->cfg->rooms[i].id, scheme,
			       n->cfg->listen_host, port, n->cfg->rooms[i].id);
	fflush(stdout);
}

/*
 * Security headers on every HTTP answer. Like lws' own best-practice set, but
 * media-src allows the transcript's WebVTT as a <track> and audio streams.
 */
static const struct lws_protocol_vhost_options hdr_referrer = {
	NULL, NULL, "referrer-policy:", "no-referrer" };
static const struct lws_protocol_vhost_options hdr_frame = {
	&hdr_referrer, NULL, "x-frame-options:", "deny" };
static const struct lws_protocol_vhost_options hdr_nosniff = {
	&hdr_frame, NULL, "x-content-type-options:", "nosniff" };
static const struct lws_protocol_vhost_options hdr_csp = {
	&hdr_nosniff, NULL, "content-security-policy:",
	"default-src 'none'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
	"connect-src 'self' ws: wss:; media-src 'self' blob:; frame-ancestors 'none'; "
	"base-uri 'none'; form-action 'self'" };

/* ROSTRUM_LOOP=poll keeps lws' own poll() loop (for comparison); epoll is the default. */
static bool use_epoll(void)
{
	const char *v = getenv("ROSTRUM_LOOP");
	return !v || strcmp(v, "poll") != 0;
}

/*
 * The lws context on a libev loop of ours ("foreign" to lws) on the epoll
 * backend: lws loads its libev plugin (libwebsockets-evlib_ev.so, Debian's
 * libwebsockets-evlib-ev) and registers its sockets and timers with the
 * loop; the loop is ours, so the before-sleep hook is a plain ev_prepare.
 * NULL (the loop freed) when the plugin or epoll is unavailable.
 */
static struct lws_context *create_ev_context(struct net *n, struct lws_context_creation_info *info)
{
	n->loop = ev_loop_new(EVBACKEND_EPOLL | EVFLAG_NOENV | EVFLAG_NOSIGMASK);
	if (!n->loop) {
		rs_log(RS_LOG_WARN, "no epoll event loop: using poll()");
		return NULL;
	}
	void *loops[1] = { n->loop };
	info->foreign_loops = loops;
	info->options |= LWS_SERVER_OPTION_LIBEV;
	struct lws_context *ctx = lws_create_context(info);
	info->foreign_loops = NULL;
	info->options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
	if (!ctx) {
		rs_log(RS_LOG_WARN, "the libwebsockets libev plugin is unavailable: using poll()");
		ev_loop_destroy(n->loop);
		n->loop = NULL;
	}
	return ctx;
}

static int create_context(struct net *n)
{
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = n->cfg->port;
	info.iface = n->iface[0] ? n->iface : NULL;
	info.protocols = protocols;
	info.mounts = mounts;
	info.user = n;
	info.vhost_name = "rostrum";
	info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	info.headers = &hdr_csp;
	info.fd_limit_per_thread = (unsigned int)n->cfg->limits.max_connections + 256 +
				   (n->cfg->rtc.ice_tcp ? TCPLINK_MAX : 0);
	if (n->cfg->tls_cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = n->cfg->tls_cert;
		info.ssl_private_key_filepath = n->cfg->tls_key;
	}
	n->ctx = use_epoll() ? create_ev_context(n, &info) : NULL;
	if (!n->ctx)
		n->ctx = lws_create_context(&info);
	if (!n->ctx)
		return -1;
	n->vhost = lws_create_vhost(n->ctx, &info);
	return n->vhost ? 0 : -1;
}

/*
 * The listen address as a number lws binds exactly. lws treats an address it
 * cannot bind as "any", so an address this host does not have is refused
 * here, before anything listens. A wildcard host listens on every address.
 */
static int resolve_listen(struct net *n, char *err, size_t errlen)
{
	const char *host = n->cfg->listen_host;
	if (!host || !host[0] || strcmp(host, "*") == 0)
		return 0;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai;
	int rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc != 0) {
		snprintf(err, errlen, "%s is not an address or host name (%s)", host, gai_strerror(rc));
		return -1;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ok = fd >= 0 && bind(fd, ai->ai_addr, ai->ai_addrlen) == 0;
	int e = errno;
	if (fd >= 0)
		close(fd);
	const void *addr = ai->ai_family == AF_INET6
		? (const void *)&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr
		: (const void *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	inet_ntop(ai->ai_family, addr, n->iface, sizeof n->iface);
	freeaddrinfo(ai);
	if (!ok) {
		snprintf(err, errlen, "%s is not an address of this host (%s)", host, strerror(e));
		return -1;
	}
	return 0;
}

/* Starts the journal writer (before any lws state exists: it forks) and recovers journals. */
static int start_journal(struct net *n)
{
	struct jwriter_listener l = { .on_durable = jw_durable, .on_state = jw_state, .ctx = n };
	int err;
	n->jw = jwriter_start(&l, NULL, &err);
	if (!n->jw) {
		fprintf(stderr, "rostrum: cannot start the journal writer: %s\n", jwriter_strerror(err));
		return -1;
	}
	n->rec = recorder_create(n->cfg->data_dir, n->jw);
	char msg[512];
	if (recorder_recover_all(n->rec, msg, sizeof msg) != RECORDER_OK) {
		fprintf(stderr, "rostrum: %s\n", msg);
		return -1;
	}
	return 0;
}

static void adopt_journal(struct net *n)
{
	lws_sock_file_fd_type fd;
	/* lws closes what it adopts; the writer's handle keeps its own descriptor. */
	fd.filefd = dup(jwriter_fd(n->jw));
	n->jwsi = lws_adopt_descriptor_vhost(n->vhost, LWS_ADOPT_RAW_FILE_DESC, fd,
					     "rostrum-journal", NULL);
	if (!n->jwsi)
		rs_log(RS_LOG_ERR, "cannot watch the journal writer: acknowledgements will stall");
}

/* The work of every pass, before the loop waits again; true once the server is to stop. */
static bool pass_done(struct net *n)
{
	after_pass(n);
	if (got_hup) {
		got_hup = 0;
		refresh_revocations(n);
	}
	if (got_signal && !n->stopping)
		begin_shutdown(n);
	return n->stopping && (!n->conns.count || rs_mono_ms() > n->stop_deadline);
}

/* libev runs prepare watchers just before it blocks in epoll_wait. */
static void before_sleep(struct ev_loop *loop, ev_prepare *w, int revents)
{
	(void)revents;
	struct net *n = w->data;
	if (pass_done(n))
		ev_break(loop, EVBREAK_ALL);
	if (n->stopping && !ev_is_active(&n->stop_ev)) /* shutdown is polled: wake every 50 ms */
		ev_timer_start(loop, &n->stop_ev);
}

static void serve(struct net *n)
{
	the_net = n;
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct sigaction hup = { .sa_handler = on_hup };
	sigaction(SIGHUP, &hup, NULL);
	signal(SIGPIPE, SIG_IGN);
	lws_sul_schedule(n->ctx, 0, &n->house_sul, housekeeping, HOUSEKEEPING_MS * LWS_US_PER_MS);
	metrics_set("rostrum_loop_lag_ms", 0);
	metrics_set("rostrum_loop_lag_max_ms", 0);
	n->lag_due_ms = rs_mono_ms() + LAG_PERIOD_MS;
	lws_sul_schedule(n->ctx, 0, &n->lag_sul, lag_tick, LAG_PERIOD_MS * LWS_US_PER_MS);
	n->hub_due = INT64_MAX;
	print_banner(n);
	if (n->loop) {
		ev_prepare_init(&n->before_sleep, before_sleep);
		n->before_sleep.data = n;
		ev_timer_init(&n->hub_ev, hub_ev_timer, 0, 0);
		n->hub_ev.data = n;
		ev_timer_init(&n->stop_ev, stop_poll, 0.05, 0.05);
		ev_prepare_start(n->loop, &n->before_sleep);
		ev_run(n->loop, 0);
		ev_prepare_stop(n->loop, &n->before_sleep);
		ev_timer_stop(n->loop, &n->hub_ev);
		ev_timer_stop(n->loop, &n->stop_ev);
	} else {
		while (lws_service(n->ctx, 0) >= 0 && !pass_done(n))
			;
	}
	lws_sul_cancel(&n->lag_sul);
	lws_sul_cancel(&n->house_sul);
	lws_sul_cancel(&n->hub_sul);
	lws_sul_cancel(&n->tcp_sul);
}

/* Frees everything in dependency order; the writer flushes last. Returns the exit status. */
static int teardown(struct net *n)
{
	int rc = 0;
	exporter_stop(n->exp);
	if (n->ctx)
		lws_context_destroy(n->ctx); /* closes connections: they leave their rooms */
	if (n->loop) {
		ev_run(n->loop, EVRUN_NOWAIT); /* lets lws finish closing on our loop */
		ev_loop_destroy(n->loop);
	}
	exporter_destroy(n->exp);    /* after the context: closing an export's pipe updates its job */
	tcplink_destroy(n->links);   /* after the context: closing a link updates the table */
	hub_destroy(n->hub);
	if (n->jw && jwriter_stop(n->jw) != JWRITER_OK) {
		rs_log(RS_LOG_ERR, "some journal records could not be written");
		rc = 1;
	}
	recorder_destroy(n->rec);
	idle_free(&n->idle);
	free(n->dirty);
	token_set_revocation_check(NULL, NULL);
	revoke_destroy(n->revoked);
	static_site_destroy(n->site);
	the_net = NULL;
	free(n);
	return rc;
}

/* A forum plenary holds thousands of sockets: take every descriptor the system allows. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			rs_log(RS_LOG_WARN, "cannot raise the open-file limit");
	}
}

int net_run(struct rs_config *cfg)
{
	raise_fd_limit();
	struct net *n = rs_calloc(1, sizeof *n);
	n->cfg = cfg;
	n->tcp_fd = -1;
	n->flush_rand = (uint64_t)rs_mono_ms();
	n->wall_base_ms = rs_wall_ms();
	n->mono_base_ms = rs_mono_ms();
	char err[512];
	if (resolve_listen(n, err, sizeof err)) {
		fprintf(stderr, "rostrum: cannot listen on %s:%d: %s\n", cfg->listen_host, cfg->port,
			err);
		free(n);
		return 2;
	}
	if (token_secret_load(cfg->data_dir, n->secret) != TOKEN_OK) {
		fprintf(stderr, "rostrum: cannot use data directory %s\n", cfg->data_dir);
		free(n);
		return 2;
	}
	n->revoked = revoke_create(cfg->data_dir);
	int rrc = revoke_refresh(n->revoked);
	if (rrc < 0) { /* a server must not start accepting tokens it was told to refuse */
		fprintf(stderr, "rostrum: %s/%s: %s\n", cfg->data_dir, REVOKE_FILE,
			revoke_strerror(rrc));
		revoke_destroy(n->revoked);
		free(n);
		return 2;
	}
	token_set_revocation_check(is_revoked, n);
	idle_init(&n->idle, (int64_t)cfg->limits.idle_timeout_s * 1000); /* teardown frees it */
	if (start_journal(n)) {
		teardown(n);
		return 2;
	}
	struct hub_io io = { .send = io_send, .close = io_close, .send_udp = io_send_udp,
			     .media_peer = io_media_peer, .ctx = n };
	n->hub = hub_create(cfg, n->secret, &io, n->rec);
	hub_restore(n->hub, net_now(n));
	n->api = (struct api_ctx){ .hub = n->hub, .started_ms = net_now(n), .on_ack = http_acked };
	n->site = static_site_load(cfg->web_root ? cfg->web_root : ROSTRUM_WEBROOT, err, sizeof err);
	if (!n->site) {
		fprintf(stderr, "rostrum: %s\n", err);
		teardown(n);
		return 2;
	}
	setup_mounts();
	lws_set_log_level(LLL_ERR, NULL);
	if (create_context(n)) {
		fprintf(stderr, "rostrum: cannot listen on %s:%d\n", cfg->listen_host, cfg->port);
		teardown(n);
		return 2;
	}
	adopt_journal(n);
	n->exp = exporter_create(n->ctx, n->vhost, n->rec);
	open_media(n);
	open_ice_tcp(n);
	serve(n);
	int rc = teardown(n);
	rs_log(RS_LOG_INFO, "stopped");
	return rc;
}
