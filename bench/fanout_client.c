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

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
	int finals;
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

/* Sends one masked text frame (clients must mask, RFC 6455 section 5.3). */
static void send_text(int fd, const char *text)
{
	size_t n = strlen(text), h = 0;
	unsigned char frame[8192];
	frame[h++] = 0x81;
	if (n < 126) {
		frame[h++] = 0x80 | (unsigned char)n;
	} else {
		frame[h++] = 0x80 | 126;
		frame[h++] = (unsigned char)(n >> 8);
		frame[h++] = (unsigned char)n;
	}
	memset(frame + h, 0, 4); /* a zero mask leaves the payload as it is */
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
		die("connect");
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	const char *req = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rostrum.v1\r\n\r\n";
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		die("handshake");
	char head[1024];
	size_t got = 0;
	while (got < sizeof head - 1) { /* the 101 answer ends with an empty line */
		ssize_t r = read(fd, head + got, 1);
		if (r <= 0)
			die("handshake read");
		got++;
		if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
		fprintf(stderr, "handshake refused\n");
		exit(1);
	}
	return fd;
}

/* Handles whole frames in c->buf, timing each caption final into lat (when given). */
static void frames(struct conn *c, double *lat, size_t *n_lat)
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
		char save = msg[n];
		msg[n] = '\0';
		char *t = strstr(msg, "\"kind\":\"final\"") ? strstr(msg, "\"text\":\"") : NULL;
		if (t && lat)
			lat[(*n_lat)++] = (double)(now - strtoll(t + 8, NULL, 10)) / 1e6;
		if (t)
			c->finals++;
		msg[n] = save;
		off += h + n;
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
	int64_t now = now_ns();
	if (*sent < caps && now >= *next) {
		char msg[256];
		snprintf(msg, sizeof msg, "{\"type\":\"caption.final\",\"id\":%d,\"text\":\"%lld|"
			 "Caption line %d of the benchmark.\"}", *sent + 2, (long long)now_ns(), *sent);
		send_text(cap->fd, msg);
		(*sent)++;
		*next += (int64_t)(1e9 / rate);
	}
	int64_t wait = (*next - now_ns()) / 1000000;
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
		cs[i].fd = connect_ws(port);
		if (i < n)
			snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\","
				 "\"name\":\"Participant %d\"}", room, i);
		else
			snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\","
				 "\"token\":\"%s\"}", room, token);
		send_text(cs[i].fd, msg);
		fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	usleep(500000); /* let the last joins settle before timing */
	int sent = 0, done = 0;
	int64_t next = now_ns(), last_activity = now_ns();
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
			last_activity = now_ns();
		}
		if (sent == caps && now_ns() - last_activity > 10000000000LL) {
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
