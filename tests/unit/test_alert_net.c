/* The network alert channels on a real wire, against the stand-in servers
 * of tests/fakes on 127.0.0.1 with the test CA:
 *  - webhook: delivered on 2xx with the JSON body and Content-Type;
 *    "down" (503), another status, a dropped connection and an untrusted
 *    certificate are failures with one line that does not leak the URL's
 *    path;
 *  - email: an RFC 5322 message per recipient through fake_smtp with
 *    XOAUTH2 (a token minted like fakes.make_jwt), the token never in the
 *    message; no token, header injection and a refused recipient fail.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <cmocka.h>
#include <sodium.h>

#include "alert.h"
#include "config.h"
#include "cred.h"
#include "net.h"

#include "fakeserv.h"

#define NOW    1767225600LL /* 2026-01-01T00:00:00Z, a Thursday */
#define DAY    86400LL
#define KEY    "11111111-2222-3333-4444-555555555555"
#define APP    "22222222-2222-2222-2222-222222222222"
#define SENDER "alerts@contoso.com"

static const struct alert sample = {
    .event = ALERT_EXPIRY_WARNING,
    .credential = "mail-alerts",
    .hint = "abc",
    .key_id = KEY,
    .expires_at = NOW + 7 * DAY,
    .days_left = 7,
    .level = "warning",
    .message = "The client secret abc~ of mail-alerts expires on "
	       "2026-01-08. Create a new secret, then run:\n"
	       "  secretwatch secret add mail-alerts --expires 2027-01-08\n"
	       ". A line with only a dot stays in the body.",
};

static struct fakeserv webhook, rogue, smtp;
static struct net_opts net;
static struct config cfg;
static struct cred cred;
static char token[2048];

static void b64url(const char *in, char *out, size_t size)
{
	sodium_bin2base64(out, size, (const unsigned char *)in, strlen(in),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* An unsigned JWT as fakes.make_jwt makes them, valid for an hour of real
 * time (fake_smtp checks exp against its clock, not ours). */
static void mint_token(void)
{
	char claims[512], h[128], c[1024], s[16];

	snprintf(claims, sizeof(claims),
		 "{\"aud\": \"https://outlook.office365.com\", "
		 "\"appid\": \"" APP "\", \"roles\": [\"SMTP.SendAsApp\"], "
		 "\"iat\": %lld, \"nbf\": %lld, \"exp\": %lld}",
		 (long long)time(NULL) - 60, (long long)time(NULL) - 60,
		 (long long)time(NULL) + 3600);
	b64url("{\"typ\": \"JWT\", \"alg\": \"RS256\"}", h, sizeof(h));
	b64url(claims, c, sizeof(c));
	b64url("sig", s, sizeof(s));
	snprintf(token, sizeof(token), "%s.%s.%s", h, c, s);
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || net_global_init(NULL) != 0)
		return -1;
	if (fakeserv_start(&webhook, "fake_webhook.py", "{}", false) != 0 ||
	    fakeserv_start(&rogue, "fake_webhook.py", "{}", true) != 0 ||
	    fakeserv_start(&smtp, "fake_smtp.py",
			   "{\"mailboxes\": {\"" SENDER "\": {}},"
			   " \"service_principals\": {\"" APP "\":"
			   " {\"full_access\": [\"" SENDER "\"]}},"
			   " \"bad_recipients\": [\"gone@contoso.com\"]}",
			   false) != 0)
		return -1;
	net.ca_file = fakeserv_ca;
	mint_token();
	config_defaults(&cfg);
	memset(&cred, 0, sizeof(cred));
	snprintf(cred.name, sizeof(cred.name), "mail-alerts");
	snprintf(cred.sender, sizeof(cred.sender), SENDER);
	snprintf(cred.cloud, sizeof(cred.cloud), "global");
	snprintf(cred.smtp_url, sizeof(cred.smtp_url), "%s", smtp.url);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fakeserv_stop(&webhook);
	fakeserv_stop(&rogue);
	fakeserv_stop(&smtp);
	return 0;
}

static struct alert_ctx make_ctx(void)
{
	struct alert_ctx ctx = {0};

	ctx.cfg = &cfg;
	ctx.cred = &cred;
	ctx.access_token = token;
	ctx.net = &net;
	ctx.now = NOW;
	ctx.log = log_line;
	return ctx;
}

/* The last JSON line of a log, parsed (cJSON_Delete it), or NULL. */
static cJSON *last_record(char *log)
{
	char *last = NULL;

	if (log == NULL)
		return NULL;
	for (char *line = strtok(log, "\n"); line != NULL;
	     line = strtok(NULL, "\n"))
		last = line;
	return last != NULL ? cJSON_Parse(last) : NULL;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* SW_TEST_VERBOSE=1 shows each failure's message, to read them. */
static void show(const struct err *e)
{
	if (getenv("SW_TEST_VERBOSE") != NULL)
		print_message("  -> %s\n", e->msg);
}

static int webhook_send(const char *url, struct err *e)
{
	struct alert_ctx ctx = make_ctx();
	int rc;

	snprintf(cfg.webhooks[0].url, sizeof(cfg.webhooks[0].url), "%s", url);
	cfg.nwebhooks = 1;
	rc = alert_channel_find("webhook")->send(&sample, &ctx, e);
	if (rc != 0)
		show(e);
	return rc;
}

static void test_webhook_ok(void **state)
{
	struct err e = {{0}};
	cJSON *rec, *json;
	char *body, *log;

	(void)state;
	assert_int_equal(fakeserv_scenario(&webhook, "{\"status\": 204}"), 0);
	if (webhook_send(webhook.url, &e) != 0)
		fail_msg("%s", e.msg);

	log = fakeserv_log(&webhook);
	assert_int_equal(count_lines(log), 1);
	rec = last_record(log);
	assert_non_null(rec);
	assert_string_equal(jstr(rec, "method"), "POST");
	assert_string_equal(jstr(rec, "scheme"), "https");
	assert_string_equal(jstr(rec, "path"), "/hook");
	assert_string_equal(jstr(rec, "content_type"), "application/json");
	assert_non_null(strstr(jstr(rec, "user_agent"), "secretwatch/"));
	json = cJSON_GetObjectItemCaseSensitive(rec, "json");
	assert_true(cJSON_IsObject(json));
	body = alert_webhook_body(&sample);
	{
		cJSON *want = cJSON_Parse(body);

		assert_true(cJSON_Compare(json, want, 1));
		cJSON_Delete(want);
	}
	assert_string_equal(jstr(json, "event"), "expiry-warning");
	assert_string_equal(jstr(json, "expires_at"), "2026-01-08T00:00:00Z");
	free(body);
	cJSON_Delete(rec);
	free(log);
}

static void test_webhook_refused(void **state)
{
	char url[300];
	struct err e = {{0}};

	(void)state;
	/* A path that is a credential, as Slack's and Teams' are. */
	snprintf(url, sizeof(url), "%s/T000/B000/SeCrEtPaTh", webhook.url);

	assert_int_equal(fakeserv_scenario(&webhook, "{\"mode\": \"down\"}"),
			 0);
	assert_int_equal(webhook_send(url, &e), -1);
	assert_non_null(strstr(e.msg, "HTTP 503"));
	assert_non_null(strstr(e.msg, "Service Unavailable"));
	assert_null(strstr(e.msg, "SeCrEtPaTh"));
	assert_null(strchr(e.msg, '\n'));

	assert_int_equal(fakeserv_scenario(&webhook,
					   "{\"status\": 404, \"body\": "
					   "\"no_service\\nsecond line\"}"),
			 0);
	assert_int_equal(webhook_send(url, &e), -1);
	assert_non_null(strstr(e.msg, "HTTP 404: no_service second line"));
	assert_null(strstr(e.msg, "SeCrEtPaTh"));

	assert_int_equal(fakeserv_scenario(&webhook, "{\"mode\": \"drop\"}"),
			 0);
	assert_int_equal(webhook_send(url, &e), -1);
	assert_non_null(strstr(e.msg, "(curl "));
	assert_null(strstr(e.msg, "SeCrEtPaTh"));

	/* 3xx is not delivery either (redirects are never followed). */
	assert_int_equal(fakeserv_scenario(&webhook, "{\"status\": 302}"), 0);
	assert_int_equal(webhook_send(url, &e), -1);
	assert_non_null(strstr(e.msg, "HTTP 302"));
	assert_int_equal(fakeserv_scenario(&webhook, "{}"), 0);

	/* Nothing listening. */
	assert_int_equal(webhook_send("https://127.0.0.1:1/hook", &e), -1);
	assert_non_null(strstr(e.msg, "(curl 7)"));

	/* Plain http only to this machine. */
	assert_int_equal(webhook_send("http://127.0.0.1:1/hook", &e), -1);
	assert_non_null(strstr(e.msg, "(curl 7)"));
	assert_int_equal(webhook_send("http://hooks.example/x", &e), -1);
	assert_non_null(strstr(e.msg, "https://"));
}

static void test_webhook_untrusted(void **state)
{
	struct err e = {{0}};
	char *log;

	(void)state;
	/* A certificate from a CA we do not trust: no request goes out. */
	assert_int_equal(webhook_send(rogue.url, &e), -1);
	assert_non_null(strstr(e.msg, "ca_file"));
	log = fakeserv_log(&rogue);
	assert_int_equal(count_lines(log), 0);
	free(log);

	/* The good server, but trusting only the rogue CA. */
	net.ca_file = fakeserv_rogue_ca;
	assert_int_equal(webhook_send(webhook.url, &e), -1);
	net.ca_file = fakeserv_ca;
	assert_non_null(strstr(e.msg, "certificate"));
}

/* The delivered messages of fake_smtp (its NNNN.json), oldest first. */
static int messages(cJSON **ret, char **emls, int max)
{
	char path[600];
	int n = 0;

	for (int i = 1; i <= max; i++) {
		char *s;

		snprintf(path, sizeof(path), "%s/maildir/%04d.json", smtp.dir,
			 i);
		if ((s = slurp(path)) == NULL)
			break;
		ret[n] = cJSON_Parse(s);
		free(s);
		snprintf(path, sizeof(path), "%s/maildir/%04d.eml", smtp.dir,
			 i);
		emls[n] = slurp(path);
		n++;
	}
	return n;
}

static void free_messages(cJSON **m, char **emls, int n)
{
	for (int i = 0; i < n; i++) {
		cJSON_Delete(m[i]);
		free(emls[i]);
	}
}

/* The value of header name in eml (up to its CRLF), into out. */
static bool header(const char *eml, const char *name, char *out, size_t size)
{
	size_t nl = strlen(name);
	const char *end = strstr(eml, "\r\n\r\n");

	for (const char *p = eml; p != NULL && p < end;) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 2, *crlf = strstr(v, "\r\n");

			snprintf(out, size, "%.*s", (int)(crlf - v), v);
			return true;
		}
		p = strstr(p, "\r\n");
		p = p != NULL ? p + 2 : NULL;
	}
	return false;
}

static int email_send(const struct alert *a, struct alert_ctx *ctx,
		      struct err *e)
{
	int rc = alert_channel_find("email")->send(a, ctx, e);

	if (rc != 0)
		show(e);
	return rc;
}

static void test_email_ok(void **state)
{
	struct alert_ctx ctx = make_ctx();
	struct err e = {{0}};
	cJSON *m[8];
	char *emls[8], h[512], id0[512];
	int before, n;

	(void)state;
	before = messages(m, emls, 8);
	free_messages(m, emls, before);
	snprintf(cfg.email_to, sizeof(cfg.email_to),
		 " ops@contoso.com , oncall@fabrikam.example");
	if (alert_channel_find("email")->send(&sample, &ctx, &e) != 0)
		fail_msg("%s", e.msg);

	n = messages(m, emls, 8);
	assert_int_equal(n, before + 2);
	for (int i = before; i < n; i++) {
		const char *to =
		    i == before ? "ops@contoso.com" : "oncall@fabrikam.example";
		const cJSON *rcpt = cJSON_GetObjectItem(m[i], "rcpt");
		char want[128];

		assert_string_equal(jstr(m[i], "mail_from"), SENDER);
		assert_string_equal(jstr(m[i], "auth_user"), SENDER);
		assert_int_equal(cJSON_GetArraySize(rcpt), 1);
		assert_string_equal(cJSON_GetArrayItem(rcpt, 0)->valuestring,
				    to);
		assert_non_null(emls[i]);
		assert_null(strstr(emls[i], token));
		assert_true(header(emls[i], "Date", h, sizeof(h)));
		assert_string_equal(h, "Thu, 01 Jan 2026 00:00:00 +0000");
		assert_true(header(emls[i], "From", h, sizeof(h)));
		assert_string_equal(h, "secretwatch <" SENDER ">");
		snprintf(want, sizeof(want), "<%s>", to);
		assert_true(header(emls[i], "To", h, sizeof(h)));
		assert_string_equal(h, want);
		assert_true(header(emls[i], "Subject", h, sizeof(h)));
		assert_string_equal(h, "[secretwatch] mail-alerts: client "
				       "secret abc~ expires in 7 days");
		assert_true(header(emls[i], "MIME-Version", h, sizeof(h)));
		assert_string_equal(h, "1.0");
		assert_true(header(emls[i], "Content-Type", h, sizeof(h)));
		assert_string_equal(h, "text/plain; charset=UTF-8");
		assert_true(header(emls[i], "Message-ID", h, sizeof(h)));
		assert_int_equal(strncmp(h, "<secretwatch.alert.", 19), 0);
		assert_non_null(strstr(h, "@contoso.com>"));
		if (i == before)
			snprintf(id0, sizeof(id0), "%s", h);
		else
			assert_string_not_equal(h, id0);
		/* The body: the message with CRLF line ends, then the
		 * fields. */
		assert_non_null(strstr(emls[i],
				       "\r\n\r\nThe client secret abc~ of "
				       "mail-alerts expires on 2026-01-08."));
		assert_non_null(strstr(emls[i],
				       "then run:\r\n  secretwatch secret add "
				       "mail-alerts --expires 2027-01-08\r\n"
				       ". A line with only a dot"));
		assert_non_null(
		    strstr(emls[i], "Secret:      abc~, key ID " KEY "\r\n"));
		assert_non_null(strstr(emls[i], "Expires:     2026-01-08T00:00:"
						"00Z (7 days left)\r\n"));
		assert_non_null(strstr(emls[i], "Level:       warning\r\n"));
	}
	free_messages(m, emls, n);
}

static void test_email_refused(void **state)
{
	struct alert_ctx ctx = make_ctx();
	struct alert a = sample;
	struct err e = {{0}};
	cJSON *m[16];
	char *emls[16];
	int before, n;

	(void)state;
	before = messages(m, emls, 16);
	free_messages(m, emls, before);
	snprintf(cfg.email_to, sizeof(cfg.email_to), "ops@contoso.com");

	/* No token: the credential's path is down, say so. */
	ctx.access_token = NULL;
	assert_int_equal(email_send(&sample, &ctx, &e), -1);
	assert_non_null(strstr(e.msg, "no working secret to send mail with"));
	ctx.access_token = token;

	/* A line break in a header value: refused before connecting. */
	a.credential = "mail-alerts\r\nBcc: victim@example.com";
	assert_int_equal(email_send(&a, &ctx, &e), -1);
	assert_non_null(strstr(e.msg, "credential"));
	a = sample;
	a.hint = "a\nb";
	assert_int_equal(email_send(&a, &ctx, &e), -1);
	assert_non_null(strstr(e.msg, "hint"));
	a = sample;
	snprintf(cfg.email_to, sizeof(cfg.email_to),
		 "ops@contoso.com, x@y.example\r\nBcc: victim@example.com");
	assert_int_equal(email_send(&a, &ctx, &e), -1);
	assert_non_null(strstr(e.msg, "email_to"));

	/* One refused recipient: the others still get it, the channel
	 * reports the failure naming the address. */
	snprintf(cfg.email_to, sizeof(cfg.email_to),
		 "gone@contoso.com, ops@contoso.com");
	assert_int_equal(email_send(&sample, &ctx, &e), -1);
	assert_non_null(strstr(e.msg, "1 of 2 recipients"));
	assert_non_null(strstr(e.msg, "gone@contoso.com"));
	assert_non_null(strstr(e.msg, "5.1.10"));
	assert_null(strstr(e.msg, token));

	/* The server refuses the token for this mailbox (no FullAccess). */
	snprintf(cred.sender, sizeof(cred.sender), "other@contoso.com");
	assert_int_equal(email_send(&sample, &ctx, &e), -1);
	snprintf(cred.sender, sizeof(cred.sender), SENDER);
	assert_non_null(strstr(e.msg, "535"));
	assert_null(strstr(e.msg, token));

	n = messages(m, emls, 16);
	/* Only ops@ of the mixed list got through. */
	assert_int_equal(n, before + 1);
	free_messages(m, emls, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_webhook_ok),
	    cmocka_unit_test(test_webhook_refused),
	    cmocka_unit_test(test_webhook_untrusted),
	    cmocka_unit_test(test_email_ok),
	    cmocka_unit_test(test_email_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
