#include "router.h"
#include "util.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/*
 * A dense array of borrowed pointers whose members know their own index:
 * add appends, remove moves the last member into the hole. Each member
 * type stores its index at a known place, passed in as a pointer.
 */
struct dense {
	void **items;
	size_t n, cap;
};

struct media_consumer {
	/* passed in */
	media_channel *ch;
	uint32_t id;
	const struct media_consumer_iface *iface;
	void *ctx;
	/* kept by the channel */
	size_t index;
};

struct media_producer {
	/* passed in */
	media_channel *ch;
	uint32_t id;
	struct media_producer_listener l;
	void *owner;
	/* kept by the channel */
	bool paused;
	size_t index;            /* in ch->producers */
	size_t active_index;     /* in ch->active while not paused */
};

struct media_channel {
	media_router *r;         /* the owner */
	char name[32];
	struct rtp_rewriter rw;  /* the channel's one outgoing stream */
	struct dense consumers;  /* owned members */
	struct dense producers;  /* owned members */
	struct dense active;     /* borrowed: the producers not paused */
};

struct media_router {
	media_channel *channels[MEDIA_MAX_CHANNELS]; /* owned */
	size_t n_channels;
	struct media_observer obs[MEDIA_MAX_OBSERVERS];
	size_t n_obs;
	struct media_stats stats;
};

/* ---- dense arrays ---------------------------------------------------------------- */

static size_t dense_add(struct dense *d, void *item)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->items = rs_realloc(d->items, d->cap * sizeof *d->items);
	}
	d->items[d->n] = item;
	return d->n++;
}

/* Removes items[i]; returns the member that moved into i (NULL when none did). */
static void *dense_remove(struct dense *d, size_t i)
{
	assert(i < d->n);
	d->n--;
	if (i == d->n)
		return NULL;
	d->items[i] = d->items[d->n];
	return d->items[i];
}

/* ---- router ---------------------------------------------------------------------- */

media_router *media_router_create(void)
{
	return rs_calloc(1, sizeof(media_router));
}

static void channel_free(media_channel *ch)
{
	while (ch->producers.n)
		media_producer_destroy(ch->producers.items[ch->producers.n - 1]);
	while (ch->consumers.n)
		media_consumer_destroy(ch->consumers.items[ch->consumers.n - 1]);
	free(ch->producers.items);
	free(ch->consumers.items);
	free(ch->active.items);
	free(ch);
}

void media_router_destroy(media_router *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_channels; i++)
		channel_free(r->channels[i]);
	free(r);
}

bool media_router_observe(media_router *r, const struct media_observer *o)
{
	if (r->n_obs == MEDIA_MAX_OBSERVERS)
		return false;
	r->obs[r->n_obs++] = *o;
	return true;
}

const struct media_stats *media_router_stats(const media_router *r)
{
	return &r->stats;
}

/* ---- channels -------------------------------------------------------------------- */

media_channel *media_channel_create(media_router *r, const char *name, uint32_t out_ssrc,
				    uint16_t first_seq, uint32_t first_ts)
{
	if (r->n_channels == MEDIA_MAX_CHANNELS)
		return NULL;
	media_channel *ch = rs_calloc(1, sizeof *ch);
	ch->r = r;
	rs_strlcpy(ch->name, name, sizeof ch->name);
	rtp_rewriter_init(&ch->rw, out_ssrc, first_seq, first_ts, 48000);
	r->channels[r->n_channels++] = ch;
	return ch;
}

media_channel *media_router_channel(const media_router *r, size_t i)
{
	return i < r->n_channels ? r->channels[i] : NULL;
}

size_t media_router_n_channels(const media_router *r) { return r->n_channels; }
const char *media_channel_name(const media_channel *ch) { return ch->name; }
struct rtp_rewriter *media_channel_stream(media_channel *ch) { return &ch->rw; }
size_t media_channel_n_consumers(const media_channel *ch) { return ch->consumers.n; }
size_t media_channel_n_active(const media_channel *ch) { return ch->active.n; }
size_t media_channel_n_producers(const media_channel *ch) { return ch->producers.n; }

media_consumer *media_channel_consumer_at(const media_channel *ch, size_t i)
{
	return i < ch->consumers.n ? ch->consumers.items[i] : NULL;
}

media_producer *media_channel_active_at(const media_channel *ch, size_t i)
{
	return i < ch->active.n ? ch->active.items[i] : NULL;
}

/* ---- producers ------------------------------------------------------------------- */

static void activate(media_producer *p)
{
	p->active_index = dense_add(&p->ch->active, p);
}

static void deactivate(media_producer *p)
{
	media_producer *moved = dense_remove(&p->ch->active, p->active_index);
	if (moved)
		moved->active_index = p->active_index;
}

media_producer *media_producer_create(media_channel *ch, uint32_t id, bool paused,
				      const struct media_producer_listener *l, void *owner)
{
	media_producer *p = rs_calloc(1, sizeof *p);
	p->ch = ch;
	p->id = id;
	if (l)
		p->l = *l;
	p->owner = owner;
	p->paused = paused;
	p->index = dense_add(&ch->producers, p);
	if (!paused)
		activate(p);
	return p;
}

void media_producer_destroy(media_producer *p)
{
	if (!p)
		return;
	media_router *r = p->ch->r;
	for (size_t i = 0; i < r->n_obs; i++)
		if (r->obs[i].on_closed)
			r->obs[i].on_closed(r->obs[i].ctx, p);
	if (!p->paused)
		deactivate(p);
	media_producer *moved = dense_remove(&p->ch->producers, p->index);
	if (moved)
		moved->index = p->index;
	free(p);
}

uint32_t media_producer_id(const media_producer *p) { return p->id; }
void *media_producer_owner(const media_producer *p) { return p->owner; }
media_channel *media_producer_channel(const media_producer *p) { return p->ch; }
bool media_producer_paused(const media_producer *p) { return p->paused; }

void media_producer_set_paused(media_producer *p, bool paused)
{
	if (p->paused == paused)
		return;
	p->paused = paused;
	if (paused)
		deactivate(p);
	else
		activate(p);
	media_router *r = p->ch->r;
	r->stats.flips++;
	if (p->l.on_paused)
		p->l.on_paused(p->l.ctx, p, paused);
	for (size_t i = 0; i < r->n_obs; i++)
		if (r->obs[i].on_paused)
			r->obs[i].on_paused(r->obs[i].ctx, p, paused);
}

/* Asks every observer; one that holds the packet keeps it from the consumers. */
static bool observers_admit(media_router *r, media_producer *p, const uint8_t *pkt, size_t len,
			    const struct rtp_hdr *h, int64_t now)
{
	bool pass = true;
	for (size_t i = 0; i < r->n_obs; i++)
		if (r->obs[i].on_packet && !r->obs[i].on_packet(r->obs[i].ctx, p, pkt, len, h, now))
			pass = false;
	return pass;
}

/* The forwarding loop: only this channel's consumers, the producer's own skipped. */
static void fan_out(media_channel *ch, uint32_t from, const uint8_t *pkt, size_t len, int64_t now)
{
	media_consumer **cs = (media_consumer **)ch->consumers.items;
	size_t n = ch->consumers.n, sent = 0;
	for (size_t i = 0; i < n; i++) {
		if (cs[i]->id == from)
			continue;
		cs[i]->iface->send(cs[i]->ctx, pkt, len, now);
		sent++;
	}
	ch->r->stats.sent += sent;
}

bool media_producer_receive(media_producer *p, uint8_t *pkt, size_t len,
			    const struct rtp_hdr *h, int64_t now)
{
	media_channel *ch = p->ch;
	media_router *r = ch->r;
	if (p->paused) {
		r->stats.paused_drops++;
		return false;
	}
	if (!observers_admit(r, p, pkt, len, h, now)) {
		r->stats.held++;
		return false;
	}
	if (!rtp_rewrite(&ch->rw, pkt, h, now))
		return false;
	r->stats.forwarded++;
	for (size_t i = 0; i < r->n_obs; i++)
		if (r->obs[i].on_forwarded)
			r->obs[i].on_forwarded(r->obs[i].ctx, ch, p, pkt, len, h, now);
	fan_out(ch, p->id, pkt, len, now);
	return true;
}

/* ---- consumers ------------------------------------------------------------------- */

media_consumer *media_consumer_create(media_channel *ch, uint32_t id,
				      const struct media_consumer_iface *iface, void *ctx)
{
	media_consumer *c = rs_calloc(1, sizeof *c);
	c->ch = ch;
	c->id = id;
	c->iface = iface;
	c->ctx = ctx;
	c->index = dense_add(&ch->consumers, c);
	return c;
}

void media_consumer_destroy(media_consumer *c)
{
	if (!c)
		return;
	media_consumer *moved = dense_remove(&c->ch->consumers, c->index);
	if (moved)
		moved->index = c->index;
	free(c);
}

uint32_t media_consumer_id(const media_consumer *c) { return c->id; }
void *media_consumer_ctx(const media_consumer *c) { return c->ctx; }

void media_consumer_send(media_consumer *c, const uint8_t *pkt, size_t len, int64_t now)
{
	c->iface->send(c->ctx, pkt, len, now);
	c->ch->r->stats.sent++;
}
