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
	dst[n] = '\0';
	return true;
}

const char *attrs_from_json(struct rs_attrs *a, json_t *obj)
{
	if (!json_is_object(obj))
		return "attrs";
	char group[ATTRS_GROUP_MAX + 1];
	rs_strlcpy(group, a->group, sizeof group);
	if (!copy_text(obj, "group", group, ATTRS_GROUP_MAX) || (group[0] && !attrs_group_valid(group)))
		return "group";
	if (!copy_text(obj, "region", a->region, ATTRS_REGION_MAX))
		return "region";
	if (!copy_text(obj, "label", a->label, ATTRS_LABEL_MAX))
		return "label";
	json_t *on = json_object_get(obj, "onsite");
	if (on && !json_is_null(on) && !json_is_boolean(on))
		return "onsite";
	if (on && json_is_boolean(on))
		a->onsite = json_is_true(on) ? ATTRS_ONSITE : ATTRS_REMOTE;
	rs_strlcpy(a->group, group, sizeof a->group);
	return NULL;
}

bool attrs_set_name(struct rs_attrs *a, const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > ATTRS_NAME_MAX || !rs_utf8_valid(name, n))
		return false;
	memcpy(a->name, name, n + 1);
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
