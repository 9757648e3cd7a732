/*
 * mix_bench: what the mixer and the delivery of its output cost in CPU.
 *
 * Part 1 times mixer_tick() with 2, 4 and 8 speakers, every one listening
 * (so one mix plus one mix-minus encoded per speaker), and the same
 * speakers not listening (the mix alone: decoding and summing). The input
 * is a speech-like signal (a gliding voiced pitch with formant-shaped
 * harmonics, a syllable-rate envelope and some noise), different for each
 * speaker, encoded at 32 kbit/s beforehand so only the mixer is timed.
 *
 * Part 2 times what each listener costs once a mix packet exists: the
 * copy with an RTP header, SRTP protect with that listener's own session
 * (made-up keys), and sendto() to a UDP socket on 127.0.0.1 that this
 * program binds and drains itself. Each stage is timed alone, cumulatively.
 * Protect is timed with srtpx (its own outbound code) and with libsrtp2
 * used directly, in both profiles, so the two compare within one run.
 *
 * CPU time is CLOCK_PROCESS_CPUTIME_ID, so loopback's receive path, which
 * the kernel runs in the sender's context, is charged to sendto().
 *
 *   mix_bench [ticks] [listeners] [delivery_ticks]   (defaults 3000 1000 50)
 */
#include "mixer.h"
#include "srtpx.h"
#include "udpbatch.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <math.h>
#include <netinet/in.h>
#include <opus/opus.h>
#include <srtp2/srtp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PI 3.14159265358979323846
#define CLIP_FRAMES 250           /* 5 s of input per speaker, looped */
#define MAX_SPEAKERS 8
#define WARMUP_TICKS 50
#define RTP_HDR 12

struct clip {
	uint8_t pkt[CLIP_FRAMES][MIXER_MAX_PACKET];
	size_t len[CLIP_FRAMES];
	double bytes;
};

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* A voiced sound: harmonics of a gliding pitch, louder near two formants. */
static double voice(double f0, double *phase)
{
	*phase += 2 * PI * f0 / MIXER_RATE;
	double x = 0;
	for (int k = 1; k * f0 < 4000; k++) {
		double f = k * f0;
		double g = exp(-pow((f - 600) / 250, 2)) + 0.6 * exp(-pow((f - 1700) / 400, 2)) + 0.05;
		x += g / k * sin(k * *phase);
	}
	return x;
}

/* Speaker s's speech-like input, encoded at 32 kbit/s in 20 ms frames. */
static void make_clip(struct clip *c, int s)
{
	int err;
	OpusEncoder *e = opus_encoder_create(MIXER_RATE, 1, OPUS_APPLICATION_VOIP, &err);
	if (!e)
		die("opus_encoder_create");
	if (opus_encoder_ctl(e, OPUS_SET_BITRATE(32000)) != OPUS_OK ||
	    opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(1)) != OPUS_OK ||
	    opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(5)) != OPUS_OK)
		die("opus_encoder_ctl");
	double phase = 0, base = 95 + 17 * s;
	uint32_t noise = 0x9e3779b9u * (uint32_t)(s + 1);
	c->bytes = 0;
	for (int i = 0; i < CLIP_FRAMES; i++) {
		float pcm[MIXER_FRAME];
		for (int j = 0; j < MIXER_FRAME; j++) {
			double t = (double)(i * MIXER_FRAME + j) / MIXER_RATE;
			double f0 = base * (1 + 0.15 * sin(2 * PI * 0.7 * t + s));
			double env = 0.5 * (1 + sin(2 * PI * (3.1 + 0.3 * s) * t));
			noise = noise * 1664525u + 1013904223u;
			double n = ((double)(noise >> 8) / (1 << 24) - 0.5) * 0.02;
			pcm[j] = (float)(0.12 * env * voice(f0, &phase) + n);
		}
		int len = opus_encode_float(e, pcm, MIXER_FRAME, c->pkt[i], MIXER_MAX_PACKET);
		if (len <= 0)
			die("opus_encode_float");
		c->len[i] = (size_t)len;
		c->bytes += len;
	}
	opus_encoder_destroy(e);
}

/* ---- part 1: the tick ----------------------------------------------------------- */

struct tick_result {
	double us_per_tick;
	double encodes_per_tick;
	double mix_bytes;
};

/* ticks of n speakers, each pushing its next frame before every tick. */
static struct tick_result time_ticks(const struct clip *clips, int n, bool listen, int ticks)
{
	mixer *m = mixer_create(NULL);
	if (!m)
		die("mixer_create");
	for (int s = 0; s < n; s++)
		if (mixer_add(m, (uint32_t)s + 1, listen) != MIXER_OK)
			die("mixer_add");
	struct tick_result r = { 0, 0, 0 };
	double start = 0;
	uint64_t encoded0 = 0;
	for (int k = 0; k < WARMUP_TICKS + ticks; k++) {
		if (k == WARMUP_TICKS) {
			start = cpu_us();
			encoded0 = mixer_stats(m)->encoded;
		}
		int64_t now = 20 * (int64_t)k;
		int f = k % CLIP_FRAMES;
		for (int s = 0; s < n; s++)
			if (mixer_push(m, (uint32_t)s + 1, (uint16_t)k, (uint32_t)k * MIXER_FRAME,
				       clips[s].pkt[f], clips[s].len[f], now) != MIXER_OK)
				die("mixer_push");
		struct mixer_out o;
		if (mixer_tick(m, now, &o) != MIXER_OK)
			die("mixer_tick");
		if (k >= WARMUP_TICKS)
			r.mix_bytes += (double)o.mix_len;
	}
	r.us_per_tick = (cpu_us() - start) / ticks;
	r.encodes_per_tick = (double)(mixer_stats(m)->encoded - encoded0) / ticks;
	r.mix_bytes /= ticks;
	const struct mixer_stats *st = mixer_stats(m);
	if (st->concealed || st->late || st->bad)
		fprintf(stderr, "warning: %d speakers: %llu concealed %llu late %llu bad\n", n,
			(unsigned long long)st->concealed, (unsigned long long)st->late,
			(unsigned long long)st->bad);
	mixer_destroy(m);
	return r;
}

/*
 * One row per size: every speaker listening (a mix and n mix-minus
 * encodes), then none (the mix alone); their difference over n is what one
 * mix-minus costs.
 */
static void part_ticks(const struct clip *clips, int ticks)
{
	static const int sizes[] = { 2, 4, 8 };
	printf("mixer_tick, %d ticks (%.0f s of audio) after %d to warm up; CPU time per tick\n\n",
	       ticks, ticks * MIXER_FRAME_MS / 1000.0, WARMUP_TICKS);
	printf("| speakers | encodes/tick | µs/tick, all listen | vs 2 | share of 20 ms "
	       "| µs/tick, none listen | share of 20 ms | µs per mix-minus | mix kbit/s |\n");
	printf("|---|---|---|---|---|---|---|---|---|\n");
	double base = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		int n = sizes[i];
		struct tick_result all = time_ticks(clips, n, true, ticks);
		struct tick_result none = time_ticks(clips, n, false, ticks);
		if (i == 0)
			base = all.us_per_tick;
		printf("| %d | %.0f | %.1f | %.2f× | %.2f %% | %.1f | %.2f %% | %.1f | %.1f |\n", n,
		       all.encodes_per_tick, all.us_per_tick, all.us_per_tick / base,
		       all.us_per_tick / (MIXER_FRAME_MS * 10.0), none.us_per_tick,
		       none.us_per_tick / (MIXER_FRAME_MS * 10.0),
		       (all.us_per_tick - none.us_per_tick) / n, all.mix_bytes * 8 / MIXER_FRAME_MS);
	}
	printf("\n");
}

/* ---- part 2: delivery to listeners ---------------------------------------------- */

/*
 * Who protects: srtpx (its own OpenSSL code for outbound RTP) or libsrtp2
 * used directly, as srtpx did before, for comparison in the same run.
 */
enum impl { IMPL_SRTPX, IMPL_LIBSRTP2 };

struct delivery {
	int n;
	enum impl impl;
	void **sess;                /* srtpx * or srtp_t, one per listener */
	int tx, rx;                 /* sender socket; the loopback sink it sends to */
	struct sockaddr_in to;
	uint8_t buf[RTP_HDR + MIXER_MAX_PACKET + SRTPX_TRAILER];
	uint64_t protect_failed, send_failed;
	struct udpbatch *batch;     /* the server's way: sendmmsg() in batches */
};

/* Made-up but distinct keys per listener. */
static void make_keys(struct dtls_srtp_keys *k, enum dtls_srtp_profile profile, int i)
{
	memset(k, 0, sizeof *k);
	k->profile = profile;
	k->key_len = 16;
	k->salt_len = profile == DTLS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
	for (int b = 0; b < 30; b++) {
		k->local[b] = (uint8_t)(i * 31 + b * 7 + 1);
		k->remote[b] = (uint8_t)(i * 17 + b * 3 + 2);
	}
}

static void *make_session(enum impl impl, enum dtls_srtp_profile profile, int i)
{
	struct dtls_srtp_keys k;
	make_keys(&k, profile, i);
	if (impl == IMPL_SRTPX) {
		srtpx *s = srtpx_create(&k);
		if (!s)
			die("srtpx_create");
		return s;
	}
	srtp_policy_t pol;
	srtpx_policy(&pol, profile, k.local, ssrc_any_outbound);
	srtp_t s;
	if (srtp_create(&s, &pol) != srtp_err_status_ok)
		die("srtp_create");
	return s;
}

/* Heap bytes per session (glibc's count of allocated bytes), sessions left in d. */
static double make_sessions(struct delivery *d, enum impl impl, enum dtls_srtp_profile profile)
{
	d->impl = impl;
	struct mallinfo2 before = mallinfo2();
	for (int i = 0; i < d->n; i++)
		d->sess[i] = make_session(impl, profile, i);
	return (double)(mallinfo2().uordblks - before.uordblks) / d->n;
}

static void free_sessions(struct delivery *d)
{
	for (int i = 0; i < d->n; i++) {
		if (d->impl == IMPL_SRTPX)
			srtpx_free(d->sess[i]);
		else
			srtp_dealloc(d->sess[i]);
	}
}

static int protect(struct delivery *d, int i, size_t *n)
{
	if (d->impl == IMPL_SRTPX)
		return srtpx_protect_rtp(d->sess[i], d->buf, n, sizeof d->buf) == SRTPX_OK;
	int len = (int)*n;
	int ok = srtp_protect(d->sess[i], d->buf, &len) == srtp_err_status_ok;
	*n = (size_t)len;
	return ok;
}

static void open_sockets(struct delivery *d)
{
	d->rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	d->tx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (d->rx < 0 || d->tx < 0)
		die("socket");
	int big = 8 << 20;
	(void)setsockopt(d->rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	(void)setsockopt(d->tx, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	memset(&d->to, 0, sizeof d->to);
	d->to.sin_family = AF_INET;
	d->to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(d->rx, (struct sockaddr *)&d->to, sizeof d->to) < 0)
		die("bind");
	socklen_t alen = sizeof d->to;
	if (getsockname(d->rx, (struct sockaddr *)&d->to, &alen) < 0)
		die("getsockname");
}

/* Empties the sink between ticks, outside the timed part. */
static uint64_t drain(int fd)
{
	uint8_t b[2048];
	uint64_t n = 0;
	while (recv(fd, b, sizeof b, 0) > 0)
		n++;
	return n;
}

static void put_header(uint8_t *p, uint16_t seq, uint32_t ts)
{
	p[0] = 0x80;
	p[1] = 111;
	p[2] = (uint8_t)(seq >> 8);
	p[3] = (uint8_t)seq;
	for (int i = 0; i < 4; i++) {
		p[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
		p[8 + i] = (uint8_t)(0x5eed0001u >> (24 - 8 * i));
	}
}

enum stage { STAGE_COPY, STAGE_SRTP, STAGE_SEND, STAGE_BATCH };

/* One packet to every listener, up to the given stage; seq must be new per session. */
static void deliver(struct delivery *d, const uint8_t *pkt, size_t len, uint16_t seq,
		    enum stage upto)
{
	for (int i = 0; i < d->n; i++) {
		put_header(d->buf, seq, (uint32_t)seq * MIXER_FRAME);
		memcpy(d->buf + RTP_HDR, pkt, len);
		size_t n = RTP_HDR + len;
		if (upto == STAGE_COPY)
			continue;
		if (!protect(d, i, &n)) {
			d->protect_failed++;
			continue;
		}
		if (upto == STAGE_SEND &&
		    sendto(d->tx, d->buf, n, 0, (struct sockaddr *)&d->to, sizeof d->to) != (ssize_t)n)
			d->send_failed++;
		if (upto == STAGE_BATCH)
			udpbatch_add(d->batch, (struct sockaddr *)&d->to, sizeof d->to, d->buf, n);
	}
	if (upto == STAGE_BATCH)
		d->send_failed += (uint64_t)udpbatch_flush(d->batch);
}

/* A real mix packet: ten ticks into a mix of one speaker. */
static size_t mix_packet(const struct clip *clip, uint8_t pkt[MIXER_MAX_PACKET])
{
	mixer *m = mixer_create(NULL);
	if (!m || mixer_add(m, 1, false) != MIXER_OK)
		die("mixer");
	size_t len = 0;
	for (int k = 0; k < 10; k++) {
		struct mixer_out o;
		if (mixer_push(m, 1, (uint16_t)k, (uint32_t)k * MIXER_FRAME, clip->pkt[k],
			       clip->len[k], 20 * k) != MIXER_OK || mixer_tick(m, 20 * k, &o) != MIXER_OK)
			die("mixer");
		memcpy(pkt, o.mix, o.mix_len);
		len = o.mix_len;
	}
	mixer_destroy(m);
	return len;
}

struct row {
	const char *name;
	enum stage stage;
	enum impl impl;
	enum dtls_srtp_profile profile;
};

static const struct row rows[] = {
	{ "copy + RTP header", STAGE_COPY, IMPL_SRTPX, DTLS_SRTP_AES128_CM_SHA1_80 },
	{ "+ SRTP protect, srtpx, AES-CM/HMAC-SHA1-80", STAGE_SRTP, IMPL_SRTPX,
	  DTLS_SRTP_AES128_CM_SHA1_80 },
	{ "+ SRTP protect, srtpx, AES-128-GCM", STAGE_SRTP, IMPL_SRTPX, DTLS_SRTP_AEAD_AES_128_GCM },
	{ "+ SRTP protect, libsrtp2, AES-CM/HMAC-SHA1-80", STAGE_SRTP, IMPL_LIBSRTP2,
	  DTLS_SRTP_AES128_CM_SHA1_80 },
	{ "+ SRTP protect, libsrtp2, AES-128-GCM", STAGE_SRTP, IMPL_LIBSRTP2,
	  DTLS_SRTP_AEAD_AES_128_GCM },
	{ "+ sendto (loopback), after srtpx AES-CM", STAGE_SEND, IMPL_SRTPX,
	  DTLS_SRTP_AES128_CM_SHA1_80 },
	{ "+ sendmmsg, 64 a call (loopback), after srtpx AES-CM", STAGE_BATCH, IMPL_SRTPX,
	  DTLS_SRTP_AES128_CM_SHA1_80 },
};

/*
 * Each row gets fresh sessions for every listener (so only one row's
 * sessions exist at a time), one untimed pass to warm up, then ticks timed.
 */
static void part_delivery(const struct clip *clip, int listeners, int ticks)
{
	if (srtpx_init() != SRTPX_OK)
		die("srtpx_init");
	static struct udpbatch batch;
	struct delivery d = { .n = listeners, .batch = &batch };
	d.sess = calloc((size_t)listeners, sizeof *d.sess);
	if (!d.sess)
		die("calloc");
	open_sockets(&d);
	udpbatch_init(d.batch, d.tx);
	uint8_t pkt[MIXER_MAX_PACKET];
	size_t len = mix_packet(clip, pkt);

	printf("delivery of one %zu-byte mix packet to %d listeners, %d ticks per stage "
	       "(%d packets); CPU time\n\n", len, listeners, ticks, listeners * ticks);
	printf("| stage (cumulative) | µs per listener per packet | ms per tick for %d | "
	       "share of 20 ms | heap per session |\n|---|---|---|---|---|\n", listeners);
	uint16_t seq = 1;
	uint64_t received = 0;
	for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
		double heap = make_sessions(&d, rows[r].impl, rows[r].profile);
		deliver(&d, pkt, len, seq++, rows[r].stage); /* warm */
		received += drain(d.rx);
		double spent = 0;
		for (int k = 0; k < ticks; k++) {
			double t0 = cpu_us();
			deliver(&d, pkt, len, seq++, rows[r].stage);
			spent += cpu_us() - t0;
			received += drain(d.rx);
		}
		free_sessions(&d);
		double per = spent / ((double)ticks * listeners);
		printf("| %s | %.2f | %.2f | %.1f %% | %.0f KB |\n", rows[r].name, per,
		       per * listeners / 1000, per * listeners / (MIXER_FRAME_MS * 1000.0) * 100,
		       heap / 1024);
	}
	printf("\nreceived %llu on loopback; %llu protect and %llu send failures\n\n",
	       (unsigned long long)received, (unsigned long long)d.protect_failed,
	       (unsigned long long)d.send_failed);
	free(d.sess);
	close(d.rx);
	close(d.tx);
}

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 3000;
	int listeners = argc > 2 ? atoi(argv[2]) : 1000;
	int dticks = argc > 3 ? atoi(argv[3]) : 50;
	if (ticks <= 0 || listeners <= 0 || dticks <= 0) {
		fprintf(stderr, "usage: mix_bench [ticks] [listeners] [delivery_ticks]\n");
		return 2;
	}
	static struct clip clips[MAX_SPEAKERS];
	double bytes = 0;
	for (int s = 0; s < MAX_SPEAKERS; s++) {
		make_clip(&clips[s], s);
		bytes += clips[s].bytes;
	}
	printf("input: %d speakers, speech-like, %.1f kbit/s average (%s)\n\n", MAX_SPEAKERS,
	       bytes * 8 / (MAX_SPEAKERS * CLIP_FRAMES * MIXER_FRAME_MS), opus_get_version_string());
	part_ticks(clips, ticks);
	part_delivery(&clips[0], listeners, dticks);
	return 0;
}
