/* x509.h - certificate credentials: RSA keys, self-signed X.509
 * certificates and the client assertions signed with them (docs/PROTOCOL.md
 * §1.2, §4.3).
 *
 * The one file that speaks to OpenSSL, built into libsecretwatch-net.so
 * with the code that needs libcurl (netmod.h), so that commands without
 * a certificate start without libcrypto. Private keys cross this interface
 * only as DER in struct vbuf (guarded memory); inside, OpenSSL keeps the
 * key's numbers in its secure heap (locked, wiped on free), started here
 * on first use. Certificates are public: plain malloc'd DER.
 */
#ifndef SW_X509_H
#define SW_X509_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "vault.h"

#define X509_SHA1_HEX_LEN   40
#define X509_SHA256_HEX_LEN 64
#define X509_SUBJECT_MAX    256

/* A certificate's private key: DER (PKCS#8 or PKCS#1) in guarded memory.
 * A type of its own, apart from a client secret's value (a plain struct
 * vbuf), so that a key can only be handed to what signs with it. */
struct x509_key {
	struct vbuf der;
};

/* Wipe and free k's DER; k may be empty. */
void x509_key_free(struct x509_key *k);

/* The client-assertion signature: PS256 with x5t#S256 first, RS256 with
 * x5t (SHA-1) where the endpoint refuses PSS. */
enum x509_alg {
	X509_PS256,
	X509_RS256,
};

/* Make OpenSSL wipe every block it frees and start its secure heap; called
 * as the module is loaded, before anything else uses OpenSSL (libcurl's
 * TLS included). Returns -1 when OpenSSL had allocated already. */
int x509_process_init(void);

/* "PS256" / "RS256". */
const char *x509_alg_name(enum x509_alg alg);
/* Returns 0 and sets *ret, or -1 for another name. */
int x509_alg_parse(const char *name, enum x509_alg *ret);

/* What a certificate says, as the Entra portal shows it. */
struct x509_info {
	int64_t not_before;
	int64_t not_after;
	char subject[X509_SUBJECT_MAX];
	char sha1_hex[X509_SHA1_HEX_LEN + 1];	  /* upper case: the portal's */
	char sha256_hex[X509_SHA256_HEX_LEN + 1]; /* upper case */
	int key_bits;
};

/* A new RSA key of bits (2048 or 3072) and a certificate for it, self-
 * signed, subject "CN=<cn>", valid from now for days days. The key goes
 * to *ret_key (DER, guarded), the certificate to *ret_cert (DER,
 * malloc'd). Returns 0, or -1 with e set and nothing returned. */
int x509_generate(const char *cn, int bits, int days, int64_t now,
		  struct x509_key *ret_key, uint8_t **ret_cert, size_t *ret_len,
		  struct err *e);

/* An existing pair in PEM: key_pem (guarded; PKCS#8 or PKCS#1, RSA of
 * 2048 bits or more, unencrypted) and cert_pem (the first certificate).
 * Refused, with nothing returned, when either does not parse or the key
 * is not the certificate's. Outputs as x509_generate. */
int x509_import_pem(const struct vbuf *key_pem, const char *cert_pem,
		    size_t cert_len, struct x509_key *ret_key,
		    uint8_t **ret_cert, size_t *ret_len, struct err *e);

/* Read the DER certificate's dates, subject and thumbprints. */
int x509_cert_info(const uint8_t *cert, size_t len, struct x509_info *ret,
		   struct err *e);

/* The DER certificate as PEM, malloc'd and NUL-terminated. */
int x509_cert_pem(const uint8_t *cert, size_t len, char **ret_pem,
		  struct err *e);

/* The DER key as PKCS#8 PEM into *ret (guarded). */
int x509_key_pem(const struct x509_key *key, struct vbuf *ret, struct err *e);

/* A client assertion (a signed JWT) for the token endpoint aud, with
 * iss = sub = client_id, a fresh jti, nbf = iat = now, exp = now + 300:
 * PS256 with x5t#S256, or RS256 with x5t. Into *ret (guarded). */
int x509_assertion(const struct x509_key *key, const uint8_t *cert,
		   size_t cert_len, enum x509_alg alg, const char *aud,
		   const char *client_id, int64_t now, struct vbuf *ret,
		   struct err *e);

/* The proof of possession addKey and removeKey ask for
 * (learn.microsoft.com/graph/application-rollkey-prooftoken): a JWT with
 * aud X509_PROOF_AUD, iss = the application's object ID, nbf = now and
 * exp = now + X509_PROOF_LIFE_S (Graph allows 10 minutes at most),
 * signed RS256 with x5t by a currently valid certificate of the app (key,
 * cert). Into *ret (guarded). */
#define X509_PROOF_AUD	  "00000002-0000-0000-c000-000000000000"
#define X509_PROOF_LIFE_S 600
int x509_proof(const struct x509_key *key, const uint8_t *cert, size_t cert_len,
	       const char *app_object_id, int64_t now, struct vbuf *ret,
	       struct err *e);

#endif
