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
	int64_t id; /* the secret row; 0 for a value not stored yet */
	enum secret_kind kind;
	/* One of the two, by kind: a client secret's value, or a
	 * certificate's private key with its certificate (DER). */
	struct vbuf secret;
	struct x509_key key;
	uint8_t *cert;
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

/* A client secret's value that is not stored (yet): len bytes of value
 * copied into guarded memory, expiring at expires_at (0: unknown).
 * Returns 0, or -1 with e. */
int material_from_secret(const char *value, size_t len, int64_t expires_at,
			 struct material *ret, struct err *e);

/* Wipe and free; m may be empty. */
void material_free(struct material *m);

/* Whether an answer refuses a certificate's assertion signature
 * (AADSTS700027, 50012): what makes material_token try RS256. */
bool material_signature_refused(const struct entra_result *res);

/* How m proves the client for one token request: by m's own kind, the
 * secret's value, or a client assertion signed with alg for rq's token
 * endpoint. Nothing else can be made from m: a certificate's key never
 * becomes a client_secret. */
struct material_proof {
	struct entra_secret secret;
	struct entra_assertion assertion;
	struct vbuf jwt; /* the signed assertion (guarded) */
};

/* Fill *ret for m and point rq at it (rq's endpoint, tenant and client
 * ID set). Returns 0, or -1 with e when the assertion cannot be signed.
 * Release with material_proof_free, which also unsets rq's proof. */
int material_prepare(const struct material *m, enum x509_alg alg,
		     struct entra_request *rq, int64_t now,
		     struct material_proof *ret, struct err *e);
void material_proof_free(struct material_proof *p, struct entra_request *rq);

/* entra_request_token with m's proof (material_prepare): a secret as is;
 * a certificate's assertion with m->alg first, and when PS256 is refused
 * once more with RS256. Returns as entra_request_token; a signing
 * failure is an error result with its summary. */
int material_token(struct material *m, struct entra_request *rq,
		   const struct net_opts *net, const struct entra_retry *retry,
		   int64_t now, struct entra_result *res,
		   struct entra_token *ret_token);

/* Record m->alg in its row when material_token learned it. */
int material_save_alg(struct store *s, const struct material *m, struct err *e);

/* The proof of possession addKey and removeKey ask for, signed by m (a
 * certificate of the app with object ID app_object_id). Returns 0 with
 * the JWT in *ret (guarded), or -1 with e (m is not a certificate). */
int material_pop(const struct material *m, const char *app_object_id,
		 int64_t now, struct vbuf *ret, struct err *e);

/* What the deploy hook reads for row si (guarded): a secret's value; for
 * a certificate, the certificate and then its private key (PKCS#8), both
 * PEM, each ending in a newline. */
int material_deploy_input(struct store *s, const struct vault *v,
			  const struct secret_info *si, struct vbuf *ret,
			  struct err *e);

#endif
