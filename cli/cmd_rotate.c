#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cloud.h"
#include "num.h"
#include "render.h"
#include "timefmt.h"
#include "watch.h"

static const char usage[] =
    "usage: secretwatch rotate NAME [--secret ID]\n"
    "       secretwatch rotate NAME --new [--dry-run]\n"
    "\n"
    "Test the newest pending secret of NAME now (or --secret ID) with a\n"
    "token request and an XOAUTH2 test send; on success make it active in\n"
    "one transaction (the old one becomes previous), send the 'switched'\n"
    "alert and run the deploy hook. Exit 0 when switched; on a failed\n"
    "test the diagnosis and exit 2 (the secret stays pending); exit 1 when\n"
    "the secret was retired meanwhile or the deploy hook failed.\n"
    "\n"
    "--new makes the new material first, of the active one's kind, through\n"
    "Microsoft Graph: a rotation intent is recorded; a client secret is\n"
    "made with addPassword (the app needs Application.ReadWrite.OwnedBy and\n"
    "must own itself), a certificate here and added with addKey and a\n"
    "proof signed by the active certificate (no permission needed); with\n"
    "the [rotate] display_name and lifetime. It is stored pending, then\n"
    "tested and switched to as above. Entra takes seconds to minutes to\n"
    "accept new material: when the first test fails, the watchdog retries\n"
    "it soon (5 s, then doubling). --dry-run says which Graph calls would\n"
    "be made. Exit 2 when Graph refused (with the diagnosis).\n";

/* The outcome, with the secret it is about. */
static void say_switched(struct app *app, const struct cred *c)
{
	struct cred_view *v = NULL;
	struct err e;

	if (store_view_get(app->store, c->name, &v, &e) == 0 && v->has_active)
		printf("switched %s to %s #%lld (%s~): it passed a token "
		       "request and %s\n",
		       c->name, secret_kind_noun(v->active.kind),
		       (long long)v->active.id, v->active.hint,
		       cred_reads_only(c) ? "may read the tenant"
					  : "an XOAUTH2 test send");
	else
		printf("switched %s: the tested secret is active now\n",
		       c->name);
	free(v);
}

/* Shared with 'secret add --activate'. */
int app_rotate(struct app *app, const struct cred *c, int64_t secret_id)
{
	struct watch_report r = {0};
	struct probe_result pr;
	struct watch_ctx w;
	struct err e;
	int rc;

	app_watch_ctx(app, &w);
	rc = watch_switch_now(&w, c, secret_id, &pr, &e);
	if (rc < 0 || rc == WATCH_SWITCH_LOST) {
		probe_result_free(&pr);
		return app_fail_err(app, &e);
	}
	if (rc == 0) {
		say_switched(app, c);
		if (watch_deliver(&w, &r, &e))
			rc = app_fail_err(app, &e);
		else if (r.deploy_failures > 0)
			rc = app_fail(app,
				      "%s: the deploy hook failed (see "
				      "'secretwatch log %s'); the next "
				      "cycle runs it again",
				      c->name, c->name);
	} else {
		printf("%s: the %s failed its test and stays pending\n",
		       c->name, secret_kind_noun(pr.kind));
		render_probe_text(&pr, 1, stdout);
		rc = 2;
	}
	probe_result_free(&pr);
	return rc;
}

static void say_dry(const struct cred_view *v,
		    const struct watch_new_report *nr)
{
	char end[TIMEFMT_RFC3339_LEN];
	const char *g = cloud_graph_url(&v->cred);
	const char *noun = secret_kind_noun(nr->kind);

	timefmt_rfc3339(nr->end, end);
	printf("dry run: %s would make a new %s\n", v->cred.name, noun);
	if (strcmp(nr->add_call, "addKey") != 0)
		printf("  GET %s/v1.0/applications(appId='%s')\n", g,
		       v->cred.client_id);
	if (nr->recover)
		printf("  remove from Entra what the interrupted rotation "
		       "left\n");
	if (nr->kind == SECRET_KIND_CERTIFICATE)
		printf("  make an RSA key and a certificate here\n");
	printf("  %s %s/v1.0/applications/{id}%s%s {\"displayName\": "
	       "\"%s #N\", \"endDateTime\": \"%s\"}\n"
	       "  store it pending, test it (token request and XOAUTH2 test "
	       "send) and switch to it\n",
	       strncmp(nr->add_call, "PATCH", 5) == 0 ? "PATCH" : "POST", g,
	       strncmp(nr->add_call, "PATCH", 5) == 0 ? "" : "/",
	       strncmp(nr->add_call, "PATCH", 5) == 0 ? "" : nr->add_call,
	       nr->display_name, end);
}

int app_rotate_made(struct app *app, struct watch_ctx *w, const char *name,
		    const struct secret_info *si)
{
	struct watch_report r = {0};
	struct probe_result pr;
	struct err e;
	int rc = watch_rotate_switch(w, name, si->id, &pr, &r, &e);

	if (rc != 1)
		probe_result_free(&pr);
	if (rc < 0 || rc == WATCH_SWITCH_LOST)
		return app_fail_err(app, &e);
	if (rc == 1) {
		printf(
		    "%s: the new %s failed its test and stays pending; Entra "
		    "can take minutes to accept new material, and the "
		    "watchdog tests it again in seconds and switches when it "
		    "passes\n",
		    name, secret_kind_noun(si->kind));
		render_probe_text(&pr, 1, stdout);
		probe_result_free(&pr);
		return 2;
	}
	printf("switched %s: the new %s is active now\n", name,
	       secret_kind_noun(si->kind));
	if (watch_deliver(w, &r, &e))
		return app_fail_err(app, &e);
	if (r.deploy_failures > 0)
		return app_fail(app,
				"%s: the deploy hook failed (see 'secretwatch "
				"log %s'); the next cycle runs it again",
				name, name);
	return 0;
}

int app_rotate_new(struct app *app, struct watch_ctx *w,
		   const struct cred_view *v, const struct watch_rotation *want,
		   struct watch_new_report *nr)
{
	struct watch_report r = {0};
	struct err e;
	int rc = watch_rotate_new(w, v, want, nr, &r, &e);

	if (rc < 0)
		return app_fail_err(app, &e);
	if (w->dry_run) {
		say_dry(v, nr);
		return 0;
	}
	if (rc == 1 && nr->in_flight)
		return app_fail(app,
				"a rotation of %s is in flight in another "
				"process",
				v->cred.name);
	if (rc == 1 && nr->recover && !nr->graph_failed) {
		printf("%s: an interrupted rotation was finished: what it made "
		       "is in use\n",
		       v->cred.name);
		return 0;
	}
	if (rc == 1) {
		if (nr->graph_failed)
			printf("%s: Microsoft Graph refused: %s\n%s\n",
			       v->cred.name, nr->diag.summary, nr->diag.remedy);
		return 2;
	}
	return 0;
}

static int rotate_new(struct app *app, const char *name, bool dry)
{
	char end[TIMEFMT_RFC3339_LEN];
	struct watch_rotation want;
	struct watch_new_report nr;
	struct cred_view *v;
	struct watch_ctx w;
	struct err e;
	int rc;

	if (store_view_get(app->store, name, &v, &e))
		return app_fail_err(app, &e);
	app_watch_ctx(app, &w);
	w.dry_run = dry;
	watch_rotation_of(v, &want);
	rc = app_rotate_new(app, &w, v, &want, &nr);
	if (rc == 0 && !dry && nr.reused) {
		printf("%s: the %s %s~ (key %s) a rotation made earlier still "
		       "waits for its switch: testing it now instead of making "
		       "another\n",
		       name, secret_kind_noun(nr.kind), nr.secret.hint,
		       nr.secret.key_id);
		rc = app_rotate_made(app, &w, name, &nr.secret);
	} else if (rc == 0 && !dry) {
		timefmt_rfc3339(nr.secret.expires_at, end);
		printf("made %s %s~ (key %s, expires %s) in Entra as '%s'\n",
		       secret_kind_noun(nr.kind), nr.secret.hint,
		       nr.secret.key_id, end, nr.display_name);
		rc = app_rotate_made(app, &w, name, &nr.secret);
	}
	free(v);
	return rc;
}

int cmd_rotate(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"secret", required_argument, NULL, 's'},
	    {"new", no_argument, NULL, 'N'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {0}};
	int64_t id = 0;
	struct cred c;
	struct err e;
	int opt, rc, new_secret = 0, dry = 0;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 'N' || opt == 'n') {
			*(opt == 'N' ? &new_secret : &dry) = 1;
		} else if (opt == 's') {
			if (num_parse_i64(optarg, 1, INT64_MAX, &id))
				return app_fail(app,
						"--secret '%.40s' is not a "
						"secret ID",
						optarg);
		} else if (app_common_opt(app, opt, usage) != 1) {
			return 1;
		}
	}
	if (optind != argc - 1 || (dry && !new_secret) || (new_secret && id))
		return app_bad_args(app);
	if (app_open(app, APP_KEY | (dry ? APP_READ : APP_CYCLE)))
		return 1;
	if (new_secret) {
		rc = rotate_new(app, argv[optind], dry);
		app_close(app);
		return rc;
	}
	if (store_cred_get(app->store, argv[optind], &c, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	rc = app_rotate(app, &c, id);
	app_close(app);
	return rc;
}
