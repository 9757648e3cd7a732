#include "msg.h"
#include "util.h"

#include <assert.h>
#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

struct rs_msg {
	int refs;
	uint32_t key;
	size_t len;
	unsigned char buf[]; /* LWS_PRE headroom, payload, NUL */
};

rs_msg *rs_msg_new(const char *text, size_t len)
{
	rs_msg *m = rs_malloc(sizeof *m + LWS_PRE + len + 1);
	m->refs = 1;
	m->key = 0;
	m->len = len;
	memcpy(m->buf + LWS_PRE, text, len);
	m->buf[LWS_PRE + len] = '\0';
	return m;
}

rs_msg *rs_msg_from_json(const json_t *j)
{
	size_t len = json_dumpb(j, NULL, 0, JSON_COMPACT);
	rs_msg *m = rs_malloc(sizeof *m + LWS_PRE + len + 1);
	m->refs = 1;
	m->key = 0;
	m->len = json_dumpb(j, (char *)m->buf + LWS_PRE, len, JSON_COMPACT);
	assert(m->len == len);
	m->buf[LWS_PRE + len] = '\0';
	return m;
}

rs_msg *rs_msg_take_json(json_t *j)
{
	rs_msg *m = rs_msg_from_json(j);
	json_decref(j);
	return m;
}

rs_msg *rs_msg_ref(rs_msg *m)
{
	m->refs++;
	return m;
}

void rs_msg_unref(rs_msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

unsigned char *rs_msg_payload(rs_msg *m)
{
	return m->buf + LWS_PRE;
}

size_t rs_msg_len(const rs_msg *m)
{
	return m->len;
}

void rs_msg_set_key(rs_msg *m, uint32_t key)
{
	m->key = key;
}

uint32_t rs_msg_key(const rs_msg *m)
{
	return m->key;
}
