#include "transcript.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_LANGS 64                   /* distinct caption languages listed */
#define PARAGRAPH_GAP_MS (60 * 1000)   /* txt: same speaker within this joins a paragraph */

enum item_kind { ITEM_CAPTION, ITEM_FLOOR, ITEM_JOIN, ITEM_LEAVE, ITEM_WRITTEN, ITEM_RECORDING };

/*
 * One record that will be shown, as an index entry: its time, its kind and
 * where its JSON text sits in the arena. The record itself is parsed again
 * only when its turn to be written comes, so what stays in memory between
 * the passes is the compact text of the shown records and these entries.
 */
struct item {
	int64_t t;                     /* start: t0 for a caption when given, else t */
	size_t idx;                    /* position in the journal, for a stable order */
	size_t off, len;               /* the record's text in x->arena; len 0: not kept */
	const char *lang;              /* captions: interned language tag */
	enum item_kind kind;
	bool open;                     /* a caption_open line, shown as a caption */
	bool dropped;                  /* an open line superseded by a later record */
};

/* The last open line of one captioner, while it may still be superseded. */
struct open_line {
	char *captioner_id;
	size_t item;                   /* index in x->items, or SIZE_MAX: nothing to show */
};

/* Everything the renderers need, gathered in one pass over the journal. */
struct transcript {
	enum transcript_format fmt;
	char *lang_opt;                /* the requested range (owned), NULL = the format's default */
	json_t *session;               /* first session record (owned), or NULL */
	int64_t origin;                /* session start, ms since the epoch */
	struct item *items;            /* sorted by (t, idx) before rendering */
	size_t n, cap;
	size_t n_records;
	struct rs_buf arena;           /* the shown records' JSON text, back to back */
	char **interned;               /* distinct caption languages (owned) */
	size_t n_interned;
	struct open_line *open;
	size_t n_open;
	const char *langs[MAX_LANGS];  /* caption languages, first seen first */
	size_t n_langs;
	size_t joins;
	const char *range;             /* language range selected, NULL = all */
	int64_t max_cue_ms;
	struct transcript_stats st;
	/* output */
	struct rs_buf out;
	transcript_sink_fn sink;
	void *sink_ctx;
	bool failed;                   /* the sink said stop */
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
	case TRANSCRIPT_E_SINK: return "the transcript's reader went away";
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

static void note_lang(transcript *x, const char *lang)
{
	for (size_t i = 0; i < x->n_langs; i++)
		if (strcmp(x->langs[i], lang) == 0)
			return;
	if (x->n_langs < MAX_LANGS)
		x->langs[x->n_langs++] = lang;
}

/* One copy of each language tag, so items point at it instead of holding their own. */
static const char *intern(transcript *x, const char *s)
{
	for (size_t i = 0; i < x->n_interned; i++)
		if (strcmp(x->interned[i], s) == 0)
			return x->interned[i];
	x->interned = rs_realloc(x->interned, (x->n_interned + 1) * sizeof *x->interned);
	return x->interned[x->n_interned++] = rs_strdup(s);
}

static bool kind_of(const char *k, enum item_kind *out, bool *open)
{
	static const struct {
		const char *name;
		enum item_kind kind;
	} kinds[] = {
		{ "caption", ITEM_CAPTION }, { "caption_open", ITEM_CAPTION }, { "floor", ITEM_FLOOR },
		{ "join", ITEM_JOIN },       { "leave", ITEM_LEAVE },          { "written", ITEM_WRITTEN },
		{ "recording", ITEM_RECORDING },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(kinds); i++)
		if (strcmp(k, kinds[i].name) == 0) {
			*out = kinds[i].kind;
			*open = i == 1;
			return true;
		}
	return false;
}

/* Whether a record of this kind is written in this format (else only counted). */
static bool shown_in(const transcript *x, enum item_kind kind)
{
	switch (x->fmt) {
	case TRANSCRIPT_VTT:
	case TRANSCRIPT_SRT: return kind == ITEM_CAPTION;
	case TRANSCRIPT_TXT: return kind == ITEM_CAPTION || kind == ITEM_FLOOR || kind == ITEM_WRITTEN;
	case TRANSCRIPT_JSON: return true;
	}
	return false;
}

static struct open_line *open_of(transcript *x, const char *captioner_id)
{
	for (size_t i = 0; i < x->n_open; i++)
		if (strcmp(x->open[i].captioner_id, captioner_id) == 0)
			return &x->open[i];
	x->open = rs_realloc(x->open, (x->n_open + 1) * sizeof *x->open);
	x->open[x->n_open] = (struct open_line){ rs_strdup(captioner_id), SIZE_MAX };
	return &x->open[x->n_open++];
}

/*
 * A caption or open line of a captioner supersedes that captioner's earlier
 * open line (it was completed, or grew). Returns the captioner's entry, NULL
 * for a record that names no captioner.
 */
static struct open_line *supersede(transcript *x, const json_t *rec)
{
	const char *id = str(rec, "captioner_id");
	if (!id)
		return NULL;
	struct open_line *o = open_of(x, id);
	if (o->item != SIZE_MAX)
		x->items[o->item].dropped = true;
	o->item = SIZE_MAX;
	return o;
}

static void push_item(transcript *x, const struct item *it)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 256;
		x->items = rs_realloc(x->items, x->cap * sizeof *x->items);
	}
	x->items[x->n++] = *it;
}

/* Checks a caption's text; false when it is malformed (counted) or blank (nothing to show). */
static bool caption_usable(transcript *x, const json_t *rec)
{
	const char *text = str(rec, "text");
	if (!text) {
		x->st.skipped++;
		return false;
	}
	return text[strspn(text, " \t\r\n")] != '\0';
}

/* Checks one record; indexes it when it is shown, keeping its text when needed. */
static void take_record(transcript *x, const json_t *rec, const char *text, size_t len)
{
	size_t idx = x->n_records++;
	int64_t t;
	const char *k = str(rec, "kind");
	if (!json_is_object(rec) || !k || !int_member(rec, "t", &t)) {
		x->st.skipped++;
		return;
	}
	if (strcmp(k, "session") == 0) {
		if (!x->session)
			x->session = json_deep_copy(rec);
		return;
	}
	struct item it = { .idx = idx };
	if (!kind_of(k, &it.kind, &it.open))
		return; /* a kind this version does not render */
	struct open_line *line = it.kind == ITEM_CAPTION ? supersede(x, rec) : NULL;
	if (it.kind == ITEM_CAPTION && !caption_usable(x, rec))
		return;
	if (it.open && !line)
		return; /* an open line must say whose it is */
	int64_t t0;
	if (it.kind == ITEM_CAPTION && !it.open && int_member(rec, "t0", &t0) && t0 <= t)
		t = t0;
	it.t = t;
	if (it.kind == ITEM_CAPTION)
		it.lang = intern(x, caption_lang(rec));
	if (shown_in(x, it.kind)) {
		it.off = x->arena.len;
		it.len = len;
		rs_buf_append(&x->arena, text, len);
	}
	if (it.open)
		line->item = x->n;
	push_item(x, &it);
}

void transcript_add(transcript *x, const char *payload, size_t len)
{
	json_t *rec = len ? json_loadb(payload, len, 0, NULL) : NULL;
	if (!rec) {
		x->n_records++;
		x->st.skipped++;
		return;
	}
	take_record(x, rec, payload, len);
	json_decref(rec);
}

void transcript_add_json(transcript *x, const json_t *rec)
{
	char *text = json_is_object(rec) ? json_dumps(rec, JSON_COMPACT) : NULL;
	if (text) {
		take_record(x, rec, text, strlen(text));
		free(text);
	} else {
		x->n_records++;
		x->st.skipped++;
	}
}

/* The record an item indexes, parsed again (new reference; an object, never NULL). */
static json_t *item_rec(const transcript *x, const struct item *it)
{
	json_t *rec = it->len ? json_loadb(x->arena.p + it->off, it->len, 0, NULL) : NULL;
	return rec ? rec : json_object();
}

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The session start: started_at, else the session's t, else the first record's. */
static int64_t find_origin(const transcript *x)
{
	int64_t t;
	if (x->session && int_member(x->session, "started_at", &t))
		return t;
	if (x->session && int_member(x->session, "t", &t))
		return t;
	return x->n ? x->items[0].t : 0;
}

/* vtt/srt default: the room's first language, else the first caption's. */
static const char *default_track(const transcript *x)
{
	const json_t *langs = x->session ? json_object_get(x->session, "langs") : NULL;
	const char *first = json_string_value(json_array_get(langs, 0));
	if (first && *first)
		return first;
	return x->n_langs ? x->langs[0] : "*";
}

/* Drops superseded open lines, notes languages and joins in journal order, then sorts. */
static void tx_finish_load(transcript *x)
{
	size_t k = 0;
	for (size_t i = 0; i < x->n; i++) {
		if (x->items[i].dropped)
			continue;
		if (x->items[i].kind == ITEM_CAPTION)
			note_lang(x, x->items[i].lang);
		x->joins += x->items[i].kind == ITEM_JOIN;
		x->items[k++] = x->items[i];
	}
	x->n = k;
	if (x->n)
		qsort(x->items, x->n, sizeof *x->items, item_cmp);
	x->origin = find_origin(x);
}

/* Hands the output gathered so far to the sink, once it is big enough (or at the end). */
static void flush_out(transcript *x, bool all)
{
	if (x->out.len == 0 || (!all && x->out.len < TRANSCRIPT_CHUNK))
		return;
	if (!x->failed && x->sink(x->sink_ctx, x->out.p, x->out.len) != 0)
		x->failed = true;
	x->out.len = 0;
	x->out.p[0] = '\0';
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
static size_t caption_from(const transcript *x, size_t i)
{
	for (; i < x->n; i++)
		if (x->items[i].kind == ITEM_CAPTION && lang_matches(x->range, x->items[i].lang))
			return i;
	return x->n;
}

/* A cue lasts until the next caption, at most max_cue_ms; overlapping is allowed. */
static int64_t cue_end(const transcript *x, size_t i)
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

static void vtt_header(const transcript *x, struct rs_buf *b)
{
	rs_buf_printf(b, "WEBVTT\n\nNOTE\n");
	put_note_line(b, "Room", x->session ? str0(x->session, "room") : "");
	put_note_line(b, "Title", x->session ? str0(x->session, "title") : "");
	put_note_line(b, "Language", x->range ? x->range : "*");
	rs_buf_append(b, "\n", 1);
}

/* Writes a cue's number and timing (sep: '.' in WebVTT, ',' in SRT); returns its record. */
static json_t *cue_start(transcript *x, size_t i, size_t num, char sep)
{
	char from[32], to[32];
	fmt_offset(from, sizeof from, x->items[i].t - x->origin, sep);
	fmt_offset(to, sizeof to, cue_end(x, i) - x->origin, sep);
	rs_buf_printf(&x->out, "%zu\n%s --> %s\n", num, from, to);
	return item_rec(x, &x->items[i]);
}

/* Each caption as one numbered cue, streamed out as it is written; counts them. */
static void render_cues(transcript *x, void (*cue)(transcript *x, size_t i, size_t num))
{
	size_t num = 0;
	for (size_t i = caption_from(x, 0); i < x->n && !x->failed; i = caption_from(x, i + 1)) {
		cue(x, i, ++num);
		flush_out(x, false);
	}
	x->st.captions = num;
}

/*
 * One cue: identifier, timing, then `<v Name (group)>text` (WebVTT section
 * 4.2.2); a `<lang>` span when an all-languages export has several.
 */
static void vtt_cue(transcript *x, size_t i, size_t num)
{
	struct rs_buf *b = &x->out;
	bool tag_lang = x->range == NULL && x->n_langs > 1;
	json_t *rec = cue_start(x, i, num, '.');
	const json_t *sp = speaker_of(rec);
	if (sp) {
		rs_buf_append(b, "<v ", 3);
		put_who(b, sp, ESC_MARKUP);
		rs_buf_append(b, ">", 1);
	}
	if (tag_lang) {
		rs_buf_append(b, "<lang ", 6);
		put_text(b, x->items[i].lang, ESC_MARKUP);
		rs_buf_append(b, ">", 1);
	}
	put_text(b, str0(rec, "text"), ESC_MARKUP);
	if (tag_lang)
		rs_buf_append(b, "</lang>", 7);
	rs_buf_append(b, "\n\n", 2);
	json_decref(rec);
}

static void render_vtt(transcript *x)
{
	vtt_header(x, &x->out);
	render_cues(x, vtt_cue);
}

/* ---- SRT -------------------------------------------------------------------- */

static void srt_cue(transcript *x, size_t i, size_t num)
{
	struct rs_buf *b = &x->out;
	json_t *rec = cue_start(x, i, num, ',');
	const json_t *sp = speaker_of(rec);
	if (sp) {
		put_who(b, sp, ESC_ARROW);
		rs_buf_append(b, ": ", 2);
	}
	put_text(b, str0(rec, "text"), ESC_ARROW);
	rs_buf_append(b, "\n\n", 2);
	json_decref(rec);
}

static void render_srt(transcript *x)
{
	render_cues(x, srt_cue);
}

/* ---- plain text ------------------------------------------------------------- */

static void txt_header(const transcript *x, struct rs_buf *b)
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

static void txt_stamp(const transcript *x, int64_t t, struct rs_buf *b)
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

/* Whether caption b continues the paragraph of caption a (same voice, same track). */
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

/* prev_rec is the previous shown item's record when that was a caption, else NULL. */
static void txt_caption(transcript *x, const struct item *it, const json_t *rec,
			const struct item *prev, const json_t *prev_rec)
{
	struct rs_buf *b = &x->out;
	if (prev_rec && same_paragraph(prev_rec, rec, it->t - prev->t)) {
		rs_buf_append(b, " ", 1);
		put_text(b, str0(rec, "text"), ESC_NONE);
		return;
	}
	txt_stamp(x, it->t, b);
	if (x->n_langs > 1)
		rs_buf_printf(b, "(%s) ", it->lang);
	const json_t *sp = speaker_of(rec);
	if (sp) {
		put_who(b, sp, ESC_NONE);
		rs_buf_append(b, ": ", 2);
	}
	put_text(b, str0(rec, "text"), ESC_NONE);
}

/* Captions as paragraphs; floor and written events bracketed; joins only counted. */
static void render_txt(transcript *x)
{
	txt_header(x, &x->out);
	const struct item *prev = NULL;
	json_t *prev_rec = NULL; /* kept while prev is a caption */
	for (size_t i = 0; i < x->n && !x->failed; i++) {
		const struct item *it = &x->items[i];
		if (!shown_in(x, it->kind))
			continue;
		if (it->kind == ITEM_CAPTION && !lang_matches(x->range, it->lang))
			continue;
		json_t *rec = item_rec(x, it);
		if (it->kind == ITEM_CAPTION) {
			txt_caption(x, it, rec, prev, prev_rec);
			x->st.captions++;
		} else {
			txt_stamp(x, it->t, &x->out);
			if (it->kind == ITEM_FLOOR)
				txt_floor(rec, &x->out);
			else
				txt_written(rec, &x->out);
		}
		json_decref(prev_rec);
		prev_rec = it->kind == ITEM_CAPTION ? rec : (json_decref(rec), NULL);
		prev = it;
		flush_out(x, false);
	}
	json_decref(prev_rec);
	rs_buf_append(&x->out, "\n", 1);
}

/* ---- JSON --------------------------------------------------------------------- */

/* The record without its kind, with its offset from the session start. */
static json_t *json_item(const transcript *x, const struct item *it)
{
	json_t *o = item_rec(x, it);
	if (it->kind == ITEM_JOIN || it->kind == ITEM_LEAVE)
		json_object_set_new(o, "event", json_string(str0(o, "kind")));
	json_object_del(o, "kind");
	if (it->open) {
		json_object_set_new(o, "speaker", json_null());
		json_object_set_new(o, "open", json_true());
	}
	json_object_set_new(o, "offset_ms", json_integer(it->t - x->origin));
	return o;
}

static json_t *json_meta(const transcript *x)
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

/* Whether item it belongs in the named array of the JSON document. */
static bool in_array(const transcript *x, const struct item *it, size_t array)
{
	static const enum item_kind first_kind[] = { ITEM_CAPTION, ITEM_FLOOR, ITEM_JOIN,
						     ITEM_WRITTEN, ITEM_RECORDING };
	enum item_kind k = it->kind == ITEM_LEAVE ? ITEM_JOIN : it->kind;
	if (k != first_kind[array])
		return false;
	return k != ITEM_CAPTION || lang_matches(x->range, it->lang);
}

/* One array of the document, its elements one per line, as the items come. */
static void json_array_out(transcript *x, size_t array, const char *name)
{
	rs_buf_printf(&x->out, ",\n \"%s\": [", name);
	bool first = true;
	for (size_t i = 0; i < x->n && !x->failed; i++) {
		const struct item *it = &x->items[i];
		if (!in_array(x, it, array))
			continue;
		json_t *o = json_item(x, it);
		char *s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		rs_buf_printf(&x->out, "%s\n  %s", first ? "" : ",", s);
		free(s);
		first = false;
		x->st.captions += it->kind == ITEM_CAPTION;
		flush_out(x, false);
	}
	rs_buf_append(&x->out, first ? "]" : "\n ]", first ? 1 : 3);
}

/*
 * The document is written as it goes: the metadata object without its
 * closing brace, then each array, so no tree of the whole transcript is ever
 * built.
 */
static void render_json(transcript *x)
{
	static const char *const arrays[] = { "captions", "floor", "participants", "written",
					      "recordings" /* a player seeks to t - start_t */ };
	json_t *meta = json_meta(x);
	char *s = json_dumps(meta, JSON_COMPACT);
	json_decref(meta);
	size_t n = strlen(s);
	assert(n >= 2 && s[n - 1] == '}');
	rs_buf_append(&x->out, "{\n ", 3);
	rs_buf_append(&x->out, s + 1, n - 2);
	free(s);
	for (size_t i = 0; i < RS_ARRAY_LEN(arrays); i++)
		json_array_out(x, i, arrays[i]);
	rs_buf_append(&x->out, "\n}\n", 3);
}

/* ---- entry points ------------------------------------------------------------- */

int transcript_create(enum transcript_format fmt, const struct transcript_opts *opts,
		      transcript **out)
{
	*out = NULL;
	if ((size_t)fmt >= RS_ARRAY_LEN(formats))
		return TRANSCRIPT_E_FORMAT;
	const char *range = opts ? opts->lang : NULL;
	if (range && !range_valid(range))
		return TRANSCRIPT_E_LANG;
	transcript *x = rs_calloc(1, sizeof *x);
	x->fmt = fmt;
	x->lang_opt = range ? rs_strdup(range) : NULL;
	x->max_cue_ms = opts && opts->max_cue_ms > 0 ? opts->max_cue_ms : TRANSCRIPT_MAX_CUE_MS;
	*out = x;
	return TRANSCRIPT_OK;
}

int transcript_render(transcript *x, transcript_sink_fn sink, void *ctx,
		      struct transcript_stats *stats)
{
	tx_finish_load(x);
	const char *range = x->lang_opt;
	if (!range && (x->fmt == TRANSCRIPT_VTT || x->fmt == TRANSCRIPT_SRT))
		range = default_track(x);
	x->range = range && strcmp(range, "*") == 0 ? NULL : range;
	x->sink = sink;
	x->sink_ctx = ctx;
	rs_buf_append(&x->out, "", 0);
	switch (x->fmt) {
	case TRANSCRIPT_VTT: render_vtt(x); break;
	case TRANSCRIPT_SRT: render_srt(x); break;
	case TRANSCRIPT_TXT: render_txt(x); break;
	case TRANSCRIPT_JSON: render_json(x); break;
	}
	flush_out(x, true);
	if (stats)
		*stats = x->st;
	return x->failed ? TRANSCRIPT_E_SINK : TRANSCRIPT_OK;
}

void transcript_destroy(transcript *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->n_interned; i++)
		free(x->interned[i]);
	for (size_t i = 0; i < x->n_open; i++)
		free(x->open[i].captioner_id);
	free(x->interned);
	free(x->open);
	free(x->items);
	free(x->arena.p);
	free(x->out.p);
	free(x->lang_opt);
	json_decref(x->session);
	free(x);
}

static int to_buf(void *ctx, const char *bytes, size_t len)
{
	rs_buf_append(ctx, bytes, len);
	return 0;
}

int transcript_export(const json_t *records, enum transcript_format fmt,
		      const struct transcript_opts *opts, char **out, size_t *out_len,
		      struct transcript_stats *stats)
{
	*out = NULL;
	if (!json_is_array(records))
		return TRANSCRIPT_E_NOT_ARRAY;
	transcript *x;
	int rc = transcript_create(fmt, opts, &x);
	if (rc != TRANSCRIPT_OK)
		return rc;
	for (size_t i = 0; i < json_array_size(records); i++)
		transcript_add_json(x, json_array_get(records, i));
	struct rs_buf b = { 0 };
	rs_buf_append(&b, "", 0);
	rc = transcript_render(x, to_buf, &b, stats);
	transcript_destroy(x);
	if (out_len)
		*out_len = b.len;
	*out = b.p;
	return rc;
}
