/* watch_deliver.h - delivering what the outbox owes: alerts on
 * each channel, deploy hooks (watch_deliver.c). */
#ifndef SW_WATCH_DELIVER_H
#define SW_WATCH_DELIVER_H

#include "watch_types.h"

/* Deliver what the outbox owes at w->now (part of every cycle). */
int watch_deliver(struct watch_ctx *w, struct watch_report *r, struct err *e);

#endif
