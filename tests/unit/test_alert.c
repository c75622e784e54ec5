/* The alert channel table, the shared wording, the webhook JSON body, the
 * log channel (plain and journald lines) and the exec channel (the
 * environment a program gets, and what it does not get). The network
 * channels against the stand-in servers are in test_alert_net.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <cmocka.h>

#include "slurp.h"

#include "alert.h"
#include "config.h"
#include "cred.h"

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */
#define DAY 86400LL
#define KEY "11111111-2222-3333-4444-555555555555"

static const struct alert sample = {
    .event = ALERT_EXPIRY_WARNING,
    .credential = "mail-alerts",
    .hint = "abc",
    .key_id = KEY,
    .expires_at = NOW + 7 * DAY,
    .days_left = 7,
    .level = "warning",
    .message = "The client secret abc~ of mail-alerts expires on "
	       "2026-01-08. Create a new secret in Entra, then run:\n"
	       "  secretwatch secret add mail-alerts --expires 2027-01-08",
};

static char tmpdir[256];

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw-test-alert-XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_table(void **state)
{
	static const char *const order[] = {"log", "email", "webhook", "exec"};
	const struct alert_channel *ch;
	struct config cfg;
	size_t n = 0;

	(void)state;
	ch = alert_channels(&n);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ch[i].name, order[i]);
		assert_non_null(ch[i].configured);
		assert_non_null(ch[i].send);
		assert_ptr_equal(alert_channel_find(order[i]), &ch[i]);
		/* Only mail needs the credential's own token. */
		assert_int_equal(ch[i].needs_token,
				 strcmp(order[i], "email") == 0);
	}
	assert_null(alert_channel_find("sms"));
	assert_null(alert_channel_find(""));
	assert_null(alert_channel_find(NULL));

	config_defaults(&cfg);
	assert_true(alert_channel_find("log")->configured(&cfg));
	assert_false(alert_channel_find("email")->configured(&cfg));
	assert_false(alert_channel_find("webhook")->configured(&cfg));
	assert_false(alert_channel_find("exec")->configured(&cfg));
	snprintf(cfg.email_to, sizeof(cfg.email_to), " , ");
	assert_false(alert_channel_find("email")->configured(&cfg));
	snprintf(cfg.email_to, sizeof(cfg.email_to),
		 "a@x.example, b@y.example");
	snprintf(cfg.webhooks[0].url, sizeof(cfg.webhooks[0].url),
		 "https://hooks.example/x");
	cfg.nwebhooks = 1;
	snprintf(cfg.alert_exec, sizeof(cfg.alert_exec), "/bin/true");
	assert_true(alert_channel_find("email")->configured(&cfg));
	assert_true(alert_channel_find("webhook")->configured(&cfg));
	assert_true(alert_channel_find("exec")->configured(&cfg));
}

/* Event names are what the outbox and every channel carry: they round
 * trip, and nothing else parses. */
static void test_event_names(void **state)
{
	static const char *const names[] = {
	    "expiry-warning",	      "expired",	 "switched",
	    "switch-failed",	      "health-failed",	 "token-file-failed",
	    "secret-removed",	      "rotation-failed", "deploy-failed",
	    "app-credential-expiring"};
	enum alert_event ev;

	(void)state;
	for (int i = 0; i < 10; i++) {
		assert_string_equal(alert_event_name((enum alert_event)i),
				    names[i]);
		assert_int_equal(alert_event_parse(names[i], &ev), 0);
		assert_int_equal(ev, i);
	}
	assert_string_equal(alert_event_name((enum alert_event)10), "unknown");
	assert_string_equal(alert_event_name((enum alert_event) - 1),
			    "unknown");
	assert_int_equal(alert_event_parse("Expired", &ev), -1);
	assert_int_equal(alert_event_parse("", &ev), -1);
	assert_int_equal(alert_event_parse(NULL, &ev), -1);
}

static void test_summary(void **state)
{
	struct alert a = sample;
	char s[ALERT_SUMMARY_MAX];

	(void)state;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: client secret abc~ expires in 7 "
			       "days");
	/* Days are rounded up: 1 is less than a day, 0 is at or after the
	 * expiry time. */
	a.days_left = 1;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: client secret abc~ expires "
			       "within a day");
	a.days_left = 0;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: client secret abc~ has expired");
	a.event = ALERT_EXPIRED;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: client secret abc~ has expired");
	a.event = ALERT_SWITCHED;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: switched to client secret abc~");
	a.certificate = true;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: switched to certificate abc~");
	a.certificate = false;
	a.event = ALERT_SWITCH_FAILED;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: new client secret abc~ failed its "
			       "test");
	a.event = ALERT_HEALTH_FAILED;
	a.hint = "";
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "mail-alerts: client secret with key ID " KEY
			       " failed its health check");
	/* Truncation keeps the string terminated. */
	alert_summary(&sample, s, 12);
	assert_string_equal(s, "mail-alerts");
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static void test_webhook_body(void **state)
{
	struct alert a = sample;
	const cJSON *days;
	cJSON *o;
	char *body;

	(void)state;
	body = alert_webhook_body(&a);
	assert_non_null(body);
	o = cJSON_Parse(body);
	assert_non_null(o);
	assert_int_equal(cJSON_GetArraySize(o), 9);
	assert_string_equal(jstr(o, "event"), "expiry-warning");
	assert_string_equal(jstr(o, "credential"), "mail-alerts");
	assert_string_equal(jstr(o, "hint"), "abc");
	assert_string_equal(jstr(o, "key_id"), KEY);
	assert_string_equal(jstr(o, "expires_at"), "2026-01-08T00:00:00Z");
	days = cJSON_GetObjectItemCaseSensitive(o, "days_left");
	assert_true(cJSON_IsNumber(days));
	assert_int_equal(days->valueint, 7);
	assert_string_equal(jstr(o, "level"), "warning");
	assert_string_equal(jstr(o, "message"), sample.message);
	assert_string_equal(jstr(o, "text"),
			    "[secretwatch] mail-alerts: client secret abc~ "
			    "expires in 7 days. The client secret abc~ of "
			    "mail-alerts expires on 2026-01-08. Create a new "
			    "secret in Entra, then run: secretwatch secret add "
			    "mail-alerts --expires 2027-01-08");
	assert_null(strchr(jstr(o, "text"), '\n'));
	cJSON_Delete(o);
	free(body);

	/* Quotes, backslashes and control characters survive as JSON. */
	a.message = "say \"hi\" \\ \t done\r\n";
	a.key_id = NULL;
	a.days_left = -2;
	body = alert_webhook_body(&a);
	assert_non_null(body);
	assert_null(strchr(body, '\n'));
	o = cJSON_Parse(body);
	assert_non_null(o);
	assert_string_equal(jstr(o, "message"), "say \"hi\" \\ \t done\r\n");
	assert_string_equal(jstr(o, "key_id"), "");
	assert_int_equal(
	    cJSON_GetObjectItemCaseSensitive(o, "days_left")->valueint, -2);
	assert_string_equal(jstr(o, "text"),
			    "[secretwatch] mail-alerts: client secret abc~ has "
			    "expired. say \"hi\" \\ done");
	cJSON_Delete(o);
	free(body);
}

/* An app's alert (the sweep): its summary names the app, the webhook
 * body carries the app, its ID, its portal link and the count, and a
 * Teams card a button to the app's credentials. */
static void test_app_alert(void **state)
{
	struct alert a = sample;
	char s[ALERT_SUMMARY_MAX], *body;
	cJSON *o;

	(void)state;
	a.event = ALERT_APP_EXPIRING;
	a.app = "Payroll Sync";
	a.app_id = KEY;
	a.link = "https://portal.azure.com/#view/x";
	a.count = 1;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "app Payroll Sync: client secret abc~ expires "
			       "in 7 days");
	a.count = 3;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "app Payroll Sync: 3 credentials expire, the "
			       "first in 7 days");
	a.count = 1;
	a.days_left = 0;
	alert_summary(&a, s, sizeof(s));
	assert_string_equal(s, "app Payroll Sync: client secret abc~ has "
			       "expired");
	body = alert_webhook_body(&a);
	o = cJSON_Parse(body);
	assert_non_null(o);
	assert_string_equal(jstr(o, "event"), "app-credential-expiring");
	assert_string_equal(jstr(o, "app"), "Payroll Sync");
	assert_string_equal(jstr(o, "app_id"), KEY);
	assert_string_equal(jstr(o, "link"), a.link);
	cJSON_Delete(o);
	free(body);
	body = alert_webhook_payload(&a, WEBHOOK_TEAMS);
	assert_non_null(strstr(body, "\"Action.OpenUrl\""));
	assert_non_null(strstr(body, "\"url\":\"https://portal.azure.com/"
				     "#view/x\""));
	assert_non_null(strstr(body, "\"title\":\"Application\","
				     "\"value\":\"Payroll Sync\""));
	free(body);
}

/* Run the log channel into a temp file and return what it wrote. */
static char *run_log_channel(const struct alert *a, const char *journal_stream,
			     bool match)
{
	struct alert_ctx ctx = {0};
	struct err e = {{0}};
	struct stat st;
	char js[64], *buf;
	FILE *f = tmpfile();
	long n;

	assert_non_null(f);
	if (match) {
		assert_int_equal(fstat(fileno(f), &st), 0);
		snprintf(js, sizeof(js), "%llu:%llu",
			 (unsigned long long)st.st_dev,
			 (unsigned long long)st.st_ino);
		journal_stream = js;
	}
	if (journal_stream != NULL)
		setenv("JOURNAL_STREAM", journal_stream, 1);
	else
		unsetenv("JOURNAL_STREAM");
	log_init(program_invocation_short_name, f);
	ctx.log = log_line;
	ctx.now = NOW;
	assert_int_equal(alert_channel_find("log")->send(a, &ctx, &e), 0);
	n = ftell(f);
	assert_true(n > 0);
	buf = calloc(1, (size_t)n + 1);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	unsetenv("JOURNAL_STREAM");
	log_init(program_invocation_short_name, stderr);
	return buf;
}

static void test_log(void **state)
{
	static const struct {
		enum alert_event event;
		const char *prefix;
	} prio[] = {
	    {ALERT_EXPIRY_WARNING, "<4>"}, {ALERT_EXPIRED, "<2>"},
	    {ALERT_HEALTH_FAILED, "<2>"},  {ALERT_SWITCH_FAILED, "<2>"},
	    {ALERT_SWITCHED, "<5>"},	   {ALERT_TOKEN_FILE_FAILED, "<2>"},
	};
	struct alert a = sample;
	char want[256];
	char *s;

	(void)state;
	/* Not under journald: one plain line with the program's name, and
	 * the message said once, not after a summary of itself. */
	s = run_log_channel(&a, NULL, false);
	snprintf(want, sizeof(want),
		 "%s: alert expiry-warning (warning): The client secret abc~ "
		 "of mail-alerts expires on 2026-01-08.",
		 program_invocation_short_name);
	assert_int_equal(strncmp(s, want, strlen(want)), 0);
	assert_non_null(strstr(s, "then run: secretwatch secret add"));
	assert_null(strstr(s, "client secret abc~ expires in 7 days"));
	assert_null(strstr(s, "days left"));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
	free(s);

	/* JOURNAL_STREAM naming another file: still plain. */
	s = run_log_channel(&a, "1:2", false);
	assert_int_equal(strncmp(s, want, strlen(want)), 0);
	free(s);
	s = run_log_channel(&a, "garbage", false);
	assert_int_equal(strncmp(s, want, strlen(want)), 0);
	free(s);

	/* Under journald: the priority prefix, no name (journald adds it). */
	for (size_t i = 0; i < sizeof(prio) / sizeof(prio[0]); i++) {
		a.event = prio[i].event;
		s = run_log_channel(&a, NULL, true);
		snprintf(want, sizeof(want), "%salert %s (warning): The ",
			 prio[i].prefix, alert_event_name(prio[i].event));
		assert_int_equal(strncmp(s, want, strlen(want)), 0);
		assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
		free(s);
	}

	/* Without a message: the summary and the fields. */
	a = sample;
	a.message = "";
	s = run_log_channel(&a, NULL, false);
	snprintf(want, sizeof(want),
		 "%s: alert expiry-warning (warning): mail-alerts: client "
		 "secret abc~ expires in 7 days (key ID " KEY
		 ", expires 2026-01-08T00:00:00Z, 7 days left)\n",
		 program_invocation_short_name);
	assert_string_equal(s, want);
	free(s);
}

/* With timestamps on (the daemon), a line outside the journal starts
 * with the time; in the journal it does not (journald stamps it). */
static void test_log_stamps(void **state)
{
	char *s;

	(void)state;
	log_timestamps(true);
	s = run_log_channel(&sample, NULL, false);
	log_timestamps(false);
	assert_true(strlen(s) > 21);
	assert_true(s[4] == '-' && s[10] == 'T' && s[19] == 'Z' &&
		    s[20] == ' ');
	assert_int_equal(strncmp(s + 21, program_invocation_short_name,
				 strlen(program_invocation_short_name)),
			 0);
	free(s);
	log_timestamps(true);
	s = run_log_channel(&sample, NULL, true);
	log_timestamps(false);
	assert_int_equal(strncmp(s, "<4>alert expiry-warning", 23), 0);
	free(s);
}

/* A failing stream, or none, is a failed delivery. */
static void test_log_failures(void **state)
{
	struct alert_ctx ctx = {0};
	struct err e = {{0}};
	FILE *ro = fopen("/dev/null", "r");

	(void)state;
	assert_non_null(ro);
	log_init(program_invocation_short_name, ro);
	ctx.log = log_line;
	assert_int_equal(alert_channel_find("log")->send(&sample, &ctx, &e),
			 -1);
	assert_int_equal(strncmp(e.msg, "log: ", 5), 0);
	log_init(program_invocation_short_name, stderr);
	fclose(ro);

	/* No log at all: nowhere to write. */
	ctx.log = NULL;
	assert_int_equal(alert_channel_find("log")->send(&sample, &ctx, &e),
			 -1);
	assert_string_equal(e.msg, "log: nowhere to write");
}

/* What the log wrote to f since it was opened; f is closed. */
static char *drain(FILE *f)
{
	long n = ftell(f);
	char *buf;

	assert_true(n >= 0);
	buf = calloc(1, (size_t)n + 1);
	rewind(f);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return buf;
}

/* lib/log itself: the program's name or the journald priority, decided
 * at log_init; log_warn adds the errno text. */
static void test_log_module(void **state)
{
	struct stat st;
	char js[64], *s;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	unsetenv("JOURNAL_STREAM");
	log_init("swtest", f);
	errno = ENOENT;
	log_warn("cannot open %s", "x.conf");
	log_warnx("plain %d", 1);
	log_info("info");
	s = drain(f);
	assert_string_equal(s, "swtest: cannot open x.conf: "
			       "No such file or directory\n"
			       "swtest: plain 1\nswtest: info\n");
	free(s);

	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", js, 1);
	log_init("swtest", f);
	unsetenv("JOURNAL_STREAM"); /* decided at init, not per line */
	log_warnx("err");
	logit(LOG_WARNING, "warning");
	log_notice("notice");
	log_info("info");
	log_debug("debug");
	assert_int_equal(log_line(NULL, LOG_CRIT, "crit"), 0);
	s = drain(f);
	assert_string_equal(s, "<3>err\n<4>warning\n<5>notice\n<6>info\n"
			       "<7>debug\n<2>crit\n");
	free(s);
	log_init(program_invocation_short_name, stderr);
}

static void write_script(const char *path, const char *body)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0755), 0);
}

/* The lines of an `env` dump, one per variable, sorted by the caller's
 * expectations: every expected line present, nothing else. */
static void assert_env_exactly(const char *dump, const char *const *want,
			       size_t nwant)
{
	size_t lines = 0;

	for (const char *p = dump; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		bool found = false;

		/* A variable whose value has a newline spans lines: only the
		 * message does here, and its first line carries its name. */
		if (len > 0 && strchr(p, '=') != NULL &&
		    strchr(p, '=') < p + len) {
			for (size_t i = 0; i < nwant; i++)
				if (strncmp(p, want[i], strlen(want[i])) == 0)
					found = true;
			if (strncmp(p, "PWD=", 4) != 0) { /* sh sets it */
				if (!found)
					fprintf(stderr, "unexpected: %.*s\n",
						(int)len, p);
				assert_true(found);
				lines++;
			}
		}
		p += len + (nl != NULL);
	}
	assert_int_equal(lines, nwant);
}

/* tmpdir/name, read whole (NULL when missing). */
static char *slurp_in_tmp(const char *name)
{
	char path[400];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return slurp(path);
}

/* The exec channel set up to run tmpdir/alert.sh with body. */
static void exec_setup(struct config *cfg, struct alert_ctx *ctx,
		       const char *body)
{
	char script[400];

	config_defaults(cfg);
	snprintf(script, sizeof(script), "%s/alert.sh", tmpdir);
	write_script(script, body);
	snprintf(cfg->alert_exec, sizeof(cfg->alert_exec), "%s", script);
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->now = NOW;
	ctx->log = log_line;
}

static void test_exec(void **state)
{
	static const char *const want[] = {
	    "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n",
	    "SECRETWATCH_EVENT=expiry-warning\n",
	    "SECRETWATCH_CREDENTIAL=mail-alerts\n",
	    "SECRETWATCH_HINT=abc\n",
	    "SECRETWATCH_KEY_ID=" KEY "\n",
	    "SECRETWATCH_EXPIRES_AT=2026-01-08T00:00:00Z\n",
	    "SECRETWATCH_DAYS_LEFT=7\n",
	    "SECRETWATCH_LEVEL=warning\n",
	    "SECRETWATCH_MESSAGE=The client secret abc~ of "
	    "mail-alerts expires on 2026-01-08.",
	};
	char cmd[2048], *s;
	struct alert_ctx ctx;
	struct config cfg;
	struct err e = {{0}};
	int leak;

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "env > '%s/env'\n"
		 "echo \"$#\" > '%s/argc'\n"
		 "readlink /proc/$$/fd/0 > '%s/stdin'\n"
		 "ls /proc/$$/fd > '%s/fds'\n"
		 "exit 0\n",
		 tmpdir, tmpdir, tmpdir, tmpdir);
	exec_setup(&cfg, &ctx, cmd);

	/* A descriptor of ours without close-on-exec must not leak. */
	leak = dup2(STDERR_FILENO, 77);
	assert_int_equal(leak, 77);
	setenv("SW_TEST_PARENT_ONLY", "must-not-pass", 1);
	assert_int_equal(alert_channel_find("exec")->send(&sample, &ctx, &e),
			 0);
	close(leak);
	unsetenv("SW_TEST_PARENT_ONLY");

	s = slurp_in_tmp("env");
	assert_non_null(s);
	assert_env_exactly(s, want, sizeof(want) / sizeof(want[0]));
	assert_null(strstr(s, "SW_TEST_PARENT_ONLY"));
	assert_non_null(strstr(s, "  secretwatch secret add mail-alerts "
				  "--expires 2027-01-08\n"));
	free(s);
	s = slurp_in_tmp("argc");
	assert_string_equal(s, "0\n");
	free(s);
	s = slurp_in_tmp("stdin");
	assert_string_equal(s, "/dev/null\n");
	free(s);
	s = slurp_in_tmp("fds");
	assert_non_null(s);
	assert_null(strstr(s, "77"));
	free(s);
}

static void test_exec_failures(void **state)
{
	struct alert_ctx ctx;
	struct config cfg;
	struct err e = {{0}};

	(void)state;
	/* A non-zero exit is a failed delivery, named. */
	exec_setup(&cfg, &ctx, "exit 3\n");
	assert_int_equal(alert_channel_find("exec")->send(&sample, &ctx, &e),
			 -1);
	assert_non_null(strstr(e.msg, "exited with status 3"));
	assert_non_null(strstr(e.msg, cfg.alert_exec));

	/* A program that is not there. */
	snprintf(cfg.alert_exec, sizeof(cfg.alert_exec), "%s/missing", tmpdir);
	assert_int_equal(alert_channel_find("exec")->send(&sample, &ctx, &e),
			 -1);
	assert_non_null(strstr(e.msg, "cannot run it"));

	/* Not configured. */
	cfg.alert_exec[0] = '\0';
	assert_int_equal(alert_channel_find("exec")->send(&sample, &ctx, &e),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_event_names),
	    cmocka_unit_test(test_summary),
	    cmocka_unit_test(test_webhook_body),
	    cmocka_unit_test(test_app_alert),
	    cmocka_unit_test(test_log),
	    cmocka_unit_test(test_log_stamps),
	    cmocka_unit_test(test_log_module),
	    cmocka_unit_test(test_log_failures),
	    cmocka_unit_test(test_exec),
	    cmocka_unit_test(test_exec_failures),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
