/*
 * room: one session room — its roster, and fan-out of messages to members.
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
	void *conn;             /* borrowed: the member's connection */
	int64_t joined_ms;      /* wall clock */
};

struct room_listener {
	/* Queue m on conn; the room keeps its own reference (take one to keep it). */
	void (*send)(void *ctx, void *conn, rs_msg *m);
	/* Append rec (borrowed) to the room's session journal. */
	void (*record)(void *ctx, room *r, json_t *rec);
	void *ctx;
};

enum room_err { ROOM_OK = 0, ROOM_FULL = -1 };

/* Role bits for room_broadcast's audience. */
#define ROOM_TO(role) (1u << (role))
#define ROOM_TO_ALL 0xffu

/* Creates a room; policy is borrowed with a new reference. */
room *room_create(const char *id, const char *title, bool open, json_t *policy, int max_members,
		  const struct room_listener *l);
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
 * Adds a member and tells everyone else (roster.join) and the journal.
 * Returns ROOM_OK with *out set, or ROOM_FULL.
 */
RS_MUST_CHECK int room_join(room *r, int64_t wall_ms, uint32_t pid, enum rs_role role,
			    const struct rs_attrs *attrs, void *conn, struct room_member **out);
/* Removes and frees m, telling the others (roster.leave) and the journal. */
void room_leave(room *r, struct room_member *m, int64_t wall_ms);
/* Replaces m's attributes (the name stays) and tells everyone (roster.update). */
void room_set_attrs(room *r, struct room_member *m, const struct rs_attrs *a);
/* Sends m to every member whose role is in mask, except `except` (may be NULL). */
void room_broadcast(room *r, rs_msg *m, unsigned mask, const struct room_member *except);
/* Sends m to one member. */
void room_send(room *r, struct room_member *to, rs_msg *m);
/* Appends rec to the journal through the listener (rec stays the caller's). */
void room_record(room *r, json_t *rec);
/* The roster entry for one member (new reference). */
json_t *room_member_json(const struct room_member *m);
/* Room description and roster for a joiner (new reference). */
json_t *room_snapshot(const room *r);

#endif
