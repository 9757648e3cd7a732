/*
 * Shared by the harnesses: the libFuzzer entry points and ways to cut one
 * input into the several messages, datagrams or reads a parser sees.
 */
#ifndef ROSTRUM_FUZZ_H
#define ROSTRUM_FUZZ_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
/*
 * fuzz_common.c defines LLVMFuzzerInitialize for every harness: it quietens
 * the log (only errors) and then calls the harness's fz_setup(), if it has
 * one, to build what all its inputs share.
 */
void fz_setup(void) __attribute__((weak));

struct fz {
	const uint8_t *p;
	size_t n;
};

/* The next line (without its '\n'); false at the end. */
static inline bool fz_line(struct fz *f, const uint8_t **line, size_t *len)
{
	if (!f->n)
		return false;
	const uint8_t *nl = memchr(f->p, '\n', f->n);
	size_t l = nl ? (size_t)(nl - f->p) : f->n;
	*line = f->p;
	*len = l;
	f->p += l + (nl != NULL);
	f->n -= l + (nl != NULL);
	return true;
}

/* The next chunk: a 2-byte big-endian length then that many bytes (or what is left). */
static inline bool fz_chunk(struct fz *f, const uint8_t **chunk, size_t *len)
{
	if (f->n < 2)
		return false;
	size_t l = (size_t)f->p[0] << 8 | f->p[1];
	f->p += 2;
	f->n -= 2;
	l = l < f->n ? l : f->n;
	*chunk = f->p;
	*len = l;
	f->p += l;
	f->n -= l;
	return true;
}

/*
 * A NUL-terminated malloc'd copy of text with every "$NAME" of vars[2k]
 * replaced by vars[2k+1]: lets a corpus carry tokens the fuzzer cannot forge.
 */
static inline char *fz_expand(const uint8_t *text, size_t len, const char *const *vars,
			      size_t n_vars, size_t *out_len)
{
	struct rs_buf b = { 0 };
	for (size_t i = 0; i < len;) {
		size_t k;
		for (k = 0; k < n_vars; k += 2) {
			size_t vl = strlen(vars[k]);
			if (text[i] == '$' && len - i > vl && memcmp(text + i + 1, vars[k], vl) == 0)
				break;
		}
		if (k < n_vars) {
			rs_buf_append(&b, vars[k + 1], strlen(vars[k + 1]));
			i += 1 + strlen(vars[k]);
		} else {
			rs_buf_append(&b, text + i, 1);
			i++;
		}
	}
	rs_buf_append(&b, "", 1);
	*out_len = b.len - 1;
	return b.p;
}

#endif
