/* watch_record.c - the log line and the audit event every step leaves. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "store.h"
#include "watch_impl.h"

void watch_log(struct watch_ctx *w, int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (w->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	w->log(w->log_arg, prio, line);
}

int watch_record_graph_failed(struct watch_ctx *w, const char *cred,
			      int64_t secret_id, const char *kind,
			      const char *key_id, const char *step,
			      const char *summary, struct watch_report *r,
			      struct err *e)
{
	r->graph_failures++;
	watch_log(w, LOG_WARNING, "%s: %s failed: %s", cred, kind, summary);
	if (store_counter_add(w->store, COUNTER_GRAPH_FAILURES, 1, e))
		return -1;
	if (step == NULL)
		return event_addf(w->store, w->now, cred, secret_id, kind, e,
				  "key_id", key_id, "outcome", "failed",
				  "error", summary, EVENT_END);
	return event_addf(w->store, w->now, cred, secret_id, kind, e, "key_id",
			  key_id, "outcome", "failed", "step", step, "error",
			  summary, EVENT_END);
}

int watch_record_removed(struct watch_ctx *w, const char *cred,
			 const char *what, const char *key_id, const char *why,
			 struct err *e)
{
	watch_log(w, LOG_NOTICE, "%s: removed %s %s from Entra (%s)", cred,
		  what, key_id, why);
	return event_addf(w->store, w->now, cred, 0, "graph-remove", e,
			  "key_id", key_id, "outcome", "ok", "reason", why,
			  EVENT_END)
		   ? -1
		   : 0;
}

void watch_token_src(const struct watch_ctx *w, struct net_opts *net,
		     struct token_src *ret)
{
	memset(net, 0, sizeof(*net));
	memset(ret, 0, sizeof(*ret));
	net->ca_file = w->cfg->ca_file[0] ? w->cfg->ca_file : NULL;
	ret->store = w->store;
	ret->vault = w->vault;
	ret->net = net;
	ret->retry = w->retry;
	ret->now = w->now;
}
