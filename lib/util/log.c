/* log.c - one line per call, with a journald priority or the program's
 * name in front. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "num.h"
#include "text.h"
#include "timefmt.h"

#define LOG_LINE_MAX 8192

static const char *log_name = "secretwatch";
static FILE *log_out;
static bool log_journal;
static bool log_stamp; /* the time in front, outside the journal */

/* True when $JOURNAL_STREAM ("DEV:INODE", set by systemd for a service
 * whose output goes to the journal) names the file f writes to. Matching
 * the descriptor, as systemd's documentation advises, keeps the prefix out
 * of a file or terminal that inherited the variable. */
static bool to_journal(FILE *f)
{
	const char *js = getenv("JOURNAL_STREAM");
	const char *colon;
	char dev[32];
	int64_t d, ino;
	struct stat st;
	int fd;

	if (js == NULL || (colon = strchr(js, ':')) == NULL ||
	    (size_t)(colon - js) >= sizeof(dev))
		return false;
	memcpy(dev, js, (size_t)(colon - js));
	dev[colon - js] = '\0';
	if (num_parse_i64(dev, 0, INT64_MAX, &d) != 0 ||
	    num_parse_i64(colon + 1, 0, INT64_MAX, &ino) != 0)
		return false;
	if ((fd = fileno(f)) < 0 || fstat(fd, &st) != 0)
		return false;
	return (uint64_t)st.st_dev == (uint64_t)d &&
	       (uint64_t)st.st_ino == (uint64_t)ino;
}

void log_init(const char *progname, FILE *out)
{
	log_name = progname;
	log_out = out;
	log_journal = to_journal(out != NULL ? out : stderr);
}

void log_timestamps(bool on)
{
	log_stamp = on;
}

static const char *sd_prefix(int prio)
{
	static const char *const p[] = {SD_EMERG, SD_ALERT,   SD_CRIT,
					SD_ERR,	  SD_WARNING, SD_NOTICE,
					SD_INFO,  SD_DEBUG};

	return prio >= 0 && prio <= LOG_DEBUG ? p[prio] : SD_INFO;
}

/* msg with every character that would act on the terminal instead of
 * showing (text_escape: controls, newlines included, bidirectional
 * overrides, malformed UTF-8) written as \xNN escapes. Rejected input is
 * echoed in messages, so it must not be able to move the cursor, start
 * a line of its own or reorder the line. */
static void put_escaped(FILE *f, const char *msg)
{
	size_t size = 4 * strlen(msg) + 1;
	char *out = malloc(size);

	if (out == NULL) {
		fputs("(a message that could not be escaped: out of memory)",
		      f);
		return;
	}
	text_escape(out, size, msg, 0);
	fputs(out, f);
	free(out);
}

int log_line(void *arg, int prio, const char *msg)
{
	FILE *f = log_out != NULL ? log_out : stderr;

	(void)arg;
	clearerr(f);
	if (log_journal) {
		fputs(sd_prefix(prio), f);
	} else {
		if (log_stamp) {
			char t[TIMEFMT_RFC3339_LEN];
			timefmt_rfc3339(timefmt_now(), t);
			fprintf(f, "%s ", t);
		}
		fprintf(f, "%s: ", log_name);
	}
	put_escaped(f, msg);
	fputc('\n', f);
	if (fflush(f) != 0 || ferror(f)) {
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

static void vlog(int prio, const char *fmt, va_list ap, const char *tail)
    __attribute__((format(printf, 2, 0)));

static void vlog(int prio, const char *fmt, va_list ap, const char *tail)
{
	char line[LOG_LINE_MAX];
	int n = vsnprintf(line, sizeof(line), fmt, ap);

	if (n >= 0 && tail != NULL && (size_t)n < sizeof(line))
		snprintf(line + n, sizeof(line) - (size_t)n, ": %s", tail);
	log_line(NULL, prio, line);
}

void logit(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(prio, fmt, ap, NULL);
	va_end(ap);
}

void log_warn(const char *fmt, ...)
{
	const char *why = strerror(errno);
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap, why);
	va_end(ap);
}

#define LOG_AT(name, prio)                                                     \
	void name(const char *fmt, ...)                                        \
	{                                                                      \
		va_list ap;                                                    \
		va_start(ap, fmt);                                             \
		vlog(prio, fmt, ap, NULL);                                     \
		va_end(ap);                                                    \
	}

LOG_AT(log_warnx, LOG_ERR)
LOG_AT(log_notice, LOG_NOTICE)
LOG_AT(log_info, LOG_INFO)
LOG_AT(log_debug, LOG_DEBUG)
