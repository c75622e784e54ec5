#include "deploy.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "subproc.h"
#include "timefmt.h"

int deploy_run(const char *program, const struct cred *c,
	       const struct secret_info *si, const char *deploy_id,
	       const char *secret, size_t secret_len, long timeout_s,
	       struct err *e)
{
	char id[24], expires[TIMEFMT_RFC3339_LEN];
	struct iovec in[2];
	struct subproc_env env;
	struct subproc_req rq = {0};
	bool pem = si != NULL && si->kind == SECRET_KIND_CERTIFICATE;
	int ret = -1;

	if (program == NULL || program[0] == '\0' || c == NULL || si == NULL ||
	    secret == NULL || secret_len == 0) {
		err_set(e, "deploy hook: no program, credential or secret");
		return -1;
	}
	/* A certificate goes as PEM (its lines are its own); a secret as
	 * one line. */
	if ((!pem && memchr(secret, '\n', secret_len) != NULL) ||
	    memchr(secret, '\0', secret_len) != NULL) {
		err_set(e,
			"deploy hook %s: the secret of %s has a line "
			"break or NUL in it; not handed over",
			program, c->name);
		return -1;
	}
	snprintf(id, sizeof(id), "%lld", (long long)si->id);
	timefmt_rfc3339(si->expires_at, expires);

	subproc_env_init(&env);
	subproc_env_add(&env, "SECRETWATCH_CREDENTIAL", c->name);
	subproc_env_add(&env, "SECRETWATCH_SECRET_ID", id);
	subproc_env_add(&env, "SECRETWATCH_HINT", si->hint);
	subproc_env_add(&env, "SECRETWATCH_KEY_ID", si->key_id);
	subproc_env_add(&env, "SECRETWATCH_EXPIRES_AT", expires);
	subproc_env_add(&env, "SECRETWATCH_KIND", secret_kind_name(si->kind));
	if (deploy_id != NULL)
		subproc_env_add(&env, "SECRETWATCH_DEPLOY_ID", deploy_id);
	if (env.failed) {
		err_set(e, "deploy hook %s: out of memory", program);
		goto out;
	}

	in[0].iov_base = (void *)secret;
	in[0].iov_len = secret_len;
	in[1].iov_base = (void *)"\n";
	in[1].iov_len = 1;
	rq.what = "deploy hook";
	rq.program = program;
	rq.envp = env.v;
	rq.input = in;
	rq.input_n = pem ? 1 : 2;
	rq.timeout_s = timeout_s > 0 ? timeout_s : DEPLOY_TIMEOUT_DEFAULT;
	ret = subproc_run(&rq, e);
out:
	subproc_env_free(&env);
	return ret;
}
