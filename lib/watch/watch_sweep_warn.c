/* watch_sweep_warn.c - after a sweep, the apps whose credentials crossed
 * a [sweep] warn_days step: their owners read, then per app one
 * transaction that marks each credential's step (a compare-and-set, as
 * for held secrets) and owes one alert listing the credentials it
 * marked. Memory holds the due apps' IDs and one app's rows. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloud.h"
#include "event.h"
#include "graph_list.h"
#include "graph_session.h"
#include "timefmt.h"
#include "watch_impl.h"
#include "watch_sweep.h"

#define APP_ITEMS_MAX 64 /* an app's rows read for its alert */
#define LISTED_MAX    10 /* credentials an alert names one by one */

/* The IDs of the objects with a credential due. */
struct due_apps {
	char (*ids)[CRED_GUID_LEN + 1];
	size_t n, cap;
	const int *days;
	int ndays;
	int64_t now;
	bool oom;
};

/* The step it is due for, or -1. One that had expired before a sweep
 * first listed it is inventory, not news: listed, never alerted (a
 * tenant's first sweep would otherwise alert every stale secret). */
static int due_step(const struct inv_item *it, const int *days, int n,
		    int64_t now)
{
	if (it->expires_at < it->first_seen_at)
		return -1;
	return policy_due_threshold(it->expires_at, it->warned_min, days, n,
				    now);
}

static int collect_app(void *arg, const struct inv_item *it)
{
	struct due_apps *d = arg;

	if (due_step(it, d->days, d->ndays, d->now) < 0)
		return 0;
	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 64;
		void *p = realloc(d->ids, cap * sizeof(*d->ids));
		if (p == NULL) {
			d->oom = true;
			return 1;
		}
		d->ids = p;
		d->cap = cap;
	}
	memcpy(d->ids[d->n++], it->object_id, sizeof(d->ids[0]));
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Sorted, each once. */
static void unique(struct due_apps *d)
{
	size_t k = 0;

	if (d->n == 0)
		return; /* ids is NULL: nothing to sort */
	qsort(d->ids, d->n, sizeof(d->ids[0]), cmp_id);
	for (size_t i = 0; i < d->n; i++)
		if (k == 0 || strcmp(d->ids[k - 1], d->ids[i]) != 0)
			memmove(d->ids[k++], d->ids[i], sizeof(d->ids[0]));
	d->n = k;
}

/* One app: its rows, and which of them are due (threshold >= 0). */
struct app {
	struct inv_item rows[APP_ITEMS_MAX];
	int threshold[APP_ITEMS_MAX];
	size_t n;
	struct graph_owner owners[GRAPH_OWNERS_MAX];
	size_t n_owners;
	bool owners_read;
	char owners_error[GRAPH_SUMMARY_MAX];
	char mail[GRAPH_OWNERS_MAX * (CRED_MAILBOX_MAX + 1)];
	char link[512];
};

static int keep_row(void *arg, const struct inv_item *it)
{
	struct app *a = arg;

	if (a->n < APP_ITEMS_MAX)
		a->rows[a->n++] = *it;
	return 0;
}

/* The owners of a's object, and their addresses, comma-separated. */
static void read_owners(struct graph_session *s, struct app *a,
			struct watch_sweep_report *sr)
{
	enum graph_collection c = a->rows[0].object_kind[0] == 's'
				      ? GRAPH_SERVICE_PRINCIPALS
				      : GRAPH_APPLICATIONS;
	struct graph_result res;
	size_t len = 0;

	sr->owner_reads++;
	sr->requests++;
	a->owners_read =
	    graph_owners(&s->g, c, a->rows[0].object_id, a->owners,
			 GRAPH_OWNERS_MAX, &a->n_owners, &res) == 0;
	if (!a->owners_read) {
		sr->owners_unreadable++;
		snprintf(a->owners_error, sizeof(a->owners_error), "%s",
			 res.summary);
		return;
	}
	for (size_t i = 0; i < a->n_owners; i++) {
		const char *m = a->owners[i].mail;
		if (!a->owners[i].user || m[0] == '\0' ||
		    len + strlen(m) + 2 > sizeof(a->mail))
			continue;
		len += (size_t)snprintf(a->mail + len, sizeof(a->mail) - len,
					"%s%s", len ? "," : "", m);
	}
}

/* Whether the alert goes to the owners' mail (else the channels). */
static bool to_owners(const struct watch_ctx *w, const struct cred *c,
		      const struct app *a)
{
	return w->cfg->sweep_notify_owners && a->mail[0] != '\0' &&
	       c->sender[0] != '\0';
}

/* A credential of the app, on one line. */
static void put_item(FILE *f, const struct inv_item *it, int64_t now)
{
	char t[TIMEFMT_RFC3339_LEN];
	int64_t days = timefmt_days_left(it->expires_at, now);

	timefmt_rfc3339(it->expires_at, t);
	fprintf(
	    f, "- %s%s%s%s%s%s (key %s): ",
	    it->saml ? "SAML signing certificate" : secret_kind_noun(it->kind),
	    it->name[0] ? " \"" : "", it->name, it->name[0] ? "\"" : "",
	    it->hint[0] ? " " : "", it->hint[0] ? it->hint : "", it->key_id);
	if (it->expires_at <= now)
		fprintf(f, "expired at %s (%lld day%s ago)\n", t,
			(long long)-days, days == -1 ? "" : "s");
	else
		fprintf(f, "expires %s, in %lld day%s\n", t, (long long)days,
			days == 1 ? "" : "s");
}

/* Who is told, and why not the owners when they are not. */
static void put_owners(FILE *f, const struct watch_ctx *w, const struct cred *c,
		       const struct app *a)
{
	if (!a->owners_read) {
		fprintf(f, "Owners: could not be read (%s).\n",
			a->owners_error);
		return;
	}
	if (a->n_owners == 0) {
		fprintf(f, "No owner: nobody in Entra is responsible for this "
			   "app. Assign one (its Owners page).\n");
		return;
	}
	fprintf(f, "Owners:");
	for (size_t i = 0; i < a->n_owners; i++)
		fprintf(f, "%s %s%s%s%s", i ? "," : "", a->owners[i].name,
			a->owners[i].mail[0] ? " <" : "", a->owners[i].mail,
			a->owners[i].mail[0] ? ">" : " (no address)");
	fprintf(f, ".\n");
	if (a->mail[0] == '\0')
		fprintf(f, "No owner has a mail address Graph gives the "
			   "reader (it needs User.Read.All, and the owner a "
			   "mailbox).\n");
	else if (w->cfg->sweep_notify_owners && c->sender[0] == '\0')
		fprintf(f,
			"Owners not mailed: the reader %s has no mailbox to "
			"send from (secretwatch cred set %s --sender "
			"MAILBOX).\n",
			c->name, c->name);
}

static void put_remedy(FILE *f, const struct app *a, bool saml)
{
	if (saml)
		fprintf(f, "To do: Enterprise applications > the app > Single "
			   "sign-on > SAML Certificates: add a new "
			   "certificate, make it active and give the new "
			   "metadata to the service provider");
	else
		fprintf(f, "To do: add a new client secret or certificate in "
			   "Certificates & secrets, put it where the app "
			   "uses it, then remove the old one");
	fprintf(f, ": %s\n", a->link);
}

/* The alert's text for people: the app, its credentials marked now,
 * its owners and what to do. Returns a malloc'd string, or NULL. */
static char *message(const struct watch_ctx *w, const struct cred *c,
		     const struct app *a, const bool *fresh, int count)
{
	const struct inv_item *first = &a->rows[0];
	char *text = NULL;
	size_t len = 0;
	bool saml = false;
	int listed = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	fprintf(f,
		"The %s \"%s\" (app ID %s) has %d credential%s in a "
		"warning step:\n",
		first->object_kind[0] == 's' ? "enterprise application"
					     : "app registration",
		first->display_name, first->app_id, count,
		count == 1 ? "" : "s");
	for (size_t i = 0; i < a->n; i++) {
		if (!fresh[i])
			continue;
		saml |= a->rows[i].saml;
		if (listed++ < LISTED_MAX)
			put_item(f, &a->rows[i], w->now);
	}
	if (listed > LISTED_MAX)
		fprintf(f, "- and %d more\n", listed - LISTED_MAX);
	put_owners(f, w, c, a);
	put_remedy(f, a, saml);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The alert as the outbox keeps it: the app, its link, and its soonest
 * credential marked now as the alert's hint, key and expiry. */
static char *payload(const struct watch_ctx *w, const struct cred *c,
		     const struct app *a, const bool *fresh, int count,
		     int threshold, const char *msg, bool owners)
{
	const struct inv_item *it = NULL;
	cJSON *o = cJSON_CreateObject();
	char *text;

	for (size_t i = 0; i < a->n && it == NULL; i++)
		if (fresh[i]) /* the rows are soonest first */
			it = &a->rows[i];
	cJSON_AddStringToObject(o, "event",
				alert_event_name(ALERT_APP_EXPIRING));
	cJSON_AddStringToObject(o, "credential", c->name);
	cJSON_AddStringToObject(o, "hint", it->hint);
	cJSON_AddStringToObject(o, "key_id", it->key_id);
	cJSON_AddStringToObject(o, "kind", secret_kind_name(it->kind));
	cJSON_AddNumberToObject(o, "expires_at", (double)it->expires_at);
	cJSON_AddNumberToObject(
	    o, "days_left", (double)timefmt_days_left(it->expires_at, w->now));
	cJSON_AddStringToObject(
	    o, "level",
	    policy_level_name(policy_warn_level(threshold, w->cfg)));
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddStringToObject(o, "app", it->display_name);
	cJSON_AddStringToObject(o, "app_id", it->app_id);
	cJSON_AddStringToObject(o, "object_kind", it->object_kind);
	cJSON_AddStringToObject(o, "link", a->link);
	cJSON_AddNumberToObject(o, "count", count);
	cJSON_AddStringToObject(o, "to", owners ? a->mail : "");
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

/* Mark each due credential's step: which this transaction marked
 * (fresh), how many, and the smallest step among them (*least). */
static int mark_due(struct watch_ctx *w, const struct app *a, bool *fresh,
		    int *count, int *least, struct err *e)
{
	int n;
	const int *days = config_sweep_days(w->cfg, &n);

	*count = 0;
	*least = -1;
	for (size_t i = 0; i < a->n; i++) {
		int t = a->threshold[i], rc;
		if (t < 0)
			continue;
		rc = store_inventory_mark(w->store, a->rows[i].id, t, days, n,
					  w->now, e);
		if (rc < 0)
			return -1;
		if (rc == 1)
			continue; /* another process alerted it */
		fresh[i] = true;
		(*count)++;
		if (*least < 0 || t < *least)
			*least = t;
	}
	return 0;
}

/* Record and owe the one alert of the app, inside the transaction. */
static int owe_alert(struct watch_ctx *w, const struct cred *c,
		     const struct app *a, const bool *fresh, int count,
		     int least, struct err *e)
{
	bool owners = to_owners(w, c, a);
	char *msg = message(w, c, a, fresh, count), *pl = NULL;
	char th[16], n[16];
	int rc = -1;

	if (msg == NULL ||
	    (pl = payload(w, c, a, fresh, count, least, msg, owners)) == NULL) {
		err_set(e, "out of memory");
		goto out;
	}
	snprintf(th, sizeof(th), "%d", least);
	snprintf(n, sizeof(n), "%d", count);
	rc = (a->owners_read &&
	      store_inventory_owners(w->store, c->id, a->rows[0].object_id,
				     (int)a->n_owners, w->now, e)) ||
	     event_addf(w->store, w->now, c->name, 0, "inventory-warning", e,
			"app", a->rows[0].display_name, "object",
			a->rows[0].object_id, "threshold_days", th, "count", n,
			"to", owners ? "owners" : "channels", EVENT_END) ||
	     watch_queue_payload(w, c, 0, pl, owners, e);
out:
	free(msg);
	free(pl);
	return rc ? -1 : 0;
}

/* One transaction for the app: its marks, owners, event and alert. */
static int warn_app(struct watch_ctx *w, const struct cred *c,
		    const struct app *a, struct watch_sweep_report *sr,
		    struct err *e)
{
	bool fresh[APP_ITEMS_MAX] = {0};
	int count, least;

	if (store_begin(w->store, e))
		return -1;
	if (mark_due(w, a, fresh, &count, &least, e) ||
	    (count > 0 && owe_alert(w, c, a, fresh, count, least, e))) {
		store_rollback(w->store);
		return -1;
	}
	if (count == 0) {
		store_rollback(w->store);
		return 0;
	}
	if (store_commit(w->store, e))
		return -1;
	sr->alerts++;
	return 0;
}

/* The app of object id: its rows now, its owners, and its warning. */
static int one_app(struct watch_ctx *w, const struct cred *c,
		   struct graph_session *s, const char *id, struct app *a,
		   struct watch_sweep_report *sr, struct err *e)
{
	struct inv_query q = {c->id, 0, -1, false, id};
	int n, due = 0;
	const int *days = config_sweep_days(w->cfg, &n);

	memset(a, 0, sizeof(*a));
	if (store_inventory_each(w->store, &q, keep_row, a, e))
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		a->threshold[i] = due_step(&a->rows[i], days, n, w->now);
		due += a->threshold[i] >= 0;
	}
	if (due == 0)
		return 0; /* another process alerted them meanwhile */
	sr->apps_due++;
	cloud_credentials_link(c, a->rows[0].object_kind[0] == 's',
			       a->rows[0].object_id, a->rows[0].app_id, a->link,
			       sizeof(a->link));
	read_owners(s, a, sr);
	return warn_app(w, c, a, sr, e);
}

int watch_sweep_warn(struct watch_ctx *w, const struct cred *c,
		     struct graph_session *s, struct watch_sweep_report *sr,
		     struct err *e)
{
	struct due_apps d = {.now = w->now};
	struct inv_query q = {c->id, 0, -1, false, NULL};
	struct app *a = NULL;
	int rc, most = 0;

	d.days = config_sweep_days(w->cfg, &d.ndays);
	for (int i = 0; i < d.ndays; i++)
		most = d.days[i] > most ? d.days[i] : most;
	q.expires_by = w->now + (int64_t)most * 86400;
	rc = store_inventory_each(w->store, &q, collect_app, &d, e);
	if (rc == 0 && (d.oom || (a = malloc(sizeof(*a))) == NULL)) {
		err_set(e, "out of memory");
		rc = -1;
	}
	if (rc == 0)
		unique(&d);
	for (size_t i = 0; rc == 0 && i < d.n; i++) {
		if (w->stop != NULL && *w->stop)
			break;
		rc = one_app(w, c, s, d.ids[i], a, sr, e);
	}
	free(a);
	free(d.ids);
	return rc;
}
