/* watch.h - one watchdog cycle (DESIGN.md §7): ask policy, then act —
 * warn, test and switch secrets, check the active ones, queueing what is
 * owed — then deliver, recording every step in the audit trail. The same cycle
 * runs in `secretwatch check` and in each tick of secretwatchd.
 *
 * Deliveries that are owed (an alert on one channel, a deploy hook) are
 * written to the store's outbox in the same transaction as the change
 * that causes them, then delivered; a crash in between is made good by
 * the next cycle.
 */
#ifndef SW_WATCH_H
#define SW_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "diag.h"
#include "entra.h"
#include "log.h"
#include "probe.h"
#include "store.h"
#include "token.h"

struct watch_ctx {
	struct store *store;
	const struct vault *vault;
	const struct config *cfg;
	int64_t now;
	bool dry_run; /* watch_cycle: plan and report, change and send
			 nothing */
	log_fn *log;  /* one line per step, never a secret; NULL: silent */
	void *log_arg;
	const struct entra_retry *retry; /* NULL: ENTRA_RETRY_DEFAULT */
	/* When set and it becomes non-zero, the cycle stops between steps. */
	volatile sig_atomic_t *stop;
	/* NULL, or the tick of the transfers of watch_test() (net.h): a
	 * front end's progress line while a test waits. */
	int (*tick)(void *arg, int proto);
	void *tick_arg;
};

struct watch_report {
	int credentials;
	int levels[5]; /* per enum level */
	int warnings;  /* alerts queued */
	int switches;
	int switch_retries;
	int switch_failures;
	int health_checks;
	int health_failures;
	int delivered;
	int delivery_failures; /* attempts that failed (retried later) */
	int deploy_failures;   /* of which deploy hook runs */
	int rotations;	       /* new secrets made through Graph */
	int revocations;       /* old secrets removed from Entra */
	int graph_failures;    /* Graph calls that failed */
	int64_t next_wake;     /* the earliest deadline found */
};

/* One line for people on what cycle r did, as `secretwatch check` and
 * secretwatchd print it: the credentials by level, the warnings,
 * switches, health checks and deliveries, and the next check. */
void watch_report_line(const struct watch_report *r, char *out, size_t size);

/* Run one cycle at w->now. Returns 0, or -1 with e filled when the store
 * failed (a failing probe or channel is not an error: it is recorded). */
int watch_cycle(struct watch_ctx *w, struct watch_report *r, struct err *e);

/* After a cycle that ran (not a dry run): the [alerts] heartbeat_url
 * GET, its "/fail" when failed (alert_heartbeat_send). When stop is set
 * and becomes non-zero (a signal), the GET ends at once instead of
 * waiting out a stalled receiver. Returns 0 when sent or none is
 * configured, -1 with e; the caller logs a failure and goes on, the
 * cycle's outcome is not changed by it. */
int watch_heartbeat(const struct config *cfg, bool failed,
		    volatile sig_atomic_t *stop, struct err *e);

/* Deliver what the outbox owes at w->now (part of every cycle). */
int watch_deliver(struct watch_ctx *w, struct watch_report *r, struct err *e);

/* Test a pending secret of c now (secret_id 0: the one a switch would
 * pick, else the newest pending) and switch to it on success, queueing
 * the "switched" alert and the deploy hook: a person asked, so a failure
 * is not retried (watch_switch.c). *pr holds the test (release with
 * probe_result_free). Returns 0 when switched, 1 when the test failed,
 * WATCH_SWITCH_LOST (e says why) when the secret passed but was retired
 * or switched to by another process meanwhile, -1 with e on other
 * errors. */
#define WATCH_SWITCH_LOST 2
int watch_switch_now(struct watch_ctx *w, const struct cred *c,
		     int64_t secret_id, struct probe_result *pr, struct err *e);

/* What a rotation makes (watch_rotate.c): the kind follows the active
 * material's (watch_rotation_of), except for a move to a certificate. */
struct watch_rotation {
	enum secret_kind kind;
	int days;	  /* certificates: valid this long (0: [rotate]) */
	int bits;	  /* certificates: 2048 or 3072 (0: 2048) */
	const char *note; /* NULL: the rotation's display name only */
	/* A person's own (cert new --upload, migrate): a certificate made
	 * here stays pending when Graph refuses it (to be uploaded by hand),
	 * and what is made is not the watchdog's to remove from Entra when
	 * it fails or is superseded. Else the watchdog's (made_by_rotation). */
	bool manual;
	/* The watchdog's own, when the active one nears its expiry: what
	 * would expire before the active one is not made at all. */
	bool scheduled;
};

/* A rotation of v's kind, with the defaults. */
void watch_rotation_of(const struct cred_view *v, struct watch_rotation *ret);

/* What watch_rotate_new did, or (dry run) would do. */
struct watch_new_report {
	enum secret_kind kind;
	char display_name[ROTATION_NAME_MAX + 1]; /* dry run: before " #N" */
	int64_t end;	      /* the endDateTime asked for */
	const char *add_call; /* dry run: "addPassword", "addKey", ... */
	bool recover;	      /* an interrupted rotation was (to be) found */
	bool reused;	   /* secret is one made earlier, still waiting for its
			      switch: none was made */
	bool in_flight;	   /* another process is rotating it */
	bool graph_failed; /* Graph refused: diag says why */
	struct diag diag;  /* when graph_failed */
	/* The new pending row, when made (or kept: manual). */
	struct secret_info secret;
};

/* Steps a-c of a rotation of v: finish an intent left open (remove what
 * it left in Entra), write a new intent, make the material of want's
 * kind, add it to the application (addPassword; addKey with a proof of
 * the active certificate; or an upload of the keyCredentials collection)
 * with an end date [rotate] lifetime out (or the longest a lifetime
 * policy allows), and store it pending with Entra's key ID in the
 * transaction that closes the intent. Returns 0 with nr->secret made;
 * 1 when nothing was made (nr says why: dry run, in flight, Graph
 * failed, recorded and alerted); -1 with e. The switch is step d
 * (watch_rotate_switch). */
int watch_rotate_new(struct watch_ctx *w, const struct cred_view *v,
		     const struct watch_rotation *want,
		     struct watch_new_report *nr, struct watch_report *r,
		     struct err *e);

/* Step d: test pending row id of credential name now (its view read
 * again) as the watchdog does: switch to it on success, else schedule
 * its next try (policy_switch_retry). Returns as watch_switch_now. */
int watch_rotate_switch(struct watch_ctx *w, const char *name, int64_t id,
			struct probe_result *pr, struct watch_report *r,
			struct err *e);

/* Test secret si of c (token_only: stop after the token) and record the
 * outcome on the secret and in the audit trail; a token obtained is
 * cached. to: recipient, NULL for the credential's test address. Returns
 * 0 when it passed, 1 when it failed, -1 with e on other errors. */
int watch_test(struct watch_ctx *w, const struct cred *c,
	       const struct secret_info *si, bool token_only, const char *to,
	       struct probe_result *pr, struct err *e);

/* Where w gets Outlook tokens from (lib/token), with net filled. */
void watch_token_src(const struct watch_ctx *w, struct net_opts *net,
		     struct token_src *ret);

#endif
