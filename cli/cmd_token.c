#include <stdlib.h>

#include "cli.h"
#include "policy.h"
#include "timefmt.h"
#include "tokenfile.h"
#include "watch.h"

static const char usage[] =
    "usage: secretwatch token NAME [--file]\n"
    "\n"
    "Print an access token for NAME's active secret, and nothing else, so\n"
    "mail clients can call it for every message (msmtp: passwordeval\n"
    "\"secretwatch token NAME\", auth xoauth2). Served from the encrypted\n"
    "cache while it is valid for 5 more minutes, else requested from Entra\n"
    "and cached (not cached when this user may only read the database).\n"
    "\n"
    "  --file   write NAME's token file in [tokens] dir instead (a token\n"
    "           valid for 10 more minutes), once: for a timer where\n"
    "           secretwatchd does not run. NAME must have a token file\n"
    "           (secretwatch cred set NAME --token-file).\n";

/* Remember what the file holds, as the daemon does (when allowed). */
static void record_file(struct app *app, const struct cred *c, int64_t exp)
{
	struct cred_view *v;
	struct err e;

	if (app->readonly || store_view_get(app->store, c->name, &v, &e))
		return;
	if (v->has_active)
		store_cred_token_file(app->store, c->id, v->active.id, exp, 0,
				      &e);
	free(v);
}

/* --file: the token into the token file, never on stdout. */
static int write_file(struct app *app, const struct cred *c,
		      const struct vbuf *tok, int64_t exp, struct err *e)
{
	char until[TIMEFMT_RFC3339_LEN];
	gid_t gid;

	if (tokenfile_group(app->cfg.token_group, &gid, e) ||
	    tokenfile_write(app->cfg.token_dir, c->name, tok->p, tok->len, gid,
			    e))
		return -1;
	record_file(app, c, exp);
	timefmt_rfc3339(exp, until);
	printf("wrote %s/%s, valid until %s\n", app->cfg.token_dir, c->name,
	       until);
	return 0;
}

static int check_file(struct app *app, const struct cred *c, struct err *e)
{
	if (app->cfg.token_dir[0] == '\0') {
		err_set(e, "token files are off: set [tokens] dir in %s",
			app->cfg.path[0] ? app->cfg.path : CONFIG_DEFAULT_PATH);
		return -1;
	}
	if (!c->token_file) {
		err_set(e,
			"%s has no token file: enable it with 'secretwatch "
			"cred set %s --token-file'",
			c->name, c->name);
		return -1;
	}
	return 0;
}

int cmd_token(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"file", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {0}};
	struct entra_result res;
	struct token_src ts;
	struct net_opts net;
	struct watch_ctx w;
	struct vbuf tok;
	struct cred c;
	struct err e;
	int64_t exp;
	int opt, rc, file = 0;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (opt == 'f')
			file = 1;
		else if (app_common_opt(app, opt, usage) != 1)
			return 1;
	if (optind != argc - 1)
		return app_bad_args(app);
	if (app_open(app, APP_KEY | APP_WRITE_IF_ALLOWED))
		return 1;
	app_watch_ctx(app, &w);
	watch_token_src(&w, &net, &ts);
	ts.no_cache_write = app->readonly;
	ts.min_valid = file ? POLICY_TOKEN_REFRESH : 0;
	rc = store_cred_get(app->store, argv[optind], &c, &e) ||
	     (file && check_file(app, &c, &e)) ||
	     token_get(&ts, &c, &tok, &exp, &res, &e);
	if (rc == 0 && file) {
		rc = write_file(app, &c, &tok, exp, &e);
		vbuf_free(&tok);
	}
	app_close(app);
	if (rc)
		return app_fail_err(app, &e);
	if (file)
		return 0;
	fwrite(tok.p, 1, tok.len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	vbuf_free(&tok);
	return 0;
}
