#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "material.h"
#include "registry.h"
#include "render.h"
#include "timefmt.h"
#include "validate.h"
#include "watch.h"

static const char usage[] =
    "usage: secretwatch secret add NAME [--expires WHEN] [--key-id UUID]\n"
    "                              [--note TEXT] [--force] [--activate]\n"
    "       secretwatch secret list [NAME] [--now WHEN]\n"
    "       secretwatch secret retire NAME ID|KEYID\n"
    "\n"
    "add reads the secret's Value from standard input (piped) or asks for\n"
    "it without echo on a terminal; it is never taken from the command\n"
    "line or the environment. It is stored encrypted, as pending, until a\n"
    "test with it succeeds ('secretwatch rotate NAME' or the daemon).\n"
    "A value without the shape of Entra's (40 characters, 'Q~' after the\n"
    "first four) is registered with a warning saying how it differs.\n"
    "  --expires WHEN  YYYY-MM-DD, RFC 3339, or +90d (as shown in Entra);\n"
    "                  without it, the expiry and key ID are read from\n"
    "                  Entra through Microsoft Graph (with a stored secret,\n"
    "                  for a credential with --rotate auto or --graph-url)\n"
    "                  when exactly one of the app's secrets has this hint\n"
    "  --key-id UUID   the secret's ID in Entra (Certificates & secrets)\n"
    "  --note TEXT     a short note, e.g. who created it\n"
    "  --force         accept an expiry in the past\n"
    "  --activate      test it now and make it active on success (exit 2\n"
    "                  when the test fails; it then stays pending)\n"
    "ID is the number shown by 'secretwatch secret list'; KEYID the\n"
    "secret's key ID (the Secret ID the portal shows).\n";

struct add_args {
	const char *name;
	const char *expires;
	const char *key_id;
	const char *note;
	int force;
	int activate;
};

static int parse_add(struct app *app, int argc, char **argv, struct add_args *a)
{
	static const struct option opts[] = {
	    {"expires", required_argument, NULL, 'e'},
	    {"key-id", required_argument, NULL, 'k'},
	    {"note", required_argument, NULL, 'n'},
	    {"force", no_argument, NULL, 'f'},
	    {"activate", no_argument, NULL, 'a'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {0}};
	int opt;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		if (opt == 'e')
			a->expires = optarg;
		else if (opt == 'k')
			a->key_id = optarg;
		else if (opt == 'n')
			a->note = optarg;
		else if (opt == 'f')
			a->force = 1;
		else if (opt == 'a')
			a->activate = 1;
		else if (app_common_opt(app, opt, usage) != 1)
			return 1;
	}
	if (optind != argc - 1)
		return app_bad_args(app);
	a->name = argv[optind];
	return 0;
}

/* Everything that can be checked before the store is touched. */
#define SECRET_EXPIRY_MAX_S (3653LL * 86400)

/* The expiry given or read from Entra: not absurd, not past (--force). */
static int check_expiry(struct app *app, const struct add_args *a,
			const struct secret_info *si)
{
	/* Entra allows two years; ten covers every certificate too. */
	if (si->expires_at > app->now + SECRET_EXPIRY_MAX_S)
		return app_fail(app,
				"--expires '%.40s' is more than 10 years "
				"ahead: give the expiry Entra shows for "
				"the secret",
				a->expires ? a->expires : "(from Entra)");
	if (si->expires_at <= app->now && !a->force) {
		char t[TIMEFMT_RFC3339_LEN];
		timefmt_rfc3339(si->expires_at, t);
		return app_fail(app,
				"expiry %s is in the past: check --expires "
				"(or use --force to register it anyway)",
				t);
	}
	return 0;
}

static int check_add(struct app *app, const struct add_args *a,
		     struct secret_info *si)
{
	struct err e;

	if (validate_name(a->name, &e) ||
	    (a->expires &&
	     timefmt_parse_when(a->expires, app->now, &si->expires_at, &e)) ||
	    (a->key_id && validate_guid(a->key_id, "key ID", &e)) ||
	    (a->note && validate_text(a->note, SECRET_NOTE_MAX, "note", &e)))
		return app_fail_err(app, &e);
	if (a->key_id)
		strcpy(si->key_id, a->key_id);
	if (a->note)
		strcpy(si->note, a->note);
	return a->expires ? check_expiry(app, a, si) : 0;
}

/* The app's secrets read with the new value itself, which also proves
 * it works; while Entra does not take it yet, with a stored one. */
static int read_app(struct app *app, const struct cred *c,
		    const struct vbuf *value, struct watch_sync_report *r,
		    struct err *e)
{
	struct material m;
	struct watch_ctx w;
	char why[DIAG_SUMMARY_MAX];

	app_watch_ctx(app, &w);
	if (material_from_secret(value->p, value->len, 0, &m, e) ||
	    watch_sync_read_with(&w, c, &m, r, e))
		return -1;
	if (r->graph_ok || !r->token_failed)
		return 0;
	snprintf(why, sizeof(why), "%s", r->diag.summary);
	if (watch_sync_read(&w, c, false, r, e) == 0)
		return 0;
	r->graph_ok = false; /* none stored: the new value's failure */
	snprintf(r->diag.summary, sizeof(r->diag.summary), "%s", why);
	return 0;
}

/* No --expires: the expiry (and key ID) of the one passwordCredential in
 * Entra with si's hint (or key ID). */
static int from_entra(struct app *app, const struct cred *c,
		      const struct vbuf *value, struct secret_info *si,
		      struct err *e)
{
	struct watch_sync_report *r = calloc(1, sizeof(*r));
	const struct graph_password *p = NULL;
	char why[ERR_MSG_MAX];
	int rc = -1;

	if (r == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	if (read_app(app, c, value, r, e) == 0 && !r->graph_ok)
		err_set(e, "%s", r->diag.summary);
	else if (r->graph_ok)
		p = si->key_id[0] ? graph_app_by_key(&r->app, si->key_id)
				  : graph_app_by_hint(&r->app, si->hint);
	if (r->graph_ok && p == NULL)
		err_set(e, "%s in Entra has %s client secret with %s %s%s",
			c->name, si->key_id[0] ? "no" : "not exactly one",
			si->key_id[0] ? "key ID" : "hint",
			si->key_id[0] ? si->key_id : si->hint,
			si->key_id[0] ? "" : "~");
	if (p != NULL) {
		si->expires_at = p->end;
		snprintf(si->key_id, sizeof(si->key_id), "%s", p->key_id);
		rc = 0;
	}
	free(r);
	if (rc == 0)
		return 0;
	snprintf(why, sizeof(why), "%s", e->msg);
	err_set(e,
		"secret add needs --expires WHEN (and --key-id UUID), as "
		"Entra shows them under Certificates & secrets: the expiry "
		"cannot be taken from Entra (%.200s)",
		why);
	return -1;
}

static cJSON *added_json(const struct cred *c, const struct secret_info *si,
			 int64_t now)
{
	cJSON *o = render_secret_json(si, now);

	cJSON_AddStringToObject(o, "credential", c->name);
	return o;
}

static int secret_add(struct app *app, int argc, char **argv)
{
	struct add_args a = {0};
	struct secret_info si = {0};
	struct vbuf value = {0};
	struct cred c;
	struct err e;
	char prompt[160];
	int rc = 1;

	if (parse_add(app, argc, argv, &a) || check_add(app, &a, &si))
		return 1;
	if (app_open(app, APP_KEY | (a.activate ? APP_CYCLE : APP_WRITE)))
		return 1;
	if (store_cred_get(app->store, a.name, &c, &e)) {
		app_fail_err(app, &e);
		goto out;
	}
	snprintf(prompt, sizeof(prompt),
		 "Client secret Value for %s (input hidden): ", c.name);
	if (app_read_secret(app, prompt, &value))
		goto out;
	secret_hint(value.p, value.len, si.hint);
	if (a.expires == NULL && !c.rotate_auto && c.graph_url[0] == '\0') {
		app_fail(app, "secret add needs --expires WHEN: the expiry "
			      "shown in Entra under Certificates & secrets");
		goto out;
	}
	if (a.expires == NULL && from_entra(app, &c, &value, &si, &e)) {
		app_fail_err(app, &e);
		goto out;
	}
	if (a.expires == NULL && check_expiry(app, &a, &si))
		goto out;
	if (registry_secret_add(app->store, app->vault, app->now, &c, &si,
				&value, &e)) {
		app_fail_err(app, &e);
		goto out;
	}
	/* Said, not refused: a value cut short would otherwise surface only
	 * as Entra's 7000215 at its first test. */
	if (validate_secret_shape(value.p, value.len, &e))
		logit(LOG_WARNING,
		      "warning: %s (registered anyway: a secret "
		      "made before 2021 may differ)",
		      e.msg);
	vbuf_free(&value);
	if (app->json)
		app_print_json(added_json(&c, &si, app->now));
	else if (a.activate)
		printf("registered secret #%lld (%s~) for %s; testing it now\n",
		       (long long)si.id, si.hint, c.name);
	else
		printf("registered secret #%lld (%s~) for %s as pending: it "
		       "becomes active after a successful test ('secretwatch "
		       "rotate %s', or the daemon's next cycle)\n",
		       (long long)si.id, si.hint, c.name, c.name);
	rc = a.activate ? app_rotate(app, &c, si.id) : 0;
out:
	vbuf_free(&value);
	app_close(app);
	return rc;
}

struct list_ctx {
	struct app *app;
	const struct cred *cred;
	int first;
};

static int list_secret(void *p, const struct secret_info *si)
{
	struct list_ctx *l = p;
	char t[TIMEFMT_RFC3339_LEN];

	if (l->app->json) {
		render_stream_item(added_json(l->cred, si, l->app->now),
				   l->first);
	} else {
		timefmt_rfc3339(si->expires_at, t);
		printf(
		    "%-5lld %-24s %-8s %-4s %-36s %s %5lld  %s\n",
		    (long long)si->id, l->cred->name,
		    secret_state_name(si->state), si->hint,
		    si->key_id[0] ? si->key_id : "-", t,
		    (long long)timefmt_days_left(si->expires_at, l->app->now),
		    si->note);
	}
	l->first = 0;
	return 0;
}

static int list_cred(void *p, const struct cred *c)
{
	struct list_ctx *l = p;
	struct err e;

	l->cred = c;
	return store_secret_each(l->app->store, c->id, list_secret, l, &e);
}

static int secret_list(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"now", required_argument, NULL, OPT_NOW},
	    {0}};
	struct list_ctx l = {.app = app, .first = 1};
	struct cred c;
	struct err e;
	int opt, rc;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (app_common_opt(app, opt, usage) != 1)
			return 1;
	if (optind < argc - 1)
		return app_bad_args(app);
	if (app_open(app, APP_READ))
		return 1;
	if (optind == argc - 1 &&
	    store_cred_get(app->store, argv[optind], &c, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	if (app->json)
		fputs("{\"secrets\":[", stdout);
	else
		printf("%-5s %-24s %-8s %-4s %-36s %-20s %5s  %s\n", "ID",
		       "CREDENTIAL", "STATE", "HINT", "KEY ID", "EXPIRES",
		       "DAYS", "NOTE");
	rc = optind == argc - 1
		 ? list_cred(&l, &c)
		 : store_cred_each(app->store, list_cred, &l, &e);
	if (app->json)
		fputs("]}\n", stdout);
	app_close(app);
	return rc ? app_fail(app, "cannot list secrets") : 0;
}

static int secret_retire(struct app *app, int argc, char **argv)
{
	struct secret_info si;
	struct err e;

	if (app_plain_args(app, argc, argv, usage, 2) ||
	    app_open(app, APP_WRITE))
		return 1;
	if (registry_secret_retire(app->store, app->now, argv[optind],
				   argv[optind + 1], &si, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	printf("retired secret #%lld (%s~) of %s%s\n", (long long)si.id,
	       si.hint, argv[optind],
	       si.state == SECRET_ACTIVE
		   ? "; it was the active one: the credential has no "
		     "active secret now"
		   : "");
	app_close(app);
	return 0;
}

static const struct command secret_commands[] = {
    {"add", secret_add, "register a new secret", ""},
    {"list", secret_list, "list secrets", ""},
    {"retire", secret_retire, "stop using a secret", ""},
};

int cmd_secret(struct app *app, int argc, char **argv)
{
	return app_dispatch(app, secret_commands,
			    sizeof(secret_commands) /
				sizeof(secret_commands[0]),
			    "secret", usage, argc, argv);
}
