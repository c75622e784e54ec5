/* worker.h - one watchdog cycle for the daemon, run in a short-lived
 * child process: the network stack, TLS and a big cycle's memory are
 * returned to the system when it exits, so the daemon sleeps small. */
#ifndef SWD_WORKER_H
#define SWD_WORKER_H

#include <signal.h>

#include "loop.h"
#include "watch.h"

struct cycle_result {
	int ok;
	struct watch_report report;
	struct err err; /* when !ok */
	int key_reread; /* the key file changed (rekey) and was read again */
};

/* Run a cycle in this process (d->store must be open). */
void worker_cycle_here(struct daemon *d, struct cycle_result *res);

/* Run a cycle in a child that opens the store itself. While waiting,
 * pings the systemd watchdog; when *stop becomes set the child is killed
 * (every change is one transaction, so nothing is left half-done). */
void worker_cycle_forked(struct daemon *d, volatile sig_atomic_t *stop,
			 struct cycle_result *res);

#endif
