/*
 * Transcript exports of a realistic journal: sentences of the IGF Rio 2007
 * synthesis paper captioned as if spoken by the participants of the March 2015
 * MAG virtual meeting (names with diacritics), with floor events, written
 * interventions and a second language track. The WebVTT and SRT exports are
 * also parsed by python3-webvtt through check_vtt.py.
 */
#include "check.h"
#include "transcript.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1195034400000LL /* 2007-11-14T10:00:00Z */
#define MAX_PEOPLE 48
#define MAX_SENTENCES 160
#define SENTENCE_MAX 240

struct person {
	char name[96];
	const char *group;
};

static struct person people[MAX_PEOPLE];
static int n_people;
static char *sentences[MAX_SENTENCES];
static int n_sentences;

/* ---- test data ------------------------------------------------------------ */

static const char *source_root(void)
{
	const char *s = getenv("ROSTRUM_SOURCE");
	return s && *s ? s : ".";
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct rs_buf b = { 0 };
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		rs_buf_append(&b, chunk, n);
	fclose(f);
	return b.p;
}

static char *read_data(const char *name)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/../shared/data/%s", source_root(), name);
	char *text = read_file(path);
	if (!text)
		fprintf(stderr, "cannot read %s (set ROSTRUM_SOURCE to the project root)\n", path);
	return text;
}

/* A stakeholder group from the affiliation, by a few telling words. */
static const char *group_of(const char *affiliation)
{
	static const struct {
		const char *word, *group;
	} words[] = {
		{ "Ministry", "government" },      { "Ambassador", "government" },
		{ "Mission", "government" },       { "Government", "government" },
		{ "Regulatory", "government" },    { "Diplomat", "government" },
		{ "Counsellor", "government" },    { "ICANN", "technical_community" },
		{ "Registry", "technical_community" }, { "Network", "technical_community" },
		{ "Number Resource", "technical_community" }, { "Faculty", "academia" },
		{ "Researcher", "academia" },      { "Fellow", "academia" },
		{ "CEO", "private_sector" },       { "Federation", "private_sector" },
		{ "Association", "private_sector" }, { "Facebook", "private_sector" },
		{ "Verizon", "private_sector" },   { "Organization of", "intergovernmental" },
		{ "Programme", "intergovernmental" }, { "Assistant", "intergovernmental" },
	};
	for (size_t i = 0; i < RS_ARRAY_LEN(words); i++)
		if (strstr(affiliation, words[i].word))
			return words[i].group;
	return "civil_society";
}

/* "Mr. Kārkliņš, Jānis<TAB>Ambassador ..." becomes Jānis Kārkliņš (government). */
static void take_person(const char *line)
{
	const char *p = line;
	if (strncmp(p, "Mr. ", 4) == 0 || strncmp(p, "Ms. ", 4) == 0)
		p += 4;
	else
		return;
	const char *tab = strchr(p, '\t');
	const char *comma = strstr(p, ", ");
	if (!tab || !comma || comma > tab || n_people == MAX_PEOPLE)
		return;
	struct person *who = &people[n_people++];
	snprintf(who->name, sizeof who->name, "%.*s %.*s", (int)(tab - comma - 2), comma + 2,
		 (int)(comma - p), p);
	who->group = group_of(tab + 1);
}

static void load_people(void)
{
	char *text = read_data("mag-virtual-meeting-2015-summary.txt");
	CHECK(text != NULL);
	for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
		take_person(line);
	free(text);
}

static void add_sentence(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t'))
		s++, n--;
	if (n < 12 || n_sentences == MAX_SENTENCES)
		return;
	while (n > SENTENCE_MAX) { /* long sentences are captioned in several lines */
		size_t cut = SENTENCE_MAX;
		while (cut > 0 && s[cut] != ' ')
			cut--;
		add_sentence(s, cut);
		s += cut + 1;
		n -= cut + 1;
	}
	if (n_sentences < MAX_SENTENCES)
		sentences[n_sentences++] = rs_strndup(s, n);
}

/* Numbered paragraphs ("12. The ...") cut at ". " before a capital letter. */
static void take_paragraph(const char *line)
{
	size_t digits = strspn(line, "0123456789");
	if (digits == 0 || strncmp(line + digits, ". ", 2) != 0)
		return;
	const char *s = line + digits + 2;
	for (const char *p = s; *p; p++)
		if (p[0] == '.' && p[1] == ' ' && p[2] >= 'A' && p[2] <= 'Z') {
			add_sentence(s, (size_t)(p + 1 - s));
			s = p + 2;
		}
	add_sentence(s, strlen(s));
}

static void load_sentences(void)
{
	char *text = read_data("igf-rio-2007-synthesis-paper.txt");
	CHECK(text != NULL);
	for (char *line = text ? strtok(text, "\r\n") : NULL; line; line = strtok(NULL, "\r\n"))
		take_paragraph(line);
	free(text);
}

static const struct person *find_person(const char *name)
{
	for (int i = 0; i < n_people; i++)
		if (strcmp(people[i].name, name) == 0)
			return &people[i];
	return NULL;
}

/* ---- the journal ------------------------------------------------------------ */

/* What the vtt and srt exports of one track must contain. */
struct cue {
	int64_t start, end;
	char voice[128];
	const char *text;
};

struct journal {
	json_t *records;
	struct cue en[MAX_SENTENCES + 8];
	int n_en;
	int n_fr, n_captions, n_floor, n_written, n_joins, n_leaves;
};

static json_t *speaker_json(const struct person *p)
{
	return p ? json_pack("{s:s, s:s}", "name", p->name, "group", p->group) : json_null();
}

static void add(struct journal *j, json_t *rec)
{
	json_array_append_new(j->records, rec);
}

static void add_caption(struct journal *j, int64_t t, int64_t t0, const char *lang,
			const char *text, const struct person *sp)
{
	json_t *rec = json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:s, s:s}", "kind", "caption",
				"t", (json_int_t)t, "seq", (json_int_t)(j->n_captions + 1), "lang",
				lang, "text", text, "speaker", speaker_json(sp), "captioner",
				"Ana Neves", "captioner_id", "p3");
	if (t0)
		json_object_set_new(rec, "t0", json_integer(t0));
	add(j, rec);
	j->n_captions++;
	if (strcmp(lang, "en") != 0) {
		j->n_fr++;
		return;
	}
	struct cue *c = &j->en[j->n_en++];
	c->start = (t0 ? t0 : t) - T0;
	c->text = text;
	if (sp)
		snprintf(c->voice, sizeof c->voice, "%s (%s)", sp->name, sp->group);
	else
		c->voice[0] = '\0';
}

static void add_floor(struct journal *j, int64_t t, const char *event, const struct person *p,
		      int request)
{
	add(j, json_pack("{s:s, s:I, s:s, s:s, s:s, s:i}", "kind", "floor", "t", (json_int_t)t,
			 "event", event, "name", p->name, "group", p->group, "request", request));
	j->n_floor++;
}

static void add_written(struct journal *j, int64_t t, const char *event, const struct person *p,
			const char *text)
{
	add(j, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "kind", "written", "t", (json_int_t)t,
			 "event", event, "name", p->name, "group", p->group, "text", text));
	j->n_written++;
}

/* Records a well-formed exporter must survive: each is skipped and counted. */
static void add_malformed(struct journal *j)
{
	add(j, json_integer(5));
	add(j, json_pack("{s:s}", "kind", "caption"));
	add(j, json_pack("{s:s, s:s, s:s}", "kind", "caption", "t", "soon", "text", "x"));
	add(j, json_pack("{s:s, s:I}", "kind", "caption", "t", (json_int_t)T0 + 5));
	add(j, json_pack("{s:s, s:I, s:s}", "kind", "poll", "t", (json_int_t)T0 + 5, "q", "?"));
}

static const char *const french[] = {
	"Le Forum est modeste dans ses moyens, mais pas dans ses ambitions.",
	"La coopération entre les parties prenantes reste essentielle.",
	"Merci, Monsieur le Président.",
};

/* Speakers take the floor in turn; every sentence becomes one caption. */
static void build_journal(struct journal *j)
{
	memset(j, 0, sizeof *j);
	j->records = json_array();
	add(j, json_pack("{s:s, s:I, s:s, s:s, s:I, s:[s, s]}", "kind", "session", "t",
			 (json_int_t)T0, "room", "igf-2007-rio", "title",
			 "IGF 2007 — Critical Internet Resources --> Access", "started_at",
			 (json_int_t)T0, "langs", "en", "fr"));
	for (int i = 0; i < n_people; i++) {
		add(j, json_pack("{s:s, s:I, s:s, s:s, s:s}", "kind", "join", "t",
				 (json_int_t)(T0 + i * 50), "name", people[i].name, "role",
				 i == 0 ? "moderator" : "participant", "group", people[i].group));
		j->n_joins++;
	}
	add_malformed(j);
	int64_t t = T0 + 10000;
	add_caption(j, t, 0, "en", "[Applause] Good morning & welcome <everyone> --> please sit.",
		    NULL);
	const struct person *sp = NULL;
	for (int i = 0; i < n_sentences; i++) {
		if (i % 7 == 0) {
			if (sp)
				add_floor(j, t += 500, "released", sp, i);
			sp = &people[(i / 7) % n_people];
			add_floor(j, t += 300, "requested", sp, i + 1);
			add_floor(j, t += 700, "granted", sp, i + 1);
		}
		t += 2000 + (i * 7919) % 9000; /* some gaps exceed the 7 s cue limit */
		add_caption(j, t, i % 3 == 0 ? t - 1500 : 0, "en", sentences[i], sp);
		if (i % 40 == 20)
			add_caption(j, t + 100, 0, "fr", french[(i / 40) % 3], sp);
		if (i == 30)
			add_written(j, t + 200, "submitted", &people[n_people - 1],
				    "How will remote hubs be supported in 2008?");
		if (i == 45)
			add_written(j, t + 200, "read", &people[n_people - 1],
				    "How will remote hubs be supported in 2008?");
	}
	add_floor(j, t += 1000, "revoked", sp, 999);
	add(j, json_pack("{s:s, s:I, s:s, s:s}", "kind", "leave", "t", (json_int_t)t + 10, "name",
			 people[1].name, "role", "participant"));
	j->n_leaves++;
	for (int i = 0; i < j->n_en; i++) {
		int64_t end = j->en[i].start + TRANSCRIPT_MAX_CUE_MS;
		if (i + 1 < j->n_en && j->en[i + 1].start < end)
			end = j->en[i + 1].start;
		j->en[i].end = end;
	}
}

/* ---- running check_vtt.py ------------------------------------------------------ */

static char *write_temp(const char *suffix, const char *text)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/rostrum-transcript-XXXXXX%s", dir && *dir ? dir : "/tmp",
		 suffix);
	int fd = mkstemps(path, (int)strlen(suffix));
	CHECK(fd >= 0);
	if (fd < 0)
		return NULL;
	size_t n = strlen(text);
	CHECK(write(fd, text, n) == (ssize_t)n);
	close(fd);
	return rs_strdup(path);
}

static char *expected_json(const struct journal *j)
{
	json_t *cues = json_array();
	for (int i = 0; i < j->n_en; i++) {
		const struct cue *c = &j->en[i];
		json_array_append_new(cues, json_pack("{s:I, s:I, s:o, s:s}", "start",
						      (json_int_t)c->start, "end",
						      (json_int_t)c->end, "voice",
						      c->voice[0] ? json_string(c->voice)
								  : json_null(),
						      "text", c->text));
	}
	json_t *doc = json_pack("{s:o}", "cues", cues);
	char *s = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	return s;
}

/* Runs check_vtt.py on export text; a missing python3-webvtt is reported, not failed. */
static void python_check(const char *flag, const char *suffix, const char *text,
			 const struct journal *j)
{
	if (access("/usr/bin/python3", X_OK) != 0) {
		printf("skip: /usr/bin/python3 not found, %s export not parsed\n", suffix);
		return;
	}
	char *exp = expected_json(j);
	char *file = write_temp(suffix, text);
	char *expfile = write_temp(".json", exp);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/unit/check_vtt.py' %s '%s' '%s'",
		 source_root(), flag, file ? file : "", expfile ? expfile : "");
	int st = system(cmd);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (rc == 77)
		printf("skip: python3-webvtt missing, %s export not parsed\n", suffix);
	else
		CHECK(rc == 0);
	if (file)
		unlink(file);
	if (expfile)
		unlink(expfile);
	free(file);
	free(expfile);
	free(exp);
}

/* ---- the exports ------------------------------------------------------------------ */

static char *export(const struct journal *j, enum transcript_format fmt, const char *lang,
		    struct transcript_stats *st)
{
	struct transcript_opts o = { .lang = lang };
	char *out = NULL;
	size_t len = 0;
	CHECK(transcript_export(j->records, fmt, &o, &out, &len, st) == TRANSCRIPT_OK);
	CHECK(out && strlen(out) == len && rs_utf8_valid(out, len));
	return out;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_data(void)
{
	CHECK(n_people >= 30);
	CHECK(n_sentences >= 100);
	const struct person *chair = find_person("Jānis Kārkliņš");
	CHECK(chair && strcmp(chair->group, "government") == 0);
	CHECK(find_person("María Victoria Caballero Romero") != NULL);
	CHECK(find_person("Juan Alfonso Fernández González") != NULL);
	CHECK(find_person("Adrián Quesada Rodríguez") != NULL);
}

static void test_vtt(const struct journal *j)
{
	struct transcript_stats st;
	char *vtt = export(j, TRANSCRIPT_VTT, NULL, &st);
	CHECK(strncmp(vtt, "WEBVTT\n\n", 8) == 0);
	CHECK(st.captions == (size_t)j->n_en); /* default track: the room's first language */
	CHECK(st.skipped == 4);
	CHECK(strstr(vtt, "\n1\n00:00:10.000 --> 00:00:") != NULL);
	CHECK(strstr(vtt, "<v Jānis Kārkliņš (government)>") != NULL);
	CHECK(strstr(vtt, "Good morning &amp; welcome &lt;everyone&gt; --&gt; please sit.") != NULL);
	CHECK(strstr(vtt, "Title: IGF 2007 — Critical Internet Resources -- > Access\n") != NULL);
	CHECK(strstr(vtt, "Le Forum") == NULL);
	CHECK(count(vtt, " --> ") == j->n_en);
	python_check("", ".vtt", vtt, j);
	free(vtt);

	vtt = export(j, TRANSCRIPT_VTT, "fr", &st);
	CHECK(st.captions == (size_t)j->n_fr && j->n_fr >= 3);
	CHECK(strstr(vtt, "La coopération") != NULL && strstr(vtt, "Good morning") == NULL);
	free(vtt);
	vtt = export(j, TRANSCRIPT_VTT, "*", &st);
	CHECK(st.captions == (size_t)j->n_captions);
	CHECK(strstr(vtt, "<lang fr>Le Forum est modeste") != NULL);
	CHECK(strstr(vtt, "<lang en>") != NULL);
	free(vtt);
	vtt = export(j, TRANSCRIPT_VTT, "EN", &st); /* ranges match case-insensitively */
	CHECK(st.captions == (size_t)j->n_en);
	free(vtt);
}

static void test_srt(const struct journal *j)
{
	struct transcript_stats st;
	char *srt = export(j, TRANSCRIPT_SRT, NULL, &st);
	CHECK(strncmp(srt, "1\n00:00:10,000 --> 00:00:", 25) == 0);
	CHECK(st.captions == (size_t)j->n_en);
	CHECK(strstr(srt, "\nJānis Kārkliņš (government): ") != NULL);
	CHECK(strstr(srt, "Good morning & welcome <everyone> -- > please") != NULL); /* no markup */
	char last[32];
	snprintf(last, sizeof last, "\n\n%d\n", j->n_en);
	CHECK(strstr(srt, last) != NULL);
	python_check("--srt", ".srt", srt, j);
	free(srt);
}

static void test_txt(const struct journal *j)
{
	struct transcript_stats st;
	char *txt = export(j, TRANSCRIPT_TXT, NULL, &st);
	CHECK(st.captions == (size_t)j->n_captions); /* every language in a transcript */
	const char *head = "Transcript: IGF 2007 — Critical Internet Resources --> Access\n"
			   "Room: igf-2007-rio\nStarted: 2007-11-14 10:00:00 UTC\n"
			   "Languages: en, fr\nParticipants joined: ";
	CHECK(strncmp(txt, head, strlen(head)) == 0);
	CHECK(strstr(txt, "\n[00:00:10] (en) [Applause] Good morning & welcome") != NULL);
	CHECK(strstr(txt, "] [Floor given to Jānis Kārkliņš (government)]") != NULL);
	CHECK(strstr(txt, "] (en) Jānis Kārkliņš (government): ") != NULL);
	CHECK(strstr(txt, " asked for the floor]") != NULL);
	CHECK(strstr(txt, " released the floor]") != NULL);
	CHECK(strstr(txt, "[Floor taken back from ") != NULL);
	CHECK(strstr(txt, "[Written intervention from ") != NULL);
	CHECK(strstr(txt, ", read out: \"How will remote hubs be supported in 2008?\"]") != NULL);
	CHECK(strstr(txt, "(fr) ") != NULL);
	CHECK(strstr(txt, "\n[00:00:0") == NULL); /* joins (in the first seconds) only counted */
	/* A speaker's consecutive captions form one paragraph: fewer lines than captions. */
	int lines = count(txt, "\n[");
	CHECK(lines < j->n_captions + j->n_floor + j->n_written);
	CHECK(lines > j->n_floor);
	free(txt);
	txt = export(j, TRANSCRIPT_TXT, "fr", &st);
	CHECK(st.captions == (size_t)j->n_fr);
	free(txt);
}

static void test_json(const struct journal *j)
{
	struct transcript_stats st;
	char *s = export(j, TRANSCRIPT_JSON, NULL, &st);
	json_error_t je;
	json_t *doc = json_loads(s, 0, &je);
	CHECK(doc != NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "room")), "igf-2007-rio");
	CHECK_STR(json_string_value(json_object_get(doc, "format")), "rostrum.transcript");
	CHECK(json_integer_value(json_object_get(doc, "started_at")) == T0);
	CHECK(json_array_size(json_object_get(doc, "languages")) == 2);
	json_t *caps = json_object_get(doc, "captions");
	CHECK(json_array_size(caps) == (size_t)j->n_captions);
	CHECK(json_array_size(json_object_get(doc, "floor")) == (size_t)j->n_floor);
	CHECK(json_array_size(json_object_get(doc, "written")) == (size_t)j->n_written);
	CHECK(json_array_size(json_object_get(doc, "participants")) ==
	      (size_t)(j->n_joins + j->n_leaves));
	json_t *first = json_array_get(caps, 0);
	CHECK(json_integer_value(json_object_get(first, "offset_ms")) == 10000);
	CHECK(json_is_null(json_object_get(first, "speaker")));
	json_t *second = json_array_get(caps, 1);
	CHECK_STR(json_string_value(json_object_get(json_object_get(second, "speaker"), "name")),
		  "Jānis Kārkliņš");
	CHECK(json_object_get(second, "kind") == NULL);
	json_decref(doc);
	free(s);
}

static void test_edges(void)
{
	char *out = (char *)1;
	json_t *notarr = json_object();
	CHECK(transcript_export(notarr, TRANSCRIPT_VTT, NULL, &out, NULL, NULL) ==
	      TRANSCRIPT_E_NOT_ARRAY);
	CHECK(out == NULL);
	json_decref(notarr);
	json_t *empty = json_array();
	CHECK(transcript_export(empty, (enum transcript_format)9, NULL, &out, NULL, NULL) ==
	      TRANSCRIPT_E_FORMAT);
	static const char *const bad_ranges[] = { "e n", "", "en-", "-en", "abcdefghi", "en_US" };
	for (size_t i = 0; i < RS_ARRAY_LEN(bad_ranges); i++) {
		struct transcript_opts o = { .lang = bad_ranges[i] };
		CHECK(transcript_export(empty, TRANSCRIPT_SRT, &o, &out, NULL, NULL) ==
		      TRANSCRIPT_E_LANG);
	}
	/* An empty journal is still a valid file of each kind. */
	CHECK(transcript_export(empty, TRANSCRIPT_VTT, NULL, &out, NULL, NULL) == TRANSCRIPT_OK);
	CHECK(strncmp(out, "WEBVTT\n\nNOTE\n", 13) == 0);
	free(out);
	CHECK(transcript_export(empty, TRANSCRIPT_SRT, NULL, &out, NULL, NULL) == TRANSCRIPT_OK);
	CHECK_STR(out, "");
	free(out);
	CHECK(transcript_export(empty, TRANSCRIPT_JSON, NULL, &out, NULL, NULL) == TRANSCRIPT_OK);
	json_t *doc = json_loads(out, 0, NULL);
	CHECK(doc && json_array_size(json_object_get(doc, "captions")) == 0);
	json_decref(doc);
	free(out);
	json_decref(empty);
	/* Cue ends: the next caption, the max_cue_ms limit, and never at or before the start. */
	json_t *recs = json_pack("[{s:s, s:I, s:s}, {s:s, s:I, s:s}, {s:s, s:I, s:s}]", "kind",
				 "caption", "t", (json_int_t)T0, "text", "a", "kind", "caption", "t",
				 (json_int_t)T0, "text", "b", "kind", "caption", "t",
				 (json_int_t)T0 + 2500, "text", "c");
	struct transcript_opts o = { .max_cue_ms = 2000 };
	CHECK(transcript_export(recs, TRANSCRIPT_SRT, &o, &out, NULL, NULL) == TRANSCRIPT_OK);
	CHECK_STR(out, "1\n00:00:00,000 --> 00:00:02,000\na\n\n"
		       "2\n00:00:00,000 --> 00:00:02,000\nb\n\n"
		       "3\n00:00:02,500 --> 00:00:04,500\nc\n\n");
	free(out);
	json_decref(recs);
	/* Names and lists. */
	static const struct {
		const char *name;
		enum transcript_format fmt;
	} names[] = { { "vtt", TRANSCRIPT_VTT }, { "srt", TRANSCRIPT_SRT },
		      { "txt", TRANSCRIPT_TXT }, { "json", TRANSCRIPT_JSON } };
	for (size_t i = 0; i < RS_ARRAY_LEN(names); i++) {
		enum transcript_format f;
		CHECK(transcript_format_parse(names[i].name, &f) && f == names[i].fmt);
		CHECK_STR(transcript_format_name(f), names[i].name);
	}
	enum transcript_format f;
	CHECK(!transcript_format_parse("VTT", &f) && !transcript_format_parse(NULL, &f));
	CHECK_STR(transcript_content_type(TRANSCRIPT_VTT), "text/vtt; charset=utf-8");
	CHECK_STR(transcript_strerror(TRANSCRIPT_E_LANG),
		  "the language selection is not a language tag or '*'");
}

/*
 * Open lines of captioning software: the last caption_open of a captioner
 * with nothing after it from the same captioner is shown, without speaker,
 * marked open in JSON; a grown line shows once; a completed or erased one
 * not at all.
 */
static void test_open_lines(void)
{
	json_t *recs = json_pack(
		"[{s:s, s:I, s:s, s:s},"
		" {s:s, s:I, s:s, s:s, s:s},"
		" {s:s, s:I, s:s, s:s, s:s},"
		" {s:s, s:I, s:s, s:s, s:s},"
		" {s:s, s:I, s:s, s:s, s:s},"
		" {s:s, s:I, s:s, s:s, s:s},"
		" {s:s, s:I, s:s, s:s, s:s},"
		" {s:s, s:I, s:s, s:s}]",
		"kind", "session", "t", (json_int_t)T0, "room", "r", "title", "Open lines",
		"kind", "caption_open", "t", (json_int_t)T0 + 1000, "captioner_id", "t:A", "text",
		"Good", "lang", "en",
		"kind", "caption_open", "t", (json_int_t)T0 + 2000, "captioner_id", "t:A", "text",
		"Good morning to all", "lang", "en",
		"kind", "caption_open", "t", (json_int_t)T0 + 2500, "captioner_id", "t:B", "text",
		"Completed later", "lang", "en",
		"kind", "caption", "t", (json_int_t)T0 + 3000, "captioner_id", "t:B", "text",
		"Completed later.", "lang", "en",
		"kind", "caption_open", "t", (json_int_t)T0 + 3500, "captioner_id", "t:C", "text",
		"typo", "lang", "en",
		"kind", "caption_open", "t", (json_int_t)T0 + 3600, "captioner_id", "t:C", "text",
		"", "lang", "en",
		"kind", "caption_open", "t", (json_int_t)T0 + 3700, "text", "nobody's", "lang", "en");
	char *out;
	struct transcript_stats st;
	CHECK(transcript_export(recs, TRANSCRIPT_TXT, NULL, &out, NULL, &st) == TRANSCRIPT_OK);
	CHECK(st.captions == 2);
	CHECK(strstr(out, "[00:00:02] Good morning to all Completed later.") != NULL);
	CHECK(count(out, "Good") == 1 && strstr(out, "typo") == NULL);
	CHECK(strstr(out, "nobody") == NULL && strstr(out, "Completed later\n") == NULL);
	free(out);
	CHECK(transcript_export(recs, TRANSCRIPT_SRT, NULL, &out, NULL, NULL) == TRANSCRIPT_OK);
	CHECK(strstr(out, "1\n00:00:02,000 --> 00:00:03,000\nGood morning to all\n") != NULL);
	free(out);
	CHECK(transcript_export(recs, TRANSCRIPT_JSON, NULL, &out, NULL, NULL) == TRANSCRIPT_OK);
	json_t *doc = json_loads(out, 0, NULL);
	json_t *caps = json_object_get(doc, "captions");
	CHECK(json_array_size(caps) == 2);
	json_t *open = json_array_get(caps, 0);
	CHECK(json_is_true(json_object_get(open, "open")));
	CHECK(json_is_null(json_object_get(open, "speaker")));
	CHECK(json_object_get(json_array_get(caps, 1), "open") == NULL);
	json_decref(doc);
	free(out);
	json_decref(recs);
}

struct pieces {
	struct rs_buf all;
	size_t n, max, stop_after;
};

static int piece_sink(void *ctx, const char *bytes, size_t len)
{
	struct pieces *p = ctx;
	CHECK(len > 0);
	rs_buf_append(&p->all, bytes, len);
	p->n++;
	if (len > p->max)
		p->max = len;
	return p->stop_after && p->n >= p->stop_after;
}

/*
 * The two-pass API, fed record texts as the journal holds them: the output
 * comes in pieces of about TRANSCRIPT_CHUNK bytes, the same bytes as the
 * whole export, and a sink that stops ends the rendering with an error.
 */
static void test_streaming(const struct journal *j)
{
	static const enum transcript_format fmts[] = { TRANSCRIPT_VTT, TRANSCRIPT_SRT,
						       TRANSCRIPT_TXT, TRANSCRIPT_JSON };
	json_t *big = json_array();
	for (int rep = 0; rep < 40; rep++)
		json_array_extend(big, j->records);
	for (size_t f = 0; f < RS_ARRAY_LEN(fmts); f++) {
		char *whole;
		size_t whole_len;
		CHECK(transcript_export(big, fmts[f], NULL, &whole, &whole_len, NULL) == TRANSCRIPT_OK);
		transcript *t;
		CHECK(transcript_create(fmts[f], NULL, &t) == TRANSCRIPT_OK);
		for (size_t i = 0; i < json_array_size(big); i++) {
			char *text = json_dumps(json_array_get(big, i), JSON_COMPACT);
			if (text)
				transcript_add(t, text, strlen(text));
			else
				transcript_add(t, "[1,", 3); /* not an object: counted, as a journal's would be */
			free(text);
		}
		transcript_add(t, "{\"kind\":", 8);
		struct pieces p = { 0 };
		struct transcript_stats st;
		CHECK(transcript_render(t, piece_sink, &p, &st) == TRANSCRIPT_OK);
		transcript_destroy(t);
		CHECK(p.all.len == whole_len && memcmp(p.all.p, whole, whole_len) == 0);
		CHECK(whole_len < 3 * TRANSCRIPT_CHUNK || p.n > whole_len / (2 * TRANSCRIPT_CHUNK));
		CHECK(p.max < TRANSCRIPT_CHUNK + 16384);
		free(p.all.p);
		free(whole);

		CHECK(transcript_create(fmts[f], NULL, &t) == TRANSCRIPT_OK);
		for (size_t i = 0; i < json_array_size(big); i++)
			transcript_add_json(t, json_array_get(big, i));
		struct pieces stop = { .stop_after = 1 };
		int rc = transcript_render(t, piece_sink, &stop, NULL);
		CHECK(rc == TRANSCRIPT_E_SINK || whole_len <= TRANSCRIPT_CHUNK);
		CHECK(stop.n == 1);
		transcript_destroy(t);
		free(stop.all.p);
	}
	json_decref(big);
	transcript *t;
	CHECK(transcript_create((enum transcript_format)7, NULL, &t) == TRANSCRIPT_E_FORMAT && !t);
	struct transcript_opts o = { .lang = "e n" };
	CHECK(transcript_create(TRANSCRIPT_TXT, &o, &t) == TRANSCRIPT_E_LANG && !t);
}

int main(void)
{
	load_people();
	load_sentences();
	test_data();
	test_edges();
	test_open_lines();
	if (n_people > 0 && n_sentences > 0) {
		struct journal j;
		build_journal(&j);
		test_vtt(&j);
		test_srt(&j);
		test_txt(&j);
		test_json(&j);
		test_streaming(&j);
		json_decref(j.records);
	}
	for (int i = 0; i < n_sentences; i++)
		free(sentences[i]);
	return check_done();
}
