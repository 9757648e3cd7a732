/*
 * revoke: the data directory's list of revoked join tokens.
 *
 * `rostrum token --revoke` adds a token id to DIR/revoked (rewritten whole
 * into a temporary file, fsynced and renamed, so a reader sees the old list
 * or the new one, never half). The running server polls the file's identity
 * (inode, size, mtime) with one stat() a second and rereads it only when it
 * changed; the file is small (one short line per revoked token), so the
 * reread costs microseconds on the loop.
 */
#ifndef ROSTRUM_REVOKE_H
#define ROSTRUM_REVOKE_H

#include "util.h"

#include <stdint.h>

#define REVOKE_FILE "revoked"
#define REVOKE_MAX 100000 /* ids read from the file; past this the file is refused */

typedef struct revoke_list revoke_list;

enum revoke_err {
	REVOKE_OK = 0,
	REVOKE_IO = -1,        /* the file could not be read, written or synced */
	REVOKE_BAD_FILE = -2,  /* a line is not "ID EXP" or there are too many */
	REVOKE_BAD_ID = -3,
};

/* An empty list for DIR/revoked (nothing is read until revoke_refresh). */
revoke_list *revoke_create(const char *data_dir);
void revoke_destroy(revoke_list *rl);

/*
 * Rereads the file when its identity changed since the last call. Returns
 * 1 when the list changed, 0 when not, or a revoke_err (the old list stays:
 * a torn or foreign file never un-revokes a token). A missing file is an
 * empty list.
 */
RS_MUST_CHECK int revoke_refresh(revoke_list *rl);

/* True when the token of that id is revoked. */
bool revoke_has(const revoke_list *rl, const char *id);
size_t revoke_count(const revoke_list *rl);

/*
 * Adds id (expiring at exp_s, Unix seconds, 0: unknown) to DIR/revoked,
 * durably: write a temporary file, fsync, rename, fsync the directory.
 * Entries whose expiry passed more than a day before now_s are pruned: an
 * expired token is refused anyway. Returns REVOKE_OK (also when already
 * revoked) or a revoke_err.
 */
RS_MUST_CHECK int revoke_add(const char *data_dir, const char *id, int64_t exp_s, int64_t now_s);

const char *revoke_strerror(int err);

#endif
