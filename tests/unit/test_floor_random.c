/*
 * Floor-control core against an independent model: 100,000 random events
 * (40 participant seats that come and go, 2 moderators, a captioner and an
 * observer, random times, timers) under four room policies. After every event
 * the floor must agree with the model on each result code and each request's
 * state and place, and: at most one live request per participant, holders
 * within the limit, queue positions 1..n, no request in two states, and
 * speaking time equal to the sum of granted intervals.
 *
 * Usage: test_floor_random [seed]   (the seed is printed on failure)
 */
#include "floor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEATS 40
#define STEPS_PER_POLICY 25000
#define FULL_CHECK_EVERY 50
#define N_GROUPS 8   /* the seven stakeholder groups and undeclared */
#define N_REGIONS 6

static uint64_t seed, rng;
static long step;

#define T_ASSERT(e)                                                                        \
	do {                                                                               \
		if (!(e)) {                                                                \
			fprintf(stderr, "%s:%d: assertion failed: %s (seed %" PRIu64       \
					", step %ld)\n",                                   \
				__FILE__, __LINE__, #e, seed, step);                       \
			return 1;                                                          \
		}                                                                          \
	} while (0)

/* splitmix64: small, seedable, good enough to shuffle events. */
static uint64_t next_rand(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int rnd(int n)
{
	return (int)(next_rand() % (uint64_t)n);
}

/* ---- the model ------------------------------------------------------------ */

static const char *const groups[N_GROUPS] = {
	"government", "private_sector", "civil_society", "technical_community", "academia",
	"intergovernmental", "other", "",
};
static const char *const regions[N_REGIONS] = {
	"Africa", "Asia-Pacific", "Europe", "Latin America", "North America", "",
};

struct mperson {
	bool known, present, muted;
	enum rs_role role;
	int group, region, onsite;   /* indexes into the pools; onsite as in rs_attrs */
	struct rs_attrs at;
	int64_t spoken;              /* finished turns */
	int turns;
	uint32_t live;               /* live request id, 0 = none */
};

struct mreq {
	uint32_t pid;
	enum floor_state state;
	bool accepted_once, warned, expired;
	int64_t granted_at, limit;
};

struct mline {
	uint32_t *id;
	size_t n, cap;
};

static struct model {
	struct floor_policy pol;
	int64_t now;
	struct mperson *people;      /* by pid */
	size_t n_people;
	struct mreq *reqs;           /* by id */
	size_t n_reqs;
	uint32_t next_id;
	struct mline lines[4];
	int64_t group_ms[N_GROUPS], side_ms[3], region_ms[N_REGIONS];
	int last_group, last_onsite;
	int state_events, warn_events, expire_events;
	uint32_t seat_pid[SEATS];    /* 0 = empty seat */
	uint32_t next_pid;
} m;

static const uint32_t MOD1 = 1, MOD2 = 2, CAPT = 3, OBS = 4;

static struct mperson *person(uint32_t pid)
{
	if (pid >= m.n_people) {
		size_t n = pid + 64;
		m.people = realloc(m.people, n * sizeof *m.people);
		memset(&m.people[m.n_people], 0, (n - m.n_people) * sizeof *m.people);
		m.n_people = n;
	}
	return &m.people[pid];
}

static struct mreq *req(uint32_t id)
{
	if (id >= m.n_reqs) {
		size_t n = id + 1024;
		m.reqs = realloc(m.reqs, n * sizeof *m.reqs);
		memset(&m.reqs[m.n_reqs], 0, (n - m.n_reqs) * sizeof *m.reqs);
		m.n_reqs = n;
	}
	return &m.reqs[id];
}

static void mline_push(struct mline *l, uint32_t id)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->id = realloc(l->id, l->cap * sizeof *l->id);
	}
	l->id[l->n++] = id;
}

static int mline_index(const struct mline *l, uint32_t id)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->id[i] == id)
			return (int)i;
	return -1;
}

static void mline_remove(struct mline *l, uint32_t id)
{
	int i = mline_index(l, id);
	memmove(&l->id[i], &l->id[i + 1], (l->n - (size_t)i - 1) * sizeof *l->id);
	l->n--;
}

static void mline_insert(struct mline *l, size_t at, uint32_t id)
{
	mline_push(l, id);
	memmove(&l->id[at + 1], &l->id[at], (l->n - 1 - at) * sizeof *l->id);
	l->id[at] = id;
}

static bool final(enum floor_state s)
{
	return s >= FLOOR_RELEASED;
}

static int side(int onsite)
{
	return onsite == ATTRS_ONSITE ? 1 : onsite == ATTRS_REMOTE ? 0 : 2;
}

static bool is_onsite(const struct mperson *p)
{
	return p->onsite == ATTRS_ONSITE;
}

/* Moves a modelled request, booking a finished turn to the speaker's current attributes. */
static void m_set(uint32_t id, enum floor_state to, int64_t limit)
{
	struct mreq *r = req(id);
	struct mperson *p = person(r->pid);
	if (!final(r->state))
		mline_remove(&m.lines[r->state], id);
	if (r->state == FLOOR_GRANTED) {
		int64_t d = m.now - r->granted_at;
		p->spoken += d;
		m.group_ms[p->group] += d;
		m.side_ms[side(p->onsite)] += d;
		m.region_ms[p->region] += d;
	}
	r->state = to;
	m.state_events++;
	if (final(to)) {
		p->live = 0;
		return;
	}
	mline_push(&m.lines[to], id);
	if (to == FLOOR_ACCEPTED)
		r->accepted_once = true;
	if (to == FLOOR_GRANTED) {
		r->granted_at = m.now;
		r->limit = limit;
		r->warned = r->expired = false;
		r->accepted_once = true;
		p->turns++;
		m.last_group = p->group;
		m.last_onsite = is_onsite(p);
	}
}

/* ---- what the floor should answer, from the rules rather than its code ---- */

#define S(x) (1u << FLOOR_##x)
#define R(x) (1u << FLOOR_BY_##x)

static const struct {
	enum floor_op op;
	unsigned states, rels;
	enum floor_state next;
} allowed[] = {
	{ FLOOR_OP_ACCEPT, S(PENDING), R(MODERATOR), FLOOR_ACCEPTED },
	{ FLOOR_OP_GRANT, S(PENDING) | S(ACCEPTED), R(MODERATOR), FLOOR_GRANTED },
	{ FLOOR_OP_DENY, S(PENDING) | S(ACCEPTED) | S(HELD), R(MODERATOR), FLOOR_DENIED },
	{ FLOOR_OP_CANCEL, S(PENDING) | S(ACCEPTED) | S(HELD), R(OWNER), FLOOR_CANCELLED },
	{ FLOOR_OP_RELEASE, S(GRANTED), R(OWNER), FLOOR_RELEASED },
	{ FLOOR_OP_REVOKE, S(GRANTED), R(MODERATOR), FLOOR_REVOKED },
	{ FLOOR_OP_HOLD, S(PENDING) | S(ACCEPTED) | S(GRANTED), R(OWNER) | R(MODERATOR),
	  FLOOR_HELD },
	{ FLOOR_OP_RESUME, S(HELD), R(OWNER) | R(MODERATOR), FLOOR_ACCEPTED },
	{ FLOOR_OP_MOVE, S(ACCEPTED), R(MODERATOR), FLOOR_ACCEPTED },
};

static int expect_cell(enum floor_state s, enum floor_op op, enum floor_rel rel)
{
	unsigned may = 0;
	for (size_t i = 0; i < RS_ARRAY_LEN(allowed); i++) {
		if (allowed[i].op != op)
			continue;
		may |= allowed[i].rels;
		if ((allowed[i].states & (1u << s)) && (allowed[i].rels & (1u << rel)))
			return (int)allowed[i].next;
	}
	if (may & (1u << rel))
		return FLOOR_E_WRONG_STATE;
	return rel == FLOOR_BY_OTHER && (may & R(OWNER)) ? FLOOR_E_NOT_YOURS
							 : FLOOR_E_FORBIDDEN_ROLE;
}

static enum floor_rel rel_for(uint32_t actor, uint32_t owner)
{
	switch (person(actor)->role) {
	case RS_ROLE_PARTICIPANT: return actor == owner ? FLOOR_BY_OWNER : FLOOR_BY_OTHER;
	case RS_ROLE_MODERATOR: return FLOOR_BY_MODERATOR;
	case RS_ROLE_CAPTIONER: return FLOOR_BY_CAPTIONER;
	default: return FLOOR_BY_OBSERVER;
	}
}

/* Live speaking time of the model's buckets, as the balanced order weighs them. */
static int64_t live_extra(bool (*match)(const struct mperson *, int), int key)
{
	int64_t ms = 0;
	const struct mline *g = &m.lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++) {
		const struct mreq *r = req(g->id[i]);
		if (match(person(r->pid), key))
			ms += m.now - r->granted_at;
	}
	return ms;
}

static bool match_group(const struct mperson *p, int g) { return p->group == g; }
static bool match_side(const struct mperson *p, int onsite) { return is_onsite(p) == onsite; }
static bool match_region(const struct mperson *p, int r) { return p->region == r; }

static void balanced_key(uint32_t id, int64_t key[5])
{
	const struct mperson *p = person(req(id)->pid);
	bool on = is_onsite(p);
	key[0] = p->group == m.last_group;
	key[1] = m.group_ms[p->group] + live_extra(match_group, p->group);
	key[2] = (on ? m.side_ms[1] : m.side_ms[0] + m.side_ms[2]) + live_extra(match_side, on);
	key[3] = m.region_ms[p->region] + live_extra(match_region, p->region);
	key[4] = p->spoken + (p->live && req(p->live)->state == FLOOR_GRANTED
				      ? m.now - req(p->live)->granted_at : 0);
}

static uint32_t m_suggest(void)
{
	const struct mline *q = &m.lines[FLOOR_ACCEPTED];
	if (!q->n)
		return 0;
	if (m.pol.order == FLOOR_ORDER_ALTERNATE && m.last_onsite >= 0) {
		for (size_t i = 0; i < q->n; i++)
			if (is_onsite(person(req(q->id[i])->pid)) != m.last_onsite)
				return q->id[i];
	}
	if (m.pol.order != FLOOR_ORDER_BALANCED)
		return q->id[0];
	uint32_t best = 0;
	int64_t bk[5] = { 0 };
	for (size_t i = 0; i < q->n; i++) {
		int64_t k[5];
		balanced_key(q->id[i], k);
		int c = 0;
		for (int j = 0; j < 5 && !c; j++)
			c = k[j] < bk[j] ? -1 : k[j] > bk[j];
		if (!best || c < 0) {
			best = q->id[i];
			memcpy(bk, k, sizeof k);
		}
	}
	return best;
}

static int64_t m_deadline(void)
{
	int64_t best = FLOOR_NO_DEADLINE;
	const struct mline *g = &m.lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++) {
		const struct mreq *r = req(g->id[i]);
		if (!r->limit)
			continue;
		int64_t end = r->granted_at + r->limit;
		if (!r->expired && end < best)
			best = end;
		if (!r->warned && m.pol.warn_ms && m.pol.warn_ms < r->limit &&
		    end - m.pol.warn_ms < best)
			best = end - m.pol.warn_ms;
	}
	return best;
}

/* ---- random inputs ------------------------------------------------------- */

static struct rs_attrs attrs_for(const struct mperson *p)
{
	struct rs_attrs a;
	memset(&a, 0, sizeof a);
	snprintf(a.name, sizeof a.name, "Person %d", p->group * 10 + p->region);
	rs_strlcpy(a.group, groups[p->group], sizeof a.group);
	rs_strlcpy(a.region, regions[p->region], sizeof a.region);
	a.onsite = p->onsite;
	return a;
}

static void random_attrs(struct mperson *p)
{
	p->group = rnd(N_GROUPS);
	p->region = rnd(N_REGIONS);
	p->onsite = rnd(3) - 1;
	p->at = attrs_for(p);
}

static floor_actor actor_of(uint32_t pid)
{
	struct mperson *p = person(pid);
	return (floor_actor){ pid, p->role, &p->at };
}

/* A present participant's pid, or 0 when every seat is empty. */
static uint32_t random_participant(void)
{
	int start = rnd(SEATS);
	for (int i = 0; i < SEATS; i++)
		if (m.seat_pid[(start + i) % SEATS])
			return m.seat_pid[(start + i) % SEATS];
	return 0;
}

static uint32_t random_live_id(void)
{
	size_t total = 0;
	for (int s = 0; s < 4; s++)
		total += m.lines[s].n;
	if (!total)
		return 0;
	size_t k = (size_t)rnd((int)total);
	for (int s = 0; s < 4; s++) {
		if (k < m.lines[s].n)
			return m.lines[s].id[k];
		k -= m.lines[s].n;
	}
	return 0;
}

/* An id to act on: 0 (one's own), a live one, an old one, or one never issued. */
static uint32_t random_id(void)
{
	int r = rnd(10);
	if (r < 3)
		return 0;
	if (r < 7)
		return random_live_id();
	if (r < 9)
		return m.next_id > 1 ? (uint32_t)(1 + rnd((int)m.next_id - 1)) : 0;
	return m.next_id + 100;
}

static uint32_t random_actor(void)
{
	int r = rnd(20);
	if (r == 0)
		return rnd(2) ? CAPT : OBS;
	if (r < 9)
		return rnd(2) ? MOD1 : MOD2;
	return random_participant();
}

/* ---- one step ------------------------------------------------------------ */

/*
 * The model's answer for op on request id by actor: the floor's code, the
 * state to move to in *next, and *maybe_forgotten when a finished request
 * may already have left the floor's memory (then unknown_request is fine too).
 */
static int predict(enum floor_op op, uint32_t actor, uint32_t *id, int *next,
		   bool *maybe_forgotten)
{
	*maybe_forgotten = false;
	if (*id == 0)
		*id = person(actor)->live;
	if (*id == 0 || *id >= m.next_id)
		return FLOOR_E_UNKNOWN_REQUEST;
	const struct mreq *r = req(*id);
	*maybe_forgotten = final(r->state);
	*next = expect_cell(r->state, op, rel_for(actor, r->pid));
	if (*next < 0)
		return *next;
	if (op == FLOOR_OP_GRANT && m.lines[FLOOR_GRANTED].n >= (size_t)m.pol.max_holders)
		return FLOOR_E_HOLDER_LIMIT;
	if (op == FLOOR_OP_RESUME && m.pol.moderated_queue && !r->accepted_once)
		*next = FLOOR_PENDING;
	return 0;
}

static int call_op(floor_ctl *f, enum floor_op op, const floor_actor *a, uint32_t id, int64_t limit,
		   int to)
{
	switch (op) {
	case FLOOR_OP_ACCEPT: return floor_accept(f, m.now, a, id);
	case FLOOR_OP_GRANT: return floor_grant(f, m.now, a, id, limit, NULL);
	case FLOOR_OP_DENY: return floor_deny(f, m.now, a, id, rnd(2) ? "later" : NULL);
	case FLOOR_OP_CANCEL: return floor_cancel(f, m.now, a, id);
	case FLOOR_OP_RELEASE: return floor_release(f, m.now, a, id);
	case FLOOR_OP_REVOKE: return floor_revoke(f, m.now, a, id, NULL);
	case FLOOR_OP_HOLD: return floor_hold(f, m.now, a, id);
	case FLOOR_OP_RESUME: return floor_resume(f, m.now, a, id);
	case FLOOR_OP_MOVE: return floor_move(f, m.now, a, id, to);
	default: return 1;
	}
}

static int64_t random_limit(void)
{
	int r = rnd(4);
	return r == 0 ? -1 : r == 1 ? 0 : 1000 * (5 + rnd(60));
}

/* An operation on an existing request, by a random actor. */
static int step_op(floor_ctl *f, enum floor_op op)
{
	uint32_t actor = random_actor();
	if (!actor)
		return 0;
	uint32_t id = random_id();
	if (op == FLOOR_OP_GRANT && id == 0)
		id = m.next_id + 7; /* 0 means "grant next", driven by step_grant_next */
	uint32_t target = id;
	int64_t limit = random_limit();
	int to = 1 + rnd((int)m.lines[FLOOR_ACCEPTED].n + 2) - (rnd(8) == 0);
	int next = -1;
	bool maybe_forgotten;
	int want = predict(op, actor, &target, &next, &maybe_forgotten);
	if (want == 0 && op == FLOOR_OP_MOVE && (to < 1 || (size_t)to > m.lines[FLOOR_ACCEPTED].n))
		want = FLOOR_E_BAD_ARG;
	floor_actor a = actor_of(actor);
	int rc = call_op(f, op, &a, id, limit, to);
	if (rc != want && !(maybe_forgotten && rc == FLOOR_E_UNKNOWN_REQUEST))
		fprintf(stderr, "op %s by %u on %u: rc %d want %d\n", floor_op_name(op), actor, id,
			rc, want);
	T_ASSERT(rc == want || (maybe_forgotten && rc == FLOOR_E_UNKNOWN_REQUEST));
	if (rc != 0)
		return 0;
	if (op == FLOOR_OP_MOVE) {
		mline_remove(&m.lines[FLOOR_ACCEPTED], target);
		mline_insert(&m.lines[FLOOR_ACCEPTED], (size_t)to - 1, target);
		return 0;
	}
	m_set(target, (enum floor_state)next, limit < 0 ? m.pol.limit_ms : limit);
	return 0;
}

static int step_grant_next(floor_ctl *f)
{
	uint32_t actor = random_actor();
	if (!actor)
		return 0;
	floor_actor a = actor_of(actor);
	int64_t limit = random_limit();
	uint32_t want_id = m_suggest(), got = 0;
	int want, next = -1;
	bool forgotten;
	if (a.role != RS_ROLE_MODERATOR)
		want = FLOOR_E_FORBIDDEN_ROLE;
	else if (!want_id)
		want = FLOOR_E_QUEUE_EMPTY;
	else
		want = predict(FLOOR_OP_GRANT, actor, &want_id, &next, &forgotten);
	int rc = floor_grant(f, m.now, &a, 0, limit, &got);
	T_ASSERT(rc == want);
	if (rc == 0) {
		T_ASSERT(got == want_id);
		m_set(got, FLOOR_GRANTED, limit < 0 ? m.pol.limit_ms : limit);
	}
	return 0;
}

static int step_request(floor_ctl *f)
{
	uint32_t actor = rnd(30) ? random_participant() : random_actor();
	if (!actor)
		return 0;
	floor_actor a = actor_of(actor);
	struct mperson *p = person(actor);
	const char *topic = rnd(20) ? (rnd(2) ? "on the agenda item" : NULL) : "bad\ntopic";
	size_t live = 0;
	for (int s = 0; s < 4; s++)
		live += m.lines[s].n;
	int want = a.role != RS_ROLE_PARTICIPANT ? FLOOR_E_FORBIDDEN_ROLE
		   : p->live                  ? FLOOR_E_ALREADY_REQUESTED
		   : topic && strchr(topic, '\n') ? FLOOR_E_BAD_ARG
		   : live >= (size_t)m.pol.max_requests ? FLOOR_E_QUEUE_FULL : 0;
	uint32_t id = 0;
	int rc = floor_request(f, m.now, &a, topic, &id);
	T_ASSERT(rc == want);
	if (rc)
		return 0;
	T_ASSERT(id == m.next_id);
	m.next_id++;
	struct mreq *r = req(id);
	*r = (struct mreq){ .pid = actor, .state = FLOOR_PENDING };
	p->live = id;
	mline_push(&m.lines[FLOOR_PENDING], id); /* m_set moves it where it belongs */
	if (!m.pol.moderated_queue)
		m_set(id, FLOOR_ACCEPTED, 0);
	else
		m.state_events++;
	return 0;
}

static int step_join(floor_ctl *f)
{
	int seat = rnd(SEATS);
	if (m.seat_pid[seat])
		return 0;
	uint32_t pid = m.next_pid++;
	struct mperson *p = person(pid);
	*p = (struct mperson){ .known = true, .present = true, .role = RS_ROLE_PARTICIPANT };
	random_attrs(p);
	m.seat_pid[seat] = pid;
	floor_actor a = actor_of(pid);
	T_ASSERT(floor_participant_joined(f, m.now, &a) == 0);
	return 0;
}

static void step_leave(floor_ctl *f)
{
	int seat = rnd(SEATS);
	uint32_t pid = m.seat_pid[seat];
	if (!pid)
		return;
	struct mperson *p = person(pid);
	if (p->live)
		m_set(p->live, req(p->live)->state == FLOOR_GRANTED ? FLOOR_RELEASED
								    : FLOOR_CANCELLED, 0);
	p->present = false;
	m.seat_pid[seat] = 0;
	floor_participant_left(f, m.now, pid);
}

static int step_update(floor_ctl *f)
{
	uint32_t pid = random_participant();
	if (!pid)
		return 0;
	random_attrs(person(pid));
	floor_actor a = actor_of(pid);
	T_ASSERT(floor_participant_update(f, m.now, &a) == 0);
	return 0;
}

static int step_clear(floor_ctl *f)
{
	uint32_t actor = random_actor();
	if (!actor)
		return 0;
	floor_actor a = actor_of(actor);
	int n = -1;
	int rc = floor_clear(f, m.now, &a, NULL, &n);
	if (a.role != RS_ROLE_MODERATOR) {
		T_ASSERT(rc == FLOOR_E_FORBIDDEN_ROLE);
		return 0;
	}
	int want = 0;
	static const enum floor_state order[3] = { FLOOR_ACCEPTED, FLOOR_PENDING, FLOOR_HELD };
	for (int k = 0; k < 3; k++)
		while (m.lines[order[k]].n) {
			m_set(m.lines[order[k]].id[0], FLOOR_DENIED, 0);
			want++;
		}
	T_ASSERT(rc == 0 && n == want);
	return 0;
}

static int step_mute(floor_ctl *f)
{
	uint32_t actor = random_actor(), target = rnd(4) ? random_participant() : MOD1;
	if (!actor || !target)
		return 0;
	if (rnd(10) == 0)
		target = (uint32_t)(1 + rnd((int)m.next_pid)); /* perhaps gone */
	floor_actor a = actor_of(actor);
	bool muted = rnd(2);
	struct mperson *t = person(target);
	int want = a.role != RS_ROLE_MODERATOR ? FLOOR_E_FORBIDDEN_ROLE
		   : !t->known || !t->present ? FLOOR_E_UNKNOWN_PARTICIPANT : 0;
	T_ASSERT(floor_mute(f, m.now, &a, target, muted) == want);
	if (want == 0)
		t->muted = muted;
	return 0;
}

static int step_limit(floor_ctl *f)
{
	uint32_t actor = random_actor();
	if (!actor)
		return 0;
	floor_actor a = actor_of(actor);
	uint32_t id = rnd(2) ? 0 : random_id();
	int64_t limit = 1000 * rnd(90);
	int want = 0;
	bool forgotten = false;
	if (a.role != RS_ROLE_MODERATOR)
		want = FLOOR_E_FORBIDDEN_ROLE;
	else if (id && id >= m.next_id)
		want = FLOOR_E_UNKNOWN_REQUEST;
	else if (id && req(id)->state != FLOOR_GRANTED)
		want = FLOOR_E_WRONG_STATE, forgotten = final(req(id)->state);
	int rc = floor_set_limit(f, m.now, &a, id, limit);
	T_ASSERT(rc == want || (forgotten && rc == FLOOR_E_UNKNOWN_REQUEST));
	if (rc == 0 && id) {
		struct mreq *r = req(id);
		r->limit = limit;
		r->warned = r->expired = false;
	} else if (rc == 0) {
		m.pol.limit_ms = limit;
	}
	return 0;
}

/* The timer fires now (often exactly at the deadline, as the glue would arrange). */
static void step_tick(floor_ctl *f)
{
	int64_t d = m_deadline();
	if (d != FLOOR_NO_DEADLINE && d > m.now && rnd(2))
		m.now = d;
	struct mline *g = &m.lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n;) {
		struct mreq *r = req(g->id[i]);
		int64_t end = r->granted_at + r->limit;
		bool can_warn = m.pol.warn_ms && m.pol.warn_ms < r->limit && !r->warned;
		if (r->limit && !r->expired && m.now >= end) {
			r->expired = r->warned = true;
			m.expire_events++;
			if (m.pol.on_expiry == FLOOR_EXPIRY_REVOKE) {
				m_set(g->id[i], FLOOR_REVOKED, 0);
				continue;
			}
		} else if (r->limit && can_warn && m.now >= end - m.pol.warn_ms) {
			r->warned = true;
			m.warn_events++;
		}
		i++;
	}
	floor_tick(f, m.now);
}

static int one_step(floor_ctl *f)
{
	m.now += rnd(10) ? rnd(3000) : rnd(40000);
	int r = rnd(1000);
	if (r < 40)
		return step_join(f);
	if (r < 60)
		return step_leave(f), 0;
	if (r < 70)
		return step_update(f);
	if (r < 280)
		return step_request(f);
	if (r < 340)
		return step_op(f, FLOOR_OP_CANCEL);
	if (r < 380)
		return step_op(f, FLOOR_OP_HOLD);
	if (r < 420)
		return step_op(f, FLOOR_OP_RESUME);
	if (r < 480)
		return step_op(f, FLOOR_OP_RELEASE);
	if (r < 530)
		return step_op(f, FLOOR_OP_ACCEPT);
	if (r < 590)
		return step_op(f, FLOOR_OP_GRANT);
	if (r < 650)
		return step_grant_next(f);
	if (r < 690)
		return step_op(f, FLOOR_OP_DENY);
	if (r < 730)
		return step_op(f, FLOOR_OP_REVOKE);
	if (r < 780)
		return step_op(f, FLOOR_OP_MOVE);
	if (r < 784)
		return step_clear(f);
	if (r < 810)
		return step_mute(f);
	if (r < 820)
		return step_limit(f);
	step_tick(f);
	return 0;
}

/* ---- checks --------------------------------------------------------------- */

/* The events of one step: all stamped now; as many of each kind as the model made. */
static int check_events(floor_ctl *f)
{
	struct floor_event e;
	int state = 0, warn = 0, expire = 0;
	while (floor_poll(f, &e)) {
		T_ASSERT(e.at_ms == m.now);
		state += e.kind == FLOOR_EV_STATE;
		warn += e.kind == FLOOR_EV_WARNING;
		expire += e.kind == FLOOR_EV_EXPIRED;
		if (e.kind == FLOOR_EV_STATE && e.from == FLOOR_GRANTED)
			T_ASSERT(e.duration_ms >= 0);
	}
	T_ASSERT(state == m.state_events && warn == m.warn_events && expire == m.expire_events);
	m.state_events = m.warn_events = m.expire_events = 0;
	return 0;
}

/* Lines equal the model's; every id and every owner appears once across them. */
static int check_lines(floor_ctl *f, uint32_t *seen_id, uint32_t *seen_pid)
{
	for (int s = 0; s < 4; s++) {
		const struct mline *l = &m.lines[s];
		T_ASSERT(floor_count(f, s) == l->n);
		struct floor_req_view v;
		for (size_t i = 0; floor_at(f, s, i, &v); i++) {
			T_ASSERT(v.id == l->id[i] && (int)v.state == s);
			T_ASSERT(v.pid == req(v.id)->pid);
			T_ASSERT(v.position == (s == FLOOR_ACCEPTED ? (int)i + 1 : 0));
			T_ASSERT(seen_id[v.id] != (uint32_t)step + 1);
			seen_id[v.id] = (uint32_t)step + 1;
			T_ASSERT(seen_pid[v.pid] != (uint32_t)step + 1);
			seen_pid[v.pid] = (uint32_t)step + 1;
		}
	}
	T_ASSERT(floor_count(f, FLOOR_GRANTED) <= (size_t)m.pol.max_holders);
	return 0;
}

static int64_t m_total(void)
{
	int64_t ms = 0;
	for (int i = 0; i < 3; i++)
		ms += m.side_ms[i];
	const struct mline *g = &m.lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++)
		ms += m.now - req(g->id[i])->granted_at;
	return ms;
}

/* Everyone's time and every bucket's time equal the model's sums of granted intervals. */
static int check_stats_full(floor_ctl *f)
{
	for (uint32_t pid = 1; pid < m.next_pid; pid++) {
		const struct mperson *p = person(pid);
		struct floor_person_view v;
		if (!p->known || (!p->turns && !p->present))
			continue;
		T_ASSERT(floor_person(f, pid, m.now, &v));
		int64_t live = p->live && req(p->live)->state == FLOOR_GRANTED
				       ? m.now - req(p->live)->granted_at : 0;
		T_ASSERT(v.spoken_ms == p->spoken + live && v.turns == p->turns);
		T_ASSERT(v.muted == p->muted && v.present == p->present);
	}
	for (int g = 0; g < N_GROUPS; g++)
		T_ASSERT(floor_spoken_by(f, m.now, FLOOR_DIM_GROUP, groups[g]) ==
			 m.group_ms[g] + live_extra(match_group, g));
	for (int r = 0; r < N_REGIONS; r++)
		T_ASSERT(floor_spoken_by(f, m.now, FLOOR_DIM_REGION, regions[r]) ==
			 m.region_ms[r] + live_extra(match_region, r));
	static const char *const sides[3] = { "remote", "onsite", "unknown" };
	for (int s = 0; s < 3; s++) {
		int64_t live = 0;
		const struct mline *g = &m.lines[FLOOR_GRANTED];
		for (size_t i = 0; i < g->n; i++)
			if (side(person(req(g->id[i])->pid)->onsite) == s)
				live += m.now - req(g->id[i])->granted_at;
		T_ASSERT(floor_spoken_by(f, m.now, FLOOR_DIM_ONSITE, sides[s]) == m.side_ms[s] + live);
	}
	return 0;
}

static int check_all(floor_ctl *f, uint32_t *seen_id, uint32_t *seen_pid)
{
	T_ASSERT(check_events(f) == 0);
	T_ASSERT(floor_consistent(f));
	T_ASSERT(check_lines(f, seen_id, seen_pid) == 0);
	T_ASSERT(floor_spoken_total(f, m.now) == m_total());
	T_ASSERT(floor_next_deadline(f) == m_deadline());
	T_ASSERT(floor_suggest(f, m.now) == m_suggest());
	if (step % FULL_CHECK_EVERY == 0)
		T_ASSERT(check_stats_full(f) == 0);
	return 0;
}

/* ---- runs ----------------------------------------------------------------- */

static void model_reset(const struct floor_policy *p)
{
	for (int s = 0; s < 4; s++)
		free(m.lines[s].id);
	free(m.people);
	free(m.reqs);
	memset(&m, 0, sizeof m);
	m.pol = *p;
	m.next_id = 1;
	m.next_pid = 5;
	m.last_group = m.last_onsite = -1;
}

static int add_staff(floor_ctl *f)
{
	static const struct { uint32_t pid; enum rs_role role; } staff[] = {
		{ 1, RS_ROLE_MODERATOR }, { 2, RS_ROLE_MODERATOR },
		{ 3, RS_ROLE_CAPTIONER }, { 4, RS_ROLE_OBSERVER },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(staff); i++) {
		struct mperson *p = person(staff[i].pid);
		*p = (struct mperson){ .known = true, .present = true, .role = staff[i].role };
		random_attrs(p);
		floor_actor a = actor_of(staff[i].pid);
		T_ASSERT(floor_participant_joined(f, 0, &a) == 0);
	}
	return 0;
}

static int run(const struct floor_policy *p, long *steps)
{
	model_reset(p);
	floor_ctl *f = floor_create(p);
	size_t cap = STEPS_PER_POLICY * 2 + 64;
	uint32_t *seen_id = calloc(cap, sizeof *seen_id);
	uint32_t *seen_pid = calloc(cap, sizeof *seen_pid);
	int rc = add_staff(f);
	for (long i = 0; i < STEPS_PER_POLICY && rc == 0; i++, (*steps)++) {
		step = *steps + 1;
		rc = one_step(f) || check_all(f, seen_id, seen_pid);
	}
	if (rc == 0)
		rc = check_stats_full(f);
	free(seen_id);
	free(seen_pid);
	floor_destroy(f);
	return rc;
}

int main(int argc, char **argv)
{
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 20240611;
	rng = seed;
	struct floor_policy pol[4];
	for (int i = 0; i < 4; i++)
		floor_policy_default(&pol[i]);
	pol[1] = (struct floor_policy){ FLOOR_ORDER_BALANCED, 2, 30000, 10000,
					FLOOR_EXPIRY_REVOKE, false, FLOOR_MAX_REQUESTS };
	pol[2] = (struct floor_policy){ FLOOR_ORDER_ALTERNATE, 3, 20000, 5000,
					FLOOR_EXPIRY_WARN, true, FLOOR_MAX_REQUESTS };
	pol[3] = (struct floor_policy){ FLOOR_ORDER_FIFO, 1, 15000, 15000,
					FLOOR_EXPIRY_REVOKE, true, 5 };
	int passed = 0, failed = 0;
	long steps = 0;
	for (int i = 0; i < 4; i++) {
		if (run(&pol[i], &steps) == 0) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL policy %d with seed %" PRIu64 "\n", i, seed);
		}
	}
	model_reset(&pol[0]);
	printf("%ld random events checked\n", steps);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
