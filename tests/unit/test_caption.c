/*
 * Caption intake driven on fake time: Zoom-style seqs, StreamText backspaces,
 * browser partials and finals, limits, the late-joiner ring and the live set.
 * The last test replays random typing against a tiny reference model; pass a
 * seed as argv[1] to replay a failure.
 */
#include "caption.h"
#include "check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define T0 1425391200000LL /* 2015-03-03T14:00:00Z */
#define MAX_EV 256

static const struct caption_who zoom = { "tok-zoom", "Ana Neves", CAPTION_VIA_HTTP };
static const struct caption_who st = { "tok-st", "Izumi Okutani", CAPTION_VIA_HTTP };
static const struct caption_who web = { "p7", "Lynn St. Amour", CAPTION_VIA_BROWSER };
static const struct caption_who web2 = { "p8", "Anri Van der Spuy", CAPTION_VIA_BROWSER };
static const struct caption_speaker chair = { "Jānis Kārkliņš", "government" };
static const struct caption_speaker markus = { "Markus Kummer", "technical_community" };

/* Events drained from a room, kept until ev_clear(). */
struct evs {
	caption *c[MAX_EV];
	int n;
};

static void ev_clear(struct evs *e)
{
	for (int i = 0; i < e->n; i++)
		caption_unref(e->c[i]);
	e->n = 0;
}

static int drain(caption_room *cr, struct evs *e)
{
	ev_clear(e);
	caption *c;
	while ((c = caption_room_poll(cr))) {
		if (e->n < MAX_EV)
			e->c[e->n++] = c;
		else
			caption_unref(c);
	}
	return e->n;
}

static const struct caption_view *ev(const struct evs *e, int i)
{
	return caption_view(e->c[i]);
}

static caption_room *room_new(const struct caption_limits *l)
{
	int err = -100;
	caption_room *cr = caption_room_create("en", l, &err);
	CHECK(cr && err == CAPTION_OK);
	return cr;
}

/* A push with text, seq and lang given as strings. */
static int push(caption_room *cr, const struct caption_who *who, const char *seq, const char *body,
		int64_t now, int64_t *ack)
{
	struct caption_push p = { .seq = seq, .lang = "en-US", .body = body,
				  .body_len = body ? strlen(body) : 0 };
	int64_t dummy;
	return caption_room_push(cr, who, &p, &markus, now, ack ? ack : &dummy);
}

/* ---- language tags ------------------------------------------------------ */

static void test_lang(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "en", "en" },          { "EN-us", "en-US" },     { "zh-hant-tw", "zh-Hant-TW" },
		{ "es-419", "es-419" },  { "fr-CA", "fr-CA" },     { "de-DE-x-ab", "de-DE-x-ab" },
		{ "x-klingon", "x-klingon" }, { "sgn-BE-FR", "sgn-BE-FR" },
		{ "", NULL },            { "e", NULL },            { "e1", NULL },
		{ "en-", NULL },         { "-en", NULL },          { "en--US", NULL },
		{ "en_US", NULL },       { "12", NULL },           { "en-abcdefghi", NULL },
		{ "en US", NULL },       { "fr-é", NULL },
		{ "aaaaaaaa-bbbbbbbb-cccccccc-dddddddd-e", NULL }, /* 37 bytes */
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		char out[CAPTION_LANG_MAX + 1];
		bool ok = caption_lang_normalize(cases[i].in, out);
		CHECK(ok == (cases[i].out != NULL));
		if (ok && cases[i].out)
			CHECK_STR(out, cases[i].out);
	}
	int err = 0;
	CHECK(caption_room_create("not a tag", NULL, &err) == NULL);
	CHECK(err == CAPTION_E_BAD_LANG);
}

/* ---- Zoom seq ----------------------------------------------------------- */

static void test_zoom_in_order(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	CHECK(push(cr, &zoom, "1", "I'M SENDING ", T0, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1 && ev(&e, 0)->kind == CAPTION_PARTIAL);
	CHECK_STR(ev(&e, 0)->text, "I'M SENDING ");
	CHECK_STR(ev(&e, 0)->lang, "en-US");
	CHECK(push(cr, &zoom, "2", "SEVERAL CAPTIONS.\n", T0 + 500, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1 && ev(&e, 0)->kind == CAPTION_FINAL);
	CHECK_STR(ev(&e, 0)->text, "I'M SENDING SEVERAL CAPTIONS.");
	CHECK(ev(&e, 0)->seq == 2); /* server seq: room-wide, one per event */
	CHECK(caption_room_last_seq(cr, zoom.id) == 2);
	CHECK(caption_room_last_seq(cr, "nobody") == 0);
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_zoom_duplicates(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	int64_t ack1 = 0, ack2 = 0;
	CHECK(push(cr, &zoom, "5", "Good morning.\n", T0, &ack1) == CAPTION_OK);
	CHECK(ack1 == T0);
	CHECK(drain(cr, &e) == 1);
	/* The same seq again is a retry: acknowledged with the first time, shown once. */
	CHECK(push(cr, &zoom, "5", "Good morning.\n", T0 + 3000, &ack2) == CAPTION_DUPLICATE);
	CHECK(ack2 == T0);
	CHECK(drain(cr, &e) == 0);
	CHECK(push(cr, &zoom, "5", "different body, same seq\n", T0 + 4000, &ack2) ==
	      CAPTION_DUPLICATE);
	CHECK(drain(cr, &e) == 0);
	CHECK(caption_room_stats(cr)->duplicates == 2);
	CHECK(caption_room_last_seq(cr, zoom.id) == 5);
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_zoom_out_of_order(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	CHECK(push(cr, &zoom, "10", "ten\n", T0, NULL) == CAPTION_OK);
	CHECK(push(cr, &zoom, "12", "twelve\n", T0 + 1, NULL) == CAPTION_OK);
	/* 11 arrives late, never seen: accepted once, in arrival order. */
	CHECK(push(cr, &zoom, "11", "eleven\n", T0 + 2, NULL) == CAPTION_OK);
	CHECK(push(cr, &zoom, "11", "eleven\n", T0 + 3, NULL) == CAPTION_DUPLICATE);
	CHECK(drain(cr, &e) == 3);
	CHECK_STR(ev(&e, 0)->text, "ten");
	CHECK_STR(ev(&e, 1)->text, "twelve");
	CHECK_STR(ev(&e, 2)->text, "eleven");
	CHECK(caption_room_last_seq(cr, zoom.id) == 12);
	/* Older than the retry window: acknowledged (so the sender stops) but dropped. */
	CHECK(push(cr, &zoom, "1000", "jump\n", T0 + 4, NULL) == CAPTION_OK);
	CHECK(push(cr, &zoom, "2000", "jump\n", T0 + 5, NULL) == CAPTION_OK);
	CHECK(push(cr, &zoom, "12", "twelve\n", T0 + 6, NULL) == CAPTION_STALE);
	CHECK(push(cr, &zoom, "13", "thirteen\n", T0 + 7, NULL) == CAPTION_STALE);
	CHECK(push(cr, &zoom, "1500", "late, inside the window\n", T0 + 8, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 3);
	CHECK(caption_room_last_seq(cr, zoom.id) == 2000);
	CHECK(caption_room_stats(cr)->stale == 2);
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_zoom_bad_seq(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	CHECK(push(cr, &zoom, "3", "three ", T0, NULL) == CAPTION_OK);
	static const struct {
		const char *seq;
		int want;
	} cases[] = {
		{ NULL, CAPTION_E_NO_SEQ },      { "", CAPTION_E_BAD_SEQ },
		{ "abc", CAPTION_E_BAD_SEQ },    { "+4", CAPTION_E_BAD_SEQ },
		{ "-4", CAPTION_E_BAD_SEQ },     { " 4", CAPTION_E_BAD_SEQ },
		{ "0x4", CAPTION_E_BAD_SEQ },    { "4.0", CAPTION_E_BAD_SEQ },
		{ "1234567890123456789", CAPTION_E_BAD_SEQ },
		{ "1004", CAPTION_E_SEQ_FUTURE }, /* last + 1001 */
		{ "999999", CAPTION_E_SEQ_FUTURE },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++)
		CHECK(push(cr, &zoom, cases[i].seq, "bad\n", T0 + 1, NULL) == cases[i].want);
	CHECK(drain(cr, &e) == 1); /* only the first partial */
	CHECK(caption_room_last_seq(cr, zoom.id) == 3);
	CHECK(caption_room_stats(cr)->errors[-CAPTION_E_SEQ_FUTURE] == 2);
	CHECK(caption_room_stats(cr)->errors[-CAPTION_E_NO_SEQ] == 1);
	CHECK(push(cr, &zoom, "1003", "ok\n", T0 + 2, NULL) == CAPTION_OK); /* last + 1000 */
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->text, "three ok");
	ev_clear(&e);
	caption_room_destroy(cr);
}

/* ---- the HTTP adapter --------------------------------------------------- */

static void http(caption_room *cr, const char *method, bool seq_form,
		 const struct caption_who *who, const char *seq, const char *body, int64_t now,
		 struct caption_http_reply *rep)
{
	struct caption_http_req req = {
		.method = method, .seq_form = seq_form, .who = who,
		.push = { .seq = seq, .lang = "en-US", .body = body,
			  .body_len = body ? strlen(body) : 0 },
	};
	caption_http(cr, &req, &chair, now, rep);
}

static void test_http(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	struct caption_http_reply rep;
	http(cr, "POST", false, &zoom, "1", "Hello\n", T0 + 5250, &rep);
	CHECK(rep.status == 200 && rep.err == CAPTION_OK);
	CHECK_STR(rep.body, "2015-03-03T14:00:05.250Z");
	http(cr, "POST", false, &zoom, "1", "Hello\n", T0 + 9000, &rep);
	CHECK(rep.status == 200 && rep.err == CAPTION_DUPLICATE);
	CHECK_STR(rep.body, "2015-03-03T14:00:05.250Z"); /* the same answer as the first time */
	http(cr, "GET", true, &zoom, NULL, NULL, T0, &rep);
	CHECK(rep.status == 200);
	CHECK_STR(rep.body, "1");
	http(cr, "GET", true, &st, NULL, NULL, T0, &rep);
	CHECK_STR(rep.body, "0");

	static const struct {
		const char *method;
		bool seq_form, who;
		const char *seq, *body;
		int status, err;
	} cases[] = {
		{ "GET", false, true, "2", "x", 405, CAPTION_E_METHOD },
		{ "PUT", false, true, "2", "x", 405, CAPTION_E_METHOD },
		{ "POST", true, true, NULL, NULL, 405, CAPTION_E_METHOD },
		{ "POST", false, false, "2", "x", 403, CAPTION_E_UNAUTHORIZED },
		{ "GET", true, false, NULL, NULL, 403, CAPTION_E_UNAUTHORIZED },
		{ "POST", false, true, NULL, "x", 403, CAPTION_E_NO_SEQ },
		{ "POST", false, true, "two", "x", 400, CAPTION_E_BAD_SEQ },
		{ "POST", false, true, "5000", "x", 400, CAPTION_E_SEQ_FUTURE },
		{ "POST", false, true, "2", "\xff", 400, CAPTION_E_BAD_UTF8 },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		http(cr, cases[i].method, cases[i].seq_form, cases[i].who ? &zoom : NULL,
		     cases[i].seq, cases[i].body, T0, &rep);
		CHECK(rep.status == cases[i].status && rep.err == cases[i].err);
		CHECK(strstr(rep.body, caption_err_code(cases[i].err)) == rep.body);
	}
	http(NULL, "POST", false, &zoom, "1", "x", T0, &rep);
	CHECK(rep.status == 400 && rep.err == CAPTION_E_NOT_STARTED);
	CHECK(drain(cr, &e) == 1); /* Hello, once */
	CHECK(caption_http_status(CAPTION_E_TOO_LONG) == 413);
	CHECK(caption_http_status(CAPTION_STALE) == 200);
	CHECK(strcmp(caption_strerror(-999), "unknown caption error") == 0);
	ev_clear(&e);
	caption_room_destroy(cr);
}

/* ---- StreamText backspaces -------------------------------------------- */

static void test_backspace(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	/* The documented example: "lins" + BS + "es". */
	CHECK(push(cr, &st, "1", "This is a test\nWith 2 lins\bes and a delete character", T0,
		   NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 2);
	CHECK(ev(&e, 0)->kind == CAPTION_FINAL);
	CHECK_STR(ev(&e, 0)->text, "This is a test");
	CHECK(ev(&e, 1)->kind == CAPTION_PARTIAL);
	CHECK_STR(ev(&e, 1)->text, "With 2 lines and a delete character");
	/* Backspaces across the previous send, then DEL (0x7f) too. */
	CHECK(push(cr, &st, "2", "\b\b\b\b\b\b\b\b\bword\x7f\x7f\x7f\x7fsign.\n", T0 + 100, NULL) ==
	      CAPTION_OK);
	CHECK(drain(cr, &e) == 1 && ev(&e, 0)->kind == CAPTION_FINAL);
	CHECK_STR(ev(&e, 0)->text, "With 2 lines and a delete sign.");
	/* One backspace erases one code point: 2-, 3- and 4-byte sequences. */
	CHECK(push(cr, &st, "3", "Kārkliņš 中文 😀", T0 + 200, NULL) == CAPTION_OK);
	CHECK(push(cr, &st, "4", "\b\b\b", T0 + 300, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 2);
	CHECK_STR(ev(&e, 1)->text, "Kārkliņš 中");
	CHECK(push(cr, &st, "5", "\b\b\b\bņš ", T0 + 400, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->text, "Kārkliņš ");
	CHECK(push(cr, &st, "6", "\b\b\b\b\b\b\b\b\b", T0 + 500, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->text, ""); /* an empty partial clears the line on screens */
	/* A final is committed: backspaces past the start of the open line are dropped. */
	uint64_t dropped = caption_room_stats(cr)->backspace_dropped;
	CHECK(push(cr, &st, "7", "\b\bNext", T0 + 600, NULL) == CAPTION_OK);
	CHECK(caption_room_stats(cr)->backspace_dropped == dropped + 2);
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->text, "Next");
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_line_breaks(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	/* CR LF split across two pushes is one break; tabs show as spaces; C0 controls go. */
	CHECK(push(cr, &st, "1", "one\ttwo\a\r", T0, NULL) == CAPTION_OK);
	CHECK(push(cr, &st, "2", "\nthree\r\n\n\nfour\rfive\n  \n", T0 + 1, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 4);
	CHECK_STR(ev(&e, 0)->text, "one two");
	CHECK_STR(ev(&e, 1)->text, "three");
	CHECK_STR(ev(&e, 2)->text, "four");
	CHECK_STR(ev(&e, 3)->text, "five");
	for (int i = 0; i < 4; i++)
		CHECK(ev(&e, i)->kind == CAPTION_FINAL);
	/* An empty body is a keep-alive: accepted, nothing shown. */
	CHECK(push(cr, &st, "3", NULL, T0 + 2, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 0);
	ev_clear(&e);
	caption_room_destroy(cr);
}

/* ---- browser intake ----------------------------------------------------- */

static void test_browser(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	const char *t1 = "The Forum is modest";
	const char *t2 = "The Forum is modest in its means";
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, t1, strlen(t1), &chair, T0) ==
	      CAPTION_OK);
	/* The floor changes mid-line: the line keeps the speaker it began with. */
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, t2, strlen(t2), &markus,
				 T0 + 1000) == CAPTION_OK);
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, t2, strlen(t2), &markus,
				 T0 + 1500) == CAPTION_OK); /* unchanged: no event */
	const char *f = "The Forum is modest in its means\nbut not in its aspirations. ";
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, "en", f, strlen(f), &markus, T0 + 2000) ==
	      CAPTION_OK);
	CHECK(drain(cr, &e) == 3);
	CHECK(ev(&e, 0)->kind == CAPTION_PARTIAL && ev(&e, 1)->kind == CAPTION_PARTIAL);
	CHECK(ev(&e, 2)->kind == CAPTION_FINAL);
	CHECK_STR(ev(&e, 2)->text, "The Forum is modest in its means but not in its aspirations.");
	CHECK_STR(ev(&e, 2)->speaker_name, "Jānis Kārkliņš");
	CHECK_STR(ev(&e, 2)->speaker_group, "government");
	CHECK_STR(ev(&e, 2)->captioner, "Lynn St. Amour");
	CHECK(ev(&e, 0)->seq < ev(&e, 1)->seq && ev(&e, 1)->seq < ev(&e, 2)->seq);
	/* The next line starts with the new floor holder; no speaker at all is fine. */
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, "Thank you.", 10, &markus,
				 T0 + 3000) == CAPTION_OK);
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, "[applause]", 10, NULL, T0 + 4000) ==
	      CAPTION_OK);
	CHECK(drain(cr, &e) == 2);
	CHECK_STR(ev(&e, 0)->speaker_name, "Markus Kummer");
	CHECK(ev(&e, 1)->speaker_name == NULL && ev(&e, 1)->speaker_group == NULL);
	/* A blank final is refused; a blank partial clears. */
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, " \n ", 3, NULL, T0) ==
	      CAPTION_E_EMPTY);
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, "um", 2, NULL, T0) == CAPTION_OK);
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, "", 0, NULL, T0) == CAPTION_OK);
	CHECK(drain(cr, &e) == 2);
	CHECK_STR(ev(&e, 1)->text, "");
	/* After a cleared line the next one takes the floor holder of its own start. */
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, "So", 2, &markus, T0) ==
	      CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->speaker_name, "Markus Kummer");
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_message_json(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	const char *txt = "Ministério das Relações <Exteriores> & \"quotes\"";
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, "pt-br", txt, strlen(txt), &chair,
				 T0 + 42) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	rs_msg *m = caption_msg(e.c[0]);
	CHECK(m == caption_msg(e.c[0])); /* built once: every listener gets these bytes */
	json_error_t je;
	json_t *j = json_loadb((const char *)rs_msg_payload(m), rs_msg_len(m), 0, &je);
	CHECK(j != NULL);
	CHECK_STR(json_string_value(json_object_get(j, "type")), "caption");
	CHECK_STR(json_string_value(json_object_get(j, "kind")), "final");
	CHECK_STR(json_string_value(json_object_get(j, "lang")), "pt-BR");
	CHECK_STR(json_string_value(json_object_get(j, "text")), txt);
	CHECK(json_integer_value(json_object_get(j, "t")) == T0 + 42);
	CHECK(json_integer_value(json_object_get(j, "seq")) == 1);
	CHECK_STR(json_string_value(json_object_get(j, "captioner")), "Lynn St. Amour");
	CHECK_STR(json_string_value(json_object_get(j, "captioner_id")), "p7");
	json_t *sp = json_object_get(j, "speaker");
	CHECK_STR(json_string_value(json_object_get(sp, "name")), "Jānis Kārkliņš");
	CHECK_STR(json_string_value(json_object_get(sp, "group")), "government");
	json_decref(j);
	json_t *rec = caption_journal_record(e.c[0]);
	CHECK_STR(json_string_value(json_object_get(rec, "kind")), "caption");
	CHECK_STR(json_string_value(json_object_get(rec, "text")), txt);
	CHECK(json_integer_value(json_object_get(rec, "t")) == T0 + 42);
	CHECK(json_integer_value(json_object_get(rec, "seq")) == 1);
	CHECK(json_object_get(rec, "speaker") && json_object_get(rec, "captioner"));
	json_decref(rec);
	/* A partial has no journal record; a missing speaker serializes as null. */
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, "x", 1, NULL, T0) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	CHECK(caption_journal_record(e.c[0]) == NULL);
	CHECK(strstr((const char *)rs_msg_payload(caption_msg(e.c[0])), "\"speaker\":null"));
	/* References: the caption outlives the room while someone holds it. */
	caption *kept = caption_ref(e.c[0]);
	ev_clear(&e);
	caption_room_destroy(cr);
	CHECK_STR(caption_view(kept)->text, "x");
	caption_unref(kept);
	caption_unref(NULL);
}

static void test_parse_request(void)
{
	static const struct {
		const char *json;
		int rc;
		const char *field;
		int kind;
	} cases[] = {
		{ "{\"type\":\"caption.final\",\"id\":1,\"text\":\"Hi\",\"lang\":\"en\"}", CAPTION_OK,
		  NULL, CAPTION_FINAL },
		{ "{\"type\":\"caption.partial\",\"id\":\"a\",\"text\":\"\"}", CAPTION_OK, NULL,
		  CAPTION_PARTIAL },
		{ "{\"type\":\"caption\",\"id\":1,\"text\":\"Hi\"}", CAPTION_E_BAD_REQUEST, "type", 0 },
		{ "{\"type\":\"caption.final\",\"id\":1}", CAPTION_E_BAD_REQUEST, "text", 0 },
		{ "{\"type\":\"caption.final\",\"text\":5}", CAPTION_E_BAD_REQUEST, "text", 0 },
		{ "{\"type\":\"caption.final\",\"text\":\"a\",\"lang\":7}", CAPTION_E_BAD_REQUEST,
		  "lang", 0 },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		json_t *j = json_loads(cases[i].json, 0, NULL);
		struct caption_request rq;
		const char *field = "unset";
		int rc = caption_parse_request(j, &rq, &field);
		CHECK(rc == cases[i].rc);
		if (cases[i].field)
			CHECK_STR(field, cases[i].field);
		else
			CHECK(field == NULL && rq.kind == (enum caption_kind)cases[i].kind);
		json_decref(j);
	}
	json_t *j = json_loads("{\"type\":\"caption.final\",\"text\":\"Olá\",\"lang\":\"pt\"}", 0,
			       NULL);
	struct caption_request rq;
	const char *field;
	CHECK(caption_parse_request(j, &rq, &field) == CAPTION_OK);
	CHECK(rq.len == 4 && strcmp(rq.text, "Olá") == 0 && strcmp(rq.lang, "pt") == 0);
	json_decref(j);
}

/* The protocol examples are accepted, and the live set has the documented keys. */
static void test_examples(void)
{
	const char *src = getenv("ROSTRUM_SOURCE");
	caption_room *cr = room_new(NULL);
	static const char *const names[] = { "client.caption.partial.json", "client.caption.final.json" };
	for (size_t i = 0; i < RS_ARRAY_LEN(names); i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/protocol/examples/%s", src ? src : ".", names[i]);
		json_t *msg = json_load_file(path, 0, NULL);
		CHECK(msg != NULL);
		struct caption_request rq;
		const char *field;
		CHECK(msg && caption_parse_request(msg, &rq, &field) == CAPTION_OK);
		if (msg)
			CHECK(caption_room_input(cr, &web, rq.kind, rq.lang, rq.text, rq.len, &chair,
						 T0) == CAPTION_OK);
		json_decref(msg);
	}
	char path[1024];
	snprintf(path, sizeof path, "%s/protocol/examples/server.caption.captioners.json", src ? src : ".");
	json_t *ex = json_load_file(path, 0, NULL);
	json_t *want = json_array_get(json_object_get(ex, "captioners"), 0);
	json_t *got = caption_room_live_json(cr);
	json_t *mine = json_array_get(got, 0);
	CHECK(want && mine && json_object_size(want) == json_object_size(mine));
	const char *key;
	json_t *v;
	json_object_foreach(want, key, v)
		CHECK(json_typeof(v) == json_typeof(json_object_get(mine, key)));
	json_decref(got);
	json_decref(ex);
	caption *c;
	int n = 0;
	while ((c = caption_room_poll(cr))) {
		n++;
		caption_unref(c);
	}
	CHECK(n == 2);
	caption_room_destroy(cr);
}

/* ---- bad input, limits ---------------------------------------------------- */

static void test_utf8_rejection(void)
{
	caption_room *cr = room_new(NULL);
	struct evs e = { 0 };
	CHECK(push(cr, &st, "1", "kept ", T0, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	static const char *const bad[] = {
		"\xc3",             /* truncated */
		"\x80 lone",        /* continuation without a lead */
		"\xc0\xaf",         /* overlong '/' */
		"\xed\xa0\x80",     /* UTF-16 surrogate */
		"\xf4\x90\x80\x80", /* past U+10FFFF */
		"ok \xfe",
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(bad); i++) {
		CHECK(push(cr, &st, "2", bad[i], T0 + 1, NULL) == CAPTION_E_BAD_UTF8);
		CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, bad[i], strlen(bad[i]), NULL,
					 T0) == CAPTION_E_BAD_UTF8);
	}
	const char nul[] = { 'a', '\0', 'b' };
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, nul, 3, NULL, T0) ==
	      CAPTION_E_BAD_UTF8);
	CHECK(caption_room_stats(cr)->errors[-CAPTION_E_BAD_UTF8] == 2 * RS_ARRAY_LEN(bad) + 1);
	/* Nothing moved: no event, seq 2 still free, the open line intact. */
	CHECK(drain(cr, &e) == 0);
	CHECK(caption_room_last_seq(cr, st.id) == 1);
	CHECK(push(cr, &st, "2", "text.\n", T0 + 2, NULL) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->text, "kept text.");
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_limits(void)
{
	struct caption_limits l;
	caption_limits_default(&l);
	l.text_max = 40;
	l.body_max = 200;
	caption_room *cr = room_new(&l);
	struct evs e = { 0 };
	char big[256];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	CHECK(push(cr, &st, "1", big, T0, NULL) == CAPTION_E_TOO_LONG);
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, big, 41, NULL, T0) ==
	      CAPTION_E_TOO_LONG);
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, big, 40, NULL, T0) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1 && strlen(ev(&e, 0)->text) == 40);
	/* A pushed line longer than text_max is cut into finals at word boundaries. */
	const char *para = "The inaugural meeting of the IGF was held in Athens, on 30 October "
			   "to 2 November 2006. As a follow-up the Secretariat issued a call.";
	CHECK(push(cr, &st, "1", para, T0 + 1, NULL) == CAPTION_OK);
	int n = drain(cr, &e);
	CHECK(n >= 4);
	struct rs_buf joined = { 0 };
	for (int i = 0; i < n; i++) {
		const struct caption_view *v = ev(&e, i);
		CHECK(strlen(v->text) <= 40);
		if (v->kind != CAPTION_FINAL)
			continue;
		CHECK(v->text[0] != ' ' && v->text[strlen(v->text) - 1] != ' ');
		rs_buf_printf(&joined, "%s%s", joined.len ? " " : "", v->text);
	}
	CHECK(ev(&e, n - 1)->kind == CAPTION_PARTIAL);
	rs_buf_printf(&joined, " %s", ev(&e, n - 1)->text);
	CHECK_STR(joined.p, para);
	free(joined.p);
	/* A word longer than the line is cut at a code point boundary. */
	char word[128] = "";
	for (int i = 0; i < 30; i++)
		strcat(word, "ā");
	CHECK(push(cr, &st, "2", word, T0 + 2, NULL) == CAPTION_OK);
	n = drain(cr, &e);
	for (int i = 0; i < n; i++)
		CHECK(rs_utf8_valid(ev(&e, i)->text, strlen(ev(&e, i)->text)));
	CHECK(caption_room_stats(cr)->split_lines >= 4);
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_tracks_and_sources(void)
{
	struct caption_limits l;
	caption_limits_default(&l);
	l.max_sources = 2;
	caption_room *cr = room_new(&l);
	struct evs e = { 0 };
	/* Changing language mid-line completes the line in the old track. */
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, "en", "Hello", 5, NULL, T0) ==
	      CAPTION_OK);
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, "FR", "Bonjour", 7, NULL, T0 + 1) ==
	      CAPTION_OK);
	CHECK(drain(cr, &e) == 3);
	CHECK(ev(&e, 1)->kind == CAPTION_FINAL);
	CHECK_STR(ev(&e, 1)->lang, "en");
	CHECK_STR(ev(&e, 2)->lang, "fr");
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, "e n", "x", 1, NULL, T0) ==
	      CAPTION_E_BAD_LANG);
	struct caption_push p = { .seq = "1", .content_language = "es-ES", .body = "Hola\n",
				  .body_len = 5 };
	int64_t ack;
	CHECK(caption_room_push(cr, &st, &p, NULL, T0 + 2, &ack) == CAPTION_OK);
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->lang, "es-ES"); /* Content-Language when &lang is absent */
	json_t *tracks = caption_room_tracks_json(cr);
	char *s = json_dumps(tracks, JSON_COMPACT);
	CHECK_STR(s, "[\"en\",\"fr\",\"es-ES\"]");
	free(s);
	json_decref(tracks);
	/* Two slots, both live: a third captioner is refused until one goes idle. */
	CHECK(caption_room_input(cr, &web2, CAPTION_FINAL, NULL, "x", 1, NULL, T0 + 3) ==
	      CAPTION_E_TOO_MANY_SOURCES);
	CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, "done", 4, NULL, T0 + 4) ==
	      CAPTION_OK);
	caption_room_tick(cr, T0 + 4 + l.live_ms);
	CHECK(caption_room_input(cr, &web2, CAPTION_FINAL, NULL, "x", 1, NULL, T0 + 5 + l.live_ms) ==
	      CAPTION_OK);
	/* Sixteen languages at most. */
	for (int i = 0; i < CAPTION_MAX_TRACKS; i++) {
		char tag[8];
		snprintf(tag, sizeof tag, "q%c%c", 'a' + i / 26, 'a' + i % 26);
		int rc = caption_room_input(cr, &web2, CAPTION_FINAL, tag, "x", 1, NULL, T0 + 6);
		CHECK(rc == (i < CAPTION_MAX_TRACKS - 3 ? CAPTION_OK : CAPTION_E_TOO_MANY_TRACKS));
	}
	drain(cr, &e);
	ev_clear(&e);
	caption_room_destroy(cr);
}

/* ---- ring, timers, live set ---------------------------------------------- */

static void test_ring(void)
{
	struct caption_limits l;
	caption_limits_default(&l);
	l.ring_ms = 60 * 1000;
	l.ring_max = 5;
	caption_room *cr = room_new(&l);
	struct evs e = { 0 };
	for (int i = 0; i < 8; i++) {
		char t[16];
		snprintf(t, sizeof t, "line %d", i);
		CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, t, strlen(t), NULL,
					 T0 + i * 10000) == CAPTION_OK);
	}
	CHECK(caption_room_input(cr, &web2, CAPTION_PARTIAL, NULL, "typing", 6, NULL, T0 + 75000) ==
	      CAPTION_OK);
	drain(cr, &e);
	caption *bl[16];
	/* At most five entries: lines 3..7, then the open partial. */
	size_t n = caption_room_backlog(cr, T0 + 75000, bl, 16);
	CHECK(n == 6);
	CHECK_STR(caption_view(bl[0])->text, "line 3");
	CHECK_STR(caption_view(bl[4])->text, "line 7");
	CHECK(caption_view(bl[5])->kind == CAPTION_PARTIAL);
	/* Lines older than a minute leave: at +115 s only lines 6 and 7 (t 60 s, 70 s) stay. */
	n = caption_room_backlog(cr, T0 + 115000, bl, 16);
	CHECK(n == 3);
	CHECK_STR(caption_view(bl[0])->text, "line 6");
	/* cap bounds what is written, the return value says how many there are. */
	CHECK(caption_room_backlog(cr, T0 + 115000, bl, 1) == 3);
	/* The byte budget applies too. */
	ev_clear(&e);
	caption_room_destroy(cr);

	l.ring_max = 100;
	l.ring_bytes = 1000;
	cr = room_new(&l);
	for (int i = 0; i < 50; i++)
		CHECK(caption_room_input(cr, &web, CAPTION_FINAL, NULL, "0123456789", 10, NULL,
					 T0 + i) == CAPTION_OK);
	n = caption_room_backlog(cr, T0 + 50, bl, 16);
	size_t bytes = 0;
	for (size_t i = 0; i < n && i < 16; i++)
		bytes += rs_msg_len(caption_msg(bl[i]));
	CHECK(n > 0 && n < 50 && bytes <= 1000);
	CHECK(caption_room_stats(cr)->ring_evicted == 50 - n);
	drain(cr, &e);
	ev_clear(&e);
	caption_room_destroy(cr);
}

static void test_live_and_timers(void)
{
	struct caption_limits l;
	caption_limits_default(&l);
	caption_room *cr = room_new(&l);
	struct evs e = { 0 };
	CHECK(caption_room_tick(cr, T0) == CAPTION_NO_DEADLINE);
	CHECK(!caption_room_live_changed(cr));
	CHECK(push(cr, &zoom, "1", "words without a break", T0, NULL) == CAPTION_OK);
	CHECK(caption_room_input(cr, &web, CAPTION_PARTIAL, NULL, "half a", 6, &chair, T0 + 1000) ==
	      CAPTION_OK);
	CHECK(caption_room_live_changed(cr));
	CHECK(!caption_room_live_changed(cr)); /* once */
	json_t *live = caption_room_live_json(cr);
	CHECK(json_array_size(live) == 2);
	CHECK_STR(json_string_value(json_object_get(json_array_get(live, 0), "via")), "http");
	CHECK_STR(json_string_value(json_object_get(json_array_get(live, 1), "name")),
		  "Lynn St. Amour");
	json_decref(live);
	rs_msg *m = caption_room_live_msg(cr);
	CHECK(strstr((const char *)rs_msg_payload(m), "\"type\":\"caption.captioners\""));
	rs_msg_unref(m);
	drain(cr, &e);
	/* The next deadline is the HTTP line's idle final. */
	int64_t next = caption_room_tick(cr, T0 + 10);
	CHECK(next == T0 + l.idle_final_ms);
	CHECK(caption_room_tick(cr, next) == T0 + l.live_ms);
	CHECK(drain(cr, &e) == 1 && ev(&e, 0)->kind == CAPTION_FINAL);
	CHECK_STR(ev(&e, 0)->text, "words without a break");
	CHECK(ev(&e, 0)->t_ms == T0); /* when the text was last changed */
	/* The browser line stays open until its captioner goes silent. */
	CHECK(caption_room_tick(cr, T0 + l.live_ms) == T0 + 1000 + l.live_ms);
	CHECK(caption_room_live_changed(cr));
	live = caption_room_live_json(cr);
	CHECK(json_array_size(live) == 1);
	json_decref(live);
	CHECK(drain(cr, &e) == 0);
	CHECK(caption_room_tick(cr, T0 + 1000 + l.live_ms) == T0 + l.ring_ms);
	CHECK(drain(cr, &e) == 1);
	CHECK_STR(ev(&e, 0)->text, "half a");
	CHECK_STR(ev(&e, 0)->speaker_name, "Jānis Kārkliņš");
	live = caption_room_live_json(cr);
	CHECK(json_array_size(live) == 0);
	json_decref(live);
	/* The ring empties after ring_ms and the room needs no timer. */
	CHECK(caption_room_tick(cr, T0 + 1000 + l.live_ms + l.ring_ms) == CAPTION_NO_DEADLINE);
	/* A captioner who leaves: its open line becomes final at once. */
	CHECK(caption_room_input(cr, &web2, CAPTION_PARTIAL, NULL, "bye", 3, NULL, T0 + 9e5) ==
	      CAPTION_OK);
	caption_room_leave(cr, web2.id, T0 + 9e5 + 1);
	caption_room_leave(cr, "unknown", T0);
	CHECK(drain(cr, &e) == 2 && ev(&e, 1)->kind == CAPTION_FINAL);
	CHECK(caption_room_live_changed(cr));
	ev_clear(&e);
	caption_room_destroy(cr);
}

/* ---- randomized typing against a reference model ------------------------ */

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*: fixed, portable, good enough for test input */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ULL) >> 32);
}

/* The model: the open line as bytes; finals joined with '|'. */
struct model {
	struct rs_buf line, finals;
};

static void model_apply(struct model *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\b') {
			while (m->line.len > 0 &&
			       ((unsigned char)m->line.p[--m->line.len] & 0xc0) == 0x80)
				;
			if (m->line.p)
				m->line.p[m->line.len] = '\0';
		} else if (c == '\n') {
			const char *p = m->line.len ? m->line.p : "";
			size_t a = strspn(p, " "), b = m->line.len;
			while (b > a && p[b - 1] == ' ')
				b--;
			if (b > a)
				rs_buf_printf(&m->finals, "%.*s|", (int)(b - a), p + a);
			m->line.len = 0;
		} else {
			rs_buf_append(&m->line, s + i, 1);
		}
	}
}

static void random_chunk(struct rs_buf *b)
{
	static const char *const pieces[] = { "a", "b", " ", "é", "ņ", "中", "😀", "\b", "\n",
					      "Kā", "\b\b" };
	int n = 1 + (int)(rng() % 12);
	for (int i = 0; i < n; i++) {
		const char *p = pieces[rng() % RS_ARRAY_LEN(pieces)];
		rs_buf_append(b, p, strlen(p));
	}
}

static int random_run(uint64_t seed)
{
	int failed_before = check_failed;
	rng_state = seed ? seed : 1;
	caption_room *cr = room_new(NULL);
	struct model m = { 0 };
	struct rs_buf got = { 0 };
	struct rs_buf prev = { 0 };
	struct evs e = { 0 };
	uint64_t seq = 0;
	char *partial = rs_strdup("");
	for (int step = 0; step < 400; step++) {
		char seqs[24];
		bool retry = seq > 0 && rng() % 5 == 0;
		struct rs_buf chunk = { 0 };
		if (retry) {
			rs_buf_append(&chunk, prev.p, prev.len);
		} else {
			random_chunk(&chunk);
			seq++;
			model_apply(&m, chunk.p, chunk.len);
			prev.len = 0;
			rs_buf_append(&prev, chunk.p, chunk.len);
		}
		snprintf(seqs, sizeof seqs, "%llu", (unsigned long long)seq);
		int rc = push(cr, &st, seqs, chunk.p, T0 + step, NULL);
		CHECK(rc == (retry ? CAPTION_DUPLICATE : CAPTION_OK));
		free(chunk.p);
		drain(cr, &e);
		for (int i = 0; i < e.n; i++) {
			const struct caption_view *v = ev(&e, i);
			if (v->kind == CAPTION_FINAL)
				rs_buf_printf(&got, "%s|", v->text);
			else {
				free(partial);
				partial = rs_strdup(v->text);
			}
		}
		if (e.n && ev(&e, e.n - 1)->kind == CAPTION_FINAL) {
			free(partial);
			partial = rs_strdup("");
		}
	}
	CHECK_STR(got.len ? got.p : "", m.finals.len ? m.finals.p : "");
	CHECK_STR(partial, m.line.len ? m.line.p : "");
	free(partial);
	free(got.p);
	free(prev.p);
	free(m.line.p);
	free(m.finals.p);
	ev_clear(&e);
	caption_room_destroy(cr);
	return check_failed - failed_before;
}

static void test_random(uint64_t seed, bool given)
{
	int runs = given ? 1 : 20;
	for (int i = 0; i < runs; i++) {
		uint64_t s = seed + (uint64_t)i;
		if (random_run(s)) {
			fprintf(stderr, "random typing failed: rerun with seed %llu\n",
				(unsigned long long)s);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	bool given = argc > 1;
	uint64_t seed = given ? strtoull(argv[1], NULL, 10) : 20151103;
	test_lang();
	test_zoom_in_order();
	test_zoom_duplicates();
	test_zoom_out_of_order();
	test_zoom_bad_seq();
	test_http();
	test_backspace();
	test_line_breaks();
	test_browser();
	test_message_json();
	test_parse_request();
	test_examples();
	test_utf8_rejection();
	test_limits();
	test_tracks_and_sources();
	test_ring();
	test_live_and_timers();
	test_random(seed, given);
	return check_done();
}
