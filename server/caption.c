#include "caption.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEQ_DIGITS_MAX 18 /* keeps every accepted seq far below UINT64_MAX */

struct caption {
	int refs;
	struct caption_view v;     /* points into the strings below */
	int64_t t0_ms;             /* when the line began (journal only) */
	/* owned */
	char *lang, *text, *cid, *cname, *sname, *sgroup;
	rs_msg *msg;
};

/* Retry memory of one HTTP source: slot seq % WINDOW holds that seq + 1 (0 = empty). */
struct seq_state {
	bool any;
	uint64_t last;
	uint64_t slot_seq[CAPTION_SEQ_WINDOW];
	int64_t slot_t[CAPTION_SEQ_WINDOW];
};

/* One captioner and the line it is typing. */
struct source {
	/* owned */
	char *id, *name;
	struct rs_buf line;        /* the open line, always valid UTF-8 */
	char *spk_name, *spk_group;/* floor holder when the line opened */
	caption *partial;          /* last partial sent for the open line */
	struct seq_state *seq;     /* HTTP sources only */
	/* state */
	enum caption_via via;
	char lang[CAPTION_LANG_MAX + 1];
	bool open;                 /* the line has begun (speaker captured) */
	bool after_cr;             /* last pushed byte was CR: a following LF is the same break */
	int64_t line_start_ms, line_ms, active_ms;
	bool live;
};

struct caption_room {
	/* passed in */
	struct caption_limits lim;
	char default_lang[CAPTION_LANG_MAX + 1];
	/* owned */
	struct source **src;
	size_t n_src;
	char tracks[CAPTION_MAX_TRACKS][CAPTION_LANG_MAX + 1];
	size_t n_tracks;
	caption **ring;            /* circular, lim.ring_max slots, oldest at ring_head */
	size_t ring_head, ring_n, ring_used;
	caption **out;             /* events not yet polled */
	size_t out_head, out_n, out_cap;
	/* state */
	uint64_t next_seq;
	uint64_t reserved;         /* seqs up to this are journaled as taken (caption_seq records) */
	bool reserve_due;          /* a new reservation waits to be journaled */
	bool live_dirty;
	struct caption_stats stats;
};

/* ---- errors ------------------------------------------------------------- */

static const struct {
	const char *code, *text;
	int http;
} errs[CAPTION_ERR_COUNT] = {
	[0] = { "ok", "accepted", 200 },
	[1] = { "bad_utf8", "caption text is not valid UTF-8", 400 },
	[2] = { "too_long", "caption text is over the length limit", 413 },
	[3] = { "bad_lang", "lang is not a BCP 47 language tag", 400 },
	[4] = { "no_seq", "the seq parameter is missing", 403 },
	[5] = { "bad_seq", "seq is not a decimal integer", 400 },
	[6] = { "seq_future", "seq is too far ahead of the last one accepted", 400 },
	[7] = { "method_not_allowed", "method not allowed on this caption URL", 405 },
	[8] = { "unauthorized", "missing or invalid captioner token", 403 },
	[9] = { "too_many_captioners", "the room has no slot for another captioner", 503 },
	[10] = { "too_many_languages", "the room carries its maximum of caption languages", 400 },
	[11] = { "bad_field", "malformed caption request", 400 },
	[12] = { "empty", "a final caption needs visible text", 400 },
	[13] = { "not_started", "the meeting has not started", 400 },
};

const char *caption_strerror(int err)
{
	if (err == CAPTION_DUPLICATE)
		return "already accepted (retry)";
	if (err == CAPTION_STALE)
		return "seq older than the retry window, acknowledged";
	if (err > 0 || -err >= CAPTION_ERR_COUNT)
		return "unknown caption error";
	return errs[-err].text;
}

const char *caption_err_code(int err)
{
	if (err == CAPTION_DUPLICATE)
		return "duplicate";
	if (err == CAPTION_STALE)
		return "stale";
	if (err > 0 || -err >= CAPTION_ERR_COUNT)
		return "internal";
	return errs[-err].code;
}

int caption_http_status(int err)
{
	if (err >= 0)
		return 200;
	return -err < CAPTION_ERR_COUNT ? errs[-err].http : 500;
}

/* Counts a refusal; every negative return from an intake goes through here. */
static int fail(caption_room *cr, int err)
{
	assert(err < 0 && -err < CAPTION_ERR_COUNT);
	if (cr)
		cr->stats.errors[-err]++;
	return err;
}

/* ---- language tags ------------------------------------------------------ */

static bool all_alpha(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

static bool all_alnum(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!all_alpha(s + i, 1) && !(s[i] >= '0' && s[i] <= '9'))
			return false;
	return true;
}

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
static char upper(char c) { return (c >= 'a' && c <= 'z') ? (char)(c - 32) : c; }

/* RFC 5646 section 2.2.1: the primary language subtag (or "x" for private use). */
static bool primary_ok(const char *s, size_t n)
{
	if (n == 1)
		return lower(s[0]) == 'x';
	return all_alpha(s, n) && (n == 2 || n == 3 || (n >= 5 && n <= 8));
}

/* Case per RFC 5646 section 2.1.1: region upper, script title, the rest lower. */
static void case_subtag(char *dst, const char *s, size_t n, size_t idx, bool after_singleton)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = lower(s[i]);
	if (idx == 0 || after_singleton || !all_alpha(s, n))
		return;
	if (n == 2) {
		dst[0] = upper(s[0]);
		dst[1] = upper(s[1]);
	} else if (n == 4) {
		dst[0] = upper(s[0]);
	}
}

bool caption_lang_normalize(const char *in, char out[CAPTION_LANG_MAX + 1])
{
	size_t total = in ? strlen(in) : 0;
	if (total == 0 || total > CAPTION_LANG_MAX)
		return false;
	bool after_singleton = false;
	for (size_t i = 0, idx = 0;; idx++) {
		size_t n = strcspn(in + i, "-");
		if (n == 0 || n > 8 || !all_alnum(in + i, n))
			return false;
		if (idx == 0 && !primary_ok(in + i, n))
			return false;
		case_subtag(out + i, in + i, n, idx, after_singleton);
		after_singleton = after_singleton || n == 1;
		if (in[i + n] == '\0')
			break;
		out[i + n] = '-';
		i += n + 1;
	}
	out[total] = '\0';
	return true;
}

/* ---- caption objects ---------------------------------------------------- */

static char *dup_or_null(const char *s)
{
	return s && *s ? rs_strdup(s) : NULL;
}

static json_t *speaker_json(const struct caption_view *v)
{
	if (!v->speaker_name)
		return json_null();
	return json_pack("{s:s, s:o}", "name", v->speaker_name, "group",
			 v->speaker_group ? json_string(v->speaker_group) : json_null());
}

/* The outgoing WebSocket message, serialized once for every listener. */
static rs_msg *caption_build_msg(const struct caption_view *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("caption"));
	json_object_set_new(o, "seq", json_integer((json_int_t)v->seq));
	json_object_set_new(o, "kind", json_string(v->kind == CAPTION_FINAL ? "final" : "partial"));
	json_object_set_new(o, "lang", json_string(v->lang));
	json_object_set_new(o, "text", json_string(v->text));
	json_object_set_new(o, "t", json_integer(v->t_ms));
	json_object_set_new(o, "speaker", speaker_json(v));
	json_object_set_new(o, "captioner", json_string(v->captioner));
	json_object_set_new(o, "captioner_id", json_string(v->captioner_id));
	return rs_msg_take_json(o);
}

/*
 * Seqs are reserved a block ahead, half a block before they are needed, so
 * the reservation is on disk long before a seq it covers goes out: after a
 * restart numbering continues past anything a client may have seen, partials
 * (never journaled) included.
 */
static void reserve_ahead(caption_room *cr)
{
	if (cr->next_seq + CAPTION_SEQ_BLOCK / 2 <= cr->reserved)
		return;
	cr->reserved = cr->next_seq + CAPTION_SEQ_BLOCK;
	cr->reserve_due = true;
}

/* A new event from s's current speaker and lang; text is copied. */
static caption *caption_new(caption_room *cr, const struct source *s, enum caption_kind kind,
			    const char *text, size_t len, int64_t now_ms)
{
	caption *c = rs_calloc(1, sizeof *c);
	c->refs = 1;
	c->lang = rs_strdup(s->lang);
	c->text = rs_strndup(text, len);
	c->cid = rs_strdup(s->id);
	c->cname = rs_strdup(s->name);
	c->sname = dup_or_null(s->spk_name);
	c->sgroup = c->sname ? dup_or_null(s->spk_group) : NULL;
	c->t0_ms = s->open ? s->line_start_ms : now_ms;
	reserve_ahead(cr);
	c->v = (struct caption_view){
		.kind = kind, .seq = cr->next_seq++, .t_ms = now_ms, .lang = c->lang,
		.text = c->text, .captioner_id = c->cid, .captioner = c->cname,
		.speaker_name = c->sname, .speaker_group = c->sgroup,
	};
	c->msg = caption_build_msg(&c->v);
	return c;
}

caption *caption_ref(caption *c)
{
	c->refs++;
	return c;
}

void caption_unref(caption *c)
{
	if (!c || --c->refs > 0)
		return;
	rs_msg_unref(c->msg);
	free(c->lang);
	free(c->text);
	free(c->cid);
	free(c->cname);
	free(c->sname);
	free(c->sgroup);
	free(c);
}

rs_msg *caption_msg(const caption *c)
{
	return c->msg;
}

const struct caption_view *caption_view(const caption *c)
{
	return &c->v;
}

json_t *caption_journal_record(const caption *c)
{
	const struct caption_view *v = &c->v;
	if (v->kind != CAPTION_FINAL)
		return NULL;
	json_t *o = json_object();
	json_object_set_new(o, "kind", json_string("caption"));
	json_object_set_new(o, "t", json_integer(v->t_ms));
	json_object_set_new(o, "t0", json_integer(c->t0_ms));
	json_object_set_new(o, "seq", json_integer((json_int_t)v->seq));
	json_object_set_new(o, "lang", json_string(v->lang));
	json_object_set_new(o, "text", json_string(v->text));
	json_object_set_new(o, "speaker", speaker_json(v));
	json_object_set_new(o, "captioner", json_string(v->captioner));
	json_object_set_new(o, "captioner_id", json_string(v->captioner_id));
	return o;
}

/* ---- outbox and ring ---------------------------------------------------- */

/* Queues c for caption_room_poll(); takes the caller's reference. */
static void emit(caption_room *cr, caption *c)
{
	if (cr->out_head + cr->out_n == cr->out_cap) {
		cr->out_cap = cr->out_cap ? cr->out_cap * 2 : 16;
		cr->out = rs_realloc(cr->out, cr->out_cap * sizeof *cr->out);
	}
	cr->out[cr->out_head + cr->out_n++] = c;
	if (c->v.kind == CAPTION_FINAL)
		cr->stats.finals++;
	else
		cr->stats.partials++;
}

caption *caption_room_poll(caption_room *cr)
{
	if (cr->out_n == 0) {
		cr->out_head = 0;
		return NULL;
	}
	cr->out_n--;
	return cr->out[cr->out_head++];
}

static void ring_pop(caption_room *cr)
{
	assert(cr->ring_n > 0);
	caption *c = cr->ring[cr->ring_head];
	cr->ring_used -= rs_msg_len(c->msg);
	caption_unref(c);
	cr->ring_head = (cr->ring_head + 1) % cr->lim.ring_max;
	cr->ring_n--;
	cr->stats.ring_evicted++;
}

/* Drops finals that are too old, too many or too big for a late joiner. */
static void ring_trim(caption_room *cr, int64_t now_ms)
{
	while (cr->ring_n > 0) {
		const caption *old = cr->ring[cr->ring_head];
		bool expired = now_ms - old->v.t_ms >= cr->lim.ring_ms;
		if (!expired && cr->ring_used <= cr->lim.ring_bytes)
			break;
		ring_pop(cr);
	}
}

static void ring_push(caption_room *cr, caption *c, int64_t now_ms)
{
	if (cr->lim.ring_max == 0)
		return;
	if (cr->ring_n == cr->lim.ring_max)
		ring_pop(cr);
	cr->ring[(cr->ring_head + cr->ring_n) % cr->lim.ring_max] = caption_ref(c);
	cr->ring_n++;
	cr->ring_used += rs_msg_len(c->msg);
	ring_trim(cr, now_ms);
}

/* ---- room lifecycle ----------------------------------------------------- */

void caption_limits_default(struct caption_limits *l)
{
	*l = (struct caption_limits){
		.text_max = 1000, .body_max = 16 * 1024, .ring_ms = 5 * 60 * 1000,
		.ring_max = 200, .ring_bytes = 256 * 1024, .live_ms = 60 * 1000,
		.idle_final_ms = 8000, .seq_ahead_max = 1000, .max_sources = 16,
	};
}

caption_room *caption_room_create(const char *default_lang, const struct caption_limits *limits,
				  int *err)
{
	char lang[CAPTION_LANG_MAX + 1];
	if (!caption_lang_normalize(default_lang, lang)) {
		*err = CAPTION_E_BAD_LANG;
		return NULL;
	}
	caption_room *cr = rs_calloc(1, sizeof *cr);
	if (limits)
		cr->lim = *limits;
	else
		caption_limits_default(&cr->lim);
	assert(cr->lim.text_max >= 8 && cr->lim.max_sources > 0); /* a split needs a code point */
	memcpy(cr->default_lang, lang, sizeof lang);
	memcpy(cr->tracks[0], lang, sizeof lang);
	cr->n_tracks = 1;
	cr->ring = rs_calloc(cr->lim.ring_max ? cr->lim.ring_max : 1, sizeof *cr->ring);
	cr->src = rs_calloc(cr->lim.max_sources, sizeof *cr->src);
	cr->next_seq = 1;
	*err = CAPTION_OK;
	return cr;
}

static void source_free(struct source *s)
{
	caption_unref(s->partial);
	free(s->line.p);
	free(s->id);
	free(s->name);
	free(s->spk_name);
	free(s->spk_group);
	free(s->seq);
	free(s);
}

void caption_room_destroy(caption_room *cr)
{
	if (!cr)
		return;
	for (size_t i = 0; i < cr->n_src; i++)
		source_free(cr->src[i]);
	while (cr->ring_n > 0)
		ring_pop(cr);
	caption *c;
	while ((c = caption_room_poll(cr)))
		caption_unref(c);
	free(cr->src);
	free(cr->ring);
	free(cr->out);
	free(cr);
}

const char *caption_room_default_lang(const caption_room *cr)
{
	return cr->default_lang;
}

const struct caption_stats *caption_room_stats(const caption_room *cr)
{
	return &cr->stats;
}

/* ---- tracks and sources ------------------------------------------------- */

static bool track_known(const caption_room *cr, const char *lang)
{
	for (size_t i = 0; i < cr->n_tracks; i++)
		if (strcmp(cr->tracks[i], lang) == 0)
			return true;
	return false;
}

/* Checks that lang can be carried; registers it only when commit is set. */
static int track_use(caption_room *cr, const char *lang, bool commit)
{
	if (track_known(cr, lang))
		return CAPTION_OK;
	if (cr->n_tracks == CAPTION_MAX_TRACKS)
		return CAPTION_E_TOO_MANY_TRACKS;
	if (commit)
		memcpy(cr->tracks[cr->n_tracks++], lang, CAPTION_LANG_MAX + 1);
	return CAPTION_OK;
}

/* ---- continuity across restarts ------------------------------------------ */

bool caption_room_seq_reservation(caption_room *cr, uint64_t *upto)
{
	if (!cr->reserve_due)
		return false;
	cr->reserve_due = false;
	*upto = cr->reserved;
	return true;
}

void caption_room_restore_seq(caption_room *cr, uint64_t last)
{
	if (last + 1 > cr->next_seq)
		cr->next_seq = last + 1;
	reserve_ahead(cr);
}

uint64_t caption_room_next_seq(const caption_room *cr)
{
	return cr->next_seq;
}

static const char *rec_str(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

int caption_room_restore_final(caption_room *cr, json_t *rec, int64_t now_ms)
{
	json_t *seq = json_object_get(rec, "seq"), *t = json_object_get(rec, "t");
	const char *text = rec_str(rec, "text"), *lang = rec_str(rec, "lang");
	const char *cid = rec_str(rec, "captioner_id"), *cname = rec_str(rec, "captioner");
	char canon[CAPTION_LANG_MAX + 1];
	if (!json_is_integer(seq) || json_integer_value(seq) <= 0 || !json_is_integer(t) || !text ||
	    !rs_utf8_valid(text, strlen(text)) || !lang || !caption_lang_normalize(lang, canon) ||
	    !cid || !cname)
		return CAPTION_E_BAD_REQUEST;
	if (track_use(cr, canon, true) != CAPTION_OK)
		return CAPTION_E_TOO_MANY_TRACKS;
	json_t *sp = json_object_get(rec, "speaker");
	const char *sname = rec_str(sp, "name"), *sgroup = rec_str(sp, "group");
	caption *c = rs_calloc(1, sizeof *c);
	c->refs = 1;
	c->lang = rs_strdup(canon);
	c->text = rs_strdup(text);
	c->cid = rs_strdup(cid);
	c->cname = rs_strdup(cname);
	c->sname = dup_or_null(sname);
	c->sgroup = c->sname ? dup_or_null(sgroup) : NULL;
	json_t *t0 = json_object_get(rec, "t0");
	c->t0_ms = json_is_integer(t0) ? (int64_t)json_integer_value(t0) : json_integer_value(t);
	c->v = (struct caption_view){
		.kind = CAPTION_FINAL, .seq = (uint64_t)json_integer_value(seq),
		.t_ms = (int64_t)json_integer_value(t), .lang = c->lang, .text = c->text,
		.captioner_id = c->cid, .captioner = c->cname, .speaker_name = c->sname,
		.speaker_group = c->sgroup,
	};
	c->msg = caption_build_msg(&c->v);
	caption_room_restore_seq(cr, c->v.seq);
	ring_push(cr, c, now_ms);
	caption_unref(c);
	return CAPTION_OK;
}

static struct source *source_find(const caption_room *cr, const char *id)
{
	for (size_t i = 0; i < cr->n_src; i++)
		if (strcmp(cr->src[i]->id, id) == 0)
			return cr->src[i];
	return NULL;
}

/* Index of a slot to reuse when the table is full: an idle captioner with no open line. */
static long source_evictable(const caption_room *cr)
{
	for (size_t i = 0; i < cr->n_src; i++)
		if (!cr->src[i]->live && !cr->src[i]->open)
			return (long)i;
	return -1;
}

/* Whether who can be found or given a slot, without changing anything. */
static bool source_available(const caption_room *cr, const struct caption_who *who)
{
	return source_find(cr, who->id) || cr->n_src < cr->lim.max_sources ||
	       source_evictable(cr) >= 0;
}

/* Finds or creates who's source (source_available() must have said yes). */
static struct source *source_get(caption_room *cr, const struct caption_who *who)
{
	struct source *s = source_find(cr, who->id);
	if (s) {
		if (strcmp(s->name, who->name) != 0) {
			free(s->name);
			s->name = rs_strdup(who->name);
		}
		return s;
	}
	if (cr->n_src == cr->lim.max_sources) {
		long i = source_evictable(cr);
		assert(i >= 0);
		source_free(cr->src[i]);
		cr->src[i] = cr->src[--cr->n_src];
	}
	s = rs_calloc(1, sizeof *s);
	s->id = rs_strdup(who->id);
	s->name = rs_strdup(who->name);
	s->via = who->via;
	cr->src[cr->n_src++] = s;
	return s;
}

/* Marks s active; a captioner coming (back) live changes the live set. */
static void source_touch(caption_room *cr, struct source *s, int64_t now_ms)
{
	s->active_ms = now_ms;
	if (!s->live) {
		s->live = true;
		cr->live_dirty = true;
	}
}

/* ---- the open line ------------------------------------------------------ */

/* Begins a line: the speaker is whoever holds the floor as the first text arrives. */
static void line_open(struct source *s, const struct caption_speaker *sp, int64_t now_ms)
{
	if (s->open)
		return;
	free(s->spk_name);
	free(s->spk_group);
	s->spk_name = sp && sp->name ? rs_strdup(sp->name) : NULL;
	s->spk_group = sp && sp->group && sp->name ? rs_strdup(sp->group) : NULL;
	s->open = true;
	s->line_start_ms = now_ms;
}

/* Sends the open line as a partial when it differs from the last one sent. */
static void publish_partial(caption_room *cr, struct source *s, int64_t now_ms)
{
	const char *shown = s->partial ? s->partial->text : "";
	const char *cur = s->line.len ? s->line.p : "";
	if (strcmp(shown, cur) == 0)
		return;
	caption *c = caption_new(cr, s, CAPTION_PARTIAL, cur, s->line.len, now_ms);
	caption_unref(s->partial);
	s->partial = caption_ref(c);
	emit(cr, c);
}

/* Emits text (trimmed of spaces) as a final; returns false when nothing visible was left. */
static bool emit_final(caption_room *cr, struct source *s, const char *text, size_t len,
		       int64_t now_ms)
{
	while (len && text[0] == ' ')
		text++, len--;
	while (len && text[len - 1] == ' ')
		len--;
	if (len == 0)
		return false;
	caption *c = caption_new(cr, s, CAPTION_FINAL, text, len, now_ms);
	ring_push(cr, c, now_ms);
	emit(cr, c);
	return true;
}

/* Completes the open line: a final for its text, and the line closes. */
static void line_finish(caption_room *cr, struct source *s, int64_t now_ms)
{
	bool shown = emit_final(cr, s, s->line.p, s->line.len, now_ms);
	s->line.len = 0;
	if (s->line.p)
		s->line.p[0] = '\0';
	if (!shown)
		publish_partial(cr, s, now_ms); /* clears a whitespace-only partial */
	caption_unref(s->partial);
	s->partial = NULL;
	s->open = false;
}

/* Largest code point boundary <= at in a UTF-8 string. */
static size_t utf8_floor(const char *p, size_t at)
{
	while (at > 0 && ((unsigned char)p[at] & 0xc0) == 0x80)
		at--;
	return at;
}

/* A line over text_max: the part up to the last space (or code point) becomes final. */
static void line_split(caption_room *cr, struct source *s, int64_t now_ms)
{
	size_t max = cr->lim.text_max;
	size_t cut = max;
	while (cut > 0 && s->line.p[cut] != ' ')
		cut--;
	size_t keep = cut;
	if (cut == 0)
		cut = keep = utf8_floor(s->line.p, max);
	else
		keep = cut + 1;
	emit_final(cr, s, s->line.p, cut, now_ms);
	memmove(s->line.p, s->line.p + keep, s->line.len - keep + 1);
	s->line.len -= keep;
	s->line_start_ms = now_ms;
	cr->stats.split_lines++;
}

/* Erases the last code point of the open line; the text already final stays. */
static void line_backspace(caption_room *cr, struct source *s)
{
	if (s->line.len == 0) {
		cr->stats.backspace_dropped++;
		return;
	}
	size_t at = utf8_floor(s->line.p, s->line.len - 1);
	s->line.len = at;
	s->line.p[at] = '\0';
}

/* Length of the UTF-8 sequence led by c (the text was validated before). */
static size_t cp_len(unsigned char c)
{
	return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* Applies one code point of a push to the open line. */
static void push_cp(caption_room *cr, struct source *s, const char *p, size_t n,
		    const struct caption_speaker *sp, int64_t now_ms)
{
	unsigned char c = (unsigned char)p[0];
	bool lf_after_cr = c == '\n' && s->after_cr;
	s->after_cr = c == '\r';
	if (c == '\r' || c == '\n') {
		if (!lf_after_cr && s->open)
			line_finish(cr, s, now_ms);
		return;
	}
	if (c == 0x08 || c == 0x7f) {
		line_backspace(cr, s);
		return;
	}
	if (c != '\t' && rs_cp_is_control(p, n))
		return; /* other C0 and C1 controls carry nothing to show (ESC, CSI) */
	line_open(s, sp, now_ms);
	rs_buf_append(&s->line, c == '\t' ? " " : p, n);
	while (s->line.len > cr->lim.text_max)
		line_split(cr, s, now_ms);
}

static void push_text(caption_room *cr, struct source *s, const char *body, size_t len,
		      const struct caption_speaker *sp, int64_t now_ms)
{
	for (size_t i = 0; i < len;) {
		size_t n = cp_len((unsigned char)body[i]);
		push_cp(cr, s, body + i, n, sp, now_ms);
		i += n;
	}
	s->line_ms = now_ms;
	publish_partial(cr, s, now_ms);
}

/* Switches s to lang; an open line in another language is completed first. */
static void source_set_lang(caption_room *cr, struct source *s, const char *lang, int64_t now_ms)
{
	if (strcmp(s->lang, lang) == 0)
		return;
	if (s->open)
		line_finish(cr, s, now_ms);
	memcpy(s->lang, lang, sizeof s->lang);
}

/* ---- browser intake ----------------------------------------------------- */

/* Browser text on one line: CR, LF and TAB become spaces, other controls go. */
static void normalize_line(struct rs_buf *b, const char *text, size_t len)
{
	rs_buf_append(b, "", 0);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c == '\r' || c == '\n' || c == '\t')
			rs_buf_append(b, " ", 1);
		else if (c >= 0x20 && c != 0x7f)
			rs_buf_append(b, text + i, 1);
	}
}

static bool blank(const char *s)
{
	return s[strspn(s, " ")] == '\0';
}

/* Validates a browser input; on success lang holds the canonical tag. */
static int input_check(caption_room *cr, const struct caption_who *who, const char *lang,
		       const char *text, size_t len, char out_lang[CAPTION_LANG_MAX + 1])
{
	if (!text || !rs_utf8_valid(text, len))
		return CAPTION_E_BAD_UTF8;
	if (len > cr->lim.text_max)
		return CAPTION_E_TOO_LONG;
	if (!caption_lang_normalize(lang ? lang : cr->default_lang, out_lang))
		return CAPTION_E_BAD_LANG;
	if (track_use(cr, out_lang, false) != CAPTION_OK)
		return CAPTION_E_TOO_MANY_TRACKS;
	if (!source_available(cr, who))
		return CAPTION_E_TOO_MANY_SOURCES;
	return CAPTION_OK;
}

int caption_room_input(caption_room *cr, const struct caption_who *who, enum caption_kind kind,
		       const char *lang, const char *text, size_t len,
		       const struct caption_speaker *speaker, int64_t now_ms)
{
	assert(who && who->id && who->name);
	char tag[CAPTION_LANG_MAX + 1];
	int rc = input_check(cr, who, lang, text, len, tag);
	if (rc != CAPTION_OK)
		return fail(cr, rc);
	struct rs_buf b = { 0 };
	normalize_line(&b, text, len);
	b.len = rs_text_clean(b.p, b.len); /* C1 controls too, as push_cp drops them */
	b.p[b.len] = '\0';
	if (kind == CAPTION_FINAL && blank(b.p)) {
		free(b.p);
		return fail(cr, CAPTION_E_EMPTY);
	}
	rc = track_use(cr, tag, true);
	assert(rc == CAPTION_OK);
	struct source *s = source_get(cr, who);
	source_touch(cr, s, now_ms);
	source_set_lang(cr, s, tag, now_ms);
	free(s->line.p);
	s->line = b;
	s->line_ms = now_ms;
	if (blank(b.p))
		s->open = false; /* a cleared line: the next text starts afresh, speaker too */
	else
		line_open(s, speaker, now_ms);
	if (kind == CAPTION_FINAL)
		line_finish(cr, s, now_ms);
	else
		publish_partial(cr, s, now_ms);
	cr->stats.accepted++;
	return CAPTION_OK;
}

/* ---- HTTP intake: seq ----------------------------------------------------- */

/* A seq is 1-18 ASCII digits; "+1", " 1" or "0x1" are not. */
static bool seq_parse(const char *s, uint64_t *out)
{
	size_t n = strlen(s);
	if (n == 0 || n > SEQ_DIGITS_MAX || strspn(s, "0123456789") != n)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	*out = v;
	return true;
}

/*
 * Classifies seq against what the source has seen (Zoom: seq rises by one per
 * new text and repeats on retry). Unseen seqs inside the window are new even
 * when late, so text delivered out of order is shown once, in arrival order.
 */
static int seq_classify(const caption_room *cr, const struct source *s, uint64_t seq,
			int64_t *ack_ms)
{
	const struct seq_state *st = s ? s->seq : NULL;
	if (!st || !st->any)
		return CAPTION_OK;
	if (seq > st->last && seq - st->last > cr->lim.seq_ahead_max)
		return CAPTION_E_SEQ_FUTURE;
	if (seq + CAPTION_SEQ_WINDOW <= st->last)
		return CAPTION_STALE;
	size_t slot = seq % CAPTION_SEQ_WINDOW;
	if (st->slot_seq[slot] == seq + 1) {
		*ack_ms = st->slot_t[slot];
		return CAPTION_DUPLICATE;
	}
	return CAPTION_OK;
}

static void seq_record(struct source *s, uint64_t seq, int64_t now_ms)
{
	if (!s->seq)
		s->seq = rs_calloc(1, sizeof *s->seq);
	struct seq_state *st = s->seq;
	size_t slot = seq % CAPTION_SEQ_WINDOW;
	st->slot_seq[slot] = seq + 1;
	st->slot_t[slot] = now_ms;
	if (!st->any || seq > st->last)
		st->last = seq;
	st->any = true;
}

uint64_t caption_room_last_seq(const caption_room *cr, const char *source_id)
{
	const struct source *s = source_find(cr, source_id);
	return s && s->seq && s->seq->any ? s->seq->last : 0;
}

/* ---- HTTP intake: push ---------------------------------------------------- */

/* Validates a push up to its seq; on success *seq and lang are filled. */
static int push_check(caption_room *cr, const struct caption_who *who,
		      const struct caption_push *p, uint64_t *seq,
		      char lang[CAPTION_LANG_MAX + 1])
{
	if (!p->seq)
		return CAPTION_E_NO_SEQ;
	if (!seq_parse(p->seq, seq))
		return CAPTION_E_BAD_SEQ;
	const char *tag = p->lang ? p->lang : p->content_language;
	if (!caption_lang_normalize(tag ? tag : cr->default_lang, lang))
		return CAPTION_E_BAD_LANG;
	if (p->body_len > cr->lim.body_max)
		return CAPTION_E_TOO_LONG;
	if (p->body_len && (!p->body || !rs_utf8_valid(p->body, p->body_len)))
		return CAPTION_E_BAD_UTF8;
	if (!source_available(cr, who))
		return CAPTION_E_TOO_MANY_SOURCES;
	return CAPTION_OK;
}

int caption_room_push(caption_room *cr, const struct caption_who *who,
		      const struct caption_push *p, const struct caption_speaker *speaker,
		      int64_t now_ms, int64_t *ack_ms)
{
	assert(who && who->id && who->name);
	uint64_t seq = 0;
	char lang[CAPTION_LANG_MAX + 1];
	*ack_ms = now_ms;
	int rc = push_check(cr, who, p, &seq, lang);
	if (rc == CAPTION_OK)
		rc = seq_classify(cr, source_find(cr, who->id), seq, ack_ms);
	if (rc == CAPTION_OK)
		rc = track_use(cr, lang, true);
	if (rc < 0)
		return fail(cr, rc);
	struct source *s = source_get(cr, who);
	source_touch(cr, s, now_ms);
	if (rc == CAPTION_DUPLICATE || rc == CAPTION_STALE) {
		cr->stats.duplicates += rc == CAPTION_DUPLICATE;
		cr->stats.stale += rc == CAPTION_STALE;
		return rc;
	}
	seq_record(s, seq, now_ms);
	source_set_lang(cr, s, lang, now_ms);
	push_text(cr, s, p->body, p->body_len, speaker, now_ms);
	cr->stats.accepted++;
	return CAPTION_OK;
}

/* ---- HTTP adapter --------------------------------------------------------- */

/* RFC 3339 UTC with milliseconds, e.g. 2015-03-03T14:00:05.250Z. */
static void format_time(char *dst, size_t cap, int64_t ms)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	size_t n = strftime(dst, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(dst + n, cap - n, ".%03dZ", (int)(ms % 1000));
}

static void http_error(caption_room *cr, struct caption_http_reply *rep, int err, bool count)
{
	if (count)
		fail(cr, err);
	rep->err = err;
	rep->status = caption_http_status(err);
	snprintf(rep->body, sizeof rep->body, "%s: %s\n", caption_err_code(err),
		 caption_strerror(err));
}

void caption_http(caption_room *cr, const struct caption_http_req *req,
		  const struct caption_speaker *speaker, int64_t now_ms,
		  struct caption_http_reply *rep)
{
	memset(rep, 0, sizeof *rep);
	const char *want = req->seq_form ? "GET" : "POST";
	if (!req->method || strcmp(req->method, want) != 0)
		return http_error(cr, rep, CAPTION_E_METHOD, true);
	if (!req->who)
		return http_error(cr, rep, CAPTION_E_UNAUTHORIZED, true);
	if (!cr)
		return http_error(cr, rep, CAPTION_E_NOT_STARTED, false);
	rep->status = 200;
	if (req->seq_form) {
		snprintf(rep->body, sizeof rep->body, "%" PRIu64,
			 caption_room_last_seq(cr, req->who->id));
		return;
	}
	int64_t ack = now_ms;
	int rc = caption_room_push(cr, req->who, &req->push, speaker, now_ms, &ack);
	if (rc < 0)
		return http_error(cr, rep, rc, false); /* the push counted it */
	rep->err = rc;
	format_time(rep->body, sizeof rep->body, ack);
}

/* ---- timers, backlog, live set ------------------------------------------ */

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * Runs one source's timers; returns its next deadline. Software over HTTP may
 * never send a line break, so its idle line becomes final; a browser sends its
 * own finals, so its line is only closed when the captioner goes away.
 */
static int64_t source_tick(caption_room *cr, struct source *s, int64_t now_ms)
{
	bool http = s->via == CAPTION_VIA_HTTP;
	if (http && s->open && now_ms - s->line_ms >= cr->lim.idle_final_ms)
		line_finish(cr, s, s->line_ms);
	if (s->live && now_ms - s->active_ms >= cr->lim.live_ms) {
		s->live = false;
		cr->live_dirty = true;
		if (s->open)
			line_finish(cr, s, now_ms);
	}
	int64_t next = CAPTION_NO_DEADLINE;
	if (http && s->open)
		next = s->line_ms + cr->lim.idle_final_ms;
	if (s->live)
		next = min64(next, s->active_ms + cr->lim.live_ms);
	return next;
}

void caption_room_leave(caption_room *cr, const char *source_id, int64_t now_ms)
{
	struct source *s = source_find(cr, source_id);
	if (!s)
		return;
	if (s->open)
		line_finish(cr, s, now_ms);
	if (s->live) {
		s->live = false;
		cr->live_dirty = true;
	}
}

void caption_room_finish_all(caption_room *cr, int64_t now_ms)
{
	for (size_t i = 0; i < cr->n_src; i++) {
		struct source *s = cr->src[i];
		if (s->open)
			line_finish(cr, s, s->via == CAPTION_VIA_HTTP ? s->line_ms : now_ms);
	}
}

int64_t caption_room_tick(caption_room *cr, int64_t now_ms)
{
	int64_t next = CAPTION_NO_DEADLINE;
	for (size_t i = 0; i < cr->n_src; i++)
		next = min64(next, source_tick(cr, cr->src[i], now_ms));
	ring_trim(cr, now_ms);
	if (cr->ring_n > 0)
		next = min64(next, cr->ring[cr->ring_head]->v.t_ms + cr->lim.ring_ms);
	return next;
}

static void backlog_add(caption **out, size_t cap, size_t *n, caption *c)
{
	if (*n < cap)
		out[*n] = c;
	(*n)++;
}

/* The open partials with visible text, in seq order (sources are few). */
static void backlog_partials(const caption_room *cr, caption **out, size_t cap, size_t *n)
{
	uint64_t after = 0;
	for (;;) {
		caption *best = NULL;
		for (size_t i = 0; i < cr->n_src; i++) {
			caption *p = cr->src[i]->partial;
			if (p && p->text[0] && p->v.seq > after && (!best || p->v.seq < best->v.seq))
				best = p;
		}
		if (!best)
			return;
		backlog_add(out, cap, n, best);
		after = best->v.seq;
	}
}

size_t caption_room_backlog(caption_room *cr, int64_t now_ms, caption **out, size_t cap)
{
	ring_trim(cr, now_ms);
	size_t n = 0;
	for (size_t i = 0; i < cr->ring_n; i++)
		backlog_add(out, cap, &n, cr->ring[(cr->ring_head + i) % cr->lim.ring_max]);
	backlog_partials(cr, out, cap, &n);
	return n;
}

bool caption_room_live_changed(caption_room *cr)
{
	bool changed = cr->live_dirty;
	cr->live_dirty = false;
	return changed;
}

json_t *caption_room_live_json(const caption_room *cr)
{
	json_t *a = json_array();
	for (size_t i = 0; i < cr->n_src; i++) {
		const struct source *s = cr->src[i];
		if (!s->live)
			continue;
		json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:I}", "id", s->id, "name",
						   s->name, "via",
						   s->via == CAPTION_VIA_HTTP ? "http" : "browser",
						   "lang", s->lang[0] ? s->lang : cr->default_lang,
						   "last_t", (json_int_t)s->active_ms));
	}
	return a;
}

rs_msg *caption_room_live_msg(const caption_room *cr)
{
	return rs_msg_take_json(json_pack("{s:s, s:o}", "type", "caption.captioners",
					  "captioners", caption_room_live_json(cr)));
}

json_t *caption_room_tracks_json(const caption_room *cr)
{
	json_t *a = json_array();
	for (size_t i = 0; i < cr->n_tracks; i++)
		json_array_append_new(a, json_string(cr->tracks[i]));
	return a;
}

/* ---- browser requests --------------------------------------------------- */

int caption_parse_request(json_t *msg, struct caption_request *out, const char **field)
{
	const char *type = json_string_value(json_object_get(msg, "type"));
	json_t *text = json_object_get(msg, "text");
	json_t *lang = json_object_get(msg, "lang");
	*field = NULL;
	if (type && strcmp(type, "caption.partial") == 0)
		out->kind = CAPTION_PARTIAL;
	else if (type && strcmp(type, "caption.final") == 0)
		out->kind = CAPTION_FINAL;
	else
		*field = "type";
	if (!*field && !json_is_string(text))
		*field = "text";
	if (!*field && lang && !json_is_string(lang))
		*field = "lang";
	if (*field)
		return CAPTION_E_BAD_REQUEST;
	out->text = json_string_value(text);
	out->len = json_string_length(text);
	out->lang = lang ? json_string_value(lang) : NULL;
	return CAPTION_OK;
}
