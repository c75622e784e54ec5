/* Token files: read one, check it, read its expiry. */
#include "xoauth2_token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_LEN 255

int xoauth2_token_name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len > 0 && len <= NAME_MAX_LEN && name[0] != '.' &&
	       !strchr(name, '/');
}

/* The value of base64url digit C, or -1. */
static int b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decodes unpadded base64url IN[0..LEN) into OUT (room for LEN bytes);
 * returns the decoded length, or -1 on a bad digit. */
static long b64url_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned long acc = 0;
	int bits = 0;
	long n = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64url_val((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
		}
	}
	return n;
}

/* Finds "exp" : NUMBER in the JSON text S[0..LEN). */
static int find_exp(const char *s, size_t len, long long *ret_exp)
{
	for (size_t i = 0; i + 5 <= len; i++) {
		size_t j = i + 5;
		long long v = 0;
		int digits = 0;

		if (memcmp(s + i, "\"exp\"", 5) != 0)
			continue;
		while (j < len && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j >= len || s[j] != ':')
			continue;
		j++;
		while (j < len && (s[j] == ' ' || s[j] == '\t'))
			j++;
		while (j < len && s[j] >= '0' && s[j] <= '9' && digits < 18) {
			v = v * 10 + (s[j] - '0');
			j++;
			digits++;
		}
		if (digits == 0)
			continue;
		*ret_exp = v;
		return 0;
	}
	return -1;
}

int xoauth2_token_exp(const char *tok, size_t len, long long *ret_exp)
{
	const char *dot1 = memchr(tok, '.', len);
	const char *p, *dot2;
	unsigned char *buf;
	long n;
	int ret = -1;

	if (!dot1)
		return -1;
	p = dot1 + 1;
	dot2 = memchr(p, '.', len - (size_t)(p - tok));
	if (!dot2 || dot2 == p)
		return -1;
	buf = malloc((size_t)(dot2 - p));
	if (!buf)
		return -1;
	n = b64url_decode(p, (size_t)(dot2 - p), buf);
	if (n > 0)
		ret = find_exp((const char *)buf, (size_t)n, ret_exp);
	explicit_bzero(buf, (size_t)(dot2 - p));
	free(buf);
	return ret;
}

/* Reads the whole of FD, at most XOAUTH2_TOKEN_MAX bytes, into a new
 * buffer of XOAUTH2_TOKEN_MAX + 2 bytes. */
static enum xoauth2_token_err read_all(int fd, char **ret_buf, size_t *ret_len,
				       int *ret_errno)
{
	size_t cap = XOAUTH2_TOKEN_MAX + 2, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		return XOAUTH2_TOKEN_NOMEM;
	for (;;) {
		ssize_t n = read(fd, buf + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*ret_errno = errno;
			explicit_bzero(buf, cap);
			free(buf);
			return XOAUTH2_TOKEN_UNREADABLE;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > XOAUTH2_TOKEN_MAX) {
			explicit_bzero(buf, cap);
			free(buf);
			return XOAUTH2_TOKEN_TOOLONG;
		}
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return XOAUTH2_TOKEN_OK;
}

/* Strips one trailing newline and checks what is left. */
static enum xoauth2_token_err check_token(char *buf, size_t *len)
{
	size_t n = *len;

	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	if (n == 0)
		return XOAUTH2_TOKEN_EMPTY;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c <= ' ' || c == 0x7f)
			return XOAUTH2_TOKEN_BADCHAR;
	}
	return XOAUTH2_TOKEN_OK;
}

/* Whether the file open as FD, in the directory open as DIRFD, is one
 * its writer put there (see xoauth2_token_read). */
static enum xoauth2_token_err check_file(int dirfd, int fd, int *ret_errno)
{
	struct stat st, dst;

	if (fstat(fd, &st) != 0 || fstat(dirfd, &dst) != 0) {
		*ret_errno = errno;
		return XOAUTH2_TOKEN_UNREADABLE;
	}
	if (!S_ISREG(st.st_mode))
		return XOAUTH2_TOKEN_NOTFILE;
	if (dst.st_mode & (S_IWGRP | S_IWOTH))
		return XOAUTH2_TOKEN_DIR_WRITABLE;
	if (st.st_uid != dst.st_uid && st.st_uid != 0)
		return XOAUTH2_TOKEN_OWNER;
	if (st.st_nlink != 1)
		return XOAUTH2_TOKEN_LINKED;
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return XOAUTH2_TOKEN_WRITABLE;
	return XOAUTH2_TOKEN_OK;
}

enum xoauth2_token_err xoauth2_token_read(int dirfd, const char *name,
					  time_t now, char **ret_tok,
					  size_t *ret_len, int *ret_errno,
					  long long *ret_exp)
{
	enum xoauth2_token_err err;
	char *buf = NULL;
	size_t len = 0;
	long long exp;
	int fd;

	*ret_errno = 0;
	if (!xoauth2_token_name_ok(name))
		return XOAUTH2_TOKEN_BADNAME;
	if (dirfd < 0)
		return XOAUTH2_TOKEN_NODIR;
	fd = openat(dirfd, name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		*ret_errno = errno;
		return errno == ENOENT ? XOAUTH2_TOKEN_MISSING
				       : XOAUTH2_TOKEN_UNREADABLE;
	}
	err = check_file(dirfd, fd, ret_errno);
	if (err != XOAUTH2_TOKEN_OK)
		goto out_close;
	err = read_all(fd, &buf, &len, ret_errno);
	if (err != XOAUTH2_TOKEN_OK)
		goto out_close;
	err = check_token(buf, &len);
	if (err == XOAUTH2_TOKEN_OK && xoauth2_token_exp(buf, len, &exp) == 0 &&
	    exp <= (long long)now) {
		*ret_exp = exp;
		err = XOAUTH2_TOKEN_EXPIRED;
	}
	if (err != XOAUTH2_TOKEN_OK) {
		explicit_bzero(buf, XOAUTH2_TOKEN_MAX + 2);
		free(buf);
		goto out_close;
	}
	*ret_tok = buf;
	*ret_len = len;
out_close:
	close(fd);
	return err;
}

const char *xoauth2_token_why(enum xoauth2_token_err err)
{
	switch (err) {
	case XOAUTH2_TOKEN_OK:
		return "is valid";
	case XOAUTH2_TOKEN_BADNAME:
		return "has an unusable name (empty, with '/', or starting "
		       "with '.')";
	case XOAUTH2_TOKEN_NODIR:
		return "cannot be read: its directory could not be opened";
	case XOAUTH2_TOKEN_MISSING:
		return "is missing";
	case XOAUTH2_TOKEN_UNREADABLE:
		return "is unreadable";
	case XOAUTH2_TOKEN_NOTFILE:
		return "is not a regular file";
	case XOAUTH2_TOKEN_LINKED:
		return "is refused: it has other hard links (the token "
		       "writer makes files with one)";
	case XOAUTH2_TOKEN_OWNER:
		return "is refused: it belongs to neither the directory's "
		       "owner (the token writer) nor root, so another user "
		       "may have put it there";
	case XOAUTH2_TOKEN_WRITABLE:
		return "is refused: its group or others may write it (the "
		       "token writer makes it mode 0640)";
	case XOAUTH2_TOKEN_DIR_WRITABLE:
		return "is refused: its directory may be written by group or "
		       "others, who could swap the token (make the directory "
		       "mode 0750; secretwatch repairs one of its own)";
	case XOAUTH2_TOKEN_TOOLONG:
		return "is larger than 64 KiB";
	case XOAUTH2_TOKEN_EMPTY:
		return "is empty";
	case XOAUTH2_TOKEN_BADCHAR:
		return "holds a blank or control character";
	case XOAUTH2_TOKEN_EXPIRED:
		return "holds an expired token";
	case XOAUTH2_TOKEN_NOMEM:
		return "cannot be read: out of memory";
	}
	return "cannot be used";
}
