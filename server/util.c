#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static enum rs_log_level log_level = RS_LOG_INFO;

static void oom(size_t n)
{
	fprintf(stderr, "rostrum: out of memory allocating %zu bytes\n", n);
	abort();
}

void *rs_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom(n);
	return p;
}

void *rs_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom(n * size);
	return p;
}

void *rs_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom(n);
	return q;
}

char *rs_strdup(const char *s)
{
	return rs_strndup(s, strlen(s));
}

char *rs_strndup(const char *s, size_t n)
{
	char *d = rs_malloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int64_t clock_ms(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rs_mono_ms(void)
{
	return clock_ms(CLOCK_MONOTONIC);
}

int64_t rs_wall_ms(void)
{
	return clock_ms(CLOCK_REALTIME);
}

void rs_log_set_level(enum rs_log_level lvl)
{
	log_level = lvl;
}

void rs_log(enum rs_log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	if (lvl > log_level)
		return;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s rostrum %s: ", stamp, names[lvl]);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Length of the UTF-8 sequence starting with byte c, or 0 when c cannot start one. */
static int utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

/* RFC 3629 section 4: rejects overlongs, surrogates and code points past U+10FFFF. */
bool rs_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		int n = utf8_seq_len(s[i]);
		if (n == 0 || (n == 1 && s[i] == 0) || i + (size_t)n > len)
			return false;
		for (int k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		if (n == 3 && s[i] == 0xe0 && s[i + 1] < 0xa0)
			return false;
		if (n == 3 && s[i] == 0xed && s[i + 1] >= 0xa0)
			return false;
		if (n == 4 && s[i] == 0xf0 && s[i + 1] < 0x90)
			return false;
		if (n == 4 && s[i] == 0xf4 && s[i + 1] >= 0x90)
			return false;
		i += (size_t)n;
	}
	return true;
}

bool rs_cp_is_control(const char *p, size_t n)
{
	unsigned char c = (unsigned char)p[0];
	if (n == 1)
		return c < 0x20 || c == 0x7f;
	return n == 2 && c == 0xc2 && (unsigned char)p[1] < 0xa0;
}

size_t rs_text_clean(char *s, size_t len)
{
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = (size_t)utf8_seq_len(c);
		bool broken = n == 0 || i + n > len; /* not UTF-8 after all: drop the byte */
		if (broken) {
			i++;
			continue;
		}
		if (c == '\t' || c == '\r' || c == '\n') {
			s[o++] = ' ';
		} else if (!rs_cp_is_control(s + i, n)) {
			memmove(s + o, s + i, n);
			o += n;
		}
		i += n;
	}
	return o;
}

void rs_strlcpy(char *dst, const char *src, size_t cap)
{
	if (!cap)
		return;
	size_t n = strlen(src);
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void buf_reserve(struct rs_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->p = rs_realloc(b->p, cap);
	b->cap = cap;
}

void rs_buf_append(struct rs_buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	if (n) /* data may be NULL for nothing (an empty HTTP body): memcpy must not see it */
		memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void rs_buf_printf(struct rs_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}
