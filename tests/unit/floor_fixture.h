/* Shared by the floor tests: an assertion that returns 1, and participant attributes. */
#ifndef ROSTRUM_FLOOR_FIXTURE_H
#define ROSTRUM_FLOOR_FIXTURE_H

#include "attrs.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

#define T_ASSERT(e)                                                                   \
	do {                                                                          \
		if (!(e)) {                                                           \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__,    \
				__LINE__, #e);                                        \
			return 1;                                                     \
		}                                                                     \
	} while (0)

static inline struct rs_attrs mk(const char *name, const char *group, const char *region,
				 int onsite)
{
	struct rs_attrs a;
	memset(&a, 0, sizeof a);
	rs_strlcpy(a.name, name, sizeof a.name);
	rs_strlcpy(a.group, group, sizeof a.group);
	rs_strlcpy(a.region, region, sizeof a.region);
	a.onsite = onsite;
	return a;
}

#endif
