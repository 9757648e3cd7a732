/*
 * Caption intake as captioning software and browsers drive it: Zoom-style
 * POSTs with &seq and &lang (retries, gaps, stale and future seqs), GETs of
 * the seq form, StreamText-style bodies with backspaces (0x08, DEL) and line
 * breaks that complete lines, browser partials and finals, and the timers.
 *
 * Each input is a sequence of records (2-byte big-endian length, then the
 * bytes); a record's first byte is the operation (% 4: POST, GET .../seq,
 * browser input, clock), its second picks one of three captioners (bits 0-1)
 * and flags (4: no valid token, 8: a speaker holds the floor / a final), and the
 * rest is NUL-separated fields: seq, lang, Content-Language, then the body
 * (the body may hold NULs). Every caption that comes out must be valid UTF-8
 * without control characters, in increasing room seq order; a late joiner's
 * backlog is the finals then the open partials, each in seq order.
 */
#include "caption.h"
#include "fuzz.h"

static const struct caption_who whos[3] = {
	{ .id = "t:zoom", .name = "Zoom CC", .via = CAPTION_VIA_HTTP },
	{ .id = "t:stream", .name = "StreamText", .via = CAPTION_VIA_HTTP },
	{ .id = "p7", .name = "Browser CART", .via = CAPTION_VIA_BROWSER },
};

/* The next NUL-terminated field of r (copied into buf; NULL when empty). */
static const char *field(const uint8_t **p, size_t *n, char *buf, size_t cap)
{
	const uint8_t *z = memchr(*p, 0, *n);
	size_t l = z ? (size_t)(z - *p) : *n;
	size_t c = l < cap - 1 ? l : cap - 1;
	memcpy(buf, *p, c);
	buf[c] = '\0';
	*p += l + (z != NULL);
	*n -= l + (z != NULL);
	return c ? buf : NULL;
}

static void drain(caption_room *cr, uint64_t *last_seq)
{
	caption *c;
	while ((c = caption_room_poll(cr))) {
		const struct caption_view *v = caption_view(c);
		size_t len = strlen(v->text);
		if (!rs_utf8_valid(v->text, len) || v->seq <= *last_seq)
			abort();
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)v->text[i] < 0x20 || v->text[i] == 0x7f)
				abort(); /* no control character reaches listeners or exports */
		*last_seq = v->seq;
		json_decref(caption_journal_record(c));
		caption_unref(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	int err;
	caption_room *cr = caption_room_create("en", NULL, &err);
	if (!cr)
		abort();
	struct caption_speaker speaker = { .name = "Zoë Ndiaye", .group = "civil_society" };
	int64_t now = 1700000000000;
	uint64_t last_seq = 0;
	struct fz f = { data, size };
	const uint8_t *r;
	size_t n;
	while (fz_chunk(&f, &r, &n)) {
		if (n < 2)
			continue;
		int op = r[0] % 4;
		const struct caption_who *who = &whos[(r[1] & 3) % 3];
		const uint8_t *p = r + 2;
		size_t left = n - 2;
		char seq[32], lang[64], clang[64];
		struct caption_push push = { .seq = field(&p, &left, seq, sizeof seq),
					     .lang = field(&p, &left, lang, sizeof lang),
					     .content_language = field(&p, &left, clang, sizeof clang),
					     .body = left ? (const char *)p : NULL, .body_len = left };
		struct caption_http_req req = { .method = op == 1 ? "GET" : "POST", .seq_form = op == 1,
						.who = r[1] & 4 ? NULL : who, .push = push };
		struct caption_http_reply rep;
		switch (op) {
		case 0:
		case 1:
			caption_http(cr, &req, r[1] & 8 ? &speaker : NULL, now, &rep);
			if (rep.status < 200 || rep.status > 599 || !memchr(rep.body, 0, sizeof rep.body))
				abort();
			break;
		case 2:
			(void)!caption_room_input(cr, who, r[1] & 8 ? CAPTION_FINAL : CAPTION_PARTIAL,
						  push.lang, left ? (const char *)p : "", left,
						  r[1] & 16 ? &speaker : NULL, now);
			break;
		default:
			now += (int64_t)r[1] * 100;
			break;
		}
		caption_room_tick(cr, now);
		drain(cr, &last_seq);
		if (caption_room_live_changed(cr))
			rs_msg_unref(caption_room_live_msg(cr));
	}
	caption *back[64];
	size_t nb = caption_room_backlog(cr, now, back, RS_ARRAY_LEN(back));
	/* Finals in seq order, then the open partials in seq order. */
	for (size_t i = 1; i < nb && i < RS_ARRAY_LEN(back); i++) {
		const struct caption_view *p = caption_view(back[i - 1]), *v = caption_view(back[i]);
		if ((p->kind == v->kind && v->seq <= p->seq) ||
		    (p->kind == CAPTION_PARTIAL && v->kind == CAPTION_FINAL))
			abort();
	}
	caption_room_leave(cr, "t:zoom", now);
	caption_room_leave(cr, "p7", now);
	caption_room_tick(cr, now + 3600000);
	drain(cr, &last_seq);
	json_decref(caption_room_tracks_json(cr));
	caption_room_destroy(cr);
	return 0;
}
