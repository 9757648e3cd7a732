#include "journal.h"

#include <stdbool.h>
#include <string.h>

/* The first eight header bytes; see journal.h for why these. */
static const uint8_t journal_magic[8] = { 0x89, 'R', 'S', 'J', 'R', 'N', 'L', '\n' };

/* Reflected form of the Castagnoli polynomial 0x1EDC6F41 (RFC 3720 section 12.1). */
#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[256];
static bool crc_ready;

/*
 * Byte-at-a-time table. Records are at most 1 MiB and the writer process
 * computes them off the event loop, so a wider slicing table is not worth its
 * code.
 */
static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = true;
}

uint32_t journal_crc32c(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void journal_header(uint8_t out[JOURNAL_HEADER_LEN])
{
	memcpy(out, journal_magic, sizeof journal_magic);
	put_le32(out + 8, JOURNAL_VERSION);
	put_le32(out + 12, journal_crc32c(0, out, 12));
}

size_t journal_frame_len(size_t len)
{
	return JOURNAL_FRAME_OVERHEAD + len;
}

/* The record checksum covers the length field as stored, then the payload. */
static uint32_t record_crc(const uint8_t len_le[4], const void *payload, size_t len)
{
	return journal_crc32c(journal_crc32c(0, len_le, 4), payload, len);
}

int journal_encode(const void *payload, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	if (len == 0)
		return JOURNAL_EEMPTY;
	if (len > JOURNAL_MAX_RECORD)
		return JOURNAL_ETOOBIG;
	if (cap < journal_frame_len(len))
		return JOURNAL_ENOSPACE;
	put_le32(out, (uint32_t)len);
	put_le32(out + 4, record_crc(out, payload, len));
	memcpy(out + JOURNAL_FRAME_OVERHEAD, payload, len);
	*out_len = journal_frame_len(len);
	return JOURNAL_OK;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Checks the header in buf[0..len), len > 0. A short buffer that matches the
 * start of a version-1 header is a header cut by a crash right after the file
 * was created.
 */
static int check_header(const uint8_t *buf, size_t len)
{
	uint8_t want[JOURNAL_HEADER_LEN];
	journal_header(want);
	size_t magic_n = len < sizeof journal_magic ? len : sizeof journal_magic;
	if (memcmp(buf, journal_magic, magic_n) != 0)
		return JOURNAL_EBADHDR;
	if (len < JOURNAL_HEADER_LEN)
		return memcmp(buf, want, len) == 0 ? JOURNAL_TORN : JOURNAL_EVERSION;
	if (get_le32(buf + 12) != journal_crc32c(0, buf, 12))
		return JOURNAL_EBADHDR;
	if (get_le32(buf + 8) != JOURNAL_VERSION)
		return JOURNAL_EVERSION;
	return JOURNAL_OK;
}

/*
 * Validates the record starting at p with avail bytes left in the buffer.
 * On JOURNAL_OK, *frame is the whole record's length. A failure is torn
 * when nothing but zeros follows the damage, since that is what an
 * interrupted append (or a crash after the file size grew but before the
 * data reached the disk) leaves; otherwise it is corruption in place.
 */
static int check_record(const uint8_t *p, size_t avail, size_t *frame)
{
	if (avail < JOURNAL_FRAME_OVERHEAD)
		return JOURNAL_TORN;
	uint32_t len = get_le32(p);
	if (len == 0 || len > JOURNAL_MAX_RECORD)
		return all_zero(p, avail) ? JOURNAL_TORN : JOURNAL_CORRUPT;
	size_t n = journal_frame_len(len);
	if (n > avail)
		return JOURNAL_TORN;
	if (get_le32(p + 4) != record_crc(p, p + JOURNAL_FRAME_OVERHEAD, len))
		return all_zero(p + n, avail - n) ? JOURNAL_TORN : JOURNAL_CORRUPT;
	*frame = n;
	return JOURNAL_OK;
}

int journal_scan(const uint8_t *buf, size_t len, journal_record_fn fn, void *ctx, size_t *good_len)
{
	*good_len = 0;
	if (len == 0)
		return JOURNAL_OK;
	int st = check_header(buf, len);
	if (st != JOURNAL_OK)
		return st;
	size_t off = JOURNAL_HEADER_LEN;
	*good_len = off;
	while (off < len) {
		size_t frame = 0;
		st = check_record(buf + off, len - off, &frame);
		if (st != JOURNAL_OK)
			return st;
		const uint8_t *payload = buf + off + JOURNAL_FRAME_OVERHEAD;
		int stop = fn ? fn(ctx, payload, frame - JOURNAL_FRAME_OVERHEAD, off) : 0;
		off += frame;
		*good_len = off;
		if (stop)
			return JOURNAL_STOPPED;
	}
	return JOURNAL_OK;
}

int journal_check_header(const uint8_t hdr[JOURNAL_HEADER_LEN])
{
	return check_header(hdr, JOURNAL_HEADER_LEN);
}

int journal_next(const uint8_t *p, size_t avail, size_t *frame)
{
	*frame = 0;
	if (avail < JOURNAL_FRAME_OVERHEAD)
		return JOURNAL_TORN;
	uint32_t len = get_le32(p);
	if (len == 0 || len > JOURNAL_MAX_RECORD)
		return JOURNAL_CORRUPT;
	size_t n = journal_frame_len(len);
	if (n > avail) {
		*frame = n;
		return JOURNAL_TORN;
	}
	if (get_le32(p + 4) != record_crc(p, p + JOURNAL_FRAME_OVERHEAD, len))
		return JOURNAL_CORRUPT;
	*frame = n;
	return JOURNAL_OK;
}

const char *journal_strerror(int err)
{
	switch (err) {
	case JOURNAL_OK: return "ok";
	case JOURNAL_TORN: return "journal ends in a torn record";
	case JOURNAL_CORRUPT: return "journal has a corrupt record before its end";
	case JOURNAL_STOPPED: return "journal scan stopped by its caller";
	case JOURNAL_EBADHDR: return "not a journal file (bad header)";
	case JOURNAL_EVERSION: return "journal version not supported";
	case JOURNAL_EEMPTY: return "empty journal record";
	case JOURNAL_ETOOBIG: return "journal record too big";
	case JOURNAL_ENOSPACE: return "buffer too small for journal record";
	}
	return "unknown journal error";
}
