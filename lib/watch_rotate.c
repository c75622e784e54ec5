/* watch_rotate.c - automatic rotation through Microsoft Graph (DESIGN.md
 * §10): an intent row first, then addPassword, then the new secret stored
 * pending in the transaction that closes the intent; the switch step
 * takes over from there. After the grace period, the previous secrets go
 * from Entra (removePassword) and become revoked. An intent found open
 * means a process died between the intent and the store: whatever Entra
 * holds under its display name is removed before anything else. Every
 * Graph call is an audit event with the key ID and its outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jwt.h"
#include "material.h"
#include "timefmt.h"
#include "watch_impl.h"

/* A Graph session: the token of one of the credential's own secrets and
 * the application as Graph listed it. */
struct session {
	const struct cred *c;
	struct secret_info auth; /* the secret the token was got with */
	struct net_opts net;
	struct entra_token tok;
	struct graph_ctx g;
	struct graph_app *app;
	struct diag diag; /* when a call failed */
};

static void session_close(struct session *s)
{
	entra_token_free(&s->tok);
	free(s->app);
	s->app = NULL;
}

/* A Graph call failed: count it, and record it with key_id. */
static int graph_failed(struct watch_ctx *w, struct session *s,
			const char *kind, const char *key_id,
			struct watch_report *r, struct err *e)
{
	return watch_record_graph_failed(w, s->c->name, s->auth.id, kind,
					 key_id, diag_step_name(s->diag.step),
					 s->diag.summary, r, e);
}

static void diagnose(struct session *s, const struct graph_result *res)
{
	struct diag_input in = {s->c, s->auth.hint, NULL};
	struct jwt_claims claims;
	struct err ignored;

	if (jwt_decode(s->tok.value, s->tok.len, &claims, &ignored) == 0)
		in.claims = &claims;
	diag_graph(&in, res, s->app->id[0] ? s->app->id : NULL, NULL, &s->diag);
}

/* The token (with the active secret, else the newest pending one) and
 * the application. Returns 0, 1 when Graph or the token endpoint failed
 * (s->diag says why; recorded), -1 with e. */
static int session_open(struct watch_ctx *w, const struct cred_view *v,
			struct session *s, struct watch_report *r,
			struct err *e)
{
	struct entra_result tres;
	struct graph_result gres;
	struct entra_request rq;
	struct material m;
	char n[24];
	int rc;

	memset(s, 0, sizeof(*s));
	s->c = &v->cred;
	s->auth = v->has_active ? v->active : v->pending[0];
	s->net.ca_file = w->cfg->ca_file[0] ? w->cfg->ca_file : NULL;
	s->g = (struct graph_ctx){s->c, &s->net, w->retry, &s->tok};
	s->app = calloc(1, sizeof(*s->app));
	if (s->app == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	/* The active secret or certificate: a certificate signs the
	 * assertion the token is asked for with. */
	if (material_open(w->store, w->vault, &s->auth, &m, e))
		return -1;
	graph_token_request(s->c, &rq);
	rc = material_token(&m, &rq, &s->net, w->retry, w->now, &tres, &s->tok);
	material_free(&m);
	if (rc != 0) {
		struct diag_input in = {s->c, s->auth.hint, NULL};
		diag_token(&in, &tres, &s->diag);
		return graph_failed(w, s, "graph-read", s->auth.key_id, r, e)
			   ? -1
			   : 1;
	}
	if (graph_app_get(&s->g, s->app, &gres) != 0) {
		diagnose(s, &gres);
		return graph_failed(w, s, "graph-read", s->auth.key_id, r, e)
			   ? -1
			   : 1;
	}
	snprintf(n, sizeof(n), "%zu", s->app->n_passwords);
	return watch_event(w, s->c->name, s->auth.id, "graph-read", e, "key_id",
			   s->auth.key_id, "outcome", "ok", "credentials", n,
			   WATCH_END)
		   ? -1
		   : 0;
}

/* removePassword of key_id (why: "orphan" or "revoke"), recorded.
 * Returns 0 when removed, 1 when Graph refused (recorded), -1 with e. */
static int remove_key(struct watch_ctx *w, struct session *s,
		      const char *key_id, const char *why,
		      struct watch_report *r, struct err *e)
{
	struct graph_result res;

	if (graph_remove_password(&s->g, key_id, &res) != 0) {
		diagnose(s, &res);
		return graph_failed(w, s, "graph-remove", key_id, r, e) ? -1
									: 1;
	}
	return watch_record_removed(w, s->c->name, "client secret", key_id, why,
				    e);
}

/* An intent left open: remove what Entra holds under its display name
 * (its value is lost), then close it. Returns 0 when closed, 1 when
 * something could not be removed (the intent stays open), -1 with e. */
static int recover(struct watch_ctx *w, struct session *s,
		   const struct rotation *rot, struct watch_report *r,
		   struct err *e)
{
	int rc = 0, n = 0;

	for (size_t i = 0; i < s->app->n_passwords && rc == 0; i++) {
		const struct graph_password *p = &s->app->passwords[i];
		if (strcmp(p->display_name, rot->display_name) != 0)
			continue;
		rc = remove_key(w, s, p->key_id, "orphan", r, e);
		n++;
	}
	if (rc != 0 || s->app->truncated)
		return rc < 0 ? -1 : 1;
	watch_log(w, LOG_NOTICE,
		  "%s: rotation '%s' was interrupted; %d orphan(s) removed "
		  "from Entra",
		  s->c->name, rot->display_name, n);
	if (store_begin(w->store, e))
		return -1;
	if (store_rotation_close(w->store, rot->id, false, 0, NULL, w->now, e) <
		0 ||
	    watch_event(w, s->c->name, 0, "rotation-recovered", e,
			"display_name", rot->display_name, WATCH_END)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* The display name before its number: {date} is the day of now. */
static void display_base(const struct watch_ctx *w, char *out, size_t size)
{
	const char *t = w->cfg->rotate_display_name, *at = strstr(t, "{date}");
	char day[TIMEFMT_RFC3339_LEN];

	timefmt_rfc3339(w->now, day);
	day[10] = '\0';
	if (at == NULL)
		snprintf(out, size, "%s", t);
	else
		snprintf(out, size, "%.*s%s%s", (int)(at - t), t, day, at + 6);
}

/* Step a: the intent, in its own transaction. Returns 0 with *rot, 1
 * when a rotation of c is in flight already, -1 with e. */
static int open_intent(struct watch_ctx *w, const struct cred *c,
		       struct rotation *rot, struct err *e)
{
	char base[CONFIG_DISPLAY_NAME_MAX + 1], end[TIMEFMT_RFC3339_LEN];
	int64_t at = policy_rotate_end(w->now, w->cfg, 0);
	int rc;

	display_base(w, base, sizeof(base));
	timefmt_rfc3339(at, end);
	if (store_begin(w->store, e))
		return -1;
	rc = store_rotation_open(w->store, c->id, base, at, w->now, rot, e);
	if (rc == 0)
		rc = watch_event(w, c->name, 0, "rotation-intent", e,
				 "display_name", rot->display_name, "end", end,
				 WATCH_END);
	if (rc != 0) {
		store_rollback(w->store);
		return rc;
	}
	return store_commit(w->store, e);
}

/* The longest lifetime a policy refusal names, in seconds, or 0. */
static int64_t named_lifetime(const struct graph_result *res)
{
	char iso[32];
	int64_t max;

	if (diag_graph_max_lifetime(res->message, iso, sizeof(iso)) != 0 ||
	    timefmt_parse_iso_duration(iso, &max) != 0)
		return 0;
	return max;
}

/* The app's creation time, or 0 when Graph does not say. */
static int64_t app_created(struct session *s)
{
	struct graph_app *app = calloc(1, sizeof(*app));
	struct graph_result res;
	int64_t at = 0;

	if (app != NULL && graph_app_get(&s->g, app, &res) == 0)
		at = app->created_at;
	free(app);
	return at;
}

/* The end date to ask for first: end, or earlier when the app management
 * policy, read where Policy.Read.All allows, caps lifetimes below it. A
 * cap is checked against the app's creation date (a policy may spare
 * older apps) only when there is one: most tenants have none. */
static int64_t policy_end(struct watch_ctx *w, struct session *s, int64_t end)
{
	struct graph_policy pol;
	struct graph_result res;
	int64_t capped;

	if (graph_lifetime_policy(&s->g, 0, &pol, &res) != 0 ||
	    pol.max_lifetime == 0 ||
	    policy_rotate_end(w->now, w->cfg, pol.max_lifetime) >= end ||
	    graph_lifetime_policy(&s->g, app_created(s), &pol, &res) != 0 ||
	    pol.max_lifetime == 0 ||
	    (capped = policy_rotate_end(w->now, w->cfg, pol.max_lifetime)) >=
		end)
		return end;
	watch_log(
	    w, LOG_NOTICE, "%s: %s allows %lld days at most; asking for that",
	    s->c->name, pol.source, (long long)(pol.max_lifetime / 86400));
	return capped;
}

/* Step b: addPassword; a lifetime policy refusal is tried once more with
 * the longest lifetime it names. Returns 0 with *ret and *ret_value, 1
 * when Graph refused (s->diag; *ret_sent true when a secret may have
 * been made all the same), -1 with e. */
static int add_password(struct watch_ctx *w, struct session *s,
			const struct rotation *rot, struct graph_password *ret,
			struct vbuf *ret_value, bool *ret_sent,
			struct watch_report *r, struct err *e)
{
	struct graph_result res;
	int64_t end = policy_end(w, s, rot->requested_end), max;

	*ret_sent = false;
	if (graph_add_password(&s->g, rot->display_name, end, ret, ret_value,
			       &res) == 0)
		return 0;
	max = named_lifetime(&res);
	if (res.http_status == 400 && max > 0 &&
	    policy_rotate_end(w->now, w->cfg, max) < end) {
		watch_log(w, LOG_NOTICE,
			  "%s: the app's policy allows %lld days at most; "
			  "asking for that",
			  s->c->name, (long long)(max / 86400));
		end = policy_rotate_end(w->now, w->cfg, max);
		if (graph_add_password(&s->g, rot->display_name, end, ret,
				       ret_value, &res) == 0)
			return 0;
	}
	/* A refusal (4xx) made nothing; anything else may have. */
	*ret_sent = res.http_status < 400 || res.http_status >= 500;
	diagnose(s, &res);
	return graph_failed(w, s, "graph-add", "", r, e) ? -1 : 1;
}

/* Step c: the new secret, pending, in the transaction that closes the
 * intent. Returns 0 with *ret, 1 when the intent was closed meanwhile
 * (nothing stored), -1 with e. */
static int store_new(struct watch_ctx *w, const struct cred *c,
		     const struct rotation *rot, const struct graph_password *p,
		     const struct vbuf *value, struct secret_info *ret,
		     struct err *e)
{
	char end[TIMEFMT_RFC3339_LEN];
	int rc;

	memset(ret, 0, sizeof(*ret));
	ret->credential_id = c->id;
	secret_hint(value->p, value->len, ret->hint);
	snprintf(ret->key_id, sizeof(ret->key_id), "%s", p->key_id);
	snprintf(ret->note, sizeof(ret->note), "%s", rot->display_name);
	ret->expires_at = p->end ? p->end : rot->requested_end;
	ret->created_at = w->now;
	timefmt_rfc3339(ret->expires_at, end);
	if (store_begin(w->store, e))
		return -1;
	rc = store_secret_add(w->store, w->vault, ret, value->p, value->len, e);
	if (rc == 0)
		rc = store_rotation_close(w->store, rot->id, true, ret->id,
					  p->key_id, w->now, e);
	if (rc == 0 && (store_counter_add(w->store, COUNTER_ROTATIONS, 1, e) ||
			watch_event(w, c->name, ret->id, "graph-add", e,
				    "key_id", p->key_id, "outcome", "ok",
				    "display_name", rot->display_name, "hint",
				    ret->hint, "end", end, WATCH_END)))
		rc = -1;
	if (rc != 0) {
		store_rollback(w->store);
		return rc;
	}
	return store_commit(w->store, e);
}

/* Queue the rotation-failed alert with the diagnosis. */
static int alert_failed(struct watch_ctx *w, const struct cred_view *v,
			const struct diag *d, struct err *e)
{
	char msg[DIAG_SUMMARY_MAX + DIAG_REMEDY_MAX + 256];

	if (!v->has_active)
		return 0; /* no secret for the alert's row; logged already */
	snprintf(msg, sizeof(msg),
		 "secretwatch could not make a new client secret for %s "
		 "through Microsoft Graph; it tries again in a day. %s %s",
		 v->cred.name, d->summary, d->remedy);
	if (store_begin(w->store, e))
		return -1;
	if (watch_queue_alert(w, &v->cred, &v->active, ALERT_ROTATION_FAILED,
			      LEVEL_WARNING, msg, e)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* Steps b and c for the open intent rot. Returns as watch_rotate_new. */
static int create(struct watch_ctx *w, const struct cred_view *v,
		  struct session *s, const struct rotation *rot,
		  struct watch_new_report *nr, struct watch_report *r,
		  struct err *e)
{
	struct graph_password p;
	struct vbuf value = {0};
	bool sent;
	int rc = add_password(w, s, rot, &p, &value, &sent, r, e);

	if (rc != 0) {
		nr->diag = s->diag;
		nr->graph_failed = rc == 1;
		/* Refused: nothing was made, the intent is done with. An
		 * answer that may hide a new secret leaves it open: the
		 * next cycle looks for it by name. */
		if (rc == 1 && !sent &&
		    store_rotation_close(w->store, rot->id, false, 0, NULL,
					 w->now, e) < 0)
			return -1;
		if (rc == 1 && alert_failed(w, v, &s->diag, e))
			return -1;
		return rc;
	}
	rc = store_new(w, &v->cred, rot, &p, &value, &nr->secret, e);
	vbuf_free(&value);
	if (rc == 1)
		err_set(e, "the rotation of %s was closed meanwhile",
			v->cred.name);
	if (rc != 0) {
		/* Not stored: the secret must not stay in Entra. */
		remove_key(w, s, p.key_id, "orphan", r, e);
		return -1;
	}
	r->rotations++;
	watch_log(w, LOG_NOTICE,
		  "%s: new client secret %s~ (key %s) made in Entra as '%s'",
		  v->cred.name, nr->secret.hint, p.key_id, rot->display_name);
	return 0;
}

/* An intent left open: recover it (s opened). Returns 0 when closed,
 * 1 when not (nr says why), -1 with e. */
static int finish_open(struct watch_ctx *w, const struct cred_view *v,
		       struct rotation *rot, struct watch_new_report *nr,
		       struct watch_report *r, struct err *e)
{
	struct session s;
	int rc = session_open(w, v, &s, r, e);

	nr->recover = true;
	if (rc == 0)
		rc = recover(w, &s, rot, r, e);
	if (rc == 1) {
		nr->diag = s.diag;
		nr->graph_failed = true;
	}
	session_close(&s);
	return rc;
}

/* A new intent, then the session, then steps b and c. */
static int start(struct watch_ctx *w, const struct cred_view *v,
		 struct watch_new_report *nr, struct watch_report *r,
		 struct err *e)
{
	struct session s;
	struct rotation rot;
	int rc = open_intent(w, &v->cred, &rot, e);

	if (rc != 0) {
		nr->in_flight = rc == 1;
		return rc;
	}
	snprintf(nr->display_name, sizeof(nr->display_name), "%s",
		 rot.display_name);
	nr->end = rot.requested_end;
	rc = session_open(w, v, &s, r, e);
	if (rc == 0) {
		rc = create(w, v, &s, &rot, nr, r, e);
	} else if (rc == 1) {
		/* Nothing was sent to addPassword: the intent is done. */
		nr->diag = s.diag;
		nr->graph_failed = true;
		if (store_rotation_close(w->store, rot.id, false, 0, NULL,
					 w->now, e) < 0 ||
		    alert_failed(w, v, &s.diag, e))
			rc = -1;
	}
	session_close(&s);
	return rc;
}

int watch_rotate_new(struct watch_ctx *w, const struct cred_view *v,
		     struct watch_new_report *nr, struct watch_report *r,
		     struct err *e)
{
	struct rotation rot;
	int rc;

	memset(nr, 0, sizeof(*nr));
	if (!v->has_active && v->npending == 0) {
		err_set(e,
			"%s has no secret to call Graph with: register one "
			"with 'secretwatch secret add %s'",
			v->cred.name, v->cred.name);
		return -1;
	}
	if (w->dry_run) {
		display_base(w, nr->display_name, sizeof(nr->display_name));
		nr->end = policy_rotate_end(w->now, w->cfg, 0);
		nr->recover = v->cred.rotate_open;
		return 1;
	}
	rc = store_rotation_get_open(w->store, v->cred.id, &rot, e);
	if (rc == 0)
		rc = finish_open(w, v, &rot, nr, r, e);
	else if (rc == 1)
		rc = 0; /* none open */
	return rc == 0 ? start(w, v, nr, r, e) : rc;
}

int watch_rotate_step(struct watch_ctx *w, const struct cred_view *v,
		      struct watch_report *r, struct err *e)
{
	struct watch_new_report nr;
	struct probe_result pr;
	struct cred_view *nv;
	int rc;

	if (!v->has_active && v->npending == 0)
		return 0; /* nothing to call Graph with: its level says so */
	if (v->has_active && v->active.kind == SECRET_KIND_CERTIFICATE)
		return watch_rollkey_step(w, v, r, e);
	rc = watch_rotate_new(w, v, &nr, r, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* Step d: the switch, now; a secret Entra has not replicated yet
	 * fails and is tried again soon (policy_switch_retry). */
	if (store_view_get(w->store, v->cred.name, &nv, e))
		return -1;
	rc = watch_switch(w, nv, nr.secret.id, false, &pr, r, e);
	probe_result_free(&pr);
	free(nv);
	return rc < 0 ? -1 : 0;
}

int watch_switch_new(struct watch_ctx *w, const struct cred_view *v, int64_t id,
		     struct probe_result *pr, struct watch_report *r,
		     struct err *e)
{
	return watch_switch(w, v, id, false, pr, r, e);
}

#define REVOKE_MAX 16

struct revocable {
	const struct secret_info *active;
	struct secret_info list[REVOKE_MAX];
	int n;
};

static int collect_revocable(void *p, const struct secret_info *si)
{
	struct revocable *rv = p;

	if (si->state != SECRET_PREVIOUS || si->key_id[0] == '\0' ||
	    si->kind == SECRET_KIND_CERTIFICATE || /* watch_rollkey.c */
	    strcasecmp(si->key_id, rv->active->key_id) == 0)
		return 0;
	if (rv->n == REVOKE_MAX)
		return 1;
	rv->list[rv->n++] = *si;
	return 0;
}

/* Remove si from Entra (unless gone already) and mark it revoked. */
static int revoke_one(struct watch_ctx *w, struct session *s,
		      const struct secret_info *si, struct watch_report *r,
		      struct err *e)
{
	bool present = graph_app_by_key(s->app, si->key_id) != NULL;
	int rc = 0;

	if (present)
		rc = remove_key(w, s, si->key_id, "revoke", r, e);
	else if (s->app->truncated)
		return 0; /* cannot tell: leave it */
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	if (store_begin(w->store, e))
		return -1;
	rc = store_secret_revoke(w->store, si->id, w->now, e);
	if (rc == 0 &&
	    watch_event(w, s->c->name, si->id, "revoked", e, "key_id",
			si->key_id, "hint", si->hint, "entra",
			present ? "removed" : "absent already", WATCH_END))
		rc = -1;
	if (rc != 0) {
		store_rollback(w->store);
		return rc < 0 ? -1 : 0;
	}
	if (store_commit(w->store, e))
		return -1;
	r->revocations++;
	watch_log(w, LOG_NOTICE, "%s: old secret %s~ (key %s) revoked",
		  s->c->name, si->hint, si->key_id);
	return 0;
}

int watch_revoke(struct watch_ctx *w, const struct cred_view *v,
		 struct watch_report *r, struct err *e)
{
	struct revocable rv = {.active = &v->active};
	struct session s;
	int rc;

	if (v->has_active && watch_rollkey_revoke(w, v, r, e))
		return -1;
	if (!v->has_active ||
	    store_secret_each(w->store, v->cred.id, collect_revocable, &rv, e))
		return v->has_active ? -1 : 0;
	if (rv.n == 0)
		return 0;
	rc = session_open(w, v, &s, r, e);
	for (int i = 0; rc == 0 && i < rv.n; i++)
		rc = revoke_one(w, &s, &rv.list[i], r, e);
	session_close(&s);
	return rc < 0 ? -1 : 0;
}
