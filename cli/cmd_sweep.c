/* cmd_sweep.c - secretwatch sweep: one sweep of a reader's tenant now
 * (watch_sweep), said per reader, then the alerts it owes delivered. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "render.h"
#include "validate.h"
#include "watch.h"

static const char usage[] =
    "usage: secretwatch sweep [NAME] [--now WHEN] [--json]\n"
    "\n"
    "Sweep the tenant of reader NAME (every reader without NAME) now, as\n"
    "the daemon does every [sweep] interval: list every app registration\n"
    "and enterprise application through Microsoft Graph, keep their\n"
    "credentials' metadata in the inventory (never a value; a SAML\n"
    "signing certificate is one credential), take out what Entra no\n"
    "longer has (only after every page was read), then warn once per app\n"
    "whose credentials entered a [sweep] warn_days step: to its owners\n"
    "([sweep] notify_owners) or the [alerts] channels.\n"
    "A reader is a credential added with --sweep; its app needs the\n"
    "Graph application permission Application.Read.All (and\n"
    "User.Read.All for owners' addresses). See 'secretwatch inventory'.\n"
    "Exit 0 when every tenant was read whole, 1 otherwise.\n"
    "  --now WHEN  sweep as if at another time (YYYY-MM-DD, RFC 3339, "
    "+30d)\n";

struct sweep_run {
	struct app *app;
	struct watch_ctx w;
	cJSON *json; /* array, with --json */
	int readers;
	int failed;
	int store_failed;
	struct err e;
};

static void print_diag(const struct cred *c, const struct diag *d)
{
	char head[CRED_NAME_MAX + CRED_TENANT_MAX + 48];

	snprintf(head, sizeof(head), "%s: the tenant %s was not read whole",
		 c->name, c->tenant);
	render_diag_text(head, d);
}

static void print_text(const struct cred *c, const struct watch_sweep_report *r)
{
	if (r->failed) {
		print_diag(c, &r->diag);
		return;
	}
	if (r->skipped) {
		printf("%s: another sweep of tenant %s is under way; left to "
		       "it\n",
		       c->name, c->tenant);
		return;
	}
	printf("%s: swept tenant %s: %d applications and service principals "
	       "(%d left out), %d credentials; %d pages, %d requests, %.1f s "
	       "waited for Graph\n",
	       c->name, c->tenant, r->objects, r->excluded, r->items, r->pages,
	       r->requests, (double)r->waited_ms / 1000.0);
	printf("  %d gone from Entra; %d apps entered a warning step, %d "
	       "alerted now; %d owner lists read (%d refused)\n",
	       r->gone, r->apps_due, r->alerts, r->owner_reads,
	       r->owners_unreadable);
}

static cJSON *report_json(const struct cred *c,
			  const struct watch_sweep_report *r)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "name", c->name);
	cJSON_AddStringToObject(o, "tenant", c->tenant);
	cJSON_AddBoolToObject(o, "ok", !r->failed && !r->skipped);
	cJSON_AddBoolToObject(o, "skipped", r->skipped);
	if (r->failed) {
		cJSON_AddItemToObject(o, "diagnosis",
				      render_diag_json(&r->diag));
		return o;
	}
	render_add_int(o, "objects", r->objects);
	render_add_int(o, "excluded", r->excluded);
	render_add_int(o, "credentials", r->items);
	render_add_int(o, "pages", r->pages);
	render_add_int(o, "requests", r->requests);
	render_add_int(o, "waited_ms", r->waited_ms);
	render_add_int(o, "gone", r->gone);
	render_add_int(o, "apps_due", r->apps_due);
	render_add_int(o, "alerts", r->alerts);
	render_add_int(o, "owner_reads", r->owner_reads);
	render_add_int(o, "owners_unreadable", r->owners_unreadable);
	return o;
}

static int sweep_one(void *p, const struct cred_view *v)
{
	struct sweep_run *s = p;
	struct watch_sweep_report r;
	struct watch_report wr = {0};

	s->readers++;
	if (watch_sweep(&s->w, v, false, &r, &wr, &s->e)) {
		s->store_failed = 1;
		return 1;
	}
	s->failed |= r.failed;
	if (s->json != NULL)
		cJSON_AddItemToArray(s->json, report_json(&v->cred, &r));
	else
		print_text(&v->cred, &r);
	return 0;
}

/* The readers' names (NAME alone, when given and a reader). */
struct names {
	char (*v)[CRED_NAME_MAX + 1];
	size_t n, cap;
	int oom;
};

static int add_reader(void *p, const struct cred *c)
{
	struct names *ns = p;

	if (!c->sweep)
		return 0;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 8;
		void *v = realloc(ns->v, cap * sizeof(*ns->v));
		if (v == NULL) {
			ns->oom = 1;
			return 1;
		}
		ns->v = v;
		ns->cap = cap;
	}
	memcpy(ns->v[ns->n++], c->name, sizeof(ns->v[0]));
	return 0;
}

static int readers_of(struct app *app, const char *name, struct names *ns,
		      struct err *e)
{
	struct cred c;

	if (name == NULL)
		return store_cred_each(app->store, add_reader, ns, e) ||
		       (ns->oom && (err_set(e, "out of memory"), 1));
	if (store_cred_get(app->store, name, &c, e))
		return -1;
	return add_reader(ns, &c) ? (err_set(e, "out of memory"), -1) : 0;
}

/* Without readers: say how to make one. */
static int no_reader(struct app *app, const char *name)
{
	if (name != NULL)
		return app_fail(app,
				"%s is not a reader of its tenant: make it one "
				"with 'secretwatch cred set %s --sweep'",
				name, name);
	return app_fail(app, "no reader of a tenant: add one with "
			     "'secretwatch cred add NAME --tenant T "
			     "--client-id ID --sweep'");
}

/* Each reader in turn, then the alerts owed delivered, as a cycle
 * would. Returns 0, or -1 with s->e (the store). */
static int sweep_all(struct app *app, struct sweep_run *s,
		     const struct names *ns)
{
	struct watch_report wr = {0};

	for (size_t i = 0; i < ns->n && !s->store_failed; i++)
		if (store_view_each(app->store, ns->v[i], sweep_one, s, &s->e))
			s->store_failed = 1;
	if (!s->store_failed && watch_deliver(&s->w, &wr, &s->e))
		s->store_failed = 1;
	return s->store_failed ? -1 : 0;
}

static void print_json(struct sweep_run *s)
{
	cJSON *doc = cJSON_CreateObject();

	cJSON_AddItemToObject(doc, "readers", s->json);
	app_print_json(doc);
}

int cmd_sweep(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"now", required_argument, NULL, OPT_NOW},
	    {0}};
	struct sweep_run s = {.app = app};
	struct names ns = {0};
	const char *name;
	int opt, rc;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (app_common_opt(app, opt, usage) != 1)
			return 1;
	if (optind < argc - 1)
		return app_bad_args(app);
	name = optind < argc ? argv[optind] : NULL;
	if ((name != NULL && validate_name(name, &s.e)))
		return app_fail_err(app, &s.e);
	if (app_open(app, APP_KEY | APP_WRITE))
		return 1;
	rc = readers_of(app, name, &ns, &s.e);
	if (rc == 0 && ns.n == 0) {
		app_close(app);
		return no_reader(app, name);
	}
	app_watch_ctx(app, &s.w);
	s.json = app->json ? cJSON_CreateArray() : NULL;
	if (rc == 0)
		rc = sweep_all(app, &s, &ns);
	app_close(app);
	free(ns.v);
	if (s.json != NULL)
		print_json(&s);
	if (rc)
		return app_fail_err(app, &s.e);
	return s.failed;
}

/* ------------------------------------------------------------------ */
/* doctor's rows for a reader */

static const char users_remedy[] =
    "add the Microsoft Graph application permission User.Read.All to the "
    "app and give admin consent (App registrations > API permissions), or "
    "set [sweep] notify_owners = no";

static void owners_row(struct render_rows *rr, const struct config *cfg,
		       const struct watch_sweep_check *k)
{
	char detail[GRAPH_SUMMARY_MAX + GRAPH_NAME_MAX + 96];
	bool need_mail = cfg->sweep_notify_owners && !k->reads_users;

	if (!k->owners_tried) {
		render_row(rr, "sweep-owners", "Owners readable", "skipped",
			   "the tenant has no application to ask of", "");
		return;
	}
	if (!k->owners_ok) {
		render_row(rr, "sweep-owners", "Owners readable", "failed",
			   k->owners_error, "");
		return;
	}
	snprintf(detail, sizeof(detail),
		 "'%s' has %d owner(s), %d with a mail address%s",
		 k->owners_app, k->owners, k->owners_mail,
		 k->reads_users ? ""
				: "; without User.Read.All owners have no "
				  "address");
	render_row(rr, "sweep-owners", "Owners readable",
		   need_mail ? "failed" : "passed", detail,
		   need_mail ? users_remedy : "");
}

static void sweep_rows(struct render_rows *rr, const struct config *cfg,
		       const struct watch_sweep_check *k)
{
	char detail[DIAG_SUMMARY_MAX + 64];
	const char *diag = k->diag.summary, *remedy = k->diag.remedy;

	render_row(rr, "sweep-token", "Token for Microsoft Graph",
		   k->token_ok ? "passed" : "failed", k->token_ok ? "" : diag,
		   k->token_ok ? "" : remedy);
	if (!k->token_ok)
		return;
	snprintf(detail, sizeof(detail), "roles: %s",
		 k->roles_known ? (k->roles[0] ? k->roles : "none")
				: "not decoded (Graph decides)");
	render_row(rr, "sweep-role", "Application.Read.All (read the tenant)",
		   !k->roles_known || k->reads_tenant ? "passed" : "failed",
		   !k->roles_known || k->reads_tenant ? detail : diag,
		   !k->roles_known || k->reads_tenant ? "" : remedy);
	if (k->roles_known && !k->reads_tenant)
		return;
	snprintf(detail, sizeof(detail), "%d application(s) on the first page",
		 k->page_objects);
	render_row(rr, "sweep-page", "One page of the tenant's applications",
		   k->page_ok ? "passed" : "failed", k->page_ok ? detail : diag,
		   k->page_ok ? "" : remedy);
	if (k->page_ok)
		owners_row(rr, cfg, k);
}

struct check_run {
	struct watch_ctx w;
	struct render_rows rr;
};

static int check_one(void *p, const struct cred_view *v)
{
	struct check_run *cr = p;
	struct watch_sweep_check k;
	struct err e;

	if (watch_sweep_check(&cr->w, v, &k, &e)) {
		render_row(&cr->rr, "sweep-token", "Token for Microsoft Graph",
			   "failed", e.msg, "");
		return 1;
	}
	sweep_rows(&cr->rr, cr->w.cfg, &k);
	return 0;
}

int cli_sweep_checks(struct app *app, const struct cred *c, cJSON *arr)
{
	struct check_run cr = {.rr = {arr, 0, NULL}};
	struct err e;

	if (app_open(app, APP_KEY | APP_WRITE))
		return 1;
	app_watch_ctx(app, &cr.w);
	if (store_view_each(app->store, c->name, check_one, &cr, &e))
		render_row(&cr.rr, "sweep-token", "Token for Microsoft Graph",
			   "failed", e.msg, "");
	app_close(app);
	return cr.rr.problems;
}
