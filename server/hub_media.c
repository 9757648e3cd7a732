/*
 * hub_media: audio in the hub. Each participant who joins audio gets a
 * transport (ICE-lite + DTLS + SRTP), a producer in the room's floor
 * channel (paused unless the floor or a moderator's role lets them be
 * heard) and, once connected, a consumer of that channel. The router
 * (media/router.c) forwards; this file finds each datagram's transport by
 * hash, keeps the transports' timers in one heap and flips the gate when
 * the floor changes.
 */
#include "floor.h"
#include "hub_audio.h"

#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUT_ROOM (1500 + SRTPX_TRAILER)
/*
 * A paused producer's packets are dropped before decryption, but libsrtp
 * guesses each packet's index (RFC 3711 section 3.3.1) from the highest
 * sequence number it has seen: after 2^15 unseen packets it would guess
 * wrong and refuse everything after a resume. So a sender that keeps
 * sending while paused has one packet decrypted (and discarded) whenever
 * its sequence numbers ran this far past the last one decrypted.
 */
#define PAUSED_SEQ_SPAN 0x4000

/* ---- state ---------------------------------------------------------------------- */

static const char *const drop_names[] = { "none", "garbage", "stun", "dtls", "srtp", "rtp" };

void hub_media_init(hub *h)
{
	struct hub_media_state *s = rs_calloc(1, sizeof *s);
	uint64_t seed = 0;
	/* A secret seed: remote addresses cannot be chosen to land in one bucket. */
	if (RAND_bytes((unsigned char *)&seed, sizeof seed) != 1)
		seed = (uint64_t)(uintptr_t)s * 0x9e3779b97f4a7c15ULL;
	s->routes = ice_server_create(seed);
	s->timers = deadline_heap_create();
	s->rooms = deadline_heap_create();
	s->in = metrics_counter_get("rostrum_media_packets_in_total");
	s->out = metrics_counter_get("rostrum_media_packets_out_total");
	s->unknown = metrics_counter_get("rostrum_media_dropped_total{reason=\"unknown_source\"}");
	s->paused = metrics_counter_get("rostrum_media_dropped_total{reason=\"paused\"}");
	s->connected = metrics_counter_get("rostrum_media_connected_total");
	s->state_changes = metrics_counter_get("rostrum_media_state_changes_total");
	for (size_t i = 1; i < RS_ARRAY_LEN(drop_names); i++) {
		char series[96];
		snprintf(series, sizeof series, "rostrum_media_dropped_total{reason=\"%s\"}",
			 drop_names[i]);
		s->drop[i] = metrics_counter_get(series);
	}
	s->mix_full = metrics_counter_get("rostrum_media_dropped_total{reason=\"mix_full\"}");
	s->mix_refused = metrics_counter_get("rostrum_mix_packets_refused_total");
	s->rec_errors = metrics_counter_get("rostrum_recording_errors_total");
	s->rec_dropped = metrics_counter_get("rostrum_recording_pages_dropped_total");
	h->media = s;
}

void hub_media_free(hub *h)
{
	if (!h->media)
		return;
	ice_server_destroy(h->media->routes);
	deadline_heap_destroy(h->media->timers);
	deadline_heap_destroy(h->media->rooms);
	free(h->media);
	h->media = NULL;
}

size_t hub_media_count(const hub *h)
{
	return h->media->n_members;
}

/* Keeps m's node in the timer heap at its transport's next deadline. */
static void reschedule(hub *h, struct media_member *m)
{
	int64_t due = transport_next_deadline(m->tp, 0);
	if (due != m->due.due)
		deadline_set(h->media->timers, &m->due, due);
}

/* ---- the gate ------------------------------------------------------------------- */

static void send_active(hub *h, struct media_member *m, bool active)
{
	json_t *o = json_pack("{s:s, s:b}", "type", "audio.send", "active", active);
	hub_send_json(h, m->c, o);
}

/* The producer's listener: a flip of the gate reaches the browser at once. */
static void on_paused(void *ctx, media_producer *p, bool paused)
{
	struct media_member *m = media_producer_owner(p);
	rs_log(RS_LOG_INFO, "room %s: participant %u %s", room_id(m->hr->room), m->pid,
	       paused ? "paused" : "heard");
	send_active(ctx, m, !paused);
}

/* Whether the floor lets m be heard now (and whether it holds the floor). */
static bool may_speak(struct media_member *m)
{
	struct room_member *rm = m->c->member;
	floor_actor a = { .pid = rm->pid, .role = rm->role, .attrs = &rm->attrs };
	struct floor_req_view v;
	m->granted = floor_find_live(m->hr->floor, m->pid, &v) && v.state == FLOOR_GRANTED;
	return floor_may_speak(m->hr->floor, &a);
}

/* Collects m once into the candidates (the list is small: speakers and moderators). */
static void add_candidate(struct media_member ***list, size_t *n, size_t *cap,
			  struct media_member *m)
{
	for (size_t i = 0; i < *n; i++)
		if ((*list)[i] == m)
			return;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*list = rs_realloc(*list, *cap * sizeof **list);
	}
	(*list)[(*n)++] = m;
}

void hub_media_floor_changed(hub *h, struct hroom *hr, int64_t now)
{
	(void)h;
	(void)now;
	media_channel *ch = hub_mix_floor(hr);
	struct media_member **cand = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < media_channel_n_active(ch); i++)
		add_candidate(&cand, &n, &cap, media_producer_owner(media_channel_active_at(ch, i)));
	for (size_t i = 0; i < hub_mix_n_moderators(hr); i++)
		add_candidate(&cand, &n, &cap, hub_mix_moderator_at(hr, i));
	struct floor_req_view v;
	for (size_t i = 0; floor_at(hr->floor, FLOOR_GRANTED, i, &v); i++) {
		struct room_member *rm = room_find(hr->room, v.pid);
		hub_conn *c = rm ? rm->conn : NULL;
		if (c && c->media)
			add_candidate(&cand, &n, &cap, c->media);
	}
	for (size_t i = 0; i < n; i++)
		media_producer_set_paused(cand[i]->prod, !may_speak(cand[i]));
	free(cand);
}

/* ---- transports ----------------------------------------------------------------- */

static void forget_tuples(hub *h, struct media_member *m)
{
	const struct sockaddr_storage *t;
	size_t n = transport_tuples(m->tp, &t);
	for (size_t i = 0; i < n; i++)
		ice_server_unbind(h->media->routes, (const struct sockaddr *)&t[i], m);
	ice_server_remove_ufrag(h->media->routes, transport_ufrag(m->tp), m);
}

void hub_media_drop(hub *h, hub_conn *c)
{
	struct media_member *m = c->media;
	if (!m)
		return;
	if (m->moderator)
		hub_mix_moderator_remove(m->hr, m);
	media_consumer_destroy(m->cons);
	media_producer_destroy(m->prod); /* the observers let go of it (mixer, forwarding) */
	forget_tuples(h, m);
	deadline_set(h->media->timers, &m->due, DEADLINE_NEVER);
	transport_free(m->tp);
	free(m);
	c->media = NULL;
	h->media->n_members--;
}

static void tp_send(void *ctx, const struct sockaddr *to, socklen_t tl, const uint8_t *b, size_t n)
{
	hub *h = ctx;
	if (h->io.send_udp)
		h->io.send_udp(h->io.ctx, to, tl, b, n);
}

/* A consumer backed by a local transport: one copy, SRTP, one datagram. */
static void consumer_send(void *ctx, const uint8_t *pkt, size_t len, int64_t now)
{
	struct media_member *m = ctx;
	uint8_t out[OUT_ROOM];
	if (len > 1500)
		return;
	memcpy(out, pkt, len);
	out[1] = (uint8_t)((out[1] & 0x80) | m->opus_pt);
	if (transport_send_rtp(m->tp, now, out, len, sizeof out) == 0)
		metrics_inc(m->out, 1);
}

static const struct media_consumer_iface local_consumer = { consumer_send };

static void tp_state(void *ctx, transport *t, enum transport_state s)
{
	hub *h = ctx;
	struct media_member *m = transport_owner(t);
	metrics_inc(s == TRANSPORT_CONNECTED ? h->media->connected : h->media->state_changes, 1);
	if (s == TRANSPORT_CONNECTED && !m->cons) {
		m->cons = media_consumer_create(hub_mix_floor(m->hr), m->pid, &local_consumer, m);
		hub_mix_connected(h, m->c, h->media_now);
	}
	if (s == TRANSPORT_FAILED) {
		media_consumer_destroy(m->cons); /* nothing more goes to a dead peer */
		m->cons = NULL;
		rs_log(RS_LOG_INFO, "audio of participant %u failed", m->pid);
	}
}

static bool tp_mapped(void *ctx, const struct sockaddr *from, socklen_t from_len,
		      struct sockaddr_storage *out)
{
	hub *h = ctx;
	return h->io.media_peer && h->io.media_peer(h->io.ctx, from, from_len, out);
}

/* The address table follows the tuples the transport accepts. */
static void tp_tuple(void *ctx, transport *t, const struct sockaddr *addr, bool added)
{
	hub *h = ctx;
	if (added)
		ice_server_bind(h->media->routes, addr, transport_owner(t));
	else
		ice_server_unbind(h->media->routes, addr, transport_owner(t));
}

/* Decrypted media from a participant: the router decides who hears it. */
static void tp_rtp(void *ctx, transport *t, uint8_t *pkt, size_t len, const struct rtp_hdr *rh)
{
	hub *h = ctx;
	struct media_member *m = transport_owner(t);
	m->last_seq = rh->seq;
	m->seq_known = true;
	media_producer_receive(m->prod, pkt, len, rh, h->media_now);
}

/* ---- signaling ------------------------------------------------------------------ */

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
	transport *tp = c->media->tp;
	struct sdp_answer a = { .ice_ufrag = transport_ufrag(tp), .ice_pwd = transport_pwd(tp),
				.fingerprint = dtls_cert_fingerprint(h->cert),
				.ssrc = media_channel_stream(hub_mix_floor(c->hr))->out_ssrc,
				.cname = cname, .candidates = cand,
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

/* After the answer: the browser learns whether to send at all. */
static void after_offer(hub *h, hub_conn *c, int64_t now)
{
	(void)now;
	if (c->media)
		send_active(h, c->media, !media_producer_paused(c->media->prod));
}

/* A member with a transport, a producer (gated now) and its routes; NULL on failure. */
static struct media_member *member_create(hub *h, hub_conn *c, const struct sdp_offer *o)
{
	struct media_member *m = rs_calloc(1, sizeof *m);
	m->c = c;
	m->hr = c->hr;
	m->pid = c->member->pid;
	m->moderator = c->member->role == RS_ROLE_MODERATOR;
	struct transport_listener l = { tp_send, tp_rtp, tp_state, h, tp_mapped, tp_tuple };
	m->tp = transport_create(h->dtls, o, &l, m);
	if (!m->tp || ice_server_add(h->media->routes, transport_ufrag(m->tp), m) != ICE_OK) {
		transport_free(m->tp);
		free(m);
		return NULL;
	}
	deadline_node_init(&m->due, m);
	m->opus_pt = (uint8_t)(transport_opus_pt(m->tp) & 0x7f);
	m->out = h->media->out;
	/* Created in its gate's state: no flip, no message yet (after_offer tells the browser). */
	struct media_producer_listener pl = { on_paused, h };
	m->prod = media_producer_create(hub_mix_floor(c->hr), m->pid, !may_speak(m), &pl, m);
	c->media = m;
	if (m->moderator)
		hub_mix_moderator_add(c->hr, m);
	h->media->n_members++;
	return m;
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
	struct media_member *m = member_create(h, c, &o);
	if (!m)
		return hub_fail(rep, "internal", "the audio connection could not be set up");
	char cname[CNAME_CAP];
	room_cname(c->hr, cname);
	transport_set_sender(m->tp, media_channel_stream(hub_mix_floor(c->hr))->out_ssrc, cname);
	rep->after = after_offer;
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

/* ---- datagrams ------------------------------------------------------------------ */

/*
 * RTP (not RTCP, RFC 5761 section 4) from a paused producer is dropped
 * before decryption: nobody would hear it, and its sender has been told to
 * stop. Only the cleartext header is read (the sequence number).
 */
static bool drop_paused(const struct media_member *m, const uint8_t *buf, size_t len)
{
	if (len < RTP_HEADER_MIN || buf[0] < 128 || buf[0] > 191 || (buf[1] >= 192 && buf[1] <= 223))
		return false;
	if (!media_producer_paused(m->prod) || !m->seq_known)
		return false;
	uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
	return (uint16_t)(seq - m->last_seq) < PAUSED_SEQ_SPAN;
}

/*
 * One datagram on the media port: STUN goes by the ufrag its USERNAME
 * names, everything else by its tuple — one hash lookup either way; an
 * unknown source costs that lookup and a counter.
 */
void hub_media_input(hub *h, int64_t now, uint8_t *buf, size_t len, const struct sockaddr *from,
		     socklen_t from_len)
{
	struct hub_media_state *s = h->media;
	metrics_inc(s->in, 1);
	h->media_now = now;
	struct media_member *m = len ? ice_server_route(s->routes, buf, len, from) : NULL;
	if (!m) {
		metrics_inc(s->unknown, 1);
		return;
	}
	if (drop_paused(m, buf, len)) {
		metrics_inc(s->paused, 1);
		return;
	}
	enum transport_drop d = transport_input(m->tp, now, buf, len, from, from_len);
	if (d != TRANSPORT_DROP_NONE)
		metrics_inc(s->drop[d], 1);
	reschedule(h, m);
}

void hub_media_port(hub *h, int port)
{
	h->media_port = port;
}

void hub_media_tcp_port(hub *h, int port)
{
	h->media_tcp_port = port;
}

/* ---- timers --------------------------------------------------------------------- */

int64_t hub_media_deadline(const hub *h)
{
	return deadline_next(h->media->timers);
}

/* Runs the transports that are due, each once, from the heap: no scan of the others. */
void hub_media_tick(hub *h, int64_t now)
{
	struct deadline_node *n;
	struct media_member *due[64];
	size_t k = 0;
	h->media_now = now;
	while (k < RS_ARRAY_LEN(due) && (n = deadline_pop_due(h->media->timers, now)))
		due[k++] = n->owner;
	for (size_t i = 0; i < k; i++) {
		transport_tick(due[i]->tp, now);
		reschedule(h, due[i]);
	}
}
