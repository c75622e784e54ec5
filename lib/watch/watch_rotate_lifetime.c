/* watch_rotate_lifetime.c - how long a new client secret may live:
 * [rotate] lifetime, cut to an app management policy's limit where it is
 * known: read first where the token has Policy.Read.All, or learned from
 * an earlier rotation of the credential (cred.lifetime_max). Entra's
 * refusal (CredentialInvalidLifetimeAsPerAppPolicy) does not say the
 * limit, so a refused lifetime is followed, in the same attempt, by the
 * shorter ones policies commonly set; the one accepted is remembered. A
 * lifetime that would end before the active secret is not asked for:
 * such a secret would never be switched to. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "timefmt.h"
#include "watch_rotate_impl.h"

#define DAY 86400

/* What policies commonly allow, longest first (P2Y ... P30D). */
static const int64_t common_days[] = {730, 365, 180, 90, 30};

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

static bool lifetime_refused(const struct graph_result *res)
{
	return res->http_status == 400 &&
	       strcasecmp(res->code,
			  "CredentialInvalidLifetimeAsPerAppPolicy") == 0;
}

/* The end date to ask for first: end, cut to what the policy allows
 * where Policy.Read.All lets it be read, and to what an earlier
 * rotation learned. */
static int64_t first_end(struct rotate_job *j, int64_t end)
{
	struct watch_ctx *w = j->w;
	int64_t created = j->app != NULL ? j->app->created_at : 0, capped;
	int64_t learned = j->v->cred.lifetime_max;
	struct graph_policy pol;
	struct graph_result res;

	if (learned > 0 && policy_rotate_end(w->now, w->cfg, learned) < end)
		end = policy_rotate_end(w->now, w->cfg, learned);
	if (!graph_session_has_role(&j->s, "Policy.Read.All") ||
	    graph_lifetime_policy(&j->s.g, created, &pol, &res) != 0 ||
	    pol.max_lifetime == 0 ||
	    (capped = policy_rotate_end(w->now, w->cfg, pol.max_lifetime)) >=
		end)
		return end;
	watch_log(
	    w, LOG_NOTICE, "%s: %s allows %lld days at most; asking for that",
	    j->v->cred.name, pol.source, (long long)(pol.max_lifetime / DAY));
	return capped;
}

/* Whether a secret ending at end would serve: in a scheduled rotation,
 * it must outlive the active one (a person asking for one now may want
 * it all the same). */
static bool outlives(const struct rotate_job *j, int64_t end)
{
	return !j->want->scheduled || !j->v->has_active ||
	       end > j->v->active.expires_at;
}

/* The diagnosis when no lifetime the policy allows outlives the active
 * secret: the rotation cannot help, and says why. */
static void too_short(struct rotate_job *j, int64_t end)
{
	struct diag *d = &j->s.diag;
	const struct cred *c = &j->v->cred;

	memset(d, 0, sizeof(*d));
	d->step = DIAG_STEP_SECRET_POLICY;
	d->title = "Client secret lifetime policy";
	snprintf(d->summary, sizeof(d->summary),
		 "a new client secret of %s may live %lld days at most, and "
		 "would expire before the active one: it would never be "
		 "switched to",
		 c->name, (long long)((end - j->w->now) / DAY));
	snprintf(d->remedy, sizeof(d->remedy),
		 "Raise the app management policy's limit above [rotate] "
		 "before (%lld days) or lower [rotate] before below it, or "
		 "move the credential to a certificate: secretwatch migrate "
		 "%s --to certificate",
		 (long long)(j->w->cfg->rotate_before / DAY), c->name);
	j->diag_set = true;
}

/* Every step was refused: say which permission or setting ends the
 * guessing. */
static void all_refused(struct rotate_job *j, const struct graph_result *res,
			const char *tried)
{
	struct diag *d = &j->s.diag;

	graph_session_diagnose(&j->s, res, j->app ? j->app->id : NULL);
	snprintf(d->summary, sizeof(d->summary),
		 "an app management policy refused client secrets of %s days "
		 "for app %s and does not say its limit",
		 tried, j->v->cred.client_id);
	snprintf(d->remedy, sizeof(d->remedy),
		 "Grant the app the Microsoft Graph application permission "
		 "Policy.Read.All (with admin consent) so that rotation reads "
		 "the limit, or set [rotate] lifetime in secretwatch.conf to "
		 "the policy's limit (for example 30d).");
	j->diag_set = true;
}

static int ask(struct rotate_job *j, int64_t end, struct graph_result *res)
{
	return graph_add_password(&j->s.g, j->rot.display_name, end, &j->added,
				  &j->value, res);
}

/* After a lifetime refusal of end: shorter lifetimes, the named one or
 * the common ones, until one is accepted. Returns as graph_add_password. */
static int step_down(struct rotate_job *j, int64_t end,
		     struct graph_result *res)
{
	const struct watch_ctx *w = j->w;
	int64_t named = named_lifetime(res), life;
	char tried[96];
	size_t n;

	n = (size_t)snprintf(tried, sizeof(tried), "%lld",
			     (long long)((end - w->now) / DAY));
	for (size_t i = 0; i < sizeof(common_days) / sizeof(common_days[0]);
	     i++) {
		life = named > 0 ? named : common_days[i] * DAY;
		if (w->now + life >= end || !outlives(j, w->now + life))
			continue;
		end = policy_rotate_end(w->now, w->cfg, life);
		watch_log(j->w, LOG_NOTICE,
			  "%s: the lifetime policy refused a longer secret; "
			  "asking for %lld days",
			  j->v->cred.name, (long long)(life / DAY));
		if (ask(j, end, res) == 0) {
			j->learned = named > 0 ? 0 : life;
			return 0;
		}
		if (!lifetime_refused(res) || named > 0)
			return -1;
		if (n < sizeof(tried))
			n +=
			    (size_t)snprintf(tried + n, sizeof(tried) - n,
					     ", %lld", (long long)(life / DAY));
	}
	all_refused(j, res, tried);
	return -1;
}

int rotate_add_password(struct rotate_job *j, struct graph_result *res)
{
	int64_t end = first_end(j, j->rot.requested_end);
	int rc;

	memset(res, 0, sizeof(*res));
	if (!outlives(j, end)) {
		too_short(j, end);
		return -1;
	}
	rc = ask(j, end, res);
	if (rc != 0 && lifetime_refused(res))
		rc = step_down(j, end, res);
	if (rc == 0) {
		snprintf(j->key_id, sizeof(j->key_id), "%s", j->added.key_id);
		return 0;
	}
	/* A refusal (4xx) made nothing; anything else may have. */
	j->maybe_made =
	    !j->diag_set && (res->http_status < 400 || res->http_status >= 500);
	return -1;
}
