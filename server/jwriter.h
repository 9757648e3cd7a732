/*
 * jwriter: durable journal appends without blocking the event loop.
 *
 * The hub is one thread with one event loop, and write()+fdatasync() can
 * stall for tens of milliseconds (or forever on a failing disk). So at start,
 * before the loop exists, jwriter_start() forks a small writer process that
 * does nothing but file I/O. The two talk over one non-blocking socketpair:
 *
 *   hub -> writer   append requests {ticket, path, raw flag, record bytes}
 *   writer -> hub   state reports   {durable up to ticket N, bytes, failures, errno}
 *
 * Tickets are one global sequence starting at 1. "Durable up to N" means
 * every record with ticket <= N has been written and fdatasync()ed (and the
 * directory entry of a newly created file fsync()ed): only then may the hub
 * acknowledge it. The writer commits in groups: it takes everything waiting
 * on the socket, appends it to each journal file, syncs each touched file
 * once, and reports.
 *
 * On a write or sync failure (ENOSPC, EIO, EFBIG...) the writer keeps the
 * records in memory, reports the errno, and every retry_ms truncates the file
 * back to its last durable size and rewrites them, so the file never holds a
 * half-written group after a failed attempt and acknowledged text is never
 * lost. When the hub closes its end (jwriter_stop(), or the hub dying) the
 * writer finishes what it has and exits. Each journal file is held under an
 * exclusive flock() by the writer while open, so a second server (or a
 * lingering writer of a previous one) cannot interleave appends.
 *
 * Recordings (Ogg pages) go through the same writer as raw appends: the
 * same tickets, group commit, fdatasync, retries, flock and modes, but the
 * bytes land in the file exactly as given, with no journal header, no
 * framing and no torn-tail scan when the file is opened (a crash may leave
 * a partial page at the end; an Ogg reader resynchronizes on the next
 * capture pattern). A file is raw or a journal for the writer's lifetime:
 * the first append to a path decides, and a request of the other kind for
 * it is treated like a malformed request (the writer finishes what it has
 * and exits, the hub sees JWRITER_DEAD), since raw bytes in a journal would
 * read as damage. Raw appends may use only half of the hub-side queue, so
 * on a stalled disk audio cannot starve the journal records that acks wait
 * for; the caller drops a refused page and counts it.
 *
 * Parent-side calls never block, except jwriter_start() and jwriter_stop(),
 * which run outside the event loop. None of them reads a clock except
 * jwriter_stop(). Integration: watch jwriter_fd() for input always and for
 * output while jwriter_want_write(); call jwriter_on_readable() /
 * jwriter_on_writable() accordingly.
 *
 * Ownership: the caller owns the jwriter handle and frees it only through
 * jwriter_stop(). Paths and records passed in are copied.
 */
#ifndef ROSTRUM_JWRITER_H
#define ROSTRUM_JWRITER_H

#include "journal.h"
#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct jwriter jwriter;

#define JWRITER_PATH_MAX 4096                     /* bytes, without the NUL */
#define JWRITER_QUEUE_DEFAULT (8u << 20)          /* request bytes held in the hub */
#define JWRITER_RETRY_DEFAULT_MS 200
#define JWRITER_GRACE_DEFAULT_MS 30000

enum jwriter_err {
	JWRITER_OK = 0,
	JWRITER_ESYS = -1,        /* a system call failed; errno says which */
	JWRITER_EFULL = -2,       /* the request queue is at its bound: not accepted, try later */
	JWRITER_EDEAD = -3,       /* the writer process is gone: nothing more becomes durable */
	JWRITER_EPATH = -4,       /* path empty or longer than JWRITER_PATH_MAX */
	JWRITER_ESIZE = -5,       /* record empty or longer than JOURNAL_MAX_RECORD */
	JWRITER_EUNFLUSHED = -6,  /* stop: some accepted records never became durable */
	JWRITER_EBUSY = -7,       /* recover: another process holds the journal open for writing */
	JWRITER_EFORMAT = -8,     /* recover: not a journal this build reads; left untouched */
	JWRITER_ECANCELED = -9,   /* recover: the record callback asked to stop; file untouched */
};

enum jwriter_state {
	JWRITER_HEALTHY = 0,      /* writes and syncs succeed */
	JWRITER_DISK_ERROR = 1,   /* some journal cannot be written or synced; acks have stopped */
	JWRITER_DEAD = 2,         /* the writer process exited; acks have stopped for good */
};

struct jwriter_listener {
	/*
	 * Every record with a ticket <= ticket is durable. Called from
	 * jwriter_on_readable() or jwriter_stop() with strictly increasing
	 * tickets. May call jwriter_append(); must not call jwriter_stop().
	 */
	void (*on_durable)(void *ctx, uint64_t ticket);
	/* Optional: the state changed; sys_errno is the failing errno for DISK_ERROR. */
	void (*on_state)(void *ctx, enum jwriter_state state, int sys_errno);
	void *ctx;
};

struct jwriter_opts {
	size_t queue_max;         /* request bytes buffered in the hub; 0: JWRITER_QUEUE_DEFAULT */
	unsigned retry_ms;        /* delay between retries after a failure; 0: default */
	unsigned grace_ms;        /* how long the writer keeps retrying once told to stop; 0: default */
};

struct jwriter_status {
	enum jwriter_state state;
	int sys_errno;            /* errno of the current failure, 0 when healthy */
	uint64_t appended;        /* highest ticket handed out */
	uint64_t durable;         /* highest ticket known durable (all lower ones are too) */
	uint64_t records_pending; /* appended - durable */
	uint64_t bytes_pending;   /* record bytes accepted but not yet durable */
	size_t queued_bytes;      /* request bytes still in this process, not yet on the socket */
	uint64_t disk_failures;   /* failed write/sync attempts the writer has seen */
};

/*
 * Forks the writer process. Call before the event loop and before any other
 * fork (children forked later inherit the hub's end of the socket and would
 * delay the writer noticing that the hub died). The writer inherits the
 * working directory: relative journal paths resolve against the directory
 * current now, so do not chdir() afterwards. l and opts are copied; either
 * may be NULL (no callbacks; defaults). Returns the handle, or NULL with *err set to a
 * jwriter_err code (errno kept for JWRITER_ESYS).
 */
RS_MUST_CHECK jwriter *jwriter_start(const struct jwriter_listener *l,
				     const struct jwriter_opts *opts, int *err);

/*
 * Queues rec[0..len) for appending to the journal at path (created with mode
 * 0640, and its directories with 0750, when missing). Sends at once when the
 * socket has room; the rest waits for jwriter_on_writable(). On JWRITER_OK
 * sets *ticket_out; the record is durable once jwriter_durable() reaches it.
 * A request is accepted when the bytes already waiting plus this one stay
 * within queue_max, or when nothing is waiting; otherwise JWRITER_EFULL and
 * nothing is kept (the caller still owns the record and must not ack it).
 * Also JWRITER_EPATH, JWRITER_ESIZE, and JWRITER_EDEAD (writer gone, or
 * called from a callback during jwriter_stop()).
 */
RS_MUST_CHECK int jwriter_append(jwriter *jw, const char *path, const void *rec, size_t len,
				 uint64_t *ticket_out);

/*
 * Queues bytes[0..len) for appending to path exactly as given: no journal
 * header, framing or recovery (see the top of this file). Tickets, durability,
 * retries, modes and the JWRITER_EPATH/ESIZE/EDEAD results are those of
 * jwriter_append(). The queue bound is half of queue_max: JWRITER_EFULL when
 * the bytes already waiting plus this request would pass queue_max / 2 (and
 * something is waiting), leaving the other half to journal records. path
 * must not be one that jwriter_append() is used for.
 */
RS_MUST_CHECK int jwriter_append_raw(jwriter *jw, const char *path, const void *bytes, size_t len,
				     uint64_t *ticket_out);

/* The highest ticket N such that every record with ticket <= N is durable. */
uint64_t jwriter_durable(const jwriter *jw);

/* Fills *out and returns out->state. */
enum jwriter_state jwriter_status(const jwriter *jw, struct jwriter_status *out);

/* Stable lower-case name of a state ("healthy", "disk_error", "dead"). */
const char *jwriter_state_name(enum jwriter_state state);

/* The socket to watch; valid until jwriter_stop(). */
int jwriter_fd(const jwriter *jw);

/* True while request bytes wait for the socket: watch jwriter_fd() for output. */
bool jwriter_want_write(const jwriter *jw);

/*
 * Reads the writer's reports and calls the listener. Returns JWRITER_OK, or
 * JWRITER_EDEAD once the writer is gone (stop watching the fd then).
 */
RS_MUST_CHECK int jwriter_on_readable(jwriter *jw);

/* Sends waiting requests. Returns JWRITER_OK or JWRITER_EDEAD. */
RS_MUST_CHECK int jwriter_on_writable(jwriter *jw);

/* The writer's process id (for health output and tests). */
pid_t jwriter_pid(const jwriter *jw);

/*
 * Shutdown: sends what is still queued, closes the hub's end so the writer
 * finishes, reads its last reports (calling on_durable), reaps it and frees
 * jw. Blocks for at most about grace_ms plus the time the last group takes.
 * Returns JWRITER_OK when every appended record became durable, else
 * JWRITER_EUNFLUSHED. jw is freed either way.
 */
RS_MUST_CHECK int jwriter_stop(jwriter *jw);

/* A short English description of a jwriter_err code. */
const char *jwriter_strerror(int err);

/* What journal_recover() found and did. */
struct journal_recovery {
	int scan;                 /* journal_scan() result: JOURNAL_OK, _TORN or _CORRUPT */
	size_t records;           /* whole records delivered */
	size_t good_len;          /* file length kept */
	size_t cut_len;           /* bytes cut off the end */
	bool tail_saved;          /* corrupt tail copied to "<path>.corrupt-<good_len>" first */
};

/*
 * Startup recovery of one journal (blocking; run before the event loop, or
 * in the writer). Reads the whole file, calls fn for each whole record in
 * order, then cuts a torn or corrupt tail off with ftruncate() and syncs, so
 * appends continue after the good prefix. A corrupt tail (damage with data
 * after it, which may hold acknowledged records) is first copied beside the
 * journal for an operator. A missing file is not an error (no records).
 * Returns JWRITER_OK with *out filled (out may be NULL), JWRITER_EBUSY when a
 * writer holds the file, JWRITER_EFORMAT for a foreign or newer file,
 * JWRITER_ECANCELED when fn stopped the scan, or JWRITER_ESYS (errno set).
 * Only JWRITER_OK may have modified the file.
 */
RS_MUST_CHECK int journal_recover(const char *path, journal_record_fn fn, void *ctx,
				  struct journal_recovery *out);

#endif
