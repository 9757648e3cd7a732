/*
 * HTTP requests to the API routes (health, metrics, caption URLs, transcript
 * exports, recordings) as net.c hands them over: the input is the request as
 * sent ("METHOD TARGET HTTP/1.1", headers, a blank line, the body); the
 * harness splits and percent-decodes path and query as libwebsockets does
 * (path at most 511 bytes, at most 16 query parts in 2 KiB) and calls
 * api_handle. "$MOD", "$CAP" and "$OBS" in the target become valid tokens of
 * room "plenary" (a moderator, a captioner, an observer).
 *
 * One hub serves the whole run, as one server serves many requests: caption
 * pushes accumulate in its rooms and show up in later exports. An input that
 * fails only after others replays with its predecessors (libFuzzer's
 * crash-*.log lists them); each response must be well-formed on its own.
 */
#include "api.h"
#include "fuzz.h"
#include "metrics.h"

#include <ctype.h>
#include <stdio.h>

static const uint8_t secret[TOKEN_SECRET_LEN] = "rostrum-fuzz-secret-rostrum-fuz";
static char *vars[6] = { "MOD", NULL, "CAP", NULL, "OBS", NULL };
static struct rs_config cfg;
static recorder *rec;
static hub *h;
static struct api_ctx api;
static int64_t now = 1700000000000;

static int fake_send(void *ctx, void *t, rs_msg *m)
{
	(void)ctx;
	(void)t;
	(void)m;
	return 0;
}

static void fake_close(void *ctx, void *t, int code, const char *reason)
{
	(void)ctx;
	(void)t;
	(void)code;
	(void)reason;
}

static void on_ack(void *waiter, int status)
{
	(void)waiter;
	(void)status;
}

static char *mint(enum rs_role role, const char *name)
{
	struct token_claims c = { .role = role };
	strcpy(c.room, "plenary");
	c.attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	if (!attrs_set_name(&c.attrs, name))
		abort();
	return token_issue(secret, &c);
}

void fz_setup(void)
{
	config_default(&cfg);
	char err[256];
	if (config_parse(&cfg, "{\"rooms\":[{\"id\":\"plenary\",\"open\":true},{\"id\":\"closed\"}]}",
			 err, sizeof err))
		abort();
	static const struct hub_io io = { .send = fake_send, .close = fake_close };
	rec = recorder_create("/nonexistent", NULL);
	h = hub_create(&cfg, secret, &io, rec);
	api = (struct api_ctx){ .hub = h, .started_ms = now, .loop_lag_ms = 0.5, .on_ack = on_ack };
	vars[1] = mint(RS_ROLE_MODERATOR, "Chair");
	vars[3] = mint(RS_ROLE_CAPTIONER, "CART");
	vars[5] = mint(RS_ROLE_OBSERVER, "Obs");
	/* A member in the room, so caption pushes find it running. */
	static int t;
	hub_conn *c = hub_conn_open(h, &t, now);
	const char *j = "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"P\"}";
	hub_conn_input(h, c, j, strlen(j), now);
}

static int hexval(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

/* Percent-decodes in[0..n) into out (cap bytes with the NUL); '+' is a space in queries. */
static size_t decode(const char *in, size_t n, char *out, size_t cap, bool query)
{
	size_t o = 0;
	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		int hi, lo;
		if (in[i] == '%' && i + 2 < n && (hi = hexval(in[i + 1])) >= 0 &&
		    (lo = hexval(in[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = query && in[i] == '+' ? ' ' : in[i];
		}
	}
	out[o] = '\0';
	return o;
}

struct headers {
	const char *text; /* "name: value\r\n" lines */
	char value[256];
};

static const char *header(void *ctx, const char *name)
{
	struct headers *hs = ctx;
	size_t nl = strlen(name);
	for (const char *l = hs->text; l && *l;) {
		const char *e = strstr(l, "\r\n");
		size_t ll = e ? (size_t)(e - l) : strlen(l);
		if (ll > nl && strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
			const char *v = l + nl + 1;
			while (*v == ' ')
				v++;
			snprintf(hs->value, sizeof hs->value, "%.*s", (int)(ll - (size_t)(v - l)), v);
			return hs->value;
		}
		l = e ? e + 2 : NULL;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	size_t len;
	char *text = fz_expand(data, size, (const char *const *)vars, 6, &len);
	char *head_end = strstr(text, "\r\n\r\n");
	const char *body = head_end ? head_end + 4 : "";
	size_t body_len = head_end ? len - (size_t)(body - text) : 0;
	if (head_end)
		head_end[2] = '\0'; /* headers end with their last CRLF */
	char *line_end = strstr(text, "\r\n");
	struct headers hs = { .text = line_end ? line_end + 2 : "" };
	if (line_end)
		*line_end = '\0';
	/* Request line: METHOD SP TARGET [SP VERSION]. */
	char method[16], path[512], args[2048];
	char *sp = strchr(text, ' ');
	if (!sp || sp == text || (size_t)(sp - text) >= sizeof method) {
		free(text);
		return 0;
	}
	snprintf(method, sizeof method, "%.*s", (int)(sp - text), text);
	char *target = sp + 1, *tend = strchr(target, ' ');
	size_t tlen = tend ? (size_t)(tend - target) : strlen(target);
	const char *q = memchr(target, '?', tlen);
	size_t plen = q ? (size_t)(q - target) : tlen;
	struct api_request req = { .method = method, .path = path, .header = header,
				   .header_ctx = &hs, .body = body_len ? body : NULL,
				   .body_len = body_len };
	if (plen >= sizeof path)
		strcpy(path, "/"); /* lws_hdr_copy refuses a longer path */
	else
		decode(target, plen, path, sizeof path, false);
	size_t used = 0;
	for (const char *a = q ? q + 1 : NULL; a && a < target + tlen && req.n_args < API_MAX_ARGS &&
					     used < sizeof args;) {
		const char *amp = memchr(a, '&', (size_t)(target + tlen - a));
		size_t al = amp ? (size_t)(amp - a) : (size_t)(target + tlen - a);
		req.args[req.n_args++] = args + used;
		used += decode(a, al, args + used, sizeof args - used, true) + 1;
		a = amp ? amp + 1 : NULL;
	}
	struct api_response resp = { 0 };
	now += 250;
	if (hub_next_deadline(h) <= now)
		hub_tick(h, now);
	api_handle(&api, &req, now, &resp);
	if (resp.status < 100 || resp.status > 599 || !resp.content_type ||
	    (!resp.body && !resp.file && !resp.export && !resp.deferred) ||
	    (resp.body && resp.body_len > 0 && memchr(resp.body, 0, resp.body_len)))
		abort(); /* every answer is a status, a type and a body, file or export */
	api_response_free(&resp);
	free(text);
	return 0;
}
