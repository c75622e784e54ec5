/* net_curl.c - libcurl for the whole process: its wiping allocator, its
 * one-time initialisation, and the options every handle gets (net.h). */
#include <curl/curl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "curl_impl.h"
#include "secmem.h"

static pthread_once_t net_once = PTHREAD_ONCE_INIT;
static CURLcode net_curl_rc = CURLE_FAILED_INIT;
static int net_secmem_rc = -1;

/* libcurl's own copies of what it is given (the bearer token, the
 * XOAUTH2 string and its base64, the form body in its upload buffer) are
 * freed without being wiped in 7.88. These allocation functions zero
 * every block before it goes back to the C library. */
static void wipe_free(void *p)
{
	if (p == NULL)
		return;
	secmem_wipe(p, malloc_usable_size(p));
	free(p);
}

static void *wipe_malloc(size_t n)
{
	return malloc(n);
}

static void *wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	if (n == 0)
		n = 1;
	old = malloc_usable_size(p);
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	wipe_free(p);
	return q;
}

static char *wipe_strdup(const char *s)
{
	return strdup(s);
}

static void *wipe_calloc(size_t n, size_t size)
{
	return calloc(n, size);
}

static void net_init_once(void)
{
	net_secmem_rc = secmem_init();
	net_curl_rc =
	    curl_global_init_mem(CURL_GLOBAL_DEFAULT, wipe_malloc, wipe_free,
				 wipe_realloc, wipe_strdup, wipe_calloc);
}

int net_global_init(struct err *e)
{
	pthread_once(&net_once, net_init_once);
	if (net_curl_rc != CURLE_OK) {
		err_set(e, "cannot initialise libcurl: %s",
			curl_easy_strerror(net_curl_rc));
		return -1;
	}
	if (net_secmem_rc < 0) {
		err_set(e, "cannot initialise libsodium");
		return -1;
	}
	return 0;
}

/* libcurl's progress callback, calling the caller's tick; one per
 * protocol, so that the tick knows which transfer waits. */
static int tick_https(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		      curl_off_t un)
{
	const struct net_opts *o = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return o->tick(o->tick_arg, NET_HTTPS);
}

static int tick_smtp(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		     curl_off_t un)
{
	const struct net_opts *o = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return o->tick(o->tick_arg, NET_SMTP);
}

#define NET_SET(h, opt, val)                                                   \
	do {                                                                   \
		CURLcode rc_ = curl_easy_setopt((h), (opt), (val));            \
		if (rc_ != CURLE_OK) {                                         \
			err_set(e, "libcurl refused %s: %s", #opt,             \
				curl_easy_strerror(rc_));                      \
			return -1;                                             \
		}                                                              \
	} while (0)

int net_setup(void *h, const struct net_opts *o, enum net_proto proto,
	      struct err *e)
{
	long connect_timeout = NET_CONNECT_TIMEOUT_DEFAULT;
	long timeout = NET_TIMEOUT_DEFAULT;
	const char *scheme = proto == NET_SMTP ? "smtp" : "https";

	if (h == NULL) {
		err_set(e, "no curl handle");
		return -1;
	}
	if (o != NULL && o->connect_timeout_s > 0)
		connect_timeout = o->connect_timeout_s;
	if (o != NULL && o->timeout_s > 0)
		timeout = o->timeout_s;

	/* Never a trace: libcurl's verbose output carries the XOAUTH2
	 * exchange, and with it the access token. */
	NET_SET(h, CURLOPT_VERBOSE, 0L);
	NET_SET(h, CURLOPT_NOSIGNAL, 1L);
	NET_SET(h, CURLOPT_NOPROGRESS, o == NULL || o->tick == NULL ? 1L : 0L);
	if (o != NULL && o->tick != NULL) {
		NET_SET(h, CURLOPT_XFERINFOFUNCTION,
			proto == NET_SMTP ? tick_smtp : tick_https);
		NET_SET(h, CURLOPT_XFERINFODATA, (void *)o);
	}

	NET_SET(h, CURLOPT_PROTOCOLS_STR, scheme);
	NET_SET(h, CURLOPT_REDIR_PROTOCOLS_STR, scheme);
	NET_SET(h, CURLOPT_FOLLOWLOCATION, 0L);

	NET_SET(h, CURLOPT_SSL_VERIFYPEER, 1L);
	NET_SET(h, CURLOPT_SSL_VERIFYHOST, 2L);
	NET_SET(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (o != NULL && o->ca_file != NULL && o->ca_file[0] != '\0') {
		/* The file replaces the built-in bundle and CA directory, so
		 * that it is the only trust anchor (see net.h). */
		NET_SET(h, CURLOPT_CAINFO, o->ca_file);
		NET_SET(h, CURLOPT_CAPATH, (char *)NULL);
	}

	NET_SET(h, CURLOPT_CONNECTTIMEOUT, connect_timeout);
	NET_SET(h, CURLOPT_TIMEOUT, timeout);
	return 0;
}

enum net_fail net_fail_of(int curl_code)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		return NET_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return NET_RESOLVE;
	case CURLE_COULDNT_CONNECT:
		return NET_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return NET_TIMEOUT;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return NET_BROKEN;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
		return NET_TLS;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
		return NET_TLS_VERIFY;
	case CURLE_USE_SSL_FAILED:
		return NET_STARTTLS_REFUSED;
	case CURLE_LOGIN_DENIED:
		return NET_LOGIN_DENIED;
	case CURLE_UNSUPPORTED_PROTOCOL:
		return NET_PROTOCOL;
	case CURLE_WEIRD_SERVER_REPLY:
		return NET_BAD_REPLY;
	case CURLE_ABORTED_BY_CALLBACK:
		return NET_ABORTED;
	default:
		return NET_OTHER;
	}
}
