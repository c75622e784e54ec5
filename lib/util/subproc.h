/* subproc.h - run a helper program (the exec alert channel, the deploy
 * hook) with a fixed environment, optional data on its standard input and
 * a time limit.
 *
 * The program runs with no arguments besides argv[0], in a process group
 * of its own, with default signal dispositions and an empty signal mask,
 * standard input from /dev/null or a pipe, standard output and error
 * inherited, and every other descriptor closed. It is started with
 * posix_spawn (a fork and exec that also works in threaded processes and
 * reports a failed exec); the caller must not set SIGCHLD to SIG_IGN,
 * since the child is reaped with waitpid.
 */
#ifndef SW_SUBPROC_H
#define SW_SUBPROC_H

#include <stddef.h>
#include <sys/uio.h>

#include "err.h"

#define SUBPROC_PATH	      "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define SUBPROC_ENV_MAX	      16
#define SUBPROC_KILL_GRACE_MS 2000L

/* A small environment under construction: PATH first, then what is added.
 * Values are copied; none may be a secret. */
struct subproc_env {
	char *v[SUBPROC_ENV_MAX + 1]; /* NULL-terminated */
	size_t n;
	int failed; /* an add ran out of room or memory */
};

/* Start env with SUBPROC_PATH. Release it with subproc_env_free. */
void subproc_env_init(struct subproc_env *env);

/* Add "name=value" (value NULL counts as ""). Failures are sticky: they
 * show in env->failed, which the caller checks before running anything
 * with env->v. */
void subproc_env_add(struct subproc_env *env, const char *name,
		     const char *value);

/* Free the copies; env may be empty. */
void subproc_env_free(struct subproc_env *env);

struct subproc_req {
	const char *what;    /* for messages, e.g. "deploy hook" */
	const char *program; /* an absolute path; argv is {program, NULL} */
	char *const *envp;   /* the whole environment, NULL-terminated */
	/* Written to the program's standard input through a pipe, which is
	 * then closed; NULL (or input_n 0): standard input is /dev/null.
	 * The bytes stay in the caller's memory (no copy is made), so a
	 * secret passed here is wiped by its owner. A program that exits
	 * without reading all of it is not an error in itself. */
	const struct iovec *input;
	int input_n;
	long timeout_s; /* > 0; the whole run, input included */
};

/* Run rq->program and wait for it, at most rq->timeout_s seconds. On
 * timeout the process group gets SIGTERM, then SIGKILL after
 * SUBPROC_KILL_GRACE_MS, and the program is reaped. Returns 0 when the
 * program exited with status 0, or -1 with e saying "WHAT PROGRAM: ..."
 * (could not be started and why, exited with status N, killed by signal
 * N, or timed out). The input bytes never appear in e. */
int subproc_run(const struct subproc_req *rq, struct err *e);

#endif
