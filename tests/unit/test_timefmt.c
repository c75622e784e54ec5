#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "timefmt.h"

static const int64_t NOW = 1795000000; /* 2026-11-18T... */

static int64_t when(const char *s)
{
	int64_t t = -1;
	struct err e;

	assert_int_equal(timefmt_parse_when(s, NOW, &t, &e), 0);
	return t;
}

static void test_date_is_midnight_utc(void **state)
{
	(void)state;
	assert_int_equal(when("2027-06-01"), 1811808000);
	assert_int_equal(when("1970-01-01"), 0);
	assert_int_equal(when("2028-02-29"), 1835395200);
}

static void test_rfc3339_forms(void **state)
{
	(void)state;
	assert_int_equal(when("2027-06-01T12:00:00Z"), 1811808000 + 43200);
	assert_int_equal(when("2027-06-01T12:00:00.1234567Z"),
			 1811808000 + 43200);
	assert_int_equal(when("2027-06-01T14:00:00+02:00"), 1811808000 + 43200);
	assert_int_equal(when("2027-06-01T07:30:00-04:30"), 1811808000 + 43200);
}

static void test_relative(void **state)
{
	(void)state;
	assert_int_equal(when("+90d"), NOW + 90 * 86400);
	assert_int_equal(when("+12h"), NOW + 12 * 3600);
	assert_int_equal(when("+2w"), NOW + 14 * 86400);
	assert_int_equal(when("-1h"), NOW - 3600);
	assert_int_equal(when("-7d"), NOW - 7 * 86400);
}

static void test_bad_when(void **state)
{
	static const char *bad[] = {
	    "",
	    "2027-13-01",
	    "2027-02-29",
	    "2027-06-01T25:00:00Z",
	    "tomorrow",
	    "+90",
	    "+d",
	    "+-3d",
	    "-+3d",
	    "--3d",
	    "2027-6-1",
	    "2027-06-01T12:00:00",
	    "+90y",
	    "2027-06-01Z",
	    "+99999999999999999d",
	};
	struct err e;
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(timefmt_parse_when(bad[i], NOW, &t, &e), -1);
		assert_non_null(strstr(e.msg, "YYYY-MM-DD"));
	}
}

static void test_duration(void **state)
{
	struct err e;
	int64_t d;

	(void)state;
	assert_int_equal(timefmt_parse_duration("30d", &d, &e), 0);
	assert_int_equal(d, 30 * 86400);
	assert_int_equal(timefmt_parse_duration("2m", &d, &e), 0);
	assert_int_equal(d, 120);
	assert_int_equal(timefmt_parse_duration("0h", &d, &e), -1);
	assert_int_equal(timefmt_parse_duration("5", &d, &e), -1);
	assert_int_equal(timefmt_parse_duration("-5m", &d, &e), -1);
}

static void test_iso_duration(void **state)
{
	static const struct {
		const char *s;
		int64_t want; /* -1: refused */
	} cases[] = {
	    {"P90D", 90 * 86400},
	    {"P2W", 14 * 86400},
	    {"P6M", 6 * 28 * 86400}, /* months count short */
	    {"P1Y", 365 * 86400},
	    {"P1Y6M", (365 + 6 * 28) * 86400},
	    {"PT12H", 12 * 3600},
	    {"P1DT30M", 86400 + 30 * 60},
	    {"PT1M", 60}, /* M after T is minutes */
	    {"P", -1},
	    {"PT", -1},
	    {"P0D", -1},
	    {"90D", -1},
	    {"P-1D", -1},
	    {"P1.5D", -1},
	    {"P1H", -1}, /* hours belong after T */
	    {"PT1D", -1},
	    {"P1DT", -1},
	    {"P101Y", -1},
	    {"P99999999999999999999D", -1},
	    {"", -1},
	};
	int64_t d;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = timefmt_parse_iso_duration(cases[i].s, &d);

		if (cases[i].want < 0) {
			assert_int_equal(rc, -1);
		} else {
			assert_int_equal(rc, 0);
			assert_int_equal(d, cases[i].want);
		}
	}
	assert_int_equal(timefmt_parse_iso_duration(NULL, &d), -1);
}

static void test_format_and_days(void **state)
{
	char out[TIMEFMT_RFC3339_LEN];

	(void)state;
	timefmt_rfc3339(1811808000, out);
	assert_string_equal(out, "2027-06-01T00:00:00Z");
	assert_int_equal(timefmt_days_left(NOW + 30 * 86400, NOW), 30);
	assert_int_equal(timefmt_days_left(NOW + 30 * 86400 - 1, NOW), 30);
	assert_int_equal(timefmt_days_left(NOW + 30 * 86400 + 1, NOW), 31);
	assert_int_equal(timefmt_days_left(NOW + 1, NOW), 1);
	assert_int_equal(timefmt_days_left(NOW, NOW), 0);
	assert_int_equal(timefmt_days_left(NOW - 1, NOW), 0);
	assert_int_equal(timefmt_days_left(NOW - 86400, NOW), -1);
	assert_int_equal(timefmt_days_left(NOW - 86401, NOW), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_date_is_midnight_utc),
	    cmocka_unit_test(test_rfc3339_forms),
	    cmocka_unit_test(test_relative),
	    cmocka_unit_test(test_iso_duration),
	    cmocka_unit_test(test_bad_when),
	    cmocka_unit_test(test_duration),
	    cmocka_unit_test(test_format_and_days),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
