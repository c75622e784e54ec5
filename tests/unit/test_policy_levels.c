#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

static const int64_t EXPIRY = 1800000000;

static struct cred_view view_active(void)
{
	struct cred_view v;

	memset(&v, 0, sizeof(v));
	v.has_active = 1;
	v.active.state = SECRET_ACTIVE;
	v.active.expires_at = EXPIRY;
	return v;
}

static void test_levels_at_days_before_expiry(void **state)
{
	struct config cfg;
	struct cred_view v = view_active();
	static const struct {
		int days;
		enum level level;
		int exit;
	} cases[] = {
	    {31, LEVEL_OK, 0},	    {30, LEVEL_WARNING, 1},
	    {8, LEVEL_WARNING, 1},  {7, LEVEL_CRITICAL, 2},
	    {-1, LEVEL_EXPIRED, 2},
	};

	(void)state;
	config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t now = EXPIRY - (int64_t)cases[i].days * 86400;
		enum level l = policy_level(&v, now, &cfg);
		assert_int_equal(l, cases[i].level);
		assert_int_equal(policy_level_exit(l), cases[i].exit);
	}
}

static void test_thresholds_from_config(void **state)
{
	struct config cfg;
	struct cred_view v = view_active();

	(void)state;
	config_defaults(&cfg);
	cfg.level_warning = 60 * 86400;
	cfg.level_critical = 14 * 86400;
	assert_int_equal(policy_level(&v, EXPIRY - 45 * 86400, &cfg),
			 LEVEL_WARNING);
	assert_int_equal(policy_level(&v, EXPIRY - 10 * 86400, &cfg),
			 LEVEL_CRITICAL);
}

static void test_failed_test_is_critical(void **state)
{
	struct config cfg;
	struct cred_view v = view_active();

	(void)state;
	config_defaults(&cfg);
	v.active.last_test_at = 1;
	v.active.last_test_ok = 0;
	assert_int_equal(policy_level(&v, EXPIRY - 100 * 86400, &cfg),
			 LEVEL_CRITICAL);
	v.active.last_test_ok = 1;
	assert_int_equal(policy_level(&v, EXPIRY - 100 * 86400, &cfg),
			 LEVEL_OK);
}

static void test_pending_and_unknown(void **state)
{
	struct config cfg;
	struct cred_view v;
	int untested;

	(void)state;
	config_defaults(&cfg);
	memset(&v, 0, sizeof(v));
	assert_int_equal(policy_level(&v, EXPIRY, &cfg), LEVEL_UNKNOWN);
	assert_int_equal(policy_level_exit(LEVEL_UNKNOWN), 3);
	v.npending = 1;
	v.pending[0].expires_at = EXPIRY;
	assert_int_equal(policy_level(&v, EXPIRY - 20 * 86400, &cfg),
			 LEVEL_WARNING);
	assert_ptr_equal(policy_secret_in_use(&v, &untested), &v.pending[0]);
	assert_int_equal(untested, 1);
}

static void test_worst(void **state)
{
	(void)state;
	assert_int_equal(policy_level_worst(LEVEL_OK, LEVEL_UNKNOWN),
			 LEVEL_UNKNOWN);
	assert_int_equal(policy_level_worst(LEVEL_UNKNOWN, LEVEL_WARNING),
			 LEVEL_WARNING);
	assert_int_equal(policy_level_worst(LEVEL_CRITICAL, LEVEL_WARNING),
			 LEVEL_CRITICAL);
	assert_int_equal(policy_level_worst(LEVEL_CRITICAL, LEVEL_EXPIRED),
			 LEVEL_EXPIRED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels_at_days_before_expiry),
	    cmocka_unit_test(test_thresholds_from_config),
	    cmocka_unit_test(test_failed_test_is_critical),
	    cmocka_unit_test(test_pending_and_unknown),
	    cmocka_unit_test(test_worst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
