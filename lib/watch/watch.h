/* watch.h - one watchdog cycle (docs/ARCHITECTURE.md §2): ask policy, then act
 * — warn, test and switch secrets, check the active ones, queueing what is owed
 * — then deliver, recording every step in the audit trail. The same cycle runs
 * in `secretwatch check` and in each tick of secretwatchd.
 *
 * Deliveries that are owed (an alert on one channel, a deploy hook) are
 * written to the store's outbox in the same transaction as the change
 * that causes them, then delivered; a crash in between is made good by
 * the next cycle.
 */
#ifndef SW_WATCH_H
#define SW_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "watch_deliver.h"
#include "watch_rotate.h"
#include "watch_sweep.h"
#include "watch_switch.h"
#include "watch_sync.h"
#include "watch_types.h"
#include "watch_verify.h"

/* One line for people on what cycle r did, as `secretwatch check` and
 * secretwatchd print it: the credentials by level, the warnings,
 * switches, health checks and deliveries, and the next check. */
void watch_report_line(const struct watch_report *r, char *out, size_t size);

/* Run one cycle at w->now. Returns 0, or -1 with e filled when the store
 * failed (a failing probe or channel is not an error: it is recorded). */
int watch_cycle(struct watch_ctx *w, struct watch_report *r, struct err *e);

/* After a cycle that ran (not a dry run): the [alerts] heartbeat_url
 * GET, its "/fail" when failed (alert_heartbeat_send). When stop is set
 * and becomes non-zero (a signal), the GET ends at once instead of
 * waiting out a stalled receiver. Returns 0 when sent or none is
 * configured, -1 with e; the caller logs a failure and goes on, the
 * cycle's outcome is not changed by it. */
int watch_heartbeat(const struct config *cfg, bool failed,
		    volatile sig_atomic_t *stop, struct err *e);

#endif
