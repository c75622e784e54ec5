/* cmd_postfix.c - `secretwatch postfix NAME`: the Postfix configuration
 * that relays through a credential's token file, and checks of the local
 * setup (also part of `doctor` for a credential with a token file). */
#include <cjson/cJSON.h>
#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cloud.h"
#include "num.h"
#include "render.h"
#include "timefmt.h"
#include "tokenfile.h"

#define PLUGIN_DIR	 "/usr/lib/x86_64-linux-gnu/sasl2"
#define PLUGIN_NAME	 "libxoauth2-secretwatch.so"
#define PLUGIN_TOKEN_DIR "/run/secretwatch/tokens" /* its default */
#define POSTCONF	 "/usr/sbin/postconf"
/* The command that adds the token directory to Postfix's environment;
 * %s is the directory. */
#define POSTCONF_SET                                                           \
	"postconf -e \"import_environment = $(postconf -h "                    \
	"import_environment) "                                                 \
	"SECRETWATCH_TOKEN_DIR=%s\""

static const char usage[] =
    "usage: secretwatch postfix NAME [--json]\n"
    "\n"
    "Print the main.cf lines and the password map entry that make Postfix\n"
    "relay through Microsoft 365 with NAME's token file (XOAUTH2, the\n"
    "libxoauth2-secretwatch Cyrus SASL plugin), then check the local setup:\n"
    "the plugin, [tokens] in the config, the token directory and file and\n"
    "their group, and how long the token is valid. A [tokens] dir other\n"
    "than /run/secretwatch/tokens must reach the plugin through Postfix's\n"
    "import_environment: the postconf command is printed, and\n"
    "/usr/sbin/postconf (MAIL_CONFIG: another instance) is asked whether\n"
    "it does. Exit 0 when every check passes, 1 otherwise.\n";

struct checks {
	cJSON *arr; /* NULL: print */
	int problems;
};

static void say(struct checks *ck, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct checks *ck, int ok, const char *fmt, ...)
{
	char line[1024], esc[4 * sizeof(line)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ck->problems += !ok;
	if (ck->arr == NULL) {
		printf("%s %s\n", ok ? "ok:" : "problem:",
		       render_esc(line, 0, esc, sizeof(esc)));
		return;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "ok", ok);
	cJSON_AddStringToObject(o, "detail", line);
	cJSON_AddItemToArray(ck->arr, o);
}

/* The plugin in Cyrus's directory, or in $SASL_PATH when set. */
static void check_plugin(struct checks *ck)
{
	const char *env = getenv("SASL_PATH");
	char dirs[1024], pat[1200], *save = NULL;
	glob_t g;

	snprintf(dirs, sizeof(dirs), "%s", env && *env ? env : PLUGIN_DIR);
	for (char *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		snprintf(pat, sizeof(pat), "%s/" PLUGIN_NAME "*", d);
		if (glob(pat, 0, NULL, &g) == 0) {
			say(ck, 1, "the XOAUTH2 plugin is installed: %s",
			    g.gl_pathv[0]);
			globfree(&g);
			return;
		}
	}
	say(ck, 0,
	    "the XOAUTH2 plugin %s is not in %s: install the "
	    "secretwatch package's plugin (or set SASL_PATH)",
	    PLUGIN_NAME, env && *env ? env : PLUGIN_DIR);
}

/* The group and mode of path (what is). 1 when group gid may read it. */
static int readable_by(struct checks *ck, const char *what, const char *path,
		       gid_t gid, const char *group, mode_t need, int dir)
{
	struct stat st;

	if (lstat(path, &st) != 0 ||
	    (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) {
		say(ck, 0, "the %s %s does not exist: %s", what, path,
		    dir ? "secretwatchd creates it; start it "
			  "(systemctl enable --now secretwatchd)"
			: "start secretwatchd, or run 'secretwatch token "
			  "NAME --file'");
		return 0;
	}
	if (st.st_gid != gid || (st.st_mode & need) != need) {
		say(ck, 0,
		    "the %s %s is mode %04o group %u, not readable by "
		    "group %s: chgrp %s %s; chmod g+%s %s",
		    what, path, (unsigned)(st.st_mode & 07777),
		    (unsigned)st.st_gid, group, group, path, dir ? "rx" : "r",
		    path);
		return 0;
	}
	say(ck, 1, "the %s %s is readable by group %s (mode %04o)", what, path,
	    group, (unsigned)(st.st_mode & 07777));
	return 1;
}

static void check_token(struct app *app, struct checks *ck,
			const struct cred *c)
{
	char until[TIMEFMT_RFC3339_LEN];
	int64_t exp = 0;
	struct err e;

	if (tokenfile_expiry(app->cfg.token_dir, c->name, &exp, &e)) {
		say(ck, 0, "%s", e.msg);
		return;
	}
	if (exp == 0)
		exp = c->token_file_expires_at;
	timefmt_rfc3339(exp, until);
	if (exp == 0)
		say(ck, 1, "the token file holds a token (expiry unknown)");
	else if (exp <= app->now)
		say(ck, 0,
		    "the token expired at %s: start secretwatchd, or "
		    "run 'secretwatch token %s --file'",
		    until, c->name);
	else
		say(ck, 1,
		    "the token is valid for %lld more minutes (until "
		    "%s)",
		    (long long)((exp - app->now) / 60), until);
}

/* The user that writes the token files: the database's owner, as the
 * daemon runs as it. */
static uid_t token_writer(const struct app *app)
{
	struct stat st;

	return stat(app->cfg.database, &st) == 0 ? st.st_uid : geteuid();
}

static void check_files(struct app *app, struct checks *ck,
			const struct cred *c)
{
	const char *dir = app->cfg.token_dir, *group = app->cfg.token_group;
	char path[PATH_MAX + CRED_NAME_MAX + 2];
	struct err e;
	gid_t gid;

	if (tokenfile_group(group, &gid, &e)) {
		say(ck, 0, "%s", e.msg);
		return;
	}
	if (!readable_by(ck, "token directory", dir, gid, group, 0050, 1))
		return;
	if (tokenfile_dir_check(dir, token_writer(app), &e))
		say(ck, 0, "%s", e.msg);
	else
		say(ck, 1,
		    "the token directory %s may be written only by its "
		    "owner",
		    dir);
	snprintf(path, sizeof(path), "%s/%s", dir, c->name);
	if (readable_by(ck, "token file", path, gid, group, 0040, 0))
		check_token(app, ck, c);
}

/* Postfix's import_environment, as postconf reads it (MAIL_CONFIG names
 * another instance), into out; -1 when postconf cannot tell. */
static int postfix_environment(char *out, size_t size)
{
	FILE *p = popen(POSTCONF " -h import_environment 2>/dev/null", "r");
	size_t n;

	if (p == NULL)
		return -1;
	n = fread(out, 1, size - 1, p);
	out[n] = '\0';
	return pclose(p) == 0 && n > 0 ? 0 : -1;
}

/* Whether word is one of the blank- or comma-separated words of list. */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = strstr(list, word); p != NULL;
	     p = strstr(p + 1, word))
		if ((p == list || strchr(" \t\n,", p[-1]) != NULL) &&
		    (p[n] == '\0' || strchr(" \t\n,", p[n]) != NULL))
			return true;
	return false;
}

/* A token directory other than the plugin's default reaches the plugin
 * only as SECRETWATCH_TOKEN_DIR in smtp(8)'s environment: Postfix passes
 * what import_environment names. (Cyrus reads no plugin options for a
 * client such as Postfix's.) */
static void check_token_dir_env(struct checks *ck, const char *dir)
{
	char env[4096], want[PATH_MAX + 32];

	snprintf(want, sizeof(want), "SECRETWATCH_TOKEN_DIR=%s", dir);
	if (postfix_environment(env, sizeof(env)) == 0 && has_word(env, want)) {
		say(ck, 1,
		    "Postfix passes %s to the plugin (import_environment)",
		    want);
		return;
	}
	say(ck, 0,
	    "[tokens] dir is %s, not the plugin's default %s, and Postfix's "
	    "import_environment does not pass it: " POSTCONF_SET
	    "; then postfix stop; postfix start",
	    dir, PLUGIN_TOKEN_DIR, dir);
}

int cli_postfix_checks(struct app *app, const struct cred *c, struct cJSON *arr)
{
	struct checks ck = {arr, 0};

	check_plugin(&ck);
	if (app->cfg.token_dir[0] == '\0') {
		say(&ck, 0, "token files are off: set [tokens] dir = %s in %s",
		    PLUGIN_TOKEN_DIR,
		    app->cfg.path[0] ? app->cfg.path : CONFIG_DEFAULT_PATH);
		return ck.problems;
	}
	if (strcmp(app->cfg.token_dir, PLUGIN_TOKEN_DIR) != 0)
		check_token_dir_env(&ck, app->cfg.token_dir);
	if (!c->token_file)
		say(&ck, 0,
		    "%s has no token file: secretwatch cred set %s "
		    "--token-file",
		    c->name, c->name);
	else
		say(&ck, 1, "%s has a token file", c->name);
	check_files(app, &ck, c);
	return ck.problems;
}

/* host and port of the credential's smtp://HOST:PORT. */
static void smtp_host(const struct cred *c, char *host, size_t size, int *port)
{
	const char *url = cloud_smtp_url(c), *p = strstr(url, "://");
	const char *colon;
	int64_t n = 587;

	p = p ? p + 3 : url;
	colon = strrchr(p, ':');
	/* Validated at cred add; a port that does not parse keeps 587. */
	if (colon != NULL && num_parse_i64(colon + 1, 1, 65535, &n))
		n = 587;
	*port = (int)n;
	snprintf(host, size, "%.*s",
		 (int)(colon ? (size_t)(colon - p) : strcspn(p, "/")), p);
}

/* The one set of lines that docs/USAGE.md and OPERATIONS.md show too (after
 * relayhost), and that tests/e2e/test_postfix.py runs Postfix with.
 * smtp_sasl_security_options is Postfix's default, written out: a relay
 * that used a password has 'noanonymous', which lets PLAIN through. */
static const char *const main_cf[] = {
    "smtp_tls_security_level = encrypt",
    "smtp_sasl_auth_enable = yes",
    "smtp_sasl_mechanism_filter = xoauth2",
    "smtp_sasl_security_options = noplaintext, noanonymous",
    "smtp_sasl_password_maps = texthash:/etc/postfix/sasl_passwd",
    "smtp_sasl_auth_soft_bounce = yes",
};

static void print_config(const struct app *app, const struct cred *c,
			 const char *relay)
{
	printf("# /etc/postfix/main.cf\n");
	printf("relayhost = %s\n", relay);
	for (size_t i = 0; i < sizeof(main_cf) / sizeof(main_cf[0]); i++)
		printf("%s\n", main_cf[i]);
	printf("# Leave smtp_sasl_auth_cache_name unset: it would keep "
	       "refusing\n# after the token is refreshed.\n\n");
	if (app->cfg.token_dir[0] != '\0' &&
	    strcmp(app->cfg.token_dir, PLUGIN_TOKEN_DIR) != 0)
		printf("# [tokens] dir is not the plugin's default %s: pass it "
		       "in Postfix's\n# environment (then: postfix stop; "
		       "postfix start)\n" POSTCONF_SET "\n\n",
		       PLUGIN_TOKEN_DIR, app->cfg.token_dir);
	printf("# /etc/postfix/sasl_passwd (then: postfix reload)\n");
	printf("%s  %s:%s\n\n", relay, c->sender, c->name);
}

static cJSON *config_json(const struct app *app, const struct cred *c,
			  const char *relay)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char entry[PATH_MAX + CRED_MAILBOX_MAX + CRED_NAME_MAX + 600];

	cJSON_AddStringToObject(o, "credential", c->name);
	a = cJSON_AddArrayToObject(o, "main_cf");
	snprintf(entry, sizeof(entry), "relayhost = %s", relay);
	cJSON_AddItemToArray(a, cJSON_CreateString(entry));
	for (size_t i = 0; i < sizeof(main_cf) / sizeof(main_cf[0]); i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(main_cf[i]));
	snprintf(entry, sizeof(entry), "%s  %s:%s", relay, c->sender, c->name);
	cJSON_AddStringToObject(o, "sasl_passwd", entry);
	if (app->cfg.token_dir[0] != '\0' &&
	    strcmp(app->cfg.token_dir, PLUGIN_TOKEN_DIR) != 0) {
		snprintf(entry, sizeof(entry), POSTCONF_SET,
			 app->cfg.token_dir);
		cJSON_AddStringToObject(o, "postconf", entry);
	}
	return o;
}

int cmd_postfix(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {0}};
	char host[CRED_URL_MAX + 1], relay[CRED_URL_MAX + 16];
	cJSON *o = NULL;
	struct cred c;
	struct err e;
	int opt, port, problems;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (app_common_opt(app, opt, usage) != 1)
			return 1;
	if (optind != argc - 1)
		return app_bad_args(app);
	if (app_open(app, APP_READ))
		return 1;
	if (store_cred_get(app->store, argv[optind], &c, &e)) {
		app_close(app);
		return app_fail_err(app, &e);
	}
	app_close(app);
	smtp_host(&c, host, sizeof(host), &port);
	snprintf(relay, sizeof(relay), "[%s]:%d", host, port);
	if (app->json)
		o = config_json(app, &c, relay);
	else
		print_config(app, &c, relay);
	problems = cli_postfix_checks(
	    app, &c, o ? cJSON_AddArrayToObject(o, "checks") : NULL);
	if (o != NULL) {
		cJSON_AddBoolToObject(o, "ok", problems == 0);
		app_print_json(o);
	}
	return problems ? 1 : 0;
}
