#include "cli.h"
#include "num.h"
#include "render.h"
#include "watch.h"

static const char usage[] =
    "usage: secretwatch rotate NAME [--secret ID]\n"
    "\n"
    "Test the newest pending secret of NAME now (or --secret ID) with a\n"
    "token request and an XOAUTH2 test send; on success make it active in\n"
    "one transaction (the old one becomes previous), send the 'switched'\n"
    "alert and run the deploy hook. Exit 0 when switched; on a failed\n"
    "test the diagnosis and exit 2 (the secret stays pending); exit 1 when\n"
    "the secret was retired meanwhile or the deploy hook failed.\n";

/* Shared with 'secret add --activate'. */
int app_rotate(struct app *app, const struct cred *c, int64_t secret_id)
{
	struct watch_report r = {0};
	struct probe_result pr;
	struct watch_ctx w;
	struct err e;
	int rc;

	app_watch_ctx(app, &w);
	rc = watch_rotate(&w, c, secret_id, &pr, &e);
	if (rc < 0 || rc == WATCH_SWITCH_LOST) {
		probe_result_free(&pr);
		return app_fail_err(app, &e);
	}
	if (rc == 0) {
		printf("switched %s: the tested secret is active now\n",
		       c->name);
		if (watch_deliver(&w, &r, &e))
			rc = app_fail_err(app, &e);
		else if (r.deploy_failures > 0)
			rc = app_fail(app,
				      "%s: the deploy hook failed (see "
				      "'secretwatch log %s'); the next "
				      "cycle runs it again",
				      c->name, c->name);
	} else {
		printf("%s: the new secret failed its test and stays pending\n",
		       c->name);
		render_probe_text(&pr, 1, stdout);
		rc = 2;
	}
	probe_result_free(&pr);
	return rc;
}

int cmd_rotate(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"secret", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {0}};
	int64_t id = 0;
	struct cred c;
	struct err e;
	int opt, rc;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 's') {
			if (num_parse_i64(optarg, 1, INT64_MAX, &id))
				return app_fail(app,
						"--secret '%.40s' is not a "
						"secret ID",
						optarg);
		} else if (app_common_opt(app, opt, usage) != 1) {
			return 1;
		}
	}
	if (optind != argc - 1)
		return app_bad_args(app);
	if (app_open(app, APP_KEY | APP_CYCLE))
		return 1;
	if (store_cred_get(app->store, argv[optind], &c, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	rc = app_rotate(app, &c, id);
	app_close(app);
	return rc;
}
