/*
 * media_bench: the units of the media path, timed one by one in one run.
 *
 *  1. Which transport a datagram belongs to, at N transports: the old way
 *     (a scan asking each transport whether the source passed its checks)
 *     against the hash lookups (tuple, and ufrag for STUN).
 *  2. The transports' next deadline: a scan of every transport against the
 *     heap's first entry.
 *  3. Forwarding one packet to L listeners: the router's walk of its
 *     channel (with and without the copy and SRTP protect each listener
 *     needs), against a walk of one global list of every room's listeners.
 *  4. Recording one room's forwarded stream: muxing the Opus packets into
 *     Ogg against decoding and re-encoding each (what the recording did).
 *
 * CPU time is CLOCK_PROCESS_CPUTIME_ID; see bench/README.md for the command
 * and figures. Nothing is sent on a network: transports get their checks
 * from memory.
 */
#include "deadline.h"
#include "oggrec.h"
#include "router.h"
#include "srtpx.h"
#include "stun.h"
#include "transport.h"

#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "media_bench: %s failed\n", what);
	exit(1);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (uint32_t)((rng * 0x2545f4914f6cdd1dULL) >> 32);
}

/* ---- 1 and 2: lookups and deadlines -------------------------------------------- */

static void no_send(void *ctx, const struct sockaddr *to, socklen_t tl, const uint8_t *b, size_t n)
{
	(void)ctx; (void)to; (void)tl; (void)b; (void)n;
}

struct peer {
	transport *t;
	struct sockaddr_in addr;
	uint8_t check[256];
	size_t check_len;
};

static struct sockaddr_in peer_addr(int i)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(10000 + i % 50000)) };
	a.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)(i / 50000) + 1);
	return a;
}

/* N transports, each with one tuple validated by a real check, registered in s. */
static struct peer *make_peers(dtls_ctx *dtls, int n, ice_server *s)
{
	struct peer *p = calloc((size_t)n, sizeof *p);
	struct sdp_offer o = { .opus_pt = 111, .rtcp_mux = true };
	strcpy(o.ice_ufrag, "brws");
	strcpy(o.ice_pwd, "0123456789012345678901");
	strcpy(o.fingerprint, "00");
	struct transport_listener l = { no_send, NULL, NULL, NULL, NULL, NULL };
	for (int i = 0; i < n; i++) {
		p[i].t = transport_create(dtls, &o, &l, &p[i]);
		if (!p[i].t)
			die("transport_create");
		p[i].addr = peer_addr(i);
		char user[64];
		snprintf(user, sizeof user, "%s:brws", transport_ufrag(p[i].t));
		uint8_t tid[12] = { (uint8_t)i, (uint8_t)(i >> 8), 7 };
		int len = stun_binding_request(tid, user, 1, 2, true, (const uint8_t *)transport_pwd(p[i].t),
					       strlen(transport_pwd(p[i].t)), p[i].check,
					       sizeof p[i].check);
		if (len <= 0)
			die("stun_binding_request");
		p[i].check_len = (size_t)len;
		if (transport_input(p[i].t, 1, p[i].check, p[i].check_len,
				    (struct sockaddr *)&p[i].addr, sizeof p[i].addr) != TRANSPORT_DROP_NONE)
			die("check");
		if (ice_server_add(s, transport_ufrag(p[i].t), &p[i]) != ICE_OK)
			die("ice_server_add");
		ice_server_bind(s, (struct sockaddr *)&p[i].addr, &p[i]);
	}
	return p;
}

/* The old by_address: ask each transport in turn. */
static struct peer *scan_address(struct peer *p, int n, const struct sockaddr *from)
{
	for (int i = 0; i < n; i++)
		if (transport_validated(p[i].t, from))
			return &p[i];
	return NULL;
}

/* The old by_ufrag: parse the check, then compare each transport's ufrag. */
static struct peer *scan_ufrag(struct peer *p, int n, const uint8_t *buf, size_t len)
{
	struct stun_msg m;
	char ufrag[64];
	if (stun_parse(buf, len, &m) != STUN_OK || !ice_local_ufrag(&m, ufrag, sizeof ufrag))
		return NULL;
	for (int i = 0; i < n; i++)
		if (strcmp(transport_ufrag(p[i].t), ufrag) == 0)
			return &p[i];
	return NULL;
}

static void bench_lookups(int n, int rounds)
{
	if (srtpx_init() != SRTPX_OK)
		die("srtpx_init");
	dtls_cert *cert = dtls_cert_generate();
	dtls_ctx *dtls = cert ? dtls_ctx_create(cert, NULL) : NULL;
	if (!dtls)
		die("dtls");
	ice_server *s = ice_server_create(42);
	struct peer *p = make_peers(dtls, n, s);
	static const uint8_t rtp[] = { 0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1 };
	struct sockaddr_in unknown = peer_addr(n + 7);
	unknown.sin_addr.s_addr = htonl(0x0b000001);
	int *pick = malloc((size_t)rounds * sizeof *pick);
	for (int r = 0; r < rounds; r++)
		pick[r] = (int)(next() % (uint32_t)n);
	size_t found = 0;
	double t0 = cpu_ns();
	for (int r = 0; r < rounds; r++)
		found += scan_address(p, n, (struct sockaddr *)&p[pick[r]].addr) == &p[pick[r]];
	double scan_addr = (cpu_ns() - t0) / rounds;
	t0 = cpu_ns();
	for (int r = 0; r < rounds; r++)
		found += scan_address(p, n, (struct sockaddr *)&unknown) == NULL;
	double scan_unknown = (cpu_ns() - t0) / rounds;
	t0 = cpu_ns();
	for (int r = 0; r < rounds; r++)
		found += scan_ufrag(p, n, p[pick[r]].check, p[pick[r]].check_len) == &p[pick[r]];
	double scan_uf = (cpu_ns() - t0) / rounds;
	int hr = rounds * 100;
	t0 = cpu_ns();
	for (int r = 0; r < hr; r++) {
		int i = pick[r % rounds];
		found += ice_server_route(s, rtp, sizeof rtp, (struct sockaddr *)&p[i].addr) == &p[i];
	}
	double hash_addr = (cpu_ns() - t0) / hr;
	t0 = cpu_ns();
	for (int r = 0; r < hr; r++)
		found += ice_server_route(s, rtp, sizeof rtp, (struct sockaddr *)&unknown) == NULL;
	double hash_unknown = (cpu_ns() - t0) / hr;
	t0 = cpu_ns();
	for (int r = 0; r < hr; r++) {
		int i = pick[r % rounds];
		found += ice_server_route(s, p[i].check, p[i].check_len, (struct sockaddr *)&p[i].addr) ==
			 &p[i];
	}
	double hash_uf = (cpu_ns() - t0) / hr;
	if (found != (size_t)rounds * 3 + (size_t)hr * 3)
		die("lookup results");
	printf("\n| lookup at %d transports | before: scan (µs) | after: hash (µs) | ratio |\n"
	       "|---|---|---|---|\n", n);
	printf("| media datagram, by tuple | %.2f | %.3f | %.0f× |\n", scan_addr / 1e3, hash_addr / 1e3,
	       scan_addr / hash_addr);
	printf("| unknown source | %.2f | %.3f | %.0f× |\n", scan_unknown / 1e3, hash_unknown / 1e3,
	       scan_unknown / hash_unknown);
	printf("| STUN check, by ufrag (parse included) | %.2f | %.3f | %.0f× |\n", scan_uf / 1e3,
	       hash_uf / 1e3, scan_uf / hash_uf);

	/* The loop's "when next": every transport asked, or the heap's first entry. */
	deadline_heap *h = deadline_heap_create();
	struct deadline_node *nodes = calloc((size_t)n, sizeof *nodes);
	for (int i = 0; i < n; i++) {
		deadline_node_init(&nodes[i], &p[i]);
		deadline_set(h, &nodes[i], transport_next_deadline(p[i].t, 0));
	}
	int64_t sink = 0;
	t0 = cpu_ns();
	for (int r = 0; r < rounds; r++) {
		int64_t due = INT64_MAX;
		for (int i = 0; i < n; i++) {
			int64_t d = transport_next_deadline(p[i].t, 0);
			due = d < due ? d : due;
		}
		sink += due;
	}
	double scan_due = (cpu_ns() - t0) / rounds;
	t0 = cpu_ns();
	for (int r = 0; r < hr; r++) {
		sink += deadline_next(h);
		int i = pick[r % rounds]; /* and one transport's deadline moves, as after a datagram */
		deadline_set(h, &nodes[i], nodes[i].due + 1);
	}
	double heap_due = (cpu_ns() - t0) / hr;
	printf("| next deadline (+ one move, after) | %.2f | %.3f | %.0f× |\n", scan_due / 1e3,
	       heap_due / 1e3, scan_due / heap_due);
	if (sink == 42)
		printf("\n");
	deadline_heap_destroy(h);
	free(nodes);
	for (int i = 0; i < n; i++)
		transport_free(p[i].t);
	free(p);
	free(pick);
	ice_server_destroy(s);
	dtls_ctx_free(dtls);
	dtls_cert_free(cert);
}

/* ---- 3: forwarding --------------------------------------------------------------- */

struct listener {
	srtpx *srtp;
	uint64_t bytes;
	int room;
};

static void count_only(void *ctx, const uint8_t *pkt, size_t len, int64_t now)
{
	(void)pkt; (void)now;
	((struct listener *)ctx)->bytes += len;
}

/* What a local consumer does before sendmmsg: one copy, the payload type, SRTP. */
static void copy_protect(void *ctx, const uint8_t *pkt, size_t len, int64_t now)
{
	(void)now;
	struct listener *l = ctx;
	uint8_t out[1500 + SRTPX_TRAILER];
	memcpy(out, pkt, len);
	out[1] = (uint8_t)((out[1] & 0x80) | 111);
	if (srtpx_protect_rtp(l->srtp, out, &len, sizeof out) != SRTPX_OK)
		die("protect");
	l->bytes += len;
}

static const struct media_consumer_iface iface_count = { count_only };
static const struct media_consumer_iface iface_protect = { copy_protect };

static srtpx *make_srtp(int i)
{
	struct dtls_srtp_keys k = { .profile = DTLS_SRTP_AES128_CM_SHA1_80, .key_len = 16,
				    .salt_len = 14 };
	for (int b = 0; b < 30; b++) {
		k.local[b] = (uint8_t)(i * 31 + b * 7 + 1);
		k.remote[b] = (uint8_t)(i * 17 + b * 3 + 2);
	}
	srtpx *s = srtpx_create(&k);
	if (!s)
		die("srtpx_create");
	return s;
}

static double forward_run(media_producer *p, int packets, uint16_t *seq)
{
	uint8_t pkt[12 + 80] = { 0x80, 111 };
	double t0 = cpu_ns();
	for (int k = 0; k < packets; k++) {
		(*seq)++;
		pkt[2] = (uint8_t)(*seq >> 8);
		pkt[3] = (uint8_t)*seq;
		uint32_t ts = (uint32_t)*seq * 960;
		pkt[4] = (uint8_t)(ts >> 24); pkt[5] = (uint8_t)(ts >> 16);
		pkt[6] = (uint8_t)(ts >> 8); pkt[7] = (uint8_t)ts;
		pkt[11] = 9;
		struct rtp_hdr h;
		if (rtp_parse(pkt, sizeof pkt, 0, &h) != RTP_OK)
			die("rtp_parse");
		media_producer_receive(p, pkt, sizeof pkt, &h, (int64_t)*seq * 20);
	}
	return cpu_ns() - t0;
}

/* The old fan-out: every audio connection of every room, filtered by room. */
static double global_walk(struct listener *all, int total, int room, int packets)
{
	uint64_t hits = 0;
	double t0 = cpu_ns();
	for (int k = 0; k < packets; k++)
		for (int i = 0; i < total; i++)
			if (all[i].room == room && all[i].srtp) {
				all[i].bytes += 92;
				hits++;
			}
	if (hits == 1)
		printf("\n");
	return cpu_ns() - t0;
}

static void bench_forward(int listeners, int rooms, int packets)
{
	int total = listeners * rooms;
	struct listener *all = calloc((size_t)total, sizeof *all);
	media_router *r = media_router_create();
	media_channel *ch = media_channel_create(r, "floor", 0xabcdef01, 0, 0);
	media_consumer **cs = calloc((size_t)listeners, sizeof *cs);
	for (int i = 0; i < total; i++) {
		all[i].room = i % rooms;
		all[i].srtp = make_srtp(i);
	}
	media_producer *p = media_producer_create(ch, 999999, false, NULL, NULL);
	uint16_t seq = 0;
	for (int i = 0; i < listeners; i++)
		cs[i] = media_consumer_create(ch, (uint32_t)i + 1, &iface_count, &all[i * rooms]);
	forward_run(p, packets / 10, &seq); /* warm up */
	double walk = forward_run(p, packets, &seq) / ((double)packets * listeners);
	for (int i = 0; i < listeners; i++) {
		media_consumer_destroy(cs[i]);
		cs[i] = media_consumer_create(ch, (uint32_t)i + 1, &iface_protect, &all[i * rooms]);
	}
	forward_run(p, packets / 10, &seq);
	double full = forward_run(p, packets, &seq) / ((double)packets * listeners);
	double old = global_walk(all, total, 0, packets) / ((double)packets * listeners);
	printf("\n| forwarding, %d listeners in a room (%d rooms, %d audio connections) | ns per "
	       "listener per packet |\n|---|---|\n", listeners, rooms, total);
	printf("| before: one global list filtered by room (the filter alone) | %.1f |\n", old);
	printf("| after: the channel's dense array, consumer counts only | %.1f |\n", walk);
	printf("| after: walk + copy + SRTP protect (AES-CM/HMAC-SHA1-80) | %.1f |\n", full);
	printf("| listeners per core at 50 packets/s, walk + protect (no send) | %.0f |\n",
	       1e9 / (full * 50));
	media_router_destroy(r);
	for (int i = 0; i < total; i++)
		srtpx_free(all[i].srtp);
	free(all);
	free(cs);
}

/* ---- 4: recording ---------------------------------------------------------------- */

static void discard(void *ctx, const uint8_t *buf, size_t len)
{
	*(size_t *)ctx += len;
	(void)buf;
}

static void bench_recording(int seconds)
{
	int err, frames = seconds * 50;
	OpusEncoder *src = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	if (!src)
		die("encoder");
	(void)opus_encoder_ctl(src, OPUS_SET_BITRATE(32000));
	uint8_t (*pkts)[400] = malloc((size_t)frames * 400);
	int *lens = malloc((size_t)frames * sizeof *lens);
	float pcm[960];
	double phase = 0;
	for (int f = 0; f < frames; f++) {
		for (int i = 0; i < 960; i++) { /* a gliding voiced tone with a syllable envelope */
			double t = (f * 960 + i) / 48000.0;
			phase += 2 * M_PI * (140 + 30 * sin(2 * M_PI * 0.7 * t)) / 48000.0;
			pcm[i] = (float)(0.3 * (0.5 + 0.5 * sin(2 * M_PI * 4 * t)) *
					 (sin(phase) + 0.4 * sin(2 * phase) + 0.2 * sin(3 * phase)));
		}
		lens[f] = opus_encode_float(src, pcm, 960, pkts[f], 400);
		if (lens[f] <= 0)
			die("encode");
	}
	opus_encoder_destroy(src);
	int64_t t0ms = 1700000000000;
	/* After: muxing. */
	size_t bytes_after = 0;
	struct oggrec_sink sink = { discard, &bytes_after };
	oggrec *rec = oggrec_create(&sink, t0ms, "bench", "bench");
	if (!rec)
		die("oggrec_create");
	double t0 = cpu_ns();
	for (int f = 0; f < frames; f++)
		if (oggrec_opus(rec, t0ms + 20 * (f + 1), (uint16_t)f, pkts[f], (size_t)lens[f]) !=
		    OGGREC_OK)
			die("oggrec_opus");
	oggrec_finish(rec, t0ms + 20 * frames);
	double after = cpu_ns() - t0;
	/* Before: what each forwarded packet cost the recording (decode, then encode again). */
	OpusDecoder *dec = opus_decoder_create(48000, 1, &err);
	OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	if (!dec || !enc)
		die("codec");
	(void)opus_encoder_ctl(enc, OPUS_SET_BITRATE(32000));
	(void)opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(9));
	(void)opus_encoder_ctl(enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
	uint8_t out[400];
	size_t bytes_before = 0;
	t0 = cpu_ns();
	for (int f = 0; f < frames; f++) {
		int n = opus_decode_float(dec, pkts[f], lens[f], pcm, 960, 0);
		int len = n > 0 ? opus_encode_float(enc, pcm, n, out, sizeof out) : -1;
		if (len <= 0)
			die("transcode");
		bytes_before += (size_t)len;
	}
	double before = cpu_ns() - t0;
	opus_decoder_destroy(dec);
	opus_encoder_destroy(enc);
	printf("\n| recording one room, %d s of forwarded speech | CPU per second of audio | share "
	       "of a core | file bytes |\n|---|---|---|---|\n", seconds);
	printf("| before: decode + encode each packet (libopus, complexity 9) | %.1f µs | %.3f %% | "
	       "%zu (payload only) |\n", before / seconds / 1e3, before / seconds / 1e7, bytes_before);
	printf("| after: mux into Ogg (libogg) | %.1f µs | %.4f %% | %zu |\n", after / seconds / 1e3,
	       after / seconds / 1e7, bytes_after);
	printf("| ratio | %.0f× | | |\n", before / after);
	free(pkts);
	free(lens);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 5000;
	int listeners = argc > 2 ? atoi(argv[2]) : 1000;
	int seconds = argc > 3 ? atoi(argv[3]) : 60;
	if (n < 1 || listeners < 1 || seconds < 1) {
		fprintf(stderr, "usage: media_bench [transports] [listeners] [recording seconds]\n");
		return 2;
	}
	bench_lookups(n, 2000);
	bench_forward(listeners, 5, 2000);
	bench_recording(seconds);
	return 0;
}
