/* err.h - the error detail that lib/ fills and the front ends print.
 *
 * lib/ never prints and never exits: a failing function returns -1 and
 * writes one line into a struct err that says what went wrong and what to
 * do about it. Secret values never go into it.
 */
#ifndef SW_ERR_H
#define SW_ERR_H

#include <stddef.h>

#define ERR_MSG_MAX 1024

struct err {
	char msg[ERR_MSG_MAX];
};

/* Format one line into e (truncated to fit). e may be NULL. */
void err_set(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the message already in e with "what: ". */
void err_prefix(struct err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* snprintf that may truncate, for bounded text meant for people. */
void err_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
