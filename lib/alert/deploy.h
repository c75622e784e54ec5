/* deploy.h - the deploy hook: after a switch, hand the new secret to the
 * program that puts it where the consumer reads it ([deploy] in
 * docs/CONFIGURATION.md).
 */
#ifndef SW_DEPLOY_H
#define SW_DEPLOY_H

#include <stddef.h>

#include "cred.h"
#include "err.h"

#define DEPLOY_TIMEOUT_DEFAULT 60L

/* Run program (an absolute path, no arguments) for the secret si of c,
 * whose value is the secret_len bytes at secret. The value goes only to
 * the program's standard input, through a pipe, followed by a newline;
 * the pipe is then closed. For a certificate (si->kind) the bytes are its
 * PEM certificate and private key (material_deploy_input), sent as they
 * are, with no newline added. The environment is PATH plus
 * SECRETWATCH_CREDENTIAL, SECRETWATCH_SECRET_ID, SECRETWATCH_HINT,
 * SECRETWATCH_KEY_ID ("" when unknown), SECRETWATCH_EXPIRES_AT (RFC
 * 3339 UTC), SECRETWATCH_KIND ("secret" or "certificate") and, when deploy_id
 * is not NULL, SECRETWATCH_DEPLOY_ID: the same for every run of one owed
 * deploy, so that a hook run again after a crash (deploys are at least once)
 * can tell it has done this one. timeout_s <= 0 means DEPLOY_TIMEOUT_DEFAULT; a
 * program still running then has its process group killed. Returns 0 when the
 * program exited 0, or -1 with e saying why (never the value). No copy of the
 * value is made: the caller keeps and wipes it. */
int deploy_run(const char *program, const struct cred *c,
	       const struct secret_info *si, const char *deploy_id,
	       const char *secret, size_t secret_len, long timeout_s,
	       struct err *e);

#endif
