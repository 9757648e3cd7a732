/*
 * presence: one room's roster changes, coalesced into one delta per tick.
 *
 * A join storm of N people used to cost N roster messages to each of N
 * members (O(N²) frames). The room instead notes each change here and, once
 * per tick, sends one `roster.delta` built once and shared by every member.
 * Within a tick the latest change of a participant wins: a join followed by
 * updates is one join with the latest entry, updates collapse into one, a
 * join and a leave cancel out (nobody saw them), an update then a leave is
 * a leave.
 *
 * Sans-IO: the caller gives the time; presence_deadline() says when the
 * pending delta is due and presence_flush() returns it. No allocation per
 * change beyond the entry it keeps.
 */
#ifndef ROSTRUM_PRESENCE_H
#define ROSTRUM_PRESENCE_H

#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct presence presence;

#define PRESENCE_NO_DEADLINE INT64_MAX

/* tick_ms: how long a first change waits for others to join it in one delta. */
presence *presence_create(int tick_ms);
void presence_destroy(presence *p);

/*
 * A member joined, changed attributes, or left. entry is the member's
 * roster entry (consumed); `listed` says whether the delta of a large room
 * still names it (moderators, speakers and the queue always are). Leaves
 * take no entry.
 */
void presence_joined(presence *p, int64_t now, uint32_t pid, json_t *entry, bool listed);
void presence_updated(presence *p, int64_t now, uint32_t pid, json_t *entry, bool listed);
void presence_left(presence *p, int64_t now, uint32_t pid, bool listed);

/* When the pending delta is due, PRESENCE_NO_DEADLINE when nothing is pending. */
int64_t presence_deadline(const presence *p);
/* Number of participants with a pending change. */
size_t presence_pending(const presence *p);

/*
 * The pending delta as a `roster.delta` message (new reference), or NULL
 * when the changes cancelled out; clears what is pending either way.
 * count is the room's member count after the changes. With partial set
 * (a room too large to list in full) only listed entries are named and
 * the rest show only in count.
 */
json_t *presence_flush(presence *p, size_t count, bool partial);

#endif
