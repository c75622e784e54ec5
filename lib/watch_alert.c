/* watch_alert.c - alerts owed and their delivery, with the deploy hook:
 * the outbox side of a cycle. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "deploy.h"
#include "timefmt.h"
#include "watch_impl.h"

#define DELIVER_BATCH 64
#define GIVE_UP_AFTER (3 * 86400) /* an alert 3 days late is noise */
#define DEPLOY_TIMEOUT_S 60

static char *alert_payload(const struct cred *c, const struct secret_info *si,
			   const char *event, const char *level,
			   const char *message, int64_t now)
{
	cJSON *o = cJSON_CreateObject();
	char *text;

	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddStringToObject(o, "credential", c->name);
	cJSON_AddStringToObject(o, "hint", si->hint);
	cJSON_AddStringToObject(o, "key_id", si->key_id);
	cJSON_AddNumberToObject(o, "expires_at", (double)si->expires_at);
	cJSON_AddNumberToObject(o, "days_left",
				(double)timefmt_days_left(si->expires_at, now));
	cJSON_AddStringToObject(o, "level", level);
	cJSON_AddStringToObject(o, "message", message);
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

int watch_alert_queue(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, const char *event,
		      const char *level, const char *message, struct err *e)
{
	char *payload = alert_payload(c, si, event, level, message, w->now);
	const struct alert_channel *ch;
	size_t n;
	int rc = 0;

	if (payload == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	ch = alert_channels(&n);
	for (size_t i = 0; i < n && rc == 0; i++)
		if (ch[i].configured(w->cfg))
			rc = store_outbox_add(w->store, OUTBOX_ALERT, ch[i].name,
					      c->id, si->id, payload, w->now,
					      e);
	free(payload);
	return rc;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int64_t num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static int cred_by_name(struct watch_ctx *w, const char *name,
			struct cred *ret, struct err *e)
{
	return store_cred_get(w->store, name, ret, e);
}


/* Send one owed alert on its channel. */
static int deliver_alert(struct watch_ctx *w, const struct outbox_row *row,
			 struct err *e)
{
	const struct alert_channel *ch = alert_channel_find(row->channel);
	cJSON *p = cJSON_Parse(row->payload);
	struct vbuf token = {0};
	struct entra_result res;
	struct net_opts net = {w->cfg->ca_file[0] ? w->cfg->ca_file : NULL, 0,
			       0};
	struct cred c;
	int64_t exp;
	int rc = -1;

	if (ch == NULL || p == NULL) {
		err_set(e, "unknown channel or damaged alert");
		goto out;
	}
	if (cred_by_name(w, str(p, "credential"), &c, e))
		goto out;
	/* Mail goes through the credential's own Microsoft 365 path. */
	if (strcmp(ch->name, "email") == 0 &&
	    watch_token(w, &c, &token, &exp, &res, e))
		goto out;
	struct alert a = {str(p, "event"),	str(p, "credential"),
			  str(p, "hint"),	str(p, "key_id"),
			  num(p, "expires_at"), num(p, "days_left"),
			  str(p, "level"),	str(p, "message")};
	struct alert_ctx ctx = {w->cfg, &c,	 token.p,
				&net,	w->now, w->log, w->log_arg};
	rc = ch->send(&a, &ctx, e);
out:
	vbuf_free(&token);
	cJSON_Delete(p);
	return rc;
}

static int deliver_deploy(struct watch_ctx *w, const struct outbox_row *row,
			  struct err *e)
{
	cJSON *p = cJSON_Parse(row->payload);
	struct secret_info si;
	struct vbuf value;
	struct cred c;
	int rc = -1;

	if (p == NULL || cred_by_name(w, str(p, "credential"), &c, e) ||
	    store_secret_get(w->store, row->secret_id, &si, e))
		goto out;
	if (si.state != SECRET_ACTIVE) {
		watch_log(w, LOG_INFO, "%s: secret #%lld is no longer active; not "
			     "deploying it",
			  c.name, (long long)si.id);
		rc = 0;
		goto out;
	}
	if (store_secret_value(w->store, w->vault, si.id, &value, e))
		goto out;
	rc = deploy_run(w->cfg->deploy_hook, &c, &si, value.p, value.len,
			DEPLOY_TIMEOUT_S, e);
	vbuf_free(&value);
out:
	cJSON_Delete(p);
	return rc;
}

/* The next try of a failed delivery: doubling from a minute up to the
 * check interval; 0 (give up) once it is GIVE_UP_AFTER late. */
static int64_t retry_at(const struct watch_ctx *w, const struct outbox_row *row)
{
	int64_t wait = 60;

	if (w->now - row->created_at >= GIVE_UP_AFTER)
		return 0;
	for (int i = 0; i < row->attempts && wait < w->cfg->interval; i++)
		wait *= 2;
	if (wait > w->cfg->interval)
		wait = w->cfg->interval;
	return w->now + wait;
}

/* The audit trail gets every delivery's outcome, channel by channel. */
static int record(struct watch_ctx *w, const struct outbox_row *row,
		  const char *kind, const char *error, struct err *e)
{
	cJSON *p = cJSON_Parse(row->payload);
	int rc;

	rc = watch_event(w, p ? str(p, "credential") : NULL, row->secret_id,
			 kind, e, "channel",
			 row->kind == OUTBOX_DEPLOY ? "deploy-hook" : row->channel,
			 "event", p ? str(p, "event") : NULL, "error", error,
			 WATCH_END);
	cJSON_Delete(p);
	return rc;
}

static int settle(struct watch_ctx *w, const struct outbox_row *row, int ok,
		  const char *error, struct watch_report *r, struct err *e)
{
	const char *what = row->kind == OUTBOX_DEPLOY ? "deploy" : row->channel;
	int64_t next;

	if (ok) {
		r->delivered++;
		return store_outbox_done(w->store, row->id, w->now, e) ||
		       record(w, row,
			      row->kind == OUTBOX_DEPLOY ? "deployed"
							 : "alert-delivered",
			      NULL, e);
	}
	r->delivery_failures++;
	next = retry_at(w, row);
	watch_log(w, LOG_WARNING, "%s delivery #%lld failed: %s%s", what, (long long)row->id,
		  error, next ? "; will retry" : "; giving up");
	if (store_outbox_retry(w->store, row->id, w->now, next, error, e) ||
	    store_counter_add(w->store, "alert_delivery_failures", 1, e))
		return -1;
	return record(w, row,
		      next == 0 ? (row->kind == OUTBOX_DEPLOY ? "deploy-abandoned"
							      : "alert-abandoned")
				: (row->kind == OUTBOX_DEPLOY ? "deploy-failed"
							      : "alert-failed"),
		      error, e);
}

int watch_deliver(struct watch_ctx *w, struct watch_report *r,
		  struct err *e)
{
	struct outbox_row *rows;
	size_t n;
	int rc = 0;

	if (w->dry_run)
		return 0;
	if (store_outbox_due(w->store, w->now, DELIVER_BATCH, &rows, &n, e))
		return -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct err why = {{0}};
		int ok;
		if (w->stop != NULL && *w->stop)
			break;
		ok = (rows[i].kind == OUTBOX_DEPLOY
			      ? deliver_deploy(w, &rows[i], &why)
			      : deliver_alert(w, &rows[i], &why)) == 0;
		rc = settle(w, &rows[i], ok, why.msg, r, e);
	}
	free(rows);
	return rc;
}
