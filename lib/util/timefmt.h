/* timefmt.h - times are int64_t UTC seconds since the epoch everywhere;
 * this file parses what people type and prints what they read. */
#ifndef SW_TIMEFMT_H
#define SW_TIMEFMT_H

#include <stdint.h>

#include "err.h"

#define TIMEFMT_RFC3339_LEN 21 /* "2026-01-01T00:00:00Z" + NUL */

/* WHEN: "YYYY-MM-DD" (00:00 UTC that day), RFC 3339 with "Z" or an offset
 * (fractions ignored), or relative to now: "+90d", "+12h", "+30m", "+45s"
 * ahead, "-1h", "-7d" ago.
 * Returns 0 and sets *ret, or -1 with a message naming the forms. */
int timefmt_parse_when(const char *s, int64_t now, int64_t *ret, struct err *e);

/* Duration: a positive number and a unit s, m, h, d or w ("30d", "2m").
 * Returns 0 and sets *ret (seconds), or -1 with a message. */
int timefmt_parse_duration(const char *s, int64_t *ret, struct err *e);

/* An ISO 8601 duration as Graph writes a policy's maxLifetime:
 * "P90D", "P1Y6M", "P2W", "PT12H", "P1DT30M"; whole numbers only. Months
 * count 28 days and years 365, so that a limit is never overstated.
 * Returns 0 and sets *ret (seconds, above 0, at most 100 years), or -1. */
int timefmt_parse_iso_duration(const char *s, int64_t *ret);

/* Format t as "YYYY-MM-DDTHH:MM:SSZ" into out. */
void timefmt_rfc3339(int64_t t, char out[TIMEFMT_RFC3339_LEN]);

/* Days from now until t, rounded up: 1 with 23 hours left, 0 at t and in
 * the day after it, -1 a full day after it. */
int64_t timefmt_days_left(int64_t t, int64_t now);

/* The current time: the one clock read of the front ends. */
int64_t timefmt_now(void);

#endif
