/* policy.h - pure decisions: no clock reads, no I/O. Everything it needs
 * (now, the records, the config) is passed in. */
#ifndef SW_POLICY_H
#define SW_POLICY_H

#include <stdint.h>

#include "config.h"
#include "cred.h"
#include "store.h"

enum level {
	LEVEL_OK,
	LEVEL_WARNING,
	LEVEL_CRITICAL,
	LEVEL_EXPIRED,
	LEVEL_UNKNOWN,
};

const char *policy_level_name(enum level l);

/* The Nagios exit code of a level: 0 ok, 1 warning, 2 critical or
 * expired, 3 unknown. */
int policy_level_exit(enum level l);

/* The worse of two levels for an overall status: critical and expired
 * first, then warning, then unknown, then ok. */
enum level policy_level_worst(enum level a, enum level b);

/* The secret a credential runs on: the active one, else the newest
 * pending one (*ret_untested = 1), else NULL. */
const struct secret_info *policy_secret_in_use(const struct cred_view *v,
					       int *ret_untested);

/* A credential's level at now (DESIGN.md §5). */
enum level policy_level(const struct cred_view *v, int64_t now,
			const struct config *cfg);

#endif
