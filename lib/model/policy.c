#include "policy.h"

static const char *const level_names[] = {
    [LEVEL_OK] = "ok",
    [LEVEL_WARNING] = "warning",
    [LEVEL_CRITICAL] = "critical",
    [LEVEL_EXPIRED] = "expired",
    [LEVEL_UNKNOWN] = "unknown",
};

const char *policy_level_name(enum level l)
{
	return (unsigned)l <= LEVEL_UNKNOWN ? level_names[l] : "unknown";
}

int policy_level_exit(enum level l)
{
	switch (l) {
	case LEVEL_OK:
		return 0;
	case LEVEL_WARNING:
		return 1;
	case LEVEL_CRITICAL:
	case LEVEL_EXPIRED:
		return 2;
	default:
		return 3;
	}
}

static int severity(enum level l)
{
	static const int rank[] = {
	    [LEVEL_OK] = 0,	  [LEVEL_UNKNOWN] = 1, [LEVEL_WARNING] = 2,
	    [LEVEL_CRITICAL] = 3, [LEVEL_EXPIRED] = 4,
	};
	return rank[l];
}

enum level policy_level_worst(enum level a, enum level b)
{
	return severity(a) >= severity(b) ? a : b;
}

const struct secret_info *policy_secret_in_use(const struct cred_view *v,
					       int *ret_untested)
{
	*ret_untested = 0;
	if (v->has_active)
		return &v->active;
	if (v->npending > 0) {
		*ret_untested = 1;
		return &v->pending[0];
	}
	return NULL;
}

enum level policy_level(const struct cred_view *v, int64_t now,
			const struct config *cfg)
{
	int untested;
	const struct secret_info *si = policy_secret_in_use(v, &untested);
	int64_t left;

	if (si == NULL)
		return LEVEL_UNKNOWN;
	left = si->expires_at - now;
	if (left <= 0)
		return LEVEL_EXPIRED;
	if (left <= cfg->level_critical ||
	    (si->last_test_at != 0 && !si->last_test_ok))
		return LEVEL_CRITICAL;
	if (left <= cfg->level_warning)
		return LEVEL_WARNING;
	return LEVEL_OK;
}

int policy_due_threshold(int64_t expires_at, int warned_min,
			 const int *thresholds, int n, int64_t now)
{
	int best = -1;

	for (int i = -1; i < n; i++) {
		int t = i < 0 ? 0 : thresholds[i];
		if (now < expires_at - (int64_t)t * 86400)
			continue; /* not crossed yet */
		if (warned_min >= 0 && t >= warned_min)
			continue; /* alerted already */
		if (best < 0 || t < best)
			best = t;
	}
	return best;
}

/* The next crossing after now of a threshold not yet alerted, or 0. */
static int64_t next_crossing(const struct secret_info *si, int64_t now,
			     const struct config *cfg)
{
	int64_t next = 0;

	for (int i = -1; i < cfg->nwarn_days; i++) {
		int t = i < 0 ? 0 : cfg->warn_days[i];
		int64_t at = si->expires_at - (int64_t)t * 86400;
		if (at <= now || (si->warned_min >= 0 && t >= si->warned_min))
			continue;
		if (next == 0 || at < next)
			next = at;
	}
	return next;
}

const struct secret_info *policy_switch_candidate(const struct cred_view *v)
{
	const struct secret_info *best = NULL;

	for (int i = 0; i < v->npending; i++) {
		const struct secret_info *p = &v->pending[i];
		if (v->has_active && p->expires_at <= v->active.expires_at)
			continue;
		if (best == NULL || p->expires_at > best->expires_at)
			best = p;
	}
	return best;
}

static void add_action(struct plan *p, enum action_kind kind, int64_t id,
		       int threshold)
{
	p->actions[p->n].kind = kind;
	p->actions[p->n].secret_id = id;
	p->actions[p->n].threshold = threshold;
	p->n++;
}

static void wake_min(struct plan *p, int64_t at, int64_t now)
{
	if (at > now && at < p->wake_at)
		p->wake_at = at;
}

/* Rotate and revoke through Graph, and when they fall due. */
static void plan_rotation(const struct cred_view *v, int64_t now,
			  const struct config *cfg, struct plan *p)
{
	int64_t at = policy_next_rotation(v, cfg);
	int64_t revoke = policy_revoke_at(v, cfg);
	int64_t sync = policy_next_sync(v);

	if (policy_rotate_due(v, now, cfg))
		add_action(p, ACTION_ROTATE, v->active.id, 0);
	else if (at > now && policy_switch_candidate(v) == NULL)
		wake_min(p, at, now);
	else if (at != 0 && at <= now && v->cred.last_rotation_at != 0)
		wake_min(p, v->cred.last_rotation_at + POLICY_ROTATE_RETRY,
			 now);
	if ((revoke != 0 && revoke <= now) || v->cred.unused_made > 0)
		add_action(p, ACTION_REVOKE, v->active.id, 0);
	else if (revoke != 0)
		wake_min(p, revoke, now);
	if (sync != 0 && sync <= now && !policy_rotate_due(v, now, cfg))
		add_action(p, ACTION_SYNC, v->active.id, 0);
	else if (sync > now)
		wake_min(p, sync, now);
}

int64_t policy_next_sweep(const struct cred_view *v, const struct config *cfg)
{
	int untested;
	int64_t at, retry;

	if (!v->cred.sweep || policy_secret_in_use(v, &untested) == NULL)
		return 0;
	at = v->cred.last_sweep_at + cfg->sweep_interval;
	retry = cfg->sweep_interval < POLICY_SWEEP_RETRY ? cfg->sweep_interval
							 : POLICY_SWEEP_RETRY;
	if (v->cred.last_sweep_try_at + retry > at)
		at = v->cred.last_sweep_try_at + retry;
	return at;
}

static void plan_sweep(const struct cred_view *v, int64_t now,
		       const struct config *cfg, struct plan *p)
{
	int64_t at = policy_next_sweep(v, cfg);

	if (at != 0 && at <= now)
		add_action(p, ACTION_SWEEP, v->has_active ? v->active.id : 0,
			   0);
	else
		wake_min(p, at, now);
}

void policy_plan(const struct cred_view *v, int64_t now,
		 const struct config *cfg, struct plan *ret)
{
	const struct secret_info *use, *cand = policy_switch_candidate(v);
	int untested, t, switching = 0;

	ret->n = 0;
	ret->wake_at = now + cfg->interval;
	use = policy_secret_in_use(v, &untested);
	if (use != NULL) {
		t = policy_due_threshold(use->expires_at, use->warned_min,
					 cfg->warn_days, cfg->nwarn_days, now);
		if (t >= 0)
			add_action(ret, ACTION_WARN, use->id, t);
		wake_min(ret, next_crossing(use, now, cfg), now);
	}
	if (cand != NULL) {
		if (cand->next_try_at <= now) {
			add_action(ret, ACTION_SWITCH, cand->id, 0);
			switching = 1;
		}
		wake_min(ret, cand->next_try_at, now);
	}
	plan_rotation(v, now, cfg, ret);
	plan_sweep(v, now, cfg, ret);
	if (v->has_active && v->active.expires_at > now) {
		int64_t due = v->active.last_test_at + cfg->test_active_every;
		if (!switching && due <= now)
			add_action(ret, ACTION_HEALTH, v->active.id, 0);
		wake_min(ret, due, now);
	}
}

enum level policy_warn_level(int threshold, const struct config *cfg)
{
	if (threshold <= 0)
		return LEVEL_EXPIRED;
	return (int64_t)threshold * 86400 <= cfg->level_critical
		   ? LEVEL_CRITICAL
		   : LEVEL_WARNING;
}

bool policy_switch_retry(const struct secret_info *si, int64_t now,
			 const struct config *cfg, int64_t *ret_first,
			 int64_t *ret_next)
{
	int64_t first = si->first_try_at ? si->first_try_at : now;

	int64_t wait = now - first;

	*ret_first = first;
	*ret_next = 0;
	if (now - first >= cfg->switch_window)
		return false;
	if (wait < POLICY_SWITCH_FIRST_RETRY)
		wait = POLICY_SWITCH_FIRST_RETRY;
	if (wait > cfg->switch_retry)
		wait = cfg->switch_retry;
	*ret_next = now + wait;
	return true;
}

int64_t policy_next_rotation(const struct cred_view *v,
			     const struct config *cfg)
{
	if (!v->cred.rotate_auto || !v->has_active)
		return 0;
	return v->active.expires_at - cfg->rotate_before;
}

bool policy_rotate_due(const struct cred_view *v, int64_t now,
		       const struct config *cfg)
{
	int64_t at = policy_next_rotation(v, cfg);
	int64_t last = v->cred.last_rotation_at;

	if (v->cred.rotate_open)
		return true;
	if (at == 0 || now < at || policy_switch_candidate(v) != NULL)
		return false;
	return last == 0 || now - last >= POLICY_ROTATE_RETRY;
}

int64_t policy_rotate_end(int64_t now, const struct config *cfg,
			  int64_t max_lifetime)
{
	int64_t life = cfg->rotate_lifetime;

	if (max_lifetime > 0 && max_lifetime < life)
		life = max_lifetime;
	return now + life;
}

int64_t policy_revoke_at(const struct cred_view *v, const struct config *cfg)
{
	const struct cred *c = &v->cred;

	if (!c->rotate_auto || !v->has_active || c->revocable == 0 ||
	    c->active_deploy != CRED_DEPLOY_DONE)
		return 0;
	return v->active.activated_at + cfg->rotate_grace;
}

int64_t policy_next_sync(const struct cred_view *v)
{
	if (!v->cred.rotate_auto || (!v->has_active && v->npending == 0))
		return 0;
	return v->cred.last_graph_read_at + POLICY_SYNC_EVERY;
}

bool policy_deploy_alert(const struct cred *c, int attempts)
{
	return c->rotate_auto && attempts == 0;
}

bool policy_health_alert(const struct secret_info *si, bool transient)
{
	bool was_failing = si->last_test_at != 0 && !si->last_test_ok;

	return !was_failing && !transient;
}

int64_t policy_delivery_retry(int64_t created_at, int attempts, int64_t now,
			      int64_t interval)
{
	int64_t wait = 60;

	if (now - created_at >= POLICY_DELIVERY_GIVE_UP)
		return 0;
	for (int i = 0; i < attempts && wait < interval; i++) {
		if (wait > INT64_MAX / 2)
			break;
		wait *= 2;
	}
	if (wait > interval)
		wait = interval;
	if (wait > INT64_MAX - now)
		return INT64_MAX;
	return now + wait;
}

bool policy_token_file_due(const struct cred_view *v, bool present, int64_t now)
{
	const struct cred *c = &v->cred;

	if (!c->token_file || !v->has_active)
		return false;
	return !present || c->token_file_secret_id != v->active.id ||
	       c->token_file_expires_at - now < POLICY_TOKEN_REFRESH;
}

bool policy_token_file_drop(const struct cred *c, bool present, int64_t now)
{
	return present && c->token_file_expires_at <= now;
}

bool policy_token_file_alert(const struct cred *c, bool valid_left)
{
	return !valid_left && c->token_file_failed_at == 0;
}

int64_t policy_token_file_wake(const struct cred_view *v, int64_t now)
{
	const struct cred *c = &v->cred;
	int64_t exp = c->token_file_expires_at, at;

	if (!c->token_file)
		return 0;
	if (!v->has_active)
		return exp > now ? exp : 0;
	if (exp == 0 || c->token_file_secret_id != v->active.id)
		return now + POLICY_TOKEN_RETRY;
	at = exp - POLICY_TOKEN_REFRESH;
	if (at > now)
		return at;
	/* Due and not written: a failed refresh. */
	at = now + POLICY_TOKEN_RETRY;
	return exp > now && exp < at ? exp : at;
}
