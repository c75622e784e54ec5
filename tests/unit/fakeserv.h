/* fakeserv.h - start the stand-in servers of tests/fakes from a C test.
 *
 * Header-only (static functions) so that any test_*.c can include it. Each
 * server runs as /usr/bin/python3 $SW_FAKES/<script> on 127.0.0.1 with its
 * files (scenario, port file, log, maildir, stderr) in a private temp
 * directory, told our pid (--parent-pid) so that it exits with us. The
 * certificates come from $SW_FAKES/mkcerts.sh, made once per process.
 */
#ifndef SW_TEST_FAKESERV_H
#define SW_TEST_FAKESERV_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "slurp.h"

#define FAKESERV_PYTHON	  "/usr/bin/python3"
#define FAKESERV_START_MS 10000

struct fakeserv {
	pid_t pid;
	char dir[256];
	int port;
	char
	    url[160]; /* https://127.0.0.1:PORT/hook or smtp://127.0.0.1:PORT */
};

static char fakeserv_certdir[256];
static char fakeserv_ca[300];	    /* the CA the clients trust */
static char fakeserv_rogue_ca[300]; /* an unrelated CA */

static const char *fakeserv_fakes(void)
{
	const char *d = getenv("SW_FAKES");

	return d != NULL && d[0] != '\0' ? d : "tests/fakes";
}

static int fakeserv_rm_one(const char *p, const struct stat *st, int flag,
			   struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(p);
	return 0;
}

/* rm -rf dir */
static void fakeserv_rmtree(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, fakeserv_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int64_t fakeserv_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run argv (argv[0] a path) with output to log (or inherited), wait for
 * it; returns its exit status or -1. */
static int fakeserv_run(char *const argv[], const char *log)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (log != NULL) {
			int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void fakeserv_certs_cleanup(void)
{
	fakeserv_rmtree(fakeserv_certdir);
}

/* The test CA and server certificates (once per process). */
static int fakeserv_certs(void)
{
	char script[512];
	char *argv[3];

	if (fakeserv_certdir[0] != '\0')
		return 0;
	snprintf(fakeserv_certdir, sizeof(fakeserv_certdir),
		 "/tmp/sw-test-certs-XXXXXX");
	if (mkdtemp(fakeserv_certdir) == NULL)
		return -1;
	snprintf(script, sizeof(script), "%s/mkcerts.sh", fakeserv_fakes());
	argv[0] = script;
	argv[1] = fakeserv_certdir;
	argv[2] = NULL;
	if (fakeserv_run(argv, NULL) != 0)
		return -1;
	snprintf(fakeserv_ca, sizeof(fakeserv_ca), "%s/ca.pem",
		 fakeserv_certdir);
	snprintf(fakeserv_rogue_ca, sizeof(fakeserv_rogue_ca),
		 "%s/rogue-ca.pem", fakeserv_certdir);
	atexit(fakeserv_certs_cleanup);
	return 0;
}

static int fakeserv_write(const char *path, const char *data)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	fputs(data, f);
	if (fclose(f) != 0)
		return -1;
	return rename(tmp, path);
}

/* A file in the server's directory. */
static void fakeserv_path(const struct fakeserv *f, const char *name, char *out,
			  size_t size)
{
	snprintf(out, size, "%s/%s", f->dir, name);
}

/* Replace the scenario (a JSON object); the server reads it on its next
 * request. */
static int fakeserv_scenario(const struct fakeserv *f, const char *json)
{
	char p[512];

	fakeserv_path(f, "scenario.json", p, sizeof(p));
	return fakeserv_write(p, json);
}

/* Start script ("fake_webhook.py", "fake_smtp.py", ...) with scenario.
 * rogue: serve the certificate of the CA nobody trusts. Returns 0 once
 * the port file is there (at most FAKESERV_START_MS), else -1. */
static int fakeserv_start(struct fakeserv *f, const char *script,
			  const char *scenario, bool rogue)
{
	char prog[512], portf[512], scen[512], logf[512], errf[512], maild[512],
	    cert[512], key[512], ppid[32];
	bool smtp = strstr(script, "smtp") != NULL;
	char *argv[24];
	int n = 0;
	int64_t deadline;

	memset(f, 0, sizeof(*f));
	f->pid = -1;
	if (fakeserv_certs() != 0)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sw-test-fake-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(prog, sizeof(prog), "%s/%s", fakeserv_fakes(), script);
	fakeserv_path(f, "port", portf, sizeof(portf));
	fakeserv_path(f, "scenario.json", scen, sizeof(scen));
	fakeserv_path(f, "log.jsonl", logf, sizeof(logf));
	fakeserv_path(f, "stderr.log", errf, sizeof(errf));
	fakeserv_path(f, "maildir", maild, sizeof(maild));
	snprintf(cert, sizeof(cert), "%s/%s", fakeserv_certdir,
		 rogue ? "rogue-server.pem" : "server.pem");
	snprintf(key, sizeof(key), "%s/%s", fakeserv_certdir,
		 rogue ? "rogue-server.key" : "server.key");
	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	if (fakeserv_write(scen, scenario != NULL ? scenario : "{}") != 0)
		return -1;

	argv[n++] = FAKESERV_PYTHON;
	argv[n++] = prog;
	argv[n++] = "--port-file";
	argv[n++] = portf;
	argv[n++] = "--scenario";
	argv[n++] = scen;
	argv[n++] = "--log";
	argv[n++] = logf;
	argv[n++] = "--cert";
	argv[n++] = cert;
	argv[n++] = "--key";
	argv[n++] = key;
	argv[n++] = "--parent-pid";
	argv[n++] = ppid;
	argv[n++] = "--max-lifetime";
	argv[n++] = "600";
	if (smtp) {
		argv[n++] = "--maildir";
		argv[n++] = maild;
		argv[n++] = "--idle-timeout";
		argv[n++] = "30";
	}
	argv[n] = NULL;

	if ((f->pid = fork()) < 0)
		return -1;
	if (f->pid == 0) {
		int fd = open(errf, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nul = open("/dev/null", O_RDONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
		execv(argv[0], argv);
		_exit(127);
	}

	deadline = fakeserv_ms() + FAKESERV_START_MS;
	while (fakeserv_ms() < deadline) {
		char *s = slurp(portf);
		int status;

		if (s != NULL) {
			f->port = atoi(s);
			free(s);
			if (f->port > 0)
				break;
		}
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = -1;
			break;
		}
		usleep(20000);
	}
	if (f->port <= 0) {
		char *err = slurp(errf);

		fprintf(stderr, "%s did not start: %s\n", script,
			err != NULL ? err : "");
		free(err);
		return -1;
	}
	if (smtp)
		snprintf(f->url, sizeof(f->url), "smtp://127.0.0.1:%d",
			 f->port);
	else
		snprintf(f->url, sizeof(f->url), "https://127.0.0.1:%d/hook",
			 f->port);
	return 0;
}

static void fakeserv_stop(struct fakeserv *f)
{
	if (f->pid > 0) {
		int status;

		kill(f->pid, SIGTERM);
		for (int i = 0; i < 250; i++) {
			if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
				f->pid = -1;
				break;
			}
			usleep(20000);
		}
		if (f->pid > 0) {
			kill(f->pid, SIGKILL);
			waitpid(f->pid, &status, 0);
		}
		f->pid = -1;
	}
	if (getenv("SW_KEEP_FAKES") == NULL)
		fakeserv_rmtree(f->dir);
	f->dir[0] = '\0';
}

/* The server's JSON-lines log (free it), or NULL. */
static char *fakeserv_log(const struct fakeserv *f)
{
	char p[512];

	fakeserv_path(f, "log.jsonl", p, sizeof(p));
	return slurp(p);
}

#endif
