/* libxoauth2-secretwatch: a Cyrus SASL 2.1 client plugin offering the
 * XOAUTH2 mechanism with access tokens that secretwatchd keeps in files,
 * one per credential, in a token directory.
 *
 * Postfix's smtp(8) loads SASL plugins as root before it chroots into the
 * queue directory; after that no path outside it opens. So the directory
 * is opened once, at load time, and every authentication opens its file
 * relative to that descriptor. The file is named by the SASL password of
 * the password map entry (mailbox:credential), or by the username when the
 * password is empty.
 *
 * Cyrus's log formatter knows no "%.*s": every message is built here and
 * logged as one "%s". The token is never logged. */
#include "xoauth2_token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#ifndef XOAUTH2_TOKEN_DIR
#define XOAUTH2_TOKEN_DIR "/run/secretwatch/tokens"
#endif

#define EXPORT __attribute__((visibility("default")))

/* Global state: the token directory, opened at load time. */
struct xo_glob {
	int dirfd;
	char dir[512];
};

/* One authentication: the initial response, kept until disposal. */
struct xo_conn {
	struct xo_glob *glob;
	int step;
	char *resp;
	unsigned resp_len;
};

static void xo_log(const sasl_utils_t *utils, int level, const char *msg)
{
	utils->log(utils->conn, level, "%s", msg);
}

/* Opens the token directory: the plugin option xoauth2_token_dir (for
 * applications with a SASL_CB_GETOPT callback), else the environment
 * variable SECRETWATCH_TOKEN_DIR (Postfix: import_environment; ignored in
 * set-user-ID programs, like Cyrus's own SASL_PATH), else the compiled-in
 * default. */
static void xo_open_dir(const sasl_utils_t *utils, struct xo_glob *g)
{
	const char *dir = NULL;
	unsigned len = 0;

	if (!utils->getopt ||
	    utils->getopt(utils->getopt_context, "XOAUTH2", "xoauth2_token_dir",
			  &dir, &len) != SASL_OK ||
	    !dir || !*dir)
		dir = secure_getenv("SECRETWATCH_TOKEN_DIR");
	if (!dir || !*dir)
		dir = XOAUTH2_TOKEN_DIR;
	snprintf(g->dir, sizeof(g->dir), "%s", dir);
	g->dirfd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int xo_mech_new(void *glob, sasl_client_params_t *params,
		       void **ret_conn)
{
	struct xo_conn *c = params->utils->malloc(sizeof(*c));

	if (!c)
		return SASL_NOMEM;
	memset(c, 0, sizeof(*c));
	c->glob = glob;
	*ret_conn = c;
	return SASL_OK;
}

/* The value of simple callback ID (SASL_CB_AUTHNAME), or NULL. */
static const char *xo_get_simple(const sasl_utils_t *utils, int id)
{
	sasl_getsimple_t *proc = NULL;
	void *ctx = NULL;
	const char *res = NULL;
	unsigned len = 0;

	if (utils->getcallback(utils->conn, (unsigned long)id,
			       (sasl_callback_ft *)&proc, &ctx) != SASL_OK ||
	    !proc || proc(ctx, id, &res, &len) != SASL_OK)
		return NULL;
	return res;
}

/* Copies the SASL password (the credential name) into NAME. */
static void xo_get_pass(const sasl_utils_t *utils, char *name, size_t size)
{
	sasl_getsecret_t *proc = NULL;
	sasl_secret_t *sec = NULL;
	void *ctx = NULL;

	name[0] = '\0';
	if (utils->getcallback(utils->conn, SASL_CB_PASS,
			       (sasl_callback_ft *)&proc, &ctx) != SASL_OK ||
	    !proc || proc(utils->conn, ctx, SASL_CB_PASS, &sec) != SASL_OK ||
	    !sec)
		return;
	if (sec->len < size && !memchr(sec->data, '\0', sec->len)) {
		memcpy(name, sec->data, sec->len);
		name[sec->len] = '\0';
	} else {
		/* Too long or with a NUL: refused by name check. */
		snprintf(name, size, "/");
	}
}

/* Logs, in one line, why the token of file NAME cannot be used. */
static void xo_log_token(const sasl_utils_t *utils, const struct xo_glob *g,
			 const char *name, enum xoauth2_token_err err,
			 int errnum, long long exp, time_t now)
{
	char msg[2048], extra[768] = "";

	if (err == XOAUTH2_TOKEN_EXPIRED) {
		time_t t = (time_t)exp;
		struct tm tm;
		char when[32] = "?";

		if (gmtime_r(&t, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		snprintf(extra, sizeof(extra),
			 " (expired %s, %lld s ago; is secretwatchd running?)",
			 when, (long long)now - exp);
	} else if (err == XOAUTH2_TOKEN_NODIR) {
		snprintf(extra, sizeof(extra), " (%s: %s)", g->dir,
			 strerror(errnum));
	} else if (errnum) {
		snprintf(extra, sizeof(extra), " (%s)", strerror(errnum));
	}
	if (err == XOAUTH2_TOKEN_BADNAME)
		snprintf(msg, sizeof(msg),
			 "XOAUTH2: cannot authenticate: the password map entry "
			 "must be mailbox:credential-name; the name %s",
			 xoauth2_token_why(err));
	else
		snprintf(msg, sizeof(msg),
			 "XOAUTH2: cannot authenticate: token file %s/%s %s%s",
			 g->dir, name, xoauth2_token_why(err), extra);
	xo_log(utils, SASL_LOG_ERR, msg);
}

/* Reads the token of file NAME; re-opens the directory if it could not
 * be opened at load time (possible only outside a chroot). */
static int xo_token(const sasl_utils_t *utils, struct xo_glob *g,
		    const char *name, char **ret_tok, size_t *ret_len)
{
	enum xoauth2_token_err err;
	time_t now = time(NULL);
	long long exp = 0;
	int errnum = 0, dir_errno = 0;

	if (g->dirfd < 0) {
		g->dirfd = open(g->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dir_errno = errno;
	}
	err = xoauth2_token_read(g->dirfd, name, now, ret_tok, ret_len, &errnum,
				 &exp);
	if (err == XOAUTH2_TOKEN_OK)
		return SASL_OK;
	if (err == XOAUTH2_TOKEN_NODIR)
		errnum = dir_errno;
	xo_log_token(utils, g, name, err, errnum, exp, now);
	return err == XOAUTH2_TOKEN_NOMEM ? SASL_NOMEM : SASL_FAIL;
}

/* Builds "user=USER\1auth=Bearer TOKEN\1\1" into C->resp. */
static int xo_build(const sasl_utils_t *utils, struct xo_conn *c,
		    const char *user, const char *tok, size_t tok_len)
{
	static const char p1[] = "user=", p2[] = "\001auth=Bearer ",
			  p3[] = "\001\001";
	size_t ulen = strlen(user);
	size_t len =
	    sizeof(p1) - 1 + ulen + sizeof(p2) - 1 + tok_len + sizeof(p3) - 1;
	char *p;

	if (len > 0xffffff)
		return SASL_BUFOVER;
	c->resp = utils->malloc((unsigned)len + 1);
	if (!c->resp)
		return SASL_NOMEM;
	p = c->resp;
	memcpy(p, p1, sizeof(p1) - 1);
	p += sizeof(p1) - 1;
	memcpy(p, user, ulen);
	p += ulen;
	memcpy(p, p2, sizeof(p2) - 1);
	p += sizeof(p2) - 1;
	memcpy(p, tok, tok_len);
	p += tok_len;
	memcpy(p, p3, sizeof(p3));
	c->resp_len = (unsigned)len;
	return SASL_OK;
}

/* The first step: the initial response. */
static int xo_first(struct xo_conn *c, sasl_client_params_t *params,
		    const char **clientout, unsigned *clientoutlen,
		    sasl_out_params_t *oparams)
{
	const sasl_utils_t *utils = params->utils;
	const char *user = xo_get_simple(utils, SASL_CB_AUTHNAME);
	char name[256], msg[512];
	char *tok = NULL;
	size_t tok_len = 0;
	int ret;

	if (!user || !*user || strchr(user, '\001')) {
		xo_log(utils, SASL_LOG_ERR,
		       "XOAUTH2: cannot authenticate: no usable username "
		       "(the mailbox) in the password map entry");
		return SASL_BADPARAM;
	}
	xo_get_pass(utils, name, sizeof(name));
	ret = xo_token(utils, c->glob, name[0] ? name : user, &tok, &tok_len);
	explicit_bzero(name, sizeof(name));
	if (ret != SASL_OK)
		return ret;
	ret = params->canon_user(utils->conn, user, 0,
				 SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
	if (ret != SASL_OK) {
		snprintf(msg, sizeof(msg),
			 "XOAUTH2: the username %s was refused (SASL error %d)",
			 user, ret);
		xo_log(utils, SASL_LOG_ERR, msg);
		goto out_tok;
	}
	ret = xo_build(utils, c, user, tok, tok_len);
	if (ret != SASL_OK)
		goto out_tok;
	*clientout = c->resp;
	*clientoutlen = c->resp_len;
	oparams->doneflag = 0;
	oparams->mech_ssf = 0;
	oparams->maxoutbuf = 0;
	oparams->encode = NULL;
	oparams->decode = NULL;
	oparams->param_version = 0;
	c->step = 1;
	ret = SASL_CONTINUE;
out_tok:
	explicit_bzero(tok, tok_len);
	free(tok);
	return ret;
}

/* Copies the "status" of a JSON error challenge, letters and digits only,
 * into OUT: it is logged, so nothing else of the server's text is. */
static void xo_status(const char *in, unsigned len, char *out, size_t size)
{
	static const char key[] = "\"status\"";
	size_t n = 0;

	snprintf(out, size, "unknown");
	for (unsigned i = 0; i + sizeof(key) - 1 <= len; i++) {
		unsigned j = i + sizeof(key) - 1;

		if (memcmp(in + i, key, sizeof(key) - 1) != 0)
			continue;
		while (j < len &&
		       (in[j] == ' ' || in[j] == ':' || in[j] == '"'))
			j++;
		while (j < len && n + 1 < size && n < 16 &&
		       ((in[j] >= '0' && in[j] <= '9') ||
			(in[j] >= 'a' && in[j] <= 'z') ||
			(in[j] >= 'A' && in[j] <= 'Z')))
			out[n++] = in[j++];
		if (n > 0)
			out[n] = '\0';
		return;
	}
}

static int xo_mech_step(void *conn_ctx, sasl_client_params_t *params,
			const char *serverin, unsigned serverinlen,
			sasl_interact_t **prompt_need, const char **clientout,
			unsigned *clientoutlen, sasl_out_params_t *oparams)
{
	struct xo_conn *c = conn_ctx;
	char status[24], msg[256];

	(void)prompt_need;
	*clientout = NULL;
	*clientoutlen = 0;
	if (c->step == 0 && serverinlen == 0)
		return xo_first(c, params, clientout, clientoutlen, oparams);
	if (c->step == 1 && serverinlen > 0) {
		/* The server's error challenge: the empty response ends the
		 * exchange; the mail is deferred, the token not retried. */
		xo_status(serverin, serverinlen, status, sizeof(status));
		snprintf(msg, sizeof(msg),
			 "XOAUTH2: the server refused the token (error "
			 "challenge, status %s)",
			 status);
		xo_log(params->utils, SASL_LOG_ERR, msg);
		c->step = 2;
		*clientout = "";
		return SASL_BADAUTH;
	}
	xo_log(params->utils, SASL_LOG_ERR,
	       "XOAUTH2: unexpected server challenge");
	return SASL_BADPROT;
}

static void xo_mech_dispose(void *conn_ctx, const sasl_utils_t *utils)
{
	struct xo_conn *c = conn_ctx;

	if (!c)
		return;
	if (c->resp) {
		explicit_bzero(c->resp, c->resp_len);
		utils->free(c->resp);
	}
	utils->free(c);
}

static void xo_mech_free(void *glob, const sasl_utils_t *utils)
{
	struct xo_glob *g = glob;

	if (!g)
		return;
	if (g->dirfd >= 0)
		close(g->dirfd);
	utils->free(g);
}

static const unsigned long xo_prompts[] = {SASL_CB_AUTHNAME, SASL_CB_LIST_END};

/* NOPLAINTEXT: the token is a bearer credential sent in the clear within
 * the SASL exchange, like PLAIN's password; the plugin claims it anyway
 * because Postfix's default smtp_sasl_security_options (noplaintext,
 * noanonymous) would otherwise never pick it, and it is meant for use
 * only under smtp_tls_security_level = encrypt, where nothing travels in
 * plain text: the documented configuration requires that. */
static sasl_client_plug_t xo_plugins[] = {{
    .mech_name = "XOAUTH2",
    .max_ssf = 0,
    .security_flags = SASL_SEC_NOANONYMOUS | SASL_SEC_NOPLAINTEXT,
    .features = SASL_FEAT_WANT_CLIENT_FIRST,
    .required_prompts = xo_prompts,
    .mech_new = xo_mech_new,
    .mech_step = xo_mech_step,
    .mech_dispose = xo_mech_dispose,
    .mech_free = xo_mech_free,
}};

EXPORT int sasl_client_plug_init(const sasl_utils_t *utils, int max_version,
				 int *out_version,
				 sasl_client_plug_t **pluglist, int *plugcount);

int sasl_client_plug_init(const sasl_utils_t *utils, int max_version,
			  int *out_version, sasl_client_plug_t **pluglist,
			  int *plugcount)
{
	struct xo_glob *g;

	if (max_version < SASL_CLIENT_PLUG_VERSION) {
		xo_log(utils, SASL_LOG_ERR,
		       "XOAUTH2: libsasl2 too old for this plugin");
		return SASL_BADVERS;
	}
	g = utils->malloc(sizeof(*g));
	if (!g)
		return SASL_NOMEM;
	memset(g, 0, sizeof(*g));
	xo_open_dir(utils, g);
	xo_plugins[0].glob_context = g;
	*out_version = SASL_CLIENT_PLUG_VERSION;
	*pluglist = xo_plugins;
	*plugcount = 1;
	return SASL_OK;
}
