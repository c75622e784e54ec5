/* cyclelock.h - one watchdog cycle at a time per store, across processes.
 *
 * Everything that runs a cycle or changes what a cycle decides on (the
 * daemon's cycles, `check`, `rotate`, `secret add --activate`, `rekey`)
 * holds an exclusive lock on "<database>.cycle" while it does. This is
 * not the daemon's single-instance lock ("<database>.lock"), which the
 * daemon holds for its whole life: a CLI cycle waits only for a cycle,
 * not for the daemon. The kernel drops the lock when its holder exits,
 * however it exits.
 */
#ifndef SW_CYCLELOCK_H
#define SW_CYCLELOCK_H

#include <stdbool.h>

#include "err.h"

struct cyclelock;

/* Take the cycle lock of the store at database. wait false: return 1 at
 * once when another process holds it; wait true: block until it is free.
 * Returns 0 with *ret held, 1 (busy), or -1 with e. */
int cyclelock_take(const char *database, bool wait, struct cyclelock **ret,
		   struct err *e);

/* Release and free; NULL is fine. */
void cyclelock_release(struct cyclelock *l);

#endif
