/* watch_act.c - the actions of a cycle: test, switch, health check. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cloud.h"
#include "timefmt.h"
#include "watch_impl.h"

#define TOKEN_MARGIN 300 /* a cached token is used until 5 min before */

void watch_log(struct watch_ctx *w, int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (w->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w->log(w->log_arg, prio, line);
}

int watch_event(struct watch_ctx *w, const char *cred, int64_t secret_id,
		const char *kind, struct err *e, ...)
{
	cJSON *d = cJSON_CreateObject();
	const char *k, *v;
	char *text;
	va_list ap;
	int rc;

	va_start(ap, e);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		cJSON_AddStringToObject(d, k, v ? v : "");
	}
	va_end(ap);
	text = cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	rc = store_event_add(w->store, w->now, cred, secret_id, kind, text, e);
	free(text);
	return rc;
}

void watch_probe_opts(const struct watch_ctx *w, const struct vbuf *value,
		      const struct secret_info *si, bool token_only,
		      const char *to, struct net_opts *net,
		      struct probe_opts *o)
{
	memset(net, 0, sizeof(*net));
	net->ca_file = w->cfg->ca_file[0] ? w->cfg->ca_file : NULL;
	memset(o, 0, sizeof(*o));
	o->secret = value->p;
	o->secret_len = value->len;
	o->hint = si->hint;
	o->key_id = si->key_id[0] ? si->key_id : NULL;
	o->to = to;
	o->token_only = token_only;
	o->net = net;
	o->retry = w->retry;
	o->now = w->now;
}

static void outcome(const struct probe_result *pr, char *out, size_t size)
{
	/* Bounded: a long summary is cut, the detail is for people. */
	if (pr->ok)
		err_fmt(out, size, "passed");
	else if (pr->has_diag)
		err_fmt(out, size, "%s: %s", pr->diag.step, pr->diag.summary);
	else
		err_fmt(out, size, "failed at %s", probe_step_name(pr->failed));
}

int watch_record_test(struct watch_ctx *w, const struct cred *c,
		       const struct secret_info *si, bool token_only,
		       const struct probe_result *pr, struct err *e)
{
	char detail[SECRET_DETAIL_MAX + 1];

	outcome(pr, detail, sizeof(detail));
	if (store_begin(w->store, e))
		return -1;
	if (store_secret_record_test(w->store, si->id, w->now, pr->ok, detail,
				     e) ||
	    (!pr->ok && store_cred_count(w->store, c->id, "test_failures", 1,
					 w->now, e)) ||
	    (pr->ok && store_cred_count(w->store, c->id, "test_failures", 0,
					w->now, e)) ||
	    watch_event(w, c->name, si->id, pr->ok ? "test-passed" : "test-failed",
			e, "mode", token_only ? "token" : "send", "outcome",
			detail, "step", pr->has_diag ? pr->diag.step : NULL,
			"evidence", pr->has_diag ? pr->diag.evidence : NULL,
			WATCH_END) ||
	    (pr->token.value != NULL &&
	     store_token_put(w->store, w->vault, si->id, cloud_outlook_scope(c),
			     pr->token.value, pr->token.len,
			     pr->token.expires_at, e))) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

int watch_test(struct watch_ctx *w, const struct cred *c,
	       const struct secret_info *si, bool token_only, const char *to,
	       struct probe_result *pr, struct err *e)
{
	struct net_opts net;
	struct probe_opts o;
	struct vbuf value;

	memset(pr, 0, sizeof(*pr));
	if (store_secret_value(w->store, w->vault, si->id, &value, e))
		return -1;
	watch_probe_opts(w, &value, si, token_only, to, &net, &o);
	probe_run(c, &o, pr);
	vbuf_free(&value);
	if (w->dry_run)
		return pr->ok ? 0 : 1;
	if (watch_record_test(w, c, si, token_only, pr, e))
		return -1;
	return pr->ok ? 0 : 1;
}

static void switched_message(const struct cred *c,
			     const struct secret_info *si,
			     const struct cred_view *v, char *out,
			     size_t size)
{
	char t[TIMEFMT_RFC3339_LEN], old[128] = "";

	timefmt_rfc3339(si->expires_at, t);
	if (v->has_active)
		snprintf(old, sizeof(old),
			 " The previous secret %s~ stays valid in Entra until "
			 "it expires or is deleted there.",
			 v->active.hint);
	snprintf(out, size,
		 "secretwatch switched %s to client secret %s~ (key %s, "
		 "expires %s) after a successful token request and XOAUTH2 "
		 "test send.%s",
		 c->name, si->hint, si->key_id[0] ? si->key_id : "unknown", t,
		 old);
}

static int switch_commit(struct watch_ctx *w, const struct cred_view *v,
			 const struct secret_info *si, struct err *e)
{
	char msg[1024], deploy[160];
	char from[24];

	snprintf(deploy, sizeof(deploy), "{\"credential\":\"%s\"}",
		 v->cred.name);
	snprintf(from, sizeof(from), "%lld",
		 (long long)(v->has_active ? v->active.id : 0));
	switched_message(&v->cred, si, v, msg, sizeof(msg));
	if (store_begin(w->store, e))
		return -1;
	if (store_secret_activate(w->store, v->cred.id, si->id, w->now, e) ||
	    store_cred_count(w->store, v->cred.id, "switches", 1, w->now, e) ||
	    watch_event(w, v->cred.name, si->id, "switched", e, "from", from,
			"hint", si->hint, WATCH_END) ||
	    watch_alert_queue(w, &v->cred, si, "switched", "ok", msg, e) ||
	    (w->cfg->deploy_hook[0] &&
	     store_outbox_add(w->store, OUTBOX_DEPLOY, NULL, v->cred.id, si->id,
			      deploy, w->now, e))) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* A failed switch test: retry until the window has passed, then fail. */
static int switch_failed(struct watch_ctx *w, const struct cred_view *v,
			 const struct secret_info *si,
			 const struct probe_result *pr, struct watch_report *r,
			 struct err *e)
{
	int64_t first = si->first_try_at ? si->first_try_at : w->now;
	char msg[8192];

	if (w->now - first < w->cfg->switch_window) {
		r->switch_retries++;
		if (store_secret_schedule(w->store, si->id, first,
					  w->now + w->cfg->switch_retry, e))
			return -1;
		watch_log(w, LOG_NOTICE, "%s: new secret %s~ not accepted yet (%s); "
			     "retrying in %llds",
			  v->cred.name, si->hint,
			  pr->has_diag ? pr->diag.step : "failed",
			  (long long)w->cfg->switch_retry);
		return 0;
	}
	r->switch_failures++;
	snprintf(msg, sizeof(msg),
		 "The new client secret %s~ of %s kept failing its test for "
		 "%lld minutes and was marked failed; %s stays on its current "
		 "secret. %s %s",
		 si->hint, v->cred.name,
		 (long long)(w->cfg->switch_window / 60), v->cred.name,
		 pr->has_diag ? pr->diag.summary : "",
		 pr->has_diag ? pr->diag.remedy : "");
	if (store_begin(w->store, e))
		return -1;
	if (store_secret_set_state(w->store, si->id, SECRET_FAILED, e) ||
	    watch_event(w, v->cred.name, si->id, "switch-failed", e, "step",
			pr->has_diag ? pr->diag.step : NULL, WATCH_END) ||
	    watch_alert_queue(w, &v->cred, si, "switch-failed", "critical", msg,
			      e)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

static const struct secret_info *find_pending(const struct cred_view *v,
					      int64_t id)
{
	for (int i = 0; i < v->npending; i++)
		if (v->pending[i].id == id)
			return &v->pending[i];
	return NULL;
}

static int act_switch(struct watch_ctx *w, const struct cred_view *v,
		      int64_t id, bool manual, struct probe_result *pr,
		      struct watch_report *r, struct err *e)
{
	const struct secret_info *si = find_pending(v, id);
	int rc;

	if (si == NULL) {
		err_set(e, "secret #%lld of %s is not pending", (long long)id,
			v->cred.name);
		return -1;
	}
	rc = watch_test(w, &v->cred, si, false, NULL, pr, e);
	if (rc < 0 || w->dry_run)
		return rc;
	if (rc == 0) {
		r->switches++;
		watch_log(w, LOG_NOTICE, "%s: switched to secret %s~ (#%lld)", v->cred.name,
			  si->hint, (long long)si->id);
		return switch_commit(w, v, si, e) ? -1 : 0;
	}
	if (!manual && switch_failed(w, v, si, pr, r, e))
		return -1;
	return 1;
}

int watch_health_settle(struct watch_ctx *w, const struct cred *c,
			const struct secret_info *si,
			const struct probe_result *pr, struct watch_report *r,
			struct err *e)
{
	char msg[8192];

	if (pr->ok)
		return 0;
	r->health_failures++;
	watch_log(w, LOG_WARNING, "%s: health check of secret %s~ failed: %s", c->name,
		  si->hint, pr->has_diag ? pr->diag.summary : "failed");
	/* Alert on the change from working to failing, not every check,
	 * and not while Microsoft or the network is only slow or busy. */
	if ((si->last_test_at != 0 && !si->last_test_ok) ||
	    (pr->has_diag && pr->diag.transient))
		return 0;
	snprintf(msg, sizeof(msg),
		 "A token request with the active client secret %s~ of %s "
		 "failed: mail through %s is likely failing now. %s %s",
		 si->hint, c->name, c->name, pr->has_diag ? pr->diag.summary : "",
		 pr->has_diag ? pr->diag.remedy : "");
	if (store_begin(w->store, e))
		return -1;
	if (watch_alert_queue(w, c, si, "health-failed", "critical", msg, e)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

static void warning_message(const struct cred *c, const struct secret_info *si,
			    int64_t now, char *out, size_t size)
{
	char t[TIMEFMT_RFC3339_LEN];
	int64_t days = timefmt_days_left(si->expires_at, now);

	timefmt_rfc3339(si->expires_at, t);
	snprintf(out, size,
		 "The client secret %s~ (key %s) of %s %s %s%s%lld days%s. "
		 "Create a new client secret for app %s in Entra (App "
		 "registrations > Certificates & secrets), then register it: "
		 "secretwatch secret add %s --expires <its expiry> --key-id "
		 "<its Secret ID>",
		 si->hint, si->key_id[0] ? si->key_id : "unknown", c->name,
		 days < 0 || si->expires_at <= now ? "expired at" : "expires",
		 t, days < 0 || si->expires_at <= now ? " (" : ", in ",
		 (long long)(days < 0 ? -days : days),
		 days < 0 || si->expires_at <= now ? " ago); mail through it "
						     "has stopped"
						   : "",
		 c->client_id, c->name);
}

static int act_warn(struct watch_ctx *w, const struct cred_view *v,
		    const struct action *a, struct watch_report *r,
		    struct err *e)
{
	const struct secret_info *si =
		a->secret_id == v->active.id && v->has_active
			? &v->active
			: find_pending(v, a->secret_id);
	const char *level = a->threshold == 0 ? "expired"
			    : (int64_t)a->threshold * 86400 <=
					    w->cfg->level_critical
				    ? "critical"
				    : "warning";
	char msg[1024], th[16];

	if (si == NULL)
		return 0;
	r->warnings++;
	warning_message(&v->cred, si, w->now, msg, sizeof(msg));
	snprintf(th, sizeof(th), "%d", a->threshold);
	if (store_begin(w->store, e))
		return -1;
	if (store_warning_mark(w->store, si->id, a->threshold,
			       w->cfg->warn_days, w->cfg->nwarn_days, w->now,
			       e) ||
	    watch_event(w, v->cred.name, si->id, "warning", e, "threshold_days",
			th, "level", level, WATCH_END) ||
	    watch_alert_queue(w, &v->cred, si,
			      a->threshold == 0 ? "expired" : "expiry-warning",
			      level, msg, e)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

static const char *action_name(enum action_kind k)
{
	return k == ACTION_WARN	    ? "warn"
	       : k == ACTION_SWITCH ? "switch"
				    : "health check";
}

int watch_act(struct watch_ctx *w, const struct cred_view *v,
	      const struct action *a, struct watch_report *r, struct err *e)
{
	struct probe_result pr;
	int rc;

	if (w->dry_run && a->kind != ACTION_SWITCH) {
		watch_log(w, LOG_INFO, "%s: would %s (secret #%lld%s)", v->cred.name,
			  action_name(a->kind), (long long)a->secret_id,
			  a->kind == ACTION_WARN ? ", threshold reached" : "");
		if (a->kind == ACTION_WARN)
			r->warnings++;
		return 0;
	}
	if (w->dry_run) {
		watch_log(w, LOG_INFO, "%s: would test secret #%lld and switch to it",
			  v->cred.name, (long long)a->secret_id);
		return 0;
	}
	switch (a->kind) {
	case ACTION_WARN:
		return act_warn(w, v, a, r, e);
	case ACTION_HEALTH:
		r->health_checks++;
		rc = watch_test(w, &v->cred, &v->active, true, NULL, &pr, e);
		if (rc >= 0)
			rc = watch_health_settle(w, &v->cred, &v->active, &pr, r,
						 e);
		probe_result_free(&pr);
		return rc < 0 ? -1 : 0;
	default:
		rc = act_switch(w, v, a->secret_id, false, &pr, r, e);
		probe_result_free(&pr);
		return rc < 0 ? -1 : 0;
	}
}

int watch_rotate(struct watch_ctx *w, const struct cred *c, int64_t secret_id,
		 struct probe_result *pr, struct err *e)
{
	struct watch_report r = {0};
	const struct secret_info *cand;
	struct cred_view *v;
	int rc = -1;

	memset(pr, 0, sizeof(*pr));
	if (store_view_get(w->store, c->name, &v, e))
		return -1;
	cand = policy_switch_candidate(v);
	if (secret_id == 0 && cand == NULL && v->npending > 0)
		cand = &v->pending[0];
	if (secret_id == 0 && cand == NULL) {
		err_set(e, "%s has no pending secret: register the new one "
			   "with 'secretwatch secret add %s --expires WHEN'",
			c->name, c->name);
		goto out;
	}
	rc = act_switch(w, v, secret_id ? secret_id : cand->id, true, pr, &r,
			e);
out:
	free(v);
	return rc;
}

static int active_secret(struct watch_ctx *w, const struct cred *c,
			 struct secret_info *ret, struct err *e)
{
	struct cred_view *v;
	int rc = -1;

	if (store_view_get(w->store, c->name, &v, e))
		return -1;
	if (v->has_active) {
		*ret = v->active;
		rc = 0;
	} else {
		err_set(e, "%s has no active secret: test a pending one with "
			   "'secretwatch rotate %s'",
			c->name, c->name);
	}
	free(v);
	return rc;
}

static int token_from_entra(struct watch_ctx *w, const struct cred *c,
			    const struct secret_info *si, struct vbuf *ret,
			    int64_t *ret_exp, struct entra_result *res,
			    struct err *e)
{
	struct entra_request rq = {cloud_authority_url(c), c->tenant,
				   c->client_id, cloud_outlook_scope(c), NULL,
				   0};
	struct net_opts net = {w->cfg->ca_file[0] ? w->cfg->ca_file : NULL, 0,
			       0};
	struct entra_token tok = {0};
	struct vbuf value;
	int rc;

	if (store_secret_value(w->store, w->vault, si->id, &value, e))
		return -1;
	rq.secret = value.p;
	rq.secret_len = value.len;
	rc = entra_request_token(&rq, &net, w->retry, w->now, res, &tok);
	vbuf_free(&value);
	if (rc != 0) {
		err_set(e, "token request for %s failed: %s", c->name,
			res->summary);
		return -1;
	}
	rc = vbuf_alloc(ret, tok.len);
	if (rc == 0) {
		memcpy(ret->p, tok.value, tok.len);
		*ret_exp = tok.expires_at;
		store_token_put(w->store, w->vault, si->id,
				cloud_outlook_scope(c), tok.value, tok.len,
				tok.expires_at, e);
	}
	entra_token_free(&tok);
	return rc;
}

int watch_token(struct watch_ctx *w, const struct cred *c, struct vbuf *ret,
		int64_t *ret_expires_at, struct entra_result *res,
		struct err *e)
{
	struct secret_info si;
	int found;

	memset(res, 0, sizeof(*res));
	if (active_secret(w, c, &si, e))
		return -1;
	found = store_token_get(w->store, w->vault, si.id,
				cloud_outlook_scope(c), w->now + TOKEN_MARGIN,
				ret, ret_expires_at, e);
	if (found < 0)
		return -1;
	if (found)
		return 0;
	return token_from_entra(w, c, &si, ret, ret_expires_at, res, e);
}
