/* The webhook channel: an HTTPS POST of the alert as JSON, with a "text"
 * field that Slack and Teams incoming webhooks show as the message.
 *
 * A webhook URL often is a credential itself (Slack's and Teams' carry
 * their secret in the path), so messages name only its scheme and host.
 */
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <curl/curl.h>

#include "alert_impl.h"
#include "timefmt.h"

#define REPLY_KEEP 160 /* bytes of a refusal's body kept for the message */

bool alert_webhook_configured(const struct config *cfg)
{
	return cfg->webhook_url[0] != '\0';
}

char *alert_webhook_body(const struct alert *a)
{
	char summary[ALERT_SUMMARY_MAX], expires[TIMEFMT_RFC3339_LEN];
	char *oneline = NULL, *text = NULL, *out = NULL;
	cJSON *o = NULL;

	if (a == NULL || (o = cJSON_CreateObject()) == NULL)
		return NULL;
	alert_summary(a, summary, sizeof(summary));
	timefmt_rfc3339(a->expires_at, expires);
	if ((oneline = alert_oneline(a->message)) == NULL ||
	    asprintf(&text, "[secretwatch] %s%s%s", summary,
		     oneline[0] ? ". " : "", oneline) < 0) {
		text = NULL;
		goto out;
	}
	if (cJSON_AddStringToObject(o, "event", alert_event_name(a->event)) ==
		    NULL ||
	    cJSON_AddStringToObject(o, "credential",
				    alert_str(a->credential)) == NULL ||
	    cJSON_AddStringToObject(o, "hint", alert_str(a->hint)) == NULL ||
	    cJSON_AddStringToObject(o, "key_id", alert_str(a->key_id)) ==
		NULL ||
	    cJSON_AddStringToObject(o, "expires_at", expires) == NULL ||
	    cJSON_AddNumberToObject(o, "days_left", (double)a->days_left) ==
		NULL ||
	    cJSON_AddStringToObject(o, "level", alert_str(a->level)) == NULL ||
	    cJSON_AddStringToObject(o, "message", alert_str(a->message)) ==
		NULL ||
	    cJSON_AddStringToObject(o, "text", text) == NULL)
		goto out;
	out = cJSON_PrintUnformatted(o);
out:
	cJSON_Delete(o);
	free(oneline);
	free(text);
	return out;
}

#ifndef SW_NET_LAZY /* else in libsecretwatch-net.so: netmod.h */
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

/* The POST of body to url. Returns 0, or -1 when libcurl refused. */
static int set_options(CURL *h, const char *url, struct curl_slist *hdrs,
		       const char *body, struct reply *reply, char *errbuf)
{
	if (curl_easy_setopt(h, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			     (curl_off_t)strlen(body)) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_USERAGENT, "secretwatch/" SW_VERSION) !=
		CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_WRITEDATA, reply) != CURLE_OK ||
	    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK)
		return -1;
	return 0;
}

/* Why the request did not get an answer. */
static void perform_failed(CURLcode rc, const char *url, const char *origin,
			   const char *errbuf, struct err *e)
{
	/* curl's error text may quote the URL; say it our way. */
	const char *why = curl_easy_strerror(rc);

	if (errbuf[0] != '\0' && strstr(errbuf, url) == NULL)
		why = errbuf;
	err_set(e, "webhook %s: %s (curl %d)%s", origin, why, (int)rc,
		net_fail_tls(net_fail_of(rc)) ? "; check the server's "
						"certificate and [tls] ca_file"
					      : "");
}

/* Whether the receiver took it (HTTP 2xx). Returns 0, or -1 with e. */
static int accepted(CURL *h, const struct reply *reply, const char *origin,
		    struct err *e)
{
	long status = 0;
	char *rtext;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status <= 299)
		return 0;
	rtext = alert_oneline(reply->text);
	err_set(e, "webhook %s: answered HTTP %ld%s%s", origin, status,
		rtext != NULL && rtext[0] ? ": " : "",
		rtext != NULL ? rtext : "");
	free(rtext);
	return -1;
}

int alert_webhook_send(const struct alert *a, const struct alert_ctx *ctx,
		       struct err *e)
{
	char errbuf[CURL_ERROR_SIZE], origin[256];
	struct curl_slist *hdrs = NULL;
	struct net_opts net = {0};
	struct reply reply = {.len = 0};
	struct err ne = {{0}};
	char *body = NULL;
	const char *url;
	CURLcode rc;
	CURL *h = NULL;
	int ret = -1;

	if (ctx == NULL || ctx->cfg == NULL ||
	    !alert_webhook_configured(ctx->cfg)) {
		err_set(e, "webhook: no URL ([alerts] webhook_url)");
		return -1;
	}
	url = ctx->cfg->webhook_url;
	url_origin(url, origin, sizeof(origin));
	if (net_global_init(&ne) != 0) {
		err_set(e, "webhook: %s", ne.msg);
		return -1;
	}
	if (strncmp(url, "https://", 8) != 0) {
		err_set(e, "webhook: the URL must start with https://");
		return -1;
	}

	limits(ctx->net, &net);
	if ((body = alert_webhook_body(a)) == NULL) {
		err_set(e, "webhook: out of memory");
		return -1;
	}
	if ((h = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(
		 NULL, "Content-Type: application/json")) == NULL) {
		err_set(e, "webhook: cannot create a curl handle");
		goto out;
	}
	if (net_setup(h, &net, NET_HTTPS, &ne) != 0) {
		err_set(e, "webhook %s: %s", origin, ne.msg);
		goto out;
	}
	errbuf[0] = '\0';
	if (set_options(h, url, hdrs, body, &reply, errbuf) != 0) {
		err_set(e, "webhook %s: libcurl refused an option", origin);
		goto out;
	}

	rc = curl_easy_perform(h);
	if (rc != CURLE_OK) {
		perform_failed(rc, url, origin, errbuf, e);
		goto out;
	}
	ret = accepted(h, &reply, origin, e);
out:
	curl_slist_free_all(hdrs);
	if (h != NULL)
		curl_easy_cleanup(h);
	free(body);
	return ret;
}
#endif /* SW_NET_LAZY */
