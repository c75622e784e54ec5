/* secretwatch - register, check, test and rotate Microsoft 365 OAuth
 * client secrets. Thin front end: the work is in lib/. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "log.h"
#include "timefmt.h"

/* The commands, in the order --help lists them: what follows the name,
 * and what it does. */
static const struct command commands[] = {
    {"init", cmd_init, "create the state directory, database and master key",
     ""},
    {"cred", cmd_cred, "manage credentials (app + mailbox)",
     "add|set|list|show|rm"},
    {"secret", cmd_secret, "manage a credential's client secrets",
     "add|list|retire"},
    {"cert", cmd_cert, "certificate credentials (key kept here)", "new|import"},
    {"migrate", cmd_migrate, "move a credential to a certificate", "NAME"},
    {"sync", cmd_sync, "reconcile with the app's secrets in Entra", "[NAME]"},
    {"sweep", cmd_sweep, "read every app credential of a reader's tenant",
     "[NAME]"},
    {"inventory", cmd_inventory,
     "the tenants' app credentials, soonest expiry first", "[NAME]"},
    {"status", cmd_status,
     "expiry levels; exit 0 ok, 1 warning, 2 critical, 3 unknown", "[NAME]"},
    {"check", cmd_check, "one watchdog cycle (warnings, switches, health)", ""},
    {"test", cmd_test, "token request and XOAUTH2 test send", "NAME"},
    {"rotate", cmd_rotate,
     "test the newest pending secret and switch on success (--new: make "
     "one through Graph first)",
     "NAME [--new]"},
    {"token", cmd_token, "print an access token (for msmtp passwordeval)",
     "NAME"},
    {"postfix", cmd_postfix, "Postfix relay configuration and checks", "NAME"},
    {"doctor", cmd_doctor, "walk the Microsoft 365 setup steps", "NAME"},
    {"log", cmd_log, "the audit trail", "[NAME]"},
    {"rekey", cmd_rekey, "new master key; re-encrypt everything", ""},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* "  left     summary", the summary wrapped at 78 columns. */
static void usage_line(FILE *f, const char *left, const char *summary)
{
	const char *p = summary;
	int col = fprintf(f, "  %-21s", left);

	if (col > 23) {
		fputs("\n", f);
		col = fprintf(f, "%23s", "");
	}
	while (*p != '\0') {
		size_t w = strcspn(p, " ");
		if (col + 1 + (int)w > 78 && col > 23)
			col = fprintf(f, "\n%23s", "") - 1;
		col += fprintf(f, " %.*s", (int)w, p);
		p += w + (p[w] == ' ');
	}
	fputs("\n", f);
}

static void usage(FILE *f)
{
	char left[40];

	fputs("usage: secretwatch [-c FILE] [--json] COMMAND [ARGS...]\n\n"
	      "Watch the client secrets that Microsoft 365 mail depends on.\n"
	      "\ncommands:\n",
	      f);
	for (size_t i = 0; i < NCOMMANDS; i++) {
		snprintf(left, sizeof(left), "%s %s", commands[i].name,
			 commands[i].args);
		usage_line(f, left, commands[i].summary);
	}
	fputs("\noptions:\n"
	      "  -c FILE     config file (default $SECRETWATCH_CONFIG, else\n"
	      "              /etc/secretwatch/secretwatch.conf, else built-in "
	      "defaults)\n"
	      "  --json      one JSON document on stdout\n"
	      "  --version   print the version\n"
	      "  --help      this text; 'secretwatch COMMAND --help' for a "
	      "command\n",
	      f);
}

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
			usage(stdout);
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
		usage(stderr);
		return 1;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
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
