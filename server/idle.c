#include "idle.h"

#include <stddef.h>

void idle_init(struct idle_set *s, int64_t timeout_ms)
{
	*s = (struct idle_set){ .ping_ms = timeout_ms / 3, .close_ms = timeout_ms };
}

void idle_free(struct idle_set *s)
{
	th_free(&s->heap);
}

void idle_add(struct idle_set *s, struct idle_entry *e, int64_t now)
{
	*e = (struct idle_entry){ .heard_ms = now };
	th_item_init(&e->t);
	th_set(&s->heap, &e->t, now + s->ping_ms);
}

void idle_remove(struct idle_set *s, struct idle_entry *e)
{
	th_set(&s->heap, &e->t, TH_NONE);
}

/*
 * A pinged connection is looked at again a third later, so an answer moves
 * its deadline on in time, and at the latest when it is to be closed.
 */
static int64_t pinged_due(const struct idle_set *s, const struct idle_entry *e, int64_t now)
{
	int64_t again = now + s->ping_ms, last = e->heard_ms + s->close_ms;
	return again < last ? again : last;
}

/* What e needs at now (its deadline has come), or 0 with its deadline moved on. */
static int step(struct idle_set *s, struct idle_entry *e, int64_t now)
{
	int64_t quiet = now - e->heard_ms;
	bool answered = e->pinged && e->heard_ms != e->ping_heard;
	if (answered)
		e->pinged = false;
	if (quiet >= s->close_ms) {
		th_set(&s->heap, &e->t, TH_NONE);
		return IDLE_CLOSE;
	}
	if (quiet >= s->ping_ms && !e->pinged) {
		e->pinged = true;
		e->ping_heard = e->heard_ms;
		th_set(&s->heap, &e->t, pinged_due(s, e, now));
		return IDLE_PING;
	}
	th_set(&s->heap, &e->t, e->pinged ? pinged_due(s, e, now) : e->heard_ms + s->ping_ms);
	return 0;
}

struct idle_entry *idle_poll(struct idle_set *s, int64_t now, enum idle_action *act)
{
	th_item *top;
	while ((top = th_top(&s->heap)) && top->due <= now) {
		struct idle_entry *e = (struct idle_entry *)((char *)top - offsetof(struct idle_entry, t));
		s->looks++;
		int a = step(s, e, now);
		if (a) {
			*act = (enum idle_action)a;
			return e;
		}
	}
	return NULL;
}

int64_t idle_next(const struct idle_set *s)
{
	return th_next(&s->heap);
}
