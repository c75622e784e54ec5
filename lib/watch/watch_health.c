/* watch_health.c - the health step: token requests with the active
 * secrets of many credentials at once. Secrets are decrypted and results
 * recorded on the calling thread (the store is single-threaded); only the
 * token requests run on worker threads. A failure is counted, and alerted
 * when policy_health_alert says it deserves it. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "material.h"
#include "watch_impl.h"

#define BATCH 64

struct health_job {
	struct cred cred;
	struct secret_info si;
	struct material mat;
	struct probe_result pr;
};

struct run {
	const struct watch_ctx *w;
	struct health_job *jobs;
	size_t n;
	atomic_size_t next;
};

static void *worker(void *arg)
{
	struct run *run = arg;
	struct net_opts net;
	struct probe_opts o;
	size_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) < run->n) {
		struct health_job *j = &run->jobs[i];
		watch_probe_opts(run->w, &j->mat, &j->si, true, NULL, &net, &o);
		probe_run(&j->cred, &o, &j->pr);
	}
	return NULL;
}

/* Run the probes of jobs on up to cfg->health_concurrency threads. */
static void run_probes(const struct watch_ctx *w, struct health_job *jobs,
		       size_t n)
{
	struct run run = {w, jobs, n, 0};
	pthread_t th[64];
	size_t k = (size_t)w->cfg->health_concurrency, started = 0;

	if (k > n)
		k = n;
	if (k > sizeof(th) / sizeof(th[0]))
		k = sizeof(th) / sizeof(th[0]);
	for (size_t i = 1; i < k; i++)
		if (pthread_create(&th[started], NULL, worker, &run) == 0)
			started++;
	worker(&run); /* the calling thread works too */
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* After a recorded health check of active secret si: count a failure,
 * and alert when it is new and not transient. */
static int settle(struct watch_ctx *w, const struct cred *c,
		  const struct secret_info *si, const struct probe_result *pr,
		  struct watch_report *r, struct err *e)
{
	char msg[8192];

	if (pr->ok)
		return 0;
	r->health_failures++;
	if (probe_inconclusive(pr)) {
		/* Not the secret's failure: nothing recorded, no alert about
		 * it; due again at the next cycle. */
		watch_log(
		    w, LOG_WARNING,
		    "%s: health check of %s %s~ could not reach a verdict "
		    "(%s: a fault of this host's configuration or the "
		    "network, not of the secret): %s",
		    c->name, secret_kind_noun(si->kind), si->hint,
		    diag_step_name(pr->diag.step), pr->diag.summary);
		return 0;
	}
	watch_log(w, LOG_WARNING, "%s: health check of %s %s~ failed: %s",
		  c->name, secret_kind_noun(si->kind), si->hint,
		  pr->has_diag ? pr->diag.summary : "failed");
	if (!policy_health_alert(si, pr->has_diag && pr->diag.transient))
		return 0;
	snprintf(msg, sizeof(msg),
		 "A token request with the active %s %s~ of %s failed: mail "
		 "through %s is likely failing now. %s %s",
		 secret_kind_noun(si->kind), si->hint, c->name, c->name,
		 pr->has_diag ? pr->diag.summary : "",
		 pr->has_diag ? pr->diag.remedy : "");
	if (store_begin(w->store, e))
		return -1;
	if (watch_queue_alert(w, c, si, ALERT_HEALTH_FAILED, LEVEL_CRITICAL,
			      msg, e)) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

int watch_health_add(struct watch_ctx *w, struct health_batch *b,
		     const struct cred_view *v, struct watch_report *r,
		     struct err *e)
{
	struct health_job *j;

	if (b->jobs == NULL) {
		b->jobs = calloc(BATCH, sizeof(*b->jobs));
		if (b->jobs == NULL) {
			err_set(e, "out of memory");
			return -1;
		}
	}
	j = &b->jobs[b->n];
	memset(j, 0, sizeof(*j));
	j->cred = v->cred;
	j->si = v->active;
	if (material_open(w->store, w->vault, &j->si, &j->mat, e))
		return -1;
	b->n++;
	return b->n == BATCH ? watch_health_flush(w, b, r, e) : 0;
}

int watch_health_flush(struct watch_ctx *w, struct health_batch *b,
		       struct watch_report *r, struct err *e)
{
	int rc = 0;

	if (b->n == 0)
		return 0;
	net_global_init(e); /* before any thread touches libcurl */
	run_probes(w, b->jobs, b->n);
	for (size_t i = 0; i < b->n; i++) {
		struct health_job *j = &b->jobs[i];
		r->health_checks++;
		if (rc == 0)
			rc = watch_record_test(w, &j->cred, &j->si, true,
					       &j->pr, &j->mat, e) ||
			     settle(w, &j->cred, &j->si, &j->pr, r, e);
		material_free(&j->mat);
		probe_result_free(&j->pr);
	}
	b->n = 0;
	return rc ? -1 : 0;
}

void watch_health_free(struct health_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		material_free(&b->jobs[i].mat);
		probe_result_free(&b->jobs[i].pr);
	}
	free(b->jobs);
	b->jobs = NULL;
	b->n = 0;
}
