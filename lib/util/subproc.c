#include "subproc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void subproc_env_init(struct subproc_env *env)
{
	memset(env, 0, sizeof(*env));
	if ((env->v[0] = strdup(SUBPROC_PATH)) == NULL)
		env->failed = 1;
	else
		env->n = 1;
}

void subproc_env_add(struct subproc_env *env, const char *name,
		     const char *value)
{
	char *s = NULL;

	if (env->failed)
		return;
	if (env->n >= SUBPROC_ENV_MAX ||
	    asprintf(&s, "%s=%s", name, value != NULL ? value : "") < 0) {
		env->failed = 1;
		return;
	}
	env->v[env->n++] = s;
	env->v[env->n] = NULL;
}

void subproc_env_free(struct subproc_env *env)
{
	for (size_t i = 0; i < env->n; i++)
		free(env->v[i]);
	memset(env, 0, sizeof(*env));
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reap pid if it ends before deadline (monotonic ms). Returns 1 with
 * *status set when it was reaped, 0 at the deadline, -1 on a waitpid
 * error. With a pidfd the wait sleeps in poll until the child exits;
 * without one (kernels before 5.3) it checks every 20 ms. */
static int wait_until(pid_t pid, int pidfd, int64_t deadline, int *status)
{
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		int64_t rem;

		if (r == pid)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if ((rem = deadline - mono_ms()) <= 0)
			return 0;
		if (pidfd >= 0) {
			struct pollfd p = {.fd = pidfd, .events = POLLIN};

			(void)poll(&p, 1,
				   rem > INT32_MAX ? INT32_MAX : (int)rem);
		} else {
			struct timespec ts = {0, 20 * 1000000L};

			if (rem < 20)
				ts.tv_nsec = rem * 1000000L;
			(void)nanosleep(&ts, NULL);
		}
	}
}

/* Write the input to fd (non-blocking) until done, the reader goes away
 * or the deadline passes. Returns 0 when written or the reader closed its
 * end, 1 at the deadline, -1 on another write error (errno kept). SIGPIPE
 * is blocked in this thread meanwhile and a SIGPIPE raised by our own
 * write is consumed, so a program that exits without reading does not
 * kill the caller. */
static int write_input(int fd, const struct iovec *iov, int n, int64_t deadline)
{
	sigset_t pipe_set, old, pending;
	bool was_pending, epipe = false;
	int ret = 0, saved = 0;

	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigemptyset(&pending);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE) == 1;

	for (int i = 0; i < n && ret == 0 && !epipe; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;

		while (left > 0) {
			struct pollfd pf = {.fd = fd, .events = POLLOUT};
			int64_t rem = deadline - mono_ms();
			ssize_t w;

			if (rem <= 0) {
				ret = 1;
				break;
			}
			if (poll(&pf, 1,
				 rem > INT32_MAX ? INT32_MAX : (int)rem) < 0 &&
			    errno != EINTR) {
				saved = errno;
				ret = -1;
				break;
			}
			w = write(fd, p, left);
			if (w < 0) {
				if (errno == EINTR || errno == EAGAIN)
					continue;
				if (errno == EPIPE) {
					epipe = true;
					break;
				}
				saved = errno;
				ret = -1;
				break;
			}
			p += w;
			left -= (size_t)w;
		}
	}

	if (epipe && !was_pending) {
		struct timespec zero = {0, 0};

		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 &&
		       errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return ret;
}

static void describe_status(const struct subproc_req *rq, int status,
			    struct err *e)
{
	if (WIFEXITED(status)) {
		err_set(e, "%s %s: exited with status %d%s", rq->what,
			rq->program, WEXITSTATUS(status),
			WEXITSTATUS(status) == 127 ? " (it, or a program it "
						     "runs, was not found)"
						   : "");
	} else if (WIFSIGNALED(status)) {
		const char *abbrev = sigabbrev_np(WTERMSIG(status));

		err_set(e, "%s %s: killed by signal %d (SIG%s)", rq->what,
			rq->program, WTERMSIG(status),
			abbrev != NULL ? abbrev : "?");
	} else {
		err_set(e, "%s %s: ended with wait status %#x", rq->what,
			rq->program, (unsigned)status);
	}
}

/* The program overran its time: SIGTERM to its group, SIGKILL after the
 * grace period, reap it, and SIGKILL whatever is left in the group. */
static void kill_group(pid_t pid, int pidfd)
{
	int status;

	(void)kill(-pid, SIGTERM);
	if (wait_until(pid, pidfd, mono_ms() + SUBPROC_KILL_GRACE_MS,
		       &status) != 1) {
		(void)kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	/* Stragglers that ignored SIGTERM keep the group (and so the
	 * number) alive, so this cannot reach an unrelated process. */
	(void)kill(-pid, SIGKILL);
}

/* What rq asks for can be run. Returns 0, or -1 with e. */
static int check_request(const struct subproc_req *rq, struct err *e)
{
	if (rq->program == NULL || rq->program[0] != '/') {
		err_set(e, "%s: the program must be an absolute path",
			rq->what);
		return -1;
	}
	if (rq->envp == NULL || rq->timeout_s <= 0 ||
	    rq->timeout_s > 24 * 3600L) {
		err_set(e, "%s %s: no environment or no time limit", rq->what,
			rq->program);
		return -1;
	}
	/* posix_spawn reports a failed exec too, but not everywhere (a
	 * fork-based fallback, valgrind) tells it apart from an exit status
	 * 127; asking first gives the clear message in the common cases. */
	if (access(rq->program, X_OK) != 0) {
		err_set(e, "%s %s: cannot run it: %s", rq->what, rq->program,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* The pipe for the child's input in in[], its write end non-blocking.
 * Returns 0, or -1 with e (in[] then holds what is left to close). */
static int open_input(const struct subproc_req *rq, int in[2], struct err *e)
{
	if (pipe2(in, O_CLOEXEC) != 0) {
		err_set(e, "%s %s: cannot create a pipe: %s", rq->what,
			rq->program, strerror(errno));
		return -1;
	}
	if (fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK) != 0) {
		err_set(e, "%s %s: cannot set up the pipe: %s", rq->what,
			rq->program, strerror(errno));
		return -1;
	}
	return 0;
}

/* How the child starts: stdin from in_fd (or /dev/null when it is -1),
 * no other descriptors, its own process group, default signals. Returns
 * 0, or an errno value. */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr,
		       int in_fd)
{
	sigset_t all, none;
	int rc;

	if ((rc = in_fd >= 0 ? posix_spawn_file_actions_adddup2(fa, in_fd, 0)
			     : posix_spawn_file_actions_addopen(
				   fa, 0, "/dev/null", O_RDONLY, 0)) != 0 ||
	    (rc = posix_spawn_file_actions_addclosefrom_np(fa, 3)) != 0)
		return rc;
	sigfillset(&all);
	sigemptyset(&none);
	if ((rc = posix_spawnattr_setflags(
		 attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
			   POSIX_SPAWN_SETSIGMASK)) != 0 ||
	    (rc = posix_spawnattr_setpgroup(attr, 0)) != 0 ||
	    (rc = posix_spawnattr_setsigdefault(attr, &all)) != 0 ||
	    (rc = posix_spawnattr_setsigmask(attr, &none)) != 0)
		return rc;
	return 0;
}

/* Start the program. Returns 0 with *ret_pid, or -1 with e. */
static int spawn(const struct subproc_req *rq, int in_fd, pid_t *ret_pid,
		 struct err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[2] = {(char *)rq->program, NULL};
	const char *failed = "cannot prepare to run it";
	int rc;

	if ((rc = posix_spawn_file_actions_init(&fa)) != 0)
		goto out;
	if ((rc = posix_spawnattr_init(&attr)) != 0)
		goto out_fa;
	if ((rc = spawn_setup(&fa, &attr, in_fd)) == 0 &&
	    (rc = posix_spawn(ret_pid, rq->program, &fa, &attr, argv,
			      rq->envp)) != 0)
		failed = "cannot run it";
	posix_spawnattr_destroy(&attr);
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out:
	if (rc == 0)
		return 0;
	err_set(e, "%s %s: %s: %s", rq->what, rq->program, failed,
		strerror(rc));
	return -1;
}

/* Write the input to the child and wait for it until deadline; a child
 * that outlives it is killed with its process group. Returns 0 when it
 * exited 0, or -1 with e. */
static int feed_and_wait(const struct subproc_req *rq, pid_t pid, int in[2],
			 int64_t deadline, struct err *e)
{
	int pidfd = pidfd_open(pid, 0); /* -1 on old kernels: wait polls */
	int status = 0, w, ret = -1;

	if (in[1] >= 0) {
		close(in[0]);
		in[0] = -1;
		w = write_input(in[1], rq->input, rq->input_n, deadline);
		close(in[1]);
		in[1] = -1;
		if (w < 0) {
			err_set(e, "%s %s: cannot write its input: %s",
				rq->what, rq->program, strerror(errno));
			kill_group(pid, pidfd);
			goto out;
		}
	}
	switch (wait_until(pid, pidfd, deadline, &status)) {
	case 1:
		break;
	case 0:
		kill_group(pid, pidfd);
		err_set(e,
			"%s %s: still running after %ld s; its process "
			"group was killed",
			rq->what, rq->program, rq->timeout_s);
		goto out;
	default:
		err_set(e, "%s %s: cannot wait for it: %s", rq->what,
			rq->program, strerror(errno));
		kill_group(pid, pidfd);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		describe_status(rq, status, e);
		goto out;
	}
	ret = 0;
out:
	if (pidfd >= 0)
		close(pidfd);
	return ret;
}

int subproc_run(const struct subproc_req *rq, struct err *e)
{
	int in[2] = {-1, -1};
	bool has_input = rq->input != NULL && rq->input_n > 0;
	int64_t deadline;
	pid_t pid = -1;
	int ret = -1;

	if (check_request(rq, e) != 0)
		return -1;
	deadline = mono_ms() + rq->timeout_s * 1000;
	if (has_input && open_input(rq, in, e) != 0)
		goto out;
	if (spawn(rq, in[0], &pid, e) != 0)
		goto out;
	ret = feed_and_wait(rq, pid, in, deadline, e);
out:
	for (int i = 0; i < 2; i++)
		if (in[i] >= 0)
			close(in[i]);
	return ret;
}
