/*
 * timerheap: one deadline structure for many objects — a binary min-heap of
 * intrusive items, so the next deadline is the top and changing one object's
 * deadline costs O(log n), never a scan of everyone.
 *
 * The caller embeds a th_item in each object and owns the objects; the heap
 * holds borrowed pointers. An item with due INT64_MAX is out of the heap.
 */
#ifndef ROSTRUM_TIMERHEAP_H
#define ROSTRUM_TIMERHEAP_H

#include <stddef.h>
#include <stdint.h>

#define TH_NONE INT64_MAX

typedef struct th_item {
	int64_t due;     /* TH_NONE when not in the heap */
	size_t pos;      /* private: index in the heap */
} th_item;

typedef struct timerheap {
	th_item **v;
	size_t n, cap;
} timerheap;

/* An item's initial state (due TH_NONE). */
void th_item_init(th_item *it);
/* Moves it to due (TH_NONE removes it). */
void th_set(timerheap *h, th_item *it, int64_t due);
/* The earliest item, or NULL when empty. */
th_item *th_top(const timerheap *h);
/* The earliest deadline, TH_NONE when empty. */
int64_t th_next(const timerheap *h);
void th_free(timerheap *h);

#endif
