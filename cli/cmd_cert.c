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
#include "num.h"
#include "registry.h"
#include "render.h"
#include "timefmt.h"
#include "validate.h"
#include "watch.h"
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
    "--upload adds the certificate to the app through Microsoft Graph,\n"
    "as the watchdog's rotation does: with addKey and a proof signed by\n"
    "the active certificate (no permission needed), or, from a client\n"
    "secret, by an update of the app's keyCredentials that keeps the ones\n"
    "it has (the app needs Application.ReadWrite.OwnedBy and to own\n"
    "itself).\n"
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

static int write_out(const char *path, const char *pem, struct err *e)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(pem, f) < 0 || fclose(f) != 0) {
		err_set(e, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void report_json(const struct cred *c, const struct secret_info *si,
			const struct x509_info *xi, const char *pem)
{
	char t[TIMEFMT_RFC3339_LEN];
	cJSON *o = cJSON_CreateObject();

	timefmt_rfc3339(xi->not_after, t);
	cJSON_AddStringToObject(o, "credential", c->name);
	cJSON_AddNumberToObject(o, "id", (double)si->id);
	cJSON_AddStringToObject(o, "kind", "certificate");
	cJSON_AddStringToObject(o, "key_id", si->key_id);
	cJSON_AddStringToObject(o, "subject", xi->subject);
	cJSON_AddStringToObject(o, "thumbprint_sha1", xi->sha1_hex);
	cJSON_AddStringToObject(o, "thumbprint_sha256", xi->sha256_hex);
	cJSON_AddStringToObject(o, "expires_at", t);
	cJSON_AddStringToObject(o, "certificate_pem", pem);
	app_print_json(o);
}

/* Tell what was stored (row si), and how to upload it unless it was. */
static int report(struct app *app, const struct cred *c,
		  const struct cert_args *a, const struct secret_info *si,
		  struct err *e)
{
	char t[TIMEFMT_RFC3339_LEN], *pem = NULL, buf[4 * PATH_MAX];
	struct x509_info xi;
	uint8_t *cert = NULL;
	size_t len = 0;
	int rc = -1;

	if (store_cert_get(app->store, si->id, &cert, &len, e) ||
	    x509_cert_info(cert, len, &xi, e) ||
	    x509_cert_pem(cert, len, &pem, e) ||
	    (a->out != NULL && write_out(a->out, pem, e)))
		goto out;
	rc = 0;
	if (app->json) {
		report_json(c, si, &xi, pem);
		goto out;
	}
	timefmt_rfc3339(xi.not_after, t);
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
	       render_esc(xi.subject, 0, buf, sizeof(buf)), t, xi.sha1_hex,
	       xi.sha256_hex);
	if (si->key_id[0])
		printf("uploaded to the app's certificates as key %s\n"
		       "Run 'secretwatch rotate %s' to test it and switch.\n",
		       si->key_id, c->name);
	else
		printf("Upload %s in the Entra admin center: App registrations "
		       "> app %s > Certificates & secrets > Certificates > "
		       "Upload certificate. Then run 'secretwatch rotate %s' "
		       "to test it and switch.\n",
		       a->out ? render_esc(a->out, 0, buf, sizeof(buf))
			      : "the PEM above",
		       c->client_id, c->name);
out:
	free(pem);
	free(cert);
	return rc;
}

static int make_pair(struct app *app, const struct cert_args *a,
		     const struct cred *c, struct x509_key *key, uint8_t **cert,
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

/* cert new and cert import, without Graph: the pair stored pending. */
static int store_local(struct app *app, const struct cred *c,
		       const struct cert_args *a, struct err *e)
{
	struct secret_info si;
	struct x509_info xi;
	struct x509_key key = {0};
	uint8_t *cert = NULL;
	size_t len = 0;
	int rc = -1;

	if (make_pair(app, a, c, &key, &cert, &len, e) == 0 &&
	    registry_cert_add(app->store, app->vault, app->now, c, &key, cert,
			      len, a->note, &si, &xi, e) == 0)
		rc = report(app, c, a, &si, e);
	x509_key_free(&key);
	free(cert);
	return rc;
}

/* migrate --remove-secrets: the credential rotates automatically from
 * now on, so the previous client secrets leave Entra after grace. */
static int remove_secrets(struct app *app, const struct cred *c)
{
	static const char *const changed[] = {"rotate (migrate "
					      "--remove-secrets)"};
	struct cred upd;
	struct err e;

	if (store_cred_get(app->store, c->name, &upd, &e))
		return app_fail_err(app, &e);
	upd.rotate_auto = 1;
	if (registry_cred_update(app->store, app->now, &upd, changed, 1, &e))
		return app_fail_err(app, &e);
	printf("%s: its client secrets are removed from Entra once [rotate] "
	       "grace has passed since the switch\n",
	       c->name);
	return 0;
}

/* cert new --upload and migrate: a rotation to a certificate (made
 * here, added through Graph, stored pending); migrate then tests and
 * switches. Returns the exit code. */
static int through_graph(struct app *app, const struct cred *c,
			 const struct cert_args *a)
{
	struct watch_rotation want = {SECRET_KIND_CERTIFICATE,
				      (int)a->days,
				      a->bits,
				      a->note,
				      true,
				      false};
	struct watch_new_report nr;
	struct cred_view *v;
	struct watch_ctx w;
	struct err e;
	int rc;

	if (store_view_get(app->store, c->name, &v, &e))
		return app_fail_err(app, &e);
	app_watch_ctx(app, &w);
	rc = app_rotate_new(app, &w, v, &want, &nr);
	free(v);
	if (rc == 2 && nr.secret.id != 0) {
		/* Refused, kept: the person can upload it by hand. */
		if (report(app, c, a, &nr.secret, &e))
			return app_fail_err(app, &e);
		return app_fail(app,
				"the certificate is stored, pending, but the "
				"upload failed: %s",
				nr.diag.summary);
	}
	if (rc != 0)
		return rc;
	if (!a->migrate)
		return report(app, c, a, &nr.secret, &e) ? app_fail_err(app, &e)
							 : 0;
	printf("migrating %s to certificate #%lld (added as key %s)\n", c->name,
	       (long long)nr.secret.id, nr.secret.key_id);
	rc = app_rotate_made(app, &w, c->name, &nr.secret);
	/* A first test may fail while Entra propagates the new key: the
	 * watchdog tries again, and the removal waits for that switch. */
	if ((rc == 0 || rc == 2) && a->remove_secrets &&
	    remove_secrets(app, c) != 0)
		return 1;
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

int cli_cert_run(struct app *app, int argc, char **argv, int import,
		 bool migrate)
{
	struct cert_args a = {.migrate = migrate};
	struct cred c;
	struct err e;
	int rc;

	if (parse(app, argc, argv, &a))
		return 1;
	a.upload = a.upload || migrate;
	if ((rc = check_mode(app, &a, import)) != 0)
		return rc;
	if (app_open(app, APP_KEY | (migrate ? APP_CYCLE : APP_WRITE)))
		return 1;
	if (store_cred_get(app->store, a.name, &c, &e))
		rc = app_fail_err(app, &e);
	else if (a.upload)
		rc = through_graph(app, &c, &a);
	else
		rc = store_local(app, &c, &a, &e) ? app_fail_err(app, &e) : 0;
	app_close(app);
	return rc;
}

static int cert_new(struct app *app, int argc, char **argv)
{
	return cli_cert_run(app, argc, argv, 0, false);
}

static int cert_import(struct app *app, int argc, char **argv)
{
	return cli_cert_run(app, argc, argv, 1, false);
}

static const struct command cert_commands[] = {
    {"new", cert_new, "make a key and a certificate", ""},
    {"import", cert_import, "register an existing key and certificate", ""},
};

int cmd_cert(struct app *app, int argc, char **argv)
{
	return app_dispatch(app, cert_commands,
			    sizeof(cert_commands) / sizeof(cert_commands[0]),
			    "cert", usage, argc, argv);
}
