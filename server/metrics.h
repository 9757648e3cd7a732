/*
 * metrics: process-wide counters and gauges, rendered in the Prometheus text
 * exposition format for GET /metrics.
 *
 * A series is named in full, labels included ("rostrum_errors_total{code=\"bad_json\"}"),
 * so callers need no registration step. Series ending in _total are counters,
 * everything else is a gauge. The table is bounded: past METRICS_MAX_SERIES new
 * series are dropped (and that drop is itself counted) so hostile input that
 * leaks into label values cannot grow memory.
 */
#ifndef ROSTRUM_METRICS_H
#define ROSTRUM_METRICS_H

#include <stdint.h>
#include <stddef.h>

#define METRICS_MAX_SERIES 512

/* Adds n to a counter series, creating it at zero first. */
void metrics_add(const char *series, uint64_t n);
/* Sets a gauge series to v. */
void metrics_set(const char *series, double v);
/* Current value of a series, 0 if absent. */
double metrics_get(const char *series);
/* Adds n to rostrum_errors_total{code="<code>"}. */
void metrics_error(const char *code);
/* Renders all series as Prometheus text; the caller frees the result. */
char *metrics_render(size_t *len);
/*
 * Counters on hot paths: resolve the series once (at start, or when the
 * object that counts is created) and add through the handle, which costs
 * one addition and no search. Handles stay valid for the process.
 */
typedef struct metrics_counter metrics_counter;
metrics_counter *metrics_counter_get(const char *series);
void metrics_inc(metrics_counter *c, uint64_t n);
double metrics_counter_value(const metrics_counter *c);
/* Forgets every series (tests); those behind a handle stay, at zero. */
void metrics_reset(void);

#endif
