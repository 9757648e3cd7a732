/*
 * floor_msg: the floor's JSON face. Turns the floor.* and written.* requests
 * of the wire protocol (protocol/PROTOCOL.md, "Floor control") into floor calls, and the floor's
 * events into addressed outgoing messages, so the hub glue stays thin:
 *
 *   json_t *out = json_array(), *data = NULL;
 *   int rc = floor_msg_handle(f, now, &actor, type, req, &data, out);
 *   rc == 0: reply {"type":"result","re":id,"data":data}
 *   rc < 0:  reply {"type":"error","re":id,"code":floor_msg_code(rc),
 *                   "message":floor_msg_strerror(rc)} plus the fields of data
 *                   when it is not NULL (e.g. {"field":"topic"})
 *   then deliver every item of out (see below) and re-arm the timer at
 *   floor_next_deadline(f).
 *
 * An outbox is a JSON array the caller owns; each call appends items
 *   {"to": "all" | "moderators" | "journal" | <pid integer>, "msg": {"type": ...}}
 * in the order they must be delivered. "journal" items are the session record
 * for the transcript (every floor.event, floor.timer and written.event).
 * Message objects may be shared between items: treat them as read-only.
 *
 * Nothing here reads a clock or sends anything; the floor is sans-IO and so
 * is this layer.
 */
#ifndef ROSTRUM_FLOOR_MSG_H
#define ROSTRUM_FLOOR_MSG_H

#include "floor.h"
#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors of this layer beyond the floor's own (enum floor_err). */
enum floor_msg_err {
	FLOOR_MSG_E_UNKNOWN_TYPE = -100, /* unknown_type: not a floor.* / written.* request */
	FLOOR_MSG_E_BAD_FIELD = FLOOR_E_BAD_ARG, /* bad_field: a field is missing or malformed */
};

/* True when the hub should route a message of this type here (floor.* or written.*). */
bool floor_msg_owns(const char *type);

/*
 * Handles one client request. actor is the sender as the hub knows them; req
 * is the whole request object (borrowed). Returns 0 with *reply_data set to
 * the result data (new reference), or a negative error with *reply_data NULL
 * or an object of extra error fields such as {"field": "limit_s"} (new
 * reference). Appends what others must learn to outbox either way.
 */
RS_MUST_CHECK int floor_msg_handle(floor_ctl *f, int64_t now_ms, const floor_actor *actor,
				   const char *type, json_t *req, json_t **reply_data,
				   json_t *outbox);

/* Stable snake_case code of an error from floor_msg_handle ("not_your_request"). */
const char *floor_msg_code(int err);
/* Human explanation of an error from floor_msg_handle. */
const char *floor_msg_strerror(int err);

/* Turns every undrained floor event into outbox items (the hub calls this after floor_* calls). */
void floor_msg_flush(floor_ctl *f, int64_t now_ms, json_t *outbox);
/* The timer fired: floor_tick() and its warnings, expiries and revocations into outbox. */
void floor_msg_tick(floor_ctl *f, int64_t now_ms, json_t *outbox);
/* A member joined: the floor learns them (for mutes); nothing to send. Returns a floor_err. */
RS_MUST_CHECK int floor_msg_joined(floor_ctl *f, int64_t now_ms, const floor_actor *a);
/* A member left: their request or floor ends, and everyone hears of it. */
void floor_msg_left(floor_ctl *f, int64_t now_ms, uint32_t pid, json_t *outbox);
/* A member's attributes changed: the public queue shows them when they have a request. */
void floor_msg_updated(floor_ctl *f, int64_t now_ms, const floor_actor *a, json_t *outbox);

/*
 * What a joiner needs (new reference): {"queue": floor.queue, "you": floor.you,
 * "may_speak": bool} and, for moderators, "stats": floor.stats and
 * "written": written.queue.
 */
json_t *floor_msg_snapshot(floor_ctl *f, int64_t now_ms, const floor_actor *viewer);

/* The individual messages (new references), as sent in outboxes. */
json_t *floor_msg_queue(const floor_ctl *f, int64_t now_ms);
json_t *floor_msg_you(const floor_ctl *f, int64_t now_ms, uint32_t pid);
json_t *floor_msg_stats(const floor_ctl *f, int64_t now_ms);
json_t *floor_msg_written_queue(const floor_ctl *f, int64_t now_ms);

/*
 * Restore after a restart: applies one record of the room's session journal
 * (as the hub wrote it: a floor.event, floor.timer or written.event without
 * its "type" and with "kind" "floor" or "written"; the room's "join",
 * "leave" and "presence" records) to f, a floor created with the room's
 * policy and fed every record in order. Returns 1 when applied, 0 when the
 * record is not the floor's (captions, the session header), or a negative
 * floor_err when it is malformed or does not fit (it is skipped).
 */
RS_MUST_CHECK int floor_msg_replay(floor_ctl *f, json_t *rec);

/*
 * Reads the "floor" object of a room's policy (absent: the defaults) into
 * out. Strict: an unknown key, a wrong type or a value out of range fails.
 * Returns 0, or -1 with a message naming the key in err.
 */
RS_MUST_CHECK int floor_msg_policy(json_t *room_policy, struct floor_policy *out, char *err,
				   size_t errlen);

#endif
