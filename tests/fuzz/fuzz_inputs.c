/*
 * A seeded mutational fuzzer for everything that reads outside input: signaling
 * messages through the whole hub (floor and captions included), caption URL
 * pushes, join tokens, configuration files, journal images, media-port
 * datagrams (STUN and RTP), ICE-TCP byte streams, and Opus payloads into
 * the mixer and the recording. Built with
 * ASan+UBSan; any crash, leak or undefined behaviour fails the run. The seed
 * is printed, and argv[1] replays one; argv[2] sets the iteration count.
 */
#include "caption.h"
#include "config.h"
#include "hub.h"
#include "journal.h"
#include "metrics.h"
#include "mixer.h"
#include "oggrec.h"
#include "rtp.h"
#include "stun.h"
#include "tcplink.h"
#include "token.h"

#include <opus/opus.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;
static long outcomes; /* results are only tallied: any answer is fine, a crash is not */

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

#define MAX_CORPUS 128
static char *corpus[MAX_CORPUS];
static size_t n_corpus;

static void load_corpus(void)
{
	const char *src = getenv("ROSTRUM_SOURCE");
	char dir[1024];
	snprintf(dir, sizeof dir, "%s/protocol/examples", src ? src : ".");
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) && n_corpus < MAX_CORPUS) {
		if (strncmp(e->d_name, "client.", 7) != 0)
			continue;
		char path[2048];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		json_t *j = json_load_file(path, 0, NULL);
		if (j)
			corpus[n_corpus++] = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	if (d)
		closedir(d);
}

/* One random edit: flip, insert, delete, duplicate a span, or splice in a token. */
static size_t mutate(char *buf, size_t len, size_t cap)
{
	static const char *const tokens[] = { "\"", "{", "}", "[", "]", ",", ":", "null", "-1",
		"1e309", "\"\\u0000\"", "\"floor.grant\"", "\"caption.final\"", "\"join\"",
		"\"plenary\"", "99999999999999999999", "\xff\xfe", "\\", "\"request\":1" };
	size_t at = len ? rnd() % len : 0;
	switch (rnd() % 5) {
	case 0:
		if (len)
			buf[at] ^= (char)(1u << (rnd() % 8));
		break;
	case 1:
		if (len < cap) {
			memmove(buf + at + 1, buf + at, len - at);
			buf[at] = (char)rnd();
			len++;
		}
		break;
	case 2:
		if (len) {
			size_t n = 1 + rnd() % (len - at);
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
		}
		break;
	case 3: {
		size_t n = len ? rnd() % (len - at + 1) : 0;
		if (len + n <= cap) {
			memmove(buf + at + n, buf + at, len - at);
			len += n;
		}
		break;
	}
	default: {
		const char *t = tokens[rnd() % RS_ARRAY_LEN(tokens)];
		size_t n = strlen(t);
		if (len + n <= cap) {
			memmove(buf + at + n, buf + at, len - at);
			memcpy(buf + at, t, n);
			len += n;
		}
	}
	}
	return len;
}

static int fake_send(void *ctx, void *t, rs_msg *m) { (void)ctx; (void)t; (void)m; return 0; }
static void fake_close(void *ctx, void *t, int c, const char *r) { (void)ctx; (void)t; (void)c; (void)r; }

static void fuzz_hub(long iters)
{
	struct rs_config cfg;
	config_default(&cfg);
	char err[256];
	if (config_parse(&cfg, "{\"limits\":{\"rate_per_sec\":10000,\"rate_burst\":10000},"
			       "\"rooms\":[{\"id\":\"plenary\",\"open\":true,\"policy\":{\"floor\":"
			       "{\"limit_s\":1,\"warn_s\":1}}}]}", err, sizeof err))
		abort();
	uint8_t secret[TOKEN_SECRET_LEN] = { 7 };
	recorder *rec = recorder_create("/nonexistent", NULL);
	struct hub_io io = { .send = fake_send, .close = fake_close };
	hub *h = hub_create(&cfg, secret, &io, rec);
	struct token_claims mod = { .role = RS_ROLE_MODERATOR };
	strcpy(mod.room, "plenary");
	mod.attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	strcpy(mod.attrs.name, "Chair");
	char *mtok = token_issue(secret, &mod);
	hub_conn *conns[6];
	int x[6];
	int64_t now = 1700000000000;
	for (int i = 0; i < 6; i++) {
		conns[i] = hub_conn_open(h, &x[i], now);
		char j[4096];
		if (i == 0)
			snprintf(j, sizeof j, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"token\":\"%s\"}", mtok);
		else
			snprintf(j, sizeof j, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"P%d\"}", i);
		hub_conn_input(h, conns[i], j, strlen(j), now);
	}
	char buf[8192];
	for (long k = 0; k < iters; k++) {
		const char *seed = corpus[rnd() % n_corpus];
		size_t len = strlen(seed);
		memcpy(buf, seed, len);
		for (int m = (int)(rnd() % 4); m > 0; m--)
			len = mutate(buf, len, sizeof buf);
		int who = (int)(rnd() % 6);
		now += (int64_t)(rnd() % 500);
		hub_conn_input(h, conns[who], buf, len, now);
		if (hub_next_deadline(h) <= now)
			hub_tick(h, now);
		if (rnd() % 5000 == 0) { /* someone reconnects */
			hub_conn_closed(h, conns[who], now);
			conns[who] = hub_conn_open(h, &x[who], now);
		}
	}
	for (int i = 0; i < 6; i++)
		hub_conn_closed(h, conns[i], now);
	free(mtok);
	hub_destroy(h);
	recorder_destroy(rec);
	config_free(&cfg);
}

static void fuzz_caption_push(long iters)
{
	int err;
	caption_room *cr = caption_room_create("en", NULL, &err);
	struct caption_who who = { .id = "t:x", .name = "Cap", .via = CAPTION_VIA_HTTP };
	char body[2048], seq[32], lang[16];
	int64_t now = 1000;
	for (long k = 0; k < iters; k++) {
		size_t n = rnd() % sizeof body;
		for (size_t i = 0; i < n; i++)
			body[i] = (char)(rnd() % 4 ? 'a' + rnd() % 26 : rnd());
		snprintf(seq, sizeof seq, "%lld", (long long)(rnd() % 3000) - 5);
		snprintf(lang, sizeof lang, "%s", rnd() % 2 ? "en" : "zz-\xff");
		struct caption_push p = { .seq = seq, .lang = lang, .body = body, .body_len = n };
		int64_t ack;
		now += (int64_t)(rnd() % 3000);
		outcomes += caption_room_push(cr, &who, &p, NULL, now, &ack) < 0;
		caption_room_tick(cr, now);
		caption *c;
		while ((c = caption_room_poll(cr)))
			caption_unref(c);
	}
	caption_room_destroy(cr);
}

static void fuzz_tokens_and_config(long iters)
{
	uint8_t secret[TOKEN_SECRET_LEN] = { 1 };
	char buf[4096];
	const char *base = "{\"listen\":\"127.0.0.1:8080\",\"limits\":{\"max_connections\":5},"
			   "\"rooms\":[{\"id\":\"a\",\"open\":true,\"policy\":{\"floor\":{\"order\":"
			   "\"balanced\"},\"captions\":{\"lang\":\"en\"}}}]}";
	for (long k = 0; k < iters; k++) {
		size_t len = strlen(base);
		memcpy(buf, base, len);
		for (int m = 1 + (int)(rnd() % 3); m > 0; m--)
			len = mutate(buf, len, sizeof buf - 1);
		buf[len] = '\0';
		struct rs_config cfg;
		char err[256];
		config_default(&cfg);
		outcomes += config_parse(&cfg, buf, err, sizeof err) < 0;
		config_free(&cfg);
		struct token_claims out;
		outcomes += token_verify(secret, buf, 0, &out) < 0;
	}
}

static void fuzz_journal(long iters)
{
	uint8_t img[4096];
	journal_header(img);
	size_t len = JOURNAL_HEADER_LEN, n;
	for (int i = 0; i < 20; i++)
		if (journal_encode("{\"kind\":\"x\"}", 12, img + len, sizeof img - len, &n) == JOURNAL_OK)
			len += n;
	uint8_t work[4096];
	for (long k = 0; k < iters; k++) {
		memcpy(work, img, len);
		size_t l = len;
		for (int m = (int)(rnd() % 4); m >= 0; m--)
			l = mutate((char *)work, l, sizeof work);
		size_t good;
		outcomes += journal_scan(work, l, NULL, NULL, &good) != JOURNAL_OK;
	}
}

/* Datagrams as they arrive on the media port: mutated STUN and RTP, and plain noise. */
static void fuzz_packets(long iters)
{
	static const uint8_t stun_req[] = {
		0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
		0x00, 0x06, 0x00, 0x03, 'a', ':', 'b', 0 };
	static const uint8_t rtp_pkt[] = { 0x91, 111, 0, 1, 0, 0, 3, 192, 0, 0, 0, 10, 0xBE, 0xDE,
		0, 1, 0x10, 0x85, 0, 0, 0xcc, 1, 2, 3, 4, 5 };
	struct rtp_rewriter w;
	rtp_rewriter_init(&w, 1, 1, 1, 48000);
	uint8_t buf[1600];
	for (long k = 0; k < iters; k++) {
		size_t len;
		if (k % 3 == 0) {
			len = sizeof stun_req;
			memcpy(buf, stun_req, len);
		} else if (k % 3 == 1) {
			len = sizeof rtp_pkt;
			memcpy(buf, rtp_pkt, len);
		} else {
			len = rnd() % sizeof buf;
			for (size_t i = 0; i < len; i++)
				buf[i] = (uint8_t)rnd();
		}
		for (int m = (int)(rnd() % 4); m > 0; m--)
			len = mutate((char *)buf, len, sizeof buf);
		struct stun_msg sm;
		if (stun_parse(buf, len, &sm) == STUN_OK) {
			outcomes += stun_check_integrity(&sm, (const uint8_t *)"pw", 2) != STUN_OK;
			const struct stun_attr *a = stun_find(&sm, STUN_A_XOR_MAPPED_ADDRESS);
			struct sockaddr_storage ss;
			if (a)
				outcomes += stun_xor_address(&sm, a, &ss) != STUN_OK;
		}
		struct rtp_hdr h;
		if (rtp_parse(buf, len, 1, &h) == RTP_OK)
			outcomes += !rtp_rewrite(&w, buf, &h, k);
		else
			outcomes++;
	}
}

static void count_packet(void *ctx, uint8_t *pkt, size_t len, const struct sockaddr *from,
			 socklen_t from_len)
{
	(void)ctx; (void)pkt; (void)from; (void)from_len;
	outcomes += len > 0;
}

/* ICE-TCP streams: framed packets with mutated lengths, cut into reads of any size. */
static void fuzz_tcp_stream(long iters)
{
	tcplink_table *t = tcplink_create(8);
	uint8_t stream[4096];
	for (long k = 0; k < iters; k++) {
		struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = (uint16_t)k };
		int id = tcplink_open(t, k, (struct sockaddr *)&peer, NULL);
		size_t len = 0;
		while (len + 600 < sizeof stream) { /* whole frames first, then damage */
			size_t n = rnd() % 590;
			stream[len] = (uint8_t)(n >> 8);
			stream[len + 1] = (uint8_t)n;
			for (size_t i = 0; i < n; i++)
				stream[len + 2 + i] = (uint8_t)rnd();
			len += 2 + n;
		}
		for (int m = (int)(rnd() % 4); m > 0; m--)
			len = mutate((char *)stream, len, sizeof stream);
		for (size_t off = 0; off < len;) {
			size_t n = 1 + rnd() % 700;
			n = n > len - off ? len - off : n;
			if (tcplink_input(t, id, k, stream + off, n, count_packet, NULL) != TCPLINK_OK) {
				outcomes++;
				break;
			}
			off += n;
		}
		tcplink_close(t, id);
	}
	tcplink_destroy(t);
}

static void no_sink(void *ctx, const uint8_t *buf, size_t len)
{
	(void)ctx; (void)buf; (void)len;
}

/* Opus payloads, real and mutated, into a two-source mix and a recording. */
static void fuzz_audio(long iters)
{
	int err;
	OpusEncoder *enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_VOIP, &err);
	mixer *mx = mixer_create(NULL);
	struct oggrec_sink sink = { no_sink, NULL };
	oggrec *rec = oggrec_create(&sink, 0, "fuzz", "fuzz");
	if (!enc || !mx || !rec || mixer_add(mx, 1, true) != MIXER_OK ||
	    mixer_add(mx, 2, true) != MIXER_OK) {
		fprintf(stderr, "the audio fuzz set-up failed\n");
		exit(1);
	}
	float pcm[960];
	uint8_t pkt[1600];
	struct mixer_out out;
	for (long k = 0; k < iters; k++) {
		for (int i = 0; i < 960; i++)
			pcm[i] = (float)((int)(rnd() % 2001) - 1000) / 4000.0f;
		int n = opus_encode_float(enc, pcm, 960, pkt, 1500);
		size_t len = n > 0 ? (size_t)n : 0;
		for (int m = (int)(rnd() % 3); m > 0; m--)
			len = mutate((char *)pkt, len, sizeof pkt);
		uint16_t seq = (uint16_t)(k + (int)(rnd() % 5) - 2); /* reordered, repeated, lost */
		int64_t now = k * 20;
		outcomes += mixer_push(mx, 1 + (uint32_t)(k & 1), seq, (uint32_t)seq * 960, pkt,
				       len > MIXER_MAX_PACKET ? MIXER_MAX_PACKET : len, now) != MIXER_OK;
		outcomes += oggrec_opus(rec, now, seq, pkt, len) != OGGREC_OK;
		if (k & 1)
			outcomes += mixer_tick(mx, now, &out) != MIXER_OK;
	}
	oggrec_finish(rec, iters * 20);
	mixer_destroy(mx);
	opus_encoder_destroy(enc);
}

int main(int argc, char **argv)
{
	uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 0x5eed1234abcdULL;
	long iters = argc > 2 ? atol(argv[2]) : 200000;
	rng_state = seed ? seed : 1;
	printf("seed %#llx, %ld iterations\n", (unsigned long long)seed, iters);
	load_corpus();
	if (n_corpus < 10) {
		fprintf(stderr, "examples not found (set ROSTRUM_SOURCE)\n");
		return 1;
	}
	rs_log_set_level(RS_LOG_ERR);
	fuzz_hub(iters);
	fuzz_caption_push(iters / 4);
	fuzz_tokens_and_config(iters / 4);
	fuzz_journal(iters);
	fuzz_packets(iters);
	fuzz_tcp_stream(iters / 20);
	fuzz_audio(iters / 50);
	for (size_t i = 0; i < n_corpus; i++)
		free(corpus[i]);
	metrics_reset();
	printf("%ld inputs refused cleanly\n7 passed, 0 failed\n", outcomes);
	return 0;
}
