/* watch_switch.c - the switch step: test a pending secret and make it
 * active when it passes; retry a failing one until the switch window has
 * passed (policy_switch_retry), then mark it failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "timefmt.h"
#include "watch_impl.h"

static void switched_message(const struct cred *c, const struct secret_info *si,
			     const struct cred_view *v, char *out, size_t size)
{
	char t[TIMEFMT_RFC3339_LEN], old[128] = "";

	timefmt_rfc3339(si->expires_at, t);
	if (v->has_active)
		snprintf(old, sizeof(old),
			 " The previous %s %s~ stays valid in Entra until "
			 "it expires or is deleted there.",
			 v->active.kind == SECRET_KIND_CERTIFICATE
			     ? "certificate"
			     : "secret",
			 v->active.hint);
	snprintf(out, size,
		 "secretwatch switched %s to %s %s~ (key %s, "
		 "expires %s) after a successful token request and %s.%s",
		 c->name, secret_kind_noun(si->kind), si->hint,
		 si->key_id[0] ? si->key_id : "unknown", t,
		 cred_reads_only(c) ? "a check that it may read the tenant"
				    : "XOAUTH2 test send",
		 old);
}

/* The secret passed its test but is no longer pending: say so in the
 * audit trail, and switch nothing. Returns WATCH_SWITCH_LOST. */
static int switch_lost(struct watch_ctx *w, const struct cred_view *v,
		       const struct secret_info *si, struct err *e)
{
	struct secret_info now;
	const char *state = "unknown";

	if (store_secret_get(w->store, si->id, &now, e) == 0)
		state = secret_state_name(now.state);
	watch_log(w, LOG_NOTICE,
		  "%s: secret %s~ (#%lld) passed its test but is %s now; "
		  "not switched",
		  v->cred.name, si->hint, (long long)si->id, state);
	if (store_begin(w->store, e))
		return -1;
	if (event_addf(w->store, w->now, v->cred.name, si->id,
		       "switch-abandoned", e, "reason", "no longer pending",
		       "state", state, EVENT_END)) {
		store_rollback(w->store);
		return -1;
	}
	if (store_commit(w->store, e))
		return -1;
	err_set(e,
		"secret #%lld of %s is %s now, no longer pending: not "
		"switched",
		(long long)si->id, v->cred.name, state);
	return WATCH_SWITCH_LOST;
}

/* The credential's level once switched: from its new view, read inside
 * the switch's transaction (the new secret's own dates decide). */
static int switched_level(struct watch_ctx *w, const struct cred *c,
			  enum level *ret, struct err *e)
{
	struct cred_view *nv;

	if (store_view_get(w->store, c->name, &nv, e))
		return -1;
	*ret = policy_level(nv, w->now, w->cfg);
	free(nv);
	return 0;
}

/* Inside the switch to si: what rotations made for v and is still
 * pending will never be switched to now; it fails (a compare-and-set)
 * and so leaves Entra (watch_revoke.c). */
static int supersede(struct watch_ctx *w, const struct cred_view *v,
		     const struct secret_info *si, struct err *e)
{
	char by[24];
	int rc;

	snprintf(by, sizeof(by), "%lld", (long long)si->id);
	for (int i = 0; i < v->npending; i++) {
		const struct secret_info *p = &v->pending[i];
		if (p->id == si->id || !p->made_by_rotation)
			continue;
		rc = store_secret_fail(w->store, p->id, e);
		if (rc < 0 ||
		    (rc == 0 && event_addf(w->store, w->now, v->cred.name,
					   p->id, "superseded", e, "by", by,
					   "key_id", p->key_id, EVENT_END)))
			return -1;
	}
	return 0;
}

static int switch_commit(struct watch_ctx *w, const struct cred_view *v,
			 const struct secret_info *si, struct err *e)
{
	char msg[1024];
	char from[24];
	enum level level = LEVEL_OK;
	int rc;

	snprintf(from, sizeof(from), "%lld",
		 (long long)(v->has_active ? v->active.id : 0));
	switched_message(&v->cred, si, v, msg, sizeof(msg));
	if (store_begin(w->store, e))
		return -1;
	/* Compare and set: a secret retired during its test, or switched to
	 * by another process, stays as it is and is owed nothing. */
	rc = store_secret_activate(w->store, v->cred.id, si->id, w->now, e);
	if (rc == 1) {
		store_rollback(w->store);
		return switch_lost(w, v, si, e);
	}
	if (rc < 0 || supersede(w, v, si, e) ||
	    switched_level(w, &v->cred, &level, e) ||
	    store_cred_count(w->store, v->cred.id, CRED_SWITCHES, 1, w->now,
			     e) ||
	    event_addf(w->store, w->now, v->cred.name, si->id, "switched", e,
		       "from", from, "hint", si->hint, EVENT_END) ||
	    watch_queue_alert(w, &v->cred, si, ALERT_SWITCHED, level, msg, e) ||
	    watch_queue_deploy(w, &v->cred, si, e)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e) ? -1 : 0;
}

static int switch_give_up(struct watch_ctx *w, const struct cred_view *v,
			  const struct secret_info *si,
			  const struct probe_result *pr, struct err *e)
{
	char msg[8192];
	int rc;

	snprintf(msg, sizeof(msg),
		 "The new %s %s~ of %s kept failing its test for %lld minutes "
		 "and was marked failed; %s stays on what it uses now. %s %s",
		 secret_kind_noun(si->kind), si->hint, v->cred.name,
		 (long long)(w->cfg->switch_window / 60), v->cred.name,
		 pr->has_diag ? pr->diag.summary : "",
		 pr->has_diag ? pr->diag.remedy : "");
	if (store_begin(w->store, e))
		return -1;
	/* Compare and set: a secret retired during its test stays retired
	 * and is owed no alert. */
	rc = store_secret_fail(w->store, si->id, e);
	if (rc == 1) {
		store_rollback(w->store);
		watch_log(w, LOG_NOTICE,
			  "%s: secret %s~ (#%lld) is no longer pending; not "
			  "marked failed",
			  v->cred.name, si->hint, (long long)si->id);
		return 0;
	}
	if (rc < 0 ||
	    event_addf(w->store, w->now, v->cred.name, si->id, "switch-failed",
		       e, "step",
		       pr->has_diag ? diag_step_name(pr->diag.step) : NULL,
		       EVENT_END) ||
	    watch_queue_alert(w, &v->cred, si, ALERT_SWITCH_FAILED,
			      LEVEL_CRITICAL, msg, e)) {
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
	int64_t first, next;

	if (!policy_switch_retry(si, w->now, w->cfg, &first, &next)) {
		r->switch_failures++;
		return switch_give_up(w, v, si, pr, e);
	}
	r->switch_retries++;
	if (store_secret_schedule(w->store, si->id, first, next, e))
		return -1;
	watch_log(w, LOG_NOTICE,
		  "%s: new secret %s~ not accepted yet (%s); retrying in "
		  "%llds",
		  v->cred.name, si->hint,
		  pr->has_diag ? diag_step_name(pr->diag.step) : "failed",
		  (long long)w->cfg->switch_retry);
	return 0;
}

static const struct secret_info *find_pending(const struct cred_view *v,
					      int64_t id)
{
	for (int i = 0; i < v->npending; i++)
		if (v->pending[i].id == id)
			return &v->pending[i];
	return NULL;
}

int watch_switch(struct watch_ctx *w, const struct cred_view *v, int64_t id,
		 bool manual, struct probe_result *pr, struct watch_report *r,
		 struct err *e)
{
	const struct secret_info *si = find_pending(v, id);
	int rc;

	memset(pr, 0, sizeof(*pr));
	if (si == NULL) {
		err_set(e, "secret #%lld of %s is not pending", (long long)id,
			v->cred.name);
		return -1;
	}
	rc = watch_verify(w, &v->cred, si, false, NULL, pr, e);
	if (rc < 0)
		return rc;
	if (rc == 0) {
		rc = switch_commit(w, v, si, e);
		if (rc != 0)
			return rc;
		/* Said once, by the 'switched' alert's log line. */
		r->switches++;
		return 0;
	}
	if (!manual && switch_failed(w, v, si, pr, r, e))
		return -1;
	return 1;
}

int watch_switch_now(struct watch_ctx *w, const struct cred *c,
		     int64_t secret_id, struct probe_result *pr, struct err *e)
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
		err_set(e,
			"%s has no pending secret: register the new one "
			"with 'secretwatch secret add %s --expires WHEN'",
			c->name, c->name);
		goto out;
	}
	rc = watch_switch(w, v, secret_id ? secret_id : cand->id, true, pr, &r,
			  e);
out:
	free(v);
	return rc;
}
