/* watch_sweep.h - the sweep of a reader's tenant (docs/ARCHITECTURE.md
 * §9): every application's and service principal's credentials listed
 * through one Graph session into the inventory, then one warning per
 * app whose credentials entered a warning step, to its owners or the
 * ordinary channels. The same sweep runs in `secretwatch sweep` and in
 * the cycle, every [sweep] interval.
 */
#ifndef SW_WATCH_SWEEP_H
#define SW_WATCH_SWEEP_H

#include <stdbool.h>

#include "diag.h"
#include "graph.h"
#include "watch_types.h"

struct watch_sweep_report {
	bool skipped;	  /* another process's sweep of this tenant is the one
			     that counts: it began moments ago (scheduled
			     only), or after this one and before it ended */
	bool failed;	  /* the tenant could not be read whole */
	struct diag diag; /* why, when failed */
	int objects;	  /* applications and service principals listed */
	int excluded;	  /* of which left out ([sweep] exclude, Microsoft's) */
	int items;	  /* credentials kept */
	int pages;
	int requests;	 /* Graph requests, retries and owner reads included */
	long waited_ms;	 /* throttled, or slowed down near the limit */
	int gone;	 /* credentials Entra no longer has, taken out */
	int apps_due;	 /* apps with credentials in a new warning step */
	int alerts;	 /* of which alerted (queued) by this sweep */
	int owner_reads; /* owner lists read */
	int owners_unreadable; /* of which refused by Graph */
};

/* Sweep the tenant of reader v at w->now, then warn. scheduled (the
 * cycle): leave it to another process that began one less than
 * POLICY_SWEEP_RETRY ago. A sweep that cannot read every page fails and
 * changes nothing it did not see: no credential is taken out, none is
 * warned about on its account. Graph failures are recorded (event
 * "sweep", r->graph_failures) and returned in sr, not as errors: -1
 * only when the store fails. */
int watch_sweep(struct watch_ctx *w, const struct cred_view *v, bool scheduled,
		struct watch_sweep_report *sr, struct watch_report *r,
		struct err *e);

/* What doctor shows of a reader: can it sweep? */
struct watch_sweep_check {
	bool token_ok;	   /* a Graph token was got */
	bool roles_known;  /* its roles claim was decoded */
	bool reads_tenant; /* Application.Read.All or one that has it */
	bool reads_users;  /* User.Read.All or one that has it */
	char roles[256];   /* the token's roles, for the rows */
	struct diag diag;  /* why the token, the role or the page failed */
	bool page_ok;	   /* one page of applications was read */
	int page_objects;  /* on it */
	bool owners_tried; /* there was an app to ask of */
	bool owners_ok;	   /* its owners were read */
	char owners_app[GRAPH_NAME_MAX + 1];
	int owners;	 /* how many */
	int owners_mail; /* with an address Graph gave */
	char owners_error[GRAPH_SUMMARY_MAX];
};

/* Check reader v as doctor does: its Graph token and roles, one page of
 * the tenant's applications, and the owners of the first one listed.
 * Nothing is stored. Returns 0 (ret says what passed), or -1 with e. */
int watch_sweep_check(struct watch_ctx *w, const struct cred_view *v,
		      struct watch_sweep_check *ret, struct err *e);

#endif
