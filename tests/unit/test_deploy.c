/* The deploy hook and the program runner under it: the secret reaches the
 * hook on standard input only (never argv, the environment or an error),
 * exit statuses, missing programs, a hook that does not read its input,
 * and the time limit that kills the whole process group. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "slurp.h"

#include "cred.h"
#include "deploy.h"
#include "subproc.h"

#define SECRET "Xq7~8Q.abcdefghijklmnopqrstuvwxyz0123456"
#define KEY    "11111111-2222-3333-4444-555555555555"

static char tmpdir[256];
static struct cred cred;
static struct secret_info si;

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw-test-deploy-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	memset(&cred, 0, sizeof(cred));
	snprintf(cred.name, sizeof(cred.name), "mail-alerts");
	snprintf(cred.sender, sizeof(cred.sender), "alerts@contoso.com");
	memset(&si, 0, sizeof(si));
	si.id = 42;
	si.state = SECRET_ACTIVE;
	snprintf(si.hint, sizeof(si.hint), "Xq7");
	snprintf(si.key_id, sizeof(si.key_id), KEY);
	si.expires_at = 1798761600LL; /* 2027-01-01T00:00:00Z */
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_script(const char *name, const char *body, char *path,
			 size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

/* A file of tmpdir (free it), or NULL. */
static char *slurp_tmp(const char *name)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return slurp(path);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_secret_on_stdin_only(void **state)
{
	char body[2048], hook[400], *s;
	struct err e = {{0}};

	(void)state;
	snprintf(body, sizeof(body),
		 "cat > '%1$s/stdin'\n"
		 "env > '%1$s/env'\n"
		 "echo \"$#\" > '%1$s/argc'\n"
		 "tr '\\0' ' ' < /proc/$$/cmdline > '%1$s/cmdline'\n"
		 "exit 0\n",
		 tmpdir);
	write_script("hook.sh", body, hook, sizeof(hook));
	assert_int_equal(
	    deploy_run(hook, &cred, &si, NULL, SECRET, strlen(SECRET), 5, &e),
	    0);

	s = slurp_tmp("stdin");
	assert_non_null(s);
	assert_string_equal(s, SECRET "\n");
	free(s);

	s = slurp_tmp("env");
	assert_non_null(s);
	assert_null(strstr(s, SECRET));
	assert_null(strstr(s, "abcdefghij"));
	assert_non_null(strstr(s, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	assert_non_null(strstr(s, "SECRETWATCH_CREDENTIAL=mail-alerts\n"));
	assert_non_null(strstr(s, "SECRETWATCH_SECRET_ID=42\n"));
	assert_non_null(strstr(s, "SECRETWATCH_HINT=Xq7\n"));
	assert_non_null(strstr(s, "SECRETWATCH_KEY_ID=" KEY "\n"));
	assert_non_null(
	    strstr(s, "SECRETWATCH_EXPIRES_AT=2027-01-01T00:00:00Z\n"));
	assert_null(strstr(s, "HOME="));
	free(s);

	s = slurp_tmp("argc");
	assert_string_equal(s, "0\n");
	free(s);
	s = slurp_tmp("cmdline");
	assert_non_null(s);
	assert_null(strstr(s, SECRET));
	assert_non_null(strstr(s, hook));
	free(s);
}

static void test_failures(void **state)
{
	char hook[400];
	struct err e = {{0}};

	(void)state;
	write_script("fail.sh", "cat >/dev/null\nexit 4\n", hook, sizeof(hook));
	assert_int_equal(
	    deploy_run(hook, &cred, &si, NULL, SECRET, strlen(SECRET), 5, &e),
	    -1);
	assert_non_null(strstr(e.msg, "deploy hook"));
	assert_non_null(strstr(e.msg, "exited with status 4"));
	assert_null(strstr(e.msg, SECRET));

	write_script("kill.sh", "kill -USR1 $$\n", hook, sizeof(hook));
	assert_int_equal(
	    deploy_run(hook, &cred, &si, NULL, SECRET, strlen(SECRET), 5, &e),
	    -1);
	assert_non_null(strstr(e.msg, "killed by signal"));
	assert_non_null(strstr(e.msg, "SIGUSR1"));

	snprintf(hook, sizeof(hook), "%s/not-there", tmpdir);
	assert_int_equal(
	    deploy_run(hook, &cred, &si, NULL, SECRET, strlen(SECRET), 5, &e),
	    -1);
	assert_non_null(strstr(e.msg, "cannot run it"));
	assert_null(strstr(e.msg, SECRET));

	/* Not executable. */
	write_script("noexec.sh", "exit 0\n", hook, sizeof(hook));
	assert_int_equal(chmod(hook, 0644), 0);
	assert_int_equal(
	    deploy_run(hook, &cred, &si, NULL, SECRET, strlen(SECRET), 5, &e),
	    -1);
	assert_non_null(strstr(e.msg, "cannot run it"));

	/* A relative program, or no secret, is refused up front. */
	assert_int_equal(deploy_run("hook.sh", &cred, &si, NULL, SECRET,
				    strlen(SECRET), 5, &e),
			 -1);
	assert_non_null(strstr(e.msg, "absolute path"));
	assert_int_equal(
	    deploy_run("/bin/true", &cred, &si, NULL, SECRET, 0, 5, &e), -1);
	assert_int_equal(
	    deploy_run("/bin/true", &cred, &si, NULL, "a\nb", 3, 5, &e), -1);
	assert_null(strstr(e.msg, "a\nb"));
}

/* A hook that exits 0 without reading: delivered, and its closed pipe
 * does not kill us with SIGPIPE. The input is larger than a pipe buffer,
 * so the write really meets the closed end. */
static void test_unread_input(void **state)
{
	static char big[1 << 20];
	char prog[400];
	char *const envp[] = {SUBPROC_PATH, NULL};
	struct iovec iov = {big, sizeof(big)};
	struct subproc_req rq = {0};
	struct err e = {{0}};

	(void)state;
	memset(big, 'x', sizeof(big));
	write_script("noread.sh", "exit 0\n", prog, sizeof(prog));
	rq.what = "test";
	rq.program = prog;
	rq.envp = envp;
	rq.input = &iov;
	rq.input_n = 1;
	rq.timeout_s = 5;
	assert_int_equal(subproc_run(&rq, &e), 0);

	/* The same with a failing exit: the status is what counts. */
	write_script("noread-fail.sh", "exit 2\n", prog, sizeof(prog));
	assert_int_equal(subproc_run(&rq, &e), -1);
	assert_non_null(strstr(e.msg, "exited with status 2"));
}

static bool pid_alive(pid_t pid)
{
	char path[64], *s = NULL, st[64];
	FILE *f;
	bool alive;

	if (kill(pid, 0) != 0)
		return false;
	/* Reparented orphans may linger as zombies if nothing reaps them. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	alive = fgets(st, sizeof(st), f) != NULL &&
		(s = strrchr(st, ')')) != NULL && s[1] == ' ' && s[2] != 'Z';
	fclose(f);
	return alive;
}

/* A hook that hangs, with a child of its own: after the limit the whole
 * group is gone and the call returned within the bound. */
static void test_timeout(void **state)
{
	char body[1024], hook[400], *s;
	struct err e = {{0}};
	double t0, took;
	pid_t bg;

	(void)state;
	snprintf(body, sizeof(body),
		 "sleep 30 &\n"
		 "echo $! > '%1$s/bgpid'\n"
		 "cat >/dev/null\n"
		 "sleep 30\n",
		 tmpdir);
	write_script("hang.sh", body, hook, sizeof(hook));
	t0 = mono_s();
	assert_int_equal(
	    deploy_run(hook, &cred, &si, NULL, SECRET, strlen(SECRET), 1, &e),
	    -1);
	took = mono_s() - t0;
	assert_true(took >= 0.9);
	assert_true(took < 3.0);
	assert_non_null(strstr(e.msg, "still running after 1 s"));
	assert_non_null(strstr(e.msg, "process group was killed"));

	s = slurp_tmp("bgpid");
	assert_non_null(s);
	bg = (pid_t)atoi(s);
	free(s);
	assert_true(bg > 1);
	for (int i = 0; i < 50 && pid_alive(bg); i++)
		usleep(20000);
	assert_false(pid_alive(bg));
}

static void test_env_builder(void **state)
{
	struct subproc_env env;
	char name[32];

	(void)state;
	subproc_env_init(&env);
	assert_int_equal(env.n, 1);
	assert_string_equal(env.v[0], SUBPROC_PATH);
	subproc_env_add(&env, "A", NULL);
	assert_string_equal(env.v[1], "A=");
	assert_null(env.v[2]);
	for (int i = 0; i < SUBPROC_ENV_MAX; i++) {
		snprintf(name, sizeof(name), "V%d", i);
		subproc_env_add(&env, name, "x");
	}
	assert_true(env.failed);
	assert_int_equal(env.n, SUBPROC_ENV_MAX);
	assert_null(env.v[SUBPROC_ENV_MAX]);
	subproc_env_free(&env);
	assert_int_equal(env.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_secret_on_stdin_only),
	    cmocka_unit_test(test_failures),
	    cmocka_unit_test(test_unread_input),
	    cmocka_unit_test(test_timeout),
	    cmocka_unit_test(test_env_builder),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
