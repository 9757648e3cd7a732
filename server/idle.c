#include "idle.h"

#include <stddef.h>

void idle_init(struct idle_set *s, int64_t timeout_ms)
{
	*s = (struct idle_set){ .heap = deadline_heap_create(), .ping_ms = timeout_ms / 3,
				 .close_ms = timeout_ms };
}

void idle_free(struct idle_set *s)
{
	deadline_heap_destroy(s->heap);
	s->heap = NULL;
}

void idle_add(struct idle_set *s, struct idle_entry *e, int64_t now)
{
	*e = (struct idle_entry){ .heard_ms = now };
	deadline_node_init(&e->t, e);
	deadline_set(s->heap, &e->t, now + s->ping_ms);
}

void idle_remove(struct idle_set *s, struct idle_entry *e)
{
	deadline_set(s->heap, &e->t, DEADLINE_NEVER);
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
		deadline_set(s->heap, &e->t, DEADLINE_NEVER);
		return IDLE_CLOSE;
	}
	if (quiet >= s->ping_ms && !e->pinged) {
		e->pinged = true;
		e->ping_heard = e->heard_ms;
		deadline_set(s->heap, &e->t, pinged_due(s, e, now));
		return IDLE_PING;
	}
	deadline_set(s->heap, &e->t, e->pinged ? pinged_due(s, e, now) : e->heard_ms + s->ping_ms);
	return 0;
}

struct idle_entry *idle_poll(struct idle_set *s, int64_t now, enum idle_action *act)
{
	struct deadline_node *top;
	while ((top = deadline_pop_due(s->heap, now))) {
		struct idle_entry *e = top->owner;
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
	return deadline_next(s->heap);
}
