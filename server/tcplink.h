/*
 * tcplink: the accepted connections of the passive ICE-TCP port (RFC 6544),
 * each carrying RFC 4571 framed packets, as the media path sees them.
 *
 * The hub, the transports and ICE only know datagrams and source
 * addresses. So that they stay unchanged, each link is given a synthetic
 * IPv6 source address in 100::/64, the discard-only prefix (RFC 6666): the
 * slot's generation and index in the low 64 bits, the peer's TCP port in the
 * port field. The media port is IPv4-only, so such an address can never be
 * a real UDP source, and a send to one is a send on that link. A reused
 * slot gets a new generation, so a transport that still holds the address
 * of a closed link reaches nothing rather than a stranger.
 *
 * Sans-IO: net.c does accept(), read() and send(); this module holds the
 * link table, the id <-> address mapping, the input framing, the bounded
 * output buffers and the deadlines, so tests drive it without sockets.
 */
#ifndef ROSTRUM_TCPLINK_H
#define ROSTRUM_TCPLINK_H

#include "util.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TCPLINK_MAX 1024         /* links open at once; more are refused at accept */
/*
 * Links from one IP address that have not passed ICE yet. A real browser
 * passes within a round trip, so this bounds how many slots one host can
 * hold for the 10 s a silent link lasts, without limiting a venue whose
 * participants all share one address once their links are verified.
 */
#define TCPLINK_PENDING_PER_PEER 16
/*
 * Bytes queued per link. About a second of one Opus stream with its
 * headers: a reader slower than that loses packets (as it would on UDP)
 * instead of hearing the room later and later.
 */
#define TCPLINK_OUT_CAP 16384
#define TCPLINK_ICE_MS 10000     /* a link must pass an ICE check this soon after accept */
#define TCPLINK_IDLE_MS 30000    /* ICE consent (RFC 7675) lapses after this much silence */

typedef struct tcplink_table tcplink_table;

enum tcplink_err {
	TCPLINK_OK = 0,
	TCPLINK_E_FULL = -1,     /* open: every slot is taken */
	TCPLINK_E_STALE = -2,    /* no open link has that id or address */
	TCPLINK_E_BROKEN = -3,   /* input: a frame announced more than FRAMING_MAX bytes */
	TCPLINK_E_OVERFLOW = -4, /* queue: the output buffer is full, the packet was dropped */
	TCPLINK_E_TOO_BIG = -5,  /* queue: the packet cannot be framed (over FRAMING_MAX) */
};

/* Why a link is due to be closed, from tcplink_expired(). */
enum tcplink_expiry {
	TCPLINK_NOT_DUE = 0,
	TCPLINK_NO_ICE,      /* no ICE check passed within TCPLINK_ICE_MS */
	TCPLINK_IDLE,            /* nothing received for TCPLINK_IDLE_MS after that */
};

/* Called for each whole packet of a link, with the link's synthetic address. */
typedef void (*tcplink_packet_fn)(void *ctx, uint8_t *pkt, size_t len,
				  const struct sockaddr *from, socklen_t from_len);

/* A table of up to max_links (at most TCPLINK_MAX) links; nothing is allocated per link yet. */
tcplink_table *tcplink_create(size_t max_links);
/* Frees the table and every link still open (not their sockets); NULL is a no-op. */
void tcplink_destroy(tcplink_table *t);

/*
 * A connection accepted at now from peer (its port goes into the synthetic
 * address); sock is the caller's handle, borrowed. Returns the link id (>= 0)
 * or TCPLINK_E_FULL (every slot taken, or TCPLINK_PENDING_PER_PEER links from
 * the same IP address still waiting for ICE).
 */
RS_MUST_CHECK int tcplink_open(tcplink_table *t, int64_t now, const struct sockaddr *peer,
			       void *sock);
/* Frees the link's buffers; its address reaches nothing from now on. A stale id is a no-op. */
void tcplink_close(tcplink_table *t, int id);
/* The handle given to tcplink_open, or NULL for a stale id. */
void *tcplink_sock(const tcplink_table *t, int id);
/* Open links. */
size_t tcplink_count(const tcplink_table *t);

/*
 * Bytes read from link id at now: fn runs for each whole packet, whatever
 * the split of the reads. Returns TCPLINK_OK, TCPLINK_E_STALE, or
 * TCPLINK_E_BROKEN once a frame is over FRAMING_MAX (close the link: the
 * stream cannot be resynchronised).
 */
RS_MUST_CHECK int tcplink_input(tcplink_table *t, int id, int64_t now, const uint8_t *in,
				size_t len, tcplink_packet_fn fn, void *ctx);

/* True when sa is in 100::/64, the prefix of link addresses (open or not). */
bool tcplink_is_address(const struct sockaddr *sa, socklen_t len);
/* The synthetic address of an open link; false for a stale id. */
bool tcplink_address(const tcplink_table *t, int id, struct sockaddr_in6 *out);
/* The id of the open link with that address, or TCPLINK_E_STALE. */
int tcplink_lookup(const tcplink_table *t, const struct sockaddr *sa, socklen_t len);

/*
 * Frames pkt onto link id's output buffer, whole or not at all: on
 * TCPLINK_E_OVERFLOW the packet is dropped and what is queued stays intact.
 * The transports send to an address only after it passed an ICE check, so
 * the first packet queued marks the link as having passed one.
 */
RS_MUST_CHECK int tcplink_queue(tcplink_table *t, int id, const uint8_t *pkt, size_t len);
/* The bytes waiting to be written on link id (*len 0 and NULL when none). */
const uint8_t *tcplink_pending(const tcplink_table *t, int id, size_t *len);
/* n of the pending bytes were written (a partial write leaves the rest pending). */
void tcplink_consume(tcplink_table *t, int id, size_t n);
/* Packets dropped on link id's full output buffer so far (0 for a stale id). */
uint64_t tcplink_dropped(const tcplink_table *t, int id);

/*
 * Links due to be closed at now: up to cap ids into ids (and why, into
 * why when not NULL). Returns how many. The links stay open until
 * tcplink_close(), so a sweep that finds more than cap finds the rest next time.
 */
size_t tcplink_expired(const tcplink_table *t, int64_t now, int *ids,
		       enum tcplink_expiry *why, size_t cap);

/*
 * The real peer behind a link's synthetic address (what a STUN response
 * reports as XOR-MAPPED-ADDRESS); false for an unknown or stale address.
 */
bool tcplink_peer(const tcplink_table *t, const struct sockaddr *sa, socklen_t len,
		  struct sockaddr_storage *out);
/* A static description of a tcplink_err. */
const char *tcplink_strerror(int err);

#endif
