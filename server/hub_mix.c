/*
 * hub_mix: what a room hears when more than one person speaks, and the
 * room's recording.
 *
 * Mixing, the talking indicator and the recording are observers of the
 * room's router (media/router.h): they see the packets of producers that
 * are not paused, and what the floor channel forwarded.
 *
 * While one person is heard, their packets are forwarded as they are
 * (the router). When a second starts (two floor holders, or a moderator
 * speaking over a holder), the room switches to its mixer: every speaker's
 * packets go into it, and a 20 ms timer takes one mixed frame for the
 * listeners and a mix-minus for each speaker. When only one is left the room
 * forwards again. Both ways the listeners' stream is the room's one rewritten
 * stream (same SSRC, sequence numbers one apart, timestamps that follow wall
 * time), so the switch is no new stream. No timer runs while nobody mixes.
 *
 * The recording takes what listeners hear: the forwarded Opus packets,
 * muxed into the file as they are, or the mix's PCM, encoded; it writes Ogg
 * pages through the journal writer process, never from this loop.
 */
#include "bytes.h"
#include "hub_audio.h"
#include "mixer.h"
#include "oggrec.h"

#include <opus/opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIVE_MS 300          /* a source is live while its packets keep coming this often */
#define QUIET_MS 1000        /* a moderator without the floor is heard while loud this recently */
#define CATCH_UP_MS 200      /* a mix timer this late skips ahead rather than bursting */
#define MIX_PRIME_MS 40      /* the mixer's jitter buffers fill before its first frame */
#define PAUSE_MS 200         /* a speaker this long under the talking level is pausing */
#define LONE_MS 2000         /* the longest a lone speaker stays mixed, waiting for a pause */
#define PAD_AFTER_MS 1500    /* after the last sound, silence pushes the recording to disk */
#define PAD_EVERY_MS 1000    /* and keeps it going a second at a time while the room is quiet */
#define ANCHOR_GAP_MS 200    /* audio after a pause this long is placed by the clock again */
#define ANCHOR_DRIFT 24000   /* samples (0.5 s) the stream's timestamps may stray from the clock */
#define OUT_ROOM (1500 + SRTPX_TRAILER)
#define TALK_LEVEL 60        /* RFC 6464 level (-dBov) louder than this counts as talking */
#define TALK_HOLD_MS 600     /* a talker stays shown this long after their last loud packet */
#define TALK_CHECK_MS 250    /* indicators go out at most this often */

enum rec_mode { REC_AUTO, REC_MANUAL, REC_OFF };

struct room_audio {
	/* borrowed */
	struct hroom *hr;
	/* owned */
	media_router *router;    /* the floor channel and its observers */
	media_channel *floor;
	struct media_member **mods; /* borrowed: moderators with audio */
	size_t n_mods, cap_mods;
	int64_t talk_due;        /* next talking-indicator check, INT64_MAX when nobody talks */
	struct deadline_node due; /* the first of mix_due, pad_due, talk_due, in the hub's heap */
	mixer *mix;              /* NULL while forwarding */
	oggrec *rec;             /* NULL while not recording */
	/* mixing */
	int64_t mix_due;         /* next mix tick, INT64_MAX while forwarding */
	uint32_t mix_ts;         /* RTP timestamp of the next mixed frame */
	uint32_t fwd_pid;        /* whose packets were forwarded last */
	int64_t lone_since;      /* one speaker left in the mix since then, 0 while more */
	/* recording */
	enum rec_mode mode;
	bool stopped_by_hand;    /* a moderator stopped it: auto waits for the next session */
	char file[192];          /* relative to the data directory */
	int64_t rec_start;
	int64_t pad_due;         /* next silence fill while recording, INT64_MAX when not */
	bool anchored;           /* anchor_ts (room stream) is at anchor_pos (samples into the file) */
	uint32_t anchor_ts;
	int64_t anchor_pos, last_unit_ms;
};

/* ---- rooms ------------------------------------------------------------------ */

/* The room's first deadline, kept in the hub's heap after anything that moves one. */
static void resched(struct room_audio *a)
{
	int64_t due = a->mix_due < a->pad_due ? a->mix_due : a->pad_due;
	due = a->talk_due < due ? a->talk_due : due;
	struct hub_media_state *s = a->hr->hub->media;
	if (s && due != a->due.due)
		deadline_set(s->rooms, &a->due, due);
}

static enum rec_mode policy_mode(json_t *policy)
{
	const char *m = json_string_value(json_object_get(policy, "recording"));
	if (m && strcmp(m, "manual") == 0)
		return REC_MANUAL;
	if (m && strcmp(m, "off") == 0)
		return REC_OFF;
	return REC_AUTO;
}

static const struct media_observer talk_observer, mix_observer, rec_observer;

void hub_mix_room_init(struct hroom *hr, json_t *policy)
{
	struct room_audio *a = rs_calloc(1, sizeof *a);
	hr->audio = a;
	a->hr = hr;
	a->mode = policy_mode(policy);
	a->mix_due = INT64_MAX;
	a->pad_due = INT64_MAX;
	a->talk_due = INT64_MAX;
	deadline_node_init(&a->due, hr);
	a->router = media_router_create();
	a->floor = media_channel_create(a->router, "floor", hr->rw.out_ssrc, 0, 0);
	*media_channel_stream(a->floor) = hr->rw; /* the stream the room was given */
	struct media_observer o[] = { talk_observer, mix_observer, rec_observer };
	for (size_t i = 0; i < RS_ARRAY_LEN(o); i++) {
		o[i].ctx = a;
		(void)media_router_observe(a->router, &o[i]);
	}
}

media_router *hub_mix_router(const struct hroom *hr) { return hr->audio->router; }
media_channel *hub_mix_floor(const struct hroom *hr) { return hr->audio->floor; }
size_t hub_mix_n_moderators(const struct hroom *hr) { return hr->audio->n_mods; }

struct media_member *hub_mix_moderator_at(const struct hroom *hr, size_t i)
{
	return i < hr->audio->n_mods ? hr->audio->mods[i] : NULL;
}

void hub_mix_moderator_add(struct hroom *hr, struct media_member *m)
{
	struct room_audio *a = hr->audio;
	if (a->n_mods == a->cap_mods) {
		a->cap_mods = a->cap_mods ? a->cap_mods * 2 : 4;
		a->mods = rs_realloc(a->mods, a->cap_mods * sizeof *a->mods);
	}
	m->mod_index = a->n_mods;
	a->mods[a->n_mods++] = m;
}

void hub_mix_moderator_remove(struct hroom *hr, struct media_member *m)
{
	struct room_audio *a = hr->audio;
	size_t i = m->mod_index;
	if (i >= a->n_mods || a->mods[i] != m)
		return;
	a->mods[i] = a->mods[--a->n_mods];
	a->mods[i]->mod_index = i;
}

/*
 * Speaking: packets are coming, and the speaker holds the floor or (a
 * moderator's open microphone) has been loud lately. A quiet moderator does
 * not turn a lone speaker's forwarded stream into a mix.
 */
static bool speaking(const struct media_member *m, int64_t now)
{
	if (!m->heard_ms || now - m->heard_ms > LIVE_MS || media_producer_paused(m->prod))
		return false;
	if (m->granted || transport_level_ext(m->tp) == 0)
		return true;
	return m->talk_ms && now - m->talk_ms < QUIET_MS;
}

/* Only producers that are not paused can be speaking: the walk is over the few heard. */
static size_t count_speaking(const struct room_audio *a, int64_t now)
{
	size_t n = 0;
	for (size_t i = 0; i < media_channel_n_active(a->floor); i++)
		n += speaking(media_producer_owner(media_channel_active_at(a->floor, i)), now);
	return n;
}

/* ---- recording ---------------------------------------------------------------- */

static void rec_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct hroom *hr = ctx;
	hub *h = hr->hub;
	/* A failing disk refuses audio before journal records: the page is lost, the session is not. */
	if (recorder_append_raw(h->rec, hr->audio->file, buf, len) != RECORDER_OK)
		metrics_inc(h->media->rec_dropped, 1);
}

/* The event is the snapshot's state (less the policy, which does not change) and who did it. */
static void rec_announce(struct hroom *hr, const char *by)
{
	json_t *o = hub_mix_snapshot(hr);
	json_object_del(o, "mode");
	json_object_set_new(o, "type", json_string("audio.recording"));
	if (by)
		json_object_set_new(o, "by", json_string(by));
	rs_msg *m = rs_msg_take_json(o);
	room_broadcast(hr->room, m, ROOM_TO_ALL, NULL);
	rs_msg_unref(m);
}

static void rec_journal(hub *h, struct hroom *hr, const char *event, int64_t now, const char *by)
{
	struct room_audio *a = hr->audio;
	json_t *r = json_pack("{s:s, s:s, s:s, s:I, s:I}", "kind", "recording", "event", event,
			      "file", a->file, "start_t", (json_int_t)a->rec_start, "t",
			      (json_int_t)now);
	if (by)
		json_object_set_new(r, "by", json_string(by));
	if (hub_record(h, hr, r, NULL, NULL) != RECORDER_OK)
		rs_log(RS_LOG_WARN, "room %s: the recording %s was not journaled", room_id(hr->room),
		       event);
	json_decref(r);
}

/* DATA/recordings/ROOM-YYYYMMDDTHHMMSSZ.opus for a recording starting at now (wall ms). */
static void rec_name(struct hroom *hr, int64_t now)
{
	time_t s = (time_t)(now / 1000);
	struct tm tm;
	char stamp[32];
	gmtime_r(&s, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
	snprintf(hr->audio->file, sizeof hr->audio->file, "recordings/%s-%s-%03d.opus",
		 room_id(hr->room), stamp, (int)(now % 1000));
}

static int rec_start(hub *h, struct hroom *hr, int64_t now, const char *by)
{
	struct room_audio *a = hr->audio;
	if (a->rec)
		return 0;
	rec_name(hr, now);
	struct oggrec_sink sink = { rec_write, hr };
	a->rec = oggrec_create(&sink, now, room_id(hr->room), room_title(hr->room));
	if (!a->rec)
		return -1;
	a->rec_start = now;
	a->anchored = false;
	a->pad_due = now + PAD_EVERY_MS;
	resched(a);
	metrics_add("rostrum_recordings_started_total", 1);
	rec_journal(h, hr, "start", now, by);
	rec_announce(hr, by);
	return 0;
}

static void rec_stop(hub *h, struct hroom *hr, int64_t now, const char *by)
{
	struct room_audio *a = hr->audio;
	if (!a->rec)
		return;
	oggrec_finish(a->rec, now);
	a->rec = NULL;
	a->pad_due = INT64_MAX;
	resched(a);
	rec_journal(h, hr, "stop", now, by);
	rec_announce(hr, by);
}

/*
 * The time to give the recording for n samples of the room stream at
 * timestamp ts, heard at now. Within a stretch of speech the stream's own
 * timestamps place the audio, so arrival jitter leaves no holes; after a
 * pause (or if the two drift apart) the clock places it again.
 */
static int64_t rec_time(struct room_audio *a, uint32_t ts, int n, int64_t now)
{
	int64_t wall = (now - a->rec_start) * (OGGREC_RATE / 1000) - n;
	int64_t pos = a->anchor_pos + (int32_t)(ts - a->anchor_ts);
	if (!a->anchored || now - a->last_unit_ms > ANCHOR_GAP_MS || llabs(pos - wall) > ANCHOR_DRIFT) {
		a->anchored = true;
		a->anchor_ts = ts;
		a->anchor_pos = pos = wall > 0 ? wall : 0;
	}
	a->last_unit_ms = now;
	a->pad_due = now + PAD_AFTER_MS;
	resched(a);
	return a->rec_start + (pos + n + OGGREC_RATE / 1000 - 1) / (OGGREC_RATE / 1000);
}

/*
 * Silence while the room is quiet, a second at a time: the encoder's last
 * second of speech reaches the disk, and a long silence costs a little
 * each second instead of stalling the loop when the next sound comes.
 */
static void rec_pad(struct room_audio *a, int64_t now)
{
	if (!a->rec) {
		a->pad_due = INT64_MAX;
		return;
	}
	if (oggrec_pcm(a->rec, now, NULL, 0) != OGGREC_OK)
		metrics_inc(a->hr->hub->media->rec_errors, 1);
	a->pad_due = now + PAD_EVERY_MS;
}

void hub_mix_connected(hub *h, hub_conn *c, int64_t now)
{
	struct room_audio *a = c->hr ? c->hr->audio : NULL;
	if (a && a->mode == REC_AUTO && !a->stopped_by_hand && !a->rec &&
	    rec_start(h, c->hr, now, NULL) != 0)
		rs_log(RS_LOG_ERR, "room %s: the recording could not start", room_id(c->hr->room));
}

void hub_mix_room_empty(hub *h, struct hroom *hr, int64_t now)
{
	rec_stop(h, hr, now, NULL);
	hr->audio->stopped_by_hand = false; /* the session is over */
}

/* ---- mixing ------------------------------------------------------------------- */

static void mix_stop(struct hroom *hr)
{
	struct room_audio *a = hr->audio;
	const struct mixer_stats *st = mixer_stats(a->mix);
	rs_log(RS_LOG_INFO, "room %s: mix of %llu frames ended (%llu packets, %llu concealed, "
	       "%llu recovered by FEC, %llu late, %llu skipped)", room_id(hr->room),
	       (unsigned long long)st->ticks, (unsigned long long)st->packets,
	       (unsigned long long)st->concealed, (unsigned long long)st->fec,
	       (unsigned long long)st->late, (unsigned long long)st->skipped);
	metrics_add("rostrum_mix_frames_total", st->ticks);
	metrics_add("rostrum_mix_concealed_total", st->concealed);
	mixer_destroy(a->mix);
	a->mix = NULL;
	a->mix_due = INT64_MAX;
	a->lone_since = 0;
	resched(a);
	metrics_add("rostrum_mix_stops_total", 1);
}

static void mix_start(struct hroom *hr, int64_t now)
{
	struct room_audio *a = hr->audio;
	struct mixer_opts o = { .bitrate = 32000, .complexity = -1, .jitter_ms = MIX_PRIME_MS };
	a->mix = mixer_create(&o);
	if (!a->mix) {
		rs_log(RS_LOG_ERR, "room %s: no mixer (libopus refused)", room_id(hr->room));
		return;
	}
	/*
	 * The first frame goes out once the sources' jitter buffers hold their
	 * start depth, carrying the timestamp that follows the last forwarded
	 * packet: listeners' decoders bridge the short wait, and the speech of
	 * whoever was forwarded continues without a frame of silence in it.
	 */
	a->mix_ts = rtp_rewriter_next_ts(media_channel_stream(a->floor), now);
	a->mix_due = now + MIX_PRIME_MS;
	resched(a);
	metrics_add("rostrum_mix_starts_total", 1);
}

static void mix_push(struct room_audio *a, struct media_member *m, const uint8_t *pkt,
		     const struct rtp_hdr *rh, int64_t now)
{
	struct hub_media_state *s = a->hr->hub->media;
	if (!mixer_has(a->mix, m->pid) && mixer_add(a->mix, m->pid, true) != MIXER_OK) {
		metrics_inc(s->mix_full, 1);
		return;
	}
	if (mixer_push(a->mix, m->pid, rh->seq, rh->ts, pkt + rh->header_len, rh->payload_len,
		       now) != MIXER_OK)
		metrics_inc(s->mix_refused, 1);
}

/*
 * The mix observer: a packet of a producer that is heard. False when the
 * mixer takes it, or when someone else is being forwarded.
 */
static bool mix_admit(void *ctx, media_producer *p, const uint8_t *pkt, size_t len,
		      const struct rtp_hdr *rh, int64_t now)
{
	(void)len;
	struct room_audio *a = ctx;
	struct media_member *m = media_producer_owner(p);
	m->heard_ms = now;
	bool sp = speaking(m, now);
	if (!a->mix && sp && count_speaking(a, now) >= 2)
		mix_start(a->hr, now);
	if (a->mix) {
		if (sp || mixer_has(a->mix, m->pid))
			mix_push(a, m, pkt, rh, now);
		return false;
	}
	/* Forwarding: the speaker, or while nobody speaks whoever was forwarded last. */
	bool other_speaks = !sp && count_speaking(a, now) > 0;
	if (other_speaks || (!sp && a->fwd_pid && a->fwd_pid != m->pid))
		return false;
	a->fwd_pid = m->pid;
	return true;
}

/* The recording observer: what the floor channel forwarded goes into the file. */
static void rec_forwarded(void *ctx, media_channel *ch, media_producer *p, const uint8_t *pkt,
			  size_t len, const struct rtp_hdr *rh, int64_t now)
{
	(void)ch;
	(void)p;
	(void)len;
	struct room_audio *a = ctx;
	if (!a->rec)
		return;
	/* The room stream's sequence number and timestamp, after rewriting. */
	uint16_t seq = get16(pkt + 2);
	uint32_t ts = get32(pkt + 4);
	const uint8_t *payload = pkt + rh->header_len;
	int n = opus_packet_get_nb_samples(payload, (opus_int32)rh->payload_len, OGGREC_RATE);
	if (n <= 0 || oggrec_opus(a->rec, rec_time(a, ts, n, now), seq, payload,
				  rh->payload_len) != OGGREC_OK)
		metrics_inc(a->hr->hub->media->rec_errors, 1);
}

/* The payload a listener gets: its own mix-minus when it is in the mix. */
static void pick(const struct mixer_out *o, uint32_t pid, const uint8_t **p, size_t *n)
{
	*p = o->mix;
	*n = o->mix_len;
	for (size_t i = 0; i < o->n_minus; i++)
		if (o->minus[i].id == pid) {
			*p = o->minus[i].pkt;
			*n = o->minus[i].len;
		}
}

/* One mixed frame onto the room stream, one packet per connected listener. */
/* One mixed frame onto the channel's stream, one packet per consumer (its mix-minus or the mix). */
static void mix_send(struct room_audio *a, const struct mixer_out *o, int64_t now)
{
	uint8_t hdr[RTP_HEADER_MIN] = { 0x80 }, out[OUT_ROOM];
	rtp_rewriter_local(media_channel_stream(a->floor), hdr, a->mix_ts, now);
	a->mix_ts += MIXER_FRAME;
	for (size_t i = 0; i < media_channel_n_consumers(a->floor); i++) {
		media_consumer *c = media_channel_consumer_at(a->floor, i);
		const uint8_t *p;
		size_t n;
		pick(o, media_consumer_id(c), &p, &n);
		if (sizeof hdr + n > 1500)
			continue;
		memcpy(out, hdr, sizeof hdr);
		memcpy(out + sizeof hdr, p, n);
		media_consumer_send(c, out, sizeof hdr + n, now);
	}
}

/*
 * Sources that stopped speaking leave the mix. False when the room should
 * go back to forwarding: nobody is left, or one speaker is, and they pause
 * (their audio level says so) or LONE_MS passed. Waiting for a pause means
 * the frames still in that speaker's jitter buffer are not cut out of a
 * word when their packets go back to being forwarded.
 */
static bool mix_sources(struct room_audio *a, int64_t now)
{
	size_t live = 0;
	const struct media_member *last = NULL;
	/* Paused producers left the mix when they were paused (mix_paused). */
	for (size_t i = 0; i < media_channel_n_active(a->floor); i++) {
		struct media_member *m = media_producer_owner(media_channel_active_at(a->floor, i));
		if (speaking(m, now)) {
			live++;
			last = m;
		} else if (mixer_has(a->mix, m->pid)) {
			mixer_remove(a->mix, m->pid);
		}
	}
	if (live != 1) {
		a->lone_since = 0;
		return live >= 2;
	}
	if (!a->lone_since)
		a->lone_since = now;
	bool pausing = !last->talk_ms || now - last->talk_ms > PAUSE_MS;
	return !pausing && now - a->lone_since < LONE_MS;
}

static void mix_tick(struct hroom *hr, int64_t now)
{
	struct room_audio *a = hr->audio;
	if (now - a->mix_due > CATCH_UP_MS)
		a->mix_due = now; /* the loop was held up: skip, do not burst */
	while (a->mix && a->mix_due <= now) {
		if (!mix_sources(a, now)) {
			mix_stop(hr);
			break;
		}
		struct mixer_out o;
		uint32_t ts = a->mix_ts;
		if (mixer_tick(a->mix, a->mix_due, &o) == MIXER_OK) {
			mix_send(a, &o, now);
			if (a->rec && oggrec_pcm(a->rec, rec_time(a, ts, MIXER_FRAME, now), o.pcm,
						 MIXER_FRAME) != OGGREC_OK)
				metrics_inc(hr->hub->media->rec_errors, 1);
		}
		a->mix_due += MIXER_FRAME_MS;
	}
}

/* A producer that is paused, or goes, leaves the mix and the forwarding at once. */
static void mix_leave(struct room_audio *a, struct media_member *m)
{
	if (a->mix && mixer_has(a->mix, m->pid))
		mixer_remove(a->mix, m->pid);
	if (a->fwd_pid == m->pid)
		a->fwd_pid = 0;
	m->heard_ms = 0;
}

static void mix_paused(void *ctx, media_producer *p, bool paused)
{
	if (paused)
		mix_leave(ctx, media_producer_owner(p));
}

static void mix_closed(void *ctx, media_producer *p)
{
	mix_leave(ctx, media_producer_owner(p));
}

/* ---- talking indicators -------------------------------------------------------- */

static void announce(struct room_audio *a, struct media_member *m, bool talking)
{
	m->talking = talking;
	json_t *o = json_pack("{s:s, s:I, s:b}", "type", "audio.talking", "pid",
			      (json_int_t)m->pid, "talking", talking);
	rs_msg *msg = rs_msg_take_json(o);
	room_broadcast(a->hr->room, msg, ROOM_TO_ALL, NULL);
	rs_msg_unref(msg);
}

/* The talk observer: a loud packet marks its producer as talking (it never holds one). */
static bool talk_packet(void *ctx, media_producer *p, const uint8_t *pkt, size_t len,
			const struct rtp_hdr *rh, int64_t now)
{
	(void)pkt;
	(void)len;
	struct room_audio *a = ctx;
	struct media_member *m = media_producer_owner(p);
	if (rh->audio_level < 0 || rh->audio_level > TALK_LEVEL)
		return true;
	m->talk_ms = now;
	if (!m->talking && a->talk_due == INT64_MAX) {
		a->talk_due = now; /* announce a new talker at the next pass */
		resched(a);
	}
	return true;
}

/* A talker who is paused stops talking now, not when the hold runs out. */
static void talk_paused(void *ctx, media_producer *p, bool paused)
{
	struct media_member *m = media_producer_owner(p);
	m->talk_ms = 0;
	if (paused && m->talking)
		announce(ctx, m, false);
}

/* Each room announces the talkers that changed; only the producers heard can be talking. */
static void announce_talkers(struct room_audio *a, int64_t now)
{
	bool any = false;
	for (size_t i = 0; i < media_channel_n_active(a->floor); i++) {
		struct media_member *m = media_producer_owner(media_channel_active_at(a->floor, i));
		bool talking = m->talk_ms && now - m->talk_ms < TALK_HOLD_MS;
		any = any || talking;
		if (talking != m->talking)
			announce(a, m, talking);
	}
	a->talk_due = any ? now + TALK_CHECK_MS : INT64_MAX;
}

static const struct media_observer talk_observer = { .on_packet = talk_packet,
						     .on_paused = talk_paused };
static const struct media_observer mix_observer = { .on_packet = mix_admit,
						    .on_paused = mix_paused,
						    .on_closed = mix_closed };
static const struct media_observer rec_observer = { .on_forwarded = rec_forwarded };

/* ---- timers ------------------------------------------------------------------- */

int64_t hub_mix_deadline(const hub *h)
{
	return deadline_next(h->media->rooms);
}

static void audio_tick(struct hroom *hr, int64_t now)
{
	struct room_audio *a = hr->audio;
	if (a->mix_due <= now)
		mix_tick(hr, now);
	if (a->pad_due <= now)
		rec_pad(a, now);
	if (a->talk_due <= now)
		announce_talkers(a, now);
	resched(a);
}

/* The rooms due are taken out first, then run: a room that is due again waits a pass. */
void hub_mix_tick(hub *h, int64_t now)
{
	struct deadline_node *n;
	struct hroom *due[64];
	size_t k = 0;
	while (k < RS_ARRAY_LEN(due) && (n = deadline_pop_due(h->media->rooms, now)))
		due[k++] = n->owner;
	for (size_t i = 0; i < k; i++)
		audio_tick(due[i], now);
}

void hub_mix_room_free(hub *h, struct hroom *hr)
{
	struct room_audio *a = hr->audio;
	if (a->rec) /* the room still had members: end at the last sound written */
		rec_stop(h, hr, a->rec_start + oggrec_written_ms(a->rec), NULL);
	if (h->media)
		deadline_set(h->media->rooms, &a->due, DEADLINE_NEVER);
	media_router_destroy(a->router);
	mixer_destroy(a->mix);
	free(a->mods);
	free(a);
	hr->audio = NULL;
}

void hub_mix_count(const hub *h, size_t *mixing, size_t *recording)
{
	*mixing = *recording = 0;
	for (size_t i = 0; i < h->n_rooms; i++) {
		*mixing += h->rooms[i]->audio->mix != NULL;
		*recording += h->rooms[i]->audio->rec != NULL;
	}
}

/* ---- signaling ---------------------------------------------------------------- */

json_t *hub_mix_snapshot(const struct hroom *hr)
{
	const struct room_audio *a = hr->audio;
	static const char *const modes[] = { "auto", "manual", "off" };
	json_t *o = json_pack("{s:b, s:s}", "active", a->rec != NULL, "mode", modes[a->mode]);
	if (a->rec) {
		json_object_set_new(o, "file", json_string(a->file));
		json_object_set_new(o, "started_t", json_integer(a->rec_start));
	}
	return o;
}

int hub_mix_record_request(hub *h, hub_conn *c, json_t *req, int64_t now, struct reply *rep)
{
	struct hroom *hr = c->hr;
	json_t *on = json_object_get(req, "active");
	if (!json_is_boolean(on)) {
		rep->field = "active";
		return hub_fail(rep, "bad_field", "field 'active' must be true or false");
	}
	if (c->member->role != RS_ROLE_MODERATOR)
		return hub_fail(rep, "forbidden", "only moderators start or stop the recording");
	if (hr->audio->mode == REC_OFF)
		return hub_fail(rep, "recording_off", "this room's policy does not record");
	const char *by = c->member->attrs.name;
	if (json_is_true(on)) {
		hr->audio->stopped_by_hand = false;
		if (rec_start(h, hr, now, by) != 0)
			return hub_fail(rep, "internal", "the recording could not start");
	} else {
		hr->audio->stopped_by_hand = true;
		rec_stop(h, hr, now, by);
	}
	rep->data = hub_mix_snapshot(hr);
	return 0;
}
