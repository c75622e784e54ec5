#include "policy.h"

static const char *const level_names[] = {
	[LEVEL_OK] = "ok",           [LEVEL_WARNING] = "warning",
	[LEVEL_CRITICAL] = "critical", [LEVEL_EXPIRED] = "expired",
	[LEVEL_UNKNOWN] = "unknown",
};

const char *policy_level_name(enum level l)
{
	return (unsigned)l <= LEVEL_UNKNOWN ? level_names[l] : "unknown";
}

int policy_level_exit(enum level l)
{
	switch (l) {
	case LEVEL_OK:
		return 0;
	case LEVEL_WARNING:
		return 1;
	case LEVEL_CRITICAL:
	case LEVEL_EXPIRED:
		return 2;
	default:
		return 3;
	}
}

static int severity(enum level l)
{
	static const int rank[] = {
		[LEVEL_OK] = 0,       [LEVEL_UNKNOWN] = 1,
		[LEVEL_WARNING] = 2,  [LEVEL_CRITICAL] = 3,
		[LEVEL_EXPIRED] = 4,
	};
	return rank[l];
}

enum level policy_level_worst(enum level a, enum level b)
{
	return severity(a) >= severity(b) ? a : b;
}

const struct secret_info *policy_secret_in_use(const struct cred_view *v,
					       int *ret_untested)
{
	*ret_untested = 0;
	if (v->has_active)
		return &v->active;
	if (v->npending > 0) {
		*ret_untested = 1;
		return &v->pending[0];
	}
	return NULL;
}

enum level policy_level(const struct cred_view *v, int64_t now,
			const struct config *cfg)
{
	int untested;
	const struct secret_info *si = policy_secret_in_use(v, &untested);
	int64_t left;

	if (si == NULL)
		return LEVEL_UNKNOWN;
	left = si->expires_at - now;
	if (left <= 0)
		return LEVEL_EXPIRED;
	if (left <= cfg->level_critical ||
	    (si->last_test_at != 0 && !si->last_test_ok))
		return LEVEL_CRITICAL;
	if (left <= cfg->level_warning)
		return LEVEL_WARNING;
	return LEVEL_OK;
}
