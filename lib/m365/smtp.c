#include "smtp.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "mail.h"
#include "secmem.h"
#include "text.h"
#include "timefmt.h"

static const char *const stage_names[] = {
    [SMTP_STAGE_CONNECT] = "connect", [SMTP_STAGE_GREETING] = "greeting",
    [SMTP_STAGE_EHLO] = "ehlo",	      [SMTP_STAGE_STARTTLS] = "starttls",
    [SMTP_STAGE_TLS] = "tls",	      [SMTP_STAGE_AUTH] = "auth",
    [SMTP_STAGE_MAIL] = "mail",	      [SMTP_STAGE_RCPT] = "rcpt",
    [SMTP_STAGE_DATA] = "data",	      [SMTP_STAGE_END_OF_DATA] = "end-of-data",
    [SMTP_STAGE_QUIT] = "quit",
};

const char *smtp_stage_name(enum smtp_stage s)
{
	if ((unsigned)s >= sizeof(stage_names) / sizeof(stage_names[0]))
		return "unknown";
	return stage_names[s];
}

/* ------------------------------------------------------------------ */
/* Reply parsing */

/* "d.ddd.ddd" with a class of 2, 4 or 5: returns its length, or 0. */
static size_t enhanced_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t start = i;

		while (i < len && i - start < 4 && isdigit((unsigned char)s[i]))
			i++;
		if (i == start || i - start > 3)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

int smtp_parse_line(const char *line, size_t len, int *ret_code, bool *ret_more,
		    char enhanced[16], size_t *ret_text_off)
{
	size_t off, el;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len < 3 || line[0] < '1' || line[0] > '5' ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]))
		return -1;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -1;
	*ret_code =
	    (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	*ret_more = len > 3 && line[3] == '-';
	enhanced[0] = '\0';
	off = len > 3 ? 4 : 3;
	if ((el = enhanced_len(line + off, len - off)) > 0 && el < 16) {
		memcpy(enhanced, line + off, el);
		enhanced[el] = '\0';
		off += el;
	}
	while (off < len && line[off] == ' ')
		off++;
	*ret_text_off = off;
	return 0;
}

void smtp_result_init(struct smtp_result *r)
{
	memset(r, 0, sizeof(*r));
	r->stage = SMTP_STAGE_CONNECT;
	r->expect_ = SMTP_STAGE_GREETING;
}

/* An EHLO keyword line: STARTTLS before TLS, AUTH after it. */
static void ehlo_capability(struct smtp_result *r, const char *t, size_t len)
{
	if (!r->tls && len == 8 && strncasecmp(t, "STARTTLS", 8) == 0) {
		r->starttls_offered = true;
		return;
	}
	if (r->tls && len >= 5 && strncasecmp(t, "AUTH", 4) == 0 &&
	    (t[4] == ' ' || t[4] == '=')) {
		const char *m = t + 5;
		size_t ml = len - 5;

		r->auth_offered = true;
		text_copy(r->auth_mechs, sizeof(r->auth_mechs), m, ml, '?');
		for (size_t i = 0; i < ml;) {
			size_t j = i;

			while (j < ml && m[j] != ' ')
				j++;
			if (j - i == 7 && strncasecmp(m + i, "XOAUTH2", 7) == 0)
				r->xoauth2_offered = true;
			i = j + 1;
		}
	}
}

/* The string (or number) member key of o into dst; "" when absent. */
static void challenge_field(const cJSON *o, const char *key, char *dst,
			    size_t size)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	char num[32];

	dst[0] = '\0';
	if (cJSON_IsString(it))
		text_copy(dst, size, it->valuestring, strlen(it->valuestring),
			  '?');
	else if (cJSON_IsNumber(it) &&
		 snprintf(num, sizeof(num), "%.0f", it->valuedouble) > 0)
		text_copy(dst, size, num, strlen(num), '?');
}

int smtp_xoauth2_challenge(const char *text, size_t len,
			   struct smtp_challenge *ret)
{
	unsigned char bin[SMTP_TEXT_MAX];
	size_t n = 0;
	cJSON *o = NULL;
	int rc = -1;

	memset(ret, 0, sizeof(*ret));
	while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\r' ||
			   text[len - 1] == '\n'))
		len--;
	if (len == 0 ||
	    secmem_base64_decode(bin, sizeof(bin) - 1, text, len, &n) != 0)
		return -1;
	bin[n] = '\0';
	if ((o = cJSON_ParseWithLength((const char *)bin, n)) == NULL ||
	    !cJSON_IsObject(o))
		goto out;
	challenge_field(o, "status", ret->status, sizeof(ret->status));
	challenge_field(o, "schemes", ret->schemes, sizeof(ret->schemes));
	challenge_field(o, "scope", ret->scope, sizeof(ret->scope));
	if (ret->status[0] != '\0')
		rc = 0;
out:
	cJSON_Delete(o);
	if (rc != 0)
		memset(ret, 0, sizeof(*ret));
	return rc;
}

/* A reply to AUTH: a prompt, a challenge, success or refusal. */
static void auth_reply(struct smtp_result *r, const struct smtp_reply *rep)
{
	struct smtp_challenge c;

	if (rep->code == 235) {
		r->authenticated = true;
		r->expect_ = SMTP_STAGE_MAIL;
		return;
	}
	if (rep->code != 334) {
		r->expect_ = SMTP_STAGE_QUIT;
		return;
	}
	/* An empty 334 asks for the token; one with text after it may be
	 * the error challenge (a later prompt does not wipe one seen). */
	if (smtp_xoauth2_challenge(rep->text, strlen(rep->text), &c) == 0) {
		r->challenge = c;
		r->challenged = true;
	}
	r->expect_ = SMTP_STAGE_AUTH;
}

/* A complete reply: attribute it to a stage and work out the next. */
static void reply_done(struct smtp_result *r, const struct smtp_reply *rep)
{
	enum smtp_stage st = r->expect_;
	int cls = rep->code / 100;

	if (rep->code == 221)
		return; /* QUIT's answer says nothing about the send */
	if (rep->code == 334 || rep->code == 235)
		st = SMTP_STAGE_AUTH;
	else if (rep->code == 354)
		st = SMTP_STAGE_DATA;
	r->last = *rep;
	r->stage = st;
	r->n_replies++;

	switch (st) {
	case SMTP_STAGE_CONNECT:
	case SMTP_STAGE_GREETING:
		r->expect_ = cls == 2 ? SMTP_STAGE_EHLO : SMTP_STAGE_QUIT;
		break;
	case SMTP_STAGE_EHLO:
		if (cls != 2)
			r->expect_ = SMTP_STAGE_QUIT;
		else if (!r->tls)
			r->expect_ = r->starttls_offered ? SMTP_STAGE_STARTTLS
							 : SMTP_STAGE_QUIT;
		else
			r->expect_ =
			    r->auth_offered ? SMTP_STAGE_AUTH : SMTP_STAGE_MAIL;
		break;
	case SMTP_STAGE_STARTTLS:
	case SMTP_STAGE_TLS:
		if (rep->code == 220) {
			r->tls = true;
			r->expect_ = SMTP_STAGE_EHLO;
		} else {
			r->expect_ = SMTP_STAGE_QUIT;
		}
		break;
	case SMTP_STAGE_AUTH:
		auth_reply(r, rep);
		break;
	case SMTP_STAGE_MAIL:
		r->expect_ = cls == 2 ? SMTP_STAGE_RCPT : SMTP_STAGE_QUIT;
		break;
	case SMTP_STAGE_RCPT:
		r->expect_ = cls == 2 ? SMTP_STAGE_DATA : SMTP_STAGE_QUIT;
		break;
	case SMTP_STAGE_DATA:
		r->expect_ =
		    rep->code == 354 ? SMTP_STAGE_END_OF_DATA : SMTP_STAGE_QUIT;
		break;
	case SMTP_STAGE_END_OF_DATA:
	case SMTP_STAGE_QUIT:
		r->expect_ = SMTP_STAGE_QUIT;
		break;
	}
}

void smtp_result_feed(struct smtp_result *r, const char *line, size_t len)
{
	struct smtp_reply *cur = &r->cur_;
	char enh[16];
	size_t off, tl, n;
	bool more;
	int code;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (smtp_parse_line(line, len, &code, &more, enh, &off) != 0)
		return;
	if (!r->in_reply_) {
		memset(cur, 0, sizeof(*cur));
		r->in_reply_ = true;
	}
	cur->code = code;
	if (enh[0] != '\0')
		memcpy(cur->enhanced, enh, sizeof(cur->enhanced));
	text_copy(cur->line, sizeof(cur->line), line, len, '?');

	/* The texts of the lines, joined by blanks. */
	tl = len - off;
	n = strlen(cur->text);
	if (n > 0 && tl > 0 && n + 1 < sizeof(cur->text))
		cur->text[n++] = ' ';
	text_copy(cur->text + n, sizeof(cur->text) - n, line + off, tl, '?');

	if (r->expect_ == SMTP_STAGE_EHLO && code == 250)
		ehlo_capability(r, line + off, tl);
	if (!more) {
		r->in_reply_ = false;
		reply_done(r, cur);
	}
}

/* ------------------------------------------------------------------ */
/* Sending */

void smtp_result_refuse(struct smtp_result *r, const char *why)
{
	err_fmt(r->refused, sizeof(r->refused), "%s", why);
	err_fmt(r->summary, sizeof(r->summary), "not sent: %s", why);
}

/* ------------------------------------------------------------------ */
/* The message */

/* Every field of the test message, checked before it is built. Returns
 * 0, or -1 with e naming the bad field. */
static int check_message(const struct smtp_message *m, struct err *e)
{
	bool has_key = m != NULL && m->key_id != NULL && m->key_id[0] != '\0';
	bool has_host = m != NULL && m->host != NULL && m->host[0] != '\0';

	if (m == NULL || !mail_addr_ok(m->from) || !mail_addr_ok(m->to)) {
		err_set(e, "test message: the sender and recipient must be "
			   "plain addresses (local@domain) without blanks, "
			   "brackets, quotes, commas or line breaks");
		return -1;
	}
	if (m->cred_name == NULL || m->cred_name[0] == '\0' ||
	    !mail_header_safe(m->cred_name)) {
		err_set(e, "test message: the credential name must be "
			   "printable ASCII without line breaks");
		return -1;
	}
	if (m->hint == NULL || !mail_header_safe(m->hint) ||
	    (has_key && !mail_token_safe(m->key_id)) ||
	    (has_host && !mail_hostname_ok(m->host))) {
		err_set(e, "test message: the hint, key ID and host must be "
			   "printable ASCII without line breaks");
		return -1;
	}
	if (m->message_id != NULL && !mail_token_safe(m->message_id)) {
		err_set(e, "test message: the Message-ID must be printable "
			   "ASCII without blanks or line breaks");
		return -1;
	}
	return 0;
}

/* The body of the test message. */
static void put_test_body(FILE *f, const struct smtp_message *m)
{
	bool has_key = m->key_id != NULL && m->key_id[0] != '\0';
	bool has_host = m->host != NULL && m->host[0] != '\0';
	char when[TIMEFMT_RFC3339_LEN];

	timefmt_rfc3339(m->now, when);
	fprintf(f, "This is a test message from secretwatch%s%s.\r\n",
		has_host ? " on " : "", has_host ? m->host : "");
	fprintf(f, "\r\n");
	fprintf(f, "Credential: %s\r\n", m->cred_name);
	fprintf(f, "Secret:     hint %s%s%s\r\n",
		m->hint[0] ? m->hint : "(none)", has_key ? ", key ID " : "",
		has_key ? m->key_id : "");
	fprintf(f, "Sender:     %s\r\n", m->from);
	fprintf(f, "Tested at:  %s\r\n", when);
	fprintf(f, "\r\n");
	fprintf(f, "secretwatch requested an access token from Microsoft "
		   "Entra ID with this\r\n"
		   "secret (OAuth2 client credentials) and sent this message "
		   "through\r\n"
		   "Exchange Online with SMTP AUTH XOAUTH2. Its arrival shows "
		   "that the\r\n"
		   "secret, the app's permissions and the mailbox setup work "
		   "for sending\r\n"
		   "mail.\r\n"
		   "\r\n"
		   "No action is needed.\r\n");
}

int smtp_build_message(const struct smtp_message *m, char **ret,
		       size_t *ret_len, struct err *e)
{
	struct mail_head h = {.what = "test message", .id_kind = ""};
	struct mail mail;
	char *subject = NULL;
	int rc;

	if (check_message(m, e) != 0)
		return -1;
	if (asprintf(&subject, "secretwatch test: credential %s, secret %s%s",
		     m->cred_name, m->hint[0] ? m->hint : "(no hint)",
		     m->hint[0] ? "~" : "") < 0) {
		err_set(e, "test message: out of memory");
		return -1;
	}
	h.now = m->now;
	h.message_id = m->message_id;
	h.from = m->from;
	h.to = m->to;
	h.subject = subject;
	rc = mail_begin(&mail, &h, e);
	if (rc == 0) {
		put_test_body(mail.f, m);
		rc = mail_end(&mail, ret, ret_len, e);
	}
	free(subject);
	return rc;
}
