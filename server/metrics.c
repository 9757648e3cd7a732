#include "metrics.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct series {
	char *name;
	double value;
	int is_counter;
	int pinned;      /* a handle refers to it: it outlives metrics_reset() */
};

/* Records live on the heap and never move, so a handle is a pointer to one. */
static struct series *table[METRICS_MAX_SERIES];
static size_t n_series;
static uint64_t dropped;

/* Linear search: the table is small and lookups happen per event; per-packet paths hold handles. */
static struct series *lookup(const char *name, int create)
{
	for (size_t i = 0; i < n_series; i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	if (!create)
		return NULL;
	if (n_series == METRICS_MAX_SERIES) {
		dropped++;
		return NULL;
	}
	struct series *s = rs_calloc(1, sizeof *s);
	table[n_series++] = s;
	s->name = rs_strdup(name);
	s->value = 0;
	size_t fam = strcspn(name, "{");
	s->is_counter = fam >= 6 && strncmp(name + fam - 6, "_total", 6) == 0;
	return s;
}

void metrics_add(const char *series, uint64_t n)
{
	struct series *s = lookup(series, 1);
	if (s)
		s->value += (double)n;
}

void metrics_set(const char *series, double v)
{
	struct series *s = lookup(series, 1);
	if (s)
		s->value = v;
}

double metrics_get(const char *series)
{
	struct series *s = lookup(series, 0);
	return s ? s->value : 0;
}

void metrics_error(const char *code)
{
	char name[128];
	snprintf(name, sizeof name, "rostrum_errors_total{code=\"%s\"}", code);
	metrics_add(name, 1);
}

/*
 * A handle for a counter, resolved once: the per-packet paths keep it and
 * add to it without searching. Past METRICS_MAX_SERIES the handle is a
 * private sink that is never rendered (the drop is counted as for
 * metrics_add).
 */
metrics_counter *metrics_counter_get(const char *series)
{
	static struct series overflow;
	struct series *s = lookup(series, 1);
	if (!s)
		return (metrics_counter *)&overflow;
	s->pinned = 1;
	return (metrics_counter *)s;
}

void metrics_inc(metrics_counter *c, uint64_t n)
{
	((struct series *)c)->value += (double)n;
}

double metrics_counter_value(const metrics_counter *c)
{
	return ((const struct series *)c)->value;
}

static int by_name(const void *a, const void *b)
{
	return strcmp((*(struct series *const *)a)->name, (*(struct series *const *)b)->name);
}

char *metrics_render(size_t *len)
{
	qsort(table, n_series, sizeof table[0], by_name);
	struct rs_buf out = { 0 };
	const char *last = "";
	size_t last_len = 0;
	for (size_t i = 0; i < n_series; i++) {
		const struct series *s = table[i];
		size_t fam = strcspn(s->name, "{");
		if (fam != last_len || strncmp(s->name, last, fam) != 0)
			rs_buf_printf(&out, "# TYPE %.*s %s\n", (int)fam, s->name,
				      s->is_counter ? "counter" : "gauge");
		last = s->name;
		last_len = fam;
		rs_buf_printf(&out, "%s %.17g\n", s->name, s->value);
	}
	rs_buf_printf(&out, "# TYPE rostrum_metrics_dropped_total counter\n"
			    "rostrum_metrics_dropped_total %llu\n", (unsigned long long)dropped);
	*len = out.len;
	return out.p;
}

/* Series behind a handle stay (at zero): their holders may still add to them. */
void metrics_reset(void)
{
	size_t kept = 0;
	for (size_t i = 0; i < n_series; i++) {
		if (table[i]->pinned) {
			table[i]->value = 0;
			table[kept++] = table[i];
			continue;
		}
		free(table[i]->name);
		free(table[i]);
	}
	n_series = kept;
	dropped = 0;
}
