#include <cjson/cJSON.h>
#include <stdlib.h>

#include "cli.h"
#include "registry.h"

static const char usage[] =
    "usage: secretwatch rekey\n"
    "\n"
    "Make a new master key and re-encrypt every secret and cached token\n"
    "under it in one transaction. The new key is written beside the old\n"
    "one as KEY.new first and moved into place after the commit; if that\n"
    "last step is interrupted, the next command finishes it.\n";

int cmd_rekey(struct app *app, int argc, char **argv)
{
	struct vault *fresh = NULL;
	const char *key_path;
	struct err e;
	int rc = 1;

	if (app_plain_args(app, argc, argv, usage, 0))
		return 1;
	if (getenv("CREDENTIALS_DIRECTORY") != NULL)
		return app_fail(app, "rekey needs the key file itself, not a "
				     "systemd credential: run it outside the "
				     "service, then re-encrypt the credential");
	if (app_open(app, APP_KEY | APP_CYCLE))
		return 1;
	key_path = app->cfg.key_file;
	if (vault_generate(&fresh, &e) || vault_stage(fresh, key_path, &e))
		goto fail;
	if (registry_rekey(app->store, app->vault, fresh, app->now, &e)) {
		vault_unstage(key_path);
		goto fail;
	}
	if (vault_install(key_path, &e))
		goto fail;
	printf("rekeyed %s; new key in %s: back it up, the old one no longer "
	       "opens this database\n",
	       app->cfg.database, key_path);
	rc = 0;
	goto out;
fail:
	app_fail_err(app, &e);
out:
	vault_free(fresh);
	app_close(app);
	return rc;
}
