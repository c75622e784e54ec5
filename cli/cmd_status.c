#include <cjson/cJSON.h>
#include <stdlib.h>
#include <unistd.h>

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
    "A readable master key that does not open the database is critical:\n"
    "the daemon cannot decrypt any secret with it.\n"
    "A credential with --rotate auto gets a line 'rotate: auto, next\n"
    "rotation WHEN' (JSON: \"rotate\" and \"next_rotation\").\n"
    "Exit code as a Nagios check: 0 ok, 1 warning, 2 critical or expired,\n"
    "3 unknown (the worst credential counts).\n"
    "  --now WHEN  evaluate at another time (YYYY-MM-DD, RFC 3339, +30d)\n";

/* The master key, when this user may read it, must open the database:
 * a key that does not leaves the daemon unable to decrypt any secret,
 * whatever the dates say. A staged key that opens it is an interrupted
 * rekey, which the next command that writes finishes. Returns 1 with
 * msg filled when the key does not match, else 0 (an unreadable key is
 * not this command's to judge). */
static int key_mismatch(struct app *app, char *msg, size_t size)
{
	const char *path = vault_key_path(app->cfg.key_file);
	char staged[PATH_MAX];
	struct vault *v = NULL;
	struct err e;
	int bad;

	if (access(path, R_OK) != 0 ||
	    vault_open(path, app_key_flags(app), &v, &e))
		return 0;
	bad = store_key_check(app->store, v, &e) != 0;
	vault_free(v);
	v = NULL;
	if (bad && vault_staged_path(path, staged, sizeof(staged)) == 0 &&
	    access(staged, R_OK) == 0 &&
	    vault_open(staged, app_key_flags(app), &v, &e) == 0) {
		bad = store_key_check(app->store, v, &e) != 0;
		vault_free(v);
	}
	if (bad)
		snprintf(msg, size,
			 "the master key does not match: the daemon cannot "
			 "decrypt (%s is not the key of %s)",
			 path, app->cfg.database);
	return bad;
}

struct status_ctx {
	struct app *app;
	enum level worst;
	int count;
};

/* When v is next rotated through Graph, or "" (manual, or no active
 * secret); a time already past means at the next cycle. */
static void next_rotation(const struct cred_view *v, const struct config *cfg,
			  char *out)
{
	int64_t at = policy_next_rotation(v, cfg);

	out[0] = '\0';
	if (at != 0)
		timefmt_rfc3339(at, out);
}

static cJSON *view_json(const struct cred_view *v, enum level l, int64_t now,
			const struct config *cfg)
{
	cJSON *o = cJSON_CreateObject(), *pending;
	char next[TIMEFMT_RFC3339_LEN];

	cJSON_AddStringToObject(o, "name", v->cred.name);
	cJSON_AddStringToObject(o, "tenant", v->cred.tenant);
	cJSON_AddStringToObject(o, "client_id", v->cred.client_id);
	cJSON_AddStringToObject(o, "sender", v->cred.sender);
	cJSON_AddStringToObject(o, "level", policy_level_name(l));
	cJSON_AddStringToObject(o, "rotate",
				v->cred.rotate_auto ? "auto" : "manual");
	next_rotation(v, cfg, next);
	if (next[0])
		cJSON_AddStringToObject(o, "next_rotation", next);
	else
		cJSON_AddNullToObject(o, "next_rotation");
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

/* What the last column says about the secret in use: whether it runs
 * untested, and when it was last tested with what outcome. */
static void test_note(const struct secret_info *si, int untested, char *out,
		      size_t size)
{
	char t[TIMEFMT_RFC3339_LEN];

	if (si->last_test_at == 0) {
		snprintf(out, size, "%s",
			 untested ? "pending, not yet tested" : "");
		return;
	}
	timefmt_rfc3339(si->last_test_at, t);
	snprintf(out, size, "%s%s %s", untested ? "pending, " : "",
		 si->last_test_ok ? "tested and passed" : "last test failed",
		 t);
}

/* Under the row of a credential with --rotate auto: when it rotates. */
static void print_rotation(const struct cred_view *v, const struct config *cfg)
{
	char next[TIMEFMT_RFC3339_LEN];

	if (!v->cred.rotate_auto)
		return;
	next_rotation(v, cfg, next);
	printf("%-24s rotate: auto, next rotation %s\n", "",
	       next[0] ? next : "when a secret is active");
}

static void print_row(const struct cred_view *v, enum level l, int64_t now,
		      const struct config *cfg)
{
	int untested;
	const struct secret_info *si = policy_secret_in_use(v, &untested);
	char label[64], t[TIMEFMT_RFC3339_LEN], note[96];

	if (si == NULL) {
		printf("%-24s %-8s %-26s %-20s %5s  %s\n", v->cred.name,
		       policy_level_name(l), "-", "-", "-",
		       "no secret: secretwatch secret add");
		print_rotation(v, cfg);
		return;
	}
	render_secret_label(si, label, sizeof(label));
	timefmt_rfc3339(si->expires_at, t);
	test_note(si, untested, note, sizeof(note));
	printf("%-24s %-8s %-26s %-20s %5lld  %s\n", v->cred.name,
	       policy_level_name(l), label, t,
	       (long long)timefmt_days_left(si->expires_at, now), note);
	print_rotation(v, cfg);
}

static int status_one(void *p, const struct cred_view *v)
{
	struct status_ctx *ctx = p;
	enum level l = policy_level(v, ctx->app->now, &ctx->app->cfg);

	ctx->worst = ctx->count ? policy_level_worst(ctx->worst, l) : l;
	if (ctx->app->json) {
		render_stream_item(
		    view_json(v, l, ctx->app->now, &ctx->app->cfg),
		    ctx->count == 0);
	} else {
		/* With the first row: a NAME that is not there gets its
		 * error alone. */
		if (ctx->count == 0)
			printf("%-24s %-8s %-26s %-20s %5s  %s\n", "NAME",
			       "LEVEL", "SECRET", "EXPIRES", "DAYS",
			       "LAST TEST");
		print_row(v, l, ctx->app->now, &ctx->app->cfg);
	}
	ctx->count++;
	return 0;
}

/* The end of the document: "problems" lists what is wrong beyond the
 * credentials' own levels ([] when nothing is). */
static void print_problems_json(const char *key_msg)
{
	cJSON *a = cJSON_CreateArray(), *o;
	char *text;

	if (key_msg != NULL && (o = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(o, "level", "critical");
		cJSON_AddStringToObject(o, "message", key_msg);
		cJSON_AddItemToArray(a, o);
	}
	text = cJSON_PrintUnformatted(a);
	printf("],\"problems\":%s}\n", text != NULL ? text : "[]");
	cJSON_free(text);
	cJSON_Delete(a);
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
	char key_msg[PATH_MAX * 2 + 96];
	struct err e;
	int opt, rc, key_bad;

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
	key_bad = key_mismatch(app, key_msg, sizeof(key_msg));
	timefmt_rfc3339(app->now, now);
	if (app->json)
		printf("{\"now\":\"%s\",\"credentials\":[", now);
	rc = store_view_each(app->store, name, status_one, &ctx, &e);
	if (app->json)
		print_problems_json(key_bad ? key_msg : NULL);
	app_close(app);
	if (rc) {
		app_fail_err(app, &e);
		return 3;
	}
	if (ctx.count == 0 && !app->json)
		printf("no credentials: add one with 'secretwatch cred add'\n");
	if (!key_bad)
		return policy_level_exit(ctx.worst);
	if (!app->json)
		printf("critical: %s\n", key_msg);
	return policy_level_exit(policy_level_worst(ctx.worst, LEVEL_CRITICAL));
}
