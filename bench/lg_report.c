/*
 * lg_report: one run's figures as a table on stdout and as JSON (stdout
 * after the table, or --json FILE).
 */
#include "loadgen.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(struct lg_samples *s, double q)
{
	if (!s->n)
		return -1;
	size_t i = (size_t)(q * (double)(s->n - 1) + 0.5);
	return s->v[i];
}

static void dist(json_t *o, const char *key, struct lg_samples *s)
{
	qsort(s->v, s->n, sizeof *s->v, cmp);
	json_object_set_new(o, key, json_pack("{s:I, s:f, s:f, s:f}", "n", (json_int_t)s->n,
					      "p50", pct(s, 0.5), "p99", pct(s, 0.99), "max",
					      pct(s, 1.0)));
}

static void row(const char *name, struct lg_samples *s)
{
	if (s->n)
		printf("| %-34s | %8.2f | %8.2f | %8.2f | %8zu |\n", name, pct(s, 0.5), pct(s, 0.99),
		       pct(s, 1.0), s->n);
}

void lg_report(struct lg *g)
{
	int ready = 0, want = 0;
	for (int i = g->first_listener; i < g->n_parts; i++)
		ready += g->parts[i].phase == LG_P_READY;
	for (int i = g->first_speaker; i < g->first_listener; i++)
		ready += g->parts[i].phase == LG_P_READY;
	want = g->n_parts - g->first_speaker;
	uint64_t lost = g->expected > g->received ? g->expected - g->received : 0;
	double loss = g->expected ? 100.0 * (double)lost / (double)g->expected : 0;
	double active_s = (g->cpu_active_pct - g->cpu_idle_pct) / 100.0 * g->window_s;
	double us_pkt = g->rx_window ? active_s * 1e6 / (double)g->rx_window : -1;
	double us_total = g->rx_window ? g->cpu_active_pct / 100.0 * g->window_s * 1e6 /
					 (double)g->rx_window : -1;
	/* Against the clock: 50 packets a second to everyone who received any. */
	int receivers = 0;
	for (int i = g->first_speaker; i < g->n_parts; i++)
		receivers += g->parts[i].rx > 0;
	double due = (double)receivers * 50.0 * g->window_s;
	double delivery = due > 0 ? 100.0 * (double)g->rx_window / due : 0;
	long rss_delta = g->rss_after_kib - g->rss_before_kib;
	double rss_each = want && g->rss_before_kib >= 0 ? (double)rss_delta / want : -1;
	json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:f}",
		"server", g->o.server == LG_JANUS ? "janus" : "rostrum", "label", g->o.label,
		"listeners", g->o.listeners, "speakers", g->o.speakers, "rooms", g->o.rooms,
		"participants", want, "connected", ready, "failed", (json_int_t)g->failed,
		"closed_after_join", (json_int_t)g->closed_after_join,
		"packets_sent", (json_int_t)g->sent, "packets_received", (json_int_t)g->received,
		"packets_lost", (json_int_t)lost, "loss_pct", loss);
	dist(j, "latency_ms", &g->lat);
	dist(j, "onset_latency_ms", &g->onset);
	dist(j, "caption_ms", &g->caption);
	dist(j, "join_ms", &g->join);
	dist(j, "media_ready_ms", &g->ready);
	dist(j, "churn_rejoin_ms", &g->churn);
	json_object_set_new(j, "delivery", json_pack("{s:i, s:I, s:f, s:I}", "receivers", receivers,
		"packets_in_window", (json_int_t)g->rx_window, "pct_of_50_per_s", delivery,
		"generator_rcvbuf_drops", (json_int_t)g->client_drops));
	json_object_set_new(j, "server_cpu", json_pack("{s:f, s:f, s:f, s:f, s:f}", "idle_pct",
		g->cpu_idle_pct, "active_pct", g->cpu_active_pct, "join_s", g->cpu_join_s,
		"us_per_packet_per_listener", us_pkt, "us_per_delivered_packet", us_total));
	json_object_set_new(j, "server_rss_kib", json_pack("{s:I, s:I, s:f}", "before",
		(json_int_t)g->rss_before_kib, "after", (json_int_t)g->rss_after_kib,
		"per_participant", rss_each));
	json_object_set_new(j, "generator", json_pack("{s:i, s:i, s:f, s:i, s:f, s:f, s:f}",
		"verify_every", g->o.verify_every, "verified_listeners", g->verified,
		"cpu_pct", g->gen_cpu_pct, "core", g->gen_core, "core_busy_pct",
		g->gen_core_busy_pct, "core0_busy_pct", g->core_busy_pct[0], "core1_busy_pct",
		g->core_busy_pct[1]));
	json_object_set_new(j, "extra", json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:s}",
		"markers_received", (json_int_t)g->marked, "roster_messages",
		(json_int_t)g->roster_msgs, "captions_sent", (json_int_t)g->captions_sent,
		"captions_received", (json_int_t)g->captions_rx, "churn_left",
		(json_int_t)g->churn_left, "churn_rejoined", (json_int_t)g->churn_ok,
		"join_wall_s", g->join_wall_s, "window_s", g->window_s, "generator_cpu_pct",
		g->gen_cpu_pct, "first_error", g->first_error));

	printf("\n%s %s: %d listeners, %d speakers, %d rooms, window %.1f s\n",
	       g->o.server == LG_JANUS ? "janus" : "rostrum", g->o.label, g->o.listeners,
	       g->o.speakers, g->o.rooms, g->window_s);
	printf("connected %d/%d, failed %llu, closed after joining %llu%s%s\n", ready, want,
	       (unsigned long long)g->failed, (unsigned long long)g->closed_after_join,
	       g->first_error[0] ? "; first error: " : "", g->first_error);
	printf("packets sent %llu, received %llu of %llu expected, lost %llu (%.3f %%)\n",
	       (unsigned long long)g->sent, (unsigned long long)g->received,
	       (unsigned long long)g->expected, (unsigned long long)lost, loss);
	printf("delivery: %d receivers got %.2f %% of 50 packets a second in the window; "
	       "%lld dropped by the generator's own full receive buffers\n", receivers, delivery,
	       g->client_drops);
	printf("| %-34s | %8s | %8s | %8s | %8s |\n|---|---|---|---|---|\n", "ms", "p50", "p99",
	       "max", "n");
	row("latency (marker, every listener)", &g->lat);
	row("latency (tone onset, probes)", &g->onset);
	row("caption delivery", &g->caption);
	row("join (connect to joined)", &g->join);
	row("media ready (connect to SRTP)", &g->ready);
	row("churn: rejoin to SRTP", &g->churn);
	printf("server CPU: idle %.2f %%, speaking %.2f %%, %.2f us per delivered packet, "
	       "%.2f us more per packet per listener than idle; joins %.2f s CPU\n",
	       g->cpu_idle_pct, g->cpu_active_pct, us_total, us_pkt, g->cpu_join_s);
	printf("server RSS: %ld -> %ld KiB, %.1f KiB per participant; generator CPU %.1f %%\n",
	       g->rss_before_kib, g->rss_after_kib, rss_each, g->gen_cpu_pct);
	printf("generator: %d listeners verified (every %d-th and the probes); its core %d was "
	       "%.1f %% busy in the window (core 0 %.1f %%, core 1 %.1f %%, softirq included)\n",
	       g->verified, g->o.verify_every, g->gen_core, g->gen_core_busy_pct,
	       g->core_busy_pct[0], g->core_busy_pct[1]);
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	if (g->o.json_path) {
		FILE *f = fopen(g->o.json_path, "w");
		if (f) {
			fprintf(f, "%s\n", s);
			fclose(f);
		}
	}
	printf("JSON %s\n", s);
	free(s);
	json_decref(j);
}
