#include "revoke.h"
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRUNE_AFTER_S (24 * 3600)

struct entry {
	char id[TOKEN_ID_LEN + 1];
	int64_t exp;
};

struct revoke_list {
	char *path;              /* owned: DIR/revoked */
	struct entry *ids;       /* owned, sorted by id */
	size_t n;
	bool seen;               /* a stat() result is remembered below */
	struct stat last;        /* identity of the file last read (st_ino 0: absent) */
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->id, ((const struct entry *)b)->id);
}

static char *path_in(const char *dir)
{
	struct rs_buf b = { 0 };
	rs_buf_printf(&b, "%s/%s", dir, REVOKE_FILE);
	return b.p;
}

revoke_list *revoke_create(const char *data_dir)
{
	revoke_list *rl = rs_calloc(1, sizeof *rl);
	rl->path = path_in(data_dir);
	return rl;
}

void revoke_destroy(revoke_list *rl)
{
	if (!rl)
		return;
	free(rl->ids);
	free(rl->path);
	free(rl);
}

/* Reads the file at path into a sorted array; a missing file is an empty list. */
static int read_file(const char *path, struct entry **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? REVOKE_OK : REVOKE_IO;
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	char line[128];
	int rc = REVOKE_OK;
	while (rc == REVOKE_OK && fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		struct entry e;
		memset(&e, 0, sizeof e); /* the list is compared whole, padding included */
		long long exp;
		char tail;
		if (sscanf(line, "%22s %lld%c", e.id, &exp, &tail) != 3 || tail != '\n' ||
		    !token_id_valid(e.id) || n == REVOKE_MAX) {
			rc = REVOKE_BAD_FILE;
			break;
		}
		e.exp = exp;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = rs_realloc(v, cap * sizeof *v);
		}
		v[n++] = e;
	}
	if (ferror(f))
		rc = REVOKE_IO;
	fclose(f);
	if (rc != REVOKE_OK) {
		free(v);
		return rc;
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_entry);
	*out = v;
	*n_out = n;
	return REVOKE_OK;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int revoke_refresh(revoke_list *rl)
{
	struct stat st;
	if (stat(rl->path, &st) != 0) {
		if (errno != ENOENT)
			return REVOKE_IO;
		memset(&st, 0, sizeof st);
	}
	if (rl->seen && same_file(&st, &rl->last))
		return 0;
	struct entry *v;
	size_t n;
	int rc = read_file(rl->path, &v, &n);
	if (rc != REVOKE_OK)
		return rc;
	rl->seen = true;
	rl->last = st;
	bool changed = n != rl->n || (n && memcmp(v, rl->ids, n * sizeof *v) != 0);
	free(rl->ids);
	rl->ids = v;
	rl->n = n;
	return changed ? 1 : 0;
}

bool revoke_has(const revoke_list *rl, const char *id)
{
	if (!rl || !rl->n || strlen(id) > TOKEN_ID_LEN)
		return false;
	struct entry key;
	memset(&key, 0, sizeof key);
	rs_strlcpy(key.id, id, sizeof key.id);
	return bsearch(&key, rl->ids, rl->n, sizeof *rl->ids, cmp_entry) != NULL;
}

size_t revoke_count(const revoke_list *rl)
{
	return rl ? rl->n : 0;
}

/* Writes the list to path.tmp, syncs it, renames it over path and syncs the directory. */
static int write_atomically(const char *dir, const char *path, const struct entry *v, size_t n)
{
	struct rs_buf b = { 0 }, tmp = { 0 };
	rs_buf_printf(&b, "# rostrum revoked join tokens: id, then its expiry (Unix s, 0: none)\n");
	for (size_t i = 0; i < n; i++)
		rs_buf_printf(&b, "%s %lld\n", v[i].id, (long long)v[i].exp);
	rs_buf_printf(&tmp, "%s.tmp", path);
	int fd = open(tmp.p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	bool ok = fd >= 0;
	for (size_t off = 0; ok && off < b.len;) {
		ssize_t w = write(fd, b.p + off, b.len - off);
		ok = w > 0 || (w < 0 && errno == EINTR);
		off += w > 0 ? (size_t)w : 0;
	}
	ok = ok && fsync(fd) == 0;
	if (fd >= 0)
		ok = close(fd) == 0 && ok;
	ok = ok && rename(tmp.p, path) == 0;
	if (!ok)
		unlink(tmp.p);
	int dfd = ok ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		ok = fsync(dfd) == 0;
		close(dfd);
	}
	free(b.p);
	free(tmp.p);
	return ok ? REVOKE_OK : REVOKE_IO;
}

int revoke_add(const char *data_dir, const char *id, int64_t exp_s, int64_t now_s)
{
	if (!token_id_valid(id))
		return REVOKE_BAD_ID;
	char *path = path_in(data_dir);
	struct entry *v;
	size_t n;
	int rc = read_file(path, &v, &n);
	if (rc != REVOKE_OK) {
		free(path);
		return rc;
	}
	size_t k = 0;
	bool present = false;
	for (size_t i = 0; i < n; i++) {
		present |= strcmp(v[i].id, id) == 0;
		if (!v[i].exp || v[i].exp + PRUNE_AFTER_S > now_s)
			v[k++] = v[i];
	}
	if (!present) {
		v = rs_realloc(v, (k + 1) * sizeof *v);
		memset(&v[k], 0, sizeof v[k]);
		rs_strlcpy(v[k].id, id, sizeof v[k].id);
		v[k++].exp = exp_s;
	}
	rc = write_atomically(data_dir, path, v, k);
	free(v);
	free(path);
	return rc;
}

const char *revoke_strerror(int err)
{
	switch (err) {
	case REVOKE_OK: return "ok";
	case REVOKE_IO: return "the revocation list could not be read or written";
	case REVOKE_BAD_FILE: return "the revocation list has a malformed line";
	case REVOKE_BAD_ID: return "not a token id (22 characters of A-Z, a-z, 0-9, '-', '_')";
	}
	return "unknown revocation error";
}
