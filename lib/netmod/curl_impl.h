/* curl_impl.h - shared by the libcurl halves of the network module only
 * (net_curl.c, entra_http.c, graph_http.c, smtp_curl.c, webhook_http.c):
 * every handle is set up in one place, and libcurl's result codes are
 * classified in one place. */
#ifndef SW_CURL_IMPL_H
#define SW_CURL_IMPL_H

#include "net.h"

/* Configure the easy handle h (a CURL *) for proto with the options in o
 * (o may be NULL for the defaults): peer and host name verification on,
 * TLS 1.2 or newer, the CA file of o when set, connect and total
 * timeouts, only the one protocol (also for redirects, which are not
 * followed), no signals, never verbose, and o's tick (with o, which must
 * outlive the transfer, as its argument). Call it before setting the
 * request's own options; the caller keeps ownership of h. Returns 0, or
 * -1 with e filled when libcurl refuses an option (for example a CA file
 * on a build that cannot use one); h is then not safe to use. */
int net_setup(void *h, const struct net_opts *o, enum net_proto proto,
	      struct err *e);

/* The class of a libcurl result code (a CURLcode); 0 is NET_OK. */
enum net_fail net_fail_of(int curl_code);

#endif
