/* The email channel: the alert as a plain-text message, sent through the
 * credential's own Microsoft 365 path (SMTP with STARTTLS, AUTH XOAUTH2 as
 * the credential's sender with an access token the caller obtained).
 *
 * One message per recipient, each with its own To: and Message-ID, so
 * that one bad address does not stop the others and each failure is
 * named. The alert counts as delivered on this channel only when every
 * recipient accepted it: a retry of a partly failed alert sends it again
 * to all of them, since a duplicate is better than an alert that someone
 * never got.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert_impl.h"
#include "cloud.h"
#include "mail.h"
#include "smtp.h"
#include "timefmt.h"
#include "validate.h"

#define EMAIL_RCPT_MAX 64
#define EMAIL_LINE_MAX 990 /* RFC 5322 allows 998 octets before CRLF */

/* The next address of a comma-separated list at *p into out, trimmed.
 * Returns 1 with an address, 0 at the end, -1 when one is too long. */
static int next_rcpt(const char **p, char *out, size_t size)
{
	const char *s = *p, *end;
	size_t n;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		if (*s == '\0') {
			*p = s;
			return 0;
		}
		end = s;
		while (*end != '\0' && *end != ',')
			end++;
		*p = end;
		n = (size_t)(end - s);
		while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
			n--;
		if (n >= size)
			return -1;
		memcpy(out, s, n);
		out[n] = '\0';
		return 1;
	}
}

bool alert_email_configured(const struct config *cfg)
{
	const char *p = cfg->email_to;
	char addr[CRED_MAILBOX_MAX + 1];

	return next_rcpt(&p, addr, sizeof(addr)) != 0;
}

/* The body text: line ends made CRLF, lone CRs dropped, and a line longer
 * than EMAIL_LINE_MAX octets broken so that no server refuses it. */
static void put_text(FILE *f, const char *s)
{
	size_t col = 0;

	for (; *s != '\0'; s++) {
		if (*s == '\r')
			continue;
		if (*s == '\n') {
			fputs("\r\n", f);
			col = 0;
			continue;
		}
		if (col == EMAIL_LINE_MAX) {
			fputs("\r\n", f);
			col = 0;
		}
		fputc(*s, f);
		col++;
	}
}

static bool has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* The body: the message, the facts, and where it came from. */
static void put_body(FILE *f, const struct alert *a,
		     const struct alert_ctx *ctx)
{
	const char *key = alert_str(a->key_id), *hint = alert_str(a->hint);
	const char *sender = ctx->cred->sender;
	char expires[TIMEFMT_RFC3339_LEN], host[256];

	timefmt_rfc3339(a->expires_at, expires);
	mail_host_name(NULL, host, sizeof(host));
	put_text(f, alert_str(a->message));
	fprintf(f, "\r\n\r\n");
	fprintf(f, "Event:       %s\r\n", alert_event_name(a->event));
	fprintf(f, "Level:       %s\r\n", alert_str(a->level));
	if (a->app != NULL && a->app[0] != '\0') {
		put_text(f, "Application: ");
		put_text(f, a->app);
		fprintf(f, " (app ID %s)\r\n", alert_str(a->app_id));
		fprintf(f, "Portal:      %s\r\n", alert_str(a->link));
	}
	fprintf(f, "Credential:  %s (sends as %s)\r\n",
		alert_str(a->credential), sender);
	fprintf(f, "Secret:      %s%s, key ID %s\r\n", hint[0] ? hint : "?",
		hint[0] ? "~" : "", key[0] ? key : "unknown");
	fprintf(f, "Expires:     %s (%lld days left)\r\n", expires,
		(long long)a->days_left);
	fprintf(f,
		"\r\n-- \r\nsecretwatch%s%s, through this credential's "
		"own mailbox\r\n",
		host[0] ? " on " : "", host);
}

/* The message for one recipient. Returns 0 with a malloc'd message, or
 * -1 with e. */
static int build(const struct alert *a, const struct alert_ctx *ctx,
		 const char *to, char **ret, size_t *ret_len, struct err *e)
{
	char summary[ALERT_SUMMARY_MAX], subject[ALERT_SUMMARY_MAX + 16];
	const struct mail_field extra[] = {
	    {"X-Secretwatch-Event", alert_event_name(a->event)},
	    {"X-Secretwatch-Level", alert_str(a->level)},
	};
	struct mail_head h = {.what = "email", .id_kind = "alert."};
	struct mail m;

	alert_summary(a, summary, sizeof(summary));
	/* The subject stays ASCII; the body is UTF-8. */
	for (char *p = summary; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x7f)
			*p = '?';
	snprintf(subject, sizeof(subject), "[secretwatch] %s", summary);
	h.now = ctx->now;
	h.from_name = "secretwatch";
	h.from = ctx->cred->sender;
	h.to = to;
	h.subject = subject;
	h.eightbit = has_8bit(alert_str(a->message));
	h.extra = extra;
	h.n_extra = sizeof(extra) / sizeof(extra[0]);
	if (mail_begin(&m, &h, e) != 0)
		return -1;
	put_body(m.f, a, ctx);
	return mail_end(&m, ret, ret_len, e);
}

/* Every value that goes into a header, checked before anything is sent. */
static int check_headers(const struct alert *a, const struct alert_ctx *ctx,
			 struct err *e)
{
	const struct {
		const char *what, *value;
	} v[] = {
	    {"event", alert_event_name(a->event)},
	    {"level", alert_str(a->level)},
	    {"credential", alert_str(a->credential)},
	    {"hint", alert_str(a->hint)},
	    {"key ID", alert_str(a->key_id)},
	    {"sender", ctx->cred->sender},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		if (!mail_header_safe(v[i].value)) {
			err_set(e,
				"email: the %s has a line break or another "
				"control character; not sent",
				v[i].what);
			return -1;
		}
	}
	return validate_mailbox(ctx->cred->sender, "email: the sender", e);
}

/* All addresses are checked before the first one is sent to: *ret_n is
 * their number. Returns 0, or -1 with e. */
static int count_rcpts(const char *list, int *ret_n, struct err *e)
{
	char addr[CRED_MAILBOX_MAX + 1];
	const char *p = list;
	int r;

	*ret_n = 0;
	while ((r = next_rcpt(&p, addr, sizeof(addr))) != 0) {
		if (r < 0 || !mail_header_safe(addr) ||
		    validate_mailbox(addr, "address", NULL) != 0) {
			err_set(e, "email: a recipient's address is not a "
				   "plain mailbox ([alerts] email_to, or an "
				   "owner's in Entra); not sent");
			return -1;
		}
		if (++*ret_n > EMAIL_RCPT_MAX) {
			err_set(e, "email: more than %d recipients; not sent",
				EMAIL_RCPT_MAX);
			return -1;
		}
	}
	return 0;
}

/* Send the alert to one recipient. Returns 0 when sent, 1 when the
 * server refused it (*res says why), -1 with e when it was not built. */
static int send_one(const struct alert *a, const struct alert_ctx *ctx,
		    const char *addr, struct smtp_result *res, struct err *e)
{
	struct smtp_send s = {0};
	struct err be = {{0}};
	char *msg = NULL;
	size_t len = 0;
	int ok;

	if (build(a, ctx, addr, &msg, &len, &be) != 0) {
		err_set(e, "%s", be.msg);
		return -1;
	}
	s.url = cloud_smtp_url(ctx->cred);
	s.sender = ctx->cred->sender;
	s.rcpt = addr;
	s.token = ctx->access_token;
	s.message = msg;
	s.message_len = len;
	ok = smtp_send_message(&s, ctx->net, res) == 0;
	free(msg);
	return ok ? 0 : 1;
}

int alert_email_send(const struct alert *a, const struct alert_ctx *ctx,
		     struct err *e)
{
	char addr[CRED_MAILBOX_MAX + 1], failures[ERR_MSG_MAX] = "";
	struct err ge = {{0}};
	const char *p, *rcpts;
	size_t fl = 0;
	int n = 0, failed = 0, r;

	if (ctx == NULL || ctx->cfg == NULL || ctx->cred == NULL) {
		err_set(e, "email: no credential to send with");
		return -1;
	}
	rcpts = a->to != NULL && a->to[0] != '\0' ? a->to : ctx->cfg->email_to;
	if (rcpts[0] == '\0') {
		err_set(e, "email: no recipients ([alerts] email_to)");
		return -1;
	}
	if (ctx->access_token == NULL || ctx->access_token[0] == '\0') {
		err_set(e, "email: no working secret to send mail with");
		return -1;
	}
	if (check_headers(a, ctx, e) != 0)
		return -1;
	if (net_global_init(&ge) != 0) {
		err_set(e, "email: %s", ge.msg);
		return -1;
	}

	if (count_rcpts(rcpts, &n, e) != 0)
		return -1;
	p = rcpts;
	while (next_rcpt(&p, addr, sizeof(addr)) > 0) {
		struct smtp_result res;
		r = send_one(a, ctx, addr, &res, e);
		if (r < 0)
			return -1;
		if (r == 0)
			continue;
		failed++;
		if (fl < sizeof(failures)) {
			int w = snprintf(failures + fl, sizeof(failures) - fl,
					 "%s%s: %s", fl ? "; " : "", addr,
					 res.summary);
			fl += w > 0 ? (size_t)w : 0;
		}
	}
	if (failed == 0)
		return 0;
	err_set(e, "email: %d of %d recipient%s not reached: %s", failed, n,
		n == 1 ? "" : "s", failures);
	return -1;
}
