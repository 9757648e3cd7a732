#include "recorder.h"
#include "metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct waiter {
	uint64_t ticket;
	recorder_ack_fn fn;
	void *ctx;             /* NULL once cancelled */
};

/* One recording of a room, from its start and stop records. */
struct rec_entry {
	char *file;
	json_int_t start_t, stop_t;
	bool active;
};

/* The open line of one captioner over HTTP: its last caption_open record. */
struct open_entry {
	char *captioner_id;
	json_t *rec;           /* owned */
};

/* The index of one room's journal (see recorder.h: no records, only what is needed). */
struct room_log {
	char *room;
	uint64_t records, bytes, ticket;
	struct rec_entry *recs;
	size_t n_recs;
	struct open_entry *open;
	size_t n_open;
};

struct recorder {
	/* passed in */
	jwriter *jw;           /* borrowed; NULL = nothing written */
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

static void log_free(struct room_log *l)
{
	for (size_t i = 0; i < l->n_recs; i++)
		free(l->recs[i].file);
	for (size_t i = 0; i < l->n_open; i++) {
		free(l->open[i].captioner_id);
		json_decref(l->open[i].rec);
	}
	free(l->recs);
	free(l->open);
	free(l->room);
}

void recorder_destroy(recorder *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_logs; i++)
		log_free(&r->logs[i]);
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
	*l = (struct room_log){ .room = rs_strdup(room) };
	return l;
}

const char *const *recorder_rooms(const recorder *r, size_t *n, const char **buf, size_t cap)
{
	*n = 0;
	for (size_t i = 0; i < r->n_logs && *n < cap; i++)
		buf[(*n)++] = r->logs[i].room;
	return buf;
}

bool recorder_room_info(const recorder *r, const char *room, struct recorder_room_info *out)
{
	const struct room_log *l = find_log(r, room);
	if (!l || !l->records)
		return false;
	*out = (struct recorder_room_info){ l->records, l->bytes, l->ticket };
	return true;
}

/* ---- the index ------------------------------------------------------------------ */

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void index_recording(struct room_log *l, const json_t *rec)
{
	const char *event = str(rec, "event"), *file = str(rec, "file");
	if (!event || !file)
		return;
	struct rec_entry *last = l->n_recs ? &l->recs[l->n_recs - 1] : NULL;
	if (strcmp(event, "start") == 0) {
		l->recs = rs_realloc(l->recs, (l->n_recs + 1) * sizeof *l->recs);
		l->recs[l->n_recs++] = (struct rec_entry){
			.file = rs_strdup(file), .active = true,
			.start_t = json_integer_value(json_object_get(rec, "start_t")) };
	} else if (last && strcmp(last->file, file) == 0) {
		last->stop_t = json_integer_value(json_object_get(rec, "t"));
		last->active = false;
	}
}

/* A caption record of a captioner replaces its open line: kept when it is one, with text. */
static void index_caption(struct room_log *l, const json_t *rec, bool open)
{
	const char *id = str(rec, "captioner_id"), *text = str(rec, "text");
	if (!id)
		return;
	size_t i = 0;
	while (i < l->n_open && strcmp(l->open[i].captioner_id, id) != 0)
		i++;
	bool keep = open && text && text[0];
	if (i == l->n_open) {
		if (!keep)
			return;
		l->open = rs_realloc(l->open, (l->n_open + 1) * sizeof *l->open);
		l->open[l->n_open++] = (struct open_entry){ rs_strdup(id), NULL };
	}
	json_decref(l->open[i].rec);
	l->open[i].rec = NULL;
	if (keep) {
		l->open[i].rec = json_deep_copy(rec);
		return;
	}
	free(l->open[i].captioner_id);
	l->open[i] = l->open[--l->n_open];
}

/* Counts one record of len payload bytes and keeps what the index needs of it. */
static void index_record(struct room_log *l, const json_t *rec, size_t len)
{
	if (l->bytes == 0)
		l->bytes = JOURNAL_HEADER_LEN; /* the writer starts a new file with the header */
	l->bytes += journal_frame_len(len);
	l->records++;
	const char *kind = str(rec, "kind");
	if (!kind)
		return;
	if (strcmp(kind, "recording") == 0)
		index_recording(l, rec);
	else if (strcmp(kind, "caption") == 0 || strcmp(kind, "caption_open") == 0)
		index_caption(l, rec, kind[7] == '_');
}

json_t *recorder_recordings(const recorder *r, const char *room)
{
	json_t *list = json_array();
	const struct room_log *l = find_log(r, room);
	for (size_t i = 0; l && i < l->n_recs; i++) {
		const struct rec_entry *e = &l->recs[i];
		json_t *o = json_pack("{s:s, s:I, s:b}", "file", e->file, "start_t", e->start_t,
				      "active", e->active);
		if (!e->active)
			json_object_set_new(o, "stop_t", json_integer(e->stop_t));
		json_array_append_new(list, o);
	}
	return list;
}

json_t *recorder_open_lines(const recorder *r, const char *room)
{
	json_t *list = json_array();
	const struct room_log *l = find_log(r, room);
	for (size_t i = 0; l && i < l->n_open; i++)
		json_array_append(list, l->open[i].rec);
	return list;
}

/* ---- reading journal files ------------------------------------------------------ */

#define READ_CHUNK 65536

/* A sliding window over a file: bytes [start, len) of buf are unread. */
struct window {
	int fd;
	uint8_t *buf;
	size_t start, len, cap;
	uint64_t file_off;     /* file offset of buf[start] */
	uint64_t limit;        /* stop reading here (UINT64_MAX: the whole file) */
	bool eof;
};

/* Reads more so that at least want bytes are unread (fewer at the end); -1 on a read error. */
static int window_fill(struct window *w, size_t want)
{
	if (w->start) {
		memmove(w->buf, w->buf + w->start, w->len - w->start);
		w->len -= w->start;
		w->start = 0;
	}
	if (want + READ_CHUNK > w->cap) {
		w->cap = want + READ_CHUNK;
		w->buf = rs_realloc(w->buf, w->cap);
	}
	while (!w->eof && w->len < want) {
		uint64_t left = w->limit - (w->file_off + w->len);
		size_t room = w->cap - w->len;
		ssize_t n = read(w->fd, w->buf + w->len, left < room ? (size_t)left : room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		w->len += (size_t)n;
		w->eof = n == 0 || w->file_off + w->len >= w->limit;
	}
	return 0;
}

/* The records after the header: returns JOURNAL_OK, _TORN, _CORRUPT or _STOPPED, or -1 (read error). */
static int scan_records(struct window *w, journal_record_fn fn, void *ctx, struct recorder_scan *st)
{
	for (;;) {
		size_t frame = 0, avail = w->len - w->start;
		int rc = avail ? journal_next(w->buf + w->start, avail, &frame) : JOURNAL_TORN;
		if (rc == JOURNAL_TORN && !w->eof) {
			if (window_fill(w, frame > avail ? frame : avail + 1) < 0)
				return -1;
			continue;
		}
		if (rc == JOURNAL_TORN && avail == 0)
			return JOURNAL_OK;
		if (rc != JOURNAL_OK)
			return rc;
		const uint8_t *p = w->buf + w->start;
		int stop = fn ? fn(ctx, p + JOURNAL_FRAME_OVERHEAD, frame - JOURNAL_FRAME_OVERHEAD,
				   (size_t)w->file_off) : 0;
		w->start += frame;
		w->file_off += frame;
		st->records++;
		st->good_len = w->file_off;
		if (stop)
			return JOURNAL_STOPPED;
	}
}

int recorder_scan_journal(const char *path, uint64_t limit, journal_record_fn fn, void *ctx,
			  struct recorder_scan *out, char *err, size_t errlen)
{
	struct recorder_scan st = { .scan = JOURNAL_OK };
	struct window w = { .fd = open(path, O_RDONLY | O_CLOEXEC),
			    .limit = limit ? limit : UINT64_MAX };
	if (w.fd < 0 && errno == ENOENT) {
		if (out)
			*out = st;
		return RECORDER_OK;
	}
	int rc = RECORDER_OK;
	if (w.fd < 0 || window_fill(&w, JOURNAL_HEADER_LEN) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		rc = RECORDER_EIO;
	} else if (w.len == 0) {
		/* an empty file is an empty journal */
	} else if (w.len < JOURNAL_HEADER_LEN || journal_check_header(w.buf) != JOURNAL_OK) {
		snprintf(err, errlen, "%s: %s", path, journal_strerror(w.len < JOURNAL_HEADER_LEN
				? JOURNAL_TORN : journal_check_header(w.buf)));
		rc = w.len < JOURNAL_HEADER_LEN ? RECORDER_OK : RECORDER_EIO;
	} else {
		w.start = JOURNAL_HEADER_LEN;
		w.file_off = JOURNAL_HEADER_LEN;
		st.good_len = JOURNAL_HEADER_LEN;
		st.scan = scan_records(&w, fn, ctx, &st);
		if (st.scan == JOURNAL_STOPPED)
			st.scan = JOURNAL_OK;
		if (st.scan < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			rc = RECORDER_EIO;
		}
	}
	if (w.fd >= 0)
		close(w.fd);
	free(w.buf);
	if (out)
		*out = st;
	return rc;
}

struct foreach_ctx {
	recorder_json_fn fn;
	void *ctx;
};

static int foreach_one(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	(void)offset;
	struct foreach_ctx *f = ctx;
	json_t *rec = json_loadb((const char *)payload, len, 0, NULL);
	int stop = json_is_object(rec) ? f->fn(f->ctx, rec) : 0;
	json_decref(rec);
	return stop;
}

int recorder_foreach(const recorder *r, const char *room, recorder_json_fn fn, void *ctx)
{
	char path[4096], err[256];
	recorder_journal_path(r->data_dir, room, path, sizeof path);
	struct foreach_ctx f = { fn, ctx };
	int rc = recorder_scan_journal(path, 0, foreach_one, &f, NULL, err, sizeof err);
	if (rc != RECORDER_OK)
		rs_log(RS_LOG_WARN, "%s", err);
	return rc;
}

/* ---- startup ------------------------------------------------------------------ */

/* Indexes each whole record; a record that is not JSON is counted and skipped. */
static int collect(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	(void)offset;
	struct room_log *l = ctx;
	json_t *rec = json_loadb((const char *)payload, len, 0, NULL);
	if (!json_is_object(rec))
		metrics_add("rostrum_journal_bad_records_total", 1);
	index_record(l, json_is_object(rec) ? rec : NULL, len);
	json_decref(rec);
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
	int rc = journal_recover(path, collect, l, &rec);
	if (rc != JWRITER_OK) {
		snprintf(err, errlen, "journal %s: %s", path, jwriter_strerror(rc));
		return RECORDER_EIO;
	}
	l->bytes = rec.good_len;
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
	/* The ring stays in ticket order: a lower ticket behind a higher one only waits longer. */
	if (r->w_len) {
		uint64_t tail = r->waiters[(r->w_head + r->w_len - 1) % r->w_cap].ticket;
		ticket = ticket < tail ? tail : ticket;
	}
	r->waiters[(r->w_head + r->w_len++) % r->w_cap] = (struct waiter){ ticket, fn, ctx };
}

static int write_record(recorder *r, const char *room, json_t *rec, uint64_t *ticket,
			size_t *len_out)
{
	char *text = json_dumps(rec, JSON_COMPACT);
	size_t len = strlen(text);
	*len_out = len;
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
	size_t len;
	int rc = write_record(r, l->room, s, &ticket, &len);
	if (rc == RECORDER_OK) {
		index_record(l, s, len);
		l->ticket = ticket;
	}
	json_decref(s);
	return rc;
}

int recorder_append(recorder *r, const char *room, const char *title, json_t *rec,
		    recorder_ack_fn fn, void *ctx)
{
	struct room_log *l = get_log(r, room);
	int rc = RECORDER_OK;
	if (l->records == 0)
		rc = append_session_start(r, l, title, rec);
	uint64_t ticket = 0;
	size_t len = 0;
	if (rc == RECORDER_OK)
		rc = write_record(r, room, rec, &ticket, &len);
	if (rc != RECORDER_OK) {
		metrics_error(rc == RECORDER_EFULL ? "journal_full" : "journal_failed");
		return rc;
	}
	index_record(l, rec, len);
	l->ticket = ticket;
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

int recorder_wait_room(recorder *r, const char *room, recorder_ack_fn fn, void *ctx)
{
	const struct room_log *l = find_log(r, room);
	if (!r->jw || !fn || !l || jwriter_durable(r->jw) >= l->ticket)
		return 0;
	push_waiter(r, l->ticket, fn, ctx);
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
