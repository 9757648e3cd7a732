/*
 * ICE-TCP streams (RFC 6544, framed as RFC 4571: a 2-byte length before each
 * packet) as the passive TCP port reads them. The first byte of an input sets
 * how the stream is cut into reads (1..64 bytes each, or as given); the
 * rest is the stream. It goes into a bare framer and into a tcplink table at
 * once; both must deliver the same packets, each at most FRAMING_MAX bytes.
 */
#include "framing.h"
#include "fuzz.h"
#include "tcplink.h"

#include <netinet/in.h>

struct got {
	size_t n, bytes;
	uint32_t sum;
};

static void on_frame(void *ctx, uint8_t *pkt, size_t len)
{
	struct got *g = ctx;
	if (len > FRAMING_MAX)
		abort();
	g->n++;
	g->bytes += len;
	for (size_t i = 0; i < len; i++)
		g->sum = g->sum * 31 + pkt[i];
}

static void on_link(void *ctx, uint8_t *pkt, size_t len, const struct sockaddr *from,
		    socklen_t from_len)
{
	if (!tcplink_is_address(from, from_len))
		abort(); /* packets come from the link's synthetic address */
	on_frame(ctx, pkt, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] % 65;
	const uint8_t *s = data + 1;
	size_t n = size - 1;
	static struct framing fr_store;
	static tcplink_table *t;
	struct framing *fr = &fr_store;
	memset(fr, 0, sizeof *fr);
	if (!t)
		t = tcplink_create(4); /* one table for the run: each input gets a fresh link */
	struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(5000) };
	int id = tcplink_open(t, 0, (struct sockaddr *)&peer, NULL);
	if (id < 0)
		abort();
	struct got a = { 0 }, b = { 0 };
	bool broken_a = false, broken_b = false;
	for (size_t off = 0; off < n;) {
		size_t len = step ? (n - off < step ? n - off : step) : n - off;
		if (!broken_a && framing_input(fr, s + off, len, on_frame, &a) < 0)
			broken_a = true;
		if (!broken_b && tcplink_input(t, id, (int64_t)off, s + off, len, on_link, &b) !=
					 TCPLINK_OK)
			broken_b = true;
		off += len;
	}
	if (a.n != b.n || a.bytes != b.bytes || a.sum != b.sum || broken_a != broken_b)
		abort();
	/* Packets queued back to the peer come out framed and whole. */
	uint8_t pkt[FRAMING_MAX];
	memset(pkt, 0xab, sizeof pkt);
	size_t want = n % (FRAMING_MAX + 1);
	if (tcplink_queue(t, id, pkt, want) == TCPLINK_OK) {
		size_t plen;
		const uint8_t *p = tcplink_pending(t, id, &plen);
		if (!p || plen != want + 2 || (size_t)(p[0] << 8 | p[1]) != want)
			abort();
		tcplink_consume(t, id, plen);
	}
	tcplink_close(t, id);
	if (tcplink_count(t) != 0)
		abort();
	return 0;
}
