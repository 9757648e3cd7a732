/*
 * hub_internal: the hub's private structures, shared by hub.c (connections
 * and the router), hub_caption.c and hub_floor.c (the room features).
 * Nothing outside the hub includes this.
 */
#ifndef ROSTRUM_HUB_INTERNAL_H
#define ROSTRUM_HUB_INTERNAL_H

#include "caption.h"
#include "floor.h"
#include "hub.h"
#include "recorder.h"
#include "transport.h"

#include <stdarg.h>

#define HUB_PENDING_MAX 64 /* requests of one connection waiting for the disk */

/* A room and the features the hub runs in it. */
struct hroom {
	room *room;            /* owned */
	floor_ctl *floor;      /* owned */
	caption_room *cap;     /* owned */
	int64_t cap_due;       /* next caption timer, CAPTION_NO_DEADLINE when idle */
	struct rtp_rewriter rw; /* the room's one outgoing audio stream */
	struct room_audio *audio; /* owned: the mixer and the recording (hub_mix.c) */
	hub *hub;              /* the owner */
};

struct hub_conn {
	void *transport;              /* borrowed: net.c's connection */
	struct hroom *hr;             /* borrowed: the room joined, or NULL */
	struct room_member *member;   /* owned by the room */
	double tokens;                /* rate-limit bucket */
	int64_t refilled_ms;
	int refused;                  /* refused messages since refused_since */
	int64_t refused_since;
	bool closing;
	json_t *pending[HUB_PENDING_MAX]; /* ids of requests answered once durable, FIFO */
	int pending_head, pending_len;
	struct media_member *media;   /* owned by hub_media: the audio connection, or NULL */
	char token_id[TOKEN_ID_LEN + 1]; /* the join token's id, "" without one (revocation) */
};

struct hub {
	/* passed in */
	const struct rs_config *cfg;
	const uint8_t *secret;
	struct hub_io io;
	recorder *rec;
	/* owned */
	struct hroom **rooms;
	size_t n_rooms;
	size_t n_conns;
	uint32_t next_pid;
	/* audio */
	dtls_cert *cert;              /* owned: our DTLS certificate */
	dtls_ctx *dtls;               /* owned */
	struct hub_media_state *media; /* owned by hub_media */
	int media_port;               /* the UDP port candidates announce */
	int media_tcp_port;           /* the passive ICE-TCP port, 0 when none is open */
	int64_t media_now;            /* the time of the datagram being handled */
};

/* The outcome of one request: data for a result, or an error code and text. */
struct reply {
	json_t *data;
	const char *code;
	char message[256];
	const char *field;
	char fieldbuf[48];     /* storage for field when it comes from freed JSON */
	bool deferred;         /* the result is sent later (once durable) */
	/* Runs after the reply is queued (e.g. the caption backlog after a join result). */
	void (*after)(hub *h, hub_conn *c, int64_t now);
};

/* Fills rep with an error; returns -1 so handlers can `return fail(...)`. */
int hub_fail(struct reply *rep, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Queues a message on one connection (the reference stays the caller's). */
void hub_send(hub *h, hub_conn *c, rs_msg *m);
/* Serializes and sends o (consumed) to one connection. */
void hub_send_json(hub *h, hub_conn *c, json_t *o);
/* Sends the result or error of a request that was answered later. */
void hub_send_reply(hub *h, hub_conn *c, json_t *id, const struct reply *rep);
/* Appends a record to the room's journal; fn/ctx as recorder_append. */
int hub_record(hub *h, struct hroom *hr, json_t *rec, recorder_ack_fn fn, void *ctx);
struct hroom *hub_hroom(const hub *h, const char *id);
/* The room of that id, created closed with the default policy when absent (NULL: too many rooms). */
struct hroom *hub_hroom_ensure(hub *h, const char *id);
/*
 * Requests answered once durable: push the request id, then append with
 * hub_pending_fn() and the connection as ctx; the acks arrive in ticket
 * order, so the ids are a FIFO. Unpush when nothing was appended after all.
 */
void hub_pending_push(hub_conn *c, json_t *id);
void hub_pending_unpush(hub_conn *c);
bool hub_pending_full(const hub_conn *c);
recorder_ack_fn hub_pending_fn(void);

/* Caption feature (hub_caption.c). */
int hub_caption_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
			struct reply *rep);
void hub_caption_joined(hub *h, hub_conn *c, int64_t now, json_t *snapshot);
void hub_caption_after_join(hub *h, hub_conn *c, int64_t now);
void hub_caption_left(hub *h, struct hroom *hr, struct room_member *m, int64_t now);
void hub_caption_tick(hub *h, struct hroom *hr, int64_t now);
/* Completes the open caption lines a crash left in the named rooms' journals. */
void hub_caption_recover(recorder *rec, const char *const *rooms, size_t n);
/* Current speaker for attribution: the first floor holder, or none. */
bool hub_floor_speaker(struct hroom *hr, struct caption_speaker *out);

/* Audio (hub_media.c). */
int hub_media_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
		      struct reply *rep);
void hub_media_drop(hub *h, hub_conn *c);
int64_t hub_media_deadline(const hub *h);
void hub_media_tick(hub *h, int64_t now);
/* The hub's audio state, made at hub_create and freed at hub_destroy. */
void hub_media_init(hub *h);
void hub_media_free(hub *h);
/* Connections with an audio transport (health). */
size_t hub_media_count(const hub *h);
/*
 * The room's floor changed (a grant, a revoke, a mute, a release): each
 * producer whose gate flips is paused or resumed once, and its browser told
 * (audio.send). Checks only the producers that are heard, the floor's
 * holders and the moderators, never the whole room.
 */
void hub_media_floor_changed(hub *h, struct hroom *hr, int64_t now);

/* Mixing and recording (hub_mix.c). */
struct room_audio;
void hub_mix_room_init(struct hroom *hr, json_t *policy);
/* Finishes the room's recording (at the end of what it holds) and frees its audio state. */
void hub_mix_room_free(hub *h, struct hroom *hr);
/* c's audio connection is up (an automatic recording starts with the first). */
void hub_mix_connected(hub *h, hub_conn *c, int64_t now);
/* The last member left: the session, and its automatic recording, ends. */
void hub_mix_room_empty(hub *h, struct hroom *hr, int64_t now);
int64_t hub_mix_deadline(const struct hroom *hr);
void hub_mix_tick(hub *h, struct hroom *hr, int64_t now);
/* How many rooms mix and how many record now (health and gauges). */
void hub_mix_count(const hub *h, size_t *mixing, size_t *recording);
/* The recording's state for join snapshots and results (new reference). */
json_t *hub_mix_snapshot(const struct hroom *hr);
/* audio.record: a moderator starts or stops the recording. */
int hub_mix_record_request(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep);

/* Floor feature (hub_floor.c). */
int hub_floor_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
		      struct reply *rep);
void hub_floor_joined(hub *h, hub_conn *c, int64_t now, json_t *snapshot);
void hub_floor_left(hub *h, struct hroom *hr, uint32_t pid, int64_t now);
void hub_floor_updated(hub *h, hub_conn *c, int64_t now);
void hub_floor_tick(hub *h, struct hroom *hr, int64_t now);

#endif
