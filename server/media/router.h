/*
 * router: one room's audio, modelled as mediasoup's worker models it.
 *
 *   router ── channel (the floor today; a language channel each, later)
 *               ├── producers: who may send into it, each paused or not
 *               └── consumers: who hears it, in a dense array
 *
 * A producer is paused unless the floor or a moderator's role lets it be
 * heard. Pausing is a state flipped once by a grant or a revoke (the owner
 * calls media_producer_set_paused), never a question asked per packet: a
 * paused producer's packets are dropped at the first look and its sender is
 * told to stop sending (the listener's on_paused).
 *
 * A consumer is an interface, not a transport: a local participant's
 * WebRTC transport today, a remote hub's relay tomorrow. A producer is only
 * a source of packets, so it may be remote too. Forwarding one packet walks
 * only its channel's consumers (O(1) to add and remove: swap with the last,
 * the index kept in the consumer).
 *
 * Observers (mediasoup's RtpObservers) see what flows: the mixer (which may
 * take a packet instead of letting it be forwarded), the talking indicator
 * and the recording hang off the router and never walk other rooms.
 *
 * Sans-IO: packets and the time go in, calls on consumers and observers come
 * out. Ownership: the router owns its channels, producers and consumers;
 * the ctx pointers given to them are borrowed.
 */
#ifndef ROSTRUM_MEDIA_ROUTER_H
#define ROSTRUM_MEDIA_ROUTER_H

#include "rtp.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct media_router media_router;
typedef struct media_channel media_channel;
typedef struct media_producer media_producer;
typedef struct media_consumer media_consumer;

#define MEDIA_MAX_CHANNELS 16
#define MEDIA_MAX_OBSERVERS 4

/* What a consumer is: whoever takes a channel's packets. */
struct media_consumer_iface {
	/*
	 * One packet of the channel's stream (rewritten onto its SSRC). pkt is
	 * shared by every consumer: one that must change it (encrypt) copies it.
	 */
	void (*send)(void *ctx, const uint8_t *pkt, size_t len, int64_t now);
};

/* Upward calls of one producer's owner. */
struct media_producer_listener {
	/* The producer was paused or resumed: tell its sender to stop or start. */
	void (*on_paused)(void *ctx, media_producer *p, bool paused);
	void *ctx;
};

/* Observers see every channel of the router; any callback may be NULL. */
struct media_observer {
	/*
	 * A packet of an unpaused producer, before forwarding. False keeps the
	 * channel from forwarding it (the mixer took it, or someone else is
	 * being forwarded). Every observer is asked; one false is enough.
	 */
	bool (*on_packet)(void *ctx, media_producer *p, const uint8_t *pkt, size_t len,
			  const struct rtp_hdr *h, int64_t now);
	/* pkt went to the channel's consumers, rewritten (its seq and ts are the channel's). */
	void (*on_forwarded)(void *ctx, media_channel *ch, media_producer *p, const uint8_t *pkt,
			     size_t len, const struct rtp_hdr *h, int64_t now);
	/* A producer was paused or resumed, or is about to be freed. */
	void (*on_paused)(void *ctx, media_producer *p, bool paused);
	void (*on_closed)(void *ctx, media_producer *p);
	void *ctx;
};

/* What the router counted (the owner exports these; nothing here searches by name). */
struct media_stats {
	uint64_t forwarded;      /* packets forwarded, once per packet */
	uint64_t sent;           /* packets handed to consumers */
	uint64_t paused_drops;   /* packets of paused producers */
	uint64_t held;           /* packets an observer kept from being forwarded */
	uint64_t flips;          /* pause or resume transitions */
};

media_router *media_router_create(void);
/* Frees the channels, producers and consumers (observers are told of each producer). */
void media_router_destroy(media_router *r);
/* Adds an observer (copied); false when MEDIA_MAX_OBSERVERS are there. */
bool media_router_observe(media_router *r, const struct media_observer *o);
const struct media_stats *media_router_stats(const media_router *r);

/* A channel whose stream goes out as out_ssrc (NULL past MEDIA_MAX_CHANNELS). */
media_channel *media_channel_create(media_router *r, const char *name, uint32_t out_ssrc,
				    uint16_t first_seq, uint32_t first_ts);
media_channel *media_router_channel(const media_router *r, size_t i);
size_t media_router_n_channels(const media_router *r);
const char *media_channel_name(const media_channel *ch);
/* The channel's outgoing stream (its SSRC for SDP; a mixer emits onto it). */
struct rtp_rewriter *media_channel_stream(media_channel *ch);
size_t media_channel_n_consumers(const media_channel *ch);
media_consumer *media_channel_consumer_at(const media_channel *ch, size_t i);
/* Producers not paused, in a dense array (the few who may be heard now). */
size_t media_channel_n_active(const media_channel *ch);
media_producer *media_channel_active_at(const media_channel *ch, size_t i);
size_t media_channel_n_producers(const media_channel *ch);

/*
 * A producer feeding ch. id names its participant (a consumer with the same
 * id does not hear it). Starts paused or not as given; no call is made for
 * the initial state.
 */
media_producer *media_producer_create(media_channel *ch, uint32_t id, bool paused,
				      const struct media_producer_listener *l, void *owner);
void media_producer_destroy(media_producer *p);
uint32_t media_producer_id(const media_producer *p);
void *media_producer_owner(const media_producer *p);
media_channel *media_producer_channel(const media_producer *p);
bool media_producer_paused(const media_producer *p);
/* Pauses or resumes; a change (only a change) calls the listener and the observers. */
void media_producer_set_paused(media_producer *p, bool paused);
/*
 * A packet from the producer's sender (pkt parsed as h; rewritten in place
 * when forwarded). Dropped and counted while paused; otherwise the
 * observers are asked, and unless one holds it, it is rewritten onto the
 * channel's stream and handed to every consumer of the channel but the
 * producer's own. Returns true when it was forwarded.
 */
bool media_producer_receive(media_producer *p, uint8_t *pkt, size_t len,
			    const struct rtp_hdr *h, int64_t now);

/* A consumer of ch: iface and ctx are borrowed for its life. */
media_consumer *media_consumer_create(media_channel *ch, uint32_t id,
				      const struct media_consumer_iface *iface, void *ctx);
void media_consumer_destroy(media_consumer *c);
uint32_t media_consumer_id(const media_consumer *c);
void *media_consumer_ctx(const media_consumer *c);
/* Sends one packet to this consumer alone (a mixer's mix-minus). */
void media_consumer_send(media_consumer *c, const uint8_t *pkt, size_t len, int64_t now);

#endif
