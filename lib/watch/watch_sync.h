/* watch_sync.h - reconcile a credential's stored secrets with the app's
 * passwordCredentials in Entra, read through Microsoft Graph
 * (`secretwatch sync`; docs/USAGE.md, sync).
 *
 * Per stored secret or certificate (pending, active or previous), matched
 * by key ID in the app's passwordCredentials or keyCredentials, or,
 * lacking one, by a hint that exactly one of them has:
 * - a different expiry in Entra: Entra's date is stored (and the key ID
 *   learnt), audit event "expiry-corrected" with the old and new dates;
 * - not in Entra: audit event "secret-removed-in-entra" and the alert
 *   "secret-removed" (critical for the active secret, else warning) queued
 *   on every channel, both once per secret (a compare-and-set);
 * each change in its own transaction. Credentials in Entra that no stored
 * secret matches are reported as unknown. The Graph read is an audit
 * event ("graph-read") with the key ID of the secret it used and its
 * outcome.
 */
#ifndef SW_WATCH_SYNC_H
#define SW_WATCH_SYNC_H

#include <stdbool.h>

#include "diag.h"
#include "graph.h"
#include "watch_types.h"

#define WATCH_SYNC_SECRETS_MAX 64

/* What became of one stored secret. */
enum watch_sync_outcome {
	WATCH_SYNC_SAME,      /* in Entra, same expiry */
	WATCH_SYNC_CORRECTED, /* expiry (or key ID) taken from Entra */
	WATCH_SYNC_REMOVED,   /* not in Entra (alerted once) */
	WATCH_SYNC_UNMATCHED, /* no key ID and its hint is on several */
};

/* "same", "corrected", "removed", "unmatched". */
const char *watch_sync_outcome_name(enum watch_sync_outcome o);

struct watch_sync_secret {
	struct secret_info before; /* as stored before the sync */
	enum watch_sync_outcome outcome;
	int64_t entra_end; /* Entra's expiry; 0 when not in Entra */
	bool alerted;	   /* this sync queued the removal alert */
};

struct watch_sync_report {
	bool graph_ok;	   /* the application was read */
	bool token_failed; /* no Graph token: diag is a token diagnosis */
	struct diag diag;  /* when !graph_ok */
	bool has_roles;	   /* the Graph token had a roles claim */
	bool can_write;	   /* ... with Application.ReadWrite.OwnedBy/All */
	bool owned_by;	   /* ... with Application.ReadWrite.OwnedBy */
	bool reads_policy; /* ... with Policy.Read.All */
	bool policy_read;  /* policy holds the app's lifetime policy */
	struct graph_policy policy;
	char policy_error[GRAPH_SUMMARY_MAX]; /* when reads_policy only */
	struct graph_app app;		      /* when graph_ok: Entra's view */
	size_t n_secrets;
	struct watch_sync_secret secrets[WATCH_SYNC_SECRETS_MAX];
	/* Indexes into app.passwords of the credentials no stored secret
	 * matches. */
	size_t n_unknown;
	size_t unknown[GRAPH_PASSWORDS_MAX];
	/* The same for certificates: indexes into app.keys. */
	size_t n_unknown_keys;
	size_t unknown_keys[GRAPH_KEYS_MAX];
};

/* Read c's application through a Graph session (graph_session.h) of
 * c's active material (else its newest pending one), and record the
 * read; with policy, also its app management policy where the token may
 * read it (r->policy_read; doctor's step). Returns 0 with r->graph_ok and
 * r->app when read; 0 with r->graph_ok false and r->diag saying why when
 * Graph or the token endpoint refused or failed; -1 with e on store or
 * key errors. No value or token leaves guarded memory. */
int watch_sync_read(struct watch_ctx *w, const struct cred *c, bool policy,
		    struct watch_sync_report *r, struct err *e);

/* watch_sync_read with material m, which is not stored (yet): a new
 * secret's value reads the app it belongs to. m is taken over (freed). */
struct material;
int watch_sync_read_with(struct watch_ctx *w, const struct cred *c,
			 struct material *m, struct watch_sync_report *r,
			 struct err *e);

/* watch_sync_read, then reconcile (see above). w->dry_run: say what
 * would change, change nothing. Returns 0 (r says what happened), or -1
 * with e on store errors. *r is large: allocate it. */
int watch_sync(struct watch_ctx *w, const struct cred *c,
	       struct watch_sync_report *r, struct err *e);

/* The cycle's daily reconciliation of v (policy_next_sync): watch_sync,
 * whose outcome is recorded and alerted there; a Graph failure is not an
 * error of the cycle. Returns 0, or -1 with e on store errors. */
int watch_sync_daily(struct watch_ctx *w, const struct cred_view *v,
		     struct err *e);

#endif
