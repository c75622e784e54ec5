/* The exec channel: a program of the operator's, run with the alert in
 * SECRETWATCH_* environment variables (no arguments, stdin /dev/null,
 * stdout and stderr inherited), bounded by ALERT_EXEC_TIMEOUT_S. */
#include <stdio.h>

#include "alert_impl.h"
#include "subproc.h"
#include "timefmt.h"

bool alert_exec_configured(const struct config *cfg)
{
	return cfg->alert_exec[0] != '\0';
}

int alert_exec_send(const struct alert *a, const struct alert_ctx *ctx,
		    struct err *e)
{
	char expires[TIMEFMT_RFC3339_LEN], days[24];
	struct subproc_req rq = {0};
	struct subproc_env env;
	int ret = -1;

	if (ctx == NULL || ctx->cfg == NULL ||
	    !alert_exec_configured(ctx->cfg)) {
		err_set(e, "exec: no program ([alerts] exec)");
		return -1;
	}
	timefmt_rfc3339(a->expires_at, expires);
	snprintf(days, sizeof(days), "%lld", (long long)a->days_left);

	subproc_env_init(&env);
	subproc_env_add(&env, "SECRETWATCH_EVENT", alert_event_name(a->event));
	subproc_env_add(&env, "SECRETWATCH_CREDENTIAL", a->credential);
	subproc_env_add(&env, "SECRETWATCH_HINT", a->hint);
	subproc_env_add(&env, "SECRETWATCH_KEY_ID", a->key_id);
	subproc_env_add(&env, "SECRETWATCH_EXPIRES_AT", expires);
	subproc_env_add(&env, "SECRETWATCH_DAYS_LEFT", days);
	subproc_env_add(&env, "SECRETWATCH_LEVEL", a->level);
	subproc_env_add(&env, "SECRETWATCH_MESSAGE", a->message);
	if (a->app != NULL) {
		subproc_env_add(&env, "SECRETWATCH_APP", a->app);
		subproc_env_add(&env, "SECRETWATCH_APP_ID", a->app_id);
		subproc_env_add(&env, "SECRETWATCH_LINK", a->link);
	}
	if (env.failed) {
		err_set(e, "exec: out of memory");
		goto out;
	}
	rq.what = "exec";
	rq.program = ctx->cfg->alert_exec;
	rq.envp = env.v;
	rq.timeout_s = ALERT_EXEC_TIMEOUT_S;
	ret = subproc_run(&rq, e);
out:
	subproc_env_free(&env);
	return ret;
}
