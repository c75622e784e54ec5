/* SMTP reply lines and dialogue tracking against the Exchange Online
 * transcripts of docs/PROTOCOL.md §3.2 and §7; the test message
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

/* One reply line and what smtp_parse_line() must make of it. */
struct line_case {
	const char *line;
	int rc;
	int code;
	bool more;
	const char *enh;
	long off;	  /* -1: not checked */
	const char *rest; /* line + off; NULL: not checked */
};

static const struct line_case line_cases[] = {
    {"250-SIZE 157286400\r\n", 0, 250, true, "", 4, "SIZE 157286400\r\n"},
    {"535 5.7.3 Authentication unsuccessful " D, 0, 535, false, "5.7.3", -1,
     "Authentication unsuccessful " D},
    {"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication "
     "is disabled for the Mailbox.",
     0, 535, false, "5.7.139", -1,
     "Authentication unsuccessful, SmtpClientAuthentication is disabled "
     "for the Mailbox."},
    {"334 ", 0, 334, false, "", 4, ""},
    {"334", 0, 334, false, "", 3, ""},
    {"250 2.0.0", 0, 250, false, "2.0.0", 9, ""},
    /* Not enhanced statuses. */
    {"250 8BITMIME", 0, 250, false, "", 4, "8BITMIME"},
    {"250 2.0.0000 x", 0, 250, false, "", -1, NULL},
    {"550 3.1.1 x", 0, 550, false, "", -1, NULL},
    {"550 5.1.10x", 0, 550, false, "", -1, NULL},
    /* Not reply lines. */
    {.line = "", .rc = -1},
    {.line = "25", .rc = -1},
    {.line = "abc", .rc = -1},
    {.line = "2500 x", .rc = -1},
    {.line = "250x", .rc = -1},
    {.line = "650 x", .rc = -1},
    {.line = "050 x", .rc = -1},
};

static void test_parse_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]);
	     i++) {
		const struct line_case *lc = &line_cases[i];
		char enh[16];
		size_t off;
		bool more;
		int code;
		int rc = smtp_parse_line(lc->line, strlen(lc->line), &code,
					 &more, enh, &off);

		if (rc != lc->rc)
			fail_msg("\"%s\": %d, expected %d", lc->line, rc,
				 lc->rc);
		if (rc != 0)
			continue;
		assert_int_equal(code, lc->code);
		assert_int_equal(more, lc->more);
		assert_string_equal(enh, lc->enh);
		if (lc->off >= 0)
			assert_int_equal(off, lc->off);
		if (lc->rest != NULL)
			assert_string_equal(lc->line + off, lc->rest);
	}
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
#define AUTHED	   "334 \r\n", "235 2.7.0 Authentication successful\r\n"
#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

enum tri { ANY, NO, YES }; /* a flag: not checked, false, true */

/* A transcript fed to a fresh result, and where it must leave it. */
struct transcript_case {
	const char *name;
	const char *const *lines;
	enum smtp_stage stage;
	int code; /* of the last reply; 0: not checked */
	const char *enhanced;
	const char *text;     /* exact; NULL: not checked */
	const char *text_has; /* part of the text; NULL: not checked */
	const char *line;     /* exact; NULL: not checked */
	int n_replies;	      /* -1: not checked */
	enum tri starttls_offered, tls, auth_offered, xoauth2_offered,
	    authenticated;
	const char *auth_mechs; /* NULL: not checked */
};

static const struct transcript_case transcripts[] = {
    /* The 2025 transcript of docs/PROTOCOL.md §3.2 with a good end; QUIT's 221
     * does not count: greeting, ehlo, starttls, ehlo, 334, 235, mail, rcpt,
     * data, eod. */
    {"success",
     LINES(PRE_TLS, TLS_EHLO, AUTHED, "250 2.1.0 Sender OK\r\n",
	   "250 2.1.5 Recipient OK\r\n",
	   "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
	   "250 2.0.0 OK <m@x> [Hostname=SYBP282MB2635.AUSP282.PROD."
	   "OUTLOOK.COM]\r\n",
	   "221 2.0.0 Service closing transmission channel\r\n"),
     SMTP_STAGE_END_OF_DATA, 250, "2.0.0",
     .line = "250 2.0.0 OK <m@x> "
	     "[Hostname=SYBP282MB2635.AUSP282.PROD.OUTLOOK.COM]",
     .n_replies = 10, .starttls_offered = YES, .tls = YES, .auth_offered = YES,
     .xoauth2_offered = YES, .authenticated = YES,
     .auth_mechs = "LOGIN XOAUTH2"},
    {"535",
     LINES(PRE_TLS, TLS_EHLO, "334 \r\n",
	   "535 5.7.3 Authentication unsuccessful " D "\r\n",
	   "221 2.0.0 Service closing transmission channel\r\n"),
     SMTP_STAGE_AUTH, 535, "5.7.3", .text = "Authentication unsuccessful " D,
     .n_replies = -1, .starttls_offered = YES, .tls = YES, .auth_offered = YES,
     .xoauth2_offered = YES, .authenticated = NO},
    /* No AUTH after TLS: libcurl skips AUTH and MAIL FROM gets 530. */
    {"530",
     LINES(PRE_TLS, "220 2.0.0 SMTP server ready\r\n",
	   "250-FAKE01CA0001.outlook.office365.com Hello [127.0.0.1]\r\n",
	   "250 SMTPUTF8\r\n",
	   "530 5.7.57 Client not authenticated to send mail. " D "\r\n"),
     SMTP_STAGE_MAIL, 530, "5.7.57", .n_replies = -1, .starttls_offered = YES,
     .tls = YES, .auth_offered = NO, .xoauth2_offered = NO,
     .authenticated = NO},
    {"end of data",
     LINES(PRE_TLS, TLS_EHLO, AUTHED, "250 2.1.0 Sender OK\r\n",
	   "250 2.1.5 Recipient OK\r\n",
	   "354 Start mail input; end with <CRLF>.<CRLF>\r\n",
	   "554 5.2.252 SendAsDenied; a@x not allowed to send as b@x; "
	   "STOREDRV.Submission.Exception:SendAsDeniedException."
	   "MapiExceptionSendAsDenied; Failed to process message due to a "
	   "permanent exception with message [BeginDiagnosticData]Cannot "
	   "submit message. " D "\r\n"),
     SMTP_STAGE_END_OF_DATA, 554, "5.2.252", .text_has = "SendAsDenied",
     .n_replies = -1, .authenticated = YES},
    {"432 at mail",
     LINES(PRE_TLS, TLS_EHLO, AUTHED,
	   "432 4.3.2 STOREDRV.ClientSubmit; sender thread limit "
	   "exceeded\r\n"),
     SMTP_STAGE_MAIL, 432, "4.3.2", .n_replies = -1, .authenticated = YES},
    {"421 at starttls",
     LINES(PRE_TLS, "421 4.7.66 TLS 1.0 and 1.1 are not supported. Please "
		    "upgrade/update your client to support TLS 1.2. Visit "
		    "https://aka.ms/smtp_auth_tls. " D "\r\n"),
     SMTP_STAGE_STARTTLS, 421, "4.7.66", .n_replies = -1,
     .starttls_offered = YES, .tls = NO},
    {"no starttls", LINES("220 x\r\n", "250-x Hello\r\n", "250 SMTPUTF8\r\n"),
     SMTP_STAGE_EHLO, 250, "", .n_replies = 2, .starttls_offered = NO,
     .tls = NO},
    /* STARTTLS and AUTH are only believed where they count: STARTTLS
     * before TLS, AUTH after it. */
    {"capabilities by phase",
     LINES("220 x\r\n", "250-x\r\n", "250-AUTH PLAIN XOAUTH2\r\n",
	   "250 STARTTLS\r\n", "220 2.0.0 ready\r\n", "250-x\r\n",
	   "250-STARTTLS\r\n", "250 AUTH=LOGIN PLAIN\r\n"),
     SMTP_STAGE_EHLO, 250, .n_replies = 4, .starttls_offered = YES, .tls = YES,
     .auth_offered = YES, .xoauth2_offered = NO, .authenticated = NO,
     .auth_mechs = "LOGIN PLAIN"},
    /* Multi-line replies are joined; control characters never pass. */
    {"multi-line and control",
     LINES("220 x\r\n", "550-5.7.60 first part\r\n",
	   "550 5.7.60 second\x1b[31m part\r\n"),
     SMTP_STAGE_EHLO, 550, "5.7.60", .text = "first part second?[31m part",
     .line = "550 5.7.60 second?[31m part", .n_replies = 2},
};

static void flag_is(const char *name, const char *flag, bool got, enum tri want)
{
	if (want != ANY && got != (want == YES))
		fail_msg("%s: %s is %d", name, flag, got);
}

static void check_transcript(const struct transcript_case *tc,
			     const struct smtp_result *r)
{
	if (r->stage != tc->stage)
		fail_msg("%s: stage %s, expected %s", tc->name,
			 smtp_stage_name(r->stage), smtp_stage_name(tc->stage));
	if (tc->code != 0)
		assert_int_equal(r->last.code, tc->code);
	if (tc->enhanced != NULL)
		assert_string_equal(r->last.enhanced, tc->enhanced);
	if (tc->text != NULL)
		assert_string_equal(r->last.text, tc->text);
	if (tc->text_has != NULL)
		assert_non_null(strstr(r->last.text, tc->text_has));
	if (tc->line != NULL)
		assert_string_equal(r->last.line, tc->line);
	if (tc->n_replies >= 0)
		assert_int_equal(r->n_replies, tc->n_replies);
	flag_is(tc->name, "starttls_offered", r->starttls_offered,
		tc->starttls_offered);
	flag_is(tc->name, "tls", r->tls, tc->tls);
	flag_is(tc->name, "auth_offered", r->auth_offered, tc->auth_offered);
	flag_is(tc->name, "xoauth2_offered", r->xoauth2_offered,
		tc->xoauth2_offered);
	flag_is(tc->name, "authenticated", r->authenticated, tc->authenticated);
	if (tc->auth_mechs != NULL)
		assert_string_equal(r->auth_mechs, tc->auth_mechs);
}

static void test_transcripts(void **state)
{
	struct smtp_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(transcripts) / sizeof(transcripts[0]);
	     i++) {
		smtp_result_init(&r);
		assert_int_equal(r.stage, SMTP_STAGE_CONNECT);
		feed(&r, transcripts[i].lines);
		check_transcript(&transcripts[i], &r);
	}
	/* Junk between replies is ignored (r holds the last case, the
	 * multi-line one). */
	smtp_result_feed(&r, "hello", 5);
	assert_int_equal(r.last.code, 550);
}

/* XOAUTH2's error challenge, bytes in: a 334 whose text is the base64 of
 * a JSON object with "status" (Dovecot, Gmail); anything else is not one,
 * an empty 334 (Exchange's prompt) and LOGIN's prompts included. */
#define DOVECOT_CHALLENGE                                                      \
	"eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJodHRwczov" \
	"L291dGxvb2sub2ZmaWNlMzY1LmNvbS8uZGVmYXVsdCJ9"

static void test_xoauth2_challenge_parsed(void **state)
{
	static const struct {
		const char *text, *status, *schemes, *scope;
	} ok[] = {
	    {DOVECOT_CHALLENGE, "401", "bearer",
	     "https://outlook.office365.com/.default"},
	    {DOVECOT_CHALLENGE "\r\n", "401", "bearer",
	     "https://outlook.office365.com/.default"},
	    /* Gmail's, padded and not */
	    {"eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwc"
	     "zovL21haWwuZ29vZ2xlLmNvbS8ifQ==",
	     "400", "Bearer", "https://mail.google.com/"},
	    {"eyJzdGF0dXMiOiI0MDAiLCJzY2hlbWVzIjoiQmVhcmVyIiwic2NvcGUiOiJodHRwc"
	     "zovL21haWwuZ29vZ2xlLmNvbS8ifQ",
	     "400", "Bearer", "https://mail.google.com/"},
	    {"eyJzdGF0dXMiOjQwMSwic2NoZW1lcyI6ImJlYXJlciJ9", "401", "bearer",
	     ""}, /* a number */
	    {"eyJzdGF0dXMiOiI0MDEiLCJzY29wZSI6ImFcdTAwMWJbMzFtYiJ9", "401", "",
	     "a?[31mb"}, /* no control character passes */
	};
	static const char *const not_one[] = {
	    "",
	    " ",
	    "VXNlcm5hbWU6",				    /* "Username:" */
	    "eyJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJ4In0=", /* no status */
	    "WyJzdGF0dXMiLCI0MDEiXQ==",			    /* an array */
	    "not base64 at all!",
	    "eyJzdGF0dXMiOiI0MDEi", /* cut JSON */
	};
	struct smtp_challenge c;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(&c, 'x', sizeof(c));
		assert_int_equal(
		    smtp_xoauth2_challenge(ok[i].text, strlen(ok[i].text), &c),
		    0);
		assert_string_equal(c.status, ok[i].status);
		assert_string_equal(c.schemes, ok[i].schemes);
		assert_string_equal(c.scope, ok[i].scope);
	}
	for (size_t i = 0; i < sizeof(not_one) / sizeof(not_one[0]); i++) {
		memset(&c, 'x', sizeof(c));
		assert_int_equal(
		    smtp_xoauth2_challenge(not_one[i], strlen(not_one[i]), &c),
		    -1);
		assert_string_equal(c.status, "");
		assert_string_equal(c.scope, "");
	}
}

/* The transcript of a refused token on a server that challenges: the
 * empty prompt is not a challenge, the second 334 is, and it is the last
 * reply (libcurl 7.88 stops there). */
static void test_xoauth2_challenge_transcript(void **state)
{
	struct smtp_result r;

	(void)state;
	smtp_result_init(&r);
	feed(&r, LINES(PRE_TLS, TLS_EHLO, "334 \r\n"));
	assert_false(r.challenged);
	feed(&r, LINES("334 " DOVECOT_CHALLENGE "\r\n"));
	assert_true(r.challenged);
	assert_true(r.xoauth2_offered);
	assert_false(r.authenticated);
	assert_int_equal(r.stage, SMTP_STAGE_AUTH);
	assert_int_equal(r.last.code, 334);
	assert_string_equal(r.challenge.status, "401");
	assert_string_equal(r.challenge.scope,
			    "https://outlook.office365.com/.default");
	/* A later 334 that is no challenge does not wipe the one seen. */
	feed(&r, LINES("334 VXNlcm5hbWU6\r\n"));
	assert_true(r.challenged);
	assert_string_equal(r.challenge.status, "401");
	/* Exchange's way: an empty prompt, then 535 at once. */
	smtp_result_init(&r);
	feed(&r, LINES(PRE_TLS, TLS_EHLO, "334 \r\n",
		       "535 5.7.3 Authentication unsuccessful\r\n"));
	assert_false(r.challenged);
	/* AUTH LOGIN's prompts are base64 too, but no challenge. */
	smtp_result_init(&r);
	feed(&r, LINES(PRE_TLS, TLS_EHLO, "334 VXNlcm5hbWU6\r\n"));
	assert_false(r.challenged);
}

static void test_stage_names(void **state)
{
	static const struct {
		enum smtp_stage stage;
		const char *name;
	} cases[] = {
	    {SMTP_STAGE_END_OF_DATA, "end-of-data"},
	    {SMTP_STAGE_TLS, "tls"},
	    {(enum smtp_stage)99, "unknown"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_string_equal(smtp_stage_name(cases[i].stage),
				    cases[i].name);
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

/* A field of the test message or of the send, and a value for it. */
enum field {
	F_FROM,
	F_TO,
	F_CRED_NAME,
	F_HINT,
	F_KEY_ID,
	F_MESSAGE_ID,
	F_HOST,
	F_URL,
	F_SENDER,
	F_RCPT,
	F_TOKEN,
	F_MESSAGE_LEN, /* the value is ignored: 0 */
};

struct bad_field {
	enum field field;
	const char *value;
};

/* No field can add a header or a recipient. */
static const struct bad_field bad_message_fields[] = {
    {F_CRED_NAME, "x\r\nBcc: evil@x"},
    {F_CRED_NAME, ""},
    {F_HINT, "a\nb"},
    {F_HINT, NULL},
    {F_KEY_ID, "k\r\nX-Evil: 1"},
    {F_MESSAGE_ID, "<a@b>\r\nBcc: evil@x"},
    {F_HOST, "host\r\nX: y"},
};

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

static void set_message_field(struct smtp_message *m, const struct bad_field *f)
{
	switch (f->field) {
	case F_FROM:
		m->from = f->value;
		break;
	case F_TO:
		m->to = f->value;
		break;
	case F_CRED_NAME:
		m->cred_name = f->value;
		break;
	case F_HINT:
		m->hint = f->value;
		break;
	case F_KEY_ID:
		m->key_id = f->value;
		break;
	case F_MESSAGE_ID:
		m->message_id = f->value;
		break;
	case F_HOST:
		m->host = f->value;
		break;
	default:
		fail_msg("field %d is not a message field", f->field);
	}
}

static void message_refused(const struct bad_field *f)
{
	struct smtp_message m = good_msg;
	char *msg = (char *)0x1;
	size_t len;
	struct err e;

	set_message_field(&m, f);
	if (smtp_build_message(&m, &msg, &len, &e) != -1)
		fail_msg("field %d = \"%s\" was taken", f->field,
			 f->value ? f->value : "(null)");
	assert_ptr_equal(msg, (char *)0x1); /* untouched on failure */
}

static void test_build_message_injection(void **state)
{
	struct smtp_message m = good_msg;
	char *msg = (char *)0x1;
	size_t len;
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(bad_addrs) / sizeof(bad_addrs[0]); i++) {
		message_refused(&(struct bad_field){F_FROM, bad_addrs[i]});
		message_refused(&(struct bad_field){F_TO, bad_addrs[i]});
	}
	for (size_t i = 0;
	     i < sizeof(bad_message_fields) / sizeof(bad_message_fields[0]);
	     i++)
		message_refused(&bad_message_fields[i]);
	m.now = -100000000000LL;
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), -1);
	assert_int_equal(smtp_build_message(NULL, &msg, &len, &e), -1);
	assert_ptr_equal(msg, (char *)0x1); /* untouched on failure */
}

/* Refusals that happen before any connection, and a part of what the
 * summary says (NULL: not checked). */
static const struct {
	struct bad_field f;
	const char *says;
} refusals[] = {
    {{F_SENDER, ""}, "no sender"},
    {{F_SENDER, NULL}, NULL},
    {{F_URL, "smtps://127.0.0.1:465"}, "smtp://"},
    {{F_URL, "http://127.0.0.1:9"}, NULL},
    {{F_URL, "smtp:///x"}, NULL},
    {{F_RCPT, "ops@contoso.com>\r\nRCPT TO:<evil@x"}, NULL},
    {{F_TOKEN, ""}, NULL},
    {{F_MESSAGE_LEN, NULL}, NULL},
};

static void set_send_field(struct smtp_send *s, const struct bad_field *f)
{
	switch (f->field) {
	case F_URL:
		s->url = f->value;
		break;
	case F_SENDER:
		s->sender = f->value;
		break;
	case F_RCPT:
		s->rcpt = f->value;
		break;
	case F_TOKEN:
		s->token = f->value;
		break;
	case F_MESSAGE_LEN:
		s->message_len = 0;
		break;
	default:
		fail_msg("field %d is not a send field", f->field);
	}
}

/* Refused up front: nothing sent, no transfer, and the reason both on
 * its own and in the summary. */
static void refused(const struct smtp_result *r)
{
	char want[SMTP_SUMMARY_MAX + 16];

	assert_false(r->ok);
	assert_int_equal(r->n_replies, 0);
	assert_int_equal(r->curl_code, 0);
	assert_int_equal(r->fail, NET_OK);
	assert_true(r->refused[0] != '\0');
	snprintf(want, sizeof(want), "not sent: %s", r->refused);
	assert_string_equal(r->summary, want);
}

static void test_send_refusals(void **state)
{
	static const char m[] = "Subject: x\r\n\r\nx\r\n";
	static const struct smtp_send s = {
	    .url = "smtp://127.0.0.1:9",
	    .sender = "alerts@contoso.com",
	    .rcpt = "ops@contoso.com",
	    .token = "tok",
	    .message = m,
	    .message_len = sizeof(m) - 1,
	};
	struct smtp_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		struct smtp_send t = s;

		set_send_field(&t, &refusals[i].f);
		assert_int_equal(smtp_send_message(&t, NULL, &r), -1);
		refused(&r);
		if (refusals[i].says != NULL)
			assert_non_null(strstr(r.summary, refusals[i].says));
	}
	assert_int_equal(smtp_send_message(NULL, NULL, &r), -1);
	refused(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_line),
	    cmocka_unit_test(test_transcripts),
	    cmocka_unit_test(test_xoauth2_challenge_parsed),
	    cmocka_unit_test(test_xoauth2_challenge_transcript),
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
