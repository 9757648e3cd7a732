#ifndef ROSTRUM_STATIC_H
#define ROSTRUM_STATIC_H
/*
 * static: the web client's files, read once at start, each kept as is and
 * gzip-compressed, with a content hash as its ETag. Answers GET and HEAD with
 * 200 (compressed when the browser accepts gzip) or 304 when the browser's
 * If-None-Match names the current hash; "Cache-Control: no-cache" makes
 * browsers revalidate, so a new server never runs with yesterday's modules.
 * Nothing here touches the disk after static_site_load().
 */
#include <stdbool.h>
#include <stddef.h>
#include <libwebsockets.h>

typedef struct static_site static_site;

/* Reads every servable file under root (subfolders too). NULL, with err set, on failure. */
static_site *static_site_load(const char *root, char *err, size_t errlen);
void static_site_destroy(static_site *s);
/* How many files were loaded, and their total sizes (raw, and as sent compressed). */
size_t static_site_count(const static_site *s, size_t *raw_bytes, size_t *gz_bytes);

/* The answer to one request, sans-IO: what net.c's callback writes. */
struct static_answer {
	int status;              /* 200, 304, 404, 405 */
	const char *content_type;
	const char *etag;        /* quoted, NULL for errors */
	const unsigned char *body;
	size_t body_len;         /* the entity length (also for HEAD) */
	bool gzip;               /* body is the gzip encoding */
	bool head;               /* send headers only */
};

/* Looks the request up; accept_encoding and if_none_match may be NULL. */
void static_answer(const static_site *s, const char *method, const char *path,
		   const char *accept_encoding, const char *if_none_match,
		   struct static_answer *out);

/* Per-transaction state for the lws protocol below. */
struct static_tx {
	struct static_answer a;
};

/* The lws callback of the "rostrum-static" protocol; site is the loaded site. */
int static_http(const static_site *site, struct lws *wsi, enum lws_callback_reasons reason,
		struct static_tx *tx, void *in, size_t len);

#endif
