/*
 * The deadline heap against a plain model: random sets, moves and removals
 * on fake time; what is popped as due is exactly what the model says, in
 * order of deadline. The seed is printed on failure.
 */
#include "check.h"
#include "deadline.h"

#define N 500

static uint64_t rng = 0x5eed0001;

static uint32_t next(void)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (uint32_t)(rng >> 33);
}

static void test_basic(void)
{
	deadline_heap *h = deadline_heap_create();
	struct deadline_node a, b, c;
	deadline_node_init(&a, &a);
	deadline_node_init(&b, &b);
	deadline_node_init(&c, &c);
	CHECK(deadline_next(h) == DEADLINE_NEVER && !deadline_pop_due(h, 1000));
	deadline_set(h, &a, 30);
	deadline_set(h, &b, 10);
	deadline_set(h, &c, 20);
	CHECK(deadline_next(h) == 10 && deadline_count(h) == 3);
	deadline_set(h, &b, 40); /* moved later */
	CHECK(deadline_next(h) == 20);
	deadline_set(h, &c, DEADLINE_NEVER); /* out */
	CHECK(deadline_next(h) == 30 && deadline_count(h) == 2);
	CHECK(!deadline_pop_due(h, 29));
	struct deadline_node *n = deadline_pop_due(h, 35);
	CHECK(n == &a && n->owner == &a && a.due == DEADLINE_NEVER);
	CHECK(!deadline_pop_due(h, 35));
	deadline_set(h, &c, DEADLINE_NEVER); /* not in: a no-op */
	CHECK(deadline_count(h) == 1);
	deadline_heap_destroy(h);
	CHECK(b.due == DEADLINE_NEVER);
}

static void test_random(void)
{
	static struct deadline_node nodes[N];
	static int64_t model[N];
	deadline_heap *h = deadline_heap_create();
	for (int i = 0; i < N; i++) {
		deadline_node_init(&nodes[i], &nodes[i]);
		model[i] = DEADLINE_NEVER;
	}
	int64_t now = 0;
	int bad = 0;
	for (int step = 0; step < 20000 && !bad; step++) {
		int i = (int)(next() % N);
		uint32_t op = next() % 10;
		if (op < 6) {
			model[i] = now + (int64_t)(next() % 5000);
			deadline_set(h, &nodes[i], model[i]);
		} else if (op < 7) {
			model[i] = DEADLINE_NEVER;
			deadline_set(h, &nodes[i], DEADLINE_NEVER);
		} else {
			now += next() % 300;
			int64_t last = -1;
			struct deadline_node *n;
			while ((n = deadline_pop_due(h, now))) {
				int k = (int)(n - nodes);
				bad += model[k] > now || model[k] < last;
				last = model[k];
				model[k] = DEADLINE_NEVER;
			}
			for (int k = 0; k < N; k++)
				bad += model[k] <= now;
		}
		bad += !deadline_consistent(h);
	}
	if (bad)
		fprintf(stderr, "deadline model mismatch, seed 0x5eed0001\n");
	CHECK(bad == 0);
	deadline_heap_destroy(h);
}

int main(void)
{
	test_basic();
	test_random();
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}
