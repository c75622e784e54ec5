/* The token reply parser against the exact bodies of docs/PROTOCOL.md
 * §1.3 and §7, the legacy "\r\n" suffix, and the non-OAuth
 * replies a proxy or a throttled endpoint sends. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "entra.h"

#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */

static int parse(long status, const char *body, struct entra_result *res,
		 struct entra_token *tok)
{
	memset(res, 0, sizeof(*res));
	return entra_parse_response(status, body, strlen(body), NOW, res, tok);
}

/* docs/PROTOCOL.md §1.3, as recorded. */
static void test_success(void **state)
{
	static const char body[] =
	    "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
	    "\"ext_expires_in\":3599,\"access_token\":"
	    "\"eyJ0eXAiOiJKV1Qi...\"}";
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(200, body, &res, &tok), 0);
	assert_true(res.ok);
	assert_false(res.transient);
	assert_int_equal(res.http_status, 200);
	assert_int_equal(res.expires_in, 3599);
	assert_non_null(tok.value);
	assert_string_equal(tok.value, "eyJ0eXAiOiJKV1Qi...");
	assert_int_equal(tok.len, strlen("eyJ0eXAiOiJKV1Qi..."));
	assert_int_equal(tok.expires_at, NOW + 3599);
	/* The token is never in a result string. */
	assert_null(strstr(res.summary, "eyJ0"));
	entra_token_free(&tok);
	assert_null(tok.value);
	assert_int_equal(tok.len, 0);
	entra_token_free(&tok); /* twice is fine */
	entra_token_free(NULL);
}

/* docs/PROTOCOL.md §1.3: the v1 endpoint sends numbers as strings; a lenient
 * parser takes both. */
static void test_expires_in_string(void **state)
{
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(200,
			       "{\"token_type\":\"Bearer\",\"expires_in\":"
			       "\"3599\",\"access_token\":\"abc.def.ghi\"}",
			       &res, &tok),
			 0);
	assert_int_equal(tok.expires_at, NOW + 3599);
	entra_token_free(&tok);

	assert_int_equal(
	    parse(200, "{\"expires_in\":\"35x\",\"access_token\":\"a\"}", &res,
		  &tok),
	    -1);
	assert_null(tok.value);
	assert_non_null(strstr(res.summary, "expires_in"));
	assert_int_equal(parse(200,
			       "{\"expires_in\":-5,\"access_token\":\"a\"}",
			       &res, &tok),
			 -1);
	assert_int_equal(parse(200, "{\"access_token\":\"a\"}", &res, &tok),
			 -1);
	assert_int_equal(parse(200,
			       "{\"expires_in\":\"\",\"access_token\":\"a\"}",
			       &res, &tok),
			 -1);
}

/* A token that is expired on arrival (found by fuzz_entra) is refused:
 * expires_at would be now, not after it. */
static void test_expires_in_zero(void **state)
{
	static const char *const bodies[] = {
	    "{\"expires_in\":0,\"access_token\":\"abc.def.ghi\"}",
	    "{\"expires_in\":\"0\",\"access_token\":\"abc.def.ghi\"}",
	    "{\"expires_in\":0.5,\"access_token\":\"abc.def.ghi\"}",
	    "{\"expires_in\":-0,\"access_token\":\"abc.def.ghi\"}",
	};
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		assert_int_equal(parse(200, bodies[i], &res, &tok), -1);
		assert_null(tok.value);
		assert_false(res.ok);
		assert_non_null(strstr(res.summary, "expires_in"));
	}
	assert_int_equal(parse(200,
			       "{\"expires_in\":1,\"access_token\":\"abc\"}",
			       &res, &tok),
			 0);
	assert_int_equal(tok.expires_at, NOW + 1);
	entra_token_free(&tok);
}

static void test_missing_token(void **state)
{
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(
	    parse(200, "{\"token_type\":\"Bearer\",\"expires_in\":3599}", &res,
		  &tok),
	    -1);
	assert_false(res.ok);
	assert_false(res.transient);
	assert_null(tok.value);
	assert_non_null(strstr(res.summary, "access_token"));

	assert_int_equal(parse(200,
			       "{\"expires_in\":3599,\"access_token\":\"\"}",
			       &res, &tok),
			 -1);
	assert_int_equal(
	    parse(200, "{\"expires_in\":3599,\"access_token\":42}", &res, &tok),
	    -1);
	assert_null(tok.value);
}

/* docs/PROTOCOL.md §1.3, the 2026 reply captured from go-azure-sdk. */
static void test_7000222_current(void **state)
{
	static const char body[] =
	    "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000222: The provided client secret keys for app "
	    "'11111111-2222-3333-4444-555555555555' are expired. Visit the "
	    "Azure portal to create new keys for your app: "
	    "https://aka.ms/NewClientSecret, or consider using certificate "
	    "credentials for added security: https://aka.ms/certCreds. "
	    "Trace ID: bb15b8d5-2f4a-42f7-8467-160d74b6f000 Correlation ID: "
	    "207b7466-1bd4-47f7-be07-9e2244ff20a7 Timestamp: 2026-09-04 "
	    "01:51:03Z\",\"error_codes\":[7000222],\"timestamp\":"
	    "\"2026-09-04 01:51:03Z\",\"trace_id\":"
	    "\"bb15b8d5-2f4a-42f7-8467-160d74b6f000\",\"correlation_id\":"
	    "\"207b7466-1bd4-47f7-be07-9e2244ff20a7\",\"error_uri\":"
	    "\"https://login.microsoftonline.com/error?code=7000222\"}";
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(401, body, &res, &tok), -1);
	assert_false(res.ok);
	assert_false(res.transient);
	assert_null(tok.value);
	assert_int_equal(res.http_status, 401);
	assert_string_equal(res.error, "invalid_client");
	assert_int_equal(res.n_error_codes, 1);
	assert_int_equal(res.error_codes[0], 7000222);
	assert_string_equal(
	    res.error_description,
	    "AADSTS7000222: The provided client secret keys for app "
	    "'11111111-2222-3333-4444-555555555555' are expired. Visit the "
	    "Azure portal to create new keys for your app: "
	    "https://aka.ms/NewClientSecret, or consider using certificate "
	    "credentials for added security: https://aka.ms/certCreds.");
	assert_string_equal(res.trace_id,
			    "bb15b8d5-2f4a-42f7-8467-160d74b6f000");
	assert_string_equal(res.correlation_id,
			    "207b7466-1bd4-47f7-be07-9e2244ff20a7");
	assert_string_equal(res.timestamp, "2026-09-04 01:51:03Z");
	assert_non_null(strstr(res.summary, "AADSTS7000222"));
	assert_non_null(strstr(res.summary, "HTTP 401"));
}

/* docs/PROTOCOL.md §1.3, the older "\r\n" form from the Azure Arc page,
 * complete with its fields. */
static void test_7000222_legacy_crlf(void **state)
{
	static const char body[] =
	    "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000222: The provided client secret keys are expired."
	    "\\r\\nTrace ID: 69ade0e5-0000-0000-0000-000000000001\\r\\n"
	    "Correlation ID: 10057011-0000-0000-0000-000000000002\\r\\n"
	    "Timestamp: 2020-04-13 19:49:19Z\",\"error_codes\":[7000222],"
	    "\"timestamp\":\"2020-04-13 19:49:19Z\",\"trace_id\":"
	    "\"69ade0e5-0000-0000-0000-000000000001\",\"correlation_id\":"
	    "\"10057011-0000-0000-0000-000000000002\"}";
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(401, body, &res, &tok), -1);
	assert_string_equal(
	    res.error_description,
	    "AADSTS7000222: The provided client secret keys are expired.");
	assert_string_equal(res.trace_id,
			    "69ade0e5-0000-0000-0000-000000000001");
	assert_int_equal(res.error_codes[0], 7000222);
}

/* When only the description carries the IDs, they are taken from its
 * suffix, in both forms. */
static void test_ids_from_description(void **state)
{
	static const char crlf[] =
	    "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000215: Invalid client secret is provided.\\r\\n"
	    "Trace ID: t-1\\r\\nCorrelation ID: c-2\\r\\nTimestamp: "
	    "2020-04-13 19:49:19Z\",\"error_codes\":[7000215]}";
	static const char spaces[] =
	    "{\"error\":\"invalid_client\",\"error_description\":"
	    "\"AADSTS7000215: Invalid client secret provided. Trace ID: t-3 "
	    "Correlation ID: c-4 Timestamp: 2026-01-01 00:00:00Z\","
	    "\"error_codes\":[7000215]}";
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(401, crlf, &res, &tok), -1);
	assert_string_equal(
	    res.error_description,
	    "AADSTS7000215: Invalid client secret is provided.");
	assert_string_equal(res.trace_id, "t-1");
	assert_string_equal(res.correlation_id, "c-2");
	assert_string_equal(res.timestamp, "2020-04-13 19:49:19Z");

	assert_int_equal(parse(401, spaces, &res, &tok), -1);
	assert_string_equal(res.error_description,
			    "AADSTS7000215: Invalid client secret provided.");
	assert_string_equal(res.trace_id, "t-3");
	assert_string_equal(res.correlation_id, "c-4");
	assert_string_equal(res.timestamp, "2026-01-01 00:00:00Z");
}

/* docs/PROTOCOL.md §7: the fake's error body, with its fixed IDs. */
static void test_fake_error_bodies(void **state)
{
	static const char body_700016[] =
	    "{\"error\":\"unauthorized_client\",\"error_description\":"
	    "\"AADSTS700016: Application with identifier 'x' was not found in "
	    "the directory 'contoso'. This can happen if the application has "
	    "not been installed by the administrator of the tenant or "
	    "consented to by any user in the tenant. You may have sent your "
	    "authentication request to the wrong tenant. Trace ID: "
	    "00000000-0000-0000-0000-0000000000aa Correlation ID: "
	    "00000000-0000-0000-0000-0000000000bb Timestamp: 2026-01-01 "
	    "00:00:00Z\",\"error_codes\":[700016],\"timestamp\":\"2026-01-01 "
	    "00:00:00Z\",\"trace_id\":\"00000000-0000-0000-0000-0000000000aa\","
	    "\"correlation_id\":\"00000000-0000-0000-0000-0000000000bb\","
	    "\"error_uri\":"
	    "\"https://login.microsoftonline.com/error?code=700016\"}";
	static const char body_90002[] =
	    "{\"error\":\"invalid_tenant\",\"error_description\":"
	    "\"AADSTS90002: Tenant 'nope.example' not found. Trace ID: "
	    "00000000-0000-0000-0000-0000000000aa Correlation ID: "
	    "00000000-0000-0000-0000-0000000000bb Timestamp: 2026-01-01 "
	    "00:00:00Z\",\"error_codes\":[90002,50001],\"timestamp\":"
	    "\"2026-01-01 00:00:00Z\"}";
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(400, body_700016, &res, &tok), -1);
	assert_string_equal(res.error, "unauthorized_client");
	assert_int_equal(res.error_codes[0], 700016);
	assert_string_equal(res.trace_id,
			    "00000000-0000-0000-0000-0000000000aa");
	assert_string_equal(res.correlation_id,
			    "00000000-0000-0000-0000-0000000000bb");
	assert_null(strstr(res.error_description, "Trace ID"));
	assert_false(res.transient);

	assert_int_equal(parse(400, body_90002, &res, &tok), -1);
	assert_string_equal(res.error, "invalid_tenant");
	assert_int_equal(res.n_error_codes, 2);
	assert_int_equal(res.error_codes[0], 90002);
	assert_int_equal(res.error_codes[1], 50001);
	/* IDs missing as fields come from the description. */
	assert_string_equal(res.trace_id,
			    "00000000-0000-0000-0000-0000000000aa");
}

/* docs/PROTOCOL.md §1.4: a 429 or 5xx need not be JSON; it is transient. */
static void test_non_json_errors(void **state)
{
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(429, "Too Many Requests", &res, &tok), -1);
	assert_true(res.transient);
	assert_int_equal(res.http_status, 429);
	assert_string_equal(res.error, "");
	assert_int_equal(res.n_error_codes, 0);
	assert_non_null(strstr(res.summary, "429"));
	assert_non_null(strstr(res.summary, "Too Many Requests"));

	assert_int_equal(
	    parse(500, "<html><body>oops</body></html>\n<p>", &res, &tok), -1);
	assert_true(res.transient);
	assert_non_null(strstr(res.summary, "500"));

	assert_int_equal(parse(503, "", &res, &tok), -1);
	assert_true(res.transient);

	/* A 5xx with an OAuth body is still transient. */
	assert_int_equal(
	    parse(503,
		  "{\"error\":\"temporarily_unavailable\",\"error_codes\":"
		  "[50196]}",
		  &res, &tok),
	    -1);
	assert_true(res.transient);
	assert_string_equal(res.error, "temporarily_unavailable");

	/* Other 4xx are never transient, JSON or not. */
	assert_int_equal(parse(404, "<html>Not Found</html>", &res, &tok), -1);
	assert_false(res.transient);
	assert_int_equal(parse(400, "{\"foo\":1}", &res, &tok), -1);
	assert_false(res.transient);
	assert_non_null(strstr(res.summary, "not an OAuth error"));
}

/* A 200 that is not a token reply: a captive portal or a wrong URL. */
static void test_non_json_200(void **state)
{
	struct entra_result res;
	struct entra_token tok;
	char body[300];

	(void)state;
	assert_int_equal(
	    parse(200, "<html>Sign in to the Wi-Fi</html>", &res, &tok), -1);
	assert_false(res.ok);
	assert_false(res.transient);
	assert_null(tok.value);
	assert_non_null(strstr(res.summary, "HTTP 200"));
	assert_non_null(strstr(res.summary, "not a JSON"));

	assert_int_equal(parse(200, "", &res, &tok), -1);
	assert_non_null(strstr(res.summary, "empty"));
	assert_int_equal(parse(200, "[1,2,3]", &res, &tok), -1);
	assert_int_equal(parse(200, "{\"access_token\":", &res, &tok), -1);

	/* Control characters in a body never reach the summary. */
	snprintf(body, sizeof(body), "bad\x01\x1b[31mred");
	assert_int_equal(parse(200, body, &res, &tok), -1);
	assert_null(strchr(res.summary, '\x1b'));
	assert_null(strchr(res.summary, '\x01'));

	/* A 200 that carries an error is an error. */
	assert_int_equal(parse(200,
			       "{\"error\":\"invalid_request\",\"error_codes\":"
			       "[900144],\"access_token\":\"x\","
			       "\"expires_in\":1}",
			       &res, &tok),
			 -1);
	assert_null(tok.value);
	assert_int_equal(res.error_codes[0], 900144);
}

/* The body need not be NUL-terminated, and a length is honoured. */
static void test_length_bounds(void **state)
{
	static const char body[] =
	    "{\"expires_in\":60,\"access_token\":\"tok\"}GARBAGE";
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	memset(&res, 0, sizeof(res));
	assert_int_equal(entra_parse_response(200, body,
					      strlen(body) - strlen("GARBAGE"),
					      NOW, &res, &tok),
			 0);
	assert_string_equal(tok.value, "tok");
	assert_int_equal(tok.expires_at, NOW + 60);
	entra_token_free(&tok);
	assert_int_equal(entra_parse_response(200, body, 10, NOW, &res, &tok),
			 -1);
	assert_int_equal(entra_parse_response(200, NULL, 0, NOW, &res, &tok),
			 -1);
}

static void test_many_codes(void **state)
{
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(parse(400,
			       "{\"error\":\"invalid_request\",\"error_codes\":"
			       "[1,2,3,4,5,6,7,8,9,10,\"x\",-1]}",
			       &res, &tok),
			 -1);
	assert_int_equal(res.n_error_codes, ENTRA_CODES_MAX);
	assert_int_equal(res.error_codes[7], 8);
}

/* The transport fields that a parse does not own survive it. */
static void test_keeps_transport_fields(void **state)
{
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	memset(&res, 0, sizeof(res));
	res.attempts = 3;
	res.waited_ms = 1234;
	res.retry_after_s = 60;
	assert_int_equal(entra_parse_response(429, "x", 1, NOW, &res, &tok),
			 -1);
	assert_int_equal(res.attempts, 3);
	assert_int_equal(res.waited_ms, 1234);
	assert_int_equal(res.retry_after_s, 60);
}

static void test_token_dup(void **state)
{
	struct entra_token a, b;
	struct entra_result res;
	struct err e;

	(void)state;
	assert_int_equal(
	    parse(200, "{\"expires_in\":5,\"access_token\":\"q\"}", &res, &a),
	    0);
	assert_int_equal(entra_token_dup(&a, &b, &e), 0);
	assert_ptr_not_equal(a.value, b.value);
	assert_string_equal(b.value, "q");
	assert_int_equal(b.expires_at, NOW + 5);
	entra_token_free(&a);
	entra_token_free(&b);
	assert_int_equal(entra_token_dup(&a, &b, &e), -1);
	assert_null(b.value);
}

/* The request refuses incomplete input without a network round trip. */
static void test_request_refuses_incomplete(void **state)
{
	struct entra_secret x = {"x", 1};
	struct entra_request rq = {
	    "https://127.0.0.1:9", "", "c", "s", &x, NULL};
	struct entra_result res;
	struct entra_token tok;

	(void)state;
	assert_int_equal(entra_request_token(&rq, NULL, NULL, NOW, &res, &tok),
			 -1);
	assert_int_equal(res.attempts, 0);
	assert_null(tok.value);
	assert_int_equal(entra_request_token(NULL, NULL, NULL, NOW, &res, &tok),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_success),
	    cmocka_unit_test(test_expires_in_string),
	    cmocka_unit_test(test_expires_in_zero),
	    cmocka_unit_test(test_missing_token),
	    cmocka_unit_test(test_7000222_current),
	    cmocka_unit_test(test_7000222_legacy_crlf),
	    cmocka_unit_test(test_ids_from_description),
	    cmocka_unit_test(test_fake_error_bodies),
	    cmocka_unit_test(test_non_json_errors),
	    cmocka_unit_test(test_non_json_200),
	    cmocka_unit_test(test_length_bounds),
	    cmocka_unit_test(test_many_codes),
	    cmocka_unit_test(test_keeps_transport_fields),
	    cmocka_unit_test(test_token_dup),
	    cmocka_unit_test(test_request_refuses_incomplete),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
