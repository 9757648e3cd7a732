/*
 * deadline: one deadline structure for many objects (a binary min-heap), so
 * the loop asks "what is due next" in O(1) and an object's deadline moves
 * in O(log n), instead of scanning every transport on each pass.
 *
 * Each object embeds a deadline_node; the heap keeps the node's index in it
 * (intrusive, no allocation per object, O(log n) removal). Sans-IO: times
 * are whatever clock the owner uses.
 *
 * Ownership: the heap borrows the nodes; an object clears its node before
 * it is freed.
 */
#ifndef ROSTRUM_MEDIA_DEADLINE_H
#define ROSTRUM_MEDIA_DEADLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEADLINE_NEVER INT64_MAX

struct deadline_node {
	int64_t due;      /* DEADLINE_NEVER while not in the heap */
	size_t index;     /* position in the heap while in it */
	void *owner;      /* borrowed: what the node stands for */
};

typedef struct deadline_heap deadline_heap;

deadline_heap *deadline_heap_create(void);
/* Frees the heap (not the nodes). */
void deadline_heap_destroy(deadline_heap *h);
/* A node not in any heap yet, standing for owner. */
void deadline_node_init(struct deadline_node *n, void *owner);
/* Sets (or moves) n's deadline; DEADLINE_NEVER takes it out of the heap. */
void deadline_set(deadline_heap *h, struct deadline_node *n, int64_t due);
/* The earliest deadline, DEADLINE_NEVER when the heap is empty. */
int64_t deadline_next(const deadline_heap *h);
/* Takes out and returns one node due at now (due <= now), NULL when none is. */
struct deadline_node *deadline_pop_due(deadline_heap *h, int64_t now);
size_t deadline_count(const deadline_heap *h);
/* Checks the heap property (tests). */
bool deadline_consistent(const deadline_heap *h);

#endif
