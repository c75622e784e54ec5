/* fuzz_timefmt.c - timefmt_parse_when(), timefmt_parse_duration() and
 * timefmt_parse_iso_duration() on the input as a string (cut at its first
 * NUL), and timefmt_rfc3339() on its first eight bytes as a time.
 *
 * Invariants, from reading timefmt.c:
 * - a duration is positive and at most INT64_MAX / 2;
 * - an ISO 8601 duration starts with 'P', is positive and at most 100
 *   years;
 * - "+X" as a time is now plus X as a duration, whenever X parses;
 * - an absolute time prints as RFC 3339 and reads back as the same
 *   second. Fractions are dropped and :60 is read as :59, so the second
 *   read gives the same time even for those. This holds only for times
 *   printed with years 1970 to 9999, the years the parser takes: an
 *   offset can move "1970-01-01T00:00:00+01:00" into 1969 and
 *   "9999-12-31T23:00:00-02:00" into 10000, which parse but do not print
 *   in a form that reads back;
 * - timefmt_rfc3339() writes a NUL-terminated string for any time. */
#include "fuzz.h"
#include "timefmt.h"

#define NOW	 INT64_C(1767225600)   /* 2026-01-01T00:00:00Z */
#define YEAR_10K INT64_C(253402300800) /* 10000-01-01T00:00:00Z */

/* t prints in years 1970-9999 and reads back as t. */
static void check_round_trip(int64_t t)
{
	char out[TIMEFMT_RFC3339_LEN];
	struct err e = {{0}};
	int64_t back = -1;

	timefmt_rfc3339(t, out);
	FUZZ_CHECK_STR(out);
	if (t < 0 || t >= YEAR_10K)
		return;
	FUZZ_CHECK(strlen(out) == TIMEFMT_RFC3339_LEN - 1);
	FUZZ_CHECK(timefmt_parse_when(out, NOW, &back, &e) == 0);
	FUZZ_CHECK(back == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	struct err e = {{0}};
	int64_t when = 0, dur = 0, rel = 0;
	int rw, rd, rr = -1;

	if (timefmt_parse_iso_duration(s, &dur) == 0)
		FUZZ_CHECK(s[0] == 'P' && dur > 0 &&
			   dur <= (int64_t)100 * 365 * 86400);
	rd = timefmt_parse_duration(s, &dur, &e);
	FUZZ_CHECK(rd == 0 || rd == -1);
	if (rd == 0)
		FUZZ_CHECK(dur > 0 && dur <= INT64_MAX / 2);
	else
		FUZZ_CHECK_STR(e.msg);

	rw = timefmt_parse_when(s, NOW, &when, &e);
	FUZZ_CHECK(rw == 0 || rw == -1);
	if (rw != 0)
		FUZZ_CHECK_STR(e.msg);
	if (s[0] == '+' || s[0] == '-') {
		/* relative: a duration from now, or a time that long ago */
		rr = timefmt_parse_duration(s + 1, &rel, &e);
		FUZZ_CHECK(rw == rr);
		if (rw == 0)
			FUZZ_CHECK(when ==
				   (s[0] == '+' ? NOW + rel : NOW - rel));
	} else if (rw == 0) {
		/* parse_date takes years 1970-9999; an offset moves the
		 * result by less than a day either way */
		FUZZ_CHECK(when > -86400 && when < YEAR_10K + 86400);
		check_round_trip(when);
		(void)timefmt_days_left(when, NOW);
	}

	if (size >= sizeof(int64_t)) {
		int64_t t;
		char out[TIMEFMT_RFC3339_LEN];

		memcpy(&t, data, sizeof(t));
		timefmt_rfc3339(t, out);
		FUZZ_CHECK_STR(out);
		if (t >= 0 && t < YEAR_10K)
			check_round_trip(t);
		(void)timefmt_days_left(t / 2, NOW);
	}
	free(s);
	return 0;
}
