/*
 * ICE-TCP links without sockets: synthetic 100::/64 addresses and their
 * generations, framed input from any split of the reads, the bounded
 * output buffer with partial writes and drops, the table limit, and the
 * ICE and idle deadlines on fake time.
 */
#include "check.h"
#include "tcplink.h"
#include "framing.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static struct sockaddr_in peer(int port)
{
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, "10.213.0.2", &s.sin_addr);
	return s;
}

/* What the packet callback saw. */
static struct {
	int n;
	size_t len[16];
	uint8_t first[16];
	struct sockaddr_in6 from[16];
} seen;

static void on_packet(void *ctx, uint8_t *pkt, size_t len, const struct sockaddr *from,
		      socklen_t from_len)
{
	(void)ctx;
	CHECK(from_len == sizeof(struct sockaddr_in6));
	if (seen.n < 16) {
		seen.len[seen.n] = len;
		seen.first[seen.n] = pkt[0];
		memcpy(&seen.from[seen.n], from, sizeof seen.from[0]);
		seen.n++;
	}
}

static struct sockaddr_in6 v6(const char *ip, int port)
{
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	inet_pton(AF_INET6, ip, &s.sin6_addr);
	return s;
}

/* Which addresses are link addresses at all (open or not). */
static void test_prefix(void)
{
	static const struct {
		const char *ip;
		bool link;
	} cases[] = {
		{ "100::", true },
		{ "100::1:0:0:7", true },
		{ "100::ffff:ffff:ffff:ffff", true },
		{ "100:0:0:1::", false },   /* 100::/64 only, not the rest of 100::/48 */
		{ "2001:db8::1", false },
		{ "::ffff:10.213.0.2", false },
		{ "::1", false },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		struct sockaddr_in6 s = v6(cases[i].ip, 9);
		CHECK(tcplink_is_address((struct sockaddr *)&s, sizeof s) == cases[i].link);
		CHECK(!tcplink_is_address((struct sockaddr *)&s, sizeof(struct sockaddr_in)));
	}
	struct sockaddr_in p = peer(9);
	CHECK(!tcplink_is_address((struct sockaddr *)&p, sizeof p));
	CHECK(!tcplink_is_address(NULL, 0));
}

/* Each link's address names it; a reused slot gets a new generation. */
static void test_addresses(void)
{
	tcplink_table *t = tcplink_create(4);
	struct sockaddr_in p1 = peer(50001), p2 = peer(50002);
	int a = tcplink_open(t, 0, (struct sockaddr *)&p1, "a");
	int b = tcplink_open(t, 0, (struct sockaddr *)&p2, "b");
	CHECK(a == 0 && b == 1 && tcplink_count(t) == 2);
	struct sockaddr_in6 sa, sb;
	CHECK(tcplink_address(t, a, &sa) && tcplink_address(t, b, &sb));
	CHECK(tcplink_is_address((struct sockaddr *)&sa, sizeof sa));
	CHECK(sa.sin6_port == p1.sin_port && sb.sin6_port == p2.sin_port);
	CHECK(memcmp(&sa.sin6_addr, &sb.sin6_addr, 16) != 0);
	CHECK(tcplink_lookup(t, (struct sockaddr *)&sa, sizeof sa) == a);
	CHECK(tcplink_lookup(t, (struct sockaddr *)&sb, sizeof sb) == b);
	CHECK_STR(tcplink_sock(t, b), "b");
	/* STUN responses report the real peer behind the synthetic address. */
	struct sockaddr_storage real;
	CHECK(tcplink_peer(t, (struct sockaddr *)&sb, sizeof sb, &real));
	CHECK(real.ss_family == AF_INET && memcmp(&real, &p2, sizeof p2) == 0);
	CHECK(!tcplink_peer(t, (struct sockaddr *)&p1, sizeof p1, &real));
	/* A wrong port, a short length, an IPv4 address: not a link. */
	struct sockaddr_in6 bad = sa;
	bad.sin6_port = htons(1);
	CHECK(tcplink_lookup(t, (struct sockaddr *)&bad, sizeof bad) == TCPLINK_E_STALE);
	CHECK(tcplink_lookup(t, (struct sockaddr *)&sa, sizeof(struct sockaddr_in)) ==
	      TCPLINK_E_STALE);
	CHECK(tcplink_lookup(t, (struct sockaddr *)&p1, sizeof p1) == TCPLINK_E_STALE);
	/* A slot index beyond the table. */
	bad = sa;
	bad.sin6_addr.s6_addr[15] = 200;
	CHECK(tcplink_lookup(t, (struct sockaddr *)&bad, sizeof bad) == TCPLINK_E_STALE);
	/* Closed, then reopened on the same slot by someone on the same port. */
	tcplink_close(t, a);
	CHECK(tcplink_lookup(t, (struct sockaddr *)&sa, sizeof sa) == TCPLINK_E_STALE);
	CHECK(tcplink_queue(t, a, (const uint8_t *)"x", 1) == TCPLINK_E_STALE);
	CHECK(tcplink_sock(t, a) == NULL && !tcplink_address(t, a, &bad));
	int c = tcplink_open(t, 0, (struct sockaddr *)&p1, "c");
	CHECK(c == a);
	CHECK(tcplink_lookup(t, (struct sockaddr *)&sa, sizeof sa) == TCPLINK_E_STALE);
	struct sockaddr_in6 sc;
	CHECK(tcplink_address(t, c, &sc) && tcplink_lookup(t, (struct sockaddr *)&sc, sizeof sc) == c);
	tcplink_close(t, c);
	tcplink_close(t, c); /* twice is harmless */
	CHECK(tcplink_count(t) == 1);
	tcplink_destroy(t);
}

/* Packets come out whole, from the link's address, however the reads split them. */
static void test_input(void)
{
	tcplink_table *t = tcplink_create(2);
	struct sockaddr_in p = peer(50010);
	int id = tcplink_open(t, 0, (struct sockaddr *)&p, NULL);
	struct sockaddr_in6 want;
	CHECK(tcplink_address(t, id, &want));
	uint8_t stream[4000];
	size_t total = 0;
	static const size_t sizes[] = { 20, 1, 1500, 0, 172, 99 };
	for (size_t i = 0; i < RS_ARRAY_LEN(sizes); i++) {
		CHECK(framing_header(sizes[i], stream + total));
		memset(stream + total + 2, (int)(i + 1), sizes[i]);
		total += 2 + sizes[i];
	}
	for (size_t chunk = 1; chunk <= 9; chunk++) {
		memset(&seen, 0, sizeof seen);
		for (size_t off = 0; off < total; off += chunk) {
			size_t n = chunk < total - off ? chunk : total - off;
			CHECK(tcplink_input(t, id, 5, stream + off, n, on_packet, NULL) == TCPLINK_OK);
		}
		CHECK(seen.n == 5); /* the empty frame carries nothing */
		CHECK(seen.len[2] == 1500 && seen.first[2] == 3 && seen.len[3] == 172);
		CHECK(memcmp(&seen.from[4], &want, sizeof want) == 0);
	}
	/* A frame over FRAMING_MAX breaks the link for good. */
	uint8_t bad[] = { 0x05, 0xdd, 0 };
	CHECK(tcplink_input(t, id, 6, bad, sizeof bad, on_packet, NULL) == TCPLINK_E_BROKEN);
	CHECK(tcplink_input(t, id, 6, stream, 22, on_packet, NULL) == TCPLINK_E_BROKEN);
	CHECK(tcplink_input(t, 1, 6, stream, 22, on_packet, NULL) == TCPLINK_E_STALE);
	tcplink_destroy(t);
}

/* The output buffer: framed, whole packets only, drops counted, partial writes resumed. */
static void test_output(void)
{
	tcplink_table *t = tcplink_create(1);
	int id = tcplink_open(t, 0, NULL, NULL);
	size_t n;
	CHECK(tcplink_pending(t, id, &n) == NULL && n == 0);
	uint8_t pkt[FRAMING_MAX + 1];
	memset(pkt, 0xa5, sizeof pkt);
	CHECK(tcplink_queue(t, id, pkt, FRAMING_MAX + 1) == TCPLINK_E_TOO_BIG);
	CHECK(tcplink_queue(t, id, pkt, 100) == TCPLINK_OK);
	const uint8_t *p = tcplink_pending(t, id, &n);
	CHECK(n == 102 && p[0] == 0 && p[1] == 100 && p[2] == 0xa5);
	/* Fill up: 1000-byte packets until one no longer fits. */
	int queued = 1;
	while (tcplink_queue(t, id, pkt, 1000) == TCPLINK_OK)
		queued++;
	CHECK(tcplink_dropped(t, id) == 1);
	p = tcplink_pending(t, id, &n);
	CHECK(n == 102 + (size_t)(queued - 1) * 1002 && n <= TCPLINK_OUT_CAP);
	CHECK(n + 1002 > TCPLINK_OUT_CAP);
	/* A partial write: the rest stays, in order. */
	tcplink_consume(t, id, 101);
	p = tcplink_pending(t, id, &n);
	CHECK(p[0] == 0xa5 && p[1] == 1000 >> 8 && p[2] == (1000 & 255));
	tcplink_consume(t, id, 1 + 1002);
	/* Room was made at the front: a new packet fits after compaction, and follows the rest. */
	CHECK(tcplink_queue(t, id, pkt, 1000) == TCPLINK_OK);
	size_t total = 0;
	while ((p = tcplink_pending(t, id, &n)) != NULL) {
		size_t step = n < 333 ? n : 333;
		total += step;
		tcplink_consume(t, id, step);
	}
	CHECK(total == (size_t)(queued - 1) * 1002);
	CHECK(tcplink_dropped(t, id) == 1);
	tcplink_destroy(t);
}

/* The table refuses links beyond its size and frees slots on close. */
static void test_limit(void)
{
	tcplink_table *t = tcplink_create(3);
	for (int i = 0; i < 3; i++)
		CHECK(tcplink_open(t, 0, NULL, NULL) == i);
	CHECK(tcplink_open(t, 0, NULL, NULL) == TCPLINK_E_FULL);
	tcplink_close(t, 1);
	CHECK(tcplink_open(t, 0, NULL, NULL) == 1);
	CHECK(tcplink_count(t) == 3);
	CHECK(strstr(tcplink_strerror(TCPLINK_E_FULL), "too many") != NULL);
	CHECK(strstr(tcplink_strerror(12345), "unknown") != NULL);
	tcplink_destroy(t); /* frees links still open */
}

/*
 * One address holds at most TCPLINK_PENDING_PER_PEER links waiting for ICE;
 * links that passed do not count, and other addresses are not affected.
 */
static void test_pending_per_peer(void)
{
	tcplink_table *t = tcplink_create(64);
	int ids[TCPLINK_PENDING_PER_PEER];
	for (int i = 0; i < TCPLINK_PENDING_PER_PEER; i++) {
		struct sockaddr_in p = peer(40000 + i);
		ids[i] = tcplink_open(t, 0, (struct sockaddr *)&p, NULL);
		CHECK(ids[i] >= 0);
	}
	struct sockaddr_in more = peer(41000), other = peer(41001);
	CHECK(tcplink_open(t, 0, (struct sockaddr *)&more, NULL) == TCPLINK_E_FULL);
	inet_pton(AF_INET, "10.213.0.3", &other.sin_addr);
	CHECK(tcplink_open(t, 0, (struct sockaddr *)&other, NULL) >= 0);
	CHECK(tcplink_queue(t, ids[0], (const uint8_t *)"ok", 2) == TCPLINK_OK); /* it passed ICE */
	CHECK(tcplink_open(t, 0, (struct sockaddr *)&more, NULL) >= 0);
	CHECK(tcplink_open(t, 0, (struct sockaddr *)&more, NULL) == TCPLINK_E_FULL);
	tcplink_destroy(t);
}

/* A link must pass ICE within TCPLINK_ICE_MS, then stay in touch within TCPLINK_IDLE_MS. */
static void test_deadlines(void)
{
	tcplink_table *t = tcplink_create(4);
	int ids[4];
	enum tcplink_expiry why[4];
	int silent = tcplink_open(t, 1000, NULL, NULL);
	int good = tcplink_open(t, 1000, NULL, NULL);
	int chatty = tcplink_open(t, 1000, NULL, NULL);
	uint8_t frame[] = { 0, 1, 0 };
	CHECK(tcplink_expired(t, 1000 + TCPLINK_ICE_MS - 1, ids, why, 4) == 0);
	/* Only what the server sends counts as passing: input alone does not. */
	CHECK(tcplink_input(t, chatty, 5000, frame, sizeof frame, on_packet, NULL) == TCPLINK_OK);
	CHECK(tcplink_queue(t, good, frame, 1) == TCPLINK_OK);
	size_t n = tcplink_expired(t, 1000 + TCPLINK_ICE_MS, ids, why, 4);
	CHECK(n == 2 && ids[0] == silent && ids[1] == chatty && why[0] == TCPLINK_NO_ICE);
	CHECK(tcplink_expired(t, 1000 + TCPLINK_ICE_MS, ids, NULL, 1) == 1 && ids[0] == silent);
	tcplink_close(t, silent);
	tcplink_close(t, chatty);
	/* The passed link lives while it hears from the browser. */
	CHECK(tcplink_input(t, good, 20000, frame, sizeof frame, on_packet, NULL) == TCPLINK_OK);
	CHECK(tcplink_expired(t, 20000 + TCPLINK_IDLE_MS - 1, ids, why, 4) == 0);
	n = tcplink_expired(t, 20000 + TCPLINK_IDLE_MS, ids, why, 4);
	CHECK(n == 1 && ids[0] == good && why[0] == TCPLINK_IDLE);
	tcplink_destroy(t);
}

int main(void)
{
	test_prefix();
	test_addresses();
	test_input();
	test_output();
	test_limit();
	test_pending_per_peer();
	test_deadlines();
	return check_done();
}
