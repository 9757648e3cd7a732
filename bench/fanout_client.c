/*
 * fanout_client: the load side of the caption fan-out benchmark.
 *
 * Opens N WebSocket connections to a running server on loopback, joins them
 * to a room, then sends captions from one more connection (a captioner) at a
 * steady rate. Each caption's text starts with the send time (CLOCK_MONOTONIC,
 * ns); every participant's receipt is timed against it with one epoll loop, so
 * the client adds little delay of its own. Prints p50, p99 and max.
 *
 *   fanout_client PORT ROOM CAPTIONER_TOKEN [participants] [captions] [rate]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rawws.h"

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	int finals;
};

/* Handles whole frames in c->buf, timing each caption final into lat (when given). */
static void frames(struct conn *c, double *lat, size_t *n_lat)
{
	size_t off = 0, n;
	int64_t now = rawws_now_ns();
	int op;
	char *msg;
	while (rawws_next(c->buf, c->len, &off, &op, &msg, &n)) {
		char save = msg[n];
		msg[n] = '\0';
		char *t = strstr(msg, "\"kind\":\"final\"") ? strstr(msg, "\"text\":\"") : NULL;
		if (t && lat)
			lat[(*n_lat)++] = (double)(now - strtoll(t + 8, NULL, 10)) / 1e6;
		if (t)
			c->finals++;
		msg[n] = save;
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static int read_conn(struct conn *c, double *lat, size_t *n_lat)
{
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (r > 0) {
			c->len += (size_t)r;
			frames(c, lat, n_lat);
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sends the next caption when its time has come; returns ms until the one after. */
static int pace(struct conn *cap, int *sent, int caps, int64_t *next, double rate)
{
	int64_t now = rawws_now_ns();
	if (*sent < caps && now >= *next) {
		char msg[256];
		snprintf(msg, sizeof msg, "{\"type\":\"caption.final\",\"id\":%d,\"text\":\"%lld|"
			 "Caption line %d of the benchmark.\"}", *sent + 2, (long long)rawws_now_ns(), *sent);
		rawws_send_text(cap->fd, msg);
		(*sent)++;
		*next += (int64_t)(1e9 / rate);
	}
	int64_t wait = (*next - rawws_now_ns()) / 1000000;
	return *sent < caps ? (int)(wait < 0 ? 0 : wait) : 100;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: fanout_client PORT ROOM TOKEN [participants] [captions] [rate]\n");
		return 2;
	}
	int port = atoi(argv[1]);
	const char *room = argv[2], *token = argv[3];
	int n = argc > 4 ? atoi(argv[4]) : 1000, caps = argc > 5 ? atoi(argv[5]) : 200;
	double rate = argc > 6 ? atof(argv[6]) : 10;
	struct conn *cs = calloc((size_t)n + 1, sizeof *cs);
	double *lat = malloc(sizeof *lat * ((size_t)n + 1) * (size_t)caps);
	size_t n_lat = 0;
	int ep = epoll_create1(0);
	char msg[4096];
	for (int i = 0; i <= n; i++) {
		cs[i].fd = rawws_connect(port);
		if (cs[i].fd < 0)
			rawws_die("connect");
		if (i < n)
			snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\","
				 "\"name\":\"Participant %d\"}", room, i);
		else
			snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\","
				 "\"token\":\"%s\"}", room, token);
		rawws_send_text(cs[i].fd, msg);
		fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	usleep(500000); /* let the last joins settle before timing */
	int sent = 0, done = 0;
	int64_t next = rawws_now_ns(), last_activity = rawws_now_ns();
	struct epoll_event evs[256];
	while (done < n) {
		int timeout = pace(&cs[n], &sent, caps, &next, rate);
		int k = epoll_wait(ep, evs, 256, timeout);
		for (int e = 0; e < k; e++) {
			struct conn *c = &cs[evs[e].data.u32];
			int before = c->finals;
			double *into = evs[e].data.u32 < (uint32_t)n ? lat : NULL;
			if (read_conn(c, into, &n_lat) < 0) {
				fprintf(stderr, "connection %u closed\n", evs[e].data.u32);
				return 1;
			}
			if (evs[e].data.u32 < (uint32_t)n && before < caps && c->finals >= caps)
				done++;
			last_activity = rawws_now_ns();
		}
		if (sent == caps && rawws_now_ns() - last_activity > 10000000000LL) {
			fprintf(stderr, "timed out: %d of %d participants got every caption\n", done, n);
			return 1;
		}
	}
	qsort(lat, n_lat, sizeof *lat, cmp);
	printf("participants=%d captions=%d rate=%.0f/s deliveries=%zu\n", n, caps, rate, n_lat);
	printf("latency_ms p50=%.2f p90=%.2f p99=%.2f max=%.2f\n", lat[n_lat / 2],
	       lat[n_lat * 9 / 10], lat[n_lat * 99 / 100], lat[n_lat - 1]);
	return 0;
}
