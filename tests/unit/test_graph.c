/* lib/graph's parsers on the exact reply bodies of docs/PROTOCOL.md
 * §4.1, §4.2 and §4.4, and lib/diag's Graph rows: 403, 404, lifetime policy,
 * throttling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "diag.h"
#include "graph.h"

#define TENANT	"11111111-2222-3333-4444-555555555555"
#define CLIENT	"aaaaaaaa-0000-0000-0000-000000000001"
#define APP_OID "dddddddd-0000-0000-0000-000000000001"
#define SP_OID	"bbbbbbbb-0000-0000-0000-000000000001"
#define KEY1	"f0b0b335-1d71-4883-8f98-567911bfdca6"
#define KEY2	"0a1b2c3d-0000-4000-8000-000000000002"
#define SECRET	"[6gyXA5S20@MN+WRXAJ]I-TO7g1:h2P8"

static void test_time(void **state)
{
	int64_t t;

	(void)state;
	assert_int_equal(graph_parse_time("2026-12-01T10:00:00Z", &t), 0);
	assert_int_equal(t, 1796119200);
	assert_int_equal(graph_parse_time("2021-09-09T19:50:29.3086381Z", &t),
			 0);
	assert_int_equal(t, 1631217029);
	assert_int_equal(graph_parse_time("2021-09-09T19:50:29.3Z", &t), 0);
	assert_int_equal(t, 1631217029);
	assert_int_equal(graph_parse_time("2021-09-09T19:50:29", &t), 0);
	assert_int_equal(t, 1631217029);
	assert_int_equal(graph_parse_time("2021-09-09T21:50:29+02:00", &t), 0);
	assert_int_equal(t, 1631217029);
	/* 8 fractional digits, a bare dot, no T, junk, nothing */
	assert_int_equal(graph_parse_time("2021-09-09T19:50:29.30863810Z", &t),
			 -1);
	assert_int_equal(graph_parse_time("2021-09-09T19:50:29.Z", &t), -1);
	assert_int_equal(graph_parse_time("2021-09-09 19:50:29Z", &t), -1);
	assert_int_equal(graph_parse_time("2021-09-09T19:50:29Zx", &t), -1);
	assert_int_equal(graph_parse_time("+90d", &t), -1);
	assert_int_equal(graph_parse_time("", &t), -1);
	assert_int_equal(graph_parse_time(NULL, &t), -1);
}

static const char app_body[] =
    "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#"
    "applications(id,appId,displayName,passwordCredentials)/$entity\","
    "\"id\":\"" APP_OID "\",\"appId\":\"" CLIENT "\",\"displayName\":"
    "\"mailer\",\"createdDateTime\":\"2024-03-01T12:00:00Z\","
    "\"passwordCredentials\":["
    "{\"customKeyIdentifier\":null,\"displayName\":\"smtp\","
    "\"endDateTime\":\"2026-12-01T10:00:00Z\",\"hint\":\"abc\","
    "\"keyId\":\"" KEY1 "\",\"secretText\":null,"
    "\"startDateTime\":\"2025-12-01T10:00:00.1234567Z\"},"
    "{\"customKeyIdentifier\":null,\"displayName\":null,"
    "\"endDateTime\":\"2027-01-01T00:00:00Z\",\"hint\":\"abc\","
    "\"keyId\":\"0A1B2C3D-0000-4000-8000-000000000002\","
    "\"secretText\":null,\"startDateTime\":\"2026-01-01T00:00:00Z\"},"
    "{\"keyId\":\"not-a-guid\",\"hint\":\"zzz\"},"
    "{\"keyId\":\"0a1b2c3d-0000-4000-8000-000000000003\",\"hint\":\"Xy1\","
    "\"endDateTime\":\"2026-06-01T00:00:00Z\"}]}";

static void test_app(void **state)
{
	struct graph_app app;
	struct err e = {{0}};

	(void)state;
	assert_int_equal(graph_parse_app(app_body, strlen(app_body), &app, &e),
			 0);
	assert_string_equal(app.id, APP_OID);
	assert_string_equal(app.app_id, CLIENT);
	assert_string_equal(app.display_name, "mailer");
	assert_int_equal(app.created_at, 1709294400); /* 2024-03-01T12:00Z */
	assert_int_equal(app.n_passwords, 3); /* the bad keyId is skipped */
	assert_string_equal(app.passwords[0].key_id, KEY1);
	assert_string_equal(app.passwords[0].hint, "abc");
	assert_string_equal(app.passwords[0].display_name, "smtp");
	assert_int_equal(app.passwords[0].end, 1796119200);
	assert_int_equal(app.passwords[0].start, 1764583200);
	assert_string_equal(app.passwords[1].key_id, KEY2); /* lower case */
	assert_string_equal(app.passwords[1].display_name, "");
	/* abc is on two: no single match; Xy1 on one */
	assert_null(graph_app_by_hint(&app, "abc"));
	assert_non_null(graph_app_by_hint(&app, "Xy1"));
	assert_null(graph_app_by_hint(&app, "xy1"));
	assert_null(graph_app_by_hint(&app, ""));
	assert_ptr_equal(graph_app_by_key(&app, "0A1B2C3D-0000-4000-8000-"
						"000000000002"),
			 &app.passwords[1]);
	assert_null(graph_app_by_key(&app, "0a1b2c3d-0000-4000-8000-"
					   "000000000009"));

	assert_int_equal(graph_parse_app("{}", 2, &app, &e), -1);
	assert_int_equal(graph_parse_app("[1]", 3, &app, &e), -1);
	assert_int_equal(
	    graph_parse_app("{\"id\":\"" APP_OID "\"}", 44, &app, &e), -1);
	assert_int_equal(graph_parse_app(NULL, 0, &app, &e), -1);
}

static const char added_body[] =
    "{\"@odata.context\":\"https://graph.microsoft.com/v1.0/$metadata#"
    "microsoft.graph.passwordCredential\",\"customKeyIdentifier\":null,"
    "\"endDateTime\":\"2027-06-01T00:00:00Z\",\"keyId\":\"" KEY1 "\","
    "\"startDateTime\":\"2026-06-01T08:01:02.0371294Z\","
    "\"secretText\":\"" SECRET "\",\"hint\":\"[6g\","
    "\"displayName\":\"smtp-2026\"}";

static void test_added(void **state)
{
	struct graph_password pw;
	struct vbuf v;
	struct err e = {{0}};
	char body[sizeof(added_body)];

	(void)state;
	assert_int_equal(
	    graph_parse_added(added_body, strlen(added_body), &pw, &v, &e), 0);
	assert_string_equal(pw.key_id, KEY1);
	assert_string_equal(pw.hint, "[6g");
	assert_string_equal(pw.display_name, "smtp-2026");
	assert_int_equal(pw.end, 1811808000);
	assert_int_equal(v.len, strlen(SECRET));
	assert_memory_equal(v.p, SECRET, v.len);
	vbuf_free(&v);
	assert_null(v.p);

	/* No hint: taken from the value. */
	snprintf(body, sizeof(body), "%s", added_body);
	memcpy(strstr(body, "\"hint\""), "\"hunt\"", 6);
	assert_int_equal(graph_parse_added(body, strlen(body), &pw, &v, &e), 0);
	assert_string_equal(pw.hint, "[6g");
	vbuf_free(&v);

	/* No secretText, no endDateTime, no keyId: refused, nothing kept. */
	snprintf(body, sizeof(body), "%s", added_body);
	memcpy(strstr(body, "\"secretText\""), "\"secretTexx\"", 12);
	assert_int_equal(graph_parse_added(body, strlen(body), &pw, &v, &e),
			 -1);
	assert_null(v.p);
	assert_null(strstr(e.msg, SECRET));
	snprintf(body, sizeof(body), "%s", added_body);
	memcpy(strstr(body, "\"endDateTime\""), "\"endDateTimx\"", 13);
	assert_int_equal(graph_parse_added(body, strlen(body), &pw, &v, &e),
			 -1);
	assert_null(v.p);
	assert_int_equal(
	    graph_parse_added("{\"secretText\":\"" SECRET "\"}",
			      strlen("{\"secretText\":\"" SECRET "\"}"), &pw,
			      &v, &e),
	    -1);
	assert_null(v.p);
}

#define ERR403                                                                 \
	"{\"error\":{\"code\":\"Authorization_RequestDenied\",\"message\":"    \
	"\"Insufficient privileges to complete the operation.\","              \
	"\"innerError\":{\"date\":\"2026-01-01T00:00:00\",\"request-id\":"     \
	"\"req-1\",\"client-request-id\":\"req-1\"}}}"
#define ERR404                                                                 \
	"{\"error\":{\"code\":\"Request_ResourceNotFound\",\"message\":"       \
	"\"Resource '" CLIENT "' does not exist or one of its queried "        \
	"reference-property objects are not present.\",\"innerError\":"        \
	"{\"date\":\"2026-01-01T00:00:00\",\"request-id\":\"req-2\"}}}"
#define ERR_POLICY                                                             \
	"{\"error\":{\"code\":\"CredentialInvalidLifetimeAsPerAppPolicy\","    \
	"\"message\":\"Credential lifetime exceeds the max value allowed as "  \
	"per assigned policy 'Default app management policy' (maxLifetime "    \
	"P90D).\",\"innerError\":{\"date\":\"2026-01-01T00:00:00\","           \
	"\"request-id\":\"req-3\"}}}"

static void test_error(void **state)
{
	struct graph_result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.attempts = 2;
	graph_parse_error("reading the application", 403, ERR403,
			  strlen(ERR403), &r);
	assert_false(r.ok);
	assert_false(r.transient);
	assert_int_equal(r.http_status, 403);
	assert_int_equal(r.attempts, 2);
	assert_string_equal(r.code, "Authorization_RequestDenied");
	assert_string_equal(r.message,
			    "Insufficient privileges to complete the "
			    "operation.");
	assert_string_equal(r.request_id, "req-1");
	assert_non_null(strstr(r.summary, "HTTP 403 Authorization_Request"));

	graph_parse_error("x", 429, "Too Many Requests", 17, &r);
	assert_true(r.transient);
	assert_string_equal(r.code, "");
	graph_parse_error("x", 502, "<html>\r\n", 8, &r);
	assert_true(r.transient);
	graph_parse_error("x", 400, "{\"error\":\"invalid\"}", 19, &r);
	assert_string_equal(r.code, "");
	graph_parse_error("x", 400, NULL, 0, &r);
	assert_non_null(strstr(r.summary, "HTTP 400"));
}

static struct cred cred;

static void diag_of(long status, const char *body, const char *app_oid,
		    struct diag *d)
{
	struct diag_input in = {&cred, "abc", NULL};
	struct graph_result r;

	memset(&r, 0, sizeof(r));
	graph_parse_error("adding a client secret", status, body,
			  body != NULL ? strlen(body) : 0, &r);
	if (status == 429)
		r.retry_after_s = 7;
	diag_graph(&in, &r, app_oid, NULL, d);
}

static void test_policy(void **state)
{
	static const struct {
		const char *body;
		int rc;
		bool found, blocked;
		int64_t max_days;
	} cases[] = {
	    /* the tenant's default policy */
	    {"{\"isEnabled\":true,\"applicationRestrictions\":{"
	     "\"passwordCredentials\":[{\"restrictionType\":"
	     "\"passwordLifetime\",\"state\":\"enabled\",\"maxLifetime\":"
	     "\"P90D\"}]}}",
	     0, true, false, 90},
	    {"{\"isEnabled\":false,\"applicationRestrictions\":{"
	     "\"passwordCredentials\":[{\"restrictionType\":"
	     "\"passwordLifetime\",\"maxLifetime\":\"P90D\"}]}}",
	     0, false, false, 0},
	    /* an app's policies: the shortest enabled limit; a disabled
	     * restriction and a disabled policy count for nothing */
	    {"{\"value\":[{\"isEnabled\":true,\"restrictions\":{"
	     "\"passwordCredentials\":[{\"restrictionType\":"
	     "\"passwordLifetime\",\"maxLifetime\":\"P1Y\"},"
	     "{\"restrictionType\":\"passwordLifetime\",\"state\":"
	     "\"disabled\",\"maxLifetime\":\"P7D\"}]}},"
	     "{\"isEnabled\":false,\"restrictions\":{\"passwordCredentials\":"
	     "[{\"restrictionType\":\"passwordAddition\"}]}},"
	     "{\"restrictions\":{\"passwordCredentials\":[{"
	     "\"restrictionType\":\"passwordLifetime\",\"maxLifetime\":"
	     "\"P6M\"}]}}]}",
	     0, true, false, 6 * 28},
	    {"{\"value\":[{\"restrictions\":{\"passwordCredentials\":[{"
	     "\"restrictionType\":\"passwordAddition\",\"state\":"
	     "\"enabled\"}]}}]}",
	     0, true, true, 0},
	    {"{\"value\":[]}", 0, false, false, 0},
	    /* a limit that is not a duration is no limit */
	    {"{\"applicationRestrictions\":{\"passwordCredentials\":[{"
	     "\"restrictionType\":\"passwordLifetime\",\"maxLifetime\":"
	     "\"90 days\"}]}}",
	     0, false, false, 0},
	    {"[]", -1, false, false, 0},
	    {"not json", -1, false, false, 0},
	};
	struct graph_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *b = cases[i].body;

		assert_int_equal(graph_parse_policy(b, strlen(b), 0, &p),
				 cases[i].rc);
		assert_int_equal(p.found, cases[i].found);
		assert_int_equal(p.additions_blocked, cases[i].blocked);
		assert_int_equal(p.max_lifetime, cases[i].max_days * 86400);
	}
	assert_int_equal(graph_parse_policy(NULL, 0, 0, &p), -1);
}

/* A restriction for apps created after a date spares older apps; an app
 * of unknown age is held to it. */
static void test_policy_since(void **state)
{
	static const char body[] =
	    "{\"applicationRestrictions\":{\"passwordCredentials\":[{"
	    "\"restrictionType\":\"passwordLifetime\",\"maxLifetime\":"
	    "\"P90D\",\"restrictForAppsCreatedAfterDateTime\":"
	    "\"2024-01-01T00:00:00Z\"}]}}";
	const int64_t since = 1704067200; /* 2024-01-01 */
	const int64_t created[] = {0, since - 86400, since, since + 1};
	const bool held[] = {true, false, false, true};
	struct graph_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(created) / sizeof(created[0]); i++) {
		assert_int_equal(
		    graph_parse_policy(body, strlen(body), created[i], &p), 0);
		assert_int_equal(p.found, held[i]);
		assert_int_equal(p.max_lifetime, held[i] ? 90 * 86400 : 0);
	}
}

static void test_diag_rows(void **state)
{
	struct diag d;
	char maxl[16];

	(void)state;
	memset(&cred, 0, sizeof(cred));
	snprintf(cred.name, sizeof(cred.name), "mail-prod");
	snprintf(cred.tenant, sizeof(cred.tenant), TENANT);
	snprintf(cred.client_id, sizeof(cred.client_id), CLIENT);
	snprintf(cred.object_id, sizeof(cred.object_id), SP_OID);
	snprintf(cred.cloud, sizeof(cred.cloud), "global");

	diag_of(403, ERR403, APP_OID, &d);
	assert_string_equal(diag_step_name(d.step), "graph-permission");
	assert_non_null(strstr(d.remedy, "Application.ReadWrite.OwnedBy"));
	assert_non_null(strstr(
	    d.remedy,
	    "New-MgApplicationOwnerByRef -ApplicationId " APP_OID
	    " -BodyParameter @{\"@odata.id\"=\"https://graph.microsoft.com/"
	    "v1.0/directoryObjects/" SP_OID "\"}"));
	assert_non_null(strstr(d.remedy, "az ad app owner add --id " CLIENT
					 " --owner-object-id " SP_OID));
	assert_non_null(strstr(d.remedy, "secretwatch sync mail-prod"));
	assert_non_null(strstr(d.evidence, "req-1"));
	assert_false(d.transient);
	/* Without the app's object ID: where to find it. */
	diag_of(403, ERR403, NULL, &d);
	assert_non_null(strstr(d.remedy, "-ApplicationId <Object ID of the app "
					 "registration>"));

	diag_of(404, ERR404, NULL, &d);
	assert_string_equal(diag_step_name(d.step), "graph-app");
	assert_non_null(strstr(d.remedy, "--cloud"));
	assert_non_null(strstr(d.summary, CLIENT));

	diag_of(400, ERR_POLICY, NULL, &d);
	assert_string_equal(diag_step_name(d.step), "secret-lifetime-policy");
	assert_non_null(strstr(d.remedy, "The longest lifetime it allows: "
					 "P90D"));
	assert_non_null(strstr(d.summary, "Default app management policy"));

	diag_of(429, NULL, NULL, &d);
	assert_string_equal(diag_step_name(d.step), "network");
	assert_true(d.transient);
	assert_non_null(strstr(d.evidence, "throttled"));

	diag_of(400, "{\"error\":{\"code\":\"Whatever\",\"message\":\"m\"}}",
		NULL, &d);
	assert_string_equal(diag_step_name(d.step), "unknown");

	assert_int_equal(
	    diag_graph_max_lifetime("max P180D.", maxl, sizeof(maxl)), 0);
	assert_string_equal(maxl, "P180D");
	assert_int_equal(
	    diag_graph_max_lifetime("APP1D no", maxl, sizeof(maxl)), -1);
	assert_int_equal(diag_graph_max_lifetime("", maxl, sizeof(maxl)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_time),	 cmocka_unit_test(test_app),
	    cmocka_unit_test(test_added),	 cmocka_unit_test(test_error),
	    cmocka_unit_test(test_diag_rows),	 cmocka_unit_test(test_policy),
	    cmocka_unit_test(test_policy_since),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
