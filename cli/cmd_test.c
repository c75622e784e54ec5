#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "cli.h"
#include "net.h"
#include "num.h"
#include "policy.h"
#include "render.h"
#include "validate.h"
#include "watch.h"

static const char test_usage[] =
    "usage: secretwatch test NAME [--secret ID] [--to ADDR] [--token-only]"
    " [--json]\n"
    "\n"
    "Get an access token with a stored secret (the active one, else the\n"
    "newest pending one) and send a test message with AUTH XOAUTH2 over\n"
    "STARTTLS. Exit 0 when it worked; on failure the broken setup step\n"
    "and its remedy, exit 2. The outcome goes into the audit trail, but a\n"
    "failure before any server judged the secret (TLS, the network) is\n"
    "this host's and leaves the secret's record as it was. A test does\n"
    "not switch: 'secretwatch rotate NAME' makes a pending secret active.\n"
    "  --secret ID    test this secret (see 'secretwatch secret list')\n"
    "  --to ADDR      recipient (default: the credential's --test-to)\n"
    "  --token-only   stop after the token request (the send is not\n"
    "                 requested)\n";

struct test_args {
	int64_t secret_id;
	const char *to;
	int token_only;
};

static int parse(struct app *app, int argc, char **argv, const char *usage,
		 bool doctor, struct test_args *a)
{
	static const struct option opts[] = {
	    {"secret", required_argument, NULL, 's'},
	    {"to", required_argument, NULL, 't'},
	    {"token-only", no_argument, NULL, 'o'},
	    {"now", required_argument, NULL, OPT_NOW},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {0}};
	struct err e;
	int opt;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 's') {
			if (num_parse_i64(optarg, 1, INT64_MAX, &a->secret_id))
				return app_fail(app,
						"--secret '%.40s' is not a "
						"secret ID: use the ID "
						"column of 'secretwatch "
						"secret list'",
						optarg);
		} else if (opt == 't') {
			if (validate_mailbox(optarg, "--to", &e))
				return app_fail_err(app, &e);
			a->to = optarg;
		} else if (opt == 'o' && !doctor) {
			a->token_only = 1;
		} else if (app_common_opt(app, opt, usage) != 1) {
			return 1;
		}
	}
	if (optind != argc - 1)
		return app_bad_args(app);
	return 0;
}

/* The secret to test: want (a secret ID), else the active one, else the
 * newest pending one. */
static int find_secret(struct app *app, const struct cred *c, int64_t want,
		       struct secret_info *ret, struct err *e)
{
	const struct secret_info *si;
	struct cred_view *v;
	int untested, found;

	if (want != 0) {
		if (store_secret_get(app->store, want, ret, e))
			return -1;
		if (ret->credential_id == c->id)
			return 0;
		err_set(e, "secret #%lld does not belong to %s",
			(long long)want, c->name);
		return -1;
	}
	if (store_view_get(app->store, c->name, &v, e))
		return -1;
	si = policy_secret_in_use(v, &untested);
	found = si != NULL;
	if (found)
		*ret = *si;
	free(v);
	if (found)
		return 0;
	err_set(e,
		"%s has no secret to test: register one with 'secretwatch "
		"secret add %s --expires WHEN'",
		c->name, c->name);
	return -1;
}

/* The progress line of a test on a terminal: after a few seconds of
 * waiting, what is waited for and how much of the budget has gone. */
struct progress {
	struct timespec start;
	long budget_s; /* [watch] test_deadline */
	long shown_s;  /* the second last shown; 0: none yet */
};

#define PROGRESS_AFTER_S 3

static int progress_tick(void *arg, int proto)
{
	struct progress *pg = arg;
	struct timespec now;
	long s;

	clock_gettime(CLOCK_MONOTONIC, &now);
	s = (long)(now.tv_sec - pg->start.tv_sec);
	if (s < PROGRESS_AFTER_S || s == pg->shown_s)
		return 0;
	pg->shown_s = s;
	/* One line, rewritten in place; cleared when the test ends. */
	fprintf(stderr,
		"\rsecretwatch: still waiting for %s (%ld s of %ld s)...\033[K",
		proto == NET_SMTP ? "the SMTP server" : "the token endpoint", s,
		pg->budget_s);
	fflush(stderr);
	return 0;
}

/* Progress only for a person at a terminal: never into a log or pipe. */
static void progress_start(struct app *app, struct watch_ctx *w,
			   struct progress *pg)
{
	if (!isatty(STDERR_FILENO))
		return;
	clock_gettime(CLOCK_MONOTONIC, &pg->start);
	pg->budget_s = (long)app->cfg.test_deadline;
	pg->shown_s = 0;
	w->tick = progress_tick;
	w->tick_arg = pg;
}

static void progress_end(const struct progress *pg)
{
	if (pg->shown_s > 0)
		fputs("\r\033[K", stderr);
}

/* What the outcome means for the secret: a pending one that passed is
 * not active yet; a failure that never reached a server (TLS, network)
 * left its record as it was. */
static void say_after(const struct cred *c, const struct secret_info *si,
		      const struct probe_result *pr)
{
	if (probe_inconclusive(pr))
		printf("\nNothing was recorded against secret #%lld: the test "
		       "stopped before any server judged it (%s), a fault of "
		       "this host's configuration or the network.\n",
		       (long long)si->id, diag_step_name(pr->diag.step));
	else if (pr->ok && si->state == SECRET_PENDING)
		printf(
		    "Secret #%lld is still pending (a test does not switch): "
		    "'secretwatch rotate %s --secret %lld' makes it "
		    "active.\n",
		    (long long)si->id, c->name, (long long)si->id);
}

/* The probe's outcome, printed: every step (all), else the outcome line
 * and the diagnosis; or a JSON object left in p->json for the caller. */
static void say(struct app *app, struct cli_probe *p, bool all,
		const char *what)
{
	if (app->json) {
		p->json = render_probe_json(&p->pr);
		cJSON_AddStringToObject(p->json, "credential", p->c.name);
		cJSON_AddNumberToObject(p->json, "secret_id", (double)p->si.id);
		cJSON_AddStringToObject(p->json, "hint", p->si.hint);
		return;
	}
	printf("%s %s with secret #%lld (%s~): %s\n", what, p->c.name,
	       (long long)p->si.id, p->si.hint,
	       p->pr.ok ? "all steps passed" : "FAILED");
	render_probe_text(&p->pr, all || !p->pr.ok, stdout);
	say_after(&p->c, &p->si, &p->pr);
}

int cli_probe(struct app *app, int argc, char **argv, const char *usage,
	      bool doctor, struct cli_probe *p)
{
	struct test_args a = {0};
	struct progress pg = {0};
	struct watch_ctx w;
	struct err e;

	memset(p, 0, sizeof(*p));
	if (parse(app, argc, argv, usage, doctor, &a) ||
	    app_open(app, APP_KEY | APP_WRITE))
		return 1;
	if (store_cred_get(app->store, argv[optind], &p->c, &e) ||
	    find_secret(app, &p->c, a.secret_id, &p->si, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	app_watch_ctx(app, &w);
	progress_start(app, &w, &pg);
	p->rc = watch_verify(&w, &p->c, &p->si, a.token_only, a.to, &p->pr, &e);
	progress_end(&pg);
	app_close(app);
	if (p->rc < 0) {
		probe_result_free(&p->pr);
		return app_fail_err(app, &e);
	}
	say(app, p, doctor, doctor ? "doctor" : "test");
	return 0;
}

int cli_probe_end(struct cli_probe *p)
{
	if (p->json != NULL)
		app_print_json(p->json);
	probe_result_free(&p->pr);
	return p->rc == 0 ? 0 : 2;
}

int cmd_test(struct app *app, int argc, char **argv)
{
	struct cli_probe p;

	if (cli_probe(app, argc, argv, test_usage, false, &p))
		return 1;
	return cli_probe_end(&p);
}
