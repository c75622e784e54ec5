/* watch_impl.h - shared by the watch*.c files only. */
#ifndef SW_WATCH_IMPL_H
#define SW_WATCH_IMPL_H

#include "policy.h"
#include "watch.h"

/* One line at prio (LOG_*) through w->log. */
void watch_log(struct watch_ctx *w, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Queue an alert about secret si of c on every configured channel. */
int watch_alert_queue(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, const char *event,
		      const char *level, const char *message, struct err *e);

/* Execute one planned action for the credential of v. */
int watch_act(struct watch_ctx *w, const struct cred_view *v,
	      const struct action *a, struct watch_report *r, struct err *e);

/* Record an audit event with a JSON detail built from key/value pairs:
 * (key, string value)... WATCH_END. A NULL value is stored as "". */
#define WATCH_END ((const char *)NULL)
int watch_event(struct watch_ctx *w, const char *cred, int64_t secret_id,
		const char *kind, struct err *e, ...);

/* The probe options of a test of si with value (net filled too). */
void watch_probe_opts(const struct watch_ctx *w, const struct vbuf *value,
		      const struct secret_info *si, bool token_only,
		      const char *to, struct net_opts *net,
		      struct probe_opts *o);

/* Store a test's outcome on the secret and in the audit trail; a token
 * obtained goes into the cache. */
int watch_record_test(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, bool token_only,
		      const struct probe_result *pr, struct err *e);

/* After a recorded health check of active secret si: count a failure,
 * and alert when it is new and not transient. */
int watch_health_settle(struct watch_ctx *w, const struct cred *c,
			const struct secret_info *si,
			const struct probe_result *pr, struct watch_report *r,
			struct err *e);

/* Health checks run concurrently, in batches (watch_health.c). */
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

#endif
