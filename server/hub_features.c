/*
 * hub_features: the table of features the hub runs, and the entries of the
 * features whose files predate the table (captions, and audio: the media
 * transports, the mixer and the recording). Those entries only adapt: each
 * hook calls the feature's existing functions, so the features can be
 * rewritten behind them without the hub noticing.
 *
 * Adding a feature: write its `const struct hub_feature` next to its code,
 * declare it in hub_internal.h and list it below. Its id is its index here.
 */
#include "hub_internal.h"
#include "metrics.h"

#include <openssl/rand.h>

#include <assert.h>

const struct hub_feature *const hub_features[] = {
	&hub_floor_feature,
	&hub_caption_feature,
	&hub_media_feature,
	&hub_resume_feature,
};
const size_t hub_n_features = RS_ARRAY_LEN(hub_features);

static_assert(RS_ARRAY_LEN(hub_features) <= HUB_FEATURE_MAX, "more features than slots");

/* ---- captions (hub_caption.c) --------------------------------------------------- */

/* Reads the caption language of a room policy ("captions": {"lang": "en"}). */
static const char *policy_lang(json_t *policy)
{
	const char *lang = json_string_value(json_object_get(json_object_get(policy, "captions"),
							     "lang"));
	return lang ? lang : "en";
}

static void cap_init(hub *h)
{
	const char *names[1024];
	size_t n;
	recorder_rooms(h->rec, &n, names, RS_ARRAY_LEN(names));
	hub_caption_recover(h->rec, names, n);
}

static void cap_room_created(hub *h, struct hroom *hr, json_t *policy)
{
	(void)h;
	int cerr;
	hr->cap = caption_room_create(policy_lang(policy), NULL, &cerr);
	if (!hr->cap)
		hr->cap = caption_room_create("en", NULL, &cerr);
	assert(hr->cap);
	hr->cap_due = CAPTION_NO_DEADLINE;
}

static void cap_room_destroyed(hub *h, struct hroom *hr)
{
	(void)h;
	caption_room_destroy(hr->cap);
	hr->cap = NULL;
}

static void cap_leaving(hub *h, hub_conn *c, int64_t now)
{
	hub_caption_left(h, c->hr, c->member, now);
}

static int64_t cap_room_deadline(const struct hroom *hr)
{
	return hr->cap_due;
}

const struct hub_feature hub_caption_feature = {
	.name = "caption",
	.prefix = "caption.",
	.request = hub_caption_request,
	.init = cap_init,
	.room_created = cap_room_created,
	.room_destroyed = cap_room_destroyed,
	.joined = hub_caption_joined,
	.after_join = hub_caption_after_join,
	/*
	 * No detached hook: a captioner whose link drops keeps the open line for
	 * a resume; the line becomes final after live_ms of silence, or when the
	 * captioner leaves.
	 */
	.leaving = cap_leaving,
	.room_deadline = cap_room_deadline,
	.room_tick = hub_caption_tick,
};

/* ---- audio (hub_media.c, hub_mix.c) ----------------------------------------------- */

static void media_init(hub *h)
{
	hub_media_init(h);
	h->cert = srtpx_init() == SRTPX_OK ? dtls_cert_generate() : NULL;
	h->dtls = h->cert ? dtls_ctx_create(h->cert, NULL) : NULL;
	if (!h->dtls)
		rs_log(RS_LOG_ERR, "DTLS is unavailable: participants cannot join audio");
}

static void media_fini(hub *h)
{
	hub_media_free(h);
	dtls_ctx_free(h->dtls);
	dtls_cert_free(h->cert);
}

static void media_room_created(hub *h, struct hroom *hr, json_t *policy)
{
	(void)h;
	uint8_t r[10]; /* RFC 3550 section 5.1: random SSRC, first sequence number and timestamp */
	RAND_bytes(r, sizeof r);
	rtp_rewriter_init(&hr->rw, (uint32_t)r[0] << 24 | r[1] << 16 | r[2] << 8 | r[3],
			  (uint16_t)(r[4] << 8 | r[5]),
			  (uint32_t)r[6] << 24 | r[7] << 16 | r[8] << 8 | r[9], 48000);
	hub_mix_room_init(hr, policy);
}

static void media_leaving(hub *h, hub_conn *c, int64_t now)
{
	(void)now;
	hub_media_drop(h, c);
}

static void media_detached(hub *h, struct hroom *hr, struct room_member *m, hub_conn *c,
			   int64_t now)
{
	(void)hr;
	(void)m;
	media_leaving(h, c, now); /* the browser offers audio again once back */
}

/*
 * The transports' timers and the rooms' mixers, talking checks and silence
 * fills: two heaps, each asked for its first entry, so no pass of the loop
 * walks the rooms.
 */
static int64_t media_deadline(const hub *h)
{
	int64_t due = hub_media_deadline(h), m = hub_mix_deadline(h);
	return m < due ? m : due;
}

static void media_tick(hub *h, int64_t now)
{
	if (hub_media_deadline(h) <= now)
		hub_media_tick(h, now);
	if (hub_mix_deadline(h) <= now)
		hub_mix_tick(h, now);
}

static void media_health(const hub *h, json_t *o)
{
	size_t mixing, recording;
	hub_mix_count(h, &mixing, &recording);
	json_object_set_new(o, "audio", json_pack("{s:i, s:i, s:I, s:I, s:I}", "udp_port",
						  h->media_port, "tcp_port", h->media_tcp_port,
						  "connections", (json_int_t)hub_media_count(h), "mixing",
						  (json_int_t)mixing, "recording",
						  (json_int_t)recording));
}

static void media_gauges(const hub *h)
{
	size_t mixing, recording;
	hub_mix_count(h, &mixing, &recording);
	metrics_set("rostrum_rooms_mixing", (double)mixing);
	metrics_set("rostrum_recordings_active", (double)recording);
}

static void media_joined(hub *h, hub_conn *c, int64_t now, json_t *snapshot)
{
	(void)h;
	(void)now;
	json_object_set_new(snapshot, "recording", hub_mix_snapshot(c->hr));
}

const struct hub_feature hub_media_feature = {
	.name = "media",
	.prefix = "audio.",
	.request = hub_media_request,
	.init = media_init,
	.fini = media_fini,
	.room_created = media_room_created,
	.room_destroyed = hub_mix_room_free,
	.joined = media_joined,
	.detached = media_detached,
	.leaving = media_leaving,
	.room_empty = hub_mix_room_empty,
	.deadline = media_deadline,
	.tick = media_tick,
	.health = media_health,
	.gauges = media_gauges,
};
