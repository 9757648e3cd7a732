#include "timerheap.h"
#include "util.h"

#include <stdlib.h>

void th_item_init(th_item *it)
{
	it->due = TH_NONE;
	it->pos = 0;
}

static void place(timerheap *h, size_t i, th_item *it)
{
	h->v[i] = it;
	it->pos = i;
}

static void sift_up(timerheap *h, size_t i)
{
	th_item *it = h->v[i];
	while (i > 0 && h->v[(i - 1) / 2]->due > it->due) {
		place(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, it);
}

static void sift_down(timerheap *h, size_t i)
{
	th_item *it = h->v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->n)
			break;
		if (c + 1 < h->n && h->v[c + 1]->due < h->v[c]->due)
			c++;
		if (h->v[c]->due >= it->due)
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, it);
}

static void remove_at(timerheap *h, size_t i)
{
	th_item *last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->pos);
}

void th_set(timerheap *h, th_item *it, int64_t due)
{
	bool in = it->due != TH_NONE;
	if (in && due == TH_NONE) {
		remove_at(h, it->pos);
		it->due = TH_NONE;
		return;
	}
	if (due == TH_NONE || (in && due == it->due))
		return;
	if (!in) {
		if (h->n == h->cap) {
			h->cap = h->cap ? h->cap * 2 : 16;
			h->v = rs_realloc(h->v, h->cap * sizeof *h->v);
		}
		it->due = due;
		place(h, h->n++, it);
		sift_up(h, it->pos);
		return;
	}
	int64_t was = it->due;
	it->due = due;
	if (due < was)
		sift_up(h, it->pos);
	else
		sift_down(h, it->pos);
}

th_item *th_top(const timerheap *h)
{
	return h->n ? h->v[0] : NULL;
}

int64_t th_next(const timerheap *h)
{
	return h->n ? h->v[0]->due : TH_NONE;
}

void th_free(timerheap *h)
{
	free(h->v);
	*h = (timerheap){ 0 };
}
