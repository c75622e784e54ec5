/* The transport against the stand-in servers of tests/fakes over real TLS
 * on 127.0.0.1: the token client with its retries, the XOAUTH2 send, and
 * the probe's steps and diagnoses for each failure the fakes can play.
 *
 * The fakes are started here (SW_FAKES points to tests/fakes) with a test
 * CA from mkcerts.sh; the client trusts only that CA. Scenarios are JSON
 * files that the fakes re-read whenever they change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "material.h"
#include "probe.h"

#include "fakeserv.h"

/* The material of the probe under way: one at a time. */
static struct material mat;

#define PYTHON	    "/usr/bin/python3"
#define TENANT	    "11111111-1111-1111-1111-111111111111"
#define APP	    "22222222-2222-2222-2222-222222222222"
#define SP_OID	    "33333333-3333-3333-3333-333333333333"
#define APP_NOROLES "44444444-4444-4444-4444-444444444444"
#define NR_OID	    "44444444-0000-0000-0000-0000000000ee"
#define APP_OFF	    "55555555-5555-5555-5555-555555555555"
#define SENDER	    "alerts@contoso.com"
/* The characters real secrets contain, which must be form-escaped. */
#define SECRET	   "Abc8Q~x+y/z=[w]:v@u%&-0123456789"
#define OLD_SECRET "Old8Q~expired-0123456789"
#define BAD_SECRET "Bad8Q~wrong-0123456789abc"
#define NR_SECRET  "NoRoles8Q~1234567890"
#define TR	   "00000000-0000-0000-0000-0000000000aa"

static struct fakeserv entra, smtp, rogue_entra, rogue_smtp;
static char ca_file[400];
static struct cred cred;
static struct net_opts net;
static const struct entra_retry fast = {3, 10, 300, 2000, NULL, NULL, 0L};

/* ------------------------------------------------------------------ */
/* Files */

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Occurrences of needle in the fake's log. */
static int log_count(const struct fakeserv *f, const char *needle)
{
	char *s = fakeserv_log(f);
	int n = s != NULL ? count(s, needle) : 0;

	free(s);
	return n;
}

/* The number of delivered messages and the newest one. */
static int maildir_count(char **ret_newest)
{
	char path[700];
	struct dirent *de;
	int n = 0, best = -1;
	DIR *d;

	snprintf(path, sizeof(path), "%s/maildir", smtp.dir);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".eml") == 0) {
			int k = atoi(de->d_name);

			n++;
			if (k > best)
				best = k;
		}
	}
	closedir(d);
	if (ret_newest != NULL) {
		*ret_newest = NULL;
		if (best >= 0) {
			DIR *d2 = opendir(path);

			while (d2 != NULL && (de = readdir(d2)) != NULL) {
				size_t l = strlen(de->d_name);

				if (l > 4 &&
				    strcmp(de->d_name + l - 4, ".eml") == 0 &&
				    atoi(de->d_name) == best) {
					char p[1000];

					snprintf(p, sizeof(p), "%s/%s", path,
						 de->d_name);
					*ret_newest = slurp(p);
				}
			}
			if (d2 != NULL)
				closedir(d2);
		}
	}
	return n;
}

/* ------------------------------------------------------------------ */
/* Scenarios */

static void entra_set(struct fakeserv *f, const char *top)
{
	char json[4096];

	snprintf(json, sizeof(json),
		 "{\"tenants\":{\"" TENANT "\":{\"name\":\"contoso\","
		 "\"domains\":[\"contoso.onmicrosoft.com\"],\"apps\":{"
		 "\"" APP "\":{\"name\":\"mailer\",\"sp_object_id\":\"" SP_OID
		 "\",\"secrets\":["
		 "{\"label\":\"s1\",\"value\":\"%s\",\"end\":\"2099-01-01\"},"
		 "{\"label\":\"old\",\"value\":\"" OLD_SECRET
		 "\",\"end\":\"2020-01-01\"}]},"
		 "\"" APP_NOROLES "\":{\"name\":\"noconsent\",\"roles\":[],"
		 "\"sp_object_id\":\"" NR_OID "\",\"secrets\":["
		 "{\"label\":\"nr\",\"value\":\"" NR_SECRET
		 "\",\"end\":\"2099-01-01\"}]},"
		 "\"" APP_OFF "\":{\"name\":\"offapp\",\"disabled\":true,"
		 "\"secrets\":[{\"label\":\"d\",\"value\":\"Off8Q~1\"}]}"
		 "}}}%s}",
		 SECRET, top != NULL ? top : "");
	assert_int_equal(fakeserv_scenario(f, json), 0);
}

/* mb and sp are extra members of the mailbox and of APP's service
 * principal (a repeated key overrides: the last one wins), top extra
 * top-level members; each "" or starting with ','. */
static void smtp_set(struct fakeserv *f, const char *mb, const char *sp,
		     const char *top)
{
	char json[4096];

	snprintf(json, sizeof(json),
		 "{\"mailboxes\":{\"" SENDER "\":{\"smtp_auth\":null%s},"
		 "\"ceo@contoso.com\":{}},"
		 "\"service_principals\":{"
		 "\"" APP "\":{\"full_access\":[\"" SENDER "\"]%s},"
		 "\"" APP_NOROLES "\":{\"full_access\":[\"" SENDER "\"]}}%s}",
		 mb, sp, top);
	assert_int_equal(fakeserv_scenario(f, json), 0);
}

static void use_cred(const char *client_id, const struct fakeserv *e,
		     const struct fakeserv *s)
{
	memset(&cred, 0, sizeof(cred));
	snprintf(cred.name, sizeof(cred.name), "live");
	snprintf(cred.tenant, sizeof(cred.tenant), TENANT);
	snprintf(cred.client_id, sizeof(cred.client_id), "%s", client_id);
	snprintf(cred.sender, sizeof(cred.sender), SENDER);
	snprintf(cred.cloud, sizeof(cred.cloud), "global");
	snprintf(cred.authority_url, sizeof(cred.authority_url),
		 "https://127.0.0.1:%d", e->port);
	snprintf(cred.smtp_url, sizeof(cred.smtp_url), "smtp://127.0.0.1:%d",
		 s->port);
}

static int setup_each(void **state)
{
	(void)state;
	entra_set(&entra, "");
	smtp_set(&smtp, "", "", "");
	use_cred(APP, &entra, &smtp);
	return 0;
}

static int group_setup(void **state)
{
	struct err e;

	(void)state;
	if (net_global_init(&e) != 0)
		return -1;
	if (fakeserv_start(&entra, "fake_entra.py", "{}", false) != 0 ||
	    fakeserv_start(&smtp, "fake_smtp.py", "{}", false) != 0 ||
	    fakeserv_start(&rogue_entra, "fake_entra.py", "{}", true) != 0 ||
	    fakeserv_start(&rogue_smtp, "fake_smtp.py", "{}", true) != 0)
		return -1;
	snprintf(ca_file, sizeof(ca_file), "%s", fakeserv_ca);
	entra_set(&rogue_entra, "");
	smtp_set(&rogue_smtp, "", "", "");
	net.ca_file = ca_file;
	net.connect_timeout_s = 5;
	net.timeout_s = 20;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	fakeserv_stop(&entra);
	fakeserv_stop(&smtp);
	fakeserv_stop(&rogue_entra);
	fakeserv_stop(&rogue_smtp);
	material_free(&mat);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Helpers for the probes */

static struct probe_opts opts(const char *secret)
{
	struct probe_opts o = {0};
	struct err e;

	material_free(&mat);
	assert_int_equal(
	    material_from_secret(secret, strlen(secret), 0, &mat, &e), 0);
	o.material = &mat;
	o.hint = "Abc";
	o.net = &net;
	o.retry = &fast;
	o.now = time(NULL);
	o.ehlo_name = "probe.test";
	o.smtp_response_timeout_s = 10;
	return o;
}

/* Nothing in the result but the token field may hold the secret or the
 * token: search the whole struct, byte for byte. */
static void no_secrets_in(const struct probe_result *r, const char *secret)
{
	assert_null(memmem(r, sizeof(*r), secret, strlen(secret)));
	if (r->token.value != NULL && r->token.len > 16)
		assert_null(
		    memmem(r, sizeof(*r), r->token.value, r->token.len));
}

static void contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" not found in:\n%s", needle, hay);
}

static void step_is(const struct probe_result *r, enum probe_step_id id,
		    enum probe_status st)
{
	if (r->steps[id].status != st)
		fail_msg("step %s is %s, expected %s (%s); diagnosis %s: %s",
			 probe_step_name(id),
			 probe_status_name(r->steps[id].status),
			 probe_status_name(st), r->steps[id].detail,
			 diag_step_name(r->diag.step), r->diag.summary);
}

/* Run a full probe that must fail at step at with diagnosis step diag. */
static void probe_fails(const char *secret, enum probe_step_id at,
			const char *diag, struct probe_result *r)
{
	struct probe_opts o = opts(secret);

	assert_int_equal(probe_run(&cred, &o, r), -1);
	assert_false(r->ok);
	assert_true(r->has_diag);
	if (strcmp(diag_step_name(r->diag.step), diag) != 0 || r->failed != at)
		fail_msg("failed at %s with %s (%s), expected %s with %s",
			 probe_step_name(r->failed),
			 diag_step_name(r->diag.step), r->diag.summary,
			 probe_step_name(at), diag);
	for (int i = 0; i < (int)at; i++)
		assert_int_not_equal(r->steps[i].status, PROBE_FAILED);
	step_is(r, at, PROBE_FAILED);
	for (int i = (int)at + 1; i < PROBE_NSTEPS; i++)
		step_is(r, (enum probe_step_id)i, PROBE_SKIPPED);
	no_secrets_in(r, secret);
}

static long elapsed_ms(const struct timespec *a)
{
	struct timespec b;

	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 +
	       (b.tv_nsec - a->tv_nsec) / 1000000;
}

static int token(const char *client_id, const char *secret,
		 const struct entra_retry *rp, struct entra_result *res,
		 struct entra_token *tok)
{
	struct entra_secret sec = {secret, strlen(secret)};
	struct entra_request rq = {cred.authority_url,
				   TENANT,
				   client_id,
				   "https://outlook.office365.com/.default",
				   &sec,
				   NULL};

	return entra_request_token(&rq, &net, rp, time(NULL), res, tok);
}

/* ------------------------------------------------------------------ */
/* Success */

static void test_full_probe_delivers(void **state)
{
	struct probe_opts o = opts(SECRET);
	struct probe_result r;
	char *eml = NULL;
	int before = maildir_count(NULL);

	(void)state;
	o.key_id = "f0b0b335-1d71-4883-8f98-567911bfdca6";
	if (probe_run(&cred, &o, &r) != 0)
		fail_msg("probe failed at %s: %s / %s / %s",
			 probe_step_name(r.failed), diag_step_name(r.diag.step),
			 r.diag.summary, r.diag.evidence);
	assert_true(r.ok);
	for (int i = 0; i < PROBE_NSTEPS; i++)
		step_is(&r, (enum probe_step_id)i, PROBE_PASSED);
	assert_false(r.has_diag);
	assert_true(r.entra.ok);
	assert_int_equal(r.entra.attempts, 1);
	assert_int_equal(r.entra.http_status, 200);
	assert_non_null(r.token.value);
	assert_int_equal(r.token.expires_at, o.now + 3599);
	assert_true(r.claims_ok);
	assert_true(jwt_has_role(&r.claims, "SMTP.SendAsApp"));
	assert_string_equal(r.claims.oid, SP_OID);
	assert_string_equal(r.claims.appid, APP);
	assert_true(r.smtp_ran);
	assert_true(r.smtp.ok);
	assert_true(r.smtp.tls);
	assert_true(r.smtp.authenticated);
	assert_int_equal(r.smtp.response_code, 250);
	assert_string_equal(r.smtp.last.enhanced, "2.0.0");
	no_secrets_in(&r, SECRET);

	/* The form carried the escaped secret and the right scope. */
	assert_true(log_count(&entra, "\"secret_via\": \"form\"") >= 1);
	assert_true(log_count(&entra, "\"secret_label\": \"s1\"") >= 1);
	assert_true(log_count(&entra,
			      "\"scope\": "
			      "\"https://outlook.office365.com/.default\"") >=
		    1);
	/* XOAUTH2 was the mechanism, after TLS, as the sender. */
	assert_true(log_count(&smtp, "\"line\": \"AUTH XOAUTH2\"") >= 1);
	assert_true(log_count(&smtp, "\"line\": \"EHLO probe.test\"") >= 2);

	assert_int_equal(maildir_count(&eml), before + 1);
	assert_non_null(eml);
	contains(eml, "Subject: secretwatch test: credential live, secret "
		      "Abc~\r\n");
	contains(eml, "From: <" SENDER ">\r\n");
	contains(eml, "To: <" SENDER ">\r\n"); /* no test_to: the sender */
	contains(eml, "key ID f0b0b335-1d71-4883-8f98-567911bfdca6");
	free(eml);
	probe_result_free(&r);
	assert_null(r.token.value);
}

static void test_test_to_and_override(void **state)
{
	struct probe_opts o = opts(SECRET);
	struct probe_result r;
	char *eml = NULL;

	(void)state;
	snprintf(cred.test_to, sizeof(cred.test_to), "ops@contoso.com");
	assert_int_equal(probe_run(&cred, &o, &r), 0);
	maildir_count(&eml);
	contains(eml, "To: <ops@contoso.com>\r\n");
	free(eml);
	probe_result_free(&r);

	o.to = "ceo@contoso.com";
	assert_int_equal(probe_run(&cred, &o, &r), 0);
	maildir_count(&eml);
	contains(eml, "To: <ceo@contoso.com>\r\n");
	free(eml);
	probe_result_free(&r);
}

static void test_token_only(void **state)
{
	struct probe_opts o = opts(SECRET);
	struct probe_result r;
	int sessions = log_count(&smtp, "\"event\": \"connect\"");

	(void)state;
	o.token_only = true;
	assert_int_equal(probe_run(&cred, &o, &r), 0);
	assert_true(r.ok);
	for (int i = PROBE_TENANT; i <= PROBE_ROLE; i++)
		step_is(&r, (enum probe_step_id)i, PROBE_PASSED);
	for (int i = PROBE_SMTP; i < PROBE_NSTEPS; i++) {
		step_is(&r, (enum probe_step_id)i, PROBE_SKIPPED);
		contains(r.steps[i].detail, "token only");
	}
	assert_false(r.smtp_ran);
	assert_non_null(r.token.value);
	assert_int_equal(log_count(&smtp, "\"event\": \"connect\""), sessions);
	probe_result_free(&r);
}

/* ------------------------------------------------------------------ */
/* Token failures */

static void test_bad_secret(void **state)
{
	struct probe_result r;

	(void)state;
	probe_fails(BAD_SECRET, PROBE_SECRET, "secret-value", &r);
	step_is(&r, PROBE_TENANT, PROBE_PASSED);
	step_is(&r, PROBE_APP, PROBE_PASSED);
	assert_int_equal(r.entra.attempts, 1); /* a 401 is never retried */
	assert_int_equal(r.entra.http_status, 401);
	assert_int_equal(r.entra.error_codes[0], 7000215);
	assert_null(r.token.value);
	assert_false(r.diag.transient);
	contains(r.diag.evidence, "AADSTS7000215");
	contains(r.diag.evidence, "Trace ID: " TR);
	contains(r.diag.remedy, "secretwatch secret add live --expires");
	assert_false(r.smtp_ran);
	probe_result_free(&r);
}

static void test_expired_secret(void **state)
{
	struct probe_result r;

	(void)state;
	probe_fails(OLD_SECRET, PROBE_SECRET, "secret-expired", &r);
	assert_int_equal(r.entra.attempts, 1);
	assert_int_equal(r.entra.error_codes[0], 7000222);
	contains(r.diag.evidence, "AADSTS7000222");
	contains(r.diag.remedy, "secretwatch secret add live --expires");
	contains(r.diag.remedy, "secretwatch rotate live");
	probe_result_free(&r);
}

static void test_tenant_and_app(void **state)
{
	struct probe_result r;

	(void)state;
	snprintf(cred.tenant, sizeof(cred.tenant),
		 "99999999-9999-9999-9999-999999999999");
	probe_fails(SECRET, PROBE_TENANT, "tenant", &r);
	contains(r.diag.evidence, "AADSTS90002");
	probe_result_free(&r);

	snprintf(cred.tenant, sizeof(cred.tenant), "undefined");
	probe_fails(SECRET, PROBE_TENANT, "tenant", &r);
	contains(r.diag.evidence, "AADSTS900023");
	probe_result_free(&r);

	/* The verified domain finds the tenant too. */
	snprintf(cred.tenant, sizeof(cred.tenant), "contoso.onmicrosoft.com");
	use_cred("66666666-6666-6666-6666-666666666666", &entra, &smtp);
	probe_fails(SECRET, PROBE_APP, "client-id", &r);
	contains(r.diag.evidence, "AADSTS700016");
	step_is(&r, PROBE_TENANT, PROBE_PASSED);
	probe_result_free(&r);

	use_cred(APP_OFF, &entra, &smtp);
	probe_fails("Off8Q~1", PROBE_APP, "app-disabled", &r);
	contains(r.diag.evidence, "AADSTS7000112");
	probe_result_free(&r);
}

/* The legacy "\r\n" suffix through the real transport. */
static void test_legacy_crlf(void **state)
{
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	entra_set(&entra, ",\"legacy_crlf\":true");
	assert_int_equal(token(APP, BAD_SECRET, &fast, &res, &tok), -1);
	assert_int_equal(res.error_codes[0], 7000215);
	assert_null(strstr(res.error_description, "Trace ID"));
	assert_null(strchr(res.error_description, '\r'));
	assert_string_equal(res.trace_id, TR);
	assert_null(memmem(&res, sizeof(res), BAD_SECRET, strlen(BAD_SECRET)));
}

/* ------------------------------------------------------------------ */
/* Retries */

/* 429 with Retry-After: 60 once, then a token: the one wait is the
 * Retry-After capped at max_delay_ms (300 ms), not the 10 ms backoff. */
static void test_429_then_success(void **state)
{
	struct entra_result res;
	struct entra_token tok;
	struct timespec t0;

	(void)state;
	entra_set(&entra, ",\"throttle\":true,\"throttle_first\":1");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(token(APP, SECRET, &fast, &res, &tok), 0);
	assert_true(elapsed_ms(&t0) >= 300);
	assert_int_equal(res.attempts, 2);
	assert_int_equal(res.waited_ms, 300);
	assert_int_equal(res.http_status, 200);
	assert_non_null(tok.value);
	entra_token_free(&tok);
	assert_int_equal(log_count(&entra, "\"status\": 429"), 1);
}

/* Throttled for good: the total cap ends the retries, and the failure
 * is transient with the Retry-After in the evidence. */
static void test_429_persistent(void **state)
{
	const struct entra_retry capped = {5, 10, 200, 250, NULL, NULL, 0L};
	const struct entra_retry none = ENTRA_RETRY_NONE;
	struct diag_input in = {&cred, "Abc", NULL};
	struct entra_result res;
	struct entra_token tok;
	struct diag d;

	(void)state;
	entra_set(&entra, ",\"throttle\":true");
	assert_int_equal(token(APP, SECRET, &capped, &res, &tok), -1);
	assert_int_equal(res.attempts, 2); /* 200 + 200 > 250 */
	assert_int_equal(res.waited_ms, 200);
	assert_int_equal(res.http_status, 429);
	assert_int_equal(res.retry_after_s, 60);
	assert_true(res.transient);
	assert_null(tok.value);
	diag_token(&in, &res, &d);
	assert_string_equal(diag_step_name(d.step), "network");
	assert_true(d.transient);
	contains(d.evidence, "Retry-After 60");
	contains(d.evidence, "after 2 attempts");

	assert_int_equal(token(APP, SECRET, &none, &res, &tok), -1);
	assert_int_equal(res.attempts, 1);
	assert_int_equal(res.waited_ms, 0);
}

/* 500s are retried with doubling waits: 10 ms, then 20 ms. */
static void test_500_retried(void **state)
{
	struct entra_result res;
	struct entra_token tok;
	struct probe_result r;

	(void)state;
	entra_set(&entra, ",\"fault\":\"500\",\"fault_first\":2");
	assert_int_equal(token(APP, SECRET, &fast, &res, &tok), 0);
	assert_int_equal(res.attempts, 3);
	assert_int_equal(res.waited_ms, 30);
	entra_token_free(&tok);

	entra_set(&entra, ",\"fault\":\"500_json\"");
	probe_fails(SECRET, PROBE_TENANT, "network", &r);
	assert_int_equal(r.entra.attempts, 3);
	assert_true(r.entra.transient);
	assert_true(r.diag.transient);
	assert_int_equal(r.entra.http_status, 500);
	probe_result_free(&r);
}

/* A timeout is retried; the second answer is in time. */
static void test_timeout_retried(void **state)
{
	const struct net_opts quick = {
	    .ca_file = ca_file, .connect_timeout_s = 5, .timeout_s = 1};
	const struct net_opts saved = net;
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	entra_set(&entra, ",\"fault\":\"slow\",\"fault_first\":1,"
			  "\"slow_seconds\":3");
	net = quick;
	assert_int_equal(token(APP, SECRET, &fast, &res, &tok), 0);
	net = saved;
	assert_int_equal(res.attempts, 2);
	entra_token_free(&tok);
}

/* A 200 that is not a token reply is not retried and not transient. */
static void test_non_json_200(void **state)
{
	struct probe_result r;

	(void)state;
	entra_set(&entra, ",\"fault\":\"non_json_200\"");
	probe_fails(SECRET, PROBE_TENANT, "token-endpoint", &r);
	assert_int_equal(r.entra.attempts, 1);
	assert_int_equal(r.entra.http_status, 200);
	assert_false(r.diag.transient);
	contains(r.entra.summary, "HTTP 200");
	probe_result_free(&r);
}

/* ------------------------------------------------------------------ */
/* Trust */

static void test_rogue_ca_refused(void **state)
{
	struct probe_result r;

	(void)state;
	/* Token endpoint with a certificate from another CA. */
	use_cred(APP, &rogue_entra, &smtp);
	probe_fails(SECRET, PROBE_TENANT, "transport", &r);
	assert_int_equal(r.entra.curl_code, CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(r.entra.fail, NET_TLS_VERIFY);
	assert_int_equal(r.entra.attempts, 1);
	assert_int_equal(r.entra.http_status, 0);
	assert_int_equal(log_count(&rogue_entra, "\"method\""), 0);
	probe_result_free(&r);

	/* SMTP server with a certificate from another CA: no AUTH sent. */
	use_cred(APP, &entra, &rogue_smtp);
	probe_fails(SECRET, PROBE_STARTTLS, "transport", &r);
	assert_int_equal(r.smtp.stage, SMTP_STAGE_TLS);
	assert_int_equal(r.smtp.curl_code, CURLE_PEER_FAILED_VERIFICATION);
	assert_int_equal(r.smtp.fail, NET_TLS_VERIFY);
	assert_false(r.diag.transient);
	step_is(&r, PROBE_SMTP, PROBE_PASSED);
	assert_int_equal(log_count(&rogue_smtp, "\"line\": \"AUTH"), 0);
	assert_int_equal(log_count(&rogue_smtp, "\"line\": \"STARTTLS\""), 1);
	probe_result_free(&r);
}

static void test_no_starttls_refused(void **state)
{
	struct probe_result r;
	int auths = log_count(&smtp, "\"line\": \"AUTH");
	int mails = log_count(&smtp, "\"line\": \"MAIL");

	(void)state;
	smtp_set(&smtp, "", "", ",\"no_starttls\":true");
	probe_fails(SECRET, PROBE_STARTTLS, "transport", &r);
	assert_int_equal(r.smtp.curl_code, CURLE_USE_SSL_FAILED);
	assert_int_equal(r.smtp.fail, NET_STARTTLS_REFUSED);
	assert_false(r.smtp.starttls_offered);
	contains(r.diag.summary, "did not offer STARTTLS");
	/* Never a plaintext AUTH, nor anything after EHLO. */
	assert_int_equal(log_count(&smtp, "\"line\": \"AUTH"), auths);
	assert_int_equal(log_count(&smtp, "\"line\": \"MAIL"), mails);
	probe_result_free(&r);
}

static void test_421_old_tls(void **state)
{
	struct probe_result r;

	(void)state;
	smtp_set(&smtp, "", "", ",\"old_tls\":true");
	probe_fails(SECRET, PROBE_STARTTLS, "transport", &r);
	assert_int_equal(r.smtp.last.code, 421);
	assert_string_equal(r.smtp.last.enhanced, "4.7.66");
	assert_int_equal(r.smtp.stage, SMTP_STAGE_STARTTLS);
	contains(r.diag.evidence, "421 4.7.66 TLS 1.0 and 1.1");
	probe_result_free(&r);
}

/* ------------------------------------------------------------------ */
/* SMTP refusals */

static void test_535_with_role(void **state)
{
	struct probe_result r;

	(void)state;
	smtp_set(&smtp, "", ",\"full_access\":[]", "");
	probe_fails(SECRET, PROBE_XOAUTH2, "exchange-permission", &r);
	step_is(&r, PROBE_ROLE, PROBE_PASSED);
	step_is(&r, PROBE_STARTTLS, PROBE_PASSED);
	assert_int_equal(r.smtp.curl_code, CURLE_LOGIN_DENIED);
	assert_int_equal(r.smtp.fail, NET_LOGIN_DENIED);
	assert_int_equal(r.smtp.last.code, 535);
	assert_string_equal(r.smtp.last.enhanced, "5.7.3");
	assert_int_equal(r.smtp.stage, SMTP_STAGE_AUTH);
	/* The object id comes from the token's oid claim. */
	contains(r.diag.remedy,
		 "New-ServicePrincipal -AppId " APP " -ObjectId " SP_OID);
	contains(r.diag.remedy, "Add-MailboxPermission -Identity '" SENDER "'");
	contains(r.diag.evidence, "535 5.7.3 Authentication unsuccessful");
	/* The token is kept for the caller even though the send failed. */
	assert_non_null(r.token.value);
	probe_result_free(&r);
}

/* Without SMTP.SendAsApp the probe stops before SMTP; on the wire the
 * same 535 5.7.3 is told apart by the token's claims. */
static void test_535_without_role(void **state)
{
	struct diag_input in = {&cred, "NoR", NULL};
	struct smtp_send s = {0};
	struct entra_result res;
	struct entra_token tok;
	struct smtp_result sr;
	struct jwt_claims claims;
	struct smtp_message m = {0};
	struct probe_result r;
	struct err e;
	struct diag d;
	char *msg;
	size_t len;
	int sessions = log_count(&smtp, "\"event\": \"connect\"");

	(void)state;
	use_cred(APP_NOROLES, &entra, &smtp);
	probe_fails(NR_SECRET, PROBE_ROLE, "api-permission", &r);
	assert_true(r.claims_ok);
	assert_false(r.claims.has_roles);
	assert_false(r.smtp_ran);
	assert_int_equal(log_count(&smtp, "\"event\": \"connect\""), sessions);
	probe_result_free(&r);

	assert_int_equal(token(APP_NOROLES, NR_SECRET, &fast, &res, &tok), 0);
	assert_int_equal(jwt_decode(tok.value, tok.len, &claims, &e), 0);
	m.from = SENDER;
	m.to = SENDER;
	m.cred_name = "live";
	m.hint = "NoR";
	m.now = time(NULL);
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), 0);
	s.url = cred.smtp_url;
	s.ehlo_name = "probe.test";
	s.sender = SENDER;
	s.rcpt = SENDER;
	s.token = tok.value;
	s.message = msg;
	s.message_len = len;
	assert_int_equal(smtp_send_message(&s, &net, &sr), -1);
	assert_int_equal(sr.last.code, 535);
	assert_string_equal(sr.last.enhanced, "5.7.3");
	assert_int_equal(sr.curl_code, CURLE_LOGIN_DENIED);
	assert_int_equal(sr.fail, NET_LOGIN_DENIED);
	assert_int_equal(sr.response_code, 535);

	in.claims = &claims;
	diag_smtp(&in, &sr, &d);
	assert_string_equal(diag_step_name(d.step), "api-permission");
	in.claims = NULL;
	diag_smtp(&in, &sr, &d);
	assert_string_equal(diag_step_name(d.step), "exchange-permission");
	free(msg);
	entra_token_free(&tok);
}

static void test_535_57139_variants(void **state)
{
	static const struct {
		const char *mb, *top, *step, *words;
	} cases[] = {
	    {"", ",\"tenant_smtp_auth\":false", "smtp-auth-tenant",
	     "disabled for the Tenant"},
	    {",\"smtp_auth\":false", "", "smtp-auth-mailbox",
	     "disabled for the Mailbox"},
	    {",\"conditional_access\":true", "", "conditional-access",
	     "did not meet the criteria"},
	};
	struct probe_result r;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		smtp_set(&smtp, cases[i].mb, "", cases[i].top);
		probe_fails(SECRET, PROBE_XOAUTH2, cases[i].step, &r);
		assert_int_equal(r.smtp.last.code, 535);
		assert_string_equal(r.smtp.last.enhanced, "5.7.139");
		contains(r.smtp.last.text, cases[i].words);
		assert_int_equal(r.smtp.curl_code, CURLE_LOGIN_DENIED);
		assert_int_equal(r.smtp.fail, NET_LOGIN_DENIED);
		probe_result_free(&r);
	}
	/* The mailbox override wins over the tenant switch. */
	smtp_set(&smtp, ",\"smtp_auth\":true", "",
		 ",\"tenant_smtp_auth\":false");
	{
		struct probe_opts o = opts(SECRET);

		assert_int_equal(probe_run(&cred, &o, &r), 0);
		probe_result_free(&r);
	}
}

static void test_530_not_authenticated(void **state)
{
	struct probe_result r;

	(void)state;
	smtp_set(&smtp, "", "", ",\"no_auth\":true");
	probe_fails(SECRET, PROBE_XOAUTH2, "smtp-not-authenticated", &r);
	assert_int_equal(r.smtp.last.code, 530);
	assert_string_equal(r.smtp.last.enhanced, "5.7.57");
	assert_int_equal(r.smtp.stage, SMTP_STAGE_MAIL);
	assert_int_equal(r.smtp.curl_code, CURLE_SEND_ERROR);
	assert_int_equal(r.smtp.fail, NET_BROKEN);
	assert_false(r.smtp.auth_offered);
	assert_true(r.smtp.tls);
	probe_result_free(&r);

	/* AUTH offered, but not XOAUTH2: curl gives up before MAIL. */
	smtp_set(&smtp, "", "", ",\"auth_mechanisms\":\"LOGIN\"");
	probe_fails(SECRET, PROBE_XOAUTH2, "smtp-not-authenticated", &r);
	assert_int_equal(r.smtp.curl_code, CURLE_LOGIN_DENIED);
	assert_int_equal(r.smtp.fail, NET_LOGIN_DENIED);
	assert_false(r.smtp.xoauth2_offered);
	contains(r.diag.summary, "LOGIN");
	probe_result_free(&r);
}

/* A message whose From: is another address than the authenticated
 * mailbox: each of the fake's send-as replies. */
static void test_send_as_denied(void **state)
{
	static const struct {
		const char *top;
		int code;
		const char *enh;
		int curl;
	} cases[] = {
	    {"", 554, "5.2.252", CURLE_WEIRD_SERVER_REPLY},
	    {",\"sendas_reply\":\"5.2.0\"", 554, "5.2.0",
	     CURLE_WEIRD_SERVER_REPLY},
	    {",\"sendas_reply\":\"5.7.60\"", 550, "5.7.60",
	     CURLE_WEIRD_SERVER_REPLY},
	};
	struct diag_input in = {&cred, "Abc", NULL};
	struct smtp_message m = {0};
	struct smtp_send s = {0};
	struct entra_result res;
	struct entra_token tok;
	struct jwt_claims claims;
	struct smtp_result sr;
	struct err e;
	struct diag d;
	char *msg;
	size_t len;

	(void)state;
	assert_int_equal(token(APP, SECRET, &fast, &res, &tok), 0);
	assert_int_equal(jwt_decode(tok.value, tok.len, &claims, &e), 0);
	in.claims = &claims;
	m.from = "ceo@contoso.com";
	m.to = SENDER;
	m.cred_name = "live";
	m.hint = "Abc";
	m.now = time(NULL);
	assert_int_equal(smtp_build_message(&m, &msg, &len, &e), 0);
	s.url = cred.smtp_url;
	s.sender = SENDER;
	s.rcpt = SENDER;
	s.token = tok.value;
	s.message = msg;
	s.message_len = len;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		smtp_set(&smtp, "", "", cases[i].top);
		assert_int_equal(smtp_send_message(&s, &net, &sr), -1);
		assert_int_equal(sr.last.code, cases[i].code);
		assert_string_equal(sr.last.enhanced, cases[i].enh);
		assert_int_equal(sr.stage, SMTP_STAGE_END_OF_DATA);
		assert_int_equal(sr.curl_code, cases[i].curl);
		assert_int_equal(sr.fail, NET_BAD_REPLY);
		assert_true(sr.authenticated);
		diag_smtp(&in, &sr, &d);
		assert_string_equal(diag_step_name(d.step), "send-as");
		contains(d.remedy, "-AccessRights SendAs");
		contains(d.evidence, "(at end-of-data)");
	}

	free(msg);
	entra_token_free(&tok);
}

static void test_430_logon_failure(void **state)
{
	struct probe_result r;

	(void)state;
	smtp_set(&smtp, ",\"logon_failure\":true", "", "");
	probe_fails(SECRET, PROBE_ACCEPTED, "exchange-permission", &r);
	assert_int_equal(r.smtp.last.code, 430);
	assert_string_equal(r.smtp.last.enhanced, "4.2.0");
	assert_int_equal(r.smtp.stage, SMTP_STAGE_END_OF_DATA);
	step_is(&r, PROBE_XOAUTH2, PROBE_PASSED);
	step_is(&r, PROBE_SEND_AS, PROBE_PASSED);
	contains(r.diag.summary, "logon failure");
	probe_result_free(&r);
}

static void test_432_concurrency(void **state)
{
	struct probe_result r;

	(void)state;
	smtp_set(&smtp, "", "", ",\"force_432\":true");
	probe_fails(SECRET, PROBE_ACCEPTED, "smtp-concurrency", &r);
	assert_int_equal(r.smtp.last.code, 432);
	assert_string_equal(r.smtp.last.enhanced, "4.3.2");
	assert_int_equal(r.smtp.stage, SMTP_STAGE_MAIL);
	assert_true(r.smtp.transient);
	assert_true(r.diag.transient);
	assert_int_equal(r.smtp.attempts, 3); /* retried, as policy allows */
	probe_result_free(&r);
}

/* ------------------------------------------------------------------ */
/* Temporary SMTP failures, retried */

/* The scenario's force_reply (reply) at stage at for the first k times
 * (0: always). */
static void smtp_force(const char *reply, const char *at, int k)
{
	char top[512];

	snprintf(top, sizeof(top),
		 ",\"force_reply\":\"%s\",\"force_reply_at\":\"%s\","
		 "\"force_reply_first\":%d",
		 reply, at, k);
	smtp_set(&smtp, "", "", top);
}

/* One "421 4.3.2" (Exchange Online busy) fails nothing: the send is
 * made again and the message arrives; at the greeting, at AUTH and at
 * MAIL FROM alike. */
static void test_smtp_temporary_retried(void **state)
{
	static const struct {
		const char *reply, *at;
		int k;
	} cases[] = {
	    {"421 4.3.2 Service not available, closing transmission channel",
	     "mail", 1},
	    {"421 4.3.2 Service not available, closing transmission channel",
	     "greeting", 1},
	    {"454 4.7.0 Temporary authentication failure", "auth", 2},
	    {"451 4.7.0 Temporary server error. Please try again later.",
	     "data", 1},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct probe_opts o = opts(SECRET);
		int before = maildir_count(NULL);
		struct probe_result r;

		smtp_force(cases[i].reply, cases[i].at, cases[i].k);
		if (probe_run(&cred, &o, &r) != 0)
			fail_msg("%s at %s: %s: %s", cases[i].reply,
				 cases[i].at, diag_step_name(r.diag.step),
				 r.diag.summary);
		assert_true(r.ok);
		assert_int_equal(r.smtp.attempts, cases[i].k + 1);
		assert_int_equal(maildir_count(NULL), before + 1);
		step_is(&r, PROBE_ACCEPTED, PROBE_PASSED);
		probe_result_free(&r);
	}
}

/* A temporary failure that persists: named, transient, after the
 * attempts the policy allows. */
static void test_smtp_temporary_persists(void **state)
{
	struct probe_result r;
	int mails = log_count(&smtp, "\"line\": \"MAIL");

	(void)state;
	smtp_force("421 4.3.2 Service not available, closing transmission "
		   "channel",
		   "mail", 0);
	probe_fails(SECRET, PROBE_ACCEPTED, "smtp-temporary", &r);
	assert_int_equal(r.smtp.last.code, 421);
	assert_string_equal(r.smtp.last.enhanced, "4.3.2");
	assert_int_equal(r.smtp.attempts, 3);
	assert_true(r.diag.transient);
	contains(r.diag.summary, "refused the send for now");
	contains(r.diag.summary, "after 3 attempts");
	contains(r.diag.remedy, "retried");
	contains(r.diag.evidence, "421 4.3.2 Service not available");
	assert_int_equal(log_count(&smtp, "\"line\": \"MAIL"), mails + 3);
	probe_result_free(&r);
}

/* A permanent 5xx is never retried. */
static void test_smtp_permanent_not_retried(void **state)
{
	struct probe_result r;
	int mails = log_count(&smtp, "\"line\": \"MAIL");

	(void)state;
	smtp_force("550 5.7.1 Service unavailable; client blocked", "mail", 0);
	probe_fails(SECRET, PROBE_ACCEPTED, "unknown", &r);
	assert_int_equal(r.smtp.attempts, 1);
	assert_false(r.diag.transient);
	assert_int_equal(log_count(&smtp, "\"line\": \"MAIL"), mails + 1);
	probe_result_free(&r);
}

/* ------------------------------------------------------------------ */
/* The probe's deadline */

/* A token endpoint that stalls: the probe ends at its deadline, not
 * after attempts x the transfer timeout (20 s here). */
static void test_deadline_token(void **state)
{
	struct probe_opts o = opts(SECRET);
	struct probe_result r;
	struct timespec t0;
	long ms;

	(void)state;
	entra_set(&entra, ",\"fault\":\"slow\",\"slow_seconds\":8");
	o.deadline_ms = 1500;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(probe_run(&cred, &o, &r), -1);
	ms = elapsed_ms(&t0);
	if (ms < 1400 || ms > 3000)
		fail_msg("the probe took %ld ms for a deadline of 1500", ms);
	assert_int_equal(r.failed, PROBE_TENANT);
	assert_string_equal(diag_step_name(r.diag.step), "network");
	assert_true(r.diag.transient);
	assert_true(r.entra.deadline);
	assert_int_equal(r.entra.attempts, 1);
	contains(r.diag.summary,
		 "no answer from the token endpoint within 2 s");
	contains(r.diag.remedy, "test_deadline");
	assert_false(r.smtp_ran);
	no_secrets_in(&r, SECRET);
	probe_result_free(&r);
}

/* An SMTP server that stalls: the same, at the send. */
static void test_deadline_smtp(void **state)
{
	struct probe_opts o = opts(SECRET);
	struct probe_result r;
	struct timespec t0;
	long ms;

	(void)state;
	smtp_set(&smtp, "", "", ",\"greeting_delay\":8");
	o.deadline_ms = 2000;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(probe_run(&cred, &o, &r), -1);
	ms = elapsed_ms(&t0);
	if (ms < 1900 || ms > 3500)
		fail_msg("the probe took %ld ms for a deadline of 2000", ms);
	assert_int_equal(r.failed, PROBE_SMTP);
	step_is(&r, PROBE_ROLE, PROBE_PASSED);
	assert_string_equal(diag_step_name(r.diag.step), "network");
	assert_true(r.diag.transient);
	assert_true(r.smtp.deadline);
	assert_int_equal(r.smtp.attempts, 1);
	contains(r.diag.summary, "within 2 s");
	no_secrets_in(&r, SECRET);
	probe_result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup(f, setup_each)
	    T(test_full_probe_delivers),
	    T(test_test_to_and_override),
	    T(test_token_only),
	    T(test_bad_secret),
	    T(test_expired_secret),
	    T(test_tenant_and_app),
	    T(test_legacy_crlf),
	    T(test_429_then_success),
	    T(test_429_persistent),
	    T(test_500_retried),
	    T(test_timeout_retried),
	    T(test_non_json_200),
	    T(test_rogue_ca_refused),
	    T(test_no_starttls_refused),
	    T(test_421_old_tls),
	    T(test_535_with_role),
	    T(test_535_without_role),
	    T(test_535_57139_variants),
	    T(test_530_not_authenticated),
	    T(test_send_as_denied),
	    T(test_430_logon_failure),
	    T(test_432_concurrency),
	    T(test_smtp_temporary_retried),
	    T(test_smtp_temporary_persists),
	    T(test_smtp_permanent_not_retried),
	    T(test_deadline_token),
	    T(test_deadline_smtp),
#undef T
	};
	const char *fakes = getenv("SW_FAKES");
	char probe[600];

	if (fakes == NULL || fakes[0] == '\0') {
		printf("SW_FAKES is not set; run this through ctest\n");
		return 0;
	}
	snprintf(probe, sizeof(probe), "%s/fake_smtp.py", fakes);
	if (access(probe, R_OK) != 0 || access(PYTHON, X_OK) != 0) {
		fprintf(stderr, "the fakes or %s are missing\n", PYTHON);
		return 1;
	}
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
