/*
 * sdp: the browser's audio offer and our ICE-lite answer (RFC 8866 syntax,
 * RFC 8829 for how browsers use it; RFC 8839 ICE, RFC 8842 DTLS, RFC 7587 Opus).
 *
 * Only what a one-track audio session needs is read: the first audio m-line,
 * its Opus payload type, the audio-level header extension, the peer's ICE
 * credentials, DTLS fingerprint and setup role, mid and SSRC. The answer
 * accepts Opus only, as DTLS server (a=setup:passive), with host candidates.
 */
#ifndef ROSTRUM_SDP_H
#define ROSTRUM_SDP_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_LEN 16384
#define SDP_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

enum sdp_err {
	SDP_OK = 0,
	SDP_E_SYNTAX = -1,       /* not an SDP session description (v= first, CRLF lines) */
	SDP_E_NO_AUDIO = -2,     /* no audio m-line with a port */
	SDP_E_NO_OPUS = -3,      /* the audio m-line offers no opus/48000/2 */
	SDP_E_NO_ICE = -4,       /* ice-ufrag or ice-pwd missing or malformed */
	SDP_E_NO_DTLS = -5,      /* no sha-256 fingerprint, or setup is passive (we are passive) */
	SDP_E_TOO_LONG = -6,
	SDP_E_NO_SPACE = -7,     /* build: the output buffer is too small */
};

struct sdp_offer {
	char ice_ufrag[257], ice_pwd[257];
	char fingerprint[96];    /* sha-256, "AB:CD:..." */
	char setup[9];           /* actpass | active | passive */
	char mid[33];
	int opus_pt;
	int level_ext_id;        /* 0 when not offered */
	bool rtcp_mux;
	bool recv_only;          /* a=recvonly: the browser will not send */
	uint32_t ssrc;           /* 0 when not signalled */
};

struct sdp_candidate {
	const char *ip;          /* the announced address */
	int port;
	bool tcp;                /* passive ICE-TCP (RFC 6544) instead of UDP */
};

struct sdp_answer {
	const char *ice_ufrag, *ice_pwd;
	const char *fingerprint; /* ours */
	uint32_t ssrc;           /* the room stream we send */
	const char *cname;
	const struct sdp_candidate *candidates;
	size_t n_candidates;
	uint64_t session_id;
};

/* Reads a browser offer. Returns SDP_OK or the first thing missing. */
RS_MUST_CHECK int sdp_parse_offer(const char *sdp, size_t len, struct sdp_offer *out);
/* Writes the answer to offer o into out (NUL-terminated). Returns its length or SDP_E_NO_SPACE. */
RS_MUST_CHECK int sdp_build_answer(const struct sdp_offer *o, const struct sdp_answer *a,
				   char *out, size_t cap);
const char *sdp_strerror(int err);

#endif
