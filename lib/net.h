/* net.h - the one place where libcurl handles are configured.
 *
 * Every handle that secretwatch opens goes through net_setup(), so TLS
 * verification, protocol restrictions and timeouts are set the same way for
 * the token endpoint, the SMTP server and Graph. There is deliberately no
 * option that turns certificate or host name verification off.
 */
#ifndef SW_NET_H
#define SW_NET_H

#include <stdbool.h>

#include <curl/curl.h>

#include "err.h"

#define NET_CONNECT_TIMEOUT_DEFAULT 15L
#define NET_TIMEOUT_DEFAULT	    60L

struct net_opts {
	/* NULL or "": the system CA bundle and directory. Otherwise the CA
	 * certificates in this PEM file are the only trust anchors: with
	 * libcurl 7.88 CURLOPT_CAINFO cannot add to the system store, so the
	 * file replaces both the bundle and the CA directory. That is what a
	 * private relay or a test CA wants; to trust both, concatenate the
	 * system bundle and the extra CA into one file. */
	const char *ca_file;
	long connect_timeout_s; /* <= 0: NET_CONNECT_TIMEOUT_DEFAULT */
	long timeout_s;		/* whole transfer; <= 0: NET_TIMEOUT_DEFAULT */
};

enum net_proto {
	NET_HTTPS, /* only https:// URLs, no redirects */
	NET_SMTP,  /* only smtp:// URLs; the caller requires STARTTLS */
};

/* Initialise libcurl and libsodium for the whole process. Safe to call
 * more than once and from several threads; the work is done once. libcurl
 * gets allocation functions that zero every block it frees, so its
 * internal copies of tokens and form bodies do not linger; call this
 * before anything else in the process initialises libcurl, or that does
 * not apply. Returns 0, or -1 with e filled when either library fails to
 * initialise. */
int net_global_init(struct err *e);

/* Configure the easy handle h for proto with the options in o (o may be
 * NULL for the defaults): peer and host name verification on, TLS 1.2 or
 * newer, the CA file of o when set, connect and total timeouts, only the
 * one protocol (also for redirects, which are not followed), no signals,
 * never verbose. Call it before setting the request's own options; the
 * caller keeps ownership of h. Returns 0, or -1 with e filled when
 * libcurl refuses an option (for example a CA file on a build that cannot
 * use one); h is then not safe to use. */
int net_setup(CURL *h, const struct net_opts *o, enum net_proto proto,
	      struct err *e);

/* True when a curl result is worth retrying: timeouts, refused or reset
 * connections, name resolution failures and truncated transfers. TLS and
 * certificate failures are not transient: they need a configuration
 * change. */
bool net_curl_transient(CURLcode rc);

/* True when rc is a TLS handshake or certificate verification failure. */
bool net_curl_tls_error(CURLcode rc);

#endif
