/* diag.h - from a failure to the setup step that is broken and its remedy
 * (DESIGN.md §9), with the commands filled in with the credential's own
 * values.
 *
 * Token errors are classified by the OAuth error and error_codes[0] only,
 * SMTP replies by their code and enhanced status (a few replies that share
 * one, such as the 535 5.7.139 variants, are then told apart by a keyword
 * of their text); error_description and reply texts are shown, never
 * relied on otherwise. Pure functions: no I/O, no clock.
 */
#ifndef SW_DIAG_H
#define SW_DIAG_H

#include <stdbool.h>

#include "cred.h"
#include "entra.h"
#include "jwt.h"
#include "smtp.h"

#define DIAG_SUMMARY_MAX  512
#define DIAG_REMEDY_MAX	  4096
#define DIAG_EVIDENCE_MAX 1024

/* Step ids (stable; scripts and tests match them): "tenant", "client-id",
 * "app-disabled", "secret-value", "secret-expired", "secret-missing",
 * "scope", "conditional-access", "network", "token-endpoint", "transport",
 * "api-permission", "exchange-permission", "smtp-auth-mailbox",
 * "smtp-auth-tenant", "security-defaults", "smtp-auth",
 * "smtp-not-authenticated", "send-as", "smtp-concurrency",
 * "sender-restricted", "sending-limit", "smtp-config", "unknown". */
struct diag {
	const char *step;  /* stable id, static storage */
	const char *title; /* the setup step for people, static storage */
	char summary[DIAG_SUMMARY_MAX];	  /* one line: what is wrong */
	char remedy[DIAG_REMEDY_MAX];	  /* what to do; may be several lines */
	char evidence[DIAG_EVIDENCE_MAX]; /* the AADSTS code with its trace
					   * and correlation IDs, the SMTP
					   * reply, or the transport error */
	bool transient; /* may pass by itself later; retry before alerting */
};

/* What the remedies are filled in with. */
struct diag_input {
	const struct cred *cred;	 /* required */
	const char *hint;		 /* the secret's hint; NULL: unknown */
	const struct jwt_claims *claims; /* of the token used; NULL: unknown
					  * or not decodable */
};

/* Diagnose a failed token request (r->ok false). Fills *ret. */
void diag_token(const struct diag_input *in, const struct entra_result *r,
		struct diag *ret);

/* Diagnose a token whose claims lack SMTP.SendAsApp (in->claims must be
 * set): the API permission or its admin consent is missing. */
void diag_claims(const struct diag_input *in, struct diag *ret);

/* Diagnose a failed test send (r->ok false). A 535 5.7.3 is told apart by
 * in->claims: without SMTP.SendAsApp it is consent, with it the Exchange
 * service principal or mailbox permission. Fills *ret. */
void diag_smtp(const struct diag_input *in, const struct smtp_result *r,
	       struct diag *ret);

#endif
