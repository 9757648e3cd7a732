/*
 * floor: who may speak in a moderated session — one public queue of floor
 * requests for people onsite and online alike, the chair's decisions, speaking
 * time limits, speaking-time statistics and written interventions.
 *
 * The request model is BFCP's (RFC 8855 section 5.2.5 for the request states
 * and the queue position, sections 10 and 11 for what floor participants and
 * floor chairs may do; RFC 4376 for the model of chairs and participants): a
 * request is Pending until a chair accepts it into the queue (Accepted, with a
 * position), then Granted, and ends Released, Denied, Cancelled or Revoked.
 * Rostrum adds Held — "decline to speak for now": the request is parked out of
 * the queue, keeps its record and may be resumed to the back of the queue.
 * Every allowed and refused move is one cell of an explicit table of
 * state x operation x role (floor_table()); a refusal is always an error code.
 *
 * Sans-IO: each call takes the current time in milliseconds and queues events
 * (drained with floor_poll()) instead of sending anything. The caller arms one
 * timer at floor_next_deadline() after every call and calls floor_tick() when
 * it fires. Nothing here reads a clock, touches a socket or starts a thread.
 * Time never runs backwards inside: an earlier `now` than one already seen is
 * taken as the later one, so a clock step cannot make a duration negative.
 *
 * Ownership: the caller owns a floor_ctl. The floor copies what it is given
 * (attributes, topics, texts). Views and events point into the floor and stay
 * valid until its next call that takes a `now`.
 *
 * Memory is bounded: at most policy.max_requests live requests (≤ 1000) plus
 * FLOOR_HISTORY finished ones kept for error replies, FLOOR_MAX_WRITTEN live
 * written interventions, FLOOR_MAX_PEOPLE participant records and
 * FLOOR_MAX_REGIONS regions in the statistics.
 */
#ifndef ROSTRUM_FLOOR_H
#define ROSTRUM_FLOOR_H

#include "attrs.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct floor_ctl floor_ctl;

#define FLOOR_MAX_REQUESTS 1000    /* live requests per room, the hard cap of policy.max_requests */
#define FLOOR_HISTORY 64           /* finished requests (and written items) remembered */
#define FLOOR_MAX_WRITTEN 1000     /* queued or read written interventions per room */
#define FLOOR_WRITTEN_PER_PERSON 3 /* queued written interventions one participant may have */
#define FLOOR_MAX_PEOPLE 10000     /* participant records per room (present, or with stats) */
#define FLOOR_MAX_REGIONS 64       /* distinct regions in the statistics; more count as "" */
#define FLOOR_TOPIC_MAX 140        /* bytes of UTF-8, one line */
#define FLOOR_REASON_MAX 140       /* bytes of UTF-8, one line */
#define FLOOR_TEXT_MAX 2000        /* bytes of UTF-8 of a written intervention */
#define FLOOR_LIMIT_MAX_MS (4 * 3600 * 1000LL) /* longest speaking-time limit */
#define FLOOR_NO_DEADLINE INT64_MAX

/* Request states (RFC 8855 section 5.2.5) plus Held. Terminal from RELEASED on. */
enum floor_state {
	FLOOR_PENDING, FLOOR_ACCEPTED, FLOOR_GRANTED, FLOOR_HELD,
	FLOOR_RELEASED, FLOOR_DENIED, FLOOR_CANCELLED, FLOOR_REVOKED,
	FLOOR_STATE_COUNT
};

/* Operations on an existing request: the columns of the transition table. */
enum floor_op {
	FLOOR_OP_ACCEPT, FLOOR_OP_GRANT, FLOOR_OP_DENY, FLOOR_OP_CANCEL, FLOOR_OP_RELEASE,
	FLOOR_OP_REVOKE, FLOOR_OP_HOLD, FLOOR_OP_RESUME, FLOOR_OP_MOVE,
	FLOOR_OP_LEAVE,  /* the owner left the room */
	FLOOR_OP_EXPIRE, /* the speaking time ran out under the auto-revoke policy */
	FLOOR_OP_COUNT
};

/* Who acts, relative to the request: the third axis of the table. */
enum floor_rel {
	FLOOR_BY_OWNER,      /* the participant who raised the request */
	FLOOR_BY_OTHER,      /* any other participant */
	FLOOR_BY_MODERATOR,  /* a floor chair */
	FLOOR_BY_CAPTIONER,
	FLOOR_BY_OBSERVER,
	FLOOR_BY_SYSTEM,     /* the floor itself: a leave or a timer */
	FLOOR_REL_COUNT
};

/* Written intervention states. Terminal from ANSWERED on. */
enum floor_wstate {
	FLOOR_W_QUEUED, FLOOR_W_READ, FLOOR_W_ANSWERED, FLOOR_W_DISMISSED, FLOOR_W_WITHDRAWN,
	FLOOR_W_STATE_COUNT
};

enum floor_wop { FLOOR_WOP_READ, FLOOR_WOP_ANSWER, FLOOR_WOP_DISMISS, FLOOR_WOP_WITHDRAW,
		 FLOOR_WOP_COUNT };

/*
 * Error codes: every refusal has one, none is a silent no-op. Bad input from
 * clients only ever yields these; floor_code() gives the stable wire code.
 */
enum floor_err {
	FLOOR_OK = 0,
	FLOOR_E_FORBIDDEN_ROLE = -1,     /* forbidden: this role may not do that */
	FLOOR_E_NOT_YOURS = -2,          /* not_your_request */
	FLOOR_E_WRONG_STATE = -3,        /* wrong_state: not allowed in the request's state */
	FLOOR_E_UNKNOWN_REQUEST = -4,    /* unknown_request: no such request (or long finished) */
	FLOOR_E_ALREADY_REQUESTED = -5,  /* already_requested: one open request per person */
	FLOOR_E_QUEUE_FULL = -6,         /* queue_full: max_requests live requests */
	FLOOR_E_HOLDER_LIMIT = -7,       /* holder_limit: max_holders already hold the floor */
	FLOOR_E_QUEUE_EMPTY = -8,        /* queue_empty: "grant next" with nobody queued */
	FLOOR_E_BAD_ARG = -9,            /* bad_field: text too long, not UTF-8, out of range */
	FLOOR_E_UNKNOWN_PARTICIPANT = -10, /* unknown_participant: no such participant here */
	FLOOR_E_PEOPLE_FULL = -11,       /* people_full: FLOOR_MAX_PEOPLE records */
	FLOOR_E_UNKNOWN_WRITTEN = -12,   /* unknown_written */
	FLOOR_E_WRITTEN_FULL = -13,      /* written_full: FLOOR_MAX_WRITTEN live items */
	FLOOR_E_WRITTEN_LIMIT = -14,     /* written_limit: FLOOR_WRITTEN_PER_PERSON queued */
	FLOOR_E_NOT_YOUR_WRITTEN = -15,  /* not_your_written */
	FLOOR_ERR_MIN = -15
};

/* Stable snake_case wire code of an error ("wrong_state"); "ok" for 0. */
const char *floor_code(int err);
/* One-sentence human explanation of an error. */
const char *floor_strerror(int err);
/* Wire names: "pending", "granted", ...; "queued", "read", ...; "accept", "grant", ... */
const char *floor_state_name(enum floor_state s);
const char *floor_wstate_name(enum floor_wstate s);
const char *floor_op_name(enum floor_op op);
/* True for RELEASED, DENIED, CANCELLED and REVOKED. */
bool floor_state_final(enum floor_state s);

/* How "grant next" picks (the suggestion); the moderator decides in the end. */
enum floor_order {
	FLOOR_ORDER_FIFO,      /* queue order */
	FLOOR_ORDER_BALANCED,  /* rotate groups; least-heard group, onsite/remote, region, person */
	FLOOR_ORDER_ALTERNATE, /* onsite and remote in turn */
	FLOOR_ORDER_COUNT
};

/* What happens when a speaker's time is up. */
enum floor_expiry { FLOOR_EXPIRY_WARN, FLOOR_EXPIRY_REVOKE, FLOOR_EXPIRY_COUNT };

struct floor_policy {
	enum floor_order order;      /* default FLOOR_ORDER_FIFO */
	int max_holders;             /* floors held at once besides moderators, 1..16, default 1 */
	int64_t limit_ms;            /* room default per intervention, 0 = none (default) */
	int64_t warn_ms;             /* warning this long before the end, 0 = none; default 30 s */
	enum floor_expiry on_expiry; /* default FLOOR_EXPIRY_WARN */
	bool moderated_queue;        /* requests wait Pending for a chair's accept; default false */
	int max_requests;            /* live requests, 1..FLOOR_MAX_REQUESTS, default the cap */
};

/* Names of the policy enums on the wire: "fifo", "balanced", "alternate"; "warn", "revoke". */
const char *floor_order_name(enum floor_order o);
const char *floor_expiry_name(enum floor_expiry e);
bool floor_order_parse(const char *s, enum floor_order *out);
bool floor_expiry_parse(const char *s, enum floor_expiry *out);

/* Fills p with the defaults above. */
void floor_policy_default(struct floor_policy *p);
/* True when every field of p is in range. */
bool floor_policy_valid(const struct floor_policy *p);

/* Who acts: the hub's member id, role and attributes (borrowed for the call). */
typedef struct floor_actor {
	uint32_t pid;
	enum rs_role role;
	const struct rs_attrs *attrs;
} floor_actor;

/* ---- lifecycle --------------------------------------------------------- */

/* Creates an empty floor for one room. p must be valid (an internal invariant). */
floor_ctl *floor_create(const struct floor_policy *p);
/* Frees f and everything it owns; NULL is fine. */
void floor_destroy(floor_ctl *f);
/* The policy in force (the time limit changes with floor_set_limit). */
const struct floor_policy *floor_policy(const floor_ctl *f);

/* ---- the transition tables --------------------------------------------- */

/*
 * The cell of the request table for op on a request in state s by rel: the
 * next state (>= 0) or a negative floor_err. FLOOR_OP_RESUME answers
 * FLOOR_ACCEPTED; the request goes back to Pending instead when the room
 * moderates its queue and no chair has accepted the request yet.
 */
int floor_table(enum floor_state s, enum floor_op op, enum floor_rel rel);
/* The cell of the written-intervention table, like floor_table(). */
int floor_wtable(enum floor_wstate s, enum floor_wop op, enum floor_rel rel);
/* May a participant of this role raise a request or submit a written one? FLOOR_OK or an error. */
int floor_may_request(enum rs_role role);

/* ---- participants ------------------------------------------------------ */

/*
 * Records a participant present in the room (the hub calls this on join), so
 * a moderator can mute them. Calling it again updates the attributes.
 * Returns FLOOR_OK or FLOOR_E_PEOPLE_FULL.
 */
RS_MUST_CHECK int floor_participant_joined(floor_ctl *f, int64_t now, const floor_actor *a);
/* New attributes for a participant (presence update); their live request shows them. */
RS_MUST_CHECK int floor_participant_update(floor_ctl *f, int64_t now, const floor_actor *a);
/*
 * The participant left: a queued or held request is Cancelled, a granted
 * floor Released (a LEAVE event each); their statistics stay. Unknown ids are
 * ignored (nothing to end).
 */
void floor_participant_left(floor_ctl *f, int64_t now, uint32_t pid);
/*
 * May this participant be heard right now: holds a granted floor or is a
 * moderator (the chair's floor needs no queue), and is not muted.
 */
bool floor_may_speak(const floor_ctl *f, const floor_actor *a);

/* ---- participant requests ---------------------------------------------- */

/*
 * Raises a hand with an optional one-line topic (NULL or ""): a new request,
 * Accepted at the back of the queue, or Pending when the room moderates its
 * queue. *id gets its id. Errors: FORBIDDEN_ROLE, ALREADY_REQUESTED,
 * QUEUE_FULL, PEOPLE_FULL, BAD_ARG (topic).
 */
RS_MUST_CHECK int floor_request(floor_ctl *f, int64_t now, const floor_actor *a,
				const char *topic, uint32_t *id);

/*
 * The participant-side and shared operations. request 0 means the actor's own
 * live request. Each returns FLOOR_OK or the table's error (or
 * UNKNOWN_REQUEST). Cancel ends a request not yet granted; release ends a
 * granted floor; hold parks a request (a granted one stops speaking); resume
 * puts a held request at the back of the queue.
 */
RS_MUST_CHECK int floor_cancel(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request);
RS_MUST_CHECK int floor_release(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request);
RS_MUST_CHECK int floor_hold(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request);
RS_MUST_CHECK int floor_resume(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request);

/* ---- chair operations (RFC 8855 section 11) ----------------------------- */

/* Accepts a Pending request into the back of the queue. */
RS_MUST_CHECK int floor_accept(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request);
/*
 * Grants the floor: to request, or with request 0 to the suggestion
 * (floor_suggest(); QUEUE_EMPTY when there is none). limit_ms < 0 takes the
 * room default, 0 means no limit. HOLDER_LIMIT when max_holders hold the
 * floor already. *granted (may be NULL) gets the id granted.
 */
RS_MUST_CHECK int floor_grant(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
			      int64_t limit_ms, uint32_t *granted);
/* Denies a request not granted, with an optional one-line reason. */
RS_MUST_CHECK int floor_deny(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
			     const char *reason);
/* Takes a granted floor away, with an optional one-line reason. */
RS_MUST_CHECK int floor_revoke(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
			       const char *reason);
/* Moves an Accepted request to queue position `to` (1 = next; BAD_ARG outside 1..n). */
RS_MUST_CHECK int floor_move(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t request,
			     int to);
/*
 * Clears the queue: every Pending, Accepted and Held request is Denied with
 * reason (NULL = "queue cleared"). Granted floors stay. *n (may be NULL) gets
 * how many were cleared.
 */
RS_MUST_CHECK int floor_clear(floor_ctl *f, int64_t now, const floor_actor *a, const char *reason,
			      int *n);
/* Mutes or unmutes a participant (moderators included). UNKNOWN_PARTICIPANT when never seen. */
RS_MUST_CHECK int floor_mute(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t pid,
			     bool muted);
/*
 * Sets a speaking-time limit (0 = none): the room default for later grants
 * when request is 0, else the limit of that granted floor, counted from its
 * grant (its warning and expiry are re-armed).
 */
RS_MUST_CHECK int floor_set_limit(floor_ctl *f, int64_t now, const floor_actor *a,
				  uint32_t request, int64_t limit_ms);

/* ---- written interventions --------------------------------------------- */

/*
 * Submits a written intervention for a moderator to read out. *id gets its
 * id. Errors: FORBIDDEN_ROLE, BAD_ARG (empty, too long, not UTF-8, control
 * characters other than newline and tab), WRITTEN_LIMIT, WRITTEN_FULL, PEOPLE_FULL.
 */
RS_MUST_CHECK int floor_written_submit(floor_ctl *f, int64_t now, const floor_actor *a,
				       const char *text, uint32_t *id);
/* Moves a written intervention by the written table (read, answer, dismiss, withdraw). */
RS_MUST_CHECK int floor_written_op(floor_ctl *f, int64_t now, const floor_actor *a, uint32_t id,
				   enum floor_wop op);

/* ---- time -------------------------------------------------------------- */

/* When floor_tick() has work next (a warning or an expiry), or FLOOR_NO_DEADLINE. */
int64_t floor_next_deadline(const floor_ctl *f);
/*
 * Emits every warning and expiry due at now; under the revoke policy an
 * expired floor is Revoked (an EXPIRE event). Harmless when nothing is due.
 */
void floor_tick(floor_ctl *f, int64_t now);

/* ---- events out -------------------------------------------------------- */

enum floor_event_kind {
	FLOOR_EV_STATE,    /* a request changed state (op, from, to) */
	FLOOR_EV_MOVED,    /* a queued request changed place (position) */
	FLOOR_EV_WARNING,  /* speaking time nearly up (ends_ms) */
	FLOOR_EV_EXPIRED,  /* speaking time up (ends_ms); a STATE event follows under revoke */
	FLOOR_EV_MUTED,    /* pid muted or unmuted (muted) */
	FLOOR_EV_LIMIT,    /* a limit set: the room default (request 0) or one floor's */
	FLOOR_EV_WRITTEN,  /* a written intervention was submitted or changed state */
	FLOOR_EV_COUNT
};

/*
 * One thing that happened, self-describing for the transcript: who it is
 * about (pid and attributes), who did it (by, 0 and FLOOR_BY_SYSTEM for the
 * floor itself) and when (at_ms, the `now` of the call).
 */
struct floor_event {
	enum floor_event_kind kind;
	int64_t at_ms;
	uint32_t request;          /* request id, or the written id for FLOOR_EV_WRITTEN; 0 = none */
	uint32_t pid;              /* the subject: owner, author, muted participant */
	struct rs_attrs who;       /* the subject's attributes at that moment */
	uint32_t by;               /* acting participant, 0 for the floor itself */
	enum rs_role by_role;
	bool by_system;
	enum floor_op op;          /* FLOOR_EV_STATE */
	int from, to;              /* STATE: enum floor_state, from -1 for a new request
				      (op is then FLOOR_OP_ACCEPT);
				      WRITTEN: enum floor_wstate, from -1 for a submission */
	enum floor_wop wop;        /* FLOOR_EV_WRITTEN when from >= 0 */
	bool cleared;              /* STATE: a denial by floor_clear() */
	bool muted;                /* FLOOR_EV_MUTED */
	int position;              /* MOVED: new place; STATE into ACCEPTED: place taken */
	int64_t duration_ms;       /* STATE out of GRANTED: the length of that turn */
	int64_t limit_ms;          /* STATE into GRANTED, LIMIT, WARNING, EXPIRED; 0 = none */
	int64_t ends_ms;           /* when the turn's time is up, 0 = no limit */
	char topic[FLOOR_TOPIC_MAX + 1];
	char reason[FLOOR_REASON_MAX + 1];
	const char *text;          /* WRITTEN submissions: the text, valid until the next call */
};

/* Takes the oldest undrained event into *ev; false when none is left. Drain after every call. */
bool floor_poll(floor_ctl *f, struct floor_event *ev);

/* ---- views ------------------------------------------------------------- */

/* A request as the queue shows it; pointers borrow from the floor. */
struct floor_req_view {
	uint32_t id, pid;
	enum floor_state state;
	int position;                  /* 1..n while Accepted, else 0 */
	const struct rs_attrs *who;
	const char *topic;             /* "" when none */
	int64_t created_ms;            /* hand raised: waiting time counts from here */
	int64_t since_ms;              /* entered its current state */
	int64_t granted_ms, limit_ms, ends_ms;  /* while Granted; ends_ms 0 = no limit */
	bool muted;                    /* the owner is muted */
};

/* Number of live requests in state s (PENDING, ACCEPTED, GRANTED or HELD). */
size_t floor_count(const floor_ctl *f, enum floor_state s);
/*
 * The i-th live request in state s: Accepted by queue position, Pending and
 * Held in the order they got there, Granted by grant time. False past the end.
 */
bool floor_at(const floor_ctl *f, enum floor_state s, size_t i, struct floor_req_view *v);
/* A request by id, live or recently finished. False when unknown. */
bool floor_find(const floor_ctl *f, uint32_t request, struct floor_req_view *v);
/* The participant's live request (false when none). */
bool floor_find_live(const floor_ctl *f, uint32_t pid, struct floor_req_view *v);
/* The request "grant next" would grant under the room's order policy, or 0. */
uint32_t floor_suggest(const floor_ctl *f, int64_t now);

/* One participant's record and speaking time (live: a granted turn counts up to now). */
struct floor_person_view {
	uint32_t pid;
	enum rs_role role;
	const struct rs_attrs *who;
	bool present, muted;
	int64_t spoken_ms;
	int turns;               /* floors granted */
};

size_t floor_people(const floor_ctl *f);
bool floor_person_at(const floor_ctl *f, size_t i, int64_t now, struct floor_person_view *v);
bool floor_person(const floor_ctl *f, uint32_t pid, int64_t now, struct floor_person_view *v);

/* Speaking-time dimensions: a turn counts toward its speaker's group, onsite/remote and region. */
enum floor_dim { FLOOR_DIM_GROUP, FLOOR_DIM_ONSITE, FLOOR_DIM_REGION };
/*
 * Milliseconds spoken so far by one bucket, counting live turns up to now.
 * Keys: a stakeholder group or "" (undeclared); "onsite", "remote" or
 * "unknown"; a region or "" (undeclared, or past FLOOR_MAX_REGIONS).
 * A turn counts toward the attributes its speaker had when it ended.
 */
int64_t floor_spoken_by(const floor_ctl *f, int64_t now, enum floor_dim dim, const char *key);
/* Number of distinct regions with statistics, and the i-th (for reports). */
size_t floor_regions(const floor_ctl *f);
const char *floor_region_at(const floor_ctl *f, size_t i);
/* Sum of all speaking time, live turns up to now. */
int64_t floor_spoken_total(const floor_ctl *f, int64_t now);

/* A written intervention; pointers borrow from the floor. */
struct floor_written_view {
	uint32_t id, pid;
	enum floor_wstate state;
	const struct rs_attrs *who;
	const char *text;
	int64_t submitted_ms, since_ms;
};

/* Session counts of written interventions. */
struct floor_written_counts {
	int asked, read, answered, dismissed, withdrawn;
};

/* Live (queued or read) written interventions, in submission order. */
size_t floor_written_count(const floor_ctl *f);
bool floor_written_at(const floor_ctl *f, size_t i, struct floor_written_view *v);
/* A written intervention by id, live or recently finished. */
bool floor_written_find(const floor_ctl *f, uint32_t id, struct floor_written_view *v);
void floor_written_totals(const floor_ctl *f, struct floor_written_counts *c);

/* ---- restore: the floor rebuilt from its own events --------------------- */

/*
 * Applies one event as the floor once emitted it (read back from the session
 * journal after a restart). The event is taken as fact: the table's checks
 * held when it happened, so only its fit with the state rebuilt so far is
 * checked. Events must come in emission order, each participant's presence
 * (floor_participant_joined, floor_restore_left) interleaved as it happened.
 * Emits nothing. Returns FLOOR_OK, or UNKNOWN_REQUEST, WRONG_STATE,
 * UNKNOWN_WRITTEN, UNKNOWN_PARTICIPANT, HOLDER_LIMIT or BAD_ARG when the
 * event does not fit (a record lost to a failing disk); nothing changed then.
 */
RS_MUST_CHECK int floor_apply(floor_ctl *f, const struct floor_event *e);
/*
 * Restore: the participant left the room. Unlike floor_participant_left()
 * their request is not ended here: its own LEAVE event follows in the
 * journal and is applied with floor_apply().
 */
void floor_restore_left(floor_ctl *f, int64_t now, uint32_t pid);

/* Checks every internal invariant (for tests): true when consistent. */
bool floor_consistent(const floor_ctl *f);
/* Slots the pid index has looked at since the floor was created (tests bound the work). */
uint64_t floor_index_probes(const floor_ctl *f);

#endif
