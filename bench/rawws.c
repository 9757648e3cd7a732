#include "rawws.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int64_t rawws_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void rawws_die(const char *what)
{
	perror(what);
	exit(1);
}

/* Reads the 101 answer up to its empty line, a byte at a time (it is short). */
static int read_upgrade(int fd)
{
	char head[1024];
	size_t got = 0;
	while (got < sizeof head - 1) {
		if (read(fd, head + got, 1) <= 0)
			return -1;
		got++;
		if (got >= 4 && memcmp(head + got - 4, "\r\n\r\n", 4) == 0)
			break;
	}
	return strncmp(head, "HTTP/1.1 101", 12) == 0 ? 0 : -1;
}

int rawws_connect(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		goto fail;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	const char *req = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
			  "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
			  "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: rostrum.v1\r\n\r\n";
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req) || read_upgrade(fd) != 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

/* Clients must mask (RFC 6455 section 5.3); a zero mask leaves the payload as it is. */
void rawws_send_text(int fd, const char *text)
{
	size_t n = strlen(text), h = 0;
	unsigned char frame[8 + 65535];
	if (n > 65535)
		rawws_die("frame too long");
	frame[h++] = 0x81;
	if (n < 126) {
		frame[h++] = 0x80 | (unsigned char)n;
	} else {
		frame[h++] = 0x80 | 126;
		frame[h++] = (unsigned char)(n >> 8);
		frame[h++] = (unsigned char)n;
	}
	memset(frame + h, 0, 4);
	h += 4;
	memcpy(frame + h, text, n);
	if (write(fd, frame, h + n) != (ssize_t)(h + n))
		rawws_die("write");
}

int rawws_next(char *buf, size_t len, size_t *off, int *opcode, char **payload, size_t *n)
{
	size_t left = len - *off, h = 2, m;
	unsigned char *p = (unsigned char *)buf + *off;
	if (left < 2)
		return 0;
	m = p[1] & 0x7f;
	if (m == 126) {
		if (left < 4)
			return 0;
		m = (size_t)p[2] << 8 | p[3];
		h = 4;
	} else if (m == 127) {
		if (left < 10)
			return 0;
		m = 0;
		for (int i = 0; i < 8; i++)
			m = m << 8 | p[2 + i];
		h = 10;
	}
	if (left < h || left - h < m)
		return 0;
	*opcode = p[0] & 0x0f;
	*payload = (char *)p + h;
	*n = m;
	*off += h + m;
	return 1;
}
