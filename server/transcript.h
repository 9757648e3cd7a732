/*
 * transcript: the published record of a session, rendered from its journal.
 *
 * Input is the session journal as a JSON array of records, each an object
 * with at least "t" (server milliseconds since the epoch) and "kind":
 *   session  room, title, started_at, langs (optional: the room's languages)
 *   caption  a final caption: text, lang, speaker {name, group}|null,
 *            captioner, seq, t0 (optional: when its line began)
 *   floor    event (requested, granted, released, revoked, ...), name, group, request
 *   join / leave   name, role, group
 *   written  event (submitted, read, answered, dismissed), name, group, text
 * Malformed records are skipped and counted; unknown kinds are ignored.
 *
 * Outputs: WebVTT (speakers as voice spans), SRT, a readable plain-text
 * transcript, and a JSON document. Times in vtt/srt/txt are offsets from the
 * session start (the session record's started_at, else its t, else the first
 * record's t). Pure functions: no clock, no files.
 */
#ifndef ROSTRUM_TRANSCRIPT_H
#define ROSTRUM_TRANSCRIPT_H

#include "util.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum transcript_format { TRANSCRIPT_VTT, TRANSCRIPT_SRT, TRANSCRIPT_TXT, TRANSCRIPT_JSON };

enum transcript_err {
	TRANSCRIPT_OK = 0,
	TRANSCRIPT_E_NOT_ARRAY = -1,  /* records is not a JSON array */
	TRANSCRIPT_E_FORMAT = -2,     /* unknown output format */
	TRANSCRIPT_E_LANG = -3,       /* the language selection is not a tag, "*" or NULL */
};

#define TRANSCRIPT_MAX_CUE_MS 7000 /* default: a cue stays up at most this long */

struct transcript_opts {
	/*
	 * Which captions to include, as an RFC 4647 basic language range ("en"
	 * matches "en" and "en-US"; "*" matches all). NULL means: for vtt and srt
	 * (one file is one subtitle track) the room's first language, that is the
	 * session record's first "langs" entry, else the first caption's language;
	 * for txt and json every language.
	 */
	const char *lang;
	int64_t max_cue_ms;           /* 0: TRANSCRIPT_MAX_CUE_MS */
};

struct transcript_stats {
	size_t captions;              /* caption cues or lines written */
	size_t skipped;               /* malformed records left out */
};

/*
 * Renders records (a JSON array, borrowed) in format fmt. opts and stats may
 * be NULL. On TRANSCRIPT_OK *out is a malloc'd NUL-terminated UTF-8 string
 * the caller frees and *out_len (when not NULL) its length; on error *out is
 * NULL.
 */
RS_MUST_CHECK int transcript_export(const json_t *records, enum transcript_format fmt,
				   const struct transcript_opts *opts, char **out, size_t *out_len,
				   struct transcript_stats *stats);

/* Parses "vtt", "srt", "txt" or "json"; false for anything else. */
RS_MUST_CHECK bool transcript_format_parse(const char *name, enum transcript_format *out);
/* The file extension of a format ("vtt", ...). */
const char *transcript_format_name(enum transcript_format fmt);
/* The HTTP Content-Type of a format ("text/vtt; charset=utf-8", ...). */
const char *transcript_content_type(enum transcript_format fmt);
/* Human text for a transcript_err. */
const char *transcript_strerror(int err);

#endif
