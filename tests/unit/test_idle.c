/* The idle-WebSocket deadlines on fake time: ping at a third, close at the whole, no walk. */
#include "check.h"
#include "idle.h"

#define T 30000 /* the idle timeout, ms */

/* Polls at now; returns how many actions of each kind came out. */
static void poll_all(struct idle_set *s, int64_t now, int *pings, int *closes)
{
	enum idle_action a;
	struct idle_entry *e;
	*pings = *closes = 0;
	while ((e = idle_poll(s, now, &a)))
		(*(a == IDLE_PING ? pings : closes))++;
}

/* A silent peer is pinged once at T/3 and closed at T; nothing happens before. */
static void test_silent(void)
{
	struct idle_set s;
	idle_init(&s, T);
	struct idle_entry e;
	idle_add(&s, &e, 1000);
	int p, c;
	poll_all(&s, 1000 + T / 3 - 1, &p, &c);
	CHECK(p == 0 && c == 0);
	poll_all(&s, 1000 + T / 3, &p, &c);
	CHECK(p == 1 && c == 0 && e.pinged);
	poll_all(&s, 1000 + T / 2, &p, &c);
	CHECK(p == 0 && c == 0); /* one ping per quiet spell, not one a second */
	CHECK(idle_next(&s) == 1000 + 2 * (T / 3)); /* a look for an answer */
	poll_all(&s, 1000 + 2 * (T / 3), &p, &c);
	CHECK(p == 0 && c == 0 && idle_next(&s) == 1000 + T);
	poll_all(&s, 1000 + T - 1, &p, &c);
	CHECK(c == 0);
	poll_all(&s, 1000 + T, &p, &c);
	CHECK(p == 0 && c == 1);
	CHECK(idle_next(&s) == DEADLINE_NEVER);
	idle_free(&s);
}

/* A peer that answers each ping (or talks) is never closed. */
static void test_answers(void)
{
	struct idle_set s;
	idle_init(&s, T);
	struct idle_entry e;
	idle_add(&s, &e, 0);
	int pings = 0, closes = 0;
	for (int64_t now = 0; now < 10 * T; now += 1000) {
		enum idle_action a;
		struct idle_entry *got;
		while ((got = idle_poll(&s, now, &a))) {
			if (a == IDLE_PING) {
				pings++;
				idle_heard(&e, now + 50); /* the pong, 50 ms later */
			} else {
				closes++;
			}
		}
	}
	CHECK(closes == 0);
	CHECK(pings >= 25 && pings <= 31); /* about one per T/3 */
	idle_free(&s);
}

/* Heard after a ping but quiet again: pinged again, closed a whole timeout after the last word. */
static void test_quiet_again(void)
{
	struct idle_set s;
	idle_init(&s, T);
	struct idle_entry e;
	idle_add(&s, &e, 0);
	int p, c;
	poll_all(&s, T / 3, &p, &c);
	CHECK(p == 1);
	idle_heard(&e, T / 3 + 100);
	poll_all(&s, T / 3 + 100 + T / 3 - 1, &p, &c);
	CHECK(p == 0 && c == 0); /* looked at a third after the ping: it answered */
	poll_all(&s, T / 3 + 100 + T / 3, &p, &c);
	CHECK(p == 1 && c == 0);
	poll_all(&s, T / 3 + 100 + T - 1, &p, &c);
	CHECK(c == 0);
	poll_all(&s, T / 3 + 100 + T, &p, &c);
	CHECK(c == 1);
	idle_free(&s);
}

/*
 * 5,000 members that talk every second: a poll each second looks at no one
 * (the old sweep looked at all 5,000), and over a whole timeout each member
 * is looked at only when its own deadline comes, about three times.
 */
static void test_no_walk(void)
{
	enum { N = 5000 };
	static struct idle_entry e[N];
	struct idle_set s;
	idle_init(&s, T);
	for (int i = 0; i < N; i++)
		idle_add(&s, &e[i], i % 1000);
	int p, c;
	uint64_t before = s.looks;
	poll_all(&s, 1000, &p, &c);
	CHECK(s.looks == before && p == 0 && c == 0);
	for (int64_t now = 1000; now <= T; now += 1000) {
		for (int i = 0; i < N; i++)
			idle_heard(&e[i], now);
		poll_all(&s, now, &p, &c);
		CHECK(p == 0 && c == 0);
	}
	CHECK(s.looks <= 4 * N);
	for (int i = 0; i < N; i++)
		idle_remove(&s, &e[i]);
	CHECK(idle_next(&s) == DEADLINE_NEVER);
	idle_remove(&s, &e[0]); /* twice is harmless */
	idle_free(&s);
}

int main(void)
{
	test_silent();
	test_answers();
	test_quiet_again();
	test_no_walk();
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}
