/* probe.h - one full check of a credential with one secret value: the
 * token request, the token's claims, and an XOAUTH2 test send. Used by
 * `secretwatch test` and `doctor`, and by the daemon before a switch and
 * for its health checks.
 *
 * The steps run in order and stop at the first failure, which carries the
 * diagnosis (diag.h); the steps after it are skipped.
 */
#ifndef SW_PROBE_H
#define SW_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "diag.h"
#include "entra.h"
#include "jwt.h"
#include "net.h"
#include "smtp.h"

enum probe_step_id {
	PROBE_TENANT,	/* "tenant": the token endpoint knows the tenant */
	PROBE_APP,	/* "app": the app (client ID) is known and enabled */
	PROBE_SECRET,	/* "secret": the secret is valid and unexpired */
	PROBE_ROLE,	/* "role": a token for Exchange with SMTP.SendAsApp */
	PROBE_SMTP,	/* "smtp": the SMTP server answers */
	PROBE_STARTTLS, /* "starttls": STARTTLS and a verified TLS session */
	PROBE_XOAUTH2,	/* "xoauth2": AUTH XOAUTH2 accepted */
	PROBE_SEND_AS,	/* "send-as": sending as the sender is allowed */
	PROBE_ACCEPTED, /* "accepted": the message was accepted */
	PROBE_NSTEPS,
};

enum probe_status {
	PROBE_SKIPPED, /* not run: an earlier step failed, or token only */
	PROBE_PASSED,
	PROBE_FAILED,
};

#define PROBE_DETAIL_MAX 512

struct probe_step {
	enum probe_step_id id;
	const char *name;  /* the stable id above, static storage */
	const char *title; /* for people, static storage */
	enum probe_status status;
	char detail[PROBE_DETAIL_MAX]; /* one line; never the secret/token */
};

struct material;

struct probe_opts {
	/* What to test with: a client secret or a certificate (a row's, or
	 * a value not stored yet); material_token records in it the
	 * assertion signature that worked. */
	struct material *material;
	const char *hint;   /* its hint, for messages; NULL: unknown */
	const char *key_id; /* its key ID, for the message; NULL: unknown */
	const char *to;	    /* NULL or "": cred->test_to, else the sender */
	int64_t passed_at;  /* when it last passed a test; 0: never (for
			     * diag_secret_history) */
	bool token_only;    /* stop after the token steps */
	const struct net_opts *net;	 /* NULL: defaults */
	const struct entra_retry *retry; /* NULL: ENTRA_RETRY_DEFAULT */
	int64_t now;			 /* the clock, injected */
	const char *ehlo_name;		 /* NULL: this host's name */
	long smtp_response_timeout_s;	 /* <= 0: the default */
	/* The whole probe, every attempt and wait of the token request and
	 * the send included, on the monotonic clock (not now); it replaces
	 * retry->deadline_ms. <= 0: PROBE_DEADLINE_DEFAULT_MS. */
	long deadline_ms;
};

#define PROBE_DEADLINE_DEFAULT_MS 90000L

struct probe_result {
	bool ok;	       /* every step run passed */
	enum secret_kind kind; /* of the material tested */
	struct probe_step steps[PROBE_NSTEPS];
	enum probe_step_id failed; /* the failed step, when !ok */
	bool has_diag;		   /* diag is set (when !ok) */
	struct diag diag;
	struct entra_result entra; /* the token request */
	bool claims_ok;		   /* claims were decoded */
	struct jwt_claims claims;
	bool smtp_ran; /* a test send was attempted */
	struct smtp_result smtp;
	/* The access token when one was obtained (also when the send then
	 * failed), with its expiry, so the caller can cache it; sodium
	 * memory, freed by probe_result_free(). */
	struct entra_token token;
};

/* "tenant", "app", ... as in enum probe_step_id. */
const char *probe_step_name(enum probe_step_id id);

/* "skipped", "passed", "failed". */
const char *probe_status_name(enum probe_status s);

/* Check credential c with the secret in o (endpoints from cloud.h). Runs
 * the steps in order, stops at the first failure and diagnoses it; with
 * o->token_only it stops after the role step. The token request retries
 * under o->retry; so does the send, when its failure is transient (a 4xx
 * reply or a network failure, never a 5xx), with the same waits. Each
 * attempt's timeout is cut to what is left of o->deadline_ms; when
 * that runs out the probe stops, diagnosed "network", transient.
 * Returns 0 when every step run passed, else -1; *ret is filled either
 * way and must be released with probe_result_free(), which wipes the
 * token. The secret is only read; nothing in *ret except the token field
 * holds secret material. */
int probe_run(const struct cred *c, const struct probe_opts *o,
	      struct probe_result *ret);

/* Whether a failed probe r ended before any server judged the material:
 * a TLS or transport fault (a wrong [tls] ca_file among them), the
 * network, or an authority URL that is no token endpoint. Such a failure
 * says nothing about the secret and must not count against it. */
bool probe_inconclusive(const struct probe_result *r);

/* Wipe and free the token in r and clear r. r may be NULL. */
void probe_result_free(struct probe_result *r);

#endif
