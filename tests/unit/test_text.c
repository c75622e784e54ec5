#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mail.h"
#include "path.h"
#include "text.h"

static void test_copy(void **state)
{
	char out[8];

	(void)state;
	text_copy(out, sizeof(out), "a\r\nb\0c\x7f", 7, '?');
	assert_string_equal(out, "a??b?c?");
	text_copy(out, sizeof(out), "0123456789", 10, '?');
	assert_string_equal(out, "0123456");
	text_copy(out, 1, "abc", 3, '?');
	assert_string_equal(out, "");
}

static void test_scrub_and_control(void **state)
{
	char s[] = "one\ttwo\nthree";

	(void)state;
	assert_true(text_has_control(s, strlen(s)));
	text_scrub(s, ' ');
	assert_string_equal(s, "one two three");
	assert_false(text_has_control(s, strlen(s)));
	assert_false(text_has_control("h\xc3\xa9", 3));
}

static void test_oneline(void **state)
{
	char out[32], small[6];

	(void)state;
	text_oneline(out, sizeof(out), "  a \r\n\t b  ", 11);
	assert_string_equal(out, "a b");
	text_oneline(out, sizeof(out), "x\0y", 3);
	assert_string_equal(out, "x");
	text_oneline(small, sizeof(small), "abcd efgh", 9);
	assert_string_equal(small, "abcd");
}

/* What acts on a terminal is escaped, whatever its encoding: C0 and C1
 * controls, a lone 0x9b (CSI to an 8-bit terminal), bidirectional
 * overrides, malformed UTF-8; text that only shows is kept. */
static void test_escape_for_terminal(void **state)
{
	static const struct {
		const char *in;
		int lines;
		const char *out;
	} cases[] = {
	    {"plain text", 0, "plain text"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91", 0,
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91"},
	    {"a\x1b[31mb", 0, "a\\x1b[31mb"},
	    {"a\x9b"
	     "31mb",
	     0, "a\\x9b31mb"},
	    {"a\xc2\x9b"
	     "31mb",
	     0, "a\\xc2\\x9b31mb"},
	    {"x\xe2\x80\xaey", 0, "x\\xe2\\x80\\xaey"},
	    {"x\xe2\x81\xa6y", 0, "x\\xe2\\x81\\xa6y"},
	    {"one\ntwo\tthree", 0, "one\\x0atwo\\x09three"},
	    {"one\ntwo\tthree", 1, "one\ntwo\tthree"},
	    {"cr\rdel\x7f", 1, "cr\\x0ddel\\x7f"},
	    {"\xc0\xaf \xed\xa0\x80 \xe2\x82", 0,
	     "\\xc0\\xaf \\xed\\xa0\\x80 \\xe2\\x82"},
	};
	char out[128], small[8];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text_escape(out, sizeof(out), cases[i].in, cases[i].lines);
		assert_string_equal(out, cases[i].out);
	}
	/* Cut at a whole escape or character, never inside one. */
	text_escape(small, sizeof(small), "ab\x1b\x1b", 0);
	assert_string_equal(small, "ab\\x1b");
	text_escape(small, sizeof(small), "abcde\xe2\x82\xac", 0);
	assert_string_equal(small, "abcde");
	assert_int_equal(text_hostile_len("\x9b", 1), 1);
	assert_int_equal(text_hostile_len("\xe2\x80\xae", 1), 3);
	assert_int_equal(text_hostile_len("\n", 1), 0);
	assert_int_equal(text_hostile_len("\n", 0), 1);
	assert_int_equal(text_hostile_len("\xc3\xa9", 0), 0);
}

static void test_path_dir(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(path_dir("/etc/secretwatch/config", out, sizeof(out)),
			 0);
	assert_string_equal(out, "/etc/secretwatch");
	assert_int_equal(path_dir("config", out, sizeof(out)), 0);
	assert_string_equal(out, ".");
	assert_int_equal(path_dir("/config", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	assert_int_equal(path_dir("a/b", out, sizeof(out)), 0);
	assert_string_equal(out, "a");
	assert_int_equal(path_dir("/a/very/long/path", out, 4), -1);
	assert_string_equal(out, "");
}

static void test_mail_checks(void **state)
{
	char host[256];

	(void)state;
	assert_true(mail_addr_ok("alerts@contoso.com"));
	assert_false(mail_addr_ok("<alerts@contoso.com>"));
	assert_false(mail_addr_ok("a@b@c"));
	assert_false(mail_addr_ok("alerts@contoso.com\r\nBcc: x@y"));
	assert_true(mail_header_safe("credential mail-1"));
	assert_false(mail_header_safe("x\r\nBcc: y"));
	assert_false(mail_header_safe(NULL));
	assert_true(mail_token_safe("<id@host>"));
	assert_false(mail_token_safe("a b"));
	assert_false(mail_token_safe(""));
	assert_true(mail_hostname_ok("mx-1.example"));
	assert_false(mail_hostname_ok("bad_host"));
	mail_host_name("relay.example", host, sizeof(host));
	assert_string_equal(host, "relay.example");
	mail_host_name("bad host", host, sizeof(host));
	assert_string_equal(host, "");
}

static void test_mail_build(void **state)
{
	const struct mail_field extra[] = {{"X-Test", "1"}};
	struct mail_head h = {.what = "test",
			      .now = 1700000000,
			      .message_id = "<m@x>",
			      .from = "a@x.example",
			      .to = "b@y.example",
			      .subject = "hello",
			      .extra = extra,
			      .n_extra = 1};
	struct mail m;
	struct err e;
	char *msg;
	size_t len;

	(void)state;
	assert_int_equal(mail_begin(&m, &h, &e), 0);
	fputs("body\r\n", m.f);
	assert_int_equal(mail_end(&m, &msg, &len, &e), 0);
	assert_string_equal(msg, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
				 "Message-ID: <m@x>\r\n"
				 "From: <a@x.example>\r\n"
				 "To: <b@y.example>\r\n"
				 "Subject: hello\r\n"
				 "MIME-Version: 1.0\r\n"
				 "Content-Type: text/plain; charset=UTF-8\r\n"
				 "Content-Transfer-Encoding: 7bit\r\n"
				 "Auto-Submitted: auto-generated\r\n"
				 "X-Test: 1\r\n"
				 "\r\n"
				 "body\r\n");
	assert_int_equal(len, strlen(msg));
	free(msg);
	h.now = -1;
	assert_int_equal(mail_begin(&m, &h, &e), -1);
	assert_string_equal(e.msg, "test: the time is out of range");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy),
	    cmocka_unit_test(test_scrub_and_control),
	    cmocka_unit_test(test_oneline),
	    cmocka_unit_test(test_escape_for_terminal),
	    cmocka_unit_test(test_path_dir),
	    cmocka_unit_test(test_mail_checks),
	    cmocka_unit_test(test_mail_build),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
