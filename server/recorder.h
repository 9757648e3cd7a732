/*
 * recorder: the transcript recorder — every final caption, floor event,
 * join/leave and written intervention of a room, appended in order to that
 * room's journal (DATA/journal/ROOM.rsj) and kept in memory for exports and
 * late joiners.
 *
 * Durability is the jwriter's job; the recorder pairs each append with an
 * optional acknowledgement callback that runs only once the record is on disk
 * (group commit), so a caption is acknowledged exactly when it cannot be lost.
 * Without a jwriter (unit tests) records are durable at once.
 *
 * Ownership: the caller owns the recorder and the jwriter it was given. The
 * recorder owns the in-memory records (one JSON array per room).
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

/* A recorder writing under data_dir through jw (NULL: keep records in memory only). */
recorder *recorder_create(const char *data_dir, jwriter *jw);
/* Frees the recorder; pending acknowledgements are dropped without a call. */
void recorder_destroy(recorder *r);

/*
 * Startup: recovers every journal under DATA/journal (a torn tail is cut off)
 * and loads its records. Blocking; call before the event loop. Returns
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
/* Forgets every pending acknowledgement whose ctx is ctx (its requester went away). */
void recorder_cancel(recorder *r, void *ctx);
/* The jwriter reported every ticket up to `ticket` durable. */
void recorder_on_durable(recorder *r, uint64_t ticket);

/* The rooms that have a journal (borrowed names, valid until the next append); *n gets the count. */
const char *const *recorder_rooms(const recorder *r, size_t *n, const char **buf, size_t cap);
/* The records of a room's journal so far, in order (borrowed; NULL when none). */
json_t *recorder_records(const recorder *r, const char *room);
/* Adds the recorder's state to a health object (journal state, pending records). */
void recorder_health(const recorder *r, json_t *health);
/* True while appends are being acknowledged (the disk is writable). */
bool recorder_healthy(const recorder *r);
const char *recorder_strerror(int err);

/* The data directory the recorder writes under (borrowed). */
const char *recorder_data_dir(const recorder *r);
/* Path of a room's journal under data_dir (written into out). */
void recorder_journal_path(const char *data_dir, const char *room, char *out, size_t cap);
/*
 * Reads a journal without modifying it (for the CLI, also while a server runs):
 * returns a new JSON array of its whole records, or NULL with a message in err.
 */
json_t *recorder_read_journal(const char *path, char *err, size_t errlen);

#endif
