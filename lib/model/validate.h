/* validate.h - checks of everything a person types, each failing with one
 * line that says what is wrong and what to do. All return 0 or -1. */
#ifndef SW_VALIDATE_H
#define SW_VALIDATE_H

#include <stddef.h>

#include "err.h"

#define SECRET_VALUE_MAX 1024

/* A credential name: [a-z0-9][a-z0-9._-]{0,63}. */
int validate_name(const char *s, struct err *e);

/* A GUID such as 11111111-2222-3333-4444-555555555555; what names it. */
int validate_guid(const char *s, const char *what, struct err *e);

/* A tenant: a GUID or a DNS domain such as contoso.onmicrosoft.com. */
int validate_tenant(const char *s, struct err *e);

/* A mailbox addr-spec local@domain (no display name, no brackets). */
int validate_mailbox(const char *s, const char *what, struct err *e);

/* An absolute URL of the given scheme ("https" or "smtp"), with a host and
 * without credentials, spaces or a query. */
int validate_url(const char *s, const char *scheme, const char *what,
		 struct err *e);

/* A URL that secretwatch calls (a webhook, a heartbeat): https://, or
 * http:// to a loopback address (127.0.0.0/8, [::1]) only; a host;
 * at most max characters; a path and query allowed (real webhook URLs
 * carry their signature there), but no spaces, control characters,
 * fragment or user name and password. what names it in the message,
 * which quotes only the URL's start. */
int validate_hook_url(const char *s, size_t max, const char *what,
		      struct err *e);

/* 1 when the len bytes at s are well-formed UTF-8, else 0. */
int validate_utf8(const char *s, size_t len);

/* Free text (a note): UTF-8, no control characters, at most max bytes. */
int validate_text(const char *s, size_t max, const char *what, struct err *e);

/* A client secret value: non-empty, at most SECRET_VALUE_MAX bytes,
 * printable, UTF-8, and not the Secret ID (a GUID) pasted instead of the
 * Value. The message never contains the value. */
int validate_secret_value(const char *v, size_t len, struct err *e);

/* Whether a valid secret value (validate_secret_value) also has the shape
 * of the client secrets Entra makes: 40 characters of letters, digits and
 * ~._-, the fourth a digit, then "Q~". Returns 0 when it has, else 1 with
 * e saying how it differs (cut short, text around it), never the value.
 * Not a refusal: secrets made before that format differ too. */
int validate_secret_shape(const char *v, size_t len, struct err *e);

#endif
