/*
 * room: one session room — its roster, and fan-out of messages to members.
 *
 * Roster changes are not sent one by one: the room notes them in its
 * presence (presence.h) and room_tick() sends one roster.delta per tick to
 * everyone. A room larger than roster_full lists in snapshots and deltas
 * only its "listed" members (any role but participant, and whoever the
 * listener pins: speakers, the queue), with counts; room_page() gives the
 * rest in pages.
 *
 * Ownership: the hub owns rooms; a room owns its members; a member holds a
 * borrowed pointer to its connection (the hub guarantees the member leaves
 * before the connection is freed). A room never touches sockets: it hands
 * each outgoing message to the listener's send(), which queues it.
 * An empty room holds no timers and costs only this struct.
 */
#ifndef ROSTRUM_ROOM_H
#define ROSTRUM_ROOM_H

#include "attrs.h"
#include "msg.h"
#include "util.h"

#include <jansson.h>
#include <stdint.h>

typedef struct room room;

struct room_member {
	uint32_t pid;           /* unique across the hub for its lifetime */
	enum rs_role role;
	struct rs_attrs attrs;
	void *conn;             /* borrowed: the member's connection, NULL while reconnecting */
	int64_t joined_ms;      /* wall clock */
	uint32_t slot;          /* private to room.c: its place in the pid index */
};

struct room_listener {
	/* Queue m on conn; the room keeps its own reference (take one to keep it). */
	void (*send)(void *ctx, void *conn, rs_msg *m);
	/* Append rec (borrowed) to the room's session journal. */
	void (*record)(void *ctx, room *r, json_t *rec);
	/* Optional: whether a large room's roster still names pid (a speaker, the queue). */
	bool (*pinned)(void *ctx, room *r, uint32_t pid);
	/* Optional: the pinned pids (up to max into pids), for a large room's snapshot. */
	size_t (*pinned_list)(void *ctx, room *r, uint32_t *pids, size_t max);
	void *ctx;
};

struct room_limits {
	int max_members;
	int roster_full;        /* rooms larger than this list only listed members */
	int tick_ms;            /* roster changes wait at most this long for one delta */
};

enum room_err { ROOM_OK = 0, ROOM_FULL = -1 };

/* Role bits for room_broadcast's audience. */
#define ROOM_TO(role) (1u << (role))
#define ROOM_TO_ALL 0xffu

/* Creates a room; policy is borrowed with a new reference. */
room *room_create(const char *id, const char *title, bool open, json_t *policy,
		  const struct room_limits *lim, const struct room_listener *l);
/* Frees the room and any members left (without notifying anyone). */
void room_destroy(room *r);

const char *room_id(const room *r);
const char *room_title(const room *r);
bool room_is_open(const room *r);
json_t *room_policy(const room *r);
size_t room_count(const room *r);
/* The i-th member in join order, i < room_count(). */
struct room_member *room_member_at(const room *r, size_t i);
struct room_member *room_find(const room *r, uint32_t pid);

/*
 * Adds a member; everyone hears of it in the next roster.delta, the journal now.
 * Returns ROOM_OK with *out set, or ROOM_FULL.
 */
RS_MUST_CHECK int room_join(room *r, int64_t wall_ms, uint32_t pid, enum rs_role role,
			    const struct rs_attrs *attrs, void *conn, struct room_member **out);
/* Removes and frees m (the next delta tells the others; the journal now). */
void room_leave(room *r, struct room_member *m, int64_t wall_ms);
/* Replaces m's attributes (the name stays); the next delta carries them. */
void room_set_attrs(room *r, struct room_member *m, const struct rs_attrs *a, int64_t now);
/*
 * The member's connection is gone but the member stays, shown as
 * "reconnecting" (conn NULL: broadcasts skip it); room_attach() gives it a
 * connection again. For resumption: the hub asks its features on close.
 */
void room_detach(room *r, struct room_member *m, int64_t now);
void room_attach(room *r, struct room_member *m, void *conn, int64_t now);
bool room_member_reconnecting(const struct room_member *m);
/* A feature's pin changed (e.g. someone entered the queue): re-announce m's entry. */
void room_touch(room *r, struct room_member *m, int64_t now);
/* When the pending roster delta is due (INT64_MAX: none). */
int64_t room_deadline(const room *r);
/* Sends the pending roster delta when it is due. */
void room_tick(room *r, int64_t now);
/* Whether snapshots and deltas list only some members (the room is over roster_full). */
bool room_partial(const room *r);
/* Sends m to every member whose role is in mask, except `except` (may be NULL). */
void room_broadcast(room *r, rs_msg *m, unsigned mask, const struct room_member *except);
/* Sends m to one member. */
void room_send(room *r, struct room_member *to, rs_msg *m);
/* Appends rec to the journal through the listener (rec stays the caller's). */
void room_record(room *r, json_t *rec);
/* The roster entry for one member (new reference). */
json_t *room_member_json(const struct room_member *m);
/* Room description and roster for a joiner, bounded in a large room (new reference). */
json_t *room_snapshot(const room *r);
/* Members offset..offset+limit-1 in join order, as roster.page's result (new reference). */
json_t *room_page(const room *r, size_t offset, size_t limit);

#endif
