/*
 * recorder: the transcript recorder — every final caption, floor event,
 * join/leave and written intervention of a room, appended in order to that
 * room's journal (DATA/journal/ROOM.rsj).
 *
 * The records themselves are not kept in memory: the journal file is the
 * store. What stays is a small index per room, the same after a million
 * records as after ten: how many records there are and how long the file
 * is once they are all written (so an export reads a consistent prefix), the
 * room's recordings (for the recordings list and downloads), and the open
 * caption line of each captioner over HTTP (the text it was told is saved,
 * completed as a final after a crash). Everything else — exports, and any
 * module that rebuilds its state at start — reads the file record by record
 * with recorder_scan_journal() or recorder_foreach(), in bounded memory.
 *
 * Durability is the jwriter's job; the recorder pairs each append with an
 * optional acknowledgement callback that runs only once the record is on disk
 * (group commit), so a caption is acknowledged exactly when it cannot be lost.
 * Without a jwriter (unit tests) records are durable at once.
 *
 * Ownership: the caller owns the recorder and the jwriter it was given. The
 * recorder owns its index.
 */
#ifndef ROSTRUM_RECORDER_H
#define ROSTRUM_RECORDER_H

#include "jwriter.h"
#include "util.h"

#include <jansson.h>

typedef struct recorder recorder;

enum recorder_err {
	RECORDER_OK = 0,
	RECORDER_EFULL = -1,    /* the disk is failing and the hub-side queue is full */
	RECORDER_EDEAD = -2,    /* the writer process is gone */
	RECORDER_ETOOBIG = -3,  /* record over the journal's limit */
	RECORDER_EIO = -4,      /* startup: a journal could not be read or recovered */
};

/* Called once the record is durable (status RECORDER_OK) or can never be (an error). */
typedef void (*recorder_ack_fn)(void *ctx, int status);

/* A recorder writing under data_dir through jw (NULL: nothing is written, only indexed). */
recorder *recorder_create(const char *data_dir, jwriter *jw);
/* Frees the recorder; pending acknowledgements are dropped without a call. */
void recorder_destroy(recorder *r);

/*
 * Startup: recovers every journal under DATA/journal (a torn tail is cut off)
 * and indexes its records. Blocking; call before the event loop. Returns
 * RECORDER_OK or RECORDER_EIO with a message in err.
 */
RS_MUST_CHECK int recorder_recover_all(recorder *r, char *err, size_t errlen);

/*
 * Appends rec (borrowed; it must carry "t" and "kind") to room's journal.
 * The first record of a room's journal is preceded by a "session" record.
 * When fn is given it is called once the record is durable. Returns
 * RECORDER_OK, or an error and nothing was kept (fn is not called).
 */
RS_MUST_CHECK int recorder_append(recorder *r, const char *room, const char *title, json_t *rec,
				  recorder_ack_fn fn, void *ctx);
/*
 * Appends bytes as they are to DATA/relpath (an audio recording's Ogg pages):
 * no framing, no acknowledgement, durable with the journals' next group
 * commit. RECORDER_EFULL when the writer's queue has no room for audio (it
 * keeps room for journal records), RECORDER_EDEAD, or RECORDER_OK.
 */
RS_MUST_CHECK int recorder_append_raw(recorder *r, const char *relpath, const void *bytes,
				      size_t len);
/*
 * Calls fn once everything appended so far is durable (a retried request whose
 * original may still be on its way to disk). Returns 1 when fn was queued, 0
 * when nothing was pending (fn is not called then), never an error.
 */
int recorder_wait_all(recorder *r, recorder_ack_fn fn, void *ctx);
/*
 * Calls fn once every record appended so far to room's journal is durable
 * (an export reads the file after that). Returns 1 when fn was queued, 0
 * when they already are (fn is not called then).
 */
int recorder_wait_room(recorder *r, const char *room, recorder_ack_fn fn, void *ctx);
/* Forgets every pending acknowledgement whose ctx is ctx (its requester went away). */
void recorder_cancel(recorder *r, void *ctx);
/* The jwriter reported every ticket up to `ticket` durable. */
void recorder_on_durable(recorder *r, uint64_t ticket);

/* The rooms that have a journal (borrowed names, valid until the next append); *n gets the count. */
const char *const *recorder_rooms(const recorder *r, size_t *n, const char **buf, size_t cap);

/* What the index knows of one room's journal. */
struct recorder_room_info {
	uint64_t records;         /* records appended or recovered, session record included */
	uint64_t bytes;           /* the file's length once all of them are written (header included) */
	uint64_t appended;        /* the jwriter ticket of the last of them (0: none this run) */
};
/* Fills *out for room; false when the room has no journal. */
bool recorder_room_info(const recorder *r, const char *room, struct recorder_room_info *out);
/*
 * The room's recordings from its journal, oldest first: [{"file", "start_t",
 * "active", "stop_t"?}] (new reference; empty when none). The journal is the
 * list, so only files this server wrote for this room are ever named.
 */
json_t *recorder_recordings(const recorder *r, const char *room);
/*
 * The open caption lines of the room's captioning software: for each
 * captioner whose last caption record is a caption_open with text, a copy of
 * it (new reference, an array; empty when none).
 */
json_t *recorder_open_lines(const recorder *r, const char *room);

/* What recorder_scan_journal() found. */
struct recorder_scan {
	int scan;                 /* JOURNAL_OK, JOURNAL_TORN or JOURNAL_CORRUPT (where it stopped) */
	size_t records;           /* whole records delivered */
	uint64_t good_len;        /* end of the last whole record read */
};
/*
 * Reads the journal at path record by record, without modifying it (also
 * while a server writes it), in bounded memory (one read buffer, at most a
 * record plus 64 KiB), and calls fn for each whole record in order up to
 * file offset limit (0: the whole file), stopping at the first damaged or
 * incomplete one. fn returning non-zero stops the scan (not an error).
 * Returns RECORDER_OK (a missing file has no records), or RECORDER_EIO with
 * a message in err (unreadable, or not a journal). out may be NULL.
 */
RS_MUST_CHECK int recorder_scan_journal(const char *path, uint64_t limit, journal_record_fn fn,
					void *ctx, struct recorder_scan *out, char *err,
					size_t errlen);
/* Called with each record of a room as a JSON object (borrowed, valid during the call). */
typedef int (*recorder_json_fn)(void *ctx, const json_t *rec);
/*
 * Walks a room's journal from its file: every record appended so far that
 * the writer has written, parsed one at a time (records that are not JSON
 * objects are skipped). For startup (rebuilding state); blocking. Returns as
 * recorder_scan_journal().
 */
RS_MUST_CHECK int recorder_foreach(const recorder *r, const char *room, recorder_json_fn fn,
				   void *ctx);

/* Adds the recorder's state to a health object (journal state, pending records). */
void recorder_health(const recorder *r, json_t *health);
/* True while appends are being acknowledged (the disk is writable). */
bool recorder_healthy(const recorder *r);
const char *recorder_strerror(int err);

/* The data directory the recorder writes under (borrowed). */
const char *recorder_data_dir(const recorder *r);
/* Path of a room's journal under data_dir (written into out). */
void recorder_journal_path(const char *data_dir, const char *room, char *out, size_t cap);

#endif
