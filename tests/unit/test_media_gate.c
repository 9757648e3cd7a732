/*
 * The floor gate as pause and resume, through the hub on fake time and
 * without sockets: a participant's producer starts paused and the browser
 * is told (audio.send false after the answer); a grant resumes it once, a
 * revoke pauses it once, nothing is sent when nothing changes; a moderator
 * is heard without the floor until muted. On the datagram side: a source
 * no transport knows costs one lookup and a counter; a check routed by
 * ufrag binds its tuple; RTP from a paused producer's tuple is dropped
 * before decryption.
 */
#include "check.h"
#include "hub.h"
#include "metrics.h"
#include "stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define MAX_SEEN 128

struct fake {
	json_t *seen[MAX_SEEN];
	int n;
};

static int fake_send(void *ctx, void *transport, rs_msg *m)
{
	(void)ctx;
	struct fake *f = transport;
	if (f->n < MAX_SEEN)
		f->seen[f->n++] = json_loads((const char *)rs_msg_payload(m), 0, NULL);
	return 0;
}

static void fake_close(void *ctx, void *transport, int code, const char *reason)
{
	(void)ctx; (void)transport; (void)code; (void)reason;
}

static int udp_sent;

static void fake_udp(void *ctx, const struct sockaddr *to, socklen_t tl, const uint8_t *b, size_t n)
{
	(void)ctx; (void)to; (void)tl; (void)b; (void)n;
	udp_sent++;
}

static void fake_clear(struct fake *f)
{
	for (int i = 0; i < f->n; i++)
		json_decref(f->seen[i]);
	f->n = 0;
}

/* The audio.send messages f got, in order: "01" is false then true. */
static void sends(struct fake *f, char *out, size_t cap)
{
	size_t k = 0;
	for (int i = 0; i < f->n && k + 1 < cap; i++) {
		const char *t = json_string_value(json_object_get(f->seen[i], "type"));
		if (t && strcmp(t, "audio.send") == 0)
			out[k++] = json_is_true(json_object_get(f->seen[i], "active")) ? '1' : '0';
	}
	out[k] = 0;
}

static json_t *last_result(struct fake *f)
{
	for (int i = f->n - 1; i >= 0; i--)
		if (strcmp(json_string_value(json_object_get(f->seen[i], "type")), "result") == 0)
			return json_object_get(f->seen[i], "data");
	return NULL;
}

static uint8_t secret[TOKEN_SECRET_LEN] = "gate-test-secret-gate-test-secr";
static struct rs_config cfg;
static int64_t now = 1700000000000;

static void say(hub *h, hub_conn *c, const char *text)
{
	hub_conn_input(h, c, text, strlen(text), now);
	now += 100;
}

static char *mint(const char *room, enum rs_role role, const char *name)
{
	struct token_claims c = { .role = role, .exp = now / 1000 + 3600 };
	strcpy(c.room, room);
	c.attrs.onsite = ATTRS_ONSITE_UNKNOWN;
	CHECK(attrs_set_name(&c.attrs, name));
	return token_issue(secret, &c);
}

static const char offer_sdp[] =
	"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0\\r\\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\nc=IN IP4 0.0.0.0\\r\\n"
	"a=ice-ufrag:brws\\r\\na=ice-pwd:0123456789012345678901\\r\\n"
	"a=fingerprint:sha-256 75:74:5A:A6:A4:E5:52:F4:A7:67:4C:01:C7:EE:91:3F:"
	"21:3D:A2:E3:53:7B:6F:30:86:F2:30:AA:65:FB:04:24\\r\\n"
	"a=setup:actpass\\r\\na=mid:0\\r\\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\\r\\n"
	"a=sendrecv\\r\\na=rtcp-mux\\r\\na=rtpmap:111 opus/48000/2\\r\\n"
	"a=ssrc:1793412467 cname:x\\r\\n";

/* Joins c to the plenary with a token for role, then offers audio. */
static void join_audio(hub *h, hub_conn *c, struct fake *f, enum rs_role role, const char *name)
{
	char *tok = mint("plenary", role, name), msg[1024];
	snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"token\":\"%s\"}",
		 tok);
	free(tok);
	say(h, c, msg);
	CHECK(last_result(f) != NULL);
	snprintf(msg, sizeof msg, "{\"type\":\"audio.offer\",\"id\":2,\"sdp\":\"%s\"}", offer_sdp);
	say(h, c, msg);
	CHECK(json_string_value(json_object_get(last_result(f), "sdp")) != NULL);
}

/* Our ufrag and password, from the answer's SDP. */
static void creds(struct fake *f, char *ufrag, char *pwd)
{
	const char *sdp = json_string_value(json_object_get(last_result(f), "sdp"));
	CHECK(sdp && sscanf(strstr(sdp, "a=ice-ufrag:"), "a=ice-ufrag:%8s", ufrag) == 1);
	CHECK(sscanf(strstr(sdp, "a=ice-pwd:"), "a=ice-pwd:%24s", pwd) == 1);
}

static void test_gate(void)
{
	static const struct hub_io io = { .send = fake_send, .close = fake_close,
					  .send_udp = fake_udp };
	hub *h = hub_create(&cfg, secret, &io, recorder_create("/nonexistent", NULL));
	hub_media_port(h, 40000);
	struct fake fm = { 0 }, fp = { 0 };
	hub_conn *cm = hub_conn_open(h, &fm, now), *cp = hub_conn_open(h, &fp, now);
	join_audio(h, cm, &fm, RS_ROLE_MODERATOR, "Chair");
	join_audio(h, cp, &fp, RS_ROLE_PARTICIPANT, "Ama");
	char ufrag[16], pwd[32], user[64];
	creds(&fp, ufrag, pwd);
	char s[32];
	sends(&fm, s, sizeof s);
	CHECK_STR(s, "1"); /* a moderator is heard without the floor */
	sends(&fp, s, sizeof s);
	CHECK_STR(s, "0"); /* the participant is told not to send, after the answer */
	CHECK(strcmp(json_string_value(json_object_get(fp.seen[fp.n - 1], "type")), "audio.send") == 0);

	/* A raised hand changes nothing; the grant resumes once, the revoke pauses once. */
	say(h, cp, "{\"type\":\"floor.request\",\"id\":3}");
	json_int_t req = json_integer_value(json_object_get(last_result(&fp), "request"));
	sends(&fp, s, sizeof s);
	CHECK_STR(s, "0");
	char msg[256];
	snprintf(msg, sizeof msg, "{\"type\":\"floor.grant\",\"id\":4,\"request\":%lld}", (long long)req);
	say(h, cm, msg);
	sends(&fp, s, sizeof s);
	CHECK_STR(s, "01");
	say(h, cm, "{\"type\":\"floor.stats\",\"id\":5}"); /* floor traffic without a change */
	sends(&fp, s, sizeof s);
	CHECK_STR(s, "01");
	snprintf(msg, sizeof msg, "{\"type\":\"floor.revoke\",\"id\":6,\"request\":%lld}", (long long)req);
	say(h, cm, msg);
	sends(&fp, s, sizeof s);
	CHECK_STR(s, "010");

	/* A muted moderator is paused too, and resumed when the mute is lifted. */
	json_int_t mpid = 1;
	snprintf(msg, sizeof msg, "{\"type\":\"floor.mute\",\"id\":7,\"pid\":%lld}", (long long)mpid);
	say(h, cm, msg);
	snprintf(msg, sizeof msg, "{\"type\":\"floor.mute\",\"id\":8,\"pid\":%lld,\"muted\":false}",
		 (long long)mpid);
	say(h, cm, msg);
	sends(&fm, s, sizeof s);
	CHECK_STR(s, "101");

	/* Datagrams: an unknown source is one lookup and a counter. */
	double unknown = metrics_get("rostrum_media_dropped_total{reason=\"unknown_source\"}");
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(50000) };
	inet_pton(AF_INET, "127.0.0.1", &from.sin_addr);
	uint8_t rtp[64] = { 0x80, 111, 0, 10 };
	hub_media_input(h, now, rtp, sizeof rtp, (struct sockaddr *)&from, sizeof from);
	CHECK(metrics_get("rostrum_media_dropped_total{reason=\"unknown_source\"}") == unknown + 1);

	/* A check names the participant's ufrag: routed by it, answered, its tuple bound. */
	snprintf(user, sizeof user, "%s:brws", ufrag);
	uint8_t tid[12] = { 1 }, req_buf[512];
	int n = stun_binding_request(tid, user, 1, 2, true, (const uint8_t *)pwd, strlen(pwd), req_buf,
				     sizeof req_buf);
	udp_sent = 0;
	hub_media_input(h, now, req_buf, (size_t)n, (struct sockaddr *)&from, sizeof from);
	CHECK(udp_sent == 1);
	CHECK(hub_next_deadline(h) < now + 60000); /* consent expiry is in the timer heap */
	/* Before any decrypted packet SRTP must see one; then paused RTP is dropped undecrypted. */
	double srtp = metrics_get("rostrum_media_dropped_total{reason=\"srtp\"}");
	double paused = metrics_get("rostrum_media_dropped_total{reason=\"paused\"}");
	hub_media_input(h, now, rtp, sizeof rtp, (struct sockaddr *)&from, sizeof from);
	CHECK(metrics_get("rostrum_media_dropped_total{reason=\"srtp\"}") == srtp + 1);
	CHECK(metrics_get("rostrum_media_dropped_total{reason=\"paused\"}") == paused);
	/* RTCP from the same tuple is never dropped as paused. */
	uint8_t rtcp[32] = { 0x80, 200, 0, 6 };
	hub_media_input(h, now, rtcp, sizeof rtcp, (struct sockaddr *)&from, sizeof from);
	CHECK(metrics_get("rostrum_media_dropped_total{reason=\"paused\"}") == paused);
	json_t *health = hub_health(h, now);
	CHECK(json_integer_value(json_object_get(json_object_get(health, "audio"), "connections")) == 2);
	json_decref(health);

	/* Leaving frees the routes: the same tuple is unknown again. */
	say(h, cp, "{\"type\":\"audio.leave\",\"id\":9}");
	unknown = metrics_get("rostrum_media_dropped_total{reason=\"unknown_source\"}");
	hub_media_input(h, now, rtp, sizeof rtp, (struct sockaddr *)&from, sizeof from);
	hub_media_input(h, now, req_buf, (size_t)n, (struct sockaddr *)&from, sizeof from);
	CHECK(metrics_get("rostrum_media_dropped_total{reason=\"unknown_source\"}") == unknown + 2);

	hub_conn_closed(h, cp, now);
	hub_conn_closed(h, cm, now);
	fake_clear(&fm);
	fake_clear(&fp);
	recorder *rec = hub_recorder(h);
	hub_destroy(h);
	recorder_destroy(rec);
}

int main(void)
{
	config_default(&cfg);
	char err[256];
	CHECK(config_parse(&cfg, "{\"rooms\":[{\"id\":\"plenary\",\"open\":true,"
				 "\"policy\":{\"recording\":\"off\"}}]}", err, sizeof err) == 0);
	test_gate();
	config_free(&cfg);
	return check_done();
}
