/*
 * The floor rebuilt from its journal: a floor is driven at random (requests,
 * chair decisions, moves, holds, limits, timers, mutes, written
 * interventions, people joining and leaving), every record the hub would
 * journal is kept in the journal's own form, and at checkpoints a fresh floor
 * fed those records must equal the original in every view: queue, holders,
 * pending and held lines, history, people, statistics, written queue and
 * counts, the room's time limit, deadlines, the suggestion and the next ids.
 */
#include "floor_fixture.h"
#include "floor_msg.h"

#include <inttypes.h>
#include <stdlib.h>

#define N_PEOPLE 14
#define STEPS 6000
#define CHECK_EVERY 500

static uint64_t rng;
static int64_t now = 1718100000000;

static int rnd(int n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (int)(rng % (uint64_t)n);
}

struct who {
	uint32_t pid;
	enum rs_role role;
	struct rs_attrs attrs;
	bool present;
};

static struct who people[N_PEOPLE];
static json_t *journal; /* the records, as the hub journals them */

static floor_actor actor(const struct who *w)
{
	return (floor_actor){ .pid = w->pid, .role = w->role, .attrs = &w->attrs };
}

/* hub_floor.c's journal form: the message without "type", with "kind" and "t". */
static void journal_outbox(json_t *out)
{
	size_t i;
	json_t *item;
	json_array_foreach(out, i, item) {
		if (!json_is_string(json_object_get(item, "to")) ||
		    strcmp(json_string_value(json_object_get(item, "to")), "journal") != 0)
			continue;
		json_t *msg = json_object_get(item, "msg");
		const char *type = json_string_value(json_object_get(msg, "type"));
		json_t *rec = json_deep_copy(msg);
		json_object_del(rec, "type");
		json_object_set_new(rec, "kind", json_string(strncmp(type, "written.", 8) == 0
								 ? "written" : "floor"));
		json_object_set_new(rec, "t", json_integer(now));
		json_array_append_new(journal, rec);
	}
	json_array_clear(out);
}

static void flush(floor_ctl *f)
{
	json_t *out = json_array();
	floor_msg_flush(f, now, out);
	journal_outbox(out);
	json_decref(out);
}

static void roster_record(const struct who *w, const char *kind)
{
	json_t *rec = json_pack("{s:s, s:I, s:I, s:s}", "kind", kind, "t", (json_int_t)now, "pid",
				(json_int_t)w->pid, "role", attrs_role_name(w->role));
	attrs_to_json(&w->attrs, rec);
	json_array_append_new(journal, rec);
}

static const char *const groups[] = { "", "government", "civil_society", "academia" };
static const char *const regions[] = { "", "Africa", "Europe", "Asia-Pacific" };

static void random_attrs(struct who *w)
{
	char name[32];
	snprintf(name, sizeof name, "Person %u", w->pid);
	w->attrs = mk(name, groups[rnd(4)], regions[rnd(4)], rnd(3) - 1);
}

static void join(floor_ctl *f, struct who *w)
{
	w->present = true;
	random_attrs(w);
	floor_actor a = actor(w);
	if (floor_msg_joined(f, now, &a) == FLOOR_OK)
		roster_record(w, "join");
}

static void leave(floor_ctl *f, struct who *w)
{
	w->present = false;
	roster_record(w, "leave");
	json_t *out = json_array();
	floor_msg_left(f, now, w->pid, out);
	journal_outbox(out);
	json_decref(out);
}

static void update(floor_ctl *f, struct who *w)
{
	random_attrs(w);
	floor_actor a = actor(w);
	roster_record(w, "presence");
	json_t *out = json_array();
	floor_msg_updated(f, now, &a, out);
	journal_outbox(out);
	json_decref(out);
}

/* Any request id seen so far, or one past them. */
static uint32_t some_request(const floor_ctl *f)
{
	struct floor_req_view v;
	enum floor_state s = (enum floor_state)rnd(4);
	size_t n = floor_count(f, s);
	if (n && floor_at(f, s, (size_t)rnd((int)n), &v))
		return v.id;
	return (uint32_t)rnd(40);
}

static uint32_t some_written(const floor_ctl *f)
{
	struct floor_written_view v;
	size_t n = floor_written_count(f);
	if (n && floor_written_at(f, (size_t)rnd((int)n), &v))
		return v.id;
	return (uint32_t)rnd(20);
}

static void random_op(floor_ctl *f)
{
	struct who *w = &people[rnd(N_PEOPLE)];
	if (!w->present) {
		join(f, w);
		return;
	}
	floor_actor a = actor(w);
	uint32_t id = some_request(f);
	int n;
	int rc = 0;
	switch (rnd(22)) {
	case 0: case 1: case 2: rc = floor_request(f, now, &a, rnd(2) ? "A topic" : NULL, NULL); break;
	case 3: rc = floor_cancel(f, now, &a, rnd(2) ? 0 : id); break;
	case 4: rc = floor_hold(f, now, &a, rnd(2) ? 0 : id); break;
	case 5: rc = floor_resume(f, now, &a, rnd(2) ? 0 : id); break;
	case 6: rc = floor_release(f, now, &a, 0); break;
	case 7: rc = floor_accept(f, now, &a, id); break;
	case 8: case 9:
		rc = floor_grant(f, now, &a, rnd(2) ? 0 : id, rnd(3) ? -1 : 1000 * rnd(20), NULL);
		break;
	case 10: rc = floor_deny(f, now, &a, id, rnd(2) ? "later" : NULL); break;
	case 11: rc = floor_revoke(f, now, &a, id, NULL); break;
	case 12: rc = floor_move(f, now, &a, id, 1 + rnd(4)); break;
	case 13: if (!rnd(8)) rc = floor_clear(f, now, &a, NULL, &n); break;
	case 14: rc = floor_mute(f, now, &a, people[rnd(N_PEOPLE)].pid, rnd(2)); break;
	case 15: rc = floor_set_limit(f, now, &a, rnd(2) ? 0 : id, 1000 * rnd(12)); break;
	case 16: rc = floor_written_submit(f, now, &a, "What about\nthe fund?", NULL); break;
	case 17: rc = floor_written_op(f, now, &a, some_written(f), (enum floor_wop)rnd(4)); break;
	case 18: now += rnd(15000); floor_tick(f, now); break;
	case 19: if (!rnd(3)) leave(f, w); break;
	case 20: if (!rnd(3)) update(f, w); break;
	default: now += rnd(3000); break;
	}
	(void)rc;
	flush(f);
}

/* ---- comparing two floors through every view ------------------------------ */

static bool attrs_eq(const struct rs_attrs *a, const struct rs_attrs *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->group, b->group) == 0 &&
	       strcmp(a->region, b->region) == 0 && strcmp(a->label, b->label) == 0 &&
	       a->onsite == b->onsite;
}

static int req_eq(const struct floor_req_view *a, const struct floor_req_view *b)
{
	T_ASSERT(a->id == b->id && a->pid == b->pid && a->state == b->state);
	T_ASSERT(a->position == b->position);
	T_ASSERT(attrs_eq(a->who, b->who));
	T_ASSERT(strcmp(a->topic, b->topic) == 0);
	T_ASSERT(a->created_ms == b->created_ms && a->since_ms == b->since_ms);
	T_ASSERT(a->granted_ms == b->granted_ms && a->limit_ms == b->limit_ms);
	T_ASSERT(a->ends_ms == b->ends_ms && a->muted == b->muted);
	return 0;
}

static int lines_eq(const floor_ctl *a, const floor_ctl *b)
{
	for (int s = 0; s < 4; s++) {
		T_ASSERT(floor_count(a, (enum floor_state)s) == floor_count(b, (enum floor_state)s));
		struct floor_req_view va, vb;
		for (size_t i = 0; floor_at(a, (enum floor_state)s, i, &va); i++) {
			T_ASSERT(floor_at(b, (enum floor_state)s, i, &vb));
			if (req_eq(&va, &vb))
				return 1;
		}
	}
	for (uint32_t id = 1; id < 2000; id++) {
		struct floor_req_view va, vb;
		bool fa = floor_find(a, id, &va), fb = floor_find(b, id, &vb);
		T_ASSERT(fa == fb);
		if (fa && req_eq(&va, &vb))
			return 1;
	}
	return 0;
}

static int people_eq(const floor_ctl *a, const floor_ctl *b)
{
	T_ASSERT(floor_people(a) == floor_people(b));
	struct floor_person_view pa, pb;
	for (size_t i = 0; floor_person_at(a, i, now, &pa); i++) {
		T_ASSERT(floor_person_at(b, i, now, &pb));
		T_ASSERT(pa.pid == pb.pid && pa.role == pb.role && attrs_eq(pa.who, pb.who));
		T_ASSERT(pa.present == pb.present && pa.muted == pb.muted);
		T_ASSERT(pa.spoken_ms == pb.spoken_ms && pa.turns == pb.turns);
	}
	return 0;
}

static int stats_eq(const floor_ctl *a, const floor_ctl *b)
{
	T_ASSERT(floor_spoken_total(a, now) == floor_spoken_total(b, now));
	for (size_t i = 0; i < 4; i++) {
		T_ASSERT(floor_spoken_by(a, now, FLOOR_DIM_GROUP, groups[i]) ==
			 floor_spoken_by(b, now, FLOOR_DIM_GROUP, groups[i]));
		T_ASSERT(floor_spoken_by(a, now, FLOOR_DIM_REGION, regions[i]) ==
			 floor_spoken_by(b, now, FLOOR_DIM_REGION, regions[i]));
	}
	const char *sides[] = { "onsite", "remote", "unknown" };
	for (size_t i = 0; i < 3; i++)
		T_ASSERT(floor_spoken_by(a, now, FLOOR_DIM_ONSITE, sides[i]) ==
			 floor_spoken_by(b, now, FLOOR_DIM_ONSITE, sides[i]));
	T_ASSERT(floor_regions(a) == floor_regions(b));
	for (size_t i = 0; i < floor_regions(a); i++)
		T_ASSERT(strcmp(floor_region_at(a, i), floor_region_at(b, i)) == 0);
	return 0;
}

static int written_eq(const floor_ctl *a, const floor_ctl *b)
{
	T_ASSERT(floor_written_count(a) == floor_written_count(b));
	for (uint32_t id = 1; id < 1000; id++) {
		struct floor_written_view wa, wb;
		bool fa = floor_written_find(a, id, &wa), fb = floor_written_find(b, id, &wb);
		T_ASSERT(fa == fb);
		if (!fa)
			continue;
		T_ASSERT(wa.pid == wb.pid && wa.state == wb.state && attrs_eq(wa.who, wb.who));
		T_ASSERT(strcmp(wa.text, wb.text) == 0);
		T_ASSERT(wa.submitted_ms == wb.submitted_ms && wa.since_ms == wb.since_ms);
	}
	struct floor_written_view wa, wb;
	for (size_t i = 0; floor_written_at(a, i, &wa); i++) {
		T_ASSERT(floor_written_at(b, i, &wb));
		T_ASSERT(wa.id == wb.id);
	}
	struct floor_written_counts ca, cb;
	floor_written_totals(a, &ca);
	floor_written_totals(b, &cb);
	T_ASSERT(memcmp(&ca, &cb, sizeof ca) == 0);
	return 0;
}

/* The next ids either floor hands out: a new person raises a hand and writes. */
static int next_ids_eq(floor_ctl *a, floor_ctl *b)
{
	struct rs_attrs at = mk("Newcomer", "", "", -1);
	floor_actor n = { .pid = 999, .role = RS_ROLE_PARTICIPANT, .attrs = &at };
	uint32_t ia = 0, ib = 0, wa = 0, wb = 0;
	int ra = floor_request(a, now, &n, NULL, &ia), rb = floor_request(b, now, &n, NULL, &ib);
	T_ASSERT(ra == rb && ia == ib);
	ra = floor_written_submit(a, now, &n, "Hello", &wa);
	rb = floor_written_submit(b, now, &n, "Hello", &wb);
	T_ASSERT(ra == rb && wa == wb);
	return 0;
}

static int floors_eq(floor_ctl *a, floor_ctl *b)
{
	T_ASSERT(floor_consistent(b));
	const struct floor_policy *pa = floor_policy(a), *pb = floor_policy(b);
	T_ASSERT(memcmp(pa, pb, sizeof *pa) == 0);
	T_ASSERT(floor_next_deadline(a) == floor_next_deadline(b));
	T_ASSERT(floor_suggest(a, now) == floor_suggest(b, now));
	for (size_t i = 0; i < N_PEOPLE; i++) {
		floor_actor x = actor(&people[i]);
		T_ASSERT(floor_may_speak(a, &x) == floor_may_speak(b, &x));
	}
	if (lines_eq(a, b) || people_eq(a, b) || stats_eq(a, b) || written_eq(a, b))
		return 1;
	return 0;
}

static floor_ctl *replay(const struct floor_policy *p, size_t *applied, size_t *skipped)
{
	floor_ctl *g = floor_create(p);
	size_t i;
	json_t *rec;
	*applied = *skipped = 0;
	json_array_foreach(journal, i, rec) {
		int rc = floor_msg_replay(g, rec);
		*applied += rc == 1;
		*skipped += rc < 0;
	}
	return g;
}

/* The original goes on after a checkpoint, so the ids are compared on copies. */
static int checkpoint(floor_ctl *f, const struct floor_policy *p)
{
	size_t applied, skipped;
	floor_ctl *g = replay(p, &applied, &skipped);
	int bad = floors_eq(f, g);
	if (!bad && skipped) {
		fprintf(stderr, "%zu records did not fit\n", skipped);
		bad = 1;
	}
	if (!bad) {
		floor_ctl *f2 = replay(p, &applied, &skipped), *g2 = replay(p, &applied, &skipped);
		bad = next_ids_eq(f2, g2);
		floor_destroy(f2);
		floor_destroy(g2);
	}
	floor_destroy(g);
	return bad;
}

static int run(uint64_t seed, const struct floor_policy *p)
{
	rng = seed;
	journal = json_array();
	floor_ctl *f = floor_create(p);
	for (size_t i = 0; i < N_PEOPLE; i++) {
		people[i] = (struct who){ .pid = (uint32_t)i + 1, .present = false,
					  .role = i < 2 ? RS_ROLE_MODERATOR
						: i == 2 ? RS_ROLE_CAPTIONER : RS_ROLE_PARTICIPANT };
		join(f, &people[i]);
	}
	int bad = 0;
	for (int step = 1; step <= STEPS && !bad; step++) {
		random_op(f);
		if (step % CHECK_EVERY == 0 && (bad = checkpoint(f, p)))
			fprintf(stderr, "seed %#" PRIx64 ": replay differs at step %d\n", seed, step);
	}
	struct floor_written_counts wc;
	floor_written_totals(f, &wc);
	printf("seed %#" PRIx64 ": %zu records, %zu people, %d written, %" PRId64 " ms spoken\n",
	       seed, json_array_size(journal), floor_people(f), wc.asked,
	       floor_spoken_total(f, now));
	floor_destroy(f);
	json_decref(journal);
	return bad;
}

/* A hand-written session: the facts named in the issue survive a rebuild. */
static int scenario(void)
{
	struct floor_policy p;
	floor_policy_default(&p);
	p.moderated_queue = true;
	journal = json_array();
	floor_ctl *f = floor_create(&p);
	people[0] = (struct who){ .pid = 1, .role = RS_ROLE_MODERATOR };
	for (uint32_t i = 1; i < 5; i++)
		people[i] = (struct who){ .pid = i + 1, .role = RS_ROLE_PARTICIPANT };
	for (int i = 0; i < 5; i++)
		join(f, &people[i]);
	floor_actor chair = actor(&people[0]);
	uint32_t r[4];
	for (int i = 0; i < 4; i++) {
		floor_actor a = actor(&people[i + 1]);
		T_ASSERT(floor_request(f, now += 1000, &a, "Topic", &r[i]) == FLOOR_OK);
	}
	T_ASSERT(floor_accept(f, now += 500, &chair, r[0]) == FLOOR_OK);
	T_ASSERT(floor_accept(f, now += 500, &chair, r[1]) == FLOOR_OK);
	T_ASSERT(floor_hold(f, now += 500, &chair, r[2]) == FLOOR_OK);
	T_ASSERT(floor_set_limit(f, now += 500, &chair, 0, 120000) == FLOOR_OK);
	T_ASSERT(floor_grant(f, now += 500, &chair, r[0], -1, NULL) == FLOOR_OK);
	floor_actor a4 = actor(&people[4]);
	T_ASSERT(floor_written_submit(f, now += 500, &a4, "A written question", NULL) == FLOOR_OK);
	flush(f);
	now += 20000;
	size_t applied, skipped;
	floor_ctl *g = replay(&p, &applied, &skipped);
	T_ASSERT(skipped == 0);
	T_ASSERT(floor_policy(g)->limit_ms == 120000);
	T_ASSERT(floor_count(g, FLOOR_GRANTED) == 1 && floor_count(g, FLOOR_ACCEPTED) == 1);
	T_ASSERT(floor_count(g, FLOOR_HELD) == 1 && floor_count(g, FLOOR_PENDING) == 1);
	T_ASSERT(floor_written_count(g) == 1);
	struct floor_req_view v;
	T_ASSERT(floor_at(g, FLOOR_GRANTED, 0, &v) && v.id == r[0] && v.limit_ms == 120000);
	T_ASSERT(floor_spoken_total(g, now) == 20500);
	T_ASSERT(floor_next_deadline(g) == floor_next_deadline(f));
	int bad = floors_eq(f, g);
	floor_destroy(g);
	floor_destroy(f);
	json_decref(journal);
	return bad;
}

/* Records that do not fit (lost to a failing disk, or forged) are skipped, never fatal. */
static int bad_records(void)
{
	struct floor_policy p;
	floor_policy_default(&p);
	floor_ctl *g = floor_create(&p);
	const char *recs[] = {
		"{\"kind\": \"floor\", \"t\": 5, \"event\": \"granted\", \"request\": 7, "
		"\"from\": \"accepted\", \"to\": \"granted\", \"who\": {\"pid\": 3, \"name\": \"X\"}}",
		"{\"kind\": \"floor\", \"t\": 5, \"event\": \"requested\", \"request\": 0, "
		"\"to\": \"accepted\", \"who\": {\"pid\": 3, \"name\": \"X\"}}",
		"{\"kind\": \"floor\", \"t\": 5, \"event\": \"requested\", \"request\": 2, "
		"\"to\": \"granted\", \"who\": {\"pid\": 3, \"name\": \"X\"}}",
		"{\"kind\": \"floor\", \"t\": 5, \"event\": \"moved\", \"request\": 2, \"position\": 9}",
		"{\"kind\": \"floor\", \"t\": 5, \"event\": \"nonsense\"}",
		"{\"kind\": \"floor\", \"t\": 5, \"event\": \"requested\", \"to\": \"accepted\", "
		"\"request\": 4, \"who\": {\"pid\": -1, \"name\": \"X\"}}",
		"{\"kind\": \"written\", \"t\": 5, \"event\": \"read\", \"written\": 9, "
		"\"from\": \"queued\", \"to\": \"read\"}",
		"{\"kind\": \"written\", \"t\": 5, \"event\": \"submitted\", \"written\": 1, "
		"\"to\": \"queued\", \"who\": {\"pid\": 3, \"name\": \"X\"}, \"text\": \"\"}",
		"{\"kind\": \"join\", \"t\": 5, \"pid\": 3, \"name\": \"X\", \"role\": \"king\"}",
	};
	for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
		json_t *rec = json_loads(recs[i], 0, NULL);
		T_ASSERT(rec);
		T_ASSERT(floor_msg_replay(g, rec) < 0);
		json_decref(rec);
	}
	json_t *cap = json_pack("{s:s, s:i}", "kind", "caption", "t", 5);
	T_ASSERT(floor_msg_replay(g, cap) == 0);
	json_decref(cap);
	T_ASSERT(floor_consistent(g) && floor_count(g, FLOOR_ACCEPTED) == 0);
	floor_destroy(g);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x7e57ab1eULL;
	int bad = scenario() + bad_records();
	struct floor_policy p;
	floor_policy_default(&p);
	bad += run(seed, &p);
	p.moderated_queue = true;
	p.max_holders = 2;
	p.on_expiry = FLOOR_EXPIRY_REVOKE;
	p.limit_ms = 30000;
	p.warn_ms = 10000;
	p.order = FLOOR_ORDER_BALANCED;
	bad += run(seed + 1, &p);
	p.order = FLOOR_ORDER_ALTERNATE;
	p.max_requests = 5;
	bad += run(seed + 2, &p);
	printf("floor_restore: %s (seed %#" PRIx64 ")\n", bad ? "FAILED" : "ok", seed);
	return bad ? 1 : 0;
}
