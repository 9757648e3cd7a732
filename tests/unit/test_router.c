/*
 * The media router on fake time, without sockets: consumers come and go in
 * O(1), one packet walks only its channel's consumers (never the sender's
 * own), paused producers are dropped before anything sees them, and the
 * observers see what they should, in order.
 */
#include "check.h"
#include "router.h"

#include <string.h>

#define N_CONS 64

struct sink {
	uint32_t id;
	int got;
	uint16_t last_seq;
	uint32_t last_ssrc;
};

static void sink_send(void *ctx, const uint8_t *pkt, size_t len, int64_t now)
{
	(void)now;
	struct sink *s = ctx;
	CHECK(len >= RTP_HEADER_MIN);
	s->got++;
	s->last_seq = (uint16_t)(pkt[2] << 8 | pkt[3]);
	s->last_ssrc = (uint32_t)pkt[8] << 24 | (uint32_t)pkt[9] << 16 | (uint32_t)pkt[10] << 8 | pkt[11];
}

static const struct media_consumer_iface sink_iface = { sink_send };

/* A minimal RTP packet from ssrc with seq and ts, parsed into h. */
static size_t make_pkt(uint8_t *p, uint32_t ssrc, uint16_t seq, uint32_t ts, struct rtp_hdr *h)
{
	memset(p, 0, 32);
	p[0] = 0x80;
	p[1] = 111;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	p[4] = (uint8_t)(ts >> 24); p[5] = (uint8_t)(ts >> 16); p[6] = (uint8_t)(ts >> 8); p[7] = (uint8_t)ts;
	p[8] = (uint8_t)(ssrc >> 24); p[9] = (uint8_t)(ssrc >> 16); p[10] = (uint8_t)(ssrc >> 8); p[11] = (uint8_t)ssrc;
	p[12] = 0xfc; /* an Opus TOC byte */
	CHECK(rtp_parse(p, 20, 0, h) == RTP_OK);
	return 20;
}

/* ---- observers that record what they saw --------------------------------------- */

struct watch {
	int packets, forwarded, paused, resumed, closed;
	bool hold;                     /* keep packets from being forwarded (as a mixer) */
	uint32_t last_from;
	char order[16];                /* which observer saw a packet first */
	char tag;
};

static void note(struct watch *w)
{
	size_t n = strlen(w->order);
	if (n + 1 < sizeof w->order) {
		w->order[n] = w->tag;
		w->order[n + 1] = 0;
	}
}

static char order[32];

static bool w_packet(void *ctx, media_producer *p, const uint8_t *pkt, size_t len,
		     const struct rtp_hdr *h, int64_t now)
{
	(void)pkt; (void)len; (void)h; (void)now;
	struct watch *w = ctx;
	w->packets++;
	w->last_from = media_producer_id(p);
	size_t n = strlen(order);
	if (n + 1 < sizeof order) {
		order[n] = w->tag;
		order[n + 1] = 0;
	}
	note(w);
	return !w->hold;
}

static void w_forwarded(void *ctx, media_channel *ch, media_producer *p, const uint8_t *pkt,
			size_t len, const struct rtp_hdr *h, int64_t now)
{
	(void)ch; (void)p; (void)len; (void)h; (void)now;
	struct watch *w = ctx;
	w->forwarded++;
	CHECK(pkt[8] == 0xAB); /* observers see the packet after rewriting, as consumers do */
}

static void w_paused(void *ctx, media_producer *p, bool paused)
{
	(void)p;
	struct watch *w = ctx;
	if (paused)
		w->paused++;
	else
		w->resumed++;
}

static void w_closed(void *ctx, media_producer *p)
{
	(void)p;
	((struct watch *)ctx)->closed++;
}

static int listener_flips;
static bool listener_last;

static void l_paused(void *ctx, media_producer *p, bool paused)
{
	(void)ctx; (void)p;
	listener_flips++;
	listener_last = paused;
}

/* ---- tests ------------------------------------------------------------------------ */

/* Forwarding walks the channel's consumers only, skipping the producer's own. */
static void test_forward_walks_channel(void)
{
	media_router *r = media_router_create();
	media_channel *floor = media_channel_create(r, "floor", 0xAB000001, 100, 1000);
	media_channel *fr = media_channel_create(r, "fr", 0xAB000002, 0, 0);
	CHECK(media_router_n_channels(r) == 2 && media_router_channel(r, 1) == fr);
	struct sink s[N_CONS];
	for (int i = 0; i < N_CONS; i++) {
		s[i] = (struct sink){ .id = (uint32_t)i + 1 };
		(void)media_consumer_create(i < 40 ? floor : fr, s[i].id, &sink_iface, &s[i]);
	}
	CHECK(media_channel_n_consumers(floor) == 40 && media_channel_n_consumers(fr) == 24);
	media_producer *p = media_producer_create(floor, 7, false, NULL, NULL);
	uint8_t pkt[64];
	struct rtp_hdr h;
	size_t n = make_pkt(pkt, 0x1234, 500, 96000, &h);
	CHECK(media_producer_receive(p, pkt, n, &h, 10));
	for (int i = 0; i < N_CONS; i++)
		CHECK(s[i].got == (i < 40 && s[i].id != 7 ? 1 : 0));
	CHECK(s[0].last_ssrc == 0xAB000001 && s[0].last_seq == 100); /* the channel's stream */
	const struct media_stats *st = media_router_stats(r);
	CHECK(st->forwarded == 1 && st->sent == 39);
	media_router_destroy(r);
}

/* Removing from the middle moves the last consumer into the hole; all still get packets. */
static void test_add_remove(void)
{
	media_router *r = media_router_create();
	media_channel *ch = media_channel_create(r, "floor", 0xAB000001, 0, 0);
	struct sink s[8];
	media_consumer *c[8];
	for (int i = 0; i < 8; i++) {
		s[i] = (struct sink){ .id = (uint32_t)i + 10 };
		c[i] = media_consumer_create(ch, s[i].id, &sink_iface, &s[i]);
	}
	media_consumer_destroy(c[2]);
	media_consumer_destroy(c[0]);
	media_consumer_destroy(c[7]); /* the last one: nothing moves */
	CHECK(media_channel_n_consumers(ch) == 5);
	bool seen[8] = { 0 };
	for (size_t i = 0; i < media_channel_n_consumers(ch); i++) {
		media_consumer *x = media_channel_consumer_at(ch, i);
		seen[media_consumer_id(x) - 10] = true;
		CHECK(media_consumer_ctx(x) == &s[media_consumer_id(x) - 10]);
	}
	CHECK(!seen[0] && !seen[2] && !seen[7] && seen[1] && seen[3] && seen[4] && seen[5] && seen[6]);
	media_producer *p = media_producer_create(ch, 99, false, NULL, NULL);
	uint8_t pkt[64];
	struct rtp_hdr h;
	size_t n = make_pkt(pkt, 1, 1, 0, &h);
	CHECK(media_producer_receive(p, pkt, n, &h, 0));
	for (int i = 0; i < 8; i++)
		CHECK(s[i].got == (i == 0 || i == 2 || i == 7 ? 0 : 1));
	/* Removing and adding again at random keeps every index true. */
	uint32_t seed = 12345;
	for (int round = 0; round < 2000; round++) {
		seed = seed * 1103515245 + 12345;
		int i = (int)((seed >> 16) % 8);
		bool in = false;
		for (size_t k = 0; k < media_channel_n_consumers(ch); k++)
			in = in || media_channel_consumer_at(ch, k) == c[i];
		if (in && (i == 1 || i == 3 || i == 4 || i == 5 || i == 6)) {
			media_consumer_destroy(c[i]);
			c[i] = media_consumer_create(ch, s[i].id, &sink_iface, &s[i]);
		}
	}
	CHECK(media_channel_n_consumers(ch) == 5);
	media_router_destroy(r);
}

/* A paused producer is dropped before observers or consumers; a flip happens once. */
static void test_pause(void)
{
	media_router *r = media_router_create();
	media_channel *ch = media_channel_create(r, "floor", 0xAB000001, 0, 0);
	struct watch w = { .tag = 'a' };
	struct media_observer o = { w_packet, w_forwarded, w_paused, w_closed, &w };
	CHECK(media_router_observe(r, &o));
	struct sink s = { .id = 2 };
	(void)media_consumer_create(ch, 2, &sink_iface, &s);
	struct media_producer_listener l = { l_paused, NULL };
	listener_flips = 0;
	media_producer *p = media_producer_create(ch, 1, true, &l, NULL);
	CHECK(media_producer_paused(p) && media_channel_n_active(ch) == 0);
	CHECK(media_channel_n_producers(ch) == 1);
	uint8_t pkt[64];
	struct rtp_hdr h;
	for (int i = 0; i < 50; i++) {
		size_t n = make_pkt(pkt, 1, (uint16_t)i, (uint32_t)i * 960, &h);
		CHECK(!media_producer_receive(p, pkt, n, &h, i * 20));
	}
	CHECK(s.got == 0 && w.packets == 0 && media_router_stats(r)->paused_drops == 50);
	media_producer_set_paused(p, true); /* no change: no call */
	CHECK(listener_flips == 0 && w.paused == 0);
	media_producer_set_paused(p, false); /* a grant */
	media_producer_set_paused(p, false);
	CHECK(listener_flips == 1 && !listener_last && w.resumed == 1);
	CHECK(media_channel_n_active(ch) == 1 && media_channel_active_at(ch, 0) == p);
	size_t n = make_pkt(pkt, 1, 60, 60 * 960, &h);
	CHECK(media_producer_receive(p, pkt, n, &h, 1200));
	CHECK(s.got == 1 && w.packets == 1 && w.forwarded == 1);
	media_producer_set_paused(p, true); /* a revoke */
	CHECK(listener_flips == 2 && listener_last && w.paused == 1);
	CHECK(media_channel_n_active(ch) == 0 && media_router_stats(r)->flips == 2);
	media_producer_destroy(p);
	CHECK(w.closed == 1 && media_channel_n_producers(ch) == 0);
	media_router_destroy(r);
}

/* Every observer is asked, in order; one that holds a packet keeps it from the consumers. */
static void test_observers(void)
{
	media_router *r = media_router_create();
	media_channel *ch = media_channel_create(r, "floor", 0xAB000001, 0, 0);
	struct watch talk = { .tag = 't' }, mix = { .tag = 'm' }, rec = { .tag = 'r' };
	struct media_observer ot = { w_packet, NULL, NULL, NULL, &talk };
	struct media_observer om = { w_packet, NULL, w_paused, w_closed, &mix };
	struct media_observer orc = { NULL, w_forwarded, NULL, NULL, &rec };
	CHECK(media_router_observe(r, &ot) && media_router_observe(r, &om) &&
	      media_router_observe(r, &orc));
	struct media_observer extra = { 0 };
	CHECK(media_router_observe(r, &extra));
	CHECK(!media_router_observe(r, &extra)); /* MEDIA_MAX_OBSERVERS */
	struct sink s = { .id = 5 };
	(void)media_consumer_create(ch, 5, &sink_iface, &s);
	media_producer *a = media_producer_create(ch, 1, false, NULL, NULL);
	media_producer *b = media_producer_create(ch, 2, false, NULL, NULL);
	uint8_t pkt[64];
	struct rtp_hdr h;
	order[0] = 0;
	size_t n = make_pkt(pkt, 1, 1, 0, &h);
	CHECK(media_producer_receive(a, pkt, n, &h, 0));
	CHECK(strcmp(order, "tm") == 0 && rec.forwarded == 1 && s.got == 1);
	mix.hold = true; /* the mixer takes the packets now */
	n = make_pkt(pkt, 2, 1, 0, &h);
	CHECK(!media_producer_receive(b, pkt, n, &h, 20));
	CHECK(talk.packets == 2 && mix.packets == 2 && mix.last_from == 2);
	CHECK(rec.forwarded == 1 && s.got == 1 && media_router_stats(r)->held == 1);
	/* A consumer can be sent to alone (a mix-minus). */
	media_consumer_send(media_channel_consumer_at(ch, 0), pkt, n, 40);
	CHECK(s.got == 2);
	media_router_destroy(r); /* observers hear of each producer */
	CHECK(mix.closed == 2);
}

int main(void)
{
	test_forward_walks_channel();
	test_add_remove();
	test_pause();
	test_observers();
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed != 0;
}
