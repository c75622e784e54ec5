/* token.h - the Outlook access token of a credential's active secret,
 * from the encrypted cache in the store or from Entra. Used by mail
 * clients (`secretwatch token`) and the email alert channel. */
#ifndef SW_TOKEN_H
#define SW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "entra.h"
#include "err.h"
#include "net.h"
#include "store.h"
#include "vault.h"

/* A cached token is used until this long before it expires. */
#define TOKEN_MARGIN 300

/* Where tokens come from. */
struct token_src {
	struct store *store;
	const struct vault *vault;
	const struct net_opts *net;
	const struct entra_retry *retry; /* NULL: ENTRA_RETRY_DEFAULT */
	int64_t now;
	bool no_cache_write; /* the store is read-only: fetch, do not cache */
	int64_t min_valid;   /* seconds a cached token must still be valid
				(0: TOKEN_MARGIN) */
};

/* An Outlook access token for c's active secret: from the cache when it
 * is valid for TOKEN_MARGIN more seconds, else from Entra (then cached).
 * Returns 0 with the token in *ret (guarded memory) and its expiry in
 * *ret_expires_at, or -1 with e (and *res when a request was made). */
int token_get(const struct token_src *ts, const struct cred *c,
	      struct vbuf *ret, int64_t *ret_expires_at,
	      struct entra_result *res, struct err *e);

/* Cache a token obtained with secret secret_id of c (by a test). Returns
 * 0, or -1 with e. */
int token_put(struct store *s, const struct vault *v, const struct cred *c,
	      int64_t secret_id, const struct entra_token *tok, struct err *e);

#endif
