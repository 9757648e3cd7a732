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

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* One masked text frame (a zero mask, RFC 6455 section 5.3). */
static void send_text(int fd, const char *text)
{
	size_t n = strlen(text), h = 0;
	unsigned char frame[1024];
	frame[h++] = 0x81;
	frame[h++] = 0x80 | (unsigned char)n; /* joins are short */
	memset(frame + h, 0, 4);
	h += 4;
	memcpy(frame + h, text, n);
	if (write(fd, frame, h + n) != (ssize_t)(h + n))
		die("write");
}

static int connect_ws(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return -1;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	const char *req = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rostrum.v1\r\n\r\n";
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return -1;
	char head[1024];
	size_t got = 0;
	while (got < sizeof head - 1) {
		ssize_t r = read(fd, head + got, 1);
		if (r <= 0)
			return -1;
		got++;
		if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void frames(struct conn *c)
{
	size_t off = 0;
	int64_t now = now_ns();
	while (c->len - off >= 2) {
		unsigned char *p = (unsigned char *)c->buf + off;
		size_t n = p[1] & 0x7f, h = 2;
		if (n == 126) {
			if (c->len - off < 4)
				break;
			n = (size_t)p[2] << 8 | p[3];
			h = 4;
		} else if (n == 127) {
			if (c->len - off < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | p[2 + i];
			h = 10;
		}
		if (c->len - off < h + n)
			break;
		char *msg = (char *)p + h;
		if ((p[0] & 0x0f) == 0x8) {
			c->closed = true;
			c->close_code = n >= 2 ? (unsigned char)msg[0] << 8 | (unsigned char)msg[1] : 1005;
		} else if (n > 20 && memmem(msg, n < 64 ? n : 64, "\"re\":1", 6) && c->join_ms < 0) {
			c->join_ms = (double)(now - c->sent_ns) / 1e6;
		} else if (memmem(msg, n < 40 ? n : 40, "\"roster.", 8)) {
			c->roster++;
		}
		off += h + n;
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
		cs[i].fd = connect_ws(port);
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
	int64_t t0 = now_ns();
	for (int i = 0; i < n; i++) { /* the burst: every join at once */
		if (cs[i].fd < 0)
			continue;
		snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\",\"name\":\"P%d\"}",
			 room, i);
		cs[i].sent_ns = now_ns();
		send_text(cs[i].fd, msg);
	}
	double burst_ms = (double)(now_ns() - t0) / 1e6;
	int64_t last_result = 0, deadline = now_ns() + 60000000000LL;
	struct epoll_event evs[512];
	for (;;) {
		int joined = 0, gone = 0;
		for (int i = 0; i < n; i++) {
			joined += cs[i].join_ms >= 0;
			gone += cs[i].closed;
		}
		int64_t now = now_ns();
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
