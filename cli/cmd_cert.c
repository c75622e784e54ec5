/* cmd_cert.c - secretwatch cert: certificate credentials, their private
 * key made here (or imported) and kept encrypted in the store. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "diag.h"
#include "graph.h"
#include "material.h"
#include "num.h"
#include "render.h"
#include "text.h"
#include "timefmt.h"
#include "validate.h"
#include "x509.h"

#define CERT_DAYS_DEFAULT 180
#define CERT_DAYS_MAX	  3650
#define KEY_FILE_MAX	  65536
#define CERT_FILE_MAX	  65536

static const char usage[] =
    "usage: secretwatch cert new NAME [--days N] [--key rsa2048|rsa3072]\n"
    "                            [--out FILE] [--note TEXT] [--upload]\n"
    "       secretwatch cert import NAME --key-file FILE|- --cert-file FILE\n"
    "                            [--note TEXT]\n"
    "\n"
    "new makes an RSA key on this host and a self-signed certificate for\n"
    "it (subject CN=secretwatch NAME, valid N days, 180 by default). The\n"
    "private key is stored encrypted, like a secret's value, and never\n"
    "leaves this host; the certificate is printed as PEM (or written to\n"
    "FILE) with its thumbprints, to upload under App registrations > your\n"
    "app > Certificates & secrets > Certificates > Upload certificate.\n"
    "import takes an existing key and certificate (PEM; the key from FILE\n"
    "or standard input with -), refused unless they belong together.\n"
    "--upload adds the certificate to the app's keyCredentials through\n"
    "Microsoft Graph (keeping the ones it has), with the credential's\n"
    "active secret or certificate; the app needs\n"
    "Application.ReadWrite.OwnedBy and to own itself.\n"
    "Either way the certificate is pending until a test with it succeeds\n"
    "('secretwatch rotate NAME', or the daemon's next cycle).\n";

struct cert_args {
	const char *name;
	const char *out;
	const char *key_file;
	const char *cert_file;
	const char *note;
	int64_t days;
	int bits;
	bool upload;
	bool migrate; /* secretwatch migrate NAME --to certificate */
	const char *to;
	bool remove_secrets;
};

static int parse_opt(struct app *app, int opt, struct cert_args *a)
{
	if (opt == 'd') {
		if (num_parse_i64(optarg, 1, CERT_DAYS_MAX, &a->days))
			return app_fail(app,
					"--days '%.40s' is not a number of "
					"days from 1 to %d",
					optarg, CERT_DAYS_MAX);
	} else if (opt == 'k') {
		if (strcmp(optarg, "rsa2048") == 0)
			a->bits = 2048;
		else if (strcmp(optarg, "rsa3072") == 0)
			a->bits = 3072;
		else
			return app_fail(app,
					"--key '%.40s': use rsa2048 or rsa3072",
					optarg);
	} else if (opt == 'o') {
		a->out = optarg;
	} else if (opt == 'K') {
		a->key_file = optarg;
	} else if (opt == 'C') {
		a->cert_file = optarg;
	} else if (opt == 'n') {
		a->note = optarg;
	} else if (opt == 'U') {
		a->upload = true;
	} else if (opt == 'T') {
		a->to = optarg;
	} else if (opt == 'R') {
		a->remove_secrets = true;
	} else {
		return -1;
	}
	return 0;
}

static int parse(struct app *app, int argc, char **argv, struct cert_args *a)
{
	static const struct option opts[] = {
	    {"days", required_argument, NULL, 'd'},
	    {"key", required_argument, NULL, 'k'},
	    {"out", required_argument, NULL, 'o'},
	    {"key-file", required_argument, NULL, 'K'},
	    {"cert-file", required_argument, NULL, 'C'},
	    {"note", required_argument, NULL, 'n'},
	    {"upload", no_argument, NULL, 'U'},
	    {"to", required_argument, NULL, 'T'},
	    {"remove-secrets", no_argument, NULL, 'R'},
	    {"help", no_argument, NULL, OPT_HELP},
	    {"json", no_argument, NULL, OPT_JSON},
	    {"now", required_argument, NULL, OPT_NOW},
	    {0}};
	struct err e;
	int opt, rc;

	a->days = CERT_DAYS_DEFAULT;
	a->bits = 2048;
	while ((opt = app_getopt(app, argc, argv, opts)) != -1) {
		rc = parse_opt(app, opt, a);
		if (rc > 0 || (rc < 0 && app_common_opt(app, opt, usage) != 1))
			return 1;
	}
	if (optind != argc - 1)
		return app_bad_args(app);
	a->name = argv[optind];
	if (validate_name(a->name, &e) ||
	    (a->note && validate_text(a->note, SECRET_NOTE_MAX, "note", &e)))
		return app_fail_err(app, &e);
	return 0;
}

/* Open path for reading as the key file is opened (vault.c): without
 * blocking, so that a FIFO or a device cannot hang us, and only when it
 * is a regular file. "-" is standard input. Returns the descriptor, or
 * -1 with e. */
static int open_regular(const char *path, struct err *e)
{
	struct stat st;
	int fd;

	if (strcmp(path, "-") == 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		err_set(e, "cannot read %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err_set(e,
			"%s is not a regular file (a FIFO, device or "
			"directory): give the PEM file itself, or '-' for "
			"standard input",
			path);
		close(fd);
		return -1;
	}
	return fd;
}

/* Read a whole file (or stdin for "-") of at most max bytes into guarded
 * memory: a key file's text never passes through a stdio buffer. */
static int read_guarded(const char *path, size_t max, struct vbuf *ret,
			struct err *e)
{
	int fd = open_regular(path, e);
	ssize_t n = 0;

	if (fd < 0)
		return -1;
	if (vbuf_alloc(ret, max)) {
		err_set(e, "cannot read %s: out of memory", path);
		if (fd > 0)
			close(fd);
		return -1;
	}
	ret->len = 0;
	while (ret->len < max &&
	       ((n = read(fd, ret->p + ret->len, max - ret->len)) > 0 ||
		(n < 0 && errno == EINTR)))
		ret->len += n > 0 ? (size_t)n : 0;
	if (fd > 0)
		close(fd);
	if (n < 0 || ret->len == max) {
		err_set(e, "cannot read %s: %s", path,
			n < 0 ? strerror(errno) : "too large for a PEM file");
		vbuf_free(ret);
		return -1;
	}
	ret->p[ret->len] = '\0';
	return 0;
}

/* Store the pair as a pending certificate of c, with its audit event. */
static int store_pair(struct app *app, const struct cred *c,
		      const struct cert_args *a, const struct vbuf *key,
		      const uint8_t *cert, size_t len,
		      const struct x509_info *xi, struct secret_info *si,
		      struct err *e)
{
	cJSON *detail;

	memset(si, 0, sizeof(*si));
	si->credential_id = c->id;
	si->created_at = app->now;
	si->expires_at = xi->not_after;
	/* The hint of a certificate: its thumbprint's start, as the portal
	 * lists it. */
	memcpy(si->hint, xi->sha1_hex, 3);
	if (a->note)
		strcpy(si->note, a->note);
	if (store_begin(app->store, e) ||
	    store_cert_add(app->store, app->vault, si, key, cert, len, e))
		return -1;
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "kind", "certificate");
	cJSON_AddStringToObject(detail, "thumbprint_sha1", xi->sha1_hex);
	cJSON_AddStringToObject(detail, "thumbprint_sha256", xi->sha256_hex);
	cJSON_AddNumberToObject(detail, "expires_at", (double)si->expires_at);
	if (app_event(app, c->name, si->id, "certificate-added", detail, e) ||
	    store_commit(app->store, e))
		return -1;
	return 0;
}

static int write_out(const char *path, const char *pem, struct err *e)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(pem, f) < 0 || fclose(f) != 0) {
		err_set(e, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Tell what was stored and how to upload it. */
static int report(struct app *app, const struct cred *c,
		  const struct cert_args *a, const struct secret_info *si,
		  const struct x509_info *xi, const char *pem, struct err *e)
{
	char t[TIMEFMT_RFC3339_LEN], buf[4 * PATH_MAX];
	cJSON *o;

	if (a->out != NULL && write_out(a->out, pem, e))
		return -1;
	timefmt_rfc3339(xi->not_after, t);
	if (app->json) {
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "credential", c->name);
		cJSON_AddNumberToObject(o, "id", (double)si->id);
		cJSON_AddStringToObject(o, "kind", "certificate");
		cJSON_AddStringToObject(o, "subject", xi->subject);
		cJSON_AddStringToObject(o, "thumbprint_sha1", xi->sha1_hex);
		cJSON_AddStringToObject(o, "thumbprint_sha256", xi->sha256_hex);
		cJSON_AddStringToObject(o, "expires_at", t);
		cJSON_AddStringToObject(o, "certificate_pem", pem);
		app_print_json(o);
		return 0;
	}
	if (a->out == NULL)
		fputs(pem, stdout);
	/* The subject of an imported certificate and the --out path are
	 * someone else's text: shown escaped. */
	printf("registered certificate #%lld of %s as pending\n"
	       "  subject            %s\n"
	       "  expires            %s\n"
	       "  thumbprint SHA-1   %s\n"
	       "  thumbprint SHA-256 %s\n",
	       (long long)si->id, c->name,
	       render_esc(xi->subject, 0, buf, sizeof(buf)), t, xi->sha1_hex,
	       xi->sha256_hex);
	printf(
	    "Upload %s in the Entra admin center: App registrations > app %s "
	    "> Certificates & secrets > Certificates > Upload certificate. "
	    "Then run 'secretwatch rotate %s' to test it and switch.\n",
	    a->out ? render_esc(a->out, 0, buf, sizeof(buf)) : "the PEM above",
	    c->client_id, c->name);
	return 0;
}

/* A Graph token for c with its active row (or its newest pending one
 * other than skip). Returns 0, or -1 with the diagnosis in *d. */
static int upload_token(struct app *app, const struct cred_view *v,
			int64_t skip, const struct net_opts *net,
			struct entra_token *tok, struct diag *d, struct err *e)
{
	const struct secret_info *si = v->has_active ? &v->active : NULL;
	struct diag_input in = {&v->cred, NULL, NULL};
	struct entra_request rq;
	struct entra_result res;
	struct material m;
	int rc;

	for (int i = 0; si == NULL && i < v->npending; i++)
		if (v->pending[i].id != skip)
			si = &v->pending[i];
	if (si == NULL) {
		err_set(e, "%s has no secret or certificate to call Graph with",
			v->cred.name);
		return -1;
	}
	if (material_open(app->store, app->vault, si, &m, e))
		return -1;
	graph_token_request(&v->cred, &rq);
	rc = material_token(&m, &rq, net, NULL, app->now, &res, tok);
	material_free(&m);
	if (rc != 0) {
		in.hint = si->hint;
		diag_token(&in, &res, d);
		err_set(e, "no Graph token: %s", d->summary);
	}
	return rc;
}

/* Add the certificate of row si to the app's keyCredentials and record
 * its key ID. Returns 0, or -1 with e (the row stays, pending). */
static int upload(struct app *app, const struct cred *c, struct secret_info *si,
		  const uint8_t *cert, size_t len, struct err *e)
{
	struct net_opts net = {.ca_file = app->cfg.ca_file[0] ? app->cfg.ca_file
							      : NULL};
	struct entra_token tok = {0};
	struct graph_ctx g = {c, &net, NULL, &tok};
	struct graph_result res;
	struct cred_view *v = NULL;
	char name[64], key_id[CRED_GUID_LEN + 1], oid[CRED_GUID_LEN + 1];
	cJSON *detail;
	struct diag d;
	int rc = -1;

	snprintf(name, sizeof(name), "secretwatch %.40s", si->hint);
	if (store_view_get(app->store, c->name, &v, e) ||
	    upload_token(app, v, si->id, &net, &tok, &d, e))
		goto out;
	if (graph_add_certificate(&g, cert, len, name, key_id, oid, &res)) {
		struct diag_input in = {c, NULL, NULL};
		diag_graph(&in, &res, NULL, NULL, &d);
		/* An error is one line: the remedy's lines joined. */
		text_oneline(d.remedy, sizeof(d.remedy), d.remedy,
			     sizeof(d.remedy));
		err_set(e, "%s %s", d.summary, d.remedy);
		goto out;
	}
	if (store_begin(app->store, e))
		goto out;
	detail = cJSON_CreateObject();
	cJSON_AddStringToObject(detail, "key_id", key_id);
	if (store_sync_correct(app->store, si->id, si->expires_at, key_id, e) <
		0 ||
	    (oid[0] &&
	     store_cred_set_app_object_id(app->store, c->id, oid, e)) ||
	    app_event(app, c->name, si->id, "graph-upload", detail, e) ||
	    store_commit(app->store, e)) {
		store_rollback(app->store);
		goto out;
	}
	if (!app->json)
		printf("uploaded to the app's certificates as key %s\n",
		       key_id);
	rc = 0;
out:
	entra_token_free(&tok);
	free(v);
	return rc;
}

/* Store key and cert for c and report; the key is wiped by the caller. */
static int finish(struct app *app, const struct cred *c,
		  const struct cert_args *a, const struct vbuf *key,
		  const uint8_t *cert, size_t len, struct secret_info *ret,
		  struct err *e)
{
	struct x509_info xi;
	struct secret_info si;
	char *pem = NULL;
	int rc = -1;

	if (x509_cert_info(cert, len, &xi, e) ||
	    x509_cert_pem(cert, len, &pem, e))
		goto out;
	if (xi.not_after <= app->now) {
		char t[TIMEFMT_RFC3339_LEN];

		timefmt_rfc3339(xi.not_after, t);
		err_set(e,
			"the certificate expired at %s (its notAfter): make "
			"a new one with 'secretwatch cert new %s'",
			t, c->name);
		goto out;
	}
	if (store_pair(app, c, a, key, cert, len, &xi, &si, e)) {
		store_rollback(app->store);
		goto out;
	}
	rc = a->migrate ? 0 : report(app, c, a, &si, &xi, pem, e);
	if (rc == 0 && a->upload && upload(app, c, &si, cert, len, e)) {
		struct err why = *e;
		err_set(e,
			"the certificate is stored, pending, but the upload "
			"failed: %s",
			why.msg);
		rc = -1;
	}
	*ret = si;
out:
	free(pem);
	return rc;
}

static int make_pair(struct app *app, const struct cert_args *a,
		     const struct cred *c, struct vbuf *key, uint8_t **cert,
		     size_t *len, struct err *e)
{
	struct vbuf pem = {0}, crt = {0};
	int rc;

	if (a->key_file == NULL)
		return x509_generate(c->name, a->bits, (int)a->days, app->now,
				     key, cert, len, e);
	if (read_guarded(a->key_file, KEY_FILE_MAX, &pem, e))
		return -1;
	rc = read_guarded(a->cert_file, CERT_FILE_MAX, &crt, e) ||
	     x509_import_pem(&pem, crt.p, crt.len, key, cert, len, e);
	vbuf_free(&pem);
	vbuf_free(&crt);
	return rc ? -1 : 0;
}

/* The checks of one mode's options; 0, or the exit code. */
/* migrate, after the upload: test and switch (app_rotate), and with
 * --remove-secrets, have the watchdog remove the app's client secrets
 * after the grace period. Returns the exit code. */
static int migrate_rest(struct app *app, const struct cred *c,
			const struct cert_args *a, const struct secret_info *si)
{
	struct cred upd = *c;
	struct err e;
	int rc;

	printf("migrating %s to certificate #%lld (uploaded as key %s)\n",
	       c->name, (long long)si->id, si->key_id);
	rc = app_rotate(app, c, si->id);
	/* A first test may fail while Entra propagates the new key: the
	 * watchdog tries again, and the removal waits for that switch. */
	if ((rc != 0 && rc != 2) || !a->remove_secrets)
		return rc;
	/* The previous secrets go from Entra after the grace period, as an
	 * automatic rotation's do (policy_revoke_at). */
	upd.rotate_auto = 1;
	if (store_begin(app->store, &e) ||
	    store_cred_update(app->store, &upd, &e) ||
	    app_event(app, c->name, si->id, "migrate-remove-secrets", NULL,
		      &e) ||
	    store_commit(app->store, &e)) {
		store_rollback(app->store);
		return app_fail_err(app, &e);
	}
	printf("%s: its client secrets are removed from Entra once [rotate] "
	       "grace has passed since the switch\n",
	       c->name);
	return rc;
}

static int check_mode(struct app *app, const struct cert_args *a, int import)
{
	if (a->migrate != (a->to != NULL) || (a->remove_secrets && !a->migrate))
		return app_bad_args(app);
	if (a->migrate && strcmp(a->to, "certificate") != 0)
		return app_fail(app, "migrate --to '%.40s': only 'certificate'",
				a->to);
	if (import && (a->key_file == NULL || a->cert_file == NULL))
		return app_fail(app, "cert import needs --key-file FILE (or -) "
				     "and --cert-file FILE");
	if (!import && (a->key_file != NULL || a->cert_file != NULL))
		return app_fail(app, "cert new makes its own key: use 'cert "
				     "import' for an existing pair");
	return 0;
}

static int run(struct app *app, int argc, char **argv, int import, bool migrate)
{
	struct cert_args a = {.migrate = migrate};
	struct secret_info si;
	struct vbuf key = {0};
	uint8_t *cert = NULL;
	size_t len = 0;
	struct cred c;
	struct err e;
	int rc = 1;

	if (parse(app, argc, argv, &a))
		return 1;
	a.upload = a.upload || migrate;
	if ((rc = check_mode(app, &a, import)) != 0)
		return rc;
	rc = 1;
	if (app_open(app, APP_KEY | APP_WRITE))
		return 1;
	if (store_cred_get(app->store, a.name, &c, &e) == 0 &&
	    make_pair(app, &a, &c, &key, &cert, &len, &e) == 0 &&
	    finish(app, &c, &a, &key, cert, len, &si, &e) == 0)
		rc = 0;
	vbuf_free(&key);
	free(cert);
	if (rc == 0 && migrate)
		rc = migrate_rest(app, &c, &a, &si);
	else if (rc != 0)
		rc = app_fail_err(app, &e);
	app_close(app);
	return rc;
}

static int cert_new(struct app *app, int argc, char **argv)
{
	return run(app, argc, argv, 0, false);
}

static int cert_import(struct app *app, int argc, char **argv)
{
	return run(app, argc, argv, 1, false);
}

static const struct command cert_commands[] = {
    {"new", cert_new, "make a key and a certificate"},
    {"import", cert_import, "register an existing key and certificate"},
};

static const char migrate_usage[] =
    "usage: secretwatch migrate NAME --to certificate [--days N]\n"
    "                           [--key rsa2048|rsa3072] [--remove-secrets]\n"
    "\n"
    "Move a credential from client secrets to a certificate: a new key and\n"
    "certificate made here (as 'cert new'), added to the app's\n"
    "keyCredentials through Graph (as 'cert new --upload'), tested with a\n"
    "token request and an XOAUTH2 send, and switched to. With\n"
    "--remove-secrets the app's client secrets are removed from Entra\n"
    "once the grace period ([rotate] grace) has passed since the switch.\n";

int cmd_migrate(struct app *app, int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			fputs(migrate_usage, stdout);
			return 0;
		}
	return run(app, argc, argv, 0, true);
}

int cmd_cert(struct app *app, int argc, char **argv)
{
	return app_dispatch(app, cert_commands,
			    sizeof(cert_commands) / sizeof(cert_commands[0]),
			    "cert", usage, argc, argv);
}
