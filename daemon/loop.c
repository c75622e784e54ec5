#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "log.h"
#include "policy.h"
#include "timefmt.h"
#include "watch.h"
#include "worker.h"

#define STOP_GRACE_S 1 /* a cycle still running this long after TERM is cut */

static volatile sig_atomic_t got_stop, got_reload, got_cycle, in_cycle;
static int cycle_failed;

static void on_signal(int sig)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		got_stop = 1;
		/* Every change is one transaction, so cutting a cycle short
		 * leaves nothing half-done; it only must not take long. */
		if (in_cycle)
			alarm(STOP_GRACE_S);
		break;
	case SIGHUP:
		got_reload = 1;
		break;
	case SIGUSR1:
		got_cycle = 1;
		break;
	case SIGALRM:
		_exit(0);
	}
}

int loop_signals(void)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGALRM};
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* At start and at each reload: alerts that can only go out through the
 * secrets being watched are no watchdog. */
static void warn_channels(const struct config *cfg)
{
	if (alert_only_through_secrets(cfg))
		logit(LOG_WARNING, "%s", ALERT_ONLY_THROUGH_SECRETS);
}

static void reload(struct daemon *d)
{
	struct config fresh;
	const char *path;
	struct err e;

	if (config_read(d->config_path, &fresh, &path, &e)) {
		log_warnx("reload refused, keeping the running config: %s",
			  e.msg);
		return;
	}
	if (strcmp(fresh.database, d->cfg.database) != 0 ||
	    strcmp(fresh.key_file, d->cfg.key_file) != 0) {
		logit(LOG_WARNING, "reload: [store] paths changed; they take "
				   "effect at the next restart");
		memcpy(fresh.database, d->cfg.database, sizeof(fresh.database));
		memcpy(fresh.key_file, d->cfg.key_file, sizeof(fresh.key_file));
	}
	d->cfg = fresh;
	log_notice("configuration reloaded from %s",
		   path ? path : "built-in defaults");
	warn_channels(&d->cfg);
}

static void notify_status(const struct watch_report *r)
{
	char next[TIMEFMT_RFC3339_LEN];
	int warn = r->levels[LEVEL_WARNING];
	int crit = r->levels[LEVEL_CRITICAL] + r->levels[LEVEL_EXPIRED];

	timefmt_rfc3339(r->next_wake, next);
	sd_notifyf(0,
		   "STATUS=%d credentials, next check %.16s UTC, %d "
		   "warning, %d critical\nWATCHDOG=1",
		   r->credentials, next, warn, crit);
}

/* After `secretwatch rekey`: keep the new key, so that the next cycles
 * need not read it again. */
static void reread_key(struct daemon *d)
{
	struct vault *fresh;
	struct err e;

	if (vault_open(vault_key_path(d->cfg.key_file),
		       d->cfg.key_group_read ? VAULT_SHARED : 0, &fresh, &e)) {
		log_warnx("the master key changed, and reading it again "
			  "failed: %s",
			  e.msg);
		return;
	}
	vault_free(d->vault);
	d->vault = fresh;
	log_notice("the master key changed (secretwatch rekey): using the "
		   "new one");
}

static int64_t cycle(struct daemon *d)
{
	struct cycle_result res;
	const struct watch_report *r = &res.report;
	char line[512];
	struct err hb;

	in_cycle = 1;
	if (d->once)
		worker_cycle_here(d, &res);
	else
		worker_cycle_forked(d, &got_stop, &res);
	in_cycle = 0;
	if (res.key_reread)
		reread_key(d);
	cycle_failed = !res.ok;
	if (got_stop)
		return 0;
	/* A stalled receiver must not hold up a stop: the GET ends when
	 * TERM comes, and the grace alarm backs that up as for a cycle. */
	in_cycle = 1;
	if (watch_heartbeat(&d->cfg, !res.ok, &got_stop, &hb) && !got_stop)
		log_warnx("%s", hb.msg);
	in_cycle = 0;
	if (got_stop)
		return 0;
	if (!res.ok) {
		log_warnx("cycle failed: %s", res.err.msg);
		return timefmt_now() + d->cfg.interval;
	}
	notify_status(r);
	/* One line a cycle, as 'secretwatch check' prints it: a quiet
	 * daemon is seen to be alive, and when it wakes next. */
	watch_report_line(r, line, sizeof(line));
	log_notice("cycle: %s", line);
	return r->next_wake;
}

/* Sleep until wake_at or a signal, whichever first. Signals stay blocked
 * outside ppoll so none is lost between the flag check and the sleep. */
static void sleep_until(int64_t wake_at)
{
	sigset_t block, old;
	uint64_t wd_usec = 0;
	int64_t secs = wake_at - timefmt_now();
	struct timespec ts;

	if (sd_watchdog_enabled(0, &wd_usec) > 0 &&
	    (int64_t)(wd_usec / 2000000) < secs)
		secs = (int64_t)(wd_usec / 2000000);
	if (secs < 1)
		secs = 1;
	ts.tv_sec = (time_t)secs;
	ts.tv_nsec = 0;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!got_stop && !got_reload && !got_cycle)
		ppoll(NULL, 0, &ts, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

int loop_run(struct daemon *d)
{
	int64_t wake_at;

	sd_notify(0, "READY=1\nSTATUS=first check");
	log_info("watching %s", d->cfg.database);
	warn_channels(&d->cfg);
	wake_at = cycle(d);
	if (d->once)
		return cycle_failed;
	while (!got_stop) {
		sleep_until(wake_at);
		if (got_stop)
			break;
		if (got_reload) {
			got_reload = 0;
			sd_notify(0, "RELOADING=1");
			reload(d);
			sd_notify(0, "READY=1");
			got_cycle = 1; /* new thresholds may make work due */
		}
		if (got_cycle || timefmt_now() >= wake_at) {
			got_cycle = 0;
			wake_at = cycle(d);
		} else {
			sd_notify(0, "WATCHDOG=1");
		}
	}
	sd_notify(0, "STOPPING=1");
	log_info("stopping");
	return 0;
}
