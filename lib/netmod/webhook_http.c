/* webhook_http.c - the webhook POST and the heartbeat GET (libcurl): the
 * transport half of alert_webhook.c, in the network module. */
#include <cJSON.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "curl_impl.h"
#include "timefmt.h"
#include "validate.h"

#define REPLY_KEEP 160 /* bytes of a refusal's body kept for the message */
/* "https://host:port" of url: no user info, path, query or fragment. */
static void url_origin(const char *url, char *out, size_t size)
{
	const char *sep = strstr(url, "://"), *host, *end, *at;

	if (sep == NULL) {
		snprintf(out, size, "(a URL without a scheme)");
		return;
	}
	host = sep + 3;
	end = host + strcspn(host, "/?#");
	for (at = end; at > host && at[-1] != '@'; at--)
		;
	if (at > host)
		host = at;
	snprintf(out, size, "%.*s://%.*s", (int)(sep - url), url,
		 (int)(end - host), host);
}

struct reply {
	char text[REPLY_KEEP + 1];
	size_t len;
};

/* Keep the start of the reply body for a refusal's message; drop the
 * rest. */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;

	for (size_t i = 0; i < n && r->len < REPLY_KEEP; i++) {
		unsigned char ch = (unsigned char)data[i];

		r->text[r->len++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	r->text[r->len] = '\0';
	return n;
}

/* The caller's CA file; our own, shorter time limits, so that a hanging
 * receiver cannot hold up the cycle. */
static void limits(const struct net_opts *caller, struct net_opts *net)
{
	if (caller != NULL)
		*net = *caller;
	if (net->connect_timeout_s <= 0 ||
	    net->connect_timeout_s > ALERT_WEBHOOK_CONNECT_TIMEOUT_S)
		net->connect_timeout_s = ALERT_WEBHOOK_CONNECT_TIMEOUT_S;
	if (net->timeout_s <= 0 || net->timeout_s > ALERT_WEBHOOK_TIMEOUT_S)
		net->timeout_s = ALERT_WEBHOOK_TIMEOUT_S;
}

/* The POST of body to url, or a GET when body is NULL. Returns 0, or
 * -1 when libcurl refused. */
static int set_options(CURL *h, const char *url, struct curl_slist *hdrs,
		       const char *body, struct reply *reply, char *errbuf)
{
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "secretwatch/" SW_VERSION) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, reply) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
		return -1;
	/* Plain http:// only passed validate_hook_url for loopback. */
	if (strncmp(url, "http://", 7) == 0 &&
	    (curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http") != CURLE_OK ||
	     curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http") !=
		 CURLE_OK))
		return -1;
	if (body == NULL)
		return curl_easy_setopt(h, CURLOPT_HTTPGET, 1L) == CURLE_OK
			   ? 0
			   : -1;
	if (curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			     (curl_off_t)strlen(body)) != CURLE_OK)
		return -1;
	return 0;
}

/* Why the request did not get an answer. */
static void perform_failed(CURLcode rc, const char *url, const char *what,
			   const char *origin, const char *errbuf,
			   struct err *e)
{
	/* curl's error text may quote the URL; say it our way. */
	const char *why = curl_easy_strerror(rc);

	if (errbuf[0] != '\0' && strstr(errbuf, url) == NULL)
		why = errbuf;
	err_set(e, "%s %s: %s (curl %d)%s", what, origin, why, (int)rc,
		net_fail_tls(net_fail_of(rc)) ? "; check the server's "
						"certificate and [tls] ca_file"
					      : "");
}

/* Whether the receiver took it (HTTP 2xx). Returns 0, or -1 with e. */
static int accepted(CURL *h, const struct reply *reply, const char *what,
		    const char *origin, struct err *e)
{
	long status = 0;
	char *rtext;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status <= 299)
		return 0;
	rtext = alert_oneline(reply->text);
	err_set(e, "%s %s: answered HTTP %ld%s%s", what, origin, status,
		rtext != NULL && rtext[0] ? ": " : "",
		rtext != NULL ? rtext : "");
	free(rtext);
	return -1;
}

/* One request to url (what names it in messages): a POST of body as
 * JSON, or a GET when body is NULL. Returns 0 when answered 2xx, -1 with
 * e. */
static int http_call(const char *url, const char *body, const char *what,
		     const struct net_opts *caller, struct err *e)
{
	char errbuf[CURL_ERROR_SIZE], origin[256];
	struct curl_slist *hdrs = NULL;
	struct net_opts net = {0};
	struct reply reply = {.len = 0};
	struct err ne = {{0}};
	CURLcode rc;
	CURL *h = NULL;
	int ret = -1;

	url_origin(url, origin, sizeof(origin));
	if (validate_hook_url(url, CONFIG_URL_MAX, what, e))
		return -1;
	if (net_global_init(&ne) != 0) {
		err_set(e, "%s: %s", what, ne.msg);
		return -1;
	}
	limits(caller, &net);
	if ((h = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(
		 NULL, "Content-Type: application/json")) == NULL) {
		err_set(e, "%s: cannot create a curl handle", what);
		goto out;
	}
	if (net_setup(h, &net, NET_HTTPS, &ne) != 0) {
		err_set(e, "%s %s: %s", what, origin, ne.msg);
		goto out;
	}
	errbuf[0] = '\0';
	if (set_options(h, url, hdrs, body, &reply, errbuf) != 0) {
		err_set(e, "%s %s: libcurl refused an option", what, origin);
		goto out;
	}
	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		perform_failed(rc, url, what, origin, errbuf, e);
		goto out;
	}
	ret = accepted(h, &reply, what, origin, e);
out:
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	return ret;
}

int alert_webhook_send(const struct alert *a, const struct alert_ctx *ctx,
		       struct err *e)
{
	const struct config_webhook *wh;
	char *body;
	int ret;

	if (ctx == NULL || ctx->cfg == NULL || ctx->instance < 0 ||
	    ctx->instance >= ctx->cfg->nwebhooks) {
		err_set(e,
			"webhook: no such webhook_url in [alerts] (%d "
			"configured)",
			ctx != NULL && ctx->cfg != NULL ? ctx->cfg->nwebhooks
							: 0);
		return -1;
	}
	wh = &ctx->cfg->webhooks[ctx->instance];
	if ((body = alert_webhook_payload(a, wh->format)) == NULL) {
		err_set(e, "webhook: out of memory");
		return -1;
	}
	ret = http_call(wh->url, body, "webhook", ctx->net, e);
	free(body);
	return ret;
}

int alert_heartbeat_send(const char *url, bool failed,
			 const struct net_opts *net, struct err *e)
{
	size_t path = strcspn(url, "?");
	char *full = NULL;
	int ret;

	if (!failed)
		return http_call(url, NULL, "heartbeat", net, e);
	/* url + "/fail", before the query; no doubled slash */
	if (asprintf(&full, "%.*s%s%s", (int)path, url,
		     path > 0 && url[path - 1] == '/' ? "fail" : "/fail",
		     url + path) < 0) {
		err_set(e, "heartbeat: out of memory");
		return -1;
	}
	ret = http_call(full, NULL, "heartbeat", net, e);
	free(full);
	return ret;
}
