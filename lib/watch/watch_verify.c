/* watch_verify.c - verify one secret and record how it went: used by the
 * switch and health steps and by `secretwatch test`. */
#include <string.h>

#include "event.h"
#include "material.h"
#include "token.h"
#include "watch_impl.h"

void watch_probe_opts(const struct watch_ctx *w, struct material *m,
		      const struct secret_info *si, bool token_only,
		      const char *to, struct net_opts *net,
		      struct probe_opts *o)
{
	memset(net, 0, sizeof(*net));
	net->ca_file = w->cfg->ca_file[0] ? w->cfg->ca_file : NULL;
	net->tick = w->tick;
	net->tick_arg = w->tick_arg;
	memset(o, 0, sizeof(*o));
	o->material = m;
	o->hint = si->hint;
	o->key_id = si->key_id[0] ? si->key_id : NULL;
	o->to = to;
	/* Activation follows a passed test: the record says when one last
	 * passed without a look at the trail. */
	o->passed_at = si->activated_at;
	if (si->last_test_ok && si->last_test_at > o->passed_at)
		o->passed_at = si->last_test_at;
	o->token_only = token_only;
	o->net = net;
	o->retry = w->retry;
	o->now = w->now;
	o->deadline_ms = (long)w->cfg->test_deadline * 1000;
}

static void outcome(const struct probe_result *pr, char *out, size_t size)
{
	/* Bounded: a long summary is cut, the detail is for people. */
	if (pr->ok)
		err_fmt(out, size, "passed");
	else if (pr->has_diag)
		err_fmt(out, size, "%s: %s", diag_step_name(pr->diag.step),
			pr->diag.summary);
	else
		err_fmt(out, size, "failed at %s", probe_step_name(pr->failed));
}

/* The secret's verdict: kept as it was when the test never reached a
 * server that could judge it (probe_inconclusive), which then counts no
 * failure either; the audit trail says "test-inconclusive". */
static int record_verdict(struct watch_ctx *w, const struct cred *c,
			  const struct secret_info *si,
			  const struct probe_result *pr, const char *detail,
			  struct err *e)
{
	if (probe_inconclusive(pr))
		return 0;
	return store_secret_record_test(w->store, si->id, w->now, pr->ok,
					detail, e) ||
		       store_cred_count(w->store, c->id, CRED_TEST_FAILURES,
					pr->ok ? 0 : 1, w->now, e)
		   ? -1
		   : 0;
}

static const char *test_event(const struct probe_result *pr)
{
	if (pr->ok)
		return "test-passed";
	return probe_inconclusive(pr) ? "test-inconclusive" : "test-failed";
}

int watch_record_test(struct watch_ctx *w, const struct cred *c,
		      const struct secret_info *si, bool token_only,
		      const struct probe_result *pr, struct material *m,
		      struct err *e)
{
	char detail[SECRET_DETAIL_MAX + 1];

	outcome(pr, detail, sizeof(detail));
	if (store_begin(w->store, e))
		return -1;
	if (record_verdict(w, c, si, pr, detail, e) ||
	    event_addf(
		w->store, w->now, c->name, si->id, test_event(pr), e, "mode",
		token_only ? "token" : "send", "outcome", detail, "step",
		pr->has_diag ? diag_step_name(pr->diag.step) : NULL, "evidence",
		pr->has_diag ? pr->diag.evidence : NULL, EVENT_END) ||
	    (pr->token.value != NULL &&
	     token_put(w->store, w->vault, c, si->id, &pr->token, e)) ||
	    (m != NULL && material_save_alg(w->store, m, e))) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

/* A pending secret may have passed a test that its record no longer
 * shows (a later failure overwrote it): the audit trail has it. */
static void trail_passed_at(struct watch_ctx *w, const struct cred *c,
			    const struct secret_info *si, struct probe_opts *o)
{
	int64_t at = 0;
	struct err e;

	if (store_event_passed_at(w->store, c->name, si->id, &at, &e) == 0 &&
	    at > o->passed_at)
		o->passed_at = at;
}

int watch_verify(struct watch_ctx *w, const struct cred *c,
		 const struct secret_info *si, bool token_only, const char *to,
		 struct probe_result *pr, struct err *e)
{
	struct net_opts net;
	struct probe_opts o;
	struct material m;
	int rc;

	memset(pr, 0, sizeof(*pr));
	if (material_open(w->store, w->vault, si, &m, e))
		return -1;
	watch_probe_opts(w, &m, si, token_only, to, &net, &o);
	trail_passed_at(w, c, si, &o);
	probe_run(c, &o, pr);
	rc = watch_record_test(w, c, si, token_only, pr, &m, e);
	material_free(&m);
	if (rc)
		return -1;
	return pr->ok ? 0 : 1;
}
