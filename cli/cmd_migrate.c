/* cmd_migrate.c - secretwatch migrate: a credential moves from client
 * secrets to a certificate, made and uploaded as 'cert new --upload'
 * makes them, tested and switched to. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "usage: secretwatch migrate NAME --to certificate [--days N]\n"
    "                           [--key rsa2048|rsa3072] [--remove-secrets]\n"
    "\n"
    "Move a credential from client secrets to a certificate: a new key and\n"
    "certificate made here (as 'cert new'), added to the app's\n"
    "keyCredentials through Graph (as 'cert new --upload'), tested with a\n"
    "token request and an XOAUTH2 send, and switched to. With\n"
    "--remove-secrets the app's client secrets are removed from Entra\n"
    "once the grace period ([rotate] grace) has passed since the switch.\n";

int cmd_migrate(struct app *app, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			return 0;
		}
	return cli_cert_run(app, argc, argv, 0, true);
}
