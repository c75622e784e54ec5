/* cli.h - what the secretwatch subcommands share. */
#ifndef SW_CLI_H
#define SW_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "err.h"
#include "probe.h"
#include "store.h"
#include "vault.h"

struct cJSON;

struct app {
	const char *config_opt; /* -c FILE, or NULL */
	struct config cfg;
	int json;
	int64_t now; /* the clock, read once or set with --now */
	struct store *store;
	struct vault *vault;
	struct cyclelock *cycle; /* held with APP_CYCLE */
	int readonly;		 /* the store is open read-only */
	const char *cmd;	 /* "cred add", for messages */
};

/* A subcommand: returns the process exit code. */
typedef int (*cmd_fn)(struct app *app, int argc, char **argv);

struct command {
	const char *name;
	cmd_fn run;
	const char *summary; /* what it does: the usage text lists it */
	const char *args;    /* what follows the name there ("" or NULL) */
};

/* Log MSG as an error (lib/log: "secretwatch: MSG" on stderr); returns 1
 * (the error exit code). */
int app_fail(struct app *app, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int app_fail_err(struct app *app, const struct err *e);

/* Load the config (-c, $SECRETWATCH_CONFIG, /etc, defaults). 0 or -1. */
int app_config(struct app *app);

/* What a command needs of the store; app_open takes an OR of these. */
enum app_need {
	APP_READ = 0,  /* read only: works for a user who may only read the
			* database and has no key */
	APP_KEY = 1,   /* the master key, checked against the database */
	APP_WRITE = 2, /* read-write */
	APP_WRITE_IF_ALLOWED = 4, /* read-write when this user may write the
				   * database, else read only */
	APP_CYCLE = 8, /* read-write, holding the store's cycle lock: one
			* cycle (or switch, or rekey) at a time */
};

/* app_config, then open the existing store as need says; with APP_KEY
 * also load the master key and check it against the database (before any
 * write). With APP_CYCLE, waits (saying so) while another process runs
 * a cycle. */
int app_open(struct app *app, int need);

/* The vault_open flags the config asks for. */
unsigned app_key_flags(const struct app *app);
void app_close(struct app *app);

/* Option parsing shared by subcommands: common long options are --help,
 * --json and --now. Returns the getopt value, -1 at the end, or prints the
 * error and returns '?'. */
#define OPT_HELP 1000
#define OPT_JSON 1001
#define OPT_NOW	 1002
int app_getopt(struct app *app, int argc, char **argv,
	       const struct option *opts);
/* Handle the common options; returns 1 when handled, -1 on a bad value. */
int app_common_opt(struct app *app, int c, const char *usage);

/* The options of a command that takes only --help, and its nargs
 * operands: returns 0 with optind at the first operand, or the exit code
 * after saying what is wrong. */
int app_plain_args(struct app *app, int argc, char **argv, const char *usage,
		   int nargs);

/* A command that failed inside its transaction: roll it back, print e,
 * close the app, and return the exit code 1. */
int app_abort(struct app *app, const struct err *e);

/* Print usage to stdout (--help) and return 0. */
int app_usage(const char *usage);
/* "wrong number of arguments" error with a pointer to --help. */
int app_bad_args(struct app *app);

/* Run a subcommand of a group ("cred", "secret") from its table. */
int app_dispatch(struct app *app, const struct command *table, size_t n,
		 const char *group, const char *usage, int argc, char **argv);

/* Read a secret value from piped stdin or a no-echo terminal prompt into
 * guarded memory, one line, trailing newline removed. */
int app_read_secret(struct app *app, const char *prompt, struct vbuf *ret);

/* Print a cJSON document followed by a newline; frees it. */
void app_print_json(struct cJSON *doc);

struct watch_ctx;
/* A watchdog context over the app's open store, key, config and clock. */
void app_watch_ctx(struct app *app, struct watch_ctx *w);
/* Test pending secret_id (0: the newest) of c and switch on success;
 * prints the outcome. Returns the exit code: 0, 2 failed test, 1 error. */
int app_rotate(struct app *app, const struct cred *c, int64_t secret_id);

struct cred_view;
struct watch_rotation;
struct watch_new_report;
/* Steps a-c of a rotation of v (watch_rotate_new), said: the dry run's
 * Graph calls, in flight elsewhere, Graph's refusal. Returns the exit
 * code: 0 with nr->secret made (or a dry run), 2 refused, 1 error. */
int app_rotate_new(struct app *app, struct watch_ctx *w,
		   const struct cred_view *v, const struct watch_rotation *want,
		   struct watch_new_report *nr);
/* Step d for si, just made: test and switch now, or leave it to the
 * watchdog's retries; said. Returns the exit code. */
int app_rotate_made(struct app *app, struct watch_ctx *w, const char *name,
		    const struct secret_info *si);

/* The probe of test and doctor (cmd_test.c): parse NAME and the
 * options of usage (--token-only: test only), verify the secret, and
 * print the outcome (doctor: every step), or keep it in json with
 * --json. Returns 0 with p filled (finish with cli_probe_end), or the
 * exit code 1 after saying why nothing ran. */
struct cli_probe {
	struct cred c;
	struct secret_info si;
	struct probe_result pr;
	struct cJSON *json; /* with --json: the object to print */
	int rc;		    /* watch_verify's: 0 passed */
};
int cli_probe(struct app *app, int argc, char **argv, const char *usage,
	      bool doctor, struct cli_probe *p);
/* Print p's JSON (when kept), free p; the exit code: 0, or 2 failed. */
int cli_probe_end(struct cli_probe *p);

/* cert new (import 0), cert import (1), or migrate (cmd_cert.c): make or
 * read a key and certificate, store it, and upload it through Graph when
 * asked (migrate: always, then test and switch). Returns the exit code. */
int cli_cert_run(struct app *app, int argc, char **argv, int import,
		 bool migrate);

/* Subcommands. */
int cmd_init(struct app *app, int argc, char **argv);
int cmd_cred(struct app *app, int argc, char **argv);
int cmd_secret(struct app *app, int argc, char **argv);
int cmd_status(struct app *app, int argc, char **argv);
int cmd_log(struct app *app, int argc, char **argv);
int cmd_rekey(struct app *app, int argc, char **argv);
int cmd_check(struct app *app, int argc, char **argv);
int cmd_test(struct app *app, int argc, char **argv);
int cmd_doctor(struct app *app, int argc, char **argv);
int cmd_rotate(struct app *app, int argc, char **argv);
int cmd_token(struct app *app, int argc, char **argv);
int cmd_postfix(struct app *app, int argc, char **argv);
int cmd_sync(struct app *app, int argc, char **argv);
int cmd_cert(struct app *app, int argc, char **argv);
int cmd_migrate(struct app *app, int argc, char **argv);
int cmd_sweep(struct app *app, int argc, char **argv);
int cmd_inventory(struct app *app, int argc, char **argv);

/* The local checks of `secretwatch postfix` for c: printed as "ok:" and
 * "problem:" lines, or added to arr when it is not NULL. Returns the
 * number of problems. */
int cli_postfix_checks(struct app *app, const struct cred *c,
		       struct cJSON *arr);

/* doctor's Graph steps for c (rotate = auto): token for Graph, read and
 * write permission, the app owning itself, the lifetime policy; printed,
 * or added to arr as {step, status, detail, remedy}. Opens and closes
 * the store itself. Returns the number of failed steps. */
int cli_graph_checks(struct app *app, const struct cred *c, struct cJSON *arr);
/* doctor's rows for a reader of its tenant (cmd_sweep.c): its Graph
 * token, Application.Read.All, one page, owners. Returns the number of
 * failed rows. */
int cli_sweep_checks(struct app *app, const struct cred *c, struct cJSON *arr);

#endif
