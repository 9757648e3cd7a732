/*
 * SDP offers as a browser's audio.offer carries them (JSEP, RFC 8829), and
 * the answer written for each accepted one: it must have exactly one m-line
 * per offered section, and every line must be a well-formed "x=..." line, so
 * nothing from the offer (a mid, ufrag or fingerprint) can inject lines.
 */
#include "fuzz.h"
#include "sdp.h"

static void check_answer(const struct sdp_offer *o, const char *out, int n)
{
	if (n < 0 || (size_t)n != strlen(out))
		abort();
	int m_lines = 0;
	for (const char *l = out; *l;) {
		const char *e = strstr(l, "\r\n");
		if (!e || e - l < 2 || l[0] < 'a' || l[0] > 'z' || l[1] != '=' ||
		    memchr(l, '\n', (size_t)(e - l)) || memchr(l, '\r', (size_t)(e - l)))
			abort();
		m_lines += l[0] == 'm';
		l = e + 2;
	}
	if (m_lines != o->n_sections)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SDP_MAX_LEN + 16)
		return 0;
	char *sdp = malloc(size + 1);
	memcpy(sdp, data, size);
	sdp[size] = '\0';
	struct sdp_offer o;
	if (sdp_parse_offer(sdp, size, &o) == SDP_OK) {
		if (o.n_sections > SDP_MAX_SECTIONS || o.audio_index < 0 ||
		    o.audio_index >= o.n_sections)
			abort();
		struct sdp_candidate cands[] = { { "10.213.0.1", 40000, false },
						 { "10.213.0.1", 40443, true } };
		struct sdp_answer a = { .ice_ufrag = "srvU", .ice_pwd = "srvPwdsrvPwdsrvPwdsrvP",
					.fingerprint = "AA:BB", .ssrc = 42, .cname = "rostrum",
					.candidates = cands, .n_candidates = 2, .session_id = 7 };
		char out[8192];
		check_answer(&o, out, sdp_build_answer(&o, &a, out, sizeof out));
	}
	free(sdp);
	return 0;
}
