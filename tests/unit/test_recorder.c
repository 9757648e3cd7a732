/*
 * The recorder's index over journal files: what recovery finds in a real
 * journal (counts, length, recordings, open caption lines), the file reader
 * (limits, torn tails, foreign files), iteration of a room's records, and
 * that appends keep no records in memory.
 */
#include "check.h"
#include "journal.h"
#include "recorder.h"

#include <malloc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static void append_rec(FILE *f, const char *json)
{
	uint8_t buf[8192];
	size_t n;
	if (journal_encode(json, strlen(json), buf, sizeof buf, &n) != JOURNAL_OK)
		abort();
	fwrite(buf, 1, n, f);
}

/* A journal of a session: recordings, captioners over HTTP, many joins. Returns its record count. */
static size_t write_journal(const char *path, size_t joins)
{
	FILE *f = fopen(path, "wb");
	uint8_t hdr[JOURNAL_HEADER_LEN];
	journal_header(hdr);
	fwrite(hdr, 1, sizeof hdr, f);
	static const char *const recs[] = {
		"{\"kind\":\"session\",\"t\":1000,\"room\":\"r1\",\"title\":\"Plenary\"}",
		"{\"kind\":\"recording\",\"event\":\"start\",\"file\":\"recordings/r1-1.opus\",\"start_t\":1001,\"t\":1001}",
		"{\"kind\":\"caption_open\",\"t\":1100,\"captioner_id\":\"t:A\",\"text\":\"Good\"}",
		"{\"kind\":\"caption_open\",\"t\":1200,\"captioner_id\":\"t:A\",\"text\":\"Good morning\"}",
		"{\"kind\":\"caption_open\",\"t\":1300,\"captioner_id\":\"t:B\",\"text\":\"Done soon\"}",
		"{\"kind\":\"caption\",\"t\":1400,\"captioner_id\":\"t:B\",\"text\":\"Done soon.\"}",
		"{\"kind\":\"caption_open\",\"t\":1500,\"captioner_id\":\"t:C\",\"text\":\"erased\"}",
		"{\"kind\":\"caption_open\",\"t\":1600,\"captioner_id\":\"t:C\",\"text\":\"\"}",
		"{\"kind\":\"recording\",\"event\":\"stop\",\"file\":\"recordings/r1-1.opus\",\"start_t\":1001,\"t\":1700}",
		"{\"kind\":\"recording\",\"event\":\"start\",\"file\":\"recordings/r1-2.opus\",\"start_t\":1800,\"t\":1800}",
		"not json at all",
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(recs); i++)
		append_rec(f, recs[i]);
	for (size_t i = 0; i < joins; i++) {
		char j[128];
		snprintf(j, sizeof j, "{\"kind\":\"join\",\"t\":%zu,\"name\":\"P%zu\"}", 2000 + i, i);
		append_rec(f, j);
	}
	fclose(f);
	return RS_ARRAY_LEN(recs) + joins;
}

static long file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void test_recovered_index(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/journal/r1.rsj", dir);
	size_t n = write_journal(path, 500);
	recorder *r = recorder_create(dir, NULL);
	char err[256];
	CHECK(recorder_recover_all(r, err, sizeof err) == RECORDER_OK);
	struct recorder_room_info info;
	CHECK(recorder_room_info(r, "r1", &info));
	CHECK(info.records == n);
	CHECK((long)info.bytes == file_size(path));
	CHECK(!recorder_room_info(r, "nowhere", &info));

	json_t *recs = recorder_recordings(r, "r1");
	CHECK(json_array_size(recs) == 2);
	json_t *a = json_array_get(recs, 0), *b = json_array_get(recs, 1);
	CHECK_STR(json_string_value(json_object_get(a, "file")), "recordings/r1-1.opus");
	CHECK(json_is_false(json_object_get(a, "active")));
	CHECK(json_integer_value(json_object_get(a, "stop_t")) == 1700);
	CHECK(json_integer_value(json_object_get(a, "start_t")) == 1001);
	CHECK(json_is_true(json_object_get(b, "active")) && !json_object_get(b, "stop_t"));
	json_decref(recs);

	/* Only A's line is open: B completed its line, C erased its own. */
	json_t *open = recorder_open_lines(r, "r1");
	CHECK(json_array_size(open) == 1);
	CHECK_STR(json_string_value(json_object_get(json_array_get(open, 0), "text")),
		  "Good morning");
	json_decref(open);

	/* A final of A (as recovery appends) closes it; the count and length follow. */
	json_t *fin = json_pack("{s:s, s:I, s:s, s:s}", "kind", "caption", "t", (json_int_t)3000,
				"captioner_id", "t:A", "text", "Good morning");
	CHECK(recorder_append(r, "r1", NULL, fin, NULL, NULL) == RECORDER_OK);
	char *text = json_dumps(fin, JSON_COMPACT);
	CHECK(recorder_room_info(r, "r1", &info) && info.records == n + 1);
	CHECK((long)info.bytes == file_size(path) + (long)journal_frame_len(strlen(text)));
	free(text);
	json_decref(fin);
	open = recorder_open_lines(r, "r1");
	CHECK(json_array_size(open) == 0);
	json_decref(open);
	recorder_destroy(r);
}

struct counter {
	size_t n, stop_at;
	size_t last_off;
};

static int count_cb(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	(void)payload;
	(void)len;
	struct counter *c = ctx;
	c->last_off = offset;
	return ++c->n == c->stop_at;
}

static int count_json(void *ctx, const json_t *rec)
{
	struct counter *c = ctx;
	c->n += json_is_object(rec);
	return 0;
}

static void test_reader(void)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "%s/journal/r2.rsj", dir);
	size_t n = write_journal(path, 20000); /* about 1 MB: many reads of the window */
	struct counter c = { 0 };
	struct recorder_scan st;
	CHECK(recorder_scan_journal(path, 0, count_cb, &c, &st, err, sizeof err) == RECORDER_OK);
	CHECK(c.n == n && st.records == n && st.scan == JOURNAL_OK);
	CHECK((long)st.good_len == file_size(path));

	/* A limit ends the read at a record boundary: a snapshot of the file. */
	struct counter c2 = { .stop_at = 5000 };
	CHECK(recorder_scan_journal(path, 0, count_cb, &c2, &st, err, sizeof err) == RECORDER_OK);
	uint64_t limit = st.good_len;
	struct counter c3 = { 0 };
	CHECK(recorder_scan_journal(path, limit, count_cb, &c3, &st, err, sizeof err) == RECORDER_OK);
	CHECK(c3.n == 5000 && st.good_len == limit);

	/* A torn tail (a crash mid-append) is left out; the rest is read. */
	FILE *f = fopen(path, "ab");
	fwrite("\x40\x00\x00\x00\x01\x02", 1, 6, f);
	fclose(f);
	struct counter c4 = { 0 };
	CHECK(recorder_scan_journal(path, 0, count_cb, &c4, &st, err, sizeof err) == RECORDER_OK);
	CHECK(c4.n == n && st.scan == JOURNAL_TORN);

	/* Iteration of a room parses each record; the one that is not JSON is skipped. */
	recorder *r = recorder_create(dir, NULL);
	struct counter c5 = { 0 };
	CHECK(recorder_foreach(r, "r2", count_json, &c5) == RECORDER_OK);
	CHECK(c5.n == n - 1);
	struct counter c6 = { 0 };
	CHECK(recorder_foreach(r, "absent", count_json, &c6) == RECORDER_OK && c6.n == 0);
	recorder_destroy(r);

	/* Not a journal: an error, not records. */
	snprintf(path, sizeof path, "%s/other.bin", dir);
	f = fopen(path, "wb");
	fputs("GIF89a this is not a journal at all", f);
	fclose(f);
	struct counter c7 = { 0 };
	CHECK(recorder_scan_journal(path, 0, count_cb, &c7, &st, err, sizeof err) == RECORDER_EIO);
	CHECK(c7.n == 0 && strstr(err, "bad header") != NULL);
	snprintf(path, sizeof path, "%s/missing.rsj", dir);
	CHECK(recorder_scan_journal(path, 0, count_cb, &c7, &st, err, sizeof err) == RECORDER_OK);
	CHECK(st.records == 0);
}

/* Appends keep the index only: the heap does not grow with the records. */
static void test_no_records_in_memory(void)
{
	recorder *r = recorder_create(dir, NULL);
	json_t *rec = json_pack("{s:s, s:I, s:s, s:s, s:s}", "kind", "join", "t", (json_int_t)1,
				"name", "María Victoria Caballero Romero", "role", "participant",
				"group", "civil_society");
	CHECK(recorder_append(r, "churn", "Churn", rec, NULL, NULL) == RECORDER_OK);
#ifndef __SANITIZE_ADDRESS__
	size_t before = mallinfo2().uordblks;
#endif
	for (int i = 0; i < 20000; i++)
		CHECK(recorder_append(r, "churn", "Churn", rec, NULL, NULL) == RECORDER_OK);
#ifndef __SANITIZE_ADDRESS__
	size_t after = mallinfo2().uordblks;
	printf("heap growth over 20000 appends: %zd bytes\n", (ssize_t)(after - before));
	CHECK(after < before + 16384);
#endif
	struct recorder_room_info info;
	CHECK(recorder_room_info(r, "churn", &info) && info.records == 20002); /* + session */
	json_decref(rec);
	recorder_destroy(r);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/rostrum-recorder-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	char jdir[300];
	snprintf(jdir, sizeof jdir, "%s/journal", dir);
	mkdir(jdir, 0700);
	test_recovered_index();
	test_reader();
	test_no_records_in_memory();
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_done();
}
