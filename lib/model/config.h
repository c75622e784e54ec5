/* config.h - the INI configuration file (docs/CONFIGURATION.md). */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define CONFIG_DEFAULT_PATH	   "/etc/secretwatch/secretwatch.conf"
#define CONFIG_DEFAULT_DATABASE	   "/var/lib/secretwatch/secretwatch.db"
#define CONFIG_DEFAULT_KEY_FILE	   "/var/lib/secretwatch/master.key"
#define CONFIG_WARN_DAYS_MAX	   16
#define CONFIG_LIST_MAX		   1024
#define CONFIG_GROUP_MAX	   64
#define CONFIG_DEFAULT_TOKEN_GROUP "postfix"
#define CONFIG_URL_MAX		   4096 /* webhook and heartbeat URLs */
#define CONFIG_WEBHOOK_MAX	   8	/* webhook_url lines in [alerts] */
#define CONFIG_DISPLAY_NAME_MAX	   120	/* [rotate] display_name */

/* What a webhook receiver is sent (webhook_format). */
enum webhook_format {
	WEBHOOK_JSON,  /* the alert's fields (alert_webhook_body) */
	WEBHOOK_SLACK, /* {"text": ...} */
	WEBHOOK_TEAMS, /* an Adaptive Card message (Teams Workflows) */
};

struct config_webhook {
	char url[CONFIG_URL_MAX + 1];
	enum webhook_format format;
	bool format_given; /* a webhook_format line named it */
};

struct config {
	char path[PATH_MAX]; /* the file read, "" for built-in defaults */
	char database[PATH_MAX];
	char key_file[PATH_MAX];
	int key_group_read; /* the key file may be shared with a group */
	int64_t interval;
	int warn_days[CONFIG_WARN_DAYS_MAX]; /* descending, no repeats */
	int nwarn_days;
	int64_t level_warning;
	int64_t level_critical;
	int64_t test_active_every;
	int64_t switch_retry;
	int64_t switch_window;
	int64_t health_concurrency; /* health checks run at once, 1-64 */
	int64_t test_deadline;	    /* seconds for one whole test, 1 s - 1 h */
	char email_to[CONFIG_LIST_MAX]; /* comma-separated mailboxes */
	/* [alerts] webhook_url, in file order, each with the
	 * webhook_format given on a line after it. */
	struct config_webhook webhooks[CONFIG_WEBHOOK_MAX];
	int nwebhooks;
	char heartbeat_url[CONFIG_URL_MAX + 1]; /* "" for none */
	char alert_exec[PATH_MAX];
	char ca_file[PATH_MAX];
	char metrics_textfile[PATH_MAX];
	char deploy_hook[PATH_MAX];
	char token_dir[PATH_MAX]; /* [tokens] dir; "" = no token files */
	char token_group[CONFIG_GROUP_MAX]; /* [tokens] group */
	/* [rotate]: automatic rotation through Graph (credentials with
	 * rotate = auto). before: rotate when the active secret has this
	 * long left; lifetime: the new secret's requested lifetime; grace:
	 * how long the old secret stays in Entra after the switch;
	 * display_name: the new secret's description, {date} replaced by
	 * the day it was made. */
	int64_t rotate_before;
	int64_t rotate_lifetime;
	int64_t rotate_grace;
	char rotate_display_name[CONFIG_DISPLAY_NAME_MAX + 1];
	/* [sweep]: the tenant sweep of reader credentials. interval: how
	 * often; warn_days: its thresholds (none given: [watch]'s);
	 * notify_owners: mail each owner of an app with a credential in a
	 * warning step; exclude: apps left out (exclude.h);
	 * include_microsoft: Microsoft's own service principals too;
	 * metrics_per_credential: one expiry series per credential. */
	int64_t sweep_interval;
	int sweep_warn_days[CONFIG_WARN_DAYS_MAX]; /* descending */
	int nsweep_warn_days;
	int sweep_notify_owners;
	char sweep_exclude[CONFIG_LIST_MAX];
	int sweep_include_microsoft;
	int sweep_metrics_per_credential;
};

/* The sweep's thresholds: [sweep] warn_days, else [watch]'s. */
const int *config_sweep_days(const struct config *cfg, int *ret_n);

/* Fill cfg with the built-in defaults. */
void config_defaults(struct config *cfg);

/* Which file to read: explicit (-c) if given, else $SECRETWATCH_CONFIG,
 * else CONFIG_DEFAULT_PATH if it exists, else none (*ret_path = NULL).
 * *ret_required is 1 when the file was named and so must exist. */
void config_choose(const char *explicit_path, const char **ret_path,
		   int *ret_required);

/* Defaults, then the file at path (NULL: defaults only). Relative paths in
 * the file are taken relative to the file's directory. On error cfg is
 * unspecified and e names the file, the line and the key. */
int config_load(const char *path, struct config *cfg, struct err *e);

/* config_choose(), then config_load() of the file chosen: the config a
 * program runs with. *ret_path (ret_path may be NULL) is the file read,
 * or NULL for the built-in defaults. Returns 0, or -1 with e. */
int config_read(const char *explicit_path, struct config *cfg,
		const char **ret_path, struct err *e);

#endif
