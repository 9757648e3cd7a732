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

#endif
