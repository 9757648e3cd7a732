/*
 * util: the few things every module needs — allocation that never returns
 * NULL, clocks, logging and small string helpers.
 *
 * Out-of-memory is the third error tier: there is no sensible recovery for a
 * conferencing hub that cannot allocate a few bytes, so the wrappers abort in
 * one place instead of threading ENOMEM through every caller.
 */
#ifndef ROSTRUM_UTIL_H
#define ROSTRUM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define RS_VERSION "0.1.0"
#define RS_MUST_CHECK __attribute__((warn_unused_result))
#define RS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation wrappers: abort with a message on failure, never return NULL. */
void *rs_malloc(size_t n);
void *rs_calloc(size_t n, size_t size);
void *rs_realloc(void *p, size_t n);
char *rs_strdup(const char *s);
char *rs_strndup(const char *s, size_t n);

/* Monotonic milliseconds, for timers and durations. */
int64_t rs_mono_ms(void);
/* Wall-clock milliseconds since the Unix epoch, for timestamps users see. */
int64_t rs_wall_ms(void);

enum rs_log_level { RS_LOG_ERR, RS_LOG_WARN, RS_LOG_INFO, RS_LOG_DEBUG };
/* Sets the most verbose level printed (default RS_LOG_INFO). */
void rs_log_set_level(enum rs_log_level lvl);
/* printf-style log line to stderr with level and timestamp. */
void rs_log(enum rs_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True when s is valid UTF-8 of exactly len bytes with no NUL. */
bool rs_utf8_valid(const char *s, size_t len);

/*
 * Cleans valid UTF-8 text in place for display and exports: TAB, CR and LF
 * become spaces; other C0 controls, DEL and C1 controls (U+0080-U+009F, where
 * CSI lives) are removed, so no terminal escape or control byte reaches a
 * roster, a WebVTT/SRT/TXT export or a log. Returns the new length (not
 * NUL-terminated by this function).
 */
size_t rs_text_clean(char *s, size_t len);
/* True when the code point of n bytes at p is a C0 control, DEL or a C1 control. */
bool rs_cp_is_control(const char *p, size_t n);

/* Copies at most cap-1 bytes of src into dst and NUL-terminates. */
void rs_strlcpy(char *dst, const char *src, size_t cap);

/* A growable byte buffer; the owner frees p. */
struct rs_buf {
	char *p;
	size_t len, cap;
};
/* Appends printf-formatted text, growing the buffer; keeps p NUL-terminated. */
void rs_buf_printf(struct rs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends n raw bytes; keeps p NUL-terminated. */
void rs_buf_append(struct rs_buf *b, const void *data, size_t n);

#endif
