/* watch_rotate.c - the one rotation path, for either kind of material
 * (watch_rotate_kind.c says how each is made and added): an intent first
 * (with the new certificate stored pending in the same transaction, when
 * it is made here), then the Graph call that adds the material, then the
 * transaction that stores it pending (a client secret) or records the
 * key ID Entra gave it (a certificate) and closes the intent; the switch
 * then tests and activates it (watch_switch.c). An intent found open
 * means a process died around the Graph call: unless its material was
 * switched to meanwhile, whatever Entra holds under its name or the key
 * ID it asked for is removed and its row failed before anything else.
 * Every Graph call is an audit event with the key ID and its outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timefmt.h"
#include "watch_rotate_impl.h"

/* ------------------------------------------------------------------ */
/* The session */

int rotate_graph_failed(struct rotate_job *j, const char *kind,
			const char *key_id, const struct graph_result *res,
			struct err *e)
{
	if (res != NULL)
		graph_session_diagnose(&j->s, res,
				       j->app != NULL ? j->app->id : NULL);
	return watch_record_graph_failed(j->w, j->v->cred.name, j->s.m.id, kind,
					 key_id, diag_step_name(j->s.diag.step),
					 j->s.diag.summary, j->r, e);
}

int rotate_session_open(struct rotate_job *j, bool read, struct err *e)
{
	const struct secret_info *si = graph_session_row(j->v, j->si.id);
	struct graph_result res;
	struct token_src ts;
	char n[24];
	int rc;

	if (si == NULL) {
		err_set(e, "%s has no secret or certificate to call Graph with",
			j->v->cred.name);
		return -1;
	}
	watch_token_src(j->w, &j->net, &ts);
	if ((rc = graph_session_open(&j->s, &ts, &j->v->cred, si, e)) != 0)
		return rc < 0 || rotate_graph_failed(j, "graph-token",
						     si->key_id, NULL, e)
			   ? -1
			   : 1;
	if (!read)
		return 0;
	if ((j->app = calloc(1, sizeof(*j->app))) == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	if (graph_app_get(&j->s.g, j->app, &res) != 0) {
		free(j->app);
		j->app = NULL;
		return rotate_graph_failed(j, "graph-read", si->key_id, &res, e)
			   ? -1
			   : 1;
	}
	snprintf(n, sizeof(n), "%zu", j->app->n_passwords + j->app->n_keys);
	return event_addf(j->w->store, j->w->now, j->v->cred.name, si->id,
			  "graph-read", e, "key_id", si->key_id, "outcome",
			  "ok", "credentials", n, EVENT_END)
		   ? -1
		   : 0;
}

void rotate_session_close(struct rotate_job *j)
{
	graph_session_close(&j->s);
	free(j->app);
	j->app = NULL;
}

/* ------------------------------------------------------------------ */
/* Recovering an intent left open */

struct by_note {
	const char *note;
	struct secret_info found;
	bool hit;
};

/* A row made by the intent carries its display name first in its note. */
static int find_note(void *p, const struct secret_info *si)
{
	struct by_note *b = p;
	size_t n = strlen(b->note);

	if (!b->hit && strncmp(si->note, b->note, n) == 0 &&
	    (si->note[n] == '\0' || si->note[n] == ':')) {
		b->found = *si;
		b->hit = true;
	}
	return 0;
}

/* Close j->rot: done with row si, or abandoned (failing row si unless
 * NULL), with the event that says how it was recovered. */
static int close_recovered(struct rotate_job *j, const struct secret_info *si,
			   bool done, struct err *e)
{
	struct watch_ctx *w = j->w;
	int64_t id = si != NULL ? si->id : 0;

	if (store_begin(w->store, e))
		return -1;
	/* Not done: what it made is gone from Entra, so its row is. */
	if (store_rotation_close(w->store, j->rot.id, done, done ? id : 0,
				 done ? si->key_id : NULL, w->now, e) < 0 ||
	    (!done && id &&
	     (store_secret_fail(w->store, id, e) < 0 ||
	      store_secret_revoke(w->store, id, w->now, e) < 0)) ||
	    event_addf(w->store, w->now, j->v->cred.name, id,
		       "rotation-recovered", e, "display_name",
		       j->rot.display_name, "key_id", si ? si->key_id : "",
		       "outcome", done ? "in use" : "removed", EVENT_END)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* Remove key_id of kind k left by the intent; 0 done, 1 refused. */
static int remove_orphan(struct rotate_job *j, enum secret_kind k,
			 const char *key_id, struct err *e)
{
	struct graph_result res;
	int rc = rotate_remove(&j->s, k, key_id, &res);

	if (rc < 0)
		return rotate_graph_failed(j, "graph-remove", key_id, &res, e)
			   ? -1
			   : 1;
	if (rc == 1)
		return 0; /* never got there */
	return watch_record_removed(j->w, j->v->cred.name, secret_kind_noun(k),
				    key_id, "orphan", e);
}

/* Everything the listing shows under the intent's display name. */
static int remove_named(struct rotate_job *j, struct err *e)
{
	const struct graph_app *a = j->app;
	int rc = 0;

	for (size_t i = 0; a != NULL && rc == 0 && i < a->n_passwords; i++)
		if (strcmp(a->passwords[i].display_name, j->rot.display_name) ==
		    0)
			rc = remove_orphan(j, SECRET_KIND_SECRET,
					   a->passwords[i].key_id, e);
	for (size_t i = 0; a != NULL && rc == 0 && i < a->n_keys; i++)
		if (strcmp(a->keys[i].display_name, j->rot.display_name) == 0)
			rc = remove_orphan(j, SECRET_KIND_CERTIFICATE,
					   a->keys[i].key_id, e);
	return rc;
}

/* The open intent j->rot: when its material was switched to, close it
 * done (2: the rotation happened); else remove from Entra what it may
 * have made (by the key ID its row asked for, and by its display name
 * where the application can be read), fail its row and close it (0).
 * Returns 1 when not closed (Graph refused, or an unreadable listing
 * hides what to remove), -1 with e. */
static int recover(struct rotate_job *j, struct err *e)
{
	struct by_note b = {.note = j->rot.display_name};
	bool stored;
	int rc;

	if (store_secret_each(j->w->store, j->v->cred.id, find_note, &b, e))
		return -1;
	if (b.hit && (b.found.state == SECRET_ACTIVE ||
		      b.found.state == SECRET_PREVIOUS)) {
		watch_log(j->w, LOG_NOTICE,
			  "%s: rotation '%s' was interrupted; its %s is in use",
			  j->v->cred.name, j->rot.display_name,
			  secret_kind_noun(b.found.kind));
		return close_recovered(j, &b.found, true, e) ? -1 : 2;
	}
	stored = b.hit && b.found.key_id[0] != '\0';
	if ((rc = rotate_session_open(j, !stored, e)) != 0)
		return rc;
	rc = stored ? remove_orphan(j, b.found.kind, b.found.key_id, e)
		    : remove_named(j, e);
	if (rc != 0 || (!stored && j->app->truncated))
		return rc < 0 ? -1 : 1;
	watch_log(j->w, LOG_NOTICE,
		  "%s: rotation '%s' was interrupted; what it made is gone "
		  "from Entra",
		  j->v->cred.name, j->rot.display_name);
	return close_recovered(j, b.hit ? &b.found : NULL, false, e);
}

/* ------------------------------------------------------------------ */
/* Steps a-c */

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

/* The note of the new row: the intent's display name (what recovery
 * finds it by), then the note asked for. */
static void note_of(const struct rotate_job *j, char *out, size_t size)
{
	if (j->want->note != NULL && j->want->note[0])
		snprintf(out, size, "%s: %s", j->rot.display_name,
			 j->want->note);
	else
		snprintf(out, size, "%s", j->rot.display_name);
}

/* Step a: the intent, and a certificate made here stored pending with it
 * (it carries the intent's name). Returns 0, 1 when a rotation of the
 * credential is in flight already, 2 when another process's rotation
 * made material that waits for its switch (nr->reused), -1 with e. */
static int open_intent(struct rotate_job *j, struct err *e)
{
	struct watch_ctx *w = j->w;
	char base[CONFIG_DISPLAY_NAME_MAX + 1], end[TIMEFMT_RFC3339_LEN];
	bool here = j->cert != NULL;
	int64_t at =
	    here ? j->si.expires_at : policy_rotate_end(w->now, w->cfg, 0);
	int rc;

	display_base(w, base, sizeof(base));
	timefmt_rfc3339(at, end);
	if (store_begin(w->store, e))
		return -1;
	/* One in flight at most: what another process made meanwhile is
	 * taken again (checked in the transaction that would open one). */
	rc = j->want->manual ? 1
			     : store_rotation_in_flight(w->store, j->v->cred.id,
							&j->nr->secret, e);
	if (rc == 0) {
		j->nr->reused = true;
		store_rollback(w->store);
		return 2;
	}
	if (rc == 1)
		rc = store_rotation_open(w->store, j->v->cred.id, base, at,
					 w->now, &j->rot, e);
	if (rc == 0 && here) {
		note_of(j, j->si.note, sizeof(j->si.note));
		rc = store_cert_add(w->store, w->vault, &j->si, &j->key,
				    j->cert, j->cert_len, e);
	}
	if (rc == 0)
		rc = event_addf(w->store, w->now, j->v->cred.name, j->si.id,
				"rotation-intent", e, "display_name",
				j->rot.display_name, "kind",
				secret_kind_name(j->want->kind), "end", end,
				"key_id", j->si.key_id, EVENT_END);
	if (rc != 0) {
		store_rollback(w->store);
		return rc;
	}
	return store_commit(w->store, e);
}

/* A client secret from addPassword, as a pending row. */
static void secret_row(struct rotate_job *j)
{
	struct secret_info *si = &j->si;

	memset(si, 0, sizeof(*si));
	si->made_by_rotation = !j->want->manual;
	si->credential_id = j->v->cred.id;
	secret_hint(j->value.p, j->value.len, si->hint);
	snprintf(si->key_id, sizeof(si->key_id), "%s", j->key_id);
	note_of(j, si->note, sizeof(si->note));
	si->expires_at = j->added.end ? j->added.end : j->rot.requested_end;
	si->created_at = j->w->now;
}

/* A policy accepted j->learned and refused longer: remembered, so that
 * later rotations ask for it first. */
static int learn_lifetime(struct rotate_job *j, struct err *e)
{
	char days[24];

	snprintf(days, sizeof(days), "%lld", (long long)(j->learned / 86400));
	watch_log(j->w, LOG_NOTICE,
		  "%s: the app's lifetime policy accepts %s days: asking for "
		  "no more from now on (set [rotate] lifetime, or grant "
		  "Policy.Read.All, to avoid the refused tries)",
		  j->v->cred.name, days);
	return store_cred_set_lifetime_max(j->w->store, j->v->cred.id,
					   j->learned, e) ||
		       event_addf(j->w->store, j->w->now, j->v->cred.name, 0,
				  "lifetime-learned", e, "days", days,
				  EVENT_END)
		   ? -1
		   : 0;
}

/* Step c: the new material pending with its key ID, in the transaction
 * that closes the intent. Returns 0, 1 when the intent was closed
 * meanwhile (nothing stored), -1 with e. */
static int store_new(struct rotate_job *j, struct err *e)
{
	struct watch_ctx *w = j->w;
	const struct cred *c = &j->v->cred;
	bool here = j->cert != NULL;
	int rc;

	if (!here)
		secret_row(j);
	if (store_begin(w->store, e))
		return -1;
	rc = here ? store_cert_set_key_id(w->store, j->si.id, j->key_id, e)
		  : store_secret_add(w->store, w->vault, &j->si, j->value.p,
				     j->value.len, e);
	if (rc >= 0 && j->app_oid[0] && strcmp(j->app_oid, c->app_object_id))
		rc = store_cred_set_app_object_id(w->store, c->id, j->app_oid,
						  e);
	if (rc >= 0 && j->learned > 0)
		rc = learn_lifetime(j, e);
	if (rc >= 0)
		rc = store_rotation_close(w->store, j->rot.id, true, j->si.id,
					  j->key_id, w->now, e);
	if (rc == 0 &&
	    (store_counter_add(w->store, COUNTER_ROTATIONS, 1, e) ||
	     event_addf(w->store, w->now, c->name, j->si.id, "graph-add", e,
			"key_id", j->key_id, "outcome", "ok", "display_name",
			j->rot.display_name, "hint", j->si.hint, EVENT_END)))
		rc = -1;
	if (rc != 0) {
		store_rollback(w->store);
		return rc;
	}
	snprintf(j->si.key_id, sizeof(j->si.key_id), "%s", j->key_id);
	return store_commit(w->store, e);
}

/* Queue the rotation-failed alert with the diagnosis. */
static int alert_failed(struct rotate_job *j, struct err *e)
{
	const struct cred_view *v = j->v;
	const struct diag *d = &j->s.diag;
	char msg[DIAG_SUMMARY_MAX + DIAG_REMEDY_MAX + 256];
	struct watch_ctx *w = j->w;

	if (!v->has_active)
		return 0; /* no row for the alert; logged already */
	snprintf(msg, sizeof(msg),
		 "secretwatch could not make a new %s for %s through "
		 "Microsoft Graph; it tries again in a day. %s %s",
		 secret_kind_noun(j->want->kind), v->cred.name, d->summary,
		 d->remedy);
	if (store_begin(w->store, e))
		return -1;
	if (watch_queue_alert(w, &v->cred, &v->active, ALERT_ROTATION_FAILED,
			      LEVEL_WARNING, msg, e)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* Nothing was made in Entra: close the intent, and fail a row made here
 * unless it is to be kept (for a person to upload it), then alert. */
static int abandon(struct rotate_job *j, struct err *e)
{
	struct watch_ctx *w = j->w;
	bool fail = j->si.id != 0 && !j->want->manual;

	j->nr->diag = j->s.diag;
	j->nr->graph_failed = true;
	if (j->si.id != 0 && !fail)
		j->nr->secret = j->si;
	if (store_begin(w->store, e))
		return -1;
	if (store_rotation_close(w->store, j->rot.id, false, 0, NULL, w->now,
				 e) < 0 ||
	    (fail && store_secret_fail(w->store, j->si.id, e) < 0)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e) || alert_failed(j, e) ? -1 : 1;
}

/* Step b, then c. Returns as watch_rotate_new. */
static int add(struct rotate_job *j, struct err *e)
{
	const struct rotate_kind *k = rotate_kind_of(j->want->kind);
	struct graph_result res;
	int rc;

	if (k->add(j, &res) != 0) {
		if (rotate_graph_failed(j, "graph-add", j->si.key_id,
					j->diag_set ? NULL : &res, e))
			return -1;
		/* An answer that may hide new material leaves the intent
		 * open: the next cycle looks for it. */
		if (j->maybe_made) {
			j->nr->diag = j->s.diag;
			j->nr->graph_failed = true;
			return 1;
		}
		return abandon(j, e);
	}
	rc = store_new(j, e);
	if (rc == 1)
		err_set(e, "the rotation of %s was closed meanwhile",
			j->v->cred.name);
	if (rc != 0) {
		/* Not stored: it must not stay in Entra. */
		remove_orphan(j, j->want->kind, j->key_id, e);
		return -1;
	}
	j->nr->secret = j->si;
	j->r->rotations++;
	watch_log(j->w, LOG_NOTICE, "%s: new %s %s~ (key %s) added as '%s'",
		  j->v->cred.name, secret_kind_noun(k->kind), j->si.hint,
		  j->key_id, j->rot.display_name);
	return 0;
}

/* A new intent, the material, the session, then steps b and c. */
static int start(struct rotate_job *j, struct err *e)
{
	const struct rotate_kind *k = rotate_kind_of(j->want->kind);
	int rc;

	if (k->make != NULL && k->make(j, e))
		return -1;
	if ((rc = open_intent(j, e)) != 0) {
		j->nr->in_flight = rc == 1;
		return rc == 2 ? 0 : rc;
	}
	snprintf(j->nr->display_name, sizeof(j->nr->display_name), "%s",
		 j->rot.display_name);
	j->nr->end = j->rot.requested_end;
	/* A client secret needs the listing (the app's age for its lifetime
	 * policy); a certificate goes in without it. */
	rc = rotate_session_open(j, j->want->kind == SECRET_KIND_SECRET, e);
	if (rc == 1)
		return abandon(j, e);
	return rc == 0 ? add(j, e) : -1;
}

static void job_free(struct rotate_job *j)
{
	rotate_session_close(j);
	x509_key_free(&j->key);
	free(j->cert);
	vbuf_free(&j->value);
}

/* The dry run: what would be asked. */
static int dry_run(struct rotate_job *j)
{
	display_base(j->w, j->nr->display_name, sizeof(j->nr->display_name));
	j->nr->end = policy_rotate_end(j->w->now, j->w->cfg, 0);
	j->nr->recover = j->v->cred.rotate_open;
	j->nr->add_call = rotate_add_call(j->v, j->want->kind);
	return 1;
}

/* One pending row p of v in in_flight: 2 when taken again, else 0. */
static int settle(struct watch_ctx *w, const struct cred_view *v,
		  const struct secret_info *p, const struct secret_info *cand,
		  struct watch_new_report *nr, struct err *e)
{
	if (!p->made_by_rotation)
		return 0;
	if (p == cand) {
		nr->secret = *p;
		nr->reused = true;
		return 2;
	}
	if (store_begin(w->store, e))
		return -1;
	if (store_secret_fail(w->store, p->id, e) < 0 ||
	    event_addf(w->store, w->now, v->cred.name, p->id, "superseded", e,
		       "key_id", p->key_id, "by", "a new rotation",
		       EVENT_END)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* At most one rotation-made material in flight per credential: one still
 * pending that would be switched to is taken again (2, nr->reused); one
 * that would not is failed, so that it leaves Entra (watch_revoke.c),
 * and a new one is to be made (0). -1 with e. An intent left open was
 * dealt with first: its row is not in flight. */
static int in_flight(struct watch_ctx *w, const char *name,
		     struct watch_new_report *nr, struct err *e)
{
	const struct secret_info *cand;
	struct cred_view *v;
	int rc = 0;

	if (store_view_get(w->store, name, &v, e))
		return -1;
	cand = policy_switch_candidate(v);
	for (int i = 0; rc == 0 && i < v->npending; i++)
		rc = settle(w, v, &v->pending[i], cand, nr, e);
	free(v);
	return rc;
}

int watch_rotate_new(struct watch_ctx *w, const struct cred_view *v,
		     const struct watch_rotation *want,
		     struct watch_new_report *nr, struct watch_report *r,
		     struct err *e)
{
	struct rotate_job j = {.w = w, .v = v, .want = want, .nr = nr, .r = r};
	int rc;

	memset(nr, 0, sizeof(*nr));
	nr->kind = want->kind;
	if (graph_session_row(v, 0) == NULL) {
		err_set(e,
			"%s has no secret or certificate to call Graph with: "
			"register one with 'secretwatch secret add %s'",
			v->cred.name, v->cred.name);
		return -1;
	}
	if (w->dry_run)
		return dry_run(&j);
	rc = store_rotation_get_open(w->store, v->cred.id, &j.rot, e);
	if (rc == 0) {
		nr->recover = true;
		rc = recover(&j, e);
		if (rc == 1) {
			nr->diag = j.s.diag;
			nr->graph_failed = true;
		}
		rc = rc == 2 ? 1 : rc; /* done: nothing more to make */
		rotate_session_close(&j);
	} else if (rc == 1) {
		rc = 0; /* none open */
	}
	if (rc == 0 && !want->manual)
		rc = in_flight(w, v->cred.name, nr, e);
	if (rc == 0)
		rc = start(&j, e);
	else if (rc == 2)
		rc = 0; /* taken again: nr->reused */
	job_free(&j);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Step d, and the cycle's step */

int watch_rotate_switch(struct watch_ctx *w, const char *name, int64_t id,
			struct probe_result *pr, struct watch_report *r,
			struct err *e)
{
	struct cred_view *nv;
	int rc;

	memset(pr, 0, sizeof(*pr));
	if (store_view_get(w->store, name, &nv, e))
		return -1;
	rc = watch_switch(w, nv, id, false, pr, r, e);
	free(nv);
	return rc;
}

void watch_rotation_of(const struct cred_view *v, struct watch_rotation *ret)
{
	const struct secret_info *si = graph_session_row(v, 0);

	memset(ret, 0, sizeof(*ret));
	ret->kind = si != NULL ? si->kind : SECRET_KIND_SECRET;
}

/* Made, but not to be switched to: it fails, and leaves Entra. */
static int unused(struct watch_ctx *w, const struct cred_view *v,
		  const struct secret_info *si, struct err *e)
{
	watch_log(w, LOG_WARNING,
		  "%s: the new %s %s~ expires before the active one; not "
		  "switched to it",
		  v->cred.name, secret_kind_noun(si->kind), si->hint);
	if (store_begin(w->store, e))
		return -1;
	if (store_secret_fail(w->store, si->id, e) < 0 ||
	    event_addf(w->store, w->now, v->cred.name, si->id, "not-switched",
		       e, "reason", "expires before the active one", "key_id",
		       si->key_id, EVENT_END)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

int watch_rotate_step(struct watch_ctx *w, const struct cred_view *v,
		      struct watch_report *r, struct err *e)
{
	struct watch_rotation want;
	struct watch_new_report nr;
	struct probe_result pr;
	int rc;

	if (graph_session_row(v, 0) == NULL)
		return 0; /* nothing to call Graph with: its level says so */
	watch_rotation_of(v, &want);
	want.scheduled = true;
	rc = watch_rotate_new(w, v, &want, &nr, r, e);
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	/* Never a switch to what expires first: it goes unused. */
	if (v->has_active && nr.secret.expires_at <= v->active.expires_at)
		return unused(w, v, &nr.secret, e);
	/* Step d, now; material Entra has not replicated yet fails its
	 * test and is tried again soon (policy_switch_retry). */
	rc = watch_rotate_switch(w, v->cred.name, nr.secret.id, &pr, r, e);
	probe_result_free(&pr);
	return rc < 0 ? -1 : 0;
}
