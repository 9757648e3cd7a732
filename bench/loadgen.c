/*
 * loadgen: simulated meeting participants against a real server, each with
 * its own WebSocket and its own WebRTC connection (ICE, DTLS, SRTP), all on
 * one epoll loop. Speaks Rostrum's protocol or Janus's AudioBridge API.
 *
 *   loadgen --server rostrum|janus --ws HOST:PORT [options]    (see usage())
 *
 * A run: the chair (and captioner) join first; then speakers and listeners
 * join, all at once or at --join-rate a second (a join storm is rate 0);
 * then an idle window with nobody speaking, then --duration seconds with
 * the speakers sending (and captions, and churn), then a report. Server CPU
 * and memory come from /proc/PID when --server-pid is given.
 */
#include "loadgen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define TICK_NS 20000000LL

int64_t lg_mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lg_real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ms(void)
{
	return lg_mono_ns() / 1000000;
}

void lg_sample(struct lg_samples *s, double v)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (!s->v)
			abort();
	}
	s->v[s->n++] = v;
}

struct lg_part *lg_chair(struct lg *g)
{
	return g->parts[0].role == LG_CHAIR ? &g->parts[0] : NULL;
}

static void watch(struct lg *g, struct lg_part *p)
{
	bool out = lg_ws_wants_write(&p->ws);
	if (out == p->watch_out || p->ws.fd < 0)
		return;
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
				  .data.u64 = (uint64_t)p->idx << 1 };
	epoll_ctl(g->ep, EPOLL_CTL_MOD, p->ws.fd, &ev);
	p->watch_out = out;
}

void lg_send_json(struct lg *g, struct lg_part *p, json_t *msg)
{
	char *s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (!s)
		return;
	lg_ws_send(&p->ws, s, strlen(s));
	free(s);
	watch(g, p);
}

void lg_fail(struct lg *g, struct lg_part *p, const char *why)
{
	if (!g->first_error[0])
		snprintf(g->first_error, sizeof g->first_error, "%s", why);
	if (p->phase != LG_P_FAILED && p->phase != LG_P_CLOSED)
		g->failed++;
	p->phase = LG_P_FAILED;
}

/* Adds the current stream's window to the totals (at the end, or when it closes). */
static void account(struct lg *g, struct lg_part *p)
{
	if (p->win_valid && p->ext_max > p->win_base) {
		uint64_t exp = (uint64_t)(p->ext_max - p->win_base), got = p->rx - p->win_rx0;
		g->expected += exp;
		g->received += got < exp ? got : exp;
	}
	p->win_valid = false;
}

static void reset_stream(struct lg_part *p)
{
	p->have_seq = p->win_valid = false;
	p->ext_max = p->win_base = 0;
	p->rx = p->win_rx0 = 0;
}

static void close_part(struct lg *g, struct lg_part *p)
{
	account(g, p);
	lg_ws_close(&p->ws);
	lg_rtc_close(&p->rtc);
	if (p->probe && p->onset.dec)
		lg_onset_free(&p->onset);
	p->watch_out = false;
}

void lg_joined(struct lg *g, struct lg_part *p)
{
	p->join_ns = lg_mono_ns();
	lg_sample(&g->join, (double)(p->join_ns - p->t0_ns) / 1e6);
	p->phase = LG_P_JOINED;
	if (p->role == LG_CHAIR || p->role == LG_CAPTIONER || !g->o.media) {
		p->phase = LG_P_READY;
		p->ready_ns = p->join_ns;
	}
}

const char *lg_offer(struct lg *g, struct lg_part *p)
{
	static char sdp[4096];
	if (lg_rtc_open(&p->rtc, g->dtls, dtls_cert_fingerprint(g->cert), g->o.local_ip,
			(uint32_t)(p->idx * 7919 + p->sessions * 104729) ^ g->seed,
			p->role != LG_LISTENER || p->verify) < 0) {
		lg_fail(g, p, "udp socket");
		return NULL;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)p->idx << 1 | 1 };
	epoll_ctl(g->ep, EPOLL_CTL_ADD, p->rtc.fd, &ev);
	if (lg_rtc_offer(&p->rtc, p->role == LG_SPEAKER, sdp, sizeof sdp) >= (int)sizeof sdp) {
		lg_fail(g, p, "offer too long");
		return NULL;
	}
	return sdp;
}

void lg_answer(struct lg *g, struct lg_part *p, const char *sdp)
{
	if (!sdp || lg_rtc_answer(&p->rtc, sdp, mono_ms()) != 0) {
		lg_fail(g, p, "unusable answer");
		return;
	}
	p->phase = LG_P_OFFERED;
}

/* ---- the stream a listener receives ---- */

static void onset_match(struct lg *g, int64_t stream_ns)
{
	int64_t best = 0;
	for (int s = 0; s < g->o.speakers && s < 16; s++)
		for (int k = 0; k < 8 && k < g->tone_n[s]; k++)
			if (g->tone_ns[s][k] <= stream_ns && g->tone_ns[s][k] > best)
				best = g->tone_ns[s][k];
	if (best && stream_ns - best < 1000000000LL)
		lg_sample(&g->onset, (double)(stream_ns - best) / 1e6);
}

struct rtp_ctx {
	struct lg *g;
	struct lg_part *p;
};

static void on_listener_rtp(void *ctx, const uint8_t *pkt, size_t len, const struct rtp_hdr *h,
			    int64_t rx_ns)
{
	struct rtp_ctx *c = ctx;
	struct lg *g = c->g;
	struct lg_part *p = c->p;
	(void)len;
	int64_t ext;
	if (!p->have_seq) {
		ext = h->seq;
		p->have_seq = true;
		p->ext_max = ext;
	} else {
		ext = p->ext_max + (int16_t)(h->seq - (uint16_t)p->ext_max);
		if (ext > p->ext_max)
			p->ext_max = ext;
	}
	if (g->measuring && !p->win_valid) {
		p->win_valid = true;
		p->win_base = ext - 1;
		p->win_rx0 = p->rx;
	}
	p->rx++;
	if (!g->measuring)
		return;
	if (g->in_window)
		g->rx_window++;
	if (p->role == LG_LISTENER && !p->verify)
		return; /* still encrypted: sequence numbers only */
	if (!rx_ns)
		rx_ns = lg_real_ns();
	const uint8_t *payload = pkt + h->header_len;
	struct lg_mark m;
	if (lg_audio_mark(payload, h->payload_len, &m)) {
		g->marked++;
		lg_sample(&g->lat, (double)(rx_ns - m.sent_ns) / 1e6);
	}
	if (p->probe) {
		int at = lg_onset_feed(&p->onset, payload, h->payload_len);
		if (at >= 0)
			onset_match(g, rx_ns + (int64_t)(at - lg_audio_codec_delay()) * 1000000000LL /
					       48000);
	}
}

/* ---- participants ---- */

static void start(struct lg *g, struct lg_part *p)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)g->o.ws_port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	inet_pton(AF_INET, g->o.ws_host, &dst.sin_addr);
	inet_pton(AF_INET, g->o.local_ip, &src.sin_addr);
	reset_stream(p);
	p->granted = p->paused = false;
	p->session = p->handle = 0;
	p->sessions++;
	p->t0_ns = lg_mono_ns();
	p->t0_real_ns = lg_real_ns();
	p->phase = LG_P_WS;
	bool janus = g->o.server == LG_JANUS;
	if (lg_ws_connect(&p->ws, &src, &dst, g->o.ws_host, janus ? "/" : "/ws",
			  janus ? "janus-protocol" : "rostrum.v1") < 0) {
		g->refused_ws++;
		lg_fail(g, p, "connect");
		return;
	}
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u64 = (uint64_t)p->idx << 1 };
	epoll_ctl(g->ep, EPOLL_CTL_ADD, p->ws.fd, &ev);
	p->watch_out = true;
	if (p->probe && lg_onset_init(&p->onset) != 0)
		abort();
	if (janus)
		lg_janus_open(g, p);
	else
		lg_rostrum_open(g, p);
}

static void on_text(void *ctx, char *text, size_t len)
{
	struct rtp_ctx *c = ctx;
	if (c->g->o.server == LG_JANUS)
		lg_janus_text(c->g, c->p, text, len);
	else
		lg_rostrum_text(c->g, c->p, text, len);
}

static void ws_event(struct lg *g, struct lg_part *p, uint32_t events)
{
	struct rtp_ctx c = { g, p };
	int rc = 0;
	if (events & EPOLLOUT)
		rc = lg_ws_writable(&p->ws);
	if (rc == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		rc = lg_ws_readable(&p->ws, on_text, &c);
	if (rc < 0) {
		if (p->phase == LG_P_READY)
			g->closed_after_join++;
		char why[64];
		snprintf(why, sizeof why, "websocket closed (%d)", p->ws.close_code);
		lg_fail(g, p, why);
		close_part(g, p);
		return;
	}
	watch(g, p);
}

static void media_ready(struct lg *g, struct lg_part *p)
{
	if (p->rtc.state == LG_RTC_READY && p->phase == LG_P_OFFERED) {
		p->phase = LG_P_READY;
		p->ready_ns = lg_mono_ns();
		double ms = (double)(p->ready_ns - p->t0_ns) / 1e6;
		lg_sample(p->churned ? &g->churn : &g->ready, ms);
		if (p->churned)
			g->churn_ok++;
	} else if (p->rtc.state == LG_RTC_FAILED && p->phase != LG_P_FAILED) {
		lg_fail(g, p, "ICE or DTLS failed");
	}
}

static void udp_event(struct lg *g, struct lg_part *p)
{
	struct rtp_ctx c = { g, p };
	if (p->rtc.fd < 0)
		return;
	lg_rtc_readable(&p->rtc, mono_ms(), on_listener_rtp, &c);
	media_ready(g, p);
}

/* ---- the speakers' clock ---- */

/* One speaker's next frame. */
static void speak_one(struct lg *g, struct lg_part *p, int s)
{
	int f = (p->frame + s * (LG_FRAMES / 2)) % LG_FRAMES;
	struct lg_mark m = { (uint16_t)s, p->serial++, lg_real_ns() };
	uint8_t pkt[1300];
	size_t n = lg_audio_packet(f, &m, pkt);
	if (f == 0 && s < 16)
		g->tone_ns[s][g->tone_n[s]++ % 8] = m.sent_ns;
	if (g->tone_n[s] > 8)
		g->tone_n[s] = 8 + g->tone_n[s] % 8;
	if (lg_rtc_send_opus(&p->rtc, pkt, n, lg_audio_is_tone(f) ? 20 : 127) == 0 && g->measuring)
		g->sent++;
	p->frame++;
}

/*
 * Each speaker keeps its own 20 ms clock: a loop pass that comes late sends
 * the frames that fell due meanwhile, as a browser's audio thread would, so
 * the rate holds when the generator's core is shared. Over a second behind,
 * the clock restarts instead.
 */
static void speak(struct lg *g)
{
	int64_t now = lg_mono_ns();
	for (int i = g->first_speaker; i < g->first_listener; i++) {
		struct lg_part *p = &g->parts[i];
		bool may = g->o.server == LG_JANUS || p->granted;
		if (p->phase != LG_P_READY || !may || p->paused) {
			p->next_send_ns = 0;
			continue;
		}
		if (!p->next_send_ns || now - p->next_send_ns > 50 * TICK_NS)
			p->next_send_ns = now;
		while (now >= p->next_send_ns) {
			speak_one(g, p, i - g->first_speaker);
			p->next_send_ns += TICK_NS;
		}
	}
}

/* ---- /proc ---- */

static double proc_cpu_s(int pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long long ut = 0, st = 0;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_rss_kib(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	long kib = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Datagrams this namespace's kernel dropped for a full receive buffer: the generator's own loss. */
static long long udp_rcvbuf_errors(void)
{
	FILE *f = fopen("/proc/net/snmp", "r");
	char head[512], vals[512];
	long long v = -1;
	if (!f)
		return -1;
	while (fgets(head, sizeof head, f) && fgets(vals, sizeof vals, f)) {
		if (strncmp(head, "Udp:", 4) != 0)
			continue;
		int col = 0, want = -1;
		for (char *t = strtok(head + 4, " \n"); t; t = strtok(NULL, " \n"), col++)
			if (strcmp(t, "RcvbufErrors") == 0)
				want = col;
		col = 0;
		for (char *t = strtok(vals + 4, " \n"); t; t = strtok(NULL, " \n"), col++)
			if (col == want)
				v = atoll(t);
		break;
	}
	fclose(f);
	return v;
}

/* Busy and total jiffies of each of the first two cores, from /proc/stat. */
static void cores_jiffies(unsigned long long busy[2], unsigned long long total[2])
{
	FILE *f = fopen("/proc/stat", "r");
	char line[512];
	busy[0] = busy[1] = total[0] = total[1] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		int cpu;
		unsigned long long v[8] = { 0 };
		if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu, &v[0], &v[1],
			   &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 5 || cpu < 0 || cpu > 1)
			continue;
		for (int i = 0; i < 8; i++)
			total[cpu] += v[i];
		busy[cpu] = total[cpu] - v[3] - v[4]; /* less idle and iowait */
	}
	fclose(f);
}

static double self_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* ---- the loop ---- */

static volatile sig_atomic_t stop;

static void on_signal(int s)
{
	(void)s;
	stop = 1;
}

static void housekeeping(struct lg *g)
{
	int64_t now = mono_ms();
	for (int i = 0; i < g->n_parts; i++) {
		struct lg_part *p = &g->parts[i];
		if (p->phase == LG_P_FAILED || p->phase == LG_P_CLOSED || p->phase == LG_P_IDLE)
			continue;
		if (p->rtc.fd >= 0 && p->rtc.state != LG_RTC_NEW) {
			lg_rtc_tick(&p->rtc, now);
			media_ready(g, p);
		}
		if (g->o.server == LG_JANUS)
			lg_janus_tick(g, p, now);
	}
}

/* One pass: waits at most until the next 20 ms tick. */
static void run_for(struct lg *g, int64_t until_ns, bool (*done)(struct lg *))
{
	static int64_t next_tick, next_house;
	struct epoll_event evs[512];
	while (!stop && lg_mono_ns() < until_ns && !(done && done(g))) {
		int64_t now = lg_mono_ns();
		if (!next_tick)
			next_tick = now + TICK_NS;
		int wait = (int)((next_tick - now) / 1000000);
		int k = epoll_wait(g->ep, evs, 512, wait < 0 ? 0 : wait);
		for (int e = 0; e < k; e++) {
			struct lg_part *p = &g->parts[evs[e].data.u64 >> 1];
			if (evs[e].data.u64 & 1)
				udp_event(g, p);
			else if (p->ws.fd >= 0)
				ws_event(g, p, evs[e].events);
			if ((e & 31) == 31 && g->sending) /* speakers first, even in a long batch */
				speak(g);
		}
		now = lg_mono_ns();
		if (now >= next_tick) {
			if (g->sending)
				speak(g);
			next_tick += TICK_NS;
			if (next_tick < now)
				next_tick = now + TICK_NS;
		}
		if (now >= next_house) {
			housekeeping(g);
			next_house = now + 50000000LL;
		}
	}
}

static bool settled_upto(struct lg *g, int n)
{
	for (int i = 0; i < n; i++)
		if (g->parts[i].phase != LG_P_READY && g->parts[i].phase != LG_P_FAILED &&
		    g->parts[i].phase != LG_P_CLOSED)
			return false;
	return true;
}

static bool all_settled(struct lg *g)
{
	return g->spawned == g->n_parts && settled_upto(g, g->n_parts);
}

static bool setup_settled(struct lg *g)
{
	return settled_upto(g, g->first_speaker);
}

/* Spawns participants at the join rate until all have started. */
static void join_phase(struct lg *g)
{
	int64_t t0 = lg_mono_ns(), deadline = t0 + (int64_t)(g->o.join_timeout_s * 1e9);
	while (!stop && g->spawned < g->n_parts && lg_mono_ns() < deadline) {
		int due = g->n_parts;
		if (g->o.join_rate > 0)
			due = g->first_speaker +
			      (int)((double)(lg_mono_ns() - t0) / 1e9 * g->o.join_rate) + 1;
		while (g->spawned < due && g->spawned < g->n_parts)
			start(g, &g->parts[g->spawned++]);
		run_for(g, lg_mono_ns() + 5000000, NULL);
	}
	run_for(g, deadline, all_settled);
	g->join_wall_s = (double)(lg_mono_ns() - t0) / 1e9;
}

/* Churn: a ready listener leaves and a fresh one joins in its place. */
static void churn_one(struct lg *g, unsigned *seed)
{
	int n = g->n_parts - g->first_listener;
	if (n <= 0)
		return;
	for (int tries = 0; tries < 20; tries++) {
		struct lg_part *p = &g->parts[g->first_listener + (int)(rand_r(seed) % (unsigned)n)];
		if (p->phase != LG_P_READY || p->probe)
			continue;
		close_part(g, p);
		g->churn_left++;
		p->churned = true;
		start(g, p);
		return;
	}
}

static void measure_phase(struct lg *g)
{
	int64_t t0 = lg_mono_ns(), end = t0 + (int64_t)(g->o.duration_s * 1e9);
	int64_t next_cap = t0, next_churn = t0;
	uint64_t caps = 0;
	unsigned seed = 12345;
	while (!stop && lg_mono_ns() < end) {
		int64_t now = lg_mono_ns();
		struct lg_part *cap = &g->parts[g->first_speaker - 1];
		if (g->o.caption_rate > 0 && now >= next_cap && g->first_speaker > 0 &&
		    cap->role == LG_CAPTIONER && cap->phase == LG_P_READY) {
			lg_rostrum_caption(g, cap, caps++);
			g->captions_sent++;
			next_cap += (int64_t)(1e9 / g->o.caption_rate);
		}
		if (g->o.churn_rate > 0 && now >= next_churn) {
			churn_one(g, &seed);
			next_churn += (int64_t)(1e9 / g->o.churn_rate);
		}
		run_for(g, now + 5000000, NULL);
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --server rostrum|janus --ws HOST:PORT [options]\n"
		"  --room R            Rostrum room id, or Janus's first numeric room (default bench / 4242)\n"
		"  --rooms M           spread listeners over M rooms (R, R-1 .. R-(M-1) for Rostrum)\n"
		"  --listeners N       (default 10)     --speakers K (default 1, at most 16)\n"
		"  --duration S        speaking window (default 10)   --idle S  quiet window before (2)\n"
		"  --join-rate R       joins a second, 0 = all at once (default 0)\n"
		"  --join-timeout S    (default 60)\n"
		"  --chair-token T     Rostrum moderator token: grants the speakers the floor\n"
		"  --captioner-token T --captions RATE: caption.final a second during the window\n"
		"  --churn RATE        listeners leaving and rejoining a second during the window\n"
		"  --probes P          listeners that decode and time tone onsets (default 4)\n"
		"  --verify-every K    every K-th listener (and every probe) decrypts, authenticates\n"
		"                      and times what it receives; the others count sequence numbers\n"
		"                      from the plaintext RTP header (default 10; 1 = everyone)\n"
		"  --no-media          signaling only\n"
		"  --local IP          address of the simulated clients (default 127.0.0.1)\n"
		"  --server-pid PID    read the server's CPU and memory from /proc\n"
		"  --window-cmd CMD    run CMD (sh -c, in the background) as the window opens,\n"
		"                      e.g. a profiler attached to the server for the window's length\n"
		"  --join-cmd CMD      the same as the joins begin (to profile a join storm)\n"
		"  --label TEXT --json FILE\n");
	exit(2);
}

static void parse(struct lg_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", 1, 0, 's' }, { "ws", 1, 0, 'w' }, { "room", 1, 0, 'r' },
		{ "rooms", 1, 0, 'M' }, { "listeners", 1, 0, 'n' }, { "speakers", 1, 0, 'k' },
		{ "duration", 1, 0, 'd' }, { "idle", 1, 0, 'i' }, { "join-rate", 1, 0, 'j' },
		{ "join-timeout", 1, 0, 'J' }, { "chair-token", 1, 0, 'c' },
		{ "captioner-token", 1, 0, 'C' }, { "captions", 1, 0, 'a' }, { "churn", 1, 0, 'u' },
		{ "probes", 1, 0, 'p' }, { "verify-every", 1, 0, 'V' }, { "no-media", 0, 0, 'N' }, { "local", 1, 0, 'l' },
		{ "server-pid", 1, 0, 'P' }, { "window-cmd", 1, 0, 'W' }, { "join-cmd", 1, 0, 'X' }, { "label", 1, 0, 'L' }, { "json", 1, 0, 'o' },
		{ 0, 0, 0, 0 },
	};
	*o = (struct lg_opts){ .local_ip = "127.0.0.1", .listeners = 10, .speakers = 1, .rooms = 1,
			       .probes = 4, .verify_every = 10, .duration_s = 10, .idle_s = 2, .join_timeout_s = 60,
			       .media = true, .label = "" };
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': o->server = strcmp(optarg, "janus") == 0 ? LG_JANUS : LG_ROSTRUM; break;
		case 'w': {
			static char host[64];
			char *colon = strrchr(optarg, ':');
			if (!colon || colon - optarg >= 64)
				usage();
			memcpy(host, optarg, (size_t)(colon - optarg));
			host[colon - optarg] = '\0';
			o->ws_host = host;
			o->ws_port = atoi(colon + 1);
			break;
		}
		case 'r': o->room = optarg; break;
		case 'M': o->rooms = atoi(optarg); break;
		case 'n': o->listeners = atoi(optarg); break;
		case 'k': o->speakers = atoi(optarg); break;
		case 'd': o->duration_s = atof(optarg); break;
		case 'i': o->idle_s = atof(optarg); break;
		case 'j': o->join_rate = atof(optarg); break;
		case 'J': o->join_timeout_s = atof(optarg); break;
		case 'c': o->chair_token = optarg; break;
		case 'C': o->captioner_token = optarg; break;
		case 'a': o->caption_rate = atof(optarg); break;
		case 'u': o->churn_rate = atof(optarg); break;
		case 'p': o->probes = atoi(optarg); break;
		case 'V': o->verify_every = atoi(optarg); break;
		case 'N': o->media = false; break;
		case 'l': o->local_ip = optarg; break;
		case 'P': o->server_pid = atoi(optarg); break;
		case 'W': o->window_cmd = optarg; break;
		case 'X': o->join_cmd = optarg; break;
		case 'L': o->label = optarg; break;
		case 'o': o->json_path = optarg; break;
		default: usage();
		}
	}
	if (!o->ws_host || o->verify_every < 1 || o->speakers < 0 || o->speakers > 16 || o->listeners < 0 || o->rooms < 1)
		usage();
	if (!o->room)
		o->room = o->server == LG_JANUS ? "4242" : "bench";
	if (o->server == LG_ROSTRUM && o->speakers > 0 && !o->chair_token) {
		fprintf(stderr, "loadgen: speakers need --chair-token to be granted the floor\n");
		exit(2);
	}
	if (o->caption_rate > 0 && (o->server != LG_ROSTRUM || !o->captioner_token)) {
		fprintf(stderr, "loadgen: captions need Rostrum and --captioner-token\n");
		exit(2);
	}
}

/* Lays out the participants: chair, captioner, speakers, listeners. */
static void layout(struct lg *g)
{
	bool chair = g->o.server == LG_JANUS || (g->o.chair_token && g->o.speakers > 0);
	bool captioner = g->o.caption_rate > 0;
	g->n_parts = (chair ? 1 : 0) + (captioner ? 1 : 0) + g->o.speakers + g->o.listeners;
	g->parts = calloc((size_t)g->n_parts, sizeof *g->parts);
	int i = 0;
	if (chair)
		g->parts[i++].role = LG_CHAIR;
	if (captioner)
		g->parts[i++].role = LG_CAPTIONER;
	g->first_speaker = i;
	for (int s = 0; s < g->o.speakers; s++)
		g->parts[i++].role = LG_SPEAKER;
	g->first_listener = i;
	for (int l = 0; l < g->o.listeners; l++, i++) {
		g->parts[i].role = LG_LISTENER;
		g->parts[i].room = l % g->o.rooms;
		/* Spread over the join order, which is the fan-out order too. */
		int every = g->o.probes > 0 ? g->o.listeners / g->o.probes : 0;
		g->parts[i].probe = every > 0 ? (l % every == every - 1 && l / every < g->o.probes)
					      : l < g->o.probes;
		g->parts[i].verify = g->parts[i].probe || l % g->o.verify_every == 0;
		g->verified += g->parts[i].verify;
	}
	for (i = 0; i < g->n_parts; i++) {
		g->parts[i].idx = i;
		g->parts[i].ws.fd = g->parts[i].rtc.fd = -1;
	}
}

/* Starts cmd with sh -c in the background (not waited for: SIGCHLD is ignored). */
static void run_cmd(const char *cmd)
{
	if (cmd && fork() == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
}

static void raise_fd_limit(void)
{
	struct rlimit rl = { 262144, 262144 };
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		getrlimit(RLIMIT_NOFILE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	static struct lg g;
	parse(&g.o, argc, argv);
	raise_fd_limit();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGCHLD, SIG_IGN); /* a --window-cmd is not waited for */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (srtpx_init() != SRTPX_OK || lg_audio_init() != 0) {
		fprintf(stderr, "loadgen: srtp or opus setup failed\n");
		return 1;
	}
	/* Fresh credentials, SSRCs and sequence numbers each run, as browsers draw them. */
	g.seed = (uint32_t)lg_real_ns() ^ (uint32_t)getpid() << 16;
	g.cert = dtls_cert_generate();
	g.dtls = dtls_ctx_create(g.cert, NULL);
	g.ep = epoll_create1(EPOLL_CLOEXEC);
	layout(&g);
	int pid = g.o.server_pid;
	g.rss_before_kib = pid ? proc_rss_kib(pid) : -1;
	double cpu0 = pid ? proc_cpu_s(pid) : 0;

	/* The chair and captioner first; Janus's chair creates the rooms. */
	while (g.spawned < g.first_speaker)
		start(&g, &g.parts[g.spawned++]);
	run_for(&g, lg_mono_ns() + 10000000000LL, setup_settled);
	if (!setup_settled(&g) || (g.first_speaker > 0 && g.parts[0].phase != LG_P_READY)) {
		fprintf(stderr, "loadgen: the chair could not join: %s\n", g.first_error);
		return 1;
	}
	run_cmd(g.o.join_cmd);
	join_phase(&g);
	double cpu1 = pid ? proc_cpu_s(pid) : 0;
	g.cpu_join_s = cpu1 - cpu0;
	run_for(&g, lg_mono_ns() + 500000000LL, NULL); /* let the last roster deltas arrive */
	g.rss_after_kib = pid ? proc_rss_kib(pid) : -1;

	/* Nobody speaks: what connected members cost by themselves. */
	int64_t t = lg_mono_ns();
	cpu1 = pid ? proc_cpu_s(pid) : 0;
	run_for(&g, t + (int64_t)(g.o.idle_s * 1e9), NULL);
	double idle_wall = (double)(lg_mono_ns() - t) / 1e9, cpu2 = pid ? proc_cpu_s(pid) : 0;
	g.cpu_idle_pct = idle_wall > 0 ? 100.0 * (cpu2 - cpu1) / idle_wall : 0;

	/* Speakers start; the window opens after a second of warm-up. */
	g.sending = true;
	run_for(&g, lg_mono_ns() + 1000000000LL, NULL);
	g.measuring = true;
	run_cmd(g.o.window_cmd);
	t = lg_mono_ns();
	cpu2 = pid ? proc_cpu_s(pid) : 0;
	double gen0 = self_cpu_s();
	long long drops0 = udp_rcvbuf_errors();
	unsigned long long busy0[2], tot0[2], busy1[2], tot1[2];
	cores_jiffies(busy0, tot0);
	g.gen_core = sched_getcpu();
	g.in_window = true;
	measure_phase(&g);
	g.in_window = false;
	cores_jiffies(busy1, tot1);
	for (int c = 0; c < 2; c++)
		g.core_busy_pct[c] = tot1[c] > tot0[c] ? 100.0 * (double)(busy1[c] - busy0[c]) /
							 (double)(tot1[c] - tot0[c]) : -1;
	g.gen_core_busy_pct = g.gen_core >= 0 && g.gen_core < 2 ? g.core_busy_pct[g.gen_core] : -1;
	g.client_drops = udp_rcvbuf_errors() - drops0;
	double wall = (double)(lg_mono_ns() - t) / 1e9, cpu3 = pid ? proc_cpu_s(pid) : 0;
	g.cpu_active_pct = wall > 0 ? 100.0 * (cpu3 - cpu2) / wall : 0;
	g.window_s = wall;
	g.gen_cpu_pct = wall > 0 ? 100.0 * (self_cpu_s() - gen0) / wall : 0;
	g.sending = false;
	run_for(&g, lg_mono_ns() + 300000000LL, NULL); /* what is in flight arrives */
	g.measuring = false;
	for (int i = 0; i < g.n_parts; i++)
		account(&g, &g.parts[i]);
	lg_report(&g);
	for (int i = 0; i < g.n_parts; i++)
		close_part(&g, &g.parts[i]);
	return 0;
}
