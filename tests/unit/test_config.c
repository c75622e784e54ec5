#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char path[] = "/tmp/sw-config-XXXXXX";
/* An existing file for ca_file: a missing one is refused at load. */
static char ca[] = "/tmp/sw-config-ca-XXXXXX";

static int load(const char *text, struct config *cfg, struct err *e)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return config_load(path, cfg, e);
}

static void test_defaults(void **state)
{
	struct config cfg;
	struct err e;

	(void)state;
	assert_int_equal(config_load(NULL, &cfg, &e), 0);
	assert_string_equal(cfg.database, CONFIG_DEFAULT_DATABASE);
	assert_int_equal(cfg.interval, 3600);
	assert_int_equal(cfg.nwarn_days, 5);
	assert_int_equal(cfg.warn_days[0], 30);
	assert_int_equal(cfg.warn_days[4], 1);
	assert_int_equal(cfg.switch_retry, 120);
	assert_int_equal(cfg.switch_window, 1800);
}

static void test_all_keys(void **state)
{
	char text[1024];
	struct config cfg;
	struct err e;

	(void)state;
	snprintf(text, sizeof(text),
		 "[store]\ndatabase = /var/x.db\nkey_file = k.key\n"
		 "[watch]\ninterval = 10m\nwarn_days = 7, 30 ,1\n"
		 "level_warning = 20d\nlevel_critical = 5d\n"
		 "test_active_every = 12h\nswitch_retry = 1m\n"
		 "switch_window = 1h\n"
		 "[alerts]\nemail_to = a@x.com, b@y.org\n"
		 "webhook_url = https://hooks.example.com/x\nexec = /bin/true\n"
		 "[tls]\nca_file = %s\n"
		 "[metrics]\ntextfile = /tmp/m.prom\n"
		 "[deploy]\nhook = /usr/local/bin/deploy\n"
		 "[sweep]\nwarn_days = 60,30,14,7,1,0\ninterval = 12h\n"
		 "exclude = \"Pay*\", 11111111-2222-3333-4444-555555555555\n",
		 ca);
	assert_int_equal(load(text, &cfg, &e), 0);
	/* 0, the expiry itself, is a step whether listed or not. */
	assert_int_equal(cfg.nsweep_warn_days, 5);
	assert_int_equal(cfg.sweep_warn_days[4], 1);
	assert_int_equal(cfg.sweep_interval, 12 * 3600);
	assert_string_equal(cfg.ca_file, ca);
	assert_string_equal(cfg.database, "/var/x.db");
	assert_string_equal(cfg.key_file, "/tmp/k.key"); /* beside the file */
	assert_int_equal(cfg.interval, 600);
	assert_int_equal(cfg.nwarn_days, 3);
	assert_int_equal(cfg.warn_days[0], 30);
	assert_int_equal(cfg.warn_days[2], 1);
	assert_int_equal(cfg.level_critical, 5 * 86400);
	assert_string_equal(cfg.email_to, "a@x.com, b@y.org");
	assert_string_equal(cfg.deploy_hook, "/usr/local/bin/deploy");
}

static void test_errors_name_file_line_key(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} bad[] = {
	    {"[watch]\ninterval = 5\n", ":2: [watch] interval"},
	    {"[watch]\n\nbogus = 1\n", ":3: [watch] bogus: unknown key"},
	    {"[alerts]\nemail_to = not-an-address\n", ":2: [alerts] email_to"},
	    {"[alerts]\nwebhook_url = http://x\n", ":2: [alerts] webhook_url"},
	    {"[watch]\nwarn_days = 30,x\n", ":2: [watch] warn_days"},
	    {"[watch]\nwarn_days = 7,7\n", "listed twice"},
	    {"[sweep]\nexclude = \"App[12]\"\n", ":2: [sweep] exclude"},
	    {"[sweep]\nwarn_days = -1\n", ":2: [sweep] warn_days"},
	    {"[watch]\nlevel_critical = 40d\n", "level_critical"},
	    {"this is not ini\n", ":1: not a 'key = value' line"},
	    {"[watch]\ninterval = 1h\ninterval = 2h\n",
	     ":3: [watch] interval: given twice"},
	    {"[watch]\nwarn_days = 30,\n 14\n", ":3: a line starting with "
						"a blank"},
	    {"[watch]\nwarn_days =\n", ":2: [watch] warn_days: '' holds no"},
	    {"[watch]\nwarn_days = ,,,\n", ":2: [watch] warn_days"},
	    {"interval = 1h\n", ":1: key 'interval' comes before any"},
	    {"[watch\n", ":1: a section header must end"},
	    {"[watch]\n= 1h\n", ":2: a line without a key"},
	    {"[tls]\nca_file = /dev/null\n[tls]\nca_file = /dev/null\n",
	     ":4: [tls] ca_file: given twice"},
	    {"[tls]\nca_file = /nonexistent/ca.pem\n",
	     ":2: [tls] ca_file: /nonexistent/ca.pem: no such file"},
	    {"[tls]\nca_file = /tmp\n", ":2: [tls] ca_file: /tmp is a "
					"directory"},
	    {"[alert]\nemail_to = a@x.com\n",
	     ":2: unknown section [alert]; did you mean [alerts]?"},
	    {"[ldap]\nuri = x\n", ":2: unknown section [ldap]; see "},
	    {"[alerts]\nemail = a@x.com\n",
	     ":2: [alerts] email: unknown key; did you mean email_to?"},
	};
	struct config cfg;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(load(bad[i].text, &cfg, &e), -1);
		if (strstr(e.msg, bad[i].want) == NULL)
			fail_msg("%s: got '%s'", bad[i].want, e.msg);
		assert_non_null(strstr(e.msg, path));
	}
}

/* Lines longer than other readers allow, a byte order mark, comments and
 * CRLF line ends all load. */
static void test_long_lines_and_comments(void **state)
{
	static char text[16384];
	struct config cfg;
	struct err e;
	int n;

	(void)state;
	n = snprintf(text, sizeof(text),
		     "\xef\xbb\xbf# comment\r\n[store]\r\n; another\r\n"
		     "database = /var/lib/%0*d.db\r\n",
		     3000, 7);
	assert_true(n > 3000 && n < (int)sizeof(text));
	assert_int_equal(load(text, &cfg, &e), 0);
	assert_int_equal(strlen(cfg.database), strlen("/var/lib/.db") + 3000);
}

static void test_directory_is_refused(void **state)
{
	struct config cfg;
	struct err e;

	(void)state;
	assert_int_equal(config_load("/tmp", &cfg, &e), -1);
	assert_non_null(strstr(e.msg, "not a regular file"));
}

static void test_missing_file(void **state)
{
	struct config cfg;
	struct err e;

	(void)state;
	assert_int_equal(config_load("/nonexistent/sw.conf", &cfg, &e), -1);
	assert_non_null(strstr(e.msg, "cannot read config"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_keys),
	    cmocka_unit_test(test_errors_name_file_line_key),
	    cmocka_unit_test(test_long_lines_and_comments),
	    cmocka_unit_test(test_directory_is_refused),
	    cmocka_unit_test(test_missing_file),
	};
	int fd = mkstemp(path), fd2 = mkstemp(ca), rc;

	if (fd < 0 || fd2 < 0)
		return 1;
	close(fd);
	close(fd2);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	unlink(ca);
	return rc;
}
