#include <cjson/cJSON.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "policy.h"
#include "timefmt.h"
#include "watch.h"

static const char usage[] =
    "usage: secretwatch check [--now WHEN] [--dry-run|--force] [--json]\n"
    "\n"
    "Run one watchdog cycle, exactly as secretwatchd does on each tick:\n"
    "warn about secrets crossing a warn_days threshold (once each), test\n"
    "and switch to newly registered secrets, check active secrets every\n"
    "test_active_every, deliver owed alerts, write the metrics file.\n"
    "Exit 0 when the cycle ran (see 'status' for levels), 1 on error.\n"
    "  --now WHEN  plan the cycle as if it were WHEN; a WHEN in the future\n"
    "              is a dry run (\"what if\"), unless --force\n"
    "  --dry-run   say what is due; change and send nothing\n"
    "  --force     with a future --now, act as if it were WHEN: send the\n"
    "              alerts, record the steps and mark the warnings done,\n"
    "              dated then (for drills and tests)\n"
    "After the cycle, [alerts] heartbeat_url is called (its /fail when\n"
    "the cycle failed), except in a dry run.\n";

void app_watch_ctx(struct app *app, struct watch_ctx *w)
{
	/* A person is waiting: retry throttling and 5xx for seconds, not a
	 * minute; the daemon keeps the longer default. */
	static const struct entra_retry interactive = {
	    3, 500L, 5000L, 10000L, NULL, NULL, 0L};

	memset(w, 0, sizeof(*w));
	w->retry = &interactive;
	w->store = app->store;
	w->vault = app->vault;
	w->cfg = &app->cfg;
	w->now = app->now;
	w->log = log_line;
}

static cJSON *report_json(const struct watch_report *r, int64_t now)
{
	cJSON *o = cJSON_CreateObject(), *lv;
	char t[TIMEFMT_RFC3339_LEN];

	timefmt_rfc3339(now, t);
	cJSON_AddStringToObject(o, "now", t);
	cJSON_AddNumberToObject(o, "credentials", r->credentials);
	lv = cJSON_AddObjectToObject(o, "levels");
	for (int l = LEVEL_OK; l <= LEVEL_UNKNOWN; l++)
		cJSON_AddNumberToObject(lv, policy_level_name((enum level)l),
					r->levels[l]);
	cJSON_AddNumberToObject(o, "warnings", r->warnings);
	cJSON_AddNumberToObject(o, "switches", r->switches);
	cJSON_AddNumberToObject(o, "switch_retries", r->switch_retries);
	cJSON_AddNumberToObject(o, "switch_failures", r->switch_failures);
	cJSON_AddNumberToObject(o, "health_checks", r->health_checks);
	cJSON_AddNumberToObject(o, "health_failures", r->health_failures);
	cJSON_AddNumberToObject(o, "delivered", r->delivered);
	cJSON_AddNumberToObject(o, "delivery_failures", r->delivery_failures);
	timefmt_rfc3339(r->next_wake, t);
	cJSON_AddStringToObject(o, "next_check", t);
	return o;
}

/* The dead man's switch: a failure to reach it is said, never fatal. */
static void heartbeat(struct app *app, bool failed)
{
	struct err e;

	if (watch_heartbeat(&app->cfg, failed, NULL, &e))
		log_warnx("%s", e.msg);
}

/* A --now ahead of the clock by more than this is "what if". */
#define FUTURE_SLACK 60

int cmd_check(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"now", required_argument, NULL, OPT_NOW},
	    {0}};
	struct watch_report r;
	struct watch_ctx w;
	char line[512];
	struct err e;
	int opt, dry = 0, force = 0, rc;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 'n' || opt == 'f')
			*(opt == 'n' ? &dry : &force) = 1;
		else if (app_common_opt(app, opt, usage) != 1)
			return 1;
	}
	if (optind != argc || (dry && force))
		return app_bad_args(app);
	if (!force && app->now > timefmt_now() + FUTURE_SLACK) {
		dry = 1;
		if (!app->json)
			printf(
			    "--now is in the future: a dry run (--force acts "
			    "as if it were then)\n");
	}
	/* A dry run decrypts nothing and writes nothing: a user who may
	 * only read the database (no key) can run it. */
	if (app_open(app, dry ? APP_READ : APP_KEY | APP_CYCLE))
		return 1;
	app_watch_ctx(app, &w);
	w.dry_run = dry;
	rc = watch_cycle(&w, &r, &e);
	app_close(app);
	if (!dry)
		heartbeat(app, rc != 0);
	if (rc)
		return app_fail_err(app, &e);
	if (app->json) {
		app_print_json(report_json(&r, app->now));
		return 0;
	}
	watch_report_line(&r, line, sizeof(line));
	printf("%s%s\n", dry ? "dry run: " : "", line);
	return 0;
}
