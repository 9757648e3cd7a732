/*
 * Roster coalescing and the deadline heap, on fake time: many changes within
 * a tick make one delta with the latest of each; the heap hands out rooms in
 * deadline order whatever order they moved in.
 */
#include "check.h"
#include "presence.h"
#include "deadline.h"

#include <string.h>

static json_t *entry(uint32_t pid, const char *region)
{
	return json_pack("{s:I, s:s, s:s, s:s}", "pid", (json_int_t)pid, "role", "participant",
			 "name", "P", "region", region);
}

static size_t len(json_t *d, const char *key)
{
	return json_array_size(json_object_get(d, key));
}

static void test_many_joins_one_delta(void)
{
	presence *p = presence_create(150);
	int64_t t = 1000;
	CHECK(presence_deadline(p) == PRESENCE_NO_DEADLINE);
	for (uint32_t pid = 1; pid <= 1000; pid++)
		presence_joined(p, t + pid % 100, pid, entry(pid, "A"), false);
	CHECK(presence_deadline(p) == t + 150 + 1); /* the first change sets the tick */
	CHECK(presence_pending(p) == 1000);
	json_t *d = presence_flush(p, 1000, false);
	CHECK(len(d, "joined") == 1000 && len(d, "updated") == 0 && len(d, "left") == 0);
	CHECK(json_integer_value(json_object_get(d, "count")) == 1000);
	CHECK(presence_deadline(p) == PRESENCE_NO_DEADLINE && presence_pending(p) == 0);
	json_decref(d);
	presence_destroy(p);
}

/* Latest wins: updates collapse, a join absorbs them, join+leave cancel, update+leave leaves. */
static void test_latest_wins(void)
{
	presence *p = presence_create(100);
	for (int k = 0; k < 40; k++) {
		char r[8];
		snprintf(r, sizeof r, "R%d", k);
		presence_updated(p, 5, 7, entry(7, r), false);
	}
	presence_joined(p, 5, 8, entry(8, "first"), false);
	presence_updated(p, 6, 8, entry(8, "second"), false);
	presence_joined(p, 6, 9, entry(9, "x"), false);
	presence_left(p, 7, 9, false);
	presence_updated(p, 7, 10, entry(10, "y"), false);
	presence_left(p, 8, 10, false);
	json_t *d = presence_flush(p, 3, false);
	CHECK(len(d, "updated") == 1 && len(d, "joined") == 1 && len(d, "left") == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(d, "updated"), 0),
						    "region")), "R39");
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(d, "joined"), 0),
						    "region")), "second");
	CHECK(json_integer_value(json_array_get(json_object_get(d, "left"), 0)) == 10);
	json_decref(d);
	/* Changes that cancel out send nothing. */
	presence_joined(p, 20, 11, entry(11, "z"), false);
	presence_left(p, 21, 11, false);
	CHECK(presence_flush(p, 3, false) == NULL);
	presence_destroy(p);
}

/* A partial (large) room's delta names only the listed; the rest show in count. */
static void test_partial(void)
{
	presence *p = presence_create(100);
	presence_joined(p, 0, 1, entry(1, "chair"), true);
	for (uint32_t pid = 2; pid < 500; pid++)
		presence_joined(p, 0, pid, entry(pid, "a"), false);
	presence_left(p, 0, 600, false);
	presence_left(p, 0, 601, true);
	json_t *d = presence_flush(p, 900, true);
	CHECK(len(d, "joined") == 1 && len(d, "left") == 1);
	CHECK(json_is_true(json_object_get(d, "partial")));
	json_decref(d);
	/* Only unlisted changes still make a delta: the count moved. */
	presence_left(p, 0, 602, false);
	d = presence_flush(p, 899, true);
	CHECK(d && len(d, "left") == 0 && json_integer_value(json_object_get(d, "count")) == 899);
	json_decref(d);
	presence_destroy(p);
}

struct obj {
	struct deadline_node it;
	int64_t due; /* what it was set to: the heap clears it on the way out */
};

static void obj_set(deadline_heap *h, struct obj *o, int64_t due)
{
	o->due = due;
	deadline_set(h, &o->it, due);
}

static void test_heap(void)
{
	deadline_heap *h = deadline_heap_create();
	struct obj o[200];
	uint64_t seed = 0x5eed;
	for (int i = 0; i < 200; i++) {
		deadline_node_init(&o[i].it, &o[i]);
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		obj_set(h, &o[i], (int64_t)(seed >> 40) % 10000);
	}
	/* Move some, remove some. */
	for (int i = 0; i < 200; i += 3)
		obj_set(h, &o[i], (int64_t)(199 - i) * 7);
	for (int i = 1; i < 200; i += 10)
		obj_set(h, &o[i], DEADLINE_NEVER);
	int64_t last = -1;
	size_t n = 0;
	struct deadline_node *top;
	while ((top = deadline_pop_due(h, DEADLINE_NEVER - 1))) {
		const struct obj *ob = top->owner;
		CHECK(ob->due >= last);
		last = ob->due;
		n++;
	}
	CHECK(n == 180);
	CHECK(deadline_next(h) == DEADLINE_NEVER);
	deadline_heap_destroy(h);
}

int main(void)
{
	test_many_joins_one_delta();
	test_latest_wins();
	test_partial();
	test_heap();
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}
