#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "timefmt.h"
#include "validate.h"
#include "watch.h"

static const char usage[] =
    "usage: secretwatch sync [NAME] [--dry-run]\n"
    "\n"
    "Read the app's client secrets (passwordCredentials) from Entra\n"
    "through Microsoft Graph and reconcile the store with them, for NAME\n"
    "or every credential:\n"
    "  - a stored secret whose expiry differs from Entra's gets Entra's\n"
    "    date (matched by key ID, or by a hint only one secret in Entra\n"
    "    has; the key ID is then stored too), recorded as a correction;\n"
    "  - a stored secret that no longer exists in Entra is alerted once\n"
    "    (critical when it is the active one);\n"
    "  - secrets in Entra that the store does not know are listed.\n"
    "Needs the Graph application permission Application.ReadWrite.OwnedBy\n"
    "(or Application.Read.All) with admin consent; see 'secretwatch\n"
    "doctor NAME'. Exit 0 when every app was read, 1 otherwise.\n"
    "  --dry-run   say what would change; change and send nothing\n";

struct sync_run {
	struct app *app;
	struct watch_ctx w;
	struct watch_sync_report *r;
	cJSON *json; /* array, with --json */
	int failed;
};

static void print_secret(const struct watch_sync_secret *s)
{
	char was[TIMEFMT_RFC3339_LEN], now[TIMEFMT_RFC3339_LEN];

	char hint[4 * sizeof(s->before.hint)];

	timefmt_rfc3339(s->before.expires_at, was);
	timefmt_rfc3339(s->entra_end, now);
	render_esc(s->before.hint, 0, hint, sizeof(hint));
	printf("  #%lld %s~ %-8s key %-36s ", (long long)s->before.id, hint,
	       secret_state_name(s->before.state),
	       s->before.key_id[0] ? s->before.key_id : "-");
	switch (s->outcome) {
	case WATCH_SYNC_SAME:
		printf("expires %s, as in Entra\n", was);
		break;
	case WATCH_SYNC_CORRECTED:
		printf("expiry corrected from Entra: %s -> %s\n", was, now);
		break;
	case WATCH_SYNC_REMOVED:
		printf("REMOVED in Entra%s\n",
		       s->alerted ? " (alert queued)" : " (already alerted)");
		break;
	case WATCH_SYNC_UNMATCHED:
		printf("hint %s~ is on several secrets in Entra: give it "
		       "its key ID\n",
		       hint);
		break;
	}
}

/* The diagnosis of a sync that did not read Entra. */
static void print_diag(const struct cred *c, const struct diag *d)
{
	char head[CRED_NAME_MAX + 32];

	snprintf(head, sizeof(head), "%s: Entra not read", c->name);
	render_diag_text(head, d);
}

/* Names, hints and key IDs from Graph are shown escaped: an app's
 * owner, not this host's administrator, chose them. */
static void print_text(const struct cred *c, const struct watch_sync_report *r)
{
	char end[TIMEFMT_RFC3339_LEN], name[4 * GRAPH_NAME_MAX + 4], hint[32],
	    kid[4 * CRED_GUID_LEN + 4];

	if (!r->graph_ok) {
		print_diag(c, &r->diag);
		return;
	}
	printf("%s: app %s (object ID %s) has %zu client secrets in Entra\n",
	       c->name, render_esc(r->app.display_name, 0, name, sizeof(name)),
	       render_esc(r->app.id, 0, kid, sizeof(kid)), r->app.n_passwords);
	for (size_t i = 0; i < r->n_secrets; i++)
		print_secret(&r->secrets[i]);
	for (size_t i = 0; i < r->n_unknown; i++) {
		const struct graph_password *p =
		    &r->app.passwords[r->unknown[i]];

		timefmt_rfc3339(p->end, end);
		render_esc(p->hint, 0, hint, sizeof(hint));
		printf("  unknown to secretwatch: %s~ key %s expires %s%s",
		       hint, render_esc(p->key_id, 0, kid, sizeof(kid)), end,
		       p->display_name[0] ? ", named " : "");
		printf("%s\n",
		       render_esc(p->display_name, 0, name, sizeof(name)));
	}
}

static void add_time(cJSON *o, const char *key, int64_t t)
{
	char s[TIMEFMT_RFC3339_LEN];

	if (t == 0) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	timefmt_rfc3339(t, s);
	cJSON_AddStringToObject(o, key, s);
}

static cJSON *secrets_json(const struct watch_sync_report *r)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; i < r->n_secrets; i++) {
		const struct watch_sync_secret *s = &r->secrets[i];
		cJSON *o = cJSON_CreateObject();

		render_add_int(o, "id", s->before.id);
		cJSON_AddStringToObject(o, "hint", s->before.hint);
		cJSON_AddStringToObject(o, "key_id", s->before.key_id);
		cJSON_AddStringToObject(o, "state",
					secret_state_name(s->before.state));
		cJSON_AddStringToObject(o, "outcome",
					watch_sync_outcome_name(s->outcome));
		add_time(o, "expires_at", s->before.expires_at);
		add_time(o, "entra_expires_at", s->entra_end);
		cJSON_AddBoolToObject(o, "alerted", s->alerted);
		cJSON_AddItemToArray(arr, o);
	}
	return arr;
}

static cJSON *report_json(const struct cred *c,
			  const struct watch_sync_report *r)
{
	cJSON *o = cJSON_CreateObject(), *unk = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddBoolToObject(o, "graph_ok", r->graph_ok);
	if (!r->graph_ok) {
		cJSON_AddItemToObject(o, "diagnosis",
				      render_diag_json(&r->diag));
		cJSON_Delete(unk);
		return o;
	}
	cJSON_AddStringToObject(o, "app_object_id", r->app.id);
	cJSON_AddItemToObject(o, "secrets", secrets_json(r));
	for (size_t i = 0; i < r->n_unknown; i++) {
		const struct graph_password *p =
		    &r->app.passwords[r->unknown[i]];
		cJSON *u = cJSON_CreateObject();

		cJSON_AddStringToObject(u, "key_id", p->key_id);
		cJSON_AddStringToObject(u, "hint", p->hint);
		cJSON_AddStringToObject(u, "display_name", p->display_name);
		add_time(u, "expires_at", p->end);
		cJSON_AddItemToArray(unk, u);
	}
	cJSON_AddItemToObject(o, "unknown", unk);
	return o;
}

static int sync_one(void *p, const struct cred *c)
{
	struct sync_run *s = p;
	struct err e;

	if (watch_sync(&s->w, c, s->r, &e)) {
		app_fail_err(s->app, &e);
		s->failed = 1;
		return 0;
	}
	if (!s->r->graph_ok)
		s->failed = 1;
	if (s->json != NULL)
		cJSON_AddItemToArray(s->json, report_json(c, s->r));
	else
		print_text(c, s->r);
	return 0;
}

static int parse(struct app *app, int argc, char **argv, const char **name,
		 int *dry_run)
{
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'd'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {0}};
	struct err e;
	int opt;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (opt == 'd')
			*dry_run = 1;
		else if (app_common_opt(app, opt, usage) != 1)
			return 1;
	if (optind < argc - 1)
		return app_bad_args(app);
	*name = optind < argc ? argv[optind] : NULL;
	if (*name != NULL && validate_name(*name, &e))
		return app_fail_err(app, &e);
	return 0;
}

int cmd_sync(struct app *app, int argc, char **argv)
{
	struct sync_run s;
	struct watch_report wr = {0};
	const char *name = NULL;
	struct cred c;
	struct err e = {{0}};
	int dry_run = 0, rc;

	memset(&s, 0, sizeof(s));
	s.app = app;
	if (parse(app, argc, argv, &name, &dry_run))
		return 1;
	if (app_open(app, APP_KEY | (dry_run ? 0 : APP_CYCLE)))
		return 1;
	if ((s.r = calloc(1, sizeof(*s.r))) == NULL) {
		app_close(app);
		return app_fail(app, "out of memory");
	}
	app_watch_ctx(app, &s.w);
	s.w.dry_run = dry_run;
	s.json = app->json ? cJSON_CreateArray() : NULL;
	rc = name != NULL
		 ? store_cred_get(app->store, name, &c, &e) || sync_one(&s, &c)
		 : store_cred_each(app->store, sync_one, &s, &e);
	/* Deliver the alerts this sync queued, as a cycle would. */
	if (rc == 0 && !dry_run)
		rc = watch_deliver(&s.w, &wr, &e);
	app_close(app);
	free(s.r);
	if (s.json != NULL) {
		cJSON *doc = cJSON_CreateObject();

		cJSON_AddItemToObject(doc, "credentials", s.json);
		app_print_json(doc);
	}
	if (rc)
		return app_fail_err(app, &e);
	return s.failed;
}

/* ------------------------------------------------------------------ */
/* doctor's Graph steps, for a credential with --rotate auto */

static const char grant_remedy[] =
    "grant the Microsoft Graph application permission "
    "Application.ReadWrite.OwnedBy to the app and give admin consent "
    "(App registrations > API permissions), then make the app an owner of "
    "itself; 'secretwatch sync NAME' prints the commands";

/* Write permission and ownership, read from the Graph token's roles. */
static void graph_rows_write(struct render_rows *gc,
			     const struct watch_sync_report *r)
{
	char detail[DIAG_SUMMARY_MAX + 64];

	if (!r->can_write)
		render_row(gc, "graph-write", "Graph write permission",
			   "failed",
			   r->has_roles ? "the Graph token's roles lack "
					  "Application.ReadWrite.OwnedBy"
					: "the Graph token has no roles claim",
			   grant_remedy);
	else
		render_row(gc, "graph-write", "Graph write permission",
			   "passed",
			   r->owned_by ? "roles: Application.ReadWrite.OwnedBy"
				       : "roles: Application.ReadWrite.All",
			   "");
	if (!r->owned_by) {
		render_row(gc, "graph-owner", "The app owns itself",
			   r->can_write ? "passed" : "skipped",
			   r->can_write ? "Application.ReadWrite.All needs no "
					  "ownership"
					: "needs Application.ReadWrite.OwnedBy",
			   "");
		return;
	}
	snprintf(detail, sizeof(detail), "%s",
		 r->graph_ok ? "the app read itself with "
			       "Application.ReadWrite.OwnedBy"
			     : r->diag.summary);
	render_row(gc, "graph-owner", "The app owns itself",
		   r->graph_ok ? "passed" : "failed", detail, r->diag.remedy);
}

static const char policy_remedy[] =
    "ask an administrator to exempt the app from the app management policy "
    "(Entra admin center > Enterprise applications > Application policies) "
    "or lift the restriction, or move the credential to a certificate: "
    "'secretwatch migrate NAME --to certificate'";

/* The app management policy, where the Graph token may read it. */
static void graph_row_policy(struct render_rows *gc,
			     const struct watch_sync_report *r, int64_t ask)
{
	static const char title[] = "App lifetime policy";
	char detail[GRAPH_SUMMARY_MAX + 64];
	const struct graph_policy *p = &r->policy;
	int64_t days = ask / 86400;

	if (!r->reads_policy) {
		render_row(gc, "graph-policy", title, "skipped",
			   "not read (needs Policy.Read.All); a refusal names "
			   "the longest lifetime, and rotation asks for that",
			   "");
		return;
	}
	if (!r->policy_read) {
		render_row(gc, "graph-policy", title, "skipped",
			   r->policy_error, "");
		return;
	}
	if (p->additions_blocked) {
		snprintf(detail, sizeof(detail),
			 "%s forbids new client secrets (passwordAddition)",
			 p->source);
		render_row(gc, "graph-policy", title, "failed", detail,
			   policy_remedy);
		return;
	}
	if (p->max_lifetime > 0 && p->max_lifetime / 86400 < days)
		snprintf(detail, sizeof(detail),
			 "%s allows client secrets %lld days at most; rotation "
			 "asks for that instead of %lld",
			 p->source, (long long)(p->max_lifetime / 86400),
			 (long long)days);
	else if (p->max_lifetime > 0)
		snprintf(detail, sizeof(detail),
			 "%s allows client secrets %lld days at most; rotation "
			 "asks for %lld",
			 p->source, (long long)(p->max_lifetime / 86400),
			 (long long)days);
	else
		snprintf(detail, sizeof(detail),
			 "no policy limits client secrets; rotation asks for "
			 "%lld days",
			 (long long)days);
	render_row(gc, "graph-policy", title, "passed", detail, "");
}

int cli_graph_checks(struct app *app, const struct cred *c, cJSON *arr)
{
	struct render_rows gc = {arr, 0, NULL};
	struct watch_sync_report *r = calloc(1, sizeof(*r));
	struct watch_ctx w;
	char detail[DIAG_SUMMARY_MAX + 64];
	struct err e;

	if (r == NULL || app_open(app, APP_KEY | APP_WRITE)) {
		free(r);
		return 1;
	}
	app_watch_ctx(app, &w);
	if (watch_sync_read(&w, c, true, r, &e)) {
		render_row(&gc, "graph-token", "Token for Microsoft Graph",
			   "failed", e.msg, "");
	} else if (r->token_failed) {
		render_row(&gc, "graph-token", "Token for Microsoft Graph",
			   "failed", r->diag.summary, r->diag.remedy);
	} else {
		render_row(&gc, "graph-token", "Token for Microsoft Graph",
			   "passed", "", "");
		snprintf(detail, sizeof(detail), "%s", r->diag.summary);
		if (r->graph_ok)
			snprintf(detail, sizeof(detail),
				 "'%s', %zu client secret(s)",
				 r->app.display_name, r->app.n_passwords);
		render_row(&gc, "graph-read", "Graph read permission",
			   r->graph_ok ? "passed" : "failed", detail,
			   r->diag.remedy);
		graph_rows_write(&gc, r);
		graph_row_policy(&gc, r, app->cfg.rotate_lifetime);
	}
	app_close(app);
	free(r);
	return gc.problems;
}
