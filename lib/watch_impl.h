/* watch_impl.h - shared by the watch*.c files only. */
#ifndef SW_WATCH_IMPL_H
#define SW_WATCH_IMPL_H

#include "policy.h"
#include "watch.h"

/* One line to w->log, prefixed "secretwatch: ". */
void watch_log(struct watch_ctx *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Queue an alert about secret si of c on every configured channel. */
int watch_alert_queue(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, const char *event,
		      const char *level, const char *message, struct err *e);

/* Execute one planned action for the credential of v. */
int watch_act(struct watch_ctx *w, const struct cred_view *v,
	      const struct action *a, struct watch_report *r, struct err *e);

/* Record an audit event with a JSON detail built from key/value pairs:
 * NULL-terminated list of (key, string value). */
int watch_event(struct watch_ctx *w, const char *cred, int64_t secret_id,
		const char *kind, struct err *e, ...);

#endif
