/* watch_sync.c - reconcile stored secrets with Entra (watch_sync.h). */
#include "watch_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "timefmt.h"
#include "watch_impl.h"

static const char *const outcome_names[] = {
    [WATCH_SYNC_SAME] = "same",
    [WATCH_SYNC_CORRECTED] = "corrected",
    [WATCH_SYNC_REMOVED] = "removed",
    [WATCH_SYNC_UNMATCHED] = "unmatched",
};

const char *watch_sync_outcome_name(enum watch_sync_outcome o)
{
	return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0])
		   ? outcome_names[o]
		   : "unknown";
}

/* The secret to authenticate with: the active one, else the newest
 * pending one. Returns 0 with *ret, or -1 with e. */
static int pick_secret(struct watch_ctx *w, const struct cred *c,
		       struct secret_info *ret, struct err *e)
{
	struct cred_view *v;
	int rc = 0;

	if (store_view_get(w->store, c->name, &v, e))
		return -1;
	if (v->has_active)
		*ret = v->active;
	else if (v->npending > 0)
		*ret = v->pending[0];
	else {
		err_set(e,
			"%s has no secret to read Entra with: register one "
			"with 'secretwatch secret add %s'",
			c->name, c->name);
		rc = -1;
	}
	free(v);
	return rc;
}

/* Record the Graph read: the key ID it authenticated with, its outcome. */
static int record_read(struct watch_ctx *w, const struct cred *c,
		       const struct secret_info *si,
		       const struct watch_sync_report *r, const char *why,
		       struct err *e)
{
	char n[24], status[24];

	if (w->dry_run)
		return 0;
	snprintf(n, sizeof(n), "%zu", r->app.n_passwords);
	snprintf(status, sizeof(status), "%ld", r->graph_ok ? 200L : 0L);
	return watch_event(w, c->name, si->id, "graph-read", e, "key_id",
			   si->key_id, "outcome", r->graph_ok ? "ok" : "failed",
			   "credentials", r->graph_ok ? n : "", "error", why,
			   WATCH_END);
}

/* What the Graph token's roles claim allows. */
static void read_roles(const struct jwt_claims *claims,
		       struct watch_sync_report *r)
{
	r->has_roles = claims->has_roles;
	for (size_t i = 0; i < claims->n_roles; i++) {
		if (strcmp(claims->roles[i], "Application.ReadWrite.OwnedBy") ==
		    0)
			r->owned_by = r->can_write = true;
		else if (strcmp(claims->roles[i],
				"Application.ReadWrite.All") == 0)
			r->can_write = true;
		else if (strcmp(claims->roles[i], "Policy.Read.All") == 0)
			r->reads_policy = true;
	}
}

/* Token and GET with the value of si. Fills r. */
static void read_app(struct watch_ctx *w, const struct cred *c, bool policy,
		     const struct secret_info *si, const struct vbuf *value,
		     struct watch_sync_report *r)
{
	struct diag_input in = {c, si->hint, NULL};
	struct entra_token tok = {0};
	struct entra_result tres;
	struct graph_result gres;
	struct jwt_claims claims;
	struct net_opts net = {0};
	struct graph_ctx g = {c, &net, w->retry, &tok};
	struct err ignored;

	net.ca_file = w->cfg->ca_file[0] ? w->cfg->ca_file : NULL;
	if (graph_token(c, value->p, value->len, &net, w->retry, w->now, &tres,
			&tok) != 0) {
		r->token_failed = true;
		diag_token(&in, &tres, &r->diag);
		return;
	}
	if (jwt_decode(tok.value, tok.len, &claims, &ignored) == 0) {
		in.claims = &claims;
		read_roles(&claims, r);
	}
	if (graph_app_get(&g, &r->app, &gres) == 0)
		r->graph_ok = true;
	else
		diag_graph(&in, &gres, NULL, NULL, &r->diag);
	if (policy && r->graph_ok && r->reads_policy) {
		r->policy_read = graph_lifetime_policy(&g, r->app.created_at,
						       &r->policy, &gres) == 0;
		snprintf(r->policy_error, sizeof(r->policy_error), "%s",
			 r->policy_read ? "" : gres.summary);
	}
	entra_token_free(&tok);
}

int watch_sync_read(struct watch_ctx *w, const struct cred *c, bool policy,
		    struct watch_sync_report *r, struct err *e)
{
	struct secret_info si;
	struct vbuf value = {0};
	int rc;

	memset(r, 0, sizeof(*r));
	if (pick_secret(w, c, &si, e) ||
	    store_secret_value(w->store, w->vault, si.id, &value, e))
		return -1;
	read_app(w, c, policy, &si, &value, r);
	vbuf_free(&value);
	rc = record_read(w, c, &si, r, r->graph_ok ? "" : r->diag.summary, e);
	if (!r->graph_ok)
		watch_log(w, LOG_WARNING, "%s: reading Entra failed: %s",
			  c->name, r->diag.summary);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Reconciling */

struct collect {
	struct watch_sync_report *r;
};

static int collect_one(void *p, const struct secret_info *si)
{
	struct watch_sync_report *r = ((struct collect *)p)->r;

	if (si->state != SECRET_PENDING && si->state != SECRET_ACTIVE &&
	    si->state != SECRET_PREVIOUS)
		return 0;
	if (r->n_secrets >= WATCH_SYNC_SECRETS_MAX)
		return 1;
	r->secrets[r->n_secrets++].before = *si;
	return 0;
}

/* The credential in Entra that s is, or NULL; *ambiguous when it has no
 * key ID and several credentials have its hint. */
static const struct graph_password *match(const struct graph_app *app,
					  const struct secret_info *si,
					  bool *ambiguous)
{
	size_t same_hint = 0;

	*ambiguous = false;
	if (si->key_id[0] != '\0')
		return graph_app_by_key(app, si->key_id);
	for (size_t i = 0; i < app->n_passwords; i++)
		if (strcmp(app->passwords[i].hint, si->hint) == 0)
			same_hint++;
	*ambiguous = same_hint > 1;
	return graph_app_by_hint(app, si->hint);
}

static int correct(struct watch_ctx *w, const struct cred *c,
		   struct watch_sync_secret *s, const struct graph_password *p,
		   struct err *e)
{
	char was[TIMEFMT_RFC3339_LEN], now[TIMEFMT_RFC3339_LEN];
	int rc;

	timefmt_rfc3339(s->before.expires_at, was);
	timefmt_rfc3339(p->end, now);
	s->outcome = WATCH_SYNC_CORRECTED;
	if (w->dry_run)
		return 0;
	if (store_begin(w->store, e))
		return -1;
	rc = store_sync_correct(w->store, s->before.id, p->end, p->key_id, e);
	if (rc == 0)
		rc = watch_event(w, c->name, s->before.id, "expiry-corrected",
				 e, "key_id", p->key_id, "hint", p->hint, "old",
				 was, "new", now, WATCH_END);
	if (rc < 0 || (rc == 0 && store_commit(w->store, e))) {
		store_rollback(w->store);
		return -1;
	}
	if (rc == 1)
		store_rollback(w->store);
	watch_log(w, LOG_NOTICE,
		  "%s: secret #%lld (%s~) expiry corrected "
		  "from Entra: %s -> %s",
		  c->name, (long long)s->before.id, s->before.hint, was, now);
	return 0;
}

static int removed(struct watch_ctx *w, const struct cred *c,
		   struct watch_sync_secret *s, struct err *e)
{
	bool active = s->before.state == SECRET_ACTIVE;
	char msg[512];
	int rc;

	s->outcome = WATCH_SYNC_REMOVED;
	if (w->dry_run)
		return 0;
	snprintf(msg, sizeof(msg),
		 "The %s client secret %s~ (key ID %s) of %s no longer exists "
		 "in Entra: it was removed from app %s.%s",
		 secret_state_name(s->before.state), s->before.hint,
		 s->before.key_id[0] ? s->before.key_id : "unknown", c->name,
		 c->client_id,
		 active ? " Mail stops when its cached tokens expire: register "
			  "a new secret now ('secretwatch secret add NAME', "
			  "then 'secretwatch rotate NAME')."
			: "");
	if (store_begin(w->store, e))
		return -1;
	rc = store_sync_mark_removed(w->store, s->before.id, w->now, e);
	if (rc == 0)
		rc = watch_event(w, c->name, s->before.id,
				 "secret-removed-in-entra", e, "key_id",
				 s->before.key_id, "hint", s->before.hint,
				 "state", secret_state_name(s->before.state),
				 WATCH_END) ||
		     watch_queue_alert(w, c, &s->before, ALERT_SECRET_REMOVED,
				       active ? LEVEL_CRITICAL : LEVEL_WARNING,
				       msg, e);
	if (rc < 0 || (rc == 0 && store_commit(w->store, e))) {
		store_rollback(w->store);
		return -1;
	}
	if (rc == 1) {
		store_rollback(w->store);
		return 0;
	}
	s->alerted = true;
	watch_log(w, active ? LOG_CRIT : LOG_WARNING,
		  "%s: secret #%lld (%s~) was removed in Entra", c->name,
		  (long long)s->before.id, s->before.hint);
	return 0;
}

static int reconcile(struct watch_ctx *w, const struct cred *c,
		     struct watch_sync_report *r, struct err *e)
{
	bool known[GRAPH_PASSWORDS_MAX] = {false};

	for (size_t i = 0; i < r->n_secrets; i++) {
		struct watch_sync_secret *s = &r->secrets[i];
		bool ambiguous;
		const struct graph_password *p =
		    match(&r->app, &s->before, &ambiguous);

		if (p != NULL) {
			known[p - r->app.passwords] = true;
			s->entra_end = p->end;
			if ((p->end != 0 && p->end != s->before.expires_at) ||
			    s->before.key_id[0] == '\0') {
				if (correct(w, c, s, p, e))
					return -1;
			}
		} else if (ambiguous) {
			s->outcome = WATCH_SYNC_UNMATCHED;
		} else if (!r->app.truncated && removed(w, c, s, e)) {
			return -1;
		}
	}
	for (size_t i = 0; i < r->app.n_passwords; i++)
		if (!known[i])
			r->unknown[r->n_unknown++] = i;
	return 0;
}

int watch_sync(struct watch_ctx *w, const struct cred *c,
	       struct watch_sync_report *r, struct err *e)
{
	struct collect col = {r};

	if (watch_sync_read(w, c, false, r, e))
		return -1;
	if (!r->graph_ok)
		return 0;
	if (store_secret_each(w->store, c->id, collect_one, &col, e))
		return -1;
	return reconcile(w, c, r, e);
}

int watch_sync_daily(struct watch_ctx *w, const struct cred_view *v,
		     struct err *e)
{
	struct watch_sync_report *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	rc = watch_sync(w, &v->cred, r, e);
	free(r);
	return rc;
}
