/* The XOAUTH2 client plugin against libsasl2 alone: mechanism choice,
 * initial response bytes, error challenge, token files missing,
 * unreadable, empty, too long, expired, badly named; the token never in
 * the log. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "xoauth2_token.h"

#define USER "alerts@contoso.com"
#define SIG  "c2lnbmF0dXJl"

static char tokdir[] = "/tmp/xoauth2-test.XXXXXX";
static char emptydir[] = "/tmp/xoauth2-none.XXXXXX";
static char logbuf[16384];
static const char *cb_user = USER;
static const char *cb_pass = "mail";
static char tokens_written[8][512];
static int ntokens;

static int cb_log(void *ctx, int level, const char *msg)
{
	size_t used = strlen(logbuf);

	(void)ctx;
	(void)level;
	snprintf(logbuf + used, sizeof(logbuf) - used, "%s\n", msg);
	return SASL_OK;
}

static int cb_getopt(void *ctx, const char *plugin, const char *opt,
		     const char **res, unsigned *len)
{
	(void)ctx;
	(void)plugin;
	if (strcmp(opt, "xoauth2_token_dir") != 0)
		return SASL_FAIL;
	*res = tokdir;
	if (len)
		*len = (unsigned)strlen(tokdir);
	return SASL_OK;
}

static int cb_getpath(void *ctx, const char **path)
{
	const char *dir = getenv("XO_PLUGIN_DIR");

	(void)ctx;
	*path = dir ? dir : emptydir;
	return SASL_OK;
}

static int cb_simple(void *ctx, int id, const char **res, unsigned *len)
{
	(void)ctx;
	if (id != SASL_CB_AUTHNAME && id != SASL_CB_USER)
		return SASL_FAIL;
	*res = cb_user;
	if (len)
		*len = (unsigned)strlen(cb_user);
	return SASL_OK;
}

static int cb_secret(sasl_conn_t *conn, void *ctx, int id, sasl_secret_t **ret)
{
	static union {
		sasl_secret_t s;
		char buf[sizeof(sasl_secret_t) + 512];
	} sec;

	(void)conn;
	(void)ctx;
	if (id != SASL_CB_PASS)
		return SASL_FAIL;
	sec.s.len = strlen(cb_pass);
	memcpy(sec.s.data, cb_pass, sec.s.len + 1);
	*ret = &sec.s;
	return SASL_OK;
}

typedef int (*cbf)(void);
/* Callbacks are stored as int (*)(void); the detour through void (*)(void)
 * tells the compiler the cast is meant. */
#define CB(f) ((cbf)(void (*)(void))(f))

/* The plugin's entry point, linked in (see CMakeLists.txt). */
sasl_client_plug_init_t sasl_client_plug_init;
static sasl_callback_t global_cbs[] = {
    {SASL_CB_LOG, CB(cb_log), NULL},
    {SASL_CB_GETOPT, CB(cb_getopt), NULL},
    {SASL_CB_GETPATH, CB(cb_getpath), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};
static sasl_callback_t conn_cbs[] = {
    {SASL_CB_AUTHNAME, CB(cb_simple), NULL},
    {SASL_CB_PASS, CB(cb_secret), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* base64url without padding. */
static void b64url(const char *in, char *out)
{
	static const char a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t n = strlen(in), o = 0;
	unsigned long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | (unsigned char)in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[(acc >> bits) & 63];
		}
	}
	if (bits > 0)
		out[o++] = a[(acc << (6 - bits)) & 63];
	out[o] = '\0';
}

/* A JWT-shaped token expiring DELTA seconds from now, into OUT. */
static void make_jwt(long delta, char *out, size_t size)
{
	char payload[256], h[64], p[400];

	snprintf(payload, sizeof(payload),
		 "{\"aud\":\"https://outlook.office365.com\",\"exp\": %lld,"
		 "\"appid\":\"00000000-0000-0000-0000-000000000001\"}",
		 (long long)time(NULL) + delta);
	b64url("{\"alg\":\"RS256\",\"typ\":\"JWT\"}", h);
	b64url(payload, p);
	snprintf(out, size, "%s.%s." SIG, h, p);
	if (ntokens < 8)
		snprintf(tokens_written[ntokens++], 512, "%s", out);
}

static void write_file(const char *name, const char *data, size_t len)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tokdir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void write_token(const char *name, const char *tok)
{
	char buf[1024];

	snprintf(buf, sizeof(buf), "%s\n", tok);
	write_file(name, buf, strlen(buf));
}

static void remove_file(const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", tokdir, name);
	unlink(path);
}

/* sasl_client_start with MECHS; the result, *out and *mech. */
static int start(sasl_conn_t **conn, const char *mechs, const char **out,
		 unsigned *outlen, const char **mech)
{
	sasl_security_properties_t sp = {0};

	logbuf[0] = '\0';
	assert_int_equal(sasl_client_new("smtp", "smtp.office365.com", NULL,
					 NULL, conn_cbs, 0, conn),
			 SASL_OK);
	/* Postfix's default smtp_sasl_security_options. */
	sp.security_flags = SASL_SEC_NOPLAINTEXT | SASL_SEC_NOANONYMOUS;
	assert_int_equal(sasl_setprop(*conn, SASL_SEC_PROPS, &sp), SASL_OK);
	return sasl_client_start(*conn, mechs, NULL, out, outlen, mech);
}

static void assert_log_has(const char *what)
{
	if (!strstr(logbuf, what))
		fail_msg("log lacks \"%s\"; it is:\n%s", what, logbuf);
}

static void assert_no_token_logged(void)
{
	for (int i = 0; i < ntokens; i++)
		assert_null(strstr(logbuf, tokens_written[i]));
	assert_null(strstr(logbuf, SIG));
}

/* Starts and expects a failure with log line WHY. */
static void expect_fail(const char *why)
{
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *mech = NULL;
	unsigned outlen = 0;
	int rc = start(&conn, "XOAUTH2", &out, &outlen, &mech);

	assert_true(rc != SASL_OK && rc != SASL_CONTINUE);
	assert_log_has("XOAUTH2: cannot authenticate: ");
	assert_log_has(why);
	assert_no_token_logged();
	sasl_dispose(&conn);
}

static void test_mech_listed(void **state)
{
	sasl_conn_t *conn = NULL;
	const char *list = NULL;
	unsigned len = 0;
	int count = 0;

	(void)state;
	assert_int_equal(sasl_client_new("smtp", "smtp.office365.com", NULL,
					 NULL, conn_cbs, 0, &conn),
			 SASL_OK);
	assert_int_equal(
	    sasl_listmech(conn, NULL, "", " ", "", &list, &len, &count),
	    SASL_OK);
	assert_non_null(strstr(list, "XOAUTH2"));
	sasl_dispose(&conn);
}

static void test_initial_response(void **state)
{
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *mech = NULL;
	const void *who = NULL;
	char tok[512], want[1024];
	unsigned outlen = 0;

	(void)state;
	make_jwt(3600, tok, sizeof(tok));
	write_token("mail", tok);
	assert_int_equal(start(&conn, "LOGIN XOAUTH2", &out, &outlen, &mech),
			 SASL_CONTINUE);
	assert_string_equal(mech, "XOAUTH2");
	snprintf(want, sizeof(want), "user=" USER "\001auth=Bearer %s\001\001",
		 tok);
	assert_int_equal(outlen, strlen(want));
	assert_memory_equal(out, want, outlen);
	assert_int_equal(sasl_getprop(conn, SASL_AUTHUSER, &who), SASL_OK);
	assert_string_equal((const char *)who, USER);
	assert_no_token_logged();
	sasl_dispose(&conn);
}

static void test_name_from_username(void **state)
{
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *mech = NULL;
	char tok[512];
	unsigned outlen = 0;

	(void)state;
	cb_pass = "";
	make_jwt(600, tok, sizeof(tok));
	write_token(USER, tok);
	assert_int_equal(start(&conn, "XOAUTH2", &out, &outlen, &mech),
			 SASL_CONTINUE);
	assert_non_null(memmem(out, outlen, tok, strlen(tok)));
	sasl_dispose(&conn);
	remove_file(USER);
	cb_pass = "mail";
}

static void test_opaque_token(void **state)
{
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *mech = NULL;
	unsigned outlen = 0;

	(void)state;
	write_file("mail", "opaque-token-without-dots", 25);
	assert_int_equal(start(&conn, "XOAUTH2", &out, &outlen, &mech),
			 SASL_CONTINUE);
	assert_int_equal(outlen, strlen("user=" USER "\001auth=Bearer "
					"opaque-token-without-dots\001\001"));
	sasl_dispose(&conn);
}

static void test_error_challenge(void **state)
{
	static const char chal[] = "{\"status\":\"401\",\"schemes\":\"bearer\","
				   "\"scope\":\"https://outlook.office.com/\"}";
	sasl_conn_t *conn = NULL;
	const char *out = NULL, *mech = NULL;
	char tok[512];
	unsigned outlen = 0;
	int rc;

	(void)state;
	make_jwt(3600, tok, sizeof(tok));
	write_token("mail", tok);
	assert_int_equal(start(&conn, "XOAUTH2", &out, &outlen, &mech),
			 SASL_CONTINUE);
	out = "x";
	outlen = 99;
	rc =
	    sasl_client_step(conn, chal, sizeof(chal) - 1, NULL, &out, &outlen);
	assert_int_equal(rc, SASL_BADAUTH);
	assert_int_equal(outlen, 0);
	assert_log_has("XOAUTH2: the server refused the token "
		       "(error challenge, status 401)");
	assert_no_token_logged();
	sasl_dispose(&conn);
}

static void test_missing(void **state)
{
	(void)state;
	remove_file("mail");
	expect_fail("is missing");
	assert_log_has(tokdir);
	assert_log_has("/mail is missing");
}

static void test_empty(void **state)
{
	(void)state;
	write_file("mail", "\n", 1);
	expect_fail("/mail is empty");
	write_file("mail", "", 0);
	expect_fail("/mail is empty");
}

static void test_expired(void **state)
{
	char tok[512];

	(void)state;
	make_jwt(-120, tok, sizeof(tok));
	write_token("mail", tok);
	expect_fail("/mail holds an expired token (expired 2");
	assert_log_has("is secretwatchd running?");
}

static void test_too_long_and_blanks(void **state)
{
	char *big = malloc(XOAUTH2_TOKEN_MAX + 1);

	(void)state;
	assert_non_null(big);
	memset(big, 'a', XOAUTH2_TOKEN_MAX + 1);
	write_file("mail", big, XOAUTH2_TOKEN_MAX + 1);
	expect_fail("is larger than 64 KiB");
	free(big);
	write_file("mail", "two words\n", 10);
	expect_fail("holds a blank or control character");
}

static void test_not_a_file(void **state)
{
	char path[512];

	(void)state;
	remove_file("mail");
	snprintf(path, sizeof(path), "%s/mail", tokdir);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_fail("/mail is not a regular file");
	rmdir(path);
}

/* A token another local user could have swapped in is not sent: a file
 * of another owner, a hard link, a file or directory others may write. */
static void test_swapped_token_refused(void **state)
{
	char tok[512], path[512], other[512];

	(void)state;
	make_jwt(3600, tok, sizeof(tok));
	snprintf(path, sizeof(path), "%s/mail", tokdir);
	snprintf(other, sizeof(other), "%s/other", tokdir);

	write_token("mail", tok);
	assert_int_equal(chmod(path, 0660), 0);
	expect_fail("/mail is refused: its group or others may write it");
	assert_int_equal(chmod(path, 0646), 0);
	expect_fail("/mail is refused: its group or others may write it");

	write_token("mail", tok);
	assert_int_equal(link(path, other), 0);
	expect_fail("/mail is refused: it has other hard links");
	unlink(other);

	for (int i = 0; i < 2; i++) {
		mode_t m = i == 0 ? 0777 : 01777;

		write_token("mail", tok);
		assert_int_equal(chmod(tokdir, m), 0);
		expect_fail("/mail is refused: its directory may be written "
			    "by group or others");
		assert_int_equal(chmod(tokdir, 0775), 0);
		expect_fail("/mail is refused: its directory may be written");
		assert_int_equal(chmod(tokdir, 0755), 0);
	}

	/* A file of another owner (only root can make one). */
	write_token("mail", tok);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		expect_fail("/mail is refused: it belongs to neither the "
			    "directory's owner (the token writer) nor root");
	}
	/* The writer's own file, as it writes it, is sent. */
	write_token("mail", tok);
	{
		sasl_conn_t *conn = NULL;
		const char *out = NULL, *mech = NULL;
		unsigned outlen = 0;

		assert_int_equal(start(&conn, "XOAUTH2", &out, &outlen, &mech),
				 SASL_CONTINUE);
		sasl_dispose(&conn);
	}
}

static void test_bad_names(void **state)
{
	static const char *names[] = {"../mail", ".mail", "a/b", "."};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cb_pass = names[i];
		expect_fail("the name has an unusable name");
	}
	cb_pass = "mail";
}

/* An unreadable file: as another user when run as root (root reads any
 * file), else a mode 000 file. */
static void test_unreadable(void **state)
{
	char tok[512];
	pid_t pid;
	int status;

	(void)state;
	make_jwt(3600, tok, sizeof(tok));
	write_token("mail", tok);
	if (geteuid() != 0) {
		char path[512];

		snprintf(path, sizeof(path), "%s/mail", tokdir);
		chmod(path, 0);
		expect_fail("/mail is unreadable (Permission denied)");
		return;
	}
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(2);
		expect_fail("/mail is unreadable (Permission denied)");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_exp_parse(void **state)
{
	long long exp = 0;
	char tok[512];

	(void)state;
	make_jwt(100, tok, sizeof(tok));
	assert_int_equal(xoauth2_token_exp(tok, strlen(tok), &exp), 0);
	assert_true(exp > (long long)time(NULL));
	assert_int_equal(xoauth2_token_exp("a.b", 3, &exp), -1);
	assert_int_equal(xoauth2_token_exp("a..c", 4, &exp), -1);
	assert_int_equal(xoauth2_token_exp("a.eyJleHAiOiJ4In0.c", 19, &exp),
			 -1); /* {"exp":"x"} */
	assert_int_equal(xoauth2_token_exp("a.e$J.c", 7, &exp), -1);
	assert_true(xoauth2_token_name_ok("mail"));
	assert_false(xoauth2_token_name_ok(""));
	assert_false(xoauth2_token_name_ok(".x"));
	assert_false(xoauth2_token_name_ok("x/y"));
}

static int group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(tokdir) || !mkdtemp(emptydir))
		return -1;
	chmod(tokdir, 0755);
	if (sasl_client_init(global_cbs) != SASL_OK)
		return -1;
	if (getenv("XO_PLUGIN_DIR"))
		return 0;
	return sasl_client_add_plugin("xoauth2-secretwatch",
				      sasl_client_plug_init) == SASL_OK
		   ? 0
		   : -1;
}

static int group_teardown(void **state)
{
	char cmd[600];

	(void)state;
	sasl_done();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", tokdir, emptydir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mech_listed),
	    cmocka_unit_test(test_initial_response),
	    cmocka_unit_test(test_name_from_username),
	    cmocka_unit_test(test_opaque_token),
	    cmocka_unit_test(test_error_challenge),
	    cmocka_unit_test(test_missing),
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_expired),
	    cmocka_unit_test(test_too_long_and_blanks),
	    cmocka_unit_test(test_not_a_file),
	    cmocka_unit_test(test_swapped_token_refused),
	    cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_exp_parse),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
