/* RFC 4571 framing: packets come out whole whatever the split of the reads. */
#include "check.h"
#include "framing.h"

#include <stdlib.h>
#include <string.h>

static uint8_t got[64][FRAMING_MAX];
static size_t got_len[64];
static int n_got;

static void on_packet(void *ctx, uint8_t *pkt, size_t len)
{
	(void)ctx;
	if (n_got < 64) {
		memcpy(got[n_got], pkt, len);
		got_len[n_got++] = len;
	}
}

int main(void)
{
	/* Ten packets of different sizes in one stream. */
	uint8_t stream[20000];
	size_t total = 0, sizes[10];
	for (int i = 0; i < 10; i++) {
		sizes[i] = (size_t)(1 + i * 150);
		CHECK(framing_header(sizes[i], stream + total));
		for (size_t k = 0; k < sizes[i]; k++)
			stream[total + 2 + k] = (uint8_t)(i * 17 + k);
		total += 2 + sizes[i];
	}
	/* Every chunk size from 1 byte to the whole stream, and random splits. */
	srand(4571);
	for (int chunk = 0; chunk <= 40; chunk++) {
		struct framing f = { 0 };
		n_got = 0;
		size_t off = 0;
		while (off < total) {
			size_t n = chunk ? (size_t)chunk : 1 + (size_t)rand() % 700;
			if (n > total - off)
				n = total - off;
			CHECK(framing_input(&f, stream + off, n, on_packet, NULL) == (long)n);
			off += n;
		}
		CHECK(n_got == 10);
		for (int i = 0; i < 10 && i < n_got; i++)
			CHECK(got_len[i] == sizes[i] && got[i][0] == (uint8_t)(i * 17));
	}
	/* A frame longer than a datagram breaks the stream. */
	struct framing f = { 0 };
	uint8_t bad[] = { 0xff, 0xff, 1, 2, 3 };
	CHECK(framing_input(&f, bad, sizeof bad, on_packet, NULL) == -1);
	CHECK(framing_input(&f, stream, 10, on_packet, NULL) == -1);
	uint8_t hdr[2];
	CHECK(!framing_header(FRAMING_MAX + 1, hdr));
	return check_done();
}
