#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "policy.h"

#define DAY 86400
static const int64_t START = 1800000000;

static struct cred_view one_active(int64_t expires_at)
{
	struct cred_view v;

	memset(&v, 0, sizeof(v));
	v.has_active = 1;
	v.active.id = 1;
	v.active.state = SECRET_ACTIVE;
	v.active.expires_at = expires_at;
	v.active.warned_min = -1;
	v.active.last_test_at = START;
	v.active.last_test_ok = 1;
	return v;
}

/* Marking as the watchdog does: the alerted threshold and all above. */
static void mark(struct secret_info *si, int threshold)
{
	if (si->warned_min < 0 || threshold < si->warned_min)
		si->warned_min = threshold;
}

static void test_lifecycle_day_by_day(void **state)
{
	struct config cfg;
	struct cred_view v = one_active(START + 35 * DAY);
	int alerts[64], n = 0;

	(void)state;
	config_defaults(&cfg);
	cfg.test_active_every = 1000 * DAY; /* no health checks here */
	for (int day = 0; day <= 40; day++) {
		/* Several cycles a day: repeats must not alert again. */
		for (int k = 0; k < 3; k++) {
			struct plan p;
			policy_plan(&v, START + day * DAY + k * 3600, &cfg, &p);
			for (int i = 0; i < p.n; i++) {
				assert_int_equal(p.actions[i].kind,
						 ACTION_WARN);
				alerts[n++] = 35 - day;
				assert_int_equal(p.actions[i].threshold,
						 35 - day < 0 ? 0 : 35 - day);
				mark(&v.active, p.actions[i].threshold);
			}
		}
	}
	assert_int_equal(n, 6);
	assert_int_equal(alerts[0], 30);
	assert_int_equal(alerts[1], 14);
	assert_int_equal(alerts[2], 7);
	assert_int_equal(alerts[3], 3);
	assert_int_equal(alerts[4], 1);
	assert_int_equal(alerts[5], 0);
}

static void test_late_start_alerts_once_for_smallest(void **state)
{
	struct config cfg;
	struct cred_view v = one_active(START + 5 * DAY);
	struct plan p;

	(void)state;
	config_defaults(&cfg);
	cfg.test_active_every = 1000 * DAY;
	cfg.interval = 365 * DAY;
	policy_plan(&v, START, &cfg, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.actions[0].threshold, 7); /* not 30 and 14 too */
	mark(&v.active, 7);
	policy_plan(&v, START + 1, &cfg, &p);
	assert_int_equal(p.n, 0);
	/* It sleeps until the 3-day crossing. */
	assert_int_equal(p.wake_at, START + 2 * DAY);
}

static void test_wake_is_next_deadline(void **state)
{
	struct config cfg;
	struct cred_view v = one_active(START + 100 * DAY);
	struct plan p;

	(void)state;
	config_defaults(&cfg);
	cfg.interval = 365 * DAY;
	policy_plan(&v, START + 10, &cfg, &p);
	assert_int_equal(p.n, 0);
	/* The health check after test_active_every comes first. */
	assert_int_equal(p.wake_at, START + cfg.test_active_every);
	cfg.test_active_every = 1000 * DAY;
	policy_plan(&v, START + 10, &cfg, &p);
	assert_int_equal(p.wake_at, START + 70 * DAY); /* the 30-day mark */
}

static void test_switch_candidate_and_retry(void **state)
{
	struct config cfg;
	struct cred_view v = one_active(START + 20 * DAY);
	struct plan p;

	(void)state;
	config_defaults(&cfg);
	v.active.warned_min = 30;
	v.npending = 2;
	v.pending[0].id = 2;
	v.pending[0].expires_at = START + 10 * DAY; /* earlier: never */
	v.pending[1].id = 3;
	v.pending[1].expires_at = START + 400 * DAY;
	policy_plan(&v, START, &cfg, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.actions[0].kind, ACTION_SWITCH);
	assert_int_equal(p.actions[0].secret_id, 3);
	/* Waiting for its retry: nothing now, wake at the retry. */
	v.pending[1].next_try_at = START + 120;
	policy_plan(&v, START, &cfg, &p);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.wake_at, START + 120);
}

static void test_first_secret_becomes_active_by_switch(void **state)
{
	struct config cfg;
	struct cred_view v;
	struct plan p;

	(void)state;
	config_defaults(&cfg);
	memset(&v, 0, sizeof(v));
	v.npending = 1;
	v.pending[0].id = 9;
	v.pending[0].expires_at = START + 200 * DAY;
	v.pending[0].warned_min = -1;
	policy_plan(&v, START, &cfg, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.actions[0].kind, ACTION_SWITCH);
	assert_int_equal(p.actions[0].secret_id, 9);
}

static void test_health_every_interval(void **state)
{
	struct config cfg;
	struct cred_view v = one_active(START + 200 * DAY);
	struct plan p;

	(void)state;
	config_defaults(&cfg);
	policy_plan(&v, START + cfg.test_active_every - 1, &cfg, &p);
	assert_int_equal(p.n, 0);
	policy_plan(&v, START + cfg.test_active_every, &cfg, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.actions[0].kind, ACTION_HEALTH);
	assert_int_equal(p.actions[0].secret_id, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_lifecycle_day_by_day),
	    cmocka_unit_test(test_late_start_alerts_once_for_smallest),
	    cmocka_unit_test(test_wake_is_next_deadline),
	    cmocka_unit_test(test_switch_candidate_and_retry),
	    cmocka_unit_test(test_first_secret_becomes_active_by_switch),
	    cmocka_unit_test(test_health_every_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
