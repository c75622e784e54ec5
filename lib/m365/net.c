/* net.c - what a transfer's failure means (net.h); libcurl itself is in
 * the network module (netmod/net_curl.c). */
#include "net.h"

bool net_fail_transient(enum net_fail f)
{
	return f == NET_RESOLVE || f == NET_CONNECT || f == NET_TIMEOUT ||
	       f == NET_BROKEN;
}

bool net_fail_tls(enum net_fail f)
{
	return f == NET_TLS || f == NET_TLS_VERIFY || f == NET_STARTTLS_REFUSED;
}
