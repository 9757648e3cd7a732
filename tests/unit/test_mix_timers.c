/*
 * The rooms' audio timers through the hub on fake time, without sockets:
 * each room keeps its next deadline in one heap, so a recording's silence
 * fill in one room of many is what the hub wakes for, it moves on each run,
 * and it is gone when the recording stops (an idle room arms nothing).
 */
#include "check.h"
#include "hub.h"
#include "recorder.h"
#include "srtpx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROOMS 20
#define PAD_EVERY_MS 1000 /* hub_mix.c: a second of silence at a time while recording */

static uint8_t secret[TOKEN_SECRET_LEN] = "mixt-test-secret-mixt-test-secr";
static struct rs_config cfg;
static int64_t now = 1700000000000;
static int results;

static int fake_send(void *ctx, void *transport, rs_msg *m)
{
	(void)ctx;
	(void)transport;
	results += strstr((const char *)rs_msg_payload(m), "\"result\"") != NULL;
	return 0;
}

static void fake_close(void *ctx, void *transport, int code, const char *reason)
{
	(void)ctx; (void)transport; (void)code; (void)reason;
}

static void say(hub *h, hub_conn *c, const char *text)
{
	hub_conn_input(h, c, text, strlen(text), now);
}

/* A moderator in room `room`. */
static hub_conn *moderator(hub *h, int *tag, const char *room)
{
	struct token_claims cl = { .role = RS_ROLE_MODERATOR, .exp = now / 1000 + 3600 };
	strcpy(cl.room, room);
	cl.attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	CHECK(attrs_set_name(&cl.attrs, "Chair"));
	char *tok = token_issue(secret, &cl), msg[1024];
	hub_conn *c = hub_conn_open(h, tag, now);
	snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"%s\",\"token\":\"%s\"}",
		 room, tok);
	free(tok);
	say(h, c, msg);
	return c;
}

int main(void)
{
	CHECK(srtpx_init() == SRTPX_OK);
	config_default(&cfg);
	char rooms[ROOMS * 96] = "{\"rooms\":[", err[256];
	for (int i = 0; i < ROOMS; i++)
		snprintf(rooms + strlen(rooms), sizeof rooms - strlen(rooms),
			 "%s{\"id\":\"r%d\",\"open\":true,\"policy\":{\"recording\":\"manual\"}}",
			 i ? "," : "", i);
	strcat(rooms, "]}");
	CHECK(config_parse(&cfg, rooms, err, sizeof err) == 0);
	static const struct hub_io io = { .send = fake_send, .close = fake_close };
	recorder *rec = recorder_create("/nonexistent", NULL);
	hub *h = hub_create(&cfg, secret, &io, rec);
	int tags[ROOMS];
	hub_conn *c[ROOMS];
	for (int i = 0; i < ROOMS; i++) {
		char id[8];
		snprintf(id, sizeof id, "r%d", i);
		c[i] = moderator(h, &tags[i], id);
	}
	/* The joins' own short timers run out; then nothing records, mixes or talks: no timer. */
	int64_t idle = hub_next_deadline(h);
	for (int k = 0; k < 10 && idle != INT64_MAX; k++) {
		now = idle;
		hub_tick(h, now);
		idle = hub_next_deadline(h);
	}
	CHECK(idle == INT64_MAX);

	/* Recording in room 7: its silence fill is the hub's next audio deadline. */
	results = 0;
	say(h, c[7], "{\"type\":\"audio.record\",\"id\":2,\"active\":true}");
	CHECK(results == 1);
	int64_t t0 = now;
	int64_t due = hub_next_deadline(h);
	CHECK(due == t0 + PAD_EVERY_MS);

	/* Each run moves the room's entry a second on; the other rooms are never due. */
	for (int k = 1; k <= 3; k++) {
		now = t0 + k * PAD_EVERY_MS;
		hub_tick(h, now);
		due = hub_next_deadline(h);
		CHECK(due == now + PAD_EVERY_MS);
	}

	/* Stopped: the room leaves the heap and the hub's deadline is what it was idle. */
	say(h, c[7], "{\"type\":\"audio.record\",\"id\":3,\"active\":false}");
	CHECK(hub_next_deadline(h) == INT64_MAX);

	/* Two rooms recording: both are run when due, in one tick. */
	say(h, c[3], "{\"type\":\"audio.record\",\"id\":4,\"active\":true}");
	say(h, c[15], "{\"type\":\"audio.record\",\"id\":4,\"active\":true}");
	t0 = now;
	now = t0 + PAD_EVERY_MS;
	CHECK(hub_next_deadline(h) == now);
	hub_tick(h, now);
	CHECK(hub_next_deadline(h) == now + PAD_EVERY_MS);
	say(h, c[3], "{\"type\":\"audio.record\",\"id\":5,\"active\":false}");
	CHECK(hub_next_deadline(h) == now + PAD_EVERY_MS); /* room 15's is still there */
	say(h, c[15], "{\"type\":\"audio.record\",\"id\":5,\"active\":false}");
	CHECK(hub_next_deadline(h) == INT64_MAX);

	for (int i = 0; i < ROOMS; i++)
		hub_conn_closed(h, c[i], now);
	hub_destroy(h);
	recorder_destroy(rec);
	config_free(&cfg);
	return check_done();
}
