/* Token files for the XOAUTH2 client plugin: one access token per file,
 * named after the credential, in a directory opened before the chroot.
 * Part of the plugin only; it links nothing of secretwatch's library. */
#ifndef XOAUTH2_TOKEN_H
#define XOAUTH2_TOKEN_H

#include <stddef.h>
#include <time.h>

/* Largest token file read; a longer file is refused, not cut. */
#define XOAUTH2_TOKEN_MAX (64 * 1024)

/* Why a token could not be had; xoauth2_token_why() names each. */
enum xoauth2_token_err {
	XOAUTH2_TOKEN_OK = 0,
	XOAUTH2_TOKEN_BADNAME, /* empty, has '/', starts with '.', too long */
	XOAUTH2_TOKEN_NODIR,   /* the directory could not be opened */
	XOAUTH2_TOKEN_MISSING, /* no such file */
	XOAUTH2_TOKEN_UNREADABLE,   /* open or read failed (errno kept) */
	XOAUTH2_TOKEN_NOTFILE,	    /* not a regular file */
	XOAUTH2_TOKEN_LINKED,	    /* more than one hard link */
	XOAUTH2_TOKEN_OWNER,	    /* owned by neither the directory's owner
				     * (the writer) nor root */
	XOAUTH2_TOKEN_WRITABLE,	    /* group or others may write the file */
	XOAUTH2_TOKEN_DIR_WRITABLE, /* ... or its directory */
	XOAUTH2_TOKEN_TOOLONG,	    /* more than XOAUTH2_TOKEN_MAX bytes */
	XOAUTH2_TOKEN_EMPTY,	    /* nothing but a newline */
	XOAUTH2_TOKEN_BADCHAR,	    /* a blank or control character inside */
	XOAUTH2_TOKEN_EXPIRED,	    /* its JWT "exp" claim is past */
	XOAUTH2_TOKEN_NOMEM,
};

/* Whether NAME can name a file in the token directory: not empty, at most
 * 255 bytes, no '/', not starting with '.'. */
int xoauth2_token_name_ok(const char *name);

/* Reads the token of file NAME in the directory open as DIRFD: at most
 * XOAUTH2_TOKEN_MAX bytes, one trailing "\n" (or "\r\n") removed, refused
 * when empty, holding a blank or control character, or expired by its
 * "exp" claim at time NOW. Only a file that its writer put there is
 * read: a regular file with one link, owned by the directory's owner
 * (the user that writes the tokens) or root, that neither group nor
 * others may write, in a directory that neither may write; anything
 * else may be a token another local user swapped in. On success *ret_tok is a
 * NUL-terminated copy in malloc'd memory the caller wipes and frees, *ret_len
 * its length. On failure nothing is allocated, every buffer read into is wiped,
 * and *ret_errno (open/read failures) and *ret_exp (expired tokens) say more.
 */
enum xoauth2_token_err xoauth2_token_read(int dirfd, const char *name,
					  time_t now, char **ret_tok,
					  size_t *ret_len, int *ret_errno,
					  long long *ret_exp);

/* The "exp" claim of a JWT access token (seconds since the epoch) into
 * *ret_exp: 0 on success, -1 when TOK is not a JWT or has no numeric
 * "exp". Best effort, no signature check: the server checks the token;
 * this only spares it one that is known to be stale. Wipes what it
 * decoded. */
int xoauth2_token_exp(const char *tok, size_t len, long long *ret_exp);

/* A short English phrase for ERR, e.g. "is missing". */
const char *xoauth2_token_why(enum xoauth2_token_err err);

#endif
