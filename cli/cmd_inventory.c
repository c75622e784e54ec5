/* cmd_inventory.c - secretwatch inventory: the tenant credentials the
 * sweeps found, soonest expiry first, as a table, CSV or JSON, with
 * status's exit codes. Names come from Entra, chosen by the tenant's
 * app owners: shown escaped, and CSV cells that a spreadsheet would take
 * for a formula are defused. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "num.h"
#include "policy.h"
#include "render.h"
#include "timefmt.h"
#include "validate.h"

static const char usage[] =
    "usage: secretwatch inventory [NAME] [--within DAYS] [--expired]\n"
    "                             [--kind secret|certificate] "
    "[--owner none]\n"
    "                             [--csv|--json] [--now WHEN]\n"
    "\n"
    "The credentials of every app registration and enterprise application\n"
    "of the tenants the readers sweep (NAME: one reader's), soonest expiry\n"
    "first: days left, expiry, kind (a SAML signing certificate is one),\n"
    "application and app ID, the credential's name and hint, its owners\n"
    "(read for apps in a warning step: a number, 'none', or '-' not read),\n"
    "and whether secretwatch holds it. Run 'secretwatch sweep' first.\n"
    "  --within DAYS  only those expiring within DAYS (30, 30d, 8w), and\n"
    "                 the expired\n"
    "  --expired      only the expired\n"
    "  --kind K       only client secrets (secret) or certificates\n"
    "  --owner none   only apps whose owners were read: none\n"
    "  --csv          comma-separated, with a header line\n"
    "Exit code as a Nagios check: 0 ok, 1 warning, 2 critical or expired\n"
    "(the soonest listed counts), 3 unknown (a tenant never swept whole).\n";

struct inv_run {
	struct app *app;
	struct inv_query q;
	int csv;
	int first;
	int count;
	enum level worst; /* of the rows listed */
	int unswept;	  /* a reader never swept its tenant whole */
	int failed;
	const struct cred *reader;
};

enum { O_WITHIN = 1, O_EXPIRED, O_KIND, O_OWNER, O_CSV };

/* "30", "30d", "8w": at most 10 years. */
static int parse_within(struct app *app, const char *v, int64_t *ret)
{
	struct err e;
	int64_t days;

	if (num_parse_i64(v, 0, 3650, &days) == 0) {
		*ret = days * 86400;
		return 0;
	}
	if (timefmt_parse_duration(v, ret, &e) == 0 &&
	    *ret <= (int64_t)3650 * 86400)
		return 0;
	return app_fail(app,
			"--within '%.40s' is not a number of days: give one "
			"such as 30 or 30d (or 8w)",
			v);
}

static int parse_opt(struct app *app, struct inv_run *r, int opt,
		     int64_t *within, int *expired)
{
	switch (opt) {
	case O_WITHIN:
		return parse_within(app, optarg, within);
	case O_EXPIRED:
		*expired = 1;
		return 0;
	case O_KIND:
		if (strcmp(optarg, "secret") != 0 &&
		    strcmp(optarg, "certificate") != 0)
			return app_fail(app,
					"--kind '%.20s': use secret or "
					"certificate",
					optarg);
		r->q.kind = (int)secret_kind_parse(optarg);
		return 0;
	case O_OWNER:
		if (strcmp(optarg, "none") != 0)
			return app_fail(app,
					"--owner '%.20s': only --owner "
					"none is known",
					optarg);
		r->q.owner_none = true;
		return 0;
	case O_CSV:
		r->csv = 1;
		return 0;
	}
	return app_common_opt(app, opt, usage) == 1 ? 0 : 1;
}

static int parse(struct app *app, int argc, char **argv, struct inv_run *r,
		 const char **name)
{
	static const struct option opts[] = {
	    {"within", required_argument, NULL, O_WITHIN},
	    {"expired", no_argument, NULL, O_EXPIRED},
	    {"kind", required_argument, NULL, O_KIND},
	    {"owner", required_argument, NULL, O_OWNER},
	    {"csv", no_argument, NULL, O_CSV},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"now", required_argument, NULL, OPT_NOW},
	    {0}};
	int64_t within = -1;
	int opt, expired = 0;
	struct err e;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (opt == '?' || parse_opt(app, r, opt, &within, &expired))
			return 1;
	if (optind < argc - 1)
		return app_bad_args(app);
	if (r->csv && app->json)
		return app_fail(app, "--csv and --json: choose one");
	*name = optind < argc ? argv[optind] : NULL;
	if (*name != NULL && validate_name(*name, &e))
		return app_fail_err(app, &e);
	if (expired)
		r->q.expires_by = app->now;
	else if (within >= 0)
		r->q.expires_by = app->now + within;
	return 0;
}

static enum level item_level(const struct inv_item *it, int64_t now,
			     const struct config *cfg)
{
	int64_t left = it->expires_at - now;

	if (left <= 0)
		return LEVEL_EXPIRED;
	if (left <= cfg->level_critical)
		return LEVEL_CRITICAL;
	return left <= cfg->level_warning ? LEVEL_WARNING : LEVEL_OK;
}

static const char *kind_label(const struct inv_item *it)
{
	return it->saml ? "saml" : secret_kind_name(it->kind);
}

static void owners_label(const struct inv_item *it, char *out, size_t size)
{
	if (it->owners < 0)
		snprintf(out, size, "-");
	else if (it->owners == 0)
		snprintf(out, size, "none");
	else
		snprintf(out, size, "%d", it->owners);
}

/* One CSV cell: quoted when it holds a comma, quote or line break, and
 * a leading = + - @ (a formula to a spreadsheet) behind a quote mark. */
static void csv_cell(const char *s, int last)
{
	bool quote = strpbrk(s, ",\"\r\n") != NULL;

	if (quote)
		putchar('"');
	if (strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0')
		putchar('\'');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	if (quote)
		putchar('"');
	putchar(last ? '\n' : ',');
}

static const char csv_header[] =
    "reader,tenant,object_kind,object_id,app_id,app,key_id,kind,usage,"
    "name,hint,starts_at,expires_at,days_left,level,owners,managed\n";

static void print_csv(const struct inv_run *r, const struct inv_item *it,
		      enum level l)
{
	char start[TIMEFMT_RFC3339_LEN], end[TIMEFMT_RFC3339_LEN], days[24],
	    owners[16];

	timefmt_rfc3339(it->starts_at, start);
	timefmt_rfc3339(it->expires_at, end);
	snprintf(days, sizeof(days), "%lld",
		 (long long)timefmt_days_left(it->expires_at, r->app->now));
	owners_label(it, owners, sizeof(owners));
	csv_cell(r->reader->name, 0);
	csv_cell(r->reader->tenant, 0);
	csv_cell(it->object_kind, 0);
	csv_cell(it->object_id, 0);
	csv_cell(it->app_id, 0);
	csv_cell(it->display_name, 0);
	csv_cell(it->key_id, 0);
	csv_cell(kind_label(it), 0);
	csv_cell(it->usage, 0);
	csv_cell(it->name, 0);
	csv_cell(it->hint, 0);
	csv_cell(start, 0);
	csv_cell(end, 0);
	csv_cell(days, 0);
	csv_cell(policy_level_name(l), 0);
	csv_cell(owners, 0);
	csv_cell(it->managed ? "yes" : "no", 1);
}

static cJSON *item_json(const struct inv_run *r, const struct inv_item *it,
			enum level l)
{
	cJSON *o = cJSON_CreateObject();
	char t[TIMEFMT_RFC3339_LEN];

	cJSON_AddStringToObject(o, "reader", r->reader->name);
	cJSON_AddStringToObject(o, "tenant", r->reader->tenant);
	cJSON_AddStringToObject(o, "object_kind", it->object_kind);
	cJSON_AddStringToObject(o, "object_id", it->object_id);
	cJSON_AddStringToObject(o, "app_id", it->app_id);
	cJSON_AddStringToObject(o, "app", it->display_name);
	cJSON_AddStringToObject(o, "key_id", it->key_id);
	cJSON_AddStringToObject(o, "kind", secret_kind_name(it->kind));
	cJSON_AddBoolToObject(o, "saml", it->saml);
	cJSON_AddStringToObject(o, "usage", it->usage);
	cJSON_AddStringToObject(o, "name", it->name);
	cJSON_AddStringToObject(o, "hint", it->hint);
	timefmt_rfc3339(it->starts_at, t);
	cJSON_AddStringToObject(o, "starts_at", t);
	timefmt_rfc3339(it->expires_at, t);
	cJSON_AddStringToObject(o, "expires_at", t);
	render_add_int(o, "days_left",
		       timefmt_days_left(it->expires_at, r->app->now));
	cJSON_AddStringToObject(o, "level", policy_level_name(l));
	if (it->owners < 0)
		cJSON_AddNullToObject(o, "owners");
	else
		render_add_int(o, "owners", it->owners);
	cJSON_AddBoolToObject(o, "managed", it->managed);
	cJSON_AddBoolToObject(o, "microsoft", it->microsoft);
	return o;
}

static void print_row(const struct inv_run *r, const struct inv_item *it)
{
	char end[TIMEFMT_RFC3339_LEN], owners[16], app[4 * INV_NAME_MAX + 4],
	    cred[4 * INV_NAME_MAX + 16], name[4 * INV_NAME_MAX + 4];

	timefmt_rfc3339(it->expires_at, end);
	end[10] = '\0';
	owners_label(it, owners, sizeof(owners));
	render_esc(it->display_name, 0, app, sizeof(app));
	render_esc(it->name, 0, name, sizeof(name));
	snprintf(cred, sizeof(cred), "%s%s%s%s", name,
		 name[0] && it->hint[0] ? " " : "", it->hint,
		 it->hint[0] ? "~" : "");
	printf("%5lld  %-10s  %-11s  %-28.28s  %-36s  %-24.24s  %-6s %s%s\n",
	       (long long)timefmt_days_left(it->expires_at, r->app->now), end,
	       kind_label(it), app, it->app_id, cred[0] ? cred : "-", owners,
	       r->reader->name, it->managed ? " (held here)" : "");
}

static int show_item(void *p, const struct inv_item *it)
{
	struct inv_run *r = p;
	enum level l = item_level(it, r->app->now, &r->app->cfg);

	r->worst = r->count == 0 ? l : policy_level_worst(r->worst, l);
	r->count++;
	if (r->csv)
		print_csv(r, it, l);
	else if (r->app->json)
		render_stream_item(item_json(r, it, l), r->first);
	else
		print_row(r, it);
	r->first = 0;
	return 0;
}

/* One reader's rows; a reader never swept whole is unknown. */
static int show_reader(void *p, const struct cred *c)
{
	struct inv_run *r = p;
	struct err e;

	if (!c->sweep)
		return 0;
	r->reader = c;
	r->q.reader_id = c->id;
	if (c->last_sweep_at == 0) {
		fprintf(stderr,
			"secretwatch: %s has not swept its tenant whole yet: "
			"run 'secretwatch sweep %s'\n",
			c->name, c->name);
		r->unswept = 1;
	}
	if (store_inventory_each(r->app->store, &r->q, show_item, r, &e)) {
		r->failed = 1;
		return 1;
	}
	return 0;
}

static void print_head(const struct inv_run *r)
{
	if (r->csv)
		fputs(csv_header, stdout);
	else if (r->app->json)
		fputs("{\"inventory\":[", stdout);
	else
		printf("%5s  %-10s  %-11s  %-28s  %-36s  %-24s  %-6s %s\n",
		       "DAYS", "EXPIRES", "KIND", "APP", "APP ID", "CREDENTIAL",
		       "OWNERS", "READER");
}

int cmd_inventory(struct app *app, int argc, char **argv)
{
	struct inv_run r = {.app = app, .q = {.kind = -1}, .first = 1};
	const char *name = NULL;
	struct cred c;
	struct err e;
	int rc;

	if (parse(app, argc, argv, &r, &name))
		return 3;
	if (app_open(app, APP_READ))
		return 3;
	if (name != NULL && store_cred_get(app->store, name, &c, &e)) {
		app_close(app);
		app_fail_err(app, &e);
		return 3;
	}
	if (name != NULL && !c.sweep) {
		app_close(app);
		app_fail(app,
			 "%s is not a reader of its tenant: make it one "
			 "with 'secretwatch cred set %s --sweep'",
			 name, name);
		return 3;
	}
	print_head(&r);
	rc = name != NULL ? show_reader(&r, &c)
			  : store_cred_each(app->store, show_reader, &r, &e);
	if (app->json && !r.csv)
		fputs("]}\n", stdout);
	app_close(app);
	if (rc || r.failed) {
		app_fail(app, "reading the inventory failed");
		return 3;
	}
	if (r.count == 0)
		r.worst = r.unswept ? LEVEL_UNKNOWN : LEVEL_OK;
	else if (r.unswept)
		r.worst = policy_level_worst(r.worst, LEVEL_UNKNOWN);
	return policy_level_exit(r.worst);
}
