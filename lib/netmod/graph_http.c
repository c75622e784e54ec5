/* graph_http.c - one Graph request over HTTPS (libcurl) with bounded retries
 * on 429 and 503: the transport half of graph.h, in the network module. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cloud.h"
#include "curl_impl.h"
#include "graph.h"
#include "secmem.h"
#include "text.h"
#include "timefmt.h"
#include "validate.h"

static void copy_str(char *dst, size_t dstsz, const char *src)
{
	text_oneline(dst, dstsz, src, src != NULL ? strlen(src) : 0);
}

/* The process's Graph requests share one connection pool (and TLS
 * sessions and DNS): a sweep's owner reads, hundreds of them, go over one
 * kept-alive connection instead of a handshake each. Requests of one
 * process only, each with its own token header; locked, since health
 * checks run in threads. Kept until the process exits. */
static pthread_once_t share_once = PTHREAD_ONCE_INIT;
/* One lock per kind of data: libcurl may hold one while taking another. */
static pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];
static CURLSH *share;

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *arg)
{
	(void)h, (void)a, (void)arg;
	pthread_mutex_lock(&share_mu[(unsigned)d % CURL_LOCK_DATA_LAST]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *arg)
{
	(void)h, (void)arg;
	pthread_mutex_unlock(&share_mu[(unsigned)d % CURL_LOCK_DATA_LAST]);
}

static void share_init(void)
{
	CURLSH *s;

	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&share_mu[i], NULL);
	if ((s = curl_share_init()) == NULL)
		return;
	if (curl_share_setopt(s, CURLSHOPT_LOCKFUNC, share_lock) != 0 ||
	    curl_share_setopt(s, CURLSHOPT_UNLOCKFUNC, share_unlock) != 0 ||
	    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
		0 ||
	    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) !=
		0 ||
	    curl_share_setopt(s, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != 0) {
		curl_share_cleanup(s);
		return;
	}
	share = s;
}

/* The shared pool for h (without it, each request connects anew). */
static void share_with(CURL *h)
{
	pthread_once(&share_once, share_init);
	if (share != NULL)
		curl_easy_setopt(h, CURLOPT_SHARE, share);
}

struct xfer {
	struct secbuf *body;
	size_t max;
	bool too_big;
	double throttle_pct;
};

static size_t body_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	int rc = secbuf_append(x->body, data, n, x->max);

	x->too_big = rc == 1;
	return rc == 0 ? n : 0;
}

/* Graph's nearness to throttling: x-ms-throttle-limit-percentage. */
static size_t header_read(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char name[] = "x-ms-throttle-limit-percentage:";
	struct xfer *x = arg;
	size_t n = size * nmemb;
	char v[32];

	if (n > sizeof(name) - 1 && n < sizeof(name) + sizeof(v) - 1 &&
	    strncasecmp(data, name, sizeof(name) - 1) == 0) {
		snprintf(v, sizeof(v), "%.*s", (int)(n - sizeof(name) + 1),
			 data + sizeof(name) - 1);
		x->throttle_pct = strtod(v, NULL);
	}
	return n;
}

/* "Authorization: Bearer <token>" in guarded memory, or NULL. */
static char *auth_header(const struct graph_http_req *rq, size_t *ret_size)
{
	static const char pfx[] = "Authorization: Bearer ";
	size_t n = sizeof(pfx) + rq->token_len;
	char *h = secmem_alloc(n);

	if (h == NULL)
		return NULL;
	memcpy(h, pfx, sizeof(pfx) - 1);
	memcpy(h + sizeof(pfx) - 1, rq->token, rq->token_len);
	h[n - 1] = '\0';
	*ret_size = n;
	return h;
}

/* One attempt on the prepared handle. Returns the HTTP status or 0. */
static long attempt_once(CURL *h, struct xfer *x, char *errbuf,
			 struct graph_result *res)
{
	CURLcode rc;
	long status = 0;
	curl_off_t ra = 0;

	secbuf_free(x->body);
	x->too_big = false;
	x->throttle_pct = 0;
	errbuf[0] = '\0';
	rc = curl_easy_perform(h);
	res->curl_code = (int)rc;
	res->fail = net_fail_of(rc);
	res->retry_after_s = 0;
	if (rc != CURLE_OK) {
		copy_str(res->curl_error, sizeof(res->curl_error),
			 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (x->too_big)
			err_fmt(res->curl_error, sizeof(res->curl_error),
				"reply larger than %zu bytes", x->max);
		res->http_status = 0;
		return 0;
	}
	res->curl_error[0] = '\0';
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK ||
	    ra < 0)
		ra = 0;
	res->retry_after_s = ra > 86400 ? 86400 : (long)ra;
	res->throttle_pct = x->throttle_pct;
	res->http_status = status;
	return status;
}

/* Whether the attempt's outcome is worth another: 429 and 503 always
 * (Graph did not act), transport failures only for a GET. */
static bool retry_worth(const struct graph_http_req *rq, long status,
			const struct graph_result *res)
{
	if (status == 429 || status == 503)
		return true;
	return status == 0 && strcmp(rq->method, "GET") == 0 &&
	       net_fail_transient(res->fail);
}

static long attempts(CURL *h, const struct graph_http_req *rq,
		     const struct entra_retry *rp, struct xfer *x, char *errbuf,
		     struct graph_result *res)
{
	int max = rp->max_attempts > 0 ? rp->max_attempts : 1;
	long status = 0, wait;

	for (int n = 1;; n++) {
		status = attempt_once(h, x, errbuf, res);
		res->attempts = n;
		if (!retry_worth(rq, status, res) || n >= max)
			break;
		wait = entra_retry_wait_ms(rp, n, res->retry_after_s);
		if (res->waited_ms + wait > rp->max_total_ms ||
		    entra_retry_sleep(rp, wait) != 0)
			break;
		res->waited_ms += wait;
	}
	return status;
}

static int setup(CURL *h, const struct graph_http_req *rq,
		 struct curl_slist *hdrs, struct xfer *x, char *errbuf)
{
	bool post = strcmp(rq->method, "GET") != 0;

	if (strcmp(rq->method, "PATCH") == 0 &&
	    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH") != CURLE_OK)
		return -1;
	return curl_easy_setopt(h, CURLOPT_URL, rq->url) != CURLE_OK ||
		       curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) !=
			   CURLE_OK ||
		       curl_easy_setopt(h, CURLOPT_USERAGENT,
					"secretwatch/" SW_VERSION) !=
			   CURLE_OK ||
		       (post &&
			(curl_easy_setopt(h, CURLOPT_POSTFIELDS,
					  rq->body != NULL ? rq->body : "") !=
			     CURLE_OK ||
			 curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
					  (long)rq->body_len) != CURLE_OK)) ||
		       curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write) !=
			   CURLE_OK ||
		       curl_easy_setopt(h, CURLOPT_WRITEDATA, x) != CURLE_OK ||
		       curl_easy_setopt(h, CURLOPT_HEADERFUNCTION,
					header_read) != CURLE_OK ||
		       curl_easy_setopt(h, CURLOPT_HEADERDATA, x) != CURLE_OK ||
		       curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) !=
			   CURLE_OK
		   ? -1
		   : 0;
}

long graph_http(const struct graph_http_req *rq, const struct net_opts *net,
		const struct entra_retry *retry, struct graph_result *res,
		struct secbuf *ret_body)
{
	static const struct entra_retry defaults = ENTRA_RETRY_DEFAULT;
	struct xfer x = {
	    ret_body, rq->reply_max ? rq->reply_max : GRAPH_BODY_MAX, false, 0};
	struct curl_slist *hdrs = NULL, *t;
	char errbuf[CURL_ERROR_SIZE];
	char *auth = NULL;
	size_t auth_size = 0;
	struct err e = {{0}};
	CURL *h = NULL;
	long status = -1;

	memset(ret_body, 0, sizeof(*ret_body));
	if ((h = curl_easy_init()) == NULL ||
	    net_setup(h, net, NET_HTTPS, &e) != 0) {
		err_fmt(res->summary, sizeof(res->summary), "Graph: %s",
			e.msg[0] ? e.msg : "cannot create a curl handle");
		goto out;
	}
	if ((auth = auth_header(rq, &auth_size)) == NULL ||
	    (hdrs = curl_slist_append(NULL, auth)) == NULL ||
	    (t = curl_slist_append(hdrs, "Accept: application/json")) == NULL ||
	    (hdrs = t, t = curl_slist_append(
			   hdrs, "Content-Type: application/json")) == NULL) {
		err_fmt(res->summary, sizeof(res->summary),
			"Graph: out of memory");
		goto out;
	}
	hdrs = t;
	share_with(h);
	if (setup(h, rq, hdrs, &x, errbuf) != 0) {
		err_fmt(res->summary, sizeof(res->summary),
			"Graph: libcurl refused an option");
		goto out;
	}
	status =
	    attempts(h, rq, retry != NULL ? retry : &defaults, &x, errbuf, res);
out:
	/* The slist's copy of the header holds the token: wipe it. */
	for (t = hdrs; t != NULL; t = t->next)
		secmem_wipe(t->data, strlen(t->data));
	curl_slist_free_all(hdrs);
	if (auth != NULL) {
		secmem_wipe(auth, auth_size);
		secmem_free(auth);
	}
	curl_easy_cleanup(h);
	return status;
}
