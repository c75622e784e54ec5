/* The log channel: one line per alert on ctx->log. Under systemd the line
 * starts with a kernel-style priority prefix ("<2>"), which journald turns
 * into the entry's priority; elsewhere it starts with the program name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alert_impl.h"
#include "num.h"
#include "timefmt.h"

bool alert_log_configured(const struct config *cfg)
{
	(void)cfg;
	return true;
}

/* crit for what stops mail, warning for what soon will, notice for a
 * switch that went well, info for anything else. */
static int priority(const char *event)
{
	if (strcmp(event, "expired") == 0 ||
	    strcmp(event, "health-failed") == 0 ||
	    strcmp(event, "switch-failed") == 0)
		return 2;
	if (strcmp(event, "expiry-warning") == 0)
		return 4;
	if (strcmp(event, "switched") == 0)
		return 5;
	return 6;
}

/* True when $JOURNAL_STREAM ("DEV:INODE", set by systemd for a service
 * whose output goes to the journal) names the file f writes to. Matching
 * the descriptor, as systemd's documentation advises, keeps the prefix out
 * of a file or terminal that inherited the variable. */
static bool to_journal(FILE *f)
{
	const char *js = getenv("JOURNAL_STREAM");
	const char *colon;
	char dev[32];
	int64_t d, ino;
	struct stat st;
	int fd;

	if (js == NULL || (colon = strchr(js, ':')) == NULL ||
	    (size_t)(colon - js) >= sizeof(dev))
		return false;
	memcpy(dev, js, (size_t)(colon - js));
	dev[colon - js] = '\0';
	if (num_parse_i64(dev, 0, INT64_MAX, &d) != 0 ||
	    num_parse_i64(colon + 1, 0, INT64_MAX, &ino) != 0)
		return false;
	if ((fd = fileno(f)) < 0 || fstat(fd, &st) != 0)
		return false;
	return (uint64_t)st.st_dev == (uint64_t)d &&
	       (uint64_t)st.st_ino == (uint64_t)ino;
}

int alert_log_send(const struct alert *a, const struct alert_ctx *ctx,
		   struct err *e)
{
	char summary[ALERT_SUMMARY_MAX], expires[TIMEFMT_RFC3339_LEN];
	char prefix[80];
	const char *key = alert_str(a->key_id);
	char *msg = NULL;
	int ret = -1;

	if (ctx == NULL || ctx->log == NULL) {
		err_set(e, "log: nowhere to write");
		return -1;
	}
	if ((msg = alert_oneline(a->message)) == NULL) {
		err_set(e, "log: out of memory");
		return -1;
	}
	alert_summary(a, summary, sizeof(summary));
	timefmt_rfc3339(a->expires_at, expires);
	if (to_journal(ctx->log))
		snprintf(prefix, sizeof(prefix), "<%d>",
			 priority(alert_str(a->event)));
	else
		snprintf(prefix, sizeof(prefix),
			 "%s: ", program_invocation_short_name);

	clearerr(ctx->log);
	fprintf(ctx->log,
		"%salert %s: %s (key ID %s, expires %s, %lld days left, "
		"level %s)%s%s\n",
		prefix, alert_str(a->event), summary, key[0] ? key : "unknown",
		expires, (long long)a->days_left, alert_str(a->level),
		msg[0] ? ": " : "", msg);
	if (fflush(ctx->log) != 0 || ferror(ctx->log)) {
		err_set(e, "log: cannot write: %s", strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(msg);
	return ret;
}
