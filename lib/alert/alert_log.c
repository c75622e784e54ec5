/* The log channel: one line per alert through ctx->log (lib/log in both
 * programs), at the priority the alert deserves: journald gets it as the
 * entry's priority, elsewhere the line starts with the program name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alert_impl.h"
#include "timefmt.h"

bool alert_log_configured(const struct config *cfg)
{
	(void)cfg;
	return true;
}

/* crit for what stops mail, warning for what soon will, notice for a
 * switch that went well, info for anything else. */
static int priority(enum alert_event ev)
{
	switch (ev) {
	case ALERT_EXPIRED:
	case ALERT_HEALTH_FAILED:
	case ALERT_SWITCH_FAILED:
	case ALERT_TOKEN_FILE_FAILED:
	case ALERT_SECRET_REMOVED:
		return LOG_CRIT;
	case ALERT_EXPIRY_WARNING:
	case ALERT_ROTATION_FAILED:
	case ALERT_DEPLOY_FAILED:
	case ALERT_APP_EXPIRING:
		return LOG_WARNING;
	case ALERT_SWITCHED:
		return LOG_NOTICE;
	}
	return LOG_INFO;
}

/* One sentence, not two: the message already names the credential, the
 * secret, its expiry and what to do, so the summary and the fields are
 * said only for an alert without one. */
static int alert_line(const struct alert *a, const char *msg, char **ret)
{
	char summary[ALERT_SUMMARY_MAX], expires[TIMEFMT_RFC3339_LEN];
	const char *key = alert_str(a->key_id);

	if (msg[0] != '\0')
		return asprintf(ret, "alert %s (%s): %s",
				alert_event_name(a->event), alert_str(a->level),
				msg);
	alert_summary(a, summary, sizeof(summary));
	timefmt_rfc3339(a->expires_at, expires);
	return asprintf(ret,
			"alert %s (%s): %s (key ID %s, expires %s, %lld days "
			"left)",
			alert_event_name(a->event), alert_str(a->level),
			summary, key[0] ? key : "unknown", expires,
			(long long)a->days_left);
}

int alert_log_send(const struct alert *a, const struct alert_ctx *ctx,
		   struct err *e)
{
	char *msg = NULL, *line = NULL;
	int ret = -1;

	if (ctx == NULL || ctx->log == NULL) {
		err_set(e, "log: nowhere to write");
		return -1;
	}
	if ((msg = alert_oneline(a->message)) == NULL)
		goto oom;
	if (alert_line(a, msg, &line) < 0) {
		line = NULL;
		goto oom;
	}
	errno = 0;
	if (ctx->log(ctx->log_arg, priority(a->event), line) != 0) {
		err_set(e, "log: cannot write: %s", strerror(errno));
		goto out;
	}
	ret = 0;
	goto out;
oom:
	err_set(e, "log: out of memory");
out:
	free(line);
	free(msg);
	return ret;
}
