/* policy.h - pure decisions: no clock reads, no I/O. Everything it needs
 * (now, the records, the config) is passed in. */
#ifndef SW_POLICY_H
#define SW_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "cred.h"

enum level {
	LEVEL_OK,
	LEVEL_WARNING,
	LEVEL_CRITICAL,
	LEVEL_EXPIRED,
	LEVEL_UNKNOWN,
};

const char *policy_level_name(enum level l);

/* The code of a level: 0 ok, 1 warning, 2 critical or expired, 3
 * unknown. The exit code of `secretwatch status` (as Nagios reads it)
 * and the value of the secretwatch_credential_level metric. */
int policy_level_exit(enum level l);

/* The worse of two levels for an overall status: critical and expired
 * first, then warning, then unknown, then ok. */
enum level policy_level_worst(enum level a, enum level b);

/* The secret a credential runs on: the active one, else the newest
 * pending one (*ret_untested = 1), else NULL. */
const struct secret_info *policy_secret_in_use(const struct cred_view *v,
					       int *ret_untested);

/* A credential's level at now (docs/USAGE.md, Levels). */
enum level policy_level(const struct cred_view *v, int64_t now,
			const struct config *cfg);

/* What the watchdog should do for one credential now (docs/ARCHITECTURE.md §2).
 */
enum action_kind {
	ACTION_WARN,   /* alert: secret_id crossed threshold days */
	ACTION_SWITCH, /* test pending secret_id, make it active on success */
	ACTION_HEALTH, /* token request with the active secret_id */
	ACTION_ROTATE, /* make a new secret through Graph (or finish an
			  intent left open) */
	ACTION_REVOKE, /* remove previous secrets (after grace) and unused
			  rotation-made ones from Entra */
	ACTION_SYNC,   /* reconcile with Entra through Graph (daily) */
	ACTION_SWEEP,  /* read the tenant's app credentials ([sweep]) */
};

struct action {
	enum action_kind kind;
	int64_t secret_id;
	int threshold; /* ACTION_WARN: days before expiry, 0 = expired */
};

#define POLICY_ACTIONS_MAX 6

struct plan {
	struct action actions[POLICY_ACTIONS_MAX];
	int n;
	/* The next time something is due for this credential: a threshold
	 * crossing, a switch retry or a health check (never later than
	 * now + interval). */
	int64_t wake_at;
};

/* Decide for one credential at now. Pure: the same inputs give the same
 * plan. Warnings: for the secret in use, the smallest threshold crossed
 * and not yet alerted (thresholds at or above warned_min count as done).
 * Switch: the pending secret that expires latest, if later than the
 * active one (or any, when none is active), once its next try is due.
 * Health: the active secret every test_active_every, unless a switch is
 * due. */
void policy_plan(const struct cred_view *v, int64_t now,
		 const struct config *cfg, struct plan *ret);

/* The smallest of thresholds[n] (days before expires_at; 0, expiry
 * itself, always counts) crossed at now and not yet alerted (those at or
 * above warned_min count as done; -1: none alerted), or -1. */
int policy_due_threshold(int64_t expires_at, int warned_min,
			 const int *thresholds, int n, int64_t now);

/* A failed or interrupted sweep is tried again this long after it
 * began (or at [sweep] interval, when that is sooner). */
#define POLICY_SWEEP_RETRY 3600

/* When reader v sweeps next: [sweep] interval after its last finished
 * sweep, but not before POLICY_SWEEP_RETRY after its last one began; 0
 * when v is no reader or has no secret to read with. */
int64_t policy_next_sweep(const struct cred_view *v, const struct config *cfg);

/* The pending secret a switch would try (NULL when none qualifies),
 * ignoring when it is due. */
const struct secret_info *policy_switch_candidate(const struct cred_view *v);

/* The level of a warning alert for threshold days before expiry: expired
 * at 0, critical when threshold days are within cfg->level_critical,
 * else warning. */
enum level policy_warn_level(int threshold, const struct config *cfg);

/* After a failed switch test of si at now: true to try again, with the
 * first try's time in *ret_first (now when si had none) and the next in
 * *ret_next; false to give up, once switch_window has passed since the
 * first try. The wait adapts to a secret Entra has not replicated yet:
 * POLICY_SWITCH_FIRST_RETRY after the first try, then the time since
 * the first try (so the waits double), at most switch_retry. */
bool policy_switch_retry(const struct secret_info *si, int64_t now,
			 const struct config *cfg, int64_t *ret_first,
			 int64_t *ret_next);

#define POLICY_SWITCH_FIRST_RETRY 5

/* Automatic rotation (docs/ARCHITECTURE.md §6, [rotate]). A failed attempt
 * (Graph refused) is tried again this long after it. */
#define POLICY_ROTATE_RETRY 86400

/* When the active secret of v is due for rotation (expires_at minus
 * rotate_before), or 0 when v does not rotate automatically or has no
 * active secret. */
int64_t policy_next_rotation(const struct cred_view *v,
			     const struct config *cfg);

/* Whether the cycle should rotate v at now: an intent left open (to
 * clean up and try again), or rotate = auto, the active secret has
 * rotate_before or less left, no newer pending secret exists, and no
 * attempt was made in the last POLICY_ROTATE_RETRY. */
bool policy_rotate_due(const struct cred_view *v, int64_t now,
		       const struct config *cfg);

/* The endDateTime to ask for at now: now + rotate_lifetime, no later than
 * now + max_lifetime when a policy names one (max_lifetime > 0). */
int64_t policy_rotate_end(int64_t now, const struct config *cfg,
			  int64_t max_lifetime);

/* How often the cycle reconciles a credential with Entra. */
#define POLICY_SYNC_EVERY 86400

/* When the cycle next reads v's application through Graph to reconcile
 * (watch_sync): POLICY_SYNC_EVERY after the last Graph read, for a
 * credential with rotate = auto and a secret to read with; 0 when none. */
int64_t policy_next_sync(const struct cred_view *v);

/* When v's previous secrets may be removed from Entra: rotate_grace after
 * the switch to the active one; 0 when v does not rotate automatically,
 * has none to remove, or the active secret's deploy is owed or failed
 * (a failed deploy blocks revocation). */
int64_t policy_revoke_at(const struct cred_view *v, const struct config *cfg);

/* Whether a failed deploy of c's active secret, which had failed attempts
 * times before, deserves an alert: once per deploy (on its first failure),
 * for a credential that rotates automatically, whose old secrets stay in
 * Entra until a deploy succeeds. */
bool policy_deploy_alert(const struct cred *c, int attempts);

/* Whether a failed health check of active secret si (as it was before
 * this check was recorded) deserves an alert: only on the change from
 * working (or never tested) to failing, and not when the failure is
 * transient (Microsoft or the network only slow or busy). */
bool policy_health_alert(const struct secret_info *si, bool transient);

/* An alert or deploy this late is noise: delivery gives up. */
#define POLICY_DELIVERY_GIVE_UP (3 * 86400)

/* The next try of a delivery created at created_at that failed attempts
 * times before the failure at now: 60 s doubling per attempt, capped at
 * interval (never past INT64_MAX); 0 (give up) once now is
 * POLICY_DELIVERY_GIVE_UP or more after created_at. */
int64_t policy_delivery_retry(int64_t created_at, int attempts, int64_t now,
			      int64_t interval);

/* Token files (docs/USAGE.md, Token files): refreshed when less than this
 * remains, and tried again this long after a failed refresh. */
#define POLICY_TOKEN_REFRESH 600
#define POLICY_TOKEN_RETRY   60

/* Whether the token file of v (opted in) should be written at now: when
 * there is none (present false), when it holds a token of another
 * secret than the active one, or when its token has less than
 * POLICY_TOKEN_REFRESH left. Never without an active secret. */
bool policy_token_file_due(const struct cred_view *v, bool present,
			   int64_t now);

/* After a failed refresh at now, or with no active secret: whether the
 * token file must go because the token in it has expired (an expired
 * token is worse than none). */
bool policy_token_file_drop(const struct cred *c, bool present, int64_t now);

/* Whether a failed refresh deserves an alert: once per failure streak
 * (token_file_failed_at unset), and only when no valid token is left in
 * the file (valid_left false): a refresh that fails while the old token
 * still serves is tried again first. */
bool policy_token_file_alert(const struct cred *c, bool valid_left);

/* The next time the token file of v needs a cycle: POLICY_TOKEN_REFRESH
 * before its token expires, or after a failed refresh the next try (and
 * the expiry, to remove it, when that comes first); 0 when none. */
int64_t policy_token_file_wake(const struct cred_view *v, int64_t now);

#endif
