/* graph_session.c - the one Graph session of a credential. */
#include "graph_session.h"

#include <stdio.h>
#include <string.h>

const struct secret_info *graph_session_row(const struct cred_view *v,
					    int64_t skip)
{
	if (v->has_active)
		return &v->active;
	for (int i = 0; i < v->npending; i++)
		if (v->pending[i].id != skip)
			return &v->pending[i];
	return NULL;
}

static void session_init(struct graph_session *s, const struct token_src *ts,
			 const struct cred *c)
{
	memset(s, 0, sizeof(*s));
	s->cred = c;
	s->now = ts->now;
	s->g = (struct graph_ctx){c, ts->net, ts->retry, &s->tok};
}

/* The token with s->m; 0, or 1 with s->diag. */
static int get_token(struct graph_session *s, const struct token_src *ts)
{
	struct diag_input in = {s->cred, s->hint, NULL};
	struct entra_request rq;
	struct entra_result res;
	struct err ignored;

	graph_token_request(s->cred, &rq);
	if (material_token(&s->m, &rq, ts->net, ts->retry, ts->now, &res,
			   &s->tok) != 0) {
		s->token_failed = true;
		diag_token(&in, &res, &s->diag);
		return 1;
	}
	s->has_claims =
	    jwt_decode(s->tok.value, s->tok.len, &s->claims, &ignored) == 0;
	return 0;
}

int graph_session_open(struct graph_session *s, const struct token_src *ts,
		       const struct cred *c, const struct secret_info *si,
		       struct err *e)
{
	int rc;

	session_init(s, ts, c);
	memcpy(s->hint, si->hint, sizeof(s->hint));
	memcpy(s->key_id, si->key_id, sizeof(s->key_id));
	if (material_open(ts->store, ts->vault, si, &s->m, e))
		return -1;
	rc = get_token(s, ts);
	/* Remembering the signature only saves a refused request later. */
	if (rc == 0 && !ts->no_cache_write &&
	    material_save_alg(ts->store, &s->m, e))
		return -1;
	return rc;
}

int graph_session_open_material(struct graph_session *s,
				const struct token_src *ts,
				const struct cred *c, struct material *m)
{
	session_init(s, ts, c);
	s->m = *m;
	memset(m, 0, sizeof(*m));
	if (s->m.kind == SECRET_KIND_SECRET)
		secret_hint(s->m.secret.p, s->m.secret.len, s->hint);
	return get_token(s, ts);
}

void graph_session_diagnose(struct graph_session *s,
			    const struct graph_result *res,
			    const char *app_object_id)
{
	struct diag_input in = {s->cred, s->hint,
				s->has_claims ? &s->claims : NULL};

	diag_graph(&in, res, app_object_id, NULL, &s->diag);
}

bool graph_session_has_role(const struct graph_session *s, const char *role)
{
	return s->has_claims && jwt_has_role(&s->claims, role);
}

void graph_session_close(struct graph_session *s)
{
	entra_token_free(&s->tok);
	material_free(&s->m);
	memset(&s->claims, 0, sizeof(s->claims));
}
