/*
 * sendq: one connection's queue of outgoing messages, bounded in bytes.
 *
 * A count limit punished small messages: twenty participants' presence
 * updates filled a bystander's 512 slots in a second though it read all it
 * was sent. The limit is the bytes waiting (limits.send_queue_bytes, 1 MiB
 * by default), with an optional message count as well (limits.send_queue).
 * A message with a replace key (msg.h) takes the place of an unsent one of
 * the same key instead of queueing behind it: latest state wins.
 *
 * Holds references to shared messages; no socket, no clock.
 */
#ifndef ROSTRUM_SENDQ_H
#define ROSTRUM_SENDQ_H

#include "msg.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>

struct sendq {
	rs_msg **ring;     /* owned references */
	size_t head, len, cap;
	size_t bytes;      /* payload bytes queued */
	size_t max_bytes;  /* passed in */
	size_t max_msgs;   /* 0: no count limit */
	size_t replaced;   /* messages superseded in place, for metrics */
};

enum sendq_result { SENDQ_OK = 0, SENDQ_REPLACED = 1, SENDQ_FULL = -1 };

void sendq_init(struct sendq *q, size_t max_bytes, size_t max_msgs);
/* Drops every queued reference and frees the ring. */
void sendq_clear(struct sendq *q);
/* Queues a reference to m (or replaces an unsent one of the same key); SENDQ_FULL when over. */
RS_MUST_CHECK int sendq_push(struct sendq *q, rs_msg *m);
/* The oldest message (borrowed), NULL when empty. */
rs_msg *sendq_peek(const struct sendq *q);
/* Drops the oldest message. */
void sendq_pop(struct sendq *q);

#endif
