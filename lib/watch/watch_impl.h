/* watch_impl.h - shared by the watch*.c files only.
 *
 * One cycle reads top to bottom: watch.c plans every credential and, for
 * the few with work due, calls the acting steps (watch_warn.c,
 * watch_switch.c, watch_health.c, watch_rotate.c, watch_revoke.c,
 * watch_sync.c); these test secrets (watch_verify.c), change the store and
 * queue what is owed (watch_queue.c). After them watch.c delivers the
 * outbox (watch_deliver.c). No step calls back up.
 */
#ifndef SW_WATCH_IMPL_H
#define SW_WATCH_IMPL_H

#include "alert.h"
#include "event.h"
#include "policy.h"
#include "token.h"
#include "watch_deliver.h"
#include "watch_rotate.h"
#include "watch_switch.h"
#include "watch_types.h"
#include "watch_verify.h"

/* watch_record.c: what every step leaves behind, and uses. */

/* One line at prio (LOG_*) through w->log. */
void watch_log(struct watch_ctx *w, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A Graph call that failed: counted (r and the store's counter), logged,
 * and recorded as event kind with key_id, its diagnosis step (or NULL)
 * and summary. Returns 0, or -1 with e. */
int watch_record_graph_failed(struct watch_ctx *w, const char *cred,
			      int64_t secret_id, const char *kind,
			      const char *key_id, const char *step,
			      const char *summary, struct watch_report *r,
			      struct err *e);
/* A key removed from Entra (what: "client secret", "certificate key"):
 * logged and recorded with why. Returns 0, or -1 with e. */
int watch_record_removed(struct watch_ctx *w, const char *cred,
			 const char *what, const char *key_id, const char *why,
			 struct err *e);

/* watch_queue.c: deliveries owed, as outbox rows only (inside the
 * caller's transaction); watch_deliver.c sends them. */

/* Queue an alert about secret si of c on every configured channel. */
int watch_queue_alert(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, enum alert_event event,
		      enum level level, const char *message, struct err *e);

/* Queue alert payload (JSON, as alert_payload writes it) for c on its
 * channels, about secret_id (0: none of c's): every configured channel,
 * or to an app's owners (owners) the log and one mail. Mail is owed
 * only when c has a mailbox to send through. */
int watch_queue_payload(struct watch_ctx *w, const struct cred *c,
			int64_t secret_id, const char *payload, bool owners,
			struct err *e);

/* Queue the deploy hook for si, now c's active secret (when one is
 * configured). */
int watch_queue_deploy(struct watch_ctx *w, const struct cred *c,
		       const struct secret_info *si, struct err *e);

/* watch_verify.c: testing one secret. */

struct material;
/* The probe options of a test of si with its material m (net filled
 * too). */
void watch_probe_opts(const struct watch_ctx *w, struct material *m,
		      const struct secret_info *si, bool token_only,
		      const char *to, struct net_opts *net,
		      struct probe_opts *o);

/* Store a test's outcome on the secret and in the audit trail; a token
 * obtained goes into the cache, and the assertion signature m learned
 * (m may be NULL) into the row. */
int watch_record_test(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, bool token_only,
		      const struct probe_result *pr, struct material *m,
		      struct err *e);

/* The acting steps of a cycle, one action each. */

/* watch_warn.c: alert that a secret crossed a threshold (ACTION_WARN). */
int watch_warn(struct watch_ctx *w, const struct cred_view *v,
	       const struct action *a, struct watch_report *r, struct err *e);

/* watch_switch.c: test pending secret id of v and switch to it when it
 * passes (ACTION_SWITCH; manual: a person asked, so a failure is not
 * retried). *pr holds the test. Returns as watch_rotate does. */
int watch_switch(struct watch_ctx *w, const struct cred_view *v, int64_t id,
		 bool manual, struct probe_result *pr, struct watch_report *r,
		 struct err *e);

/* watch_health.c: health checks (ACTION_HEALTH) run concurrently, in
 * batches. */
struct health_job;
struct health_batch {
	struct health_job *jobs;
	size_t n;
};
/* Take the active secret of v into the batch; runs the batch when full. */
int watch_health_add(struct watch_ctx *w, struct health_batch *b,
		     const struct cred_view *v, struct watch_report *r,
		     struct err *e);
/* Run what the batch holds, record and settle each; empties it. */
int watch_health_flush(struct watch_ctx *w, struct health_batch *b,
		       struct watch_report *r, struct err *e);
void watch_health_free(struct health_batch *b);

/* watch_rotate.c: automatic rotation through Graph (ACTION_ROTATE), of
 * the active material's kind: watch_rotate_new, then the switch of the
 * new material at once (it is retried soon when Entra has not
 * replicated it yet). Graph failures are recorded and alerted, not
 * returned: -1 only on store errors. */
int watch_rotate_step(struct watch_ctx *w, const struct cred_view *v,
		      struct watch_report *r, struct err *e);

/* watch_revoke.c: remove v's previous secrets and certificates from
 * Entra and mark them revoked (ACTION_REVOKE; the policy decided the
 * grace has passed and the deploy succeeded). The active material's key
 * is never removed. -1 only on store errors. */
int watch_revoke(struct watch_ctx *w, const struct cred_view *v,
		 struct watch_report *r, struct err *e);

/* watch_sweep_warn.c: after a sweep of c's tenant read every page, one
 * alert per app with credentials in a new [sweep] warn_days step, each
 * marked once (a compare-and-set per credential and step); owners read
 * through session s. -1 only when the store fails. */
struct graph_session;
struct watch_sweep_report;
int watch_sweep_warn(struct watch_ctx *w, const struct cred *c,
		     struct graph_session *s, struct watch_sweep_report *sr,
		     struct err *e);

/* watch_tokens.c: keep the token files of the credentials that opted in
 * ([tokens] dir), and move r->next_wake to their next refresh. Failures
 * are logged and alerted, not returned: -1 only when the store fails. */
int watch_tokens(struct watch_ctx *w, struct watch_report *r, struct err *e);

#endif
