/*
 * transcript: the published record of a session, rendered from its journal.
 *
 * Input is the session journal's records in file order, each a JSON object
 * with at least "t" (server milliseconds since the epoch) and "kind":
 *   session  room, title, started_at, langs (optional: the room's languages)
 *   caption  a final caption: text, lang, speaker {name, group}|null,
 *            captioner, seq, t0 (optional: when its line began)
 *   caption_open  the open line of captioning software over HTTP (text it
 *            was told is saved, no line break yet): captioner_id, text, lang
 *   floor    event (requested, granted, released, revoked, ...), name, group, request
 *   join / leave   name, role, group
 *   written  event (submitted, read, answered, dismissed), name, group, text
 *   recording  event (start, stop), file, start_t
 * Malformed records are skipped and counted; unknown kinds are ignored.
 *
 * Open lines are completed as recovery after a crash completes them: the last
 * caption_open of a captioner with no later caption or caption_open of the
 * same captioner_id is shown as a caption (without a speaker; "open": true in
 * JSON), so text acknowledged to captioning software is in every export, live
 * or offline, whether or not the server has completed the line yet.
 *
 * Outputs: WebVTT (speakers as voice spans), SRT, a readable plain-text
 * transcript, and a JSON document. Times in vtt/srt/txt are offsets from the
 * session start (the session record's started_at, else its t, else the first
 * record's t).
 *
 * Two passes, so a journal of any length renders in bounded steps: records
 * are added one at a time (transcript_add: each is parsed once, and only what
 * the format shows is kept, as compact bytes, with a small index entry), then
 * transcript_render() sorts the index and streams the output to a sink in
 * pieces of about TRANSCRIPT_CHUNK bytes. Pure: no clock, no files; the
 * export process (exporter.h) and `rostrum transcript` feed it from the
 * journal file.
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
	TRANSCRIPT_E_SINK = -4,       /* the sink refused the output (its reader went away) */
};

#define TRANSCRIPT_MAX_CUE_MS 7000 /* default: a cue stays up at most this long */
#define TRANSCRIPT_CHUNK 65536     /* output is handed to the sink in pieces of about this size */

typedef struct transcript transcript;

/* Takes len (> 0) bytes of output; returns 0, or non-zero to stop rendering. */
typedef int (*transcript_sink_fn)(void *ctx, const char *bytes, size_t len);

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
 * Starts a rendering in format fmt (opts may be NULL; its strings are
 * copied). Returns TRANSCRIPT_OK with *out set, or TRANSCRIPT_E_FORMAT /
 * TRANSCRIPT_E_LANG with *out NULL.
 */
RS_MUST_CHECK int transcript_create(enum transcript_format fmt,
				   const struct transcript_opts *opts, transcript **out);
/* Adds the next journal record, as its JSON text (borrowed). Bad records are counted. */
void transcript_add(transcript *t, const char *payload, size_t len);
/* Adds the next journal record as a JSON value (borrowed). */
void transcript_add_json(transcript *t, const json_t *rec);
/*
 * Renders everything added, handing the output to sink in order. Call once.
 * Returns TRANSCRIPT_OK, or TRANSCRIPT_E_SINK when the sink stopped it.
 * stats may be NULL.
 */
RS_MUST_CHECK int transcript_render(transcript *t, transcript_sink_fn sink, void *ctx,
				   struct transcript_stats *stats);
/* Frees t (NULL is fine). */
void transcript_destroy(transcript *t);

/*
 * The whole export at once, from records (a JSON array, borrowed) in format
 * fmt: create, add each, render into memory. opts and stats may be NULL. On
 * TRANSCRIPT_OK *out is a malloc'd NUL-terminated UTF-8 string the caller
 * frees and *out_len (when not NULL) its length; on error *out is NULL.
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
