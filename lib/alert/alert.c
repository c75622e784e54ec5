#include "alert.h"

#include <stdlib.h>
#include <string.h>

#include "alert_impl.h"
#include "num.h"
#include "text.h"

static const struct alert_channel channels[] = {
    {"log", false, alert_log_configured, alert_log_send, NULL},
    {"email", true, alert_email_configured, alert_email_send, NULL},
    {"webhook", false, alert_webhook_configured, alert_webhook_send,
     alert_webhook_count},
    {"exec", false, alert_exec_configured, alert_exec_send, NULL},
};

static const char *const event_names[] = {
    [ALERT_EXPIRY_WARNING] = "expiry-warning",
    [ALERT_EXPIRED] = "expired",
    [ALERT_SWITCHED] = "switched",
    [ALERT_SWITCH_FAILED] = "switch-failed",
    [ALERT_HEALTH_FAILED] = "health-failed",
    [ALERT_TOKEN_FILE_FAILED] = "token-file-failed",
    [ALERT_SECRET_REMOVED] = "secret-removed",
    [ALERT_ROTATION_FAILED] = "rotation-failed",
    [ALERT_DEPLOY_FAILED] = "deploy-failed",
    [ALERT_APP_EXPIRING] = "app-credential-expiring",
};

#define NEVENTS (sizeof(event_names) / sizeof(event_names[0]))

bool alert_only_through_secrets(const struct config *cfg)
{
	bool through = false, apart = false;

	for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++) {
		const struct alert_channel *ch = &channels[i];
		if (strcmp(ch->name, "log") == 0 || !ch->configured(cfg))
			continue;
		if (ch->needs_token)
			through = true;
		else
			apart = true;
	}
	return through && !apart;
}

const char *alert_event_name(enum alert_event ev)
{
	return (size_t)ev < NEVENTS ? event_names[ev] : "unknown";
}

int alert_event_parse(const char *name, enum alert_event *ret)
{
	for (size_t i = 0; name != NULL && i < NEVENTS; i++)
		if (strcmp(event_names[i], name) == 0) {
			*ret = (enum alert_event)i;
			return 0;
		}
	return -1;
}

const struct alert_channel *alert_channels(size_t *ret_n)
{
	if (ret_n != NULL)
		*ret_n = sizeof(channels) / sizeof(channels[0]);
	return channels;
}

const struct alert_channel *alert_channel_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(channels) / sizeof(channels[0]); i++)
		if (strcmp(channels[i].name, name) == 0)
			return &channels[i];
	return NULL;
}

int alert_channel_count(const struct alert_channel *ch,
			const struct config *cfg)
{
	if (ch->count != NULL)
		return ch->count(cfg);
	return ch->configured(cfg) ? 1 : 0;
}

void alert_channel_label(const struct alert_channel *ch, int i, char *out,
			 size_t size)
{
	if (i == 0)
		snprintf(out, size, "%s", ch->name);
	else
		snprintf(out, size, "%s.%d", ch->name, i + 1);
}

const struct alert_channel *alert_channel_parse(const char *label, int *ret_i)
{
	char name[32];
	const char *dot;
	int64_t n = 0;

	if (label == NULL)
		return NULL;
	*ret_i = 0;
	if ((dot = strchr(label, '.')) == NULL)
		return alert_channel_find(label);
	if ((size_t)(dot - label) >= sizeof(name) || dot[1] < '2' ||
	    dot[1] > '9')
		return NULL;
	if (num_parse_i64(dot + 1, 2, 1000, &n))
		return NULL;
	snprintf(name, sizeof(name), "%.*s", (int)(dot - label), label);
	*ret_i = (int)n - 1;
	return alert_channel_find(name);
}

const char *alert_str(const char *s)
{
	return s != NULL ? s : "";
}

char *alert_oneline(const char *s)
{
	size_t len = strlen(alert_str(s));
	char *out;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	text_oneline(out, len + 1, alert_str(s), len);
	return out;
}

/* "app NAME: client secret abc~ expires in 7 days", or with more than
 * one: "app NAME: 3 credentials expire, the first in 7 days". */
static void app_summary(const struct alert *a, const char *secret, char *out,
			size_t size)
{
	char when[48];

	if (a->days_left > 1)
		snprintf(when, sizeof(when), "in %lld days",
			 (long long)a->days_left);
	else if (a->days_left == 1)
		snprintf(when, sizeof(when), "within a day");
	else
		snprintf(when, sizeof(when), "already");
	if (a->count > 1)
		snprintf(out, size,
			 "app %s: %d credentials expire, the first %s",
			 alert_str(a->app), a->count, when);
	else if (a->days_left > 0)
		snprintf(out, size, "app %s: %s expires %s", alert_str(a->app),
			 secret, when);
	else
		snprintf(out, size, "app %s: %s has expired", alert_str(a->app),
			 secret);
}

void alert_summary(const struct alert *a, char *out, size_t size)
{
	const char *name = alert_str(a->credential);
	const char *hint = alert_str(a->hint), *key = alert_str(a->key_id);
	const char *what = a->certificate ? "certificate" : "client secret";
	char secret[96], when[48];

	if (size == 0)
		return;
	if (hint[0] != '\0')
		snprintf(secret, sizeof(secret), "%s %s~", what, hint);
	else if (key[0] != '\0')
		snprintf(secret, sizeof(secret), "%s with key ID %s", what,
			 key);
	else
		snprintf(secret, sizeof(secret), "%s", what);

	switch (a->event) {
	case ALERT_EXPIRY_WARNING:
		if (a->days_left > 1)
			snprintf(when, sizeof(when), "expires in %lld days",
				 (long long)a->days_left);
		else if (a->days_left == 1)
			snprintf(when, sizeof(when), "expires within a day");
		else /* days are rounded up: 0 is at or after expiry */
			snprintf(when, sizeof(when), "has expired");
		snprintf(out, size, "%s: %s %s", name, secret, when);
		break;
	case ALERT_EXPIRED:
		snprintf(out, size, "%s: %s has expired", name, secret);
		break;
	case ALERT_SWITCHED:
		snprintf(out, size, "%s: switched to %s", name, secret);
		break;
	case ALERT_SWITCH_FAILED:
		snprintf(out, size, "%s: new %s failed its test", name, secret);
		break;
	case ALERT_HEALTH_FAILED:
		snprintf(out, size, "%s: %s failed its health check", name,
			 secret);
		break;
	case ALERT_SECRET_REMOVED:
		snprintf(out, size, "%s: %s removed in Entra", name, secret);
		break;
	case ALERT_APP_EXPIRING:
		app_summary(a, secret, out, size);
		break;
	case ALERT_TOKEN_FILE_FAILED:
		snprintf(out, size, "%s: no valid token in its token file",
			 name);
		break;
	default:
		snprintf(out, size, "%s: %s (%s)", name,
			 alert_event_name(a->event), secret);
	}
	text_scrub(out, ' ');
}
