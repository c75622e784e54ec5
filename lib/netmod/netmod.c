/* netmod.c - the programs' side of netmod.h: open the module on first
 * use and forward the network and certificate entry points to its
 * table. */
#include "netmod.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"

static pthread_once_t netmod_once = PTHREAD_ONCE_INIT;
static const struct netmod_api *netmod;
static char netmod_error[ERR_MSG_MAX];

/* Open the module from the first directory of the program's library
 * search path (LD_LIBRARY_PATH, its RUNPATH, the system's) that has it.
 * The path is asked of the program itself, not left to dlopen: that
 * searches the RUNPATH of its caller, which under a sanitizer is the
 * sanitizer's runtime. Relative directories are skipped. Returns the
 * handle, or NULL with netmod_error filled. */
static void *netmod_open(void)
{
	Dl_serinfo size;
	Dl_serinfo *si = NULL;
	void *self = dlopen(NULL, RTLD_NOW), *h = NULL;
	const char *why = NETMOD_FILE " is not in the library search path";
	char path[PATH_MAX];

	if (self == NULL || dlinfo(self, RTLD_DI_SERINFOSIZE, &size) != 0 ||
	    (si = malloc(size.dls_size)) == NULL ||
	    dlinfo(self, RTLD_DI_SERINFOSIZE, si) != 0 ||
	    dlinfo(self, RTLD_DI_SERINFO, si) != 0) {
		why = "cannot read the library search path";
		goto out;
	}
	for (unsigned int i = 0; i < si->dls_cnt; i++) {
		const char *dir = si->dls_serpath[i].dls_name;

		if (dir[0] != '/' ||
		    snprintf(path, sizeof(path), "%s/%s", dir, NETMOD_FILE) >=
			(int)sizeof(path) ||
		    access(path, F_OK) != 0)
			continue;
		if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
			why = dlerror();
		break;
	}
out:
	if (h == NULL)
		err_fmt(netmod_error, sizeof(netmod_error),
			"cannot load the network module: %s",
			why != NULL ? why : NETMOD_FILE);
	free(si);
	if (self != NULL)
		dlclose(self);
	return h;
}

static void netmod_load(void)
{
	const struct netmod_api *(*get)(void);
	const struct netmod_api *api;
	void *h;

	if ((h = netmod_open()) == NULL)
		return;
	*(void **)&get = dlsym(h, NETMOD_SYMBOL);
	api = get != NULL ? get() : NULL;
	if (api == NULL || api->size != sizeof(*api) ||
	    strcmp(api->version, SW_VERSION) != 0) {
		err_fmt(netmod_error, sizeof(netmod_error),
			"the network module %s does not belong to secretwatch "
			"%s: reinstall the package",
			NETMOD_FILE, SW_VERSION);
		dlclose(h);
		return;
	}
	if (api->x509_process_init() != 0) {
		/* Never closed either: OpenSSL is in the process now. */
		err_fmt(
		    netmod_error, sizeof(netmod_error),
		    "OpenSSL allocated memory before %s set it to wipe "
		    "what it frees: do not preload libraries into secretwatch",
		    NETMOD_FILE);
		return;
	}
	netmod = api; /* never closed: its code runs until exit */
}

/* The table, or NULL with the reason in netmod_error. */
static const struct netmod_api *netmod_get(void)
{
	pthread_once(&netmod_once, netmod_load);
	return netmod;
}

/* The table, or NULL with e set. */
static const struct netmod_api *netmod_or_err(struct err *e)
{
	const struct netmod_api *m = netmod_get();

	if (m == NULL)
		err_set(e, "%s", netmod_error);
	return m;
}

int net_global_init(struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	return m == NULL ? -1 : m->global_init(e);
}

int entra_request_token(const struct entra_request *rq,
			const struct net_opts *net,
			const struct entra_retry *retry, int64_t now,
			struct entra_result *res, struct entra_token *ret_token)
{
	const struct netmod_api *m = netmod_get();

	if (m == NULL) {
		memset(res, 0, sizeof(*res));
		memset(ret_token, 0, sizeof(*ret_token));
		err_fmt(res->summary, sizeof(res->summary), "token request: %s",
			netmod_error);
		return -1;
	}
	return m->entra_request_token(rq, net, retry, now, res, ret_token);
}

int smtp_send_message(const struct smtp_send *s, const struct net_opts *net,
		      struct smtp_result *res)
{
	const struct netmod_api *m = netmod_get();

	if (m == NULL) {
		smtp_result_init(res);
		err_fmt(res->summary, sizeof(res->summary), "not sent: %s",
			netmod_error);
		return -1;
	}
	return m->smtp_send_message(s, net, res);
}

int alert_webhook_send(const struct alert *a, const struct alert_ctx *ctx,
		       struct err *e)
{
	const struct netmod_api *m = netmod_get();

	if (m == NULL) {
		err_set(e, "webhook: %s", netmod_error);
		return -1;
	}
	return m->alert_webhook_send(a, ctx, e);
}

int alert_heartbeat_send(const char *url, bool failed,
			 const struct net_opts *net, struct err *e)
{
	const struct netmod_api *m = netmod_get();

	if (m == NULL) {
		err_set(e, "heartbeat: %s", netmod_error);
		return -1;
	}
	return m->alert_heartbeat_send(url, failed, net, e);
}

long graph_http(const struct graph_http_req *rq, const struct net_opts *net,
		const struct entra_retry *retry, struct graph_result *res,
		struct secbuf *ret_body)
{
	const struct netmod_api *m = netmod_get();

	if (m == NULL) {
		memset(ret_body, 0, sizeof(*ret_body));
		err_fmt(res->summary, sizeof(res->summary), "Graph: %s",
			netmod_error);
		return -1;
	}
	return m->graph_http(rq, net, retry, res, ret_body);
}

/* The certificate entry points return nothing when the module is not
 * there, as when they fail inside it. */

static void x509_none(struct x509_key *ret_key, uint8_t **ret_cert,
		      size_t *ret_len)
{
	memset(ret_key, 0, sizeof(*ret_key));
	*ret_cert = NULL;
	*ret_len = 0;
}

int x509_generate(const char *cn, int bits, int days, int64_t now,
		  struct x509_key *ret_key, uint8_t **ret_cert, size_t *ret_len,
		  struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	x509_none(ret_key, ret_cert, ret_len);
	return m == NULL ? -1
			 : m->x509_generate(cn, bits, days, now, ret_key,
					    ret_cert, ret_len, e);
}

int x509_import_pem(const struct vbuf *key_pem, const char *cert_pem,
		    size_t cert_len, struct x509_key *ret_key,
		    uint8_t **ret_cert, size_t *ret_len, struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	x509_none(ret_key, ret_cert, ret_len);
	return m == NULL ? -1
			 : m->x509_import_pem(key_pem, cert_pem, cert_len,
					      ret_key, ret_cert, ret_len, e);
}

int x509_cert_info(const uint8_t *cert, size_t len, struct x509_info *ret,
		   struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	memset(ret, 0, sizeof(*ret));
	return m == NULL ? -1 : m->x509_cert_info(cert, len, ret, e);
}

int x509_cert_pem(const uint8_t *cert, size_t len, char **ret_pem,
		  struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	*ret_pem = NULL;
	return m == NULL ? -1 : m->x509_cert_pem(cert, len, ret_pem, e);
}

int x509_key_pem(const struct x509_key *key, struct vbuf *ret, struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	memset(ret, 0, sizeof(*ret));
	return m == NULL ? -1 : m->x509_key_pem(key, ret, e);
}

int x509_assertion(const struct x509_key *key, const uint8_t *cert,
		   size_t cert_len, enum x509_alg alg, const char *aud,
		   const char *client_id, int64_t now, struct vbuf *ret,
		   struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	memset(ret, 0, sizeof(*ret));
	return m == NULL ? -1
			 : m->x509_assertion(key, cert, cert_len, alg, aud,
					     client_id, now, ret, e);
}

int x509_proof(const struct x509_key *key, const uint8_t *cert, size_t cert_len,
	       const char *app_object_id, int64_t now, struct vbuf *ret,
	       struct err *e)
{
	const struct netmod_api *m = netmod_or_err(e);

	memset(ret, 0, sizeof(*ret));
	return m == NULL ? -1
			 : m->x509_proof(key, cert, cert_len, app_object_id,
					 now, ret, e);
}
