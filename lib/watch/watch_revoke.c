/* watch_revoke.c - what leaves Entra: the previous client secrets and
 * certificates of a credential once the grace period after the switch
 * has passed and the deploy succeeded (policy_revoke_at), and at once,
 * whatever a rotation made that failed its tests or was superseded by
 * another switch. Each is removed by its key ID with the call its kind
 * takes (rotate_remove), then marked revoked, its value wiped, in a
 * compare-and-set of its own, so exactly once. The active material's
 * key ID is never removed, nor a previous one that outlives it: the
 * credential is never left without one that works. */
#include <stdlib.h>
#include <strings.h>

#include "watch_rotate_impl.h"

#define REVOKE_MAX 16

struct revocable {
	const struct cred_view *v;
	int64_t now;
	bool grace_over; /* previous ones may go (policy_revoke_at) */
	struct secret_info list[REVOKE_MAX];
	int n;
	bool secrets; /* some are client secrets: the listing is read */
};

/* Whether si is to leave Entra now. */
static bool due(const struct revocable *rv, const struct secret_info *si)
{
	const struct secret_info *a = &rv->v->active;
	bool active = rv->v->has_active;

	if (si->key_id[0] == '\0' ||
	    (active && strcasecmp(si->key_id, a->key_id) == 0))
		return false;
	if (si->state == SECRET_FAILED)
		return si->made_by_rotation; /* never used: goes at once */
	if (si->state != SECRET_PREVIOUS || !rv->grace_over || !active)
		return false;
	/* The active one must work, and outlive what it replaced; what a
	 * move to another kind left (migrate --remove-secrets) goes once
	 * the active one works. */
	return a->expires_at > rv->now &&
	       (a->last_test_at == 0 || a->last_test_ok) &&
	       (a->expires_at > si->expires_at || a->kind != si->kind);
}

static int collect(void *p, const struct secret_info *si)
{
	struct revocable *rv = p;

	if (!due(rv, si))
		return 0;
	if (rv->n == REVOKE_MAX)
		return 1;
	rv->secrets |= si->kind == SECRET_KIND_SECRET;
	rv->list[rv->n++] = *si;
	return 0;
}

/* Whether the listing says si is gone from Entra already (-1: cannot
 * tell, 0: there, or a certificate, 1: gone). A client secret is removed
 * only when the listing was read: with the permission to remove it. */
static int gone_already(const struct graph_app *app,
			const struct secret_info *si)
{
	if (si->kind != SECRET_KIND_SECRET)
		return 0;
	if (app == NULL)
		return -1;
	if (graph_app_by_key(app, si->key_id) != NULL)
		return 0;
	return app->truncated ? -1 : 1;
}

/* Why si leaves Entra: its grace is over, or it was never used. */
static const char *why(const struct secret_info *si)
{
	return si->state == SECRET_FAILED ? "unused" : "revoke";
}

static int mark_revoked(struct rotate_job *j, const struct secret_info *si,
			bool removed, struct err *e)
{
	struct watch_ctx *w = j->w;
	int rc;

	if (store_begin(w->store, e))
		return -1;
	rc = store_secret_revoke(w->store, si->id, w->now, e);
	if (rc == 0 &&
	    event_addf(w->store, w->now, j->v->cred.name, si->id, "revoked", e,
		       "key_id", si->key_id, "hint", si->hint, "kind",
		       secret_kind_name(si->kind), "entra",
		       removed ? "removed" : "absent already", "reason",
		       why(si), EVENT_END))
		rc = -1;
	if (rc != 0) {
		store_rollback(w->store);
		return rc < 0 ? -1 : 0;
	}
	if (store_commit(w->store, e))
		return -1;
	j->r->revocations++;
	watch_log(w, LOG_NOTICE, "%s: old %s %s~ (key %s) revoked",
		  j->v->cred.name, secret_kind_noun(si->kind), si->hint,
		  si->key_id);
	return 0;
}

/* Remove si from Entra (unless gone already) and mark it revoked.
 * Returns 0 (Graph refusals recorded, the row left for next time), -1. */
static int revoke_one(struct rotate_job *j, const struct secret_info *si,
		      struct err *e)
{
	const char *noun = secret_kind_noun(si->kind);
	int gone = gone_already(j->app, si), rc = 0;
	struct graph_result res;

	if (gone < 0)
		return 0; /* cannot tell: leave it */
	if (!gone)
		rc = rotate_remove(&j->s, si->kind, si->key_id, &res);
	if (rc < 0)
		return rotate_graph_failed(j, "graph-remove", si->key_id, &res,
					   e);
	if (!gone && rc == 0 &&
	    watch_record_removed(j->w, j->v->cred.name, noun, si->key_id,
				 why(si), e))
		return -1;
	return mark_revoked(j, si, !gone && rc == 0, e);
}

/* The removals of nv (the credential as the store has it now: a switch
 * earlier in this cycle starts the grace period again). */
static int revoke_all(struct watch_ctx *w, const struct cred_view *nv,
		      bool grace_over, struct watch_report *r, struct err *e)
{
	struct revocable rv = {
	    .v = nv, .now = w->now, .grace_over = grace_over};
	struct watch_rotation want;
	struct rotate_job j = {.w = w, .v = nv, .want = &want, .r = r};
	struct watch_new_report nr;
	int rc;

	if (store_secret_each(w->store, nv->cred.id, collect, &rv, e))
		return -1;
	if (rv.n == 0)
		return 0;
	watch_rotation_of(nv, &want);
	j.nr = &nr;
	rc = rotate_session_open(&j, rv.secrets, e);
	/* An unreadable listing holds back the client secrets only: a
	 * certificate is removed with a proof of its own. */
	if (rc == 1 && !j.s.token_failed)
		rc = 0;
	for (int i = 0; rc == 0 && i < rv.n; i++)
		rc = revoke_one(&j, &rv.list[i], e);
	rotate_session_close(&j);
	return rc < 0 ? -1 : 0;
}

int watch_revoke(struct watch_ctx *w, const struct cred_view *v,
		 struct watch_report *r, struct err *e)
{
	struct cred_view *nv;
	int64_t at;
	int rc = 0;

	if (store_view_get(w->store, v->cred.name, &nv, e))
		return -1;
	at = policy_revoke_at(nv, w->cfg);
	if ((at != 0 && at <= w->now) || nv->cred.unused_made > 0)
		rc = revoke_all(w, nv, at != 0 && at <= w->now, r, e);
	free(nv);
	return rc;
}
