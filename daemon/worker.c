#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "cyclelock.h"
#include "log.h"
#include "timefmt.h"

/* The key that opens the store: the daemon's, or, when `secretwatch
 * rekey` has replaced it since, the key file read again (*ret_fresh,
 * which the caller frees). */
static int store_key(struct daemon *d, struct store *s,
		     struct vault **ret_fresh, struct err *e)
{
	*ret_fresh = NULL;
	if (store_key_check(s, d->vault, e) == 0)
		return 0;
	if (vault_open(vault_key_path(d->cfg.key_file),
		       d->cfg.key_group_read ? VAULT_SHARED : 0, ret_fresh, e))
		return -1;
	if (store_key_check(s, *ret_fresh, e) == 0)
		return 0;
	vault_free(*ret_fresh);
	*ret_fresh = NULL;
	return -1;
}

/* One cycle under the store's cycle lock, which a CLI cycle, rotate or
 * rekey may hold for a while: the daemon waits for it. */
static void run_cycle(struct daemon *d, struct store *s,
		      struct cycle_result *res)
{
	struct watch_ctx w = {
	    .store = s, .cfg = &d->cfg, .now = timefmt_now(), .log = log_line};
	struct cyclelock *lock;
	struct vault *fresh;

	if (cyclelock_take(d->cfg.database, true, &lock, &res->err))
		return;
	w.now = timefmt_now();
	if (store_key(d, s, &fresh, &res->err) == 0) {
		w.vault = fresh != NULL ? fresh : d->vault;
		res->key_reread = fresh != NULL;
		res->ok = watch_cycle(&w, &res->report, &res->err) == 0;
		if (res->ok && res->report.next_wake == 0)
			res->report.next_wake = w.now + d->cfg.interval;
	}
	vault_free(fresh);
	cyclelock_release(lock);
}

void worker_cycle_here(struct daemon *d, struct cycle_result *res)
{
	memset(res, 0, sizeof(*res));
	run_cycle(d, d->store, res);
}

static void write_all(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		c += n;
		len -= (size_t)n;
	}
}

static void child(struct daemon *d, pid_t parent, int fd)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGALRM};
	struct cycle_result res;
	struct store *s;

	/* Die with the daemon, so no orphan keeps working or holds the
	 * store's lock. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	memset(&res, 0, sizeof(res));
	if (store_open(d->cfg.database, STORE_EXISTING, &s, &res.err) == 0) {
		run_cycle(d, s, &res);
		store_close(s);
	}
	write_all(fd, &res, sizeof(res));
	_exit(0);
}

/* Read the child's report; ping the watchdog and watch *stop meanwhile. */
static int await_report(int fd, pid_t pid, volatile sig_atomic_t *stop,
			struct cycle_result *res)
{
	uint64_t wd_usec = 0;
	int timeout =
	    sd_watchdog_enabled(0, &wd_usec) > 0 ? (int)(wd_usec / 2000) : -1;
	size_t got = 0;

	while (got < sizeof(*res)) {
		struct pollfd p = {fd, POLLIN, 0};
		int n = poll(&p, 1, timeout);
		if (*stop) {
			kill(pid, SIGKILL);
			return -1;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			sd_notify(0, "WATCHDOG=1");
			continue;
		}
		ssize_t r = read(fd, (char *)res + got, sizeof(*res) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

void worker_cycle_forked(struct daemon *d, volatile sig_atomic_t *stop,
			 struct cycle_result *res)
{
	pid_t parent = getpid(), pid;
	int pfd[2], status;

	memset(res, 0, sizeof(*res));
	if (pipe2(pfd, O_CLOEXEC) != 0) {
		err_set(&res->err, "cannot make a pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		child(d, parent, pfd[1]);
	}
	close(pfd[1]);
	if (pid < 0) {
		close(pfd[0]);
		err_set(&res->err, "cannot fork: %s", strerror(errno));
		return;
	}
	if (await_report(pfd[0], pid, stop, res) != 0 && !res->ok &&
	    res->err.msg[0] == '\0')
		err_set(&res->err, "the cycle's process ended without a "
				   "report");
	close(pfd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}
