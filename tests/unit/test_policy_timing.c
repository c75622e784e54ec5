/* The timing decisions of the acting steps, as pure functions of
 * lib/policy: the warning level, the switch retry window, when a health
 * failure is alerted and the delivery backoff. Each at its boundaries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define DAY 86400
static const int64_t NOW = 1800000000;

static void test_warn_level(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	cfg.level_critical = 7 * DAY;
	assert_int_equal(policy_warn_level(0, &cfg), LEVEL_EXPIRED);
	assert_int_equal(policy_warn_level(1, &cfg), LEVEL_CRITICAL);
	/* Exactly at level_critical is critical, one day more is not. */
	assert_int_equal(policy_warn_level(7, &cfg), LEVEL_CRITICAL);
	assert_int_equal(policy_warn_level(8, &cfg), LEVEL_WARNING);
	assert_int_equal(policy_warn_level(30, &cfg), LEVEL_WARNING);
	/* Thresholds in days do not overflow when turned into seconds. */
	assert_int_equal(policy_warn_level(INT32_MAX, &cfg), LEVEL_WARNING);
	/* A critical level shorter than a day: only expiry is critical. */
	cfg.level_critical = DAY - 1;
	assert_int_equal(policy_warn_level(1, &cfg), LEVEL_WARNING);
	assert_int_equal(policy_warn_level(0, &cfg), LEVEL_EXPIRED);
	assert_string_equal(policy_level_name(policy_warn_level(0, &cfg)),
			    "expired");
}

static void test_switch_retry(void **state)
{
	struct secret_info si;
	struct config cfg;
	int64_t first, next;

	(void)state;
	config_defaults(&cfg);
	cfg.switch_window = 30 * 60;
	cfg.switch_retry = 120;
	memset(&si, 0, sizeof(si));

	/* The first failure starts the window now. */
	assert_true(policy_switch_retry(&si, NOW, &cfg, &first, &next));
	assert_int_equal(first, NOW);
	assert_int_equal(next, NOW + POLICY_SWITCH_FIRST_RETRY);

	/* Then the waits double (the time since the first try) until they
	 * reach switch_retry: a secret Entra replicates in 18 s is tried at
	 * 0, 5, 10, 20 s. */
	si.first_try_at = NOW;
	assert_true(policy_switch_retry(&si, NOW + 5, &cfg, &first, &next));
	assert_int_equal(next, NOW + 10);
	assert_true(policy_switch_retry(&si, NOW + 10, &cfg, &first, &next));
	assert_int_equal(next, NOW + 20);
	assert_true(policy_switch_retry(&si, NOW + 20, &cfg, &first, &next));
	assert_int_equal(next, NOW + 40);
	assert_true(policy_switch_retry(&si, NOW + 80, &cfg, &first, &next));
	assert_int_equal(next, NOW + 80 + 80);
	assert_true(policy_switch_retry(&si, NOW + 160, &cfg, &first, &next));
	assert_int_equal(next, NOW + 160 + 120);
	/* A retry sooner than the first wait (two processes) waits that. */
	assert_true(policy_switch_retry(&si, NOW + 1, &cfg, &first, &next));
	assert_int_equal(next, NOW + 1 + POLICY_SWITCH_FIRST_RETRY);
	/* A switch_retry shorter than the first wait caps it too. */
	cfg.switch_retry = 2;
	assert_true(policy_switch_retry(&si, NOW, &cfg, &first, &next));
	assert_int_equal(next, NOW + 2);
	cfg.switch_retry = 120;

	/* Inside the window, one second before its end: retry, keeping the
	 * first try's time. */
	si.first_try_at = NOW;
	assert_true(policy_switch_retry(&si, NOW + cfg.switch_window - 1, &cfg,
					&first, &next));
	assert_int_equal(first, NOW);
	assert_int_equal(next, NOW + cfg.switch_window - 1 + 120);

	/* Exactly at the window and after it: give up. */
	assert_false(policy_switch_retry(&si, NOW + cfg.switch_window, &cfg,
					 &first, &next));
	assert_int_equal(first, NOW);
	assert_int_equal(next, 0);
	assert_false(policy_switch_retry(&si, NOW + cfg.switch_window + 1, &cfg,
					 &first, &next));

	/* No window at all: the first failure gives up. */
	cfg.switch_window = 0;
	si.first_try_at = 0;
	assert_false(policy_switch_retry(&si, NOW, &cfg, &first, &next));
}

static void test_health_alert(void **state)
{
	struct secret_info si;

	(void)state;
	memset(&si, 0, sizeof(si));
	/* Never tested before: a failure is news. */
	assert_true(policy_health_alert(&si, false));
	/* Transient (throttled, 5xx, timeout): never alerted. */
	assert_false(policy_health_alert(&si, true));
	/* Working before: the change to failing is alerted once... */
	si.last_test_at = NOW - DAY;
	si.last_test_ok = 1;
	assert_true(policy_health_alert(&si, false));
	assert_false(policy_health_alert(&si, true));
	/* ...and not again while it keeps failing. */
	si.last_test_ok = 0;
	assert_false(policy_health_alert(&si, false));
	assert_false(policy_health_alert(&si, true));
}

static void test_delivery_retry(void **state)
{
	const int64_t hour = 3600, created = NOW - 10;

	(void)state;
	/* A minute, doubling per attempt, up to the check interval. */
	assert_int_equal(policy_delivery_retry(created, 0, NOW, hour),
			 NOW + 60);
	assert_int_equal(policy_delivery_retry(created, 1, NOW, hour),
			 NOW + 120);
	assert_int_equal(policy_delivery_retry(created, 5, NOW, hour),
			 NOW + 1920);
	assert_int_equal(policy_delivery_retry(created, 6, NOW, hour),
			 NOW + hour);
	assert_int_equal(policy_delivery_retry(created, 7, NOW, hour),
			 NOW + hour);
	/* Many attempts do not overflow, whatever the interval. */
	assert_int_equal(policy_delivery_retry(created, INT32_MAX, NOW, hour),
			 NOW + hour);
	assert_int_equal(
	    policy_delivery_retry(created, INT32_MAX, NOW, INT64_MAX - NOW),
	    NOW + ((int64_t)60 << 57));
	/* Nor does the time of the next try. */
	assert_int_equal(
	    policy_delivery_retry(INT64_MAX - 10, 0, INT64_MAX - 5, INT64_MAX),
	    INT64_MAX);
	/* An interval under a minute caps the first wait too. */
	assert_int_equal(policy_delivery_retry(created, 0, NOW, 30), NOW + 30);
	/* One second before the give-up age: still retried. */
	assert_int_equal(policy_delivery_retry(
			     NOW - POLICY_DELIVERY_GIVE_UP + 1, 3, NOW, hour),
			 NOW + 480);
	/* Exactly at it and after: give up. */
	assert_int_equal(
	    policy_delivery_retry(NOW - POLICY_DELIVERY_GIVE_UP, 3, NOW, hour),
	    0);
	assert_int_equal(policy_delivery_retry(
			     NOW - POLICY_DELIVERY_GIVE_UP - 1, 0, NOW, hour),
			 0);
}

static void test_token_file(void **state)
{
	struct cred_view v;
	struct cred *c = &v.cred;

	(void)state;
	memset(&v, 0, sizeof(v));
	c->token_file = 1;
	/* No active secret: nothing to write, nothing to wake for. */
	assert_false(policy_token_file_due(&v, false, NOW));
	assert_int_equal(policy_token_file_wake(&v, NOW), 0);
	v.has_active = 1;
	v.active.id = 7;
	/* Never written, or written from another secret: due now. */
	assert_true(policy_token_file_due(&v, false, NOW));
	c->token_file_secret_id = 6;
	c->token_file_expires_at = NOW + 3600;
	assert_true(policy_token_file_due(&v, true, NOW));
	c->token_file_secret_id = 7;
	/* Exactly 10 minutes left is kept; a second less is refreshed. */
	c->token_file_expires_at = NOW + POLICY_TOKEN_REFRESH;
	assert_false(policy_token_file_due(&v, true, NOW));
	assert_true(policy_token_file_due(&v, true, NOW + 1));
	assert_true(policy_token_file_due(&v, false, NOW));
	/* Wake at the refresh time; after a failure, retry or expiry. */
	c->token_file_expires_at = NOW + 3600;
	assert_int_equal(policy_token_file_wake(&v, NOW),
			 NOW + 3600 - POLICY_TOKEN_REFRESH);
	c->token_file_expires_at = NOW + 30;
	assert_int_equal(policy_token_file_wake(&v, NOW), NOW + 30);
	c->token_file_expires_at = NOW + 300;
	assert_int_equal(policy_token_file_wake(&v, NOW),
			 NOW + POLICY_TOKEN_RETRY);
	/* Drop only an expired file that is there. */
	assert_false(policy_token_file_drop(c, true, NOW));
	assert_true(policy_token_file_drop(c, true, NOW + 300));
	assert_false(policy_token_file_drop(c, false, NOW + 300));
	/* Alert once per streak, and only with no valid token left. */
	assert_false(policy_token_file_alert(c, true));
	assert_true(policy_token_file_alert(c, false));
	c->token_file_failed_at = NOW;
	assert_false(policy_token_file_alert(c, false));
	/* Opted out: no wake-up. */
	c->token_file = 0;
	assert_false(policy_token_file_due(&v, false, NOW));
	assert_int_equal(policy_token_file_wake(&v, NOW), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_warn_level),
	    cmocka_unit_test(test_switch_retry),
	    cmocka_unit_test(test_health_alert),
	    cmocka_unit_test(test_delivery_retry),
	    cmocka_unit_test(test_token_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
