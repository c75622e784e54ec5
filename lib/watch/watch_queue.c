/* watch_queue.c - what a step owes, written to the outbox in the step's
 * own transaction. Names are written here: the outbox row carries the
 * channel's name and a JSON payload with the event's and level's. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "watch_impl.h"

static char *alert_payload(const struct cred *c, const struct secret_info *si,
			   enum alert_event event, enum level level,
			   const char *message, int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "event", alert_event_name(event));
	cJSON_AddStringToObject(o, "credential", c->name);
	cJSON_AddStringToObject(o, "hint", si->hint);
	cJSON_AddStringToObject(o, "key_id", si->key_id);
	cJSON_AddStringToObject(o, "kind", secret_kind_name(si->kind));
	cJSON_AddNumberToObject(o, "expires_at", (double)si->expires_at);
	cJSON_AddNumberToObject(o, "days_left",
				(double)timefmt_days_left(si->expires_at, now));
	cJSON_AddStringToObject(o, "level", policy_level_name(level));
	cJSON_AddStringToObject(o, "message", message);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* How many rows channel ch owes for an alert of c: none for mail when
 * c has no mailbox to send through; to owners, the log and one mail. */
static int rows_owed(const struct watch_ctx *w, const struct cred *c,
		     const struct alert_channel *ch, bool owners)
{
	if (ch->needs_token && c->sender[0] == '\0')
		return 0;
	if (owners)
		return ch->needs_token || strcmp(ch->name, "log") == 0;
	return alert_channel_count(ch, w->cfg);
}

int watch_queue_payload(struct watch_ctx *w, const struct cred *c,
			int64_t secret_id, const char *payload, bool owners,
			struct err *e)
{
	const struct alert_channel *ch = alert_channels(NULL);
	size_t n;
	int rc = 0;

	/* One row per delivery (per webhook), each retried on its own. */
	alert_channels(&n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int k = rows_owed(w, c, &ch[i], owners);
		for (int j = 0; j < k && rc == 0; j++) {
			char label[48];
			alert_channel_label(&ch[i], j, label, sizeof(label));
			rc = store_outbox_add(w->store, OUTBOX_ALERT, label,
					      c->id, secret_id, payload, w->now,
					      e);
		}
	}
	return rc;
}

int watch_queue_alert(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, enum alert_event event,
		      enum level level, const char *message, struct err *e)
{
	char *payload = alert_payload(c, si, event, level, message, w->now);
	int rc;

	if (payload == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	rc = watch_queue_payload(w, c, si->id, payload, false, e);
	free(payload);
	return rc;
}

int watch_queue_deploy(struct watch_ctx *w, const struct cred *c,
		       const struct secret_info *si, struct err *e)
{
	char deploy[160];

	if (w->cfg->deploy_hook[0] == '\0')
		return 0;
	snprintf(deploy, sizeof(deploy), "{\"credential\":\"%s\"}", c->name);
	return store_outbox_add(w->store, OUTBOX_DEPLOY, NULL, c->id, si->id,
				deploy, w->now, e);
}
