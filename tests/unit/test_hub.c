/*
 * The signaling core driven directly: fake transports record what the hub
 * queues, so every reply and broadcast can be checked without sockets.
 */
#include "check.h"
#include "hub.h"
#include "metrics.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SEEN 64

/* Follows a dotted path of object keys ("data.you.role"). */
static json_t *jpath(json_t *j, const char *path)
{
	char key[64];
	while (j && *path) {
		size_t n = strcspn(path, ".");
		snprintf(key, sizeof key, "%.*s", (int)n, path);
		j = json_object_get(j, key);
		path += n + (path[n] == '.');
	}
	return j;
}

struct fake {
	json_t *seen[MAX_SEEN];
	int n;
	int closed_code;
	bool full; /* refuse sends, like an overflowing queue */
};

static int fake_send(void *ctx, void *transport, rs_msg *m)
{
	(void)ctx;
	struct fake *f = transport;
	if (f->full)
		return -1;
	if (f->n < MAX_SEEN)
		f->seen[f->n++] = json_loads((const char *)rs_msg_payload(m), 0, NULL);
	return 0;
}

static void fake_close(void *ctx, void *transport, int code, const char *reason)
{
	(void)ctx;
	(void)reason;
	((struct fake *)transport)->closed_code = code;
}

static void fake_clear(struct fake *f)
{
	for (int i = 0; i < f->n; i++)
		json_decref(f->seen[i]);
	f->n = 0;
}

/* The last message of the given type, or NULL. */
static json_t *last_of(struct fake *f, const char *type)
{
	for (int i = f->n - 1; i >= 0; i--)
		if (strcmp(json_string_value(json_object_get(f->seen[i], "type")), type) == 0)
			return f->seen[i];
	return NULL;
}

static const char *last_error(struct fake *f)
{
	json_t *e = last_of(f, "error");
	return e ? json_string_value(json_object_get(e, "code")) : NULL;
}

static uint8_t secret[TOKEN_SECRET_LEN] = "hub-test-secret-hub-test-secret";
static struct rs_config cfg;
static recorder *rec; /* memory only: records are durable at once */
static int64_t now = 1700000000000;

static void say(hub *h, hub_conn *c, const char *text)
{
	hub_conn_input(h, c, text, strlen(text), now);
	now += 100;
}

static hub *new_hub(void)
{
	static const struct hub_io io = { .send = fake_send, .close = fake_close };
	return hub_create(&cfg, secret, &io, rec);
}

static char *mint(const char *room, enum rs_role role, const char *name, int64_t exp)
{
	struct token_claims c = { .role = role, .exp = exp };
	strcpy(c.room, room);
	c.attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	CHECK(attrs_set_name(&c.attrs, name));
	return token_issue(secret, &c);
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
	json_t *j = last_of(&a, "roster.join");
	CHECK(j && strcmp(json_string_value(jpath(j, "participant.name")), "Bob") == 0);
	CHECK(json_array_size(jpath(last_of(&b, "result"), "data.roster")) == 2);
	say(h, cb, "{\"type\":\"presence\",\"id\":3,\"attrs\":{\"region\":\"Africa\"}}");
	CHECK(last_of(&a, "roster.update") != NULL);
	hub_conn_closed(h, cb, now);
	/* A dropped connection is "reconnecting" for the grace period, then gone. */
	CHECK_STR(json_string_value(jpath(last_of(&a, "roster.update"), "participant.state")),
		  "reconnecting");
	CHECK(last_of(&a, "roster.leave") == NULL);
	hub_tick(h, now + cfg.limits.resume_grace_s * 1000LL);
	CHECK(last_of(&a, "roster.leave") != NULL);
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
	config_free(&cfg);
	recorder_destroy(rec);
	metrics_reset();
	return check_done();
}
