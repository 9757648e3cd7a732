/*
 * net: the libwebsockets glue — one context, one event loop, HTTP for the web
 * client and the API, WebSocket for signaling.
 *
 * It only translates: lws callbacks become hub/api calls, hub answers become
 * queued frames written when the socket is writable (one lws_write per
 * writable callback), and lws_sul timers become the time passed to the cores.
 */
#ifndef ROSTRUM_NET_H
#define ROSTRUM_NET_H

#include "config.h"

/*
 * Runs the server until SIGINT/SIGTERM, then closes connections with 1001,
 * flushes and returns 0; returns 2 when it cannot start (message on stderr).
 */
int net_run(struct rs_config *cfg);

#endif
