/*
 * Tests for the journal framing: checksums, encoding limits, and what the
 * scanner makes of torn tails, flipped bits, zero fills and odd lengths.
 * Usage: test_journal [seed]
 */
#include "../../server/journal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(e)                                                                   \
	do {                                                                       \
		if (!(e)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #e); \
			return 1;                                                  \
		}                                                                  \
	} while (0)

static uint64_t seed;

/* splitmix64: small, seedable, good enough to pick sizes and offsets. */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* A journal image built in memory, with the offset where each record ends. */
struct image {
	uint8_t *buf;
	size_t len;
	size_t ends[64];
	size_t n;
};

static void fill_payload(uint8_t *p, size_t len, unsigned tag)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)('a' + (tag * 7 + i) % 26);
}

/* Builds header + one record per size; payload i is fill_payload(.., i). */
static void image_build(struct image *im, const size_t *sizes, size_t n)
{
	size_t total = JOURNAL_HEADER_LEN;
	for (size_t i = 0; i < n; i++)
		total += journal_frame_len(sizes[i]);
	im->buf = malloc(total);
	im->len = JOURNAL_HEADER_LEN;
	im->n = 0;
	journal_header(im->buf);
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = malloc(sizes[i]);
		size_t out = 0;
		fill_payload(p, sizes[i], (unsigned)i);
		if (journal_encode(p, sizes[i], im->buf + im->len, total - im->len, &out) != JOURNAL_OK)
			abort();
		free(p);
		im->len += out;
		im->ends[im->n++] = im->len;
	}
}

/* Collects what the scanner delivers and checks each payload against its tag. */
struct seen {
	size_t n;
	size_t bad;
	size_t stop_after;  /* 0: never stop */
};

static int on_record(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	struct seen *s = ctx;
	uint8_t *want = malloc(len);
	fill_payload(want, len, (unsigned)s->n);
	if (memcmp(want, payload, len) != 0 || offset < JOURNAL_HEADER_LEN)
		s->bad++;
	free(want);
	s->n++;
	return s->stop_after && s->n == s->stop_after;
}

/* The valid prefix a scanner must report for an image cut to `cut` bytes. */
static size_t expected_good(const struct image *im, size_t cut, size_t *records)
{
	size_t good = cut >= JOURNAL_HEADER_LEN ? JOURNAL_HEADER_LEN : 0;
	*records = 0;
	for (size_t i = 0; i < im->n && im->ends[i] <= cut; i++) {
		good = im->ends[i];
		(*records)++;
	}
	return good;
}

static int test_crc_vectors(void)
{
	/* "123456789" is the usual check value; the rest are RFC 3720 section B.4. */
	static const struct {
		const char *name;
		int kind;
		uint32_t want;
	} cases[] = {
		{ "check", 0, 0xE3069283u },
		{ "32 zeros", 1, 0x8A9136AAu },
		{ "32 ones", 2, 0x62A8AB43u },
		{ "incrementing", 3, 0x46DD794Eu },
		{ "decrementing", 4, 0x113FDB5Cu },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t b[32];
		size_t n = 32;
		for (int k = 0; k < 32; k++)
			b[k] = cases[i].kind == 1 ? 0 : cases[i].kind == 2 ? 0xff
			       : cases[i].kind == 3 ? (uint8_t)k : (uint8_t)(31 - k);
		if (cases[i].kind == 0) {
			memcpy(b, "123456789", 9);
			n = 9;
		}
		uint32_t got = journal_crc32c(0, b, n);
		if (got != cases[i].want)
			fprintf(stderr, "crc %s: got %08x\n", cases[i].name, got);
		CHECK(got == cases[i].want);
		/* Continuation: two halves give the same result as one pass. */
		CHECK(journal_crc32c(journal_crc32c(0, b, n / 2), b + n / 2, n - n / 2) == got);
	}
	return 0;
}

static int test_header(void)
{
	uint8_t h[JOURNAL_HEADER_LEN];
	size_t good = 99;
	journal_header(h);
	CHECK(h[0] == 0x89 && memcmp(h + 1, "RSJRNL\n", 7) == 0);
	CHECK(h[8] == JOURNAL_VERSION && h[9] == 0 && h[10] == 0 && h[11] == 0);
	CHECK(journal_scan(h, sizeof h, NULL, NULL, &good) == JOURNAL_OK);
	CHECK(good == JOURNAL_HEADER_LEN);
	CHECK(journal_scan(h, 0, NULL, NULL, &good) == JOURNAL_OK && good == 0);

	uint8_t v2[JOURNAL_HEADER_LEN];
	memcpy(v2, h, sizeof h);
	v2[8] = 2;
	uint32_t c = journal_crc32c(0, v2, 12);
	for (int i = 0; i < 4; i++)
		v2[12 + i] = (uint8_t)(c >> (8 * i));
	CHECK(journal_scan(v2, sizeof v2, NULL, NULL, &good) == JOURNAL_EVERSION && good == 0);

	static const char text[] = "{\"type\":\"caption\"}\n";
	CHECK(journal_scan((const uint8_t *)text, sizeof text - 1, NULL, NULL, &good) == JOURNAL_EBADHDR);
	CHECK(good == 0);
	return 0;
}

static int test_encode_limits(void)
{
	static const struct {
		size_t len, cap;
		int want;
	} cases[] = {
		{ 0, 64, JOURNAL_EEMPTY },
		{ 1, 9, JOURNAL_OK },
		{ 1, 8, JOURNAL_ENOSPACE },
		{ 56, 64, JOURNAL_OK },
		{ 57, 64, JOURNAL_ENOSPACE },
		{ JOURNAL_MAX_RECORD, JOURNAL_MAX_RECORD + 8, JOURNAL_OK },
		{ JOURNAL_MAX_RECORD + 1, JOURNAL_MAX_RECORD + 9, JOURNAL_ETOOBIG },
	};
	uint8_t *payload = calloc(1, JOURNAL_MAX_RECORD + 1);
	uint8_t *out = malloc(JOURNAL_MAX_RECORD + 16);
	int rc = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !rc; i++) {
		size_t n = 12345;
		memset(out, 0xEE, 16);
		int got = journal_encode(payload, cases[i].len, out, cases[i].cap, &n);
		if (got != cases[i].want) {
			fprintf(stderr, "encode case %zu: got %d (%s)\n", i, got, journal_strerror(got));
			rc = 1;
		} else if (got == JOURNAL_OK && n != cases[i].len + JOURNAL_FRAME_OVERHEAD) {
			rc = 1;
		} else if (got != JOURNAL_OK && (n != 12345 || out[0] != 0xEE)) {
			fprintf(stderr, "encode case %zu touched its outputs on error\n", i);
			rc = 1;
		}
	}
	free(payload);
	free(out);
	CHECK(rc == 0);
	return 0;
}

static const size_t small_sizes[] = { 1, 2, 17, 5, 64, 3, 200, 1 };

static int test_roundtrip(void)
{
	struct image im;
	image_build(&im, small_sizes, sizeof small_sizes / sizeof small_sizes[0]);
	struct seen s = { 0 };
	size_t good = 0;
	int st = journal_scan(im.buf, im.len, on_record, &s, &good);
	free(im.buf);
	CHECK(st == JOURNAL_OK);
	CHECK(good == im.len);
	CHECK(s.n == im.n && s.bad == 0);
	return 0;
}

/* Every possible crash point: the scanner keeps exactly the whole records. */
static int test_torn_every_offset(void)
{
	struct image im;
	image_build(&im, small_sizes, sizeof small_sizes / sizeof small_sizes[0]);
	int rc = 0;
	for (size_t cut = 0; cut <= im.len && !rc; cut++) {
		struct seen s = { 0 };
		size_t good = 0, records = 0;
		size_t want_good = expected_good(&im, cut, &records);
		int st = journal_scan(im.buf, cut, on_record, &s, &good);
		bool boundary = cut == 0 || want_good == cut;
		int want_st = boundary ? JOURNAL_OK : JOURNAL_TORN;
		if (st != want_st || good != want_good || s.n != records || s.bad) {
			fprintf(stderr, "cut %zu: status %d good %zu records %zu\n", cut, st, good, s.n);
			rc = 1;
		}
	}
	free(im.buf);
	CHECK(rc == 0);
	return 0;
}

/* Any single flipped bit loses the record it hits and everything after, nothing before. */
static int test_bit_flips(void)
{
	struct image im;
	image_build(&im, small_sizes, sizeof small_sizes / sizeof small_sizes[0]);
	int rc = 0;
	for (size_t bit = 0; bit < im.len * 8 && !rc; bit++) {
		im.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		struct seen s = { 0 };
		size_t good = 0, records = 0;
		int st = journal_scan(im.buf, im.len, on_record, &s, &good);
		size_t byte = bit / 8;
		if (byte < JOURNAL_HEADER_LEN) {
			if ((st != JOURNAL_EBADHDR && st != JOURNAL_EVERSION) || good != 0 || s.n)
				rc = 1;
		} else {
			/* The prefix up to the damaged record survives. */
			size_t want_good = expected_good(&im, byte, &records);
			if (st == JOURNAL_OK || good != want_good || s.n != records || s.bad)
				rc = 1;
		}
		if (rc)
			fprintf(stderr, "bit %zu: status %d good %zu records %zu\n", bit, st, good, s.n);
		im.buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(im.buf);
	CHECK(rc == 0);
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * Hand-made tails after two good records: what lands after good data decides
 * torn (crash leftovers) versus corrupt (damage with data after it).
 */
static int test_odd_tails(void)
{
	static const struct {
		const char *name;
		uint32_t len_field;   /* written as the next record's length */
		size_t extra;         /* bytes after the length field */
		uint8_t fill;         /* value of those bytes */
		int want;
	} cases[] = {
		{ "zero fill", 0, 100, 0x00, JOURNAL_TORN },
		{ "zero length then data", 0, 100, 0x41, JOURNAL_CORRUPT },
		{ "over max length", JOURNAL_MAX_RECORD + 1, 100, 0x41, JOURNAL_CORRUPT },
		{ "huge length", 0xffffffffu, 4, 0x41, JOURNAL_CORRUPT },
		{ "length past end", 500, 100, 0x41, JOURNAL_TORN },
		{ "bad crc last record", 20, 24, 0x41, JOURNAL_TORN },
		{ "bad crc then zeros", 20, 60, 0x00, JOURNAL_TORN },
		{ "bad crc then data", 20, 60, 0x41, JOURNAL_CORRUPT },
	};
	const size_t two[] = { 10, 30 };
	int rc = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0] && !rc; i++) {
		struct image im;
		image_build(&im, two, 2);
		size_t base = im.len;
		im.buf = realloc(im.buf, base + 4 + cases[i].extra);
		put32(im.buf + base, cases[i].len_field);
		memset(im.buf + base + 4, cases[i].fill, cases[i].extra);
		if (!strncmp(cases[i].name, "bad crc", 7))
			put32(im.buf + base + 4, 0x12345678u);  /* a checksum that cannot match */
		struct seen s = { 0 };
		size_t good = 0;
		int st = journal_scan(im.buf, base + 4 + cases[i].extra, on_record, &s, &good);
		if (st != cases[i].want || good != base || s.n != 2) {
			fprintf(stderr, "tail '%s': status %d (%s) good %zu\n", cases[i].name, st,
				journal_strerror(st), good);
			rc = 1;
		}
		free(im.buf);
	}
	CHECK(rc == 0);
	return 0;
}

static int test_max_record(void)
{
	const size_t sizes[] = { 3, JOURNAL_MAX_RECORD, 4 };
	struct image im;
	image_build(&im, sizes, 3);
	struct seen s = { 0 };
	size_t good = 0;
	CHECK(journal_scan(im.buf, im.len, on_record, &s, &good) == JOURNAL_OK);
	CHECK(s.n == 3 && s.bad == 0 && good == im.len);
	/* One more byte claimed than allowed: refused even though the bytes are there. */
	size_t at = im.ends[0];
	put32(im.buf + at, JOURNAL_MAX_RECORD + 1);
	s = (struct seen){ 0 };
	CHECK(journal_scan(im.buf, im.len, on_record, &s, &good) == JOURNAL_CORRUPT);
	CHECK(good == at && s.n == 1);
	free(im.buf);
	return 0;
}

static int test_stop(void)
{
	struct image im;
	image_build(&im, small_sizes, sizeof small_sizes / sizeof small_sizes[0]);
	struct seen s = { .stop_after = 3 };
	size_t good = 0;
	int st = journal_scan(im.buf, im.len, on_record, &s, &good);
	free(im.buf);
	CHECK(st == JOURNAL_STOPPED);
	CHECK(s.n == 3 && good == im.ends[2]);
	return 0;
}

static int test_strerror(void)
{
	static const int codes[] = { JOURNAL_OK, JOURNAL_TORN, JOURNAL_CORRUPT, JOURNAL_STOPPED,
				     JOURNAL_EBADHDR, JOURNAL_EVERSION, JOURNAL_EEMPTY,
				     JOURNAL_ETOOBIG, JOURNAL_ENOSPACE };
	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		CHECK(strcmp(journal_strerror(codes[i]), "unknown journal error") != 0);
	CHECK(strcmp(journal_strerror(42), "unknown journal error") == 0);
	return 0;
}

/*
 * Random images, cut at a random point and hit by a random burst of up to
 * four flipped bytes: the scanner never reports more than the undamaged
 * whole records, and never fewer than the records ending before the damage.
 */
static int test_random(void)
{
	rnd_state = seed;
	for (int iter = 0; iter < 300; iter++) {
		size_t sizes[40];
		size_t n = 1 + rnd() % 40;
		for (size_t i = 0; i < n; i++)
			sizes[i] = 1 + (rnd() % 8 == 0 ? rnd() % 5000 : rnd() % 120);
		struct image im;
		image_build(&im, sizes, n);
		size_t cut = rnd() % (im.len + 1);
		size_t dmg = cut > JOURNAL_HEADER_LEN ? JOURNAL_HEADER_LEN + rnd() % (cut - JOURNAL_HEADER_LEN) : cut;
		size_t burst = 1 + rnd() % 4;
		for (size_t k = 0; k < burst && dmg + k < cut; k++)
			im.buf[dmg + k] ^= (uint8_t)(1 + rnd() % 255);
		size_t records = 0;
		size_t floor = expected_good(&im, dmg < cut ? dmg : cut, &records);
		struct seen s = { 0 };
		size_t good = 0;
		int st = journal_scan(im.buf, cut, on_record, &s, &good);
		free(im.buf);
		int ok = s.bad == 0 && good == floor && s.n == records &&
			 (st == JOURNAL_OK) == (good == cut);
		if (!ok) {
			fprintf(stderr, "random iteration %d: status %d good %zu want %zu (seed %" PRIu64 ")\n",
				iter, st, good, floor, seed);
			return 1;
		}
	}
	return 0;
}

/*
 * journal_next() over the same images, fed as a reader would: every record
 * of a whole image is OK with its frame, every prefix that cuts a record is
 * TORN with the frame it claims (once the length is in), and a flipped
 * payload bit is CORRUPT.
 */
static int test_incremental(void)
{
	static const size_t sizes[] = { 1, 7, 100, 4096, 65536, 3 };
	struct image im;
	image_build(&im, sizes, 6);
	CHECK(journal_check_header(im.buf) == JOURNAL_OK);
	size_t off = JOURNAL_HEADER_LEN;
	for (size_t i = 0; i < im.n; i++) {
		size_t frame = 0;
		CHECK(journal_next(im.buf + off, im.len - off, &frame) == JOURNAL_OK);
		CHECK(off + frame == im.ends[i]);
		for (size_t cut = 0; cut < frame; cut += 1 + cut / 3) {
			size_t f2 = 1;
			CHECK(journal_next(im.buf + off, cut, &f2) == JOURNAL_TORN);
			CHECK(cut < JOURNAL_FRAME_OVERHEAD ? f2 == 0 : f2 == frame);
		}
		off += frame;
	}
	CHECK(off == im.len);
	im.buf[JOURNAL_HEADER_LEN + JOURNAL_FRAME_OVERHEAD] ^= 1;
	size_t frame;
	CHECK(journal_next(im.buf + JOURNAL_HEADER_LEN, im.len, &frame) == JOURNAL_CORRUPT);
	memset(im.buf + JOURNAL_HEADER_LEN, 0, 4); /* zero length */
	CHECK(journal_next(im.buf + JOURNAL_HEADER_LEN, im.len, &frame) == JOURNAL_CORRUPT);
	im.buf[9] ^= 1;
	CHECK(journal_check_header(im.buf) == JOURNAL_EBADHDR);
	free(im.buf);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} tests[] = {
	{ "crc_vectors", test_crc_vectors },
	{ "header", test_header },
	{ "encode_limits", test_encode_limits },
	{ "roundtrip", test_roundtrip },
	{ "torn_every_offset", test_torn_every_offset },
	{ "bit_flips", test_bit_flips },
	{ "odd_tails", test_odd_tails },
	{ "max_record", test_max_record },
	{ "stop", test_stop },
	{ "incremental", test_incremental },
	{ "strerror", test_strerror },
	{ "random", test_random },
};

int main(int argc, char **argv)
{
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5eed0001ull;
	int passed = 0, failed = 0;
	for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		if (tests[i].fn() == 0) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "FAIL %s (seed %" PRIu64 ")\n", tests[i].name, seed);
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed != 0;
}
