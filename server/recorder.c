#include "recorder.h"
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct waiter {
	uint64_t ticket;
	recorder_ack_fn fn;
	void *ctx;             /* NULL once cancelled */
};

struct room_log {
	char *room;
	json_t *records;       /* owned array */
};

struct recorder {
	/* passed in */
	jwriter *jw;           /* borrowed; NULL = memory only */
	/* owned */
	char *data_dir;
	struct room_log *logs;
	size_t n_logs;
	struct waiter *waiters; /* FIFO by ticket: ring */
	size_t w_head, w_len, w_cap;
};

recorder *recorder_create(const char *data_dir, jwriter *jw)
{
	recorder *r = rs_calloc(1, sizeof *r);
	r->data_dir = rs_strdup(data_dir);
	r->jw = jw;
	return r;
}

void recorder_destroy(recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_logs; i++) {
		free(r->logs[i].room);
		json_decref(r->logs[i].records);
	}
	free(r->logs);
	free(r->waiters);
	free(r->data_dir);
	free(r);
}

const char *recorder_data_dir(const recorder *r)
{
	return r->data_dir;
}

void recorder_journal_path(const char *data_dir, const char *room, char *out, size_t cap)
{
	snprintf(out, cap, "%s/journal/%s.rsj", data_dir, room);
}

static struct room_log *find_log(const recorder *r, const char *room)
{
	for (size_t i = 0; i < r->n_logs; i++)
		if (strcmp(r->logs[i].room, room) == 0)
			return &r->logs[i];
	return NULL;
}

static struct room_log *get_log(recorder *r, const char *room)
{
	struct room_log *l = find_log(r, room);
	if (l)
		return l;
	r->logs = rs_realloc(r->logs, (r->n_logs + 1) * sizeof *r->logs);
	l = &r->logs[r->n_logs++];
	l->room = rs_strdup(room);
	l->records = json_array();
	return l;
}

const char *const *recorder_rooms(const recorder *r, size_t *n, const char **buf, size_t cap)
{
	*n = 0;
	for (size_t i = 0; i < r->n_logs && *n < cap; i++)
		buf[(*n)++] = r->logs[i].room;
	return buf;
}

json_t *recorder_records(const recorder *r, const char *room)
{
	struct room_log *l = find_log(r, room);
	return l ? l->records : NULL;
}

/* ---- startup ------------------------------------------------------------------ */

/* Collects each whole record's JSON; a record that is not JSON is skipped and counted. */
static int collect(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	(void)offset;
	json_t *arr = ctx;
	json_t *rec = json_loadb((const char *)payload, len, 0, NULL);
	if (json_is_object(rec))
		json_array_append_new(arr, rec);
	else {
		json_decref(rec);
		metrics_add("rostrum_journal_bad_records_total", 1);
	}
	return 0;
}

static int recover_one(recorder *r, const char *name, char *err, size_t errlen)
{
	char room[128], path[4096];
	size_t n = strlen(name);
	if (n < 5 || n - 4 >= sizeof room || strcmp(name + n - 4, ".rsj") != 0)
		return RECORDER_OK;
	snprintf(room, sizeof room, "%.*s", (int)(n - 4), name);
	recorder_journal_path(r->data_dir, room, path, sizeof path);
	struct room_log *l = get_log(r, room);
	struct journal_recovery rec;
	int rc = journal_recover(path, collect, l->records, &rec);
	if (rc != JWRITER_OK) {
		snprintf(err, errlen, "journal %s: %s", path, jwriter_strerror(rc));
		return RECORDER_EIO;
	}
	if (rec.cut_len)
		rs_log(RS_LOG_WARN, "journal %s: cut %zu bytes of a torn tail, kept %zu records",
		       path, rec.cut_len, rec.records);
	return RECORDER_OK;
}

int recorder_recover_all(recorder *r, char *err, size_t errlen)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s/journal", r->data_dir);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? RECORDER_OK : (snprintf(err, errlen, "cannot read %s", dir),
							RECORDER_EIO);
	struct dirent *e;
	int rc = RECORDER_OK;
	while (rc == RECORDER_OK && (e = readdir(d)))
		rc = recover_one(r, e->d_name, err, errlen);
	closedir(d);
	return rc;
}

json_t *recorder_read_journal(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct rs_buf b = { 0 };
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rs_buf_append(&b, chunk, n);
	fclose(f);
	json_t *arr = json_array();
	size_t good;
	int rc = journal_scan((const uint8_t *)b.p, b.len, collect, arr, &good);
	free(b.p);
	if (rc < 0) {
		snprintf(err, errlen, "%s: %s", path, journal_strerror(rc));
		json_decref(arr);
		return NULL;
	}
	return arr;
}

/* ---- appends and acknowledgements --------------------------------------------- */

static void push_waiter(recorder *r, uint64_t ticket, recorder_ack_fn fn, void *ctx)
{
	if (r->w_len == r->w_cap) {
		size_t cap = r->w_cap ? r->w_cap * 2 : 64;
		struct waiter *w = rs_malloc(cap * sizeof *w);
		for (size_t i = 0; i < r->w_len; i++)
			w[i] = r->waiters[(r->w_head + i) % r->w_cap];
		free(r->waiters);
		r->waiters = w;
		r->w_cap = cap;
		r->w_head = 0;
	}
	r->waiters[(r->w_head + r->w_len++) % r->w_cap] = (struct waiter){ ticket, fn, ctx };
}

static int write_record(recorder *r, const char *room, json_t *rec, uint64_t *ticket)
{
	char *text = json_dumps(rec, JSON_COMPACT);
	size_t len = strlen(text);
	int rc = JWRITER_OK;
	*ticket = 0;
	if (len > JOURNAL_MAX_RECORD)
		rc = JWRITER_ESIZE;
	else if (r->jw) {
		char path[4096];
		recorder_journal_path(r->data_dir, room, path, sizeof path);
		rc = jwriter_append(r->jw, path, text, len, ticket);
	}
	free(text);
	switch (rc) {
	case JWRITER_OK: return RECORDER_OK;
	case JWRITER_EFULL: return RECORDER_EFULL;
	case JWRITER_ESIZE: return RECORDER_ETOOBIG;
	default: return RECORDER_EDEAD;
	}
}

static int append_session_start(recorder *r, struct room_log *l, const char *title, json_t *rec)
{
	json_t *s = json_pack("{s:s, s:O, s:s, s:s}", "kind", "session", "t",
			      json_object_get(rec, "t"), "room", l->room, "title",
			      title ? title : l->room);
	uint64_t ticket;
	int rc = write_record(r, l->room, s, &ticket);
	if (rc == RECORDER_OK)
		json_array_append(l->records, s);
	json_decref(s);
	return rc;
}

int recorder_append(recorder *r, const char *room, const char *title, json_t *rec,
		    recorder_ack_fn fn, void *ctx)
{
	struct room_log *l = get_log(r, room);
	int rc = RECORDER_OK;
	if (json_array_size(l->records) == 0)
		rc = append_session_start(r, l, title, rec);
	uint64_t ticket = 0;
	if (rc == RECORDER_OK)
		rc = write_record(r, room, rec, &ticket);
	if (rc != RECORDER_OK) {
		metrics_error(rc == RECORDER_EFULL ? "journal_full" : "journal_failed");
		return rc;
	}
	json_array_append(l->records, rec);
	metrics_add("rostrum_journal_records_total", 1);
	if (!fn)
		return RECORDER_OK;
	if (!r->jw || jwriter_durable(r->jw) >= ticket)
		fn(ctx, RECORDER_OK);
	else
		push_waiter(r, ticket, fn, ctx);
	return RECORDER_OK;
}

int recorder_append_raw(recorder *r, const char *relpath, const void *bytes, size_t len)
{
	if (!r->jw)
		return RECORDER_OK; /* memory only: recordings are not kept */
	char path[4096];
	uint64_t ticket;
	snprintf(path, sizeof path, "%s/%s", r->data_dir, relpath);
	switch (jwriter_append_raw(r->jw, path, bytes, len, &ticket)) {
	case JWRITER_OK: return RECORDER_OK;
	case JWRITER_EFULL: return RECORDER_EFULL;
	case JWRITER_ESIZE: return RECORDER_ETOOBIG;
	default: return RECORDER_EDEAD;
	}
}

int recorder_wait_all(recorder *r, recorder_ack_fn fn, void *ctx)
{
	struct jwriter_status st;
	if (!r->jw || !fn)
		return 0;
	jwriter_status(r->jw, &st);
	if (st.durable >= st.appended)
		return 0;
	push_waiter(r, st.appended, fn, ctx);
	return 1;
}

void recorder_cancel(recorder *r, void *ctx)
{
	for (size_t i = 0; i < r->w_len; i++) {
		struct waiter *w = &r->waiters[(r->w_head + i) % r->w_cap];
		if (w->ctx == ctx)
			w->ctx = NULL;
	}
}

void recorder_on_durable(recorder *r, uint64_t ticket)
{
	while (r->w_len && r->waiters[r->w_head].ticket <= ticket) {
		struct waiter w = r->waiters[r->w_head];
		r->w_head = (r->w_head + 1) % r->w_cap;
		r->w_len--;
		if (w.ctx)
			w.fn(w.ctx, RECORDER_OK);
	}
}

bool recorder_healthy(const recorder *r)
{
	struct jwriter_status st;
	return !r->jw || jwriter_status(r->jw, &st) == JWRITER_HEALTHY;
}

void recorder_health(const recorder *r, json_t *health)
{
	struct jwriter_status st = { 0 };
	if (r->jw)
		jwriter_status(r->jw, &st);
	json_t *j = json_pack("{s:s, s:I, s:I, s:I}", "state", jwriter_state_name(st.state),
			      "records_pending", (json_int_t)st.records_pending, "bytes_pending",
			      (json_int_t)st.bytes_pending, "disk_failures",
			      (json_int_t)st.disk_failures);
	if (st.sys_errno)
		json_object_set_new(j, "error", json_string(strerror(st.sys_errno)));
	json_object_set_new(health, "journal", j);
	if (st.state != JWRITER_HEALTHY)
		json_object_set_new(health, "status", json_string("degraded"));
	metrics_set("rostrum_journal_healthy", st.state == JWRITER_HEALTHY);
	metrics_set("rostrum_journal_records_pending", (double)st.records_pending);
	metrics_set("rostrum_journal_disk_failures", (double)st.disk_failures);
}

const char *recorder_strerror(int err)
{
	switch (err) {
	case RECORDER_OK: return "ok";
	case RECORDER_EFULL: return "the transcript store cannot keep up (disk failing or full)";
	case RECORDER_EDEAD: return "the transcript writer has stopped";
	case RECORDER_ETOOBIG: return "the record is too large for the journal";
	case RECORDER_EIO: return "a journal could not be read";
	}
	return "unknown recorder error";
}
