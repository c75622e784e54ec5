/* watch_sweep.c - a reader's tenant listed into the inventory: one
 * Graph session, both collections page by page, each page's rows kept
 * in one transaction (never one held across a request), and only a
 * sweep that read every page takes out what it did not see. */
#include "watch_sweep.h"

#include <stdio.h>
#include <string.h>

#include "event.h"
#include "exclude.h"
#include "graph_list.h"
#include "graph_session.h"
#include "watch_impl.h"

struct listing {
	struct watch_ctx *w;
	int64_t sweep;
	struct watch_sweep_report *sr;
	bool in_txn;
	bool store_failed;
	struct err *e;
};

static void to_item(const struct graph_object *o, const struct graph_item *gi,
		    struct inv_item *it)
{
	memset(it, 0, sizeof(*it));
	snprintf(it->object_kind, sizeof(it->object_kind), "%s",
		 graph_collection_name(o->kind));
	memcpy(it->object_id, o->id, sizeof(it->object_id));
	memcpy(it->app_id, o->app_id, sizeof(it->app_id));
	snprintf(it->display_name, sizeof(it->display_name), "%s",
		 o->display_name);
	memcpy(it->key_id, gi->key_id, sizeof(it->key_id));
	it->kind = gi->kind;
	memcpy(it->usage, gi->usage, sizeof(it->usage));
	snprintf(it->name, sizeof(it->name), "%s", gi->name);
	memcpy(it->hint, gi->hint, sizeof(it->hint));
	it->starts_at = gi->start;
	it->expires_at = gi->end;
	it->microsoft = o->microsoft;
	it->saml = gi->saml;
}

/* Microsoft's own service principals and [sweep] exclude stay out. */
static bool left_out(const struct config *cfg, const struct graph_object *o)
{
	if (o->microsoft && !cfg->sweep_include_microsoft)
		return true;
	return cfg->sweep_exclude[0] != '\0' &&
	       exclude_match(cfg->sweep_exclude, o->app_id, o->display_name);
}

/* A page is done: its rows are committed before the next is asked. */
static int page_done(struct listing *l)
{
	if (!l->in_txn)
		return 0;
	l->in_txn = false;
	if (store_commit(l->w->store, l->e) == 0)
		return 0;
	l->store_failed = true;
	return -1;
}

static int keep_object(void *arg, const struct graph_object *o)
{
	struct listing *l = arg;
	struct inv_item it;

	if (o == NULL)
		return page_done(l);
	if (left_out(l->w->cfg, o)) {
		l->sr->excluded++;
		return 0;
	}
	if (o->truncated)
		watch_log(l->w, LOG_WARNING,
			  "%s %s has more than %d credentials; the inventory "
			  "keeps the first %d",
			  graph_collection_name(o->kind), o->id,
			  GRAPH_ITEMS_MAX, GRAPH_ITEMS_MAX);
	if (!l->in_txn && store_begin(l->w->store, l->e) == 0)
		l->in_txn = true;
	for (size_t i = 0; l->in_txn && i < o->n_items; i++) {
		to_item(o, &o->items[i], &it);
		if (store_inventory_put(l->w->store, l->sweep, l->w->now, &it,
					l->e) == 0)
			continue;
		store_rollback(l->w->store);
		l->in_txn = false;
	}
	if (!l->in_txn) {
		l->store_failed = true;
		return -1;
	}
	l->sr->items += (int)o->n_items;
	return 0;
}

/* Both collections, every page; res says why when it returns non-zero. */
static int list_tenant(struct listing *l, struct graph_session *s,
		       struct graph_result *res)
{
	static const enum graph_collection colls[] = {GRAPH_APPLICATIONS,
						      GRAPH_SERVICE_PRINCIPALS};
	int rc = 0;

	for (size_t i = 0; i < 2 && rc == 0; i++) {
		struct graph_list_stats st = {0};
		rc = graph_list(&s->g, colls[i], 0, keep_object, l, &st, res);
		l->sr->objects += st.objects;
		l->sr->pages += st.pages;
		l->sr->requests += st.requests;
		l->sr->waited_ms += st.waited_ms;
	}
	if (l->in_txn) { /* a listing that stopped inside a page */
		store_rollback(l->w->store);
		l->in_txn = false;
	}
	return rc;
}

struct gone_ctx {
	struct watch_ctx *w;
	const struct cred *c;
	struct watch_sweep_report *sr;
	struct err *e;
};

/* Entra no longer lists it (or [sweep] exclude now leaves it out). */
static int record_gone(void *arg, const struct inv_item *it)
{
	struct gone_ctx *g = arg;

	g->sr->gone++;
	return event_addf(g->w->store, g->w->now, g->c->name, 0,
			  "inventory-gone", g->e, "object", it->object_id,
			  "app", it->display_name, "key_id", it->key_id, "kind",
			  secret_kind_name(it->kind), EVENT_END);
}

static int record(struct watch_ctx *w, const struct cred *c,
		  const struct watch_sweep_report *sr, struct watch_report *r,
		  struct err *e)
{
	char objects[24], items[24], requests[24], gone[24];

	if (sr->failed)
		return watch_record_graph_failed(w, c->name, 0, "sweep", "",
						 diag_step_name(sr->diag.step),
						 sr->diag.summary, r, e);
	snprintf(objects, sizeof(objects), "%d", sr->objects);
	snprintf(items, sizeof(items), "%d", sr->items);
	snprintf(requests, sizeof(requests), "%d", sr->requests);
	snprintf(gone, sizeof(gone), "%d", sr->gone);
	watch_log(w, LOG_INFO,
		  "%s: swept the tenant: %d objects, %d credentials, %d "
		  "requests, %d gone",
		  c->name, sr->objects, sr->items, sr->requests, sr->gone);
	return event_addf(w->store, w->now, c->name, 0, "sweep", e, "outcome",
			  "ok", "objects", objects, "items", items, "requests",
			  requests, "gone", gone, EVENT_END);
}

/* Every page was read: out with what it did not see, in one
 * transaction with the sweep's end. 1: a later sweep of the tenant
 * began meanwhile (what it saw is its to conclude). */
static int finish(struct listing *l, const struct cred *c)
{
	struct gone_ctx g = {l->w, c, l->sr, l->e};
	struct watch_sweep_report *sr = l->sr;
	int rc;

	if (store_begin(l->w->store, l->e))
		return -1;
	rc = store_sweep_finish(l->w->store, l->sweep, l->w->now, sr->objects,
				sr->items, sr->requests, record_gone, &g, l->e);
	if (rc != 0) {
		store_rollback(l->w->store);
		sr->gone = 0;
		return rc;
	}
	return store_commit(l->w->store, l->e);
}

/* The listing, from the sweep's start to its end; Graph's refusal into
 * sr. -1 only on store errors. */
static int run(struct watch_ctx *w, const struct cred *c,
	       struct graph_session *s, bool scheduled,
	       struct watch_sweep_report *sr, struct err *e)
{
	struct listing l = {w, 0, sr, false, false, e};
	struct diag_input in = {c, s->hint, s->has_claims ? &s->claims : NULL};
	struct graph_result res;
	int rc =
	    store_sweep_begin(w->store, c->id, w->now,
			      scheduled ? POLICY_SWEEP_RETRY : 0, &l.sweep, e);

	if (rc != 0) {
		sr->skipped = rc == 1;
		return rc < 0 ? -1 : 0;
	}
	if (list_tenant(&l, s, &res) != 0) {
		if (l.store_failed)
			return -1;
		sr->failed = true;
		diag_reader(&in, &res, &sr->diag);
		return store_sweep_fail(w->store, l.sweep, w->now,
					sr->diag.summary, e);
	}
	rc = finish(&l, c);
	if (rc == 1) {
		sr->skipped = true;
		return store_sweep_fail(w->store, l.sweep, w->now,
					"a later sweep of the tenant began "
					"before this one ended",
					e);
	}
	return rc;
}

int watch_sweep(struct watch_ctx *w, const struct cred_view *v, bool scheduled,
		struct watch_sweep_report *sr, struct watch_report *r,
		struct err *e)
{
	const struct secret_info *si = graph_session_row(v, 0);
	const struct cred *c = &v->cred;
	struct graph_session s = {0};
	struct token_src ts;
	struct net_opts net;
	int rc = 0;

	memset(sr, 0, sizeof(*sr));
	if (si == NULL) {
		err_set(e, "%s has no secret or certificate to read with",
			c->name);
		return -1;
	}
	watch_token_src(w, &net, &ts);
	rc = graph_session_open(&s, &ts, c, si, e);
	if (rc == 1) {
		sr->failed = true;
		sr->diag = s.diag;
	} else if (rc == 0 && s.has_claims && !graph_reads_tenant(&s.claims)) {
		struct diag_input in = {c, s.hint, &s.claims};
		sr->failed = true;
		diag_reader(&in, NULL, &sr->diag);
	} else if (rc == 0) {
		rc = run(w, c, &s, scheduled, sr, e);
		if (rc == 0 && !sr->skipped && !sr->failed)
			rc = watch_sweep_warn(w, c, &s, sr, e);
	}
	if (rc == 0 && !sr->skipped)
		rc = record(w, c, sr, r, e);
	graph_session_close(&s);
	return rc < 0 ? -1 : 0;
}
