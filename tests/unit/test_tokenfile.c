/* lib/tokenfile: mode and group, the atomic replace (an interrupted write
 * leaves the old file and no temporary one), the directory kept, reading
 * the expiry back. */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "secmem.h"
#include "tokenfile.h"

static char base[64], dir[128], path[192];

static int setup(void **state)
{
	(void)state;
	snprintf(base, sizeof(base), "/tmp/sw-tokfile-XXXXXX");
	assert_non_null(mkdtemp(base));
	snprintf(dir, sizeof(dir), "%s/run/tokens", base);
	snprintf(path, sizeof(path), "%s/mail", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	return system(cmd);
}

static void read_back(char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* The names in dir: only "mail", no temporary file left behind. */
static void only_the_file(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		assert_string_equal(de->d_name, "mail");
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_write_mode_group_dir(void **state)
{
	struct err e;
	struct stat st;
	char buf[64];

	(void)state;
	assert_int_equal(
	    tokenfile_write(dir, "mail", "tok-one", 7, getgid(), &e), 0);
	read_back(buf, sizeof(buf));
	assert_string_equal(buf, "tok-one\n");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(st.st_gid, getgid());
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_gid, getgid());
	only_the_file();
}

static void test_replace_keeps_directory(void **state)
{
	struct stat before, after;
	struct err e;
	char buf[64];

	(void)state;
	assert_int_equal(tokenfile_write(dir, "mail", "a", 1, getgid(), &e), 0);
	assert_int_equal(stat(dir, &before), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(
		    tokenfile_write(dir, "mail", "second", 6, getgid(), &e), 0);
	assert_int_equal(stat(dir, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	read_back(buf, sizeof(buf));
	assert_string_equal(buf, "second\n");
	only_the_file();
}

/* A write cut short (the file size limit stands in for a full disk):
 * the old file stays whole and no temporary file is left. */
static void test_interrupted_write(void **state)
{
	struct rlimit old, small = {16, 16};
	char big[4096], buf[64];
	struct err e;
	int rc;

	(void)state;
	assert_int_equal(
	    tokenfile_write(dir, "mail", "old-token", 9, getgid(), &e), 0);
	memset(big, 'x', sizeof(big));
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	rc = tokenfile_write(dir, "mail", big, sizeof(big), getgid(), &e);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(e.msg, "cannot write token file"));
	assert_null(strstr(e.msg, "xxxx"));
	read_back(buf, sizeof(buf));
	assert_string_equal(buf, "old-token\n");
	only_the_file();
}

static void test_expiry_and_remove(void **state)
{
	/* {"exp":1800000000} */
	static const char jwt[] = "eyJhbGciOiJub25lIn0."
				  "eyJleHAiOjE4MDAwMDAwMDB9.c2ln";
	int64_t exp = 0;
	struct err e;
	int fd;

	(void)state;
	assert_int_equal(
	    tokenfile_write(dir, "mail", jwt, strlen(jwt), getgid(), &e), 0);
	assert_int_equal(tokenfile_expiry(dir, "mail", &exp, &e), 0);
	assert_int_equal(exp, 1800000000);
	assert_int_equal(
	    tokenfile_write(dir, "mail", "opaque", 6, getgid(), &e), 0);
	assert_int_equal(tokenfile_expiry(dir, "mail", &exp, &e), 0);
	assert_int_equal(exp, 0);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(tokenfile_expiry(dir, "mail", &exp, &e), -1);
	assert_non_null(strstr(e.msg, "empty"));
	assert_int_equal(tokenfile_remove(dir, "mail", &e), 0);
	assert_int_equal(tokenfile_remove(dir, "mail", &e), 0);
	assert_int_equal(tokenfile_expiry(dir, "mail", &exp, &e), -1);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_bad_names_and_group(void **state)
{
	struct err e;
	gid_t gid;

	(void)state;
	assert_int_equal(tokenfile_write(dir, "../x", "t", 1, getgid(), &e),
			 -1);
	assert_int_equal(tokenfile_write(dir, ".hidden", "t", 1, getgid(), &e),
			 -1);
	assert_int_equal(tokenfile_group("no-such-group-sw", &gid, &e), -1);
	assert_non_null(strstr(e.msg, "does not exist"));
	assert_int_equal(tokenfile_group("root", &gid, &e), 0);
	assert_int_equal(gid, 0);
}

/* A directory others may write lets a local user swap in a token of
 * their own: this user's own is closed before a token goes in, another
 * user's is refused (and a check says so without changing anything). */
static void test_open_directory_repaired_or_refused(void **state)
{
	static const mode_t open_modes[] = {0777, 01777, 0770, 0752};
	struct stat st;
	struct err e;
	char buf[64];

	(void)state;
	assert_int_equal(tokenfile_write(dir, "mail", "t0", 2, getgid(), &e),
			 0);
	for (size_t i = 0; i < sizeof(open_modes) / sizeof(open_modes[0]);
	     i++) {
		assert_int_equal(chmod(dir, open_modes[i]), 0);
		assert_int_equal(tokenfile_dir_check(dir, geteuid(), &e), -1);
		assert_non_null(strstr(e.msg, "may write into it and swap"));
		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_mode & 07777, open_modes[i]);
		assert_int_equal(
		    tokenfile_write(dir, "mail", "tok-two", 7, getgid(), &e),
		    0);
		assert_int_equal(stat(dir, &st), 0);
		assert_int_equal(st.st_mode & (S_IWGRP | S_IWOTH | S_ISVTX), 0);
		assert_int_equal(tokenfile_dir_check(dir, geteuid(), &e), 0);
		read_back(buf, sizeof(buf));
		assert_string_equal(buf, "tok-two\n");
	}
	if (geteuid() != 0)
		return; /* only root can give a directory away */
	/* Another user's directory, however closed: refused, untouched. */
	assert_int_equal(chown(dir, 65534, (gid_t)-1), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(tokenfile_dir_check(dir, 1000, &e), -1);
	assert_non_null(strstr(e.msg, "belongs to uid 65534"));
	assert_int_equal(tokenfile_dir_check(dir, 65534, &e), 0);
	assert_int_equal(chmod(base, 0755), 0); /* for uid 1000 to reach */
	assert_int_equal(seteuid(1000), 0);
	assert_int_equal(tokenfile_write(dir, "mail", "evil", 4, getgid(), &e),
			 -1);
	assert_int_equal(seteuid(0), 0);
	assert_non_null(strstr(e.msg, "belongs to uid 65534, not to the user "
				      "that writes the tokens (uid 1000)"));
	read_back(buf, sizeof(buf));
	assert_string_equal(buf, "tok-two\n");
	/* Root's own, closed, is fine for any writer; open, it is not. */
	assert_int_equal(chown(dir, 0, (gid_t)-1), 0);
	assert_int_equal(tokenfile_dir_check(dir, 1000, &e), 0);
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(tokenfile_dir_check(dir, 1000, &e), -1);
	assert_null(strstr(e.msg, "secretwatch does"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_mode_group_dir, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_replace_keeps_directory, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_interrupted_write, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_expiry_and_remove, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_bad_names_and_group, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(
		test_open_directory_repaired_or_refused, setup, teardown),
	};
	secmem_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
