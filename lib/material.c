/* material.c - a secret's value or a certificate's key, and the token
 * request made with it. */
#include "material.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int material_open(struct store *s, const struct vault *v,
		  const struct secret_info *si, struct material *ret,
		  struct err *e)
{
	memset(ret, 0, sizeof(*ret));
	ret->id = si->id;
	ret->kind = si->kind;
	ret->expires_at = si->expires_at;
	ret->known = si->assertion_alg[0] != '\0' &&
		     x509_alg_parse(si->assertion_alg, &ret->alg) == 0;
	if (!ret->known)
		ret->alg = X509_PS256;
	if (store_secret_value(s, v, si->id, &ret->value, e))
		return -1;
	if (si->kind == SECRET_KIND_CERTIFICATE &&
	    store_cert_get(s, si->id, &ret->cert, &ret->cert_len, e)) {
		vbuf_free(&ret->value);
		return -1;
	}
	return 0;
}

void material_free(struct material *m)
{
	vbuf_free(&m->value);
	free(m->cert);
	m->cert = NULL;
	m->cert_len = 0;
}

bool material_signature_refused(const struct entra_result *res)
{
	return res->n_error_codes > 0 &&
	       (res->error_codes[0] == 700027 || res->error_codes[0] == 50012);
}

/* One request with an assertion signed with alg. */
static int with_assertion(const struct material *m, enum x509_alg alg,
			  struct entra_request *rq, const struct net_opts *net,
			  const struct entra_retry *retry, int64_t now,
			  struct entra_result *res, struct entra_token *tok)
{
	char aud[CRED_URL_MAX + CRED_TENANT_MAX + 32];
	size_t n = strlen(rq->authority_url);
	struct vbuf jwt;
	struct err e = {{0}};
	int rc;

	while (n > 0 && rq->authority_url[n - 1] == '/')
		n--;
	snprintf(aud, sizeof(aud), "%.*s/%s/oauth2/v2.0/token", (int)n,
		 rq->authority_url, rq->tenant);
	if (x509_assertion(&m->value, m->cert, m->cert_len, alg, aud,
			   rq->client_id, now, &jwt, &e)) {
		memset(res, 0, sizeof(*res));
		snprintf(res->summary, sizeof(res->summary), "%.500s", e.msg);
		return -1;
	}
	rq->secret = NULL;
	rq->secret_len = 0;
	rq->assertion = jwt.p;
	rq->assertion_len = jwt.len;
	rc = entra_request_token(rq, net, retry, now, res, tok);
	rq->assertion = NULL;
	rq->assertion_len = 0;
	vbuf_free(&jwt);
	return rc;
}

int material_token(struct material *m, struct entra_request *rq,
		   const struct net_opts *net, const struct entra_retry *retry,
		   int64_t now, struct entra_result *res,
		   struct entra_token *ret_token)
{
	enum x509_alg first = m->alg;
	int rc;

	if (m->kind != SECRET_KIND_CERTIFICATE) {
		rq->secret = m->value.p;
		rq->secret_len = m->value.len;
		return entra_request_token(rq, net, retry, now, res, ret_token);
	}
	rc = with_assertion(m, first, rq, net, retry, now, res, ret_token);
	if (rc != 0 && first == X509_PS256 && material_signature_refused(res)) {
		rc = with_assertion(m, X509_RS256, rq, net, retry, now, res,
				    ret_token);
		if (rc == 0)
			m->alg = X509_RS256;
	}
	if (rc == 0 && (!m->known || m->alg != first))
		m->learned = true;
	return rc;
}

int material_save_alg(struct store *s, const struct material *m, struct err *e)
{
	if (!m->learned)
		return 0;
	return store_cert_set_alg(s, m->id, x509_alg_name(m->alg), e);
}

int material_deploy_input(struct store *s, const struct vault *v,
			  const struct secret_info *si, struct vbuf *ret,
			  struct err *e)
{
	struct material m;
	struct vbuf key = {0};
	char *cert = NULL;
	size_t n;
	int rc = -1;

	if (si->kind != SECRET_KIND_CERTIFICATE)
		return store_secret_value(s, v, si->id, ret, e);
	if (material_open(s, v, si, &m, e))
		return -1;
	if (x509_cert_pem(m.cert, m.cert_len, &cert, e) == 0 &&
	    x509_key_pem(&m.value, &key, e) == 0) {
		n = strlen(cert);
		if (vbuf_alloc(ret, n + key.len) == 0) {
			memcpy(ret->p, cert, n);
			memcpy(ret->p + n, key.p, key.len);
			rc = 0;
		} else {
			err_set(e, "out of guarded memory");
		}
	}
	vbuf_free(&key);
	free(cert);
	material_free(&m);
	return rc;
}
