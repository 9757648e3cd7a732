#include "caption.h"
#include "config.h"
#include "floor_msg.h"
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kept in sync with the example file and the README's configuration section. */
static const char default_json[] =
	"{\"listen\": \"127.0.0.1:8080\", \"data_dir\": \"./rostrum-data\","
	" \"rooms\": [{\"id\": \"plenary\", \"title\": \"Plenary\", \"open\": true}]}";

static void set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = src ? rs_strdup(src) : NULL;
}

static void free_rooms(struct rs_config *cfg)
{
	for (size_t i = 0; i < cfg->n_rooms; i++) {
		free(cfg->rooms[i].id);
		free(cfg->rooms[i].title);
		json_decref(cfg->rooms[i].policy);
	}
	free(cfg->rooms);
	cfg->rooms = NULL;
	cfg->n_rooms = 0;
}

void config_free(struct rs_config *cfg)
{
	free_rooms(cfg);
	free(cfg->listen_host);
	free(cfg->data_dir);
	free(cfg->web_root);
	free(cfg->public_url);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->rtc.announce);
	memset(cfg, 0, sizeof *cfg);
}

int config_set_listen(struct rs_config *cfg, const char *hp)
{
	const char *colon = strrchr(hp, ':');
	if (!colon || colon == hp)
		return -1;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || port < 0 || port > 65535)
		return -1;
	const char *h = hp;
	size_t hl = (size_t)(colon - hp);
	if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	free(cfg->listen_host);
	cfg->listen_host = rs_strndup(h, hl);
	cfg->port = (int)port;
	return 0;
}

void config_default(struct rs_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->limits = (struct config_limits){
		.max_connections = 10000, .max_room_members = 10000, .max_rooms = 256,
		.max_message_bytes = 16384, .rate_per_sec = 20, .rate_burst = 40,
		.send_queue = 0, .send_queue_bytes = 1 << 20, .roster_full = 200,
		.resume_grace_s = 120,
		.idle_timeout_s = 60,
	};
	cfg->rtc = (struct config_rtc){ .udp_port_min = 0, .udp_port_max = 0, .tcp_port = 0,
		.ice_tcp = true, .ice_udp = true };
	char err[128];
	if (config_parse(cfg, default_json, err, sizeof err) != 0)
		abort(); /* the embedded default is part of the program */
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); return -1; } while (0)

/* Reads an optional string key; -1 when present with another type. */
static int opt_str(json_t *o, const char *key, char **dst, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v))
		FAIL("'%s' must be a string", key);
	set_str(dst, json_string_value(v));
	return 0;
}

static int opt_int(json_t *o, const char *key, int *dst, int lo, int hi, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		FAIL("'%s' must be an integer from %d to %d", key, lo, hi);
	*dst = (int)json_integer_value(v);
	return 0;
}

static int opt_bool(json_t *o, const char *where, const char *key, bool *dst, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v))
		FAIL("'%s.%s' must be true or false", where, key);
	*dst = json_is_true(v);
	return 0;
}

/* Rejects keys outside the allowed list, naming the first stranger. */
static int only_keys(json_t *o, const char *where, const char *const *allowed, char *err,
		     size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		size_t i = 0;
		while (allowed[i] && strcmp(allowed[i], key) != 0)
			i++;
		if (!allowed[i])
			FAIL("unknown key '%s' in %s", key, where);
	}
	return 0;
}

static int parse_limits(struct rs_config *cfg, json_t *o, char *err, size_t errlen)
{
	static const char *const keys[] = { "max_connections", "max_room_members", "max_rooms",
		"max_message_bytes", "rate_per_sec", "rate_burst", "send_queue", "send_queue_bytes",
		"roster_full", "resume_grace_s", "idle_timeout_s", NULL };
	struct config_limits *l = &cfg->limits;
	if (!json_is_object(o))
		FAIL("'limits' must be an object");
	if (only_keys(o, "limits", keys, err, errlen) ||
	    opt_int(o, "max_connections", &l->max_connections, 1, 100000, err, errlen) ||
	    opt_int(o, "max_room_members", &l->max_room_members, 1, 100000, err, errlen) ||
	    opt_int(o, "max_rooms", &l->max_rooms, 1, 100000, err, errlen) ||
	    opt_int(o, "max_message_bytes", &l->max_message_bytes, 512, 1 << 20, err, errlen) ||
	    opt_int(o, "rate_per_sec", &l->rate_per_sec, 1, 10000, err, errlen) ||
	    opt_int(o, "rate_burst", &l->rate_burst, 1, 10000, err, errlen) ||
	    opt_int(o, "send_queue", &l->send_queue, 0, 1 << 20, err, errlen) ||
	    opt_int(o, "send_queue_bytes", &l->send_queue_bytes, 16384, 1 << 28, err, errlen) ||
	    opt_int(o, "roster_full", &l->roster_full, 0, 100000, err, errlen) ||
	    opt_int(o, "resume_grace_s", &l->resume_grace_s, 1, 86400, err, errlen) ||
	    opt_int(o, "idle_timeout_s", &l->idle_timeout_s, 1, 86400, err, errlen))
		return -1;
	return 0;
}

static int parse_rtc(struct rs_config *cfg, json_t *o, char *err, size_t errlen)
{
	static const char *const keys[] = { "announce", "udp_port_min", "udp_port_max", "tcp_port",
		"ice_tcp", "ice_udp", NULL };
	struct config_rtc *r = &cfg->rtc;
	if (!json_is_object(o))
		FAIL("'rtc' must be an object");
	if (only_keys(o, "rtc", keys, err, errlen) || opt_str(o, "announce", &r->announce, err, errlen) ||
	    opt_int(o, "udp_port_min", &r->udp_port_min, 0, 65535, err, errlen) ||
	    opt_int(o, "udp_port_max", &r->udp_port_max, 0, 65535, err, errlen) ||
	    opt_int(o, "tcp_port", &r->tcp_port, 0, 65535, err, errlen) ||
	    opt_bool(o, "rtc", "ice_tcp", &r->ice_tcp, err, errlen) ||
	    opt_bool(o, "rtc", "ice_udp", &r->ice_udp, err, errlen))
		return -1;
	if (r->udp_port_max < r->udp_port_min)
		FAIL("'rtc.udp_port_max' is below 'rtc.udp_port_min'");
	if (!r->ice_tcp && !r->ice_udp)
		FAIL("'rtc.ice_udp' and 'rtc.ice_tcp' are both false: audio would have no candidate");
	return 0;
}

/* A room's recording policy: "auto" (with the session), "manual" (by a moderator) or "off". */
static bool recording_mode_valid(json_t *v)
{
	const char *m = json_string_value(v);
	return m && (strcmp(m, "auto") == 0 || strcmp(m, "manual") == 0 || strcmp(m, "off") == 0);
}

/* The policy's parts belong to the floor and captions; each checks its own keys. */
static int check_policy(const char *id, json_t *pol, char *err, size_t errlen)
{
	static const char *const keys[] = { "floor", "captions", "recording", NULL };
	char where[96], sub[200];
	snprintf(where, sizeof where, "room '%s' policy", id);
	if (only_keys(pol, where, keys, err, errlen))
		return -1;
	struct floor_policy fp;
	if (floor_msg_policy(pol, &fp, sub, sizeof sub) != 0)
		FAIL("room '%s' policy: %s", id, sub);
	json_t *cap = json_object_get(pol, "captions");
	static const char *const cap_keys[] = { "lang", NULL };
	if (cap && (!json_is_object(cap) || only_keys(cap, where, cap_keys, err, errlen)))
		FAIL("room '%s': 'captions' must be an object with 'lang'", id);
	const char *lang = json_string_value(json_object_get(cap, "lang"));
	char canon[CAPTION_LANG_MAX + 1];
	if (json_object_get(cap, "lang") && (!lang || !caption_lang_normalize(lang, canon)))
		FAIL("room '%s': 'captions.lang' must be a BCP 47 language tag", id);
	json_t *rec = json_object_get(pol, "recording");
	if (rec && !recording_mode_valid(rec))
		FAIL("room '%s': 'recording' must be \"auto\", \"manual\" or \"off\"", id);
	return 0;
}

static int parse_room(struct config_room *r, json_t *o, char *err, size_t errlen)
{
	static const char *const keys[] = { "id", "title", "open", "policy", NULL };
	if (!json_is_object(o))
		FAIL("each room must be an object");
	if (only_keys(o, "a room", keys, err, errlen))
		return -1;
	const char *id = json_string_value(json_object_get(o, "id"));
	if (!id || !token_room_id_valid(id))
		FAIL("room 'id' must be 1-64 characters of a-z, 0-9, '-' or '_'");
	r->id = rs_strdup(id);
	r->title = rs_strdup(id);
	if (opt_str(o, "title", &r->title, err, errlen))
		return -1;
	json_t *open = json_object_get(o, "open");
	if (open && !json_is_boolean(open))
		FAIL("room '%s': 'open' must be true or false", id);
	r->open = open && json_is_true(open);
	json_t *pol = json_object_get(o, "policy");
	if (pol && !json_is_object(pol))
		FAIL("room '%s': 'policy' must be an object", id);
	r->policy = pol ? json_incref(pol) : json_object();
	return check_policy(id, r->policy, err, errlen);
}

static int parse_rooms(struct rs_config *cfg, json_t *arr, char *err, size_t errlen)
{
	if (!json_is_array(arr))
		FAIL("'rooms' must be an array");
	free_rooms(cfg);
	cfg->rooms = rs_calloc(json_array_size(arr), sizeof *cfg->rooms);
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		cfg->n_rooms = i + 1;
		if (parse_room(&cfg->rooms[i], o, err, errlen))
			return -1;
		for (size_t k = 0; k < i; k++)
			if (strcmp(cfg->rooms[k].id, cfg->rooms[i].id) == 0)
				FAIL("room '%s' is defined twice", cfg->rooms[i].id);
	}
	return 0;
}

static int parse_tls(struct rs_config *cfg, json_t *o, char *err, size_t errlen)
{
	static const char *const keys[] = { "cert", "key", NULL };
	if (!json_is_object(o))
		FAIL("'tls' must be an object");
	if (only_keys(o, "tls", keys, err, errlen) || opt_str(o, "cert", &cfg->tls_cert, err, errlen) ||
	    opt_str(o, "key", &cfg->tls_key, err, errlen))
		return -1;
	if (!cfg->tls_cert != !cfg->tls_key)
		FAIL("'tls' needs both 'cert' and 'key'");
	return 0;
}

static int parse_top(struct rs_config *cfg, json_t *root, char *err, size_t errlen)
{
	static const char *const keys[] = { "listen", "data_dir", "web_root", "public_url", "tls",
		"limits", "rtc", "rooms", NULL };
	if (!json_is_object(root))
		FAIL("the configuration must be a JSON object");
	if (only_keys(root, "the configuration", keys, err, errlen))
		return -1;
	const char *listen = json_string_value(json_object_get(root, "listen"));
	if (json_object_get(root, "listen") && (!listen || config_set_listen(cfg, listen)))
		FAIL("'listen' must be \"HOST:PORT\"");
	json_t *v;
	if (opt_str(root, "data_dir", &cfg->data_dir, err, errlen) ||
	    opt_str(root, "web_root", &cfg->web_root, err, errlen) ||
	    opt_str(root, "public_url", &cfg->public_url, err, errlen))
		return -1;
	if ((v = json_object_get(root, "tls")) && parse_tls(cfg, v, err, errlen))
		return -1;
	if ((v = json_object_get(root, "limits")) && parse_limits(cfg, v, err, errlen))
		return -1;
	if ((v = json_object_get(root, "rtc")) && parse_rtc(cfg, v, err, errlen))
		return -1;
	if ((v = json_object_get(root, "rooms")) && parse_rooms(cfg, v, err, errlen))
		return -1;
	return 0;
}

int config_parse(struct rs_config *cfg, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	if (!root)
		FAIL("line %d column %d: %s", je.line, je.column, je.text);
	int rc = parse_top(cfg, root, err, errlen);
	json_decref(root);
	return rc;
}

int config_load(struct rs_config *cfg, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		FAIL("cannot open %s", path);
	struct rs_buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len < (1 << 20))
		rs_buf_append(&b, chunk, n);
	fclose(f);
	int rc = b.p ? config_parse(cfg, b.p, err, errlen) : -1;
	if (!b.p)
		snprintf(err, errlen, "%s is empty", path);
	free(b.p);
	return rc;
}

const struct config_room *config_room(const struct rs_config *cfg, const char *id)
{
	for (size_t i = 0; i < cfg->n_rooms; i++)
		if (strcmp(cfg->rooms[i].id, id) == 0)
			return &cfg->rooms[i];
	return NULL;
}
