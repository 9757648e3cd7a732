/*
 * Floor-control core: every cell of the request and written tables, through
 * the table and through the public calls, then scenarios for the order
 * policies, holds, time limits, the holder limit, reordering and statistics.
 */
#include "floor.h"
#include "floor_fixture.h"

#include <stdio.h>
#include <string.h>


/* ---- fixtures ----------------------------------------------------------- */


static struct rs_attrs at_p1, at_p2, at_p3, at_p4, at_mod, at_cap, at_obs;
static floor_actor P1, P2, P3, P4, M, C, O;

static void fixtures(void)
{
	at_p1 = mk("Ana Lúcia", "civil_society", "Latin America", ATTRS_REMOTE);
	at_p2 = mk("Bongani", "government", "Africa", ATTRS_ONSITE);
	at_p3 = mk("Chen Wei", "government", "Asia-Pacific", ATTRS_REMOTE);
	at_p4 = mk("Dagmar", "technical_community", "Europe", ATTRS_ONSITE);
	at_mod = mk("Chair", "intergovernmental", "Europe", ATTRS_ONSITE);
	at_cap = mk("Captioner", "", "", ATTRS_ONSITE_UNKNOWN);
	at_obs = mk("Observer", "", "", ATTRS_ONSITE_UNKNOWN);
	P1 = (floor_actor){ 1, RS_ROLE_PARTICIPANT, &at_p1 };
	P2 = (floor_actor){ 2, RS_ROLE_PARTICIPANT, &at_p2 };
	P3 = (floor_actor){ 3, RS_ROLE_PARTICIPANT, &at_p3 };
	P4 = (floor_actor){ 4, RS_ROLE_PARTICIPANT, &at_p4 };
	M = (floor_actor){ 100, RS_ROLE_MODERATOR, &at_mod };
	C = (floor_actor){ 101, RS_ROLE_CAPTIONER, &at_cap };
	O = (floor_actor){ 102, RS_ROLE_OBSERVER, &at_obs };
}

static floor_ctl *make(void (*tweak)(struct floor_policy *))
{
	struct floor_policy p;
	floor_policy_default(&p);
	if (tweak)
		tweak(&p);
	floor_ctl *f = floor_create(&p);
	const floor_actor *all[] = { &P1, &P2, &P3, &P4, &M, &C, &O };
	for (size_t i = 0; i < RS_ARRAY_LEN(all); i++)
		if (floor_participant_joined(f, 0, all[i]) != FLOOR_OK)
			return NULL;
	return f;
}

/* Drains events; returns how many, the last one in *last when given. */
static int drain(floor_ctl *f, struct floor_event *last)
{
	struct floor_event e = { 0 };
	int n = 0;
	while (floor_poll(f, &e)) {
		if (last)
			*last = e;
		n++;
	}
	return n;
}

/* Drains events, counting those of one kind. */
static int drain_kind(floor_ctl *f, enum floor_event_kind kind)
{
	struct floor_event e = { 0 };
	int n = 0;
	while (floor_poll(f, &e))
		n += e.kind == kind;
	return n;
}

static int state_of(floor_ctl *f, uint32_t id)
{
	struct floor_req_view v;
	return floor_find(f, id, &v) ? (int)v.state : -1;
}

static int position_of(floor_ctl *f, uint32_t id)
{
	struct floor_req_view v;
	return floor_find(f, id, &v) ? v.position : -1;
}

static int64_t spoken(floor_ctl *f, uint32_t pid, int64_t now)
{
	struct floor_person_view v;
	return floor_person(f, pid, now, &v) ? v.spoken_ms : -1;
}

/* ---- the request table, written out independently ----------------------- */

static const char *const rel_names[FLOOR_REL_COUNT] = {
	"owner", "other", "moderator", "captioner", "observer", "system",
};

/* The allowed cells, one line each: op, states (bit mask), who (bit mask), next state. */
struct allowed {
	enum floor_op op;
	unsigned states, rels;
	enum floor_state next;
};

#define S(x) (1u << FLOOR_##x)
#define R(x) (1u << FLOOR_BY_##x)

static const struct allowed allowed[] = {
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
	{ FLOOR_OP_LEAVE, S(PENDING) | S(ACCEPTED) | S(HELD), R(SYSTEM), FLOOR_CANCELLED },
	{ FLOOR_OP_LEAVE, S(GRANTED), R(SYSTEM), FLOOR_RELEASED },
	{ FLOOR_OP_EXPIRE, S(GRANTED), R(SYSTEM), FLOOR_REVOKED },
};

/* What the table must say: an allowed cell's next state, else the refusal by precedence. */
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
	if (rel == FLOOR_BY_OTHER && (may & R(OWNER)))
		return FLOOR_E_NOT_YOURS;
	return FLOOR_E_FORBIDDEN_ROLE;
}

static int test_table_cells(void)
{
	int cells = 0;
	for (int op = 0; op < FLOOR_OP_COUNT; op++)
		for (int s = 0; s < FLOOR_STATE_COUNT; s++)
			for (int rel = 0; rel < FLOOR_REL_COUNT; rel++, cells++) {
				int want = expect_cell(s, op, rel);
				int got = floor_table(s, op, rel);
				if (got != want)
					fprintf(stderr, "cell %s/%s/%s: got %d want %d\n",
						floor_op_name(op), floor_state_name(s),
						rel_names[rel], got, want);
				T_ASSERT(got == want);
			}
	T_ASSERT(cells == FLOOR_OP_COUNT * FLOOR_STATE_COUNT * FLOOR_REL_COUNT);
	return 0;
}

/* ---- the same cells through the public calls ---------------------------- */

static void walk_policy(struct floor_policy *p)
{
	p->moderated_queue = true;
	p->limit_ms = 60000;
	p->warn_ms = 10000;
	p->on_expiry = FLOOR_EXPIRY_REVOKE;
}

/* Brings a request of P1 into state s through the calls a session would make. */
static uint32_t reach(floor_ctl *f, int64_t now, enum floor_state s)
{
	uint32_t id = 0;
	int rc = floor_request(f, now, &P1, "a point on access", &id);
	if (rc == 0 && s != FLOOR_PENDING && s != FLOOR_DENIED && s != FLOOR_CANCELLED)
		rc = floor_accept(f, now, &M, id);
	if (rc == 0 && (s == FLOOR_GRANTED || s == FLOOR_RELEASED || s == FLOOR_REVOKED))
		rc = floor_grant(f, now, &M, id, -1, NULL);
	if (rc == 0 && s == FLOOR_HELD)
		rc = floor_hold(f, now, &P1, id);
	if (rc == 0 && s == FLOOR_RELEASED)
		rc = floor_release(f, now, &P1, id);
	if (rc == 0 && s == FLOOR_REVOKED)
		rc = floor_revoke(f, now, &M, id, NULL);
	if (rc == 0 && s == FLOOR_DENIED)
		rc = floor_deny(f, now, &M, id, NULL);
	if (rc == 0 && s == FLOOR_CANCELLED)
		rc = floor_cancel(f, now, &P1, id);
	drain(f, NULL);
	return rc == 0 && state_of(f, id) == (int)s ? id : 0;
}

static const floor_actor *actor_for(enum floor_rel rel)
{
	static const floor_actor *const by[FLOOR_REL_COUNT] = { &P1, &P2, &M, &C, &O, NULL };
	return by[rel];
}

/* Performs a human operation; the floor's own ones (leave, expire) are driven apart. */
static int perform(floor_ctl *f, int64_t now, enum floor_op op, const floor_actor *a, uint32_t id)
{
	switch (op) {
	case FLOOR_OP_ACCEPT: return floor_accept(f, now, a, id);
	case FLOOR_OP_GRANT: return floor_grant(f, now, a, id, -1, NULL);
	case FLOOR_OP_DENY: return floor_deny(f, now, a, id, "not on this item");
	case FLOOR_OP_CANCEL: return floor_cancel(f, now, a, id);
	case FLOOR_OP_RELEASE: return floor_release(f, now, a, id);
	case FLOOR_OP_REVOKE: return floor_revoke(f, now, a, id, NULL);
	case FLOOR_OP_HOLD: return floor_hold(f, now, a, id);
	case FLOOR_OP_RESUME: return floor_resume(f, now, a, id);
	case FLOOR_OP_MOVE: return floor_move(f, now, a, id, 1);
	default: return 1;
	}
}

/* The floor's own operations: only the system cells can be reached through calls. */
static int system_cell(floor_ctl *f, int64_t now, enum floor_op op, uint32_t id, int want)
{
	int before = state_of(f, id);
	if (op == FLOOR_OP_LEAVE)
		floor_participant_left(f, now, P1.pid);
	else
		floor_tick(f, now + 60000);
	int events = drain_kind(f, FLOOR_EV_STATE);
	if (want >= 0) {
		T_ASSERT(state_of(f, id) == want);
		T_ASSERT(events == 1);
	} else {
		T_ASSERT(state_of(f, id) == before);
		T_ASSERT(events == 0);
	}
	return 0;
}

/* One cell through the calls: the right code, the right state, an event only on success. */
static int walk_cell(enum floor_state s, enum floor_op op, enum floor_rel rel, int *walked)
{
	int want = expect_cell(s, op, rel);
	const floor_actor *a = actor_for(rel);
	bool floor_op = op == FLOOR_OP_LEAVE || op == FLOOR_OP_EXPIRE;
	if (floor_op != (rel == FLOOR_BY_SYSTEM))
		return 0; /* no call lets a person leave someone else or a timer act for a person */
	floor_ctl *f = make(walk_policy);
	T_ASSERT(f);
	uint32_t id = reach(f, 1000, s);
	T_ASSERT(id != 0);
	if (floor_op) {
		T_ASSERT(system_cell(f, 2000, op, id, want) == 0);
	} else {
		int rc = perform(f, 2000, op, a, id);
		int events = drain(f, NULL);
		if (rc != (want < 0 ? want : 0))
			fprintf(stderr, "walk %s/%s/%s: rc %d want %d\n", floor_op_name(op),
				floor_state_name(s), rel_names[rel], rc, want);
		T_ASSERT(rc == (want < 0 ? want : 0));
		T_ASSERT(state_of(f, id) == (want < 0 ? (int)s : want));
		T_ASSERT(want < 0 ? events == 0 : events >= 1);
	}
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	(*walked)++;
	return 0;
}

static int test_table_walk(void)
{
	int walked = 0;
	for (int s = 0; s < FLOOR_STATE_COUNT; s++)
		for (int op = 0; op < FLOOR_OP_COUNT; op++)
			for (int rel = 0; rel < FLOOR_REL_COUNT; rel++)
				T_ASSERT(walk_cell(s, op, rel, &walked) == 0);
	/* every human cell of 9 operations, plus the system column of leave and expire */
	T_ASSERT(walked == FLOOR_STATE_COUNT * (9 * (FLOOR_REL_COUNT - 1) + 2));
	return 0;
}

/* The creation row: only participants raise hands, once at a time. */
static int test_request_row(void)
{
	floor_ctl *f = make(NULL);
	uint32_t id;
	T_ASSERT(floor_request(f, 1, &M, NULL, &id) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_request(f, 1, &C, NULL, &id) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_request(f, 1, &O, NULL, &id) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_may_request(RS_ROLE_PARTICIPANT) == FLOOR_OK);
	T_ASSERT(drain(f, NULL) == 0);
	T_ASSERT(floor_request(f, 1, &P1, "", &id) == FLOOR_OK);
	T_ASSERT(state_of(f, id) == FLOOR_ACCEPTED && position_of(f, id) == 1);
	uint32_t again;
	T_ASSERT(floor_request(f, 2, &P1, NULL, &again) == FLOOR_E_ALREADY_REQUESTED);
	T_ASSERT(floor_hold(f, 3, &P1, 0) == FLOOR_OK);
	T_ASSERT(floor_request(f, 4, &P1, NULL, &again) == FLOOR_E_ALREADY_REQUESTED);
	T_ASSERT(floor_cancel(f, 5, &P1, 0) == FLOOR_OK);
	T_ASSERT(floor_request(f, 6, &P1, NULL, &again) == FLOOR_OK && again != id);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

/* ---- the written table --------------------------------------------------- */

static int expect_wcell(enum floor_wstate s, enum floor_wop op, enum floor_rel rel)
{
	static const struct {
		enum floor_wop op;
		unsigned states;
		enum floor_rel rel;
		enum floor_wstate next;
	} ok[] = {
		{ FLOOR_WOP_READ, 1u << FLOOR_W_QUEUED, FLOOR_BY_MODERATOR, FLOOR_W_READ },
		{ FLOOR_WOP_ANSWER, 1u << FLOOR_W_READ, FLOOR_BY_MODERATOR, FLOOR_W_ANSWERED },
		{ FLOOR_WOP_DISMISS, (1u << FLOOR_W_QUEUED) | (1u << FLOOR_W_READ),
		  FLOOR_BY_MODERATOR, FLOOR_W_DISMISSED },
		{ FLOOR_WOP_WITHDRAW, 1u << FLOOR_W_QUEUED, FLOOR_BY_OWNER, FLOOR_W_WITHDRAWN },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(ok); i++)
		if (ok[i].op == op) {
			if (ok[i].rel == rel)
				return (ok[i].states & (1u << s)) ? (int)ok[i].next
								  : FLOOR_E_WRONG_STATE;
			if (ok[i].rel == FLOOR_BY_OWNER && rel == FLOOR_BY_OTHER)
				return FLOOR_E_NOT_YOUR_WRITTEN;
			return FLOOR_E_FORBIDDEN_ROLE;
		}
	return 99;
}

/* Brings a written intervention of P1 into state s. */
static uint32_t wreach(floor_ctl *f, enum floor_wstate s)
{
	uint32_t id = 0;
	int rc = floor_written_submit(f, 10, &P1, "How will the\nfund be governed?", &id);
	if (rc == 0 && (s == FLOOR_W_READ || s == FLOOR_W_ANSWERED))
		rc = floor_written_op(f, 11, &M, id, FLOOR_WOP_READ);
	if (rc == 0 && s == FLOOR_W_ANSWERED)
		rc = floor_written_op(f, 12, &M, id, FLOOR_WOP_ANSWER);
	if (rc == 0 && s == FLOOR_W_DISMISSED)
		rc = floor_written_op(f, 12, &M, id, FLOOR_WOP_DISMISS);
	if (rc == 0 && s == FLOOR_W_WITHDRAWN)
		rc = floor_written_op(f, 12, &P1, id, FLOOR_WOP_WITHDRAW);
	drain(f, NULL);
	struct floor_written_view v;
	return rc == 0 && floor_written_find(f, id, &v) && v.state == s ? id : 0;
}

static int test_written_table(void)
{
	for (int s = 0; s < FLOOR_W_STATE_COUNT; s++)
		for (int op = 0; op < FLOOR_WOP_COUNT; op++)
			for (int rel = 0; rel < FLOOR_REL_COUNT; rel++) {
				int want = expect_wcell(s, op, rel);
				T_ASSERT(floor_wtable(s, op, rel) == want);
				if (rel == FLOOR_BY_SYSTEM)
					continue; /* the floor never acts on written items itself */
				floor_ctl *f = make(NULL);
				uint32_t id = wreach(f, s);
				T_ASSERT(id);
				int rc = floor_written_op(f, 20, actor_for(rel), id, op);
				T_ASSERT(rc == (want < 0 ? want : 0));
				struct floor_written_view v;
				T_ASSERT(floor_written_find(f, id, &v));
				T_ASSERT((int)v.state == (want < 0 ? s : want));
				T_ASSERT(drain(f, NULL) == (want < 0 ? 0 : 1));
				T_ASSERT(floor_consistent(f));
				floor_destroy(f);
			}
	return 0;
}

/* ---- scenarios ---------------------------------------------------------- */

static int test_fifo_grant_next(void)
{
	floor_ctl *f = make(NULL);
	uint32_t a, b, c, g;
	T_ASSERT(floor_grant(f, 5, &M, 0, -1, &g) == FLOOR_E_QUEUE_EMPTY);
	T_ASSERT(floor_request(f, 10, &P1, "first", &a) == 0);
	T_ASSERT(floor_request(f, 20, &P2, "second", &b) == 0);
	T_ASSERT(floor_request(f, 30, &P3, NULL, &c) == 0);
	T_ASSERT(floor_suggest(f, 30) == a);
	T_ASSERT(floor_grant(f, 40, &P1, 0, -1, &g) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_grant(f, 40, &M, 0, -1, &g) == 0 && g == a);
	T_ASSERT(position_of(f, b) == 1 && position_of(f, c) == 2);
	T_ASSERT(floor_grant(f, 50, &M, 0, -1, &g) == FLOOR_E_HOLDER_LIMIT);
	T_ASSERT(floor_release(f, 60, &P1, 0) == 0);
	T_ASSERT(floor_grant(f, 70, &M, 0, -1, &g) == 0 && g == b);
	T_ASSERT(spoken(f, P1.pid, 70) == 20);
	T_ASSERT(spoken(f, P2.pid, 100) == 30);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static void two_holders(struct floor_policy *p)
{
	p->max_holders = 2;
}

static int test_holder_limit(void)
{
	floor_ctl *f = make(two_holders);
	uint32_t a, b, c;
	T_ASSERT(floor_request(f, 1, &P1, NULL, &a) == 0);
	T_ASSERT(floor_request(f, 1, &P2, NULL, &b) == 0);
	T_ASSERT(floor_request(f, 1, &P3, NULL, &c) == 0);
	T_ASSERT(floor_grant(f, 2, &M, b, -1, NULL) == 0);
	T_ASSERT(floor_grant(f, 2, &M, c, -1, NULL) == 0);
	T_ASSERT(floor_grant(f, 2, &M, a, -1, NULL) == FLOOR_E_HOLDER_LIMIT);
	T_ASSERT(state_of(f, a) == FLOOR_ACCEPTED && floor_count(f, FLOOR_GRANTED) == 2);
	/* moderators are not holders: the chair's floor needs no grant and no slot */
	T_ASSERT(floor_may_speak(f, &M));
	T_ASSERT(floor_may_speak(f, &P2) && floor_may_speak(f, &P3) && !floor_may_speak(f, &P1));
	T_ASSERT(floor_revoke(f, 3, &M, b, "time") == 0);
	T_ASSERT(floor_grant(f, 4, &M, a, -1, NULL) == 0);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_mute(void)
{
	floor_ctl *f = make(NULL);
	uint32_t a;
	T_ASSERT(floor_request(f, 1, &P1, NULL, &a) == 0);
	T_ASSERT(floor_grant(f, 2, &M, a, -1, NULL) == 0);
	drain(f, NULL);
	T_ASSERT(floor_mute(f, 3, &P2, P1.pid, true) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_mute(f, 3, &M, 999, true) == FLOOR_E_UNKNOWN_PARTICIPANT);
	struct floor_event e = { 0 };
	T_ASSERT(floor_mute(f, 3, &M, P1.pid, true) == 0);
	T_ASSERT(drain(f, &e) == 1 && e.kind == FLOOR_EV_MUTED && e.muted && e.pid == P1.pid);
	T_ASSERT(!floor_may_speak(f, &P1));
	T_ASSERT(floor_mute(f, 4, &M, P1.pid, true) == 0 && drain(f, NULL) == 0);
	T_ASSERT(floor_mute(f, 5, &M, M.pid, true) == 0 && !floor_may_speak(f, &M));
	T_ASSERT(floor_mute(f, 6, &M, P1.pid, false) == 0 && floor_may_speak(f, &P1));
	T_ASSERT(floor_mute(f, 6, &M, M.pid, false) == 0 && floor_may_speak(f, &M));
	T_ASSERT(!floor_may_speak(f, &C) && !floor_may_speak(f, &O));
	floor_destroy(f);
	return 0;
}

static void moderated(struct floor_policy *p)
{
	p->moderated_queue = true;
}

static int test_moderated_queue(void)
{
	floor_ctl *f = make(moderated);
	uint32_t a, b;
	T_ASSERT(floor_request(f, 1, &P1, NULL, &a) == 0 && state_of(f, a) == FLOOR_PENDING);
	T_ASSERT(floor_request(f, 2, &P2, NULL, &b) == 0 && position_of(f, a) == 0);
	T_ASSERT(floor_suggest(f, 2) == 0);
	T_ASSERT(floor_accept(f, 3, &M, b) == 0 && position_of(f, b) == 1);
	T_ASSERT(floor_accept(f, 4, &M, a) == 0 && position_of(f, a) == 2);
	/* a pending request held and resumed waits for the chair again */
	uint32_t c;
	T_ASSERT(floor_request(f, 5, &P3, NULL, &c) == 0);
	T_ASSERT(floor_hold(f, 6, &P3, 0) == 0 && floor_resume(f, 7, &P3, 0) == 0);
	T_ASSERT(state_of(f, c) == FLOOR_PENDING);
	/* granted straight from pending, then held: it comes back accepted */
	T_ASSERT(floor_grant(f, 8, &M, c, -1, NULL) == 0);
	T_ASSERT(floor_hold(f, 9, &M, c) == 0 && floor_resume(f, 10, &M, c) == 0);
	T_ASSERT(state_of(f, c) == FLOOR_ACCEPTED && position_of(f, c) == 3);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_hold_resume(void)
{
	floor_ctl *f = make(NULL);
	uint32_t a, b, c;
	T_ASSERT(floor_request(f, 100, &P1, "budget", &a) == 0);
	T_ASSERT(floor_request(f, 200, &P2, NULL, &b) == 0);
	T_ASSERT(floor_request(f, 300, &P3, NULL, &c) == 0);
	T_ASSERT(floor_hold(f, 400, &P2, a) == FLOOR_E_NOT_YOURS);
	T_ASSERT(floor_hold(f, 400, &P1, 0) == 0);
	T_ASSERT(floor_count(f, FLOOR_HELD) == 1 && position_of(f, b) == 1);
	T_ASSERT(floor_hold(f, 450, &P1, 0) == FLOOR_E_WRONG_STATE);
	T_ASSERT(floor_move(f, 450, &M, a, 1) == FLOOR_E_WRONG_STATE);
	T_ASSERT(floor_grant(f, 450, &M, a, -1, NULL) == FLOOR_E_WRONG_STATE);
	T_ASSERT(floor_resume(f, 500, &P1, 0) == 0);
	struct floor_req_view v;
	T_ASSERT(floor_find(f, a, &v) && v.position == 3 && strcmp(v.topic, "budget") == 0);
	T_ASSERT(v.created_ms == 100 && v.since_ms == 500);
	/* a chair parks a speaker whose line dropped: the turn ends, the request waits */
	T_ASSERT(floor_grant(f, 1000, &M, b, -1, NULL) == 0);
	T_ASSERT(floor_hold(f, 4000, &M, b) == 0);
	T_ASSERT(spoken(f, P2.pid, 9000) == 3000 && !floor_may_speak(f, &P2));
	T_ASSERT(floor_resume(f, 9000, &P2, b) == 0 && position_of(f, b) == 3);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_move(void)
{
	floor_ctl *f = make(NULL);
	uint32_t id[4];
	const floor_actor *who[4] = { &P1, &P2, &P3, &P4 };
	for (int i = 0; i < 4; i++)
		T_ASSERT(floor_request(f, i, who[i], NULL, &id[i]) == 0);
	drain(f, NULL);
	T_ASSERT(floor_move(f, 10, &P1, id[3], 1) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_move(f, 10, &M, id[3], 0) == FLOOR_E_BAD_ARG);
	T_ASSERT(floor_move(f, 10, &M, id[3], 5) == FLOOR_E_BAD_ARG);
	T_ASSERT(floor_move(f, 10, &M, 777, 1) == FLOOR_E_UNKNOWN_REQUEST);
	struct floor_event e = { 0 };
	T_ASSERT(floor_move(f, 10, &M, id[3], 1) == 0);
	T_ASSERT(drain(f, &e) == 1 && e.kind == FLOOR_EV_MOVED && e.position == 1);
	static const int order1[4] = { 3, 0, 1, 2 };
	for (int i = 0; i < 4; i++)
		T_ASSERT(position_of(f, id[order1[i]]) == i + 1);
	T_ASSERT(floor_move(f, 11, &M, id[3], 4) == 0);
	T_ASSERT(floor_move(f, 12, &M, id[0], 2) == 0);
	static const int order2[4] = { 1, 0, 2, 3 };
	for (int i = 0; i < 4; i++)
		T_ASSERT(position_of(f, id[order2[i]]) == i + 1);
	T_ASSERT(floor_suggest(f, 12) == id[1]);
	floor_destroy(f);
	return 0;
}

static int test_clear(void)
{
	floor_ctl *f = make(moderated);
	uint32_t a, b, c, d;
	T_ASSERT(floor_request(f, 1, &P1, NULL, &a) == 0);
	T_ASSERT(floor_request(f, 1, &P2, NULL, &b) == 0);
	T_ASSERT(floor_request(f, 1, &P3, NULL, &c) == 0);
	T_ASSERT(floor_request(f, 1, &P4, NULL, &d) == 0);
	T_ASSERT(floor_accept(f, 2, &M, b) == 0 && floor_accept(f, 2, &M, c) == 0);
	T_ASSERT(floor_grant(f, 3, &M, c, -1, NULL) == 0 && floor_hold(f, 3, &P4, 0) == 0);
	drain(f, NULL);
	int n = -1;
	T_ASSERT(floor_clear(f, 4, &P1, NULL, &n) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_clear(f, 4, &M, "bad\nreason", &n) == FLOOR_E_BAD_ARG);
	T_ASSERT(floor_clear(f, 4, &M, NULL, &n) == 0 && n == 3);
	struct floor_event e = { 0 };
	T_ASSERT(drain(f, &e) == 3 && e.cleared && strcmp(e.reason, "queue cleared") == 0);
	T_ASSERT(state_of(f, a) == FLOOR_DENIED && state_of(f, b) == FLOOR_DENIED);
	T_ASSERT(state_of(f, d) == FLOOR_DENIED && state_of(f, c) == FLOOR_GRANTED);
	T_ASSERT(floor_clear(f, 5, &M, "", &n) == 0 && n == 0);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static void revoke_policy(struct floor_policy *p)
{
	p->limit_ms = 120000;
	p->warn_ms = 30000;
	p->on_expiry = FLOOR_EXPIRY_REVOKE;
}

static int test_limit_revoke(void)
{
	floor_ctl *f = make(revoke_policy);
	uint32_t a;
	T_ASSERT(floor_next_deadline(f) == FLOOR_NO_DEADLINE);
	T_ASSERT(floor_request(f, 500, &P1, NULL, &a) == 0);
	T_ASSERT(floor_grant(f, 1000, &M, a, -1, NULL) == 0);
	drain(f, NULL);
	T_ASSERT(floor_next_deadline(f) == 91000);
	floor_tick(f, 90999);
	T_ASSERT(drain(f, NULL) == 0);
	struct floor_event e = { 0 };
	floor_tick(f, 91000);
	T_ASSERT(drain(f, &e) == 1 && e.kind == FLOOR_EV_WARNING && e.ends_ms == 121000);
	T_ASSERT(floor_next_deadline(f) == 121000);
	floor_tick(f, 100000);
	T_ASSERT(drain(f, NULL) == 0);
	floor_tick(f, 121000);
	T_ASSERT(drain_kind(f, FLOOR_EV_EXPIRED) == 1);
	T_ASSERT(state_of(f, a) == FLOOR_REVOKED);
	T_ASSERT(spoken(f, P1.pid, 200000) == 120000);
	T_ASSERT(floor_next_deadline(f) == FLOOR_NO_DEADLINE);
	floor_destroy(f);
	return 0;
}

static int test_limit_expiry_events(void)
{
	floor_ctl *f = make(revoke_policy);
	uint32_t a;
	T_ASSERT(floor_request(f, 0, &P1, NULL, &a) == 0);
	T_ASSERT(floor_grant(f, 0, &M, a, -1, NULL) == 0);
	drain(f, NULL);
	floor_tick(f, 120000);
	struct floor_event e[4];
	int n = 0;
	while (n < 4 && floor_poll(f, &e[n]))
		n++;
	/* late timer: the moot warning is skipped, then expiry and the revoke */
	T_ASSERT(n == 2 && e[0].kind == FLOOR_EV_EXPIRED && e[1].kind == FLOOR_EV_STATE);
	T_ASSERT(e[1].op == FLOOR_OP_EXPIRE && e[1].to == FLOOR_REVOKED && e[1].by_system);
	T_ASSERT(e[1].duration_ms == 120000);
	floor_destroy(f);
	return 0;
}

static void warn_policy(struct floor_policy *p)
{
	p->limit_ms = 60000;
	p->warn_ms = 15000;
}

static int test_limit_warn_only(void)
{
	floor_ctl *f = make(warn_policy);
	uint32_t a;
	T_ASSERT(floor_request(f, 0, &P1, NULL, &a) == 0);
	T_ASSERT(floor_grant(f, 0, &M, a, -1, NULL) == 0);
	drain(f, NULL);
	floor_tick(f, floor_next_deadline(f));
	T_ASSERT(drain_kind(f, FLOOR_EV_WARNING) == 1);
	T_ASSERT(floor_next_deadline(f) == 60000);
	floor_tick(f, 60000);
	T_ASSERT(drain_kind(f, FLOOR_EV_EXPIRED) == 1);
	T_ASSERT(state_of(f, a) == FLOOR_GRANTED && floor_may_speak(f, &P1));
	T_ASSERT(floor_next_deadline(f) == FLOOR_NO_DEADLINE);
	floor_tick(f, 90000);
	T_ASSERT(drain(f, NULL) == 0);
	T_ASSERT(spoken(f, P1.pid, 90000) == 90000);
	floor_destroy(f);
	return 0;
}

static int test_limit_override(void)
{
	floor_ctl *f = make(warn_policy);
	uint32_t a, b;
	T_ASSERT(floor_request(f, 0, &P1, NULL, &a) == 0);
	T_ASSERT(floor_request(f, 0, &P2, NULL, &b) == 0);
	T_ASSERT(floor_grant(f, 0, &M, a, FLOOR_LIMIT_MAX_MS + 1, NULL) == FLOOR_E_BAD_ARG);
	/* a per-grant limit shorter than the warning: no warning, just the end */
	T_ASSERT(floor_grant(f, 1000, &M, a, 10000, NULL) == 0);
	T_ASSERT(floor_next_deadline(f) == 11000);
	/* the chair gives two more minutes, counted from the grant */
	T_ASSERT(floor_set_limit(f, 2000, &P1, a, 130000) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_set_limit(f, 2000, &M, b, 130000) == FLOOR_E_WRONG_STATE);
	T_ASSERT(floor_set_limit(f, 2000, &M, a, -1) == FLOOR_E_BAD_ARG);
	T_ASSERT(floor_set_limit(f, 2000, &M, a, 130000) == 0);
	T_ASSERT(floor_next_deadline(f) == 1000 + 130000 - 15000);
	T_ASSERT(floor_set_limit(f, 2000, &M, a, 0) == 0);
	T_ASSERT(floor_next_deadline(f) == FLOOR_NO_DEADLINE);
	/* the room default changes later grants only */
	T_ASSERT(floor_set_limit(f, 3000, &M, 0, 45000) == 0 && floor_policy(f)->limit_ms == 45000);
	T_ASSERT(floor_release(f, 4000, &P1, 0) == 0);
	T_ASSERT(floor_grant(f, 5000, &M, b, -1, NULL) == 0);
	T_ASSERT(floor_next_deadline(f) == 5000 + 45000 - 15000);
	floor_destroy(f);
	return 0;
}

static int test_stats(void)
{
	floor_ctl *f = make(two_holders);
	uint32_t a, b, c;
	T_ASSERT(floor_request(f, 0, &P1, NULL, &a) == 0);
	T_ASSERT(floor_request(f, 0, &P2, NULL, &b) == 0);
	T_ASSERT(floor_request(f, 0, &P3, NULL, &c) == 0);
	T_ASSERT(floor_grant(f, 1000, &M, a, -1, NULL) == 0);
	T_ASSERT(floor_grant(f, 2000, &M, b, -1, NULL) == 0);
	T_ASSERT(floor_release(f, 6000, &P1, 0) == 0);        /* P1: 5000 */
	floor_participant_left(f, 9000, P2.pid);              /* P2: 7000, released */
	T_ASSERT(state_of(f, b) == FLOOR_RELEASED);
	T_ASSERT(floor_grant(f, 10000, &M, c, -1, NULL) == 0); /* P3 live from 10000 */
	const int64_t now = 13000;
	T_ASSERT(spoken(f, P1.pid, now) == 5000 && spoken(f, P2.pid, now) == 7000);
	T_ASSERT(spoken(f, P3.pid, now) == 3000);
	T_ASSERT(floor_spoken_total(f, now) == 15000);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_GROUP, "government") == 10000);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_GROUP, "civil_society") == 5000);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_GROUP, "academia") == 0);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_GROUP, "no_such_group") == 0);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_ONSITE, "remote") == 8000);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_ONSITE, "onsite") == 7000);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_ONSITE, "unknown") == 0);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_REGION, "Asia-Pacific") == 3000);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_REGION, "Africa") == 7000);
	T_ASSERT(floor_spoken_by(f, now, FLOOR_DIM_REGION, "") == 0);
	struct floor_person_view v;
	T_ASSERT(floor_person(f, P2.pid, now, &v) && !v.present && v.turns == 1);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_region_cap(void)
{
	floor_ctl *f = make(NULL);
	static struct rs_attrs at[FLOOR_MAX_REGIONS + 6];
	for (int i = 0; i < FLOOR_MAX_REGIONS + 6; i++) {
		char region[32];
		snprintf(region, sizeof region, "Region %d", i);
		at[i] = mk("Speaker", "academia", region, ATTRS_REMOTE);
		floor_actor a = { (uint32_t)(500 + i), RS_ROLE_PARTICIPANT, &at[i] };
		uint32_t id;
		T_ASSERT(floor_request(f, i * 10, &a, NULL, &id) == 0);
		T_ASSERT(floor_grant(f, i * 10, &M, id, -1, NULL) == 0);
		T_ASSERT(floor_release(f, i * 10 + 10, &a, id) == 0);
	}
	T_ASSERT(floor_regions(f) == FLOOR_MAX_REGIONS);
	T_ASSERT(floor_spoken_by(f, 0, FLOOR_DIM_REGION, "Region 0") == 10);
	T_ASSERT(floor_spoken_by(f, 0, FLOOR_DIM_REGION, "Region 69") == 0);
	T_ASSERT(floor_spoken_by(f, 0, FLOOR_DIM_REGION, "") == 60);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_time_never_backwards(void)
{
	floor_ctl *f = make(NULL);
	uint32_t a;
	T_ASSERT(floor_request(f, 5000, &P1, NULL, &a) == 0);
	T_ASSERT(floor_grant(f, 6000, &M, a, -1, NULL) == 0);
	struct floor_event e = { 0 };
	T_ASSERT(floor_release(f, 1000, &P1, 0) == 0); /* a clock stepped back */
	T_ASSERT(drain(f, &e) >= 1 && e.duration_ms == 0 && e.at_ms == 6000);
	T_ASSERT(spoken(f, P1.pid, 0) == 0);
	floor_destroy(f);
	return 0;
}

static void balanced(struct floor_policy *p)
{
	p->order = FLOOR_ORDER_BALANCED;
}

static int test_balanced(void)
{
	floor_ctl *f = make(balanced);
	uint32_t a, b, c, d, g;
	/* P2 (government, onsite) speaks first for a minute */
	T_ASSERT(floor_request(f, 0, &P2, NULL, &b) == 0);
	T_ASSERT(floor_grant(f, 0, &M, 0, -1, &g) == 0 && g == b);
	T_ASSERT(floor_release(f, 60000, &P2, 0) == 0);
	/* queue: P3 (government), P4 (technical, onsite), P1 (civil society, remote) */
	T_ASSERT(floor_request(f, 61000, &P3, NULL, &c) == 0);
	T_ASSERT(floor_request(f, 62000, &P4, NULL, &d) == 0);
	T_ASSERT(floor_request(f, 63000, &P1, NULL, &a) == 0);
	/* government just spoke; technical and civil society tie at 0 ms, and remote was
	   heard less than onsite: P1 goes before P4 though later in the queue */
	T_ASSERT(floor_suggest(f, 63000) == a);
	T_ASSERT(floor_grant(f, 64000, &M, 0, -1, &g) == 0 && g == a);
	T_ASSERT(floor_release(f, 74000, &P1, 0) == 0);
	/* now technical community (0 ms) beats government (60 s) */
	T_ASSERT(floor_suggest(f, 74000) == d);
	T_ASSERT(floor_grant(f, 75000, &M, 0, -1, &g) == 0 && g == d);
	T_ASSERT(floor_release(f, 76000, &P4, 0) == 0);
	T_ASSERT(floor_suggest(f, 76000) == c);
	floor_destroy(f);
	return 0;
}

static void alternate(struct floor_policy *p)
{
	p->order = FLOOR_ORDER_ALTERNATE;
}

static int test_alternate(void)
{
	floor_ctl *f = make(alternate);
	uint32_t a, b, c, d, g;
	T_ASSERT(floor_request(f, 0, &P2, NULL, &b) == 0);  /* onsite */
	T_ASSERT(floor_request(f, 0, &P4, NULL, &d) == 0);  /* onsite */
	T_ASSERT(floor_request(f, 0, &P1, NULL, &a) == 0);  /* remote */
	T_ASSERT(floor_request(f, 0, &P3, NULL, &c) == 0);  /* remote */
	T_ASSERT(floor_suggest(f, 0) == b); /* nobody spoke yet: the head */
	T_ASSERT(floor_grant(f, 1, &M, 0, -1, &g) == 0 && g == b);
	T_ASSERT(floor_release(f, 2, &P2, 0) == 0);
	T_ASSERT(floor_suggest(f, 2) == a);
	T_ASSERT(floor_grant(f, 3, &M, 0, -1, &g) == 0 && g == a);
	T_ASSERT(floor_release(f, 4, &P1, 0) == 0);
	T_ASSERT(floor_suggest(f, 4) == d);
	T_ASSERT(floor_grant(f, 5, &M, 0, -1, &g) == 0 && g == d);
	T_ASSERT(floor_release(f, 6, &P4, 0) == 0);
	T_ASSERT(floor_suggest(f, 6) == c);
	/* only remote left after a remote speaker: the head all the same */
	T_ASSERT(floor_grant(f, 7, &M, 0, -1, &g) == 0 && g == c);
	floor_destroy(f);
	return 0;
}

static void tiny_queue(struct floor_policy *p)
{
	p->max_requests = 2;
}

static int test_queue_cap_and_history(void)
{
	floor_ctl *f = make(tiny_queue);
	uint32_t a, b, c;
	T_ASSERT(floor_request(f, 0, &P1, NULL, &a) == 0);
	T_ASSERT(floor_request(f, 0, &P2, NULL, &b) == 0);
	T_ASSERT(floor_request(f, 0, &P3, NULL, &c) == FLOOR_E_QUEUE_FULL);
	/* finished requests are remembered for a while, then forgotten */
	uint32_t first = a;
	for (int i = 0; i < FLOOR_HISTORY + 10; i++) {
		T_ASSERT(floor_cancel(f, i + 1, &P1, 0) == 0);
		T_ASSERT(floor_request(f, i + 1, &P1, NULL, &a) == 0);
		drain(f, NULL);
	}
	T_ASSERT(floor_cancel(f, 1000, &P1, first) == FLOOR_E_UNKNOWN_REQUEST);
	T_ASSERT(floor_cancel(f, 1000, &P1, a - 1) == FLOOR_E_WRONG_STATE);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_bad_text(void)
{
	floor_ctl *f = make(NULL);
	char longer[FLOOR_TOPIC_MAX + 2];
	memset(longer, 'x', sizeof longer - 1);
	longer[sizeof longer - 1] = '\0';
	static const char *const bad[] = { "two\nlines", "tab\there", "\xc3\x28", "\xed\xa0\x80" };
	uint32_t id;
	for (size_t i = 0; i < RS_ARRAY_LEN(bad); i++)
		T_ASSERT(floor_request(f, 0, &P1, bad[i], &id) == FLOOR_E_BAD_ARG);
	T_ASSERT(floor_request(f, 0, &P1, longer, &id) == FLOOR_E_BAD_ARG);
	longer[FLOOR_TOPIC_MAX] = '\0';
	T_ASSERT(floor_request(f, 0, &P1, longer, &id) == 0);
	T_ASSERT(floor_deny(f, 0, &M, id, "a\x01") == FLOOR_E_BAD_ARG);
	T_ASSERT(state_of(f, id) == FLOOR_ACCEPTED && drain_kind(f, FLOOR_EV_STATE) == 1);
	T_ASSERT(floor_deny(f, 0, &M, id, "Ünïcode reason") == 0);
	struct floor_event e = { 0 };
	T_ASSERT(drain(f, &e) == 1 && strcmp(e.reason, "Ünïcode reason") == 0);
	floor_destroy(f);
	return 0;
}

static int test_written(void)
{
	floor_ctl *f = make(NULL);
	uint32_t w[4];
	T_ASSERT(floor_written_submit(f, 0, &M, "x", &w[0]) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_written_submit(f, 0, &C, "x", &w[0]) == FLOOR_E_FORBIDDEN_ROLE);
	T_ASSERT(floor_written_submit(f, 0, &P1, "", &w[0]) == FLOOR_E_BAD_ARG);
	T_ASSERT(floor_written_submit(f, 0, &P1, "bell\a", &w[0]) == FLOOR_E_BAD_ARG);
	for (int i = 0; i < 3; i++)
		T_ASSERT(floor_written_submit(f, i, &P1, "Question\twith tab\nand line", &w[i]) == 0);
	T_ASSERT(floor_written_submit(f, 5, &P1, "one more", &w[3]) == FLOOR_E_WRITTEN_LIMIT);
	T_ASSERT(floor_written_op(f, 6, &M, w[0], FLOOR_WOP_READ) == 0);
	/* read ones no longer count against the author's queue */
	T_ASSERT(floor_written_submit(f, 7, &P1, "one more", &w[3]) == 0);
	T_ASSERT(floor_written_op(f, 8, &M, w[0], FLOOR_WOP_ANSWER) == 0);
	T_ASSERT(floor_written_op(f, 8, &M, w[1], FLOOR_WOP_DISMISS) == 0);
	T_ASSERT(floor_written_op(f, 8, &P2, w[2], FLOOR_WOP_WITHDRAW) == FLOOR_E_NOT_YOUR_WRITTEN);
	T_ASSERT(floor_written_op(f, 8, &P1, w[2], FLOOR_WOP_WITHDRAW) == 0);
	T_ASSERT(floor_written_op(f, 8, &M, 9999, FLOOR_WOP_READ) == FLOOR_E_UNKNOWN_WRITTEN);
	T_ASSERT(floor_written_count(f) == 1);
	struct floor_written_counts n;
	floor_written_totals(f, &n);
	T_ASSERT(n.asked == 4 && n.read == 1 && n.answered == 1 && n.dismissed == 1);
	T_ASSERT(n.withdrawn == 1);
	struct floor_event e = { 0 };
	floor_participant_left(f, 9, P1.pid);
	drain(f, NULL);
	T_ASSERT(floor_written_op(f, 10, &M, w[3], FLOOR_WOP_READ) == 0); /* author gone: still read */
	T_ASSERT(drain(f, &e) == 1 && e.kind == FLOOR_EV_WRITTEN && e.pid == P1.pid);
	T_ASSERT(strcmp(e.who.name, "Ana Lúcia") == 0 && strcmp(e.text, "one more") == 0);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_leave_and_people(void)
{
	floor_ctl *f = make(NULL);
	size_t base = floor_people(f);
	struct rs_attrs at = mk("Guest", "academia", "", ATTRS_REMOTE);
	for (uint32_t pid = 1000; pid < 1500; pid++) {
		floor_actor g = { pid, RS_ROLE_PARTICIPANT, &at };
		T_ASSERT(floor_participant_joined(f, pid, &g) == 0);
		floor_participant_left(f, pid, pid);
	}
	T_ASSERT(floor_people(f) == base); /* nobody to report: records are not kept */
	floor_participant_left(f, 2000, 424242);
	T_ASSERT(drain(f, NULL) == 0);
	uint32_t a;
	T_ASSERT(floor_request(f, 3000, &P1, NULL, &a) == 0);
	drain(f, NULL);
	floor_participant_left(f, 3500, P1.pid);
	struct floor_event e = { 0 };
	T_ASSERT(drain(f, &e) == 1 && e.op == FLOOR_OP_LEAVE && e.to == FLOOR_CANCELLED);
	T_ASSERT(e.by_system && e.pid == P1.pid && e.at_ms == 3500);
	T_ASSERT(floor_mute(f, 3600, &M, P1.pid, true) == FLOOR_E_UNKNOWN_PARTICIPANT);
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

/*
 * A full room: FLOOR_MAX_PEOPLE records, pids in a stride that clusters
 * badly under a weak hash. Every join, mute, speak check, request and leave
 * looks at a bounded number of index slots (counted, not timed): a linear
 * scan would look at thousands per call.
 */
static int test_large_floor(void)
{
	floor_ctl *f = make(NULL);
	struct rs_attrs at = mk("Guest", "academia", "Europe", ATTRS_REMOTE);
	const uint32_t first = 5000, stride = 4096;
	const size_t n = FLOOR_MAX_PEOPLE - floor_people(f);
	uint64_t before = floor_index_probes(f), ops = 0;
	for (size_t i = 0; i < n; i++, ops++) {
		floor_actor g = { first + (uint32_t)i * stride, RS_ROLE_PARTICIPANT, &at };
		T_ASSERT(floor_participant_joined(f, 1, &g) == 0);
	}
	T_ASSERT(floor_people(f) == FLOOR_MAX_PEOPLE);
	floor_actor extra = { 1u << 31, RS_ROLE_PARTICIPANT, &at };
	T_ASSERT(floor_participant_joined(f, 1, &extra) == FLOOR_E_PEOPLE_FULL);
	for (size_t i = 0; i < n; i++, ops += 3) {
		floor_actor g = { first + (uint32_t)i * stride, RS_ROLE_PARTICIPANT, &at };
		T_ASSERT(floor_mute(f, 2, &M, g.pid, i % 2) == 0);
		T_ASSERT(floor_may_speak(f, &g) == false);
		struct floor_person_view v;
		T_ASSERT(floor_person(f, g.pid, 2, &v));
	}
	uint32_t id;
	for (size_t i = 0; i < 40; i++, ops += 2) {
		floor_actor g = { first + (uint32_t)i * stride, RS_ROLE_PARTICIPANT, &at };
		T_ASSERT(floor_request(f, 3, &g, NULL, &id) == 0);
		T_ASSERT(floor_grant(f, 4, &M, 0, -1, NULL) == 0);
		drain(f, NULL);
		T_ASSERT(floor_release(f, 5, &g, 0) == 0);
		drain(f, NULL);
	}
	/* Everyone who never spoke leaves (their records go); the index shrinks by backward shifts. */
	for (size_t i = 0; i < n; i++, ops++)
		floor_participant_left(f, 6, first + (uint32_t)i * stride);
	drain(f, NULL);
	T_ASSERT(floor_people(f) == 7 + 40); /* the fixture's, and the speakers kept for stats */
	for (size_t i = 0; i < n; i += 2, ops++) {
		floor_actor g = { first + (uint32_t)i * stride, RS_ROLE_PARTICIPANT, &at };
		T_ASSERT(floor_participant_joined(f, 7, &g) == 0);
	}
	uint64_t probes = floor_index_probes(f) - before;
	fprintf(stderr, "large floor: %llu index probes for %llu operations\n",
		(unsigned long long)probes, (unsigned long long)ops);
	T_ASSERT(probes <= 8 * ops); /* growth included; a scan would be ~n/2 per call */
	T_ASSERT(floor_consistent(f));
	floor_destroy(f);
	return 0;
}

static int test_update_attrs(void)
{
	floor_ctl *f = make(NULL);
	uint32_t a;
	T_ASSERT(floor_request(f, 0, &P1, NULL, &a) == 0);
	struct rs_attrs moved = at_p1;
	rs_strlcpy(moved.group, "academia", sizeof moved.group);
	floor_actor p1b = { P1.pid, RS_ROLE_PARTICIPANT, &moved };
	T_ASSERT(floor_participant_update(f, 1, &p1b) == 0);
	struct floor_req_view v;
	T_ASSERT(floor_find(f, a, &v) && strcmp(v.who->group, "academia") == 0);
	T_ASSERT(floor_grant(f, 2, &M, a, -1, NULL) == 0 && floor_release(f, 10, &P1, a) == 0);
	T_ASSERT(floor_spoken_by(f, 10, FLOOR_DIM_GROUP, "academia") == 8);
	floor_destroy(f);
	return 0;
}

static int test_events_self_describing(void)
{
	floor_ctl *f = make(NULL);
	uint32_t a;
	struct floor_event e = { 0 };
	T_ASSERT(floor_request(f, 10, &P1, "digital divide", &a) == 0);
	T_ASSERT(drain(f, &e) == 1 && e.kind == FLOOR_EV_STATE && e.from == -1);
	T_ASSERT(e.to == FLOOR_ACCEPTED && e.position == 1 && e.at_ms == 10 && e.by == P1.pid);
	T_ASSERT(strcmp(e.topic, "digital divide") == 0 && strcmp(e.who.group, "civil_society") == 0);
	T_ASSERT(floor_grant(f, 20, &M, a, 30000, NULL) == 0);
	T_ASSERT(drain(f, &e) == 1 && e.op == FLOOR_OP_GRANT && e.by == M.pid);
	T_ASSERT(e.by_role == RS_ROLE_MODERATOR && e.limit_ms == 30000 && e.ends_ms == 30020);
	T_ASSERT(floor_revoke(f, 50, &M, a, "off topic") == 0);
	T_ASSERT(drain(f, &e) == 1 && e.from == FLOOR_GRANTED && e.to == FLOOR_REVOKED);
	T_ASSERT(e.duration_ms == 30 && strcmp(e.reason, "off topic") == 0);
	floor_destroy(f);
	return 0;
}

static int test_names(void)
{
	for (int e = FLOOR_ERR_MIN; e <= 0; e++) {
		T_ASSERT(floor_code(e) && floor_strerror(e) && floor_strerror(e)[0]);
		for (int k = FLOOR_ERR_MIN; k < e; k++)
			T_ASSERT(strcmp(floor_code(e), floor_code(k)) != 0);
	}
	T_ASSERT(strcmp(floor_code(FLOOR_E_NOT_YOURS), "not_your_request") == 0);
	T_ASSERT(strcmp(floor_code(-99), "internal") == 0);
	enum floor_order o;
	enum floor_expiry x;
	T_ASSERT(floor_order_parse("balanced", &o) && o == FLOOR_ORDER_BALANCED);
	T_ASSERT(!floor_order_parse("random", &o));
	T_ASSERT(floor_expiry_parse("revoke", &x) && x == FLOOR_EXPIRY_REVOKE);
	T_ASSERT(strcmp(floor_state_name(FLOOR_HELD), "held") == 0);
	T_ASSERT(strcmp(floor_wstate_name(FLOOR_W_READ), "read") == 0);
	struct floor_policy p;
	floor_policy_default(&p);
	T_ASSERT(floor_policy_valid(&p));
	p.max_holders = 0;
	T_ASSERT(!floor_policy_valid(&p));
	return 0;
}

/* ---- runner ------------------------------------------------------------- */

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
	{ "table_cells", test_table_cells },
	{ "table_walk", test_table_walk },
	{ "request_row", test_request_row },
	{ "written_table", test_written_table },
	{ "fifo_grant_next", test_fifo_grant_next },
	{ "holder_limit", test_holder_limit },
	{ "mute", test_mute },
	{ "moderated_queue", test_moderated_queue },
	{ "hold_resume", test_hold_resume },
	{ "move", test_move },
	{ "clear", test_clear },
	{ "limit_revoke", test_limit_revoke },
	{ "limit_expiry_events", test_limit_expiry_events },
	{ "limit_warn_only", test_limit_warn_only },
	{ "limit_override", test_limit_override },
	{ "stats", test_stats },
	{ "region_cap", test_region_cap },
	{ "time_never_backwards", test_time_never_backwards },
	{ "balanced", test_balanced },
	{ "alternate", test_alternate },
	{ "queue_cap_and_history", test_queue_cap_and_history },
	{ "bad_text", test_bad_text },
	{ "written", test_written },
	{ "leave_and_people", test_leave_and_people },
	{ "large_floor", test_large_floor },
	{ "update_attrs", test_update_attrs },
	{ "events_self_describing", test_events_self_describing },
	{ "names", test_names },
};

int main(void)
{
	fixtures();
	int passed = 0, failed = 0;
	for (size_t i = 0; i < RS_ARRAY_LEN(tests); i++) {
		if (tests[i].fn() == 0) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s\n", tests[i].name);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
