#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "cred.h"
#include "validate.h"

static void test_names(void **state)
{
	struct err e;
	char long_name[70];

	(void)state;
	assert_int_equal(validate_name("mail-alerts.prod_1", &e), 0);
	assert_int_equal(validate_name("0a", &e), 0);
	assert_int_equal(validate_name("", &e), -1);
	assert_int_equal(validate_name("Mail", &e), -1);
	assert_int_equal(validate_name("-mail", &e), -1);
	assert_int_equal(validate_name("mail box", &e), -1);
	assert_non_null(strstr(e.msg, "a-z 0-9"));
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_int_equal(validate_name(long_name, &e), -1);
	long_name[64] = '\0';
	assert_int_equal(validate_name(long_name, &e), 0);
}

static void test_guids_and_tenants(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(
	    validate_guid("11111111-2222-3333-4444-55555555555a", "x", &e), 0);
	assert_int_equal(
	    validate_guid("11111111-2222-3333-4444-55555555555", "x", &e), -1);
	assert_int_equal(
	    validate_guid("11111111x2222-3333-4444-555555555555", "x", &e), -1);
	assert_int_equal(validate_tenant("contoso.onmicrosoft.com", &e), 0);
	assert_int_equal(
	    validate_tenant("11111111-2222-3333-4444-555555555555", &e), 0);
	assert_int_equal(validate_tenant("undefined", &e), -1);
	assert_int_equal(validate_tenant("contoso..com", &e), -1);
	assert_int_equal(validate_tenant("-contoso.com", &e), -1);
	assert_non_null(strstr(e.msg, "tenant"));
}

static void test_mailboxes(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(validate_mailbox("alerts@contoso.com", "s", &e), 0);
	assert_int_equal(validate_mailbox("a.b+c@x.example", "s", &e), 0);
	assert_int_equal(validate_mailbox("<a@x.com>", "s", &e), -1);
	assert_int_equal(validate_mailbox("a@x", "s", &e), -1);
	assert_int_equal(validate_mailbox("@x.com", "s", &e), -1);
	assert_int_equal(validate_mailbox("a..b@x.com", "s", &e), -1);
	assert_int_equal(validate_mailbox("Al <a@x.com>", "s", &e), -1);
}

static void test_urls(void **state)
{
	struct err e;

	(void)state;
	assert_int_equal(
	    validate_url("https://127.0.0.1:8443", "https", "u", &e), 0);
	assert_int_equal(validate_url("smtp://127.0.0.1:2587", "smtp", "u", &e),
			 0);
	assert_int_equal(validate_url("http://x", "https", "u", &e), -1);
	assert_int_equal(validate_url("https://u:p@x", "https", "u", &e), -1);
	assert_int_equal(validate_url("smtps://x:465", "smtp", "u", &e), -1);
	assert_int_equal(validate_url("https://", "https", "u", &e), -1);
}

/* Webhook and heartbeat URLs: real ones carry a signed query. */
static void test_hook_urls(void **state)
{
	static const char *const good[] = {
	    "https://prod-00.westeurope.logic.azure.com:443/workflows/"
	    "0a1b/triggers/manual/paths/invoke?api-version=2016-06-01"
	    "&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=AbC-dEf_123",
	    "https://hooks.slack.com/services/T0/B0/x@y",
	    "http://127.0.0.1:8080/hook",
	    "http://127.1.2.3/ping",
	    "http://[::1]:9000/x",
	    "https://[2001:db8::1]:8443/x",
	};
	static const char *const bad[] = {
	    "http://hooks.example.com/x",
	    "http://127.0.0.1.evil/x",
	    "http://localhost/x",
	    "https://u:p@x/y",
	    "https://u@x",
	    "https:// x",
	    "https://x/a b",
	    "https://x/\t",
	    "https://x/#f",
	    "https://",
	    "https://:443/x",
	    "ftp://x/y",
	    "https://[::1/x",
	};
	char big[CONFIG_URL_MAX + 2];
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(
		    validate_hook_url(good[i], CONFIG_URL_MAX, "u", &e), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(
		    validate_hook_url(bad[i], CONFIG_URL_MAX, "u", &e), -1);
		assert_null(strstr(e.msg, "u:p"));
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://x/", 10);
	assert_int_equal(validate_hook_url(big, CONFIG_URL_MAX, "u", &e), -1);
	big[CONFIG_URL_MAX] = '\0';
	assert_int_equal(validate_hook_url(big, CONFIG_URL_MAX, "u", &e), 0);
}

static void test_secret_values(void **state)
{
	struct err e;
	char big[SECRET_VALUE_MAX + 2];
	const char *ok = "abc8Q~x.y_z-0123456789abcdefghijklmnop";

	(void)state;
	assert_int_equal(validate_secret_value(ok, strlen(ok), &e), 0);
	assert_int_equal(validate_secret_value("", 0, &e), -1);
	assert_non_null(strstr(e.msg, "empty"));
	memset(big, 'a', sizeof(big));
	assert_int_equal(validate_secret_value(big, SECRET_VALUE_MAX + 1, &e),
			 -1);
	assert_non_null(strstr(e.msg, "limit"));
	assert_int_equal(validate_secret_value(big, SECRET_VALUE_MAX, &e), 0);
	assert_int_equal(validate_secret_value(
			     "11111111-2222-3333-4444-555555555555", 36, &e),
			 -1);
	assert_non_null(strstr(e.msg, "Secret ID"));
	assert_int_equal(validate_secret_value("ab\xff\xfe", 4, &e), -1);
	assert_non_null(strstr(e.msg, "UTF-8"));
	assert_int_equal(validate_secret_value("ab\tc", 4, &e), -1);
	/* The message never repeats the value. */
	assert_null(strstr(e.msg, "ab\tc"));
	/* The Secret ID however it was copied. */
	assert_int_equal(validate_secret_value(
			     "{11111111-2222-3333-4444-555555555555}", 38, &e),
			 -1);
	assert_int_equal(
	    validate_secret_value("11111111222233334444555555555555", 32, &e),
	    -1);
	assert_int_equal(
	    validate_secret_value("1111111122223333444455555555555z", 32, &e),
	    0);
}

/* The Secret ID pasted with what surrounded it where it was copied from
 * is still the Secret ID, refused with the same explanation. */
static void test_secret_id_wrapped_refused(void **state)
{
	static const char *const wrapped[] = {
	    "\"8f7e6d5c-1234-4abc-9def-0123456789ab\"",
	    "'8f7e6d5c-1234-4abc-9def-0123456789ab'",
	    "(8f7e6d5c-1234-4abc-9def-0123456789ab)",
	    "[8f7e6d5c-1234-4abc-9def-0123456789ab]",
	    "<8f7e6d5c-1234-4abc-9def-0123456789ab>",
	    "urn:uuid:8f7e6d5c-1234-4abc-9def-0123456789ab",
	    "URN:UUID:8F7E6D5C-1234-4ABC-9DEF-0123456789AB",
	    "\"{8f7e6d5c-1234-4abc-9def-0123456789ab}\"",
	    "\"8f7e6d5c12344abc9def0123456789ab\"",
	};
	static const char *const values[] = {
	    "\"abc8Q~x.y_z-0123456789abcdefghijklm\"",
	    "(8f7e6d5c-1234-4abc-9def-0123456789ab",
	    "urn:uuid:8f7e6d5c-1234-4abc-9def-0123456789a",
	    "\"\"\"\"\"8f7e6d5c-1234-4abc-9def-0123456789ab\"\"\"\"\"",
	};
	struct err e;

	(void)state;
	for (size_t i = 0; i < sizeof(wrapped) / sizeof(wrapped[0]); i++) {
		assert_int_equal(
		    validate_secret_value(wrapped[i], strlen(wrapped[i]), &e),
		    -1);
		assert_non_null(strstr(e.msg, "Secret ID"));
		assert_non_null(strstr(e.msg, "Value"));
	}
	/* Not a GUID inside: a value like any other (five layers of quotes
	 * are past what a copy adds). */
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		assert_int_equal(
		    validate_secret_value(values[i], strlen(values[i]), &e), 0);
}

/* A hint is cut at a character boundary, so JSON and webhooks stay UTF-8. */
static void test_secret_hint(void **state)
{
	static const struct {
		const char *value, *hint;
	} cases[] = {
	    {"abc~def", "abc"},
	    {"ab", "ab"},
	    {"", ""},
	    {"\xc3\xa9"
	     "~abc",
	     "\xc3\xa9~"},
	    {"a\xe2\x82\xac~", "a"},
	    {"\xe2\x82\xac~x", "\xe2\x82\xac"},
	    {"\xf0\x9f\x94\x91"
	     "abc",
	     ""},
	};
	char hint[4];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		secret_hint(cases[i].value, strlen(cases[i].value), hint);
		assert_string_equal(hint, cases[i].hint);
		assert_true(validate_utf8(hint, strlen(hint)));
	}
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(validate_utf8("h\xc3\xa9llo", 6));
	assert_true(validate_utf8("\xf0\x9f\x94\x91", 4));
	assert_false(validate_utf8("\xc3", 1));
	assert_false(validate_utf8("\xc0\xaf", 2));	    /* overlong */
	assert_false(validate_utf8("\xed\xa0\x80", 3));	    /* surrogate */
	assert_false(validate_utf8("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_guids_and_tenants),
	    cmocka_unit_test(test_mailboxes),
	    cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_hook_urls),
	    cmocka_unit_test(test_secret_values),
	    cmocka_unit_test(test_secret_id_wrapped_refused),
	    cmocka_unit_test(test_secret_hint),
	    cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
