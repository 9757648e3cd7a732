/* Configuration: the embedded default, the example file, and every rejection. */
#include "check.h"
#include "config.h"

#include <stdlib.h>
#include <string.h>

static void test_default(void)
{
	struct rs_config c;
	config_default(&c);
	CHECK_STR(c.listen_host, "127.0.0.1");
	CHECK(c.port == 8080);
	CHECK_STR(c.data_dir, "./rostrum-data");
	CHECK(c.n_rooms == 1);
	CHECK(config_room(&c, "plenary") && config_room(&c, "plenary")->open);
	/* ICE-TCP is on by default, on any free port, beside the UDP candidate. */
	CHECK(c.rtc.tcp_port == 0 && c.rtc.ice_tcp && c.rtc.ice_udp);
	config_free(&c);
}

static void test_example_file(void)
{
	const char *src = getenv("ROSTRUM_SOURCE");
	char path[1024];
	snprintf(path, sizeof path, "%s/server/rostrum.example.json", src ? src : ".");
	struct rs_config c;
	char err[256] = "";
	config_default(&c);
	int rc = config_load(&c, path, err, sizeof err);
	if (rc)
		fprintf(stderr, "example: %s\n", err);
	CHECK(rc == 0);
	CHECK(c.n_rooms >= 2);
	config_free(&c);
}

static const struct {
	const char *json;
	const char *want; /* a substring of the error */
} bad[] = {
	{ "{", "line 1" },
	{ "[]", "JSON object" },
	{ "{\"lisen\": \"x\"}", "unknown key 'lisen'" },
	{ "{\"listen\": \"nohost\"}", "listen" },
	{ "{\"listen\": \"h:99999\"}", "listen" },
	{ "{\"limits\": {\"max_connections\": 0}}", "max_connections" },
	{ "{\"limits\": {\"bogus\": 1}}", "unknown key 'bogus'" },
	{ "{\"rooms\": [{\"id\": \"Bad Id\"}]}", "room 'id'" },
	{ "{\"rooms\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}", "twice" },
	{ "{\"rooms\": [{\"id\": \"a\", \"open\": 1}]}", "'open'" },
	{ "{\"rooms\": [{\"id\": \"a\", \"policy\": []}]}", "'policy'" },
	{ "{\"tls\": {\"cert\": \"c.pem\"}}", "both" },
	{ "{\"rtc\": {\"udp_port_min\": 5000, \"udp_port_max\": 4000}}", "below" },
	{ "{\"rtc\": {\"tcp_port\": 70000}}", "'tcp_port' must be an integer from 0 to 65535" },
	{ "{\"rtc\": {\"tcp_port\": \"443\"}}", "'tcp_port'" },
	{ "{\"rtc\": {\"ice_tcp\": 1}}", "'rtc.ice_tcp' must be true or false" },
	{ "{\"rtc\": {\"ice_udp\": \"no\"}}", "'rtc.ice_udp' must be true or false" },
	{ "{\"rtc\": {\"ice_udp\": false, \"ice_tcp\": false}}", "both false" },
	{ "{\"rtc\": {\"ice_tpc\": true}}", "unknown key 'ice_tpc' in rtc" },
	{ "{\"data_dir\": 5}", "'data_dir'" },
	{ "{\"rooms\": [{\"id\": \"a\", \"policy\": {\"flor\": {}}}]}", "unknown key 'flor'" },
	{ "{\"rooms\": [{\"id\": \"a\", \"policy\": {\"floor\": {\"order\": \"random\"}}}]}", "order" },
	{ "{\"rooms\": [{\"id\": \"a\", \"policy\": {\"floor\": {\"max_holders\": 99}}}]}", "max_holders" },
	{ "{\"rooms\": [{\"id\": \"a\", \"policy\": {\"captions\": {\"lang\": \"???\"}}}]}", "captions.lang" },
};

static void test_rejections(void)
{
	for (size_t i = 0; i < RS_ARRAY_LEN(bad); i++) {
		struct rs_config c;
		char err[256] = "";
		config_default(&c);
		CHECK(config_parse(&c, bad[i].json, err, sizeof err) == -1);
		if (!strstr(err, bad[i].want))
			fprintf(stderr, "case %zu: got '%s', want '%s'\n", i, err, bad[i].want);
		CHECK(strstr(err, bad[i].want) != NULL);
		config_free(&c);
	}
}

static void test_listen_forms(void)
{
	struct rs_config c;
	config_default(&c);
	CHECK(config_set_listen(&c, "[::1]:9000") == 0);
	CHECK_STR(c.listen_host, "::1");
	CHECK(c.port == 9000);
	CHECK(config_set_listen(&c, "0.0.0.0:0") == 0 && c.port == 0);
	CHECK(config_set_listen(&c, ":80") == -1);
	CHECK(config_set_listen(&c, "host:") == -1);
	config_free(&c);
}

/* The rtc keys as written, each on top of the defaults. */
static void test_rtc(void)
{
	static const struct {
		const char *json;
		int tcp_port;
		bool ice_tcp, ice_udp;
	} cases[] = {
		{ "{\"rtc\": {}}", 0, true, true },
		{ "{\"rtc\": {\"tcp_port\": 3478}}", 3478, true, true },
		{ "{\"rtc\": {\"ice_udp\": false}}", 0, true, false },
		{ "{\"rtc\": {\"ice_tcp\": false, \"tcp_port\": 9}}", 9, false, true },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		struct rs_config c;
		char err[256] = "";
		config_default(&c);
		CHECK(config_parse(&c, cases[i].json, err, sizeof err) == 0);
		CHECK(c.rtc.tcp_port == cases[i].tcp_port && c.rtc.ice_tcp == cases[i].ice_tcp &&
		      c.rtc.ice_udp == cases[i].ice_udp);
		config_free(&c);
	}
}

int main(void)
{
	test_default();
	test_example_file();
	test_rejections();
	test_listen_forms();
	test_rtc();
	return check_done();
}
