#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"
#include "cyclelock.h"
#include "event.h"
#include "log.h"
#include "secmem.h"
#include "timefmt.h"
#include "validate.h"

int app_fail(struct app *app, const char *fmt, ...)
{
	char line[8192];
	va_list ap;

	(void)app;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_line(NULL, LOG_ERR, line);
	return 1;
}

int app_fail_err(struct app *app, const struct err *e)
{
	return app_fail(app, "%s", e->msg);
}

int app_config(struct app *app)
{
	struct err e;

	if (config_read(app->config_opt, &app->cfg, NULL, &e)) {
		app_fail_err(app, &e);
		return -1;
	}
	return 0;
}

/* A rekey that stopped between its commit and the key rename left the
 * new key in "<key>.new": finish it when that key opens the database. */
static int finish_interrupted_rekey(struct app *app, const char *key_path)
{
	char staged[PATH_MAX];
	struct vault *v;
	struct err e;

	if (vault_staged_path(key_path, staged, sizeof(staged)) ||
	    access(staged, F_OK) != 0 ||
	    vault_open(staged, app_key_flags(app), &v, &e))
		return -1;
	if (store_key_check(app->store, v, &e) || vault_install(key_path, &e)) {
		vault_free(v);
		return -1;
	}
	log_notice("finished an interrupted rekey: %s now holds the new key",
		   key_path);
	vault_free(app->vault);
	app->vault = v;
	return 0;
}

unsigned app_key_flags(const struct app *app)
{
	return app->cfg.key_group_read ? VAULT_SHARED : 0;
}

/* Take the cycle lock, waiting (and saying so) while another process
 * holds it. */
static int take_cycle_lock(struct app *app, struct err *e)
{
	int rc = cyclelock_take(app->cfg.database, false, &app->cycle, e);

	if (rc != 1)
		return rc;
	log_notice("waiting for the cycle that another process (secretwatchd "
		   "or another command) is running on %s",
		   app->cfg.database);
	return cyclelock_take(app->cfg.database, true, &app->cycle, e);
}

static enum store_mode store_mode_for(struct app *app, int need)
{
	if (need & (APP_WRITE | APP_CYCLE))
		return STORE_EXISTING;
	if ((need & APP_WRITE_IF_ALLOWED) &&
	    access(app->cfg.database, W_OK) == 0)
		return STORE_EXISTING;
	return STORE_READONLY;
}

int app_open(struct app *app, int need)
{
	enum store_mode mode;
	const char *key_path;
	struct err e;

	if (app_config(app))
		return -1;
	mode = store_mode_for(app, need);
	app->readonly = mode == STORE_READONLY;
	/* The store first: the lock file goes beside a database only once
	 * it is known to be secretwatch's. */
	if (store_open(app->cfg.database, mode, &app->store, &e) ||
	    ((need & APP_CYCLE) && take_cycle_lock(app, &e)))
		goto fail;
	if (!(need & APP_KEY))
		return 0;
	key_path = vault_key_path(app->cfg.key_file);
	if (vault_open(key_path, app_key_flags(app), &app->vault, &e))
		goto fail;
	if (store_key_check(app->store, app->vault, &e) &&
	    (app->readonly || finish_interrupted_rekey(app, key_path)))
		goto fail;
	return 0;
fail:
	app_fail_err(app, &e);
	app_close(app);
	return -1;
}

void app_close(struct app *app)
{
	store_close(app->store);
	app->store = NULL;
	vault_free(app->vault);
	app->vault = NULL;
	cyclelock_release(app->cycle);
	app->cycle = NULL;
}

int app_usage(const char *usage)
{
	fputs(usage, stdout);
	return 0;
}

int app_bad_args(struct app *app)
{
	return app_fail(app, "%s: wrong arguments; see 'secretwatch %s --help'",
			app->cmd, app->cmd);
}

/* An option that would carry a secret value: asked for by people used to
 * tools that take one on the command line. */
static bool value_option(const char *name, size_t len)
{
	static const char *const names[] = {"--value", "--secret-value",
					    "--client-secret", "--password"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len &&
		    strncmp(name, names[i], len) == 0)
			return true;
	return false;
}

/* An unknown long option, named without what follows '=': that may be
 * a secret typed as --value=... */
static void unknown_long(struct app *app, const char *arg)
{
	size_t len = strcspn(arg, "=");

	if (value_option(arg, len))
		app_fail(app,
			 "%s: secret values are never taken from the command "
			 "line (ps and the shell history would show them): "
			 "pipe the Value on standard input or paste it at the "
			 "hidden prompt",
			 app->cmd);
	else
		app_fail(app,
			 "%s: option '%.*s' is unknown or lacks its value; see "
			 "'secretwatch %s --help'",
			 app->cmd, (int)(len > 64 ? 64 : len), arg, app->cmd);
}

int app_getopt(struct app *app, int argc, char **argv,
	       const struct option *opts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, "", opts, NULL);
	if (c == '?') {
		if (optopt != 0)
			app_fail(app,
				 "%s: option '-%c' is unknown; see "
				 "'secretwatch %s --help'",
				 app->cmd, optopt, app->cmd);
		else
			unknown_long(app, argv[optind - 1]);
	} else if (c == ':') {
		app_fail(app, "%s: option '%s' needs a value", app->cmd,
			 argv[optind - 1]);
		c = '?';
	}
	return c;
}

int app_plain_args(struct app *app, int argc, char **argv, const char *usage,
		   int nargs)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, OPT_HELP}, {0}};
	int opt;

	while ((opt = app_getopt(app, argc, argv, opts)) != -1)
		if (app_common_opt(app, opt, usage) != 1)
			return 1;
	if (optind != argc - nargs)
		return app_bad_args(app);
	return 0;
}

int app_abort(struct app *app, const struct err *e)
{
	store_rollback(app->store);
	app_fail_err(app, e);
	app_close(app);
	return 1;
}

int app_common_opt(struct app *app, int c, const char *usage)
{
	struct err e;

	switch (c) {
	case OPT_HELP:
		app_usage(usage);
		exit(0);
	case OPT_JSON:
		app->json = 1;
		return 1;
	case OPT_NOW:
		if (timefmt_parse_when(optarg, timefmt_now(), &app->now, &e)) {
			app_fail(app, "--now: %s", e.msg);
			return -1;
		}
		return 1;
	default:
		return 0;
	}
}

/* "the cred commands: add (add a credential), ..." from the table. */
static const char *known(const struct command *table, size_t n,
			 const char *group)
{
	static char out[512];
	size_t off =
	    (size_t)snprintf(out, sizeof(out), "the %s commands:", group);

	for (size_t i = 0; i < n && off < sizeof(out); i++)
		off += (size_t)snprintf(out + off, sizeof(out) - off,
					"%s %s (%s)", i ? "," : "",
					table[i].name, table[i].summary);
	return out;
}

int app_dispatch(struct app *app, const struct command *table, size_t n,
		 const char *group, const char *usage, int argc, char **argv)
{
	static char cmd[64];

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		if (argc < 2) {
			fputs(usage, stderr);
			return 1;
		}
		return app_usage(usage);
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(argv[1], table[i].name) != 0)
			continue;
		snprintf(cmd, sizeof(cmd), "%s %s", group, table[i].name);
		app->cmd = cmd;
		return table[i].run(app, argc - 1, argv + 1);
	}
	return app_fail(app, "'%s %.40s' is not a command; %s", group, argv[1],
			known(table, n, group));
}

/* Read one line of at most max bytes from fd into b (guarded). */
static int read_line(int fd, size_t max, struct vbuf *b, int *ret_too_long)
{
	size_t n = 0;
	char c;

	*ret_too_long = 0;
	if (vbuf_alloc(b, max + 1))
		return -1;
	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n == max + 1) {
			*ret_too_long = 1;
			continue; /* drain the line, keep nothing more */
		}
		b->p[n++] = c;
	}
	if (n > 0 && b->p[n - 1] == '\r')
		n--;
	b->len = n;
	b->p[n] = '\0';
	if (n > max)
		*ret_too_long = 1;
	c = 0;
	return 0;
}

static int read_from_tty(const char *prompt, struct vbuf *b, int *too_long)
{
	struct termios old, quiet;
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	if (tcgetattr(fd, &old) != 0) {
		close(fd);
		return -1;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
	quiet.c_lflag |= ICANON;
	dprintf(fd, "%s", prompt);
	tcsetattr(fd, TCSAFLUSH, &quiet);
	rc = read_line(fd, SECRET_VALUE_MAX, b, too_long);
	tcsetattr(fd, TCSAFLUSH, &old);
	dprintf(fd, "\n");
	close(fd);
	return rc;
}

/* 1 when fd holds more than blank lines after the line read: a second
 * value piped by mistake, which would otherwise be dropped unseen. */
static int more_lines(int fd)
{
	char buf[256];
	ssize_t r;

	for (int reads = 0; reads < 64; reads++) {
		r = read(fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return 0;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' &&
			    buf[i] != '\t')
				return 1;
	}
	return 1;
}

/* Blanks around a pasted value are the paste's, not the secret's: Entra
 * makes values of letters, digits and ~._- only. */
static void trim_blanks(struct vbuf *b)
{
	size_t start = 0, n = b->len;

	while (start < n && (b->p[start] == ' ' || b->p[start] == '\t'))
		start++;
	while (n > start && (b->p[n - 1] == ' ' || b->p[n - 1] == '\t'))
		n--;
	memmove(b->p, b->p + start, n - start);
	secmem_wipe(b->p + (n - start), b->len - (n - start));
	b->len = n - start;
	b->p[b->len] = '\0';
}

int app_read_secret(struct app *app, const char *prompt, struct vbuf *ret)
{
	int too_long, rc, extra = 0;
	struct err e;

	if (isatty(STDIN_FILENO)) {
		rc = read_from_tty(prompt, ret, &too_long);
	} else {
		rc = read_line(STDIN_FILENO, SECRET_VALUE_MAX, ret, &too_long);
		extra = rc == 0 && more_lines(STDIN_FILENO);
	}
	if (rc != 0)
		return app_fail(app, "cannot read the secret: pipe it on "
				     "standard input or run on a terminal");
	trim_blanks(ret);
	if (extra)
		err_set(&e, "standard input holds more than one line: pipe "
			    "only the client secret's Value, on one line");
	else if (too_long)
		err_set(&e,
			"the secret is over the %d-byte limit: paste "
			"only the client secret's Value",
			SECRET_VALUE_MAX);
	if (extra || too_long || validate_secret_value(ret->p, ret->len, &e)) {
		vbuf_free(ret);
		return app_fail_err(app, &e);
	}
	return 0;
}

void app_print_json(cJSON *doc)
{
	char *s = cJSON_PrintUnformatted(doc);

	if (s != NULL) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	cJSON_Delete(doc);
}
