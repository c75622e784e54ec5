/* The webhook channel: an HTTPS POST of the alert to each configured
 * receiver, in its format: the alert as JSON with a "text" field that
 * Slack and Teams incoming webhooks show as the message, Slack's
 * {"text"}, or an Adaptive Card for Teams Workflows. Also the cycle's
 * heartbeat GET, which shares the HTTP call.
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
#include "validate.h"

#define REPLY_KEEP 160 /* bytes of a refusal's body kept for the message */

static char *alert_text(const struct alert *a, bool full);

bool alert_webhook_configured(const struct config *cfg)
{
	return cfg->nwebhooks > 0;
}

int alert_webhook_count(const struct config *cfg)
{
	return cfg->nwebhooks;
}

char *alert_webhook_body(const struct alert *a)
{
	char expires[TIMEFMT_RFC3339_LEN];
	char *text = NULL, *out = NULL;
	cJSON *o = NULL;

	if (a == NULL || (o = cJSON_CreateObject()) == NULL)
		return NULL;
	timefmt_rfc3339(a->expires_at, expires);
	if ((text = alert_text(a, true)) == NULL)
		goto out;
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
	free(text);
	return out;
}

/* "[secretwatch] " + the summary, and + ". " + the message on one line
 * when full. Returns a malloc'd string, or NULL. */
static char *alert_text(const struct alert *a, bool full)
{
	char summary[ALERT_SUMMARY_MAX];
	char *oneline = NULL, *text = NULL;

	alert_summary(a, summary, sizeof(summary));
	if (!full) {
		if (asprintf(&text, "[secretwatch] %s", summary) < 0)
			return NULL;
		return text;
	}
	if ((oneline = alert_oneline(a->message)) == NULL)
		return NULL;
	if (asprintf(&text, "[secretwatch] %s%s%s", summary,
		     oneline[0] ? ". " : "", oneline) < 0)
		text = NULL;
	free(oneline);
	return text;
}

static char *slack_body(const struct alert *a)
{
	cJSON *o = cJSON_CreateObject();
	char *text = alert_text(a, true), *out = NULL;

	if (o != NULL && text != NULL &&
	    cJSON_AddStringToObject(o, "text", text) != NULL)
		out = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	free(text);
	return out;
}

static cJSON *text_block(const char *text, bool title)
{
	cJSON *b = cJSON_CreateObject();

	cJSON_AddStringToObject(b, "type", "TextBlock");
	cJSON_AddStringToObject(b, "text", text);
	cJSON_AddBoolToObject(b, "wrap", 1);
	if (title) {
		cJSON_AddStringToObject(b, "weight", "Bolder");
		cJSON_AddStringToObject(b, "size", "Medium");
	}
	return b;
}

static void fact(cJSON *facts, const char *title, const char *value)
{
	cJSON *f = cJSON_CreateObject();

	cJSON_AddStringToObject(f, "title", title);
	cJSON_AddStringToObject(f, "value", value);
	cJSON_AddItemToArray(facts, f);
}

/* The card's content: title, message and the facts. */
static cJSON *teams_card(const struct alert *a, const char *title)
{
	char expires[TIMEFMT_RFC3339_LEN], days[24];
	cJSON *card = cJSON_CreateObject(), *body, *set, *facts;

	timefmt_rfc3339(a->expires_at, expires);
	snprintf(days, sizeof(days), "%lld", (long long)a->days_left);
	cJSON_AddStringToObject(card, "$schema",
				"http://adaptivecards.io/schemas/"
				"adaptive-card.json");
	cJSON_AddStringToObject(card, "type", "AdaptiveCard");
	cJSON_AddStringToObject(card, "version", "1.4");
	body = cJSON_AddArrayToObject(card, "body");
	cJSON_AddItemToArray(body, text_block(title, true));
	cJSON_AddItemToArray(body, text_block(alert_str(a->message), false));
	set = cJSON_CreateObject();
	cJSON_AddStringToObject(set, "type", "FactSet");
	facts = cJSON_AddArrayToObject(set, "facts");
	fact(facts, "Credential", alert_str(a->credential));
	fact(facts, "Hint", alert_str(a->hint));
	fact(facts, "Key ID", alert_str(a->key_id));
	fact(facts, "Expires", expires);
	fact(facts, "Days left", days);
	fact(facts, "Level", alert_str(a->level));
	cJSON_AddItemToArray(body, set);
	return card;
}

static char *teams_body(const struct alert *a)
{
	char *title = alert_text(a, false), *out = NULL;
	cJSON *msg = cJSON_CreateObject(), *atts, *att;

	if (title == NULL || msg == NULL)
		goto out;
	cJSON_AddStringToObject(msg, "type", "message");
	atts = cJSON_AddArrayToObject(msg, "attachments");
	att = cJSON_CreateObject();
	cJSON_AddItemToArray(atts, att);
	cJSON_AddStringToObject(att, "contentType",
				"application/vnd.microsoft.card.adaptive");
	cJSON_AddNullToObject(att, "contentUrl");
	cJSON_AddItemToObject(att, "content", teams_card(a, title));
	out = cJSON_PrintUnformatted(msg);
out:
	cJSON_Delete(msg);
	free(title);
	return out;
}

char *alert_webhook_payload(const struct alert *a, enum webhook_format f)
{
	if (a == NULL)
		return NULL;
	switch (f) {
	case WEBHOOK_SLACK:
		return slack_body(a);
	case WEBHOOK_TEAMS:
		return teams_body(a);
	case WEBHOOK_JSON:
		break;
	}
	return alert_webhook_body(a);
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
#endif /* SW_NET_LAZY */
