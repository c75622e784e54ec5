#include "cli.h"
#include "watch.h"

static const char usage[] =
	"usage: secretwatch token NAME\n"
	"\n"
	"Print an access token for NAME's active secret, and nothing else, so\n"
	"mail clients can call it for every message (msmtp: passwordeval\n"
	"\"secretwatch token NAME\", auth xoauth2). Served from the encrypted\n"
	"cache while it is valid for 5 more minutes, else requested from Entra\n"
	"and cached (not cached when this user may only read the database).\n";

int cmd_token(struct app *app, int argc, char **argv)
{
	struct entra_result res;
	struct token_src ts;
	struct net_opts net;
	struct watch_ctx w;
	struct vbuf tok;
	struct cred c;
	struct err e;
	int64_t exp;
	int rc;

	if (app_plain_args(app, argc, argv, usage, 1))
		return 1;
	if (app_open(app, APP_KEY | APP_WRITE_IF_ALLOWED))
		return 1;
	app_watch_ctx(app, &w);
	watch_token_src(&w, &net, &ts);
	ts.no_cache_write = app->readonly;
	rc = store_cred_get(app->store, argv[optind], &c, &e) ||
	     token_get(&ts, &c, &tok, &exp, &res, &e);
	app_close(app);
	if (rc)
		return app_fail_err(app, &e);
	fwrite(tok.p, 1, tok.len, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	vbuf_free(&tok);
	return 0;
}
