/*
 * floor_msg: JSON requests in, replies and addressed outbox items out — good
 * requests, bad fields, wrong roles, the join snapshot, timers, the room
 * policy — and every example in protocol/examples/{client,server}.{floor,written}.*.json is
 * accepted with the fields its schema allows.
 *
 * Usage: test_floor_msg [protocol-dir [dump.jsonl]]
 * protocol-dir defaults to $ROSTRUM_SOURCE/protocol, else the protocol/
 * folder found from the working directory; with dump.jsonl every message the layer
 * produced is written there, one per line, for checking against the schemas.
 */
#include "floor_fixture.h"
#include "floor_msg.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static char proto_dir[1024];
static FILE *dump;

/* ---- fixtures ----------------------------------------------------------- */


static struct rs_attrs at1, at2, at3, at4, at7, atm, atc;
static floor_actor P1, P2, P3, P4, P7, M, C;

static void fixtures(void)
{
	at1 = mk("Zoë Ndiaye", "civil_society", "Africa", ATTRS_REMOTE);
	at2 = mk("Markus Kummer", "government", "Europe", ATTRS_ONSITE);
	at3 = mk("Nnenna Nwakanma", "civil_society", "", ATTRS_ONSITE_UNKNOWN);
	at4 = mk("Raúl Echeberría", "technical_community", "Latin America", ATTRS_REMOTE);
	at7 = mk("Guest seven", "", "", ATTRS_ONSITE_UNKNOWN);
	atm = mk("Chair", "intergovernmental", "Europe", ATTRS_ONSITE);
	atc = mk("Captioner", "", "", ATTRS_ONSITE_UNKNOWN);
	P1 = (floor_actor){ 1, RS_ROLE_PARTICIPANT, &at1 };
	P2 = (floor_actor){ 2, RS_ROLE_PARTICIPANT, &at2 };
	P3 = (floor_actor){ 3, RS_ROLE_PARTICIPANT, &at3 };
	P4 = (floor_actor){ 4, RS_ROLE_PARTICIPANT, &at4 };
	P7 = (floor_actor){ 7, RS_ROLE_PARTICIPANT, &at7 };
	M = (floor_actor){ 100, RS_ROLE_MODERATOR, &atm };
	C = (floor_actor){ 101, RS_ROLE_CAPTIONER, &atc };
}

static floor_ctl *make(const char *policy_json)
{
	struct floor_policy p;
	char err[128];
	json_t *pol = policy_json ? json_loads(policy_json, 0, NULL) : NULL;
	int rc = floor_msg_policy(pol, &p, err, sizeof err);
	json_decref(pol);
	if (rc)
		return NULL;
	floor_ctl *f = floor_create(&p);
	const floor_actor *all[] = { &P1, &P2, &P3, &P4, &P7, &M, &C };
	for (size_t i = 0; i < RS_ARRAY_LEN(all); i++)
		if (floor_msg_joined(f, 0, all[i]))
			return NULL;
	return f;
}

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Writes every message of an outbox to the dump, when there is one. */
static void dump_outbox(const json_t *out)
{
	size_t i;
	json_t *item;
	if (!dump)
		return;
	json_array_foreach(out, i, item) {
		if (strcmp(str(item, "to"), "journal") == 0)
			continue; /* journal copies are the same objects as the public ones */
		char *s = json_dumps(json_object_get(item, "msg"), JSON_COMPACT);
		fprintf(dump, "%s\n", s);
		free(s);
	}
}

/* Result of one request: rc, reply data and outbox (caller frees both). */
struct res {
	int rc;
	json_t *data, *out;
};

static struct res send_json(floor_ctl *f, int64_t now, const floor_actor *a, const char *text)
{
	struct res r = { .out = json_array() };
	json_error_t je;
	json_t *req = json_loads(text, JSON_ALLOW_NUL, &je);
	if (!req) {
		fprintf(stderr, "bad test JSON: %s: %s\n", text, je.text);
		abort();
	}
	r.rc = floor_msg_handle(f, now, a, json_string_value(json_object_get(req, "type")), req,
				&r.data, r.out);
	json_decref(req);
	dump_outbox(r.out);
	return r;
}

static void res_free(struct res *r)
{
	json_decref(r->data);
	json_decref(r->out);
}

/* The n-th outbox message of a type for a recipient ("all", "moderators", "journal" or a pid). */
static json_t *find(json_t *out, const char *to, int pid, const char *type, int n)
{
	size_t i;
	json_t *item;
	json_array_foreach(out, i, item) {
		json_t *t = json_object_get(item, "to"), *m = json_object_get(item, "msg");
		bool to_ok = to ? json_is_string(t) && strcmp(json_string_value(t), to) == 0
				: json_is_integer(t) && json_integer_value(t) == pid;
		if (to_ok && strcmp(json_string_value(json_object_get(m, "type")), type) == 0 &&
		    n-- == 0)
			return m;
	}
	return NULL;
}

static json_int_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* ---- requests in, replies and outbox out -------------------------------- */

static int test_request_flow(void)
{
	floor_ctl *f = make(NULL);
	T_ASSERT(f);
	struct res r = send_json(f, 1000, &P1, "{\"type\":\"floor.request\",\"id\":1,\"topic\":\"IXPs\"}");
	T_ASSERT(r.rc == 0);
	T_ASSERT(num(r.data, "request") == 1 && strcmp(str(r.data, "state"), "accepted") == 0);
	T_ASSERT(num(r.data, "position") == 1);
	json_t *ev = find(r.out, "all", 0, "floor.event", 0);
	T_ASSERT(ev && strcmp(str(ev, "event"), "requested") == 0 && num(ev, "at") == 1000);
	T_ASSERT(strcmp(str(json_object_get(ev, "who"), "name"), "Zoë Ndiaye") == 0);
	T_ASSERT(strcmp(str(json_object_get(ev, "by"), "role"), "participant") == 0);
	T_ASSERT(find(r.out, "journal", 0, "floor.event", 0) == ev);
	json_t *you = find(r.out, NULL, 1, "floor.you", 0);
	T_ASSERT(you && num(you, "position") == 1 && strcmp(str(you, "state"), "accepted") == 0);
	json_t *q = find(r.out, "all", 0, "floor.queue", 0);
	T_ASSERT(q && json_array_size(json_object_get(q, "queue")) == 1);
	T_ASSERT(num(q, "suggested") == 1 && strcmp(str(q, "order"), "fifo") == 0);
	json_t *e0 = json_array_get(json_object_get(q, "queue"), 0);
	T_ASSERT(strcmp(str(e0, "topic"), "IXPs") == 0 && num(e0, "since") == 1000);
	T_ASSERT(find(r.out, "moderators", 0, "floor.stats", 0) == NULL);
	res_free(&r);

	r = send_json(f, 4000, &M, "{\"type\":\"floor.grant\",\"id\":\"g\",\"limit_s\":60}");
	T_ASSERT(r.rc == 0 && num(r.data, "request") == 1 && num(r.data, "limit_s") == 60);
	T_ASSERT(num(r.data, "ends_at") == 64000);
	ev = find(r.out, "all", 0, "floor.event", 0);
	T_ASSERT(strcmp(str(ev, "event"), "granted") == 0 && strcmp(str(ev, "from"), "accepted") == 0);
	T_ASSERT(num(json_object_get(ev, "by"), "pid") == 100);
	json_t *st = find(r.out, "moderators", 0, "floor.stats", 0);
	T_ASSERT(st && num(st, "t") == 4000);
	q = find(r.out, "all", 0, "floor.queue", 0);
	T_ASSERT(json_array_size(json_object_get(q, "holders")) == 1 && json_is_null(json_object_get(q, "suggested")));
	res_free(&r);

	r = send_json(f, 10000, &P1, "{\"type\":\"floor.release\",\"id\":2}");
	T_ASSERT(r.rc == 0 && strcmp(str(r.data, "state"), "released") == 0);
	ev = find(r.out, "all", 0, "floor.event", 0);
	T_ASSERT(num(ev, "duration_ms") == 6000);
	st = find(r.out, "moderators", 0, "floor.stats", 0);
	T_ASSERT(num(st, "total_ms") == 6000);
	T_ASSERT(num(json_object_get(st, "groups"), "civil_society") == 6000);
	T_ASSERT(num(json_object_get(st, "onsite"), "remote") == 6000);
	res_free(&r);
	floor_destroy(f);
	return 0;
}

/* One bad request: the code, the field, and no outbox items. */
static int expect_error(floor_ctl *f, const floor_actor *a, const char *text, const char *code,
			const char *field)
{
	struct res r = send_json(f, 5000, a, text);
	if (r.rc == 0 || strcmp(floor_msg_code(r.rc), code) != 0)
		fprintf(stderr, "%s -> %s, want %s\n", text, r.rc ? floor_msg_code(r.rc) : "ok", code);
	T_ASSERT(r.rc != 0 && strcmp(floor_msg_code(r.rc), code) == 0);
	T_ASSERT(floor_msg_strerror(r.rc)[0]);
	if (field)
		T_ASSERT(strcmp(str(r.data, "field"), field) == 0);
	else
		T_ASSERT(r.data == NULL);
	T_ASSERT(json_array_size(r.out) == 0);
	res_free(&r);
	return 0;
}

static int test_bad_fields(void)
{
	floor_ctl *f = make(NULL);
	struct res r = send_json(f, 1, &P2, "{\"type\":\"floor.request\",\"id\":1}");
	T_ASSERT(r.rc == 0);
	res_free(&r);
	static const struct {
		const char *json, *field;
	} cases[] = {
		{ "{\"type\":\"floor.request\",\"id\":1,\"topic\":5}", "topic" },
		{ "{\"type\":\"floor.request\",\"id\":1,\"topic\":\"a\\nb\"}", "topic" },
		{ "{\"type\":\"floor.request\",\"id\":1,\"topic\":\"nul\\u0000byte\"}", "topic" },
		{ "{\"type\":\"floor.request\",\"id\":1,\"color\":\"red\"}", "color" },
		{ "{\"type\":\"floor.cancel\",\"id\":1,\"request\":0}", "request" },
		{ "{\"type\":\"floor.cancel\",\"id\":1,\"request\":\"1\"}", "request" },
		{ "{\"type\":\"floor.cancel\",\"id\":1,\"request\":4294967296}", "request" },
		{ "{\"type\":\"floor.accept\",\"id\":1}", "request" },
		{ "{\"type\":\"floor.grant\",\"id\":1,\"limit_s\":-1}", "limit_s" },
		{ "{\"type\":\"floor.grant\",\"id\":1,\"limit_s\":1.5}", "limit_s" },
		{ "{\"type\":\"floor.grant\",\"id\":1,\"limit_s\":99999}", "limit_s" },
		{ "{\"type\":\"floor.deny\",\"id\":1,\"request\":1,\"reason\":[]}", "reason" },
		{ "{\"type\":\"floor.move\",\"id\":1,\"request\":1}", "to" },
		{ "{\"type\":\"floor.move\",\"id\":1,\"request\":1,\"to\":1,\"by\":1}", "by" },
		{ "{\"type\":\"floor.move\",\"id\":1,\"request\":1,\"to\":0}", "to" },
		{ "{\"type\":\"floor.move\",\"id\":1,\"request\":1,\"to\":2}", "to" },
		{ "{\"type\":\"floor.mute\",\"id\":1}", "pid" },
		{ "{\"type\":\"floor.mute\",\"id\":1,\"pid\":2,\"muted\":\"yes\"}", "muted" },
		{ "{\"type\":\"floor.limit\",\"id\":1}", "limit_s" },
		{ "{\"type\":\"floor.stats\",\"id\":1,\"since\":0}", "since" },
		{ "{\"type\":\"written.submit\",\"id\":1}", "text" },
		{ "{\"type\":\"written.read\",\"id\":1,\"written\":-3}", "written" },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		/* the moderator can do all of these, so only the field is at fault */
		const floor_actor *a = strstr(cases[i].json, "request\",") ||
				       strstr(cases[i].json, "submit") ? &P1 : &M;
		T_ASSERT(expect_error(f, a, cases[i].json, "bad_field", cases[i].field) == 0);
	}
	char longtopic[400];
	snprintf(longtopic, sizeof longtopic, "{\"type\":\"floor.request\",\"id\":1,\"topic\":\"%0*d\"}",
		 FLOOR_TOPIC_MAX + 1, 0);
	T_ASSERT(expect_error(f, &P1, longtopic, "bad_field", "topic") == 0);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.dance\",\"id\":1}", "unknown_type", NULL) == 0);
	T_ASSERT(floor_msg_owns("floor.dance") && floor_msg_owns("written.x") && !floor_msg_owns("join"));
	floor_destroy(f);
	return 0;
}

static int test_wrong_roles(void)
{
	floor_ctl *f = make(NULL);
	struct res r = send_json(f, 1, &P2, "{\"type\":\"floor.request\",\"id\":1}");
	T_ASSERT(r.rc == 0);
	res_free(&r);
	T_ASSERT(expect_error(f, &P1, "{\"type\":\"floor.grant\",\"id\":1}", "forbidden", NULL) == 0);
	T_ASSERT(expect_error(f, &P1, "{\"type\":\"floor.grant\",\"id\":1,\"request\":1}",
			      "forbidden", NULL) == 0);
	T_ASSERT(expect_error(f, &C, "{\"type\":\"floor.request\",\"id\":1}", "forbidden", NULL) == 0);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.request\",\"id\":1}", "forbidden", NULL) == 0);
	T_ASSERT(expect_error(f, &P1, "{\"type\":\"floor.stats\",\"id\":1}", "forbidden", NULL) == 0);
	T_ASSERT(expect_error(f, &P1, "{\"type\":\"floor.clear\",\"id\":1}", "forbidden", NULL) == 0);
	T_ASSERT(expect_error(f, &P1, "{\"type\":\"floor.mute\",\"id\":1,\"pid\":2}", "forbidden",
			      NULL) == 0);
	T_ASSERT(expect_error(f, &P1, "{\"type\":\"floor.cancel\",\"id\":1,\"request\":1}",
			      "not_your_request", NULL) == 0);
	T_ASSERT(expect_error(f, &P1, "{\"type\":\"floor.cancel\",\"id\":1}", "unknown_request", NULL) == 0);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.cancel\",\"id\":1,\"request\":1}",
			      "forbidden", NULL) == 0);
	T_ASSERT(expect_error(f, &P2, "{\"type\":\"floor.release\",\"id\":1}", "wrong_state", NULL) == 0);
	T_ASSERT(expect_error(f, &P2, "{\"type\":\"floor.request\",\"id\":1}", "already_requested",
			      NULL) == 0);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.accept\",\"id\":1,\"request\":9}",
			      "unknown_request", NULL) == 0);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.mute\",\"id\":1,\"pid\":555}",
			      "unknown_participant", NULL) == 0);
	r = send_json(f, 2, &M, "{\"type\":\"floor.grant\",\"id\":1}");
	T_ASSERT(r.rc == 0);
	res_free(&r);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.grant\",\"id\":1}", "queue_empty", NULL) == 0);
	r = send_json(f, 2, &P3, "{\"type\":\"floor.request\",\"id\":1}");
	res_free(&r);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.grant\",\"id\":1}", "holder_limit", NULL) == 0);
	floor_destroy(f);
	return 0;
}

static int test_move_by(void)
{
	floor_ctl *f = make(NULL);
	const floor_actor *who[4] = { &P1, &P2, &P3, &P4 };
	for (int i = 0; i < 4; i++) {
		struct res r = send_json(f, i, who[i], "{\"type\":\"floor.request\",\"id\":1}");
		T_ASSERT(r.rc == 0);
		res_free(&r);
	}
	struct res r = send_json(f, 10, &M, "{\"type\":\"floor.move\",\"id\":1,\"request\":4,\"by\":-2}");
	T_ASSERT(r.rc == 0 && num(r.data, "position") == 2);
	json_t *ev = find(r.out, "all", 0, "floor.event", 0);
	T_ASSERT(strcmp(str(ev, "event"), "moved") == 0 && num(ev, "position") == 2);
	T_ASSERT(find(r.out, NULL, 4, "floor.you", 0));
	res_free(&r);
	r = send_json(f, 11, &M, "{\"type\":\"floor.move\",\"id\":1,\"request\":4,\"by\":-40}");
	T_ASSERT(r.rc == 0 && num(r.data, "position") == 1);
	res_free(&r);
	r = send_json(f, 12, &M, "{\"type\":\"floor.move\",\"id\":1,\"request\":4,\"by\":40}");
	T_ASSERT(r.rc == 0 && num(r.data, "position") == 4);
	res_free(&r);
	/* a request out of the queue: the floor's own refusal, not a position error */
	r = send_json(f, 13, &P1, "{\"type\":\"floor.hold\",\"id\":1}");
	res_free(&r);
	T_ASSERT(expect_error(f, &M, "{\"type\":\"floor.move\",\"id\":1,\"request\":1,\"by\":1}",
			      "wrong_state", NULL) == 0);
	T_ASSERT(expect_error(f, &P2, "{\"type\":\"floor.move\",\"id\":1,\"request\":4,\"by\":1}",
			      "forbidden", NULL) == 0);
	floor_destroy(f);
	return 0;
}

static int test_timer_and_leave(void)
{
	floor_ctl *f = make("{\"floor\":{\"limit_s\":120,\"warn_s\":30,\"on_expiry\":\"revoke\"}}");
	T_ASSERT(f);
	struct res r = send_json(f, 0, &P1, "{\"type\":\"floor.request\",\"id\":1}");
	res_free(&r);
	r = send_json(f, 0, &M, "{\"type\":\"floor.grant\",\"id\":1,\"request\":1}");
	T_ASSERT(r.rc == 0 && num(r.data, "limit_s") == 120);
	res_free(&r);
	T_ASSERT(floor_next_deadline(f) == 90000);
	json_t *out = json_array();
	floor_msg_tick(f, 90000, out);
	dump_outbox(out);
	json_t *t = find(out, "all", 0, "floor.timer", 0);
	T_ASSERT(t && strcmp(str(t, "event"), "warning") == 0 && num(t, "remaining_ms") == 30000);
	T_ASSERT(find(out, "journal", 0, "floor.timer", 0) == t);
	json_decref(out);
	out = json_array();
	floor_msg_tick(f, 120000, out);
	dump_outbox(out);
	T_ASSERT(strcmp(str(find(out, "all", 0, "floor.timer", 0), "event"), "expired") == 0);
	json_t *ev = find(out, "all", 0, "floor.event", 0);
	T_ASSERT(strcmp(str(ev, "event"), "expired") == 0 && strcmp(str(ev, "to"), "revoked") == 0);
	T_ASSERT(strcmp(str(json_object_get(ev, "by"), "role"), "system") == 0);
	T_ASSERT(find(out, NULL, 1, "floor.you", 0) && find(out, "moderators", 0, "floor.stats", 0));
	json_decref(out);

	r = send_json(f, 121000, &P2, "{\"type\":\"floor.request\",\"id\":1}");
	res_free(&r);
	out = json_array();
	floor_msg_left(f, 122000, P2.pid, out);
	dump_outbox(out);
	ev = find(out, "journal", 0, "floor.event", 0);
	T_ASSERT(ev && strcmp(str(ev, "event"), "left") == 0 && strcmp(str(ev, "to"), "cancelled") == 0);
	T_ASSERT(find(out, "all", 0, "floor.queue", 0));
	json_decref(out);
	floor_destroy(f);
	return 0;
}

static int test_snapshot(void)
{
	floor_ctl *f = make("{\"floor\":{\"order\":\"balanced\",\"max_holders\":2}}");
	struct res r = send_json(f, 0, &P1, "{\"type\":\"floor.request\",\"id\":1,\"topic\":\"spam\"}");
	res_free(&r);
	r = send_json(f, 0, &P2, "{\"type\":\"written.submit\",\"id\":2,\"text\":\"A question\"}");
	T_ASSERT(r.rc == 0 && num(r.data, "written") == 1 && strcmp(str(r.data, "state"), "queued") == 0);
	json_t *we = find(r.out, NULL, 2, "written.event", 0);
	T_ASSERT(we && strcmp(str(we, "event"), "submitted") == 0 && find(r.out, "journal", 0, "written.event", 0));
	json_t *wq = find(r.out, "moderators", 0, "written.queue", 0);
	T_ASSERT(wq && json_array_size(json_object_get(wq, "items")) == 1);
	res_free(&r);
	json_t *s = floor_msg_snapshot(f, 5, &P1);
	T_ASSERT(strcmp(str(json_object_get(s, "queue"), "order"), "balanced") == 0);
	T_ASSERT(num(json_object_get(s, "you"), "request") == 1);
	T_ASSERT(json_is_false(json_object_get(s, "may_speak")));
	T_ASSERT(!json_object_get(s, "stats") && !json_object_get(s, "written"));
	json_decref(s);
	s = floor_msg_snapshot(f, 5, &M);
	T_ASSERT(json_is_true(json_object_get(s, "may_speak")));
	T_ASSERT(json_is_null(json_object_get(json_object_get(s, "you"), "request")));
	T_ASSERT(json_object_get(s, "stats") && json_object_get(s, "written"));
	if (dump) {
		const char *keys[] = { "queue", "you", "stats", "written" };
		json_t *arr = json_array();
		for (int i = 0; i < 4; i++)
			json_array_append_new(arr, json_pack("{s:s, s:O}", "to", "x", "msg",
							     json_object_get(s, keys[i])));
		dump_outbox(arr);
		json_decref(arr);
	}
	json_decref(s);
	r = send_json(f, 6, &M, "{\"type\":\"floor.stats\",\"id\":3}");
	T_ASSERT(r.rc == 0 && !json_object_get(r.data, "type") && num(json_object_get(r.data, "written"), "asked") == 1);
	res_free(&r);
	floor_destroy(f);
	return 0;
}

static int test_mute_limit_clear(void)
{
	floor_ctl *f = make(NULL);
	struct res r = send_json(f, 0, &M, "{\"type\":\"floor.mute\",\"id\":1,\"pid\":7}");
	T_ASSERT(r.rc == 0 && json_is_true(json_object_get(r.data, "muted")));
	json_t *ev = find(r.out, "all", 0, "floor.event", 0);
	T_ASSERT(strcmp(str(ev, "event"), "muted") == 0 && json_is_null(json_object_get(ev, "request")));
	T_ASSERT(json_is_true(json_object_get(find(r.out, NULL, 7, "floor.you", 0), "muted")));
	res_free(&r);
	r = send_json(f, 1, &M, "{\"type\":\"floor.limit\",\"id\":2,\"limit_s\":90}");
	T_ASSERT(r.rc == 0 && num(r.data, "limit_s") == 90);
	T_ASSERT(num(find(r.out, "all", 0, "floor.queue", 0), "limit_s") == 90);
	res_free(&r);
	r = send_json(f, 2, &P1, "{\"type\":\"floor.request\",\"id\":3}");
	res_free(&r);
	r = send_json(f, 2, &P2, "{\"type\":\"floor.request\",\"id\":3}");
	res_free(&r);
	r = send_json(f, 3, &M, "{\"type\":\"floor.clear\",\"id\":4}");
	T_ASSERT(r.rc == 0 && num(r.data, "cleared") == 2);
	T_ASSERT(strcmp(str(find(r.out, "all", 0, "floor.event", 1), "event"), "cleared") == 0);
	T_ASSERT(strcmp(str(find(r.out, NULL, 2, "floor.you", 0), "state"), "denied") == 0);
	res_free(&r);
	floor_destroy(f);
	return 0;
}

static int test_policy(void)
{
	struct floor_policy p;
	char err[160];
	json_t *pol = json_loads("{\"floor\":{\"order\":\"alternate\",\"max_holders\":3,\"limit_s\":180,"
				 "\"warn_s\":20,\"on_expiry\":\"revoke\",\"moderated_queue\":true,"
				 "\"max_requests\":50},\"captions\":{}}", 0, NULL);
	T_ASSERT(floor_msg_policy(pol, &p, err, sizeof err) == 0);
	T_ASSERT(p.order == FLOOR_ORDER_ALTERNATE && p.max_holders == 3 && p.limit_ms == 180000);
	T_ASSERT(p.warn_ms == 20000 && p.on_expiry == FLOOR_EXPIRY_REVOKE && p.moderated_queue);
	T_ASSERT(p.max_requests == 50);
	json_decref(pol);
	T_ASSERT(floor_msg_policy(NULL, &p, err, sizeof err) == 0 && p.order == FLOOR_ORDER_FIFO);
	static const char *const bad[] = {
		"{\"floor\":[]}", "{\"floor\":{\"orders\":\"fifo\"}}", "{\"floor\":{\"order\":\"lottery\"}}",
		"{\"floor\":{\"max_holders\":0}}", "{\"floor\":{\"limit_s\":\"3m\"}}",
		"{\"floor\":{\"max_requests\":1001}}", "{\"floor\":{\"moderated_queue\":1}}",
		"{\"floor\":{\"on_expiry\":true}}",
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(bad); i++) {
		pol = json_loads(bad[i], 0, NULL);
		err[0] = '\0';
		T_ASSERT(floor_msg_policy(pol, &p, err, sizeof err) == -1 && strstr(err, "policy.floor"));
		json_decref(pol);
	}
	return 0;
}

/* ---- the protocol examples ------------------------------------------------ */

/* Sets up a room where the example's request has something to act on. */
static floor_ctl *stage_for(const char *type, const floor_actor **actor)
{
	bool accept = strcmp(type, "floor.accept") == 0;
	floor_ctl *f = make(accept ? "{\"floor\":{\"moderated_queue\":true}}" : NULL);
	uint32_t id;
	int rc = floor_request(f, 1, &P1, NULL, &id);
	rc |= floor_request(f, 1, &P2, NULL, &id);
	rc |= floor_request(f, 1, &P3, NULL, &id);
	rc |= floor_written_submit(f, 1, &P1, "A written question", &id);
	if (!strcmp(type, "floor.resume"))
		rc |= floor_hold(f, 2, &P1, 1);
	if (!strcmp(type, "floor.release") || !strcmp(type, "floor.revoke"))
		rc |= floor_grant(f, 2, &M, 1, -1, NULL);
	if (!strcmp(type, "written.answer"))
		rc |= floor_written_op(f, 2, &M, 1, FLOOR_WOP_READ);
	struct floor_event e;
	while (floor_poll(f, &e))
		;
	bool by_participant = !strcmp(type, "floor.cancel") || !strcmp(type, "floor.hold") ||
			      !strcmp(type, "floor.resume") || !strcmp(type, "floor.release") ||
			      !strcmp(type, "written.withdraw") || !strcmp(type, "written.submit");
	*actor = !strcmp(type, "floor.request") ? &P4 : by_participant ? &P1 : &M;
	if (rc) {
		floor_destroy(f);
		return NULL;
	}
	return f;
}

/* The example's fields are those its schema defines, with the required ones present. */
static int check_against_schema(const char *type, json_t *ex)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/schema/%s.json", proto_dir, type);
	json_t *schema = json_load_file(path, 0, NULL);
	T_ASSERT(schema);
	json_t *props = json_object_get(schema, "properties");
	if (!props) /* a type used in both directions: its request form */
		props = json_object_get(json_object_get(json_object_get(schema, "$defs"), "request"),
					"properties");
	T_ASSERT(json_is_object(props));
	const char *key;
	json_t *v;
	json_object_foreach(ex, key, v)
		T_ASSERT(json_object_get(props, key));
	size_t i;
	json_array_foreach(json_object_get(schema, "required"), i, v)
		T_ASSERT(json_object_get(ex, json_string_value(v)));
	json_decref(schema);
	return 0;
}

/* A server message example (server.<type>.json): its type names the file. */
static int check_server_example(const char *file, json_t *ex, int *n)
{
	size_t len = strlen(file) - strlen("server.") - strlen(".json");
	T_ASSERT(strlen(str(ex, "type")) == len &&
		 strncmp(str(ex, "type"), file + strlen("server."), len) == 0);
	T_ASSERT(!json_object_get(ex, "id"));
	(*n)++;
	return 0;
}

/* A request example (client.<type>.json): it matches its schema and the floor accepts it. */
static int check_example(const char *dir, const char *file, int *n, int *n_server)
{
	char path[1200], type[128];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	json_error_t je;
	json_t *ex = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	T_ASSERT(ex);
	size_t len = strlen(file);
	if (strncmp(file, "server.", 7) == 0) {
		int rc = check_server_example(file, ex, n_server);
		json_decref(ex);
		return rc;
	}
	snprintf(type, sizeof type, "%.*s", (int)(len - strlen("client.") - strlen(".json")),
		 file + strlen("client."));
	T_ASSERT(strcmp(str(ex, "type"), type) == 0 && json_object_get(ex, "id"));
	T_ASSERT(check_against_schema(type, ex) == 0);
	const floor_actor *a;
	floor_ctl *f = stage_for(type, &a);
	T_ASSERT(f);
	json_t *data = NULL, *out = json_array();
	int rc = floor_msg_handle(f, 10, a, type, ex, &data, out);
	if (rc)
		fprintf(stderr, "example %s refused: %s (%s)\n", file, floor_msg_code(rc),
			str(data, "field"));
	T_ASSERT(rc == 0 && json_is_object(data));
	dump_outbox(out);
	json_decref(data);
	json_decref(out);
	json_decref(ex);
	floor_destroy(f);
	(*n)++;
	return 0;
}

static int test_examples(void)
{
	char dir[1100];
	snprintf(dir, sizeof dir, "%s/examples", proto_dir);
	DIR *d = opendir(dir);
	T_ASSERT(d);
	int n = 0, n_server = 0, rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) && rc == 0) {
		const char *nm = de->d_name;
		size_t len = strlen(nm);
		const char *t = strchr(nm, '.');
		t = t ? t + 1 : nm;
		bool ours = (strncmp(nm, "client.", 7) == 0 || strncmp(nm, "server.", 7) == 0) &&
			    (strncmp(t, "floor.", 6) == 0 || strncmp(t, "written.", 8) == 0);
		if (ours && len > 5 && strcmp(nm + len - 5, ".json") == 0)
			rc = check_example(dir, nm, &n, &n_server);
	}
	closedir(d);
	T_ASSERT(rc == 0);
	T_ASSERT(n == 19);       /* one per client request type */
	T_ASSERT(n_server == 7); /* one per message the server sends */
	return 0;
}

/* ---- runner --------------------------------------------------------------- */

static bool is_dir(const char *p)
{
	DIR *d = opendir(p);
	if (d)
		closedir(d);
	return d != NULL;
}

/*
 * protocol/ from the argument, $ROSTRUM_SOURCE (as the test runner sets it),
 * the working directory, or this source file's place.
 */
static void find_proto(int argc, char **argv)
{
	static const char *const tries[] = { "protocol", "../protocol", "../../protocol" };
	const char *src = getenv("ROSTRUM_SOURCE");
	if (argc > 1) {
		rs_strlcpy(proto_dir, argv[1], sizeof proto_dir);
		return;
	}
	if (src && src[0]) {
		snprintf(proto_dir, sizeof proto_dir, "%s/protocol", src);
		return;
	}
	for (size_t i = 0; i < RS_ARRAY_LEN(tries); i++)
		if (is_dir(tries[i])) {
			rs_strlcpy(proto_dir, tries[i], sizeof proto_dir);
			return;
		}
	const char *slash = strrchr(__FILE__, '/');
	snprintf(proto_dir, sizeof proto_dir, "%.*s/../../protocol",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
}

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
	{ "request_flow", test_request_flow },
	{ "bad_fields", test_bad_fields },
	{ "wrong_roles", test_wrong_roles },
	{ "move_by", test_move_by },
	{ "timer_and_leave", test_timer_and_leave },
	{ "snapshot", test_snapshot },
	{ "mute_limit_clear", test_mute_limit_clear },
	{ "policy", test_policy },
	{ "examples", test_examples },
};

int main(int argc, char **argv)
{
	fixtures();
	find_proto(argc, argv);
	if (argc > 2 && !(dump = fopen(argv[2], "w"))) {
		perror(argv[2]);
		return 2;
	}
	int passed = 0, failed = 0;
	for (size_t i = 0; i < RS_ARRAY_LEN(tests); i++) {
		if (tests[i].fn() == 0) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s\n", tests[i].name);
		}
	}
	if (dump)
		fclose(dump);
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
