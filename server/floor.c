#include "floor.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define N_LINES 4         /* the live states, each an ordered line of requests */
#define GROUP_SLOTS 16    /* stakeholder groups plus "undeclared" */
#define KIND_SLOTS 3      /* remote, onsite, unknown */
#define EVENT_BACKLOG_MAX (1 << 20)

/* A floor request. Slots never move, so lines hold slot indices. */
struct freq {
	uint32_t id;                /* 0: a free slot */
	uint32_t pid;
	enum floor_state state;
	bool accepted_once;         /* a chair (or the open queue) has accepted it once */
	bool warned, expired;       /* this turn's timer events are out */
	struct rs_attrs who;        /* owner's attributes, kept fresh while live */
	char topic[FLOOR_TOPIC_MAX + 1];
	int64_t created_ms, since_ms, granted_ms, limit_ms, ended_ms;
};

/* Someone the floor knows: present in the room, or with speaking time to report. */
struct person {
	uint32_t pid;
	enum rs_role role;
	struct rs_attrs who;
	bool present, muted;
	int64_t spoken_ms;          /* finished turns only */
	int turns;
	int live;                   /* slot of the live request, or -1 */
};

struct witem {
	uint32_t id;                /* 0: a free slot */
	uint32_t pid;
	enum floor_wstate state;
	struct rs_attrs who;
	char *text;                 /* owned */
	int64_t submitted_ms, since_ms;
};

/* An ordered list of slot indices. */
struct line {
	int *at;
	size_t n, cap;
};

struct region_bucket {
	char key[ATTRS_REGION_MAX + 1];
	int64_t ms;
};

/*
 * Open addressing with linear probing, at most half full, deletion by
 * backward shift (no tombstones), so a lookup touches a few slots whatever
 * the size of the room. Kept in its own allocation so that a lookup through
 * a const floor can still count its probes (the tests bound the work).
 */
struct pid_index {
	uint32_t *slot;                    /* index in people + 1; 0: empty */
	unsigned bits;                     /* 1 << bits slots, 0 before the first */
	uint64_t probes;                   /* slots looked at, ever */
};

struct floor_ctl {
	/* passed in */
	struct floor_policy pol;
	/* owned */
	int64_t now;                       /* latest time seen */
	uint32_t next_id, next_wid;
	struct freq *reqs;
	size_t n_slots;                    /* reqs allocated so far */
	size_t live;                       /* live requests */
	struct line lines[N_LINES];        /* indexed by the live enum floor_state */
	struct person *people;
	size_t n_people, cap_people;
	struct pid_index *by_pid;          /* owned: pid -> index in people */
	struct witem *items;
	size_t n_wslots;
	struct line wline;                 /* queued and read items, submission order */
	struct floor_written_counts wc;
	int64_t group_ms[GROUP_SLOTS];     /* finished turns, by group index */
	int64_t kind_ms[KIND_SLOTS];
	struct region_bucket regions[FLOOR_MAX_REGIONS];
	size_t n_regions;
	int64_t region_none_ms;            /* "" and regions past the cap */
	int last_group, last_kind;         /* of the latest grant, -1 before any */
	struct floor_event *ev;
	size_t n_ev, ev_head, ev_cap;
};

/* What caused a state change, for the event and the statistics. */
struct cause {
	enum floor_op op;
	const floor_actor *by;             /* NULL: the floor itself */
	const char *reason;
	bool cleared;
	int64_t limit_ms;                  /* for a grant */
};

/* ---- names and codes ---------------------------------------------------- */

static const char *const err_codes[] = {
	"ok", "forbidden", "not_your_request", "wrong_state", "unknown_request",
	"already_requested", "queue_full", "holder_limit", "queue_empty", "bad_field",
	"unknown_participant", "people_full", "unknown_written", "written_full", "written_limit",
	"not_your_written",
};

static const char *const err_texts[] = {
	"success",
	"your role may not do that",
	"that request belongs to someone else",
	"not allowed in the request's current state",
	"there is no such floor request",
	"you already have an open floor request",
	"the floor queue is full",
	"as many people as the room allows already hold the floor",
	"nobody is waiting in the queue",
	"a field is malformed, too long or out of range",
	"there is no such participant in this room",
	"the room cannot track more participants",
	"there is no such written intervention",
	"the queue of written interventions is full",
	"you have as many written interventions queued as allowed",
	"that written intervention belongs to someone else",
};

const char *floor_code(int err)
{
	if (err > 0 || err < FLOOR_ERR_MIN)
		return "internal";
	return err_codes[-err];
}

const char *floor_strerror(int err)
{
	if (err > 0 || err < FLOOR_ERR_MIN)
		return "unknown floor error";
	return err_texts[-err];
}

static const char *const state_names[FLOOR_STATE_COUNT] = {
	"pending", "accepted", "granted", "held", "released", "denied", "cancelled", "revoked",
};
static const char *const wstate_names[FLOOR_W_STATE_COUNT] = {
	"queued", "read", "answered", "dismissed", "withdrawn",
};
static const char *const op_names[FLOOR_OP_COUNT] = {
	"accept", "grant", "deny", "cancel", "release", "revoke", "hold", "resume", "move",
	"leave", "expire",
};
static const char *const order_names[FLOOR_ORDER_COUNT] = { "fifo", "balanced", "alternate" };
static const char *const expiry_names[FLOOR_EXPIRY_COUNT] = { "warn", "revoke" };

const char *floor_state_name(enum floor_state s)
{
	return (unsigned)s < FLOOR_STATE_COUNT ? state_names[s] : "unknown";
}

const char *floor_wstate_name(enum floor_wstate s)
{
	return (unsigned)s < FLOOR_W_STATE_COUNT ? wstate_names[s] : "unknown";
}

const char *floor_op_name(enum floor_op op)
{
	return (unsigned)op < FLOOR_OP_COUNT ? op_names[op] : "unknown";
}

const char *floor_order_name(enum floor_order o)
{
	return (unsigned)o < FLOOR_ORDER_COUNT ? order_names[o] : "unknown";
}

const char *floor_expiry_name(enum floor_expiry e)
{
	return (unsigned)e < FLOOR_EXPIRY_COUNT ? expiry_names[e] : "unknown";
}

/* Index of s in names[0..n), or -1. */
static int name_index(const char *const *names, int n, const char *s)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

bool floor_order_parse(const char *s, enum floor_order *out)
{
	int i = name_index(order_names, FLOOR_ORDER_COUNT, s);
	if (i >= 0)
		*out = (enum floor_order)i;
	return i >= 0;
}

bool floor_expiry_parse(const char *s, enum floor_expiry *out)
{
	int i = name_index(expiry_names, FLOOR_EXPIRY_COUNT, s);
	if (i >= 0)
		*out = (enum floor_expiry)i;
	return i >= 0;
}

bool floor_state_final(enum floor_state s)
{
	return s >= FLOOR_RELEASED;
}

void floor_policy_default(struct floor_policy *p)
{
	*p = (struct floor_policy){
		.order = FLOOR_ORDER_FIFO, .max_holders = 1, .limit_ms = 0, .warn_ms = 30000,
		.on_expiry = FLOOR_EXPIRY_WARN, .moderated_queue = false,
		.max_requests = FLOOR_MAX_REQUESTS,
	};
}

bool floor_policy_valid(const struct floor_policy *p)
{
	return (unsigned)p->order < FLOOR_ORDER_COUNT && p->max_holders >= 1 &&
	       p->max_holders <= 16 && p->limit_ms >= 0 && p->limit_ms <= FLOOR_LIMIT_MAX_MS &&
	       p->warn_ms >= 0 && p->warn_ms <= FLOOR_LIMIT_MAX_MS &&
	       (unsigned)p->on_expiry < FLOOR_EXPIRY_COUNT && p->max_requests >= 1 &&
	       p->max_requests <= FLOOR_MAX_REQUESTS;
}

/* ---- the transition tables ---------------------------------------------- */

/*
 * Request table: [operation][state][who] -> next state, or the refusal.
 * Refusals follow one precedence, visible row by row: a role that may never
 * do the operation gets forbidden; a participant acting on someone
 * else's request gets not_your_request; only then does the state decide.
 * Chairs accept, grant, deny, revoke and move (RFC 8855 section 11); owners
 * cancel and release (section 10); both may hold and resume; the floor itself
 * ends requests when their owner leaves or their time runs out.
 */
#define PEN FLOOR_PENDING
#define ACC FLOOR_ACCEPTED
#define GRA FLOOR_GRANTED
#define HLD FLOOR_HELD
#define REL FLOOR_RELEASED
#define DEN FLOOR_DENIED
#define CAN FLOOR_CANCELLED
#define REV FLOOR_REVOKED
#define FR FLOOR_E_FORBIDDEN_ROLE
#define NY FLOOR_E_NOT_YOURS
#define WS FLOOR_E_WRONG_STATE
/* Rows for an operation only a chair may do / only the floor itself may do. */
#define CHAIR(x) { FR, FR, x, FR, FR, FR }
#define SYSTEM(x) { FR, FR, FR, FR, FR, x }

static const signed char table[FLOOR_OP_COUNT][FLOOR_STATE_COUNT][FLOOR_REL_COUNT] = {
	/*                    owner other moderator captioner observer system */
	[FLOOR_OP_ACCEPT] = {
		[PEN] = CHAIR(ACC), [ACC] = CHAIR(WS), [GRA] = CHAIR(WS), [HLD] = CHAIR(WS),
		[REL] = CHAIR(WS), [DEN] = CHAIR(WS), [CAN] = CHAIR(WS), [REV] = CHAIR(WS),
	},
	[FLOOR_OP_GRANT] = {
		[PEN] = CHAIR(GRA), [ACC] = CHAIR(GRA), [GRA] = CHAIR(WS), [HLD] = CHAIR(WS),
		[REL] = CHAIR(WS), [DEN] = CHAIR(WS), [CAN] = CHAIR(WS), [REV] = CHAIR(WS),
	},
	[FLOOR_OP_DENY] = {
		[PEN] = CHAIR(DEN), [ACC] = CHAIR(DEN), [GRA] = CHAIR(WS), [HLD] = CHAIR(DEN),
		[REL] = CHAIR(WS), [DEN] = CHAIR(WS), [CAN] = CHAIR(WS), [REV] = CHAIR(WS),
	},
	[FLOOR_OP_CANCEL] = {
		[PEN] = { CAN, NY, FR, FR, FR, FR }, [ACC] = { CAN, NY, FR, FR, FR, FR },
		[GRA] = { WS, NY, FR, FR, FR, FR },  [HLD] = { CAN, NY, FR, FR, FR, FR },
		[REL] = { WS, NY, FR, FR, FR, FR },  [DEN] = { WS, NY, FR, FR, FR, FR },
		[CAN] = { WS, NY, FR, FR, FR, FR },  [REV] = { WS, NY, FR, FR, FR, FR },
	},
	[FLOOR_OP_RELEASE] = {
		[PEN] = { WS, NY, FR, FR, FR, FR },  [ACC] = { WS, NY, FR, FR, FR, FR },
		[GRA] = { REL, NY, FR, FR, FR, FR }, [HLD] = { WS, NY, FR, FR, FR, FR },
		[REL] = { WS, NY, FR, FR, FR, FR },  [DEN] = { WS, NY, FR, FR, FR, FR },
		[CAN] = { WS, NY, FR, FR, FR, FR },  [REV] = { WS, NY, FR, FR, FR, FR },
	},
	[FLOOR_OP_REVOKE] = {
		[PEN] = CHAIR(WS), [ACC] = CHAIR(WS), [GRA] = CHAIR(REV), [HLD] = CHAIR(WS),
		[REL] = CHAIR(WS), [DEN] = CHAIR(WS), [CAN] = CHAIR(WS), [REV] = CHAIR(WS),
	},
	[FLOOR_OP_HOLD] = {
		[PEN] = { HLD, NY, HLD, FR, FR, FR }, [ACC] = { HLD, NY, HLD, FR, FR, FR },
		[GRA] = { HLD, NY, HLD, FR, FR, FR }, [HLD] = { WS, NY, WS, FR, FR, FR },
		[REL] = { WS, NY, WS, FR, FR, FR },   [DEN] = { WS, NY, WS, FR, FR, FR },
		[CAN] = { WS, NY, WS, FR, FR, FR },   [REV] = { WS, NY, WS, FR, FR, FR },
	},
	[FLOOR_OP_RESUME] = {
		[PEN] = { WS, NY, WS, FR, FR, FR },   [ACC] = { WS, NY, WS, FR, FR, FR },
		[GRA] = { WS, NY, WS, FR, FR, FR },   [HLD] = { ACC, NY, ACC, FR, FR, FR },
		[REL] = { WS, NY, WS, FR, FR, FR },   [DEN] = { WS, NY, WS, FR, FR, FR },
		[CAN] = { WS, NY, WS, FR, FR, FR },   [REV] = { WS, NY, WS, FR, FR, FR },
	},
	[FLOOR_OP_MOVE] = {
		[PEN] = CHAIR(WS), [ACC] = CHAIR(ACC), [GRA] = CHAIR(WS), [HLD] = CHAIR(WS),
		[REL] = CHAIR(WS), [DEN] = CHAIR(WS), [CAN] = CHAIR(WS), [REV] = CHAIR(WS),
	},
	[FLOOR_OP_LEAVE] = {
		[PEN] = SYSTEM(CAN), [ACC] = SYSTEM(CAN), [GRA] = SYSTEM(REL), [HLD] = SYSTEM(CAN),
		[REL] = SYSTEM(WS), [DEN] = SYSTEM(WS), [CAN] = SYSTEM(WS), [REV] = SYSTEM(WS),
	},
	[FLOOR_OP_EXPIRE] = {
		[PEN] = SYSTEM(WS), [ACC] = SYSTEM(WS), [GRA] = SYSTEM(REV), [HLD] = SYSTEM(WS),
		[REL] = SYSTEM(WS), [DEN] = SYSTEM(WS), [CAN] = SYSTEM(WS), [REV] = SYSTEM(WS),
	},
};

#define QUE FLOOR_W_QUEUED
#define RED FLOOR_W_READ
#define ANS FLOOR_W_ANSWERED
#define DIS FLOOR_W_DISMISSED
#define WDR FLOOR_W_WITHDRAWN
#define NW FLOOR_E_NOT_YOUR_WRITTEN

/* Written table: [operation][state][who]; chairs read out, answer and dismiss, authors withdraw. */
static const signed char wtable[FLOOR_WOP_COUNT][FLOOR_W_STATE_COUNT][FLOOR_REL_COUNT] = {
	/*                      owner other moderator captioner observer system */
	[FLOOR_WOP_READ] = {
		[QUE] = CHAIR(RED), [RED] = CHAIR(WS), [ANS] = CHAIR(WS), [DIS] = CHAIR(WS),
		[WDR] = CHAIR(WS),
	},
	[FLOOR_WOP_ANSWER] = {
		[QUE] = CHAIR(WS), [RED] = CHAIR(ANS), [ANS] = CHAIR(WS), [DIS] = CHAIR(WS),
		[WDR] = CHAIR(WS),
	},
	[FLOOR_WOP_DISMISS] = {
		[QUE] = CHAIR(DIS), [RED] = CHAIR(DIS), [ANS] = CHAIR(WS), [DIS] = CHAIR(WS),
		[WDR] = CHAIR(WS),
	},
	[FLOOR_WOP_WITHDRAW] = {
		[QUE] = { WDR, NW, FR, FR, FR, FR }, [RED] = { WS, NW, FR, FR, FR, FR },
		[ANS] = { WS, NW, FR, FR, FR, FR },  [DIS] = { WS, NW, FR, FR, FR, FR },
		[WDR] = { WS, NW, FR, FR, FR, FR },
	},
};

int floor_table(enum floor_state s, enum floor_op op, enum floor_rel rel)
{
	assert((unsigned)s < FLOOR_STATE_COUNT && (unsigned)op < FLOOR_OP_COUNT &&
	       (unsigned)rel < FLOOR_REL_COUNT);
	return table[op][s][rel];
}

int floor_wtable(enum floor_wstate s, enum floor_wop op, enum floor_rel rel)
{
	assert((unsigned)s < FLOOR_W_STATE_COUNT && (unsigned)op < FLOOR_WOP_COUNT &&
	       (unsigned)rel < FLOOR_REL_COUNT);
	return wtable[op][s][rel];
}

int floor_may_request(enum rs_role role)
{
	return role == RS_ROLE_PARTICIPANT ? FLOOR_OK : FLOOR_E_FORBIDDEN_ROLE;
}

/* How an actor stands to a request owned by owner. */
static enum floor_rel rel_of(const floor_actor *a, uint32_t owner)
{
	switch (a->role) {
	case RS_ROLE_PARTICIPANT:
		return a->pid == owner ? FLOOR_BY_OWNER : FLOOR_BY_OTHER;
	case RS_ROLE_MODERATOR:
		return FLOOR_BY_MODERATOR;
	case RS_ROLE_CAPTIONER:
		return FLOOR_BY_CAPTIONER;
	default:
		return FLOOR_BY_OBSERVER;
	}
}

/* ---- small helpers ------------------------------------------------------ */

/* Time never runs backwards inside the floor. */
static int64_t advance(floor_ctl *f, int64_t now)
{
	if (now > f->now)
		f->now = now;
	return f->now;
}

/* A one-line text (topic, reason): valid UTF-8, at most max bytes, no control characters. */
static bool line_ok(const char *s, size_t max)
{
	if (!s)
		return true;
	size_t n = strlen(s);
	if (n > max || !rs_utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* A written intervention: like a line but multi-line, tabs allowed, never empty. */
static bool text_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > FLOOR_TEXT_MAX || !rs_utf8_valid(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

static void line_push(struct line *l, int slot)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->at = rs_realloc(l->at, l->cap * sizeof *l->at);
	}
	l->at[l->n++] = slot;
}

/* Index of slot in l, or -1. */
static int line_find(const struct line *l, int slot)
{
	for (size_t i = 0; i < l->n; i++)
		if (l->at[i] == slot)
			return (int)i;
	return -1;
}

static void line_remove_at(struct line *l, size_t i)
{
	assert(i < l->n);
	memmove(&l->at[i], &l->at[i + 1], (l->n - i - 1) * sizeof *l->at);
	l->n--;
}

static void line_insert_at(struct line *l, size_t i, int slot)
{
	assert(i <= l->n);
	line_push(l, slot);
	memmove(&l->at[i + 1], &l->at[i], (l->n - 1 - i) * sizeof *l->at);
	l->at[i] = slot;
}

/* Stakeholder group slot: its index in attrs_groups, or the last slot for undeclared. */
static int group_slot(const char *g)
{
	for (int i = 0; attrs_groups[i] && i < GROUP_SLOTS - 1; i++)
		if (strcmp(attrs_groups[i], g) == 0)
			return i;
	return GROUP_SLOTS - 1;
}

static const char *const kind_names[KIND_SLOTS] = { "remote", "onsite", "unknown" };

static int kind_slot(int onsite)
{
	return onsite == ATTRS_ONSITE ? 1 : onsite == ATTRS_REMOTE ? 0 : 2;
}

/* For the order policies an undeclared participant counts as remote: they joined online. */
static bool counts_as_onsite(const struct rs_attrs *a)
{
	return a->onsite == ATTRS_ONSITE;
}

/* ---- lifecycle ---------------------------------------------------------- */

floor_ctl *floor_create(const struct floor_policy *p)
{
	assert(floor_policy_valid(p));
	floor_ctl *f = rs_calloc(1, sizeof *f);
	f->pol = *p;
	f->now = INT64_MIN;
	f->next_id = 1;
	f->next_wid = 1;
	f->last_group = -1;
	f->last_kind = -1;
	f->by_pid = rs_calloc(1, sizeof *f->by_pid);
	return f;
}

void floor_destroy(floor_ctl *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_wslots; i++)
		free(f->items[i].text);
	for (int i = 0; i < N_LINES; i++)
		free(f->lines[i].at);
	free(f->wline.at);
	free(f->items);
	free(f->reqs);
	free(f->people);
	free(f->by_pid->slot);
	free(f->by_pid);
	free(f->ev);
	free(f);
}

const struct floor_policy *floor_policy(const floor_ctl *f)
{
	return &f->pol;
}

/* ---- events ------------------------------------------------------------- */

/* Appends a blank event stamped now; the caller fills in the rest. */
static struct floor_event *emit(floor_ctl *f, enum floor_event_kind kind, const floor_actor *by)
{
	assert(f->n_ev < EVENT_BACKLOG_MAX); /* the caller drains after every call */
	if (f->n_ev == f->ev_cap) {
		f->ev_cap = f->ev_cap ? f->ev_cap * 2 : 16;
		f->ev = rs_realloc(f->ev, f->ev_cap * sizeof *f->ev);
	}
	struct floor_event *e = &f->ev[f->n_ev++];
	memset(e, 0, sizeof *e);
	e->kind = kind;
	e->at_ms = f->now;
	e->from = e->to = -1;
	e->by_system = by == NULL;
	e->by = by ? by->pid : 0;
	e->by_role = by ? by->role : RS_ROLE_MODERATOR; /* unused when by_system */
	return e;
}

bool floor_poll(floor_ctl *f, struct floor_event *ev)
{
	if (f->ev_head == f->n_ev) {
		f->ev_head = f->n_ev = 0;
		return false;
	}
	*ev = f->ev[f->ev_head++];
	return true;
}

/* ---- the pid index ------------------------------------------------------ */

static size_t pid_home(const struct pid_index *x, uint32_t pid)
{
	return (uint32_t)(pid * 0x9E3779B1u) >> (32 - x->bits); /* Fibonacci hashing */
}

/* The slot holding pid, or the empty slot where it would go. */
static size_t pid_find(const floor_ctl *f, uint32_t pid)
{
	struct pid_index *x = f->by_pid;
	size_t mask = ((size_t)1 << x->bits) - 1;
	for (size_t i = pid_home(x, pid);; i = (i + 1) & mask) {
		x->probes++;
		if (!x->slot[i] || f->people[x->slot[i] - 1].pid == pid)
			return i;
	}
}

/* Rebuilds the index at twice the size from the people array. */
static void pid_grow(floor_ctl *f)
{
	struct pid_index *x = f->by_pid;
	free(x->slot);
	x->bits = x->bits ? x->bits + 1 : 5;
	x->slot = rs_calloc((size_t)1 << x->bits, sizeof *x->slot);
	for (size_t i = 0; i < f->n_people; i++)
		x->slot[pid_find(f, f->people[i].pid)] = (uint32_t)i + 1;
}

/* Records that pid is people[i] (new, or moved there). */
static void pid_put(floor_ctl *f, uint32_t pid, size_t i)
{
	struct pid_index *x = f->by_pid;
	if (2 * f->n_people > ((size_t)1 << x->bits))
		pid_grow(f); /* people[] already holds the new record: it is indexed here */
	f->by_pid->slot[pid_find(f, pid)] = (uint32_t)i + 1;
}

/* Takes pid out, shifting back the entries of its probe run. */
static void pid_remove(floor_ctl *f, uint32_t pid)
{
	struct pid_index *x = f->by_pid;
	size_t mask = ((size_t)1 << x->bits) - 1;
	size_t hole = pid_find(f, pid);
	assert(x->slot[hole]);
	for (size_t i = (hole + 1) & mask; x->slot[i]; i = (i + 1) & mask) {
		size_t home = pid_home(x, f->people[x->slot[i] - 1].pid);
		/* The entry may fill the hole if its home is not between the hole and it. */
		if (((i - home) & mask) >= ((i - hole) & mask)) {
			x->slot[hole] = x->slot[i];
			hole = i;
		}
	}
	x->slot[hole] = 0;
}

uint64_t floor_index_probes(const floor_ctl *f)
{
	return f->by_pid->probes;
}

/* ---- people ------------------------------------------------------------- */

static struct person *person_get(const floor_ctl *f, uint32_t pid)
{
	if (!f->n_people)
		return NULL;
	uint32_t at = f->by_pid->slot[pid_find(f, pid)];
	return at ? &f->people[at - 1] : NULL;
}

/* Finds or creates the actor's record and refreshes its role and attributes. */
static int person_touch(floor_ctl *f, const floor_actor *a, struct person **out)
{
	struct person *p = person_get(f, a->pid);
	if (!p) {
		if (f->n_people >= FLOOR_MAX_PEOPLE)
			return FLOOR_E_PEOPLE_FULL;
		if (f->n_people == f->cap_people) {
			f->cap_people = f->cap_people ? f->cap_people * 2 : 16;
			f->people = rs_realloc(f->people, f->cap_people * sizeof *f->people);
		}
		p = &f->people[f->n_people++];
		*p = (struct person){ .pid = a->pid, .live = -1 };
		pid_put(f, p->pid, f->n_people - 1);
	}
	p->role = a->role;
	p->who = *a->attrs;
	p->present = true;
	if (p->live >= 0)
		f->reqs[p->live].who = p->who;
	*out = p;
	return FLOOR_OK;
}

/* Forgets a departed person who has nothing to report, keeping the record count bounded. */
static void person_forget_if_idle(floor_ctl *f, struct person *p)
{
	if (p->present || p->live >= 0 || p->turns > 0)
		return;
	pid_remove(f, p->pid);
	*p = f->people[--f->n_people];
	if (p != &f->people[f->n_people]) /* the last record moved into the gap */
		f->by_pid->slot[pid_find(f, p->pid)] = (uint32_t)(p - f->people) + 1;
}

int floor_participant_joined(floor_ctl *f, int64_t now, const floor_actor *a)
{
	advance(f, now);
	struct person *p;
	return person_touch(f, a, &p);
}

int floor_participant_update(floor_ctl *f, int64_t now, const floor_actor *a)
{
	return floor_participant_joined(f, now, a);
}

bool floor_may_speak(const floor_ctl *f, const floor_actor *a)
{
	const struct person *p = person_get(f, a->pid);
	if (p && p->muted)
		return false;
	if (a->role == RS_ROLE_MODERATOR)
		return true;
	return p && p->live >= 0 && f->reqs[p->live].state == FLOOR_GRANTED;
}

/* ---- request slots ------------------------------------------------------ */

/* Slot of a live or remembered request, or -1. */
static int slot_of(const floor_ctl *f, uint32_t id)
{
	if (id == 0)
		return -1;
	for (size_t i = 0; i < f->n_slots; i++)
		if (f->reqs[i].id == id)
			return (int)i;
	return -1;
}

/* The finished request that ended first: the one history forgets next. */
static int oldest_finished(const floor_ctl *f)
{
	int best = -1;
	for (size_t i = 0; i < f->n_slots; i++) {
		const struct freq *r = &f->reqs[i];
		if (r->id && floor_state_final(r->state) &&
		    (best < 0 || r->ended_ms < f->reqs[best].ended_ms ||
		     (r->ended_ms == f->reqs[best].ended_ms && r->id < f->reqs[best].id)))
			best = (int)i;
	}
	return best;
}

/* A slot for a new request: a free one, a new one, or the oldest finished one. */
static int slot_new(floor_ctl *f)
{
	for (size_t i = 0; i < f->n_slots; i++)
		if (f->reqs[i].id == 0)
			return (int)i;
	if (f->n_slots < (size_t)f->pol.max_requests + FLOOR_HISTORY) {
		size_t n = f->n_slots ? f->n_slots * 2 : 8;
		if (n > (size_t)f->pol.max_requests + FLOOR_HISTORY)
			n = (size_t)f->pol.max_requests + FLOOR_HISTORY;
		f->reqs = rs_realloc(f->reqs, n * sizeof *f->reqs);
		memset(&f->reqs[f->n_slots], 0, (n - f->n_slots) * sizeof *f->reqs);
		size_t first = f->n_slots;
		f->n_slots = n;
		return (int)first;
	}
	int s = oldest_finished(f);
	assert(s >= 0); /* live < max_requests leaves FLOOR_HISTORY finished slots */
	return s;
}

/* The slot an operation targets: the request given, or the actor's own live one. */
static int target(const floor_ctl *f, const floor_actor *a, uint32_t id)
{
	if (id)
		return slot_of(f, id);
	const struct person *p = person_get(f, a->pid);
	return p ? p->live : -1;
}

/* ---- statistics --------------------------------------------------------- */

/* Index of a region's bucket, or -1 when it has none yet. */
static int region_index(const floor_ctl *f, const char *region)
{
	for (size_t i = 0; i < f->n_regions; i++)
		if (strcmp(f->regions[i].key, region) == 0)
			return (int)i;
	return -1;
}

/*
 * Books time to a region. Regions are free text, so the table is capped: a
 * new region past FLOOR_MAX_REGIONS books to "" like an undeclared one.
 */
static void region_add(floor_ctl *f, const char *region, int64_t ms)
{
	int i = region[0] ? region_index(f, region) : -1;
	if (i < 0 && region[0] && f->n_regions < FLOOR_MAX_REGIONS) {
		i = (int)f->n_regions++;
		rs_strlcpy(f->regions[i].key, region, sizeof f->regions[i].key);
	}
	if (i >= 0)
		f->regions[i].ms += ms;
	else
		f->region_none_ms += ms;
}

/* Books a finished turn to its speaker and to their group, kind and region. */
static void book_turn(floor_ctl *f, struct person *p, const struct rs_attrs *who, int64_t ms)
{
	p->spoken_ms += ms;
	f->group_ms[group_slot(who->group)] += ms;
	f->kind_ms[kind_slot(who->onsite)] += ms;
	region_add(f, who->region, ms);
}

/* The length of a granted turn so far. */
static int64_t turn_ms(const floor_ctl *f, const struct freq *r)
{
	return f->now - r->granted_ms;
}

/* True when a live turn of attributes `who` would book to the bucket `key` of dim. */
static bool books_to(const floor_ctl *f, const struct rs_attrs *who, enum floor_dim dim,
		     const char *key)
{
	switch (dim) {
	case FLOOR_DIM_GROUP:
		return group_slot(who->group) == group_slot(key);
	case FLOOR_DIM_ONSITE:
		return strcmp(kind_names[kind_slot(who->onsite)], key) == 0;
	case FLOOR_DIM_REGION:
		break;
	}
	bool bucketed = who->region[0] &&
			(region_index(f, who->region) >= 0 || f->n_regions < FLOOR_MAX_REGIONS);
	return bucketed ? strcmp(who->region, key) == 0 : key[0] == '\0';
}

/* Finished time of one bucket. */
static int64_t closed_ms(const floor_ctl *f, enum floor_dim dim, const char *key)
{
	switch (dim) {
	case FLOOR_DIM_GROUP:
		return f->group_ms[group_slot(key)];
	case FLOOR_DIM_ONSITE:
		for (int i = 0; i < KIND_SLOTS; i++)
			if (strcmp(kind_names[i], key) == 0)
				return f->kind_ms[i];
		return 0;
	case FLOOR_DIM_REGION:
		break;
	}
	if (!key[0])
		return f->region_none_ms;
	int i = region_index(f, key);
	return i >= 0 ? f->regions[i].ms : 0;
}

/* A key that names no bucket: an unknown group or side has spoken for 0 ms. */
static bool key_unknown(enum floor_dim dim, const char *key)
{
	if (dim == FLOOR_DIM_GROUP)
		return key[0] && !attrs_group_valid(key);
	if (dim == FLOOR_DIM_ONSITE)
		return name_index(kind_names, KIND_SLOTS, key) < 0;
	return false;
}

int64_t floor_spoken_by(const floor_ctl *f, int64_t now, enum floor_dim dim, const char *key)
{
	if (key_unknown(dim, key))
		return 0;
	int64_t t = now > f->now ? now : f->now;
	int64_t ms = closed_ms(f, dim, key);
	const struct line *g = &f->lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++) {
		const struct freq *r = &f->reqs[g->at[i]];
		if (books_to(f, &r->who, dim, key))
			ms += t - r->granted_ms;
	}
	return ms;
}

int64_t floor_spoken_total(const floor_ctl *f, int64_t now)
{
	int64_t t = now > f->now ? now : f->now;
	int64_t ms = 0;
	for (int i = 0; i < KIND_SLOTS; i++)
		ms += f->kind_ms[i];
	const struct line *g = &f->lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++)
		ms += t - f->reqs[g->at[i]].granted_ms;
	return ms;
}

size_t floor_regions(const floor_ctl *f)
{
	return f->n_regions;
}

const char *floor_region_at(const floor_ctl *f, size_t i)
{
	return i < f->n_regions ? f->regions[i].key : NULL;
}

/* ---- the one place a request changes state ------------------------------ */

/* Leaves the live line of its current state; ends the turn of a granted request. */
static void leave_state(floor_ctl *f, int slot, struct floor_event *e)
{
	struct freq *r = &f->reqs[slot];
	if (floor_state_final(r->state))
		return;
	struct line *l = &f->lines[r->state];
	int i = line_find(l, slot);
	assert(i >= 0);
	line_remove_at(l, (size_t)i);
	if (r->state == FLOOR_GRANTED) {
		struct person *p = person_get(f, r->pid);
		assert(p);
		e->duration_ms = turn_ms(f, r);
		book_turn(f, p, &r->who, e->duration_ms);
	}
}

/* Starts a granted turn: its timer and the rotation memory of the order policies. */
static void start_turn(floor_ctl *f, struct freq *r, int64_t limit_ms)
{
	r->granted_ms = f->now;
	r->limit_ms = limit_ms;
	r->warned = r->expired = false;
	struct person *p = person_get(f, r->pid);
	assert(p);
	p->turns++;
	r->accepted_once = true; /* a chair's grant is more than an accept */
	f->last_group = group_slot(r->who.group);
	f->last_kind = counts_as_onsite(&r->who);
}

/* Enters the new state's line (the back of it) or, when final, lets the request go. */
static void enter_state(floor_ctl *f, int slot, enum floor_state to, struct floor_event *e)
{
	struct freq *r = &f->reqs[slot];
	r->state = to;
	r->since_ms = f->now;
	if (floor_state_final(to)) {
		r->ended_ms = f->now;
		f->live--;
		struct person *p = person_get(f, r->pid);
		assert(p && p->live == slot);
		p->live = -1;
		return;
	}
	line_push(&f->lines[to], slot);
	if (to == FLOOR_ACCEPTED) {
		r->accepted_once = true;
		e->position = (int)f->lines[to].n;
	}
}

/*
 * Moves a request to `to`, books speaking time and emits the STATE event.
 * Every state change of an existing request goes through here, always to a
 * state its table cell allowed.
 */
static void set_state(floor_ctl *f, int slot, enum floor_state to, const struct cause *c)
{
	struct freq *r = &f->reqs[slot];
	struct floor_event *e = emit(f, FLOOR_EV_STATE, c->by);
	e->op = c->op;
	e->request = r->id;
	e->pid = r->pid;
	e->from = (int)r->state;
	e->to = (int)to;
	e->cleared = c->cleared;
	rs_strlcpy(e->topic, r->topic, sizeof e->topic);
	rs_strlcpy(e->reason, c->reason ? c->reason : "", sizeof e->reason);
	leave_state(f, slot, e);
	enter_state(f, slot, to, e);
	if (to == FLOOR_GRANTED) {
		start_turn(f, r, c->limit_ms);
		e->limit_ms = r->limit_ms;
		e->ends_ms = r->limit_ms ? r->granted_ms + r->limit_ms : 0;
	}
	e->who = r->who;
}

/* ---- requests ----------------------------------------------------------- */

/* Fills a new request slot for p; request_enter() then puts it in line. */
static struct freq *request_init(floor_ctl *f, int slot, const struct person *p, const char *topic)
{
	struct freq *r = &f->reqs[slot];
	*r = (struct freq){ .id = f->next_id++, .pid = p->pid, .state = FLOOR_PENDING,
			    .who = p->who, .created_ms = f->now, .since_ms = f->now };
	rs_strlcpy(r->topic, topic ? topic : "", sizeof r->topic);
	return r;
}

/* Puts a new request in line (Pending or Accepted) and emits its STATE event. */
static void request_enter(floor_ctl *f, int slot, const floor_actor *a)
{
	struct freq *r = &f->reqs[slot];
	struct floor_event *e = emit(f, FLOOR_EV_STATE, a);
	enter_state(f, slot, f->pol.moderated_queue ? FLOOR_PENDING : FLOOR_ACCEPTED, e);
	e->op = FLOOR_OP_ACCEPT; /* with from -1: a new request entering the queue */
	e->request = r->id;
	e->pid = r->pid;
	e->to = (int)r->state;
	e->who = r->who;
	rs_strlcpy(e->topic, r->topic, sizeof e->topic);
}

int floor_request(floor_ctl *f, int64_t now, const floor_actor *a, const char *topic, uint32_t *id)
{
	advance(f, now);
	int rc = floor_may_request(a->role);
	if (rc)
		return rc;
	struct person *p = person_get(f, a->pid);
	if (p && p->live >= 0)
		return FLOOR_E_ALREADY_REQUESTED;
	if (!line_ok(topic, FLOOR_TOPIC_MAX))
		return FLOOR_E_BAD_ARG;
	if (f->live >= (size_t)f->pol.max_requests)
		return FLOOR_E_QUEUE_FULL;
	if ((rc = person_touch(f, a, &p)))
		return rc;
	int slot = slot_new(f);
	struct freq *r = request_init(f, slot, p, topic);
	p->live = slot;
	f->live++;
	request_enter(f, slot, a);
	if (id)
		*id = r->id;
	return FLOOR_OK;
}

/*
 * Looks up the target of op and the table's answer for this actor. On success
 * *slot is the request and *next the state the table allows.
 */
static int check(floor_ctl *f, const floor_actor *a, uint32_t id, enum floor_op op, int *slot,
		 int *next)
{
	*slot = target(f, a, id);
	if (*slot < 0)
		return FLOOR_E_UNKNOWN_REQUEST;
	const struct freq *r = &f->reqs[*slot];
	*next = floor_table(r->state, op, rel_of(a, r->pid));
	return *next < 0 ? *next : FLOOR_OK;
}

/* An operation whose only effect is the table's state change. */
static int simple_op(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t id,
		     enum floor_op op, const char *reason)
{
	advance(f, now);
	int slot, next;
	int rc = check(f, a, id, op, &slot, &next);
	if (rc)
		return rc;
	if (!line_ok(reason, FLOOR_REASON_MAX))
		return FLOOR_E_BAD_ARG;
	struct cause c = { .op = op, .by = a, .reason = reason };
	set_state(f, slot, (enum floor_state)next, &c);
	return FLOOR_OK;
}

int floor_cancel(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request)
{
	return simple_op(f, now, a, request, FLOOR_OP_CANCEL, NULL);
}

int floor_release(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request)
{
	return simple_op(f, now, a, request, FLOOR_OP_RELEASE, NULL);
}

int floor_hold(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request)
{
	return simple_op(f, now, a, request, FLOOR_OP_HOLD, NULL);
}

int floor_accept(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request)
{
	return simple_op(f, now, a, request, FLOOR_OP_ACCEPT, NULL);
}

int floor_deny(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
	       const char *reason)
{
	return simple_op(f, now, a, request, FLOOR_OP_DENY, reason);
}

int floor_revoke(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
		 const char *reason)
{
	return simple_op(f, now, a, request, FLOOR_OP_REVOKE, reason);
}

int floor_resume(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request)
{
	advance(f, now);
	int slot, next;
	int rc = check(f, a, request, FLOOR_OP_RESUME, &slot, &next);
	if (rc)
		return rc;
	/* A request no chair has accepted yet must not skip the moderated queue by a hold. */
	bool back_to_pending = f->pol.moderated_queue && !f->reqs[slot].accepted_once;
	struct cause c = { .op = FLOOR_OP_RESUME, .by = a };
	set_state(f, slot, back_to_pending ? FLOOR_PENDING : (enum floor_state)next, &c);
	return FLOOR_OK;
}

int floor_grant(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
		int64_t limit_ms, uint32_t *granted)
{
	advance(f, now);
	int slot, next;
	if (request == 0 && a->role != RS_ROLE_MODERATOR)
		return FLOOR_E_FORBIDDEN_ROLE;
	if (request == 0 && (request = floor_suggest(f, f->now)) == 0)
		return FLOOR_E_QUEUE_EMPTY;
	int rc = check(f, a, request, FLOOR_OP_GRANT, &slot, &next);
	if (rc)
		return rc;
	if (limit_ms > FLOOR_LIMIT_MAX_MS)
		return FLOOR_E_BAD_ARG;
	if (f->lines[FLOOR_GRANTED].n >= (size_t)f->pol.max_holders)
		return FLOOR_E_HOLDER_LIMIT;
	struct cause c = { .op = FLOOR_OP_GRANT, .by = a,
			   .limit_ms = limit_ms < 0 ? f->pol.limit_ms : limit_ms };
	set_state(f, slot, (enum floor_state)next, &c);
	if (granted)
		*granted = request;
	return FLOOR_OK;
}

int floor_move(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request, int to)
{
	advance(f, now);
	int slot, next;
	int rc = check(f, a, request, FLOOR_OP_MOVE, &slot, &next);
	if (rc)
		return rc;
	struct line *q = &f->lines[FLOOR_ACCEPTED];
	if (to < 1 || (size_t)to > q->n)
		return FLOOR_E_BAD_ARG;
	int i = line_find(q, slot);
	assert(i >= 0);
	line_remove_at(q, (size_t)i);
	line_insert_at(q, (size_t)to - 1, slot);
	struct freq *r = &f->reqs[slot];
	struct floor_event *e = emit(f, FLOOR_EV_MOVED, a);
	e->op = FLOOR_OP_MOVE;
	e->request = r->id;
	e->pid = r->pid;
	e->who = r->who;
	e->position = to;
	return FLOOR_OK;
}

/* Denies every request in line l (a chair's clear), counting them into *n. */
static void clear_line(floor_ctl *f, const floor_actor *a, enum floor_state s, const char *reason,
		       int *n)
{
	struct line *l = &f->lines[s];
	struct cause c = { .op = FLOOR_OP_DENY, .by = a, .reason = reason, .cleared = true };
	while (l->n) {
		int slot = l->at[0];
		int next = floor_table(s, FLOOR_OP_DENY, FLOOR_BY_MODERATOR);
		assert(next == FLOOR_DENIED);
		set_state(f, slot, (enum floor_state)next, &c);
		(*n)++;
	}
}

int floor_clear(floor_ctl *f, int64_t now, const floor_actor *a, const char *reason, int *n)
{
	advance(f, now);
	if (a->role != RS_ROLE_MODERATOR)
		return FLOOR_E_FORBIDDEN_ROLE;
	if (!line_ok(reason, FLOOR_REASON_MAX))
		return FLOOR_E_BAD_ARG;
	if (!reason || !reason[0])
		reason = "queue cleared";
	int count = 0;
	clear_line(f, a, FLOOR_ACCEPTED, reason, &count);
	clear_line(f, a, FLOOR_PENDING, reason, &count);
	clear_line(f, a, FLOOR_HELD, reason, &count);
	if (n)
		*n = count;
	return FLOOR_OK;
}

int floor_mute(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t pid, bool muted)
{
	advance(f, now);
	if (a->role != RS_ROLE_MODERATOR)
		return FLOOR_E_FORBIDDEN_ROLE;
	struct person *p = person_get(f, pid);
	if (!p || !p->present)
		return FLOOR_E_UNKNOWN_PARTICIPANT;
	if (p->muted == muted)
		return FLOOR_OK; /* already so: the reply confirms it, nobody needs an event */
	p->muted = muted;
	struct floor_event *e = emit(f, FLOOR_EV_MUTED, a);
	e->pid = pid;
	e->who = p->who;
	e->muted = muted;
	if (p->live >= 0)
		e->request = f->reqs[p->live].id;
	return FLOOR_OK;
}

/* Re-arms one granted floor's timer for a new limit, counted from its grant. */
static int limit_one(floor_ctl *f, const floor_actor *a, uint32_t request, int64_t limit_ms)
{
	int slot = slot_of(f, request);
	if (slot < 0)
		return FLOOR_E_UNKNOWN_REQUEST;
	struct freq *r = &f->reqs[slot];
	if (r->state != FLOOR_GRANTED)
		return FLOOR_E_WRONG_STATE;
	r->limit_ms = limit_ms;
	r->warned = r->expired = false;
	struct floor_event *e = emit(f, FLOOR_EV_LIMIT, a);
	e->request = r->id;
	e->pid = r->pid;
	e->who = r->who;
	e->limit_ms = limit_ms;
	e->ends_ms = limit_ms ? r->granted_ms + limit_ms : 0;
	return FLOOR_OK;
}

int floor_set_limit(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
		    int64_t limit_ms)
{
	advance(f, now);
	if (a->role != RS_ROLE_MODERATOR)
		return FLOOR_E_FORBIDDEN_ROLE;
	if (limit_ms < 0 || limit_ms > FLOOR_LIMIT_MAX_MS)
		return FLOOR_E_BAD_ARG;
	if (request)
		return limit_one(f, a, request, limit_ms);
	f->pol.limit_ms = limit_ms;
	struct floor_event *e = emit(f, FLOOR_EV_LIMIT, a);
	e->limit_ms = limit_ms;
	return FLOOR_OK;
}

void floor_participant_left(floor_ctl *f, int64_t now, uint32_t pid)
{
	advance(f, now);
	struct person *p = person_get(f, pid);
	if (!p)
		return;
	if (p->live >= 0) {
		int next = floor_table(f->reqs[p->live].state, FLOOR_OP_LEAVE, FLOOR_BY_SYSTEM);
		assert(next >= 0);
		struct cause c = { .op = FLOOR_OP_LEAVE };
		set_state(f, p->live, (enum floor_state)next, &c);
	}
	p->present = false;
	person_forget_if_idle(f, p);
}

/* ---- time --------------------------------------------------------------- */

/* When a granted turn warns (0 when it never will). */
static int64_t warn_at(const floor_ctl *f, const struct freq *r)
{
	if (!r->limit_ms || !f->pol.warn_ms || f->pol.warn_ms >= r->limit_ms || r->warned)
		return 0;
	return r->granted_ms + r->limit_ms - f->pol.warn_ms;
}

/* When a granted turn expires (0 when it never will again). */
static int64_t expire_at(const struct freq *r)
{
	return r->limit_ms && !r->expired ? r->granted_ms + r->limit_ms : 0;
}

int64_t floor_next_deadline(const floor_ctl *f)
{
	int64_t best = FLOOR_NO_DEADLINE;
	const struct line *g = &f->lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++) {
		const struct freq *r = &f->reqs[g->at[i]];
		int64_t w = warn_at(f, r), x = expire_at(r);
		if (w && w < best)
			best = w;
		if (x && x < best)
			best = x;
	}
	return best;
}

static void timer_event(floor_ctl *f, const struct freq *r, enum floor_event_kind kind)
{
	struct floor_event *e = emit(f, kind, NULL);
	e->request = r->id;
	e->pid = r->pid;
	e->who = r->who;
	e->limit_ms = r->limit_ms;
	e->ends_ms = r->granted_ms + r->limit_ms;
	rs_strlcpy(e->topic, r->topic, sizeof e->topic);
}

/* Emits what is due for one turn; true when the turn ended (revoked). */
static bool tick_one(floor_ctl *f, int slot)
{
	struct freq *r = &f->reqs[slot];
	int64_t w = warn_at(f, r), x = expire_at(r);
	if (x && f->now >= x) {
		r->warned = r->expired = true; /* a late timer skips a warning that is moot */
		timer_event(f, r, FLOOR_EV_EXPIRED);
		if (f->pol.on_expiry != FLOOR_EXPIRY_REVOKE)
			return false;
		struct cause c = { .op = FLOOR_OP_EXPIRE, .reason = "speaking time is up" };
		set_state(f, slot, (enum floor_state)floor_table(r->state, FLOOR_OP_EXPIRE,
								   FLOOR_BY_SYSTEM), &c);
		return true;
	}
	if (w && f->now >= w) {
		r->warned = true;
		timer_event(f, r, FLOOR_EV_WARNING);
	}
	return false;
}

void floor_tick(floor_ctl *f, int64_t now)
{
	advance(f, now);
	struct line *g = &f->lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n;)
		if (!tick_one(f, g->at[i]))
			i++;
}

/* ---- the order policies ------------------------------------------------- */

/* Live speaking time of a group slot: finished turns plus the turns going on at t. */
static int64_t group_live_ms(const floor_ctl *f, int gslot, int64_t t)
{
	int64_t ms = f->group_ms[gslot];
	const struct line *g = &f->lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++)
		if (group_slot(f->reqs[g->at[i]].who.group) == gslot)
			ms += t - f->reqs[g->at[i]].granted_ms;
	return ms;
}

/* Time heard by t from onsite (true) or remote (false) speakers. */
static int64_t side_live_ms(const floor_ctl *f, bool onsite, int64_t t)
{
	int64_t ms = onsite ? f->kind_ms[1] : f->kind_ms[0] + f->kind_ms[2];
	const struct line *g = &f->lines[FLOOR_GRANTED];
	for (size_t i = 0; i < g->n; i++)
		if (counts_as_onsite(&f->reqs[g->at[i]].who) == onsite)
			ms += t - f->reqs[g->at[i]].granted_ms;
	return ms;
}

static int64_t person_live_ms(const floor_ctl *f, const struct person *p, int64_t t)
{
	int64_t ms = p->spoken_ms;
	if (p->live >= 0 && f->reqs[p->live].state == FLOOR_GRANTED)
		ms += t - f->reqs[p->live].granted_ms;
	return ms;
}

/*
 * The balanced key of a queued request at time t, compared in order: same
 * group as the last speaker (rotation), then the least-heard group,
 * onsite/remote side, region and person, then queue position.
 */
static void balanced_key(const floor_ctl *f, const struct freq *r, int64_t t, int64_t key[5])
{
	int gs = group_slot(r->who.group);
	key[0] = gs == f->last_group;
	key[1] = group_live_ms(f, gs, t);
	key[2] = side_live_ms(f, counts_as_onsite(&r->who), t);
	key[3] = floor_spoken_by(f, t, FLOOR_DIM_REGION, r->who.region);
	const struct person *p = person_get(f, r->pid);
	key[4] = p ? person_live_ms(f, p, t) : 0;
}

/* Lexicographic comparison of two balanced keys. */
static int key_cmp(const int64_t *a, const int64_t *b, int n)
{
	for (int k = 0; k < n; k++)
		if (a[k] != b[k])
			return a[k] < b[k] ? -1 : 1;
	return 0;
}

static uint32_t suggest_balanced(const floor_ctl *f, int64_t t)
{
	const struct line *q = &f->lines[FLOOR_ACCEPTED];
	int best = -1;
	int64_t best_key[5];
	for (size_t i = 0; i < q->n; i++) {
		int64_t key[5];
		balanced_key(f, &f->reqs[q->at[i]], t, key);
		/* strictly better only: on a tie the earlier queue position wins */
		if (best < 0 || key_cmp(key, best_key, 5) < 0) {
			best = q->at[i];
			memcpy(best_key, key, sizeof key);
		}
	}
	return best < 0 ? 0 : f->reqs[best].id;
}

/* The first queued request from the side that did not speak last, else the head. */
static uint32_t suggest_alternate(const floor_ctl *f)
{
	const struct line *q = &f->lines[FLOOR_ACCEPTED];
	if (f->last_kind >= 0)
		for (size_t i = 0; i < q->n; i++)
			if (counts_as_onsite(&f->reqs[q->at[i]].who) != (bool)f->last_kind)
				return f->reqs[q->at[i]].id;
	return f->reqs[q->at[0]].id;
}

uint32_t floor_suggest(const floor_ctl *f, int64_t now)
{
	int64_t t = now > f->now ? now : f->now;
	const struct line *q = &f->lines[FLOOR_ACCEPTED];
	if (q->n == 0)
		return 0;
	switch (f->pol.order) {
	case FLOOR_ORDER_BALANCED:
		return suggest_balanced(f, t);
	case FLOOR_ORDER_ALTERNATE:
		return suggest_alternate(f);
	default:
		return f->reqs[q->at[0]].id;
	}
}

/* ---- views -------------------------------------------------------------- */

static void req_view(const floor_ctl *f, int slot, int position, struct floor_req_view *v)
{
	const struct freq *r = &f->reqs[slot];
	const struct person *p = person_get(f, r->pid);
	bool granted = r->state == FLOOR_GRANTED;
	*v = (struct floor_req_view){
		.id = r->id, .pid = r->pid, .state = r->state, .position = position,
		.who = &r->who, .topic = r->topic, .created_ms = r->created_ms,
		.since_ms = r->since_ms, .granted_ms = granted ? r->granted_ms : 0,
		.limit_ms = granted ? r->limit_ms : 0,
		.ends_ms = granted && r->limit_ms ? r->granted_ms + r->limit_ms : 0,
		.muted = p && p->muted,
	};
}

size_t floor_count(const floor_ctl *f, enum floor_state s)
{
	return (unsigned)s < N_LINES ? f->lines[s].n : 0;
}

bool floor_at(const floor_ctl *f, enum floor_state s, size_t i, struct floor_req_view *v)
{
	if ((unsigned)s >= N_LINES || i >= f->lines[s].n)
		return false;
	req_view(f, f->lines[s].at[i], s == FLOOR_ACCEPTED ? (int)i + 1 : 0, v);
	return true;
}

bool floor_find(const floor_ctl *f, uint32_t request, struct floor_req_view *v)
{
	int slot = slot_of(f, request);
	if (slot < 0)
		return false;
	int pos = 0;
	if (f->reqs[slot].state == FLOOR_ACCEPTED)
		pos = line_find(&f->lines[FLOOR_ACCEPTED], slot) + 1;
	req_view(f, slot, pos, v);
	return true;
}

bool floor_find_live(const floor_ctl *f, uint32_t pid, struct floor_req_view *v)
{
	const struct person *p = person_get(f, pid);
	return p && p->live >= 0 && floor_find(f, f->reqs[p->live].id, v);
}

size_t floor_people(const floor_ctl *f)
{
	return f->n_people;
}

static void person_view(const floor_ctl *f, const struct person *p, int64_t now,
			struct floor_person_view *v)
{
	int64_t t = now > f->now ? now : f->now;
	int64_t ms = p->spoken_ms;
	if (p->live >= 0 && f->reqs[p->live].state == FLOOR_GRANTED)
		ms += t - f->reqs[p->live].granted_ms;
	*v = (struct floor_person_view){ .pid = p->pid, .role = p->role, .who = &p->who,
					 .present = p->present, .muted = p->muted,
					 .spoken_ms = ms, .turns = p->turns };
}

bool floor_person_at(const floor_ctl *f, size_t i, int64_t now, struct floor_person_view *v)
{
	if (i >= f->n_people)
		return false;
	person_view(f, &f->people[i], now, v);
	return true;
}

bool floor_person(const floor_ctl *f, uint32_t pid, int64_t now, struct floor_person_view *v)
{
	const struct person *p = person_get(f, pid);
	if (p)
		person_view(f, p, now, v);
	return p != NULL;
}

/* ---- written interventions ---------------------------------------------- */

static bool wstate_final(enum floor_wstate s)
{
	return s >= FLOOR_W_ANSWERED;
}

static int wslot_of(const floor_ctl *f, uint32_t id)
{
	if (id == 0)
		return -1;
	for (size_t i = 0; i < f->n_wslots; i++)
		if (f->items[i].id == id)
			return (int)i;
	return -1;
}

/* A slot for a new item: free, new, or the finished one that changed state first. */
static int wslot_new(floor_ctl *f)
{
	for (size_t i = 0; i < f->n_wslots; i++)
		if (f->items[i].id == 0)
			return (int)i;
	const size_t cap = FLOOR_MAX_WRITTEN + FLOOR_HISTORY;
	if (f->n_wslots < cap) {
		size_t n = f->n_wslots ? f->n_wslots * 2 : 8;
		n = n > cap ? cap : n;
		f->items = rs_realloc(f->items, n * sizeof *f->items);
		memset(&f->items[f->n_wslots], 0, (n - f->n_wslots) * sizeof *f->items);
		size_t first = f->n_wslots;
		f->n_wslots = n;
		return (int)first;
	}
	int best = -1;
	for (size_t i = 0; i < f->n_wslots; i++)
		if (wstate_final(f->items[i].state) &&
		    (best < 0 || f->items[i].since_ms < f->items[best].since_ms))
			best = (int)i;
	assert(best >= 0); /* fewer than FLOOR_MAX_WRITTEN live items leave finished ones */
	free(f->items[best].text);
	return best;
}

/* Queued items of one author: the per-person cap counts these. */
static int queued_by(const floor_ctl *f, uint32_t pid)
{
	int n = 0;
	for (size_t i = 0; i < f->wline.n; i++) {
		const struct witem *w = &f->items[f->wline.at[i]];
		n += w->pid == pid && w->state == FLOOR_W_QUEUED;
	}
	return n;
}

static void written_event(floor_ctl *f, const floor_actor *a, const struct witem *w, int from,
			  enum floor_wop op)
{
	struct floor_event *e = emit(f, FLOOR_EV_WRITTEN, a);
	e->request = w->id;
	e->pid = w->pid;
	e->who = w->who;
	e->from = from;
	e->to = (int)w->state;
	e->wop = op;
	e->text = w->text;
}

int floor_written_submit(floor_ctl *f, int64_t now, const floor_actor *a, const char *text,
			 uint32_t *id)
{
	advance(f, now);
	int rc = floor_may_request(a->role);
	if (rc)
		return rc;
	if (!text_ok(text))
		return FLOOR_E_BAD_ARG;
	if (queued_by(f, a->pid) >= FLOOR_WRITTEN_PER_PERSON)
		return FLOOR_E_WRITTEN_LIMIT;
	if (f->wline.n >= FLOOR_MAX_WRITTEN)
		return FLOOR_E_WRITTEN_FULL;
	int slot = wslot_new(f);
	struct witem *w = &f->items[slot];
	*w = (struct witem){ .id = f->next_wid++, .pid = a->pid, .state = FLOOR_W_QUEUED,
			     .who = *a->attrs, .text = rs_strdup(text),
			     .submitted_ms = f->now, .since_ms = f->now };
	line_push(&f->wline, slot);
	f->wc.asked++;
	written_event(f, a, w, -1, FLOOR_WOP_READ);
	if (id)
		*id = w->id;
	return FLOOR_OK;
}

static void count_written(struct floor_written_counts *c, enum floor_wstate to)
{
	switch (to) {
	case FLOOR_W_READ: c->read++; break;
	case FLOOR_W_ANSWERED: c->answered++; break;
	case FLOOR_W_DISMISSED: c->dismissed++; break;
	case FLOOR_W_WITHDRAWN: c->withdrawn++; break;
	default: break;
	}
}

int floor_written_op(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t id,
		     enum floor_wop op)
{
	advance(f, now);
	if ((unsigned)op >= FLOOR_WOP_COUNT)
		return FLOOR_E_BAD_ARG;
	int slot = wslot_of(f, id);
	if (slot < 0)
		return FLOOR_E_UNKNOWN_WRITTEN;
	struct witem *w = &f->items[slot];
	int next = floor_wtable(w->state, op, rel_of(a, w->pid));
	if (next < 0)
		return next;
	int from = (int)w->state;
	w->state = (enum floor_wstate)next;
	w->since_ms = f->now;
	count_written(&f->wc, w->state);
	if (wstate_final(w->state))
		line_remove_at(&f->wline, (size_t)line_find(&f->wline, slot));
	written_event(f, a, w, from, op);
	return FLOOR_OK;
}

static void written_view(const struct witem *w, struct floor_written_view *v)
{
	*v = (struct floor_written_view){ .id = w->id, .pid = w->pid, .state = w->state,
					  .who = &w->who, .text = w->text,
					  .submitted_ms = w->submitted_ms, .since_ms = w->since_ms };
}

size_t floor_written_count(const floor_ctl *f)
{
	return f->wline.n;
}

bool floor_written_at(const floor_ctl *f, size_t i, struct floor_written_view *v)
{
	if (i >= f->wline.n)
		return false;
	written_view(&f->items[f->wline.at[i]], v);
	return true;
}

bool floor_written_find(const floor_ctl *f, uint32_t id, struct floor_written_view *v)
{
	int slot = wslot_of(f, id);
	if (slot >= 0)
		written_view(&f->items[slot], v);
	return slot >= 0;
}

void floor_written_totals(const floor_ctl *f, struct floor_written_counts *c)
{
	*c = f->wc;
}

/* ---- restore -------------------------------------------------------------- */

/* A request raised (a STATE event from -1): the slot, the owner's record, the line. */
static int apply_new_request(floor_ctl *f, const struct floor_event *e)
{
	if (e->request == 0 || slot_of(f, e->request) >= 0 ||
	    (e->to != FLOOR_PENDING && e->to != FLOOR_ACCEPTED))
		return FLOOR_E_BAD_ARG;
	if (f->live >= (size_t)f->pol.max_requests)
		return FLOOR_E_QUEUE_FULL;
	struct person *p = person_get(f, e->pid);
	if (p && p->live >= 0)
		return FLOOR_E_ALREADY_REQUESTED;
	floor_actor a = { .pid = e->pid, .role = p ? p->role : RS_ROLE_PARTICIPANT,
			  .attrs = &e->who };
	int rc = person_touch(f, &a, &p);
	if (rc)
		return rc;
	int slot = slot_new(f);
	struct freq *r = &f->reqs[slot];
	*r = (struct freq){ .id = e->request, .pid = e->pid, .state = FLOOR_PENDING,
			    .who = e->who, .created_ms = f->now, .since_ms = f->now };
	rs_strlcpy(r->topic, e->topic, sizeof r->topic);
	if (e->request >= f->next_id)
		f->next_id = e->request + 1;
	p->live = slot;
	f->live++;
	struct floor_event scratch;
	enter_state(f, slot, (enum floor_state)e->to, &scratch);
	return FLOOR_OK;
}

/* A live request changed state: the same line moves and bookings as set_state(). */
static int apply_state(floor_ctl *f, const struct floor_event *e)
{
	if (e->from < 0)
		return apply_new_request(f, e);
	int slot = slot_of(f, e->request);
	if (slot < 0)
		return FLOOR_E_UNKNOWN_REQUEST;
	struct freq *r = &f->reqs[slot];
	if ((int)r->state != e->from || floor_state_final(r->state) || e->to < 0 ||
	    e->to >= FLOOR_STATE_COUNT || e->to == e->from)
		return FLOOR_E_WRONG_STATE;
	if (e->to == FLOOR_GRANTED && f->lines[FLOOR_GRANTED].n >= (size_t)f->pol.max_holders)
		return FLOOR_E_HOLDER_LIMIT;
	if (e->to == FLOOR_GRANTED && (e->limit_ms < 0 || e->limit_ms > FLOOR_LIMIT_MAX_MS))
		return FLOOR_E_BAD_ARG;
	struct person *p = person_get(f, r->pid);
	assert(p && p->live == slot);
	/* The event carries the attributes the turn books to: those the owner had then. */
	r->who = e->who;
	p->who = e->who;
	struct floor_event scratch = { 0 };
	leave_state(f, slot, &scratch);
	enter_state(f, slot, (enum floor_state)e->to, &scratch);
	if (e->to == FLOOR_GRANTED)
		start_turn(f, r, e->limit_ms);
	if (floor_state_final(r->state) && !p->present)
		person_forget_if_idle(f, p);
	return FLOOR_OK;
}

static int apply_moved(floor_ctl *f, const struct floor_event *e)
{
	int slot = slot_of(f, e->request);
	if (slot < 0)
		return FLOOR_E_UNKNOWN_REQUEST;
	struct line *q = &f->lines[FLOOR_ACCEPTED];
	int i = line_find(q, slot);
	if (i < 0)
		return FLOOR_E_WRONG_STATE;
	if (e->position < 1 || (size_t)e->position > q->n)
		return FLOOR_E_BAD_ARG;
	line_remove_at(q, (size_t)i);
	line_insert_at(q, (size_t)e->position - 1, slot);
	return FLOOR_OK;
}

static int apply_muted(floor_ctl *f, const struct floor_event *e)
{
	struct person *p = person_get(f, e->pid);
	if (!p || !p->present)
		return FLOOR_E_UNKNOWN_PARTICIPANT;
	p->muted = e->muted;
	return FLOOR_OK;
}

/* The granted request an event about a turn names. */
static int granted_slot(const floor_ctl *f, uint32_t request, struct freq **r)
{
	int slot = slot_of(f, request);
	if (slot < 0)
		return FLOOR_E_UNKNOWN_REQUEST;
	*r = &f->reqs[slot];
	return (*r)->state == FLOOR_GRANTED ? FLOOR_OK : FLOOR_E_WRONG_STATE;
}

static int apply_limit(floor_ctl *f, const struct floor_event *e)
{
	if (e->limit_ms < 0 || e->limit_ms > FLOOR_LIMIT_MAX_MS)
		return FLOOR_E_BAD_ARG;
	if (!e->request) {
		f->pol.limit_ms = e->limit_ms;
		return FLOOR_OK;
	}
	struct freq *r;
	int rc = granted_slot(f, e->request, &r);
	if (rc)
		return rc;
	r->limit_ms = e->limit_ms;
	r->warned = r->expired = false;
	return FLOOR_OK;
}

static int apply_timer(floor_ctl *f, const struct floor_event *e)
{
	struct freq *r;
	int rc = granted_slot(f, e->request, &r);
	if (rc)
		return rc;
	r->warned = true;
	if (e->kind == FLOOR_EV_EXPIRED)
		r->expired = true;
	return FLOOR_OK;
}

static int apply_submitted(floor_ctl *f, const struct floor_event *e)
{
	if (e->request == 0 || wslot_of(f, e->request) >= 0 || e->to != FLOOR_W_QUEUED ||
	    !text_ok(e->text))
		return FLOOR_E_BAD_ARG;
	if (f->wline.n >= FLOOR_MAX_WRITTEN)
		return FLOOR_E_WRITTEN_FULL;
	int slot = wslot_new(f);
	f->items[slot] = (struct witem){ .id = e->request, .pid = e->pid, .state = FLOOR_W_QUEUED,
					 .who = e->who, .text = rs_strdup(e->text),
					 .submitted_ms = f->now, .since_ms = f->now };
	line_push(&f->wline, slot);
	f->wc.asked++;
	if (e->request >= f->next_wid)
		f->next_wid = e->request + 1;
	return FLOOR_OK;
}

static int apply_written(floor_ctl *f, const struct floor_event *e)
{
	if (e->from < 0)
		return apply_submitted(f, e);
	int slot = wslot_of(f, e->request);
	if (slot < 0)
		return FLOOR_E_UNKNOWN_WRITTEN;
	struct witem *w = &f->items[slot];
	if ((int)w->state != e->from || wstate_final(w->state) || e->to < 0 ||
	    e->to >= FLOOR_W_STATE_COUNT || e->to == e->from)
		return FLOOR_E_WRONG_STATE;
	w->state = (enum floor_wstate)e->to;
	w->since_ms = f->now;
	count_written(&f->wc, w->state);
	if (wstate_final(w->state))
		line_remove_at(&f->wline, (size_t)line_find(&f->wline, slot));
	return FLOOR_OK;
}

int floor_apply(floor_ctl *f, const struct floor_event *e)
{
	advance(f, e->at_ms);
	switch (e->kind) {
	case FLOOR_EV_STATE: return apply_state(f, e);
	case FLOOR_EV_MOVED: return apply_moved(f, e);
	case FLOOR_EV_MUTED: return apply_muted(f, e);
	case FLOOR_EV_LIMIT: return apply_limit(f, e);
	case FLOOR_EV_WARNING:
	case FLOOR_EV_EXPIRED: return apply_timer(f, e);
	case FLOOR_EV_WRITTEN: return apply_written(f, e);
	default: return FLOOR_E_BAD_ARG;
	}
}

void floor_restore_left(floor_ctl *f, int64_t now, uint32_t pid)
{
	advance(f, now);
	struct person *p = person_get(f, pid);
	if (!p)
		return;
	p->present = false;
	person_forget_if_idle(f, p);
}

/* ---- self-check --------------------------------------------------------- */

/* Each live request sits in exactly the line of its state, once, and its owner points at it. */
static bool lines_consistent(const floor_ctl *f)
{
	size_t in_lines = 0;
	for (int s = 0; s < N_LINES; s++) {
		const struct line *l = &f->lines[s];
		for (size_t i = 0; i < l->n; i++) {
			const struct freq *r = &f->reqs[l->at[i]];
			const struct person *p = person_get(f, r->pid);
			if (r->id == 0 || (int)r->state != s || !p || p->live != l->at[i])
				return false;
		}
		in_lines += l->n;
	}
	size_t live = 0;
	for (size_t i = 0; i < f->n_slots; i++)
		live += f->reqs[i].id && !floor_state_final(f->reqs[i].state);
	return live == in_lines && live == f->live;
}

/* Every booked millisecond is in each dimension exactly once. */
static bool stats_consistent(const floor_ctl *f)
{
	int64_t people = 0, groups = 0, kinds = 0, regions = f->region_none_ms;
	for (size_t i = 0; i < f->n_people; i++)
		people += f->people[i].spoken_ms;
	for (int i = 0; i < GROUP_SLOTS; i++)
		groups += f->group_ms[i];
	for (int i = 0; i < KIND_SLOTS; i++)
		kinds += f->kind_ms[i];
	for (size_t i = 0; i < f->n_regions; i++)
		regions += f->regions[i].ms;
	return people == groups && groups == kinds && kinds == regions;
}

/* The pid index holds each person once, at the record they are in. */
static bool index_consistent(const floor_ctl *f)
{
	const struct pid_index *x = f->by_pid;
	size_t used = 0;
	for (size_t i = 0; x->bits && i < ((size_t)1 << x->bits); i++)
		used += x->slot[i] != 0;
	if (used != f->n_people)
		return false;
	for (size_t i = 0; i < f->n_people; i++)
		if (f->by_pid->slot[pid_find(f, f->people[i].pid)] != i + 1)
			return false;
	return true;
}

bool floor_consistent(const floor_ctl *f)
{
	if (!lines_consistent(f) || !stats_consistent(f) || !index_consistent(f))
		return false;
	if (f->lines[FLOOR_GRANTED].n > (size_t)f->pol.max_holders)
		return false;
	for (size_t i = 0; i < f->n_people; i++) {
		const struct person *p = &f->people[i];
		if (p->live >= 0 && (f->reqs[p->live].pid != p->pid ||
				     floor_state_final(f->reqs[p->live].state)))
			return false;
	}
	for (size_t i = 0; i < f->wline.n; i++)
		if (wstate_final(f->items[f->wline.at[i]].state))
			return false;
	return true;
}
