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
	bool cert = si->kind == SECRET_KIND_CERTIFICATE;

	memset(ret, 0, sizeof(*ret));
	ret->id = si->id;
	ret->kind = si->kind;
	ret->expires_at = si->expires_at;
	ret->known = si->assertion_alg[0] != '\0' &&
		     x509_alg_parse(si->assertion_alg, &ret->alg) == 0;
	if (!ret->known)
		ret->alg = X509_PS256;
	if (store_secret_value(s, v, si->id,
			       cert ? &ret->key.der : &ret->secret, e))
		return -1;
	if (cert && store_cert_get(s, si->id, &ret->cert, &ret->cert_len, e)) {
		material_free(ret);
		return -1;
	}
	return 0;
}

int material_from_secret(const char *value, size_t len, int64_t expires_at,
			 struct material *ret, struct err *e)
{
	memset(ret, 0, sizeof(*ret));
	ret->kind = SECRET_KIND_SECRET;
	ret->expires_at = expires_at;
	if (vbuf_alloc(&ret->secret, len)) {
		err_set(e, "out of guarded memory");
		return -1;
	}
	memcpy(ret->secret.p, value, len);
	return 0;
}

void material_free(struct material *m)
{
	vbuf_free(&m->secret);
	x509_key_free(&m->key);
	free(m->cert);
	m->cert = NULL;
	m->cert_len = 0;
}

bool material_signature_refused(const struct entra_result *res)
{
	return res->n_error_codes > 0 &&
	       (res->error_codes[0] == 700027 || res->error_codes[0] == 50012);
}

/* The token endpoint an assertion is for: its aud claim. */
static void assertion_aud(const struct entra_request *rq, char *out,
			  size_t size)
{
	size_t n = strlen(rq->authority_url);

	while (n > 0 && rq->authority_url[n - 1] == '/')
		n--;
	snprintf(out, size, "%.*s/%s/oauth2/v2.0/token", (int)n,
		 rq->authority_url, rq->tenant);
}

int material_prepare(const struct material *m, enum x509_alg alg,
		     struct entra_request *rq, int64_t now,
		     struct material_proof *ret, struct err *e)
{
	char aud[CRED_URL_MAX + CRED_TENANT_MAX + 32];

	memset(ret, 0, sizeof(*ret));
	rq->secret = NULL;
	rq->assertion = NULL;
	if (m->kind != SECRET_KIND_CERTIFICATE) {
		ret->secret.value = m->secret.p;
		ret->secret.len = m->secret.len;
		rq->secret = &ret->secret;
		return 0;
	}
	assertion_aud(rq, aud, sizeof(aud));
	if (x509_assertion(&m->key, m->cert, m->cert_len, alg, aud,
			   rq->client_id, now, &ret->jwt, e))
		return -1;
	ret->assertion.jwt = ret->jwt.p;
	ret->assertion.len = ret->jwt.len;
	rq->assertion = &ret->assertion;
	return 0;
}

void material_proof_free(struct material_proof *p, struct entra_request *rq)
{
	vbuf_free(&p->jwt);
	memset(p, 0, sizeof(*p));
	if (rq != NULL) {
		rq->secret = NULL;
		rq->assertion = NULL;
	}
}

/* One request with m's proof, the assertion (if any) signed with alg. */
static int request_with(const struct material *m, enum x509_alg alg,
			struct entra_request *rq, const struct net_opts *net,
			const struct entra_retry *retry, int64_t now,
			struct entra_result *res, struct entra_token *tok)
{
	struct material_proof p;
	struct err e = {{0}};
	int rc;

	if (material_prepare(m, alg, rq, now, &p, &e)) {
		memset(res, 0, sizeof(*res));
		snprintf(res->summary, sizeof(res->summary), "%.500s", e.msg);
		return -1;
	}
	rc = entra_request_token(rq, net, retry, now, res, tok);
	material_proof_free(&p, rq);
	return rc;
}

int material_token(struct material *m, struct entra_request *rq,
		   const struct net_opts *net, const struct entra_retry *retry,
		   int64_t now, struct entra_result *res,
		   struct entra_token *ret_token)
{
	enum x509_alg first = m->alg;
	int rc = request_with(m, first, rq, net, retry, now, res, ret_token);

	if (m->kind != SECRET_KIND_CERTIFICATE)
		return rc;
	if (rc != 0 && first == X509_PS256 && material_signature_refused(res)) {
		rc = request_with(m, X509_RS256, rq, net, retry, now, res,
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
	if (!m->learned || m->id == 0)
		return 0;
	return store_cert_set_alg(s, m->id, x509_alg_name(m->alg), e);
}

int material_pop(const struct material *m, const char *app_object_id,
		 int64_t now, struct vbuf *ret, struct err *e)
{
	memset(ret, 0, sizeof(*ret));
	if (m->kind != SECRET_KIND_CERTIFICATE) {
		err_set(e, "only a certificate can sign a proof of possession");
		return -1;
	}
	return x509_proof(&m->key, m->cert, m->cert_len, app_object_id, now,
			  ret, e);
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
	    x509_key_pem(&m.key, &key, e) == 0) {
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
