/* A minimal check harness: counts passes and failures, prints the closing line. */
#ifndef ROSTRUM_CHECK_H
#define ROSTRUM_CHECK_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed, check_failed;

#define CHECK(expr)                                                                     \
	do {                                                                            \
		if (expr) {                                                             \
			check_passed++;                                                 \
		} else {                                                                \
			check_failed++;                                                 \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
		}                                                                       \
	} while (0)

#define CHECK_STR(a, b)                                                                 \
	do {                                                                            \
		const char *a_ = (a), *b_ = (b);                                        \
		if (a_ && b_ && strcmp(a_, b_) == 0) {                                  \
			check_passed++;                                                 \
		} else {                                                                \
			check_failed++;                                                 \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		}                                                                       \
	} while (0)

/* A whole file in memory (malloc'd, *len bytes), or NULL when it cannot be opened. */
static inline uint8_t *check_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
	*len = fread(buf, 1, n > 0 ? (size_t)n : 0, f);
	fclose(f);
	return buf;
}

/* The amplitude of freq (Hz) in x[0..n) sampled at rate, by the Goertzel recurrence. */
static inline double check_tone_amp(const float *x, size_t n, double freq, double rate)
{
	double c = 2 * cos(2 * 3.14159265358979323846 * freq / rate), s1 = 0, s2 = 0;
	for (size_t i = 0; i < n; i++) {
		double s0 = x[i] + c * s1 - s2;
		s2 = s1;
		s1 = s0;
	}
	double power = s1 * s1 + s2 * s2 - c * s1 * s2;
	return 2 * sqrt(power > 0 ? power : 0) / (double)n;
}

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}

#endif
