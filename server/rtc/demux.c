#include "demux.h"

/*
 * RFC 7983 section 7 reserves first-byte ranges: 0-3 STUN, 16-19 ZRTP,
 * 20-63 DTLS, 64-79 TURN channels, 128-191 RTP/RTCP. We speak neither ZRTP
 * nor TURN, so those ranges are garbage here.
 */
enum demux_kind demux_classify(const uint8_t *buf, size_t len)
{
	if (len == 0)
		return DEMUX_GARBAGE;
	uint8_t b = buf[0];
	if (b <= 3)
		return DEMUX_STUN;
	if (b >= 20 && b <= 63)
		return DEMUX_DTLS;
	if (b < 128 || b > 191 || len < 2)
		return DEMUX_GARBAGE;
	/*
	 * RFC 5761 section 4: with rtcp-mux, RTCP packet types 192-223 cannot be
	 * RTP payload types 64-95 with the marker bit set, which are therefore
	 * never negotiated.
	 */
	return buf[1] >= 192 && buf[1] <= 223 ? DEMUX_RTCP : DEMUX_RTP;
}

const char *demux_name(enum demux_kind k)
{
	switch (k) {
	case DEMUX_GARBAGE: return "garbage";
	case DEMUX_STUN: return "stun";
	case DEMUX_DTLS: return "dtls";
	case DEMUX_RTP: return "rtp";
	case DEMUX_RTCP: return "rtcp";
	}
	return "unknown";
}
