/*
 * The load generator's shared state: participants, what they measured, and
 * the two signaling dialects (Rostrum's protocol, Janus's AudioBridge API)
 * that put them on the same media path. loadgen.c holds the loop and the
 * scenarios, lg_rostrum.c and lg_janus.c the dialects, lg_report.c the output.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include "lg_audio.h"
#include "lg_rtc.h"
#include "lg_ws.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum lg_server { LG_ROSTRUM, LG_JANUS };
enum lg_role { LG_LISTENER, LG_SPEAKER, LG_CHAIR, LG_CAPTIONER };
enum lg_phase { LG_P_IDLE, LG_P_WS, LG_P_JOINED, LG_P_OFFERED, LG_P_READY, LG_P_FAILED,
		LG_P_CLOSED };

struct lg_part {
	int idx, room, sessions;
	enum lg_role role;
	enum lg_phase phase;
	struct lg_ws ws;
	struct lg_rtc rtc;
	bool watch_out, churned;
	int64_t t0_ns, join_ns, ready_ns;   /* CLOCK_MONOTONIC */
	int64_t t0_real_ns;
	/* speaking */
	bool granted, paused;
	int frame;
	int64_t next_send_ns;
	uint32_t serial;
	int64_t floor_request;
	/* Janus */
	int64_t session, handle, next_keepalive_ms;
	/* listening: the current session's stream */
	bool have_seq, win_valid;
	int64_t ext_max, win_base;
	uint64_t rx, win_rx0;
	bool probe;
	bool verify;    /* decrypts, authenticates and times its packets (--verify-every) */
	struct lg_onset onset;
};

struct lg_samples {
	double *v;
	size_t n, cap;
};

struct lg_opts {
	enum lg_server server;
	const char *ws_host, *local_ip, *room, *chair_token, *captioner_token, *label, *json_path,
		   *window_cmd, *join_cmd;
	int ws_port, listeners, speakers, rooms, probes, server_pid, verify_every;
	double duration_s, idle_s, join_rate, join_timeout_s, caption_rate, churn_rate;
	bool media;
};

struct lg {
	struct lg_opts o;
	int ep;
	struct lg_part *parts;   /* chair, captioner, speakers, listeners */
	int n_parts, first_speaker, first_listener, spawned;
	dtls_cert *cert;
	dtls_ctx *dtls;
	bool measuring, sending, rooms_ready;
	bool in_window;          /* the window proper: delivery counts only what arrives in it */
	int rooms_created;
	uint32_t seed;
	/* speakers: when each last started its tone, for the onset match */
	int64_t tone_ns[16][8];
	int tone_n[16];
	/* counters */
	uint64_t sent, received, expected, marked, roster_msgs, captions_sent, captions_rx;
	uint64_t closed_after_join, failed, churn_left, churn_ok, refused_ws;
	char first_error[160];
	struct lg_samples lat, onset, caption, join, ready, churn;
	/* the server, from /proc */
	double cpu_idle_pct, cpu_active_pct, cpu_join_s, gen_cpu_pct;
	int gen_core;            /* the core the generator ran on, and how busy it was */
	double gen_core_busy_pct, core_busy_pct[2];
	int verified;            /* listeners that decrypt and time what they receive */
	long rss_before_kib, rss_after_kib;
	double join_wall_s, window_s;
	uint64_t rx_window;
	long long client_drops;  /* UDP receive-buffer drops on the clients' side in the window */
};

int64_t lg_mono_ns(void);
int64_t lg_real_ns(void);
void lg_sample(struct lg_samples *s, double v);
void lg_send_json(struct lg *g, struct lg_part *p, json_t *msg); /* takes the reference */
/* A participant's signaling is done and its media may start. */
void lg_joined(struct lg *g, struct lg_part *p);
/* Opens p's WebRTC side and returns its offer (static buffer), NULL on failure. */
const char *lg_offer(struct lg *g, struct lg_part *p);
void lg_answer(struct lg *g, struct lg_part *p, const char *sdp);
void lg_fail(struct lg *g, struct lg_part *p, const char *why);
struct lg_part *lg_chair(struct lg *g);

/* Rostrum's protocol. */
void lg_rostrum_open(struct lg *g, struct lg_part *p);
void lg_rostrum_text(struct lg *g, struct lg_part *p, char *text, size_t len);
void lg_rostrum_caption(struct lg *g, struct lg_part *p, uint64_t n);
/* Janus AudioBridge. */
void lg_janus_open(struct lg *g, struct lg_part *p);
void lg_janus_text(struct lg *g, struct lg_part *p, char *text, size_t len);
void lg_janus_tick(struct lg *g, struct lg_part *p, int64_t now_ms);

void lg_report(struct lg *g);

#endif
