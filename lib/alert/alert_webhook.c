/* The webhook channel: an HTTPS POST of the alert to each configured
 * receiver, in its format: the alert as JSON with a "text" field that
 * Slack and Teams incoming webhooks show as the message, Slack's
 * {"text"}, or an Adaptive Card for Teams Workflows. Also the cycle's
 * heartbeat GET, which shares the HTTP call.
 *
 * A webhook URL often is a credential itself (Slack's and Teams' carry
 * their secret in the path), so messages name only its scheme and host.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "alert_impl.h"
#include "timefmt.h"
#include "validate.h"

static char *alert_text(const struct alert *a, bool full);

bool alert_webhook_configured(const struct config *cfg)
{
	return cfg->nwebhooks > 0;
}

int alert_webhook_count(const struct config *cfg)
{
	return cfg->nwebhooks;
}

char *alert_webhook_body(const struct alert *a)
{
	char expires[TIMEFMT_RFC3339_LEN];
	char *text = NULL, *out = NULL;
	cJSON *o = NULL;

	if (a == NULL || (o = cJSON_CreateObject()) == NULL)
		return NULL;
	timefmt_rfc3339(a->expires_at, expires);
	if ((text = alert_text(a, true)) == NULL)
		goto out;
	if (cJSON_AddStringToObject(o, "event", alert_event_name(a->event)) ==
		NULL ||
	    cJSON_AddStringToObject(o, "credential",
				    alert_str(a->credential)) == NULL ||
	    cJSON_AddStringToObject(o, "hint", alert_str(a->hint)) == NULL ||
	    cJSON_AddStringToObject(o, "key_id", alert_str(a->key_id)) ==
		NULL ||
	    cJSON_AddStringToObject(o, "expires_at", expires) == NULL ||
	    cJSON_AddNumberToObject(o, "days_left", (double)a->days_left) ==
		NULL ||
	    cJSON_AddStringToObject(o, "level", alert_str(a->level)) == NULL ||
	    cJSON_AddStringToObject(o, "message", alert_str(a->message)) ==
		NULL ||
	    cJSON_AddStringToObject(o, "text", text) == NULL)
		goto out;
	if (a->app != NULL &&
	    (cJSON_AddStringToObject(o, "app", a->app) == NULL ||
	     cJSON_AddStringToObject(o, "app_id", alert_str(a->app_id)) ==
		 NULL ||
	     cJSON_AddStringToObject(o, "link", alert_str(a->link)) == NULL ||
	     cJSON_AddNumberToObject(o, "count", a->count) == NULL))
		goto out;
	out = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	free(text);
	return out;
}

/* "[secretwatch] " + the summary, and + ". " + the message on one line
 * when full. Returns a malloc'd string, or NULL. */
static char *alert_text(const struct alert *a, bool full)
{
	char summary[ALERT_SUMMARY_MAX];
	char *oneline = NULL, *text = NULL;

	alert_summary(a, summary, sizeof(summary));
	if (!full) {
		if (asprintf(&text, "[secretwatch] %s", summary) < 0)
			return NULL;
		return text;
	}
	if ((oneline = alert_oneline(a->message)) == NULL)
		return NULL;
	if (asprintf(&text, "[secretwatch] %s%s%s", summary,
		     oneline[0] ? ". " : "", oneline) < 0)
		text = NULL;
	free(oneline);
	return text;
}

static char *slack_body(const struct alert *a)
{
	cJSON *o = cJSON_CreateObject();
	char *text = alert_text(a, true), *out = NULL;

	if (o != NULL && text != NULL &&
	    cJSON_AddStringToObject(o, "text", text) != NULL)
		out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(text);
	return out;
}

static cJSON *text_block(const char *text, bool title)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "type", "TextBlock");
	cJSON_AddStringToObject(b, "text", text);
	cJSON_AddBoolToObject(b, "wrap", 1);
	if (title) {
		cJSON_AddStringToObject(b, "weight", "Bolder");
		cJSON_AddStringToObject(b, "size", "Medium");
	}
	return b;
}

static void fact(cJSON *facts, const char *title, const char *value)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "title", title);
	cJSON_AddStringToObject(f, "value", value);
	cJSON_AddItemToArray(facts, f);
}

/* A button that opens url. */
static void open_url(cJSON *card, const char *title, const char *url)
{
	cJSON *acts = cJSON_AddArrayToObject(card, "actions");
	cJSON *act = cJSON_CreateObject();

	cJSON_AddStringToObject(act, "type", "Action.OpenUrl");
	cJSON_AddStringToObject(act, "title", title);
	cJSON_AddStringToObject(act, "url", url);
	cJSON_AddItemToArray(acts, act);
}

/* The card's content: title, message and the facts. */
static cJSON *teams_card(const struct alert *a, const char *title)
{
	char expires[TIMEFMT_RFC3339_LEN], days[24];
	cJSON *card = cJSON_CreateObject(), *body, *set, *facts;

	timefmt_rfc3339(a->expires_at, expires);
	snprintf(days, sizeof(days), "%lld", (long long)a->days_left);
	cJSON_AddStringToObject(card, "$schema",
				"http://adaptivecards.io/schemas/"
				"adaptive-card.json");
	cJSON_AddStringToObject(card, "type", "AdaptiveCard");
	cJSON_AddStringToObject(card, "version", "1.4");
	body = cJSON_AddArrayToObject(card, "body");
	cJSON_AddItemToArray(body, text_block(title, true));
	cJSON_AddItemToArray(body, text_block(alert_str(a->message), false));
	set = cJSON_CreateObject();
	cJSON_AddStringToObject(set, "type", "FactSet");
	facts = cJSON_AddArrayToObject(set, "facts");
	if (a->app != NULL) {
		fact(facts, "Application", a->app);
		fact(facts, "App ID", alert_str(a->app_id));
		fact(facts, "Found by", alert_str(a->credential));
	} else {
		fact(facts, "Credential", alert_str(a->credential));
	}
	fact(facts, "Hint", alert_str(a->hint));
	fact(facts, "Key ID", alert_str(a->key_id));
	fact(facts, "Expires", expires);
	fact(facts, "Days left", days);
	fact(facts, "Level", alert_str(a->level));
	cJSON_AddItemToArray(body, set);
	if (a->link != NULL && a->link[0] != '\0')
		open_url(card, "Certificates & secrets", a->link);
	return card;
}

static char *teams_body(const struct alert *a)
{
	char *title = alert_text(a, false), *out = NULL;
	cJSON *msg = cJSON_CreateObject(), *atts, *att;

	if (title == NULL || msg == NULL)
		goto out;
	cJSON_AddStringToObject(msg, "type", "message");
	atts = cJSON_AddArrayToObject(msg, "attachments");
	att = cJSON_CreateObject();
	cJSON_AddItemToArray(atts, att);
	cJSON_AddStringToObject(att, "contentType",
				"application/vnd.microsoft.card.adaptive");
	cJSON_AddNullToObject(att, "contentUrl");
	cJSON_AddItemToObject(att, "content", teams_card(a, title));
	out = cJSON_PrintUnformatted(msg);
out:
	cJSON_Delete(msg);
	free(title);
	return out;
}

char *alert_webhook_payload(const struct alert *a, enum webhook_format f)
{
	if (a == NULL)
		return NULL;
	switch (f) {
	case WEBHOOK_SLACK:
		return slack_body(a);
	case WEBHOOK_TEAMS:
		return teams_body(a);
	case WEBHOOK_JSON:
		break;
	}
	return alert_webhook_body(a);
}
