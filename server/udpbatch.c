#include "udpbatch.h"

#include <errno.h>
#include <string.h>

void udpbatch_init(struct udpbatch *b, int fd)
{
	b->fd = fd;
	b->n = 0;
	b->sent = b->dropped = b->calls = 0;
}

void udpbatch_add(struct udpbatch *b, const struct sockaddr *to, socklen_t to_len,
		  const uint8_t *buf, size_t len)
{
	if (len > UDPBATCH_DGRAM || to_len > sizeof b->to[0]) {
		b->dropped++;
		return;
	}
	if (b->n == UDPBATCH_MAX)
		udpbatch_flush(b);
	int i = b->n++;
	memcpy(&b->to[i], to, to_len);
	memcpy(b->buf[i], buf, len);
	b->iov[i] = (struct iovec){ .iov_base = b->buf[i], .iov_len = len };
	b->msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &b->to[i], .msg_namelen = to_len,
						    .msg_iov = &b->iov[i], .msg_iovlen = 1 } };
}

int udpbatch_flush(struct udpbatch *b)
{
	int done = 0, dropped = 0;
	while (done < b->n) {
		int r = sendmmsg(b->fd, b->msgs + done, (unsigned)(b->n - done), 0);
		b->calls++;
		if (r < 0 && errno == EINTR)
			continue;
		if (r > 0) {
			done += r;
			b->sent += (uint64_t)r;
			continue;
		}
		/* The datagram at `done` was refused (a full buffer, an unreachable address): skip it. */
		done++;
		dropped++;
	}
	b->dropped += (uint64_t)dropped;
	b->n = 0;
	return dropped;
}
