/* netmod.h - the network and certificate code as a module loaded on
 * first use.
 *
 * Debian's libcurl4 pulls in LDAP, GnuTLS, Kerberos and p11-kit, whose
 * loading and initialisers cost several milliseconds per process, and
 * libcrypto another one. Most secretwatch commands (status, list, log,
 * token from the cache) never touch the network or a certificate, so the
 * files of this folder that call libcurl (net_curl.c, entra_http.c,
 * graph_http.c, smtp_curl.c, webhook_http.c) and OpenSSL
 * (x509_openssl.c) are built into libsecretwatch-net.so, which links both
 * like any other library, on top of the layers below. netmod.c
 * defines the entry points below for the programs: the first call
 * opens the module (found in the program's library search path, that is
 * through its RUNPATH: lib/ of the build tree, or ${libdir}/secretwatch
 * when installed) and every call goes through its one function table.
 *
 *   net_global_init      net.h
 *   entra_request_token  entra.h
 *   smtp_send_message    smtp.h
 *   alert_webhook_send   alert.h
 *   alert_heartbeat_send alert.h
 *   graph_http           graph.h
 *   x509_generate, x509_import_pem, x509_cert_info, x509_cert_pem,
 *   x509_key_pem, x509_assertion, x509_proof   x509.h
 *
 * Loading it runs x509_process_init first, so that OpenSSL wipes what it
 * frees from its first allocation on. When the module cannot be opened,
 * each of them fails the way it does when libcurl cannot be initialised,
 * with a message that names the file.
 */
#ifndef SW_NETMOD_H
#define SW_NETMOD_H

#include <stddef.h>

#include "alert.h"
#include "entra.h"
#include "err.h"
#include "graph.h"
#include "net.h"
#include "smtp.h"
#include "x509.h"

#define NETMOD_FILE   "libsecretwatch-net.so"
#define NETMOD_SYMBOL "netmod_api"

/* What the module exports under NETMOD_SYMBOL: size and version let the
 * loader refuse a module from another build. */
struct netmod_api {
	size_t size;	     /* sizeof(struct netmod_api) */
	const char *version; /* SW_VERSION */
	int (*global_init)(struct err *e);
	int (*entra_request_token)(const struct entra_request *rq,
				   const struct net_opts *net,
				   const struct entra_retry *retry, int64_t now,
				   struct entra_result *res,
				   struct entra_token *ret_token);
	int (*smtp_send_message)(const struct smtp_send *s,
				 const struct net_opts *net,
				 struct smtp_result *res);
	int (*alert_webhook_send)(const struct alert *a,
				  const struct alert_ctx *ctx, struct err *e);
	int (*alert_heartbeat_send)(const char *url, bool failed,
				    const struct net_opts *net, struct err *e);
	long (*graph_http)(const struct graph_http_req *rq,
			   const struct net_opts *net,
			   const struct entra_retry *retry,
			   struct graph_result *res, struct secbuf *ret_body);
	int (*x509_process_init)(void);
	int (*x509_generate)(const char *cn, int bits, int days, int64_t now,
			     struct x509_key *ret_key, uint8_t **ret_cert,
			     size_t *ret_len, struct err *e);
	int (*x509_import_pem)(const struct vbuf *key_pem, const char *cert_pem,
			       size_t cert_len, struct x509_key *ret_key,
			       uint8_t **ret_cert, size_t *ret_len,
			       struct err *e);
	int (*x509_cert_info)(const uint8_t *cert, size_t len,
			      struct x509_info *ret, struct err *e);
	int (*x509_cert_pem)(const uint8_t *cert, size_t len, char **ret_pem,
			     struct err *e);
	int (*x509_key_pem)(const struct x509_key *key, struct vbuf *ret,
			    struct err *e);
	int (*x509_assertion)(const struct x509_key *key, const uint8_t *cert,
			      size_t cert_len, enum x509_alg alg,
			      const char *aud, const char *client_id,
			      int64_t now, struct vbuf *ret, struct err *e);
	int (*x509_proof)(const struct x509_key *key, const uint8_t *cert,
			  size_t cert_len, const char *app_object_id,
			  int64_t now, struct vbuf *ret, struct err *e);
};

/* The module's table (defined in netmod_so.c, inside the module). */
const struct netmod_api *netmod_api(void);

#endif
