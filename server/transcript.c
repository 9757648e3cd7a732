#include "transcript.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LANGS 64                   /* distinct caption languages listed */
#define PARAGRAPH_GAP_MS (60 * 1000)   /* txt: same speaker within this joins a paragraph */

enum item_kind { ITEM_CAPTION, ITEM_FLOOR, ITEM_JOIN, ITEM_LEAVE, ITEM_WRITTEN, ITEM_RECORDING };

/* One usable journal record, with the time it is shown at. */
struct item {
	int64_t t;                     /* start: t0 for a caption when given, else t */
	size_t idx;                    /* position in the journal, for a stable order */
	enum item_kind kind;
	const json_t *rec;             /* borrowed from the records */
};

/* Everything the renderers need, gathered in one pass over the journal. */
struct tx {
	const json_t *session;         /* first session record, or NULL */
	int64_t origin;                /* session start, ms since the epoch */
	struct item *items;            /* sorted by (t, idx) */
	size_t n;
	const char *langs[MAX_LANGS];  /* caption languages, first seen first */
	size_t n_langs;
	size_t joins;
	const char *range;             /* language range selected, NULL = all */
	int64_t max_cue_ms;
	struct transcript_stats st;
};

/* ---- names and errors ----------------------------------------------------- */

static const struct {
	const char *name, *ctype;
} formats[] = {
	[TRANSCRIPT_VTT] = { "vtt", "text/vtt; charset=utf-8" },
	[TRANSCRIPT_SRT] = { "srt", "application/x-subrip; charset=utf-8" },
	[TRANSCRIPT_TXT] = { "txt", "text/plain; charset=utf-8" },
	[TRANSCRIPT_JSON] = { "json", "application/json" },
};

bool transcript_format_parse(const char *name, enum transcript_format *out)
{
	for (size_t i = 0; name && i < RS_ARRAY_LEN(formats); i++)
		if (strcmp(name, formats[i].name) == 0) {
			*out = (enum transcript_format)i;
			return true;
		}
	return false;
}

const char *transcript_format_name(enum transcript_format fmt)
{
	return (size_t)fmt < RS_ARRAY_LEN(formats) ? formats[fmt].name : "unknown";
}

const char *transcript_content_type(enum transcript_format fmt)
{
	return (size_t)fmt < RS_ARRAY_LEN(formats) ? formats[fmt].ctype : "application/octet-stream";
}

const char *transcript_strerror(int err)
{
	switch (err) {
	case TRANSCRIPT_OK: return "ok";
	case TRANSCRIPT_E_NOT_ARRAY: return "the journal is not a JSON array";
	case TRANSCRIPT_E_FORMAT: return "unknown transcript format";
	case TRANSCRIPT_E_LANG: return "the language selection is not a language tag or '*'";
	default: return "unknown transcript error";
	}
}

/* ---- reading records ---------------------------------------------------- */

static const char *str(const json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

/* A string member, or "" when absent: renderers never see NULL. */
static const char *str0(const json_t *rec, const char *key)
{
	const char *s = str(rec, key);
	return s ? s : "";
}

static bool int_member(const json_t *rec, const char *key, int64_t *out)
{
	const json_t *v = json_object_get(rec, key);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

static const char *caption_lang(const json_t *rec)
{
	const char *l = str(rec, "lang");
	return l && *l ? l : "und"; /* RFC 5646 section 4.1: undetermined */
}

/* RFC 4647 section 3.3.1 basic filtering: equal, or a prefix ending at a '-'. */
static bool lang_matches(const char *range, const char *tag)
{
	if (!range || strcmp(range, "*") == 0)
		return true;
	size_t n = strlen(range);
	return strncasecmp(range, tag, n) == 0 && (tag[n] == '\0' || tag[n] == '-');
}

/* A range is "*" or alphanumeric subtags of 1-8 characters joined by '-'. */
static bool range_valid(const char *r)
{
	if (strcmp(r, "*") == 0)
		return true;
	size_t run = 0, n = strlen(r);
	for (size_t i = 0; i <= n; i++) {
		bool alnum = (r[i] >= 'a' && r[i] <= 'z') || (r[i] >= 'A' && r[i] <= 'Z') ||
			     (r[i] >= '0' && r[i] <= '9');
		if (alnum && ++run <= 8)
			continue;
		if (alnum || run == 0 || (r[i] != '-' && r[i] != '\0'))
			return false;
		run = 0;
	}
	return true;
}

static void note_lang(struct tx *x, const char *lang)
{
	for (size_t i = 0; i < x->n_langs; i++)
		if (strcmp(x->langs[i], lang) == 0)
			return;
	if (x->n_langs < MAX_LANGS)
		x->langs[x->n_langs++] = lang;
}

static bool kind_of(const char *k, enum item_kind *out)
{
	static const struct {
		const char *name;
		enum item_kind kind;
	} kinds[] = {
		{ "caption", ITEM_CAPTION }, { "floor", ITEM_FLOOR }, { "join", ITEM_JOIN },
		{ "leave", ITEM_LEAVE },     { "written", ITEM_WRITTEN },
		{ "recording", ITEM_RECORDING },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(kinds); i++)
		if (strcmp(k, kinds[i].name) == 0) {
			*out = kinds[i].kind;
			return true;
		}
	return false;
}

/* Checks one record; adds it to x->items when it is shown. */
static void take_record(struct tx *x, const json_t *rec, size_t idx)
{
	int64_t t;
	const char *k = str(rec, "kind");
	if (!json_is_object(rec) || !k || !int_member(rec, "t", &t)) {
		x->st.skipped++;
		return;
	}
	if (strcmp(k, "session") == 0) {
		if (!x->session)
			x->session = rec;
		return;
	}
	enum item_kind kind;
	if (!kind_of(k, &kind))
		return; /* a kind this version does not render */
	const char *text = str(rec, "text");
	if (kind == ITEM_CAPTION && !text) {
		x->st.skipped++;
		return;
	}
	if (kind == ITEM_CAPTION && text[strspn(text, " \t\r\n")] == '\0')
		return; /* nothing to show: a cue needs text */
	int64_t t0;
	if (kind == ITEM_CAPTION && int_member(rec, "t0", &t0) && t0 <= t)
		t = t0;
	if (kind == ITEM_CAPTION)
		note_lang(x, caption_lang(rec));
	x->joins += kind == ITEM_JOIN;
	x->items[x->n++] = (struct item){ .t = t, .idx = idx, .kind = kind, .rec = rec };
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The session start: started_at, else the session's t, else the first record's. */
static int64_t find_origin(const struct tx *x)
{
	int64_t t;
	if (x->session && int_member(x->session, "started_at", &t))
		return t;
	if (x->session && int_member(x->session, "t", &t))
		return t;
	return x->n ? x->items[0].t : 0;
}

/* vtt/srt default: the room's first language, else the first caption's. */
static const char *default_track(const struct tx *x)
{
	const json_t *langs = x->session ? json_object_get(x->session, "langs") : NULL;
	const char *first = json_string_value(json_array_get(langs, 0));
	if (first && *first)
		return first;
	return x->n_langs ? x->langs[0] : "*";
}

static void tx_load(struct tx *x, const json_t *records)
{
	size_t n = json_array_size(records);
	x->items = rs_calloc(n ? n : 1, sizeof *x->items);
	for (size_t i = 0; i < n; i++)
		take_record(x, json_array_get(records, i), i);
	qsort(x->items, x->n, sizeof *x->items, item_cmp);
	x->origin = find_origin(x);
}

/* ---- shared formatting ----------------------------------------------------- */

/* hh:mm:ss<sep>mmm of an offset from the session start (never negative). */
static void fmt_offset(char *dst, size_t cap, int64_t ms, char sep)
{
	if (ms < 0)
		ms = 0;
	snprintf(dst, cap, "%02lld:%02d:%02d%c%03d", (long long)(ms / 3600000),
		 (int)(ms / 60000 % 60), (int)(ms / 1000 % 60), sep, (int)(ms % 1000));
}

/* How text is written: as is, with no "-->" (SRT has no escapes), or as WebVTT cue text. */
enum esc { ESC_NONE, ESC_ARROW, ESC_MARKUP };

/*
 * Appends s with line breaks flattened to spaces (a blank line would end a
 * cue). ESC_MARKUP escapes & < > (WebVTT section 4.2.2, which also keeps
 * "-->" out of cue text); ESC_ARROW writes "-->" as "-- >" so no parser
 * takes a line of text for a cue timing.
 */
static void put_text(struct rs_buf *b, const char *s, enum esc esc)
{
	for (; *s; s++) {
		if (esc == ESC_MARKUP && *s == '&')
			rs_buf_append(b, "&amp;", 5);
		else if (esc == ESC_MARKUP && *s == '<')
			rs_buf_append(b, "&lt;", 4);
		else if (esc == ESC_MARKUP && *s == '>')
			rs_buf_append(b, "&gt;", 4);
		else if (esc == ESC_ARROW && *s == '>' && b->len >= 2 &&
			 strcmp(b->p + b->len - 2, "--") == 0)
			rs_buf_append(b, " >", 2);
		else if (*s == '\n' || *s == '\r')
			rs_buf_append(b, " ", 1);
		else
			rs_buf_append(b, s, 1);
	}
}

/* "Name (group)" of a person object or record; "" group shows the name alone. */
static void put_who(struct rs_buf *b, const json_t *who, enum esc esc)
{
	put_text(b, str0(who, "name"), esc);
	const char *g = str(who, "group");
	if (g && *g) {
		rs_buf_append(b, " (", 2);
		put_text(b, g, esc);
		rs_buf_append(b, ")", 1);
	}
}

/* The speaker object of a caption, or NULL when nobody held the floor. */
static const json_t *speaker_of(const json_t *rec)
{
	const json_t *sp = json_object_get(rec, "speaker");
	return json_is_object(sp) && str(sp, "name") && *str(sp, "name") ? sp : NULL;
}

/* Index of the first caption of the selected track at or after i, or x->n. */
static size_t caption_from(const struct tx *x, size_t i)
{
	for (; i < x->n; i++)
		if (x->items[i].kind == ITEM_CAPTION &&
		    lang_matches(x->range, caption_lang(x->items[i].rec)))
			return i;
	return x->n;
}

/* A cue lasts until the next caption, at most max_cue_ms; overlapping is allowed. */
static int64_t cue_end(const struct tx *x, size_t i)
{
	int64_t start = x->items[i].t;
	int64_t end = start + x->max_cue_ms;
	size_t j = caption_from(x, i + 1);
	if (j < x->n && x->items[j].t > start && x->items[j].t < end)
		end = x->items[j].t;
	return end;
}

/* ---- WebVTT ----------------------------------------------------------------- */

/* A comment must hold no "-->" and no blank line (WebVTT section 4.1). */
static void put_note_line(struct rs_buf *b, const char *label, const char *value)
{
	rs_buf_printf(b, "%s: ", label);
	put_text(b, value, ESC_ARROW);
	rs_buf_append(b, "\n", 1);
}

static void vtt_header(const struct tx *x, struct rs_buf *b)
{
	rs_buf_printf(b, "WEBVTT\n\nNOTE\n");
	put_note_line(b, "Room", x->session ? str0(x->session, "room") : "");
	put_note_line(b, "Title", x->session ? str0(x->session, "title") : "");
	put_note_line(b, "Language", x->range ? x->range : "*");
	rs_buf_append(b, "\n", 1);
}

/* One cue: identifier, timing, then `<v Name (group)>text` (WebVTT section 4.2.2). */
static void vtt_cue(const struct tx *x, size_t i, size_t num, bool tag_lang, struct rs_buf *b)
{
	char from[32], to[32];
	fmt_offset(from, sizeof from, x->items[i].t - x->origin, '.');
	fmt_offset(to, sizeof to, cue_end(x, i) - x->origin, '.');
	rs_buf_printf(b, "%zu\n%s --> %s\n", num, from, to);
	const json_t *rec = x->items[i].rec;
	const json_t *sp = speaker_of(rec);
	if (sp) {
		rs_buf_append(b, "<v ", 3);
		put_who(b, sp, ESC_MARKUP);
		rs_buf_append(b, ">", 1);
	}
	if (tag_lang) {
		rs_buf_append(b, "<lang ", 6);
		put_text(b, caption_lang(rec), ESC_MARKUP);
		rs_buf_append(b, ">", 1);
	}
	put_text(b, str0(rec, "text"), ESC_MARKUP);
	if (tag_lang)
		rs_buf_append(b, "</lang>", 7);
	rs_buf_append(b, "\n\n", 2);
}

static void render_vtt(struct tx *x, struct rs_buf *b)
{
	vtt_header(x, b);
	bool tag_lang = x->range == NULL && x->n_langs > 1;
	size_t num = 0;
	for (size_t i = caption_from(x, 0); i < x->n; i = caption_from(x, i + 1))
		vtt_cue(x, i, ++num, tag_lang, b);
	x->st.captions = num;
}

/* ---- SRT -------------------------------------------------------------------- */

static void render_srt(struct tx *x, struct rs_buf *b)
{
	size_t num = 0;
	for (size_t i = caption_from(x, 0); i < x->n; i = caption_from(x, i + 1)) {
		char from[32], to[32];
		fmt_offset(from, sizeof from, x->items[i].t - x->origin, ',');
		fmt_offset(to, sizeof to, cue_end(x, i) - x->origin, ',');
		rs_buf_printf(b, "%zu\n%s --> %s\n", ++num, from, to);
		const json_t *sp = speaker_of(x->items[i].rec);
		if (sp) {
			put_who(b, sp, ESC_ARROW);
			rs_buf_append(b, ": ", 2);
		}
		put_text(b, str0(x->items[i].rec, "text"), ESC_ARROW);
		rs_buf_append(b, "\n\n", 2);
	}
	x->st.captions = num;
}

/* ---- plain text ------------------------------------------------------------- */

static void txt_header(const struct tx *x, struct rs_buf *b)
{
	const json_t *s = x->session;
	rs_buf_printf(b, "Transcript: ");
	put_text(b, s && str(s, "title") ? str(s, "title") : "(untitled session)", ESC_NONE);
	rs_buf_printf(b, "\nRoom: ");
	put_text(b, s ? str0(s, "room") : "", ESC_NONE);
	time_t secs = (time_t)(x->origin / 1000);
	struct tm tm;
	char when[40];
	gmtime_r(&secs, &tm);
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
	rs_buf_printf(b, "\nStarted: %s\nLanguages: ", when);
	for (size_t i = 0; i < x->n_langs; i++)
		rs_buf_printf(b, "%s%s", i ? ", " : "", x->langs[i]);
	rs_buf_printf(b, "%s\nParticipants joined: %zu\n", x->n_langs ? "" : "none", x->joins);
}

static void txt_stamp(const struct tx *x, int64_t t, struct rs_buf *b)
{
	int64_t s = (t - x->origin) / 1000; /* whole seconds read better in a transcript */
	if (s < 0)
		s = 0;
	rs_buf_printf(b, "\n[%02lld:%02d:%02d] ", (long long)(s / 3600), (int)(s / 60 % 60),
		      (int)(s % 60));
}

/* Floor events as one bracketed sentence; unknown events keep their wire name. */
static void txt_floor(const json_t *rec, struct rs_buf *b)
{
	static const struct {
		const char *event, *before, *after;
	} forms[] = {
		{ "requested", "", " asked for the floor" },
		{ "granted", "Floor given to ", "" },
		{ "released", "", " released the floor" },
		{ "revoked", "Floor taken back from ", "" },
		{ "withdrawn", "", " withdrew a floor request" },
		{ "expired", "Speaking time ended for ", "" },
	};
	const char *ev = str0(rec, "event");
	for (size_t i = 0; i < RS_ARRAY_LEN(forms); i++)
		if (strcmp(ev, forms[i].event) == 0) {
			rs_buf_printf(b, "[%s", forms[i].before);
			put_who(b, rec, ESC_NONE);
			rs_buf_printf(b, "%s]", forms[i].after);
			return;
		}
	rs_buf_printf(b, "[Floor %s: ", ev);
	put_who(b, rec, ESC_NONE);
	rs_buf_append(b, "]", 1);
}

static void txt_written(const json_t *rec, struct rs_buf *b)
{
	const char *ev = str0(rec, "event");
	rs_buf_printf(b, "[Written intervention from ");
	put_who(b, rec, ESC_NONE);
	if (strcmp(ev, "submitted") == 0 || strcmp(ev, "read") == 0) {
		rs_buf_printf(b, "%s: \"", strcmp(ev, "read") == 0 ? ", read out" : "");
		put_text(b, str0(rec, "text"), ESC_NONE);
		rs_buf_append(b, "\"]", 2);
	} else {
		rs_buf_printf(b, " %s]", ev);
	}
}

/* Whether caption j continues the paragraph of caption i (same voice, same track). */
static bool same_paragraph(const json_t *a, const json_t *b, int64_t gap)
{
	const json_t *sa = speaker_of(a), *sb = speaker_of(b);
	if (gap > PARAGRAPH_GAP_MS || strcmp(caption_lang(a), caption_lang(b)) != 0)
		return false;
	if (!sa || !sb)
		return !sa && !sb;
	return strcmp(str0(sa, "name"), str0(sb, "name")) == 0 &&
	       strcmp(str0(sa, "group"), str0(sb, "group")) == 0;
}

static void txt_caption(const struct tx *x, const struct item *it, const struct item *prev,
			struct rs_buf *b)
{
	const json_t *rec = it->rec;
	if (prev && prev->kind == ITEM_CAPTION && same_paragraph(prev->rec, rec, it->t - prev->t)) {
		rs_buf_append(b, " ", 1);
		put_text(b, str0(rec, "text"), ESC_NONE);
		return;
	}
	txt_stamp(x, it->t, b);
	if (x->n_langs > 1)
		rs_buf_printf(b, "(%s) ", caption_lang(rec));
	const json_t *sp = speaker_of(rec);
	if (sp) {
		put_who(b, sp, ESC_NONE);
		rs_buf_append(b, ": ", 2);
	}
	put_text(b, str0(rec, "text"), ESC_NONE);
}

/* Captions as paragraphs; floor and written events bracketed; joins only counted. */
static void render_txt(struct tx *x, struct rs_buf *b)
{
	txt_header(x, b);
	const struct item *prev = NULL;
	for (size_t i = 0; i < x->n; i++) {
		const struct item *it = &x->items[i];
		if (it->kind == ITEM_JOIN || it->kind == ITEM_LEAVE || it->kind == ITEM_RECORDING)
			continue;
		if (it->kind == ITEM_CAPTION) {
			if (!lang_matches(x->range, caption_lang(it->rec)))
				continue;
			txt_caption(x, it, prev, b);
			x->st.captions++;
		} else {
			txt_stamp(x, it->t, b);
			if (it->kind == ITEM_FLOOR)
				txt_floor(it->rec, b);
			else
				txt_written(it->rec, b);
		}
		prev = it;
	}
	rs_buf_append(b, "\n", 1);
}

/* ---- JSON --------------------------------------------------------------------- */

/* A copy of the record with its offset from the session start. */
static json_t *json_item(const struct tx *x, const struct item *it)
{
	json_t *o = json_deep_copy(it->rec);
	json_object_del(o, "kind");
	json_object_set_new(o, "offset_ms", json_integer(it->t - x->origin));
	return o;
}

static json_t *json_meta(const struct tx *x)
{
	json_t *langs = json_array();
	for (size_t i = 0; i < x->n_langs; i++)
		if (lang_matches(x->range, x->langs[i]))
			json_array_append_new(langs, json_string(x->langs[i]));
	const json_t *s = x->session;
	return json_pack("{s:s, s:i, s:s, s:s, s:I, s:I, s:o}", "format", "rostrum.transcript",
			 "version", 1, "room", s ? str0(s, "room") : "", "title",
			 s ? str0(s, "title") : "", "started_at", (json_int_t)x->origin, "ended_at",
			 (json_int_t)(x->n ? x->items[x->n - 1].t : x->origin), "languages", langs);
}

static void render_json(struct tx *x, struct rs_buf *b)
{
	static const char *const arrays[] = {
		[ITEM_CAPTION] = "captions", [ITEM_FLOOR] = "floor", [ITEM_JOIN] = "participants",
		[ITEM_LEAVE] = "participants", [ITEM_WRITTEN] = "written",
		[ITEM_RECORDING] = "recordings", /* a player seeks to t - start_t */
	};
	json_t *doc = json_meta(x);
	for (size_t i = 0; i < RS_ARRAY_LEN(arrays); i++)
		json_object_set_new(doc, arrays[i], json_array());
	for (size_t i = 0; i < x->n; i++) {
		const struct item *it = &x->items[i];
		if (it->kind == ITEM_CAPTION && !lang_matches(x->range, caption_lang(it->rec)))
			continue;
		json_t *o = json_item(x, it);
		if (it->kind == ITEM_JOIN || it->kind == ITEM_LEAVE)
			json_object_set_new(o, "event", json_string(str0(it->rec, "kind")));
		json_array_append_new(json_object_get(doc, arrays[it->kind]), o);
		x->st.captions += it->kind == ITEM_CAPTION;
	}
	char *s = json_dumps(doc, JSON_INDENT(1));
	rs_buf_printf(b, "%s\n", s);
	free(s);
	json_decref(doc);
}

/* ---- entry point ------------------------------------------------------------- */

int transcript_export(const json_t *records, enum transcript_format fmt,
		      const struct transcript_opts *opts, char **out, size_t *out_len,
		      struct transcript_stats *stats)
{
	*out = NULL;
	if (!json_is_array(records))
		return TRANSCRIPT_E_NOT_ARRAY;
	if ((size_t)fmt >= RS_ARRAY_LEN(formats))
		return TRANSCRIPT_E_FORMAT;
	const char *range = opts ? opts->lang : NULL;
	if (range && !range_valid(range))
		return TRANSCRIPT_E_LANG;
	struct tx x = { .max_cue_ms = opts && opts->max_cue_ms > 0 ? opts->max_cue_ms
								    : TRANSCRIPT_MAX_CUE_MS };
	tx_load(&x, records);
	bool track = fmt == TRANSCRIPT_VTT || fmt == TRANSCRIPT_SRT;
	if (!range && track)
		range = default_track(&x);
	x.range = range && strcmp(range, "*") == 0 ? NULL : range;
	struct rs_buf b = { 0 };
	rs_buf_append(&b, "", 0);
	switch (fmt) {
	case TRANSCRIPT_VTT: render_vtt(&x, &b); break;
	case TRANSCRIPT_SRT: render_srt(&x, &b); break;
	case TRANSCRIPT_TXT: render_txt(&x, &b); break;
	case TRANSCRIPT_JSON: render_json(&x, &b); break;
	}
	free(x.items);
	if (stats)
		*stats = x.st;
	if (out_len)
		*out_len = b.len;
	*out = b.p;
	return TRANSCRIPT_OK;
}
