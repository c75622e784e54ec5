#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "event.h"

static const char usage[] =
    "usage: secretwatch init\n"
    "\n"
    "Create the state directory (0700), the database and the master key\n"
    "file (0600) named in the config. Running it again changes nothing.\n";

/* The key is made only for a database that has none: a database with a
 * key check and no key file needs the old key restored, not a new one. */
static int ensure_key(struct app *app, const char *key_path, int *created,
		      struct err *e)
{
	int present = store_key_present(app->store, e);

	*created = 0;
	if (present < 0)
		return -1;
	if (present && access(key_path, F_OK) != 0) {
		err_set(e,
			"database %s exists but its key file %s is missing: "
			"restore the key file from your backup",
			app->cfg.database, key_path);
		return -1;
	}
	if (getenv("CREDENTIALS_DIRECTORY") != NULL &&
	    access(key_path, F_OK) != 0) {
		err_set(e,
			"%s is missing: create the key with 'secretwatch "
			"init' outside systemd, then pass it with "
			"LoadCredential=",
			key_path);
		return -1;
	}
	return vault_key_create(key_path, created, e);
}

int cmd_init(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, OPT_HELP}, {0}};
	const char *key_path;
	char fixed[1024];
	int c, key_created, kcv_written;
	struct err e;

	while ((c = app_getopt(app, argc, argv, opts)) != -1)
		if (app_common_opt(app, c, usage) != 1)
			return 1;
	if (optind != argc)
		return app_bad_args(app);
	if (app_config(app))
		return 1;
	key_path = vault_key_path(app->cfg.key_file);
	if (store_open(app->cfg.database, STORE_CREATE, &app->store, &e) ||
	    store_tighten_modes(app->cfg.database, fixed, sizeof(fixed), &e) ||
	    ensure_key(app, key_path, &key_created, &e) ||
	    vault_open(key_path, app_key_flags(app), &app->vault, &e) ||
	    store_key_init(app->store, app->vault, &kcv_written, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	if (kcv_written)
		event_add(app->store, app->now, NULL, 0, "init", NULL, &e);
	if (fixed[0] != '\0')
		fprintf(stderr,
			"secretwatch: warning: modes were open to "
			"others, tightened: %s\n",
			fixed);
	printf("%s %s\nkey file %s%s\n",
	       kcv_written ? "initialised" : "already initialised",
	       app->cfg.database, key_path,
	       key_created ? " (created: back it up apart from the database)"
			   : "");
	app_close(app);
	return 0;
}
