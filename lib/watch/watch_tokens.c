/* watch_tokens.c - token files: for every credential that opted in, keep
 * <[tokens] dir>/<name> holding a valid token of its active secret
 * (lib/tokenfile writes it; lib/policy decides when). A failed refresh
 * keeps the old file while its token is valid, then removes it and
 * alerts once. The token itself is never logged. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "event.h"
#include "timefmt.h"
#include "tokenfile.h"
#include "watch_impl.h"

struct names {
	char (*name)[CRED_NAME_MAX + 1];
	size_t n, cap;
	int failed;
};

/* Opted in, or opted out with a file of ours still there. */
static int collect(void *ctx, const struct cred_view *v)
{
	struct names *ns = ctx;

	if (!v->cred.token_file && v->cred.token_file_expires_at == 0)
		return 0;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 16;
		void *p = realloc(ns->name, cap * sizeof(*ns->name));
		if (p == NULL) {
			ns->failed = 1;
			return 1;
		}
		ns->name = p;
		ns->cap = cap;
	}
	memcpy(ns->name[ns->n++], v->cred.name, sizeof(v->cred.name));
	return 0;
}

static bool present(const struct watch_ctx *w, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (snprintf(path, sizeof(path), "%s/%s", w->cfg->token_dir, name) >=
	    (int)sizeof(path))
		return false;
	return lstat(path, &st) == 0 || errno != ENOENT;
}

static int record(struct watch_ctx *w, struct cred *c, int64_t secret_id,
		  int64_t exp, int64_t failed_at, struct err *e)
{
	c->token_file_secret_id = secret_id;
	c->token_file_expires_at = exp;
	c->token_file_failed_at = failed_at;
	return store_cred_token_file(w->store, c->id, secret_id, exp, failed_at,
				     e);
}

/* A fresh token of the active secret into the file. */
static int write_one(struct watch_ctx *w, const struct cred_view *v,
		     int64_t *ret_exp, struct err *fe)
{
	struct entra_result res;
	struct token_src ts;
	struct net_opts net;
	struct vbuf tok;
	gid_t gid;
	int rc;

	if (tokenfile_group(w->cfg->token_group, &gid, fe))
		return -1;
	watch_token_src(w, &net, &ts);
	ts.min_valid = POLICY_TOKEN_REFRESH;
	if (token_get(&ts, &v->cred, &tok, ret_exp, &res, fe))
		return -1;
	rc = tokenfile_write(w->cfg->token_dir, v->cred.name, tok.p, tok.len,
			     gid, fe);
	vbuf_free(&tok);
	return rc;
}

/* A failed refresh: drop an expired file, alert once per streak. */
static int write_failed(struct watch_ctx *w, const struct cred_view *v,
			struct cred *c, bool was_present, const char *why,
			struct err *e)
{
	bool drop = policy_token_file_drop(c, was_present, w->now);
	bool valid =
	    was_present && !drop && c->token_file_secret_id == v->active.id;
	bool alert = policy_token_file_alert(c, valid);
	char msg[ERR_MSG_MAX + 256];
	struct err ignored;

	if (drop)
		tokenfile_remove(w->cfg->token_dir, c->name, &ignored);
	watch_log(w, LOG_WARNING, "%s: token file not refreshed: %s%s", c->name,
		  why,
		  drop	  ? "; removed it, its token had expired"
		  : valid ? "; the old token serves until it expires"
			  : "");
	if (!drop && !alert)
		return 0;
	err_fmt(msg, sizeof(msg),
		"%s: the token file %s/%s holds no valid token, so mail "
		"relayed with it is deferred: %s. See 'secretwatch postfix "
		"%s'.",
		c->name, w->cfg->token_dir, c->name, why, c->name);
	if (store_begin(w->store, e))
		return -1;
	if (record(w, c, drop ? 0 : c->token_file_secret_id,
		   drop ? 0 : c->token_file_expires_at,
		   alert ? w->now : c->token_file_failed_at, e) ||
	    (alert &&
	     (event_addf(w->store, w->now, c->name, v->active.id,
			 "token-file-failed", e, "error", why, EVENT_END) ||
	      watch_queue_alert(w, c, &v->active, ALERT_TOKEN_FILE_FAILED,
				LEVEL_CRITICAL, msg, e)))) {
		store_rollback(w->store);
		return -1;
	}
	return store_commit(w->store, e);
}

static int refresh(struct watch_ctx *w, const struct cred_view *v,
		   struct cred *c, bool was_present, struct err *e)
{
	char until[TIMEFMT_RFC3339_LEN];
	struct err fe;
	int64_t exp;

	if (w->dry_run) {
		watch_log(w, LOG_INFO, "%s: would refresh its token file",
			  c->name);
		return 0;
	}
	if (write_one(w, v, &exp, &fe))
		return write_failed(w, v, c, was_present, fe.msg, e);
	timefmt_rfc3339(exp, until);
	watch_log(w, LOG_INFO, "%s: token file refreshed, valid until %s",
		  c->name, until);
	return record(w, c, v->active.id, exp, 0, e);
}

/* No token to write (opted out, or no active secret): a file of ours
 * goes when opted out or once its token has expired. */
static int clean(struct watch_ctx *w, struct cred *c, bool was_present,
		 struct err *e)
{
	struct err fe;

	if (c->token_file && !policy_token_file_drop(c, was_present, w->now))
		return 0;
	if (w->dry_run)
		return 0;
	if (tokenfile_remove(w->cfg->token_dir, c->name, &fe)) {
		watch_log(w, LOG_WARNING, "%s: %s", c->name, fe.msg);
		return 0;
	}
	watch_log(w, LOG_INFO, "%s: token file removed", c->name);
	return record(w, c, 0, 0, 0, e);
}

static int one(struct watch_ctx *w, struct watch_report *r, struct cred_view *v,
	       struct err *e)
{
	bool was_present = present(w, v->cred.name);
	int64_t at;
	int rc;

	if (policy_token_file_due(v, was_present, w->now))
		rc = refresh(w, v, &v->cred, was_present, e);
	else if (!v->cred.token_file || !v->has_active)
		rc = clean(w, &v->cred, was_present, e);
	else
		rc = 0;
	at = policy_token_file_wake(v, w->now);
	if (at > 0 && (r->next_wake == 0 || at < r->next_wake))
		r->next_wake = at;
	return rc;
}

int watch_tokens(struct watch_ctx *w, struct watch_report *r, struct err *e)
{
	struct names ns = {0};
	struct cred_view *v;
	int rc = 0;

	if (w->cfg->token_dir[0] == '\0')
		return 0;
	if (store_view_each(w->store, NULL, collect, &ns, e))
		return -1;
	for (size_t i = 0; i < ns.n && rc == 0; i++) {
		if (w->stop != NULL && *w->stop)
			break;
		if (store_view_get(w->store, ns.name[i], &v, e))
			continue; /* removed meanwhile */
		rc = one(w, r, v, e);
		free(v);
	}
	if (ns.failed && rc == 0) {
		err_set(e, "out of memory listing token files");
		rc = -1;
	}
	free(ns.name);
	return rc;
}
