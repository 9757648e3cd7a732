/*
 * Tests for the durable journal writer and startup recovery, on real files
 * with real syncs in a temporary directory under /tmp; raw appends (the
 * recordings' Ogg pages) byte for byte, mixed with journal records, bounded
 * to half the queue, and through write failures.
 *
 * Usage: test_jwriter [seed]
 * With JWRITER_FULL_DIR set to an empty directory on a small file system
 * (see jwriter_full.sh) the full-disk test runs too; otherwise it is skipped.
 */
#include "../../server/journal.h"
#include "../../server/jwriter.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h" /* its file helper; these tests stop at their first failed check */
#undef CHECK
#define CHECK(e)                                                                   \
	do {                                                                       \
		if (!(e)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
			return 1;                                                  \
		}                                                                  \
	} while (0)

static uint64_t seed;
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- fixtures ---------------------------------------------------------------- */

static char tmpdir[64];

static int make_tmpdir(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rostrum-jw-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *path_in(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* What the listener saw. */
struct seen {
	uint64_t last;
	int backwards;           /* on_durable calls that did not increase */
	int calls;
	int states;              /* on_state calls */
	int last_err;
	int errors_seen;         /* DISK_ERROR reports */
	int healthy_after_error;
	enum jwriter_state state;
};

static void on_durable(void *ctx, uint64_t ticket)
{
	struct seen *s = ctx;
	if (ticket <= s->last)
		s->backwards++;
	s->last = ticket;
	s->calls++;
}

static void on_state(void *ctx, enum jwriter_state st, int err)
{
	struct seen *s = ctx;
	s->states++;
	if (st == JWRITER_DISK_ERROR) {
		s->errors_seen++;
		s->last_err = err;
	}
	if (st == JWRITER_HEALTHY && s->errors_seen)
		s->healthy_after_error++;
	s->state = st;
}

static jwriter *start(struct seen *s, const struct jwriter_opts *o)
{
	struct jwriter_listener l = { on_durable, on_state, s };
	int err = 0;
	*s = (struct seen){ 0 };
	jwriter *jw = jwriter_start(&l, o, &err);
	if (!jw)
		fprintf(stderr, "jwriter_start: %s (%s)\n", jwriter_strerror(err), strerror(errno));
	return jw;
}

/* One pass of an event loop: wait up to timeout_ms, then run the handlers. */
static void pump(jwriter *jw, int timeout_ms)
{
	struct pollfd p = { .fd = jwriter_fd(jw), .events = POLLIN };
	if (jwriter_want_write(jw))
		p.events |= POLLOUT;
	if (poll(&p, 1, timeout_ms) <= 0)
		return;
	/* Tests look at the writer's state afterwards; a gone writer shows there. */
	int rc = JWRITER_OK;
	if (p.revents & POLLOUT)
		rc = jwriter_on_writable(jw);
	if (rc == JWRITER_OK && (p.revents & (POLLIN | POLLHUP | POLLERR)))
		rc = jwriter_on_readable(jw);
	if (rc != JWRITER_OK && rc != JWRITER_EDEAD)
		fprintf(stderr, "pump: %s\n", jwriter_strerror(rc));
}

static bool wait_durable(jwriter *jw, uint64_t ticket, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	while (jwriter_durable(jw) < ticket && now_ms() < end)
		pump(jw, 20);
	return jwriter_durable(jw) >= ticket;
}

/* Runs the loop for ms milliseconds whatever happens. */
static void pump_for(jwriter *jw, int ms)
{
	int64_t end = now_ms() + ms;
	while (now_ms() < end)
		pump(jw, 10);
}

/* A record as the hub would write it: compact JSON naming its file and number. */
static size_t make_rec(char *buf, size_t cap, unsigned file, uint64_t n, size_t pad)
{
	int k = snprintf(buf, cap, "{\"file\":%u,\"n\":%" PRIu64 ",\"text\":\"", file, n);
	size_t len = (size_t)k;
	for (size_t i = 0; i < pad && len + 3 < cap; i++)
		buf[len++] = (char)('a' + (n + i) % 26);
	buf[len++] = '"';
	buf[len++] = '}';
	buf[len] = '\0';
	return len;
}

/* The records of a journal file, copied out by a scan. */
struct loaded {
	char **rec;
	size_t n, cap;
	int scan;
	size_t good, len;
};

static int load_one(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	struct loaded *l = ctx;
	(void)offset;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->rec = realloc(l->rec, l->cap * sizeof *l->rec);
	}
	l->rec[l->n] = malloc(len + 1);
	memcpy(l->rec[l->n], payload, len);
	l->rec[l->n++][len] = '\0';
	return 0;
}


static int load(const char *path, struct loaded *l)
{
	*l = (struct loaded){ 0 };
	uint8_t *buf = check_slurp(path, &l->len);
	if (!buf)
		return -1;
	l->scan = journal_scan(buf, l->len, load_one, l, &l->good);
	free(buf);
	return 0;
}

static void loaded_free(struct loaded *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->rec[i]);
	free(l->rec);
}

/* Expected content: every record appended, by file, in order. */
struct expect {
	char **rec[4];
	size_t n[4];
};

static void expect_add(struct expect *e, unsigned file, const char *rec)
{
	e->rec[file] = realloc(e->rec[file], (e->n[file] + 1) * sizeof(char *));
	e->rec[file][e->n[file]++] = strdup(rec);
}

static void expect_free(struct expect *e)
{
	for (int f = 0; f < 4; f++) {
		for (size_t i = 0; i < e->n[f]; i++)
			free(e->rec[f][i]);
		free(e->rec[f]);
	}
}

/* The file holds exactly the expected records, cleanly. */
static int verify_file(const char *path, const struct expect *e, unsigned file)
{
	struct loaded l;
	CHECK(load(path, &l) == 0);
	int ok = l.scan == JOURNAL_OK && l.n == e->n[file];
	for (size_t i = 0; ok && i < l.n; i++)
		ok = strcmp(l.rec[i], e->rec[file][i]) == 0;
	if (!ok)
		fprintf(stderr, "%s: scan %d, %zu records, want %zu\n", path, l.scan, l.n, e->n[file]);
	loaded_free(&l);
	CHECK(ok);
	return 0;
}

/* Appends record n of file f, checking the ticket it gets is n. */
static int append_rec(jwriter *jw, struct expect *e, const char *path, unsigned f, uint64_t n,
		      size_t pad)
{
	static char buf[70000];
	uint64_t ticket = 0;
	size_t len = make_rec(buf, sizeof buf, f, n, pad);
	int rc = jwriter_append(jw, path, buf, len, &ticket);
	if (rc != JWRITER_OK)
		return rc;
	if (ticket != n)
		fprintf(stderr, "ticket %" PRIu64 " for record %" PRIu64 "\n", ticket, n);
	CHECK(ticket == n);
	if (e)
		expect_add(e, f, buf);
	return 0;
}

/* ---- tests ------------------------------------------------------------------- */

/* Thousands of records over three journals in nested new directories. */
static int test_three_files(void)
{
	CHECK(make_tmpdir() == 0);
	char *paths[3] = { path_in(tmpdir, "a.journal"), path_in(tmpdir, "s1/b.journal"),
			   path_in(tmpdir, "s1/s2/c.journal") };
	struct seen s;
	struct expect e = { 0 };
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	rnd_state = seed;
	const uint64_t total = 3000;
	for (uint64_t n = 1; n <= total; n++) {
		unsigned f = (unsigned)(rnd() % 3);
		CHECK(append_rec(jw, &e, paths[f], f, n, 10 + rnd() % 1500) == 0);
		if (n % 64 == 0)
			pump(jw, 0);
	}
	CHECK(wait_durable(jw, total, 60000));
	CHECK(s.last == total && s.backwards == 0);
	struct jwriter_status st;
	CHECK(jwriter_status(jw, &st) == JWRITER_HEALTHY);
	CHECK(st.records_pending == 0 && st.bytes_pending == 0 && st.queued_bytes == 0);
	CHECK(st.appended == total && st.disk_failures == 0);
	printf("three_files: %" PRIu64 " records durable in %d group reports\n", total, s.calls);
	for (unsigned f = 0; f < 3; f++)
		CHECK(verify_file(paths[f], &e, f) == 0);
	struct stat sb;
	CHECK(stat(paths[2], &sb) == 0 && (sb.st_mode & 0777) == 0640);
	char *dir = path_in(tmpdir, "s1/s2");
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0750);
	free(dir);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	for (int f = 0; f < 3; f++)
		free(paths[f]);
	expect_free(&e);
	remove_tree(tmpdir);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Informational: time from one append to its durable report. */
static int test_latency(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "lat.journal");
	struct seen s;
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	int64_t us[25];
	for (int i = 0; i < 25; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		CHECK(append_rec(jw, NULL, path, 0, (uint64_t)i + 1, 100) == 0);
		CHECK(wait_durable(jw, (uint64_t)i + 1, 10000));
		clock_gettime(CLOCK_MONOTONIC, &b);
		us[i] = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	}
	qsort(us, 25, sizeof us[0], cmp_i64);
	printf("latency append->durable: min %" PRId64 " us, median %" PRId64 " us, max %" PRId64
	       " us (informational)\n", us[0], us[12], us[24]);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

static int test_bad_arguments(void)
{
	CHECK(make_tmpdir() == 0);
	struct seen s;
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	uint64_t t = 0;
	char *longpath = malloc(JWRITER_PATH_MAX + 2);
	memset(longpath, 'x', JWRITER_PATH_MAX + 1);
	longpath[JWRITER_PATH_MAX + 1] = '\0';
	uint8_t *big = malloc(JOURNAL_MAX_RECORD + 1);
	memset(big, 'y', JOURNAL_MAX_RECORD + 1);
	char *path = path_in(tmpdir, "args.journal");
	static const struct {
		int path_kind;   /* 0 ok, 1 empty, 2 NULL, 3 too long */
		size_t len;
		int want;
	} cases[] = {
		{ 1, 10, JWRITER_EPATH },
		{ 2, 10, JWRITER_EPATH },
		{ 3, 10, JWRITER_EPATH },
		{ 0, 0, JWRITER_ESIZE },
		{ 0, JOURNAL_MAX_RECORD + 1, JWRITER_ESIZE },
		{ 0, JOURNAL_MAX_RECORD, JWRITER_OK },
		{ 0, 1, JWRITER_OK },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *p = cases[i].path_kind == 0 ? path : cases[i].path_kind == 1 ? ""
				: cases[i].path_kind == 2 ? NULL : longpath;
		int rc = jwriter_append(jw, p, big, cases[i].len, &t);
		if (rc != cases[i].want)
			fprintf(stderr, "case %zu: %s\n", i, jwriter_strerror(rc));
		CHECK(rc == cases[i].want);
	}
	CHECK(t == 2);  /* refused requests take no ticket */
	CHECK(wait_durable(jw, 2, 20000));
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	struct loaded l;
	CHECK(load(path, &l) == 0);
	CHECK(l.scan == JOURNAL_OK && l.n == 2 && strlen(l.rec[0]) == JOURNAL_MAX_RECORD);
	loaded_free(&l);
	CHECK(strcmp(jwriter_strerror(JWRITER_EFULL), jwriter_strerror(12345)) != 0);
	CHECK(strcmp(jwriter_state_name(JWRITER_DISK_ERROR), "disk_error") == 0);
	free(longpath);
	free(big);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

/*
 * A stalled writer (stopped with SIGSTOP) fills the socket, then the queue:
 * appends are refused with JWRITER_EFULL, and nothing accepted is dropped.
 */
static int test_queue_full(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "full.journal");
	struct seen s;
	struct expect e = { 0 };
	struct jwriter_opts o = { .queue_max = 64 * 1024 };
	jwriter *jw = start(&s, &o);
	CHECK(jw);
	CHECK(kill(jwriter_pid(jw), SIGSTOP) == 0);
	uint64_t n = 0;
	int rc = JWRITER_OK;
	while (rc == JWRITER_OK && n < 100000) {
		rc = append_rec(jw, &e, path, 0, n + 1, 8000);
		if (rc == JWRITER_OK)
			n++;
	}
	CHECK(rc == JWRITER_EFULL);
	struct jwriter_status st;
	jwriter_status(jw, &st);
	CHECK(st.appended == n && st.queued_bytes > 0 && st.queued_bytes <= 64 * 1024);
	CHECK(jwriter_want_write(jw));
	printf("queue_full: %" PRIu64 " records accepted before the bound\n", n);
	CHECK(kill(jwriter_pid(jw), SIGCONT) == 0);
	CHECK(wait_durable(jw, n, 60000));
	CHECK(append_rec(jw, &e, path, 0, n + 1, 10) == 0);
	CHECK(wait_durable(jw, n + 1, 20000));
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	CHECK(verify_file(path, &e, 0) == 0);
	expect_free(&e);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

/* jwriter_stop() with everything still in flight: all of it ends up durable. */
static int test_stop_flushes(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "stop.journal");
	struct seen s;
	struct expect e = { 0 };
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	for (uint64_t n = 1; n <= 2000; n++)
		CHECK(append_rec(jw, &e, path, 0, n, 500) == 0);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	CHECK(s.last == 2000 && s.backwards == 0);
	CHECK(verify_file(path, &e, 0) == 0);
	expect_free(&e);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

/* Writes a journal of `count` records with journal_encode() directly. */
static uint8_t *build_image(size_t count, size_t *len, size_t *ends)
{
	size_t cap = JOURNAL_HEADER_LEN + count * 400, off = JOURNAL_HEADER_LEN;
	uint8_t *buf = malloc(cap);
	char rec[400];
	journal_header(buf);
	for (size_t i = 0; i < count; i++) {
		size_t n = make_rec(rec, sizeof rec, 0, i + 1, (i * 37) % 200);
		size_t out = 0;
		if (journal_encode(rec, n, buf + off, cap - off, &out) != JOURNAL_OK)
			abort();
		off += out;
		ends[i] = off;
	}
	*len = off;
	return buf;
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0)
		return -1;
	ssize_t w = write(fd, buf, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

struct count {
	size_t n;
	uint64_t next;   /* the "n" field the next record must carry */
	int bad;
};

static int count_rec(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	struct count *c = ctx;
	unsigned file;
	uint64_t n;
	(void)offset;
	(void)len;
	if (sscanf((const char *)payload, "{\"file\":%u,\"n\":%" SCNu64, &file, &n) != 2 || n != c->next)
		c->bad++;
	c->next++;
	c->n++;
	return 0;
}

/*
 * Crash leftovers cut at random offsets: recovery keeps exactly the whole
 * records and truncates the rest; appends then continue after them, whether
 * the hub recovered first or left it to the writer's first open.
 */
static int test_recovery_random(void)
{
	CHECK(make_tmpdir() == 0);
	size_t ends[120], len = 0;
	uint8_t *img = build_image(120, &len, ends);
	struct seen s;
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	rnd_state = seed ^ 0xabcdef;
	uint64_t ticket = 0;
	for (int iter = 0; iter < 40; iter++) {
		char name[32];
		snprintf(name, sizeof name, "r%d.journal", iter);
		char *path = path_in(tmpdir, name);
		size_t cut = iter == 0 ? len : iter == 1 ? 7 : rnd() % (len + 1);
		size_t whole = 0, good = cut >= JOURNAL_HEADER_LEN ? JOURNAL_HEADER_LEN : 0;
		while (whole < 120 && ends[whole] <= cut)
			good = ends[whole++];
		CHECK(write_file(path, img, cut) == 0);
		bool by_hub = iter % 2 == 0;
		if (by_hub) {
			struct journal_recovery r;
			struct count c = { .next = 1 };
			CHECK(journal_recover(path, count_rec, &c, &r) == JWRITER_OK);
			if (r.records != whole || c.n != whole || c.bad || r.good_len != good ||
			    r.cut_len != cut - good || r.tail_saved) {
				fprintf(stderr, "recover cut %zu: %zu records, good %zu (seed %" PRIu64 ")\n",
					cut, r.records, r.good_len, seed);
				return 1;
			}
			CHECK(r.scan == (good == cut ? JOURNAL_OK : JOURNAL_TORN));
			struct stat sb;
			CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == good);
		}
		/* Three more records continue the numbering. */
		char rec[200];
		for (uint64_t k = 1; k <= 3; k++) {
			size_t n = make_rec(rec, sizeof rec, 0, whole + k, 5);
			CHECK(jwriter_append(jw, path, rec, n, &ticket) == JWRITER_OK);
		}
		CHECK(wait_durable(jw, ticket, 20000));
		struct loaded l;
		CHECK(load(path, &l) == 0);
		struct count c = { .next = 1 };
		for (size_t i = 0; i < l.n; i++)
			count_rec(&c, (const uint8_t *)l.rec[i], strlen(l.rec[i]), 0);
		if (l.scan != JOURNAL_OK || l.n != whole + 3 || c.bad) {
			fprintf(stderr, "after cut %zu (%s): scan %d, %zu records, want %zu (seed %" PRIu64 ")\n",
				cut, by_hub ? "hub" : "writer", l.scan, l.n, whole + 3, seed);
			return 1;
		}
		loaded_free(&l);
		free(path);
	}
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	free(img);
	remove_tree(tmpdir);
	return 0;
}

/* Damage followed by more data: the cut-off part is saved beside the journal first. */
static int test_recovery_corrupt(void)
{
	CHECK(make_tmpdir() == 0);
	size_t ends[30], len = 0;
	uint8_t *img = build_image(30, &len, ends);
	img[ends[9] + 10] ^= 0x20;  /* inside record 11 */
	char *path = path_in(tmpdir, "c.journal");
	CHECK(write_file(path, img, len) == 0);
	struct journal_recovery r;
	struct count c = { .next = 1 };
	CHECK(journal_recover(path, count_rec, &c, &r) == JWRITER_OK);
	CHECK(r.scan == JOURNAL_CORRUPT && r.records == 10 && r.good_len == ends[9] && r.tail_saved);
	char name[64];
	snprintf(name, sizeof name, "c.journal.corrupt-%zu", ends[9]);
	char *saved = path_in(tmpdir, name);
	size_t slen = 0;
	uint8_t *tail = check_slurp(saved, &slen);
	CHECK(tail && slen == len - ends[9] && memcmp(tail, img + ends[9], slen) == 0);
	free(tail);
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (size_t)sb.st_size == ends[9]);

	/* Missing file: nothing to do. A callback that stops: file untouched. */
	char *missing = path_in(tmpdir, "none.journal");
	CHECK(journal_recover(missing, count_rec, &c, &r) == JWRITER_OK && r.records == 0);
	CHECK(write_file(path, img, len) == 0);
	CHECK(journal_recover(path, NULL, NULL, NULL) == JWRITER_OK);
	free(missing);
	free(saved);
	free(path);
	free(img);
	remove_tree(tmpdir);
	return 0;
}

/*
 * A foreign file where a journal should be: recovery refuses to touch it,
 * the writer reports EBADMSG and keeps the records until an operator moves
 * it away; a journal held by a writer is reported busy.
 */
static int test_foreign_and_busy(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "x.journal");
	static const char foreign[] = "this is not a journal\n";
	CHECK(write_file(path, (const uint8_t *)foreign, sizeof foreign - 1) == 0);
	CHECK(journal_recover(path, NULL, NULL, NULL) == JWRITER_EFORMAT);
	size_t n = 0;
	uint8_t *back = check_slurp(path, &n);
	CHECK(back && n == sizeof foreign - 1 && memcmp(back, foreign, n) == 0);
	free(back);

	struct seen s;
	struct expect e = { 0 };
	struct jwriter_opts o = { .retry_ms = 50 };
	jwriter *jw = start(&s, &o);
	CHECK(jw);
	CHECK(append_rec(jw, &e, path, 0, 1, 20) == 0);
	pump_for(jw, 400);
	struct jwriter_status st;
	CHECK(jwriter_status(jw, &st) == JWRITER_DISK_ERROR && st.sys_errno == EBADMSG);
	CHECK(s.errors_seen >= 1 && s.last_err == EBADMSG && jwriter_durable(jw) == 0);
	char *aside = path_in(tmpdir, "x.journal.moved");
	CHECK(rename(path, aside) == 0);
	CHECK(wait_durable(jw, 1, 20000));
	CHECK(jwriter_status(jw, &st) == JWRITER_HEALTHY && s.healthy_after_error == 1);
	CHECK(journal_recover(path, NULL, NULL, NULL) == JWRITER_EBUSY);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	CHECK(journal_recover(path, NULL, NULL, NULL) == JWRITER_OK);
	CHECK(verify_file(path, &e, 0) == 0);
	expect_free(&e);
	free(aside);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

/*
 * Write failures without a full disk: the writer is started under a small
 * RLIMIT_FSIZE, so the journal stops growing with EFBIG (the same path as
 * ENOSPC); raising the limit from outside lets everything pending through,
 * with no duplicate or torn record left by the failed partial writes.
 */
static int test_write_errors(void)
{
	CHECK(make_tmpdir() == 0);
	char *paths[2] = { path_in(tmpdir, "e0.journal"), path_in(tmpdir, "e1.journal") };
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	struct seen s;
	struct expect e = { 0 };
	struct jwriter_opts o = { .retry_ms = 50 };
	jwriter *jw = start(&s, &o);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(jw);
	uint64_t n = 0;
	for (; n < 20; n++)  /* about 20 KiB per file: fits */
		CHECK(append_rec(jw, &e, paths[n % 2], (unsigned)(n % 2), n + 1, 2000) == 0);
	CHECK(wait_durable(jw, n, 20000));
	uint64_t ok_upto = n;
	for (; n < 80; n++)  /* about 60 KiB more each: over the limit */
		CHECK(append_rec(jw, &e, paths[n % 2], (unsigned)(n % 2), n + 1, 2000) == 0);
	pump_for(jw, 500);
	struct jwriter_status st;
	CHECK(jwriter_status(jw, &st) == JWRITER_DISK_ERROR && st.sys_errno == EFBIG);
	CHECK(s.errors_seen >= 1 && s.last_err == EFBIG);
	CHECK(st.durable < n && st.durable >= ok_upto && st.records_pending == n - st.durable);
	CHECK(st.bytes_pending > 0 && st.disk_failures >= 2);
	printf("write_errors: stalled at %" PRIu64 "/%" PRIu64 " after %" PRIu64 " failures\n",
	       st.durable, n, st.disk_failures);
	struct rlimit open_lim = { old.rlim_max, old.rlim_max };
	CHECK(prlimit(jwriter_pid(jw), RLIMIT_FSIZE, &open_lim, NULL) == 0);
	CHECK(wait_durable(jw, n, 20000));
	CHECK(jwriter_status(jw, &st) == JWRITER_HEALTHY && st.sys_errno == 0);
	CHECK(s.healthy_after_error >= 1 && s.backwards == 0);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	for (unsigned f = 0; f < 2; f++)
		CHECK(verify_file(paths[f], &e, f) == 0);
	expect_free(&e);
	free(paths[0]);
	free(paths[1]);
	remove_tree(tmpdir);
	return 0;
}

/* Fills dir to the last byte; returns the filler's path or NULL. */
static char *fill_dir(const char *dir)
{
	char *filler = path_in(dir, "filler");
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	static char chunk[65536];
	if (fd < 0) {
		free(filler);
		return NULL;
	}
	for (size_t sz = sizeof chunk; sz >= 1; sz /= 2)
		while (write(fd, chunk, sz) == (ssize_t)sz)
			;
	fsync(fd);
	close(fd);
	return filler;
}

/*
 * The real thing, on a small file system given by JWRITER_FULL_DIR: with the
 * disk full acks stop and the error shows; once space is freed everything
 * pending becomes durable and nothing acknowledged before is lost.
 */
static int test_full_disk(void)
{
	const char *dir = getenv("JWRITER_FULL_DIR");
	char *path = path_in(dir, "j/full.journal");
	struct seen s;
	struct expect e = { 0 };
	struct jwriter_opts o = { .retry_ms = 50 };
	jwriter *jw = start(&s, &o);
	CHECK(jw);
	uint64_t n = 0;
	while (n < 10)
		CHECK(append_rec(jw, &e, path, 0, ++n, 300) == 0);
	CHECK(wait_durable(jw, n, 20000));
	char *filler = fill_dir(dir);
	CHECK(filler);
	/* Over a page each, so no record fits in the slack of the file's last page. */
	while (n < 40)
		CHECK(append_rec(jw, &e, path, 0, ++n, 5000) == 0);
	pump_for(jw, 600);
	struct jwriter_status st;
	CHECK(jwriter_status(jw, &st) == JWRITER_DISK_ERROR && st.sys_errno == ENOSPC);
	CHECK(st.durable == 10 && s.last == 10 && s.last_err == ENOSPC);
	printf("full_disk: acks stopped at 10/%" PRIu64 ", %" PRIu64 " failures\n", n, st.disk_failures);
	CHECK(unlink(filler) == 0);
	CHECK(wait_durable(jw, n, 20000));
	CHECK(jwriter_status(jw, &st) == JWRITER_HEALTHY && s.healthy_after_error >= 1);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	CHECK(verify_file(path, &e, 0) == 0);
	expect_free(&e);
	free(filler);
	free(path);
	return 0;
}

/* The hub being killed: the child process that plays the hub prints each ack. */
static void kill_test_child(int out, const char *path)
{
	struct seen s;
	struct jwriter_listener l = { on_durable, NULL, &s };
	int err;
	s = (struct seen){ 0 };
	jwriter *jw = jwriter_start(&l, NULL, &err);
	if (!jw)
		_exit(2);
	dprintf(out, "pid %d\n", (int)jwriter_pid(jw));
	uint64_t printed = 0, n = 0;
	char rec[300];
	for (;;) {
		uint64_t t;
		if (n < 20000) {
			size_t len = make_rec(rec, sizeof rec, 0, n + 1, 100 + n % 150);
			if (jwriter_append(jw, path, rec, len, &t) == JWRITER_OK)
				n++;
		}
		pump(jw, n < 20000 ? 0 : 50);
		if (s.last > printed) {
			printed = s.last;
			dprintf(out, "acked %" PRIu64 "\n", printed);
		}
	}
}

/*
 * SIGKILL the process that owns the writer while it is busy: every record it
 * was told was durable is in the file, in order, and the writer still
 * flushed what it had received before exiting.
 */
static int test_kill_hub(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "k.journal");
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	/* The orphaned writer is re-parented to us, so we can see how it exits. */
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0);
	fflush(stdout);
	fflush(stderr);
	pid_t child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		close(pfd[0]);
		kill_test_child(pfd[1], path);
		_exit(0);
	}
	close(pfd[1]);
	FILE *in = fdopen(pfd[0], "r");
	char line[128];
	uint64_t acked = 0, a;
	int wpid = 0;
	bool killed = false;
	int64_t end = now_ms() + 60000;
	while (fgets(line, sizeof line, in)) {
		if (sscanf(line, "acked %" SCNu64, &a) == 1)
			acked = a;
		else
			sscanf(line, "pid %d", &wpid);
		if (!killed && (acked >= 1500 || now_ms() > end)) {
			kill(child, SIGKILL);
			killed = true;
		}
	}
	fclose(in);
	int status;
	CHECK(waitpid(child, &status, 0) == child && WIFSIGNALED(status));
	CHECK(acked >= 1500 && wpid > 0);
	/* The writer flushes what it received, then exits 0 (and drops its lock). */
	CHECK(waitpid(wpid, &status, 0) == wpid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) == 0);
	struct count c = { .next = 1 };
	CHECK(journal_recover(path, count_rec, &c, NULL) == JWRITER_OK);
	printf("kill_hub: %" PRIu64 " acked before SIGKILL, %zu records in the journal\n", acked, c.n);
	CHECK(c.bad == 0 && c.n >= acked);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

/* The writer process dying under a live hub shows as DEAD; appends then fail. */
static int test_writer_dies(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "d.journal");
	struct seen s;
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	CHECK(append_rec(jw, NULL, path, 0, 1, 10) == 0);
	CHECK(wait_durable(jw, 1, 20000));
	CHECK(kill(jwriter_pid(jw), SIGKILL) == 0);
	int64_t end = now_ms() + 10000;
	while (jwriter_status(jw, &(struct jwriter_status){ 0 }) != JWRITER_DEAD && now_ms() < end)
		pump(jw, 20);
	CHECK(s.state == JWRITER_DEAD);
	CHECK(jwriter_on_readable(jw) == JWRITER_EDEAD);
	uint64_t t;
	CHECK(jwriter_append(jw, path, "{}", 2, &t) == JWRITER_EDEAD);
	CHECK(jwriter_stop(jw) == JWRITER_OK);  /* nothing accepted was lost */
	free(path);
	remove_tree(tmpdir);
	return 0;
}

/* ---- raw appends (recordings) ------------------------------------------------ */

/* What a raw file must hold: every byte appended to it, in order. */
struct raw_expect {
	uint8_t *p;
	size_t len;
};

/* Appends len random bytes to path raw, checking the ticket is want_ticket. */
static int append_raw(jwriter *jw, struct raw_expect *e, const char *path, size_t len,
		      uint64_t want_ticket)
{
	static uint8_t buf[JOURNAL_MAX_RECORD];
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
	uint64_t ticket = 0;
	int rc = jwriter_append_raw(jw, path, buf, len, &ticket);
	if (rc != JWRITER_OK)
		return rc;
	CHECK(ticket == want_ticket);
	e->p = realloc(e->p, e->len + len);
	memcpy(e->p + e->len, buf, len);
	e->len += len;
	return 0;
}

/* The file holds exactly the expected bytes. */
static int verify_raw(const char *path, const struct raw_expect *e)
{
	size_t len = 0;
	uint8_t *buf = check_slurp(path, &len);
	CHECK(buf);
	bool same = len == e->len && memcmp(buf, e->p, len) == 0;
	if (!same)
		fprintf(stderr, "%s: %zu bytes, want %zu\n", path, len, e->len);
	free(buf);
	CHECK(same);
	return 0;
}

/*
 * Raw bytes land as given: no journal header, no framing, and a file that
 * is not a journal is appended to, not scanned, cut or refused.
 */
static int test_raw_exact(void)
{
	CHECK(make_tmpdir() == 0);
	char *paths[2] = { path_in(tmpdir, "rec/s1/a.opus"), path_in(tmpdir, "b.opus") };
	struct raw_expect e[2] = { { 0 }, { 0 } };
	static const char foreign[] = "OggS\0not a journal, and torn";
	CHECK(write_file(paths[1], (const uint8_t *)foreign, sizeof foreign) == 0);
	e[1].p = malloc(sizeof foreign);
	memcpy(e[1].p, foreign, sizeof foreign);
	e[1].len = sizeof foreign;
	struct seen s;
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	rnd_state = seed;
	uint64_t t = 0;
	CHECK(append_raw(jw, &e[0], paths[0], 1, ++t) == 0);
	CHECK(append_raw(jw, &e[0], paths[0], JOURNAL_MAX_RECORD, ++t) == 0);
	for (int i = 0; i < 300; i++) {
		unsigned f = (unsigned)(rnd() % 2);
		CHECK(append_raw(jw, &e[f], paths[f], 1 + rnd() % 9000, ++t) == 0);
		if (i % 32 == 0)
			pump(jw, 0);
	}
	uint64_t bad;
	CHECK(jwriter_append_raw(jw, paths[0], "x", 0, &bad) == JWRITER_ESIZE);
	CHECK(jwriter_append_raw(jw, paths[0], e[0].p, JOURNAL_MAX_RECORD + 1, &bad) == JWRITER_ESIZE);
	CHECK(jwriter_append_raw(jw, "", "x", 1, &bad) == JWRITER_EPATH);
	CHECK(jwriter_append_raw(jw, NULL, "x", 1, &bad) == JWRITER_EPATH);
	CHECK(wait_durable(jw, t, 60000));
	struct jwriter_status st;
	CHECK(jwriter_status(jw, &st) == JWRITER_HEALTHY && st.appended == t);
	CHECK(st.bytes_pending == 0 && s.backwards == 0);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	for (int f = 0; f < 2; f++)
		CHECK(verify_raw(paths[f], &e[f]) == 0);
	struct stat sb;
	CHECK(stat(paths[0], &sb) == 0 && (sb.st_mode & 0777) == 0640);
	char *dir = path_in(tmpdir, "rec/s1");
	CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0750);
	free(dir);
	for (int f = 0; f < 2; f++) {
		free(paths[f]);
		free(e[f].p);
	}
	remove_tree(tmpdir);
	return 0;
}

/*
 * Raw and framed appends to different files, interleaved at random: one
 * ticket sequence, durable reports in order, each file exactly right.
 */
static int test_raw_interleave(void)
{
	CHECK(make_tmpdir() == 0);
	char *jpath = path_in(tmpdir, "j/room.rsj");
	char *rpaths[2] = { path_in(tmpdir, "rec/room-1.opus"), path_in(tmpdir, "rec/room-2.opus") };
	struct expect je = { 0 };
	struct raw_expect re[2] = { { 0 }, { 0 } };
	struct seen s;
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	rnd_state = seed ^ 0x5a5a;
	const uint64_t total = 2000;
	uint64_t half_durable = 0;
	for (uint64_t n = 1; n <= total; n++) {
		unsigned k = (unsigned)(rnd() % 3);
		if (k == 0)
			CHECK(append_rec(jw, &je, jpath, 0, n, 10 + rnd() % 400) == 0);
		else
			CHECK(append_raw(jw, &re[k - 1], rpaths[k - 1], 1 + rnd() % 4000, n) == 0);
		if (n % 50 == 0)
			pump(jw, 0);
		if (n == total / 2) {
			CHECK(wait_durable(jw, n, 20000));
			half_durable = s.last;
		}
	}
	CHECK(half_durable >= total / 2);
	CHECK(wait_durable(jw, total, 60000));
	CHECK(s.last == total && s.backwards == 0);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	CHECK(verify_file(jpath, &je, 0) == 0);
	for (int f = 0; f < 2; f++)
		CHECK(verify_raw(rpaths[f], &re[f]) == 0);
	printf("raw_interleave: %zu journal records, %zu + %zu raw bytes, %d reports\n", je.n[0],
	       re[0].len, re[1].len, s.calls);
	expect_free(&je);
	for (int f = 0; f < 2; f++) {
		free(rpaths[f]);
		free(re[f].p);
	}
	free(jpath);
	remove_tree(tmpdir);
	return 0;
}

/*
 * A stalled writer: raw appends are refused once the queue holds half of
 * queue_max, while journal records are still taken up to the whole bound.
 * Everything accepted becomes durable when the writer resumes.
 */
static int test_raw_half_queue(void)
{
	CHECK(make_tmpdir() == 0);
	char *jpath = path_in(tmpdir, "q.rsj");
	char *rpath = path_in(tmpdir, "q.opus");
	const size_t qmax = 64 * 1024;
	struct expect je = { 0 };
	struct raw_expect re = { 0 };
	struct jwriter_opts o = { .queue_max = qmax };
	struct seen s;
	jwriter *jw = start(&s, &o);
	CHECK(jw);
	CHECK(kill(jwriter_pid(jw), SIGSTOP) == 0);
	rnd_state = seed;
	uint64_t n = 0;
	int rc = JWRITER_OK;
	while (rc == JWRITER_OK && n < 100000)
		if ((rc = append_raw(jw, &re, rpath, 4000, n + 1)) == JWRITER_OK)
			n++;
	CHECK(rc == JWRITER_EFULL);
	struct jwriter_status st;
	jwriter_status(jw, &st);
	CHECK(st.queued_bytes > 0 && st.queued_bytes <= qmax / 2);
	uint64_t raw_n = n;
	rc = JWRITER_OK;
	while (rc == JWRITER_OK && n < 100000)
		if ((rc = append_rec(jw, &je, jpath, 0, n + 1, 4000)) == JWRITER_OK)
			n++;
	CHECK(rc == JWRITER_EFULL);
	jwriter_status(jw, &st);
	CHECK(n > raw_n && st.queued_bytes > qmax / 2 && st.queued_bytes <= qmax);
	CHECK(append_raw(jw, &re, rpath, 10, n + 1) == JWRITER_EFULL);
	printf("raw_half_queue: %" PRIu64 " raw pages, then %" PRIu64 " records accepted\n", raw_n,
	       n - raw_n);
	CHECK(kill(jwriter_pid(jw), SIGCONT) == 0);
	CHECK(wait_durable(jw, n, 60000));
	CHECK(append_raw(jw, &re, rpath, 10, n + 1) == 0);
	CHECK(wait_durable(jw, n + 1, 20000));
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	CHECK(verify_raw(rpath, &re) == 0);
	CHECK(verify_file(jpath, &je, 0) == 0);
	expect_free(&je);
	free(re.p);
	free(jpath);
	free(rpath);
	remove_tree(tmpdir);
	return 0;
}

/*
 * Raw appends over a file size limit: acks stop with EFBIG, and once the
 * limit is lifted the file holds every byte exactly once, nothing of the
 * failed partial writes.
 */
static int test_raw_write_errors(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "e.opus");
	struct rlimit old, lim;
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = 64 * 1024;
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	struct seen s;
	struct raw_expect e = { 0 };
	struct jwriter_opts o = { .retry_ms = 50 };
	jwriter *jw = start(&s, &o);
	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
	CHECK(jw);
	rnd_state = seed;
	uint64_t n = 0;
	while (n < 20)
		CHECK(append_raw(jw, &e, path, 2000, ++n) == 0);
	CHECK(wait_durable(jw, n, 20000));
	while (n < 60)
		CHECK(append_raw(jw, &e, path, 2000, ++n) == 0);
	pump_for(jw, 500);
	struct jwriter_status st;
	CHECK(jwriter_status(jw, &st) == JWRITER_DISK_ERROR && st.sys_errno == EFBIG);
	CHECK(st.durable >= 20 && st.durable < n && st.disk_failures >= 2);
	struct rlimit open_lim = { old.rlim_max, old.rlim_max };
	CHECK(prlimit(jwriter_pid(jw), RLIMIT_FSIZE, &open_lim, NULL) == 0);
	CHECK(wait_durable(jw, n, 20000));
	CHECK(jwriter_status(jw, &st) == JWRITER_HEALTHY && s.backwards == 0);
	CHECK(jwriter_stop(jw) == JWRITER_OK);
	CHECK(verify_raw(path, &e) == 0);
	free(e.p);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

/* A journal record for a path taken as raw is a broken request: the writer finishes and exits. */
static int test_raw_kind_mismatch(void)
{
	CHECK(make_tmpdir() == 0);
	char *path = path_in(tmpdir, "m.opus");
	struct seen s;
	struct raw_expect e = { 0 };
	jwriter *jw = start(&s, NULL);
	CHECK(jw);
	CHECK(append_raw(jw, &e, path, 100, 1) == 0);
	CHECK(wait_durable(jw, 1, 20000));
	uint64_t t;
	CHECK(jwriter_append(jw, path, "{}", 2, &t) == JWRITER_OK);
	int64_t end = now_ms() + 10000;
	while (s.state != JWRITER_DEAD && now_ms() < end)
		pump(jw, 20);
	CHECK(s.state == JWRITER_DEAD);
	CHECK(jwriter_stop(jw) == JWRITER_EUNFLUSHED);
	CHECK(verify_raw(path, &e) == 0);
	free(e.p);
	free(path);
	remove_tree(tmpdir);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
	const char *needs_env;
} tests[] = {
	{ "three_files", test_three_files, NULL },
	{ "latency", test_latency, NULL },
	{ "bad_arguments", test_bad_arguments, NULL },
	{ "queue_full", test_queue_full, NULL },
	{ "stop_flushes", test_stop_flushes, NULL },
	{ "recovery_random", test_recovery_random, NULL },
	{ "recovery_corrupt", test_recovery_corrupt, NULL },
	{ "foreign_and_busy", test_foreign_and_busy, NULL },
	{ "write_errors", test_write_errors, NULL },
	{ "full_disk", test_full_disk, "JWRITER_FULL_DIR" },
	{ "kill_hub", test_kill_hub, NULL },
	{ "writer_dies", test_writer_dies, NULL },
	{ "raw_exact", test_raw_exact, NULL },
	{ "raw_interleave", test_raw_interleave, NULL },
	{ "raw_half_queue", test_raw_half_queue, NULL },
	{ "raw_write_errors", test_raw_write_errors, NULL },
	{ "raw_kind_mismatch", test_raw_kind_mismatch, NULL },
};

int main(int argc, char **argv)
{
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : (uint64_t)time(NULL);
	umask(022);
	signal(SIGXFSZ, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (tests[i].needs_env && !getenv(tests[i].needs_env)) {
			printf("skipped %s (%s not set)\n", tests[i].name, tests[i].needs_env);
			continue;
		}
		if (tests[i].fn() == 0) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s (seed %" PRIu64 ")\n", tests[i].name, seed);
			if (tmpdir[0])
				remove_tree(tmpdir);
		}
		tmpdir[0] = '\0';
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
