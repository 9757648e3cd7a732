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
#include "hub_fixture.h"
#include "metrics.h"
#include "dtls.h"
#include "srtpx.h"
#include "stun.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

static int udp_sent;
static uint8_t udpq[32][1600];
static size_t udpq_len[32];
static int udpq_n;

/* What the hub sends on the media port: counted, and kept for the browser stand-in. */
static void fake_udp(void *ctx, const struct sockaddr *to, socklen_t tl, const uint8_t *b, size_t n)
{
	(void)ctx; (void)to; (void)tl;
	udp_sent++;
	if (udpq_n < 32 && n <= sizeof udpq[0]) {
		memcpy(udpq[udpq_n], b, n);
		udpq_len[udpq_n++] = n;
	}
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

static char *mint(const char *room, enum rs_role role, const char *name)
{
	return fixture_mint(secret, room, role, name, now / 1000 + 3600);
}

static char offer_sdp[2048];
static const char offer_fmt[] =
	"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\nt=0 0\\r\\na=group:BUNDLE 0\\r\\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\\r\\nc=IN IP4 0.0.0.0\\r\\n"
	"a=ice-ufrag:brws\\r\\na=ice-pwd:0123456789012345678901\\r\\n"
	"a=fingerprint:sha-256 %s\\r\\n"
	"a=setup:actpass\\r\\na=mid:0\\r\\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\\r\\n"
	"a=sendrecv\\r\\na=rtcp-mux\\r\\na=rtpmap:111 opus/48000/2\\r\\n"
	"a=ssrc:1793412467 cname:x\\r\\n";

/* Joins c to the plenary with a token for role, then offers audio. */
static void join_audio(hub *h, hub_conn *c, struct fake *f, enum rs_role role, const char *name)
{
	char *tok = mint("plenary", role, name), msg[4096];
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

/* Closes the participant's and the moderator's connections and frees the hub with its recorder. */
static void teardown(hub *h, hub_conn *cp, hub_conn *cm, struct fake *fp, struct fake *fm)
{
	hub_conn_closed(h, cp, now);
	hub_conn_closed(h, cm, now);
	fake_clear(fm);
	fake_clear(fp);
	recorder *rec = hub_recorder(h);
	hub_destroy(h);
	recorder_destroy(rec);
}

/* A hub with a memory-only recorder whose datagrams land in fake_udp. */
static hub *gate_hub(void)
{
	static const struct hub_io io = { .send = fake_send, .close = fake_close,
					  .send_udp = fake_udp };
	hub *h = hub_create(&cfg, secret, &io, recorder_create("/nonexistent", NULL));
	hub_media_port(h, 40000);
	return h;
}

static void test_gate(void)
{
	hub *h = gate_hub();
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

	teardown(h, cp, cm, &fp, &fm);
}

static double counter(const char *reason)
{
	char series[96];
	snprintf(series, sizeof series, "rostrum_media_dropped_total{reason=\"%s\"}", reason);
	return metrics_get(series);
}

/* One SRTP packet of the browser stand-in with sequence number seq. */
static size_t browser_rtp(srtpx *bs, uint16_t seq, uint8_t *pkt, size_t cap)
{
	uint8_t p[] = { 0x80, 111, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, (uint8_t)(seq >> 8),
			(uint8_t)seq, 0, 0, 0, 7, 0xfc, 1, 2, 3 };
	size_t len = sizeof p;
	memcpy(pkt, p, len);
	CHECK(srtpx_protect_rtp(bs, pkt, &len, cap) == SRTPX_OK);
	return len;
}

/*
 * A paused producer's RTP is dropped before decryption: after the first
 * packet (decrypted, so its sequence number is known) the rest count as
 * "paused" and never reach SRTP — a replay among them neither; a jump of
 * 2^14 sequence numbers is decrypted once to keep SRTP's index estimate;
 * after the grant everything is decrypted again.
 */
static void test_paused_before_decrypt(dtls_cert *bcert, dtls_ctx *bctx)
{
	hub *h = gate_hub();
	struct fake fm = { 0 }, fp = { 0 };
	hub_conn *cm = hub_conn_open(h, &fm, now), *cp = hub_conn_open(h, &fp, now);
	char *tok = mint("plenary", RS_ROLE_MODERATOR, "Chair"), msg[1024];
	snprintf(msg, sizeof msg, "{\"type\":\"join\",\"id\":1,\"room\":\"plenary\",\"token\":\"%s\"}",
		 tok);
	free(tok);
	say(h, cm, msg);
	join_audio(h, cp, &fp, RS_ROLE_PARTICIPANT, "Ama");
	char ufrag[16], pwd[32], user[64], fp_hex[128];
	creds(&fp, ufrag, pwd);
	const char *sdp = json_string_value(json_object_get(last_result(&fp), "sdp"));
	CHECK(sscanf(strstr(sdp, "a=fingerprint:sha-256 "), "a=fingerprint:sha-256 %127s", fp_hex) == 1);
	(void)bcert;

	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(50001) };
	inet_pton(AF_INET, "127.0.0.1", &from.sin_addr);
	const struct sockaddr *fa = (struct sockaddr *)&from;
	snprintf(user, sizeof user, "%s:brws", ufrag);
	uint8_t tid[12] = { 2 }, buf[2048];
	int n = stun_binding_request(tid, user, 1, 2, true, (const uint8_t *)pwd, strlen(pwd), buf,
				     sizeof buf);
	hub_media_input(h, now, buf, (size_t)n, fa, sizeof from);
	udpq_n = 0;
	dtls_conn *b = dtls_conn_create(bctx, DTLS_CLIENT, fp_hex);
	CHECK(dtls_conn_start(b) == DTLS_OK);
	for (int round = 0; round < 20 && dtls_conn_state(b) != DTLS_CONNECTED; round++) {
		while ((n = dtls_conn_poll_output(b, buf, sizeof buf)) > 0)
			hub_media_input(h, now, buf, (size_t)n, fa, sizeof from);
		for (int i = 0; i < udpq_n; i++)
			(void)!dtls_conn_input(b, udpq[i], udpq_len[i]);
		udpq_n = 0;
	}
	while ((n = dtls_conn_poll_output(b, buf, sizeof buf)) > 0)
		hub_media_input(h, now, buf, (size_t)n, fa, sizeof from);
	CHECK(dtls_conn_state(b) == DTLS_CONNECTED);
	CHECK(metrics_get("rostrum_media_connected_total") >= 1);
	struct dtls_srtp_keys keys;
	CHECK(dtls_conn_srtp_keys(b, &keys) == DTLS_OK);
	srtpx *bs = srtpx_create(&keys);

	double paused = counter("paused"), srtp = counter("srtp");
	uint8_t pkt[512], replay[512];
	size_t len = browser_rtp(bs, 1, pkt, sizeof pkt);
	hub_media_input(h, now, pkt, len, fa, sizeof from); /* decrypted: the first one */
	CHECK(counter("paused") == paused && counter("srtp") == srtp);
	size_t rlen = 0;
	for (uint16_t seq = 2; seq <= 11; seq++) {
		len = browser_rtp(bs, seq, pkt, sizeof pkt);
		if (seq == 2) {
			memcpy(replay, pkt, len);
			rlen = len;
		}
		hub_media_input(h, now, pkt, len, fa, sizeof from);
	}
	hub_media_input(h, now, replay, rlen, fa, sizeof from);
	CHECK(counter("paused") == paused + 11 && counter("srtp") == srtp);
	len = browser_rtp(bs, 1 + 0x4000, pkt, sizeof pkt); /* far ahead: decrypted once */
	hub_media_input(h, now, pkt, len, fa, sizeof from);
	CHECK(counter("paused") == paused + 11 && counter("srtp") == srtp);
	len = browser_rtp(bs, 2 + 0x4000, pkt, sizeof pkt);
	hub_media_input(h, now, pkt, len, fa, sizeof from);
	CHECK(counter("paused") == paused + 12);

	/* The grant: decrypted again; a replay now fails SRTP's replay check. */
	say(h, cp, "{\"type\":\"floor.request\",\"id\":3}");
	json_int_t req = json_integer_value(json_object_get(last_result(&fp), "request"));
	snprintf(msg, sizeof msg, "{\"type\":\"floor.grant\",\"id\":4,\"request\":%lld}", (long long)req);
	say(h, cm, msg);
	char s[8];
	sends(&fp, s, sizeof s);
	CHECK_STR(s, "01");
	len = browser_rtp(bs, 3 + 0x4000, pkt, sizeof pkt);
	memcpy(replay, pkt, len);
	hub_media_input(h, now, pkt, len, fa, sizeof from);
	hub_media_input(h, now, replay, len, fa, sizeof from);
	CHECK(counter("paused") == paused + 12 && counter("srtp") == srtp + 1);

	srtpx_free(bs);
	dtls_conn_free(b);
	teardown(h, cp, cm, &fp, &fm);
}

int main(void)
{
	CHECK(srtpx_init() == SRTPX_OK);
	dtls_cert *bcert = dtls_cert_generate();
	dtls_ctx *bctx = dtls_ctx_create(bcert, NULL);
	snprintf(offer_sdp, sizeof offer_sdp, offer_fmt, dtls_cert_fingerprint(bcert));
	config_default(&cfg);
	char err[256];
	CHECK(config_parse(&cfg, "{\"rooms\":[{\"id\":\"plenary\",\"open\":true,"
				 "\"policy\":{\"recording\":\"off\"}}]}", err, sizeof err) == 0);
	test_gate();
	test_paused_before_decrypt(bcert, bctx);
	config_free(&cfg);
	dtls_ctx_free(bctx);
	dtls_cert_free(bcert);
	return check_done();
}
