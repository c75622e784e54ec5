/* jwt.h - best-effort decoding of an access token's claims, for
 * diagnostics only.
 *
 * The signature is not checked and nothing here may be used for a security
 * decision: Microsoft may hand out opaque tokens, and the resource server
 * (Exchange) is the only judge of a token. What the claims are good for is
 * telling a missing admin consent (no SMTP.SendAsApp in roles) apart from
 * an Exchange-side setup problem when SMTP answers 535 5.7.3.
 */
#ifndef SW_JWT_H
#define SW_JWT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define JWT_CLAIM_MAX 256
#define JWT_ID_MAX    64
#define JWT_ROLES_MAX 32
#define JWT_ROLE_MAX  64

struct jwt_claims {
	char aud[JWT_CLAIM_MAX]; /* e.g. https://outlook.office365.com */
	char iss[JWT_CLAIM_MAX];
	char appid[JWT_ID_MAX]; /* the client id ("azp" in v2 tokens) */
	char tid[JWT_ID_MAX];	/* the tenant id */
	char oid[JWT_ID_MAX];	/* the service principal's object id */
	char idtyp[16];		/* "app" for client credentials */
	char ver[8];		/* "1.0" or "2.0" */
	int64_t exp;		/* 0 when absent */
	int64_t iat;
	int64_t nbf;
	bool has_roles; /* a roles claim is present (may be empty) */
	size_t n_roles;
	char roles[JWT_ROLES_MAX][JWT_ROLE_MAX]; /* longer names are dropped */
};

/* Decode the payload (the second base64url part) of the len bytes of the
 * token. Returns 0 with *ret filled (absent claims are "" or 0), or -1 with
 * e filled and *ret zeroed when the token is not a JWT with a JSON object
 * payload. The decoded payload is wiped before it is freed; e never holds
 * any part of the token. */
int jwt_decode(const char *token, size_t len, struct jwt_claims *ret,
	       struct err *e);

/* True when the claims list role exactly (case-sensitive) in "roles". */
bool jwt_has_role(const struct jwt_claims *c, const char *role);

/* The roles as one comma-separated string, for people ("" when none). */
void jwt_roles_str(const struct jwt_claims *c, char *out, size_t outsz);

#endif
