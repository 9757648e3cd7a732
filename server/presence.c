#include "presence.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

enum change { CH_NONE, CH_JOIN, CH_UPDATE, CH_LEAVE };

struct pending {
	uint32_t pid;
	enum change kind;
	bool listed;
	json_t *entry;          /* owned; NULL for a leave */
};

struct presence {
	int tick_ms;
	int64_t due;
	struct pending *v;      /* in order of first change */
	size_t n, cap;
	uint32_t *slots;        /* open addressing: index + 1 into v, 0 empty */
	size_t n_slots;         /* a power of two, at least twice n */
};

presence *presence_create(int tick_ms)
{
	presence *p = rs_calloc(1, sizeof *p);
	p->tick_ms = tick_ms;
	p->due = PRESENCE_NO_DEADLINE;
	return p;
}

static void clear(presence *p)
{
	for (size_t i = 0; i < p->n; i++)
		json_decref(p->v[i].entry);
	p->n = 0;
	if (p->slots)
		memset(p->slots, 0, p->n_slots * sizeof *p->slots);
	p->due = PRESENCE_NO_DEADLINE;
}

void presence_destroy(presence *p)
{
	if (!p)
		return;
	clear(p);
	free(p->v);
	free(p->slots);
	free(p);
}

static size_t slot_of(const presence *p, uint32_t pid)
{
	size_t mask = p->n_slots - 1;
	size_t i = (pid * 2654435761u) & mask; /* Knuth's multiplicative hash */
	while (p->slots[i] && p->v[p->slots[i] - 1].pid != pid)
		i = (i + 1) & mask;
	return i;
}

static void rehash(presence *p)
{
	free(p->slots);
	p->n_slots = p->n_slots ? p->n_slots * 2 : 64;
	p->slots = rs_calloc(p->n_slots, sizeof *p->slots);
	for (size_t i = 0; i < p->n; i++)
		p->slots[slot_of(p, p->v[i].pid)] = (uint32_t)(i + 1);
}

/* The pending change of pid, created empty (CH_NONE) when absent. */
static struct pending *find_or_add(presence *p, int64_t now, uint32_t pid)
{
	if ((p->n + 1) * 2 > p->n_slots)
		rehash(p);
	size_t s = slot_of(p, pid);
	if (p->slots[s])
		return &p->v[p->slots[s] - 1];
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 16;
		p->v = rs_realloc(p->v, p->cap * sizeof *p->v);
	}
	p->v[p->n] = (struct pending){ .pid = pid, .kind = CH_NONE };
	p->slots[s] = (uint32_t)(++p->n);
	if (p->due == PRESENCE_NO_DEADLINE)
		p->due = now + p->tick_ms;
	return &p->v[p->n - 1];
}

static void set_entry(struct pending *c, json_t *entry, bool listed)
{
	json_decref(c->entry);
	c->entry = entry;
	c->listed = listed;
}

void presence_joined(presence *p, int64_t now, uint32_t pid, json_t *entry, bool listed)
{
	struct pending *c = find_or_add(p, now, pid);
	/* A pid is never reused, so only a fresh slot can see a join. */
	c->kind = c->kind == CH_NONE ? CH_JOIN : CH_UPDATE;
	set_entry(c, entry, listed);
}

void presence_updated(presence *p, int64_t now, uint32_t pid, json_t *entry, bool listed)
{
	struct pending *c = find_or_add(p, now, pid);
	if (c->kind == CH_NONE)
		c->kind = CH_UPDATE;
	if (c->kind == CH_LEAVE) {
		json_decref(entry);
		return;
	}
	set_entry(c, entry, listed || c->listed);
}

void presence_left(presence *p, int64_t now, uint32_t pid, bool listed)
{
	struct pending *c = find_or_add(p, now, pid);
	/* Joined and gone within one tick: the others never need to hear of it. */
	c->kind = c->kind == CH_JOIN ? CH_NONE : CH_LEAVE;
	c->listed = listed || c->listed;
	set_entry(c, NULL, c->listed);
}

int64_t presence_deadline(const presence *p)
{
	return p->due;
}

size_t presence_pending(const presence *p)
{
	return p->n;
}

json_t *presence_flush(presence *p, size_t count, bool partial)
{
	json_t *joined = json_array(), *updated = json_array(), *left = json_array();
	size_t changes = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct pending *c = &p->v[i];
		changes += c->kind != CH_NONE;
		if (c->kind == CH_NONE || (partial && !c->listed))
			continue;
		if (c->kind == CH_LEAVE)
			json_array_append_new(left, json_integer(c->pid));
		else
			json_array_append(c->kind == CH_JOIN ? joined : updated, c->entry);
	}
	clear(p);
	if (!changes) {
		json_decref(joined);
		json_decref(updated);
		json_decref(left);
		return NULL;
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:I, s:b}", "type", "roster.delta", "joined", joined,
			 "updated", updated, "left", left, "count", (json_int_t)count, "partial",
			 partial);
}
