/*
 * lg_ws: a minimal non-blocking WebSocket client (RFC 6455) for the load
 * generator: one TCP socket, the HTTP upgrade with a subprotocol, masked text
 * frames out, text frames in. The caller owns the epoll loop: it calls
 * lg_ws_writable() when the socket may be written and lg_ws_readable() when
 * it may be read, and asks lg_ws_wants_write() which events to watch.
 */
#ifndef LG_WS_H
#define LG_WS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>

enum lg_ws_state { LG_WS_IDLE, LG_WS_CONNECTING, LG_WS_UPGRADING, LG_WS_OPEN, LG_WS_CLOSED };

struct lg_ws {
	int fd;
	enum lg_ws_state state;
	int close_code;              /* from the server's close frame, 0 when none */
	char *rbuf, *wbuf;           /* owned */
	size_t rlen, rcap, wlen, woff, wcap;
	char *fbuf;                  /* owned: a fragmented message so far */
	size_t flen, fcap;
	const char *host, *path, *subprotocol; /* borrowed, must outlive the connection */
	unsigned mask_seed;
};

/* A text message received: text[0..len) is NUL-terminated in place. */
typedef void (*lg_ws_on_text)(void *ctx, char *text, size_t len);

/* Starts a non-blocking connect from src (may be NULL) to dst. Returns the fd or -1. */
int lg_ws_connect(struct lg_ws *ws, const struct sockaddr_in *src, const struct sockaddr_in *dst,
		  const char *host, const char *path, const char *subprotocol);
/* Queues one text message (sent once the upgrade is done). */
void lg_ws_send(struct lg_ws *ws, const char *text, size_t len);
/* The socket is writable: finishes the connect, sends the upgrade or queued frames. -1: closed. */
int lg_ws_writable(struct lg_ws *ws);
/* The socket is readable: handles the upgrade answer and every whole frame. -1: closed. */
int lg_ws_readable(struct lg_ws *ws, lg_ws_on_text cb, void *ctx);
/* True while something waits to be written (or the connect is under way). */
bool lg_ws_wants_write(const struct lg_ws *ws);
/* Sends a close frame (best effort) and closes the socket; frees the buffers. */
void lg_ws_close(struct lg_ws *ws);

#endif
