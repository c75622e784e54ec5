/* diag.h - from a failure to the setup step that is broken and its remedy
 * (docs/ARCHITECTURE.md §7), with the commands filled in with the credential's
 * own values.
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
#include <stdint.h>

#include "cred.h"
#include "entra.h"
#include "err.h"
#include "graph.h"
#include "jwt.h"
#include "smtp.h"

#define DIAG_SUMMARY_MAX  512
#define DIAG_REMEDY_MAX	  4096
#define DIAG_EVIDENCE_MAX 1024

/* The setup step a failure points at. */
enum diag_step {
	DIAG_STEP_UNKNOWN,		  /* "unknown" */
	DIAG_STEP_TENANT,		  /* "tenant" */
	DIAG_STEP_CLIENT_ID,		  /* "client-id" */
	DIAG_STEP_APP_DISABLED,		  /* "app-disabled" */
	DIAG_STEP_SECRET_VALUE,		  /* "secret-value" */
	DIAG_STEP_SECRET_EXPIRED,	  /* "secret-expired" */
	DIAG_STEP_SECRET_MISSING,	  /* "secret-missing" */
	DIAG_STEP_SCOPE,		  /* "scope" */
	DIAG_STEP_CONDITIONAL_ACCESS,	  /* "conditional-access" */
	DIAG_STEP_NETWORK,		  /* "network" */
	DIAG_STEP_TOKEN_ENDPOINT,	  /* "token-endpoint" */
	DIAG_STEP_TRANSPORT,		  /* "transport" */
	DIAG_STEP_API_PERMISSION,	  /* "api-permission" */
	DIAG_STEP_EXCHANGE_PERMISSION,	  /* "exchange-permission" */
	DIAG_STEP_SMTP_AUTH_MAILBOX,	  /* "smtp-auth-mailbox" */
	DIAG_STEP_SMTP_AUTH_TENANT,	  /* "smtp-auth-tenant" */
	DIAG_STEP_SECURITY_DEFAULTS,	  /* "security-defaults" */
	DIAG_STEP_SMTP_AUTH,		  /* "smtp-auth" */
	DIAG_STEP_SMTP_NOT_AUTHENTICATED, /* "smtp-not-authenticated" */
	DIAG_STEP_SEND_AS,		  /* "send-as" */
	DIAG_STEP_SMTP_CONCURRENCY,	  /* "smtp-concurrency" */
	DIAG_STEP_SENDER_RESTRICTED,	  /* "sender-restricted" */
	DIAG_STEP_SENDING_LIMIT,	  /* "sending-limit" */
	DIAG_STEP_SMTP_CONFIG,		  /* "smtp-config" */
	DIAG_STEP_SMTP_TEMPORARY,	  /* "smtp-temporary" */
	DIAG_STEP_GRAPH_PERMISSION,	  /* "graph-permission" */
	DIAG_STEP_GRAPH_APP,		  /* "graph-app" */
	DIAG_STEP_SECRET_POLICY,	  /* "secret-lifetime-policy" */
	DIAG_STEP_CERT_UNKNOWN,		  /* "certificate-unknown" */
	DIAG_STEP_CLOCK_SKEW,		  /* "clock-skew" */
	DIAG_STEP_CERT_EXPIRED,		  /* "certificate-expired" */
	DIAG_STEP_CLIENT_AUTH,		  /* "client-authentication" */
	DIAG_STEP_SMTP_TOKEN_REFUSED,	  /* "smtp-token-refused" */
	DIAG_STEP_GRAPH_READ,		  /* "graph-read-permission" */
	DIAG_STEP_SECRET_REVOKED,	  /* "secret-revoked" */
	DIAG_STEP_COUNT,
};

/* The step's stable id (scripts and tests match them; it is what JSON,
 * the database and the terminal show), static storage. "unknown" for a
 * value out of range. */
const char *diag_step_name(enum diag_step s);

struct diag {
	enum diag_step step;
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

/* Diagnose a failed token request (r->ok false). One that ran out of
 * time (r->deadline) is "network", transient. An OAuth error without an
 * AADSTS code (RFC 6749 §5.2, as servers other than Entra ID send it)
 * is diagnosed from its error alone and says only what the server said:
 * invalid_client is "client-authentication" (the client ID or the
 * secret, which the server does not tell apart), invalid_scope "scope",
 * any other "unknown"; none of them asks for an AADSTS code or a
 * correlation ID the reply does not have. Fills *ret. */
void diag_token(const struct diag_input *in, const struct entra_result *r,
		struct diag *ret);

/* A "secret-value" diagnosis d (AADSTS7000215) of a secret that passed a
 * test at passed_at: a secret that worked was deleted or revoked in
 * Entra, not pasted wrong, so d becomes "secret-revoked" (its evidence
 * kept). Any other d, or passed_at 0 (never passed), is left as it is. */
void diag_secret_history(const struct diag_input *in, int64_t passed_at,
			 struct diag *d);

/* Diagnose a token request refused (r->ok false) for a certificate past
 * its notAfter: "certificate-expired". Fills *ret. */
void diag_cert_expired(const struct diag_input *in,
		       const struct entra_result *r, struct diag *ret);
/* Diagnose a token whose claims lack SMTP.SendAsApp (in->claims must be
 * set): the API permission or its admin consent is missing. */
void diag_claims(const struct diag_input *in, struct diag *ret);

/* Diagnose a failed test send (r->ok false). A 535 5.7.3 is told apart by
 * in->claims: without SMTP.SendAsApp it is consent, with it the Exchange
 * service principal or mailbox permission. A server that offered XOAUTH2
 * and refused the token with XOAUTH2's error challenge (r->challenged),
 * or refused it without a reply of its own, is "smtp-token-refused",
 * with the challenge's status and scope; one whose EHLO did not offer
 * XOAUTH2 is "smtp-not-authenticated". A 4xx reply without a row of
 * its own (421 4.3.2, 451 4.7.0, 454 4.7.0, ...) is "smtp-temporary",
 * transient; a send that ran out of time (r->deadline) is "network",
 * transient. Fills *ret. */
void diag_smtp(const struct diag_input *in, const struct smtp_result *r,
	       struct diag *ret);

/* Diagnose a failed Graph call (r->ok false), by HTTP status and Graph
 * error code: 403 is the Graph permission or the app's ownership of
 * itself (the remedy names Application.ReadWrite.OwnedBy and the exact
 * Graph PowerShell and az commands, with in->claims' oid as the service
 * principal when the credential has no object ID), 404 the client ID or
 * cloud, an app management policy refusal the policy and its longest
 * lifetime, 429 and 5xx Microsoft or the network. app_object_id is the
 * app registration's Object ID and max_lifetime the longest lifetime a
 * policy allows (an ISO-8601 duration such as P90D), as read from Graph;
 * NULL when not known (max_lifetime is then taken from the error message
 * when it names one). Fills *ret. */
void diag_graph(const struct diag_input *in, const struct graph_result *r,
		const char *app_object_id, const char *max_lifetime,
		struct diag *ret);

/* Diagnose a reader of its tenant ([sweep]) that may not list it: its
 * token lacks a role that reads applications (r NULL; in->claims set),
 * or Graph refused a listing (r: 403 or Authorization_RequestDenied).
 * The remedy names Application.Read.All and admin consent. Any other
 * failed call is diagnosed as diag_graph does. Fills *ret. */
void diag_reader(const struct diag_input *in, const struct graph_result *r,
		 struct diag *ret);

/* The longest lifetime an app management policy allows, as a Graph error
 * message names it: the first ISO-8601 duration "P<n>D" (or P<n>M, P<n>Y)
 * in message, copied into out. Returns 0, or -1 when there is none. */
int diag_graph_max_lifetime(const char *message, char *out, size_t size);

/* Check the table of diagnoses: every row has a step, a title, a summary
 * and a remedy, and names only placeholders that are filled in. Returns
 * 0, or -1 with e naming the first bad row. For the tests. */
int diag_table_check(struct err *e);

#endif
