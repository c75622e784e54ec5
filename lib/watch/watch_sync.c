/* watch_sync.c - reconcile stored secrets with Entra (watch_sync.h). */
#include "watch_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "graph_session.h"
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

/* The row to authenticate with: the active one, else the newest
 * pending one. Returns 0 with *ret, or -1 with e. */
static int pick_row(struct watch_ctx *w, const struct cred *c,
		    struct secret_info *ret, struct err *e)
{
	const struct secret_info *si;
	struct cred_view *v;
	int rc = 0;

	if (store_view_get(w->store, c->name, &v, e))
		return -1;
	if ((si = graph_session_row(v, 0)) != NULL) {
		*ret = *si;
	} else {
		err_set(e,
			"%s has no secret or certificate to read Entra with: "
			"register one with 'secretwatch secret add %s'",
			c->name, c->name);
		rc = -1;
	}
	free(v);
	return rc;
}

/* Record the Graph read: the key ID it authenticated with, its outcome. */
static int record_read(struct watch_ctx *w, const struct cred *c, int64_t id,
		       const char *key_id, const struct watch_sync_report *r,
		       struct err *e)
{
	char n[24];

	if (w->dry_run)
		return 0;
	snprintf(n, sizeof(n), "%zu", r->app.n_passwords + r->app.n_keys);
	return event_addf(w->store, w->now, c->name, id, "graph-read", e,
			  "key_id", key_id, "outcome",
			  r->graph_ok ? "ok" : "failed", "credentials",
			  r->graph_ok ? n : "", "error",
			  r->graph_ok ? "" : r->diag.summary, EVENT_END);
}

/* What the Graph token's roles claim allows. */
static void read_roles(const struct graph_session *s,
		       struct watch_sync_report *r)
{
	r->has_roles = s->has_claims && s->claims.has_roles;
	r->owned_by =
	    graph_session_has_role(s, "Application.ReadWrite.OwnedBy");
	r->can_write = r->owned_by ||
		       graph_session_has_role(s, "Application.ReadWrite.All");
	r->reads_policy = graph_session_has_role(s, "Policy.Read.All");
}

/* The application (and its policy) through the open session s. */
static void read_app(struct graph_session *s, bool policy,
		     struct watch_sync_report *r)
{
	struct graph_result gres;

	if (s->token_failed) {
		r->token_failed = true;
		r->diag = s->diag;
		return;
	}
	read_roles(s, r);
	if (graph_app_get(&s->g, &r->app, &gres) == 0) {
		r->graph_ok = true;
	} else {
		graph_session_diagnose(s, &gres, NULL);
		r->diag = s->diag;
	}
	if (policy && r->graph_ok && r->reads_policy) {
		r->policy_read = graph_lifetime_policy(&s->g, r->app.created_at,
						       &r->policy, &gres) == 0;
		snprintf(r->policy_error, sizeof(r->policy_error), "%s",
			 r->policy_read ? "" : gres.summary);
	}
}

/* Read through s, then record the read and say when it failed. */
static int read_and_record(struct watch_ctx *w, const struct cred *c,
			   struct graph_session *s, bool policy,
			   struct watch_sync_report *r, struct err *e)
{
	read_app(s, policy, r);
	if (!r->graph_ok)
		watch_log(w, LOG_WARNING, "%s: reading Entra failed: %s",
			  c->name, r->diag.summary);
	return record_read(w, c, s->m.id, s->key_id, r, e);
}

int watch_sync_read(struct watch_ctx *w, const struct cred *c, bool policy,
		    struct watch_sync_report *r, struct err *e)
{
	struct graph_session s;
	struct secret_info si;
	struct token_src ts;
	struct net_opts net;
	int rc;

	memset(r, 0, sizeof(*r));
	memset(&s, 0, sizeof(s));
	if (pick_row(w, c, &si, e))
		return -1;
	watch_token_src(w, &net, &ts);
	ts.no_cache_write = w->dry_run;
	rc = graph_session_open(&s, &ts, c, &si, e);
	if (rc >= 0)
		rc = read_and_record(w, c, &s, policy, r, e);
	graph_session_close(&s);
	return rc;
}

int watch_sync_read_with(struct watch_ctx *w, const struct cred *c,
			 struct material *m, struct watch_sync_report *r,
			 struct err *e)
{
	struct graph_session s;
	struct token_src ts;
	struct net_opts net;
	int rc;

	memset(r, 0, sizeof(*r));
	watch_token_src(w, &net, &ts);
	graph_session_open_material(&s, &ts, c, m);
	rc = read_and_record(w, c, &s, false, r, e);
	graph_session_close(&s);
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

/* What Entra lists for a stored row: a passwordCredential for a client
 * secret, a keyCredential for a certificate. */
struct entry {
	const char *key_id;
	const char *hint;
	int64_t end;
	bool key;     /* in keys[] (else passwords[]) */
	size_t index; /* there */
};

static bool match_secret(const struct graph_app *app,
			 const struct secret_info *si, struct entry *ret,
			 bool *ambiguous)
{
	const struct graph_password *p;
	size_t same = 0;

	for (size_t i = 0; si->key_id[0] == '\0' && i < app->n_passwords; i++)
		same += strcmp(app->passwords[i].hint, si->hint) == 0;
	*ambiguous = same > 1;
	p = si->key_id[0] ? graph_app_by_key(app, si->key_id)
			  : graph_app_by_hint(app, si->hint);
	if (p == NULL)
		return false;
	*ret = (struct entry){p->key_id, p->hint, p->end, false,
			      (size_t)(p - app->passwords)};
	return true;
}

static bool match_cert(const struct graph_app *app,
		       const struct secret_info *si, struct entry *ret,
		       bool *ambiguous)
{
	const struct graph_key *k;
	size_t same = 0, n = strlen(si->hint);

	for (size_t i = 0; si->key_id[0] == '\0' && i < app->n_keys; i++)
		same += strncasecmp(app->keys[i].thumbprint, si->hint, n) == 0;
	*ambiguous = same > 1;
	k = si->key_id[0] ? graph_app_key(app, si->key_id)
			  : graph_app_key_by_hint(app, si->hint);
	if (k == NULL)
		return false;
	*ret = (struct entry){k->key_id, si->hint, k->end, true,
			      (size_t)(k - app->keys)};
	return true;
}

/* The entry in Entra that si is; *ambiguous when it has no key ID and
 * several entries have its hint. */
static bool match(const struct graph_app *app, const struct secret_info *si,
		  struct entry *ret, bool *ambiguous)
{
	if (si->kind == SECRET_KIND_CERTIFICATE)
		return match_cert(app, si, ret, ambiguous);
	return match_secret(app, si, ret, ambiguous);
}

/* Whether Entra's list of si's kind was read whole: only then does a
 * row missing from it mean removed. */
static bool listed_whole(const struct graph_app *app,
			 const struct secret_info *si)
{
	if (si->kind == SECRET_KIND_CERTIFICATE)
		return app->keys_listed && !app->keys_truncated;
	return !app->truncated;
}

static int correct(struct watch_ctx *w, const struct cred *c,
		   struct watch_sync_secret *s, const struct entry *p,
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
		rc = event_addf(w->store, w->now, c->name, s->before.id,
				"expiry-corrected", e, "key_id", p->key_id,
				"hint", p->hint, "old", was, "new", now,
				EVENT_END);
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
		 "The %s %s %s~ (key ID %s) of %s no longer exists in Entra: "
		 "it was removed from app %s.%s",
		 secret_state_name(s->before.state),
		 secret_kind_noun(s->before.kind), s->before.hint,
		 s->before.key_id[0] ? s->before.key_id : "unknown", c->name,
		 c->client_id,
		 active ? " Mail stops when its cached tokens expire: register "
			  "a new secret or certificate now ('secretwatch "
			  "secret add NAME' or 'secretwatch cert new NAME', "
			  "then 'secretwatch rotate NAME')."
			: "");
	if (store_begin(w->store, e))
		return -1;
	rc = store_sync_mark_removed(w->store, s->before.id, w->now, e);
	if (rc == 0)
		rc = event_addf(w->store, w->now, c->name, s->before.id,
				"secret-removed-in-entra", e, "key_id",
				s->before.key_id, "hint", s->before.hint,
				"state", secret_state_name(s->before.state),
				EVENT_END) ||
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

/* One stored row against Entra; marks the entry it matched in known. */
static int reconcile_one(struct watch_ctx *w, const struct cred *c,
			 struct watch_sync_report *r,
			 struct watch_sync_secret *s, bool *known,
			 bool *known_keys, struct err *e)
{
	struct entry p;
	bool ambiguous;

	if (match(&r->app, &s->before, &p, &ambiguous)) {
		(p.key ? known_keys : known)[p.index] = true;
		s->entra_end = p.end;
		if ((p.end != 0 && p.end != s->before.expires_at) ||
		    s->before.key_id[0] == '\0')
			return correct(w, c, s, &p, e);
		return 0;
	}
	if (ambiguous || !listed_whole(&r->app, &s->before)) {
		s->outcome = WATCH_SYNC_UNMATCHED;
		return 0;
	}
	return removed(w, c, s, e);
}

static int reconcile(struct watch_ctx *w, const struct cred *c,
		     struct watch_sync_report *r, struct err *e)
{
	bool known[GRAPH_PASSWORDS_MAX] = {false};
	bool known_keys[GRAPH_KEYS_MAX] = {false};

	for (size_t i = 0; i < r->n_secrets; i++)
		if (reconcile_one(w, c, r, &r->secrets[i], known, known_keys,
				  e))
			return -1;
	for (size_t i = 0; i < r->app.n_passwords; i++)
		if (!known[i])
			r->unknown[r->n_unknown++] = i;
	for (size_t i = 0; i < r->app.n_keys; i++)
		if (!known_keys[i])
			r->unknown_keys[r->n_unknown_keys++] = i;
	return 0;
}

/* The application's object ID, learned where Graph was read: what a
 * certificate needs to roll itself with addKey. */
static int learn_object_id(struct watch_ctx *w, const struct cred *c,
			   const struct watch_sync_report *r, struct err *e)
{
	if (w->dry_run || c->app_object_id[0] || r->app.id[0] == '\0')
		return 0;
	return store_cred_set_app_object_id(w->store, c->id, r->app.id, e);
}

int watch_sync(struct watch_ctx *w, const struct cred *c,
	       struct watch_sync_report *r, struct err *e)
{
	struct collect col = {r};

	if (watch_sync_read(w, c, false, r, e))
		return -1;
	if (!r->graph_ok)
		return 0;
	if (learn_object_id(w, c, r, e))
		return -1;
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
