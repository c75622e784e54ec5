#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"
#include "policy.h"
#include "render.h"
#include "timefmt.h"

static const char usage[] =
	"usage: secretwatch status [NAME] [--now WHEN] [--json]\n"
	"\n"
	"The level of every credential (or one), from the secret it runs on:\n"
	"the active one, else the newest pending one (not yet tested).\n"
	"  ok        more than level_warning (30d) left\n"
	"  warning   expires within level_warning\n"
	"  critical  expires within level_critical (7d), or its last test "
	"failed\n"
	"  expired   past its expiry\n"
	"  unknown   no secret registered\n"
	"Exit code as a Nagios check: 0 ok, 1 warning, 2 critical or expired,\n"
	"3 unknown (the worst credential counts).\n"
	"  --now WHEN  evaluate at another time (YYYY-MM-DD, RFC 3339, +30d)\n";

struct status_ctx {
	struct app *app;
	enum level worst;
	int count;
};

static cJSON *view_json(const struct cred_view *v, enum level l,
			int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *pending;

	cJSON_AddStringToObject(o, "name", v->cred.name);
	cJSON_AddStringToObject(o, "tenant", v->cred.tenant);
	cJSON_AddStringToObject(o, "client_id", v->cred.client_id);
	cJSON_AddStringToObject(o, "sender", v->cred.sender);
	cJSON_AddStringToObject(o, "level", policy_level_name(l));
	if (v->has_active)
		cJSON_AddItemToObject(o, "active",
				      render_secret_json(&v->active, now));
	else
		cJSON_AddNullToObject(o, "active");
	pending = cJSON_AddArrayToObject(o, "pending");
	for (int i = 0; i < v->npending; i++)
		cJSON_AddItemToArray(pending,
				     render_secret_json(&v->pending[i], now));
	return o;
}

static void print_row(const struct cred_view *v, enum level l, int64_t now)
{
	int untested;
	const struct secret_info *si = policy_secret_in_use(v, &untested);
	char label[64], t[TIMEFMT_RFC3339_LEN];

	if (si == NULL) {
		printf("%-24s %-8s %-26s %-20s %5s  %s\n", v->cred.name,
		       policy_level_name(l), "-", "-", "-",
		       "no secret: secretwatch secret add");
		return;
	}
	render_secret_label(si, label, sizeof(label));
	timefmt_rfc3339(si->expires_at, t);
	printf("%-24s %-8s %-26s %-20s %5lld  %s\n", v->cred.name,
	       policy_level_name(l), label, t,
	       (long long)timefmt_days_left(si->expires_at, now),
	       untested ? "pending, not yet tested"
	       : (si->last_test_at && !si->last_test_ok) ? "last test failed"
							 : "");
}

static int status_one(void *p, const struct cred_view *v)
{
	struct status_ctx *ctx = p;
	enum level l = policy_level(v, ctx->app->now, &ctx->app->cfg);

	ctx->worst = ctx->count ? policy_level_worst(ctx->worst, l) : l;
	if (ctx->app->json)
		render_stream_item(view_json(v, l, ctx->app->now),
				   ctx->count == 0);
	else
		print_row(v, l, ctx->app->now);
	ctx->count++;
	return 0;
}

int cmd_status(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, OPT_HELP},
		{"json", no_argument, NULL, OPT_JSON},
		{"now", required_argument, NULL, OPT_NOW},
		{0}};
	struct status_ctx ctx = {.app = app, .worst = LEVEL_UNKNOWN};
	const char *name = NULL;
	char now[TIMEFMT_RFC3339_LEN];
	struct err e;
	int opt, rc;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (app_common_opt(app, opt, usage) != 1)
			return 3;
	if (optind < argc - 1) {
		app_bad_args(app);
		return 3;
	}
	if (optind == argc - 1)
		name = argv[optind];
	if (app_open(app, APP_READ))
		return 3;
	timefmt_rfc3339(app->now, now);
	if (app->json)
		printf("{\"now\":\"%s\",\"credentials\":[", now);
	else
		printf("%-24s %-8s %-26s %-20s %5s  %s\n", "NAME", "LEVEL",
		       "SECRET", "EXPIRES", "DAYS", "");
	rc = store_view_each(app->store, name, status_one, &ctx, &e);
	if (app->json)
		fputs("]}\n", stdout);
	app_close(app);
	if (rc) {
		app_fail_err(app, &e);
		return 3;
	}
	if (ctx.count == 0 && !app->json)
		printf("no credentials: add one with 'secretwatch cred add'\n");
	return policy_level_exit(ctx.worst);
}
