/*
 * transport: one participant's WebRTC audio connection — ICE-lite, DTLS,
 * SRTP — behind one function that routes each datagram by its first byte
 * (RFC 7983): STUN to the ICE agent, DTLS to the handshake, RTP/RTCP to SRTP.
 *
 * Sans-IO: datagrams, their source and the time go in; datagrams to send,
 * decrypted RTP and state changes come out through the listener. The owner
 * (the hub's media router) never sees ICE, DTLS or SRTP.
 */
#ifndef ROSTRUM_TRANSPORT_H
#define ROSTRUM_TRANSPORT_H

#include "dtls.h"
#include "ice.h"
#include "rtcp.h"
#include "rtp.h"
#include "sdp.h"
#include "srtpx.h"

#include <sys/socket.h>

typedef struct transport transport;

enum transport_state { TRANSPORT_NEW, TRANSPORT_CONNECTING, TRANSPORT_CONNECTED,
		       TRANSPORT_FAILED };

enum transport_drop {         /* why a datagram was dropped (counted by the owner) */
	TRANSPORT_DROP_NONE = 0,
	TRANSPORT_DROP_GARBAGE,   /* first byte belongs to no protocol (RFC 7983) */
	TRANSPORT_DROP_STUN,      /* a check that failed USERNAME, integrity or fingerprint */
	TRANSPORT_DROP_DTLS,      /* DTLS from an address ICE has not validated, or a bad record */
	TRANSPORT_DROP_SRTP,      /* media before keys, or failing authentication or replay */
	TRANSPORT_DROP_RTP,       /* a malformed RTP or RTCP packet */
};

struct transport_listener {
	/* Send buf to `to` (the owner owns the socket). */
	void (*send)(void *ctx, const struct sockaddr *to, socklen_t to_len, const uint8_t *buf,
		     size_t len);
	/* A decrypted RTP packet (pkt may be rewritten in place by the owner). */
	void (*on_rtp)(void *ctx, transport *t, uint8_t *pkt, size_t len, const struct rtp_hdr *h);
	/* The state changed. */
	void (*on_state)(void *ctx, transport *t, enum transport_state s);
	void *ctx;
	/*
	 * Optional: the address to report to the peer in STUN responses when it
	 * is not `from` itself (true and *out filled), e.g. behind ICE-TCP.
	 */
	bool (*mapped)(void *ctx, const struct sockaddr *from, socklen_t from_len,
		       struct sockaddr_storage *out);
	/*
	 * Optional: a tuple (remote address) passed its first check (added) or
	 * was pushed out by a newer one (!added), so the owner's lookup table
	 * by address stays exactly the set of tuples the transport accepts.
	 */
	void (*on_tuple)(void *ctx, transport *t, const struct sockaddr *addr, bool added);
};

/*
 * A transport for a browser's offer (copied). dtls (borrowed) holds our
 * certificate. owner is an opaque tag for the listener. NULL on failure.
 */
transport *transport_create(dtls_ctx *dtls, const struct sdp_offer *offer,
			    const struct transport_listener *l, void *owner);
void transport_free(transport *t);
void *transport_owner(const transport *t);
const char *transport_ufrag(const transport *t);
const char *transport_pwd(const transport *t);
enum transport_state transport_state(const transport *t);
int transport_level_ext(const transport *t);
/* The Opus payload type the participant offered (what it expects our packets to carry). */
int transport_opus_pt(const transport *t);

/* The tuples that passed a check (for the owner to forget them all when it frees t). */
size_t transport_tuples(const transport *t, const struct sockaddr_storage **out);
/* True when `from` passed an ICE check of this transport (its datagrams are ours). */
bool transport_validated(const transport *t, const struct sockaddr *from);
/* One datagram from `from`; returns TRANSPORT_DROP_NONE or why it was dropped. */
enum transport_drop transport_input(transport *t, int64_t now_ms, uint8_t *buf, size_t len,
				    const struct sockaddr *from, socklen_t from_len);
/* The SSRC of the stream we send (for sender reports) and the CNAME in reports. */
void transport_set_sender(transport *t, uint32_t ssrc, const char *cname);
/*
 * Reports (one compound SR/RR each) go out at the randomised intervals of
 * RFC 3550 section 6.3 (rtcp_interval_ms): the first 1-3 s after the
 * handshake, then every 2-6 s, different for each transport.
 */
/* Encrypts an RTP packet in place (cap bytes of room) and sends it to the selected address. */
RS_MUST_CHECK int transport_send_rtp(transport *t, int64_t now_ms, uint8_t *pkt, size_t len,
				    size_t cap);
/* When transport_tick() is next needed (INT64_MAX: never). */
int64_t transport_next_deadline(const transport *t, int64_t now_ms);
/* Runs DTLS retransmission and consent expiry. */
void transport_tick(transport *t, int64_t now_ms);

#endif
