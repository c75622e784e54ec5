/* watch_verify.h - verifying one secret or certificate with a
 * token request (and an XOAUTH2 test send), and recording how it went
 * (watch_verify.c): used by the switch and health steps and by
 * `secretwatch test`. */
#ifndef SW_WATCH_VERIFY_H
#define SW_WATCH_VERIFY_H

#include "probe.h"
#include "watch_types.h"

/* Test secret si of c (token_only: stop after the token) and record the
 * outcome on the secret and in the audit trail; a token obtained is
 * cached. to: recipient, NULL for the credential's test address. Returns
 * 0 when it passed, 1 when it failed, -1 with e on other errors. */
int watch_verify(struct watch_ctx *w, const struct cred *c,
		 const struct secret_info *si, bool token_only, const char *to,
		 struct probe_result *pr, struct err *e);

#endif
