/* watch_warn.c - the warn step: a secret crossed one of warn_days (or
 * expired); mark the threshold and queue the alert, once. */
#include <stdio.h>

#include "event.h"
#include "timefmt.h"
#include "watch_impl.h"

/* What to do about a certificate that expires: make the next one. */
static void certificate_message(const struct cred *c,
				const struct secret_info *si, int64_t now,
				char *out, size_t size)
{
	char t[TIMEFMT_RFC3339_LEN];
	bool gone = si->expires_at <= now;

	timefmt_rfc3339(si->expires_at, t);
	snprintf(out, size,
		 "The certificate %s~ (key %s) of %s %s %s%s. Make and upload "
		 "the next one: secretwatch cert new %s --upload (or let it "
		 "roll itself: secretwatch cred set %s --rotate auto)",
		 si->hint, si->key_id[0] ? si->key_id : "unknown", c->name,
		 gone ? "expired at" : "expires", t,
		 gone ? "; mail through it has stopped" : "", c->name, c->name);
}

static void warning_message(const struct cred *c, const struct secret_info *si,
			    int64_t now, char *out, size_t size)
{
	char t[TIMEFMT_RFC3339_LEN];
	int64_t days = timefmt_days_left(si->expires_at, now);

	if (si->kind == SECRET_KIND_CERTIFICATE) {
		certificate_message(c, si, now, out, size);
		return;
	}
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
	char msg[1024], th[16];
	int rc;

	if (si == NULL)
		return 0;
	warning_message(&v->cred, si, w->now, msg, sizeof(msg));
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
