#include "deadline.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>

struct deadline_heap {
	struct deadline_node **nodes; /* borrowed; nodes[0] is the earliest */
	size_t n, cap;
};

deadline_heap *deadline_heap_create(void)
{
	return rs_calloc(1, sizeof(deadline_heap));
}

void deadline_heap_destroy(deadline_heap *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		h->nodes[i]->due = DEADLINE_NEVER;
	free(h->nodes);
	free(h);
}

void deadline_node_init(struct deadline_node *n, void *owner)
{
	n->due = DEADLINE_NEVER;
	n->index = 0;
	n->owner = owner;
}

static void place(deadline_heap *h, size_t i, struct deadline_node *n)
{
	h->nodes[i] = n;
	n->index = i;
}

static void sift_up(deadline_heap *h, size_t i)
{
	struct deadline_node *n = h->nodes[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (h->nodes[parent]->due <= n->due)
			break;
		place(h, i, h->nodes[parent]);
		i = parent;
	}
	place(h, i, n);
}

static void sift_down(deadline_heap *h, size_t i)
{
	struct deadline_node *n = h->nodes[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->nodes[c + 1]->due < h->nodes[c]->due)
			c++;
		if (n->due <= h->nodes[c]->due)
			break;
		place(h, i, h->nodes[c]);
		i = c;
	}
	place(h, i, n);
}

static void take_out(deadline_heap *h, struct deadline_node *n)
{
	size_t i = n->index;
	assert(i < h->n && h->nodes[i] == n);
	n->due = DEADLINE_NEVER;
	struct deadline_node *last = h->nodes[--h->n];
	if (last == n)
		return;
	place(h, i, last);
	sift_down(h, i);
	sift_up(h, last->index);
}

void deadline_set(deadline_heap *h, struct deadline_node *n, int64_t due)
{
	bool in = n->due != DEADLINE_NEVER;
	if (due == DEADLINE_NEVER) {
		if (in)
			take_out(h, n);
		return;
	}
	if (!in) {
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 16;
			h->nodes = rs_realloc(h->nodes, h->cap * sizeof *h->nodes);
		}
		n->due = due;
		place(h, h->n++, n);
		sift_up(h, n->index);
		return;
	}
	int64_t was = n->due;
	n->due = due;
	if (due < was)
		sift_up(h, n->index);
	else
		sift_down(h, n->index);
}

int64_t deadline_next(const deadline_heap *h)
{
	return h->n ? h->nodes[0]->due : DEADLINE_NEVER;
}

struct deadline_node *deadline_pop_due(deadline_heap *h, int64_t now)
{
	if (!h->n || h->nodes[0]->due > now)
		return NULL;
	struct deadline_node *n = h->nodes[0];
	take_out(h, n);
	return n;
}

size_t deadline_count(const deadline_heap *h)
{
	return h->n;
}

bool deadline_consistent(const deadline_heap *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (h->nodes[i]->index != i || h->nodes[i]->due == DEADLINE_NEVER)
			return false;
		if (i && h->nodes[(i - 1) / 2]->due > h->nodes[i]->due)
			return false;
	}
	return true;
}
