/*
 * journal: the on-disk framing of a session journal (sans-IO).
 *
 * A journal file is a 16-byte header followed by records, appended in order:
 *
 *   header  = magic[8] "\x89RSJRNL\n" | version u32 LE (1) | crc32c(magic, version) u32 LE
 *   record  = length u32 LE | crc32c(length bytes, payload) u32 LE | payload[length]
 *
 * The payload is opaque here (the hub stores compact JSON objects). The CRC
 * covers the length field too, so a damaged length cannot pass as a shorter
 * valid record. The magic's high first byte and trailing newline catch files
 * mangled by 7-bit or line-ending conversions. A reader can therefore tell a
 * whole record from one cut short by a crash (torn) or damaged in place
 * (corrupt), and keeps only the valid prefix.
 *
 * Everything here works on caller memory: no files, no allocation, no clock.
 * jwriter.h holds the side that touches disks.
 */
#ifndef ROSTRUM_JOURNAL_H
#define ROSTRUM_JOURNAL_H

#include "util.h"

#include <stddef.h>
#include <stdint.h>

#define JOURNAL_HEADER_LEN 16
#define JOURNAL_VERSION 1
#define JOURNAL_FRAME_OVERHEAD 8           /* length + crc in front of each payload */
#define JOURNAL_MAX_RECORD (1u << 20)      /* payload bytes; larger records are refused */

enum journal_err {
	JOURNAL_OK = 0,         /* scan: every byte belongs to a whole record */
	JOURNAL_TORN = 1,       /* scan: the tail is a final record cut short or damaged (crash) */
	JOURNAL_CORRUPT = 2,    /* scan: a damaged record with more bytes after it */
	JOURNAL_STOPPED = 3,    /* scan: the callback asked to stop */
	JOURNAL_EBADHDR = -1,   /* scan: not a journal (magic or header checksum wrong) */
	JOURNAL_EVERSION = -2,  /* scan: a valid header of a version this build cannot read */
	JOURNAL_EEMPTY = -3,    /* encode: zero-length payload */
	JOURNAL_ETOOBIG = -4,   /* encode: payload over JOURNAL_MAX_RECORD */
	JOURNAL_ENOSPACE = -5,  /* encode: the output buffer is too small */
};

/*
 * Called once per whole record, in file order. payload points into the
 * scanned buffer (borrowed, valid during the call); offset is where the
 * record's frame starts. Return 0 to go on, anything else to stop the scan.
 */
typedef int (*journal_record_fn)(void *ctx, const uint8_t *payload, size_t len, size_t offset);

/*
 * CRC-32C (Castagnoli, the polynomial of RFC 3720 section 12.1), continuing
 * from crc (start with 0). Pure; crc32c("123456789") == 0xE3069283.
 */
uint32_t journal_crc32c(uint32_t crc, const void *data, size_t len);

/* Writes the version-1 file header (always the same 16 bytes) into out. */
void journal_header(uint8_t out[JOURNAL_HEADER_LEN]);

/* Bytes a payload of len bytes occupies once framed. */
size_t journal_frame_len(size_t len);

/*
 * Frames payload into out[0..cap): writes exactly journal_frame_len(len)
 * bytes and stores that count in *out_len. Returns JOURNAL_OK, or
 * JOURNAL_EEMPTY / JOURNAL_ETOOBIG / JOURNAL_ENOSPACE with out untouched.
 */
RS_MUST_CHECK int journal_encode(const void *payload, size_t len, uint8_t *out, size_t cap,
				 size_t *out_len);

/*
 * Walks a journal image buf[0..len) (header included) and calls fn for each
 * whole record until the first bad or incomplete one. Always sets *good_len to
 * the length of the valid prefix: 0 when not even the header is whole, else
 * the end of the last whole record (the header's end when there is none).
 * Truncating the file to *good_len leaves a clean journal.
 *
 * Returns JOURNAL_OK (len == *good_len; an empty buffer is a valid empty
 * journal), JOURNAL_TORN (the tail is an incomplete header or record, a final
 * record failing its checksum, or all zero bytes: what a crash mid-append
 * leaves), JOURNAL_CORRUPT (a record with a zero or over-limit length, or a
 * bad checksum, followed by more data: records after *good_len are lost to
 * this reader), JOURNAL_STOPPED (fn returned non-zero; *good_len is the end of
 * the record it was given), JOURNAL_EBADHDR or JOURNAL_EVERSION (*good_len 0;
 * do not modify such a file). fn may be NULL.
 */
RS_MUST_CHECK int journal_scan(const uint8_t *buf, size_t len, journal_record_fn fn, void *ctx,
			       size_t *good_len);

/*
 * Incremental reading, for a file read in pieces (recorder_scan_journal):
 * journal_check_header() checks the first JOURNAL_HEADER_LEN bytes
 * (JOURNAL_OK, JOURNAL_EBADHDR or JOURNAL_EVERSION). journal_next() looks at
 * the record starting at p with avail bytes in hand: JOURNAL_OK with *frame
 * its whole length (payload at p + JOURNAL_FRAME_OVERHEAD, *frame -
 * JOURNAL_FRAME_OVERHEAD bytes); JOURNAL_TORN when avail holds less than the
 * whole record (read more; at the end of the file it is a torn tail, and
 * *frame is then the length the record claims, so a reader knows how much to
 * buffer); JOURNAL_CORRUPT for a zero or over-limit length or a bad checksum.
 */
RS_MUST_CHECK int journal_check_header(const uint8_t hdr[JOURNAL_HEADER_LEN]);
RS_MUST_CHECK int journal_next(const uint8_t *p, size_t avail, size_t *frame);

/* A short English description of a journal_err code. */
const char *journal_strerror(int err);

#endif
