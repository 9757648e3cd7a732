/*
 * hub_media: audio in the hub. Each participant who joins audio gets a
 * transport (ICE-lite + DTLS + SRTP); the floor decides whose packets enter
 * the room; the room's one rewritten stream goes to every other listener,
 * encrypted once per listener — the only per-listener work on the hot path.
 */
#include "floor.h"
#include "hub_internal.h"
#include "metrics.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TALK_LEVEL 60         /* RFC 6464 level (-dBov) louder than this counts as talking */
#define TALK_HOLD_MS 600      /* a talker stays shown this long after their last loud packet */
#define TALK_CHECK_MS 250     /* indicators go out at most this often */
#define OUT_ROOM (1500 + SRTPX_TRAILER)

/* ---- transports ---------------------------------------------------------------- */

static void media_add(hub *h, hub_conn *c)
{
	if (h->n_media == h->cap_media) {
		h->cap_media = h->cap_media ? h->cap_media * 2 : 16;
		h->media = rs_realloc(h->media, h->cap_media * sizeof *h->media);
	}
	h->media[h->n_media++] = c;
}

void hub_media_drop(hub *h, hub_conn *c)
{
	if (!c->tp)
		return;
	for (size_t i = 0; i < h->n_media; i++)
		if (h->media[i] == c) {
			h->media[i] = h->media[--h->n_media];
			break;
		}
	hub_mix_drop(c);
	transport_free(c->tp);
	c->tp = NULL;
	c->talking = false;
}

static void tp_send(void *ctx, const struct sockaddr *to, socklen_t tl, const uint8_t *b, size_t n)
{
	hub *h = ctx;
	if (h->io.send_udp)
		h->io.send_udp(h->io.ctx, to, tl, b, n);
}

static void tp_state(void *ctx, transport *t, enum transport_state s)
{
	hub *h = ctx;
	hub_conn *c = transport_owner(t);
	if (s == TRANSPORT_CONNECTED)
		hub_mix_connected(h, c, h->media_now);
	metrics_add(s == TRANSPORT_CONNECTED ? "rostrum_media_connected_total"
		    : "rostrum_media_state_changes_total", 1);
	if (s == TRANSPORT_FAILED && c->member)
		rs_log(RS_LOG_INFO, "audio of participant %u failed", c->member->pid);
}

static bool tp_mapped(void *ctx, const struct sockaddr *from, socklen_t from_len,
		      struct sockaddr_storage *out)
{
	hub *h = ctx;
	return h->io.media_peer && h->io.media_peer(h->io.ctx, from, from_len, out);
}

/* Sends the room's rewritten packet to every other connected listener. */
static void fan_out(hub *h, hub_conn *from, uint8_t *pkt, size_t len)
{
	uint8_t out[OUT_ROOM];
	if (len > sizeof out - SRTPX_TRAILER) /* the media port reads datagrams of up to 2 KB */
		return;
	for (size_t i = 0; i < h->n_media; i++) {
		hub_conn *c = h->media[i];
		if (c == from || c->hr != from->hr || transport_state(c->tp) != TRANSPORT_CONNECTED)
			continue;
		memcpy(out, pkt, len);
		if (transport_send_rtp(c->tp, h->media_now, out, len, sizeof out) == 0)
			metrics_add("rostrum_media_packets_out_total", 1);
	}
}

static void note_talking(hub *h, hub_conn *c, const struct rtp_hdr *rh, int64_t now)
{
	if (rh->audio_level < 0 || rh->audio_level > TALK_LEVEL)
		return;
	c->talk_ms = now;
	if (!c->talking && h->talk_due == INT64_MAX)
		h->talk_due = now; /* announce a new talker at the next pass */
}

/* Decrypted media from a participant: heard only while the floor allows it. */
static void tp_rtp(void *ctx, transport *t, uint8_t *pkt, size_t len, const struct rtp_hdr *rh)
{
	hub *h = ctx;
	hub_conn *c = transport_owner(t);
	if (!c->hr || !c->member)
		return;
	floor_actor a = { .pid = c->member->pid, .role = c->member->role, .attrs = &c->member->attrs };
	if (!floor_may_speak(c->hr->floor, &a)) {
		metrics_add("rostrum_media_dropped_total{reason=\"no_floor\"}", 1);
		return;
	}
	int64_t now = h->media_now;
	note_talking(h, c, rh, now);
	if (!hub_mix_admit(h, c, pkt, rh, now))
		return;
	if (rtp_rewrite(&c->hr->rw, pkt, rh, now)) {
		hub_mix_forwarded(c, pkt, rh, now);
		fan_out(h, c, pkt, len);
	}
}

/* ---- signaling --------------------------------------------------------------- */

static const char *announce_ip(const hub *h)
{
	return h->cfg->rtc.announce ? h->cfg->rtc.announce : h->cfg->listen_host;
}

#define CNAME_CAP (8 + TOKEN_ROOM_MAX + 1) /* "rostrum-" and a room id of up to 64 chars */

/* The room stream's RTCP CNAME (RFC 3550 section 6.5.1), the same in the SDP and in RTCP. */
static void room_cname(const struct hroom *hr, char out[CNAME_CAP])
{
	snprintf(out, CNAME_CAP, "rostrum-%s", room_id(hr->room));
}

static int answer(hub *h, hub_conn *c, const struct sdp_offer *o, struct reply *rep)
{
	/* UDP first; passive TCP (RFC 6544) for networks that let no UDP through. */
	struct sdp_candidate cand[2];
	size_t n_cand = 0;
	if (h->cfg->rtc.ice_udp)
		cand[n_cand++] = (struct sdp_candidate){ announce_ip(h), h->media_port, false };
	if (h->media_tcp_port)
		cand[n_cand++] = (struct sdp_candidate){ announce_ip(h), h->media_tcp_port, true };
	if (!n_cand)
		return hub_fail(rep, "audio_unavailable", "this server offers no audio candidate");
	char cname[CNAME_CAP], *sdp = rs_malloc(8192);
	room_cname(c->hr, cname);
	struct sdp_answer a = { .ice_ufrag = transport_ufrag(c->tp), .ice_pwd = transport_pwd(c->tp),
				.fingerprint = dtls_cert_fingerprint(h->cert),
				.ssrc = c->hr->rw.out_ssrc, .cname = cname, .candidates = cand,
				.n_candidates = n_cand, .session_id = c->member->pid };
	int n = sdp_build_answer(o, &a, sdp, 8192);
	if (n < 0) {
		free(sdp);
		return hub_fail(rep, "internal", "%s", sdp_strerror(n));
	}
	rep->data = json_pack("{s:s, s:s}", "type", "answer", "sdp", sdp);
	free(sdp);
	return 0;
}

static int audio_offer(hub *h, hub_conn *c, json_t *req, struct reply *rep)
{
	json_t *sdp = json_object_get(req, "sdp");
	if (!json_is_string(sdp)) {
		rep->field = "sdp";
		return hub_fail(rep, "bad_field", "field 'sdp' must be the offer's SDP text");
	}
	if (!h->dtls || !h->media_port)
		return hub_fail(rep, "audio_unavailable", "this server has no media port");
	struct sdp_offer o;
	int rc = sdp_parse_offer(json_string_value(sdp), json_string_length(sdp), &o);
	if (rc != SDP_OK)
		return hub_fail(rep, "bad_sdp", "%s", sdp_strerror(rc));
	hub_media_drop(h, c);
	struct transport_listener l = { tp_send, tp_rtp, tp_state, h, tp_mapped };
	c->tp = transport_create(h->dtls, &o, &l, c);
	if (!c->tp)
		return hub_fail(rep, "internal", "the audio connection could not be set up");
	char cname[CNAME_CAP];
	room_cname(c->hr, cname);
	transport_set_sender(c->tp, c->hr->rw.out_ssrc, cname);
	media_add(h, c);
	return answer(h, c, &o, rep);
}

int hub_media_request(hub *h, hub_conn *c, json_t *req, const char *type, int64_t now,
		      struct reply *rep)
{
	if (strcmp(type, "audio.offer") == 0)
		return audio_offer(h, c, req, rep);
	if (strcmp(type, "audio.record") == 0)
		return hub_mix_record_request(h, c, req, now, rep);
	if (strcmp(type, "audio.leave") == 0) {
		hub_media_drop(h, c);
		return 0;
	}
	return hub_fail(rep, "unknown_type", "unknown message type '%.64s'", type);
}

/* ---- datagrams ----------------------------------------------------------------- */

static hub_conn *by_address(hub *h, const struct sockaddr *from)
{
	for (size_t i = 0; i < h->n_media; i++)
		if (transport_validated(h->media[i]->tp, from))
			return h->media[i];
	return NULL;
}

static hub_conn *by_ufrag(hub *h, const uint8_t *buf, size_t len)
{
	struct stun_msg m;
	char ufrag[64];
	if (stun_parse(buf, len, &m) != STUN_OK || !ice_local_ufrag(&m, ufrag, sizeof ufrag))
		return NULL;
	for (size_t i = 0; i < h->n_media; i++)
		if (strcmp(transport_ufrag(h->media[i]->tp), ufrag) == 0)
			return h->media[i];
	return NULL;
}

static const char *const drop_names[] = { "none", "garbage", "stun", "dtls", "srtp", "rtp" };

void hub_media_input(hub *h, int64_t now, uint8_t *buf, size_t len, const struct sockaddr *from,
		     socklen_t from_len)
{
	metrics_add("rostrum_media_packets_in_total", 1);
	h->media_now = now;
	hub_conn *c = by_address(h, from);
	if (!c && len && buf[0] <= 3)
		c = by_ufrag(h, buf, len);
	enum transport_drop d = c ? transport_input(c->tp, now, buf, len, from, from_len)
				  : TRANSPORT_DROP_GARBAGE;
	if (d != TRANSPORT_DROP_NONE) {
		char series[96];
		snprintf(series, sizeof series, "rostrum_media_dropped_total{reason=\"%s\"}",
			 c ? drop_names[d] : "unknown_source");
		metrics_add(series, 1);
	}
}

void hub_media_port(hub *h, int port)
{
	h->media_port = port;
}

void hub_media_tcp_port(hub *h, int port)
{
	h->media_tcp_port = port;
}

/* ---- timers ------------------------------------------------------------------- */

int64_t hub_media_deadline(const hub *h)
{
	int64_t due = h->talk_due;
	for (size_t i = 0; i < h->n_media; i++) {
		int64_t d = transport_next_deadline(h->media[i]->tp, 0);
		if (d < due)
			due = d;
	}
	return due;
}

/* Sends each room whose talkers changed the list of who is talking now. */
static void announce_talkers(hub *h, int64_t now)
{
	bool any = false;
	for (size_t i = 0; i < h->n_media; i++) {
		hub_conn *c = h->media[i];
		bool talking = now - c->talk_ms < TALK_HOLD_MS && c->talk_ms;
		any = any || talking;
		if (talking == c->talking || !c->hr)
			continue;
		c->talking = talking;
		json_t *o = json_pack("{s:s, s:I, s:b}", "type", "audio.talking", "pid",
				      (json_int_t)c->member->pid, "talking", talking);
		rs_msg *m = rs_msg_take_json(o);
		room_broadcast(c->hr->room, m, ROOM_TO_ALL, NULL);
		rs_msg_unref(m);
	}
	h->talk_due = any ? now + TALK_CHECK_MS : INT64_MAX;
}

void hub_media_tick(hub *h, int64_t now)
{
	for (size_t i = 0; i < h->n_media; i++)
		if (transport_next_deadline(h->media[i]->tp, now) <= now)
			transport_tick(h->media[i]->tp, now);
	if (h->talk_due <= now)
		announce_talkers(h, now);
}
