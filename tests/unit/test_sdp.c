/*
 * SDP: Chromium audio offers read (one audio transceiver; audio beside video
 * and a data channel, with gathered candidates), our ICE-lite answer
 * written, bad offers refused.
 */
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

/*
 * Chromium with a microphone track, a camera transceiver and a data channel,
 * ICE gathering complete (mDNS host, server-reflexive and TCP candidates).
 */
static const char chrome_av_offer[] =
	"v=0\r\n"
	"o=- 8361442157096823427 2 IN IP4 127.0.0.1\r\n"
	"s=-\r\n"
	"t=0 0\r\n"
	"a=group:BUNDLE 0 1 2\r\n"
	"a=extmap-allow-mixed\r\n"
	"a=msid-semantic: WMS b5d0\r\n"
	"m=audio 51724 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\n"
	"c=IN IP4 198.51.100.23\r\n"
	"a=rtcp:9 IN IP4 0.0.0.0\r\n"
	"a=candidate:3340231342 1 udp 2122260223 3b1e3c5a-1f2d-4c7e-9a1b-55c0ff3e9d21.local 51724 "
	"typ host generation 0 network-id 1 network-cost 10\r\n"
	"a=candidate:842163049 1 udp 1686052607 198.51.100.23 51724 typ srflx raddr 0.0.0.0 rport 0 "
	"generation 0 network-id 1 network-cost 10\r\n"
	"a=candidate:2153453738 1 tcp 1518280447 3b1e3c5a-1f2d-4c7e-9a1b-55c0ff3e9d21.local 9 typ "
	"host tcptype active generation 0 network-id 1 network-cost 10\r\n"
	"a=ice-ufrag:Hk3q\r\n"
	"a=ice-pwd:x9YzQ+7bWm/4nTRk2LpSdc0E\r\n"
	"a=ice-options:trickle\r\n"
	"a=fingerprint:sha-256 0F:1E:2D:3C:4B:5A:69:78:87:96:A5:B4:C3:D2:E1:F0:"
	"0f:1e:2d:3c:4b:5a:69:78:87:96:a5:b4:c3:d2:e1:f0\r\n"
	"a=setup:actpass\r\n"
	"a=mid:0\r\n"
	"a=extmap:14/sendrecv urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
	"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
	"a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
	"a=sendonly\r\n"
	"a=msid:b5d0 9f3c2a71-4e55-4b7c-8c1e-2f9d6a0b3c44\r\n"
	"a=rtcp-mux\r\n"
	"a=rtcp-rsize\r\n"
	"a=fmtp:111 minptime=10; useinbandfec=1;stereo=1\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=rtcp-fb:111 transport-cc\r\n"
	"a=rtpmap:63 red/48000/2\r\n"
	"a=fmtp:63 111/111\r\n"
	"a=rtpmap:9 G722/8000\r\n"
	"a=rtpmap:0 PCMU/8000\r\n"
	"a=rtpmap:8 PCMA/8000\r\n"
	"a=rtpmap:13 CN/8000\r\n"
	"a=rtpmap:110 telephone-event/48000\r\n"
	"a=rtpmap:126 telephone-event/8000\r\n"
	"a=ssrc:2873910552 cname:q0Wv1R7oT3s9YhEe\r\n"
	"a=ssrc:2873910552 msid:b5d0 9f3c2a71-4e55-4b7c-8c1e-2f9d6a0b3c44\r\n"
	"a=end-of-candidates\r\n"
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=ice-ufrag:Hk3q\r\n"
	"a=ice-pwd:x9YzQ+7bWm/4nTRk2LpSdc0E\r\n"
	"a=mid:1\r\n"
	"a=recvonly\r\n"
	"a=rtpmap:96 VP8/90000\r\n"
	"a=rtpmap:111 opus/48000/2\r\n"
	"a=extmap:9 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
	"m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
	"c=IN IP4 0.0.0.0\r\n"
	"a=mid:2\r\n"
	"a=sctp-port:5000\r\n"
	"a=max-message-size:262144\r\n";

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

/* Copies a fixture with one substring replaced (the first occurrence), for a damaged variant. */
static const char *edit(const char *base, const char *from, const char *to)
{
	static char buf[8192];
	const char *at = strstr(base, from);
	if (!at)
		return base;
	snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - base), base, to, at + strlen(from));
	return buf;
}

/* Audio beside video and a data channel: only audio is read, the others are rejected in place. */
static void test_multi_section(void)
{
	struct sdp_offer o;
	CHECK(sdp_parse_offer(chrome_av_offer, strlen(chrome_av_offer), &o) == SDP_OK);
	CHECK(o.n_sections == 3 && o.audio_index == 0);
	CHECK_STR(o.sections[1].media, "video");
	CHECK_STR(o.sections[1].mid, "1");
	CHECK_STR(o.sections[2].proto, "UDP/DTLS/SCTP");
	CHECK_STR(o.sections[2].fmt, "webrtc-datachannel");
	CHECK(o.opus_pt == 111 && o.opus_fec && o.opus_stereo && o.opus_minptime == 10);
	CHECK(o.level_ext_id == 14);  /* "14/sendrecv", not the video section's 9 */
	CHECK(o.dir == SDP_SENDONLY && !o.recv_only && o.bundled && o.rtcp_mux);
	CHECK(o.ssrc == 2873910552u && o.end_of_candidates);
	CHECK(o.n_candidates == 3);
	CHECK(o.candidates[0].port == 51724 && !o.candidates[0].tcp &&
	      o.candidates[0].priority == 2122260223u);
	CHECK_STR(o.candidates[0].type, "host");
	CHECK(strstr(o.candidates[0].address, ".local") != NULL);
	CHECK_STR(o.candidates[1].address, "198.51.100.23");
	CHECK_STR(o.candidates[1].type, "srflx");
	CHECK(o.candidates[2].tcp && o.candidates[2].port == 9);
	CHECK(strncmp(o.fingerprint, "0F:1E", 5) == 0);

	struct sdp_candidate cand = { "203.0.113.5", 40000, false };
	struct sdp_answer a = { .ice_ufrag = "srvU", .ice_pwd = "0123456789abcdefghijklmn",
				.fingerprint = "AA:BB", .ssrc = 42, .cname = "rostrum",
				.candidates = &cand, .n_candidates = 1, .session_id = 7 };
	char out[4096];
	int n = sdp_build_answer(&o, &a, out, sizeof out);
	CHECK(n > 0);
	/* One answer m-line per offered one, in order; only audio accepted and bundled. */
	const char *audio = strstr(out, "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
	const char *video = strstr(out, "m=video 0 UDP/TLS/RTP/SAVPF 96\r\n");
	const char *app = strstr(out, "m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n");
	CHECK(audio && video && app && audio < video && video < app);
	CHECK(video && strstr(video, "a=mid:1\r\na=inactive\r\n") == video + strlen("m=video 0 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\n"));
	CHECK(strstr(out, "a=group:BUNDLE 0\r\n") != NULL);
	CHECK(strstr(out, "a=recvonly\r\n") != NULL && strstr(out, "a=sendrecv") == NULL);
	CHECK(strstr(out, "a=extmap:14 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n") != NULL);
	/* Our ICE credentials and candidates sit in the audio section only. */
	CHECK(audio && strstr(out, "a=ice-ufrag:srvU") > audio && strstr(out, "a=ice-ufrag:srvU") < video);
	CHECK(strstr(out, "a=candidate:1 1 udp 2130706431 203.0.113.5 40000 typ host\r\n") < video);
}

/* RFC 3264 section 6.1: each offered direction gets its mirror. */
static void test_directions(void)
{
	static const struct { const char *offered, *answered; enum sdp_dir dir; } cases[] = {
		{ "a=sendrecv", "a=sendrecv\r\n", SDP_SENDRECV },
		{ "a=sendonly", "a=recvonly\r\n", SDP_SENDONLY },
		{ "a=recvonly", "a=sendonly\r\n", SDP_RECVONLY },
		{ "a=inactive", "a=inactive\r\n", SDP_INACTIVE },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		const char *sdp = edit(chrome_offer, "a=sendrecv", cases[i].offered);
		struct sdp_offer o;
		CHECK(sdp_parse_offer(sdp, strlen(sdp), &o) == SDP_OK && o.dir == cases[i].dir);
		CHECK(o.recv_only == (cases[i].dir == SDP_RECVONLY));
		struct sdp_answer a = { .ice_ufrag = "srvU", .ice_pwd = "0123456789abcdefghijklmn",
					.fingerprint = "AA:BB", .ssrc = 1, .cname = "c" };
		char out[4096];
		CHECK(sdp_build_answer(&o, &a, out, sizeof out) > 0);
		CHECK(strstr(out, cases[i].answered) != NULL);
		CHECK(strstr(out, "a=end-of-candidates\r\n") != NULL);
	}
}

/* Damaged offers: each refused with the error that names what is wrong. */
static void test_bad_offers(void)
{
	static const struct { const char *why, *from, *to; int want; } cases[] = {
		{ "opus not on the m-line", "SAVPF 111 63", "SAVPF 63", SDP_E_NO_OPUS },
		{ "opus at another rate", "opus/48000/2", "opus/16000/1", SDP_E_NO_OPUS },
		{ "ufrag too short", "a=ice-ufrag:4ZcD", "a=ice-ufrag:4Zc", SDP_E_NO_ICE },
		{ "ufrag not ice-chars", "a=ice-ufrag:4ZcD", "a=ice-ufrag:4Z;D", SDP_E_NO_ICE },
		{ "pwd too short", "a=ice-pwd:2/1muCWoOi3uLifh0NuRHlt1", "a=ice-pwd:2/1mu", SDP_E_NO_ICE },
		{ "fingerprint not hex", "75:74:5A", "75:74:5G", SDP_E_NO_DTLS },
		{ "sha-1 fingerprint", "sha-256", "sha-1", SDP_E_NO_DTLS },
		{ "no setup, passive", "a=setup:actpass", "a=setup:passive", SDP_E_NO_DTLS },
		{ "mid with a space", "a=mid:0", "a=mid:0 1", SDP_E_SYNTAX },
		{ "video only", "m=audio 9", "m=video 9", SDP_E_NO_AUDIO },
		{ "not version 0", "v=0", "v=1", SDP_E_SYNTAX },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(cases); i++) {
		const char *sdp = edit(chrome_offer, cases[i].from, cases[i].to);
		struct sdp_offer o;
		int rc = sdp_parse_offer(sdp, strlen(sdp), &o);
		if (rc != cases[i].want)
			fprintf(stderr, "%s: got %s\n", cases[i].why, sdp_strerror(rc));
		CHECK(sdp != chrome_offer && rc == cases[i].want);
	}
	/* More m-lines than an answer could mirror. */
	char many[8192];
	size_t n = (size_t)snprintf(many, sizeof many, "%s", chrome_offer);
	for (int i = 0; i < SDP_MAX_SECTIONS; i++)
		n += (size_t)snprintf(many + n, sizeof many - n, "m=video 9 RTP/AVP 96\r\na=mid:v%d\r\n", i);
	struct sdp_offer o;
	CHECK(sdp_parse_offer(many, n, &o) == SDP_E_TOO_MANY);
	/* An embedded NUL is not text. */
	char nul[64] = "v=0\r\ns=-\r\n";
	nul[5] = '\0';
	CHECK(sdp_parse_offer(nul, 12, &o) == SDP_E_SYNTAX);
	char big[SDP_MAX_LEN + 2];
	memset(big, 'a', sizeof big);
	CHECK(sdp_parse_offer(big, sizeof big, &o) == SDP_E_TOO_LONG);
	for (int e = 0; e >= -8; e--)
		CHECK(strcmp(sdp_strerror(e), "unknown SDP error") != 0);
}

/* LF-only lines and session-level ICE and DTLS attributes (Firefox's layout) read the same. */
static void test_layouts(void)
{
	char lf[8192];
	size_t n = 0;
	for (const char *p = chrome_offer; *p; p++)
		if (*p != '\r')
			lf[n++] = *p;
	struct sdp_offer o;
	CHECK(sdp_parse_offer(lf, n, &o) == SDP_OK && o.opus_pt == 111 && o.level_ext_id == 1);
	static const char firefox_like[] =
		"v=0\r\no=mozilla...THIS_IS_SDPARTA-99.0 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
		"a=fingerprint:sha-256 75:74:5A:A6:A4:E5:52:F4:A7:67:4C:01:C7:EE:91:3F:"
		"21:3D:A2:E3:53:7B:6F:30:86:F2:30:AA:65:FB:04:24\r\n"
		"a=group:BUNDLE 0\r\na=ice-options:trickle\r\na=msid-semantic:WMS *\r\n"
		"m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101\r\nc=IN IP4 0.0.0.0\r\n"
		"a=sendrecv\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
		"a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1\r\n"
		"a=ice-pwd:f2b1e4c1c64d42ab6b4e0e1b2dbc1f5e\r\na=ice-ufrag:9c5d3b1a\r\n"
		"a=mid:0\r\na=rtcp-mux\r\na=rtpmap:109 opus/48000/2\r\n"
		"a=setup:actpass\r\na=ssrc:1044321907 cname:{a3b4}\r\n";
	CHECK(sdp_parse_offer(firefox_like, strlen(firefox_like), &o) == SDP_OK);
	CHECK(o.opus_pt == 109 && o.opus_fec && o.opus_stereo && o.opus_minptime == 0);
	CHECK_STR(o.ice_ufrag, "9c5d3b1a");
	CHECK(o.ssrc == 1044321907u);
}

int main(void)
{
	test_protocol_example();
	test_offer_and_answer();
	test_refusals();
	test_multi_section();
	test_directions();
	test_bad_offers();
	test_layouts();
	return check_done();
}
