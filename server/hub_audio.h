/*
 * hub_audio: the audio feature's own state, shared by hub_media.c (the
 * transports, the datagram lookups, the floor gate) and hub_mix.c (the
 * mixer, the talking indicator and the recording, which observe the
 * room's router). Nothing else includes this: the hub keeps only a
 * pointer per connection and one per hub.
 */
#ifndef ROSTRUM_HUB_AUDIO_H
#define ROSTRUM_HUB_AUDIO_H

#include "deadline.h"
#include "hub_internal.h"
#include "metrics.h"
#include "router.h"

/* One participant's audio: owned by hub_media, pointed to by its connection. */
struct media_member {
	/* borrowed */
	hub_conn *c;
	struct hroom *hr;
	/* owned */
	transport *tp;
	media_producer *prod;         /* in the room's floor channel */
	media_consumer *cons;         /* NULL until the transport is connected */
	struct deadline_node due;     /* the transport's next timer */
	/* what each forwarded packet needs, read once here rather than from the hub and offer */
	uint8_t opus_pt;              /* the payload type the browser offered */
	metrics_counter *out;         /* the hub's packets-out counter */
	/* the gate, as set on the last floor change */
	uint32_t pid;
	bool moderator;
	bool granted;                 /* holds the floor (a moderator may be heard without) */
	size_t mod_index;             /* in the room's list of moderators with audio */
	uint16_t last_seq;            /* of the last packet decrypted (see hub_media_input) */
	bool seq_known;
	/* talking and speaking */
	int64_t talk_ms;              /* last packet with voice in it */
	int64_t heard_ms;             /* last packet let through the gate */
	bool talking;                 /* as last announced */
};

/* The hub's audio state (one per hub). */
struct hub_media_state {
	ice_server *routes;           /* owned: tuple and ufrag -> media_member */
	deadline_heap *timers;        /* owned: every transport's next deadline */
	deadline_heap *rooms;         /* owned: each room's next mix, talking or silence deadline */
	size_t n_members;
	/* counters resolved once */
	metrics_counter *in, *out, *unknown, *paused, *connected, *state_changes;
	metrics_counter *drop[6];     /* by enum transport_drop */
	metrics_counter *mix_full, *mix_refused, *rec_errors, *rec_dropped;
};

/* A room's audio: the router and what observes it. Owned by hub_mix. */
struct room_audio;
media_router *hub_mix_router(const struct hroom *hr);
media_channel *hub_mix_floor(const struct hroom *hr);
/* The room's moderators with audio (the gate re-checks them on floor changes). */
void hub_mix_moderator_add(struct hroom *hr, struct media_member *m);
void hub_mix_moderator_remove(struct hroom *hr, struct media_member *m);
size_t hub_mix_n_moderators(const struct hroom *hr);
struct media_member *hub_mix_moderator_at(const struct hroom *hr, size_t i);

#endif
