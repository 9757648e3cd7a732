/*
 * Journal images as a restart finds them: whole, torn by a crash mid-append,
 * or damaged. The first byte picks the form: even, the rest is the file as
 * is; odd, the rest is a 2-byte cut offset then payload chunks (2-byte
 * length each) that the harness frames into a valid journal and then cuts at
 * that offset (0xffff: no cut), which reaches torn tails the fuzzer could
 * not checksum itself. Every image is scanned in memory, and when bit 1 of
 * the first byte is clear also recovered from a real file (journal_recover
 * truncates it); the kept prefix must then scan
 * clean with the same records, and re-framing each record must give back
 * its exact bytes.
 */
#include "fuzz.h"
#include "journal.h"
#include "jwriter.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[256];

struct seen {
	const uint8_t *base;
	size_t n;
	uint32_t sum;
};

static int on_record(void *ctx, const uint8_t *payload, size_t len, size_t offset)
{
	struct seen *s = ctx;
	s->n++;
	for (size_t i = 0; i < len; i++)
		s->sum = s->sum * 31 + payload[i];
	if (s->base) {
		uint8_t frame[JOURNAL_FRAME_OVERHEAD + 64];
		size_t fl;
		if (len <= 64 && (journal_encode(payload, len, frame, sizeof frame, &fl) != JOURNAL_OK ||
				  memcmp(frame, s->base + offset, fl) != 0))
			abort();
	}
	return 0;
}

void fz_setup(void)
{
	const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(path, sizeof path, "%s/rostrum-fuzz-journal-%d", dir, (int)getpid());
}

static uint8_t *build(const uint8_t *d, size_t n, size_t *out_len)
{
	struct fz f = { d, n };
	const uint8_t *c;
	size_t cl;
	if (f.n < 2)
		return NULL;
	size_t cut = (size_t)f.p[0] << 8 | f.p[1];
	f.p += 2;
	f.n -= 2;
	size_t cap = JOURNAL_HEADER_LEN + n * 5 + 16, len = JOURNAL_HEADER_LEN;
	uint8_t *img = malloc(cap);
	journal_header(img);
	while (fz_chunk(&f, &c, &cl)) {
		size_t fl;
		if (journal_encode(c, cl, img + len, cap - len, &fl) == JOURNAL_OK)
			len += fl;
	}
	*out_len = cut == 0xffff ? len : cut % (len + 1);
	return img;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	uint8_t *img;
	size_t len;
	if (data[0] & 1) {
		if (!(img = build(data + 1, size - 1, &len)))
			return 0;
	} else {
		len = size - 1;
		img = malloc(len ? len : 1);
		memcpy(img, data + 1, len);
	}
	struct seen a = { .base = img };
	size_t good;
	int rc = journal_scan(img, len, on_record, &a, &good);
	if (good > len || (rc == JOURNAL_OK && good != len))
		abort();
	if (rc >= 0) {
		struct seen b = { 0 };
		size_t good2;
		if (journal_scan(img, good, on_record, &b, &good2) != JOURNAL_OK || good2 != good ||
		    b.n != a.n || b.sum != a.sum)
			abort(); /* the kept prefix is a clean journal with the same records */
	}
	/* The same image as a file found at start (every other input: files are slow). */
	if (data[0] & 2) {
		free(img);
		return 0;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, img, len) != (ssize_t)len)
		abort();
	close(fd);
	struct seen c = { 0 };
	struct journal_recovery rec;
	int rr = journal_recover(path, on_record, &c, &rec);
	if (rr == JWRITER_OK) {
		struct stat st;
		if (stat(path, &st) != 0 || (size_t)st.st_size != rec.good_len || rec.records != a.n ||
		    c.sum != a.sum || (rc >= 0 && rec.good_len != good))
			abort();
	}
	unlink(path);
	char side[300];
	snprintf(side, sizeof side, "%s.corrupt-%zu", path, good);
	unlink(side);
	free(img);
	return 0;
}
