/*
 * rostrum: command-line entry point.
 *
 *   rostrum [--listen HOST:PORT] [--data DIR] [--config FILE]   run the server
 *   rostrum token ...                                            print a join URL
 *
 * Usage errors exit with status 2 and say what is wrong.
 */
#include "config.h"
#include "exporter.h"
#include "net.h"
#include "recorder.h"
#include "revoke.h"
#include "transcript.h"
#include "token.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: rostrum [--listen HOST:PORT] [--data DIR] [--config FILE]\n"
	"       rostrum token [--config FILE] [--data DIR] --room ROOM\n"
	"                     --role participant|moderator|captioner|observer --name NAME\n"
	"                     [--group G] [--region R] [--onsite|--remote] [--label L]\n"
	"                     [--ttl SECONDS|never] [--base-url URL] [--caption-url]\n"
	"       rostrum token [--config FILE] [--data DIR] --revoke ID|TOKEN|URL\n"
	"       rostrum transcript [--config FILE] [--data DIR] --room ROOM\n"
	"                     --format vtt|srt|txt|json [--lang LANG]\n"
	"       rostrum --help | --version\n"
	"\n"
	"With no arguments the server listens on 127.0.0.1:8080, keeps its data in\n"
	"./rostrum-data and opens the demo room 'plenary'.\n"
	"Tokens expire after 7 days unless --ttl says otherwise; the token's id and\n"
	"expiry are printed on stderr. --revoke ends a token's connections within a\n"
	"second and refuses it from then on.\n";

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "rostrum: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(see rostrum --help)\n");
	return 2;
}

/* Applies --config first so that --listen and --data override it. */
static int load_config(struct rs_config *cfg, const char *path)
{
	char err[256];
	if (path && config_load(cfg, path, err, sizeof err) != 0) {
		fprintf(stderr, "rostrum: bad config %s: %s\n", path, err);
		return 2;
	}
	return 0;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "data", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' }, { NULL, 0, NULL, 0 },
	};
	const char *listen = NULL, *data = NULL, *conf = NULL;
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'l') listen = optarg;
		else if (o == 'd') data = optarg;
		else if (o == 'c') conf = optarg;
		else return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	struct rs_config cfg;
	config_default(&cfg);
	int rc = load_config(&cfg, conf);
	if (!rc && listen && config_set_listen(&cfg, listen))
		rc = usage_error("--listen wants HOST:PORT, not '%s'", listen);
	if (!rc && data) {
		free(cfg.data_dir);
		cfg.data_dir = rs_strdup(data);
	}
	if (!rc)
		rc = net_run(&cfg);
	config_free(&cfg);
	return rc;
}

struct token_args {
	const char *conf, *data, *room, *role, *name, *base_url, *revoke;
	long ttl;                 /* seconds; 0: the default, -1: never expires */
	bool caption_url;
	struct rs_attrs attrs;
};

static int token_parse_opt(struct token_args *t, int o, const char *arg)
{
	switch (o) {
	case 'c': t->conf = arg; break;
	case 'd': t->data = arg; break;
	case 'r': t->room = arg; break;
	case 'R': t->role = arg; break;
	case 'n': t->name = arg; break;
	case 'b': t->base_url = arg; break;
	case 'X': t->revoke = arg; break;
	case 'C': t->caption_url = true; break;
	case 'o': t->attrs.onsite = ATTRS_ONSITE; break;
	case 'm': t->attrs.onsite = ATTRS_REMOTE; break;
	case 'g':
		if (!attrs_group_valid(arg))
			return usage_error("unknown stakeholder group '%s'", arg);
		rs_strlcpy(t->attrs.group, arg, sizeof t->attrs.group);
		break;
	case 'G': rs_strlcpy(t->attrs.region, arg, sizeof t->attrs.region); break;
	case 'L': rs_strlcpy(t->attrs.label, arg, sizeof t->attrs.label); break;
	case 't': {
		char *end;
		if (strcmp(arg, "never") == 0) {
			t->ttl = -1;
			break;
		}
		t->ttl = strtol(arg, &end, 10);
		if (*end || t->ttl <= 0 || t->ttl > 100L * 365 * 24 * 3600)
			return usage_error("--ttl wants a positive number of seconds or 'never', not '%s'",
					   arg);
		break;
	}
	default:
		return -1;
	}
	return 0;
}

/* The base of join links: --base-url, the config's public_url, or the listen address. */
static void token_base_url(const struct token_args *t, const struct rs_config *cfg, char *out,
			   size_t cap)
{
	if (t->base_url)
		rs_strlcpy(out, t->base_url, cap);
	else if (cfg->public_url)
		rs_strlcpy(out, cfg->public_url, cap);
	else
		snprintf(out, cap, "%s://%s:%d", cfg->tls_cert ? "https" : "http", cfg->listen_host,
			 cfg->port);
	size_t n = strlen(out);
	if (n && out[n - 1] == '/')
		out[n - 1] = '\0';
}

/* On stderr, so that stdout stays the link alone for scripts. */
static void print_expiry(const struct token_claims *c)
{
	if (!c->exp) {
		fprintf(stderr, "token id %s; never expires (revoke it with --revoke %s)\n", c->jti,
			c->jti);
		return;
	}
	char when[32];
	time_t e = (time_t)c->exp;
	struct tm tm;
	gmtime_r(&e, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "token id %s; expires %s (revoke it with --revoke %s)\n", c->jti, when,
		c->jti);
}

/* The token in a join or caption URL ("...token=T"), or the argument itself. */
static const char *token_in(const char *arg)
{
	const char *p = strstr(arg, "token=");
	return p ? p + 6 : arg;
}

/* --revoke ID|TOKEN|URL: adds the token's id to the data directory's list. */
static int token_revoke(const struct token_args *t, struct rs_config *cfg)
{
	const char *dir = t->data ? t->data : cfg->data_dir;
	const char *arg = token_in(t->revoke);
	char id[TOKEN_ID_LEN + 1];
	int64_t exp = 0;
	if (strchr(arg, '.')) {
		uint8_t secret[TOKEN_SECRET_LEN];
		struct token_claims c;
		if (token_secret_load(dir, secret) != TOKEN_OK) {
			fprintf(stderr, "rostrum: cannot use data directory %s\n", dir);
			return 2;
		}
		int rc = token_id_of(secret, arg, id);
		if (rc != TOKEN_OK)
			return usage_error("cannot revoke that token: %s", token_strerror(rc));
		if (token_verify(secret, arg, 0, &c) == TOKEN_OK)
			exp = c.exp; /* lets the list forget it once it has expired anyway */
	} else if (token_id_valid(arg)) {
		rs_strlcpy(id, arg, sizeof id);
	} else {
		return usage_error("--revoke wants a token id, a token or a join URL, not '%s'", arg);
	}
	int rc = revoke_add(dir, id, exp, (int64_t)time(NULL));
	if (rc != REVOKE_OK) {
		fprintf(stderr, "rostrum: %s/%s: %s\n", dir, REVOKE_FILE, revoke_strerror(rc));
		return 1;
	}
	printf("revoked token %s\n", id);
	return 0;
}

static int token_issue_print(const struct token_args *t, struct rs_config *cfg)
{
	struct token_claims c = { .attrs = t->attrs };
	if (!token_room_id_valid(t->room))
		return usage_error("'%s' is not a room id (a-z, 0-9, '-', '_')", t->room);
	if (!attrs_role_parse(t->role, &c.role))
		return usage_error("unknown role '%s'", t->role);
	if (!attrs_set_name(&c.attrs, t->name))
		return usage_error("the name '%s' must be 1-64 bytes of UTF-8", t->name);
	rs_strlcpy(c.room, t->room, sizeof c.room);
	long ttl = t->ttl ? t->ttl : TOKEN_DEFAULT_TTL_S;
	c.exp = ttl > 0 ? (int64_t)time(NULL) + ttl : 0;
	token_new_id(c.jti);
	uint8_t secret[TOKEN_SECRET_LEN];
	const char *dir = t->data ? t->data : cfg->data_dir;
	if (token_secret_load(dir, secret) != TOKEN_OK) {
		fprintf(stderr, "rostrum: cannot use data directory %s\n", dir);
		return 2;
	}
	char base[512];
	token_base_url(t, cfg, base, sizeof base);
	char *tok = token_issue(secret, &c);
	print_expiry(&c);
	if (t->caption_url)
		printf("%s/caption/%s?token=%s\n", base, c.room, tok);
	else
		printf("%s/?room=%s&token=%s\n", base, c.room, tok);
	free(tok);
	return 0;
}

static int token_revoke_cmd(const struct token_args *t)
{
	struct rs_config cfg;
	config_default(&cfg);
	int rc = load_config(&cfg, t->conf);
	if (!rc)
		rc = token_revoke(t, &cfg);
	config_free(&cfg);
	return rc;
}

static int cmd_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "data", required_argument, NULL, 'd' },
		{ "room", required_argument, NULL, 'r' }, { "role", required_argument, NULL, 'R' },
		{ "name", required_argument, NULL, 'n' }, { "group", required_argument, NULL, 'g' },
		{ "region", required_argument, NULL, 'G' }, { "label", required_argument, NULL, 'L' },
		{ "onsite", no_argument, NULL, 'o' }, { "remote", no_argument, NULL, 'm' },
		{ "ttl", required_argument, NULL, 't' }, { "base-url", required_argument, NULL, 'b' },
		{ "caption-url", no_argument, NULL, 'C' }, { "revoke", required_argument, NULL, 'X' },
		{ NULL, 0, NULL, 0 },
	};
	struct token_args t = { .attrs.onsite = ATTRS_ONSITE_UNKNOWN };
	int o, rc;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1)
		if ((rc = token_parse_opt(&t, o, optarg)) != 0)
			return rc > 0 ? rc : usage_error("unknown or incomplete option '%s'",
							 argv[optind - 1]);
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (t.revoke)
		return token_revoke_cmd(&t);
	if (t.caption_url && !t.role)
		t.role = "captioner";
	if (t.caption_url && !t.name)
		t.name = "Captioner";
	if (!t.room || !t.role || !t.name)
		return usage_error("token needs %s", "--room, --role and --name");
	struct rs_config cfg;
	config_default(&cfg);
	rc = load_config(&cfg, t.conf);
	if (!rc)
		rc = token_issue_print(&t, &cfg);
	config_free(&cfg);
	return rc;
}

static int stdout_sink(void *ctx, const char *bytes, size_t len)
{
	(void)ctx;
	return fwrite(bytes, 1, len, stdout) == len ? 0 : -1;
}

/*
 * Prints a room's transcript from its journal, streaming, with the renderer
 * the server's exports use (open caption lines completed as recovery would);
 * works while a server is running.
 */
static int transcript_print(const char *dir, const char *room, const char *format, const char *lang)
{
	enum transcript_format fmt;
	if (!transcript_format_parse(format, &fmt))
		return usage_error("--format wants vtt, srt, txt or json, not '%s'", format);
	if (!token_room_id_valid(room))
		return usage_error("'%s' is not a room id", room);
	struct transcript_opts opts = { .lang = lang };
	transcript *probe;
	int rc = transcript_create(fmt, &opts, &probe);
	transcript_destroy(probe);
	if (rc != TRANSCRIPT_OK) {
		fprintf(stderr, "rostrum: %s\n", transcript_strerror(rc));
		return 2;
	}
	char path[4096], err[512];
	recorder_journal_path(dir, room, path, sizeof path);
	if (access(path, F_OK) != 0) {
		fprintf(stderr, "rostrum: cannot open %s: %s\n", path, strerror(errno));
		return 1;
	}
	if (exporter_render(path, 0, fmt, &opts, stdout_sink, NULL, err, sizeof err) != 0) {
		fprintf(stderr, "rostrum: %s\n", err);
		return 1;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_transcript(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "data", required_argument, NULL, 'd' },
		{ "room", required_argument, NULL, 'r' }, { "format", required_argument, NULL, 'f' },
		{ "lang", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *data = NULL, *room = NULL, *format = NULL, *lang = NULL;
	int o;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (o == 'c') conf = optarg;
		else if (o == 'd') data = optarg;
		else if (o == 'r') room = optarg;
		else if (o == 'f') format = optarg;
		else if (o == 'l') lang = optarg;
		else return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!room || !format)
		return usage_error("transcript needs %s", "--room and --format");
	struct rs_config cfg;
	config_default(&cfg);
	int rc = load_config(&cfg, conf);
	if (!rc)
		rc = transcript_print(data ? data : cfg.data_dir, room, format, lang);
	config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("rostrum %s\n", RS_VERSION);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "transcript") == 0)
		return cmd_transcript(argc - 1, argv + 1);
	return cmd_serve(argc, argv);
}
