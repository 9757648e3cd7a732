/*
 * Caption numbering across a restart: seqs are reserved ahead in the
 * journal, so a room rebuilt from its records numbers past every seq a
 * client may have seen (partials included), and its late-joiner ring holds
 * the journaled finals with their original seqs.
 */
#include "caption.h"
#include "check.h"

#include <string.h>

static const struct caption_who who = { .id = "p3", .name = "Lynn", .via = CAPTION_VIA_BROWSER };

/* One drained pass: the reservation first (as the hub journals it), then the finals. */
static uint64_t drain(caption_room *cr, json_t *journal)
{
	uint64_t upto, last = 0;
	if (caption_room_seq_reservation(cr, &upto))
		json_array_append_new(journal, json_pack("{s:s, s:i, s:I}", "kind", "caption_seq",
							 "t", 1, "upto", (json_int_t)upto));
	caption *c;
	while ((c = caption_room_poll(cr))) {
		last = caption_view(c)->seq;
		json_t *rec = caption_journal_record(c);
		if (rec)
			json_array_append_new(journal, rec);
		caption_unref(c);
	}
	return last;
}

/* What the hub does at start: the largest seq or reservation, then the finals into the ring. */
static caption_room *rebuild(json_t *journal, int64_t now)
{
	int err;
	caption_room *cr = caption_room_create("en", NULL, &err);
	uint64_t last = 0;
	size_t i;
	json_t *rec;
	json_array_foreach(journal, i, rec) {
		const char *kind = json_string_value(json_object_get(rec, "kind"));
		if (strcmp(kind, "caption_seq") == 0) {
			uint64_t u = (uint64_t)json_integer_value(json_object_get(rec, "upto"));
			last = u > last ? u : last;
		} else if (strcmp(kind, "caption") == 0) {
			CHECK(caption_room_restore_final(cr, rec, now) == CAPTION_OK);
		}
	}
	caption_room_restore_seq(cr, last);
	return cr;
}

static void continues(void)
{
	int err;
	caption_room *cr = caption_room_create("en", NULL, &err);
	json_t *journal = json_array();
	int64_t now = 1000000;
	uint64_t seen = 0;
	char text[64];
	/* An hour of typing: partials by the thousand, a final now and then. */
	for (int i = 0; i < 9000; i++) {
		snprintf(text, sizeof text, "word %d", i);
		enum caption_kind k = i % 50 == 49 ? CAPTION_FINAL : CAPTION_PARTIAL;
		CHECK(caption_room_input(cr, &who, k, NULL, text, strlen(text), NULL, now += 100) ==
		      CAPTION_OK);
		uint64_t s = drain(cr, journal);
		seen = s > seen ? s : seen;
	}
	/* The last partials after the last final are never journaled. */
	CHECK(caption_room_input(cr, &who, CAPTION_PARTIAL, NULL, "unfinished", 10, NULL, now) ==
	      CAPTION_OK);
	seen = drain(cr, journal);
	caption_room_destroy(cr);

	caption_room *r = rebuild(journal, now + 5000);
	CHECK(caption_room_next_seq(r) > seen);
	CHECK(caption_room_next_seq(r) <= seen + CAPTION_SEQ_BLOCK + 1);
	/* A reservation is due at once, before the first caption after the restart. */
	uint64_t upto;
	CHECK(caption_room_seq_reservation(r, &upto) && upto >= caption_room_next_seq(r));
	CHECK(!caption_room_seq_reservation(r, &upto));
	/* The ring holds the journaled finals, with their seqs, oldest first. */
	caption *list[512];
	size_t n = caption_room_backlog(r, now + 5000, list, 512);
	CHECK(n > 0 && n <= 200);
	for (size_t i = 1; i < n && i < 512; i++)
		CHECK(caption_view(list[i])->seq > caption_view(list[i - 1])->seq);
	CHECK(n > 0 && caption_view(list[n - 1])->kind == CAPTION_FINAL);
	CHECK_STR(caption_view(list[n - 1])->text, "word 8999");
	CHECK(rs_msg_len(caption_msg(list[n - 1])) > 0);
	/* New captions number past everything seen before. */
	CHECK(caption_room_input(r, &who, CAPTION_FINAL, NULL, "after", 5, NULL, now + 6000) ==
	      CAPTION_OK);
	caption *c = caption_room_poll(r);
	CHECK(c && caption_view(c)->seq > seen);
	caption_unref(c);
	caption_room_destroy(r);
	json_decref(journal);
}

static void bad_finals(void)
{
	int err;
	caption_room *cr = caption_room_create("en", NULL, &err);
	const char *recs[] = {
		"{\"kind\": \"caption\", \"t\": 1, \"lang\": \"en\", \"text\": \"x\", "
		"\"captioner\": \"a\", \"captioner_id\": \"p1\"}",
		"{\"kind\": \"caption\", \"seq\": 0, \"t\": 1, \"lang\": \"en\", \"text\": \"x\", "
		"\"captioner\": \"a\", \"captioner_id\": \"p1\"}",
		"{\"kind\": \"caption\", \"seq\": 3, \"t\": 1, \"lang\": \"!!\", \"text\": \"x\", "
		"\"captioner\": \"a\", \"captioner_id\": \"p1\"}",
		"{\"kind\": \"caption\", \"seq\": 3, \"t\": 1, \"lang\": \"en\", "
		"\"captioner\": \"a\", \"captioner_id\": \"p1\"}",
	};
	for (size_t i = 0; i < sizeof recs / sizeof *recs; i++) {
		json_t *rec = json_loads(recs[i], 0, NULL);
		CHECK(caption_room_restore_final(cr, rec, 10) == CAPTION_E_BAD_REQUEST);
		json_decref(rec);
	}
	CHECK(caption_room_next_seq(cr) == 1);
	caption_room_destroy(cr);
}

int main(void)
{
	continues();
	bad_finals();
	printf("caption_restore: %d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
