/*
 * Resumption in the hub, on fake time with fake transports: a dropped member
 * comes back with its secret into the same place; secrets are single use;
 * a member who does not return leaves after the grace period; a restart
 * (a new hub over the same journal) rebuilds the floor and lets every member
 * resume; a returning viewer gets the captions it missed.
 */
#include "hub_fixture.h"
#include "jwriter.h"
#include "metrics.h"

#include <poll.h>

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The latest entry for pid in f's roster deltas (joined or updated: a tick coalesces), or NULL. */
static json_t *updated_entry(struct fake *f, int pid)
{
	for (int i = f->n - 1; i >= 0; i--) {
		if (strcmp(json_string_value(json_object_get(f->seen[i], "type")), "roster.delta"))
			continue;
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(f->seen[i], "updated"), k, e)
			if (json_integer_value(json_object_get(e, "pid")) == pid)
				return e;
		json_array_foreach(json_object_get(f->seen[i], "joined"), k, e)
			if (json_integer_value(json_object_get(e, "pid")) == pid)
				return e;
	}
	return NULL;
}

/* True when a roster delta f received lists pid as gone. */
static bool left_seen(struct fake *f, int pid)
{
	for (int i = 0; i < f->n; i++) {
		if (strcmp(json_string_value(json_object_get(f->seen[i], "type")), "roster.delta"))
			continue;
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(f->seen[i], "left"), k, e)
			if (json_integer_value(e) == pid)
				return true;
	}
	return false;
}

static uint8_t secret[TOKEN_SECRET_LEN] = "resume-test-secret-resume-test!";
static recorder *rec;

/* ---- a real journal, for the restart ---------------------------------------- */

static jwriter *jw;

static void on_durable(void *ctx, uint64_t ticket)
{
	(void)ctx;
	recorder_on_durable(rec, ticket);
}

/* Runs the writer's socket until everything appended is on disk. */
static void sync_journal(void)
{
	struct jwriter_status st;
	for (int i = 0; i < 500; i++) {
		jwriter_status(jw, &st);
		if (st.durable >= st.appended)
			return;
		struct pollfd p = { .fd = jwriter_fd(jw), .events = POLLIN };
		if (jwriter_want_write(jw))
			p.events |= POLLOUT;
		if (poll(&p, 1, 20) <= 0)
			continue;
		if ((p.revents & POLLOUT) && jwriter_on_writable(jw) != JWRITER_OK)
			return;
		if ((p.revents & (POLLIN | POLLHUP)) && jwriter_on_readable(jw) != JWRITER_OK)
			return;
	}
}


/* Runs every timer due up to now (the roster deltas go out on the room's tick). */
static void flush(hub *h)
{
	for (int64_t d; (d = hub_next_deadline(h)) <= now;)
		hub_tick(h, d);
}

static void sayf(hub *h, hub_conn *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void sayf(hub *h, hub_conn *c, const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	hub_conn_input(h, c, text, strlen(text), now);
	now += 100;
}

static hub *new_hub(void)
{
	static const struct hub_io io = { .send = fake_send, .close = fake_close };
	return hub_create(&cfg, secret, &io, rec);
}

static char *mint(const char *room, enum rs_role role, const char *name)
{
	return fixture_mint(secret, room, role, name, 0);
}

/* Joins and returns the resume secret (malloc'd) and pid. */
static char *join(hub *h, hub_conn *c, struct fake *f, const char *extra, int *pid)
{
	sayf(h, c, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\"%s}", extra);
	json_t *r = last_of(f, "result");
	const char *s = json_string_value(jpath(r, "data.resume.secret"));
	CHECK(s != NULL);
	CHECK(json_integer_value(jpath(r, "data.resume.grace_s")) == cfg.limits.resume_grace_s);
	*pid = (int)json_integer_value(jpath(r, "data.you.pid"));
	return s ? strdup(s) : strdup("");
}

static int queue_position(struct fake *f, int pid)
{
	json_t *q = last_of(f, "result");
	json_t *queue = jpath(q, "data.floor.queue.queue");
	size_t i;
	json_t *e;
	json_array_foreach(queue, i, e)
		if (json_integer_value(jpath(e, "who.pid")) == pid)
			return (int)json_integer_value(json_object_get(e, "position"));
	return 0;
}

struct session {
	hub *h;
	struct fake fm, fa, fb, fc;
	hub_conn *cm, *ca, *cb, *cc;
	char *sm, *sa, *sb, *sc;
	int pm, pa, pb, pc;
	char *chair_tok, *capt_tok;
};

/* A chair, two participants in the queue (b second) and a captioner. */
static void session_start(struct session *s)
{
	memset(s, 0, sizeof *s);
	s->h = new_hub();
	s->chair_tok = mint("plenary", RS_ROLE_MODERATOR, "Chair");
	s->capt_tok = mint("plenary", RS_ROLE_CAPTIONER, "Lynn");
	s->cm = hub_conn_open(s->h, &s->fm, now);
	s->ca = hub_conn_open(s->h, &s->fa, now);
	s->cb = hub_conn_open(s->h, &s->fb, now);
	s->cc = hub_conn_open(s->h, &s->fc, now);
	char extra[1024];
	snprintf(extra, sizeof extra, ",\"token\":\"%s\"", s->chair_tok);
	s->sm = join(s->h, s->cm, &s->fm, extra, &s->pm);
	s->sa = join(s->h, s->ca, &s->fa, ",\"name\":\"Ana\"", &s->pa);
	s->sb = join(s->h, s->cb, &s->fb, ",\"name\":\"Bo\",\"attrs\":{\"group\":\"academia\"}",
		     &s->pb);
	snprintf(extra, sizeof extra, ",\"token\":\"%s\"", s->capt_tok);
	s->sc = join(s->h, s->cc, &s->fc, extra, &s->pc);
	sayf(s->h, s->ca, "{\"type\":\"floor.request\",\"id\":2,\"topic\":\"First\"}");
	sayf(s->h, s->cb, "{\"type\":\"floor.request\",\"id\":2,\"topic\":\"Second\"}");
	CHECK(json_integer_value(jpath(last_of(&s->fb, "result"), "data.position")) == 2);
}

static void session_free(struct session *s)
{
	free(s->sm), free(s->sa), free(s->sb), free(s->sc);
	free(s->chair_tok), free(s->capt_tok);
	fake_reset(&s->fm), fake_reset(&s->fa), fake_reset(&s->fb), fake_reset(&s->fc);
}

static void test_drop_and_resume(void)
{
	struct session s;
	session_start(&s);
	fake_reset(&s.fm);
	hub_conn_closed(s.h, s.cb, now);
	now += 1000;
	flush(s.h);
	json_t *u = updated_entry(&s.fm, s.pb);
	CHECK(u && strcmp(json_string_value(json_object_get(u, "state")), "reconnecting") == 0);
	now += 2000;
	flush(s.h);
	/* Back with the secret: same pid, role, attributes and place. */
	struct fake fb2 = { 0 };
	hub_conn *cb2 = hub_conn_open(s.h, &fb2, now);
	sayf(s.h, cb2, "{\"type\":\"join\",\"id\":9,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sb);
	json_t *r = last_of(&fb2, "result");
	CHECK(r && json_integer_value(jpath(r, "data.you.pid")) == s.pb);
	CHECK(r && strcmp(json_string_value(jpath(r, "data.you.group")), "academia") == 0);
	CHECK(json_is_true(jpath(r, "data.resume.resumed")));
	CHECK(queue_position(&fb2, s.pb) == 2);
	CHECK(json_integer_value(jpath(r, "data.floor.you.position")) == 2);
	now += 1000;
	flush(s.h);
	CHECK(!left_seen(&s.fm, s.pb) && !left_seen(&s.fa, s.pb));
	u = updated_entry(&s.fm, s.pb);
	CHECK(u && json_object_get(u, "state") == NULL);
	/* The protocol's example, with a live secret in it. */
	const char *src = getenv("ROSTRUM_SOURCE");
	char path[1024];
	snprintf(path, sizeof path, "%s/protocol/examples/client.join.resume.json", src ? src : ".");
	json_t *ex = json_load_file(path, 0, NULL);
	CHECK(ex != NULL);
	const char *s3 = json_string_value(jpath(r, "data.resume.secret"));
	struct fake fe = { 0 };
	hub_conn *ce = hub_conn_open(s.h, &fe, now);
	if (ex && s3) {
		json_object_set_new(ex, "resume", json_string(s3));
		char *text = json_dumps(ex, 0);
		sayf(s.h, ce, "%s", text);
		free(text);
		CHECK(json_integer_value(jpath(last_of(&fe, "result"), "data.you.pid")) == s.pb);
		CHECK(fb2.closed_code == 4003);
		json_t *again = last_of(&fe, "result");
		s3 = json_string_value(jpath(again, "data.resume.secret"));
	}
	json_decref(ex);
	/* Single use: the old secret is refused; the new one works once the link drops again. */
	struct fake fx = { 0 };
	hub_conn *cx = hub_conn_open(s.h, &fx, now);
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":3,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sb);
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "resume_invalid") == 0);
	/* Forged: a well-shaped secret with a wrong MAC, and garbage. */
	char forged[256];
	snprintf(forged, sizeof forged, "%s", s.sa);
	forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == 'a' ? 'b' : 'a';
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":4,\"room\":\"plenary\",\"resume\":\"%s\"}", forged);
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "resume_invalid") == 0);
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":5,\"room\":\"plenary\",\"resume\":\"x\"}");
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "resume_invalid") == 0);
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":6,\"room\":\"plenary\",\"resume\":7}");
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "bad_field") == 0);
	/* Another room: bound to the room it was issued for. */
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":7,\"room\":\"other\",\"resume\":\"%s\"}", s.sa);
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "resume_invalid") == 0);
	/* A resume while the old link still looks alive: the newer connection wins. */
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":8,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sa);
	CHECK(json_integer_value(jpath(last_of(&fx, "result"), "data.you.pid")) == s.pa);
	CHECK(s.fa.closed_code == 4003);
	hub_conn_closed(s.h, s.ca, now); /* the old one going changes nothing */
	now += 1000;
	flush(s.h);
	CHECK(!left_seen(&s.fm, s.pa));
	CHECK(queue_position(&fx, s.pa) == 1);
	hub_conn *live[] = { s.cm, s.cc, cb2, cx, ce };
	for (size_t i = 0; i < 5; i++)
		hub_conn_closed(s.h, live[i], now);
	fake_reset(&fe);
	fake_reset(&fx);
	fake_reset(&fb2);
	hub_destroy(s.h);
	session_free(&s);
}

static void test_grace_runs_out(void)
{
	struct session s;
	session_start(&s);
	fake_reset(&s.fm);
	hub_conn_closed(s.h, s.ca, now);
	CHECK(hub_next_deadline(s.h) <= now + cfg.limits.resume_grace_s * 1000LL);
	int64_t closed = now;
	now += cfg.limits.resume_grace_s * 1000LL - 1;
	flush(s.h);
	CHECK(!left_seen(&s.fm, s.pa));
	now = closed + cfg.limits.resume_grace_s * 1000LL + 1000;
	flush(s.h);
	CHECK(left_seen(&s.fm, s.pa));
	/* Their request went with them: Bo is first now. */
	json_t *q = last_of(&s.fm, "floor.queue");
	CHECK(json_integer_value(jpath(json_array_get(jpath(q, "queue"), 0), "who.pid")) == s.pb);
	struct fake fx = { 0 };
	hub_conn *cx = hub_conn_open(s.h, &fx, now);
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":3,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sa);
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "resume_expired") == 0);
	/* An explicit leave ends the membership at once. */
	sayf(s.h, s.cb, "{\"type\":\"leave\",\"id\":4}");
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":5,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sb);
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "resume_expired") == 0);
	hub_conn *live[] = { s.cm, s.cb, s.cc, cx };
	for (size_t i = 0; i < 4; i++)
		hub_conn_closed(s.h, live[i], now);
	fake_reset(&fx);
	hub_destroy(s.h);
	session_free(&s);
}

static char revoked_id[TOKEN_ID_LEN + 1];

static bool is_revoked(void *ctx, const char *id)
{
	(void)ctx;
	return revoked_id[0] && strcmp(id, revoked_id) == 0;
}

/* A revoked token's member is not kept on close, and cannot resume once its link dropped. */
static void test_revoked(void)
{
	struct session s;
	session_start(&s);
	now += 1000;
	flush(s.h); /* the joins are announced: a leave is not folded into them */
	token_set_revocation_check(is_revoked, NULL);
	/* The captioner's link drops, then its token is revoked: no way back. */
	const char *cid = hub_conn_token_id(s.cc);
	CHECK(cid != NULL);
	char cap_id[TOKEN_ID_LEN + 1];
	rs_strlcpy(cap_id, cid ? cid : "", sizeof cap_id);
	hub_conn_closed(s.h, s.cc, now);
	rs_strlcpy(revoked_id, cap_id, sizeof revoked_id);
	struct fake fx = { 0 };
	hub_conn *cx = hub_conn_open(s.h, &fx, now);
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":3,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sc);
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "token_revoked") == 0);
	/* The chair, revoked while connected: the close that follows is a leave. */
	const char *mid = hub_conn_token_id(s.cm);
	CHECK(mid != NULL);
	rs_strlcpy(revoked_id, mid ? mid : "", sizeof revoked_id);
	hub_conn_closed(s.h, s.cm, now);
	now += 1000;
	flush(s.h);
	CHECK(left_seen(&s.fa, s.pm));
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":4,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sm);
	CHECK(last_error(&fx) && strcmp(last_error(&fx), "resume_expired") == 0);
	/* A resumed connection carries its membership's token id, so revocation still finds it. */
	hub_conn_closed(s.h, s.ca, now); /* Ana joined without a token */
	sayf(s.h, cx, "{\"type\":\"join\",\"id\":5,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sa);
	CHECK(json_integer_value(jpath(last_of(&fx, "result"), "data.you.pid")) == s.pa);
	CHECK(hub_conn_token_id(cx) == NULL);
	token_set_revocation_check(NULL, NULL);
	revoked_id[0] = '\0';
	hub_conn *live[] = { s.cb, cx };
	for (size_t i = 0; i < 2; i++)
		hub_conn_closed(s.h, live[i], now);
	fake_reset(&fx);
	hub_destroy(s.h);
	session_free(&s);
}

/* Latest secret of a member from its last join result. */
static char *secret_of(struct fake *f)
{
	const char *s = json_string_value(jpath(last_of(f, "result"), "data.resume.secret"));
	return strdup(s ? s : "");
}

static void test_restart(void)
{
	struct session s;
	session_start(&s);
	/* The chair sets a time limit, grants Ana, Bo writes; a caption line goes out. */
	sayf(s.h, s.cm, "{\"type\":\"floor.limit\",\"id\":3,\"limit_s\":90}");
	sayf(s.h, s.cm, "{\"type\":\"floor.grant\",\"id\":4}");
	sayf(s.h, s.cb, "{\"type\":\"written.submit\",\"id\":5,\"text\":\"A question\"}");
	sayf(s.h, s.cc, "{\"type\":\"caption.final\",\"id\":6,\"text\":\"Before the restart.\"}");
	json_t *cap = last_of(&s.fm, "caption");
	uint64_t seen = (uint64_t)json_integer_value(json_object_get(cap, "seq"));
	sayf(s.h, s.cc, "{\"type\":\"caption.partial\",\"id\":7,\"text\":\"half a\"}");
	seen = (uint64_t)json_integer_value(json_object_get(last_of(&s.fm, "caption"), "seq"));
	/* Someone in the queue who will not come back after the restart. */
	struct fake fg = { 0 };
	hub_conn *cg = hub_conn_open(s.h, &fg, now);
	int pg;
	char *sg = join(s.h, cg, &fg, ",\"name\":\"Gone\"", &pg);
	sayf(s.h, cg, "{\"type\":\"floor.request\",\"id\":2}");
	int rg = (int)json_integer_value(jpath(last_of(&fg, "result"), "data.request"));
	now += 2000;
	/*
	 * The server stops: its connections close (1001) and the members wait,
	 * so nothing is journaled at the end, as after a crash.
	 */
	hub_conn *old[] = { s.cm, s.ca, s.cb, s.cc, cg };
	for (size_t i = 0; i < 5; i++)
		hub_conn_closed(s.h, old[i], now);
	fake_reset(&fg);
	hub_destroy(s.h);
	sync_journal();
	/* The new process: its own writer, and a recorder that knows only the files. */
	const char *dir = recorder_data_dir(rec);
	char *data = strdup(dir);
	CHECK(jwriter_stop(jw) == JWRITER_OK); /* its last reports reach the old recorder */
	recorder_destroy(rec);
	struct jwriter_listener l = { .on_durable = on_durable };
	int jerr;
	jw = jwriter_start(&l, NULL, &jerr);
	CHECK(jw != NULL);
	rec = recorder_create(data, jw);
	free(data);
	char err[256];
	int rrc = recorder_recover_all(rec, err, sizeof err);
	if (rrc != RECORDER_OK)
		fprintf(stderr, "recover: %s\n", err);
	CHECK(rrc == RECORDER_OK);
	s.h = new_hub();
	now += 3000;
	hub_restore(s.h, now);
	struct fake fa2 = { 0 }, fb2 = { 0 }, fm2 = { 0 }, fc2 = { 0 };
	hub_conn *cm2 = hub_conn_open(s.h, &fm2, now);
	sayf(s.h, cm2, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sm);
	json_t *r = last_of(&fm2, "result");
	CHECK(r && json_integer_value(jpath(r, "data.you.pid")) == s.pm);
	CHECK(r && strcmp(json_string_value(jpath(r, "data.you.role")), "moderator") == 0);
	CHECK(json_integer_value(jpath(r, "data.floor.queue.limit_s")) == 90);
	json_t *holder = json_array_get(jpath(r, "data.floor.queue.holders"), 0);
	CHECK(json_integer_value(jpath(holder, "who.pid")) == s.pa);
	CHECK(json_integer_value(jpath(holder, "limit_s")) == 90);
	CHECK(queue_position(&fm2, s.pb) == 1);
	CHECK(json_array_size(jpath(r, "data.floor.written.items")) == 1);
	CHECK(json_integer_value(jpath(r, "data.floor.stats.total_ms")) >= 5000);
	/* The others are in the roster, reconnecting. */
	size_t i;
	json_t *e;
	int reconnecting = 0;
	json_array_foreach(jpath(r, "data.roster"), i, e)
		reconnecting += json_string_value(json_object_get(e, "state")) != NULL;
	CHECK(reconnecting == 4);
	int64_t restarted = now;
	hub_conn *ca2 = hub_conn_open(s.h, &fa2, now);
	sayf(s.h, ca2, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sa);
	CHECK(json_integer_value(jpath(last_of(&fa2, "result"), "data.you.pid")) == s.pa);
	CHECK(json_is_true(jpath(last_of(&fa2, "result"), "data.floor.may_speak")));
	hub_conn *cb2 = hub_conn_open(s.h, &fb2, now);
	sayf(s.h, cb2, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"resume\":\"%s\","
		      "\"last_caption_seq\":%llu}", s.sb, (unsigned long long)seen);
	CHECK(json_integer_value(jpath(last_of(&fb2, "result"), "data.floor.you.position")) == 1);
	/* Only what it has not seen: the line left open at shutdown, completed then. */
	CHECK(count_of(&fb2, "caption") == 1);
	CHECK_STR(json_string_value(json_object_get(last_of(&fb2, "caption"), "text")), "half a");
	hub_conn *cc2 = hub_conn_open(s.h, &fc2, now);
	sayf(s.h, cc2, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"resume\":\"%s\"}", s.sc);
	sayf(s.h, cc2, "{\"type\":\"caption.final\",\"id\":2,\"text\":\"After the restart.\"}");
	json_t *c2 = last_of(&fb2, "caption");
	CHECK(c2 && (uint64_t)json_integer_value(json_object_get(c2, "seq")) > seen);
	/* A new joiner gets a pid no one had. */
	struct fake fn = { 0 };
	hub_conn *cn = hub_conn_open(s.h, &fn, now);
	int pn;
	char *sn = join(s.h, cn, &fn, ",\"name\":\"Newcomer\"", &pn);
	CHECK(pn > s.pc);
	/* A viewer that missed captions gets them, from the ring or the journal. */
	struct fake fv = { 0 };
	hub_conn *cv = hub_conn_open(s.h, &fv, now);
	sayf(s.h, cv, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"V\","
		     "\"last_caption_seq\":0}");
	CHECK(count_of(&fv, "caption") == 3);
	/* The grace period runs from the restart: then the one who did not come back leaves. */
	CHECK(queue_position(&fm2, pg) == 2);
	now = restarted + cfg.limits.resume_grace_s * 1000LL + 1000;
	flush(s.h);
	CHECK(left_seen(&fm2, pg));
	bool ended = false;
	for (int k = 0; k < fm2.n; k++) {
		json_t *m = fm2.seen[k];
		ended |= strcmp(json_string_value(json_object_get(m, "type")), "floor.event") == 0 &&
			 json_integer_value(json_object_get(m, "request")) == rg &&
			 strcmp(json_string_value(json_object_get(m, "event")), "left") == 0;
	}
	CHECK(ended);
	CHECK(!left_seen(&fm2, s.pa) && !left_seen(&fm2, s.pb));
	free(sg);
	free(sn);
	char *s2 = secret_of(&fm2);
	free(s2);
	hub_conn *live[] = { cm2, ca2, cb2, cc2, cn, cv };
	for (size_t i = 0; i < 6; i++)
		hub_conn_closed(s.h, live[i], now);
	fake_reset(&fa2), fake_reset(&fb2), fake_reset(&fm2), fake_reset(&fc2);
	fake_reset(&fn), fake_reset(&fv);
	hub_destroy(s.h);
	session_free(&s);
}

int main(void)
{
	config_default(&cfg);
	char err[256];
	CHECK(config_parse(&cfg, "{\"rooms\":[{\"id\":\"plenary\",\"open\":true},{\"id\":\"other\","
				 "\"open\":true}],\"limits\":{\"resume_grace_s\":30}}",
			   err, sizeof err) == 0);
	rec = recorder_create("/nonexistent", NULL);
	test_drop_and_resume();
	recorder_destroy(rec);
	rec = recorder_create("/nonexistent", NULL);
	test_grace_runs_out();
	recorder_destroy(rec);
	rec = recorder_create("/nonexistent", NULL);
	test_revoked();
	recorder_destroy(rec);
	char dir[] = "/tmp/rostrum-resume-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	struct jwriter_listener l = { .on_durable = on_durable };
	int jerr;
	jw = jwriter_start(&l, NULL, &jerr);
	CHECK(jw != NULL);
	if (jw) {
		rec = recorder_create(dir, jw);
		test_restart();
		CHECK(jwriter_stop(jw) == JWRITER_OK);
		recorder_destroy(rec);
	}
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	config_free(&cfg);
	metrics_reset();
	printf("hub_resume: %d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
