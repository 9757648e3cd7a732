/*
 * demux: which protocol a datagram on the shared media port belongs to,
 * from its first bytes alone (RFC 7983 section 7, RFC 5761 section 4).
 *
 * One UDP port carries STUN, DTLS, SRTP and SRTCP for every participant;
 * this is the first decision for each datagram, before any parsing. Pure
 * function, no state: the caller counts what it drops.
 */
#ifndef ROSTRUM_DEMUX_H
#define ROSTRUM_DEMUX_H

#include <stddef.h>
#include <stdint.h>

enum demux_kind {
	DEMUX_GARBAGE = 0, /* empty, or a first byte no protocol of ours uses */
	DEMUX_STUN,        /* first byte 0..3 */
	DEMUX_DTLS,        /* first byte 20..63 */
	DEMUX_RTP,         /* first byte 128..191, second byte not an RTCP type */
	DEMUX_RTCP,        /* first byte 128..191, second byte 192..223 */
};

/*
 * Classifies buf[0..len). Never reads past len; a packet too short to tell
 * RTP from RTCP (one byte) is garbage. Says nothing about validity: each
 * protocol's parser still checks the rest.
 */
enum demux_kind demux_classify(const uint8_t *buf, size_t len);
/* A short lower-case name for metrics and logs ("stun", "garbage", ...). */
const char *demux_name(enum demux_kind k);

#endif
