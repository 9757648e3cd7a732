/*
 * caption: live caption intake for one room, sans-IO.
 *
 * Human captioners (CART) reach a room two ways:
 *  - from the browser, as caption.partial (the line being typed, replaced in
 *    place) and caption.final (a completed line, appended) requests;
 *  - from captioning software, unchanged, over HTTP: the Zoom third-party
 *    closed-caption API (POST text/plain with &seq=N&lang=xx-XX, GET .../seq
 *    for the last seq) and the StreamText-style push (the same POST, whose
 *    body is everything typed since the last send, backspaces included).
 *
 * A caption_room turns those inputs into caption events: partial or final,
 * numbered by a room-wide server seq, tagged with a BCP 47 language (one
 * track per language), the captioner, and the speaker who held the floor when
 * the line began. Each event is a refcounted `caption` holding the serialized
 * WebSocket message, so the hub sends the same bytes to every listener. Finals
 * also go to a bounded late-joiner ring and, through caption_journal_record(),
 * to the session journal.
 *
 * Sans-IO: every input takes now_ms (server wall-clock milliseconds); events
 * are collected with caption_room_poll(); timers are the deadline returned by
 * caption_room_tick(). Nothing here reads a clock or touches a socket.
 *
 * Ownership: the hub owns the caption_room. A caption returned by
 * caption_room_poll() is owned by the caller (one reference); the ring and the
 * sources keep their own references.
 */
#ifndef ROSTRUM_CAPTION_H
#define ROSTRUM_CAPTION_H

#include "msg.h"
#include "util.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct caption caption;
typedef struct caption_room caption_room;

#define CAPTION_LANG_MAX 35       /* bytes of a language tag (RFC 5646 section 4.4.1 advice) */
#define CAPTION_MAX_TRACKS 16     /* languages in one room */
#define CAPTION_SEQ_WINDOW 1024   /* remembered seqs per HTTP source, for retries */
#define CAPTION_NO_DEADLINE INT64_MAX
#define CAPTION_SEQ_BLOCK 4096    /* seqs reserved ahead in the journal (see caption_room_seq_reservation) */

enum caption_kind { CAPTION_PARTIAL, CAPTION_FINAL };
enum caption_via { CAPTION_VIA_BROWSER, CAPTION_VIA_HTTP };

/*
 * Results. Zero and positive values are successes: the HTTP caller answers
 * 200 to all three. Negative values are refusals of outside input; none of
 * them changes any state, so nothing already acknowledged is affected.
 */
enum caption_err {
	CAPTION_OK = 0,
	CAPTION_DUPLICATE = 1,          /* seq already accepted: a retry, acknowledged again */
	CAPTION_STALE = 2,              /* seq below the retry window: acknowledged, dropped */
	CAPTION_E_BAD_UTF8 = -1,        /* text is not UTF-8 (or holds NUL) */
	CAPTION_E_TOO_LONG = -2,        /* caption line or HTTP body over its limit */
	CAPTION_E_BAD_LANG = -3,        /* not a BCP 47 language tag */
	CAPTION_E_NO_SEQ = -4,          /* HTTP push without &seq */
	CAPTION_E_BAD_SEQ = -5,         /* &seq is not a decimal integer */
	CAPTION_E_SEQ_FUTURE = -6,      /* seq more than seq_ahead_max past the last one */
	CAPTION_E_METHOD = -7,          /* HTTP method the endpoint does not serve */
	CAPTION_E_UNAUTHORIZED = -8,    /* no valid captioner token */
	CAPTION_E_TOO_MANY_SOURCES = -9,/* all captioner slots busy */
	CAPTION_E_TOO_MANY_TRACKS = -10,/* room already carries CAPTION_MAX_TRACKS languages */
	CAPTION_E_BAD_REQUEST = -11,    /* JSON request of the wrong shape */
	CAPTION_E_EMPTY = -12,          /* a final with no visible text */
	CAPTION_E_NOT_STARTED = -13,    /* HTTP push to a room that is not running */
};
#define CAPTION_ERR_COUNT 14        /* 1 + the largest -err, for per-code counters */

struct caption_limits {
	size_t text_max;        /* bytes in one caption line */
	size_t body_max;        /* bytes in one HTTP body */
	int64_t ring_ms;        /* late joiners get finals younger than this */
	size_t ring_max;        /* ... and at most this many */
	size_t ring_bytes;      /* ... of at most this many serialized bytes */
	int64_t live_ms;        /* a captioner is live this long after its last input */
	int64_t idle_final_ms;  /* an HTTP open line unchanged this long becomes final */
	uint64_t seq_ahead_max; /* largest accepted jump of an HTTP seq */
	size_t max_sources;     /* captioners (browser or HTTP) tracked at once */
};

/* Who holds the floor; group may be NULL or "" when undeclared. */
struct caption_speaker {
	const char *name;
	const char *group;
};

/*
 * Who is captioning. id is stable for one captioner and unique in the room
 * (the hub uses e.g. "p17" for a browser member and the token's signature for
 * an HTTP caption URL); name is shown to listeners.
 */
struct caption_who {
	const char *id;
	const char *name;
	enum caption_via via;
};

/* One HTTP push, as the caption URL received it (strings NUL-terminated, borrowed). */
struct caption_push {
	const char *seq;              /* &seq, or NULL */
	const char *lang;             /* &lang, or NULL */
	const char *content_language; /* Content-Language header, or NULL */
	const char *body;             /* may be NULL when body_len is 0 */
	size_t body_len;
};

/* An HTTP transaction on a caption URL (the api layer has checked the token). */
struct caption_http_req {
	const char *method;           /* "POST", "GET", ... */
	bool seq_form;                /* the URL is the .../seq form */
	const struct caption_who *who;/* NULL when the token is missing or invalid */
	struct caption_push push;
};

struct caption_http_reply {
	int status;                   /* HTTP status */
	int err;                      /* enum caption_err behind it */
	char body[128];               /* text/plain; charset=utf-8 */
};

/* A parsed browser caption.partial / caption.final request (strings borrowed from the JSON). */
struct caption_request {
	enum caption_kind kind;
	const char *text;
	size_t len;
	const char *lang;             /* NULL: the room's default language */
};

struct caption_stats {
	uint64_t accepted;            /* inputs applied */
	uint64_t duplicates;          /* retried seqs acknowledged again */
	uint64_t stale;               /* seqs below the window, dropped */
	uint64_t partials, finals;    /* events emitted */
	uint64_t split_lines;         /* lines cut at text_max */
	uint64_t backspace_dropped;   /* backspaces with nothing left on the open line */
	uint64_t ring_evicted;
	uint64_t errors[CAPTION_ERR_COUNT]; /* indexed by -err */
};

/* A read-only view of one caption event; pointers live as long as the caption. */
struct caption_view {
	enum caption_kind kind;
	uint64_t seq;
	int64_t t_ms;
	const char *lang;
	const char *text;
	const char *captioner_id;
	const char *captioner;        /* display name */
	const char *speaker_name;     /* NULL when nobody held the floor */
	const char *speaker_group;    /* NULL when absent or undeclared */
};

/* Fills l with the defaults: 1000 B lines, 16 KiB bodies, 5 min / 200 / 256 KiB ring,
 * 60 s live, 8 s idle final, 1000 seq jump, 16 sources. */
void caption_limits_default(struct caption_limits *l);

/*
 * Creates the intake of one room. default_lang is used when an input names
 * none; limits NULL means the defaults. Returns NULL with *err set to
 * CAPTION_E_BAD_LANG when default_lang is not a language tag.
 */
RS_MUST_CHECK caption_room *caption_room_create(const char *default_lang,
						const struct caption_limits *limits, int *err);
/* Frees the room, its ring, sources and any events not polled. */
void caption_room_destroy(caption_room *cr);

/*
 * Browser intake: a partial replaces who's open line, a final completes it.
 * Line breaks and tabs in text become spaces, other control characters are
 * dropped. lang NULL = the room default. speaker is who holds the floor now
 * (NULL: nobody); it is kept for the whole line. Returns CAPTION_OK or a
 * negative caption_err (then nothing changed).
 */
RS_MUST_CHECK int caption_room_input(caption_room *cr, const struct caption_who *who,
				     enum caption_kind kind, const char *lang, const char *text,
				     size_t len, const struct caption_speaker *speaker,
				     int64_t now_ms);

/*
 * HTTP intake (Zoom closed-caption API and StreamText push share it): the body
 * continues who's open line; backspace (0x08) and DEL (0x7f) erase one code
 * point, also across earlier pushes, but never a line already final; CR, LF or
 * CRLF complete the line as a final. Seq rules: see protocol/PROTOCOL.md, "Captions".
 * *ack_ms gets the server time to put in the 200 reply: for a duplicate it is
 * the time of the first acceptance. Returns OK, DUPLICATE, STALE or a
 * negative caption_err (then nothing changed).
 */
RS_MUST_CHECK int caption_room_push(caption_room *cr, const struct caption_who *who,
				    const struct caption_push *p,
				    const struct caption_speaker *speaker, int64_t now_ms,
				    int64_t *ack_ms);

/* The last (highest) seq accepted from an HTTP source; 0 when none. */
uint64_t caption_room_last_seq(const caption_room *cr, const char *source_id);

/*
 * Answers one HTTP transaction on a caption URL, Zoom style: 405 for a wrong
 * method, 403 without a valid token or &seq, 400 for bad input or a room not
 * running (cr NULL), 413 for an over-long body, 200 with the server timestamp
 * (RFC 3339, UTC, milliseconds) on success, and for GET on the seq form 200
 * with the last seq as decimal text. Always fills rep.
 */
void caption_http(caption_room *cr, const struct caption_http_req *req,
		  const struct caption_speaker *speaker, int64_t now_ms,
		  struct caption_http_reply *rep);

/*
 * The captioner left (browser member gone, caption URL revoked): its open line
 * is completed as a final, since listeners saw it, and it is no longer live.
 */
void caption_room_leave(caption_room *cr, const char *source_id, int64_t now_ms);

/*
 * Shutdown: every open line is completed as a final (an HTTP source's at the
 * time of its last text, as its idle timer would), so text acknowledged to
 * captioning software is journaled before the server exits.
 */
void caption_room_finish_all(caption_room *cr, int64_t now_ms);

/* The next caption event in emission order, owned by the caller; NULL when none. */
RS_MUST_CHECK caption *caption_room_poll(caption_room *cr);

/*
 * Runs the room's timers at now_ms: an HTTP line unchanged for idle_final_ms
 * becomes final; a captioner silent for live_ms is no longer live (and its
 * open browser line becomes final); old finals leave the ring. Returns the next time it needs to run, or
 * CAPTION_NO_DEADLINE.
 */
int64_t caption_room_tick(caption_room *cr, int64_t now_ms);

/*
 * What a late joiner needs: the ring's finals (oldest first) then the open
 * partials, in seq order. Fills up to cap borrowed pointers (valid until the
 * next call into cr) and returns how many there are in all.
 */
size_t caption_room_backlog(caption_room *cr, int64_t now_ms, caption **out, size_t cap);

/* True once after the set of live captioners changed (then send caption_room_live_msg). */
bool caption_room_live_changed(caption_room *cr);
/* The live captioners as [{"id","name","via","lang","last_t"}] (new reference). */
json_t *caption_room_live_json(const caption_room *cr);
/* The caption.captioners message for moderators (one reference, the caller's). */
rs_msg *caption_room_live_msg(const caption_room *cr);
/* The languages captioned so far, first-seen order, default first (new reference). */
json_t *caption_room_tracks_json(const caption_room *cr);
const char *caption_room_default_lang(const caption_room *cr);
const struct caption_stats *caption_room_stats(const caption_room *cr);

/* Reference counting; caption_unref(NULL) is a no-op. */
caption *caption_ref(caption *c);
void caption_unref(caption *c);
/* The serialized "caption" message; borrowed (rs_msg_ref it to keep it). */
rs_msg *caption_msg(const caption *c);
/* The fields of c. */
const struct caption_view *caption_view(const caption *c);
/* The session journal record of a final caption (new reference); NULL for a partial. */
json_t *caption_journal_record(const caption *c);

/*
 * Reads a browser {"type":"caption.partial"|"caption.final","id":..,"text":..,
 * "lang":..?} message. Returns CAPTION_OK, or CAPTION_E_BAD_REQUEST with
 * *field naming the offending member.
 */
RS_MUST_CHECK int caption_parse_request(json_t *msg, struct caption_request *out,
					const char **field);

/*
 * Checks a BCP 47 tag's shape (RFC 5646 section 2.1, without the registry)
 * and writes its canonical case (RFC 5646 section 2.1.1: "en-us" -> "en-US",
 * "zh-hant" -> "zh-Hant") into out. Returns false when it is not a tag.
 */
RS_MUST_CHECK bool caption_lang_normalize(const char *in, char out[CAPTION_LANG_MAX + 1]);

/* ---- continuity across restarts ------------------------------------------ */

/*
 * True once when the room reserved a new block of seqs: the caller journals
 * {"kind": "caption_seq", "upto": *upto} before sending the events polled
 * since. After a restart caption_room_restore_seq() with the largest seq or
 * upto found in the journal makes numbering continue past every seq any
 * client may have seen, partials included, so clients that keep their last
 * seq never hide new captions.
 */
RS_MUST_CHECK bool caption_room_seq_reservation(caption_room *cr, uint64_t *upto);
/* Restart: the next seq will be above last (and a new reservation is due). */
void caption_room_restore_seq(caption_room *cr, uint64_t last);
/* The seq the next event will carry. */
uint64_t caption_room_next_seq(const caption_room *cr);
/*
 * Restart: a journaled final ({"kind": "caption", "seq", "t", "lang", "text",
 * "captioner", "captioner_id", "speaker"}) goes back into the late-joiner
 * ring (subject to its age and size limits at now_ms) and its language into
 * the tracks. Feed them in journal order. Returns CAPTION_OK or
 * CAPTION_E_BAD_REQUEST / CAPTION_E_TOO_MANY_TRACKS (the record is skipped).
 */
RS_MUST_CHECK int caption_room_restore_final(caption_room *cr, json_t *rec, int64_t now_ms);

/* Human text for a caption_err. */
const char *caption_strerror(int err);
/* The wire error code for a caption_err ("bad_utf8", ...). */
const char *caption_err_code(int err);
/* The HTTP status the caption URL answers for a caption_err. */
int caption_http_status(int err);

#endif
