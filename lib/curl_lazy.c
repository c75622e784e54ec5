/* curl_lazy.c - libcurl, loaded on first use.
 *
 * Debian's libcurl4 pulls in LDAP, GnuTLS, Kerberos and p11-kit, whose
 * loading and initialisers cost about 10 ms per process. Most secretwatch
 * commands (status, list, log, token from the cache) never touch the
 * network, so instead of linking libcurl, this file defines the few
 * curl_* functions the project calls and forwards them to libcurl.so.4,
 * opened with dlopen() the first time one is called. The rest of the code
 * uses the ordinary libcurl API. */
/* The definitions below must not be hidden by the type-checking macros. */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

#define LIBCURL "libcurl.so.4"

static struct {
	CURLcode (*global_init_mem)(long, curl_malloc_callback,
				    curl_free_callback, curl_realloc_callback,
				    curl_strdup_callback, curl_calloc_callback);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} fn;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

#define BIND(field, name)                                                   \
	do {                                                                \
		*(void **)&fn.field = dlsym(h, name);                       \
		if (fn.field == NULL)                                       \
			return;                                             \
	} while (0)

static void load(void)
{
	void *h = dlopen(LIBCURL, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		return;
	BIND(global_init_mem, "curl_global_init_mem");
	BIND(easy_init, "curl_easy_init");
	BIND(easy_setopt, "curl_easy_setopt");
	BIND(easy_perform, "curl_easy_perform");
	BIND(easy_getinfo, "curl_easy_getinfo");
	BIND(easy_cleanup, "curl_easy_cleanup");
	BIND(easy_strerror, "curl_easy_strerror");
	BIND(easy_escape, "curl_easy_escape");
	BIND(free, "curl_free");
	BIND(slist_append, "curl_slist_append");
	BIND(slist_free_all, "curl_slist_free_all");
	loaded = 1;
}

static int ready(void)
{
	pthread_once(&once, load);
	return loaded;
}

CURLcode curl_global_init_mem(long flags, curl_malloc_callback m,
			      curl_free_callback f, curl_realloc_callback r,
			      curl_strdup_callback s, curl_calloc_callback c)
{
	return ready() ? fn.global_init_mem(flags, m, f, r, s, c)
		       : CURLE_FAILED_INIT;
}

CURL *curl_easy_init(void)
{
	return ready() ? fn.easy_init() : NULL;
}

/* Every option value the project passes (long, pointer, curl_off_t,
 * function pointer) travels in one 64-bit integer register on the
 * platforms Debian builds this for, so it is forwarded as a pointer. */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, opt);
	arg = va_arg(ap, void *);
	va_end(ap);
	return ready() ? fn.easy_setopt(h, opt, arg) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, info);
	arg = va_arg(ap, void *);
	va_end(ap);
	return ready() ? fn.easy_getinfo(h, info, arg) : CURLE_FAILED_INIT;
}

CURLcode curl_easy_perform(CURL *h)
{
	return ready() ? fn.easy_perform(h) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL *h)
{
	if (ready())
		fn.easy_cleanup(h);
}

const char *curl_easy_strerror(CURLcode code)
{
	return ready() ? fn.easy_strerror(code)
		       : "libcurl (" LIBCURL ") could not be loaded: install "
			 "the libcurl4 package";
}

char *curl_easy_escape(CURL *h, const char *s, int len)
{
	return ready() ? fn.easy_escape(h, s, len) : NULL;
}

void curl_free(void *p)
{
	if (ready())
		fn.free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
	return ready() ? fn.slist_append(l, s) : NULL;
}

void curl_slist_free_all(struct curl_slist *l)
{
	if (ready())
		fn.slist_free_all(l);
}
