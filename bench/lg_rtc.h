/*
 * lg_rtc: one simulated browser's WebRTC audio connection for the load
 * generator: its own UDP socket, a browser-like SDP offer, ICE as the
 * controlling agent (Binding requests with USE-CANDIDATE, consent checks
 * every 5 s, answers to a full ICE peer's checks), DTLS in whichever role
 * the answer leaves us, and SRTP both ways. Built from the server's own
 * rtc modules (stun, dtls, srtpx, rtp), playing the browser's side.
 */
#ifndef LG_RTC_H
#define LG_RTC_H

#include "dtls.h"
#include "rtp.h"
#include "srtpx.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

enum lg_rtc_state { LG_RTC_NEW, LG_RTC_CHECKING, LG_RTC_DTLS, LG_RTC_READY, LG_RTC_FAILED };

struct lg_rtc {
	/* passed in */
	dtls_ctx *dtls_ctx;               /* borrowed: our certificate */
	const char *fingerprint;          /* borrowed: its sha-256 */
	/* owned */
	int fd;                           /* UDP, connected to the remote candidate */
	enum lg_rtc_state state;
	char lufrag[9], lpwd[25], rufrag[257], rpwd[257], rfp[96];
	bool dtls_server;                 /* the answer said a=setup:active */
	int opus_pt;
	dtls_conn *dtls;
	srtpx *srtp;                      /* sends; receives when fast is NULL */
	struct lg_srtp *fast;             /* receives AES-128-GCM (lg_srtp.h) */
	uint64_t auth_failures;
	/* Decrypt and authenticate what arrives. When false, RTP is only parsed
	 * from its plaintext header (sequence counting); the server cannot tell. */
	bool verify;
	uint8_t tid[12];
	int64_t next_check_ms, next_consent_ms;
	int checks;
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint64_t tiebreak;
	struct sockaddr_in local;
};

/* The RTP packet received and decrypted: pkt[0..len) parsed as h; rx_ns its kernel arrival time. */
typedef void (*lg_rtc_on_rtp)(void *ctx, const uint8_t *pkt, size_t len,
			      const struct rtp_hdr *h, int64_t rx_ns);

/* Opens the UDP socket on local_ip (port chosen by the kernel). -1 on failure.
 * verify: see struct lg_rtc (receive timestamps are asked for only then). */
int lg_rtc_open(struct lg_rtc *r, dtls_ctx *ctx, const char *fingerprint, const char *local_ip,
		uint32_t seed, bool verify);
/* A browser-like offer (sendrecv when send, else recvonly) with our host candidate. */
int lg_rtc_offer(struct lg_rtc *r, bool send, char *out, size_t cap);
/* Reads the answer: ICE credentials, fingerprint, setup, the first UDP IPv4 candidate. */
int lg_rtc_answer(struct lg_rtc *r, const char *sdp, int64_t now_ms);
/* The socket is readable: handles the waiting datagrams (up to a batch, one recvmmsg).
 * Without verify, cb gets the still-encrypted packet and rx_ns 0. */
void lg_rtc_readable(struct lg_rtc *r, int64_t now_ms, lg_rtc_on_rtp cb, void *ctx);
/* Retransmissions, DTLS timers, consent. */
void lg_rtc_tick(struct lg_rtc *r, int64_t now_ms);
/* Sends one Opus payload as the next RTP packet (20 ms later than the last). */
int lg_rtc_send_opus(struct lg_rtc *r, const uint8_t *payload, size_t len, uint8_t level);
void lg_rtc_close(struct lg_rtc *r);

#endif
