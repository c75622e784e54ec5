/* SMTP reply lines and dialogue tracking against the Exchange Online
 * transcripts of PROTOCOL.md §3.3/§3.4 and §7(b); the test message
 * builder; the send's refusals that need no server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "smtp.h"

#define NOW 1767225600LL /* Thu, 1 Jan 2026 00:00:00 UTC */
#define D                                                                      \
	"[FAKE01CA0001.namprd00.prod.outlook.com 2026-01-01T00:00:00.000Z "    \
	"08DE000000000001]"

static void test_parse_line(void **state)
{
	char enh[16];
	size_t off;
	bool more;
	int code;
	const char *l;

	(void)state;
	l = "250-SIZE 157286400\r\n";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_int_equal(code, 250);
	assert_true(more);
	assert_string_equal(enh, "");
	assert_string_equal(l + off, "SIZE 157286400\r\n");

	l = "535 5.7.3 Authentication unsuccessful " D;
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_int_equal(code, 535);
	assert_false(more);
	assert_string_equal(enh, "5.7.3");
	assert_int_equal(strncmp(l + off, "Authentication", 14), 0);

	l = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
	    "is disabled for the Mailbox.";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_string_equal(enh, "5.7.139");

	l = "334 ";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_int_equal(code, 334);
	assert_false(more);
	assert_int_equal(off, 4);
	l = "334";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_int_equal(off, 3);

	l = "250 2.0.0";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_string_equal(enh, "2.0.0");
	assert_int_equal(off, strlen(l));

	/* Not enhanced statuses. */
	l = "250 8BITMIME";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_string_equal(enh, "");
	l = "250 2.0.0000 x";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_string_equal(enh, "");
	l = "550 3.1.1 x";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_string_equal(enh, "");
	l = "550 5.1.10x";
	assert_int_equal(smtp_parse_line(l, strlen(l), &code, &more, enh, &off),
			 0);
	assert_string_equal(enh, "");

	/* Not reply lines. */
	assert_int_equal(smtp_parse_line("", 0, &code, &more, enh, &off), -1);
	assert_int_equal(smtp_parse_line("25", 2, &code, &more, enh, &off), -1);
	assert_int_equal(smtp_parse_line("abc", 3, &code, &more, enh, &off),
			 -1);
	assert_int_equal(smtp_parse_line("2500 x", 6, &code, &more, enh, &off),
			 -1);
	assert_int_equal(smtp_parse_line("250x", 4, &code, &more, enh, &off),
			 -1);
	assert_int_equal(smtp_parse_line("650 x", 5, &code, &more, enh, &off),
			 -1);
	assert_int_equal(smtp_parse_line("050 x", 5, &code, &more, enh, &off),
			 -1);
}

static void feed(struct smtp_result *r, const char *const *lines)
{
	for (; *lines != NULL; lines++)
		smtp_result_feed(r, *lines, strlen(*lines));
}

#define PRE_TLS                                                                \
	"220 FAKE01CA0001.outlook.office365.com Microsoft ESMTP MAIL Service " \
	"ready at Thu, 1 Jan 2026 00:00:00 +0000 [08DE000000000001]\r\n",      \
	    "250-FAKE01CA0001.outlook.office365.com Hello [127.0.0.1]\r\n",    \
	    "250-SIZE 157286400\r\n", "250-PIPELINING\r\n", "250-DSN\r\n",     \
	    "250-ENHANCEDSTATUSCODES\r\n", "250-STARTTLS\r\n",                 \
	    "250-8BITMIME\r\n", "250-BINARYMIME\r\n", "250-CHUNKING\r\n",      \
	    "250 SMTPUTF8\r\n"
#define TLS_EHLO                                                               \
	"220 2.0.0 SMTP server ready\r\n",                                     \
	    "250-FAKE01CA0001.outlook.office365.com Hello [127.0.0.1]\r\n",    \
	    "250-SIZE 157286400\r\n", "250-PIPELINING\r\n", "250-DSN\r\n",     \
	    "250-ENHANCEDSTATUSCODES\r\n", "250-AUTH LOGIN XOAUTH2\r\n",       \
	    "250-8BITMIME\r\n", "250-BINARYMIME\r\n", "250-CHUNKING\r\n",      \
	    "250 SMTPUTF8\r\n"

/* The 2025 transcript of §3.3 with a good end (§3.4). */
static void test_transcript_success(void **state)
{
	static const char *const lines[] = {
	    PRE_TLS,
	    TLS_EHLO,
	    "334 \r\n",
	    "235 2.7.0 Authentication successful\r\n",
	    "250 2.1.0 Sender OK\r\n",
	    "250 2.1.5 Recipient OK\r\n",
	    "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
	    "250 2.0.0 OK <m@x> [Hostname=SYBP282MB2635.AUSP282.PROD."
	    "OUTLOOK.COM]\r\n",
	    "221 2.0.0 Service closing transmission channel\r\n",
	    NULL,
	};
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	assert_int_equal(r.stage, SMTP_STAGE_CONNECT);
	feed(&r, lines);
	assert_true(r.starttls_offered);
	assert_true(r.tls);
	assert_true(r.auth_offered);
	assert_true(r.xoauth2_offered);
	assert_string_equal(r.auth_mechs, "LOGIN XOAUTH2");
	assert_true(r.authenticated);
	assert_int_equal(r.stage, SMTP_STAGE_END_OF_DATA);
	assert_int_equal(r.last.code, 250);
	assert_string_equal(r.last.enhanced, "2.0.0");
	assert_string_equal(
	    r.last.line, "250 2.0.0 OK <m@x> [Hostname=SYBP282MB2635.AUSP282."
			 "PROD.OUTLOOK.COM]");
	/* greeting, ehlo, starttls, ehlo, 334, 235, mail, rcpt, data, eod;
	 * QUIT's 221 does not count. */
	assert_int_equal(r.n_replies, 10);
}

static void test_transcript_535(void **state)
{
	static const char *const lines[] = {
	    PRE_TLS,
	    TLS_EHLO,
	    "334 \r\n",
	    "535 5.7.3 Authentication unsuccessful " D "\r\n",
	    "221 2.0.0 Service closing transmission channel\r\n",
	    NULL,
	};
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	feed(&r, lines);
	assert_int_equal(r.stage, SMTP_STAGE_AUTH);
	assert_int_equal(r.last.code, 535);
	assert_string_equal(r.last.enhanced, "5.7.3");
	assert_string_equal(r.last.text, "Authentication unsuccessful " D);
	assert_false(r.authenticated);
}

/* No AUTH after TLS: libcurl skips AUTH and MAIL FROM gets 530. */
static void test_transcript_530(void **state)
{
	static const char *const lines[] = {
	    PRE_TLS,
	    "220 2.0.0 SMTP server ready\r\n",
	    "250-FAKE01CA0001.outlook.office365.com Hello [127.0.0.1]\r\n",
	    "250 SMTPUTF8\r\n",
	    "530 5.7.57 Client not authenticated to send mail. " D "\r\n",
	    NULL,
	};
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	feed(&r, lines);
	assert_true(r.tls);
	assert_false(r.auth_offered);
	assert_int_equal(r.stage, SMTP_STAGE_MAIL);
	assert_int_equal(r.last.code, 530);
	assert_string_equal(r.last.enhanced, "5.7.57");
}

static void test_transcript_end_of_data(void **state)
{
	static const char *const lines[] = {
	    PRE_TLS,
	    TLS_EHLO,
	    "334 \r\n",
	    "235 2.7.0 Authentication successful\r\n",
	    "250 2.1.0 Sender OK\r\n",
	    "250 2.1.5 Recipient OK\r\n",
	    "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
	    "554 5.2.252 SendAsDenied; a@x not allowed to send as b@x; "
	    "STOREDRV.Submission.Exception:SendAsDeniedException."
	    "MapiExceptionSendAsDenied; Failed to process message due to a "
	    "permanent exception with message [BeginDiagnosticData]Cannot "
	    "submit message. " D "\r\n",
	    NULL,
	};
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	feed(&r, lines);
	assert_int_equal(r.stage, SMTP_STAGE_END_OF_DATA);
	assert_int_equal(r.last.code, 554);
	assert_string_equal(r.last.enhanced, "5.2.252");
	assert_non_null(strstr(r.last.text, "SendAsDenied"));
}

static void test_transcript_432_and_421(void **state)
{
	static const char *const at_mail[] = {
	    PRE_TLS,
	    TLS_EHLO,
	    "334 \r\n",
	    "235 2.7.0 Authentication successful\r\n",
	    "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit "
	    "exceeded\r\n",
	    NULL,
	};
	static const char *const at_starttls[] = {
	    PRE_TLS,
	    "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please "
	    "upgrade/update your client to support TLS 1.2. Visit "
	    "https://aka.ms/smtp_auth_tls. " D "\r\n",
	    NULL,
	};
	static const char *const no_starttls[] = {
	    "220 x\r\n",
	    "250-x Hello\r\n",
	    "250 SMTPUTF8\r\n",
	    NULL,
	};
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	feed(&r, at_mail);
	assert_int_equal(r.stage, SMTP_STAGE_MAIL);
	assert_int_equal(r.last.code, 432);
	assert_string_equal(r.last.enhanced, "4.3.2");

	smtp_result_init(&r);
	feed(&r, at_starttls);
	assert_int_equal(r.stage, SMTP_STAGE_STARTTLS);
	assert_int_equal(r.last.code, 421);
	assert_string_equal(r.last.enhanced, "4.7.66");
	assert_false(r.tls);

	smtp_result_init(&r);
	feed(&r, no_starttls);
	assert_false(r.starttls_offered);
	assert_int_equal(r.stage, SMTP_STAGE_EHLO);
}

/* STARTTLS and AUTH are only believed where they count: STARTTLS before
 * TLS, AUTH after it. */
static void test_capabilities_by_phase(void **state)
{
	static const char *const lines[] = {
	    "220 x\r\n",
	    "250-x\r\n",
	    "250-AUTH PLAIN XOAUTH2\r\n",
	    "250 STARTTLS\r\n",
	    "220 2.0.0 ready\r\n",
	    "250-x\r\n",
	    "250-STARTTLS\r\n",
	    "250 AUTH=LOGIN PLAIN\r\n",
	    NULL,
	};
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	feed(&r, lines);
	assert_true(r.starttls_offered);
	assert_true(r.auth_offered);
	assert_false(r.xoauth2_offered);
	assert_string_equal(r.auth_mechs, "LOGIN PLAIN");
	assert_int_equal(r.stage, SMTP_STAGE_EHLO);
}

/* Multi-line replies are joined; control characters never pass. */
static void test_multiline_and_control(void **state)
{
	static const char *const lines[] = {
	    "220 x\r\n",
	    "550-5.7.60 first part\r\n",
	    "550 5.7.60 second\x1b[31m part\r\n",
	    NULL,
	};
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	feed(&r, lines);
	assert_int_equal(r.last.code, 550);
	assert_string_equal(r.last.enhanced, "5.7.60");
	assert_string_equal(r.last.text, "first part second?[31m part");
	assert_string_equal(r.last.line, "550 5.7.60 second?[31m part");
	/* Junk between replies is ignored. */
	smtp_result_feed(&r, "hello", 5);
	assert_int_equal(r.last.code, 550);
}

static void test_stage_names(void **state)
{
	(void)state;
	assert_string_equal(smtp_stage_name(SMTP_STAGE_END_OF_DATA),
			    "end-of-data");
	assert_string_equal(smtp_stage_name(SMTP_STAGE_TLS), "tls");
	assert_string_equal(smtp_stage_name((enum smtp_stage)99), "unknown");
}

/* ------------------------------------------------------------------ */

static const struct smtp_message good_msg = {
    .from = "alerts@contoso.com",
    .to = "ops@contoso.com",
    .cred_name = "mail-prod",
    .hint = "Ab~",
    .key_id = "f0b0b335-1d71-4883-8f98-567911bfdca6",
    .host = "mon1.example.org",
    .message_id = "<fixed.1@contoso.com>",
    .now = NOW,
};

static void test_build_message(void **state)
{
	char *msg = NULL, *body;
	size_t len = 0;
	struct err e;

	(void)state;
	assert_int_equal(smtp_build_message(&good_msg, &msg, &len, &e), 0);
	assert_non_null(msg);
	assert_int_equal(len, strlen(msg));
	assert_int_equal(
	    strncmp(msg,
		    "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
		    "Message-ID: <fixed.1@contoso.com>\r\n"
		    "From: <alerts@contoso.com>\r\n"
		    "To: <ops@contoso.com>\r\n"
		    "Subject: secretwatch test: credential mail-prod, "
		    "secret Ab~~\r\n"
		    "MIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=UTF-8\r\n",
		    strlen("Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
			   "Message-ID: <fixed.1@contoso.com>\r\n"
			   "From: <alerts@contoso.com>\r\n"
			   "To: <ops@contoso.com>\r\n"
			   "Subject: secretwatch test: credential "
			   "mail-prod, secret Ab~~\r\n"
			   "MIME-Version: 1.0\r\n"
			   "Content-Type: text/plain; charset=UTF-8\r\n")),
	    0);
	body = strstr(msg, "\r\n\r\n");
	assert_non_null(body);
	assert_non_null(strstr(body, "secretwatch on mon1.example.org"));
	assert_non_null(strstr(body, "Credential: mail-prod\r\n"));
	assert_non_null(strstr(
	    body, "hint Ab~, key ID f0b0b335-1d71-4883-8f98-567911bfdca6"));
	assert_non_null(strstr(body, "Tested at:  2026-01-01T00:00:00Z\r\n"));
	assert_non_null(strstr(body, "XOAUTH2"));
	/* Every line ends in CRLF and fits the 998 limit. */
	for (size_t i = 0, col = 0; i < len; i++, col++) {
		if (msg[i] == '\n') {
			assert_true(i > 0 && msg[i - 1] == '\r');
			col = 0;
		}
		if (msg[i] == '\r')
			assert_true(msg[i + 1] == '\n');
		assert_true(col < 998);
	}
	assert_true(len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n');
	free(msg);
}

static void test_build_message_generated_id(void **state)
{
	struct smtp_message m = good_msg;
	char *a = NULL, *b = NULL, *p;
	size_t la, lb;
	struct err e;

	(void)state;
	m.message_id = NULL;
	m.key_id = NULL;
	m.host = NULL;
	m.hint = "";
	assert_int_equal(smtp_build_message(&m, &a, &la, &e), 0);
	assert_int_equal(smtp_build_message(&m, &b, &lb, &e), 0);
	p = strstr(a, "Message-ID: <secretwatch.1767225600.");
	assert_non_null(p);
	p += strlen("Message-ID: <secretwatch.1767225600.");
	assert_int_equal(strspn(p, "0123456789abcdef"), 32);
	assert_int_equal(strncmp(p + 32, "@contoso.com>\r\n", 15), 0);
	assert_string_not_equal(a, b); /* random part differs */
	assert_non_null(strstr(a, "secret (no hint)\r\n"));
	assert_non_null(strstr(a, "from secretwatch.\r\n"));
	assert_null(strstr(a, "key ID"));
	free(a);
	free(b);
}

/* No field can add a header or a recipient. */
static void test_build_message_injection(void **state)
{
	struct smtp_message m;
	char *msg = (char *)0x1;
	size_t len;
	struct err e;
	static const char *const bad_addrs[] = {
	    "a@b.c\r\nBcc: evil@x",
	    "a@b.c\nBcc: evil@x",
	    "a b@c.d",
	    "<a@b.c>",
	    "a@b.c, evil@x",
	    "a@b.c;evil@x",
	    "\"a\"@b.c",
	    "ab.c",
	    "@b.c",
	    "a@",
	    "a@b@c",
	    "",
	    "a@b.c\x7f",
	    "\xc3\xa9@b.c",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
		m = good_msg;
		m.from = bad_addrs[i];
		assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
		m = good_msg;
		m.to = bad_addrs[i];
		assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	}
	m = good_msg;
	m.cred_name = "x\r\nBcc: evil@x";
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	m = good_msg;
	m.cred_name = "";
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	m = good_msg;
	m.hint = "a\nb";
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	m = good_msg;
	m.hint = NULL;
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	m = good_msg;
	m.key_id = "k\r\nX-Evil: 1";
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	m = good_msg;
	m.message_id = "<a@b>\r\nBcc: evil@x";
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	m = good_msg;
	m.host = "host\r\nX: y";
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	m = good_msg;
	m.now = -100000000000LL;
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	assert_int_equal(smtp_build_message(NULL, &msg, &len, &e), -1);
	assert_ptr_equal(msg, (char *)0x1); /* untouched on failure */
}

/* Refusals that happen before any connection. */
static void test_send_refusals(void **state)
{
	static const char m[] = "Subject: x\r\n\r\nx\r\n";
	struct smtp_send s = {
	    .url = "smtp://127.0.0.1:9",
	    .sender = "alerts@contoso.com",
	    .rcpt = "ops@contoso.com",
	    .token = "tok",
	    .message = m,
	    .message_len = sizeof(m) - 1,
	};
	struct smtp_send t;
	struct smtp_result r;

	(void)state;
	t = s;
	t.sender = "";
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	assert_non_null(strstr(r.summary, "no sender"));
	assert_int_equal(r.n_replies, 0);
	assert_int_equal(r.curl_code, 0);
	t = s;
	t.sender = NULL;
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	t = s;
	t.url = "smtps://127.0.0.1:465";
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	assert_non_null(strstr(r.summary, "smtp://"));
	t = s;
	t.url = "http://127.0.0.1:9";
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	t = s;
	t.url = "smtp:///x";
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	t = s;
	t.rcpt = "ops@contoso.com>\r\nRCPT TO:<evil@x";
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	t = s;
	t.token = "";
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	t = s;
	t.message_len = 0;
	assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
	assert_int_equal(smtp_send_message(NULL, NULL, &r), -1);
	assert_false(r.ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_line),
	    cmocka_unit_test(test_transcript_success),
	    cmocka_unit_test(test_transcript_535),
	    cmocka_unit_test(test_transcript_530),
	    cmocka_unit_test(test_transcript_end_of_data),
	    cmocka_unit_test(test_transcript_432_and_421),
	    cmocka_unit_test(test_capabilities_by_phase),
	    cmocka_unit_test(test_multiline_and_control),
	    cmocka_unit_test(test_stage_names),
	    cmocka_unit_test(test_build_message),
	    cmocka_unit_test(test_build_message_generated_id),
	    cmocka_unit_test(test_build_message_injection),
	    cmocka_unit_test(test_send_refusals),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
