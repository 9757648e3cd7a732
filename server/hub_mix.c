/*
 * hub_mix: what a room hears when more than one person speaks, and the
 * room's recording.
 *
 * While one person is heard, their packets are forwarded as they are
 * (hub_media.c). When a second starts (two floor holders, or a moderator
 * speaking over a holder), the room switches to its mixer: every speaker's
 * packets go into it, and a 20 ms timer takes one mixed frame for the
 * listeners and a mix-minus for each speaker. When only one is left the room
 * forwards again. Both ways the listeners' stream is the room's one rewritten
 * stream (same SSRC, sequence numbers one apart, timestamps that follow wall
 * time), so the switch is no new stream. No timer runs while nobody mixes.
 *
 * The recording takes what listeners hear: the forwarded packets (decoded by
 * the recording) or the mix's PCM, and writes Ogg pages through the journal
 * writer process, never from this loop.
 */
#include "bytes.h"
#include "hub_internal.h"
#include "metrics.h"
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

enum rec_mode { REC_AUTO, REC_MANUAL, REC_OFF };

struct room_audio {
	/* owned */
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

static enum rec_mode policy_mode(json_t *policy)
{
	const char *m = json_string_value(json_object_get(policy, "recording"));
	if (m && strcmp(m, "manual") == 0)
		return REC_MANUAL;
	if (m && strcmp(m, "off") == 0)
		return REC_OFF;
	return REC_AUTO;
}

void hub_mix_room_init(struct hroom *hr, json_t *policy)
{
	hr->audio = rs_calloc(1, sizeof *hr->audio);
	hr->audio->mode = policy_mode(policy);
	hr->audio->mix_due = INT64_MAX;
	hr->audio->pad_due = INT64_MAX;
}

static bool holds_floor(const hub_conn *c)
{
	struct floor_req_view v;
	return floor_find_live(c->hr->floor, c->member->pid, &v) && v.state == FLOOR_GRANTED;
}

/*
 * Speaking: packets are coming, and the speaker holds the floor or (a
 * moderator's open microphone) has been loud lately. A quiet moderator does
 * not turn a lone speaker's forwarded stream into a mix.
 */
static bool speaking(const hub_conn *c, int64_t now)
{
	if (!c->heard_ms || now - c->heard_ms > LIVE_MS || !c->member)
		return false;
	if (holds_floor(c) || transport_level_ext(c->tp) == 0)
		return true;
	return c->talk_ms && now - c->talk_ms < QUIET_MS;
}

static size_t count_speaking(const hub *h, const struct hroom *hr, int64_t now)
{
	size_t n = 0;
	for (size_t i = 0; i < h->n_media; i++)
		if (h->media[i]->hr == hr && speaking(h->media[i], now))
			n++;
	return n;
}

/* ---- recording ---------------------------------------------------------------- */

static void rec_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct hroom *hr = ctx;
	hub *h = hr->hub;
	/* A failing disk refuses audio before journal records: the page is lost, the session is not. */
	if (recorder_append_raw(h->rec, hr->audio->file, buf, len) != RECORDER_OK)
		metrics_add("rostrum_recording_pages_dropped_total", 1);
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
		metrics_add("rostrum_recording_errors_total", 1);
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
	a->mix_ts = rtp_rewriter_next_ts(&hr->rw, now);
	a->mix_due = now + MIX_PRIME_MS;
	metrics_add("rostrum_mix_starts_total", 1);
}

static void mix_push(struct room_audio *a, hub_conn *c, const uint8_t *pkt,
		     const struct rtp_hdr *rh, int64_t now)
{
	uint32_t pid = c->member->pid;
	if (!mixer_has(a->mix, pid) && mixer_add(a->mix, pid, true) != MIXER_OK) {
		metrics_add("rostrum_media_dropped_total{reason=\"mix_full\"}", 1);
		return;
	}
	if (mixer_push(a->mix, pid, rh->seq, rh->ts, pkt + rh->header_len, rh->payload_len,
		       now) != MIXER_OK)
		metrics_add("rostrum_mix_packets_refused_total", 1);
}

bool hub_mix_admit(hub *h, hub_conn *c, const uint8_t *pkt, const struct rtp_hdr *rh, int64_t now)
{
	struct hroom *hr = c->hr;
	struct room_audio *a = hr->audio;
	c->heard_ms = now;
	bool sp = speaking(c, now);
	if (!a->mix && sp && count_speaking(h, hr, now) >= 2)
		mix_start(hr, now);
	if (a->mix) {
		if (sp || mixer_has(a->mix, c->member->pid))
			mix_push(a, c, pkt, rh, now);
		return false;
	}
	/* Forwarding: the speaker, or while nobody speaks whoever was forwarded last. */
	bool other_speaks = !sp && count_speaking(h, hr, now) > 0;
	if (other_speaks || (!sp && a->fwd_pid && a->fwd_pid != c->member->pid))
		return false;
	a->fwd_pid = c->member->pid;
	return true;
}

void hub_mix_forwarded(hub_conn *c, const uint8_t *pkt, const struct rtp_hdr *rh, int64_t now)
{
	struct room_audio *a = c->hr->audio;
	if (!a->rec)
		return;
	/* The room stream's sequence number and timestamp, after rewriting. */
	uint16_t seq = get16(pkt + 2);
	uint32_t ts = get32(pkt + 4);
	const uint8_t *payload = pkt + rh->header_len;
	int n = opus_packet_get_nb_samples(payload, (opus_int32)rh->payload_len, OGGREC_RATE);
	if (n <= 0 || oggrec_opus(a->rec, rec_time(a, ts, n, now), seq, payload,
				  rh->payload_len) != OGGREC_OK)
		metrics_add("rostrum_recording_errors_total", 1);
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
static void mix_send(hub *h, struct hroom *hr, const struct mixer_out *o, int64_t now)
{
	struct room_audio *a = hr->audio;
	uint8_t hdr[RTP_HEADER_MIN] = { 0x80 }, out[OUT_ROOM];
	rtp_rewriter_local(&hr->rw, hdr, a->mix_ts, now);
	a->mix_ts += MIXER_FRAME;
	for (size_t i = 0; i < h->n_media; i++) {
		hub_conn *c = h->media[i];
		if (c->hr != hr || !c->member || transport_state(c->tp) != TRANSPORT_CONNECTED)
			continue;
		const uint8_t *p;
		size_t n;
		pick(o, c->member->pid, &p, &n);
		memcpy(out, hdr, sizeof hdr);
		out[1] = (uint8_t)(transport_opus_pt(c->tp) & 0x7f);
		memcpy(out + sizeof hdr, p, n);
		if (transport_send_rtp(c->tp, now, out, sizeof hdr + n, sizeof out) == 0)
			metrics_add("rostrum_media_packets_out_total", 1);
	}
}

/*
 * Sources that stopped speaking leave the mix. False when the room should
 * go back to forwarding: nobody is left, or one speaker is, and they pause
 * (their audio level says so) or LONE_MS passed. Waiting for a pause means
 * the frames still in that speaker's jitter buffer are not cut out of a
 * word when their packets go back to being forwarded.
 */
static bool mix_sources(hub *h, struct hroom *hr, int64_t now)
{
	struct room_audio *a = hr->audio;
	size_t live = 0;
	const hub_conn *last = NULL;
	for (size_t i = 0; i < h->n_media; i++) {
		hub_conn *c = h->media[i];
		if (c->hr != hr || !c->member)
			continue;
		if (speaking(c, now)) {
			live++;
			last = c;
		} else if (mixer_has(a->mix, c->member->pid)) {
			mixer_remove(a->mix, c->member->pid);
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

static void mix_tick(hub *h, struct hroom *hr, int64_t now)
{
	struct room_audio *a = hr->audio;
	if (now - a->mix_due > CATCH_UP_MS)
		a->mix_due = now; /* the loop was held up: skip, do not burst */
	while (a->mix && a->mix_due <= now) {
		if (!mix_sources(h, hr, now)) {
			mix_stop(hr);
			break;
		}
		struct mixer_out o;
		uint32_t ts = a->mix_ts;
		if (mixer_tick(a->mix, a->mix_due, &o) == MIXER_OK) {
			mix_send(h, hr, &o, now);
			if (a->rec && oggrec_pcm(a->rec, rec_time(a, ts, MIXER_FRAME, now), o.pcm,
						 MIXER_FRAME) != OGGREC_OK)
				metrics_add("rostrum_recording_errors_total", 1);
		}
		a->mix_due += MIXER_FRAME_MS;
	}
}

void hub_mix_drop(hub_conn *c)
{
	struct room_audio *a = c->hr ? c->hr->audio : NULL;
	if (!a || !c->member)
		return;
	if (a->mix)
		mixer_remove(a->mix, c->member->pid);
	if (a->fwd_pid == c->member->pid)
		a->fwd_pid = 0;
	c->heard_ms = 0;
}

/* ---- timers ------------------------------------------------------------------- */

int64_t hub_mix_deadline(const struct hroom *hr)
{
	const struct room_audio *a = hr->audio;
	return a->mix_due < a->pad_due ? a->mix_due : a->pad_due;
}

void hub_mix_tick(hub *h, struct hroom *hr, int64_t now)
{
	struct room_audio *a = hr->audio;
	if (a->mix_due <= now)
		mix_tick(h, hr, now);
	if (a->pad_due <= now)
		rec_pad(a, now);
}

void hub_mix_room_free(hub *h, struct hroom *hr)
{
	struct room_audio *a = hr->audio;
	if (a->rec) /* the room still had members: end at the last sound written */
		rec_stop(h, hr, a->rec_start + oggrec_written_ms(a->rec), NULL);
	mixer_destroy(hr->audio->mix);
	free(hr->audio);
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
