/*
 * resume: resumption of room memberships — the secret a member gets with
 * its join result, and the grace period during which a member whose
 * connection dropped keeps its place (sans-IO).
 *
 * A resume secret is "rs1.PID.NONCE.MAC": the participant id, 16 random bytes
 * the caller draws for this membership (hex), and an HMAC-SHA256 (truncated
 * to 128 bits, hex) over the room id, the pid and the nonce, keyed by a key
 * derived from the server secret. It is not a join token: the key is derived
 * for this purpose only, so neither can pass for the other. The table keeps,
 * per membership, only a hash of the current nonce (the "check", which the
 * journal keeps too so that memberships survive a restart); the secret itself
 * is never stored. Each resume issues a new nonce, so a secret works once: an
 * old one (stolen, or replayed) is refused as used, and one whose member has
 * left as gone.
 *
 * Time: every call takes `now` (ms); nothing here reads a clock, draws random
 * bytes or touches a socket. The caller arms a timer at
 * resume_next_deadline() and collects the members whose grace ran out with
 * resume_expired().
 *
 * Ownership: the caller owns the table; it copies what it is given.
 */
#ifndef ROSTRUM_RESUME_H
#define ROSTRUM_RESUME_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct resume_table resume_table;

#define RESUME_NONCE_LEN 16
#define RESUME_SECRET_MAX 96        /* bytes of a secret, NUL excluded */
#define RESUME_CHECK_HEX 32         /* hex digits of a membership's check value */
#define RESUME_ROOM_MAX 64
#define RESUME_DEFAULT_GRACE_MS 120000
#define RESUME_NO_DEADLINE INT64_MAX

enum resume_err {
	RESUME_OK = 0,
	RESUME_E_MALFORMED = -1, /* not a resume secret at all */
	RESUME_E_FORGED = -2,    /* the MAC does not match: forged, another room or server */
	RESUME_E_USED = -3,      /* an older secret of a membership that resumed since */
	RESUME_E_GONE = -4,      /* the membership ended: left, or its grace period ran out */
	RESUME_E_BAD_ARG = -5,   /* a room id or check value of the wrong shape */
};

/* Stable wire code of an error: "resume_invalid" for malformed, forged and used, "resume_expired" for gone. */
const char *resume_code(int err);
const char *resume_strerror(int err);

/* A table whose secrets are bound to this server secret; grace_ms > 0. */
resume_table *resume_create(const uint8_t *server_secret, size_t secret_len, int64_t grace_ms);
void resume_destroy(resume_table *t);
int64_t resume_grace_ms(const resume_table *t);

/*
 * Issues the secret of a membership (pid in room), at its join or at a
 * resume: any earlier secret of that pid stops working. nonce comes from the
 * caller's random source. Fills out with the secret and check with the value
 * to journal (resume_restore() takes it back). The member is attached.
 */
RS_MUST_CHECK int resume_issue(resume_table *t, const char *room, uint32_t pid,
			       const uint8_t nonce[RESUME_NONCE_LEN],
			       char out[RESUME_SECRET_MAX + 1], char check[RESUME_CHECK_HEX + 1]);

/*
 * Restart: a membership read back from the journal, detached as of now (its
 * grace period starts at the restart). Returns RESUME_OK or RESUME_E_BAD_ARG.
 */
RS_MUST_CHECK int resume_restore(resume_table *t, const char *room, uint32_t pid,
				 const char *check, int64_t now);

/*
 * Checks a secret presented to join room: on RESUME_OK *pid is the member
 * it resumes. Changes nothing: the caller then calls resume_issue() for the
 * next secret (which makes this one used).
 */
RS_MUST_CHECK int resume_verify(const resume_table *t, const char *room, const char *secret,
				uint32_t *pid);

/* The member's connection dropped: its grace period runs from now. Unknown pids are ignored. */
void resume_detach(resume_table *t, uint32_t pid, int64_t now);
#define RESUME_TAG_MAX 32
/*
 * An opaque label kept with pid's membership, "" by default: the hub keeps
 * the join token's id there, so a revoked token's member cannot resume.
 */
void resume_set_tag(resume_table *t, uint32_t pid, const char *tag);
const char *resume_tag(const resume_table *t, uint32_t pid);

/* True while pid has a membership (attached or detached). */
bool resume_known(const resume_table *t, uint32_t pid);
/* True while pid is known and detached. */
bool resume_is_detached(const resume_table *t, uint32_t pid);
/* The membership ended (left the room): its secrets stop working. */
void resume_forget(resume_table *t, uint32_t pid);
/* Number of memberships the table knows. */
size_t resume_count(const resume_table *t);

/* When the next grace period runs out, or RESUME_NO_DEADLINE. */
int64_t resume_next_deadline(const resume_table *t);
/*
 * Takes one member whose grace period ran out by now into *pid (and its room
 * into room, at least RESUME_ROOM_MAX + 1 bytes) and forgets it; false when
 * none is due. Call until false.
 */
bool resume_expired(resume_table *t, int64_t now, uint32_t *pid, char *room);

#endif
