/* Automatic rotation's decisions in lib/policy: when a credential is
 * rotated, what end date is asked for, when the old secret may go, and
 * what the plan says and when it wakes. Each at its boundaries. */
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

/* An auto-rotated credential whose active secret expires in days. */
static void setup(struct cred_view *v, struct config *cfg, int64_t days)
{
	memset(v, 0, sizeof(*v));
	config_defaults(cfg);
	v->cred.rotate_auto = 1;
	v->has_active = 1;
	v->active.id = 1;
	v->active.state = SECRET_ACTIVE;
	v->active.expires_at = NOW + days * DAY;
	v->active.activated_at = NOW - 100 * DAY;
	v->active.last_test_at = NOW;
	v->active.last_test_ok = 1;
	v->active.warned_min = -1;
}

static bool plans(const struct cred_view *v, const struct config *cfg,
		  int64_t now, enum action_kind kind)
{
	struct plan p;

	policy_plan(v, now, cfg, &p);
	for (int i = 0; i < p.n; i++)
		if (p.actions[i].kind == kind)
			return true;
	return false;
}

static void test_rotate_due(void **state)
{
	struct cred_view v;
	struct config cfg;
	int64_t at;

	(void)state;
	setup(&v, &cfg, 40);
	at = NOW + 10 * DAY; /* 30 days before expiry */
	assert_int_equal(policy_next_rotation(&v, &cfg), at);
	assert_false(policy_rotate_due(&v, at - 1, &cfg));
	assert_true(policy_rotate_due(&v, at, &cfg));
	assert_false(plans(&v, &cfg, at - 1, ACTION_ROTATE));
	assert_true(plans(&v, &cfg, at, ACTION_ROTATE));

	/* Manual credentials and ones without an active secret: never. */
	v.cred.rotate_auto = 0;
	assert_int_equal(policy_next_rotation(&v, &cfg), 0);
	assert_false(policy_rotate_due(&v, at, &cfg));
	v.cred.rotate_auto = 1;
	v.has_active = 0;
	assert_false(policy_rotate_due(&v, at, &cfg));
	v.has_active = 1;

	/* A newer pending secret: the switch's turn, not a second one. */
	v.npending = 1;
	v.pending[0].id = 2;
	v.pending[0].expires_at = v.active.expires_at + 150 * DAY;
	assert_false(policy_rotate_due(&v, at, &cfg));
	/* An older one does not count. */
	v.pending[0].expires_at = v.active.expires_at - 1;
	assert_true(policy_rotate_due(&v, at, &cfg));
	v.npending = 0;

	/* A failed attempt is tried again a day later, not every cycle. */
	v.cred.last_rotation_at = at;
	assert_false(policy_rotate_due(&v, at + 1, &cfg));
	assert_false(policy_rotate_due(&v, at + POLICY_ROTATE_RETRY - 1, &cfg));
	assert_true(policy_rotate_due(&v, at + POLICY_ROTATE_RETRY, &cfg));

	/* An intent left open is finished at once, due or not. */
	v.cred.rotate_open = 1;
	assert_true(policy_rotate_due(&v, NOW, &cfg));
	assert_true(plans(&v, &cfg, NOW, ACTION_ROTATE));
}

static void test_rotate_wake(void **state)
{
	struct cred_view v;
	struct config cfg;
	struct plan p;

	(void)state;
	setup(&v, &cfg, 31);
	cfg.interval = 7 * DAY;
	policy_plan(&v, NOW, &cfg, &p);
	assert_int_equal(p.wake_at, NOW + DAY);
	/* After a failed attempt: the retry. */
	v.cred.last_rotation_at = NOW + DAY - 10;
	policy_plan(&v, NOW + DAY, &cfg, &p);
	assert_int_equal(p.wake_at, NOW + DAY - 10 + POLICY_ROTATE_RETRY);
}

static void test_rotate_end(void **state)
{
	struct config cfg;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(policy_rotate_end(NOW, &cfg, 0), NOW + 180 * DAY);
	assert_int_equal(policy_rotate_end(NOW, &cfg, 90 * DAY),
			 NOW + 90 * DAY);
	assert_int_equal(policy_rotate_end(NOW, &cfg, 365 * DAY),
			 NOW + 180 * DAY);
}

static void test_revoke(void **state)
{
	struct cred_view v;
	struct config cfg;
	int64_t switched = NOW - 6 * DAY;

	(void)state;
	setup(&v, &cfg, 180);
	v.active.activated_at = switched;
	v.cred.revocable = 1;
	cfg.interval = 30 * DAY;
	assert_int_equal(policy_revoke_at(&v, &cfg), switched + 7 * DAY);
	assert_false(plans(&v, &cfg, switched + 7 * DAY - 1, ACTION_REVOKE));
	assert_true(plans(&v, &cfg, switched + 7 * DAY, ACTION_REVOKE));
	{
		struct plan p;
		policy_plan(&v, NOW, &cfg, &p);
		assert_int_equal(p.wake_at, switched + 7 * DAY);
	}
	/* A deploy owed or failed blocks it. */
	v.cred.active_deploy = CRED_DEPLOY_OWED;
	assert_int_equal(policy_revoke_at(&v, &cfg), 0);
	v.cred.active_deploy = CRED_DEPLOY_FAILED;
	assert_int_equal(policy_revoke_at(&v, &cfg), 0);
	assert_false(plans(&v, &cfg, NOW + 30 * DAY, ACTION_REVOKE));
	v.cred.active_deploy = CRED_DEPLOY_DONE;
	/* Nothing to remove, or a manual credential: nothing. */
	v.cred.revocable = 0;
	assert_int_equal(policy_revoke_at(&v, &cfg), 0);
	v.cred.revocable = 1;
	v.cred.rotate_auto = 0;
	assert_int_equal(policy_revoke_at(&v, &cfg), 0);
}

/* A credential rotating automatically is read from Entra once a day,
 * not while a rotation (which reads it anyway) is due; a manual one never. */
static void test_daily_sync(void **state)
{
	struct cred_view v;
	struct config cfg;

	(void)state;
	setup(&v, &cfg, 100);
	assert_int_equal(policy_next_sync(&v), POLICY_SYNC_EVERY);
	assert_true(plans(&v, &cfg, NOW, ACTION_SYNC));
	v.cred.last_graph_read_at = NOW;
	assert_false(plans(&v, &cfg, NOW + DAY - 1, ACTION_SYNC));
	assert_true(plans(&v, &cfg, NOW + DAY, ACTION_SYNC));
	setup(&v, &cfg, 20); /* rotation due: it reads Entra itself */
	assert_true(plans(&v, &cfg, NOW, ACTION_ROTATE));
	assert_false(plans(&v, &cfg, NOW, ACTION_SYNC));
	setup(&v, &cfg, 100);
	v.cred.rotate_auto = 0;
	assert_int_equal(policy_next_sync(&v), 0);
	assert_false(plans(&v, &cfg, NOW, ACTION_SYNC));
}

/* A failed deploy alerts once (its first failure), and only where it
 * holds back a revocation. */
static void test_deploy_alert(void **state)
{
	struct cred c = {0};

	(void)state;
	c.rotate_auto = 1;
	assert_true(policy_deploy_alert(&c, 0));
	assert_false(policy_deploy_alert(&c, 1));
	assert_false(policy_deploy_alert(&c, 5));
	c.rotate_auto = 0;
	assert_false(policy_deploy_alert(&c, 0));
}

/* A reader sweeps every [sweep] interval after its last whole sweep,
 * and after a failed or unfinished one not before POLICY_SWEEP_RETRY;
 * a credential that is no reader, or has no secret, never. */
static void test_sweep_due(void **state)
{
	struct cred_view v;
	struct config cfg;
	struct plan p;

	(void)state;
	setup(&v, &cfg, 400);
	v.cred.rotate_auto = 0;
	assert_int_equal(policy_next_sweep(&v, &cfg), 0);
	assert_false(plans(&v, &cfg, NOW, ACTION_SWEEP));
	v.cred.sweep = 1;
	assert_true(policy_next_sweep(&v, &cfg) <= NOW); /* never swept */
	assert_true(plans(&v, &cfg, NOW, ACTION_SWEEP));
	v.cred.last_sweep_at = NOW - 100;
	v.cred.last_sweep_try_at = NOW - 110;
	assert_int_equal(policy_next_sweep(&v, &cfg), NOW - 100 + DAY);
	assert_false(plans(&v, &cfg, NOW, ACTION_SWEEP));
	policy_plan(&v, NOW, &cfg, &p);
	assert_true(p.wake_at <= NOW - 100 + DAY);
	assert_true(plans(&v, &cfg, NOW - 100 + DAY, ACTION_SWEEP));
	/* A later try that failed: its retry, not the interval, counts. */
	v.cred.last_sweep_try_at = NOW - 100 + DAY - 60;
	assert_int_equal(policy_next_sweep(&v, &cfg),
			 NOW - 100 + DAY - 60 + POLICY_SWEEP_RETRY);
	assert_false(plans(&v, &cfg, NOW - 100 + DAY, ACTION_SWEEP));
	/* No secret to read with. */
	v.has_active = 0;
	assert_int_equal(policy_next_sweep(&v, &cfg), 0);
}

/* The smallest step crossed and not alerted, expiry itself included. */
static void test_due_threshold(void **state)
{
	static const int days[] = {60, 30, 14, 7, 1};
	const int64_t end = NOW + 10 * DAY;

	(void)state;
	assert_int_equal(policy_due_threshold(end, -1, days, 5, NOW), 14);
	assert_int_equal(policy_due_threshold(end, 14, days, 5, NOW), -1);
	assert_int_equal(policy_due_threshold(end, 30, days, 5, NOW), 14);
	assert_int_equal(policy_due_threshold(end, -1, days, 5, end - 1), 1);
	assert_int_equal(policy_due_threshold(end, 1, days, 5, end), 0);
	assert_int_equal(policy_due_threshold(end, 0, days, 5, end + DAY), -1);
	assert_int_equal(policy_due_threshold(end, -1, days, 5, NOW - 60 * DAY),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sweep_due),
	    cmocka_unit_test(test_due_threshold),
	    cmocka_unit_test(test_rotate_due),
	    cmocka_unit_test(test_rotate_wake),
	    cmocka_unit_test(test_rotate_end),
	    cmocka_unit_test(test_revoke),
	    cmocka_unit_test(test_deploy_alert),
	    cmocka_unit_test(test_daily_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
