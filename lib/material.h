/* material.h - the key material of one secret row, decrypted for use: a
 * client secret's value, or a certificate's private key with its
 * certificate; and the token request made with either (a client secret,
 * or a client assertion signed here, in the core, and handed to the
 * network code finished).
 */
#ifndef SW_MATERIAL_H
#define SW_MATERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "entra.h"
#include "err.h"
#include "store.h"
#include "vault.h"
#include "x509.h"

struct material {
	int64_t id; /* the secret row */
	enum secret_kind kind;
	struct vbuf value; /* the secret's value, or the key (DER) */
	uint8_t *cert;	   /* certificates: the certificate (DER) */
	size_t cert_len;
	int64_t
	    expires_at; /* the secret's expiry, the certificate's notAfter */
	/* The assertion signature to try first; after material_token, the
	 * one the endpoint accepted. learned: that one differs from what
	 * the row remembered (store it with material_save_alg). */
	enum x509_alg alg;
	bool known; /* the row remembered one */
	bool learned;
};

/* Decrypt row si's material into *ret (guarded memory). Returns 0, or -1
 * with e set and *ret empty. */
int material_open(struct store *s, const struct vault *v,
		  const struct secret_info *si, struct material *ret,
		  struct err *e);

/* Wipe and free; m may be empty. */
void material_free(struct material *m);

/* Whether an answer refuses a certificate's assertion signature
 * (AADSTS700027, 50012): what makes material_token try RS256. */
bool material_signature_refused(const struct entra_result *res);

/* entra_request_token with m: rq's secret fields are set from m for a
 * secret; for a certificate a client assertion is signed for rq's token
 * endpoint (m->alg first; PS256 refused: once more with RS256) and sent
 * in place of the secret. Returns as entra_request_token; a signing
 * failure is an error result with its summary. */
int material_token(struct material *m, struct entra_request *rq,
		   const struct net_opts *net, const struct entra_retry *retry,
		   int64_t now, struct entra_result *res,
		   struct entra_token *ret_token);

/* Record m->alg in its row when material_token learned it. */
int material_save_alg(struct store *s, const struct material *m, struct err *e);

/* What the deploy hook reads for row si (guarded): a secret's value; for
 * a certificate, the certificate and then its private key (PKCS#8), both
 * PEM, each ending in a newline. */
int material_deploy_input(struct store *s, const struct vault *v,
			  const struct secret_info *si, struct vbuf *ret,
			  struct err *e);

#endif
