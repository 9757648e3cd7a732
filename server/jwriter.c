#include "jwriter.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Wire format between the hub and the writer, both little-endian:
 *   request  = ticket u64 | flags_path_len u32 | rec_len u32 | path | record
 *   report   = durable u64 | durable_bytes u64 | failures u64 | errno i32 | 0 u32
 * The low 31 bits of flags_path_len are the path's length; the top bit marks
 * a raw append (bytes written as given, no journal framing). A report is the
 * writer's whole state, so the writer may skip stale ones and the hub only
 * ever applies the latest.
 */
#define REQ_HDR_LEN 16
#define REQ_RAW (1u << 31)
#define REP_LEN 32
#define REQ_MAX (REQ_HDR_LEN + JWRITER_PATH_MAX + JOURNAL_MAX_RECORD)

/* The writer stops reading requests past this many unsynced bytes: backpressure. */
#define WRITER_PENDING_MAX (64u << 20)
/* Journals left open by the writer; clean ones beyond this are closed, oldest first. */
#define WRITER_OPEN_MAX 64
/* Socket buffer asked for on each end; the kernel caps it at its own limit. */
#define SOCK_BUF_BYTES (1 << 20)

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* What the writer tells the hub. */
struct report {
	uint64_t durable;
	uint64_t durable_bytes;
	uint64_t failures;
	int32_t err;
};

static void report_encode(const struct report *r, uint8_t out[REP_LEN])
{
	put64(out, r->durable);
	put64(out + 8, r->durable_bytes);
	put64(out + 16, r->failures);
	put32(out + 24, (uint32_t)r->err);
	put32(out + 28, 0);
}

static void report_decode(const uint8_t in[REP_LEN], struct report *r)
{
	r->durable = get64(in);
	r->durable_bytes = get64(in + 8);
	r->failures = get64(in + 16);
	r->err = (int32_t)get32(in + 24);
}

/* write() until done; a short write is followed by the call that reports why. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		if (w == 0) {
			errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int sync_retry(int fd, bool data_only)
{
	int rc;
	do
		rc = data_only ? fdatasync(fd) : fsync(fd);
	while (rc != 0 && errno == EINTR);
	return rc;
}

/* close() that keeps the errno of whatever failed before it. */
static void close_keep_errno(int fd)
{
	int e = errno;
	close(fd);
	errno = e;
}

/* ---- recovery (blocking, shared by startup and the writer) ---------------- */

/* Reads the whole file; the caller frees *out. */
static int read_all(int fd, uint8_t **out, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	size_t cap = (size_t)st.st_size, n = 0;
	uint8_t *buf = rs_malloc(cap);
	while (n < cap) {
		ssize_t r = pread(fd, buf + n, cap - n, (off_t)n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Copies a corrupt tail beside the journal and syncs it, before it is cut off. */
static int save_tail(const char *path, size_t good, const uint8_t *tail, size_t n)
{
	struct rs_buf name = { 0 };
	rs_buf_printf(&name, "%s.corrupt-%zu", path, good);
	int fd = open(name.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	free(name.p);
	if (fd < 0)
		return -1;
	if (write_all(fd, tail, n) != 0 || sync_retry(fd, false) != 0) {
		close_keep_errno(fd);
		return -1;
	}
	return close(fd);
}

struct count_ctx {
	journal_record_fn fn;
	void *ctx;
	size_t records;
};

static int count_record(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	struct count_ctx *c = ctx;
	c->records++;
	return c->fn ? c->fn(c->ctx, payload, len, offset) : 0;
}

/* Cuts the file back to its valid prefix, keeping a copy of damage that may hold acked data. */
static int cut_tail(int fd, const char *path, const uint8_t *buf, size_t len,
		    struct journal_recovery *r)
{
	if (r->scan == JOURNAL_CORRUPT) {
		if (save_tail(path, r->good_len, buf + r->good_len, len - r->good_len) != 0)
			return JWRITER_ESYS;
		r->tail_saved = true;
	}
	if (ftruncate(fd, (off_t)r->good_len) != 0 || sync_retry(fd, true) != 0)
		return JWRITER_ESYS;
	r->cut_len = len - r->good_len;
	return JWRITER_OK;
}

/* journal_recover() on an open, locked descriptor. */
static int recover_fd(int fd, const char *path, journal_record_fn fn, void *ctx,
		      struct journal_recovery *r)
{
	uint8_t *buf;
	size_t len;
	*r = (struct journal_recovery){ 0 };
	if (read_all(fd, &buf, &len) != 0)
		return JWRITER_ESYS;
	struct count_ctx cc = { fn, ctx, 0 };
	r->scan = journal_scan(buf, len, count_record, &cc, &r->good_len);
	r->records = cc.records;
	int rc = JWRITER_OK;
	if (r->scan == JOURNAL_EBADHDR || r->scan == JOURNAL_EVERSION)
		rc = JWRITER_EFORMAT;
	else if (r->scan == JOURNAL_STOPPED)
		rc = JWRITER_ECANCELED;
	else if (r->scan != JOURNAL_OK)
		rc = cut_tail(fd, path, buf, len, r);
	free(buf);
	return rc;
}

int journal_recover(const char *path, journal_record_fn fn, void *ctx, struct journal_recovery *out)
{
	struct journal_recovery scratch;
	struct journal_recovery *r = out ? out : &scratch;
	*r = (struct journal_recovery){ 0 };
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? JWRITER_OK : JWRITER_ESYS;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int busy = errno == EWOULDBLOCK;
		close_keep_errno(fd);
		return busy ? JWRITER_EBUSY : JWRITER_ESYS;
	}
	int rc = recover_fd(fd, path, fn, ctx, r);
	close_keep_errno(fd);
	return rc;
}

/* ---- the writer process ---------------------------------------------------- */

/* One journal file as the writer sees it. */
struct jfile {
	char *path;               /* owned */
	int fd;                   /* -1 while closed */
	bool raw;                 /* bytes appended as given: no header, framing or recovery */
	bool checked;             /* recovered (torn tail cut) by this writer already */
	bool dir_unsynced;        /* the directory entry still needs an fsync */
	bool dirty;               /* bytes past base may exist from an unsynced attempt */
	bool failed;              /* the last attempt failed; retry at retry_at */
	bool attempt;             /* written in this round, to be synced */
	int err;
	int64_t retry_at;
	off_t base;               /* file length known durable */
	uint8_t *pend;            /* owned: bytes to follow base, not yet durable */
	size_t pend_len, pend_cap;
	uint64_t first_ticket;    /* ticket of the first record in pend; 0 when none */
	uint64_t first_bytes;     /* record bytes received before that record */
	uint64_t last_use;
};

struct writer {
	/* passed in */
	int sock;
	unsigned retry_ms, grace_ms;
	/* owned */
	struct jfile **files;
	size_t nfiles, files_cap, nopen;
	uint8_t *in;              /* REQ_MAX bytes: partial requests */
	size_t in_len;
	uint64_t next_ticket;     /* the ticket the next request must carry */
	uint64_t received_bytes;  /* record bytes of every request taken */
	size_t pend_total;
	uint64_t failures;
	uint64_t use_clock;
	bool eof;                 /* the hub closed its end, or died */
	bool broken;              /* a request made no sense: finish and exit non-zero */
	bool peer_gone;           /* reports can no longer be delivered */
	uint8_t out[REP_LEN];
	size_t out_off, out_len;  /* unsent part of the report in out */
	struct report sent;       /* the last report put in out */
};

/* Directory part of path into a new string ("." when there is none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return rs_strdup(".");
	if (slash == path)
		return rs_strdup("/");
	return rs_strndup(path, (size_t)(slash - path));
}

/* fsync()s the directory holding path, so a new entry in it survives a crash. */
static int sync_dir_of(const char *path)
{
	char *dir = dir_of(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	if (sync_retry(fd, false) != 0) {
		close_keep_errno(fd);
		return -1;
	}
	return close(fd);
}

/* mkdir -p of path's directories (mode 0750), syncing each parent that gained one. */
static int make_dirs(const char *path)
{
	char *p = rs_strdup(path);
	int rc = 0;
	for (char *s = strchr(p + 1, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0750) == 0)
			rc = sync_dir_of(p);
		else if (errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	int e = errno;
	free(p);
	errno = e;
	return rc;
}

static void pend_reserve(struct jfile *f, size_t more)
{
	if (f->pend_len + more <= f->pend_cap)
		return;
	size_t cap = f->pend_cap ? f->pend_cap : 4096;
	while (cap < f->pend_len + more)
		cap *= 2;
	f->pend = rs_realloc(f->pend, cap);
	f->pend_cap = cap;
}

/* Puts the file header in front of the pending records of an empty journal. */
static void pend_prepend_header(struct writer *w, struct jfile *f)
{
	pend_reserve(f, JOURNAL_HEADER_LEN);
	memmove(f->pend + JOURNAL_HEADER_LEN, f->pend, f->pend_len);
	journal_header(f->pend);
	f->pend_len += JOURNAL_HEADER_LEN;
	w->pend_total += JOURNAL_HEADER_LEN;
}

/* Closes the least recently used clean journal when too many are open. */
static void writer_evict(struct writer *w, const struct jfile *keep)
{
	struct jfile *victim = NULL;
	if (w->nopen <= WRITER_OPEN_MAX)
		return;
	for (size_t i = 0; i < w->nfiles; i++) {
		struct jfile *f = w->files[i];
		if (f == keep || f->fd < 0 || f->pend_len || f->dirty || f->dir_unsynced)
			continue;
		if (!victim || f->last_use < victim->last_use)
			victim = f;
	}
	if (!victim)
		return;
	close(victim->fd);
	victim->fd = -1;
	w->nopen--;
}

/* Opens (creating it and its directories if needed) and locks a journal. */
static int open_locked(const char *path)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		if (make_dirs(path) != 0)
			return -1;
		fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	}
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close_keep_errno(fd);
		return -1;
	}
	return fd;
}

/*
 * Makes f->fd usable for appending at a clean record boundary. The first
 * open by this writer cuts a torn tail left by a crash. Every open marks the
 * directory for syncing: the file may have just been created, or created by
 * a writer that died, and then its entry may exist only in the page cache.
 * A raw file has no records to find a boundary by, so it is taken as it is.
 */
static int file_open(struct writer *w, struct jfile *f)
{
	struct journal_recovery r;
	struct stat st;
	int fd = open_locked(f->path);
	if (fd < 0)
		return -1;
	if (!f->checked && !f->raw) {
		int rc = recover_fd(fd, f->path, NULL, NULL, &r);
		if (rc != JWRITER_OK) {
			errno = rc == JWRITER_EFORMAT ? EBADMSG : errno;
			close_keep_errno(fd);
			return -1;
		}
		if (r.scan != JOURNAL_OK)
			rs_log(RS_LOG_WARN, "journal %s: %s, cut %zu bytes%s", f->path,
			       journal_strerror(r.scan), r.cut_len, r.tail_saved ? " (tail saved)" : "");
		f->checked = true;
	}
	f->dir_unsynced = true;
	if (fstat(fd, &st) != 0) {
		close_keep_errno(fd);
		return -1;
	}
	f->fd = fd;
	f->base = st.st_size;
	if (st.st_size == 0 && !f->raw)
		pend_prepend_header(w, f);
	w->nopen++;
	writer_evict(w, f);
	return 0;
}

/* Records a failed attempt; the records stay pending for the next try. */
static int file_fail(struct writer *w, struct jfile *f, int err, int64_t now)
{
	if (!f->failed || f->err != err)
		rs_log(RS_LOG_ERR, "journal %s: %s; keeping %zu bytes, retrying every %u ms", f->path,
		       strerror(err), f->pend_len, w->retry_ms);
	f->failed = true;
	f->err = err;
	f->retry_at = now + w->retry_ms;
	w->failures++;
	return -1;
}

/*
 * Writes every pending byte of f after its durable length. After a failed
 * attempt the file is first cut back to that length: whatever the failed
 * attempt left (a partial group, or pages a failed fdatasync may have
 * dropped) is rewritten from memory rather than trusted.
 */
static int file_write(struct writer *w, struct jfile *f, int64_t now)
{
	if (f->fd < 0 && file_open(w, f) != 0)
		return file_fail(w, f, errno, now);
	if (f->dirty && ftruncate(f->fd, f->base) != 0)
		return file_fail(w, f, errno, now);
	f->dirty = true;
	if (write_all(f->fd, f->pend, f->pend_len) != 0)
		return file_fail(w, f, errno, now);
	return 0;
}

/* Syncs what file_write() wrote; on success the file's pending records are durable. */
static void file_sync(struct writer *w, struct jfile *f, int64_t now)
{
	if (sync_retry(f->fd, true) != 0) {
		file_fail(w, f, errno, now);
		return;
	}
	if (f->dir_unsynced && sync_dir_of(f->path) != 0) {
		file_fail(w, f, errno, now);
		return;
	}
	if (f->failed)
		rs_log(RS_LOG_INFO, "journal %s: writable again", f->path);
	f->dir_unsynced = f->dirty = f->failed = false;
	f->err = 0;
	f->base += (off_t)f->pend_len;
	w->pend_total -= f->pend_len;
	f->pend_len = 0;
	f->first_ticket = 0;
	if (f->pend_cap > (1u << 20)) {
		free(f->pend);
		f->pend = NULL;
		f->pend_cap = 0;
	}
}

/*
 * Group commit: write every journal with pending records (skipping failed
 * ones until their retry time), then sync each written one once, so one
 * fdatasync covers everything that arrived while the last one ran.
 */
static void writer_flush(struct writer *w, int64_t now)
{
	for (size_t i = 0; i < w->nfiles; i++) {
		struct jfile *f = w->files[i];
		f->attempt = false;
		if (f->first_ticket == 0 || (f->failed && now < f->retry_at))
			continue;
		f->attempt = file_write(w, f, now) == 0;
	}
	for (size_t i = 0; i < w->nfiles; i++)
		if (w->files[i]->attempt)
			file_sync(w, w->files[i], now);
}

/*
 * The file of a request, created on its first one, which also decides
 * whether it is raw. NULL when a request of the other kind names it: raw
 * bytes inside a journal would read as damage and be cut off.
 */
static struct jfile *writer_file(struct writer *w, const char *path, size_t plen, bool raw)
{
	for (size_t i = 0; i < w->nfiles; i++) {
		struct jfile *f = w->files[i];
		if (strlen(f->path) == plen && memcmp(f->path, path, plen) == 0)
			return f->raw == raw ? f : NULL;
	}
	if (w->nfiles == w->files_cap) {
		w->files_cap = w->files_cap ? w->files_cap * 2 : 16;
		w->files = rs_realloc(w->files, w->files_cap * sizeof *w->files);
	}
	struct jfile *f = rs_calloc(1, sizeof *f);
	f->path = rs_strndup(path, plen);
	f->fd = -1;
	f->raw = raw;
	w->files[w->nfiles++] = f;
	return f;
}

/* Puts one request's bytes, framed unless raw, after its file's pending bytes. */
static void pend_add(struct jfile *f, const uint8_t *rec, size_t rlen, size_t *n)
{
	if (f->raw) {
		pend_reserve(f, rlen);
		memcpy(f->pend + f->pend_len, rec, rlen);
		*n = rlen;
		return;
	}
	pend_reserve(f, journal_frame_len(rlen));
	int rc = journal_encode(rec, rlen, f->pend + f->pend_len, f->pend_cap - f->pend_len, n);
	assert(rc == JOURNAL_OK);  /* sizes were checked by writer_parse() */
	(void)rc;
}

/* Takes one accepted request into its file's pending bytes; false when its kind is wrong. */
static bool writer_take(struct writer *w, uint64_t ticket, const char *path, size_t plen,
			bool raw, const uint8_t *rec, size_t rlen)
{
	struct jfile *f = writer_file(w, path, plen, raw);
	size_t n = 0;
	if (!f)
		return false;
	pend_add(f, rec, rlen, &n);
	if (f->first_ticket == 0) {
		f->first_ticket = ticket;
		f->first_bytes = w->received_bytes;
	}
	f->pend_len += n;
	f->last_use = ++w->use_clock;
	w->pend_total += n;
	w->received_bytes += rlen;
	return true;
}

/* Takes every whole request in the input buffer; false on a request that makes no sense. */
static bool writer_parse(struct writer *w)
{
	size_t off = 0;
	bool ok = true;
	while (w->in_len - off >= REQ_HDR_LEN) {
		const uint8_t *h = w->in + off;
		uint64_t ticket = get64(h);
		uint32_t plen = get32(h + 8) & ~REQ_RAW, rlen = get32(h + 12);
		bool raw = get32(h + 8) & REQ_RAW;
		const char *path = (const char *)h + REQ_HDR_LEN;
		if (ticket != w->next_ticket || plen == 0 || plen > JWRITER_PATH_MAX || rlen == 0 ||
		    rlen > JOURNAL_MAX_RECORD) {
			ok = false;
			break;
		}
		if (w->in_len - off < REQ_HDR_LEN + (size_t)plen + rlen)
			break;
		if (memchr(path, '\0', plen) ||
		    !writer_take(w, ticket, path, plen, raw, h + REQ_HDR_LEN + plen, rlen)) {
			ok = false;
			break;
		}
		w->next_ticket++;
		off += REQ_HDR_LEN + (size_t)plen + rlen;
	}
	memmove(w->in, w->in + off, w->in_len - off);
	w->in_len -= off;
	return ok;
}

/* Reads requests until the socket is empty or the pending bound is reached. */
static void writer_read(struct writer *w)
{
	while (!w->eof && w->pend_total < WRITER_PENDING_MAX) {
		ssize_t n = recv(w->sock, w->in + w->in_len, REQ_MAX - w->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			w->eof = true;  /* closed by the hub, or the hub is gone */
			return;
		}
		w->in_len += (size_t)n;
		if (!writer_parse(w)) {
			rs_log(RS_LOG_ERR, "journal writer: malformed request; finishing and exiting");
			w->broken = w->eof = true;
		}
	}
}

/* The durable prefix is everything received before the oldest pending record. */
static void writer_state(const struct writer *w, struct report *r)
{
	r->durable = w->next_ticket - 1;
	r->durable_bytes = w->received_bytes;
	r->failures = w->failures;
	r->err = 0;
	for (size_t i = 0; i < w->nfiles; i++) {
		const struct jfile *f = w->files[i];
		if (f->first_ticket && f->first_ticket - 1 < r->durable) {
			r->durable = f->first_ticket - 1;
			r->durable_bytes = f->first_bytes;
		}
		if (f->failed && !r->err)
			r->err = f->err;
	}
}

static bool report_same(const struct report *a, const struct report *b)
{
	return a->durable == b->durable && a->durable_bytes == b->durable_bytes &&
	       a->failures == b->failures && a->err == b->err;
}

/* Sends the current state when it changed; never blocks (a busy hub gets the latest later). */
static void writer_send(struct writer *w)
{
	while (!w->peer_gone) {
		if (w->out_off == w->out_len) {
			struct report r;
			writer_state(w, &r);
			if (report_same(&r, &w->sent))
				return;
			report_encode(&r, w->out);
			w->sent = r;
			w->out_off = 0;
			w->out_len = REP_LEN;
		}
		ssize_t n = send(w->sock, w->out + w->out_off, w->out_len - w->out_off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			w->peer_gone = true;
			return;
		}
		w->out_off += (size_t)n;
	}
}

/* Milliseconds poll() may sleep: until the next retry or the give-up time, else forever. */
static int writer_timeout(const struct writer *w, int64_t now, int64_t give_up)
{
	int64_t wake = w->eof ? give_up : INT64_MAX;
	for (size_t i = 0; i < w->nfiles; i++)
		if (w->files[i]->first_ticket && w->files[i]->retry_at < wake)
			wake = w->files[i]->retry_at;
	if (wake == INT64_MAX)
		return -1;
	return wake <= now ? 0 : (int)(wake - now < 60000 ? wake - now : 60000);
}

/* True when the writer may exit: nothing pending and the hub told (or gone). */
static bool writer_done(const struct writer *w, int64_t now, int64_t give_up)
{
	bool told = w->peer_gone || w->out_off == w->out_len;
	if (w->pend_total == 0 && told)
		return true;
	if (now >= give_up) {
		if (w->pend_total)
			rs_log(RS_LOG_ERR, "journal writer: giving up on %zu unsynced bytes", w->pend_total);
		return true;
	}
	return false;
}

static int writer_run(struct writer *w)
{
	int64_t give_up = INT64_MAX;
	for (;;) {
		int64_t now = rs_mono_ms();
		writer_flush(w, now);
		writer_send(w);
		if (w->eof && give_up == INT64_MAX)
			give_up = now + w->grace_ms;
		if (w->eof && writer_done(w, now, give_up))
			return w->broken ? 3 : w->pend_total ? 1 : 0;
		struct pollfd p = { .fd = w->sock };
		if (!w->eof && w->pend_total < WRITER_PENDING_MAX)
			p.events |= POLLIN;
		if (!w->peer_gone && w->out_off < w->out_len)
			p.events |= POLLOUT;
		/* With nothing to watch, poll only sleeps: a hang-up must not wake it in a loop. */
		int r = poll(&p, p.events ? 1 : 0, writer_timeout(w, now, give_up));
		if (r < 0 && errno != EINTR)
			return 2;
		if ((p.events & POLLIN) && (p.revents & (POLLIN | POLLHUP | POLLERR)))
			writer_read(w);
	}
}

/*
 * Cuts the writer off from everything of the hub's but its socket: other
 * descriptors (listening sockets, other children's pipes) would otherwise
 * stay open as long as the writer lives. Terminal and service-manager
 * signals are ignored because the writer must outlive the hub long enough
 * to flush; it exits on end-of-file instead. SIGXFSZ is ignored so a file
 * size limit becomes an EFBIG error, kept and retried like a full disk.
 */
static int writer_isolate(int sock)
{
	static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGXFSZ };
	sigset_t none;
	for (size_t i = 0; i < RS_ARRAY_LEN(ignored); i++)
		signal(ignored[i], SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	prctl(PR_SET_NAME, "rostrum-jwriter", 0, 0, 0);
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -1;
	if (sock < 3) {
		/* The hub ran with stdio closed: keep the socket out of 0-2. */
		int high = fcntl(sock, F_DUPFD_CLOEXEC, 3);
		dup2(null, sock);
		sock = high;
	}
	if (sock < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
		return -1;
	bool closed = (sock == 3 || close_range(3, (unsigned)sock - 1, 0) == 0) &&
		      close_range((unsigned)sock + 1, ~0u, 0) == 0;
	for (int fd = 3; !closed && fd < 65536; fd++)
		if (fd != sock)
			close(fd);
	int fl = fcntl(sock, F_GETFL);
	if (fl < 0 || fcntl(sock, F_SETFL, fl | O_NONBLOCK) != 0)
		return -1;
	return sock;
}

__attribute__((noreturn)) static void writer_main(int sock, const struct jwriter_opts *o)
{
	struct writer w = { .retry_ms = o->retry_ms, .grace_ms = o->grace_ms, .next_ticket = 1 };
	w.sock = writer_isolate(sock);
	if (w.sock < 0)
		_exit(4);
	w.in = rs_malloc(REQ_MAX);
	/* _exit: the hub's atexit handlers and stdio buffers are not the writer's to run. */
	_exit(writer_run(&w));
}

/* ---- the hub side ---------------------------------------------------------- */

struct jwriter {
	/* passed in */
	struct jwriter_listener l;
	struct jwriter_opts o;
	/* owned */
	int fd;
	pid_t pid;
	bool reaped, dead, stopping;
	uint8_t *q;               /* request bytes [q_head, q_len) wait for the socket */
	size_t q_head, q_len, q_cap;
	uint8_t rep[REP_LEN];     /* a partly received report */
	size_t rep_len;
	uint64_t last_ticket, appended_bytes;
	uint64_t durable, durable_bytes, failures;
	enum jwriter_state state;
	int sys_errno;
};

static void set_buffers(int fd)
{
	int sz = SOCK_BUF_BYTES;
	/* Best effort: a bigger buffer only means fewer trips through the queue. */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
}

static void opts_fill(struct jwriter_opts *o, const struct jwriter_opts *in)
{
	*o = in ? *in : (struct jwriter_opts){ 0 };
	if (!o->queue_max)
		o->queue_max = JWRITER_QUEUE_DEFAULT;
	if (!o->retry_ms)
		o->retry_ms = JWRITER_RETRY_DEFAULT_MS;
	if (!o->grace_ms)
		o->grace_ms = JWRITER_GRACE_DEFAULT_MS;
}

jwriter *jwriter_start(const struct jwriter_listener *l, const struct jwriter_opts *opts, int *err)
{
	struct jwriter_opts o;
	int sv[2];
	opts_fill(&o, opts);
	*err = JWRITER_ESYS;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return NULL;
	set_buffers(sv[0]);
	set_buffers(sv[1]);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		writer_main(sv[1], &o);
	}
	close_keep_errno(sv[1]);
	int fl = pid < 0 ? -1 : fcntl(sv[0], F_GETFL);
	if (fl < 0 || fcntl(sv[0], F_SETFL, fl | O_NONBLOCK) != 0) {
		close_keep_errno(sv[0]);
		return NULL;  /* a forked writer sees end-of-file and exits */
	}
	jwriter *jw = rs_calloc(1, sizeof *jw);
	if (l)
		jw->l = *l;
	jw->o = o;
	jw->fd = sv[0];
	jw->pid = pid;
	*err = JWRITER_OK;
	return jw;
}

static void jw_reap(jwriter *jw, int flags)
{
	int status;
	pid_t r;
	if (jw->reaped)
		return;
	do
		r = waitpid(jw->pid, &status, flags);
	while (r < 0 && errno == EINTR);
	/* ECHILD: SIGCHLD is ignored and the kernel reaped it already. */
	jw->reaped = r == jw->pid || (r < 0 && errno == ECHILD);
}

static void jw_set_state(jwriter *jw, enum jwriter_state st, int sys_errno)
{
	if (jw->state == st && jw->sys_errno == sys_errno)
		return;
	jw->state = st;
	jw->sys_errno = sys_errno;
	if (jw->l.on_state && !jw->stopping)
		jw->l.on_state(jw->l.ctx, st, sys_errno);
}

static void jw_dead(jwriter *jw)
{
	if (jw->dead)
		return;
	jw->dead = true;
	jw_reap(jw, WNOHANG);
	if (!jw->stopping)
		rs_log(RS_LOG_ERR, "journal writer %d is gone; journal appends stop", (int)jw->pid);
	jw_set_state(jw, JWRITER_DEAD, 0);
}

static void jw_apply(jwriter *jw, const struct report *r)
{
	assert(r->durable <= jw->last_ticket);  /* the writer cannot sync what it never got */
	jw->failures = r->failures;
	if (!jw->dead)
		jw_set_state(jw, r->err ? JWRITER_DISK_ERROR : JWRITER_HEALTHY, r->err);
	if (r->durable <= jw->durable)
		return;
	jw->durable = r->durable;
	jw->durable_bytes = r->durable_bytes;
	if (jw->l.on_durable)
		jw->l.on_durable(jw->l.ctx, r->durable);
}

static void jw_feed(jwriter *jw, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t take = REP_LEN - jw->rep_len < n ? REP_LEN - jw->rep_len : n;
		memcpy(jw->rep + jw->rep_len, p, take);
		jw->rep_len += take;
		p += take;
		n -= take;
		if (jw->rep_len == REP_LEN) {
			struct report r;
			report_decode(jw->rep, &r);
			jw->rep_len = 0;
			jw_apply(jw, &r);
		}
	}
}

int jwriter_on_readable(jwriter *jw)
{
	uint8_t buf[REP_LEN * 32];
	while (!jw->dead) {
		ssize_t n = recv(jw->fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return JWRITER_OK;
		if (n <= 0)
			jw_dead(jw);
		else
			jw_feed(jw, buf, (size_t)n);
	}
	return JWRITER_EDEAD;
}

int jwriter_on_writable(jwriter *jw)
{
	while (!jw->dead && jw->q_head < jw->q_len) {
		ssize_t n = send(jw->fd, jw->q + jw->q_head, jw->q_len - jw->q_head,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return JWRITER_OK;
		if (n <= 0)
			jw_dead(jw);
		else
			jw->q_head += (size_t)n;
	}
	if (jw->q_head == jw->q_len)
		jw->q_head = jw->q_len = 0;
	return jw->dead ? JWRITER_EDEAD : JWRITER_OK;
}

/* Appends bytes to the request queue, reclaiming the sent front first. */
static void jw_queue(jwriter *jw, const void *p, size_t n)
{
	if (n == 0)
		return;
	if (jw->q_head > 0 && jw->q_head >= jw->q_len / 2) {
		memmove(jw->q, jw->q + jw->q_head, jw->q_len - jw->q_head);
		jw->q_len -= jw->q_head;
		jw->q_head = 0;
	}
	if (jw->q_len + n > jw->q_cap) {
		size_t cap = jw->q_cap ? jw->q_cap : 65536;
		while (cap < jw->q_len + n)
			cap *= 2;
		jw->q = rs_realloc(jw->q, cap);
		jw->q_cap = cap;
	}
	memcpy(jw->q + jw->q_len, p, n);
	jw->q_len += n;
}

/* Sends as much of the three request parts as the socket takes now; queues the rest. */
static int jw_send_request(jwriter *jw, struct iovec iov[3])
{
	size_t sent = 0;
	if (jw->q_head == jw->q_len) {
		struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
		ssize_t n;
		do
			n = sendmsg(jw->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			jw_dead(jw);
			return JWRITER_EDEAD;
		}
		sent = n > 0 ? (size_t)n : 0;
	}
	for (int i = 0; i < 3; i++) {
		size_t skip = sent < iov[i].iov_len ? sent : iov[i].iov_len;
		sent -= skip;
		jw_queue(jw, (const uint8_t *)iov[i].iov_base + skip, iov[i].iov_len - skip);
	}
	return JWRITER_OK;
}

/*
 * Both kinds of append. Raw bytes may fill only half of the queue, so a
 * recording's stream of pages cannot crowd out the journal records behind it
 * when the disk stalls.
 */
static int jw_append(jwriter *jw, const char *path, const void *rec, size_t len, bool raw,
		     uint64_t *ticket_out)
{
	size_t plen = path ? strnlen(path, JWRITER_PATH_MAX + 1) : 0;
	if (plen == 0 || plen > JWRITER_PATH_MAX)
		return JWRITER_EPATH;
	if (len == 0 || len > JOURNAL_MAX_RECORD)
		return JWRITER_ESIZE;
	if (jw->dead || jw->stopping)
		return JWRITER_EDEAD;
	size_t waiting = jw->q_len - jw->q_head;
	size_t bound = raw ? jw->o.queue_max / 2 : jw->o.queue_max;
	if (waiting && waiting + REQ_HDR_LEN + plen + len > bound)
		return JWRITER_EFULL;
	uint8_t hdr[REQ_HDR_LEN];
	put64(hdr, jw->last_ticket + 1);
	put32(hdr + 8, (uint32_t)plen | (raw ? REQ_RAW : 0));
	put32(hdr + 12, (uint32_t)len);
	struct iovec iov[3] = { { hdr, sizeof hdr }, { (void *)path, plen }, { (void *)rec, len } };
	int rc = jw_send_request(jw, iov);
	if (rc != JWRITER_OK)
		return rc;
	*ticket_out = ++jw->last_ticket;
	jw->appended_bytes += len;
	return JWRITER_OK;
}

int jwriter_append(jwriter *jw, const char *path, const void *rec, size_t len, uint64_t *ticket_out)
{
	return jw_append(jw, path, rec, len, false, ticket_out);
}

int jwriter_append_raw(jwriter *jw, const char *path, const void *bytes, size_t len,
		       uint64_t *ticket_out)
{
	return jw_append(jw, path, bytes, len, true, ticket_out);
}

uint64_t jwriter_durable(const jwriter *jw)
{
	return jw->durable;
}

enum jwriter_state jwriter_status(const jwriter *jw, struct jwriter_status *out)
{
	*out = (struct jwriter_status){
		.state = jw->state,
		.sys_errno = jw->sys_errno,
		.appended = jw->last_ticket,
		.durable = jw->durable,
		.records_pending = jw->last_ticket - jw->durable,
		.bytes_pending = jw->appended_bytes - jw->durable_bytes,
		.queued_bytes = jw->q_len - jw->q_head,
		.disk_failures = jw->failures,
	};
	return jw->state;
}

const char *jwriter_state_name(enum jwriter_state state)
{
	switch (state) {
	case JWRITER_HEALTHY: return "healthy";
	case JWRITER_DISK_ERROR: return "disk_error";
	case JWRITER_DEAD: return "dead";
	}
	return "unknown";
}

int jwriter_fd(const jwriter *jw)
{
	return jw->fd;
}

bool jwriter_want_write(const jwriter *jw)
{
	return !jw->dead && jw->q_head < jw->q_len;
}

pid_t jwriter_pid(const jwriter *jw)
{
	return jw->pid;
}

/* Waits up to deadline for the fd, then runs whichever handlers apply. */
static void jw_pump(jwriter *jw, int64_t deadline)
{
	int64_t left = deadline - rs_mono_ms();
	struct pollfd p = { .fd = jw->fd, .events = POLLIN };
	if (jwriter_want_write(jw))
		p.events |= POLLOUT;
	if (poll(&p, 1, left > 0 ? (int)(left < 1000 ? left : 1000) : 0) <= 0)
		return;
	/* A gone writer shows as jw->dead, which the callers test. */
	if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && jwriter_on_readable(jw) != JWRITER_OK)
		return;
	if ((p.revents & POLLOUT) && jwriter_on_writable(jw) != JWRITER_OK)
		return;
}

int jwriter_stop(jwriter *jw)
{
	/* The writer gives up grace_ms after end-of-file; allow its last group on top. */
	int64_t deadline = rs_mono_ms() + jw->o.grace_ms + 10000;
	while (!jw->dead && jwriter_want_write(jw) && rs_mono_ms() < deadline)
		jw_pump(jw, deadline);
	jw->stopping = true;
	shutdown(jw->fd, SHUT_WR);
	while (!jw->dead && rs_mono_ms() < deadline)
		jw_pump(jw, deadline);
	close(jw->fd);
	if (!jw->dead)
		kill(jw->pid, SIGKILL);  /* stuck in a sync past every deadline */
	jw_reap(jw, 0);
	int rc = jw->durable == jw->last_ticket ? JWRITER_OK : JWRITER_EUNFLUSHED;
	if (rc != JWRITER_OK)
		rs_log(RS_LOG_ERR, "journal writer stopped with %" PRIu64 " records not durable",
		       jw->last_ticket - jw->durable);
	free(jw->q);
	free(jw);
	return rc;
}

const char *jwriter_strerror(int err)
{
	switch (err) {
	case JWRITER_OK: return "ok";
	case JWRITER_ESYS: return "system call failed";
	case JWRITER_EFULL: return "journal queue full, try later";
	case JWRITER_EDEAD: return "journal writer process is gone";
	case JWRITER_EPATH: return "journal path empty or too long";
	case JWRITER_ESIZE: return "journal record empty or too big";
	case JWRITER_EUNFLUSHED: return "some journal records never became durable";
	case JWRITER_EBUSY: return "journal is held by another writer";
	case JWRITER_EFORMAT: return "not a journal file this version reads";
	case JWRITER_ECANCELED: return "journal recovery stopped by its caller";
	}
	return "unknown journal writer error";
}
