/* SDP: a Chromium audio offer read, our ICE-lite answer written, bad offers refused. */
#include "check.h"
#include "sdp.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shape of what Chromium sends for one audio transceiver (unified plan). */
static const char chrome_offer[] =
	"v=0\r\n"
	"o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS 7a3f\r\n"
	"m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:4ZcD\r\n"
	"a=ice-pwd:2/1muCWoOi3uLifh0NuRHlt1\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 75:74:5A:A6:A4:E5:52:F4:A7:67:4C:01:C7:EE:91:3F:"
	"21:3D:A2:E3:53:7B:6F:30:86:F2:30:AA:65:FB:04:24\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
	"a=sendrecv\r\n"
	"a=msid:7a3f 0c1c5c2b-d0a4-4c53-8d8a-cb7e1b5a5e7b\r\n"
	"a=rtcp-mux\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=rtcp-fb:111 transport-cc\r\n"
	"a=fmtp:111 minptime=10;useinbandfec=1\r\n"
	"a=rtpmap:63 red/48000/2\r\n"
	"a=fmtp:63 111/111\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:13 CN/8000\r\n"
	"a=rtpmap:110 telephone-event/48000\r\n"
	"a=rtpmap:126 telephone-event/8000\r\n"
	"a=ssrc:1793412467 cname:Cm2nQ8uYW5fB1dPX\r\n"
	"a=ssrc:1793412467 msid:7a3f 0c1c5c2b-d0a4-4c53-8d8a-cb7e1b5a5e7b\r\n";

static void test_offer_and_answer(void)
{
	struct sdp_offer o;
	CHECK(sdp_parse_offer(chrome_offer, strlen(chrome_offer), &o) == SDP_OK);
	CHECK(o.opus_pt == 111 && o.level_ext_id == 1 && o.rtcp_mux && !o.recv_only);
	CHECK_STR(o.ice_ufrag, "4ZcD");
	CHECK_STR(o.ice_pwd, "2/1muCWoOi3uLifh0NuRHlt1");
	CHECK_STR(o.setup, "actpass");
	CHECK_STR(o.mid, "0");
	CHECK(o.ssrc == 1793412467u);
	CHECK(strncmp(o.fingerprint, "75:74:5A", 8) == 0);
	struct sdp_candidate cands[] = { { "10.213.0.1", 40000, false },
					 { "10.213.0.1", 40443, true } };
	struct sdp_answer a = { .ice_ufrag = "srvU", .ice_pwd = "0123456789abcdefghijklmn",
				.fingerprint = "AA:BB", .ssrc = 42, .cname = "rostrum",
				.candidates = cands, .n_candidates = 2, .session_id = 7 };
	char out[4096];
	int n = sdp_build_answer(&o, &a, out, sizeof out);
	CHECK(n > 0 && (size_t)n == strlen(out));
	static const char *const want[] = {
		"v=0\r\n", "a=ice-lite\r\n", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n",
		"a=ice-ufrag:srvU\r\n", "a=setup:passive\r\n", "a=mid:0\r\n", "a=group:BUNDLE 0\r\n",
		"a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n", "a=sendrecv\r\n",
		"a=rtcp-mux\r\n", "a=rtpmap:111 opus/48000/2\r\n", "a=ssrc:42 cname:rostrum\r\n",
		"udp 2130706431 10.213.0.1 40000 typ host\r\n", "10.213.0.1 40443 typ host tcptype passive\r\n",
		"a=end-of-candidates\r\n" };
	for (size_t i = 0; i < RS_ARRAY_LEN(want); i++) {
		if (!strstr(out, want[i]))
			fprintf(stderr, "answer lacks %s", want[i]);
		CHECK(strstr(out, want[i]) != NULL);
	}
	CHECK(strstr(out, "G722") == NULL && strstr(out, "a=rtpmap:63") == NULL);
	/* The answer reads back as a description with our credentials. */
	struct sdp_offer back;
	CHECK(sdp_parse_offer(out, (size_t)n, &back) == SDP_E_NO_DTLS); /* fingerprint "AA:BB" is short */
	CHECK(sdp_build_answer(&o, &a, out, 100) == SDP_E_NO_SPACE);
}

static void test_refusals(void)
{
	struct sdp_offer o;
	char buf[8192];
	CHECK(sdp_parse_offer("hello", 5, &o) == SDP_E_SYNTAX);
	snprintf(buf, sizeof buf, "%s", chrome_offer);
	char *m = strstr(buf, "m=audio 9");
	m[8] = '0'; /* port 0: a rejected section */
	CHECK(sdp_parse_offer(buf, strlen(buf), &o) == SDP_E_NO_AUDIO);
	snprintf(buf, sizeof buf, "%s", chrome_offer);
	memcpy(strstr(buf, "opus/48000/2"), "OPUZ", 4);
	CHECK(sdp_parse_offer(buf, strlen(buf), &o) == SDP_E_NO_OPUS);
	snprintf(buf, sizeof buf, "%s", chrome_offer);
	memcpy(strstr(buf, "a=ice-pwd:"), "a=ice-pwX", 9);
	CHECK(sdp_parse_offer(buf, strlen(buf), &o) == SDP_E_NO_ICE);
	snprintf(buf, sizeof buf, "%s", chrome_offer);
	memcpy(strstr(buf, "setup:actpass"), "setup:passive", 13);
	CHECK(sdp_parse_offer(buf, strlen(buf), &o) == SDP_E_NO_DTLS);
	snprintf(buf, sizeof buf, "%s", chrome_offer);
	memcpy(strstr(buf, "a=sendrecv"), "a=recvonly", 10);
	CHECK(sdp_parse_offer(buf, strlen(buf), &o) == SDP_OK && o.recv_only);
	/* Every truncation is read without harm. */
	for (size_t cut = 0; cut < strlen(chrome_offer); cut += 7)
		(void)!sdp_parse_offer(chrome_offer, cut, &o);
	CHECK(1);
}

/* The protocol's example offer is one the server accepts. */
static void test_protocol_example(void)
{
	const char *src = getenv("ROSTRUM_SOURCE");
	char path[1024];
	snprintf(path, sizeof path, "%s/protocol/examples/client.audio.offer.json", src ? src : ".");
	json_t *ex = json_load_file(path, 0, NULL);
	const char *sdp = json_string_value(json_object_get(ex, "sdp"));
	struct sdp_offer o;
	CHECK(sdp && sdp_parse_offer(sdp, strlen(sdp), &o) == SDP_OK && o.recv_only);
	json_decref(ex);
}

int main(void)
{
	test_protocol_example();
	test_offer_and_answer();
	test_refusals();
	return check_done();
}
