/* log.h - the one log of a program: secretwatch and secretwatchd write
 * their lines through it, and the library reaches it only through the
 * log_fn callback its front end hands over (struct watch_ctx, struct
 * alert_ctx).
 *
 * Under systemd, when the stream is the one $JOURNAL_STREAM names, every
 * line starts with its journald priority ("<3>", <systemd/sd-daemon.h>);
 * elsewhere with "PROGNAME: ". This is decided once, by log_init.
 */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stdbool.h>
#include <stdio.h>
#include <syslog.h> /* LOG_CRIT ... LOG_DEBUG */

/* Where library code sends a line: prio is a LOG_* level, msg one line
 * without a newline. Returns 0, or -1 with errno when it was not
 * written. */
typedef int log_fn(void *arg, int prio, const char *msg);

/* Write to out (NULL: stderr) as progname; decides the journald prefix by
 * matching $JOURNAL_STREAM's "DEV:INODE" against out's descriptor. May be
 * called again (the last call counts). */
void log_init(const char *progname, FILE *out);

/* With on, lines that do not go to the journal start with the time
 * (RFC 3339, UTC): a daemon in the foreground, writing to a terminal or
 * a file. The journal stamps its entries itself. */
void log_timestamps(bool on);

/* A log_fn writing to the log (arg is unused). */
int log_line(void *arg, int prio, const char *msg);

/* One line at prio. */
void logit(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An error, with ": " and strerror(errno) appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An error. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Something worth noticing that went well or as planned. */
void log_notice(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
