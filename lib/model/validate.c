#include "validate.h"

#include <string.h>
#include <strings.h>

#include "cred.h"
#include "text.h"

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

int validate_name(const char *s, struct err *e)
{
	size_t n = strlen(s);

	if (n == 0 || n > CRED_NAME_MAX || !is_lower_alnum(s[0]))
		goto bad;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '.' && s[i] != '_' &&
		    s[i] != '-')
			goto bad;
	return 0;
bad:
	err_set(e,
		"'%.70s' is not a valid name: use 1-64 characters a-z 0-9 . _ "
		"- starting with a letter or digit",
		s);
	return -1;
}

static int is_guid(const char *s, size_t n)
{
	if (n != CRED_GUID_LEN)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !is_hex(s[i]))
			return 0;
	}
	return 1;
}

int validate_guid(const char *s, const char *what, struct err *e)
{
	if (is_guid(s, strlen(s)))
		return 0;
	err_set(e,
		"%s '%.70s' is not a GUID: copy it from the Entra admin center "
		"(form 11111111-2222-3333-4444-555555555555)",
		what, s);
	return -1;
}

/* A DNS name: labels of letters, digits and inner hyphens, at least two. */
static int is_domain(const char *s)
{
	size_t n = strlen(s), label = 0;
	int labels = 1;

	if (n == 0 || n > CRED_TENANT_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return 0;
			label = 0;
			labels++;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return labels >= 2 && label > 0 && s[n - 1] != '-';
}

int validate_tenant(const char *s, struct err *e)
{
	if (is_guid(s, strlen(s)) || is_domain(s))
		return 0;
	err_set(e,
		"tenant '%.70s' is neither a GUID nor a domain: use the "
		"Directory (tenant) ID or a verified domain such as "
		"contoso.onmicrosoft.com",
		s);
	return -1;
}

static int is_atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-/=?^_`{|}~", c);
}

int validate_mailbox(const char *s, const char *what, struct err *e)
{
	const char *at = strrchr(s, '@');
	size_t local = at ? (size_t)(at - s) : 0;

	if (at == NULL || local == 0 || local > 64 ||
	    strlen(s) > CRED_MAILBOX_MAX || s[0] == '.' || at[-1] == '.' ||
	    strstr(s, "..") || !is_domain(at + 1))
		goto bad;
	for (size_t i = 0; i < local; i++)
		if (!is_atext((unsigned char)s[i]) && s[i] != '.')
			goto bad;
	return 0;
bad:
	err_set(e,
		"%s '%.70s' is not a mailbox address: use the form "
		"name@example.com, without a display name or <>",
		what, s);
	return -1;
}

int validate_url(const char *s, const char *scheme, const char *what,
		 struct err *e)
{
	size_t sl = strlen(scheme), n = strlen(s);
	const char *host = s + sl + 3;

	if (n > CRED_URL_MAX || strncmp(s, scheme, sl) != 0 ||
	    strncmp(s + sl, "://", 3) != 0 || *host == '\0' || *host == '/' ||
	    *host == ':')
		goto bad;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '@' || *p == '?' ||
		    *p == '#' || (unsigned char)*p >= 0x7f)
			goto bad;
	return 0;
bad:
	err_set(e,
		"%s '%.100s' is not a valid %s:// URL: use %s://HOST[:PORT]%s",
		what, s, scheme, scheme,
		strcmp(scheme, "smtp") == 0 ? " (STARTTLS is always used)"
					    : "[/PATH]");
	return -1;
}

/* Whether host (up to end) is a loopback address: 127.0.0.0/8 written
 * as four dotted numbers, or [::1]. */
static int loopback_host(const char *host, const char *end)
{
	size_t n = (size_t)(end - host);
	int dots = 0;

	if (n == 5 && memcmp(host, "[::1]", 5) == 0)
		return 1;
	if (n < 9 || memcmp(host, "127.", 4) != 0)
		return 0;
	for (const char *p = host; p < end; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			return 0;
	}
	return dots == 3;
}

/* A hook URL may carry its receiver's secret anywhere after the host:
 * the messages below never quote it. */
int validate_hook_url(const char *s, size_t max, const char *what,
		      struct err *e)
{
	const char *host, *end, *hend;
	int plain = strncmp(s, "http://", 7) == 0;

	if (strlen(s) > max) {
		err_set(e, "%s is longer than %zu characters", what, max);
		return -1;
	}
	if (!plain && strncmp(s, "https://", 8) != 0)
		goto bad;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    *p == '#')
			goto bad;
	host = s + (plain ? 7 : 8);
	end = host + strcspn(host, "/?");
	if (memchr(host, '@', (size_t)(end - host)) != NULL) {
		err_set(e,
			"%s holds a user name or password before the "
			"host: leave them out",
			what);
		return -1;
	}
	if (host[0] == '[')
		hend = memchr(host, ']', (size_t)(end - host));
	else
		hend = memchr(host, ':', (size_t)(end - host));
	hend = hend == NULL ? end : hend + (host[0] == '[');
	if (hend == host || (host[0] == '[' && hend[-1] != ']'))
		goto bad;
	if (plain && !loopback_host(host, hend)) {
		err_set(e,
			"%s: plain http:// is only for a receiver on this "
			"machine (127.0.0.1 or [::1]); use https://",
			what);
		return -1;
	}
	return 0;
bad:
	err_set(e,
		"%s is not a valid URL: use https://HOST[:PORT][/PATH]"
		"[?QUERY], without spaces, control characters or '#'",
		what);
	return -1;
}

int validate_utf8(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];
		size_t need;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return 0;
		if (i + need >= len)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if ((need == 2 &&
		     (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		i += need + 1;
	}
	return 1;
}

static int has_bidi(const char *s)
{
	for (; *s != '\0'; s++)
		if (text_bidi_len(s) > 0)
			return 1;
	return 0;
}

int validate_text(const char *s, size_t max, const char *what, struct err *e)
{
	size_t n = strlen(s);

	if (n > max) {
		err_set(e, "%s is %zu bytes long: keep it to %zu", what, n,
			max);
		return -1;
	}
	if (!validate_utf8(s, n)) {
		err_set(e,
			"%s is not valid UTF-8: check the terminal's "
			"encoding",
			what);
		return -1;
	}
	if (text_has_control(s, n) || has_bidi(s)) {
		err_set(e, "%s contains a control character: remove it", what);
		return -1;
	}
	return 0;
}

/* The inside of v when it is wrapped as a GUID is when copied from a
 * portal, a log or a registry: "...", '...', (...), {...}, [...], <...>
 * or urn:uuid:... (case-insensitive). Returns 1 with *v and *len moved
 * inside, else 0. */
static int unwrap_guid(const char **v, size_t *len)
{
	static const char pairs[][2] = {{'"', '"'}, {'\'', '\''}, {'(', ')'},
					{'{', '}'}, {'[', ']'},	  {'<', '>'}};
	const char *s = *v;
	size_t n = *len;

	if (n > 9 && strncasecmp(s, "urn:uuid:", 9) == 0) {
		*v = s + 9;
		*len = n - 9;
		return 1;
	}
	for (size_t i = 0; n >= 2 && i < sizeof(pairs) / sizeof(pairs[0]);
	     i++) {
		if (s[0] == pairs[i][0] && s[n - 1] == pairs[i][1]) {
			*v = s + 1;
			*len = n - 2;
			return 1;
		}
	}
	return 0;
}

/* A GUID however it was copied: dashed or without dashes, bare or in
 * quotes, parentheses, braces, brackets, or as a urn:uuid: (a few layers
 * at most, such as "{...}"). */
static int looks_like_secret_id(const char *v, size_t len)
{
	for (int layer = 0; layer < 4; layer++) {
		int hex = len == 32;

		for (size_t i = 0; hex && i < len; i++)
			hex = is_hex(v[i]);
		if (hex || is_guid(v, len))
			return 1;
		if (!unwrap_guid(&v, &len))
			return 0;
	}
	return 0;
}

int validate_secret_value(const char *v, size_t len, struct err *e)
{
	if (len == 0) {
		err_set(e, "the secret is empty: paste the client secret's "
			   "Value, shown once when it was created");
		return -1;
	}
	if (len > SECRET_VALUE_MAX) {
		err_set(
		    e,
		    "the secret is %zu bytes, over the %d-byte limit: paste "
		    "only the client secret's Value",
		    len, SECRET_VALUE_MAX);
		return -1;
	}
	if (!validate_utf8(v, len) || memchr(v, '\0', len) != NULL) {
		err_set(e, "the secret is not valid UTF-8 text: paste the "
			   "client secret's Value as shown in Entra");
		return -1;
	}
	if (text_has_control(v, len)) {
		err_set(e, "the secret contains a control character or a line "
			   "break inside: paste the Value alone on one line");
		return -1;
	}
	if (looks_like_secret_id(v, len)) {
		err_set(e, "this looks like the Secret ID, not the secret: "
			   "paste the Value column, shown once when the "
			   "secret was created");
		return -1;
	}
	return 0;
}

#define ENTRA_SECRET_LEN 40

static int entra_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '~' || c == '.' || c == '_' ||
	       c == '-';
}

int validate_secret_shape(const char *v, size_t len, struct err *e)
{
	size_t odd = 0;

	for (size_t i = 0; i < len; i++)
		odd += !entra_char(v[i]);
	if (len != ENTRA_SECRET_LEN) {
		err_set(e,
			"the value is %zu characters, and Entra's client "
			"secret values are %d: check that the whole Value was "
			"copied, and nothing around it",
			len, ENTRA_SECRET_LEN);
		return 1;
	}
	if (odd > 0) {
		err_set(e,
			"the value has %zu characters other than letters, "
			"digits and ~._-, which Entra's client secret values "
			"are made of: check that only the Value was copied",
			odd);
		return 1;
	}
	if (v[3] < '0' || v[3] > '9' || v[4] != 'Q' || v[5] != '~') {
		err_set(e, "the value lacks the 'Q~' that Entra's client "
			   "secret values have after their first four "
			   "characters: check that it is the Value column");
		return 1;
	}
	return 0;
}
