/*
 * hub_internal: the hub's private structures and the feature table, shared
 * by hub.c (rooms, connections, the router, timers) and the features that
 * plug into it (hub_floor.c, hub_caption.c, hub_media.c/hub_mix.c through
 * hub_features.c). Nothing outside the hub includes this.
 *
 * hub.c names no feature: it walks hub_features[] (hub_features.c) at each
 * hook. A feature keeps its state in its own slot of struct hroom and of
 * struct hub_conn (indexed by its id), or in maps of its own keyed by pid.
 * The typed fields of struct hroom and struct hub_conn marked "media" and
 * "caption" are what hub_media.c, hub_mix.c and hub_caption.c read today;
 * they move into those features' slots as those files are rewritten.
 */
#ifndef ROSTRUM_HUB_INTERNAL_H
#define ROSTRUM_HUB_INTERNAL_H

#include "caption.h"
#include "floor.h"
#include "hub.h"
#include "recorder.h"
#include "media/deadline.h"
#include "transport.h"

#include <stdarg.h>

#define HUB_PENDING_MAX 64 /* requests of one connection waiting for the disk */
#define HUB_FEATURE_MAX 8  /* slots per room and per connection */

/* A room and the features the hub runs in it. */
struct hroom {
	room *room;            /* owned */
	hub *hub;              /* the owner */
	void *slot[HUB_FEATURE_MAX]; /* each feature's state for the room, by feature id */
	struct deadline_node timer; /* in hub.timers at the room's next deadline */
	bool dirty;            /* in hub.dirty: its deadline is recomputed before the loop sleeps */
	/* floor (hub_floor.c; hub_media.c and hub_mix.c read it too) */
	floor_ctl *floor;      /* owned */
	/* caption (hub_caption.c) */
	caption_room *cap;     /* owned */
	int64_t cap_due;       /* next caption timer, CAPTION_NO_DEADLINE when idle */
	/* media (hub_media.c, hub_mix.c) */
	struct rtp_rewriter rw; /* the room's one outgoing audio stream */
	struct room_audio *audio; /* owned: the mixer and the recording (hub_mix.c) */
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
	void *slot[HUB_FEATURE_MAX];  /* each feature's state for the connection, by feature id */
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
	struct hroom **by_id;         /* rooms by id: open addressing, at most half full */
	unsigned id_bits;             /* 1 << id_bits slots in by_id, 0 before the first room */
	uint64_t room_probes;         /* by_id slots looked at, ever (tests bound the work) */
	size_t n_conns;
	uint32_t next_pid;
	const struct hub_feature *features[HUB_FEATURE_MAX]; /* hub_features[], then any added */
	size_t n_features;
	deadline_heap *timers;        /* owned: rooms by their next deadline */
	struct hroom **dirty;         /* rooms whose deadline may have moved */
	size_t n_dirty, cap_dirty;
	/* media (hub_media.c, hub_mix.c, created by its entry in hub_features.c) */
	dtls_cert *cert;              /* owned: our DTLS certificate */
	dtls_ctx *dtls;               /* owned */
	struct hub_media_state *media; /* owned by hub_media */
	int media_port;               /* the UDP port candidates announce */
	int media_tcp_port;           /* the passive ICE-TCP port, 0 when none is open */
	int64_t media_now;            /* the time of the datagram being handled */
	struct hub_resume *resume;    /* owned: resumption and restart (hub_resume.c) */
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

/*
 * A feature: what it plugs into the hub. Every hook is optional. Hooks run in
 * the order of hub_features[] (the floor before captions before media), and
 * leaving hooks in reverse.
 */
enum hub_keep { HUB_KEEP_NO, HUB_KEEP_RECONNECTING };

struct hub_feature {
	const char *name;
	/* Requests it answers: types starting with prefix, or those owns() accepts. */
	const char *prefix;
	bool (*owns)(const char *type);
	int (*request)(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
		       struct reply *rep);
	/* The hub starts or stops (hub-wide state: certificates, tables). */
	void (*init)(hub *h);
	void (*fini)(hub *h);
	/* A room is created (policy may be NULL) or destroyed. */
	void (*room_created)(hub *h, struct hroom *hr, json_t *policy);
	void (*room_destroyed)(hub *h, struct hroom *hr);
	/* c joined c->hr: add the feature's part to the joiner's snapshot. */
	void (*joined)(hub *h, hub_conn *c, int64_t now, json_t *snapshot);
	/* After the join result went out (e.g. the caption backlog). */
	void (*after_join)(hub *h, hub_conn *c, int64_t now);
	/* c's attributes changed (presence). */
	void (*updated)(hub *h, hub_conn *c, int64_t now);
	/*
	 * c's connection closed while in a room. HUB_KEEP_RECONNECTING keeps the
	 * member in the room, shown as reconnecting, with no connection; the
	 * feature then ends it with hub_member_expire() or gives it a new
	 * connection with hub_member_resume(). detached() runs for every feature
	 * when the member is kept (drop what needs the connection: audio).
	 */
	enum hub_keep (*keep)(hub *h, hub_conn *c, int64_t now);
	void (*detached)(hub *h, struct hroom *hr, struct room_member *m, hub_conn *c, int64_t now);
	void (*resumed)(hub *h, hub_conn *c, int64_t now);
	/* c is leaving (still a member); then it has left (pid gone from the room). */
	void (*leaving)(hub *h, hub_conn *c, int64_t now);
	void (*left)(hub *h, struct hroom *hr, uint32_t pid, int64_t now);
	/* The last member left. */
	void (*room_empty)(hub *h, struct hroom *hr, int64_t now);
	/* Whether a large room's roster still names pid (holding or queued for the floor). */
	bool (*pinned)(hub *h, struct hroom *hr, uint32_t pid);
	/* The pids it pins now (up to max), for a large room's snapshot. */
	size_t (*pinned_list)(hub *h, struct hroom *hr, uint32_t *pids, size_t max);
	/* The room's next deadline for this feature, and its work when due. */
	int64_t (*room_deadline)(const struct hroom *hr);
	void (*room_tick)(hub *h, struct hroom *hr, int64_t now);
	/* Hub-wide deadlines not tied to one room (INT64_MAX: none). */
	int64_t (*deadline)(const hub *h);
	void (*tick)(hub *h, int64_t now);
	/* Adds its part to /healthz and refreshes its gauges. */
	void (*health)(const hub *h, json_t *o);
	void (*gauges)(const hub *h);
};

/* The features, in hook order (hub_features.c); a feature's id is its index. */
extern const struct hub_feature *const hub_features[];
extern const size_t hub_n_features;

/*
 * Adds a feature after those of hub_features[] (tests, plug-ins); rooms that
 * exist get its room_created now. Returns its id (its slot index), or -1.
 */
int hub_add_feature(hub *h, const struct hub_feature *f);

/* A room's deadline may have moved (a feature changed its timers outside a request). */
void hub_room_dirty(hub *h, struct hroom *hr);
/* A feature's pin of pid changed: re-announce the member in the next roster delta. */
void hub_member_touch(hub *h, struct hroom *hr, uint32_t pid, int64_t now);
/* A kept member's grace period is over: it leaves the room as if it had closed. */
void hub_member_expire(hub *h, struct hroom *hr, struct room_member *m, int64_t now);
/* A kept member comes back on connection c (not in a room): c becomes that member. */
void hub_member_resume(hub *h, hub_conn *c, struct hroom *hr, struct room_member *m,
		       int64_t now);

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

/* The features' entries (hub_floor.c, hub_features.c). */
extern const struct hub_feature hub_floor_feature, hub_caption_feature, hub_media_feature;

/* Caption feature (hub_caption.c). */
int hub_caption_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
			struct reply *rep);
void hub_caption_joined(hub *h, hub_conn *c, int64_t now, json_t *snapshot);
void hub_caption_after_join(hub *h, hub_conn *c, int64_t now);
void hub_caption_left(hub *h, struct hroom *hr, struct room_member *m, int64_t now);
void hub_caption_tick(hub *h, struct hroom *hr, int64_t now);
/* Shutdown: completes every open caption line of the room as a final and journals it. */
void hub_caption_close(hub *h, struct hroom *hr, int64_t now);
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
/* The rooms' next mix, talking or silence deadline: the first of one heap, no walk of rooms. */
int64_t hub_mix_deadline(const hub *h);
/* Runs each room that is due, once; the others are not looked at. */
void hub_mix_tick(hub *h, int64_t now);
/* How many rooms mix and how many record now (health and gauges). */
void hub_mix_count(const hub *h, size_t *mixing, size_t *recording);
/* The recording's state for join snapshots and results (new reference). */
json_t *hub_mix_snapshot(const struct hroom *hr);
/* audio.record: a moderator starts or stops the recording. */
int hub_mix_record_request(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep);

/* Resumption and restart (hub_resume.c). */
extern const struct hub_feature hub_resume_feature;
/* A join with "resume": the member of that secret moves onto c. */
int hub_resume_join(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep);
/* True while rooms are rebuilt from the journal: roster records are not journaled again. */
bool hub_resume_quiet(const hub *h);
/*
 * c's member stays in the room without c, shown as reconnecting (the
 * features' detached hooks run): on a close that a feature kept, and when
 * a resume takes the member over from a connection that still looks alive.
 */
void hub_member_detach(hub *h, hub_conn *c, int64_t now);
/* Sends the caption backlog newer than seq `after` (a viewer back after a drop). */
void hub_caption_backlog_since(hub *h, hub_conn *c, int64_t now, uint64_t after);

/* Floor feature (hub_floor.c). */
int hub_floor_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
		      struct reply *rep);
void hub_floor_joined(hub *h, hub_conn *c, int64_t now, json_t *snapshot);
void hub_floor_left(hub *h, struct hroom *hr, uint32_t pid, int64_t now);
void hub_floor_updated(hub *h, hub_conn *c, int64_t now);
void hub_floor_tick(hub *h, struct hroom *hr, int64_t now);

#endif
