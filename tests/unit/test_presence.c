/*
 * Roster coalescing and the deadline heap, on fake time: many changes within
 * a tick make one delta with the latest of each; the heap hands out rooms in
 * deadline order whatever order they moved in.
 */
#include "check.h"
#include "presence.h"
#include "timerheap.h"

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
	th_item it;
	int id;
};

static void test_heap(void)
{
	timerheap h = { 0 };
	struct obj o[200];
	uint64_t seed = 0x5eed;
	for (int i = 0; i < 200; i++) {
		o[i].id = i;
		th_item_init(&o[i].it);
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		th_set(&h, &o[i].it, (int64_t)(seed >> 40) % 10000);
	}
	/* Move some, remove some. */
	for (int i = 0; i < 200; i += 3)
		th_set(&h, &o[i].it, (int64_t)(199 - i) * 7);
	for (int i = 1; i < 200; i += 10)
		th_set(&h, &o[i].it, TH_NONE);
	int64_t last = -1;
	size_t n = 0;
	th_item *top;
	while ((top = th_top(&h))) {
		CHECK(top->due >= last);
		last = top->due;
		th_set(&h, top, TH_NONE);
		n++;
	}
	CHECK(n == 180);
	CHECK(th_next(&h) == TH_NONE);
	th_free(&h);
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
