/* smtp_curl.c - the XOAUTH2 test send over SMTP with STARTTLS (libcurl): the
 * transport half of smtp.h, in the network module. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "curl_impl.h"
#include "mail.h"
#include "secmem.h"
#include "smtp.h"
#include "text.h"
#include "timefmt.h"

struct readbuf {
	const char *p;
	size_t len;
	size_t off;
};

static size_t read_cb(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct readbuf *rb = arg;
	size_t n = size * nmemb;

	if (n > rb->len - rb->off)
		n = rb->len - rb->off;
	memcpy(dst, rb->p + rb->off, n);
	rb->off += n;
	return n;
}

static size_t header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	size_t n = size * nmemb;

	smtp_result_feed(arg, data, n);
	return n;
}

/* Work out where a failed send stopped, whether it may pass later, and
 * the one-line summary. */
static void finish(struct smtp_result *r, CURLcode rc, const char *errbuf)
{
	bool negative = r->last.code >= 400;

	r->curl_code = (int)rc;
	r->fail = net_fail_of(rc);
	if (rc != CURLE_OK) {
		const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);

		text_copy(r->curl_error, sizeof(r->curl_error), why,
			  strlen(why), '?');
	}
	if (rc == CURLE_OK && r->stage == SMTP_STAGE_END_OF_DATA &&
	    r->last.code == 250) {
		r->ok = true;
		err_fmt(r->summary, sizeof(r->summary), "accepted: %s",
			r->last.line);
		return;
	}
	if (negative) {
		r->transient = r->last.code < 500;
		err_fmt(r->summary, sizeof(r->summary), "refused at %s: %s",
			smtp_stage_name(r->stage), r->last.line);
		return;
	}
	/* No negative reply: the failure lies after the last reply. */
	if (r->n_replies == 0)
		r->stage = SMTP_STAGE_CONNECT;
	else if (rc == CURLE_USE_SSL_FAILED && !r->tls)
		r->stage = SMTP_STAGE_STARTTLS;
	else if (net_fail_tls(r->fail) && r->tls &&
		 r->stage == SMTP_STAGE_STARTTLS)
		r->stage = SMTP_STAGE_TLS;
	else if (r->expect_ != SMTP_STAGE_QUIT)
		r->stage = r->expect_;
	r->transient = net_fail_transient(r->fail);
	if (rc == CURLE_USE_SSL_FAILED && !r->starttls_offered &&
	    r->n_replies > 0)
		err_fmt(r->summary, sizeof(r->summary),
			"the server did not offer STARTTLS; refusing to "
			"authenticate without TLS (curl %d)",
			(int)rc);
	else if (rc == CURLE_LOGIN_DENIED && r->challenged)
		err_fmt(r->summary, sizeof(r->summary),
			"refused at auth: the server offered XOAUTH2 and "
			"refused the token (status %s, schemes %s, scope %s)",
			r->challenge.status,
			r->challenge.schemes[0] ? r->challenge.schemes : "-",
			r->challenge.scope[0] ? r->challenge.scope : "-");
	else if (rc == CURLE_LOGIN_DENIED && !r->xoauth2_offered)
		err_fmt(r->summary, sizeof(r->summary),
			"the server did not offer AUTH XOAUTH2 after "
			"STARTTLS (its EHLO listed: %s)",
			r->auth_offered ? r->auth_mechs : "no AUTH");
	else if (rc != CURLE_OK)
		err_fmt(r->summary, sizeof(r->summary),
			"failed at %s: %s (curl %d)", smtp_stage_name(r->stage),
			r->curl_error, (int)rc);
	else
		err_fmt(r->summary, sizeof(r->summary),
			"no acceptance from the server after %s: %s",
			smtp_stage_name(r->stage),
			r->last.line[0] ? r->last.line : "no reply");
}

static void refuse(struct smtp_result *r, const char *why)
{
	smtp_result_refuse(r, why);
}

/* The send's own settings, checked before connecting. Returns 0, or -1
 * with res refused. */
static int check_send(const struct smtp_send *s, struct smtp_result *res)
{
	const char *why = NULL;

	if (s == NULL || s->url == NULL ||
	    strncasecmp(s->url, "smtp://", 7) != 0)
		why = "the SMTP URL must be smtp://HOST:PORT (STARTTLS is "
		      "always used)";
	else if (s->sender == NULL || s->sender[0] == '\0')
		why = "no sender mailbox: without a user name libcurl would "
		      "skip AUTH and the server answers 530 5.7.57";
	else if (!mail_addr_ok(s->sender) || !mail_addr_ok(s->rcpt))
		why = "the sender or recipient is not a plain address "
		      "(local@domain)";
	else if (s->token == NULL || s->token[0] == '\0')
		why = "no access token";
	else if (s->message == NULL || s->message_len == 0)
		why = "no message";
	if (why == NULL)
		return 0;
	refuse(res, why);
	return -1;
}

/* smtp://HOST:PORT/EHLO-NAME: libcurl takes the EHLO name from the path.
 * Returns 0, or -1 with res refused. */
static int build_url(const struct smtp_send *s, char *url, size_t size,
		     struct smtp_result *res)
{
	const char *host = s->url + 7, *slash = strchr(host, '/');
	size_t hostlen = slash != NULL ? (size_t)(slash - host) : strlen(host);
	char ehlo[256];

	mail_host_name(s->ehlo_name, ehlo, sizeof(ehlo));
	if (!mail_hostname_ok(ehlo))
		snprintf(ehlo, sizeof(ehlo), "localhost");
	if (hostlen == 0 || snprintf(url, size, "smtp://%.*s/%s", (int)hostlen,
				     host, ehlo) >= (int)size) {
		refuse(res, "the SMTP URL has no host or is too long");
		return -1;
	}
	return 0;
}

/* Everything the transfer needs on h. Returns 0, or -1 when libcurl
 * refused an option. */
static int set_options(CURL *h, const struct smtp_send *s, const char *url,
		       const char *from, struct curl_slist *rcpts,
		       struct readbuf *rb, struct smtp_result *res,
		       char *errbuf)
{
	long timeout = s->response_timeout_s > 0
			   ? s->response_timeout_s
			   : SMTP_RESPONSE_TIMEOUT_DEFAULT;

	/* CURLOPT_HTTPAUTH stays at its default: with CURLAUTH_BEARER in it,
	 * 7.88 merges AUTH=XOAUTH2 with it (curl#10259). */
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERNAME, s->sender) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, s->token) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_LOGIN_OPTIONS, "AUTH=XOAUTH2") !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAIL_FROM, from) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_READDATA, rb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE,
			     (curl_off_t)s->message_len) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HEADERDATA, res) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout) !=
		CURLE_OK ||
	    (s->timeout_ms > 0 &&
	     curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms) !=
		 CURLE_OK) ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
		return -1;
	return 0;
}

int smtp_send_message(const struct smtp_send *s, const struct net_opts *net,
		      struct smtp_result *res)
{
	char errbuf[CURL_ERROR_SIZE];
	char url[1024], from[330], to[330];
	struct curl_slist *rcpts = NULL;
	struct readbuf rb = {0};
	struct err e = {{0}};
	CURL *h = NULL;
	CURLcode rc;
	int ret = -1;

	smtp_result_init(res);
	if (check_send(s, res) != 0 || build_url(s, url, sizeof(url), res) != 0)
		return -1;
	snprintf(from, sizeof(from), "<%s>", s->sender);
	snprintf(to, sizeof(to), "<%s>", s->rcpt);

	if ((h = curl_easy_init()) == NULL) {
		refuse(res, "cannot create a curl handle");
		return -1;
	}
	if (net_setup(h, net, NET_SMTP, &e) != 0) {
		refuse(res, e.msg);
		goto out;
	}
	if ((rcpts = curl_slist_append(NULL, to)) == NULL) {
		refuse(res, "out of memory");
		goto out;
	}
	rb.p = s->message;
	rb.len = s->message_len;
	errbuf[0] = '\0';
	if (set_options(h, s, url, from, rcpts, &rb, res, errbuf) != 0) {
		refuse(res, "libcurl refused an SMTP option");
		goto out;
	}

	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &res->response_code);
	finish(res, rc, errbuf);
	if (res->ok)
		ret = 0;
out:
	curl_slist_free_all(rcpts);
	if (h != NULL)
		curl_easy_cleanup(h);
	return ret;
}
