/* fuzz_config.c - config_load() on any file.
 *
 * config_load() takes a path, so the input is written to one memfd made
 * at start-up and read back through /proc/self/fd/N: no file system
 * writes, no temp files left behind. A loaded config must hold what
 * docs/CONFIGURATION.md and config.c allow: warn_days descending without
 * repeats in 1-3650, positive durations with level_critical <= level_warning,
 * health_concurrency 1-64, absolute paths (relative ones are made
 * relative to the file's directory), every string ended in its array. */
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "fuzz.h"

static int memfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	memfd = memfd_create("secretwatch-fuzz-config", 0);
	FUZZ_CHECK(memfd >= 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	return 0;
}

static void check_path(const char *p, size_t size)
{
	FUZZ_CHECK(memchr(p, '\0', size) != NULL);
	FUZZ_CHECK(p[0] == '\0' || p[0] == '/');
}

static void check_config(const struct config *c)
{
	FUZZ_CHECK(strcmp(c->path, path) == 0);
	check_path(c->database, sizeof(c->database));
	check_path(c->key_file, sizeof(c->key_file));
	check_path(c->alert_exec, sizeof(c->alert_exec));
	check_path(c->ca_file, sizeof(c->ca_file));
	check_path(c->metrics_textfile, sizeof(c->metrics_textfile));
	check_path(c->deploy_hook, sizeof(c->deploy_hook));
	FUZZ_CHECK_STR(c->email_to);
	for (int i = 0; i < c->nwebhooks; i++) {
		FUZZ_CHECK_STR(c->webhooks[i].url);
		FUZZ_CHECK(
		    strncmp(c->webhooks[i].url, "https://", 8) == 0 ||
		    strncmp(c->webhooks[i].url, "http://127.", 11) == 0 ||
		    strncmp(c->webhooks[i].url, "http://[::1]", 12) == 0);
	}
	FUZZ_CHECK(c->nwarn_days >= 0 && c->nwarn_days <= CONFIG_WARN_DAYS_MAX);
	for (int i = 0; i < c->nwarn_days; i++) {
		FUZZ_CHECK(c->warn_days[i] >= 1 && c->warn_days[i] <= 3650);
		if (i > 0)
			FUZZ_CHECK(c->warn_days[i] < c->warn_days[i - 1]);
	}
	FUZZ_CHECK(c->interval > 0 && c->level_warning > 0 &&
		   c->level_critical > 0 && c->test_active_every > 0 &&
		   c->switch_retry > 0 && c->switch_window > 0);
	FUZZ_CHECK(c->level_critical <= c->level_warning);
	FUZZ_CHECK(c->health_concurrency >= 1 && c->health_concurrency <= 64);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config cfg; /* 26 KB: off the stack */
	struct err e = {{0}};
	int rc;

	FUZZ_CHECK(ftruncate(memfd, 0) == 0);
	FUZZ_CHECK(pwrite(memfd, data, size, 0) == (ssize_t)size);

	rc = config_load(path, &cfg, &e);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK_STR(e.msg);
	if (rc == 0)
		check_config(&cfg);
	else
		FUZZ_CHECK(e.msg[0] != '\0');
	return 0;
}
