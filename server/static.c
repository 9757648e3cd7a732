#include "static.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define STATIC_MAX_FILES 256
#define STATIC_MAX_FILE (4u << 20)  /* a client file larger than this is a mistake */
#define STATIC_MAX_DEPTH 4

/* Each body sits LWS_PRE bytes into its allocation, so lws_write() can take it as it is. */
struct static_file {
	char *path;              /* "/js/app.js" */
	const char *type;
	unsigned char *raw, *gz; /* gz NULL when compressing does not pay */
	size_t raw_len, gz_len;
	char etag[24];           /* "\"" + 16 hex + "\"" */
};

struct static_site {
	struct static_file files[STATIC_MAX_FILES];
	size_t n;
};

static const struct { const char *ext, *type; } types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".webmanifest", "application/manifest+json" },
	{ ".wav", "audio/wav" },
};

static const char *type_of(const char *name)
{
	const char *dot = strrchr(name, '.');
	for (size_t i = 0; dot && i < RS_ARRAY_LEN(types); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}

/* Compressed images and sounds gain nothing from gzip. */
static bool compressible(const char *type)
{
	return strncmp(type, "text/", 5) == 0 || strstr(type, "json") || strstr(type, "svg");
}

/* gzip (RFC 1952) of buf at the best level; NULL when it would not be smaller. */
static unsigned char *gzip_of(const unsigned char *buf, size_t len, size_t *out_len)
{
	z_stream z;
	memset(&z, 0, sizeof z);
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	size_t cap = deflateBound(&z, (uLong)len);
	unsigned char *mem = malloc(LWS_PRE + cap), *out = mem ? mem + LWS_PRE : NULL;
	z.next_in = (unsigned char *)buf;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	int rc = out ? deflate(&z, Z_FINISH) : Z_MEM_ERROR;
	*out_len = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END || *out_len >= len) {
		free(mem);
		return NULL;
	}
	return out;
}

/* The ETag: the first 8 bytes of the content's SHA-256, in hex, quoted. */
static void etag_of(const unsigned char *buf, size_t len, char out[24])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL);
	char *p = out;
	*p++ = '"';
	for (int i = 0; i < 8; i++)
		p += sprintf(p, "%02x", md[i]);
	*p++ = '"';
	*p = '\0';
}

static int read_all(const char *file, unsigned char **buf, size_t *len)
{
	FILE *f = fopen(file, "rb");
	if (!f)
		return -1;
	struct stat st;
	if (fstat(fileno(f), &st) || st.st_size > (off_t)STATIC_MAX_FILE) {
		fclose(f);
		errno = EFBIG;
		return -1;
	}
	*len = (size_t)st.st_size;
	unsigned char *mem = malloc(LWS_PRE + *len);
	*buf = mem ? mem + LWS_PRE : NULL;
	size_t got = mem ? fread(*buf, 1, *len, f) : 0;
	fclose(f);
	if (got != *len) {
		free(mem);
		*buf = NULL;
		return -1;
	}
	return 0;
}

static int add_file(static_site *s, const char *file, const char *url, const char *type,
		    char *err, size_t errlen)
{
	if (s->n == STATIC_MAX_FILES) {
		snprintf(err, errlen, "more than %d files in the web root", STATIC_MAX_FILES);
		return -1;
	}
	struct static_file *f = &s->files[s->n];
	if (read_all(file, &f->raw, &f->raw_len)) {
		snprintf(err, errlen, "cannot read %s: %s", file, strerror(errno));
		return -1;
	}
	f->path = rs_strdup(url);
	f->type = type;
	if (compressible(type))
		f->gz = gzip_of(f->raw, f->raw_len, &f->gz_len);
	etag_of(f->raw, f->raw_len, f->etag);
	s->n++;
	return 0;
}

/* Walks dir (url is its path on the site); skips dot files and unknown types. */
static int walk(static_site *s, const char *dir, const char *url, int depth, char *err,
		size_t errlen)
{
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "cannot open the web root %s: %s", dir, strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "node_modules") == 0)
			continue;
		char file[1024], sub[512];
		snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
		snprintf(sub, sizeof sub, "%s/%s", url, e->d_name);
		struct stat st;
		if (stat(file, &st))
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth < STATIC_MAX_DEPTH)
				rc = walk(s, file, sub, depth + 1, err, errlen);
		} else if (S_ISREG(st.st_mode) && type_of(e->d_name)) {
			rc = add_file(s, file, sub, type_of(e->d_name), err, errlen);
		}
	}
	closedir(d);
	return rc;
}

static_site *static_site_load(const char *root, char *err, size_t errlen)
{
	static_site *s = rs_calloc(1, sizeof *s);
	if (walk(s, root, "", 0, err, errlen)) {
		static_site_destroy(s);
		return NULL;
	}
	return s;
}

void static_site_destroy(static_site *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->files[i].path);
		free(s->files[i].raw ? s->files[i].raw - LWS_PRE : NULL);
		free(s->files[i].gz ? s->files[i].gz - LWS_PRE : NULL);
	}
	free(s);
}

size_t static_site_count(const static_site *s, size_t *raw_bytes, size_t *gz_bytes)
{
	*raw_bytes = *gz_bytes = 0;
	for (size_t i = 0; i < s->n; i++) {
		*raw_bytes += s->files[i].raw_len;
		*gz_bytes += s->files[i].gz ? s->files[i].gz_len : s->files[i].raw_len;
	}
	return s->n;
}

/* Whether a comma-separated header list accepts token (a q-value of 0 refuses it). */
static bool header_lists(const char *list, const char *token)
{
	size_t tl = strlen(token);
	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t item = strcspn(p, ",");
		if (strncasecmp(p, token, tl) == 0 && (p[tl] == ',' || p[tl] == ';' || p[tl] == ' ' ||
						       !p[tl])) {
			const char *q = strstr(p, "q=");
			return !q || q >= p + item || strtod(q + 2, NULL) > 0;
		}
		p += item;
	}
	return false;
}

/* If-None-Match: "*" or a list of entity tags, weak ones (W/) compared weakly. */
static bool etag_matches(const char *inm, const char *etag)
{
	if (!inm)
		return false;
	if (strcmp(inm, "*") == 0)
		return true;
	size_t el = strlen(etag);
	for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag))
		if (p[el] == ',' || p[el] == ' ' || !p[el])
			return true;
	return false;
}

static const struct static_file *find(const static_site *s, const char *path)
{
	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->files[i].path, path) == 0)
			return &s->files[i];
	return NULL;
}

void static_answer(const static_site *s, const char *method, const char *path,
		   const char *accept_encoding, const char *if_none_match,
		   struct static_answer *out)
{
	memset(out, 0, sizeof *out);
	out->content_type = "text/plain; charset=utf-8";
	bool head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		out->status = 405;
		out->body = (const unsigned char *)"method not allowed\n";
		out->body_len = strlen((const char *)out->body);
		return;
	}
	const struct static_file *f = find(s, path);
	if (!f) {
		out->status = 404;
		out->body = (const unsigned char *)"not found\n";
		out->body_len = strlen((const char *)out->body);
		out->head = head;
		return;
	}
	out->content_type = f->type;
	out->etag = f->etag;
	out->head = head;
	if (etag_matches(if_none_match, f->etag)) {
		out->status = 304;
		out->head = true;
		return;
	}
	out->status = 200;
	out->gzip = f->gz && accept_encoding && header_lists(accept_encoding, "gzip");
	out->body = out->gzip ? f->gz : f->raw;
	out->body_len = out->gzip ? f->gz_len : f->raw_len;
}

/* ---- lws: the callback net.c mounts at "/" -------------------------------- */

static const char *copy_hdr(struct lws *wsi, enum lws_token_indexes tok, char *buf, int cap)
{
	return lws_hdr_copy(wsi, buf, cap, tok) > 0 ? buf : NULL;
}

/*
 * The whole body goes out at once, from the request's own callback (lws
 * keeps what the socket does not take yet): lws 4.1 parses a pipelined
 * request as soon as this one is read, so an answer spread over writable
 * callbacks could be interleaved with the next one's.
 */
static int write_body(struct lws *wsi, const struct static_answer *a)
{
	unsigned char small[LWS_PRE + 64];
	unsigned char *body = (unsigned char *)a->body;
	if (a->status != 200) { /* the short error texts live without headroom */
		memcpy(small + LWS_PRE, a->body, a->body_len);
		body = small + LWS_PRE;
	}
	return lws_write(wsi, body, a->body_len, LWS_WRITE_HTTP_FINAL) < (int)a->body_len ? -1 : 0;
}

static int send_headers(struct lws *wsi, struct static_tx *tx)
{
	unsigned char buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start,
			*end = buf + sizeof buf - 1;
	const struct static_answer *a = &tx->a;
	if (lws_add_http_header_status(wsi, (unsigned int)a->status, &p, end) ||
	    (a->status != 304 &&
	     (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
					   (const unsigned char *)a->content_type,
					   (int)strlen(a->content_type), &p, end) ||
	      lws_add_http_header_content_length(wsi, a->body_len, &p, end))))
		return -1;
	if (a->etag &&
	    (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ETAG, (const unsigned char *)a->etag,
					  (int)strlen(a->etag), &p, end) ||
	     lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					  (const unsigned char *)"no-cache", 8, &p, end) ||
	     lws_add_http_header_by_name(wsi, (const unsigned char *)"vary:",
					 (const unsigned char *)"Accept-Encoding", 15, &p, end)))
		return -1;
	if (a->gzip && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_ENCODING,
						    (const unsigned char *)"gzip", 4, &p, end))
		return -1;
	if (a->status == 304 && lws_add_http_header_content_length(wsi, 0, &p, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	if (!a->head && a->status != 304 && write_body(wsi, a))
		return -1;
	/* lws sends what the socket did not take before it reads the next request. */
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int start(const static_site *site, struct lws *wsi, struct static_tx *tx)
{
	char path[512], ae[256], inm[256];
	const char *method = "GET";
	memset(tx, 0, sizeof *tx);
	if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_GET_URI) <= 0) {
		if (lws_hdr_copy(wsi, path, sizeof path, WSI_TOKEN_HEAD_URI) > 0)
			method = "HEAD";
		else {
			method = "POST"; /* any other method: 405 */
			rs_strlcpy(path, "/", sizeof path);
		}
	}
	static_answer(site, method, path, copy_hdr(wsi, WSI_TOKEN_HTTP_ACCEPT_ENCODING, ae, sizeof ae),
		      copy_hdr(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH, inm, sizeof inm), &tx->a);
	return send_headers(wsi, tx);
}

int static_http(const static_site *site, struct lws *wsi, enum lws_callback_reasons reason,
		struct static_tx *tx, void *in, size_t len)
{
	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return start(site, wsi, tx);
	case LWS_CALLBACK_HTTP_BODY:
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return 0; /* a POST to a file was answered 405 already; its body is dropped */
	default:
		return lws_callback_http_dummy(wsi, reason, tx, in, len);
	}
}
