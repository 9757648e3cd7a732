/*
 * hub: the signaling core — rooms, connections, roles and the message router.
 *
 * Sans-IO: the network glue (net.c) hands it whole WebSocket text messages and
 * the server time, and it answers through the hub_io listener (queue a message
 * on a connection, close a connection later). It reads no clock and touches no
 * socket, so tests drive it directly.
 *
 * Ownership: the hub owns rooms and hub_conns; net.c owns its transports and
 * calls hub_conn_closed() before freeing one.
 */
#ifndef ROSTRUM_HUB_H
#define ROSTRUM_HUB_H

#include "caption.h"
#include "config.h"
#include "msg.h"
#include "recorder.h"
#include "room.h"
#include "token.h"

#include <jansson.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct hub hub;
typedef struct hub_conn hub_conn;

/* WebSocket close codes the hub uses (RFC 6455 section 7.4 and the 4000 private range). */
enum hub_close {
	HUB_CLOSE_GOING_AWAY = 1001,   /* server shutting down */
	HUB_CLOSE_POLICY = 1008,       /* sustained message flood */
	HUB_CLOSE_TOO_BIG = 1009,      /* message over max_message_bytes */
	HUB_CLOSE_TRY_LATER = 1013,    /* server full */
	HUB_CLOSE_SLOW = 4001,         /* the client does not read: its send queue overflowed */
	HUB_CLOSE_SUBPROTOCOL = 4002,  /* no or unknown WebSocket subprotocol */
	HUB_CLOSE_IDLE = 4008,         /* nothing received for limits.idle_timeout_s */
	HUB_CLOSE_REVOKED = 4403,      /* the token the connection joined with was revoked */
};

struct hub_io {
	/* Queue m on transport; take a reference to keep it. Returns -1 when the queue is full. */
	int (*send)(void *ctx, void *transport, rs_msg *m);
	/* Close transport soon (after flushing what is queued) with a close code and reason. */
	void (*close)(void *ctx, void *transport, int code, const char *reason);
	/* Send a datagram from the media port (may be NULL when audio is off). */
	void (*send_udp)(void *ctx, const struct sockaddr *to, socklen_t to_len, const uint8_t *buf,
			 size_t len);
	void *ctx;
	/* Optional: the real peer behind a media source address (ICE-TCP), for STUN responses. */
	bool (*media_peer)(void *ctx, const struct sockaddr *from, socklen_t from_len,
			   struct sockaddr_storage *out);
};

/* Creates the hub with the configured rooms. cfg, secret and rec must outlive it. */
hub *hub_create(const struct rs_config *cfg, const uint8_t *secret, const struct hub_io *io,
		recorder *rec);
void hub_destroy(hub *h);
/*
 * After a restart: rebuilds each journaled room (floor, caption numbering and
 * ring) and puts back the members who were present, each waiting for its
 * resume secret for the grace period from now. Call once, before serving.
 */
void hub_restore(hub *h, int64_t now);

/*
 * A new WebSocket connection. Returns its hub_conn, or NULL when the server is
 * full: the caller then closes it with HUB_CLOSE_TRY_LATER after the error
 * message the hub queued.
 */
hub_conn *hub_conn_open(hub *h, void *transport, int64_t now);
/* One complete text message from a client. */
void hub_conn_input(hub *h, hub_conn *c, const char *text, size_t len, int64_t now);
/* The connection is gone: leaves its room, frees c. */
void hub_conn_closed(hub *h, hub_conn *c, int64_t now);
/* Sends an error not tied to a request (e.g. too_big before closing). */
void hub_conn_error(hub *h, hub_conn *c, const char *code, const char *message);
/* A binary frame: refused with bad_message, and counted against the rate limit like text. */
void hub_conn_binary(hub *h, hub_conn *c, int64_t now);
/* The id of the token c joined with, or NULL (not joined, or joined without a token). */
const char *hub_conn_token_id(const hub_conn *c);

/* Health summary for GET /healthz (new reference). */
json_t *hub_health(const hub *h, int64_t now);
/* Refreshes the gauges the hub owns (connections, rooms, members) in metrics. */
void hub_update_gauges(const hub *h);
/* Number of open connections. */
size_t hub_conn_count(const hub *h);
/* Finds a room by id (NULL when absent). */
room *hub_room(const hub *h, const char *id);
const uint8_t *hub_secret(const hub *h);
recorder *hub_recorder(const hub *h);

/* The media port is open on this UDP port (announced in candidates). */
void hub_media_port(hub *h, int port);
/*
 * The passive ICE-TCP port is open (announced as a tcptype passive
 * candidate). Its connections' packets arrive through hub_media_input()
 * from synthetic addresses (see tcplink.h), and replies to those go out
 * through hub_io.send_udp like any other.
 */
void hub_media_tcp_port(hub *h, int port);
/* One datagram on the media port, from `from`. */
void hub_media_input(hub *h, int64_t now, uint8_t *buf, size_t len, const struct sockaddr *from,
		     socklen_t from_len);

/*
 * When the hub next needs hub_tick() (INT64_MAX: no timer; idle rooms arm
 * none). Call it once before the loop sleeps: it recomputes the deadlines of
 * the rooms touched since (a heap of rooms; nobody else is looked at).
 */
int64_t hub_next_deadline(hub *h);
/* Runs the timers that are due: roster deltas, the features' room and hub-wide timers. */
void hub_tick(hub *h, int64_t now);

/* A request on a caption URL (/caption/ROOM[/seq]?token=...), as the api layer read it. */
struct hub_caption_http {
	const char *room;        /* from the path */
	const char *token;       /* &token, or NULL */
	const char *method;
	bool seq_form;
	struct caption_push push;
};

/*
 * Answers a caption URL request. When the push produced text that must be on
 * disk before the 200 goes out, *deferred is set and fn(waiter, status) runs
 * once it is durable (RECORDER_OK) or cannot be (then answer 503); otherwise
 * rep is final now.
 */
void hub_caption_http(hub *h, const struct hub_caption_http *req, int64_t now,
		      struct caption_http_reply *rep, recorder_ack_fn fn, void *waiter,
		      bool *deferred);

#endif
