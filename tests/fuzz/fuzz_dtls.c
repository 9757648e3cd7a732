/*
 * DTLS records into the wrapper (rtc/dtls.c) as the media port hands them
 * to the server's end of a DTLS-SRTP handshake. A real client runs beside it
 * so the fuzzer can reach every state, connected included: each input is a
 * sequence of operations (2-byte big-endian length, then the bytes), whose
 * first byte is the operation (% 4): inject the rest as a datagram, deliver
 * the client's next datagram, deliver the server's next one to the client,
 * or deliver the client's next datagram with one byte (at the second byte's
 * value) flipped. Retransmission timers fire when the third byte of an
 * injection is odd. A connected server must export keys of a profile it
 * offered.
 */
#include "dtls.h"
#include "fuzz.h"
#include "srtpx.h"

static dtls_cert *server_cert, *client_cert;
static dtls_ctx *server_ctx, *client_ctx;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rs_log_set_level(RS_LOG_ERR);
	if (srtpx_init() != SRTPX_OK)
		abort();
	server_cert = dtls_cert_generate();
	client_cert = dtls_cert_generate();
	server_ctx = dtls_ctx_create(server_cert, NULL);
	client_ctx = dtls_ctx_create(client_cert, NULL);
	if (!server_ctx || !client_ctx)
		abort();
	return 0;
}

/* Moves one datagram from a to b, optionally with byte `at` flipped. */
static void deliver(dtls_conn *a, dtls_conn *b, int at)
{
	uint8_t buf[DTLS_MTU + 512];
	int n = dtls_conn_poll_output(a, buf, sizeof buf);
	if (n <= 0)
		return;
	if (at >= 0)
		buf[at % n] ^= 0x5a;
	(void)!dtls_conn_input(b, buf, (size_t)n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	dtls_conn *srv = dtls_conn_create(server_ctx, DTLS_SERVER, dtls_cert_fingerprint(client_cert));
	dtls_conn *cli = dtls_conn_create(client_ctx, DTLS_CLIENT, dtls_cert_fingerprint(server_cert));
	if (!srv || !cli || dtls_conn_start(cli) != DTLS_OK)
		abort();
	struct fz f = { data, size };
	const uint8_t *op;
	size_t n;
	int steps = 0;
	while (fz_chunk(&f, &op, &n) && steps++ < 64) {
		if (n < 1)
			continue;
		switch (op[0] % 4) {
		case 0:
			(void)!dtls_conn_input(srv, op + 1, n - 1);
			if (n > 2 && (op[2] & 1))
				dtls_conn_timeout(srv);
			break;
		case 1:
			deliver(cli, srv, -1);
			break;
		case 2:
			deliver(srv, cli, -1);
			break;
		default:
			deliver(cli, srv, n > 1 ? op[1] : 0);
			break;
		}
	}
	if (dtls_conn_state(srv) == DTLS_CONNECTED) {
		struct dtls_srtp_keys k;
		if (dtls_conn_srtp_keys(srv, &k) == DTLS_OK &&
		    ((k.profile != DTLS_SRTP_AES128_CM_SHA1_80 &&
		      k.profile != DTLS_SRTP_AEAD_AES_128_GCM) ||
		     k.key_len + k.salt_len > sizeof k.local))
			abort();
	}
	(void)dtls_conn_next_deadline_ms(srv);
	uint8_t sink[DTLS_MTU + 512];
	while (dtls_conn_poll_output(srv, sink, sizeof sink) != 0)
		;
	dtls_conn_free(srv);
	dtls_conn_free(cli);
	return 0;
}
