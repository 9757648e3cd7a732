/*
 * idle: the idle-WebSocket deadlines, one per connection, on a timer heap.
 *
 * A connection quiet for a third of the timeout is pinged (browsers answer
 * by themselves); one that stays quiet for the whole timeout is closed. The
 * old check walked every connection once a second; here each connection has
 * one deadline in a heap, and hearing from it only records the time: its
 * deadline moves lazily, when it comes due. A poll with nothing due looks at
 * the heap's top and nothing else, so 5,000 chatty or answering members cost
 * nothing per second, and at most one heap step each per third of a timeout.
 *
 * Sans-IO: no socket, no clock; the caller owns the entries.
 */
#ifndef ROSTRUM_IDLE_H
#define ROSTRUM_IDLE_H

#include "media/deadline.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct idle_entry {
	struct deadline_node t; /* private: the next look at this connection */
	int64_t heard_ms;    /* last frame or pong from the peer */
	int64_t ping_heard;  /* heard_ms when the last ping was asked for */
	bool pinged;         /* a ping went out and nothing was heard since */
};

struct idle_set {
	deadline_heap *heap; /* owned; borrows the entries */
	int64_t ping_ms;     /* quiet this long: ping */
	int64_t close_ms;    /* quiet this long: close */
	uint64_t looks;      /* entries examined by idle_poll, for tests */
};

enum idle_action { IDLE_PING = 1, IDLE_CLOSE = 2 };

/* timeout_ms > 0: the quiet time after which a connection is closed. */
void idle_init(struct idle_set *s, int64_t timeout_ms);
void idle_free(struct idle_set *s);
/* Starts watching e, heard at now. */
void idle_add(struct idle_set *s, struct idle_entry *e, int64_t now);
/* Stops watching e (closed). Idempotent. */
void idle_remove(struct idle_set *s, struct idle_entry *e);
/* The peer sent something: O(1), the heap is not touched. */
static inline void idle_heard(struct idle_entry *e, int64_t now)
{
	e->heard_ms = now;
}
/*
 * The next connection that needs something done at now, and what: PING (it
 * stays watched, to be closed at heard + timeout unless heard from) or CLOSE
 * (no longer watched). NULL when nothing is due. Connections heard from since
 * their deadline was set are moved on silently.
 */
struct idle_entry *idle_poll(struct idle_set *s, int64_t now, enum idle_action *act);
/* The earliest deadline, DEADLINE_NEVER when nothing is watched. */
int64_t idle_next(const struct idle_set *s);

#endif
