#include "timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "num.h"

#define WHEN_FORMS                                                             \
	"use YYYY-MM-DD, an RFC 3339 time such as 2027-06-01T12:00:00Z, or "   \
	"a time relative to now such as +90d (ahead) or -1h (ago)"

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int64_t m)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
				    31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Reads exactly n digits at *p into *ret and advances *p. */
static int digits(const char **p, int n, int64_t *ret)
{
	int64_t v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

static int parse_date(const char **p, int64_t *ret_days)
{
	int64_t y, m, d;

	if (digits(p, 4, &y) || *(*p)++ != '-' || digits(p, 2, &m) ||
	    *(*p)++ != '-' || digits(p, 2, &d))
		return -1;
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 ||
	    d > days_in_month(y, m))
		return -1;
	*ret_days = days_from_civil(y, m, d);
	return 0;
}

static int parse_clock(const char **p, int64_t *ret_secs)
{
	int64_t h, mi, s;

	if (digits(p, 2, &h) || *(*p)++ != ':' || digits(p, 2, &mi) ||
	    *(*p)++ != ':' || digits(p, 2, &s))
		return -1;
	if (h > 23 || mi > 59 || s > 60)
		return -1;
	if (**p == '.') {
		(*p)++;
		if (**p < '0' || **p > '9')
			return -1;
		while (**p >= '0' && **p <= '9')
			(*p)++;
	}
	*ret_secs = h * 3600 + mi * 60 + (s == 60 ? 59 : s);
	return 0;
}

static int parse_offset(const char **p, int64_t *ret_secs)
{
	int64_t h, m;
	int sign;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*ret_secs = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -1;
	sign = *(*p)++ == '-' ? -1 : 1;
	if (digits(p, 2, &h) || *(*p)++ != ':' || digits(p, 2, &m) || h > 23 ||
	    m > 59)
		return -1;
	*ret_secs = sign * (h * 3600 + m * 60);
	return 0;
}

static int parse_absolute(const char *s, int64_t *ret)
{
	const char *p = s;
	int64_t days, secs = 0, off = 0;

	if (parse_date(&p, &days))
		return -1;
	if (*p == '\0') {
		*ret = days * 86400;
		return 0;
	}
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -1;
	p++;
	if (parse_clock(&p, &secs) || parse_offset(&p, &off) || *p != '\0')
		return -1;
	*ret = days * 86400 + secs - off;
	return 0;
}

static int64_t unit_seconds(char u)
{
	switch (u) {
	case 's':
		return 1;
	case 'm':
		return 60;
	case 'h':
		return 3600;
	case 'd':
		return 86400;
	case 'w':
		return 7 * 86400;
	default:
		return 0;
	}
}

/* "<digits><unit>" with the unit one of s m h d w; 0 < value. */
static int parse_amount(const char *s, int64_t *ret)
{
	char num[24];
	size_t n = strlen(s);
	int64_t v, unit;

	if (n < 2 || n - 1 >= sizeof(num))
		return -1;
	unit = unit_seconds(s[n - 1]);
	memcpy(num, s, n - 1);
	num[n - 1] = '\0';
	if (unit == 0 || num[0] < '0' || num[0] > '9' ||
	    num_parse_i64(num, 1, INT64_MAX / unit / 2, &v))
		return -1;
	*ret = v * unit;
	return 0;
}

int timefmt_parse_when(const char *s, int64_t now, int64_t *ret, struct err *e)
{
	int64_t v;

	if ((s[0] == '+' || s[0] == '-') && parse_amount(s + 1, &v) == 0) {
		*ret = s[0] == '+' ? now + v : now - v;
		return 0;
	}
	if (s[0] != '+' && s[0] != '-' && parse_absolute(s, &v) == 0) {
		*ret = v;
		return 0;
	}
	err_set(e, "'%.40s' is not a time: %s", s, WHEN_FORMS);
	return -1;
}

int timefmt_parse_duration(const char *s, int64_t *ret, struct err *e)
{
	if (parse_amount(s, ret) == 0)
		return 0;
	err_set(e,
		"'%.40s' is not a duration: use a number and a unit s, m, h, "
		"d or w, such as 30d or 2m",
		s);
	return -1;
}

/* Seconds per unit letter of an ISO 8601 duration, date part or time
 * part; 0 for a letter that is not one. */
static int64_t iso_unit(char c, bool time_part)
{
	if (time_part)
		return c == 'H' ? 3600 : c == 'M' ? 60 : c == 'S' ? 1 : 0;
	return c == 'Y'	  ? 365 * 86400
	       : c == 'M' ? 28 * 86400
	       : c == 'W' ? 7 * 86400
	       : c == 'D' ? 86400
			  : 0;
}

int timefmt_parse_iso_duration(const char *s, int64_t *ret)
{
	const int64_t max = (int64_t)100 * 365 * 86400;
	bool time_part = false;
	int64_t total = 0;
	int parts = 0, date_parts = 0;

	if (s == NULL || *s++ != 'P')
		return -1;
	while (*s != '\0') {
		int64_t n = 0, unit;

		if (*s == 'T' && !time_part) {
			time_part = true;
			date_parts = parts;
			s++;
			continue;
		}
		if (*s < '0' || *s > '9')
			return -1;
		for (; *s >= '0' && *s <= '9'; s++)
			if ((n = n * 10 + (*s - '0')) > max)
				return -1;
		if ((unit = iso_unit(*s++, time_part)) == 0 ||
		    (total += n * unit) > max)
			return -1;
		parts++;
	}
	if (parts == 0 || total <= 0 || (time_part && parts == date_parts))
		return -1;
	*ret = total;
	return 0;
}

void timefmt_rfc3339(int64_t t, char out[TIMEFMT_RFC3339_LEN])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, TIMEFMT_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, TIMEFMT_RFC3339_LEN, "invalid-time");
}

int64_t timefmt_days_left(int64_t t, int64_t now)
{
	int64_t d = t - now;

	return d > 0 ? (d + 86399) / 86400 : -(-d / 86400);
}

int64_t timefmt_now(void)
{
	return (int64_t)time(NULL);
}
