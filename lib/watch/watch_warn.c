/* watch_warn.c - the warn step: a secret crossed one of warn_days (or
 * expired); mark the threshold and queue the alert, once. */
#include <stdio.h>

#include "event.h"
#include "timefmt.h"
#include "watch_impl.h"

/* "expires T, in N days" or "expired at T (N days ago); mail through it
 * has stopped". */
static void when_text(const struct secret_info *si, int64_t now, char *out,
		      size_t size)
{
	char t[TIMEFMT_RFC3339_LEN];
	int64_t days = timefmt_days_left(si->expires_at, now);
	bool gone = days < 0 || si->expires_at <= now;

	timefmt_rfc3339(si->expires_at, t);
	if (gone)
		snprintf(out, size,
			 "expired at %s (%lld days ago); mail through it has "
			 "stopped",
			 t, (long long)-days);
	else
		snprintf(out, size, "expires %s, in %lld days", t,
			 (long long)days);
}

/* What a person does about it: make and register the next one. */
static void remedy_text(const struct cred *c, const struct secret_info *si,
			char *out, size_t size)
{
	if (si->kind == SECRET_KIND_CERTIFICATE)
		snprintf(out, size,
			 "make and upload the next certificate: secretwatch "
			 "cert new %s --upload (or let it roll itself: "
			 "secretwatch cred set %s --rotate auto)",
			 c->name, c->name);
	else
		snprintf(out, size,
			 "create a new client secret for app %s in Entra (App "
			 "registrations > Certificates & secrets), then "
			 "register it: secretwatch secret add %s --activate",
			 c->client_id, c->name);
}

/* For a credential that rotates itself: what the watchdog is doing. */
static void rotation_text(const struct cred_view *v, const struct config *cfg,
			  int64_t now, char *out, size_t size)
{
	const struct secret_info *made = NULL;
	char t[TIMEFMT_RFC3339_LEN];
	int64_t next = policy_next_rotation(v, cfg);

	for (int i = 0; i < v->npending && made == NULL; i++)
		if (v->pending[i].made_by_rotation)
			made = &v->pending[i];
	if (made != NULL) {
		timefmt_rfc3339(made->next_try_at ? made->next_try_at : now, t);
		snprintf(
		    out, size,
		    "secretwatch made the next one (%s~, key %s) and waits "
		    "for Entra to accept it: its next test is at %s",
		    made->hint, made->key_id, t);
	} else if (next > now) {
		timefmt_rfc3339(next, t);
		snprintf(out, size, "secretwatch makes the next one at %s", t);
	} else if (v->cred.last_rotation_at != 0) {
		timefmt_rfc3339(v->cred.last_rotation_at + POLICY_ROTATE_RETRY,
				t);
		snprintf(out, size,
			 "making the next one failed (see 'secretwatch log "
			 "%s'); secretwatch tries again at %s",
			 v->cred.name, t);
	} else {
		snprintf(out, size, "secretwatch makes the next one now");
	}
}

static void warning_message(const struct cred_view *v,
			    const struct secret_info *si,
			    const struct config *cfg, int64_t now, char *out,
			    size_t size)
{
	const struct cred *c = &v->cred;
	char when[128], remedy[512], doing[256];

	when_text(si, now, when, sizeof(when));
	remedy_text(c, si, remedy, sizeof(remedy));
	if (!c->rotate_auto) {
		snprintf(out, size, "The %s %s~ (key %s) of %s %s. To do: %s.",
			 secret_kind_noun(si->kind), si->hint,
			 si->key_id[0] ? si->key_id : "unknown", c->name, when,
			 remedy);
		return;
	}
	rotation_text(v, cfg, now, doing, sizeof(doing));
	snprintf(out, size,
		 "The %s %s~ (key %s) of %s %s. %s. Only if that stops: %s.",
		 secret_kind_noun(si->kind), si->hint,
		 si->key_id[0] ? si->key_id : "unknown", c->name, when, doing,
		 remedy);
}

/* The secret a warning is about: the active one or a pending one. */
static const struct secret_info *warned_secret(const struct cred_view *v,
					       int64_t id)
{
	if (v->has_active && v->active.id == id)
		return &v->active;
	for (int i = 0; i < v->npending; i++)
		if (v->pending[i].id == id)
			return &v->pending[i];
	return NULL;
}

int watch_warn(struct watch_ctx *w, const struct cred_view *v,
	       const struct action *a, struct watch_report *r, struct err *e)
{
	const struct secret_info *si = warned_secret(v, a->secret_id);
	enum level level = policy_warn_level(a->threshold, w->cfg);
	char msg[2048], th[16];
	int rc;

	if (si == NULL)
		return 0;
	warning_message(v, si, w->cfg, w->now, msg, sizeof(msg));
	snprintf(th, sizeof(th), "%d", a->threshold);
	if (store_begin(w->store, e))
		return -1;
	/* Only the transaction that marks the threshold owes the alert. */
	rc = store_warning_mark(w->store, si->id, a->threshold,
				w->cfg->warn_days, w->cfg->nwarn_days, w->now,
				e);
	if (rc == 1) {
		store_rollback(w->store);
		return 0;
	}
	if (rc < 0 ||
	    event_addf(w->store, w->now, v->cred.name, si->id, "warning", e,
		       "threshold_days", th, "level", policy_level_name(level),
		       EVENT_END) ||
	    watch_queue_alert(w, &v->cred, si,
			      a->threshold == 0 ? ALERT_EXPIRED
						: ALERT_EXPIRY_WARNING,
			      level, msg, e)) {
		store_rollback(w->store);
		return -1;
	}
	if (store_commit(w->store, e))
		return -1;
	r->warnings++;
	return 0;
}
