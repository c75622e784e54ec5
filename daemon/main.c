/* secretwatchd - the watchdog daemon. Runs in the foreground under
 * systemd (Type=notify); all the work is lib/watch's cycle. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

static const char usage[] =
    "usage: secretwatchd [-c FILE] [--once]\n"
    "\n"
    "Watch every stored client secret: warn before expiry, switch to new\n"
    "secrets after a successful test, check the active ones, deliver\n"
    "alerts, write metrics. Sleeps until the next deadline.\n"
    "  -c FILE   config file (default $SECRETWATCH_CONFIG, else\n"
    "            /etc/secretwatch/secretwatch.conf)\n"
    "  --once    run one cycle and exit\n"
    "signals: TERM/INT stop, HUP reloads the config, USR1 runs a cycle "
    "now\n";

static int parse_args(struct daemon *d, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			d->config_path = argv[++i];
		} else if (strcmp(argv[i], "--once") == 0) {
			d->once = true;
		} else if (strcmp(argv[i], "--help") == 0 ||
			   strcmp(argv[i], "-h") == 0) {
			fputs(usage, stdout);
			exit(0);
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("secretwatchd %s\n", SW_VERSION);
			exit(0);
		} else {
			log_warnx("option '%s' is unknown; see 'secretwatchd "
				  "--help'",
				  argv[i]);
			return -1;
		}
	}
	return 0;
}

/* One daemon per store: an exclusive lock on "<database>.lock", held for
 * the process's life (the kernel drops it on any exit). */
static int lock_store(const char *db, struct err *e)
{
	char path[PATH_MAX];
	int fd;

	if (snprintf(path, sizeof(path), "%s.lock", db) >= (int)sizeof(path)) {
		err_set(e, "database path too long: %s", db);
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err_set(e, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		err_set(e,
			"another secretwatchd is already running on %s: "
			"stop it first",
			db);
		close(fd);
		return -1;
	}
	return 0;
}

static int open_all(struct daemon *d, struct err *e)
{
	if (config_read(d->config_path, &d->cfg, NULL, e) ||
	    store_open(d->cfg.database, STORE_EXISTING, &d->store, e) ||
	    lock_store(d->cfg.database, e) ||
	    vault_open(vault_key_path(d->cfg.key_file),
		       d->cfg.key_group_read ? VAULT_SHARED : 0, &d->vault,
		       e) ||
	    store_key_check(d->store, d->vault, e))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = {0};
	struct err e;
	int rc;

	log_init("secretwatchd", stderr);
	log_timestamps(true);
	umask(077);
	if (parse_args(&d, argc, argv))
		return 1;
	if (vault_process_init(&e) || loop_signals() || open_all(&d, &e)) {
		log_warnx("%s", e.msg);
		store_close(d.store);
		vault_free(d.vault);
		return 1;
	}
	if (!d.once) {
		/* Each cycle's child opens the store itself. */
		store_close(d.store);
		d.store = NULL;
	}
	rc = loop_run(&d);
	store_close(d.store);
	vault_free(d.vault);
	return rc;
}
