#include "tcplink.h"
#include "framing.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* One accepted connection. */
struct link {
	void *sock;              /* borrowed: the caller's handle */
	uint16_t port;           /* the peer's TCP port, network order */
	struct sockaddr_storage peer; /* the real peer, reported in STUN responses */
	int64_t opened_ms, last_rx_ms;
	bool passed;             /* something was sent to it: it passed an ICE check */
	uint64_t dropped;        /* packets refused by a full output buffer */
	size_t out_off, out_len; /* pending bytes are out[out_off .. out_off + out_len) */
	struct framing in;
	uint8_t out[TCPLINK_OUT_CAP];
};

struct tcplink_table {
	size_t max;
	struct link **links;     /* owned, max slots; NULL when free */
	uint32_t *gen;           /* per slot, bumped at each open */
	int *free_ids;           /* stack of free slots */
	size_t n_free;
};

/* RFC 6666: 100::/64 is discard-only, so it never names a real peer. */
static const uint8_t prefix[8] = { 0x01, 0x00, 0, 0, 0, 0, 0, 0 };

tcplink_table *tcplink_create(size_t max_links)
{
	assert(max_links > 0 && max_links <= TCPLINK_MAX);
	tcplink_table *t = rs_calloc(1, sizeof *t);
	t->max = max_links;
	t->links = rs_calloc(max_links, sizeof *t->links);
	t->gen = rs_calloc(max_links, sizeof *t->gen);
	t->free_ids = rs_calloc(max_links, sizeof *t->free_ids);
	/* Lowest slot on top, so ids are handed out from 0 upward. */
	for (size_t i = 0; i < max_links; i++)
		t->free_ids[i] = (int)(max_links - 1 - i);
	t->n_free = max_links;
	return t;
}

void tcplink_destroy(tcplink_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->max; i++)
		free(t->links[i]);
	free(t->links);
	free(t->gen);
	free(t->free_ids);
	free(t);
}

static struct link *get(const tcplink_table *t, int id)
{
	return id >= 0 && (size_t)id < t->max ? t->links[id] : NULL;
}

static bool same_ip(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return false;
	if (b->sa_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)b)->sin_addr.s_addr;
	return b->sa_family == AF_INET6 &&
	       memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		      &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0;
}

/* Links from peer's IP address that have not passed ICE yet. */
static size_t pending_from(const tcplink_table *t, const struct sockaddr *peer)
{
	size_t n = 0;
	for (size_t i = 0; peer && i < t->max; i++)
		if (t->links[i] && !t->links[i]->passed && same_ip(&t->links[i]->peer, peer))
			n++;
	return n;
}

int tcplink_open(tcplink_table *t, int64_t now, const struct sockaddr *peer, void *sock)
{
	if (!t->n_free || pending_from(t, peer) >= TCPLINK_PENDING_PER_PEER)
		return TCPLINK_E_FULL;
	int id = t->free_ids[--t->n_free];
	struct link *l = rs_malloc(sizeof *l);
	memset(l, 0, offsetof(struct link, out));
	l->sock = sock;
	l->opened_ms = l->last_rx_ms = now;
	if (peer && peer->sa_family == AF_INET) {
		l->port = ((const struct sockaddr_in *)peer)->sin_port;
		memcpy(&l->peer, peer, sizeof(struct sockaddr_in));
	} else if (peer && peer->sa_family == AF_INET6) {
		l->port = ((const struct sockaddr_in6 *)peer)->sin6_port;
		memcpy(&l->peer, peer, sizeof(struct sockaddr_in6));
	}
	t->links[id] = l;
	t->gen[id]++;
	return id;
}

void tcplink_close(tcplink_table *t, int id)
{
	struct link *l = get(t, id);
	if (!l)
		return;
	free(l);
	t->links[id] = NULL;
	t->free_ids[t->n_free++] = id;
}

void *tcplink_sock(const tcplink_table *t, int id)
{
	struct link *l = get(t, id);
	return l ? l->sock : NULL;
}

size_t tcplink_count(const tcplink_table *t)
{
	return t->max - t->n_free;
}

/* ---- input ------------------------------------------------------------------- */

struct input_ctx {
	tcplink_packet_fn fn;
	void *ctx;
	struct sockaddr_in6 from;
};

static void on_frame(void *ctx, uint8_t *pkt, size_t len)
{
	struct input_ctx *ic = ctx;
	ic->fn(ic->ctx, pkt, len, (const struct sockaddr *)&ic->from, sizeof ic->from);
}

int tcplink_input(tcplink_table *t, int id, int64_t now, const uint8_t *in, size_t len,
		  tcplink_packet_fn fn, void *ctx)
{
	struct link *l = get(t, id);
	if (!l)
		return TCPLINK_E_STALE;
	struct input_ctx ic = { .fn = fn, .ctx = ctx };
	if (!tcplink_address(t, id, &ic.from))
		return TCPLINK_E_STALE;
	l->last_rx_ms = now;
	return framing_input(&l->in, in, len, on_frame, &ic) < 0 ? TCPLINK_E_BROKEN : TCPLINK_OK;
}

/* ---- addresses ----------------------------------------------------------------- */

bool tcplink_is_address(const struct sockaddr *sa, socklen_t len)
{
	if (!sa || sa->sa_family != AF_INET6 || len < (socklen_t)sizeof(struct sockaddr_in6))
		return false;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	return memcmp(s6->sin6_addr.s6_addr, prefix, sizeof prefix) == 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

bool tcplink_address(const tcplink_table *t, int id, struct sockaddr_in6 *out)
{
	struct link *l = get(t, id);
	if (!l)
		return false;
	/* Zeroed whole: ICE compares the address and port, the rest must not differ by chance. */
	memset(out, 0, sizeof *out);
	out->sin6_family = AF_INET6;
	out->sin6_port = l->port;
	memcpy(out->sin6_addr.s6_addr, prefix, sizeof prefix);
	put_be32(out->sin6_addr.s6_addr + 8, t->gen[id]);
	put_be32(out->sin6_addr.s6_addr + 12, (uint32_t)id);
	return true;
}

int tcplink_lookup(const tcplink_table *t, const struct sockaddr *sa, socklen_t len)
{
	if (!tcplink_is_address(sa, len))
		return TCPLINK_E_STALE;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
	uint32_t gen = get_be32(s6->sin6_addr.s6_addr + 8);
	uint32_t slot = get_be32(s6->sin6_addr.s6_addr + 12);
	if (slot >= t->max)
		return TCPLINK_E_STALE;
	struct link *l = t->links[slot];
	if (!l || t->gen[slot] != gen || l->port != s6->sin6_port)
		return TCPLINK_E_STALE;
	return (int)slot;
}

/* ---- output -------------------------------------------------------------------- */

int tcplink_queue(tcplink_table *t, int id, const uint8_t *pkt, size_t len)
{
	struct link *l = get(t, id);
	if (!l)
		return TCPLINK_E_STALE;
	uint8_t hdr[2];
	if (!framing_header(len, hdr))
		return TCPLINK_E_TOO_BIG;
	l->passed = true;
	if (l->out_len + 2 + len > TCPLINK_OUT_CAP) {
		l->dropped++;
		return TCPLINK_E_OVERFLOW;
	}
	if (l->out_off + l->out_len + 2 + len > TCPLINK_OUT_CAP) {
		memmove(l->out, l->out + l->out_off, l->out_len);
		l->out_off = 0;
	}
	uint8_t *p = l->out + l->out_off + l->out_len;
	memcpy(p, hdr, 2);
	memcpy(p + 2, pkt, len);
	l->out_len += 2 + len;
	return TCPLINK_OK;
}

const uint8_t *tcplink_pending(const tcplink_table *t, int id, size_t *len)
{
	struct link *l = get(t, id);
	*len = l ? l->out_len : 0;
	return *len ? l->out + l->out_off : NULL;
}

void tcplink_consume(tcplink_table *t, int id, size_t n)
{
	struct link *l = get(t, id);
	if (!l)
		return;
	assert(n <= l->out_len);
	l->out_off += n;
	l->out_len -= n;
	if (!l->out_len)
		l->out_off = 0;
}

uint64_t tcplink_dropped(const tcplink_table *t, int id)
{
	struct link *l = get(t, id);
	return l ? l->dropped : 0;
}

/* ---- deadlines ----------------------------------------------------------------- */

size_t tcplink_expired(const tcplink_table *t, int64_t now, int *ids,
		       enum tcplink_expiry *why, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < t->max && n < cap; i++) {
		const struct link *l = t->links[i];
		if (!l)
			continue;
		enum tcplink_expiry w = TCPLINK_NOT_DUE;
		if (!l->passed && now - l->opened_ms >= TCPLINK_ICE_MS)
			w = TCPLINK_NO_ICE;
		else if (l->passed && now - l->last_rx_ms >= TCPLINK_IDLE_MS)
			w = TCPLINK_IDLE;
		if (w == TCPLINK_NOT_DUE)
			continue;
		if (why)
			why[n] = w;
		ids[n++] = (int)i;
	}
	return n;
}

const char *tcplink_strerror(int err)
{
	switch (err) {
	case TCPLINK_OK: return "ok";
	case TCPLINK_E_FULL: return "too many ICE-TCP connections";
	case TCPLINK_E_STALE: return "no such ICE-TCP connection";
	case TCPLINK_E_BROKEN: return "a frame over the size limit: the stream is unusable";
	case TCPLINK_E_OVERFLOW: return "output buffer full: packet dropped";
	case TCPLINK_E_TOO_BIG: return "packet too large to frame";
	}
	return "unknown ICE-TCP error";
}

bool tcplink_peer(const tcplink_table *t, const struct sockaddr *sa, socklen_t len,
		  struct sockaddr_storage *out)
{
	int id = tcplink_lookup(t, sa, len);
	const struct link *l = id >= 0 ? get(t, id) : NULL;
	if (!l || l->peer.ss_family == AF_UNSPEC)
		return false;
	*out = l->peer;
	return true;
}
