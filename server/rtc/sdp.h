/*
 * sdp: the browser's audio offer and our ICE-lite answer (RFC 8866 syntax,
 * RFC 8829 for how browsers use it; RFC 8839 ICE, RFC 8842 DTLS, RFC 7587
 * Opus, RFC 3264 offer/answer, RFC 8843 BUNDLE).
 *
 * Only what a one-track audio session needs is read: the first audio m-line,
 * its Opus payload type and parameters, the audio-level header extension,
 * the peer's ICE credentials and candidates, DTLS fingerprint and setup role,
 * mid, direction and SSRC. Every other m-line is remembered just enough to
 * be rejected in the answer (port 0), as RFC 3264 section 6 requires one
 * answer m-line per offered one, in order. The answer accepts Opus only, as
 * DTLS server (a=setup:passive), with host candidates.
 *
 * Sans-IO and allocation-free: text in, a struct out; a struct in, text out.
 */
#ifndef ROSTRUM_SDP_H
#define ROSTRUM_SDP_H

#include "util.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDP_MAX_LEN 16384
#define SDP_MAX_SECTIONS 16
#define SDP_MAX_CANDIDATES 8
#define SDP_LEVEL_URI "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

enum sdp_err {
	SDP_OK = 0,
	SDP_E_SYNTAX = -1,       /* not a session description, or a malformed mid */
	SDP_E_NO_AUDIO = -2,     /* no audio m-line with a port */
	SDP_E_NO_OPUS = -3,      /* the audio m-line offers no opus/48000/2 */
	SDP_E_NO_ICE = -4,       /* ice-ufrag or ice-pwd missing or malformed */
	SDP_E_NO_DTLS = -5,      /* no sha-256 fingerprint, or setup is passive (we are passive) */
	SDP_E_TOO_LONG = -6,
	SDP_E_NO_SPACE = -7,     /* build: the output buffer is too small */
	SDP_E_TOO_MANY = -8,     /* more m-lines than SDP_MAX_SECTIONS */
};

/* Media direction from the offerer's point of view (RFC 3264 section 5.1). */
enum sdp_dir { SDP_SENDRECV = 0, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };

/* An offered m-line, as much as a rejection in the answer must repeat. */
struct sdp_section {
	char media[16];          /* audio | video | application | ... */
	char proto[32];          /* UDP/TLS/RTP/SAVPF, UDP/DTLS/SCTP, ... */
	char fmt[32];            /* the first format */
	char mid[33];            /* empty when none */
};

/* A remote ICE candidate (RFC 8839 section 5.1); a lite agent only reports them. */
struct sdp_ice_candidate {
	char foundation[33];
	int component;
	bool tcp;
	uint32_t priority;
	char address[64];        /* an IP, or a browser's mDNS .local name */
	int port;
	char type[8];            /* host | srflx | prflx | relay */
};

struct sdp_offer {
	char ice_ufrag[257], ice_pwd[257];
	char fingerprint[96];    /* sha-256, "AB:CD:..." */
	char setup[9];           /* actpass | active | passive */
	char mid[33];            /* of the audio section */
	int opus_pt;
	bool opus_fec;           /* fmtp useinbandfec=1 */
	bool opus_stereo;        /* fmtp stereo=1 */
	int opus_minptime;       /* fmtp minptime, 0 when absent */
	int level_ext_id;        /* 0 when not offered */
	bool rtcp_mux;
	enum sdp_dir dir;
	bool recv_only;          /* dir == SDP_RECVONLY: the browser will not send */
	bool bundled;            /* the audio mid is in the offer's a=group:BUNDLE */
	uint32_t ssrc;           /* 0 when not signalled */
	int n_sections, audio_index;
	struct sdp_section sections[SDP_MAX_SECTIONS];
	int n_candidates;        /* all seen; the first SDP_MAX_CANDIDATES are kept */
	struct sdp_ice_candidate candidates[SDP_MAX_CANDIDATES];
	bool end_of_candidates;
};

struct sdp_candidate {
	const char *ip;          /* the announced address */
	int port;
	bool tcp;                /* passive ICE-TCP (RFC 6544) instead of UDP */
};

struct sdp_answer {
	const char *ice_ufrag, *ice_pwd;
	const char *fingerprint; /* ours, sha-256 */
	uint32_t ssrc;           /* the room stream we send */
	const char *cname;
	const struct sdp_candidate *candidates;
	size_t n_candidates;
	uint64_t session_id;
};

/*
 * Reads a browser offer (CRLF or LF lines). Returns SDP_OK or the first
 * thing missing; out is filled as far as it could be read either way.
 */
RS_MUST_CHECK int sdp_parse_offer(const char *sdp, size_t len, struct sdp_offer *out);
/*
 * Writes the answer to offer o into out (NUL-terminated): our audio section
 * where the offer's was, every other offered m-line rejected with port 0.
 * The direction mirrors the offer's (sendonly answers recvonly and so on).
 * Returns its length or SDP_E_NO_SPACE.
 */
RS_MUST_CHECK int sdp_build_answer(const struct sdp_offer *o, const struct sdp_answer *a,
				   char *out, size_t cap);
/* A static description of an sdp_err. */
const char *sdp_strerror(int err);

#endif
