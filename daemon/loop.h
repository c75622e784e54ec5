/* loop.h - secretwatchd's main loop: run a cycle, sleep until the next
 * deadline or a signal, act on the signal. */
#ifndef SWD_LOOP_H
#define SWD_LOOP_H

#include <stdbool.h>

#include "config.h"
#include "store.h"
#include "vault.h"

struct daemon {
	const char *config_path; /* NULL: the default search */
	struct config cfg;
	struct store *store;
	struct vault *vault;
	bool once;
};

/* Install the signal handlers (flags only) and block the signals outside
 * the sleep. */
int loop_signals(void);

/* Run until SIGTERM/SIGINT (or one cycle with d->once). Returns the exit
 * code. */
int loop_run(struct daemon *d);

#endif
