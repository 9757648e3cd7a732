/*
 * storm_client: the load side of the join storm benchmark (join_storm.py).
 *
 * Opens N WebSocket connections to a running server on loopback, then sends
 * every `join` back to back and times each one's result with one epoll loop,
 * so the client adds little delay of its own (a Python client of thousands
 * of sockets measures itself more than the server). Keeps reading for
 * SETTLE seconds after the last result, counting roster messages and server
 * closes. Prints one JSON line.
 *
 *   storm_client PORT ROOM N [SETTLE_S]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rawws.h"

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	int64_t sent_ns;
	double join_ms;   /* < 0 until the result arrives */
	int roster;       /* roster messages received */
	bool closed;      /* the server sent a close frame or the socket ended */
	int close_code;
};

static void frames(struct conn *c)
{
	size_t off = 0, n;
	int64_t now = rawws_now_ns();
	int op;
	char *msg;
	while (rawws_next(c->buf, c->len, &off, &op, &msg, &n)) {
		if (op == 0x8) {
			c->closed = true;
			c->close_code = n >= 2 ? (unsigned char)msg[0] << 8 | (unsigned char)msg[1] : 1005;
		} else if (n > 20 && memmem(msg, n < 64 ? n : 64, "\"re\":1", 6) && c->join_ms < 0) {
			c->join_ms = (double)(now - c->sent_ns) / 1e6;
		} else if (memmem(msg, n < 40 ? n : 40, "\"roster.", 8)) {
			c->roster++;
		}
	}
	memmove(c->buf, c->buf + off, c->len - off);
	c->len -= off;
}

static void read_conn(struct conn *c)
{
	for (;;) {
		if (c->cap - c->len < 65536) {
			c->cap = c->cap * 2 + 65536;
			c->buf = realloc(c->buf, c->cap);
		}
		ssize_t r = read(c->fd, c->buf + c->len, c->cap - c->len - 1);
		if (r > 0) {
			c->len += (size_t)r;
			frames(c);
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->closed = true;
		return;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: storm_client PORT ROOM N [SETTLE_S]\n");
		return 2;
	}
	int port = atoi(argv[1]), n = atoi(argv[3]);
	const char *room = argv[2];
	double settle = argc > 4 ? atof(argv[4]) : 2;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct conn *cs = calloc((size_t)n, sizeof *cs);
	int ep = epoll_create1(0), refused = 0;
	for (int i = 0; i < n; i++) {
		cs[i].join_ms = -1;
		cs[i].fd = rawws_connect(port);
		if (cs[i].fd < 0) {
			refused++;
			cs[i].closed = true;
			continue;
		}
		fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	fprintf(stderr, "connected %d\n", n - refused);
	/* STORM_PAUSE_MS: a pause before the burst (to attach a profiler to the join phase alone). */
	const char *pause = getenv("STORM_PAUSE_MS");
	usleep((useconds_t)(pause ? atoi(pause) : 300) * 1000);
	char msg[256];
	int64_t t0 = rawws_now_ns();
	for (int i = 0; i < n; i++) { /* the burst: every join at once */
		if (cs[i].fd < 0)
			continue;
		snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\",\"name\":\"P%d\"}",
			 room, i);
		cs[i].sent_ns = rawws_now_ns();
		rawws_send_text(cs[i].fd, msg);
	}
	double burst_ms = (double)(rawws_now_ns() - t0) / 1e6;
	int64_t last_result = 0, deadline = rawws_now_ns() + 60000000000LL;
	struct epoll_event evs[512];
	for (;;) {
		int joined = 0, gone = 0;
		for (int i = 0; i < n; i++) {
			joined += cs[i].join_ms >= 0;
			gone += cs[i].closed;
		}
		int64_t now = rawws_now_ns();
		if (joined + gone >= n && !last_result)
			last_result = now;
		if ((last_result && now - last_result > (int64_t)(settle * 1e9)) || now > deadline)
			break;
		int k = epoll_wait(ep, evs, 512, 100);
		for (int e = 0; e < k; e++) {
			struct conn *c = &cs[evs[e].data.u32];
			read_conn(c);
			if (c->closed)
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		}
	}
	double *lat = malloc(sizeof *lat * (size_t)n);
	size_t nl = 0;
	int dropped = 0, codes4001 = 0;
	long roster = 0;
	for (int i = 0; i < n; i++) {
		if (cs[i].join_ms >= 0)
			lat[nl++] = cs[i].join_ms;
		if (cs[i].closed && cs[i].fd >= 0) {
			dropped++;
			codes4001 += cs[i].close_code == 4001;
		}
		roster += cs[i].roster;
	}
	qsort(lat, nl, sizeof *lat, cmp);
	printf("{\"clients\": %d, \"joined\": %zu, \"refused\": %d, \"dropped\": %d, "
	       "\"closed_4001\": %d, \"burst_send_ms\": %.1f, \"join_p50_ms\": %.1f, "
	       "\"join_p99_ms\": %.1f, \"join_max_ms\": %.1f, \"roster_msgs_per_member\": %.1f}\n",
	       n, nl, refused, dropped, codes4001, burst_ms, nl ? lat[nl / 2] : -1.0,
	       nl ? lat[nl * 99 / 100] : -1.0, nl ? lat[nl - 1] : -1.0, (double)roster / n);
	return 0;
}
