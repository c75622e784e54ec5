#include "entra.h"
#include "vault.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "secmem.h"
#include <cjson/cJSON.h>

#include "num.h"
#include "text.h"

/* A token larger than this is refused (EXO tokens are 1.5-3 KB). */
#define ENTRA_TOKEN_MAX (64 * 1024)

/* ------------------------------------------------------------------ */
/* Text helpers */

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	text_oneline(dst, dstsz, src, src != NULL ? strlen(src) : 0);
}

/* ------------------------------------------------------------------ */
/* Tokens */

void entra_token_free(struct entra_token *t)
{
	if (t == NULL)
		return;
	if (t->value != NULL) {
		secmem_wipe(t->value, t->len);
		secmem_free(t->value);
	}
	t->value = NULL;
	t->len = 0;
	t->expires_at = 0;
}

static int token_set(struct entra_token *t, const char *v, size_t len,
		     int64_t expires_at)
{
	char *p = secmem_alloc(len + 1);

	if (p == NULL)
		return -1;
	memcpy(p, v, len);
	p[len] = '\0';
	t->value = p;
	t->len = len;
	t->expires_at = expires_at;
	return 0;
}

int entra_token_dup(const struct entra_token *src, struct entra_token *ret,
		    struct err *e)
{
	memset(ret, 0, sizeof(*ret));
	if (src == NULL || src->value == NULL) {
		err_set(e, "no access token to copy");
		return -1;
	}
	if (token_set(ret, src->value, src->len, src->expires_at) != 0) {
		err_set(e, "out of secure memory for the access token");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reply parsing */

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Find "label" in s and copy the value after it into dst: up to the next
 * blank, or to the end of the line when rest_of_line is set. */
static void suffix_value(const char *s, const char *label, char *dst,
			 size_t dstsz, bool rest_of_line)
{
	const char *p = strstr(s, label);
	size_t n = 0;

	if (p == NULL || dst[0] != '\0')
		return;
	p += strlen(label);
	while (*p == ' ')
		p++;
	while (p[n] != '\0' && p[n] != '\r' && p[n] != '\n' &&
	       (rest_of_line || p[n] != ' '))
		n++;
	text_oneline(dst, dstsz, p, n);
}

/* The description without its "Trace ID: .. Correlation ID: ..
 * Timestamp: .." suffix, in either the "\r\n" or the blank-separated
 * form; the suffix's values fill the IDs the JSON fields did not. */
static void parse_description(const char *d, struct entra_result *res)
{
	const char *cut = NULL;
	const char *p = d;

	while ((p = strstr(p, "Trace ID:")) != NULL) {
		cut = p;
		p++;
	}
	if (cut == NULL) {
		copy_str(res->error_description, sizeof(res->error_description),
			 d);
		return;
	}
	text_oneline(res->error_description, sizeof(res->error_description), d,
		     (size_t)(cut - d));
	suffix_value(cut, "Trace ID:", res->trace_id, sizeof(res->trace_id),
		     false);
	suffix_value(cut, "Correlation ID:", res->correlation_id,
		     sizeof(res->correlation_id), false);
	suffix_value(cut, "Timestamp:", res->timestamp, sizeof(res->timestamp),
		     true);
}

/* expires_in: a JSON number or, from older endpoints, a numeric string;
 * at least one whole second, since a token that is expired when it
 * arrives is no token. */
static int parse_expires_in(const cJSON *obj, int64_t *ret)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "expires_in");
	int64_t v;

	if (cJSON_IsNumber(it)) {
		double d = cJSON_GetNumberValue(it);

		if (!(d >= 1 && d <= 10L * 365 * 86400))
			return -1;
		*ret = (int64_t)d;
		return 0;
	}
	if (cJSON_IsString(it) &&
	    num_parse_i64(it->valuestring, 1, 10L * 365 * 86400, &v) == 0) {
		*ret = v;
		return 0;
	}
	return -1;
}

static void parse_error_object(const cJSON *root, struct entra_result *res)
{
	const cJSON *codes, *c;
	const char *s;

	copy_str(res->error, sizeof(res->error), json_str(root, "error"));
	codes = cJSON_GetObjectItemCaseSensitive(root, "error_codes");
	cJSON_ArrayForEach(c, codes)
	{
		double d;

		if (res->n_error_codes >= ENTRA_CODES_MAX)
			break;
		if (!cJSON_IsNumber(c))
			continue;
		d = cJSON_GetNumberValue(c);
		if (d < 0 || d > 2147483647.0)
			continue;
		res->error_codes[res->n_error_codes++] = (long)d;
	}
	if ((s = json_str(root, "trace_id")) != NULL)
		copy_str(res->trace_id, sizeof(res->trace_id), s);
	if ((s = json_str(root, "correlation_id")) != NULL)
		copy_str(res->correlation_id, sizeof(res->correlation_id), s);
	if ((s = json_str(root, "timestamp")) != NULL)
		copy_str(res->timestamp, sizeof(res->timestamp), s);
	if ((s = json_str(root, "error_description")) != NULL)
		parse_description(s, res);
}

static const char *status_reason(long status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 429:
		return "Too Many Requests";
	case 500:
		return "Internal Server Error";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 504:
		return "Gateway Timeout";
	default:
		return "";
	}
}

static void summarise_error(struct entra_result *res)
{
	if (res->n_error_codes > 0)
		err_fmt(res->summary, sizeof(res->summary),
			"AADSTS%ld (%s, HTTP %ld): %s", res->error_codes[0],
			res->error[0] ? res->error : "no error field",
			res->http_status,
			res->error_description[0] ? res->error_description
						  : "no description");
	else
		err_fmt(res->summary, sizeof(res->summary), "%s (HTTP %ld): %s",
			res->error, res->http_status,
			res->error_description[0] ? res->error_description
						  : "no description");
}

void entra_result_reset(struct entra_result *res)
{
	res->ok = false;
	res->transient = false;
	res->http_status = 0;
	res->error[0] = '\0';
	res->n_error_codes = 0;
	memset(res->error_codes, 0, sizeof(res->error_codes));
	res->error_description[0] = '\0';
	res->trace_id[0] = '\0';
	res->correlation_id[0] = '\0';
	res->timestamp[0] = '\0';
	res->expires_in = 0;
	res->summary[0] = '\0';
}

/* A body that is not a JSON object: the summary quotes its first line. */
static void summarise_not_json(long status, const char *body, size_t len,
			       struct entra_result *res)
{
	char first[160];
	size_t n = 0;

	while (body != NULL && n < len && body[n] != '\n' &&
	       n < sizeof(first) - 1)
		n++;
	text_oneline(first, sizeof(first), body != NULL ? body : "", n);
	if (status == 200)
		err_fmt(res->summary, sizeof(res->summary),
			"HTTP 200 but the reply is not a JSON token "
			"reply: %s",
			first[0] ? first : "(empty body)");
	else
		err_fmt(res->summary, sizeof(res->summary),
			"HTTP %ld %s, not an OAuth reply: %s", status,
			status_reason(status),
			first[0] ? first : "(empty body)");
}

/* The token of a JSON reply without an error. Returns 0 with
 * *ret_token set, or -1 with the summary saying what is missing. */
static int parse_token(const cJSON *root, int64_t now, struct entra_result *res,
		       struct entra_token *ret_token)
{
	const cJSON *at =
	    cJSON_GetObjectItemCaseSensitive(root, "access_token");
	int64_t expires_in;

	if (!cJSON_IsString(at) || at->valuestring[0] == '\0') {
		err_fmt(res->summary, sizeof(res->summary),
			"HTTP 200 but the reply has no access_token");
		return -1;
	}
	if (parse_expires_in(root, &expires_in) != 0) {
		err_fmt(res->summary, sizeof(res->summary),
			"HTTP 200 but the reply has no usable expires_in");
		return -1;
	}
	if (strlen(at->valuestring) > ENTRA_TOKEN_MAX) {
		err_fmt(res->summary, sizeof(res->summary),
			"HTTP 200 but the access token is larger than %d "
			"bytes",
			ENTRA_TOKEN_MAX);
		return -1;
	}
	if (token_set(ret_token, at->valuestring, strlen(at->valuestring),
		      now + expires_in) != 0) {
		err_fmt(res->summary, sizeof(res->summary),
			"out of secure memory for the access token");
		return -1;
	}
	res->ok = true;
	res->expires_in = expires_in;
	err_fmt(res->summary, sizeof(res->summary),
		"token issued, valid for %lld s", (long long)expires_in);
	return 0;
}

int entra_parse_response(long status, const char *body, size_t len, int64_t now,
			 struct entra_result *res,
			 struct entra_token *ret_token)
{
	cJSON *root = NULL;
	int ret = -1;

	memset(ret_token, 0, sizeof(*ret_token));
	entra_result_reset(res);
	res->http_status = status;
	res->transient = status == 429 || status >= 500;

	if (body != NULL && len > 0)
		root = cJSON_ParseWithLength(body, len);

	if (!cJSON_IsObject(root)) {
		summarise_not_json(status, body, len, res);
	} else if (json_str(root, "error") != NULL || status != 200) {
		parse_error_object(root, res);
		if (res->error[0] == '\0' && res->n_error_codes == 0)
			err_fmt(res->summary, sizeof(res->summary),
				"HTTP %ld %s with a JSON body that is not an "
				"OAuth error",
				status, status_reason(status));
		else
			summarise_error(res);
	} else {
		ret = parse_token(root, now, res, ret_token);
	}
	if (root != NULL) {
		vault_json_wipe(root);
		cJSON_Delete(root);
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* The retry policy */

int64_t entra_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long entra_retry_wait_ms(const struct entra_retry *rp, int n,
			 long retry_after_s)
{
	long wait;

	if (retry_after_s > 0) {
		if (retry_after_s > rp->max_delay_ms / 1000 + 1)
			return rp->max_delay_ms;
		wait = retry_after_s * 1000;
	} else {
		wait = rp->base_delay_ms;
		for (int i = 1; i < n && wait < rp->max_delay_ms; i++)
			wait *= 2;
	}
	if (wait > rp->max_delay_ms)
		wait = rp->max_delay_ms;
	return wait < 0 ? 0 : wait;
}

int entra_retry_sleep(const struct entra_retry *rp, long ms)
{
	struct timespec ts;

	if (rp->sleep_ms != NULL)
		return rp->sleep_ms(ms, rp->sleep_arg);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

long entra_retry_timeout_ms(const struct net_opts *net,
			    const struct entra_retry *rp, int64_t start_ms)
{
	long t = net != NULL && net->timeout_s > 0 ? net->timeout_s
						   : NET_TIMEOUT_DEFAULT;
	int64_t left;

	t *= 1000;
	if (rp == NULL || rp->deadline_ms <= 0)
		return t;
	left = rp->deadline_ms - (entra_mono_ms() - start_ms);
	if (left <= 0)
		return 0;
	return left < t ? (long)left : t;
}

/* ------------------------------------------------------------------ */
/* The form body */

#define ENTRA_ASSERTION_TYPE                                                   \
	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define ENTRA_FIELD_MAX 8192

/* Append "key=<percent-encoded s>" (with '&' before all but the first)
 * at *off; with dst NULL only count. Unreserved characters (RFC 3986)
 * stay, everything else is %XX. */
static int form_add(char *dst, size_t *off, const char *key, const char *s,
		    size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = *off;

	if (len > ENTRA_FIELD_MAX)
		return -1;
	if (o > 0 && dst != NULL)
		dst[o] = '&';
	o += o > 0;
	for (const char *k = key; *k != '\0'; k++, o++)
		if (dst != NULL)
			dst[o] = *k;
	if (dst != NULL)
		dst[o] = '=';
	o++;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			     c == '_' || c == '~';
		if (dst != NULL && plain) {
			dst[o] = (char)c;
		} else if (dst != NULL) {
			dst[o] = '%';
			dst[o + 1] = hex[c >> 4];
			dst[o + 2] = hex[c & 15];
		}
		o += plain ? 1 : 3;
	}
	*off = o;
	return 0;
}

static int form_auth(char *dst, size_t *off, const struct entra_request *rq)
{
	const struct entra_secret *sec = rq->secret;
	const struct entra_assertion *as = rq->assertion;

	if (sec != NULL && as != NULL)
		return -1; /* one proof, never both */
	if (sec != NULL)
		return form_add(dst, off, "client_secret", sec->value,
				sec->len);
	if (as != NULL)
		return form_add(dst, off, "client_assertion_type",
				ENTRA_ASSERTION_TYPE,
				strlen(ENTRA_ASSERTION_TYPE)) ||
		       form_add(dst, off, "client_assertion", as->jwt, as->len);
	return 0;
}

/* One pass over the fields: count (dst NULL) or write. */
static int form_fields(char *dst, size_t *off, const struct entra_request *rq)
{
	*off = 0;
	return form_add(dst, off, "client_id", rq->client_id,
			strlen(rq->client_id)) ||
	       form_add(dst, off, "scope", rq->scope, strlen(rq->scope)) ||
	       form_auth(dst, off, rq) ||
	       form_add(dst, off, "grant_type", "client_credentials",
			strlen("client_credentials"));
}

char *entra_form(const struct entra_request *rq, size_t *ret_len)
{
	size_t n, m;
	char *form;

	if (form_fields(NULL, &n, rq) != 0 ||
	    (form = secmem_alloc(n + 1)) == NULL)
		return NULL;
	form_fields(form, &m, rq);
	form[n] = '\0';
	*ret_len = n;
	return form;
}

void entra_form_free(char *form, size_t len)
{
	if (form == NULL)
		return;
	secmem_wipe(form, len + 1);
	secmem_free(form);
}
