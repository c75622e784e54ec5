/* watch_sweep_check.c - doctor's look at a reader: the steps a sweep
 * takes, each tried once, nothing kept. */
#include <stdio.h>
#include <string.h>

#include "graph_list.h"
#include "graph_session.h"
#include "jwt.h"
#include "watch_impl.h"
#include "watch_sweep.h"

struct first_app {
	struct watch_sweep_check *c;
	struct graph_object o; /* the first listed */
	bool have;
};

static int note_first(void *arg, const struct graph_object *o)
{
	struct first_app *f = arg;

	if (o == NULL)
		return 0;
	f->c->page_objects++;
	if (!f->have) {
		f->o = *o;
		f->have = true;
	}
	return 0;
}

static void read_owners(struct graph_session *s, struct first_app *f)
{
	struct watch_sweep_check *c = f->c;
	struct graph_owner own[GRAPH_OWNERS_MAX];
	struct graph_result res;
	size_t n;

	c->owners_tried = true;
	snprintf(c->owners_app, sizeof(c->owners_app), "%s", f->o.display_name);
	c->owners_ok = graph_owners(&s->g, GRAPH_APPLICATIONS, f->o.id, own,
				    GRAPH_OWNERS_MAX, &n, &res) == 0;
	if (!c->owners_ok) {
		snprintf(c->owners_error, sizeof(c->owners_error), "%s",
			 res.summary);
		return;
	}
	c->owners = (int)n;
	for (size_t i = 0; i < n; i++)
		c->owners_mail += own[i].mail[0] != '\0';
}

/* The session is open: roles, one page, one owner list. */
static void check_open(struct graph_session *s, const struct cred *cr,
		       struct watch_sweep_check *c)
{
	struct diag_input in = {cr, s->hint, s->has_claims ? &s->claims : NULL};
	struct first_app f = {c, {0}, false};
	struct graph_result res;

	c->roles_known = s->has_claims;
	if (s->has_claims) {
		jwt_roles_str(&s->claims, c->roles, sizeof(c->roles));
		c->reads_tenant = graph_reads_tenant(&s->claims);
		c->reads_users = graph_reads_users(&s->claims);
		if (!c->reads_tenant) {
			diag_reader(&in, NULL, &c->diag);
			return;
		}
	}
	c->page_ok = graph_list(&s->g, GRAPH_APPLICATIONS, 1, note_first, &f,
				NULL, &res) == 0;
	if (!c->page_ok) {
		diag_reader(&in, &res, &c->diag);
		return;
	}
	if (f.have)
		read_owners(s, &f);
}

int watch_sweep_check(struct watch_ctx *w, const struct cred_view *v,
		      struct watch_sweep_check *ret, struct err *e)
{
	const struct secret_info *si = graph_session_row(v, 0);
	struct graph_session s = {0};
	struct token_src ts;
	struct net_opts net;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (si == NULL) {
		err_set(e, "%s has no secret or certificate to read with",
			v->cred.name);
		return -1;
	}
	watch_token_src(w, &net, &ts);
	ts.no_cache_write = true;
	rc = graph_session_open(&s, &ts, &v->cred, si, e);
	if (rc == 1)
		ret->diag = s.diag;
	ret->token_ok = rc == 0;
	if (rc == 0)
		check_open(&s, &v->cred, ret);
	graph_session_close(&s);
	return rc < 0 ? -1 : 0;
}
