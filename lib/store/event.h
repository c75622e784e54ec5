/* event.h - the audit trail's entries, built in one place: the detail of
 * an event is a JSON object, stored as its text (store_event_add()). */
#ifndef SW_EVENT_H
#define SW_EVENT_H

#include <stdarg.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "store.h"

/* Record an event of kind at time at, for credential cred (NULL: none)
 * and secret_id (<= 0: none), with detail (NULL: "{}"). Takes detail and
 * frees it, whatever the outcome. Returns 0, or -1 with e. */
int event_add(struct store *s, int64_t at, const char *cred, int64_t secret_id,
	      const char *kind, cJSON *detail, struct err *e);

/* event_add() with a detail of string fields: the arguments after e are
 * name, value pairs (a NULL value is stored as ""), ended by EVENT_END. */
#define EVENT_END ((const char *)NULL)
int event_addf(struct store *s, int64_t at, const char *cred, int64_t secret_id,
	       const char *kind, struct err *e, ...);

/* event_addf() with the pairs in ap. */
int event_addv(struct store *s, int64_t at, const char *cred, int64_t secret_id,
	       const char *kind, struct err *e, va_list ap);

#endif
