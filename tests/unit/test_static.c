/* static: the web root read at start, answers by path, gzip and ETag revalidation. */
#include "check.h"
#include "static.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* The gunzipped body equals want. */
static int gunzip_equals(const unsigned char *gz, size_t len, const char *want)
{
	char out[8192];
	z_stream z;
	memset(&z, 0, sizeof z);
	inflateInit2(&z, 15 + 16);
	z.next_in = (unsigned char *)gz;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = sizeof out;
	int rc = inflate(&z, Z_FINISH);
	size_t n = z.total_out;
	inflateEnd(&z);
	return rc == Z_STREAM_END && n == strlen(want) && memcmp(out, want, n) == 0;
}

int main(void)
{
	char root[] = "/tmp/rostrum-static-XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	char p[256], big[4096] = "";
	for (int i = 0; i < 60; i++) /* 3,300 bytes */
		strcat(big, "export function f() { return 'the same line again'; }\n");
	snprintf(p, sizeof p, "%s/index.html", root);
	put(p, "<!doctype html><title>x</title>");
	snprintf(p, sizeof p, "%s/js", root);
	mkdir(p, 0700);
	snprintf(p, sizeof p, "%s/js/app.js", root);
	put(p, big);
	snprintf(p, sizeof p, "%s/secret", root); /* no known type: never served */
	put(p, "key");
	snprintf(p, sizeof p, "%s/.hidden.js", root);
	put(p, "x");

	char err[256];
	static_site *s = static_site_load(root, err, sizeof err);
	CHECK(s != NULL);
	size_t raw, gz;
	CHECK(static_site_count(s, &raw, &gz) == 2);
	CHECK(gz < raw);

	struct static_answer a;
	static_answer(s, "GET", "/", NULL, NULL, &a);
	CHECK(a.status == 200 && !a.gzip && a.etag);
	CHECK_STR(a.content_type, "text/html; charset=utf-8");

	static_answer(s, "GET", "/js/app.js", "br, gzip;q=0.8", NULL, &a);
	CHECK(a.status == 200 && a.gzip && a.body_len < strlen(big));
	CHECK(gunzip_equals(a.body, a.body_len, big));
	char etag[32];
	snprintf(etag, sizeof etag, "%s", a.etag);

	static_answer(s, "GET", "/js/app.js", "gzip;q=0", NULL, &a);
	CHECK(a.status == 200 && !a.gzip && a.body_len == strlen(big));
	static_answer(s, "GET", "/js/app.js", "deflate", NULL, &a);
	CHECK(!a.gzip);

	static_answer(s, "GET", "/js/app.js", "gzip", etag, &a);
	CHECK(a.status == 304 && a.head);
	char list[80];
	snprintf(list, sizeof list, "\"0000000000000000\", %s", etag);
	static_answer(s, "GET", "/js/app.js", NULL, list, &a);
	CHECK(a.status == 304);
	static_answer(s, "GET", "/js/app.js", NULL, "\"0000000000000000\"", &a);
	CHECK(a.status == 200);

	static_answer(s, "HEAD", "/js/app.js", NULL, NULL, &a);
	CHECK(a.status == 200 && a.head && a.body_len == strlen(big));
	static_answer(s, "POST", "/", NULL, NULL, &a);
	CHECK(a.status == 405);
	const char *missing[] = { "/secret", "/.hidden.js", "/../index.html", "/js/../index.html", "/js", "" };
	for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
		static_answer(s, "GET", missing[i], NULL, NULL, &a);
		CHECK(a.status == 404 && !a.etag);
	}
	static_site_destroy(s);

	CHECK(static_site_load("/nonexistent/rostrum", err, sizeof err) == NULL);
	CHECK(strstr(err, "web root") != NULL);
	snprintf(p, sizeof p, "rm -rf '%s'", root);
	CHECK(system(p) == 0);
	return check_done();
}
