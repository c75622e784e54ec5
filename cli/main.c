/* secretwatch - register, check, test and rotate Microsoft 365 OAuth
 * client secrets. Thin front end: the work is in lib/. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"
#include "timefmt.h"

static const char usage[] =
    "usage: secretwatch [-c FILE] [--json] COMMAND [ARGS...]\n"
    "\n"
    "Watch the client secrets that Microsoft 365 mail depends on.\n"
    "\n"
    "commands:\n"
    "  init                 create the state directory, database and "
    "master key\n"
    "  cred add|set|list|show|rm manage credentials (app + mailbox)\n"
    "  secret add|list|retire manage a credential's client secrets\n"
    "  cert new|import      certificate credentials (key kept here)\n"
    "  migrate NAME         move a credential to a certificate\n"
    "  sync [NAME]          reconcile with the app's secrets in Entra\n"
    "  status [NAME]        expiry levels; exit 0 ok, 1 warning, 2 "
    "critical, 3 unknown\n"
    "  check                one watchdog cycle (warnings, switches, "
    "health)\n"
    "  test NAME            token request and XOAUTH2 test send\n"
    "  rotate NAME [--new]  test the newest pending secret (--new: make one\n"
    "                       through Graph first); switch on "
    "success\n"
    "  token NAME           print an access token (for msmtp "
    "passwordeval)\n"
    "  postfix NAME         Postfix relay configuration and checks\n"
    "  doctor NAME          walk the Microsoft 365 setup steps\n"
    "  log [NAME]           the audit trail\n"
    "  rekey                new master key; re-encrypt everything\n"
    "\n"
    "options:\n"
    "  -c FILE     config file (default $SECRETWATCH_CONFIG, else\n"
    "              /etc/secretwatch/secretwatch.conf, else built-in "
    "defaults)\n"
    "  --json      one JSON document on stdout\n"
    "  --version   print the version\n"
    "  --help      this text; 'secretwatch COMMAND --help' for a "
    "command\n";

static const struct command commands[] = {
    {"init", cmd_init, "create state"},
    {"cred", cmd_cred, "credentials"},
    {"secret", cmd_secret, "secrets"},
    {"status", cmd_status, "expiry levels"},
    {"log", cmd_log, "audit trail"},
    {"rekey", cmd_rekey, "new master key"},
    {"check", cmd_check, "one watchdog cycle"},
    {"test", cmd_test, "test send"},
    {"doctor", cmd_doctor, "walk the setup steps"},
    {"rotate", cmd_rotate, "switch to a new secret"},
    {"token", cmd_token, "print an access token"},
    {"postfix", cmd_postfix, "Postfix relay setup and checks"},
    {"sync", cmd_sync, "reconcile with the secrets in Entra"},
    {"cert", cmd_cert, "certificate credentials"},
    {"migrate", cmd_migrate, "move a credential to a certificate"},
};

/* Global options stop at the first non-option word (the command). */
static int parse_global(struct app *app, int argc, char **argv)
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			app->config_opt = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			app->config_opt = argv[i] + 9;
			i++;
		} else if (strcmp(argv[i], "--json") == 0) {
			app->json = 1;
			i++;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("secretwatch %s\n", SW_VERSION);
			exit(0);
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		} else {
			/* Never what follows '=': it may be a secret. */
			app_fail(app,
				 "option '%.*s' is unknown%s; see "
				 "'secretwatch --help'",
				 (int)strcspn(argv[i], "="), argv[i],
				 strcmp(argv[i], "-c") == 0 ? " without a file"
							    : "");
			return -1;
		}
	}
	return i;
}

int main(int argc, char **argv)
{
	struct app app = {0};
	struct err e;
	int first;

	log_init("secretwatch", stderr);
	umask(077);
	if (vault_process_init(&e))
		return app_fail_err(&app, &e);
	app.now = timefmt_now();
	first = parse_global(&app, argc, argv);
	if (first < 0)
		return 1;
	if (first >= argc) {
		fputs(usage, stderr);
		return 1;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[first], commands[i].name) == 0) {
			app.cmd = commands[i].name;
			return commands[i].run(&app, argc - first,
					       argv + first);
		}
	}
	return app_fail(&app,
			"'%.40s' is not a command; see 'secretwatch "
			"--help'",
			argv[first]);
}
