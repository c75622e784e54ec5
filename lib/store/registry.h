/* registry.h - what a person registers and changes: credentials, their
 * client secrets and certificates, the master key. Each call is one
 * transaction with its audit event; a failed one leaves the store as it
 * was. The front end parses and prints; these act.
 */
#ifndef SW_REGISTRY_H
#define SW_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "err.h"
#include "store.h"
#include "vault.h"
#include "x509.h"

/* Add credential c (validated by the caller); sets c->id. */
int registry_cred_add(struct store *s, int64_t now, struct cred *c,
		      struct err *e);

/* Store c's fields (cred add's and token_file, rotate, app_object_id)
 * with an event naming the n changed options. */
int registry_cred_update(struct store *s, int64_t now, const struct cred *c,
			 const char *const *changed, size_t n, struct err *e);

/* Remove credential name with its secrets; refused while it has active
 * or pending ones, unless force. Fills *ret with what was removed. */
int registry_cred_rm(struct store *s, int64_t now, const char *name, bool force,
		     struct cred *ret, struct err *e);

/* Store value as a new pending client secret of c, with si's fields
 * (hint, key ID, note, expiry; si->id and state set). Refused when c has
 * it already: the same value, or the same key ID. */
int registry_secret_add(struct store *s, const struct vault *v, int64_t now,
			const struct cred *c, struct secret_info *si,
			const struct vbuf *value, struct err *e);

/* Retire the secret of credential name that which names: its row ID
 * (secretwatch secret list) or its key ID (the portal's Secret ID).
 * Fills *ret as it was before. */
int registry_secret_retire(struct store *s, int64_t now, const char *name,
			   const char *which, struct secret_info *ret,
			   struct err *e);

/* Store key and cert (DER) as a new pending certificate of c, with note
 * (NULL: none); *ret_si and *ret_xi say what it is. A certificate past
 * its notAfter is refused. */
int registry_cert_add(struct store *s, const struct vault *v, int64_t now,
		      const struct cred *c, const struct x509_key *key,
		      const uint8_t *cert, size_t len, const char *note,
		      struct secret_info *ret_si, struct x509_info *ret_xi,
		      struct err *e);

/* Re-encrypt everything from old to fresh, with its event. */
int registry_rekey(struct store *s, const struct vault *old,
		   const struct vault *fresh, int64_t now, struct err *e);

#endif
