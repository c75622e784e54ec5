/* watch_deliver.c - delivery of what the outbox owes: alerts on their
 * channels and the deploy hook. Runs after the acting steps of a cycle
 * (and after a manual switch); a failed delivery is retried as
 * policy_delivery_retry says. Names from the outbox are parsed back to a
 * channel and an event here, once. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "deploy.h"
#include "event.h"
#include "material.h"
#include "token.h"
#include "watch_impl.h"

#define DELIVER_BATCH	 64
#define DEPLOY_TIMEOUT_S 60

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

/* An Outlook token for c, for a channel that sends mail through it. */
static int mail_token(struct watch_ctx *w, const struct cred *c,
		      const struct net_opts *net, struct vbuf *token,
		      struct err *e)
{
	struct token_src ts = {w->store, w->vault, net, w->retry,
			       w->now,	 false,	   0};
	struct entra_result res;
	int64_t exp;

	return token_get(&ts, c, token, &exp, &res, e);
}

/* An app alert's own fields (watch_sweep_warn.c). */
static void app_fields(const cJSON *p, struct alert *a)
{
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(p, "app")))
		return;
	a->app = str(p, "app");
	a->app_id = str(p, "app_id");
	a->link = str(p, "link");
	a->count = (int)num(p, "count");
	a->to = str(p, "to");
}

/* Send one owed alert on its channel. */
static int deliver_alert(struct watch_ctx *w, const struct outbox_row *row,
			 struct err *e)
{
	int inst = 0;
	const struct alert_channel *ch =
	    alert_channel_parse(row->channel, &inst);
	cJSON *p = cJSON_Parse(row->payload);
	struct vbuf token = {0};
	struct net_opts net = {.ca_file =
				   w->cfg->ca_file[0] ? w->cfg->ca_file : NULL};
	struct alert a = {0};
	struct cred c;
	int rc = -1;

	if (ch == NULL || p == NULL ||
	    alert_event_parse(str(p, "event"), &a.event)) {
		err_set(e, "unknown channel or damaged alert");
		goto out;
	}
	if (store_cred_get(w->store, str(p, "credential"), &c, e))
		goto out;
	/* Mail goes through the credential's own Microsoft 365 path. */
	if (ch->needs_token && mail_token(w, &c, &net, &token, e))
		goto out;
	a.credential = str(p, "credential");
	a.hint = str(p, "hint");
	a.certificate =
	    secret_kind_parse(str(p, "kind")) == SECRET_KIND_CERTIFICATE;
	a.key_id = str(p, "key_id");
	a.expires_at = num(p, "expires_at");
	a.days_left = num(p, "days_left");
	a.level = str(p, "level");
	a.message = str(p, "message");
	app_fields(p, &a);
	struct alert_ctx ctx = {w->cfg, &c,	token.p,    &net,
				w->now, w->log, w->log_arg, inst};
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
	char id[CRED_NAME_MAX + 48];
	int rc = -1;

	if (p == NULL ||
	    store_cred_get(w->store, str(p, "credential"), &c, e) ||
	    store_secret_get(w->store, row->secret_id, &si, e))
		goto out;
	if (si.state != SECRET_ACTIVE) {
		watch_log(w, LOG_INFO,
			  "%s: secret #%lld is no longer active; not "
			  "deploying it",
			  c.name, (long long)si.id);
		rc = 0;
		goto out;
	}
	if (material_deploy_input(w->store, w->vault, &si, &value, e))
		goto out;
	snprintf(id, sizeof(id), "%s-%lld-%lld", c.name, (long long)si.id,
		 (long long)row->id);
	rc = deploy_run(w->cfg->deploy_hook, &c, &si, id, value.p, value.len,
			DEPLOY_TIMEOUT_S, e);
	vbuf_free(&value);
out:
	cJSON_Delete(p);
	return rc;
}

/* The audit trail gets every delivery's outcome, channel by channel. */
static int record(struct watch_ctx *w, const struct outbox_row *row,
		  const char *kind, const char *error, struct err *e)
{
	cJSON *p = cJSON_Parse(row->payload);
	int rc;

	rc = event_addf(
	    w->store, w->now, p ? str(p, "credential") : NULL, row->secret_id,
	    kind, e, "channel",
	    row->kind == OUTBOX_DEPLOY ? "deploy-hook" : row->channel, "event",
	    p ? str(p, "event") : NULL, "error", error, EVENT_END);
	cJSON_Delete(p);
	return rc;
}

/* A failed deploy of an automatically rotating credential holds back the
 * old secret's revocation: say so, once per deploy (policy_deploy_alert). */
static int alert_deploy(struct watch_ctx *w, const struct outbox_row *row,
			const char *error, struct err *e)
{
	char msg[ALERT_SUMMARY_MAX + 512];
	cJSON *p = cJSON_Parse(row->payload);
	struct secret_info si;
	struct cred c;
	int rc = -1;

	if (p == NULL) {
		err_set(e, "damaged deploy row #%lld", (long long)row->id);
		return -1;
	}
	if (store_cred_get(w->store, str(p, "credential"), &c, e) ||
	    store_secret_get(w->store, row->secret_id, &si, e))
		goto out;
	rc = 0;
	if (!policy_deploy_alert(&c, row->attempts))
		goto out;
	snprintf(
	    msg, sizeof(msg),
	    "The deploy hook failed for the new client secret %s~ of "
	    "%s: %.256s. It is retried for 3 days; until it succeeds the old "
	    "secret stays in Entra and is not revoked. Fix the hook "
	    "([deploy] hook) and see 'secretwatch log %s'.",
	    si.hint, c.name, error ? error : "", c.name);
	rc = watch_queue_alert(w, &c, &si, ALERT_DEPLOY_FAILED, LEVEL_WARNING,
			       msg, e);
out:
	cJSON_Delete(p);
	return rc;
}

/* Which channel carried an alert, said for every channel but the log,
 * whose own line is the alert. */
static void say_delivered(struct watch_ctx *w, const struct outbox_row *row)
{
	cJSON *p = cJSON_Parse(row->payload);

	if (row->kind == OUTBOX_DEPLOY)
		watch_log(w, LOG_INFO, "%s: deploy hook ran for secret #%lld",
			  p ? str(p, "credential") : "?",
			  (long long)row->secret_id);
	else if (strcmp(row->channel, "log") != 0)
		watch_log(w, LOG_INFO, "%s: alert %s delivered by %s",
			  p ? str(p, "credential") : "?",
			  p ? str(p, "event") : "?", row->channel);
	cJSON_Delete(p);
}

static int settle(struct watch_ctx *w, const struct outbox_row *row, int ok,
		  const char *error, struct watch_report *r, struct err *e)
{
	bool deploy = row->kind == OUTBOX_DEPLOY;
	const char *what = deploy ? "deploy" : row->channel;
	int64_t next;

	if (ok) {
		r->delivered++;
		say_delivered(w, row);
		return store_outbox_done(w->store, row->id, w->now, e) ||
		       record(w, row, deploy ? "deployed" : "alert-delivered",
			      NULL, e);
	}
	r->delivery_failures++;
	r->deploy_failures += deploy;
	next = policy_delivery_retry(row->created_at, row->attempts, w->now,
				     w->cfg->interval);
	watch_log(w, LOG_WARNING, "%s delivery #%lld failed: %s%s", what,
		  (long long)row->id, error,
		  next ? "; will retry" : "; giving up");
	if (store_begin(w->store, e))
		return -1;
	if (store_outbox_retry(w->store, row->id, w->now, next, error, e) ||
	    store_counter_add(w->store, COUNTER_ALERT_DELIVERY_FAILURES, 1,
			      e) ||
	    record(w, row,
		   next == 0 ? (deploy ? "deploy-abandoned" : "alert-abandoned")
			     : (deploy ? "deploy-failed" : "alert-failed"),
		   error, e) ||
	    (deploy && alert_deploy(w, row, error, e))) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* Longer than any one delivery may take (the deploy hook's timeout is
 * the longest); a dead deliverer's claim lapses after it. */
#define DELIVERY_CLAIM_S 600

/* One batch of what is due: claimed, sent, settled. *ret_n: how many
 * rows were due. */
static int deliver_batch(struct watch_ctx *w, struct watch_report *r,
			 size_t *ret_n, struct err *e)
{
	struct outbox_row *rows;
	size_t n;
	int rc = 0;

	if (store_outbox_due(w->store, w->now, DELIVER_BATCH, &rows, &n, e))
		return -1;
	*ret_n = n;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct err why = {{0}};
		int ok;
		if (w->stop != NULL && *w->stop)
			break;
		/* Another deliverer may have taken or sent it since. */
		rc = store_outbox_claim(w->store, rows[i].id, w->now,
					w->now + DELIVERY_CLAIM_S, e);
		if (rc != 0) {
			rc = rc < 0 ? -1 : 0;
			continue;
		}
		ok = (rows[i].kind == OUTBOX_DEPLOY
			  ? deliver_deploy(w, &rows[i], &why)
			  : deliver_alert(w, &rows[i], &why)) == 0;
		rc = settle(w, &rows[i], ok, why.msg, r, e);
	}
	free(rows);
	return rc;
}

/* A sweep may owe thousands of alerts: batch after batch, each row
 * claimed, sent or rescheduled, so none comes back in the same call;
 * bounded all the same. */
#define DELIVER_BATCHES_MAX 256

int watch_deliver(struct watch_ctx *w, struct watch_report *r, struct err *e)
{
	size_t n = DELIVER_BATCH;
	int rc = 0;

	for (int b = 0;
	     rc == 0 && n == DELIVER_BATCH && b < DELIVER_BATCHES_MAX; b++) {
		if (w->stop != NULL && *w->stop)
			break;
		rc = deliver_batch(w, r, &n, e);
	}
	return rc;
}
