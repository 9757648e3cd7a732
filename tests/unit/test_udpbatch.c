/*
 * udpbatch on real loopback sockets: datagrams arrive whole and in order,
 * the queue sends itself when full, and a refused datagram is dropped and
 * counted while the rest of its batch still goes out.
 */
#include "check.h"
#include "udpbatch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

static int udp_socket(struct sockaddr_in *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
	CHECK(getsockname(fd, (struct sockaddr *)&a, &l) == 0);
	if (bound)
		*bound = a;
	return fd;
}

static void fill(uint8_t *p, size_t n, int k)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(k * 31 + i);
}

/* 150 datagrams of different sizes (all fit the receive buffer): three sendmmsg calls, all received intact and in order. */
static void test_order(struct udpbatch *b, int rx, const struct sockaddr_in *to)
{
	uint8_t out[1500], in[2000];
	for (int k = 0; k < 150; k++) {
		size_t n = 20 + (size_t)(k * 37) % 300;
		fill(out, n, k);
		udpbatch_add(b, (const struct sockaddr *)to, sizeof *to, out, n);
	}
	CHECK(b->calls == 2 && b->n == 150 - 2 * UDPBATCH_MAX); /* it sent itself when full */
	CHECK(udpbatch_flush(b) == 0 && b->n == 0 && b->sent == 150);
	int got = 0, intact = 0;
	for (int k = 0; k < 150; k++) {
		ssize_t r = recv(rx, in, sizeof in, 0);
		size_t n = 20 + (size_t)(k * 37) % 300;
		fill(out, n, k);
		got += r >= 0;
		intact += r == (ssize_t)n && memcmp(in, out, n) == 0;
	}
	CHECK(got == 150 && intact == 150);
}

/* A datagram the kernel refuses (port 0) is skipped; the others in its batch arrive. */
static void test_refused(struct udpbatch *b, int rx, const struct sockaddr_in *to)
{
	struct sockaddr_in bad = *to;
	bad.sin_port = 0;
	uint8_t p[100] = { 7 }, in[200];
	udpbatch_add(b, (const struct sockaddr *)to, sizeof *to, p, 10);
	udpbatch_add(b, (const struct sockaddr *)&bad, sizeof bad, p, 11);
	udpbatch_add(b, (const struct sockaddr *)to, sizeof *to, p, 12);
	uint64_t dropped = b->dropped;
	CHECK(udpbatch_flush(b) == 1 && b->dropped == dropped + 1);
	CHECK(recv(rx, in, sizeof in, 0) == 10 && recv(rx, in, sizeof in, 0) == 12);
	/* Too large, or an address that does not fit: dropped at once, nothing queued. */
	static uint8_t big[UDPBATCH_DGRAM + 1];
	udpbatch_add(b, (const struct sockaddr *)to, sizeof *to, big, sizeof big);
	CHECK(b->n == 0 && b->dropped == dropped + 2);
	CHECK(udpbatch_flush(b) == 0);
}

/* Sending faster than loopback drains never blocks; what is refused is counted. */
static void test_full(struct udpbatch *b, const struct sockaddr_in *to)
{
	int small = 4096;
	CHECK(setsockopt(b->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small) == 0);
	uint8_t p[1400] = { 1 };
	int dropped = 0;
	for (int round = 0; round < 20; round++) {
		for (int k = 0; k < UDPBATCH_MAX; k++)
			udpbatch_add(b, (const struct sockaddr *)to, sizeof *to, p, sizeof p);
		dropped += udpbatch_flush(b);
	}
	printf("full buffer: %d of %d dropped\n", dropped, 20 * UDPBATCH_MAX);
	CHECK(b->n == 0);
}

int main(void)
{
	static struct udpbatch b; /* about 100 KB: not on the stack */
	struct sockaddr_in to;
	int rx = udp_socket(&to), tx = udp_socket(NULL);
	udpbatch_init(&b, tx);
	test_order(&b, rx, &to);
	test_refused(&b, rx, &to);
	test_full(&b, &to);
	close(rx);
	close(tx);
	return check_done();
}
