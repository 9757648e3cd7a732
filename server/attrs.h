/*
 * attrs: who a participant is — role, display name and the self-declared
 * attributes moderators use (stakeholder group, region, onsite/remote, label).
 *
 * Shared by tokens, rooms, the floor and the transcript so that every module
 * spells roles and groups the same way on the wire.
 */
#ifndef ROSTRUM_ATTRS_H
#define ROSTRUM_ATTRS_H

#include <jansson.h>
#include <stdbool.h>

enum rs_role { RS_ROLE_PARTICIPANT, RS_ROLE_MODERATOR, RS_ROLE_CAPTIONER, RS_ROLE_OBSERVER,
	       RS_ROLE_COUNT };

#define ATTRS_NAME_MAX 64     /* bytes of UTF-8, display name */
#define ATTRS_REGION_MAX 64
#define ATTRS_LABEL_MAX 96
#define ATTRS_GROUP_MAX 32

enum attrs_onsite { ATTRS_ONSITE_UNKNOWN = -1, ATTRS_REMOTE = 0, ATTRS_ONSITE = 1 };

/* Fields a join token fixed: self-declared values (join form, presence) leave them alone. */
enum attrs_lock { ATTRS_LOCK_GROUP = 1, ATTRS_LOCK_REGION = 2, ATTRS_LOCK_LABEL = 4,
		  ATTRS_LOCK_ONSITE = 8 };

struct rs_attrs {
	char name[ATTRS_NAME_MAX + 1];
	char group[ATTRS_GROUP_MAX + 1];   /* one of attrs_groups, or "" when undeclared */
	char region[ATTRS_REGION_MAX + 1];
	char label[ATTRS_LABEL_MAX + 1];
	int onsite;                        /* enum attrs_onsite */
	unsigned locked;                   /* enum attrs_lock bits: set by a token */
};

/* Wire name of a role ("participant", ...). */
const char *attrs_role_name(enum rs_role role);
/* Parses a wire role name; returns false for anything else. */
bool attrs_role_parse(const char *s, enum rs_role *out);
/* True for the stakeholder groups the protocol knows (government, private_sector, ...). */
bool attrs_group_valid(const char *s);
/* The NULL-terminated list of stakeholder group names. */
extern const char *const attrs_groups[];

/*
 * Reads the optional attribute fields (group, region, onsite, label) of a JSON
 * object into a, leaving absent (or null) fields and fields in a->locked
 * untouched: a token's attributes win, and an update changes only what it
 * names. Text is cleaned of control characters. Returns NULL on success or
 * the name of the first bad field (wrong type, too long, invalid UTF-8,
 * unknown group); a is then unchanged.
 */
const char *attrs_from_json(struct rs_attrs *a, json_t *obj);
/* Marks the attribute fields present in a token's claims as locked (the values are read already). */
void attrs_lock_from_json(struct rs_attrs *a, json_t *obj);
/*
 * Validates, cleans (control characters go, see rs_text_clean) and copies a
 * display name; false when empty (also after cleaning), too long or not UTF-8.
 */
bool attrs_set_name(struct rs_attrs *a, const char *name);
/* Adds name, group, region, onsite and label of a to obj (absent ones are omitted). */
void attrs_to_json(const struct rs_attrs *a, json_t *obj);

#endif
