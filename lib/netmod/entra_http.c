/* entra_http.c - the token request over HTTPS (libcurl), with bounded retries:
 * the transport half of entra.h, built into the network module. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "curl_impl.h"
#include "entra.h"
#include "num.h"
#include "secmem.h"
#include "text.h"
#include "vault.h"

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	text_oneline(dst, dstsz, src, src != NULL ? strlen(src) : 0);
}

/* The reply body, in guarded memory; too_big when it passed the limit. */
struct sbuf {
	struct secbuf buf;
	bool too_big;
};

static size_t sbuf_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct sbuf *b = arg;
	size_t n = size * nmemb;
	int rc = secbuf_append(&b->buf, data, n, ENTRA_BODY_MAX);

	b->too_big = rc == 1;
	return rc == 0 ? n : 0;
}

static bool bad_field(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* One token request: what it holds between its attempts. */
struct request {
	CURL *h;
	char *url, *tenant, *form;
	size_t form_len;
	struct curl_slist *headers;
	struct sbuf body;
	char errbuf[CURL_ERROR_SIZE];
};

/* Set up q->h (created by the caller) for the request. Returns 0, or -1
 * with the summary saying why. */
static int request_build(struct request *q, const struct entra_request *rq,
			 const struct net_opts *net, struct entra_result *res)
{
	struct err e = {{0}};
	size_t alen, ulen;

	if (net_setup(q->h, net, NET_HTTPS, &e) != 0) {
		err_fmt(res->summary, sizeof(res->summary), "token request: %s",
			e.msg);
		return -1;
	}
	/* {authority}/{tenant}/oauth2/v2.0/token, the tenant escaped so that
	 * it cannot change the path. */
	alen = strlen(rq->authority_url);
	while (alen > 0 && rq->authority_url[alen - 1] == '/')
		alen--;
	if ((q->tenant = curl_easy_escape(q->h, rq->tenant, 0)) == NULL ||
	    (q->url = malloc((ulen = alen + strlen(q->tenant) + 32))) == NULL)
		goto oom;
	snprintf(q->url, ulen, "%.*s/%s/oauth2/v2.0/token", (int)alen,
		 rq->authority_url, q->tenant);
	if ((q->form = entra_form(rq, &q->form_len)) == NULL ||
	    (q->headers =
		 curl_slist_append(NULL, "Accept: application/json")) == NULL)
		goto oom;

	if (curl_easy_setopt(q->h, CURLOPT_URL, q->url) != CURLE_OK ||
	    curl_easy_setopt(q->h, CURLOPT_POSTFIELDS, q->form) != CURLE_OK ||
	    curl_easy_setopt(q->h, CURLOPT_POSTFIELDSIZE, (long)q->form_len) !=
		CURLE_OK ||
	    curl_easy_setopt(q->h, CURLOPT_HTTPHEADER, q->headers) !=
		CURLE_OK ||
	    curl_easy_setopt(q->h, CURLOPT_USERAGENT,
			     "secretwatch/" SW_VERSION) != CURLE_OK ||
	    curl_easy_setopt(q->h, CURLOPT_WRITEFUNCTION, sbuf_write) !=
		CURLE_OK ||
	    curl_easy_setopt(q->h, CURLOPT_WRITEDATA, &q->body) != CURLE_OK ||
	    curl_easy_setopt(q->h, CURLOPT_ERRORBUFFER, q->errbuf) !=
		CURLE_OK) {
		err_fmt(res->summary, sizeof(res->summary),
			"token request: libcurl refused an option");
		return -1;
	}
	return 0;
oom:
	err_fmt(res->summary, sizeof(res->summary),
		"token request: out of memory");
	return -1;
}

/* One attempt, given timeout_ms for the whole transfer. Returns 0 with
 * the token, or -1 with res saying why. */
static int request_once(struct request *q, int attempt, long timeout_ms,
			int64_t now, struct entra_result *res,
			struct entra_token *ret_token)
{
	CURLcode rc;
	long status = 0;
	curl_off_t ra = 0;

	secbuf_free(&q->body.buf);
	q->errbuf[0] = '\0';
	rc = curl_easy_setopt(q->h, CURLOPT_TIMEOUT_MS, timeout_ms);
	if (rc == CURLE_OK)
		rc = curl_easy_perform(q->h);
	res->attempts = attempt;
	res->curl_code = (int)rc;
	res->fail = net_fail_of(rc);
	if (rc != CURLE_OK) {
		entra_result_reset(res);
		res->retry_after_s = 0;
		copy_str(res->curl_error, sizeof(res->curl_error),
			 q->errbuf[0] ? q->errbuf : curl_easy_strerror(rc));
		if (rc == CURLE_WRITE_ERROR && q->body.too_big)
			err_fmt(res->curl_error, sizeof(res->curl_error),
				"reply larger than %d bytes", ENTRA_BODY_MAX);
		res->transient = net_fail_transient(res->fail);
		err_fmt(res->summary, sizeof(res->summary),
			"token endpoint not reached: %s (curl %d)",
			res->curl_error, (int)rc);
		return -1;
	}
	res->curl_error[0] = '\0';
	curl_easy_getinfo(q->h, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(q->h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK ||
	    ra < 0)
		ra = 0;
	res->retry_after_s = ra > 86400 ? 86400 : (long)ra;
	return entra_parse_response(status, q->body.buf.p, q->body.buf.len, now,
				    res, ret_token);
}

/* A deadline that ended the attempts: res says so, in whole seconds. */
static void out_of_time(const struct entra_retry *rp, struct entra_result *res)
{
	char tmp[ENTRA_SUMMARY_MAX];

	res->deadline = true;
	res->transient = true;
	snprintf(tmp, sizeof(tmp), "%s",
		 res->attempts > 0 ? res->summary : "no request made");
	err_fmt(res->summary, sizeof(res->summary),
		"no answer from the token endpoint within %ld s (%d attempt%s; "
		"last: %s)",
		(rp->deadline_ms + 999) / 1000, res->attempts,
		res->attempts == 1 ? "" : "s", tmp);
}

/* Attempts until one passes, a failure is not transient, or the retry
 * policy rp (its deadline included) runs out. Returns 0 with the token,
 * or -1. */
static int request_retry(struct request *q, const struct net_opts *net,
			 const struct entra_retry *rp, int64_t now,
			 struct entra_result *res,
			 struct entra_token *ret_token)
{
	int max_attempts = rp->max_attempts > 0 ? rp->max_attempts : 1;
	int64_t start = entra_mono_ms();
	char tmp[ENTRA_SUMMARY_MAX];
	long wait, timeout;

	for (int attempt = 1;; attempt++) {
		if ((timeout = entra_retry_timeout_ms(net, rp, start)) == 0) {
			out_of_time(rp, res);
			return -1;
		}
		if (request_once(q, attempt, timeout, now, res, ret_token) == 0)
			return 0;
		if (res->fail == NET_TIMEOUT &&
		    entra_retry_timeout_ms(net, rp, start) <=
			ENTRA_DEADLINE_SLACK_MS) {
			out_of_time(rp, res);
			return -1;
		}
		if (!res->transient || attempt >= max_attempts)
			break;
		wait = entra_retry_wait_ms(rp, attempt, res->retry_after_s);
		if (res->waited_ms + wait > rp->max_total_ms ||
		    (rp->deadline_ms > 0 &&
		     entra_mono_ms() - start + wait >= rp->deadline_ms))
			break;
		if (entra_retry_sleep(rp, wait) != 0)
			break;
		res->waited_ms += wait;
	}
	if (res->attempts > 1) {
		snprintf(tmp, sizeof(tmp), "%s", res->summary);
		err_fmt(res->summary, sizeof(res->summary),
			"after %d attempts: %s", res->attempts, tmp);
	}
	return -1;
}

/* Free what q holds, and redact the secret from what res shows. */
static void request_free(struct request *q, const struct entra_request *rq,
			 struct entra_result *res)
{
	const struct entra_secret *sec = rq->secret;

	if (sec != NULL) {
		text_redact(res->summary, sizeof(res->summary), sec->value,
			    sec->len);
		text_redact(res->error_description,
			    sizeof(res->error_description), sec->value,
			    sec->len);
		text_redact(res->curl_error, sizeof(res->curl_error),
			    sec->value, sec->len);
	}
	secbuf_free(&q->body.buf);
	entra_form_free(q->form, q->form_len);
	curl_slist_free_all(q->headers);
	curl_free(q->tenant);
	free(q->url);
	curl_easy_cleanup(q->h);
}

int entra_request_token(const struct entra_request *rq,
			const struct net_opts *net,
			const struct entra_retry *retry, int64_t now,
			struct entra_result *res, struct entra_token *ret_token)
{
	static const struct entra_retry defaults = ENTRA_RETRY_DEFAULT;
	struct request q = {0};
	struct err e = {{0}};
	int ret = -1;

	memset(res, 0, sizeof(*res));
	memset(ret_token, 0, sizeof(*ret_token));

	if (rq == NULL || bad_field(rq->authority_url) ||
	    bad_field(rq->tenant) || bad_field(rq->client_id) ||
	    bad_field(rq->scope)) {
		err_fmt(res->summary, sizeof(res->summary),
			"token request: authority, tenant, client ID and "
			"scope are all required");
		return -1;
	}
	/* Every caller gets libcurl's wiping allocator (net.c). */
	if (net_global_init(&e) != 0) {
		err_fmt(res->summary, sizeof(res->summary), "token request: %s",
			e.msg);
		return -1;
	}
	if ((q.h = curl_easy_init()) == NULL) {
		err_fmt(res->summary, sizeof(res->summary),
			"token request: cannot create a curl handle");
		return -1;
	}
	if (request_build(&q, rq, net, res) == 0)
		ret = request_retry(&q, net, retry != NULL ? retry : &defaults,
				    now, res, ret_token);
	request_free(&q, rq, res);
	return ret;
}
