/*
 * DTLS records into the wrapper (rtc/dtls.c) as the media port hands them
 * to the server's end of a DTLS-SRTP handshake. The certificates and
 * contexts are made once. An input's first byte picks one of two targets:
 *
 * - even: a fresh server-side connection (cheap: no keys are made until a
 *   ClientHello parses) that sees only the injected records, so the record
 *   layer and the ClientHello parser run at speed;
 * - odd: an association already CONNECTED with a real client beside it,
 *   kept across inputs and rebuilt (a full handshake) only when an input
 *   leaves it FAILED or CLOSED. Most mutated records fail the MAC there and
 *   are dropped, the path a hostile peer takes once keys exist.
 *
 * The rest is a sequence of operations (2-byte big-endian length, then the
 * bytes), whose first byte is the operation (% 4): inject the rest as a
 * datagram into the server, deliver the client's next datagram, deliver the
 * server's next one to the client, or deliver the client's next datagram
 * with one byte (at the second byte's value) flipped. On a fresh connection
 * the client is made (and starts its handshake) the first time an operation
 * needs it, so every handshake state stays reachable. Retransmission timers
 * fire when the third byte of an injection is odd. A connected server must
 * export keys of a profile it offered.
 *
 * What carries across inputs on the kept association: the record sequence
 * numbers and replay windows of its epoch, and any pending retransmission.
 * A crash found there that does not replay from its input alone (the kept
 * association is then new) needs the inputs before it (libFuzzer's
 * -runs over the work corpus in order).
 */
#include "dtls.h"
#include "fuzz.h"
#include "srtpx.h"

static dtls_cert *server_cert, *client_cert;
static dtls_ctx *server_ctx, *client_ctx;
static dtls_conn *kept_srv, *kept_cli; /* the established association */

void fz_setup(void)
{
	if (srtpx_init() != SRTPX_OK)
		abort();
	server_cert = dtls_cert_generate();
	client_cert = dtls_cert_generate();
	server_ctx = dtls_ctx_create(server_cert, NULL);
	client_ctx = dtls_ctx_create(client_cert, NULL);
	if (!server_ctx || !client_ctx)
		abort();
}

/* Moves one datagram from a to b, optionally with byte `at` flipped. */
static bool deliver(dtls_conn *a, dtls_conn *b, int at)
{
	uint8_t buf[DTLS_MTU + 512];
	int n = dtls_conn_poll_output(a, buf, sizeof buf);
	if (n <= 0)
		return false;
	if (at >= 0)
		buf[at % n] ^= 0x5a;
	(void)!dtls_conn_input(b, buf, (size_t)n);
	return true;
}

static dtls_conn *new_client(void)
{
	dtls_conn *c = dtls_conn_create(client_ctx, DTLS_CLIENT, dtls_cert_fingerprint(server_cert));
	if (!c || dtls_conn_start(c) != DTLS_OK)
		abort();
	return c;
}

/* Makes the kept association CONNECTED again if the last input ended it. */
static void ensure_association(void)
{
	if (kept_srv && dtls_conn_state(kept_srv) == DTLS_CONNECTED &&
	    dtls_conn_state(kept_cli) == DTLS_CONNECTED)
		return;
	dtls_conn_free(kept_srv);
	dtls_conn_free(kept_cli);
	kept_srv = dtls_conn_create(server_ctx, DTLS_SERVER, dtls_cert_fingerprint(client_cert));
	kept_cli = new_client();
	for (int i = 0; i < 32; i++)
		if (!deliver(kept_cli, kept_srv, -1) && !deliver(kept_srv, kept_cli, -1))
			break;
	if (dtls_conn_state(kept_srv) != DTLS_CONNECTED ||
	    dtls_conn_state(kept_cli) != DTLS_CONNECTED)
		abort(); /* two honest ends must always connect */
}

static void check_keys(dtls_conn *srv)
{
	struct dtls_srtp_keys k;
	if (dtls_conn_state(srv) == DTLS_CONNECTED && dtls_conn_srtp_keys(srv, &k) == DTLS_OK &&
	    ((k.profile != DTLS_SRTP_AES128_CM_SHA1_80 &&
	      k.profile != DTLS_SRTP_AEAD_AES_128_GCM) ||
	     k.key_len + k.salt_len > sizeof k.local))
		abort();
}

static void drain(dtls_conn *c)
{
	uint8_t sink[DTLS_MTU + 512];
	while (c && dtls_conn_poll_output(c, sink, sizeof sink) != 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	bool kept = data[0] & 1;
	dtls_conn *srv, *cli = NULL;
	if (kept) {
		ensure_association();
		srv = kept_srv;
		cli = kept_cli;
	} else {
		srv = dtls_conn_create(server_ctx, DTLS_SERVER, dtls_cert_fingerprint(client_cert));
		if (!srv)
			abort();
	}
	struct fz f = { data + 1, size - 1 };
	const uint8_t *op;
	size_t n;
	int steps = 0;
	while (fz_chunk(&f, &op, &n) && steps++ < 64) {
		if (n < 1)
			continue;
		if (op[0] % 4 == 0) {
			(void)!dtls_conn_input(srv, op + 1, n - 1);
			if (n > 2 && (op[2] & 1))
				dtls_conn_timeout(srv);
			continue;
		}
		if (!cli)
			cli = new_client();
		if (op[0] % 4 == 1)
			deliver(cli, srv, -1);
		else if (op[0] % 4 == 2)
			deliver(srv, cli, -1);
		else
			deliver(cli, srv, n > 1 ? op[1] : 0);
	}
	check_keys(srv);
	(void)dtls_conn_next_deadline_ms(srv);
	drain(srv);
	drain(cli);
	if (!kept) {
		dtls_conn_free(srv);
		dtls_conn_free(cli);
	}
	return 0;
}
