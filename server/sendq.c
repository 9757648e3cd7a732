#include "sendq.h"

#include <assert.h>
#include <stdlib.h>

void sendq_init(struct sendq *q, size_t max_bytes, size_t max_msgs)
{
	*q = (struct sendq){ .max_bytes = max_bytes, .max_msgs = max_msgs };
}

void sendq_clear(struct sendq *q)
{
	while (q->len)
		sendq_pop(q);
	free(q->ring);
	q->ring = NULL;
	q->cap = q->head = 0;
}

static rs_msg **at(const struct sendq *q, size_t i)
{
	return &q->ring[(q->head + i) % q->cap];
}

static void grow(struct sendq *q)
{
	size_t cap = q->cap ? q->cap * 2 : 16;
	rs_msg **ring = rs_malloc(cap * sizeof *ring);
	for (size_t i = 0; i < q->len; i++)
		ring[i] = *at(q, i);
	free(q->ring);
	q->ring = ring;
	q->cap = cap;
	q->head = 0;
}

/* An unsent message of the same key is replaced where it stands (the head may be mid-write). */
static bool replace(struct sendq *q, rs_msg *m)
{
	uint32_t key = rs_msg_key(m);
	for (size_t i = q->len; key && i-- > 1;) {
		rs_msg **slot = at(q, i);
		if (rs_msg_key(*slot) != key)
			continue;
		size_t bytes = q->bytes - rs_msg_len(*slot) + rs_msg_len(m);
		if (bytes > q->max_bytes)
			return false;
		rs_msg_unref(*slot);
		*slot = rs_msg_ref(m);
		q->bytes = bytes;
		q->replaced++;
		return true;
	}
	return false;
}

int sendq_push(struct sendq *q, rs_msg *m)
{
	if (replace(q, m))
		return SENDQ_REPLACED;
	size_t len = rs_msg_len(m);
	if (q->bytes + len > q->max_bytes || (q->max_msgs && q->len >= q->max_msgs))
		return SENDQ_FULL;
	if (q->len == q->cap)
		grow(q);
	*at(q, q->len++) = rs_msg_ref(m);
	q->bytes += len;
	return SENDQ_OK;
}

rs_msg *sendq_peek(const struct sendq *q)
{
	return q->len ? *at(q, 0) : NULL;
}

void sendq_pop(struct sendq *q)
{
	assert(q->len);
	rs_msg **slot = at(q, 0);
	q->bytes -= rs_msg_len(*slot);
	rs_msg_unref(*slot);
	q->head = (q->head + 1) % q->cap;
	q->len--;
}
