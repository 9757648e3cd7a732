/*
 * resume: secrets bound to room and membership, single use, forgeries and
 * look-alikes refused, grace periods on fake time, memberships restored from
 * their journaled check values.
 */
#include "check.h"
#include "resume.h"

#include <string.h>

static const uint8_t server_secret[32] = "0123456789abcdef0123456789abcde";

static void nonce_of(int k, uint8_t n[RESUME_NONCE_LEN])
{
	for (int i = 0; i < RESUME_NONCE_LEN; i++)
		n[i] = (uint8_t)(k * 31 + i);
}

static void issue_verify(void)
{
	resume_table *t = resume_create(server_secret, sizeof server_secret, 120000);
	char s1[RESUME_SECRET_MAX + 1], c1[RESUME_CHECK_HEX + 1];
	uint8_t n[RESUME_NONCE_LEN];
	nonce_of(1, n);
	CHECK(resume_issue(t, "plenary", 7, n, s1, c1) == RESUME_OK);
	CHECK(strncmp(s1, "rs1.7.", 6) == 0 && strlen(s1) <= RESUME_SECRET_MAX);
	CHECK(strlen(c1) == RESUME_CHECK_HEX);
	uint32_t pid = 0;
	CHECK(resume_verify(t, "plenary", s1, &pid) == RESUME_OK && pid == 7);
	/* Bound to the room: the same secret for another room is refused. */
	CHECK(resume_verify(t, "other", s1, &pid) == RESUME_E_FORGED);
	/* Bound to the pid: another pid with the same nonce and MAC is forged. */
	char s2[RESUME_SECRET_MAX + 1];
	memcpy(s2, s1, sizeof s2);
	s2[4] = '8';
	CHECK(resume_verify(t, "plenary", s2, &pid) == RESUME_E_FORGED);
	/* One flipped digit of the MAC. */
	memcpy(s2, s1, sizeof s2);
	size_t last = strlen(s2) - 1;
	s2[last] = s2[last] == '0' ? '1' : '0';
	CHECK(resume_verify(t, "plenary", s2, &pid) == RESUME_E_FORGED);
	/* Another server's secret. */
	uint8_t other[32] = { 1 };
	resume_table *u = resume_create(other, sizeof other, 120000);
	CHECK(resume_verify(u, "plenary", s1, &pid) == RESUME_E_FORGED);
	resume_destroy(u);
	/* Single use: a resume issues a new secret and the old one is used. */
	char s3[RESUME_SECRET_MAX + 1], c3[RESUME_CHECK_HEX + 1];
	nonce_of(2, n);
	CHECK(resume_issue(t, "plenary", 7, n, s3, c3) == RESUME_OK);
	CHECK(strcmp(s1, s3) != 0 && strcmp(c1, c3) != 0);
	CHECK(resume_verify(t, "plenary", s1, &pid) == RESUME_E_USED);
	CHECK(resume_verify(t, "plenary", s3, &pid) == RESUME_OK);
	/* A tag rides along with the membership (the hub keeps the join token's id there). */
	CHECK_STR(resume_tag(t, 7), "");
	resume_set_tag(t, 7, "abcdefghijklmnopqrstuv");
	CHECK_STR(resume_tag(t, 7), "abcdefghijklmnopqrstuv");
	CHECK_STR(resume_tag(t, 99), "");
	/* Gone once the member left. */
	resume_forget(t, 7);
	CHECK(resume_verify(t, "plenary", s3, &pid) == RESUME_E_GONE);
	CHECK_STR(resume_code(RESUME_E_GONE), "resume_expired");
	CHECK_STR(resume_code(RESUME_E_USED), "resume_invalid");
	CHECK_STR(resume_code(RESUME_E_FORGED), "resume_invalid");
	resume_destroy(t);
}

static void malformed(void)
{
	resume_table *t = resume_create(server_secret, sizeof server_secret, 120000);
	char longs[400];
	memset(longs, 'a', sizeof longs - 1);
	longs[sizeof longs - 1] = 0;
	const char *bad[] = {
		"", "rs1.", "rs1.7", "rs1.7.", "rs1.7.00.00", "rs2.7.", "rs1.0.", "rs1.-7.",
		"rs1.07.000102030405060708090a0b0c0d0e0f.000102030405060708090a0b0c0d0e0f",
		"rs1.99999999999.000102030405060708090a0b0c0d0e0f.000102030405060708090a0b0c0d0e0f",
		"rs1.7.000102030405060708090A0B0C0D0E0F.000102030405060708090a0b0c0d0e0f",
		"rs1.7.000102030405060708090a0b0c0d0e0f.000102030405060708090a0b0c0d0e0f00",
		"rs1.7.000102030405060708090a0b0c0d0e0f.000102030405060708090a0b0c0d0e0g",
		"eyJhbGciOi.signature", longs,
	};
	uint32_t pid;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(resume_verify(t, "plenary", bad[i], &pid) == RESUME_E_MALFORMED);
	CHECK(resume_verify(t, "plenary", NULL, &pid) == RESUME_E_MALFORMED);
	/* A well-shaped secret nobody issued. */
	CHECK(resume_verify(t, "plenary",
			    "rs1.7.000102030405060708090a0b0c0d0e0f.000102030405060708090a0b0c0d0e0f",
			    &pid) == RESUME_E_FORGED);
	uint8_t n[RESUME_NONCE_LEN] = { 0 };
	char s[RESUME_SECRET_MAX + 1], c[RESUME_CHECK_HEX + 1];
	CHECK(resume_issue(t, "", 7, n, s, c) == RESUME_E_BAD_ARG);
	CHECK(resume_issue(t, "plenary", 0, n, s, c) == RESUME_E_BAD_ARG);
	CHECK(resume_restore(t, "plenary", 7, "xyz", 0) == RESUME_E_BAD_ARG);
	CHECK(resume_count(t) == 0);
	resume_destroy(t);
}

static void grace(void)
{
	resume_table *t = resume_create(server_secret, sizeof server_secret, 5000);
	CHECK(resume_grace_ms(t) == 5000);
	uint8_t n[RESUME_NONCE_LEN];
	char s[RESUME_SECRET_MAX + 1], c[RESUME_CHECK_HEX + 1];
	for (uint32_t pid = 1; pid <= 3; pid++) {
		nonce_of((int)pid, n);
		CHECK(resume_issue(t, "plenary", pid, n, s, c) == RESUME_OK);
	}
	CHECK(resume_next_deadline(t) == RESUME_NO_DEADLINE);
	resume_detach(t, 2, 1000);
	resume_detach(t, 3, 2000);
	resume_detach(t, 99, 2000); /* unknown: ignored */
	CHECK(resume_is_detached(t, 2) && resume_is_detached(t, 3) && !resume_is_detached(t, 1));
	CHECK(resume_next_deadline(t) == 6000);
	uint32_t pid;
	char room[RESUME_ROOM_MAX + 1];
	CHECK(!resume_expired(t, 5999, &pid, room));
	/* pid 3 comes back at 6500: a resume re-issues and attaches it. */
	nonce_of(33, n);
	CHECK(resume_issue(t, "plenary", 3, n, s, c) == RESUME_OK);
	CHECK(!resume_is_detached(t, 3));
	CHECK(resume_expired(t, 6500, &pid, room) && pid == 2 && strcmp(room, "plenary") == 0);
	CHECK(!resume_expired(t, 6500, &pid, room));
	CHECK(resume_count(t) == 2 && resume_next_deadline(t) == RESUME_NO_DEADLINE);
	resume_destroy(t);
}

/* A restart: the table is rebuilt from the journaled check values alone. */
static void restore(void)
{
	resume_table *t = resume_create(server_secret, sizeof server_secret, 120000);
	uint8_t n[RESUME_NONCE_LEN];
	char s_old[RESUME_SECRET_MAX + 1], s[RESUME_SECRET_MAX + 1], c[RESUME_CHECK_HEX + 1];
	nonce_of(4, n);
	CHECK(resume_issue(t, "plenary", 12, n, s_old, c) == RESUME_OK);
	nonce_of(5, n);
	CHECK(resume_issue(t, "plenary", 12, n, s, c) == RESUME_OK);
	resume_destroy(t);

	resume_table *r = resume_create(server_secret, sizeof server_secret, 120000);
	CHECK(resume_restore(r, "plenary", 12, c, 50000) == RESUME_OK);
	CHECK(resume_is_detached(r, 12) && resume_next_deadline(r) == 170000);
	uint32_t pid;
	CHECK(resume_verify(r, "plenary", s_old, &pid) == RESUME_E_USED);
	CHECK(resume_verify(r, "plenary", s, &pid) == RESUME_OK && pid == 12);
	char room[RESUME_ROOM_MAX + 1];
	CHECK(resume_expired(r, 170000, &pid, room) && pid == 12);
	CHECK(resume_verify(r, "plenary", s, &pid) == RESUME_E_GONE);
	resume_destroy(r);
}

int main(void)
{
	issue_verify();
	malformed();
	grace();
	restore();
	printf("resume: %d passed, %d failed\n", check_passed, check_failed);
	return check_failed ? 1 : 0;
}
