/* mail.h - RFC 5322 messages: the checks of what may go into a header,
 * and the one builder of the header (Date, Message-ID, From, To, Subject,
 * MIME) that the test message (smtp.c) and the email alerts
 * (alert_email.c) share. Lines end in CRLF. */
#ifndef SW_MAIL_H
#define SW_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

/* A header value we put into a message verbatim: printable ASCII, no CR
 * or LF (nothing can start another header). NULL is not. */
bool mail_header_safe(const char *s);

/* A non-empty header value without blanks either (a key ID, a
 * Message-ID). */
bool mail_token_safe(const char *s);

/* An addr-spec we are willing to put on the wire and into headers:
 * printable ASCII, one '@' inside, nothing that could start another
 * address, a comment or a header. */
bool mail_addr_ok(const char *s);

/* A host name of letters, digits, '.' and '-', 1 to 253 of them. */
bool mail_hostname_ok(const char *s);

/* This host's name for an EHLO or a message into host (size > 0): name
 * when it is set, else gethostname(); "" when that fails or is not a plain
 * host name (letters, digits, '.' and '-'). */
void mail_host_name(const char *name, char *host, size_t size);

/* One extra header, "name: value", after the fixed ones. */
struct mail_field {
	const char *name, *value;
};

/* The header of a message. Every value must already be checked: addresses
 * with mail_addr_ok(), the rest with mail_header_safe(). */
struct mail_head {
	const char *what;	/* names the message in errors: "email" */
	int64_t now;		/* the Date: */
	const char *message_id; /* NULL: "<secretwatch.KIND.NOW.RANDOM@domain
				 * of from>" */
	const char *id_kind;	/* "alert." or "" */
	const char *from_name;	/* NULL: From: <from> */
	const char *from, *to, *subject;
	bool eightbit; /* Content-Transfer-Encoding 8bit, else 7bit */
	const struct mail_field *extra;
	size_t n_extra;
};

/* A message being written to memory. */
struct mail {
	FILE *f; /* the body goes here, after mail_begin() */
	char *buf;
	size_t len;
	const char *what;
};

/* Start a message in m: the header of h, then the blank line; the body
 * is written to m->f. Returns 0, or -1 with e ("WHAT: the time is out of
 * range", "WHAT: out of memory") and nothing to free. */
int mail_begin(struct mail *m, const struct mail_head *h, struct err *e);

/* Finish the message of m: 0 with a malloc'd, NUL-terminated message in
 * *ret (free() it) and its length in *ret_len, or -1 with e. */
int mail_end(struct mail *m, char **ret, size_t *ret_len, struct err *e);

#endif
