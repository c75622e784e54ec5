/* tokenfile.h - token files: one file per credential in a directory,
 * holding only the credential's current access token and a newline, for
 * programs that may read the token but never the secret (Postfix's
 * XOAUTH2 plugin, msmtp's passwordeval).
 *
 * A reader may hold the directory open across chroot and open the file
 * relative to it, so the directory is never replaced: a file is written
 * to a temporary name in the same directory and renamed over the old
 * one, and a reader sees the old token or the new one, never a part. The
 * token file is not secret from the directory's group by design; its
 * content never goes into an error message.
 */
#ifndef SW_TOKENFILE_H
#define SW_TOKENFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define TOKENFILE_MODE	   0640
#define TOKENFILE_DIR_MODE 0750
#define TOKENFILE_MAX	   16384 /* longer files are not read back */

/* The ID of group name into *ret. Returns 0, or -1 with e saying that
 * the group does not exist and what to do. */
int tokenfile_group(const char *name, gid_t *ret, struct err *e);

/* Make dir/name hold the len bytes of token and "\n", mode 0640, owned
 * by this user and group gid, by a write to a new file in dir and a
 * rename over the old one (both synced). dir is created (0750, group
 * gid, parents 0755) when missing, never replaced; one that is not this
 * user's (or root's) alone is refused (tokenfile_dir_check), and the
 * group and other write bits (and the sticky bit) of one that is this
 * user's are taken away. On failure the old
 * file is left as it was and no temporary file stays behind. Returns 0,
 * or -1 with e. */
int tokenfile_write(const char *dir, const char *name, const char *token,
		    size_t len, gid_t gid, struct err *e);

/* Whether the directory dir is safe for token files written by user
 * writer: a directory owned by writer or root that neither its group
 * nor others may write (one they may write lets a local user swap in a
 * token of their own, which the mail client would send). Changes
 * nothing; tokenfile_write() refuses such a directory, and repairs the
 * mode of one that is its own. Returns 0, or -1 with e saying what is
 * wrong and what to do. */
int tokenfile_dir_check(const char *dir, uid_t writer, struct err *e);

/* Remove dir/name. Returns 0 (also when there was none), or -1 with e. */
int tokenfile_remove(const char *dir, const char *name, struct err *e);

/* The expiry (the "exp" claim; 0 when the token is not a JWT) of the
 * token in dir/name into *ret_exp. Returns 0, or -1 with e when the file
 * is missing, unreadable, empty or too long. */
int tokenfile_expiry(const char *dir, const char *name, int64_t *ret_exp,
		     struct err *e);

#endif
