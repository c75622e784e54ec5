#include "mail.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "secmem.h"

bool mail_header_safe(const char *s)
{
	if (s == NULL)
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

bool mail_token_safe(const char *s)
{
	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

bool mail_addr_ok(const char *s)
{
	const char *at;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 320)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch))
			return false;
	}
	at = strchr(s, '@');
	return at != NULL && at != s && at[1] != '\0' &&
	       strchr(at + 1, '@') == NULL;
}

static bool host_chars(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-") == strlen(s);
}

bool mail_hostname_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 253 && host_chars(s);
}

void mail_host_name(const char *name, char *host, size_t size)
{
	if (name != NULL && name[0] != '\0')
		snprintf(host, size, "%s", name);
	else if (gethostname(host, size) != 0)
		host[0] = '\0';
	host[size - 1] = '\0';
	if (!host_chars(host))
		host[0] = '\0';
}

static void put_date(FILE *f, const struct tm *tm)
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
					   "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
					     "May", "Jun", "Jul", "Aug",
					     "Sep", "Oct", "Nov", "Dec"};

	fprintf(f, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
		days[tm->tm_wday], tm->tm_mday, months[tm->tm_mon],
		tm->tm_year + 1900, tm->tm_hour, tm->tm_min, tm->tm_sec);
}

static void put_message_id(FILE *f, const struct mail_head *h)
{
	char rnd_hex[33];

	if (h->message_id != NULL) {
		fprintf(f, "Message-ID: %s\r\n", h->message_id);
		return;
	}
	secmem_random_hex(rnd_hex, sizeof(rnd_hex));
	fprintf(f, "Message-ID: <secretwatch.%s%lld.%s@%s>\r\n",
		h->id_kind != NULL ? h->id_kind : "", (long long)h->now,
		rnd_hex, strchr(h->from, '@') + 1);
}

int mail_begin(struct mail *m, const struct mail_head *h, struct err *e)
{
	time_t t = (time_t)h->now;
	struct tm tm;

	memset(m, 0, sizeof(*m));
	m->what = h->what;
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1970) {
		err_set(e, "%s: the time is out of range", h->what);
		return -1;
	}
	if ((m->f = open_memstream(&m->buf, &m->len)) == NULL) {
		err_set(e, "%s: out of memory", h->what);
		return -1;
	}
	put_date(m->f, &tm);
	put_message_id(m->f, h);
	if (h->from_name != NULL)
		fprintf(m->f, "From: %s <%s>\r\n", h->from_name, h->from);
	else
		fprintf(m->f, "From: <%s>\r\n", h->from);
	fprintf(m->f, "To: <%s>\r\n", h->to);
	fprintf(m->f, "Subject: %s\r\n", h->subject);
	fprintf(m->f, "MIME-Version: 1.0\r\n");
	fprintf(m->f, "Content-Type: text/plain; charset=UTF-8\r\n");
	fprintf(m->f, "Content-Transfer-Encoding: %s\r\n",
		h->eightbit ? "8bit" : "7bit");
	fprintf(m->f, "Auto-Submitted: auto-generated\r\n");
	for (size_t i = 0; i < h->n_extra; i++)
		fprintf(m->f, "%s: %s\r\n", h->extra[i].name,
			h->extra[i].value);
	fprintf(m->f, "\r\n");
	return 0;
}

int mail_end(struct mail *m, char **ret, size_t *ret_len, struct err *e)
{
	if (fclose(m->f) != 0 || m->buf == NULL) {
		free(m->buf);
		err_set(e, "%s: out of memory", m->what);
		return -1;
	}
	*ret = m->buf;
	*ret_len = m->len;
	return 0;
}
