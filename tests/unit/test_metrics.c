/* The Prometheus textfile writer: the output parsed line by line (every
 * family's # HELP and # TYPE exactly once and before its samples, families
 * not interleaved, names, labels and label escaping), the file mode,
 * atomic replacement (the old file stays whole until the commit, and an
 * abort leaves it and no temp file), and a 100,000-credential run whose
 * memory does not grow with the count. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "slurp.h"

#include "metrics.h"

#define NOW 1767225600LL

static char tmpdir[256];
static char path[400];

static const struct {
	const char *name, *type;
} fams[] = {
    {"secretwatch_secret_expiry_timestamp_seconds", "gauge"},
    {"secretwatch_credential_level", "gauge"},
    {"secretwatch_credential_last_check_timestamp_seconds", "gauge"},
    {"secretwatch_switches_total", "counter"},
    {"secretwatch_test_failures_total", "counter"},
    {"secretwatch_next_rotation_timestamp_seconds", "gauge"},
    {"secretwatch_alert_delivery_failures_total", "counter"},
    {"secretwatch_rotations_total", "counter"},
    {"secretwatch_graph_failures_total", "counter"},
    {"secretwatch_credentials", "gauge"},
    {"secretwatch_last_cycle_timestamp_seconds", "gauge"},
    {"secretwatch_last_cycle_success_timestamp_seconds", "gauge"},
    {"secretwatch_inventory_credentials", "gauge"},
    {"secretwatch_sweep_last_success_timestamp_seconds", "gauge"},
    {"secretwatch_app_credential_expiry_timestamp_seconds", "gauge"},
};
#define NFAMS (int)(sizeof(fams) / sizeof(fams[0]))

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sw-test-metrics-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/secretwatch.prom", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int family_of(const char *name, size_t len)
{
	for (int i = 0; i < NFAMS; i++)
		if (strlen(fams[i].name) == len &&
		    strncmp(fams[i].name, name, len) == 0)
			return i;
	return -1;
}

/* Files in tmpdir other than the textfile itself. */
static int stray_files(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, "secretwatch.prom") != 0)
			n++;
	closedir(d);
	return n;
}

/* One label value of the exposition format, unescaped into out; returns
 * the position after its closing quote. */
static const char *parse_value(const char *p, char *out, size_t size)
{
	size_t n = 0;

	assert_int_equal(*p, '"');
	for (p++; *p != '"'; p++) {
		char ch = *p;

		assert_int_not_equal(ch, '\0');
		assert_int_not_equal(ch, '\n');
		if (ch == '\\') {
			p++;
			ch = *p == 'n' ? '\n' : *p;
			assert_true(*p == 'n' || *p == '\\' || *p == '"');
		}
		assert_true(n + 1 < size);
		out[n++] = ch;
	}
	out[n] = '\0';
	return p + 1;
}

struct sample {
	int fam;
	char labels[5][2][128]; /* name, value */
	int nlabels;
	long long value;
};

/* What the checker has seen of the families so far. */
struct parse_state {
	bool help[NFAMS], type[NFAMS], done[NFAMS];
	int cur;
};

/* A "# HELP" or "# TYPE" line ending at nl. */
static void parse_header(struct parse_state *ps, const char *line,
			 const char *nl)
{
	const char *name = line + 7;
	size_t nlen = strcspn(name, " ");
	int f = family_of(name, nlen);

	assert_true(f >= 0);
	if (f != ps->cur) {
		/* A new family: the previous one is over and this one was
		 * not seen before. */
		if (ps->cur >= 0)
			ps->done[ps->cur] = true;
		assert_false(ps->done[f]);
		ps->cur = f;
	}
	if (line[2] == 'H') {
		assert_false(ps->help[f]);
		assert_false(ps->type[f]); /* HELP first */
		ps->help[f] = true;
		return;
	}
	assert_false(ps->type[f]);
	ps->type[f] = true;
	assert_int_equal(
	    strncmp(name + nlen + 1, fams[f].type, strlen(fams[f].type)), 0);
	assert_int_equal(name + nlen + 1 + strlen(fams[f].type), nl);
}

/* The {name="value",...} labels at p into s; returns what follows. */
static const char *parse_labels(const char *p, struct sample *s)
{
	if (*p != '{')
		return p;
	p++;
	while (*p != '}') {
		size_t ln = strcspn(p, "=");

		assert_true(s->nlabels < 5);
		snprintf(s->labels[s->nlabels][0], 128, "%.*s", (int)ln, p);
		p = parse_value(p + ln + 1, s->labels[s->nlabels][1], 128);
		s->nlabels++;
		if (*p == ',')
			p++;
	}
	return p + 1;
}

/* A sample line ending at nl, under the current family. */
static void parse_sample(const struct parse_state *ps, const char *line,
			 const char *nl, struct sample *s)
{
	size_t nlen = strcspn(line, "{ ");
	const char *p;
	char *end;

	assert_int_not_equal(line[0], '#');
	memset(s, 0, sizeof(*s));
	s->fam = family_of(line, nlen);
	assert_int_equal(s->fam, ps->cur); /* under its header */
	assert_true(ps->help[ps->cur] && ps->type[ps->cur]);
	p = parse_labels(line + nlen, s);
	assert_int_equal(*p, ' ');
	s->value = strtoll(p + 1, &end, 10);
	assert_ptr_equal(end, nl);
}

/* Check the whole file's structure; collect its samples. */
static int parse(const char *text, struct sample *out, int max)
{
	struct parse_state ps = {.cur = -1};
	int n = 0;

	for (const char *line = text; *line != '\0';) {
		const char *nl = strchr(line, '\n');

		assert_non_null(nl); /* every line ends in a newline */
		assert_true(nl > line);
		if (strncmp(line, "# HELP ", 7) == 0 ||
		    strncmp(line, "# TYPE ", 7) == 0) {
			parse_header(&ps, line, nl);
		} else {
			assert_true(n < max);
			parse_sample(&ps, line, nl, &out[n++]);
		}
		line = nl + 1;
	}
	for (int f = 0; f < NFAMS; f++) {
		assert_true(ps.help[f]);
		assert_true(ps.type[f]);
	}
	return n;
}

static void assert_label(const struct sample *s, int i, const char *name,
			 const char *value)
{
	assert_true(i < s->nlabels);
	assert_string_equal(s->labels[i][0], name);
	assert_string_equal(s->labels[i][1], value);
}

/* Interleaved calls, as a cycle makes them, credential by credential. */
static void write_sample_file(void)
{
	struct metrics *m = NULL;
	struct err e = {{0}};

	assert_int_equal(metrics_open(path, &m, &e), 0);
	metrics_secret(m, "mail-alerts", "11111111-2222-3333-4444-555555555555",
		       "abc", "active", "secret", NOW + 100);
	metrics_credential(m, "mail-alerts", 1, NOW - 60, 2, 3);
	metrics_next_rotation(m, "mail-alerts", NOW + 1000);
	metrics_secret(m, "we\"ird\\name\nx", "", "a\"\\", "pending",
		       "certificate", NOW + 200);
	metrics_secret(m, "we\"ird\\name\nx", "", "zz9", "previous", "secret",
		       NOW + 5);
	metrics_credential(m, "we\"ird\\name\nx", 4, 0, 0, 0);
	metrics_next_rotation(m, "we\"ird\\name\nx", 0); /* left out */
	metrics_rotation_totals(m, 4, 1);
	metrics_global(m, NOW, 1, 99); /* the last call counts */
	metrics_global(m, NOW, 7, 2);
	metrics_cycle_success(m, NOW - 5);
	assert_int_equal(metrics_commit(m, &e), 0);
}

/* The expiry samples, with their labels escaped on the wire. */
static void check_expiry_samples(const struct sample *s, const char *text)
{
	assert_int_equal(s[0].fam, 0);
	assert_int_equal(s[0].nlabels, 5);
	assert_label(&s[0], 0, "credential", "mail-alerts");
	assert_label(&s[0], 1, "key_id",
		     "11111111-2222-3333-4444-555555555555");
	assert_label(&s[0], 2, "hint", "abc");
	assert_label(&s[0], 3, "state", "active");
	assert_label(&s[0], 4, "kind", "secret");
	assert_int_equal(s[0].value, NOW + 100);
	assert_label(&s[1], 0, "credential", "we\"ird\\name\nx");
	assert_label(&s[1], 1, "key_id", "");
	assert_label(&s[1], 2, "hint", "a\"\\");
	assert_label(&s[1], 3, "state", "pending");
	assert_label(&s[1], 4, "kind", "certificate");
	assert_label(&s[2], 3, "state", "previous");
	/* The escaping on the wire, exactly. */
	assert_non_null(strstr(text, "{credential=\"we\\\"ird\\\\name\\nx\","
				     "key_id=\"\",hint=\"a\\\"\\\\\","
				     "state=\"pending\",kind=\"certificate\"} "
				     "1767225800\n"));
}

/* Every other family, in order. */
static void check_other_samples(const struct sample *s)
{
	static const struct {
		int i, fam;
		long long value;
	} want[] = {
	    {4, 1, 4},	{5, 2, NOW - 60},    {6, 3, 2},	    {7, 3, 0},
	    {8, 4, 3},	{10, 5, NOW + 1000}, {11, 6, 7},    {12, 7, 4},
	    {13, 8, 1}, {14, 9, 2},	     {15, 10, NOW}, {16, 11, NOW - 5},
	};

	assert_int_equal(s[3].fam, 1);
	assert_int_equal(s[3].nlabels, 1);
	assert_label(&s[3], 0, "credential", "mail-alerts");
	assert_int_equal(s[3].value, 1);
	assert_label(&s[10], 0, "credential", "mail-alerts");
	assert_int_equal(s[11].nlabels, 0);
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		assert_int_equal(s[want[k].i].fam, want[k].fam);
		assert_int_equal(s[want[k].i].value, want[k].value);
	}
}

static void test_format(void **state)
{
	struct sample s[32];
	struct stat st;
	char *text;

	(void)state;
	write_sample_file();
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(stray_files(), 0);
	text = slurp(path);
	assert_non_null(text);
	/* 3 expiry, 2 level, 1 last check (the unchecked one is left out),
	 * 2 switches, 2 test failures, 1 next rotation (the manual one is
	 * left out), 5 globals, the last success. */
	assert_int_equal(parse(text, s, 32), 17);
	check_expiry_samples(s, text);
	check_other_samples(s);
	free(text);
}

/* A tenant's samples: its inventory by level and its last whole sweep
 * by reader and tenant, one series per credential when asked; a
 * never-swept tenant has no last-sweep sample. */
static void test_tenant(void **state)
{
	struct metrics *m = NULL;
	struct err e = {{0}};
	struct sample s[16];
	char *text;

	(void)state;
	assert_int_equal(metrics_open(path, &m, &e), 0);
	metrics_inventory(m, "reader", "contoso.com", "expired", 3);
	metrics_inventory(m, "reader", "contoso.com", "ok", 40);
	metrics_sweep(m, "reader", "contoso.com", NOW);
	metrics_sweep(m, "other", "fabrikam.com", 0);
	metrics_app_credential(m, "contoso.com", "app-id", "Pay \"roll\"",
			       "key-id", "secret", NOW + 86400);
	assert_int_equal(metrics_commit(m, &e), 0);
	text = slurp(path);
	assert_non_null(text);
	assert_int_equal(parse(text, s, 16), 4);
	assert_non_null(strstr(text, "secretwatch_inventory_credentials{reader="
				     "\"reader\",tenant=\"contoso.com\","
				     "level=\"expired\"} 3\n"));
	assert_non_null(strstr(text, "secretwatch_sweep_last_success_"
				     "timestamp_seconds{reader=\"reader\","
				     "tenant=\"contoso.com\"} 1767225600\n"));
	assert_null(strstr(text, "fabrikam"));
	assert_non_null(strstr(text, "app=\"Pay \\\"roll\\\"\""));
	free(text);
}

/* No samples at all: headers only, still a valid file. */
static void test_format_empty(void **state)
{
	struct metrics *m = NULL;
	struct err e = {{0}};
	struct sample s[32];
	char *text;

	(void)state;
	assert_int_equal(metrics_open(path, &m, &e), 0);
	assert_int_equal(metrics_commit(m, &e), 0);
	text = slurp(path);
	assert_int_equal(parse(text, s, 32), 0);
	free(text);
}

static void test_atomic(void **state)
{
	struct metrics *m = NULL;
	struct err e = {{0}};
	struct sample s[8];
	char *before, *during, *after;

	(void)state;
	assert_int_equal(metrics_open(path, &m, &e), 0);
	metrics_credential(m, "old", 0, NOW, 0, 0);
	metrics_global(m, NOW, 0, 1);
	assert_int_equal(metrics_commit(m, &e), 0);
	before = slurp(path);
	assert_non_null(strstr(before, "credential=\"old\""));

	/* While a new file is being written the old one is whole; the temp
	 * file is a dot file the collector's *.prom pattern skips. */
	assert_int_equal(metrics_open(path, &m, &e), 0);
	metrics_credential(m, "new", 2, NOW, 1, 1);
	metrics_global(m, NOW + 60, 0, 1);
	during = slurp(path);
	assert_string_equal(during, before);
	assert_int_equal(stray_files(), 1);
	{
		DIR *d = opendir(tmpdir);
		struct dirent *de;

		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, ".secretwatch.prom.", 18) == 0)
				break;
		assert_non_null(de);
		closedir(d);
	}
	/* An abort leaves the old file and nothing else. */
	metrics_abort(m);
	after = slurp(path);
	assert_string_equal(after, before);
	assert_int_equal(stray_files(), 0);
	free(during);
	free(after);

	/* A commit replaces it whole. */
	assert_int_equal(metrics_open(path, &m, &e), 0);
	metrics_credential(m, "new", 2, NOW, 1, 1);
	metrics_global(m, NOW + 60, 0, 1);
	assert_int_equal(metrics_commit(m, &e), 0);
	after = slurp(path);
	assert_null(strstr(after, "credential=\"old\""));
	assert_non_null(strstr(after, "credential=\"new\""));
	assert_int_equal(parse(after, s, 8), 7);
	assert_int_equal(stray_files(), 0);
	free(before);
	free(after);

	/* Failures: a directory that is not there, a path naming a
	 * directory, no path. Nothing is left behind. */
	assert_int_equal(metrics_open("/nonexistent-dir/x.prom", &m, &e), -1);
	assert_non_null(strstr(e.msg, "/nonexistent-dir"));
	assert_int_equal(metrics_open("/tmp/", &m, &e), -1);
	assert_int_equal(metrics_open("", &m, &e), -1);
	metrics_abort(NULL);
}

static long max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* 100,000 credentials with two secrets each: the output is complete and
 * the peak memory does not grow by anything near its size (some 60 MB). */
static void test_large(void **state)
{
	enum { N = 100000 };
	struct metrics *m = NULL;
	struct err e = {{0}};
	struct stat st;
	long rss0, rss1;
	char name[32], line[256];
	long lines = 0, helps = 0;
	FILE *f;

	(void)state;
	rss0 = max_rss_kb();
	assert_int_equal(metrics_open(path, &m, &e), 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "cred-%06d", i);
		metrics_secret(m, name, "11111111-2222-3333-4444-555555555555",
			       "abc", "active", "secret", NOW + i);
		metrics_secret(m, name, "", "def", "pending", "secret",
			       NOW + 2 * i);
		metrics_credential(m, name, i % 5, NOW, i % 3, i % 7);
	}
	metrics_global(m, NOW, 0, N);
	assert_int_equal(metrics_commit(m, &e), 0);
	rss1 = max_rss_kb();

	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 30L * 1024 * 1024);
	/* Peak memory grew by far less than the file's size. */
	assert_true((rss1 - rss0) * 1024L < st.st_size / 8);

	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		lines++;
		helps += strncmp(line, "# HELP ", 7) == 0;
	}
	fclose(f);
	assert_int_equal(helps, NFAMS);
	/* 2 + 4 samples per credential, 3 globals, 2 header lines each. */
	assert_int_equal(lines, 6L * N + 3 + 2 * NFAMS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format), cmocka_unit_test(test_format_empty),
	    cmocka_unit_test(test_tenant), cmocka_unit_test(test_atomic),
	    cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
