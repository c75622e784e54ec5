#include "event.h"

#include <stdlib.h>

int event_add(struct store *s, int64_t at, const char *cred, int64_t secret_id,
	      const char *kind, cJSON *detail, struct err *e)
{
	char *text = detail != NULL ? cJSON_PrintUnformatted(detail) : NULL;
	int rc;

	rc = store_event_add(s, at, cred, secret_id, kind, text, e);
	free(text);
	cJSON_Delete(detail);
	return rc;
}

int event_addv(struct store *s, int64_t at, const char *cred, int64_t secret_id,
	       const char *kind, struct err *e, va_list ap)
{
	cJSON *d = cJSON_CreateObject();
	const char *k, *v;

	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		cJSON_AddStringToObject(d, k, v ? v : "");
	}
	return event_add(s, at, cred, secret_id, kind, d, e);
}

int event_addf(struct store *s, int64_t at, const char *cred, int64_t secret_id,
	       const char *kind, struct err *e, ...)
{
	va_list ap;
	int rc;

	va_start(ap, e);
	rc = event_addv(s, at, cred, secret_id, kind, e, ap);
	va_end(ap);
	return rc;
}
