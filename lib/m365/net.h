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
	/* NULL, or called while a transfer runs: at least once a second
	 * while it waits, and at once when a signal interrupts the wait,
	 * with tick_arg and the transfer's protocol. A non-zero return ends
	 * the transfer, which fails as NET_ABORTED. For a daemon's stop
	 * signal and a terminal's progress line; it must be quick. */
	int (*tick)(void *arg, int proto);
	void *tick_arg;
};

/* What a transfer's failure was, classified from libcurl's result code
 * in net.c, so that no other module needs libcurl's codes to decide. */
enum net_fail {
	NET_OK,		      /* no failure */
	NET_RESOLVE,	      /* the host or proxy name did not resolve */
	NET_CONNECT,	      /* the connection was refused or unreachable */
	NET_TIMEOUT,	      /* connect or transfer timeout */
	NET_BROKEN,	      /* the connection broke or the reply was cut */
	NET_TLS,	      /* the TLS handshake failed */
	NET_TLS_VERIFY,	      /* a certificate was refused */
	NET_STARTTLS_REFUSED, /* STARTTLS not offered or not accepted */
	NET_LOGIN_DENIED,     /* the server refused the login */
	NET_PROTOCOL,	      /* the URL's scheme is not the one allowed */
	NET_BAD_REPLY,	      /* a reply the client did not understand */
	NET_ABORTED,	      /* net_opts.tick ended it (a stop) */
	NET_OTHER,	      /* anything else */
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

/* True when a failure is worth retrying: timeouts, refused or reset
 * connections, name resolution failures and truncated transfers. TLS and
 * certificate failures are not transient: they need a configuration
 * change. */
bool net_fail_transient(enum net_fail f);

/* True when f is a TLS handshake, certificate verification or STARTTLS
 * failure. */
bool net_fail_tls(enum net_fail f);

#endif
