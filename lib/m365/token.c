/* token.c - Outlook tokens: the cache first, then Entra. */
#include "token.h"

#include <stdlib.h>
#include <string.h>

#include "cloud.h"
#include "material.h"

static int active_secret(struct store *s, const struct cred *c,
			 struct secret_info *ret, struct err *e)
{
	struct cred_view *v;
	int rc = -1;

	if (store_view_get(s, c->name, &v, e))
		return -1;
	if (v->has_active) {
		*ret = v->active;
		rc = 0;
	} else {
		err_set(e,
			"%s has no active secret: test a pending one with "
			"'secretwatch rotate %s'",
			c->name, c->name);
	}
	free(v);
	return rc;
}

static int from_entra(const struct token_src *ts, const struct cred *c,
		      const struct secret_info *si, struct vbuf *ret,
		      int64_t *ret_exp, struct entra_result *res, struct err *e)
{
	struct entra_request rq = {.authority_url = cloud_authority_url(c),
				   .tenant = c->tenant,
				   .client_id = c->client_id,
				   .scope = cloud_token_scope(c)};
	struct entra_token tok = {0};
	struct material m;
	int rc;

	if (material_open(ts->store, ts->vault, si, &m, e))
		return -1;
	rc = material_token(&m, &rq, ts->net, ts->retry, ts->now, res, &tok);
	/* Remembering the signature only saves a refused request later. */
	if (rc == 0 && !ts->no_cache_write)
		material_save_alg(ts->store, &m, e);
	material_free(&m);
	if (rc != 0) {
		err_set(e, "token request for %s failed: %s", c->name,
			res->summary);
		return -1;
	}
	rc = vbuf_alloc(ret, tok.len);
	if (rc == 0) {
		memcpy(ret->p, tok.value, tok.len);
		*ret_exp = tok.expires_at;
		/* A cache that cannot be written only costs the next
		 * caller a request. */
		if (!ts->no_cache_write)
			token_put(ts->store, ts->vault, c, si->id, &tok, e);
	}
	entra_token_free(&tok);
	return rc;
}

int token_get(const struct token_src *ts, const struct cred *c,
	      struct vbuf *ret, int64_t *ret_expires_at,
	      struct entra_result *res, struct err *e)
{
	struct secret_info si;
	int found;

	memset(res, 0, sizeof(*res));
	if (active_secret(ts->store, c, &si, e))
		return -1;
	found = store_token_get(
	    ts->store, ts->vault, si.id, cloud_token_scope(c),
	    ts->now + (ts->min_valid ? ts->min_valid : TOKEN_MARGIN), ret,
	    ret_expires_at, e);
	if (found < 0)
		return -1;
	if (found)
		return 0;
	return from_entra(ts, c, &si, ret, ret_expires_at, res, e);
}

int token_put(struct store *s, const struct vault *v, const struct cred *c,
	      int64_t secret_id, const struct entra_token *tok, struct err *e)
{
	return store_token_put(s, v, secret_id, cloud_token_scope(c),
			       tok->value, tok->len, tok->expires_at, e);
}
