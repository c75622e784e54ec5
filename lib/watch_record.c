/* watch_record.c - the log line and the audit event every step leaves. */
#include <stdarg.h>
#include <stdio.h>

#include "event.h"
#include "watch_impl.h"

void watch_log(struct watch_ctx *w, int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (w->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w->log(w->log_arg, prio, line);
}

int watch_event(struct watch_ctx *w, const char *cred, int64_t secret_id,
		const char *kind, struct err *e, ...)
{
	va_list ap;
	int rc;

	va_start(ap, e);
	rc = event_addv(w->store, w->now, cred, secret_id, kind, e, ap);
	va_end(ap);
	return rc;
}
