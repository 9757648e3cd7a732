/*
 * udpbatch: the datagrams one pass of the event loop sends, queued and sent
 * together with sendmmsg(2).
 *
 * Fan-out sends the room's packet to every listener, each encrypted for
 * them: hundreds of datagrams in one pass. One system call per datagram
 * costs more than the encryption does, so the media socket's sends are
 * queued here (copied: the caller's buffer is its own again at once) and go
 * out in batches when the queue is full and at the end of the pass. A
 * datagram the kernel refuses (a full socket buffer) is dropped and
 * counted, as a failed sendto() would be; the rest of the batch still goes.
 *
 * Ownership: the caller owns the struct (large: keep it inside its owner,
 * not on the stack) and the socket.
 */
#ifndef ROSTRUM_UDPBATCH_H
#define ROSTRUM_UDPBATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define UDPBATCH_MAX 64       /* datagrams per sendmmsg() */
#define UDPBATCH_DGRAM 1600   /* bytes of one datagram, at most */

struct udpbatch {
	int fd;
	int n;                    /* queued */
	uint64_t sent, dropped, calls;
	struct mmsghdr msgs[UDPBATCH_MAX];
	struct iovec iov[UDPBATCH_MAX];
	struct sockaddr_storage to[UDPBATCH_MAX];
	uint8_t buf[UDPBATCH_MAX][UDPBATCH_DGRAM];
};

/* An empty queue sending on fd (non-blocking UDP). */
void udpbatch_init(struct udpbatch *b, int fd);
/*
 * Queues buf[0..len) for `to` (both copied), sending the queue first when it
 * is full. A datagram over UDPBATCH_DGRAM, or an address larger than a
 * sockaddr_storage, is dropped and counted.
 */
void udpbatch_add(struct udpbatch *b, const struct sockaddr *to, socklen_t to_len,
		  const uint8_t *buf, size_t len);
/* Sends what is queued; returns how many were dropped by this flush. */
int udpbatch_flush(struct udpbatch *b);

#endif
