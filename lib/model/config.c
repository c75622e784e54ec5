#include "config.h"
#include "exclude.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ini.h"
#include "num.h"
#include "path.h"
#include "timefmt.h"
#include "validate.h"

/* Section and key names are short; longer ones are no typo of ours. */
#define CONFIG_NAME_MAX 32

struct parse_ctx {
	struct config *cfg;
	char dir[PATH_MAX]; /* the config file's directory, for paths */
	struct err *e;
	unsigned char seen[48]; /* keys[i] already given */
	bool url_open;		/* the last webhook_url line named a webhook */
};

typedef int (*key_fn)(struct parse_ctx *ctx, const char *value, void *field);

struct key_spec {
	const char *section;
	const char *key;
	key_fn parse;
	size_t offset;
};

static int set_string(char *dst, size_t size, const char *value,
		      struct parse_ctx *ctx)
{
	if (strlen(value) >= size) {
		err_set(ctx->e, "value too long");
		return -1;
	}
	strcpy(dst, value);
	return 0;
}

static int key_path(struct parse_ctx *ctx, const char *value, void *field)
{
	char buf[PATH_MAX];

	if (value[0] == '\0' || value[0] == '/')
		return set_string(field, PATH_MAX, value, ctx);
	if (snprintf(buf, sizeof(buf), "%s/%s", ctx->dir, value) >=
	    (int)sizeof(buf)) {
		err_set(ctx->e, "path too long");
		return -1;
	}
	return set_string(field, PATH_MAX, buf, ctx);
}

/* A CA bundle that is not there would fail every TLS connection as if
 * the server were at fault: refused when the file is read. Only a file
 * known to be missing or a directory is refused here, so that a user who
 * may not read it (a monitoring user's status) still loads the config. */
static int key_ca_file(struct parse_ctx *ctx, const char *value, void *field)
{
	const char *path = field;
	struct stat st;

	if (key_path(ctx, value, field) != 0)
		return -1;
	if (path[0] == '\0')
		return 0;
	if (stat(path, &st) != 0) {
		if (errno != ENOENT && errno != ENOTDIR)
			return 0;
		err_set(ctx->e,
			"%s: no such file; name the PEM file of the CA "
			"certificates to trust, or remove the line to trust "
			"the system's",
			path);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		err_set(ctx->e,
			"%s is a directory; name the PEM file of the CA "
			"certificates to trust",
			path);
		return -1;
	}
	return 0;
}

static int key_bool(struct parse_ctx *ctx, const char *value, void *field)
{
	if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
		*(int *)field = strcmp(value, "yes") == 0;
		return 0;
	}
	err_set(ctx->e, "'%s' is not yes or no", value);
	return -1;
}

static int key_duration(struct parse_ctx *ctx, const char *value, void *field)
{
	return timefmt_parse_duration(value, field, ctx->e);
}

static int key_concurrency(struct parse_ctx *ctx, const char *value,
			   void *field)
{
	if (num_parse_i64(value, 1, 64, field) == 0)
		return 0;
	err_set(ctx->e, "'%s' is not a number from 1 to 64", value);
	return -1;
}

static int key_deadline(struct parse_ctx *ctx, const char *value, void *field)
{
	if (timefmt_parse_duration(value, field, ctx->e) != 0)
		return -1;
	if (*(int64_t *)field <= 3600)
		return 0;
	err_set(ctx->e, "'%s' is longer than 1h", value);
	return -1;
}

static int key_hook_url(struct parse_ctx *ctx, const char *value, void *field)
{
	if (value[0] != '\0' &&
	    validate_hook_url(value, CONFIG_URL_MAX, "the URL", ctx->e))
		return -1;
	return set_string(field, CONFIG_URL_MAX + 1, value, ctx);
}

/* One more webhook (the one key that may repeat); "" adds none. */
static int key_webhook_url(struct parse_ctx *ctx, const char *value,
			   void *field)
{
	struct config *cfg = ctx->cfg;
	struct config_webhook *wh;

	(void)field;
	ctx->url_open = false;
	if (value[0] == '\0')
		return 0;
	if (cfg->nwebhooks == CONFIG_WEBHOOK_MAX) {
		err_set(ctx->e, "more than %d webhooks", CONFIG_WEBHOOK_MAX);
		return -1;
	}
	wh = &cfg->webhooks[cfg->nwebhooks];
	if (key_hook_url(ctx, value, wh->url))
		return -1;
	wh->format = WEBHOOK_JSON;
	wh->format_given = false;
	cfg->nwebhooks++;
	ctx->url_open = true;
	return 0;
}

/* The format of the webhook_url on a line above. */
static int key_webhook_format(struct parse_ctx *ctx, const char *value,
			      void *field)
{
	static const char *const names[] = {
	    [WEBHOOK_JSON] = "json",
	    [WEBHOOK_SLACK] = "slack",
	    [WEBHOOK_TEAMS] = "teams",
	};
	struct config_webhook *wh;

	(void)field;
	if (!ctx->url_open) {
		err_set(ctx->e, "comes before any webhook_url: put it after "
				"the webhook_url it is for");
		return -1;
	}
	wh = &ctx->cfg->webhooks[ctx->cfg->nwebhooks - 1];
	if (wh->format_given) {
		err_set(ctx->e, "given twice for one webhook_url; keep one");
		return -1;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(value, names[i]) == 0) {
			wh->format = (enum webhook_format)i;
			wh->format_given = true;
			return 0;
		}
	err_set(ctx->e, "'%s' is not json, slack or teams", value);
	return -1;
}

/* "a@x, b@y": every item a mailbox. */
static int key_mailboxes(struct parse_ctx *ctx, const char *value, void *field)
{
	char buf[CONFIG_LIST_MAX], *save = NULL;

	if (set_string(buf, sizeof(buf), value, ctx))
		return -1;
	for (char *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		for (char *end = tok + strlen(tok);
		     end > tok && (end[-1] == ' ' || end[-1] == '\t');)
			*--end = '\0';
		if (validate_mailbox(tok, "address", ctx->e))
			return -1;
	}
	return set_string(field, CONFIG_LIST_MAX, value, ctx);
}

static int cmp_desc(const void *a, const void *b)
{
	return *(const int *)b - *(const int *)a;
}

/* A list of day counts into days (descending, no repeats), *ret_n set. */
static int parse_days(struct parse_ctx *ctx, const char *value, int *days,
		      int *ret_n)
{
	char buf[256], *save = NULL;
	int n = 0, zero = 0;

	if (set_string(buf, sizeof(buf), value, ctx))
		return -1;
	for (char *tok = strtok_r(buf, ", \t", &save); tok;
	     tok = strtok_r(NULL, ", \t", &save)) {
		int64_t d;
		if (num_parse_i64(tok, 0, 3650, &d) ||
		    n == CONFIG_WARN_DAYS_MAX) {
			err_set(ctx->e,
				"'%s' is not a list of up to %d day counts "
				"0-3650, such as 30,14,7,3,1",
				value, CONFIG_WARN_DAYS_MAX);
			return -1;
		}
		/* 0, the expiry itself, is always a step: listed or not. */
		if (d > 0)
			days[n++] = (int)d;
		else
			zero = 1;
	}
	if (n == 0 && !zero) {
		err_set(ctx->e,
			"'%s' holds no day count: list some, such as "
			"30,14,7,3,1",
			value);
		return -1;
	}
	qsort(days, (size_t)n, sizeof(int), cmp_desc);
	for (int i = 1; i < n; i++) {
		if (days[i] == days[i - 1]) {
			err_set(ctx->e, "day %d is listed twice", days[i]);
			return -1;
		}
	}
	*ret_n = n;
	return 0;
}

static int key_warn_days(struct parse_ctx *ctx, const char *value, void *field)
{
	(void)field;
	return parse_days(ctx, value, ctx->cfg->warn_days,
			  &ctx->cfg->nwarn_days);
}

static int key_sweep_days(struct parse_ctx *ctx, const char *value, void *field)
{
	(void)field;
	return parse_days(ctx, value, ctx->cfg->sweep_warn_days,
			  &ctx->cfg->nsweep_warn_days);
}

static int key_exclude(struct parse_ctx *ctx, const char *value, void *field)
{
	if (exclude_check(value, ctx->e))
		return -1;
	return set_string(field, CONFIG_LIST_MAX, value, ctx);
}

/* A group name as getgrnam takes it; whether it exists is checked when
 * a token file is written. */
static int key_group(struct parse_ctx *ctx, const char *value, void *field)
{
	size_t n = strlen(value);

	if (n == 0 || n >= CONFIG_GROUP_MAX ||
	    strspn(value, "abcdefghijklmnopqrstuvwxyz"
			  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != n ||
	    value[0] == '-') {
		err_set(ctx->e, "'%s' is not a group name, such as postfix",
			value);
		return -1;
	}
	return set_string(field, CONFIG_GROUP_MAX, value, ctx);
}

/* A secret's description in Entra: printable, without quotes or
 * backslashes (it goes into a JSON body and the audit trail as is). */
static int key_display_name(struct parse_ctx *ctx, const char *value,
			    void *field)
{
	for (const char *p = value; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == '"' || *p == '\\') {
			err_set(ctx->e, "control characters, quotes and "
					"backslashes are not allowed");
			return -1;
		}
	}
	if (value[0] == '\0') {
		err_set(ctx->e, "empty; give a description such as "
				"'secretwatch {date}'");
		return -1;
	}
	return set_string(field, CONFIG_DISPLAY_NAME_MAX + 1, value, ctx);
}

#define F(name) offsetof(struct config, name)
static const struct key_spec keys[] = {
    {"store", "database", key_path, F(database)},
    {"store", "key_file", key_path, F(key_file)},
    {"store", "key_group_read", key_bool, F(key_group_read)},
    {"watch", "interval", key_duration, F(interval)},
    {"watch", "warn_days", key_warn_days, 0},
    {"watch", "level_warning", key_duration, F(level_warning)},
    {"watch", "level_critical", key_duration, F(level_critical)},
    {"watch", "test_active_every", key_duration, F(test_active_every)},
    {"watch", "switch_retry", key_duration, F(switch_retry)},
    {"watch", "switch_window", key_duration, F(switch_window)},
    {"watch", "health_concurrency", key_concurrency, F(health_concurrency)},
    {"watch", "test_deadline", key_deadline, F(test_deadline)},
    {"alerts", "email_to", key_mailboxes, F(email_to)},
    {"alerts", "webhook_url", key_webhook_url, 0},
    {"alerts", "webhook_format", key_webhook_format, 0},
    {"alerts", "heartbeat_url", key_hook_url, F(heartbeat_url)},
    {"alerts", "exec", key_path, F(alert_exec)},
    {"tls", "ca_file", key_ca_file, F(ca_file)},
    {"metrics", "textfile", key_path, F(metrics_textfile)},
    {"deploy", "hook", key_path, F(deploy_hook)},
    {"tokens", "dir", key_path, F(token_dir)},
    {"tokens", "group", key_group, F(token_group)},
    {"rotate", "before", key_duration, F(rotate_before)},
    {"rotate", "lifetime", key_duration, F(rotate_lifetime)},
    {"rotate", "grace", key_duration, F(rotate_grace)},
    {"rotate", "display_name", key_display_name, F(rotate_display_name)},
    {"sweep", "interval", key_duration, F(sweep_interval)},
    {"sweep", "warn_days", key_sweep_days, 0},
    {"sweep", "notify_owners", key_bool, F(sweep_notify_owners)},
    {"sweep", "exclude", key_exclude, F(sweep_exclude)},
    {"sweep", "include_microsoft", key_bool, F(sweep_include_microsoft)},
    {"sweep", "metrics_per_credential", key_bool,
     F(sweep_metrics_per_credential)},
};
#undef F

_Static_assert(sizeof(keys) / sizeof(keys[0]) <=
		   sizeof(((struct parse_ctx *)0)->seen),
	       "parse_ctx.seen holds a flag per key");

/* The edit distance of a and b (short names), for "did you mean". */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CONFIG_NAME_MAX + 1];

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0], up;
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = a[i - 1] == b[j - 1] ? diag : 1 + diag;
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

/* The known section (section == NULL) or key of section nearest to
 * name, when it is near enough to be a typo of it; else NULL. */
static const char *nearest(const char *section, const char *name)
{
	const char *best = NULL;
	size_t best_d = 3; /* two edits at most */

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *cand = keys[i].key;
		size_t d;
		if (section == NULL)
			cand = keys[i].section;
		else if (strcmp(keys[i].section, section) != 0)
			continue;
		d = distance(name, cand);
		/* "email" for email_to, "alert" for alerts: a name cut short
		 * is as near as one typo. */
		if (strlen(name) >= 3 &&
		    (strncmp(name, cand, strlen(name)) == 0 ||
		     strncmp(cand, name, strlen(cand)) == 0))
			d = 1;
		if (d < best_d) {
			best_d = d;
			best = cand;
		}
	}
	return best;
}

static bool known_section(const char *section)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0)
			return true;
	return false;
}

/* A key the table does not have: its section is a typo, or the key is. */
static void unknown_key(const char *section, const char *name, struct err *e)
{
	const char *near;

	if (!known_section(section)) {
		near = nearest(NULL, section);
		if (near != NULL)
			err_set(e, "unknown section [%s]; did you mean [%s]?",
				section, near);
		else
			err_set(e,
				"unknown section [%s]; see secretwatch.conf(5) "
				"for the sections",
				section);
		return;
	}
	near = nearest(section, name);
	if (near != NULL)
		err_set(e, "[%s] %s: unknown key; did you mean %s?", section,
			name, near);
	else
		err_set(e,
			"[%s] %s: unknown key; see secretwatch.conf(5) for the "
			"keys",
			section, name);
}

static int on_key(void *arg, const char *section, const char *name,
		  const char *value, struct err *e)
{
	struct parse_ctx *ctx = arg;

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].key, name) != 0)
			continue;
		/* Webhooks repeat; a format repeats with them (and checks
		 * itself that each has one at most). */
		if (ctx->seen[i] && keys[i].parse != key_webhook_url &&
		    keys[i].parse != key_webhook_format) {
			err_set(e, "[%s] %s: given twice; keep one", section,
				name);
			return -1;
		}
		ctx->seen[i] = 1;
		if (keys[i].parse(ctx, value,
				  (char *)ctx->cfg + keys[i].offset) == 0)
			return 0;
		err_prefix(e, "[%s] %s", section, name);
		return -1;
	}
	unknown_key(section, name, e);
	return -1;
}

void config_defaults(struct config *cfg)
{
	static const int warn[] = {30, 14, 7, 3, 1};

	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->database, CONFIG_DEFAULT_DATABASE);
	strcpy(cfg->key_file, CONFIG_DEFAULT_KEY_FILE);
	cfg->interval = 3600;
	memcpy(cfg->warn_days, warn, sizeof(warn));
	cfg->nwarn_days = 5;
	cfg->level_warning = 30 * 86400;
	cfg->level_critical = 7 * 86400;
	cfg->test_active_every = 24 * 3600;
	cfg->switch_retry = 120;
	cfg->switch_window = 30 * 60;
	cfg->health_concurrency = 8;
	cfg->test_deadline = 90;
	strcpy(cfg->token_group, CONFIG_DEFAULT_TOKEN_GROUP);
	cfg->rotate_before = 30 * 86400;
	cfg->rotate_lifetime = 180 * 86400;
	cfg->rotate_grace = 7 * 86400;
	strcpy(cfg->rotate_display_name, "secretwatch {date}");
	cfg->sweep_interval = 86400;
}

const int *config_sweep_days(const struct config *cfg, int *ret_n)
{
	if (cfg->nsweep_warn_days > 0) {
		*ret_n = cfg->nsweep_warn_days;
		return cfg->sweep_warn_days;
	}
	*ret_n = cfg->nwarn_days;
	return cfg->warn_days;
}

void config_choose(const char *explicit_path, const char **ret_path,
		   int *ret_required)
{
	const char *env = getenv("SECRETWATCH_CONFIG");

	*ret_required = 1;
	if (explicit_path != NULL) {
		*ret_path = explicit_path;
	} else if (env != NULL && env[0] != '\0') {
		*ret_path = env;
	} else {
		*ret_required = 0;
		*ret_path = access(CONFIG_DEFAULT_PATH, F_OK) == 0
				? CONFIG_DEFAULT_PATH
				: NULL;
	}
}

static int check_levels(const struct config *cfg, struct err *e)
{
	if (cfg->rotate_lifetime <= cfg->rotate_before) {
		err_set(e,
			"%s: [rotate] lifetime is not longer than before: a "
			"new secret would be due again at once",
			cfg->path);
		return -1;
	}
	if (cfg->level_critical > cfg->level_warning) {
		err_set(e,
			"%s: [watch] level_critical is longer than "
			"level_warning: make it shorter",
			cfg->path);
		return -1;
	}
	return 0;
}

/* The config file, opened for reading; a directory or a FIFO is refused
 * (reading either would give an empty config or hang). */
static FILE *open_config(const char *path, struct err *e)
{
	struct stat st;
	FILE *f;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err_set(e,
			"cannot read config %s: %s; give an existing file "
			"with -c or SECRETWATCH_CONFIG",
			path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e,
			"config %s is not a regular file; give the "
			"config file itself with -c or SECRETWATCH_CONFIG",
			path);
		close(fd);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (f == NULL) {
		err_set(e, "cannot read config %s: %s", path, strerror(errno));
		close(fd);
	}
	return f;
}

int config_load(const char *path, struct config *cfg, struct err *e)
{
	struct parse_ctx ctx = {.cfg = cfg, .e = e};
	FILE *f;
	int line;

	config_defaults(cfg);
	if (path == NULL)
		return 0;
	if (strlen(path) >= sizeof(cfg->path)) {
		err_set(e, "config path too long");
		return -1;
	}
	strcpy(cfg->path, path);
	path_dir(path, ctx.dir, sizeof(ctx.dir));
	f = open_config(path, e);
	if (f == NULL)
		return -1;
	line = ini_read(f, on_key, &ctx, e);
	fclose(f);
	if (line > 0) {
		err_prefix(e, "%s:%d", path, line);
		return -1;
	}
	return check_levels(cfg, e);
}

int config_read(const char *explicit_path, struct config *cfg,
		const char **ret_path, struct err *e)
{
	const char *path;
	int required;

	config_choose(explicit_path, &path, &required);
	if (ret_path != NULL)
		*ret_path = path;
	return config_load(path, cfg, e);
}
