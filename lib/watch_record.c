/* watch_record.c - the log line and the audit event every step leaves. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>

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
	cJSON *d = cJSON_CreateObject();
	const char *k, *v;
	char *text;
	va_list ap;
	int rc;

	va_start(ap, e);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		cJSON_AddStringToObject(d, k, v ? v : "");
	}
	va_end(ap);
	text = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	rc = store_event_add(w->store, w->now, cred, secret_id, kind, text, e);
	free(text);
	return rc;
}
