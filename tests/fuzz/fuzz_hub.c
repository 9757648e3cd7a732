/*
 * WebSocket text messages through the whole hub (join, floor, captions,
 * presence, written questions, audio offers), from four clients at once.
 *
 * Each input is a script of lines; a line's first byte picks the sender
 * (byte % 4) and how far the clock moves first ((byte / 4 % 8) * 700 ms);
 * the rest of the line is one message. A line "~N" closes client N and opens
 * it again. "$MOD", "$CAP" and "$OBS" in a message become valid moderator,
 * captioner and observer tokens for "plenary", which the fuzzer cannot forge.
 * Client 0 starts joined as moderator, 1 as participant, 2 as captioner; 3
 * has not joined.
 *
 * Each input gets four new connections; after it they are closed, the
 * clock runs past every timer (floor limits, open captions, the resumption
 * grace) and the hub must be back at its baseline: no connection, no member
 * in any room. The hub itself (rooms, DTLS certificate and context) can be
 * kept for KEEP_INPUTS inputs, but keeping it measured no faster (68 against
 * 66 exec/s, 40 s each, back to back: the script's own work dominates), and a
 * kept hub carries state an input sees (participant ids keep counting, rooms
 * keep captions, questions and the transcript once empty), so each input
 * gets a new hub and every crash replays from its input alone.
 */
#include "fuzz.h"
#include "hub.h"
#include "metrics.h"

#include <stdio.h>

#define N_CLIENTS 4
#define KEEP_INPUTS 1

static struct rs_config cfg;
static const uint8_t secret[TOKEN_SECRET_LEN] = "rostrum-fuzz-secret-rostrum-fuz";
static char *vars[6] = { "MOD", NULL, "CAP", NULL, "OBS", NULL };
static long sent; /* messages the hub queued: any answer is fine, a crash is not */

static int fake_send(void *ctx, void *t, rs_msg *m)
{
	(void)ctx;
	(void)t;
	sent += rs_msg_len(m) > 0;
	return 0;
}

static void fake_close(void *ctx, void *t, int code, const char *reason)
{
	(void)ctx;
	(void)t;
	(void)code;
	(void)reason;
}

static char *mint(enum rs_role role, const char *name)
{
	struct token_claims c = { .role = role };
	strcpy(c.room, "plenary");
	c.attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	if (!attrs_set_name(&c.attrs, name))
		abort();
	return token_issue(secret, &c);
}

void fz_setup(void)
{
	config_default(&cfg);
	char err[256];
	if (config_parse(&cfg, "{\"limits\":{\"rate_per_sec\":10000,\"rate_burst\":10000,"
			       "\"max_message_bytes\":8192},\"rooms\":[{\"id\":\"plenary\",\"open\":true,"
			       "\"policy\":{\"floor\":{\"limit_s\":2,\"warn_s\":1}}},{\"id\":\"closed\"}]}",
			 err, sizeof err)) {
		fprintf(stderr, "fuzz_hub config: %s\n", err);
		abort();
	}
	vars[1] = mint(RS_ROLE_MODERATOR, "Chair");
	vars[3] = mint(RS_ROLE_CAPTIONER, "CART");
	vars[5] = mint(RS_ROLE_OBSERVER, "Obs");
}

static void say(hub *h, hub_conn *c, const char *text, int64_t now)
{
	hub_conn_input(h, c, text, strlen(text), now);
}

static hub *h;
static recorder *rec;
static int inputs; /* since h was made */
static int64_t now = 1700000000000;

static void next_input(void)
{
	static const struct hub_io io = { .send = fake_send, .close = fake_close };
	if (h && ++inputs < KEEP_INPUTS)
		return;
	hub_destroy(h);
	recorder_destroy(rec);
	metrics_reset();
	rec = recorder_create("/nonexistent", NULL);
	h = hub_create(&cfg, secret, &io, rec);
	hub_media_port(h, 40000);
	inputs = 0;
}

/* Closes the input's connections and runs every timer out; the hub must then be empty. */
static void back_to_baseline(hub_conn **conns)
{
	for (int i = 0; i < N_CLIENTS; i++)
		if (conns[i])
			hub_conn_closed(h, conns[i], now);
	/* Past floor limits, open captions and the resumption grace. */
	now += 60000 + (int64_t)cfg.limits.resume_grace_s * 1000;
	for (int i = 0; i < 16 && hub_next_deadline(h) <= now; i++)
		hub_tick(h, now);
	if (hub_conn_count(h) != 0 || room_count(hub_room(h, "plenary")) != 0 ||
	    room_count(hub_room(h, "closed")) != 0)
		abort(); /* something of this input outlived it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	next_input();
	hub_conn *conns[N_CLIENTS];
	static int transports[N_CLIENTS];
	char j[1024];
	for (int i = 0; i < N_CLIENTS; i++)
		conns[i] = hub_conn_open(h, &transports[i], now);
	snprintf(j, sizeof j, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"token\":\"%s\"}", vars[1]);
	say(h, conns[0], j, now);
	say(h, conns[1], "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"name\":\"P\"}", now);
	snprintf(j, sizeof j, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"token\":\"%s\"}", vars[3]);
	say(h, conns[2], j, now);

	struct fz f = { data, size };
	const uint8_t *line;
	size_t len;
	while (fz_line(&f, &line, &len)) {
		if (len == 0)
			continue;
		int who = line[0] % N_CLIENTS;
		now += (int64_t)(line[0] / 4 % 8) * 700;
		if (hub_next_deadline(h) <= now)
			hub_tick(h, now);
		if (len == 2 && line[0] == '~') {
			who = line[1] % N_CLIENTS;
			if (conns[who])
				hub_conn_closed(h, conns[who], now);
			conns[who] = hub_conn_open(h, &transports[who], now);
			continue;
		}
		if (!conns[who])
			continue;
		size_t n;
		char *msg = fz_expand(line + 1, len - 1, (const char *const *)vars, 6, &n);
		hub_conn_input(h, conns[who], msg, n, now);
		free(msg);
	}
	back_to_baseline(conns);
	return 0;
}
