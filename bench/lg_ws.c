/*
 * lg_ws: see lg_ws.h. Frames from the client are masked with a fresh key per
 * frame, as browsers do; ping frames are answered with pong.
 */
#include "lg_ws.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void reserve(char **buf, size_t *cap, size_t need)
{
	if (*cap >= need)
		return;
	size_t c = *cap ? *cap : 1024;
	while (c < need)
		c *= 2;
	*buf = realloc(*buf, c);
	if (!*buf)
		abort();
	*cap = c;
}

static void queue_raw(struct lg_ws *ws, const void *data, size_t len)
{
	if (ws->woff == ws->wlen)
		ws->woff = ws->wlen = 0;
	reserve(&ws->wbuf, &ws->wcap, ws->wlen + len);
	memcpy(ws->wbuf + ws->wlen, data, len);
	ws->wlen += len;
}

int lg_ws_connect(struct lg_ws *ws, const struct sockaddr_in *src, const struct sockaddr_in *dst,
		  const char *host, const char *path, const char *subprotocol)
{
	memset(ws, 0, sizeof *ws);
	ws->host = host;
	ws->path = path;
	ws->subprotocol = subprotocol;
	ws->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ws->fd < 0)
		return -1;
	int one = 1;
	setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (src && bind(ws->fd, (const struct sockaddr *)src, sizeof *src) != 0)
		goto err;
	if (connect(ws->fd, (const struct sockaddr *)dst, sizeof *dst) != 0 && errno != EINPROGRESS)
		goto err;
	ws->state = LG_WS_CONNECTING;
	ws->mask_seed = (unsigned)ws->fd * 2654435761u;
	return ws->fd;
err:
	close(ws->fd);
	ws->fd = -1;
	ws->state = LG_WS_CLOSED;
	return -1;
}

static void queue_frame(struct lg_ws *ws, int opcode, const char *data, size_t len)
{
	uint8_t h[14];
	size_t n = 0;
	h[n++] = (uint8_t)(0x80 | opcode);
	if (len < 126) {
		h[n++] = (uint8_t)(0x80 | len);
	} else if (len < 65536) {
		h[n++] = 0x80 | 126;
		h[n++] = (uint8_t)(len >> 8);
		h[n++] = (uint8_t)len;
	} else {
		h[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	ws->mask_seed = ws->mask_seed * 1103515245u + 12345u;
	uint8_t mask[4] = { (uint8_t)(ws->mask_seed >> 24), (uint8_t)(ws->mask_seed >> 16),
			    (uint8_t)(ws->mask_seed >> 8), (uint8_t)ws->mask_seed };
	memcpy(h + n, mask, 4);
	n += 4;
	queue_raw(ws, h, n);
	size_t at = ws->wlen;
	queue_raw(ws, data, len);
	char *p = ws->wbuf + at;
	for (size_t i = 0; i < len; i++)
		p[i] ^= (char)mask[i & 3];
}

void lg_ws_send(struct lg_ws *ws, const char *text, size_t len)
{
	if (ws->state == LG_WS_CLOSED)
		return;
	queue_frame(ws, 1, text, len);
	if (ws->state == LG_WS_OPEN)
		(void)lg_ws_writable(ws);
}

static int flush(struct lg_ws *ws)
{
	while (ws->woff < ws->wlen) {
		ssize_t r = send(ws->fd, ws->wbuf + ws->woff, ws->wlen - ws->woff, MSG_NOSIGNAL);
		if (r > 0) {
			ws->woff += (size_t)r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return -1;
	}
	return 0;
}

int lg_ws_writable(struct lg_ws *ws)
{
	if (ws->state == LG_WS_CONNECTING) {
		int err = 0;
		socklen_t l = sizeof err;
		if (getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &err, &l) != 0 || err != 0)
			return -1;
		char req[512];
		int n = snprintf(req, sizeof req,
				 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
				 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
				 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n"
				 "Origin: http://%s\r\n\r\n", ws->path, ws->host, ws->subprotocol, ws->host);
		/* The upgrade goes before any frame queued meanwhile. */
		char *frames = NULL;
		size_t flen = ws->wlen - ws->woff;
		if (flen) {
			frames = malloc(flen);
			memcpy(frames, ws->wbuf + ws->woff, flen);
		}
		ws->wlen = ws->woff = 0;
		queue_raw(ws, req, (size_t)n);
		ws->state = LG_WS_UPGRADING;
		if (flush(ws) < 0) {
			free(frames);
			return -1;
		}
		ws->rlen = 0;
		if (frames) { /* kept aside until the 101 arrives */
			ws->woff = ws->wlen = 0;
			queue_raw(ws, frames, flen);
			free(frames);
		}
		return 0;
	}
	if (ws->state != LG_WS_OPEN)
		return 0;
	return flush(ws);
}

bool lg_ws_wants_write(const struct lg_ws *ws)
{
	return ws->state == LG_WS_CONNECTING || (ws->state == LG_WS_OPEN && ws->woff < ws->wlen);
}

/* Every whole frame in rbuf; returns -1 when the server closed. */
static int frames(struct lg_ws *ws, lg_ws_on_text cb, void *ctx)
{
	size_t off = 0;
	int rc = 0;
	while (ws->rlen - off >= 2) {
		uint8_t *p = (uint8_t *)ws->rbuf + off;
		size_t n = p[1] & 0x7f, h = 2;
		if (n == 126) {
			if (ws->rlen - off < 4)
				break;
			n = (size_t)p[2] << 8 | p[3];
			h = 4;
		} else if (n == 127) {
			if (ws->rlen - off < 10)
				break;
			n = 0;
			for (int i = 0; i < 8; i++)
				n = n << 8 | p[2 + i];
			h = 10;
		}
		if (ws->rlen - off < h + n)
			break;
		int op = p[0] & 0x0f;
		bool fin = p[0] & 0x80;
		char *msg = (char *)p + h;
		if ((op == 1 || op == 0) && (!fin || ws->flen)) {
			/* A fragment: gathered until the last one (section 5.4). */
			reserve(&ws->fbuf, &ws->fcap, ws->flen + n + 1);
			memcpy(ws->fbuf + ws->flen, msg, n);
			ws->flen += n;
			if (fin) {
				ws->fbuf[ws->flen] = '\0';
				cb(ctx, ws->fbuf, ws->flen);
				ws->flen = 0;
			}
		} else if (op == 1) {
			char save = msg[n];
			msg[n] = '\0';
			cb(ctx, msg, n);
			msg[n] = save;
		} else if (op == 9) {
			queue_frame(ws, 10, msg, n);
		} else if (op == 8) {
			ws->close_code = n >= 2 ? ((uint8_t)msg[0] << 8 | (uint8_t)msg[1]) : 1005;
			rc = -1;
			off += h + n;
			break;
		}
		off += h + n;
	}
	memmove(ws->rbuf, ws->rbuf + off, ws->rlen - off);
	ws->rlen -= off;
	return rc;
}

static int upgrade_answer(struct lg_ws *ws)
{
	char *end = memmem(ws->rbuf, ws->rlen, "\r\n\r\n", 4);
	if (!end)
		return ws->rlen > 8192 ? -1 : 0;
	if (ws->rlen < 12 || memcmp(ws->rbuf, "HTTP/1.1 101", 12) != 0)
		return -1;
	size_t head = (size_t)(end - ws->rbuf) + 4;
	memmove(ws->rbuf, ws->rbuf + head, ws->rlen - head);
	ws->rlen -= head;
	ws->state = LG_WS_OPEN;
	return 1;
}

int lg_ws_readable(struct lg_ws *ws, lg_ws_on_text cb, void *ctx)
{
	for (;;) {
		reserve(&ws->rbuf, &ws->rcap, ws->rlen + 65536 + 1);
		ssize_t r = recv(ws->fd, ws->rbuf + ws->rlen, ws->rcap - ws->rlen - 1, 0);
		if (r == 0)
			return -1;
		if (r < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
		ws->rlen += (size_t)r;
		if (ws->state == LG_WS_UPGRADING) {
			int u = upgrade_answer(ws);
			if (u < 0)
				return -1;
			if (u == 0)
				continue;
			if (flush(ws) < 0)
				return -1;
		}
		if (ws->state == LG_WS_OPEN && frames(ws, cb, ctx) < 0)
			return -1;
		if (ws->state == LG_WS_OPEN && flush(ws) < 0)
			return -1;
	}
}

void lg_ws_close(struct lg_ws *ws)
{
	if (ws->fd >= 0) {
		if (ws->state == LG_WS_OPEN) {
			static const uint8_t bye[] = { 0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8 };
			(void)!send(ws->fd, bye, sizeof bye, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
		close(ws->fd);
	}
	ws->fd = -1;
	ws->state = LG_WS_CLOSED;
	free(ws->rbuf);
	free(ws->wbuf);
	free(ws->fbuf);
	ws->rbuf = ws->wbuf = ws->fbuf = NULL;
	ws->flen = ws->fcap = 0;
	ws->rlen = ws->rcap = ws->wlen = ws->woff = ws->wcap = 0;
}
