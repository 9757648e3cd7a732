/*
 * config: the server's settings, from one JSON file or the embedded default.
 *
 * Parsing is strict: an unknown key, a wrong type or an out-of-range value is
 * an error naming the key, because a typo in a live event's config should stop
 * the server at start rather than silently run the wrong policy.
 * The per-room "policy" object is kept as JSON and read by the modules that own
 * each part of it (the floor, captions), which validate it at startup too.
 */
#ifndef ROSTRUM_CONFIG_H
#define ROSTRUM_CONFIG_H

#include "util.h"

#include <jansson.h>
#include <stdbool.h>

struct config_room {
	char *id;
	char *title;
	bool open;          /* anyone may join as participant without a token */
	json_t *policy;     /* owned; never NULL (an empty object by default) */
};

struct config_limits {
	int max_connections;    /* WebSocket connections across the hub */
	int max_room_members;   /* participants per room */
	int max_rooms;          /* rooms existing at once (configured + created by tokens) */
	int max_message_bytes;  /* one signaling message, after reassembly */
	int rate_per_sec;       /* sustained signaling messages per connection */
	int rate_burst;
	int send_queue_bytes;   /* queued outgoing bytes per connection before it is dropped */
	int send_queue;         /* also at most this many queued messages; 0 = bytes only (older key) */
	int roster_full;        /* rooms larger than this list only moderators, speakers, the queue */
	int resume_grace_s;     /* a dropped member keeps its place this long (resumption) */
	int idle_timeout_s;     /* a WebSocket silent this long (no message, no pong) is closed */
};

struct config_rtc {
	char *announce;         /* address put in ICE candidates; NULL = listen host */
	int udp_port_min, udp_port_max;
	int tcp_port;           /* passive ICE-TCP port; 0 = any free port */
	bool ice_tcp;           /* open the ICE-TCP port and offer its candidate */
	bool ice_udp;           /* offer the UDP candidate (the UDP port opens either way) */
};

struct rs_config {
	char *listen_host;
	int port;               /* 0 = any free port (printed at start) */
	char *data_dir;
	char *web_root;         /* NULL = the built-in default */
	char *public_url;       /* base of join links; NULL = derived from listen */
	char *tls_cert, *tls_key;
	struct config_limits limits;
	struct config_rtc rtc;
	struct config_room *rooms;
	size_t n_rooms;
};

/* Fills cfg from the embedded default (open room "plenary" on 127.0.0.1:8080). */
void config_default(struct rs_config *cfg);

/*
 * Parses JSON text on top of the defaults. Returns 0, or -1 with a message
 * naming the offending key in err.
 */
RS_MUST_CHECK int config_parse(struct rs_config *cfg, const char *text, char *err, size_t errlen);

/* Reads and parses a file; like config_parse. */
RS_MUST_CHECK int config_load(struct rs_config *cfg, const char *path, char *err, size_t errlen);

/* Splits "HOST:PORT" ("[v6]:PORT" too) into cfg; -1 when malformed. */
RS_MUST_CHECK int config_set_listen(struct rs_config *cfg, const char *hostport);

/* Looks up a configured room by id. */
const struct config_room *config_room(const struct rs_config *cfg, const char *id);

void config_free(struct rs_config *cfg);

#endif
