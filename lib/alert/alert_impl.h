/* alert_impl.h - shared by the alert*.c files only: each channel's two
 * functions, which alert.c puts into the table, and the wording helpers.
 */
#ifndef SW_ALERT_IMPL_H
#define SW_ALERT_IMPL_H

#include "alert.h"

bool alert_log_configured(const struct config *cfg);
int alert_log_send(const struct alert *a, const struct alert_ctx *ctx,
		   struct err *e);

bool alert_email_configured(const struct config *cfg);
int alert_email_send(const struct alert *a, const struct alert_ctx *ctx,
		     struct err *e);

bool alert_webhook_configured(const struct config *cfg);
int alert_webhook_count(const struct config *cfg);

bool alert_exec_configured(const struct config *cfg);
int alert_exec_send(const struct alert *a, const struct alert_ctx *ctx,
		    struct err *e);

/* s, or "" when s is NULL. */
const char *alert_str(const char *s);

#endif
