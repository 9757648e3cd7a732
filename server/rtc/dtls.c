#include "dtls.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/*
 * After the handshake. OpenSSL's SSL object holds about 55 KB once a
 * handshake is done (record buffers, the buffered last flight, the session
 * and the peer's certificate), which outweighs everything else a listener
 * costs. Only two things still need it: answering a retransmitted client
 * flight (DTLS 1.2 section 4.2.4: if our ChangeCipherSpec and Finished were
 * lost, the client resends its last flight and we must resend ours) and
 * noticing the peer's close_notify. So the server keeps it for a linger
 * after the last DTLS datagram it received, then frees it and keeps only
 * the exported keys. From then on DTLS records are dropped unanswered: a
 * close_notify can no longer be decrypted, and the transport learns of a
 * departed peer from ICE consent expiry (RFC 7675) or from signaling, as it
 * does for a peer that vanishes without one. The client (tests and the
 * load generator) sends nothing after its Finished is answered, so it frees
 * the SSL as soon as it is connected.
 */
#define OUT_QUEUE 16           /* datagrams waiting for dtls_conn_poll_output(): a flight is 1-6 */
#define INITIAL_RTO_US 100000  /* first retransmission after 100 ms, then doubling */
#define MAX_RTO_US 3000000

struct dtls_cert {
	X509 *x509;
	EVP_PKEY *key;
	char fingerprint[DTLS_FINGERPRINT_LEN + 1];
};

struct dtls_ctx {
	SSL_CTX *ssl_ctx;
	int64_t linger_ms;           /* how long a connected server keeps its SSL */
};

struct datagram {
	size_t len;
	uint8_t data[];
};

struct dtls_conn {
	/* owned */
	SSL *ssl;
	BIO *rbio;                       /* received datagrams (memory) */
	struct datagram *out[OUT_QUEUE]; /* written by OpenSSL through the capture BIO */
	int out_head, out_len;
	/* passed in */
	enum dtls_role role;
	char remote_fp[DTLS_FINGERPRINT_LEN + 1];
	int64_t linger_ms;
	/* state */
	enum dtls_state state;
	int64_t release_at;          /* monotonic ms: the SSL is freed then (CONNECTED only) */
	int keys_rc;                 /* DTLS_OK once keys holds the exported keys */
	struct dtls_srtp_keys keys;
};

static int conn_index = -1;      /* SSL ex_data slot holding the dtls_conn */
static BIO_METHOD *capture_method;

/* ---- certificates ----------------------------------------------------------------- */

static void format_fingerprint(X509 *x, char out[DTLS_FINGERPRINT_LEN + 1])
{
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	X509_digest(x, EVP_sha256(), md, &n);
	for (unsigned int i = 0; i < n; i++)
		snprintf(out + i * 3, 4, "%02X%s", md[i], i + 1 < n ? ":" : "");
}

dtls_cert *dtls_cert_generate(void)
{
	dtls_cert *c = rs_calloc(1, sizeof *c);
	c->key = EVP_EC_gen("P-256");
	c->x509 = X509_new();
	if (!c->key || !c->x509)
		goto err;
	uint8_t serial[8];
	RAND_bytes(serial, sizeof serial);
	ASN1_INTEGER_set_uint64(X509_get_serialNumber(c->x509),
				(uint64_t)serial[0] << 24 | serial[1] << 16 | serial[2] << 8 | serial[3]);
	X509_set_version(c->x509, 2);
	X509_gmtime_adj(X509_getm_notBefore(c->x509), -86400);
	X509_gmtime_adj(X509_getm_notAfter(c->x509), 30L * 86400);
	X509_NAME *name = X509_get_subject_name(c->x509);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"rostrum", -1, -1, 0);
	X509_set_issuer_name(c->x509, name);
	if (!X509_set_pubkey(c->x509, c->key) || !X509_sign(c->x509, c->key, EVP_sha256()))
		goto err;
	format_fingerprint(c->x509, c->fingerprint);
	return c;
err:
	dtls_cert_free(c);
	return NULL;
}

void dtls_cert_free(dtls_cert *c)
{
	if (!c)
		return;
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
	free(c);
}

const char *dtls_cert_fingerprint(const dtls_cert *c)
{
	return c->fingerprint;
}

/* ---- the capture BIO: one BIO_write is one datagram --------------------------------- */

static int capture_write(BIO *b, const char *data, int len)
{
	dtls_conn *c = BIO_get_data(b);
	if (len <= 0 || c->out_len == OUT_QUEUE)
		return len <= 0 ? 0 : -1;
	struct datagram *d = rs_malloc(sizeof *d + (size_t)len);
	d->len = (size_t)len;
	memcpy(d->data, data, (size_t)len);
	c->out[(c->out_head + c->out_len++) % OUT_QUEUE] = d;
	return len;
}

static long capture_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		return 1;
	case BIO_CTRL_DGRAM_QUERY_MTU:
	case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
		return DTLS_MTU;
	default:
		return 0;
	}
}

static int capture_create(BIO *b)
{
	BIO_set_init(b, 1);
	return 1;
}

static BIO_METHOD *capture(void)
{
	if (!capture_method) {
		capture_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "dtls-out");
		BIO_meth_set_write(capture_method, capture_write);
		BIO_meth_set_ctrl(capture_method, capture_ctrl);
		BIO_meth_set_create(capture_method, capture_create);
	}
	return capture_method;
}

/* ---- contexts ------------------------------------------------------------------------ */

/* The peer's leaf certificate must be the one its SDP named (RFC 8122 section 5). */
static int verify_peer(int ok, X509_STORE_CTX *store)
{
	(void)ok;
	if (X509_STORE_CTX_get_error_depth(store) != 0)
		return 1;
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	dtls_conn *c = SSL_get_ex_data(ssl, conn_index);
	char fp[DTLS_FINGERPRINT_LEN + 1];
	format_fingerprint(X509_STORE_CTX_get_current_cert(store), fp);
	return strcasecmp(fp, c->remote_fp) == 0;
}

dtls_ctx *dtls_ctx_create(const dtls_cert *cert, const char *profiles)
{
	if (conn_index < 0)
		conn_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	dtls_ctx *ctx = rs_calloc(1, sizeof *ctx);
	ctx->ssl_ctx = SSL_CTX_new(DTLS_method());
	SSL_CTX *s = ctx->ssl_ctx;
	if (!s || !SSL_CTX_set_min_proto_version(s, DTLS1_2_VERSION) ||
	    !SSL_CTX_use_certificate(s, cert->x509) || !SSL_CTX_use_PrivateKey(s, cert->key) ||
	    SSL_CTX_set_tlsext_use_srtp(s, profiles ? profiles
					   : "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80") != 0) {
		dtls_ctx_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_peer);
	/*
	 * No resumption in WebRTC: a session cache would keep every peer's
	 * session and certificate in the context long after its SSL is gone.
	 */
	SSL_CTX_set_options(s, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(s, SSL_MODE_RELEASE_BUFFERS);
	/*
	 * Records never exceed the MTU, so the write buffer need not hold 16 KB
	 * (OpenSSL sizes it from this; RELEASE_BUFFERS does not apply to DTLS).
	 */
	SSL_CTX_set_max_send_fragment(s, DTLS_MTU);
	ctx->linger_ms = DTLS_LINGER_MS;
	return ctx;
}

void dtls_ctx_set_linger_ms(dtls_ctx *ctx, int64_t ms)
{
	ctx->linger_ms = ms < 0 ? 0 : ms;
}

void dtls_ctx_free(dtls_ctx *ctx)
{
	if (!ctx)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

/* ---- connections ------------------------------------------------------------------- */

static unsigned int rto(SSL *s, unsigned int us)
{
	(void)s;
	return us == 0 ? INITIAL_RTO_US : (us * 2 > MAX_RTO_US ? MAX_RTO_US : us * 2);
}

dtls_conn *dtls_conn_create(dtls_ctx *ctx, enum dtls_role role, const char *remote_fingerprint)
{
	dtls_conn *c = rs_calloc(1, sizeof *c);
	c->role = role;
	c->linger_ms = ctx->linger_ms;
	c->keys_rc = DTLS_E_STATE;
	rs_strlcpy(c->remote_fp, remote_fingerprint, sizeof c->remote_fp);
	c->ssl = SSL_new(ctx->ssl_ctx);
	c->rbio = BIO_new(BIO_s_mem());
	BIO *wbio = BIO_new(capture());
	if (!c->ssl || !c->rbio || !wbio) {
		BIO_free(wbio);
		dtls_conn_free(c);
		return NULL;
	}
	BIO_set_mem_eof_return(c->rbio, -1);
	BIO_set_data(wbio, c);
	SSL_set_bio(c->ssl, c->rbio, wbio); /* the SSL owns both BIOs from here */
	SSL_set_ex_data(c->ssl, conn_index, c);
	SSL_set_mtu(c->ssl, DTLS_MTU);
	DTLS_set_timer_cb(c->ssl, rto);
	if (role == DTLS_SERVER)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	return c;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Frees the SSL and its BIOs; the keys stay. Queued datagrams are still sent. */
static void release(dtls_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->rbio = NULL;
}

void dtls_conn_free(dtls_conn *c)
{
	if (!c)
		return;
	release(c);
	while (c->out_len) {
		free(c->out[c->out_head]);
		c->out_head = (c->out_head + 1) % OUT_QUEUE;
		c->out_len--;
	}
	OPENSSL_cleanse(&c->keys, sizeof c->keys);
	free(c);
}

static int export_keys(dtls_conn *c, struct dtls_srtp_keys *out);

/* The handshake finished: the keys are exported now, while the SSL exists. */
static void connected(dtls_conn *c)
{
	c->state = DTLS_CONNECTED;
	c->keys_rc = export_keys(c, &c->keys);
	c->release_at = mono_ms() + (c->role == DTLS_CLIENT ? 0 : c->linger_ms);
}

/* Advances the handshake; sets CONNECTED or FAILED. */
static int drive(dtls_conn *c)
{
	if (c->state == DTLS_CONNECTED) {
		uint8_t sink[2048]; /* no application data is carried; close_notify is noticed */
		int n = SSL_read(c->ssl, sink, sizeof sink);
		if (n <= 0 && SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN)
			c->state = DTLS_CLOSED;
		ERR_clear_error();
		return DTLS_OK;
	}
	int rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		connected(c);
		return DTLS_OK;
	}
	int e = SSL_get_error(c->ssl, rc);
	ERR_clear_error();
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		c->state = DTLS_CONNECTING;
		return DTLS_OK;
	}
	c->state = DTLS_FAILED;
	return DTLS_E_HANDSHAKE;
}

int dtls_conn_start(dtls_conn *c)
{
	if (c->state != DTLS_NEW)
		return DTLS_E_STATE;
	return drive(c);
}

int dtls_conn_input(dtls_conn *c, const uint8_t *dgram, size_t len)
{
	if (c->state == DTLS_FAILED || c->state == DTLS_CLOSED)
		return DTLS_E_STATE;
	if (!c->ssl)
		return DTLS_OK; /* released: nothing left to answer */
	bool was_connected = c->state == DTLS_CONNECTED;
	BIO_write(c->rbio, dgram, (int)len);
	int rc = drive(c);
	(void)BIO_reset(c->rbio); /* a datagram is consumed whole, or dropped */
	if (was_connected && c->state == DTLS_CONNECTED)
		c->release_at = mono_ms() + c->linger_ms; /* the peer may still be handshaking */
	if (c->state == DTLS_CONNECTED && c->release_at <= mono_ms())
		release(c);
	return rc;
}

int dtls_conn_poll_output(dtls_conn *c, uint8_t *buf, size_t cap)
{
	if (!c->out_len)
		return 0;
	struct datagram *d = c->out[c->out_head];
	c->out_head = (c->out_head + 1) % OUT_QUEUE;
	c->out_len--;
	int n = d->len <= cap ? (int)d->len : DTLS_E_TOO_BIG;
	if (n > 0)
		memcpy(buf, d->data, d->len);
	free(d);
	return n;
}

int64_t dtls_conn_next_deadline_ms(dtls_conn *c)
{
	struct timeval tv;
	if (c->state == DTLS_CONNECTED && c->ssl) {
		int64_t left = c->release_at - mono_ms();
		return left > 0 ? left : 0;
	}
	if (c->state != DTLS_CONNECTING || !DTLSv1_get_timeout(c->ssl, &tv))
		return -1;
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

void dtls_conn_timeout(dtls_conn *c)
{
	if (c->state == DTLS_CONNECTED && c->ssl && c->release_at <= mono_ms())
		release(c);
	if (c->state == DTLS_CONNECTING && DTLSv1_handle_timeout(c->ssl) < 0)
		c->state = DTLS_FAILED;
	ERR_clear_error();
}

bool dtls_conn_released(const dtls_conn *c)
{
	return c->state == DTLS_CONNECTED && !c->ssl;
}

void dtls_conn_peer_keyed(dtls_conn *c)
{
	if (c->state == DTLS_CONNECTED)
		release(c);
}

enum dtls_state dtls_conn_state(const dtls_conn *c)
{
	return c->state;
}

const char *dtls_state_name(enum dtls_state s)
{
	static const char *const names[] = { "new", "connecting", "connected", "failed", "closed" };
	return s <= DTLS_CLOSED ? names[s] : "unknown";
}

int dtls_conn_srtp_keys(dtls_conn *c, struct dtls_srtp_keys *out)
{
	if (c->state != DTLS_CONNECTED)
		return DTLS_E_STATE;
	if (c->keys_rc == DTLS_OK)
		*out = c->keys;
	return c->keys_rc;
}

/* RFC 5764 section 4.2: client key, server key, client salt, server salt. */
static int export_keys(dtls_conn *c, struct dtls_srtp_keys *out)
{
	SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(c->ssl);
	if (!p)
		return DTLS_E_NO_SRTP;
	memset(out, 0, sizeof *out);
	out->profile = (enum dtls_srtp_profile)p->id;
	out->key_len = 16;
	out->salt_len = p->id == DTLS_SRTP_AEAD_AES_128_GCM ? 12 : 14;
	size_t k = out->key_len, s = out->salt_len;
	uint8_t m[2 * (16 + 14)];
	const char label[] = "EXTRACTOR-dtls_srtp";
	if (!SSL_export_keying_material(c->ssl, m, 2 * (k + s), label, sizeof label - 1, NULL, 0, 0))
		return DTLS_E_NO_SRTP;
	bool client = c->role == DTLS_CLIENT;
	uint8_t *mine = out->local, *theirs = out->remote;
	memcpy(mine, m + (client ? 0 : k), k);
	memcpy(theirs, m + (client ? k : 0), k);
	memcpy(mine + k, m + 2 * k + (client ? 0 : s), s);
	memcpy(theirs + k, m + 2 * k + (client ? s : 0), s);
	OPENSSL_cleanse(m, sizeof m);
	return DTLS_OK;
}

const char *dtls_strerror(int err)
{
	switch (err) {
	case DTLS_OK: return "ok";
	case DTLS_E_HANDSHAKE: return "DTLS handshake failed";
	case DTLS_E_STATE: return "not possible in this DTLS state";
	case DTLS_E_NO_SRTP: return "no SRTP profile negotiated";
	case DTLS_E_TOO_BIG: return "datagram larger than the buffer";
	}
	return "unknown DTLS error";
}
