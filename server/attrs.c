#include "attrs.h"
#include "util.h"

#include <string.h>

static const char *const role_names[RS_ROLE_COUNT] = {
	"participant", "moderator", "captioner", "observer",
};

const char *const attrs_groups[] = {
	"government", "private_sector", "civil_society", "technical_community",
	"academia", "intergovernmental", "other", NULL,
};

const char *attrs_role_name(enum rs_role role)
{
	return role < RS_ROLE_COUNT ? role_names[role] : "unknown";
}

bool attrs_role_parse(const char *s, enum rs_role *out)
{
	for (int i = 0; i < RS_ROLE_COUNT; i++)
		if (strcmp(s, role_names[i]) == 0) {
			*out = (enum rs_role)i;
			return true;
		}
	return false;
}

bool attrs_group_valid(const char *s)
{
	for (int i = 0; attrs_groups[i]; i++)
		if (strcmp(s, attrs_groups[i]) == 0)
			return true;
	return false;
}

/* Copies a JSON string field into dst when present; false when it is of the wrong shape. */
static bool copy_text(json_t *obj, const char *key, char *dst, size_t max)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return true;
	if (!json_is_string(v))
		return false;
	size_t n = json_string_length(v);
	const char *s = json_string_value(v);
	if (n > max || !rs_utf8_valid(s, n))
		return false;
	memcpy(dst, s, n);
	dst[rs_text_clean(dst, n)] = '\0';
	return true;
}

const char *attrs_from_json(struct rs_attrs *a, json_t *obj)
{
	if (!json_is_object(obj))
		return "attrs";
	struct rs_attrs t = *a; /* a changes only when every field is good */
	if (!copy_text(obj, "group", t.group, ATTRS_GROUP_MAX) || (t.group[0] && !attrs_group_valid(t.group)))
		return "group";
	if (!copy_text(obj, "region", t.region, ATTRS_REGION_MAX))
		return "region";
	if (!copy_text(obj, "label", t.label, ATTRS_LABEL_MAX))
		return "label";
	json_t *on = json_object_get(obj, "onsite");
	if (on && !json_is_null(on) && !json_is_boolean(on))
		return "onsite";
	if (on && json_is_boolean(on))
		t.onsite = json_is_true(on) ? ATTRS_ONSITE : ATTRS_REMOTE;
	if (!(a->locked & ATTRS_LOCK_GROUP))
		memcpy(a->group, t.group, sizeof a->group);
	if (!(a->locked & ATTRS_LOCK_REGION))
		memcpy(a->region, t.region, sizeof a->region);
	if (!(a->locked & ATTRS_LOCK_LABEL))
		memcpy(a->label, t.label, sizeof a->label);
	if (!(a->locked & ATTRS_LOCK_ONSITE))
		a->onsite = t.onsite;
	return NULL;
}

void attrs_lock_from_json(struct rs_attrs *a, json_t *obj)
{
	static const struct { const char *key; unsigned bit; } fields[] = {
		{ "group", ATTRS_LOCK_GROUP }, { "region", ATTRS_LOCK_REGION },
		{ "label", ATTRS_LOCK_LABEL }, { "onsite", ATTRS_LOCK_ONSITE },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(fields); i++) {
		json_t *v = json_object_get(obj, fields[i].key);
		if (v && !json_is_null(v))
			a->locked |= fields[i].bit;
	}
}

bool attrs_set_name(struct rs_attrs *a, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > ATTRS_NAME_MAX || !rs_utf8_valid(name, n))
		return false;
	char clean[ATTRS_NAME_MAX + 1];
	memcpy(clean, name, n);
	n = rs_text_clean(clean, n);
	clean[n] = '\0';
	if (clean[strspn(clean, " ")] == '\0')
		return false;
	memcpy(a->name, clean, n + 1);
	return true;
}

void attrs_to_json(const struct rs_attrs *a, json_t *obj)
{
	json_object_set_new(obj, "name", json_string(a->name));
	if (a->group[0])
		json_object_set_new(obj, "group", json_string(a->group));
	if (a->region[0])
		json_object_set_new(obj, "region", json_string(a->region));
	if (a->label[0])
		json_object_set_new(obj, "label", json_string(a->label));
	if (a->onsite != ATTRS_ONSITE_UNKNOWN)
		json_object_set_new(obj, "onsite", json_boolean(a->onsite == ATTRS_ONSITE));
}
