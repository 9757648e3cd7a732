/*
 * rawws: the few WebSocket client pieces the epoll benchmark clients share
 * (storm_client, fanout_client): a blocking connect and upgrade on loopback,
 * masked text frames out, whole frames found in a read buffer.
 */
#ifndef ROSTRUM_BENCH_RAWWS_H
#define ROSTRUM_BENCH_RAWWS_H

#include <stddef.h>
#include <stdint.h>

int64_t rawws_now_ns(void);
/* Prints what failed and exits 1. */
void rawws_die(const char *what);
/* A connected, upgraded socket to 127.0.0.1:port (/ws, rostrum.v1), or -1. */
int rawws_connect(int port);
/* One masked text frame of up to 65535 bytes; exits on a short write. */
void rawws_send_text(int fd, const char *text);
/*
 * The frame at buf[*off..len): its opcode, payload and length, and *off moved
 * past it. False when no whole frame is there yet.
 */
int rawws_next(char *buf, size_t len, size_t *off, int *opcode, char **payload, size_t *n);

#endif
