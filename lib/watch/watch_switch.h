/* watch_switch.h - switching to a pending secret or certificate
 * after a successful test (watch_switch.c). */
#ifndef SW_WATCH_SWITCH_H
#define SW_WATCH_SWITCH_H

#include "probe.h"
#include "watch_types.h"

/* Test a pending secret of c now (secret_id 0: the one a switch would
 * pick, else the newest pending) and switch to it on success, queueing
 * the "switched" alert and the deploy hook: a person asked, so a failure
 * is not retried (watch_switch.c). *pr holds the test (release with
 * probe_result_free). Returns 0 when switched, 1 when the test failed,
 * WATCH_SWITCH_LOST (e says why) when the secret passed but was retired
 * or switched to by another process meanwhile, -1 with e on other
 * errors. */
int watch_switch_now(struct watch_ctx *w, const struct cred *c,
		     int64_t secret_id, struct probe_result *pr, struct err *e);

#endif
