/*
 * msg: an outgoing WebSocket text message, built once and shared.
 *
 * A roster change or a caption goes to hundreds of connections; each queue
 * holds a reference to the same bytes instead of a copy. The buffer keeps
 * LWS_PRE bytes of headroom in front of the payload because lws_write() needs
 * that space for the frame header.
 */
#ifndef ROSTRUM_MSG_H
#define ROSTRUM_MSG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rs_msg rs_msg;

/* A message holding a copy of text; one reference, owned by the caller. */
rs_msg *rs_msg_new(const char *text, size_t len);
/* Serializes j compactly into a new message; j is not consumed. */
rs_msg *rs_msg_from_json(const json_t *j);
/* Serializes and releases j (convenience for freshly built objects). */
rs_msg *rs_msg_take_json(json_t *j);
rs_msg *rs_msg_ref(rs_msg *m);
void rs_msg_unref(rs_msg *m);
/* Payload and its length; the LWS_PRE bytes before payload are writable headroom. */
unsigned char *rs_msg_payload(rs_msg *m);
size_t rs_msg_len(const rs_msg *m);
/*
 * Replaceable state: a message with a non-zero key (e.g. the whole public
 * queue) supersedes an unsent one of the same key in a connection's send
 * queue, in its place: a slow reader gets the latest state, not every step.
 */
void rs_msg_set_key(rs_msg *m, uint32_t key);
uint32_t rs_msg_key(const rs_msg *m);

/* Keys of the replaceable messages. */
enum { RS_KEY_NONE, RS_KEY_FLOOR_QUEUE, RS_KEY_WRITTEN_QUEUE, RS_KEY_FLOOR_STATS };

#endif
