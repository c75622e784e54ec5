/* tokenfile.c - writing token files: temporary file, rename, sync. */
#include "tokenfile.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jwt.h"
#include "secmem.h"

int tokenfile_group(const char *name, gid_t *ret, struct err *e)
{
	struct group *g = getgrnam(name);

	if (g == NULL) {
		err_set(e,
			"group '%s' does not exist: install the program "
			"that reads the token files (postfix), or set "
			"[tokens] group",
			name);
		return -1;
	}
	*ret = g->gr_gid;
	return 0;
}

/* Create the last component of path (0750, group gid). */
static int make_last(const char *path, gid_t gid)
{
	int fd;

	if (mkdir(path, 0700) != 0)
		return errno == EEXIST ? 0 : -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fchown(fd, (uid_t)-1, gid) != 0 ||
	    fchmod(fd, TOKENFILE_DIR_MODE) != 0) {
		int saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	close(fd);
	return 0;
}

/* mkdir -p for the parents of dir (0755), then dir itself. An existing
 * directory is left as it is. */
static int make_dir(const char *dir, gid_t gid, struct err *e)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path)) {
		err_set(e, "token directory path too long");
		return -1;
	}
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (make_last(path, gid) == 0)
		return 0;
fail:
	err_set(e, "cannot create token directory %s: %s", path,
		strerror(errno));
	return -1;
}

/* What may write into a directory besides its owner. */
#define DIR_OPEN_BITS (S_IWGRP | S_IWOTH)

/* Whether st, the token directory dir, is safe for tokens written by
 * user writer: its owner's (or root's) alone to write. Returns 0 when it
 * is; 1 when it is writer's own and only too open (a mode to repair),
 * -1 when it is not, both with e saying why and what to do. */
static int dir_verdict(const struct stat *st, const char *dir, uid_t writer,
		       struct err *e)
{
	mode_t mode = st->st_mode & 07777;

	if (st->st_uid != writer && st->st_uid != 0) {
		err_set(e,
			"token directory %s belongs to uid %u, not to the "
			"user that writes the tokens (uid %u) or root: that "
			"user could put a token of their own in it; remove it "
			"(secretwatch makes it again) or chown %u %s",
			dir, (unsigned)st->st_uid, (unsigned)writer,
			(unsigned)writer, dir);
		return -1;
	}
	if ((mode & DIR_OPEN_BITS) == 0)
		return 0;
	err_set(e,
		"token directory %s is mode %04o: its group or others may "
		"write into it and swap a token; chmod %04o %s%s",
		dir, (unsigned)mode,
		(unsigned)(mode & ~(DIR_OPEN_BITS | S_ISVTX)), dir,
		st->st_uid == writer ? " (secretwatch does at its next write)"
				     : "");
	return st->st_uid == writer ? 1 : -1;
}

int tokenfile_dir_check(const char *dir, uid_t writer, struct err *e)
{
	struct stat st;

	if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		err_set(e, "token directory %s is missing or not a directory",
			dir);
		return -1;
	}
	return dir_verdict(&st, dir, writer, e) == 0 ? 0 : -1;
}

/* The open directory fd is fit to write tokens into: refused when it is
 * not this user's (or root's) alone, its mode repaired when it is this
 * user's and only too open. Returns 0, or -1 with e. */
static int secure_dir(int fd, const char *dir, struct err *e)
{
	struct stat st;
	int v;

	if (fstat(fd, &st) != 0) {
		err_set(e, "cannot check token directory %s: %s", dir,
			strerror(errno));
		return -1;
	}
	if ((v = dir_verdict(&st, dir, geteuid(), e)) <= 0)
		return v;
	if (fchmod(fd, st.st_mode & 07777 & ~(DIR_OPEN_BITS | S_ISVTX)) != 0) {
		err_set(e,
			"token directory %s is mode %04o, open to others, and "
			"cannot be changed: %s",
			dir, (unsigned)(st.st_mode & 07777), strerror(errno));
		return -1;
	}
	return 0;
}

/* The directory, opened (created when missing), or -1 with e. */
static int open_dir(const char *dir, gid_t gid, int create, struct err *e)
{
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (make_dir(dir, gid, e))
			return -1;
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		err_set(e, "cannot open token directory %s: %s", dir,
			strerror(errno));
	else if (create && secure_dir(fd, dir, e) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* The steps of a write, named in its error message. */
static const char STEP_CREATE[] = "create", STEP_GROUP[] = "set the group of";

/* Fill the new file fd: group and mode first, then the token. */
static int fill(int fd, const char *token, size_t len, gid_t gid,
		const char **what)
{
	struct stat st;

	*what = STEP_GROUP;
	if (fstat(fd, &st) != 0 ||
	    (st.st_gid != gid && fchown(fd, (uid_t)-1, gid) != 0))
		return -1;
	*what = "set the mode of";
	if (fchmod(fd, TOKENFILE_MODE) != 0)
		return -1;
	*what = "write";
	if (write_all(fd, token, len) || write_all(fd, "\n", 1))
		return -1;
	*what = "sync";
	return fsync(fd);
}

int tokenfile_write(const char *dir, const char *name, const char *token,
		    size_t len, gid_t gid, struct err *e)
{
	char tmp[96], rnd[17];
	const char *what = STEP_CREATE;
	int dfd, fd = -1, saved;

	if (strlen(name) > 64 || strchr(name, '/') || name[0] == '.') {
		err_set(e, "'%s' cannot name a token file", name);
		return -1;
	}
	dfd = open_dir(dir, gid, 1, e);
	if (dfd < 0)
		return -1;
	secmem_random_hex(rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), ".%s.%s", name, rnd);
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fill(fd, token, len, gid, &what))
		goto fail;
	what = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename";
	if (renameat(dfd, tmp, dfd, name) != 0)
		goto fail;
	fsync(dfd);
	close(dfd);
	return 0;
fail:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (what != STEP_CREATE)
		unlinkat(dfd, tmp, 0);
	close(dfd);
	err_set(e, "cannot %s token file %s/%s: %s%s", what, dir, name,
		strerror(saved),
		saved == EPERM && what == STEP_GROUP
		    ? "; write token files as root or as a member of "
		      "[tokens] group"
		    : "");
	return -1;
}

int tokenfile_remove(const char *dir, const char *name, struct err *e)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path)) {
		err_set(e, "token file path too long");
		return -1;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		err_set(e, "cannot remove token file %s: %s", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* Read dir/name into buf (NUL-terminated, newline cut). */
static int read_file(const char *dir, const char *name, char *buf, size_t cap,
		     size_t *ret_len, struct err *e)
{
	int dfd = open_dir(dir, 0, 0, e), fd;
	size_t n = 0;
	ssize_t r;

	if (dfd < 0)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dfd);
	if (fd < 0) {
		err_set(e, "cannot read token file %s/%s: %s", dir, name,
			strerror(errno));
		return -1;
	}
	while (n < cap && (r = read(fd, buf + n, cap - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0 || n == cap) {
		err_set(e, "token file %s/%s is %s", dir, name,
			n == 0 ? "empty" : "too long to be a token");
		return -1;
	}
	buf[n] = '\0';
	*ret_len = n;
	return 0;
}

int tokenfile_expiry(const char *dir, const char *name, int64_t *ret_exp,
		     struct err *e)
{
	char *buf = secmem_alloc(TOKENFILE_MAX + 1);
	struct jwt_claims *cl = malloc(sizeof(*cl));
	struct err ignored;
	size_t len;
	int rc = -1;

	if (buf == NULL || cl == NULL) {
		err_set(e, "out of memory");
		goto out;
	}
	if (read_file(dir, name, buf, TOKENFILE_MAX, &len, e))
		goto out;
	*ret_exp = jwt_decode(buf, len, cl, &ignored) == 0 ? cl->exp : 0;
	rc = 0;
out:
	free(cl);
	secmem_free(buf);
	return rc;
}
