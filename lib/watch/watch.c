/* watch.c - one watchdog cycle: plan every credential, act on the few
 * that have something due, deliver what is owed, write the metrics. A
 * dry run is decided here, once: it plans and reports, and never calls
 * an acting step. */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "timefmt.h"
#include "watch_impl.h"
#include "watch_sweep.h"
#include "watch_sync.h"

struct due {
	char name[CRED_NAME_MAX + 1];
	enum level level; /* as counted in r->levels */
};

struct scan {
	struct watch_ctx *w;
	struct watch_report *r;
	struct due *due;
	size_t ndue, cap;
	int failed;
};

static void wake_min(struct watch_report *r, int64_t at)
{
	if (at > 0 && (r->next_wake == 0 || at < r->next_wake))
		r->next_wake = at;
}

/* First pass: levels, plans, and the names of credentials with work. */
static int scan_one(void *ctx, const struct cred_view *v)
{
	struct scan *sc = ctx;
	enum level l = policy_level(v, sc->w->now, sc->w->cfg);
	struct plan p;

	sc->r->credentials++;
	sc->r->levels[l]++;
	policy_plan(v, sc->w->now, sc->w->cfg, &p);
	wake_min(sc->r, p.wake_at);
	if (p.n == 0)
		return 0;
	if (sc->ndue == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		struct due *d = realloc(sc->due, cap * sizeof(*d));
		if (d == NULL) {
			sc->failed = 1;
			return 1;
		}
		sc->due = d;
		sc->cap = cap;
	}
	memcpy(sc->due[sc->ndue].name, v->cred.name, sizeof(v->cred.name));
	sc->due[sc->ndue++].level = l;
	return 0;
}

struct act_ctx {
	struct watch_ctx *w;
	struct watch_report *r;
	struct err *e;
	struct health_batch health;
	struct due *cur; /* replan_one: the credential replanned */
	int failed;
};

/* One planned action, by the step that does it. */
static int act(struct act_ctx *ac, const struct cred_view *v,
	       const struct action *a)
{
	struct watch_sweep_report sr;
	struct probe_result pr;
	int rc;

	switch (a->kind) {
	case ACTION_WARN:
		return watch_warn(ac->w, v, a, ac->r, ac->e);
	case ACTION_SWITCH:
		rc = watch_switch(ac->w, v, a->secret_id, false, &pr, ac->r,
				  ac->e);
		probe_result_free(&pr);
		return rc < 0 ? -1 : 0;
	case ACTION_HEALTH:
		return watch_health_add(ac->w, &ac->health, v, ac->r, ac->e);
	case ACTION_ROTATE:
		return watch_rotate_step(ac->w, v, ac->r, ac->e);
	case ACTION_REVOKE:
		return watch_revoke(ac->w, v, ac->r, ac->e);
	case ACTION_SYNC:
		return watch_sync_daily(ac->w, v, ac->e);
	case ACTION_SWEEP:
		return watch_sweep(ac->w, v, true, &sr, ac->r, ac->e);
	}
	return 0;
}

/* What a dry run says instead of acting. */
static void report(struct act_ctx *ac, const struct cred_view *v,
		   const struct action *a)
{
	switch (a->kind) {
	case ACTION_WARN:
		ac->r->warnings++;
		watch_log(ac->w, LOG_INFO,
			  "%s: would warn (secret #%lld, threshold reached)",
			  v->cred.name, (long long)a->secret_id);
		break;
	case ACTION_SWITCH:
		watch_log(ac->w, LOG_INFO,
			  "%s: would test secret #%lld and switch to it",
			  v->cred.name, (long long)a->secret_id);
		break;
	case ACTION_HEALTH:
		watch_log(ac->w, LOG_INFO,
			  "%s: would health check (secret #%lld)", v->cred.name,
			  (long long)a->secret_id);
		break;
	case ACTION_ROTATE:
		watch_log(ac->w, LOG_INFO,
			  "%s: would make a new secret through Graph "
			  "(addPassword), then test and switch to it",
			  v->cred.name);
		break;
	case ACTION_REVOKE:
		watch_log(ac->w, LOG_INFO,
			  "%s: would remove the previous secrets from Entra "
			  "(removePassword)",
			  v->cred.name);
		break;
	case ACTION_SYNC:
		watch_log(ac->w, LOG_INFO,
			  "%s: would reconcile with Entra (sync)",
			  v->cred.name);
		break;
	case ACTION_SWEEP:
		watch_log(ac->w, LOG_INFO, "%s: would sweep its tenant",
			  v->cred.name);
		break;
	}
}

/* Second pass, per due credential, on a fresh read of its state. */
static int act_one(void *ctx, const struct cred_view *v)
{
	struct act_ctx *ac = ctx;
	struct plan p;

	policy_plan(v, ac->w->now, ac->w->cfg, &p);
	for (int i = 0; i < p.n && !ac->failed; i++) {
		if (ac->w->stop != NULL && *ac->w->stop)
			break;
		if (ac->w->dry_run)
			report(ac, v, &p.actions[i]);
		else if (act(ac, v, &p.actions[i]))
			ac->failed = 1;
	}
	return 1;
}

/* After acting, a credential's next deadline may have moved (a retry),
 * and its level too (a failed health check is critical, a switch may
 * leave it ok): the report counts the level it has now, as status
 * and the metrics do. */
static int replan_one(void *ctx, const struct cred_view *v)
{
	struct act_ctx *ac = ctx;
	enum level l = policy_level(v, ac->w->now, ac->w->cfg);
	struct plan p;

	ac->r->levels[ac->cur->level]--;
	ac->r->levels[l]++;
	ac->cur->level = l;
	policy_plan(v, ac->w->now, ac->w->cfg, &p);
	wake_min(ac->r, p.wake_at);
	return 1;
}

struct metrics_ctx {
	struct watch_ctx *w;
	struct metrics *m;
	const struct cred *reader; /* metrics_item */
	int failed;
};

static int metrics_item(void *ctx, const struct inv_item *it)
{
	struct metrics_ctx *mc = ctx;

	metrics_app_credential(mc->m, mc->reader->tenant, it->app_id,
			       it->display_name, it->key_id,
			       secret_kind_name(it->kind), it->expires_at);
	return 0;
}

/* A reader's tenant: its inventory by level, its last whole sweep. */
static void metrics_tenant(struct metrics_ctx *mc, const struct cred *c)
{
	const struct config *cfg = mc->w->cfg;
	struct inv_query q = {c->id, 0, -1, false, NULL};
	struct inv_counts n;
	struct err e;

	metrics_sweep(mc->m, c->name, c->tenant, c->last_sweep_at);
	if (store_inventory_counts(mc->w->store, c->id, mc->w->now,
				   cfg->level_critical, cfg->level_warning, &n,
				   &e) == 0) {
		metrics_inventory(mc->m, c->name, c->tenant, "expired",
				  n.expired);
		metrics_inventory(mc->m, c->name, c->tenant, "critical",
				  n.critical);
		metrics_inventory(mc->m, c->name, c->tenant, "warning",
				  n.warning);
		metrics_inventory(mc->m, c->name, c->tenant, "ok", n.ok);
	} else {
		mc->failed = 1;
	}
	mc->reader = c;
	if (cfg->sweep_metrics_per_credential &&
	    store_inventory_each(mc->w->store, &q, metrics_item, mc, &e))
		mc->failed = 1;
}

static void metrics_secret_of(struct metrics *m, const struct cred *c,
			      const struct secret_info *si)
{
	metrics_secret(m, c->name, si->key_id, si->hint,
		       secret_state_name(si->state), secret_kind_name(si->kind),
		       si->expires_at);
}

static int metrics_one(void *ctx, const struct cred_view *v)
{
	struct metrics_ctx *mc = ctx;

	if (v->has_active)
		metrics_secret_of(mc->m, &v->cred, &v->active);
	for (int i = 0; i < v->npending; i++)
		metrics_secret_of(mc->m, &v->cred, &v->pending[i]);
	/* The level as status's exit code says it: one mapping for both. */
	metrics_credential(
	    mc->m, v->cred.name,
	    policy_level_exit(policy_level(v, mc->w->now, mc->w->cfg)),
	    v->cred.last_check_at, v->cred.switches, v->cred.test_failures);
	metrics_next_rotation(mc->m, v->cred.name,
			      policy_next_rotation(v, mc->w->cfg));
	if (v->cred.sweep)
		metrics_tenant(mc, &v->cred);
	return 0;
}

static int write_metrics(struct watch_ctx *w, struct watch_report *r,
			 struct err *e)
{
	struct metrics_ctx mc = {w, NULL, NULL, 0};
	int rc;

	if (w->cfg->metrics_textfile[0] == '\0')
		return 0;
	if (metrics_open(w->cfg->metrics_textfile, &mc.m, e))
		return -1;
	rc = store_view_each(w->store, NULL, metrics_one, &mc, e);
	if (rc == 0 && mc.failed) {
		err_set(e, "metrics: reading the inventory failed");
		rc = -1;
	}
	if (rc != 0) {
		metrics_abort(mc.m);
		return -1;
	}
	metrics_cycle_success(mc.m, w->now);
	metrics_global(
	    mc.m, w->now,
	    store_counter_get(w->store, COUNTER_ALERT_DELIVERY_FAILURES),
	    r->credentials);
	metrics_rotation_totals(
	    mc.m, store_counter_get(w->store, COUNTER_ROTATIONS),
	    store_counter_get(w->store, COUNTER_GRAPH_FAILURES));
	return metrics_commit(mc.m, e);
}

static int act_all(struct watch_ctx *w, struct scan *sc, struct watch_report *r,
		   struct err *e)
{
	struct act_ctx ac = {w, r, e, {NULL, 0}, NULL, 0};

	for (size_t i = 0; i < sc->ndue && !ac.failed; i++) {
		if (w->stop != NULL && *w->stop)
			break;
		if (store_view_each(w->store, sc->due[i].name, act_one, &ac, e))
			ac.failed = 1;
	}
	if (!ac.failed && watch_health_flush(w, &ac.health, r, e))
		ac.failed = 1;
	watch_health_free(&ac.health);
	/* Deadlines may have moved (retries, checks done): plan again. */
	for (size_t i = 0; i < sc->ndue && !ac.failed; i++) {
		ac.cur = &sc->due[i];
		store_view_each(w->store, sc->due[i].name, replan_one, &ac, e);
	}
	return ac.failed ? -1 : 0;
}

int watch_cycle(struct watch_ctx *w, struct watch_report *r, struct err *e)
{
	struct scan sc = {.w = w, .r = r};
	int rc = -1;

	memset(r, 0, sizeof(*r));
	if (store_view_each(w->store, NULL, scan_one, &sc, e))
		goto out;
	if (sc.failed) {
		err_set(e, "out of memory planning the cycle");
		goto out;
	}
	if (act_all(w, &sc, r, e) || watch_tokens(w, r, e))
		goto out;
	if (w->dry_run) {
		rc = 0;
		goto out;
	}
	if (watch_deliver(w, r, e))
		goto out;
	wake_min(r, store_outbox_next(w->store));
	rc = write_metrics(w, r, e);
out:
	free(sc.due);
	return rc;
}

/* A transfer's tick that ends it once *arg, a stop flag, is set. */
static int stop_tick(void *arg, int proto)
{
	(void)proto;
	return *(volatile sig_atomic_t *)arg != 0;
}

int watch_heartbeat(const struct config *cfg, bool failed,
		    volatile sig_atomic_t *stop, struct err *e)
{
	struct net_opts net = {0};

	if (cfg->heartbeat_url[0] == '\0')
		return 0;
	net.ca_file = cfg->ca_file[0] ? cfg->ca_file : NULL;
	if (stop != NULL) {
		net.tick = stop_tick;
		net.tick_arg = (void *)stop;
	}
	return alert_heartbeat_send(cfg->heartbeat_url, failed, &net, e);
}

void watch_report_line(const struct watch_report *r, char *out, size_t size)
{
	char t[TIMEFMT_RFC3339_LEN];

	timefmt_rfc3339(r->next_wake, t);
	err_fmt(out, size,
		"%d credentials: %d ok, %d warning, %d critical, %d expired, "
		"%d unknown; %d warnings, %d switched, %d health checks (%d "
		"failed), %d alerts delivered; next check %s",
		r->credentials, r->levels[LEVEL_OK], r->levels[LEVEL_WARNING],
		r->levels[LEVEL_CRITICAL], r->levels[LEVEL_EXPIRED],
		r->levels[LEVEL_UNKNOWN], r->warnings, r->switches,
		r->health_checks, r->health_failures, r->delivered, t);
}
