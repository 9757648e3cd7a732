/*
 * The signaling core driven directly: fake transports record what the hub
 * queues, so every reply and broadcast can be checked without sockets.
 */
#include "hub_fixture.h"
#include "hub_internal.h"
#include "metrics.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

static uint8_t secret[TOKEN_SECRET_LEN] = "hub-test-secret-hub-test-secret";
static recorder *rec; /* memory only: records are durable at once */

/* Runs the hub's timers up to `until` as the event loop would (before-sleep deadline, tick). */
static void run_until(hub *h, int64_t until)
{
	for (;;) {
		int64_t due = hub_next_deadline(h);
		if (due > until)
			break;
		if (due > now)
			now = due;
		hub_tick(h, now);
	}
	if (until > now)
		now = until;
}

/* Lets the pending roster delta go out. */
static void tick(hub *h)
{
	run_until(h, now + 1000);
}

/* Leaves the room and closes: a close alone keeps the member, reconnecting (resumption). */
static void quit(hub *h, hub_conn *c)
{
	static const char leave[] = "{\"type\":\"leave\",\"id\":\"bye\"}";
	hub_conn_input(h, c, leave, strlen(leave), now);
	hub_conn_closed(h, c, now);
}

/* Whether the roster.delta msg names pid in the list key ("joined", "updated", "left"). */
static bool delta_has(json_t *msg, const char *key, uint32_t pid)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(msg, key), i, v) {
		json_t *p = json_is_object(v) ? json_object_get(v, "pid") : v;
		if (json_integer_value(p) == pid)
			return true;
	}
	return false;
}

static hub *new_hub(void)
{
	static const struct hub_io io = { .send = fake_send, .close = fake_close };
	return hub_create(&cfg, secret, &io, rec);
}

static char *mint(const char *room, enum rs_role role, const char *name, int64_t exp)
{
	return fixture_mint(secret, room, role, name, exp);
}

static void test_join_and_roster(void)
{
	hub *h = new_hub();
	struct fake a = { 0 }, b = { 0 };
	hub_conn *ca = hub_conn_open(h, &a, now), *cb = hub_conn_open(h, &b, now);
	say(h, ca, "{\"type\":\"hello\",\"id\":1,\"protocol\":1}");
	CHECK(last_of(&a, "result") != NULL);
	say(h, ca, "{\"type\":\"join\",\"id\":2,\"room\":\"plenary\",\"name\":\"Zoë Ndiaye\","
		   "\"attrs\":{\"group\":\"civil_society\",\"onsite\":false}}");
	json_t *r = last_of(&a, "result");
	CHECK(r && json_integer_value(json_object_get(r, "re")) == 2);
	CHECK_STR(json_string_value(jpath(r, "data.you.role")), "participant");
	say(h, cb, "{\"type\":\"join\",\"id\":\"x\",\"room\":\"plenary\",\"name\":\"Bob\"}");
	CHECK(last_of(&a, "roster.delta") == NULL); /* not before the tick */
	tick(h);
	json_t *j = last_of(&a, "roster.delta");
	json_t *joined = json_object_get(j, "joined"); /* Zoë too: she joined within the same tick */
	CHECK(j && strcmp(json_string_value(json_object_get(json_array_get(
		joined, json_array_size(joined) - 1), "name")), "Bob") == 0);
	CHECK(json_integer_value(json_object_get(j, "count")) == 2);
	CHECK(json_array_size(jpath(last_of(&b, "result"), "data.roster")) == 2);
	say(h, cb, "{\"type\":\"presence\",\"id\":3,\"attrs\":{\"region\":\"Africa\"}}");
	tick(h);
	j = last_of(&a, "roster.delta");
	CHECK(j && json_array_size(json_object_get(j, "updated")) == 1);
	hub_conn_closed(h, cb, now);
	/* A dropped connection is "reconnecting" for the grace period, then gone. */
	tick(h);
	json_t *d = last_of(&a, "roster.delta");
	CHECK(json_array_size(json_object_get(d, "left")) == 0);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(d, "updated"), 0),
						    "state")), "reconnecting");
	now += cfg.limits.resume_grace_s * 1000LL;
	hub_tick(h, now);
	tick(h);
	CHECK(json_array_size(json_object_get(last_of(&a, "roster.delta"), "left")) == 1);
	hub_conn_closed(h, ca, now);
	fake_clear(&a);
	fake_clear(&b);
	hub_destroy(h);
}

static const struct {
	const char *msg;
	const char *code;
} bad_inputs[] = {
	{ "{not json", "bad_json" },
	{ "[1,2]", "bad_json" },
	{ "{\"id\":1}", "bad_message" },
	{ "{\"type\":\"ping\"}", "bad_message" },
	{ "{\"type\":\"ping\",\"id\":[1]}", "bad_message" },
	{ "{\"type\":\"teleport\",\"id\":1}", "unknown_type" },
	{ "{\"type\":\"leave\",\"id\":1}", "not_joined" },
	{ "{\"type\":\"join\",\"id\":1,\"room\":7}", "bad_field" },
	{ "{\"type\":\"join\",\"id\":1,\"room\":\"nowhere\",\"name\":\"A\"}", "no_such_room" },
	{ "{\"type\":\"join\",\"id\":1,\"room\":\"closed\",\"name\":\"A\"}", "room_closed" },
	{ "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"\"}", "bad_field" },
	{ "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"A\",\"attrs\":{\"group\":\"pirates\"}}", "bad_field" },
	{ "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"token\":\"abc.def\"}", "bad_token" },
	{ "{\"type\":\"hello\",\"id\":1,\"protocol\":9}", "version_unsupported" },
	{ "{\"type\":\"ping\",\"id\":1,\"id\":2}", "bad_json" },
};

static void test_bad_inputs(void)
{
	hub *h = new_hub();
	for (size_t i = 0; i < RS_ARRAY_LEN(bad_inputs); i++) {
		struct fake f = { 0 };
		hub_conn *c = hub_conn_open(h, &f, now);
		say(h, c, bad_inputs[i].msg);
		if (!last_error(&f) || strcmp(last_error(&f), bad_inputs[i].code) != 0)
			fprintf(stderr, "case %zu (%s): got %s\n", i, bad_inputs[i].msg,
				last_error(&f) ? last_error(&f) : "no error");
		CHECK(last_error(&f) && strcmp(last_error(&f), bad_inputs[i].code) == 0);
		hub_conn_closed(h, c, now);
		fake_clear(&f);
	}
	hub_destroy(h);
}

static void test_tokens(void)
{
	hub *h = new_hub();
	struct fake f = { 0 };
	hub_conn *c = hub_conn_open(h, &f, now);
	char buf[4096];
	char *tok = mint("plenary", RS_ROLE_MODERATOR, "Chair", 0);
	snprintf(buf, sizeof buf, "{\"type\":\"join\",\"id\":1,\"room\":\"closed\",\"token\":\"%s\"}", tok);
	say(h, c, buf);
	CHECK_STR(last_error(&f), "wrong_room");
	free(tok);
	tok = mint("closed", RS_ROLE_MODERATOR, "Chair", now / 1000 - 5);
	snprintf(buf, sizeof buf, "{\"type\":\"join\",\"id\":2,\"room\":\"closed\",\"token\":\"%s\"}", tok);
	say(h, c, buf);
	CHECK_STR(last_error(&f), "token_expired");
	free(tok);
	tok = mint("closed", RS_ROLE_MODERATOR, "Chair", now / 1000 + 3600);
	snprintf(buf, sizeof buf, "{\"type\":\"join\",\"id\":3,\"room\":\"closed\",\"token\":\"%s\"}", tok);
	say(h, c, buf);
	CHECK_STR(json_string_value(jpath(last_of(&f, "result"), "data.you.role")),
		  "moderator");
	free(tok);
	/* A valid token for a room nobody configured creates it. */
	struct fake g = { 0 };
	hub_conn *c2 = hub_conn_open(h, &g, now);
	tok = mint("side-event", RS_ROLE_CAPTIONER, "Cap", 0);
	snprintf(buf, sizeof buf, "{\"type\":\"join\",\"id\":4,\"room\":\"side-event\",\"token\":\"%s\"}", tok);
	say(h, c2, buf);
	CHECK(last_of(&g, "result") != NULL && hub_room(h, "side-event") != NULL);
	free(tok);
	hub_conn_closed(h, c, now);
	hub_conn_closed(h, c2, now);
	fake_clear(&f);
	fake_clear(&g);
	hub_destroy(h);
}

static void test_limits(void)
{
	hub *h = new_hub();
	struct fake f[4] = { 0 };
	hub_conn *c[4];
	for (int i = 0; i < 3; i++)
		c[i] = hub_conn_open(h, &f[i], now);
	CHECK(hub_conn_open(h, &f[3], now) == NULL);
	CHECK_STR(last_error(&f[3]), "server_full");
	/* Flood: the burst passes, then rate_limited, then the connection is cut. */
	int limited = 0;
	for (int i = 0; i < 300 && !f[0].closed_code; i++) {
		hub_conn_input(h, c[0], "{\"type\":\"ping\",\"id\":1}", 22, now);
		if (last_error(&f[0]))
			limited++;
		if (f[0].n > 50)
			fake_clear(&f[0]);
	}
	CHECK(limited > 0);
	CHECK(f[0].closed_code == HUB_CLOSE_POLICY);
	/* The others are still served. */
	say(h, c[1], "{\"type\":\"ping\",\"id\":9}");
	CHECK(last_of(&f[1], "result") != NULL);
	/* A connection that stops reading is closed as slow. */
	say(h, c[2], "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"Slow\"}");
	f[2].full = true;
	say(h, c[1], "{\"type\":\"join\",\"id\":2,\"room\":\"plenary\",\"name\":\"Other\"}");
	tick(h);
	CHECK(f[2].closed_code == HUB_CLOSE_SLOW);
	for (int i = 0; i < 3; i++) {
		hub_conn_closed(h, c[i], now);
		fake_clear(&f[i]);
	}
	fake_clear(&f[3]);
	hub_destroy(h);
}

/* Every example of a core client message in protocol/examples is accepted by the hub. */
static void test_examples(void)
{
	const char *src = getenv("ROSTRUM_SOURCE");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/protocol/examples", src ? src : ".");
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	if (!d)
		return;
	struct dirent *e;
	int n = 0;
	hub *h = new_hub();
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "client.", 7) != 0)
			continue;
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		json_t *msg = json_load_file(path, 0, NULL);
		CHECK(msg != NULL);
		struct fake f = { 0 };
		hub_conn *c = hub_conn_open(h, &f, now);
		const char *type = json_string_value(json_object_get(msg, "type"));
		/*
		 * Floor and caption examples need a staged room: test_floor_msg and
		 * test_caption run them; a resume needs a membership: test_hub_resume.
		 */
		if (strchr(type, '.') || json_object_get(msg, "resume")) {
			json_decref(msg);
			hub_conn_closed(h, c, now);
			continue;
		}
		if (strcmp(type, "join") != 0 && strcmp(type, "hello") != 0 && strcmp(type, "ping") != 0)
			say(h, c, "{\"type\":\"join\",\"id\":0,\"room\":\"plenary\",\"name\":\"Ex\"}");
		char *text = json_dumps(msg, 0);
		say(h, c, text);
		if (last_error(&f))
			fprintf(stderr, "%s: %s\n", e->d_name, last_error(&f));
		CHECK(last_error(&f) == NULL);
		free(text);
		json_decref(msg);
		hub_conn_closed(h, c, now);
		fake_clear(&f);
		n++;
	}
	closedir(d);
	CHECK(n >= 5);
	hub_destroy(h);
}


/* ---- presence at scale: a second hub with room for many ------------------------ */

static struct rs_config big;

static hub *new_big_hub(int roster_full)
{
	static const struct hub_io io = { .send = fake_send, .close = fake_close };
	big.limits.roster_full = roster_full;
	return hub_create(&big, secret, &io, rec);
}

#define CROWD 300

static hub_conn *join_as(hub *h, struct fake *f, const char *name)
{
	hub_conn *c = hub_conn_open(h, f, now);
	char buf[256];
	snprintf(buf, sizeof buf,
		 "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"%s\"}", name);
	hub_conn_input(h, c, buf, strlen(buf), now); /* all at the same instant */
	return c;
}

/* A join storm within one tick: each member gets its result and one delta, not N roster messages. */
static void test_join_storm_one_delta(void)
{
	hub *h = new_big_hub(1000);
	static struct fake f[CROWD];
	hub_conn *c[CROWD];
	memset(f, 0, sizeof f);
	for (int i = 0; i < CROWD; i++) {
		char name[32];
		snprintf(name, sizeof name, "P%d", i);
		c[i] = join_as(h, &f[i], name);
	}
	tick(h);
	for (int i = 0; i < CROWD; i++) {
		CHECK(f[i].closed_code == 0);
		CHECK(count_of(&f[i], "roster.delta") == 1);
		CHECK(f[i].sent == 2);
	}
	json_t *d = last_of(&f[0], "roster.delta");
	CHECK(json_array_size(json_object_get(d, "joined")) == CROWD);
	CHECK(json_integer_value(json_object_get(d, "count")) == CROWD);
	CHECK(json_is_false(json_object_get(d, "partial")));
	/* Half leave at once: one delta naming them all; a join and a leave in one tick cancel. */
	for (int i = 0; i < CROWD / 2; i++)
		quit(h, c[i]);
	struct fake late = { 0 };
	hub_conn *cl = join_as(h, &late, "Passing");
	quit(h, cl);
	tick(h);
	d = last_of(&f[CROWD - 1], "roster.delta");
	CHECK(json_array_size(json_object_get(d, "left")) == CROWD / 2);
	CHECK(json_array_size(json_object_get(d, "joined")) == 0);
	CHECK(json_integer_value(json_object_get(d, "count")) == CROWD / 2);
	for (int i = CROWD / 2; i < CROWD; i++)
		hub_conn_closed(h, c[i], now);
	for (int i = 0; i < CROWD; i++)
		fake_clear(&f[i]);
	fake_clear(&late);
	hub_destroy(h);
}

/*
 * Issue 10, defect 4: twenty participants send 40 presence updates each
 * (their burst) while a bystander reads. With one message per update the
 * bystander's 512-message queue overflowed; coalesced, it gets one delta
 * with everyone's latest attributes.
 */
static void test_presence_flood_spares_bystander(void)
{
	hub *h = new_big_hub(200);
	struct fake by = { .cap = 512 }, f[20] = { 0 };
	hub_conn *cb = join_as(h, &by, "Bystander"), *c[20];
	for (int i = 0; i < 20; i++)
		c[i] = join_as(h, &f[i], "Sender");
	tick(h);
	for (int k = 0; k < 40; k++)
		for (int i = 0; i < 20; i++) {
			char buf[128];
			snprintf(buf, sizeof buf,
				 "{\"type\":\"presence\",\"id\":%d,\"attrs\":{\"region\":\"R%d\"}}", k, k);
			hub_conn_input(h, c[i], buf, strlen(buf), now + k);
		}
	tick(h);
	CHECK(by.closed_code == 0);
	CHECK(count_of(&by, "roster.delta") <= 3);
	json_t *d = last_of(&by, "roster.delta");
	CHECK(json_array_size(json_object_get(d, "updated")) == 20);
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(d, "updated"), 0),
						    "region")), "R39");
	hub_conn_closed(h, cb, now);
	for (int i = 0; i < 20; i++) {
		hub_conn_closed(h, c[i], now);
		fake_clear(&f[i]);
	}
	fake_clear(&by);
	hub_destroy(h);
}

/* A room over roster_full lists moderators (and the floor's queue) and counts; pages give the rest. */
static void test_bounded_roster_and_pages(void)
{
	hub *h = new_big_hub(5);
	struct fake f[12] = { 0 };
	hub_conn *c[12];
	char *tok = mint("plenary", RS_ROLE_MODERATOR, "Chair", 0);
	char buf[4096];
	c[0] = hub_conn_open(h, &f[0], now);
	snprintf(buf, sizeof buf, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"token\":\"%s\"}", tok);
	say(h, c[0], buf);
	free(tok);
	for (int i = 1; i < 11; i++)
		c[i] = join_as(h, &f[i], "Someone");
	say(h, c[3], "{\"type\":\"floor.request\",\"id\":7}");
	c[11] = join_as(h, &f[11], "Late");
	json_t *r = last_of(&f[11], "result");
	CHECK(json_integer_value(jpath(r, "data.count")) == 12);
	CHECK(json_is_true(jpath(r, "data.partial")));
	CHECK(json_integer_value(jpath(r, "data.counts.moderator")) == 1);
	json_t *roster = jpath(r, "data.roster");
	CHECK(json_array_size(roster) == 2); /* the chair and the one in the queue */
	say(h, c[11], "{\"type\":\"roster.page\",\"id\":2,\"offset\":8,\"limit\":10}");
	r = last_of(&f[11], "result");
	CHECK(json_array_size(jpath(r, "data.members")) == 4);
	CHECK(json_integer_value(jpath(r, "data.count")) == 12);
	say(h, c[11], "{\"type\":\"roster.page\",\"id\":3,\"limit\":100000}");
	CHECK_STR(last_error(&f[11]), "bad_field");
	/* Deltas of a large room name only the listed; the others show in count. */
	fake_clear(&f[0]);
	quit(h, c[5]);
	tick(h);
	json_t *d = last_of(&f[0], "roster.delta");
	CHECK(d && json_array_size(json_object_get(d, "left")) == 0);
	CHECK(d && json_integer_value(json_object_get(d, "count")) == 11);
	for (int i = 0; i < 12; i++) {
		if (i != 5)
			hub_conn_closed(h, c[i], now);
		fake_clear(&f[i]);
	}
	hub_destroy(h);
}

/* ---- the feature table ---------------------------------------------------------- */

static struct {
	int requests, joined, leaving, left, ticks, keeps, detached;
	bool keep;
	int64_t due;
	int id;
} tf;

static int tf_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t t,
		      struct reply *rep)
{
	(void)h; (void)req; (void)t;
	tf.requests++;
	c->slot[tf.id] = (void *)(intptr_t)tf.requests; /* its state rides in its own slot */
	rep->data = json_pack("{s:s}", "seen", type);
	return 0;
}
static void tf_joined(hub *h, hub_conn *c, int64_t t, json_t *snap)
{
	(void)h; (void)c; (void)t;
	tf.joined++;
	json_object_set_new(snap, "test", json_true());
}
static void tf_leaving(hub *h, hub_conn *c, int64_t t) { (void)h; (void)c; (void)t; tf.leaving++; }
static void tf_left(hub *h, struct hroom *hr, uint32_t pid, int64_t t)
{
	(void)h; (void)hr; (void)pid; (void)t;
	tf.left++;
}
static int64_t tf_deadline(const struct hroom *hr) { (void)hr; return tf.due; }
static void tf_tick(hub *h, struct hroom *hr, int64_t t)
{
	(void)h; (void)hr; (void)t;
	tf.ticks++;
	tf.due = INT64_MAX;
}
static enum hub_keep tf_keep(hub *h, hub_conn *c, int64_t t)
{
	(void)h; (void)c; (void)t;
	tf.keeps++;
	return tf.keep ? HUB_KEEP_RECONNECTING : HUB_KEEP_NO;
}
static void tf_detached(hub *h, struct hroom *hr, struct room_member *m, hub_conn *c, int64_t t)
{
	(void)h; (void)hr; (void)m; (void)c; (void)t;
	tf.detached++;
}

static const struct hub_feature test_feature = {
	.name = "test", .prefix = "test.", .request = tf_request, .joined = tf_joined,
	.leaving = tf_leaving, .left = tf_left, .room_deadline = tf_deadline,
	.room_tick = tf_tick, .keep = tf_keep, .detached = tf_detached,
};

static void test_feature_table(void)
{
	hub *h = new_big_hub(200);
	memset(&tf, 0, sizeof tf);
	tf.due = INT64_MAX;
	tf.id = hub_add_feature(h, &test_feature);
	CHECK(tf.id >= 3);
	struct fake a = { 0 }, b = { 0 };
	hub_conn *ca = join_as(h, &a, "A"), *cb = join_as(h, &b, "B");
	CHECK(tf.joined == 2 && json_is_true(jpath(last_of(&a, "result"), "data.test")));
	/* Routing by prefix: the feature's request, the hub's own, another feature's, nobody's. */
	say(h, ca, "{\"type\":\"test.anything\",\"id\":5}");
	CHECK_STR(json_string_value(jpath(last_of(&a, "result"), "data.seen")), "test.anything");
	CHECK(tf.requests == 1 && ca->slot[tf.id] == (void *)1);
	say(h, ca, "{\"type\":\"tes\",\"id\":6}");
	CHECK_STR(last_error(&a), "unknown_type");
	say(h, ca, "{\"type\":\"floor.request\",\"id\":7}");
	CHECK(last_of(&a, "result") && tf.requests == 1);
	/* A deadline set by the feature is kept in the heap and fires once, at its time. */
	tf.due = now + 5000;
	say(h, ca, "{\"type\":\"test.arm\",\"id\":8}");
	run_until(h, now + 4000);
	CHECK(tf.ticks == 0);
	run_until(h, now + 2000);
	CHECK(tf.ticks == 1);
	/* Kept on close: B stays in the room as reconnecting, then its grace ends. */
	tf.keep = true;
	struct room_member *m = cb->member;
	uint32_t pid = m->pid;
	struct hroom *hr = cb->hr;
	fake_clear(&a);
	hub_conn_closed(h, cb, now);
	CHECK(tf.keeps == 1 && tf.detached == 1 && tf.left == 0);
	tick(h);
	json_t *d = last_of(&a, "roster.delta");
	CHECK(d && delta_has(d, "updated", pid));
	CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(d, "updated"), 0),
						    "state")), "reconnecting");
	CHECK(room_count(hr->room) == 2);
	hub_member_expire(h, hr, m, now);
	CHECK(tf.left == 1 && room_count(hr->room) == 1);
	tick(h);
	CHECK(delta_has(last_of(&a, "roster.delta"), "left", pid));
	tf.keep = false;
	quit(h, ca);
	CHECK(tf.left == 2);
	fake_clear(&a);
	fake_clear(&b);
	hub_destroy(h);
}

/*
 * Thousands of rooms: each lookup by id looks at a few index slots (counted,
 * not timed; a scan would look at every room), and a join's records and
 * roster delta find their room without a lookup at all.
 */
static void test_many_rooms(void)
{
	int saved = big.limits.max_rooms;
	big.limits.max_rooms = 5000;
	hub *h = new_big_hub(1000);
	char id[32];
	for (int i = 0; i < 4000; i++) {
		snprintf(id, sizeof id, "room-%d", i);
		CHECK(hub_hroom_ensure(h, id) != NULL);
	}
	CHECK(h->n_rooms == 4001);
	uint64_t before = h->room_probes;
	int found = 0;
	for (int i = 0; i < 8000; i++) { /* half of them absent */
		snprintf(id, sizeof id, "room-%d", i);
		struct hroom *hr = hub_hroom(h, id);
		found += hr && strcmp(room_id(hr->room), id) == 0;
	}
	CHECK(found == 4000);
	CHECK(h->room_probes - before <= 4 * 8000);
	struct fake f = { 0 };
	before = h->room_probes;
	hub_conn *c = join_as(h, &f, "Late");
	tick(h);
	CHECK(last_of(&f, "result") != NULL && count_of(&f, "roster.delta") == 1);
	CHECK(h->room_probes - before <= 4);
	quit(h, c);
	fake_clear(&f);
	hub_destroy(h);
	big.limits.max_rooms = saved;
}

int main(void)
{
	config_default(&cfg);
	rec = recorder_create("/nonexistent", NULL);
	char err[256];
	CHECK(config_parse(&cfg, "{\"rooms\":[{\"id\":\"plenary\",\"open\":true},{\"id\":\"closed\"}],"
				 "\"limits\":{\"max_connections\":3,\"send_queue\":8}}",
			   err, sizeof err) == 0);
	test_join_and_roster();
	test_bad_inputs();
	test_tokens();
	test_limits();
	test_examples();
	config_default(&big);
	CHECK(config_parse(&big, "{\"rooms\":[{\"id\":\"plenary\",\"open\":true}]}", err,
			   sizeof err) == 0);
	test_join_storm_one_delta();
	test_presence_flood_spares_bystander();
	test_bounded_roster_and_pages();
	test_feature_table();
	test_many_rooms();
	config_free(&big);
	config_free(&cfg);
	recorder_destroy(rec);
	metrics_reset();
	return check_done();
}
