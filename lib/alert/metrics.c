/* The textfile writer.
 *
 * The exposition format wants each family's # HELP and # TYPE before its
 * samples and a family's samples together, but the watchdog walks
 * credentials one at a time and each credential adds a sample to several
 * families. Holding the samples in memory until the end would grow with
 * the number of credentials, so each streamed family is spilled to a file
 * of its own: an unlinked file in the textfile's directory (O_TMPFILE, or
 * mkstemp + unlink where the file system lacks it), written through a
 * normal stdio buffer. metrics_commit writes each family's header and
 * copies its spill file behind it, in fixed-size chunks. Memory stays at
 * a few stdio buffers whatever the count; disk holds the samples twice
 * until the commit. The three global samples are single values, kept in
 * the struct.
 */
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"

enum family {
	FAM_EXPIRY,
	FAM_LEVEL,
	FAM_LAST_CHECK,
	FAM_SWITCHES,
	FAM_TEST_FAILURES,
	FAM_NEXT_ROTATION,
	FAM_INVENTORY,
	FAM_LAST_SWEEP,
	FAM_APP_EXPIRY,
	FAM_NSTREAMED, /* the families above are spilled; below, in struct */
	FAM_DELIVERY_FAILURES = FAM_NSTREAMED,
	FAM_ROTATIONS,
	FAM_GRAPH_FAILURES,
	FAM_CREDENTIALS,
	FAM_LAST_CYCLE,
	FAM_LAST_SUCCESS,
	FAM_N,
};

static const struct {
	const char *name, *type, *help;
} families[FAM_N] = {
    [FAM_EXPIRY] = {"secretwatch_secret_expiry_timestamp_seconds", "gauge",
		    "When each client secret expires (UTC seconds), by "
		    "credential, key ID, hint and state."},
    [FAM_LEVEL] = {"secretwatch_credential_level", "gauge",
		   "Level of each credential, as the exit code of "
		   "'secretwatch status': 0 ok, 1 warning, 2 critical or "
		   "expired, 3 unknown (no secret in use)."},
    [FAM_LAST_CHECK] = {"secretwatch_credential_last_check_timestamp_"
			"seconds",
			"gauge",
			"When each credential's active secret was last "
			"checked (UTC seconds)."},
    [FAM_SWITCHES] = {"secretwatch_switches_total", "counter",
		      "Switches to a new client secret, per credential."},
    [FAM_TEST_FAILURES] = {"secretwatch_test_failures_total", "counter",
			   "Failed tests of a credential's secrets (token "
			   "request or test send)."},
    [FAM_NEXT_ROTATION] = {"secretwatch_next_rotation_timestamp_seconds",
			   "gauge",
			   "When each automatically rotated credential gets "
			   "its next client secret (UTC seconds)."},
    [FAM_INVENTORY] = {"secretwatch_inventory_credentials", "gauge",
		       "Credentials of a tenant's applications, by the reader "
		       "that sweeps it, tenant and level (expired, critical, "
		       "warning, ok)."},
    [FAM_LAST_SWEEP] = {"secretwatch_sweep_last_success_timestamp_seconds",
			"gauge",
			"When the last sweep of each tenant read it whole "
			"(UTC seconds)."},
    [FAM_APP_EXPIRY] = {"secretwatch_app_credential_expiry_timestamp_"
			"seconds",
			"gauge",
			"When each credential of a tenant's applications "
			"expires (UTC seconds); [sweep] "
			"metrics_per_credential."},
    [FAM_ROTATIONS] = {"secretwatch_rotations_total", "counter",
		       "New client secrets made through Microsoft Graph."},
    [FAM_GRAPH_FAILURES] = {"secretwatch_graph_failures_total", "counter",
			    "Microsoft Graph calls that failed."},
    [FAM_DELIVERY_FAILURES] = {"secretwatch_alert_delivery_failures_total",
			       "counter",
			       "Alert deliveries that failed on a channel "
			       "(retried later)."},
    [FAM_CREDENTIALS] = {"secretwatch_credentials", "gauge",
			 "Credentials watched."},
    [FAM_LAST_CYCLE] = {"secretwatch_last_cycle_timestamp_seconds", "gauge",
			"When the last watchdog cycle ran (UTC seconds)."},
    [FAM_LAST_SUCCESS] = {"secretwatch_last_cycle_success_timestamp_seconds",
			  "gauge",
			  "When the last watchdog cycle completed without "
			  "error (UTC seconds)."},
};

struct metrics {
	char path[PATH_MAX];
	char tmp[PATH_MAX];
	FILE *out;		    /* tmp, renamed to path on commit */
	FILE *spill[FAM_NSTREAMED]; /* unlinked, one per streamed family */
	bool have_global, have_success, have_rotation;
	int64_t rotations, graph_failures;
	int64_t now, delivery_failures, credentials, last_success;
	int error; /* the first write error (errno), 0 = none */
};

static void note_error(struct metrics *m)
{
	if (m->error == 0)
		m->error = errno != 0 ? errno : EIO;
}

/* An unlinked read-write file in dir. */
static FILE *spill_open(const char *dir)
{
	char tmpl[PATH_MAX];
	FILE *f;
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (snprintf(tmpl, sizeof(tmpl), "%s/.secretwatch-spill.XXXXXX",
			     dir) >= (int)sizeof(tmpl)) {
			errno = ENAMETOOLONG;
			return NULL;
		}
		if ((fd = mkostemp(tmpl, O_CLOEXEC)) < 0)
			return NULL;
		unlink(tmpl);
	}
	if ((f = fdopen(fd, "w+")) == NULL) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return f;
}

static void metrics_free(struct metrics *m)
{
	if (m->out != NULL)
		fclose(m->out);
	for (int i = 0; i < FAM_NSTREAMED; i++)
		if (m->spill[i] != NULL)
			fclose(m->spill[i]);
	free(m);
}

int metrics_open(const char *path, struct metrics **ret, struct err *e)
{
	char dir[PATH_MAX];
	const char *slash, *base;
	struct metrics *m;
	int fd;

	if (path == NULL || path[0] == '\0' || strlen(path) >= PATH_MAX) {
		err_set(e, "metrics: no textfile path, or it is too long");
		return -1;
	}
	slash = strrchr(path, '/');
	base = slash != NULL ? slash + 1 : path;
	if (base[0] == '\0') {
		err_set(e, "metrics: %s names a directory, not a file", path);
		return -1;
	}
	path_dir(path, dir, sizeof(dir));

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		err_set(e, "metrics: out of memory");
		return -1;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	if (snprintf(m->tmp, sizeof(m->tmp), "%s/.%s.XXXXXX", dir, base) >=
	    (int)sizeof(m->tmp)) {
		err_set(e, "metrics: the path %s is too long", path);
		free(m);
		return -1;
	}
	if ((fd = mkostemp(m->tmp, O_CLOEXEC)) < 0) {
		err_set(e, "metrics: cannot create a temp file in %s: %s", dir,
			strerror(errno));
		free(m);
		return -1;
	}
	/* mkstemp makes 0600; the collector runs as another user. */
	if (fchmod(fd, 0644) != 0 || (m->out = fdopen(fd, "w")) == NULL) {
		err_set(e, "metrics: cannot set up %s: %s", m->tmp,
			strerror(errno));
		close(fd);
		unlink(m->tmp);
		free(m);
		return -1;
	}
	for (int i = 0; i < FAM_NSTREAMED; i++) {
		if ((m->spill[i] = spill_open(dir)) == NULL) {
			err_set(e,
				"metrics: cannot create a spill file in %s: "
				"%s",
				dir, strerror(errno));
			metrics_abort(m);
			return -1;
		}
	}
	*ret = m;
	return 0;
}

/* name="value" with the value escaped: \ as \\, " as \", newline as \n. */
static void put_label(FILE *f, const char *name, const char *value)
{
	fprintf(f, "%s=\"", name);
	for (const char *p = value != NULL ? value : ""; *p != '\0'; p++) {
		if (*p == '\\')
			fputs("\\\\", f);
		else if (*p == '"')
			fputs("\\\"", f);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* name{label="value",...} v, the labels as NULL-ended name, value
 * pairs (a pair with a NULL name is left out). */
static void put_sample(struct metrics *m, enum family fam,
		       const char *const *labels, int64_t v)
{
	FILE *f = m->spill[fam];
	bool first = true;

	fprintf(f, "%s{", families[fam].name);
	for (; labels[0] != NULL || labels[1] != NULL; labels += 2) {
		if (labels[0] == NULL)
			continue;
		if (!first)
			fputc(',', f);
		put_label(f, labels[0], labels[1]);
		first = false;
	}
	if (fprintf(f, "} %lld\n", (long long)v) < 0)
		note_error(m);
}

/* name{credential="..."} value */
static void put_cred_sample(struct metrics *m, enum family fam,
			    const char *credential, int64_t value)
{
	const char *const labels[] = {"credential", credential, NULL, NULL};

	put_sample(m, fam, labels, value);
}

void metrics_secret(struct metrics *m, const char *credential,
		    const char *key_id, const char *hint, const char *state,
		    const char *kind, int64_t expires_at)
{
	const char *const labels[] = {
	    "credential", credential, "key_id", key_id, "hint", hint,
	    "state",	  state,      "kind",	kind,	NULL,	NULL};

	if (m != NULL)
		put_sample(m, FAM_EXPIRY, labels, expires_at);
}

void metrics_credential(struct metrics *m, const char *credential, int level,
			int64_t last_check_at, int64_t switches,
			int64_t test_failures)
{
	if (m == NULL)
		return;
	put_cred_sample(m, FAM_LEVEL, credential, level);
	if (last_check_at > 0)
		put_cred_sample(m, FAM_LAST_CHECK, credential, last_check_at);
	put_cred_sample(m, FAM_SWITCHES, credential, switches);
	put_cred_sample(m, FAM_TEST_FAILURES, credential, test_failures);
}

/* name{reader="...",tenant="..."[,label="value"]} value */
static void put_tenant_sample(struct metrics *m, enum family fam,
			      const char *reader, const char *tenant,
			      const char *label, const char *value, int64_t v)
{
	const char *const labels[] = {"reader", reader, "tenant", tenant,
				      label,	value,	NULL,	  NULL};

	put_sample(m, fam, labels, v);
}

void metrics_inventory(struct metrics *m, const char *reader,
		       const char *tenant, const char *level, int64_t count)
{
	if (m != NULL)
		put_tenant_sample(m, FAM_INVENTORY, reader, tenant, "level",
				  level, count);
}

void metrics_sweep(struct metrics *m, const char *reader, const char *tenant,
		   int64_t last_success)
{
	if (m != NULL && last_success > 0)
		put_tenant_sample(m, FAM_LAST_SWEEP, reader, tenant, NULL, NULL,
				  last_success);
}

void metrics_app_credential(struct metrics *m, const char *tenant,
			    const char *app_id, const char *app,
			    const char *key_id, const char *kind,
			    int64_t expires_at)
{
	const char *const labels[] = {"tenant", tenant, "app_id", app_id,
				      "app",	app,	"key_id", key_id,
				      "kind",	kind,	NULL,	  NULL};

	if (m != NULL)
		put_sample(m, FAM_APP_EXPIRY, labels, expires_at);
}

void metrics_global(struct metrics *m, int64_t now,
		    int64_t alert_delivery_failures, int64_t credentials)
{
	if (m == NULL)
		return;
	m->have_global = true;
	m->now = now;
	m->delivery_failures = alert_delivery_failures;
	m->credentials = credentials;
}

void metrics_next_rotation(struct metrics *m, const char *credential,
			   int64_t at)
{
	if (m != NULL && at > 0)
		put_cred_sample(m, FAM_NEXT_ROTATION, credential, at);
}

void metrics_rotation_totals(struct metrics *m, int64_t rotations,
			     int64_t graph_failures)
{
	if (m == NULL)
		return;
	m->have_rotation = true;
	m->rotations = rotations;
	m->graph_failures = graph_failures;
}

void metrics_cycle_success(struct metrics *m, int64_t at)
{
	if (m == NULL)
		return;
	m->have_success = true;
	m->last_success = at;
}

/* Append the spill file of a family to the output. */
static int copy_spill(FILE *from, FILE *to)
{
	char buf[65536];
	size_t n;

	if (ferror(from) || fflush(from) != 0 || fseek(from, 0, SEEK_SET) != 0)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), from)) > 0)
		if (fwrite(buf, 1, n, to) != n)
			return -1;
	return ferror(from) ? -1 : 0;
}

static int fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	int fd, rc;

	if (path_dir(path, dir, sizeof(dir)) != 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int metrics_commit(struct metrics *m, struct err *e)
{
	FILE *out;
	int rc;

	if (m == NULL) {
		err_set(e, "metrics: nothing to commit");
		return -1;
	}
	out = m->out;
	errno = 0;
	for (int fam = 0; fam < FAM_N && m->error == 0; fam++) {
		fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", families[fam].name,
			families[fam].help, families[fam].name,
			families[fam].type);
		if (fam < FAM_NSTREAMED) {
			if (copy_spill(m->spill[fam], out) != 0)
				note_error(m);
			continue;
		}
		if (fam == FAM_LAST_SUCCESS) {
			if (m->have_success)
				fprintf(out, "%s %lld\n", families[fam].name,
					(long long)m->last_success);
			continue;
		}
		if (fam == FAM_ROTATIONS || fam == FAM_GRAPH_FAILURES) {
			if (m->have_rotation)
				fprintf(out, "%s %lld\n", families[fam].name,
					(long long)(fam == FAM_ROTATIONS
							? m->rotations
							: m->graph_failures));
			continue;
		}
		if (!m->have_global)
			continue;
		fprintf(out, "%s %lld\n", families[fam].name,
			(long long)(fam == FAM_DELIVERY_FAILURES
					? m->delivery_failures
				    : fam == FAM_CREDENTIALS ? m->credentials
							     : m->now));
	}
	if (m->error == 0 &&
	    (fflush(out) != 0 || ferror(out) || fsync(fileno(out)) != 0))
		note_error(m);
	rc = fclose(out);
	m->out = NULL;
	if (rc != 0)
		note_error(m);
	if (m->error != 0) {
		err_set(e, "metrics: cannot write %s: %s", m->tmp,
			strerror(m->error));
		goto fail;
	}
	if (rename(m->tmp, m->path) != 0) {
		err_set(e, "metrics: cannot replace %s: %s", m->path,
			strerror(errno));
		goto fail;
	}
	/* The rename is in place; a failed directory sync only weakens its
	 * durability across a crash, so it is not reported. */
	(void)fsync_dir_of(m->path);
	metrics_free(m);
	return 0;
fail:
	unlink(m->tmp);
	metrics_free(m);
	return -1;
}

void metrics_abort(struct metrics *m)
{
	if (m == NULL)
		return;
	if (m->out != NULL) {
		fclose(m->out);
		m->out = NULL;
	}
	unlink(m->tmp);
	metrics_free(m);
}
