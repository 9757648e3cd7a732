/* The byte-bounded send queue: limits in bytes, an optional count, latest-wins replacement. */
#include "check.h"
#include "sendq.h"

#include <string.h>

static rs_msg *msg(size_t len, uint32_t key)
{
	char buf[4096];
	memset(buf, 'x', len);
	rs_msg *m = rs_msg_new(buf, len);
	rs_msg_set_key(m, key);
	return m;
}

static void test_bytes(void)
{
	struct sendq q;
	sendq_init(&q, 10000, 0);
	rs_msg *small = msg(100, 0), *big = msg(4000, 0);
	/* Many small messages fit where a count limit of 512 would have refused them. */
	int pushed = 0;
	while (sendq_push(&q, small) == SENDQ_OK)
		pushed++;
	CHECK(pushed == 100 && q.bytes == 10000);
	sendq_pop(&q);
	CHECK(sendq_push(&q, big) == SENDQ_FULL); /* 4000 more bytes do not fit in 100 */
	while (q.len > 60)
		sendq_pop(&q);
	CHECK(sendq_push(&q, big) == SENDQ_OK && q.bytes == 10000);
	CHECK(sendq_peek(&q) == small);
	sendq_clear(&q);
	CHECK(q.len == 0 && q.bytes == 0);
	rs_msg_unref(small);
	rs_msg_unref(big);
}

static void test_count(void)
{
	struct sendq q;
	sendq_init(&q, 1 << 20, 8);
	rs_msg *m = msg(10, 0);
	for (int i = 0; i < 8; i++)
		CHECK(sendq_push(&q, m) == SENDQ_OK);
	CHECK(sendq_push(&q, m) == SENDQ_FULL);
	sendq_clear(&q);
	rs_msg_unref(m);
}

/* A keyed message replaces the unsent one of its key, in its place; the head stays. */
static void test_replace(void)
{
	struct sendq q;
	sendq_init(&q, 1 << 20, 0);
	rs_msg *head = msg(10, RS_KEY_FLOOR_QUEUE), *other = msg(20, 0);
	CHECK(sendq_push(&q, head) == SENDQ_OK);
	CHECK(sendq_push(&q, other) == SENDQ_OK);
	rs_msg *v[5];
	for (int i = 0; i < 5; i++) {
		v[i] = msg(30 + (size_t)i, RS_KEY_FLOOR_QUEUE);
		CHECK(sendq_push(&q, v[i]) == (i == 0 ? SENDQ_OK : SENDQ_REPLACED));
	}
	CHECK(q.len == 3 && q.replaced == 4 && q.bytes == 10 + 20 + 34);
	CHECK(sendq_peek(&q) == head);
	sendq_pop(&q);
	sendq_pop(&q);
	CHECK(sendq_peek(&q) == v[4]); /* the latest state, where the first stood */
	sendq_clear(&q);
	rs_msg_unref(head);
	rs_msg_unref(other);
	for (int i = 0; i < 5; i++)
		rs_msg_unref(v[i]);
}

/*
 * One caption to 1,000 readers: every queue holds the same bytes (no copy
 * per recipient), in order; the message is freed once the last queue lets go
 * (the ASan build checks that). A reader whose queue is full is refused
 * without disturbing the others.
 */
static void test_shared_fanout(void)
{
	enum { N = 1000 };
	static struct sendq q[N];
	for (int i = 0; i < N; i++)
		sendq_init(&q[i], i == 7 ? 250 : 1 << 20, 0);
	rs_msg *m[3];
	for (int k = 0; k < 3; k++) {
		m[k] = msg(100, 0);
		int full = 0;
		for (int i = 0; i < N; i++)
			full += sendq_push(&q[i], m[k]) == SENDQ_FULL;
		CHECK(full == (k == 2)); /* the 250-byte reader takes two, not three */
	}
	unsigned char *p0 = rs_msg_payload(m[0]);
	for (int k = 0; k < 3; k++)
		rs_msg_unref(m[k]); /* the queues hold the only references now */
	bool same = true, ordered = true;
	for (int i = 0; i < N; i++) {
		same = same && rs_msg_payload(sendq_peek(&q[i])) == p0;
		size_t len = q[i].len;
		for (size_t k = 0; q[i].len; k++) { /* compares addresses only: nothing freed is read */
			ordered = ordered && sendq_peek(&q[i]) == m[k];
			sendq_pop(&q[i]);
		}
		CHECK(len == (i == 7 ? 2u : 3u));
		sendq_clear(&q[i]);
	}
	CHECK(same);
	CHECK(ordered);
}

int main(void)
{
	test_bytes();
	test_count();
	test_replace();
	test_shared_fanout();
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}
