#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slurp.h"

#include "store.h"

static char dir[] = "/tmp/sw-store-XXXXXX";
static char db[300];

struct fixture {
	struct store *s;
	struct vault *v;
	struct cred c;
};

static int setup(void **state)
{
	static int n;
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e;
	int written;

	snprintf(db, sizeof(db), "%s/t%d.db", dir, n++);
	if (store_open(db, STORE_CREATE, &f->s, &e) ||
	    vault_generate(&f->v, &e) ||
	    store_key_init(f->s, f->v, &written, &e))
		return -1;
	snprintf(f->c.name, sizeof(f->c.name), "mail");
	snprintf(f->c.tenant, sizeof(f->c.tenant), "contoso.com");
	snprintf(f->c.client_id, sizeof(f->c.client_id),
		 "11111111-2222-3333-4444-555555555555");
	snprintf(f->c.sender, sizeof(f->c.sender), "a@contoso.com");
	snprintf(f->c.cloud, sizeof(f->c.cloud), "global");
	if (store_cred_add(f->s, &f->c, &e))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->s);
	vault_free(f->v);
	free(f);
	return 0;
}

static int64_t add_secret(struct fixture *f, const char *value, int64_t expires)
{
	struct secret_info si = {.credential_id = f->c.id,
				 .expires_at = expires,
				 .created_at = 1000};
	struct err e;

	memcpy(si.hint, value, 3);
	assert_int_equal(
	    store_secret_add(f->s, f->v, &si, value, strlen(value), &e), 0);
	return si.id;
}

static void test_secret_roundtrip(void **state)
{
	struct fixture *f = *state;
	int64_t id = add_secret(f, "abc~secret-one", 5000);
	struct secret_info si;
	struct vbuf v;
	struct err e;

	assert_int_equal(store_secret_get(f->s, id, &si, &e), 0);
	assert_int_equal(si.state, SECRET_PENDING);
	assert_string_equal(si.hint, "abc");
	assert_int_equal(si.expires_at, 5000);
	assert_int_equal(store_secret_value(f->s, f->v, id, &v, &e), 0);
	assert_string_equal(v.p, "abc~secret-one");
	vbuf_free(&v);
}

static void swap_ciphertexts(int64_t a, int64_t b)
{
	sqlite3 *h;
	char sql[400];

	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	snprintf(sql, sizeof(sql),
		 "CREATE TEMP TABLE t AS SELECT id, ciphertext FROM secret;"
		 "UPDATE secret SET ciphertext = (SELECT ciphertext FROM t "
		 "WHERE id = %lld) WHERE id = %lld;"
		 "UPDATE secret SET ciphertext = (SELECT ciphertext FROM t "
		 "WHERE id = %lld) WHERE id = %lld;",
		 (long long)b, (long long)a, (long long)a, (long long)b);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static void test_swapped_ciphertexts_fail(void **state)
{
	struct fixture *f = *state;
	int64_t a = add_secret(f, "aaa~first", 5000);
	int64_t b = add_secret(f, "bbb~second", 6000);
	struct vbuf v;
	struct err e;

	swap_ciphertexts(a, b);
	assert_int_equal(store_secret_value(f->s, f->v, a, &v, &e), -1);
	assert_non_null(strstr(e.msg, "does not decrypt for its row"));
	assert_int_equal(store_secret_value(f->s, f->v, b, &v, &e), -1);
	assert_non_null(strstr(e.msg, "does not decrypt for its row"));
}

static void test_one_active_enforced(void **state)
{
	struct fixture *f = *state;
	int64_t a = add_secret(f, "aaa~first", 5000);
	int64_t b = add_secret(f, "bbb~second", 6000);
	struct secret_info si;
	struct err e;

	assert_int_equal(store_secret_activate(f->s, f->c.id, a, 10, &e), 0);
	/* The database itself refuses a second active secret. */
	assert_int_equal(store_secret_set_state(f->s, b, SECRET_ACTIVE, &e),
			 -1);
	assert_int_equal(store_secret_activate(f->s, f->c.id, b, 20, &e), 0);
	assert_int_equal(store_secret_get(f->s, a, &si, &e), 0);
	assert_int_equal(si.state, SECRET_PREVIOUS);
	assert_int_equal(store_secret_get(f->s, b, &si, &e), 0);
	assert_int_equal(si.state, SECRET_ACTIVE);
	assert_int_equal(si.activated_at, 20);
}

static void test_wrong_key_detected(void **state)
{
	struct fixture *f = *state;
	struct vault *other;
	struct err e;

	assert_int_equal(vault_generate(&other, &e), 0);
	assert_int_equal(store_key_check(f->s, f->v, &e), 0);
	assert_int_equal(store_key_check(f->s, other, &e), -1);
	assert_non_null(strstr(e.msg, "does not match"));
	vault_free(other);
}

static void test_reencrypt(void **state)
{
	struct fixture *f = *state;
	int64_t a = add_secret(f, "aaa~first", 5000);
	struct vault *fresh;
	struct vbuf v;
	struct err e;

	assert_int_equal(vault_generate(&fresh, &e), 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_reencrypt_all(f->s, f->v, fresh, &e), 0);
	assert_int_equal(store_commit(f->s, &e), 0);
	assert_int_equal(store_key_check(f->s, fresh, &e), 0);
	assert_int_equal(store_key_check(f->s, f->v, &e), -1);
	assert_int_equal(store_secret_value(f->s, fresh, a, &v, &e), 0);
	assert_string_equal(v.p, "aaa~first");
	vbuf_free(&v);
	vault_free(fresh);
}

static int count_view(void *ctx, const struct cred_view *v)
{
	(*(int *)ctx)++;
	assert_string_equal(v->cred.name, "mail");
	assert_int_equal(v->npending, 2);
	assert_string_equal(v->pending[0].hint, "bbb"); /* newest first */
	return 0;
}

static void test_view_and_unknown(void **state)
{
	struct fixture *f = *state;
	struct err e;
	int n = 0;

	add_secret(f, "aaa~first", 5000);
	add_secret(f, "bbb~second", 6000);
	assert_int_equal(store_view_each(f->s, NULL, count_view, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_view_each(f->s, "nope", count_view, &n, &e), -1);
	assert_non_null(strstr(e.msg, "no credential named 'nope'"));
}

static void test_duplicate_credential(void **state)
{
	struct fixture *f = *state;
	struct cred c = f->c;
	struct err e;

	assert_int_equal(store_cred_add(f->s, &c, &e), -1);
	assert_non_null(strstr(e.msg, "exists already"));
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	sqlite3 *h;
	struct err e;
	char sql[64];

	(void)f;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 store_schema_latest() + 1);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(store_open(db, STORE_EXISTING, &s2, &e), -1);
	assert_non_null(strstr(e.msg, "newer than this secretwatch"));
}

static size_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* A file of another program is refused before anything is written to
 * it: its bytes stay the same and it does not turn into a WAL database. */
static void test_foreign_database_untouched(void **state)
{
	static const char *const setups[] = {
	    "CREATE TABLE inventory (x); INSERT INTO inventory VALUES (1)",
	    "PRAGMA application_id = 42",
	};
	char path[400], wal[420], *before, *after;
	size_t nb, na;
	struct store *s2;
	sqlite3 *h;
	struct err e;

	(void)state;
	snprintf(path, sizeof(path), "%s/other.db", dir);
	for (size_t i = 0; i < sizeof(setups) / sizeof(setups[0]); i++) {
		unlink(path);
		assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
		assert_int_equal(sqlite3_exec(h, setups[i], NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(h);
		before = slurp(path);
		nb = file_size(path);
		assert_int_equal(store_open(path, STORE_CREATE, &s2, &e), -1);
		assert_non_null(strstr(e.msg, "not a secretwatch database"));
		assert_int_equal(store_open(path, STORE_EXISTING, &s2, &e), -1);
		after = slurp(path);
		na = file_size(path);
		assert_int_equal(
		    access(strcat(strcpy(wal, path), "-wal"), F_OK), -1);
		assert_int_equal(nb, na);
		assert_memory_equal(before, after, nb);
		free(before);
		free(after);
	}
}

/* A database from before the mark is ours: it is marked at first open. */
static void test_unmarked_database_adopted(void **state)
{
	struct fixture *f = *state;
	struct store *s2;
	sqlite3 *h;
	sqlite3_stmt *st;
	struct err e;

	(void)f;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(h, "PRAGMA application_id = 0", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(store_open(db, STORE_EXISTING, &s2, &e), 0);
	store_close(s2);
	assert_int_equal(
	    sqlite3_prepare_v2(h, "PRAGMA application_id", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0x53576368);
	sqlite3_finalize(st);
	sqlite3_close(h);
}

/* Every transition is a compare-and-set: the second of two racers, or a
 * switch to a secret retired meanwhile, changes nothing and says so. */
static void test_transitions_compare_and_set(void **state)
{
	static const int thresholds[] = {30, 14, 7};
	struct fixture *f = *state;
	int64_t a = add_secret(f, "aaa~first", 5000);
	int64_t b = add_secret(f, "bbb~second", 6000);
	struct secret_info si;
	struct err e;

	assert_int_equal(store_secret_activate(f->s, f->c.id, a, 10, &e), 0);
	assert_int_equal(store_secret_activate(f->s, f->c.id, a, 11, &e), 1);
	assert_int_equal(store_secret_set_state(f->s, b, SECRET_RETIRED, &e),
			 0);
	assert_int_equal(store_begin(f->s, &e), 0);
	assert_int_equal(store_secret_activate(f->s, f->c.id, b, 12, &e), 1);
	store_rollback(f->s);
	assert_int_equal(store_secret_get(f->s, a, &si, &e), 0);
	assert_int_equal(si.state, SECRET_ACTIVE);
	assert_int_equal(store_secret_get(f->s, b, &si, &e), 0);
	assert_int_equal(si.state, SECRET_RETIRED);

	assert_int_equal(store_warning_mark(f->s, a, 14, thresholds, 3, 20, &e),
			 0);
	assert_int_equal(store_warning_mark(f->s, a, 14, thresholds, 3, 21, &e),
			 1);
	assert_int_equal(store_warning_mark(f->s, a, 7, thresholds, 3, 22, &e),
			 0);
}

static void test_outbox_claim_once(void **state)
{
	struct fixture *f = *state;
	struct outbox_row *rows;
	size_t n;
	struct err e;

	assert_int_equal(store_outbox_add(f->s, OUTBOX_ALERT, "log", f->c.id, 0,
					  "{}", 100, &e),
			 0);
	assert_int_equal(store_outbox_due(f->s, 100, 8, &rows, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_outbox_claim(f->s, rows[0].id, 100, 700, &e), 0);
	assert_int_equal(store_outbox_claim(f->s, rows[0].id, 100, 700, &e), 1);
	free(rows);
	/* Claimed rows are not due for others until the claim lapses. */
	assert_int_equal(store_outbox_due(f->s, 699, 8, &rows, &n, &e), 0);
	assert_int_equal(n, 0);
	free(rows);
	assert_int_equal(store_outbox_due(f->s, 700, 8, &rows, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_outbox_claim(f->s, rows[0].id, 700, 900, &e), 0);
	assert_int_equal(store_outbox_done(f->s, rows[0].id, 701, &e), 0);
	assert_int_equal(store_outbox_claim(f->s, rows[0].id, 2000, 2600, &e),
			 1);
	free(rows);
}

static void test_missing_database(void **state)
{
	struct store *s2;
	struct err e;
	char path[400];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.db", dir);
	assert_int_equal(store_open(path, STORE_EXISTING, &s2, &e), -1);
	assert_non_null(strstr(e.msg, "secretwatch init"));
}

/* One inventory row of object obj with key kid, ending at end. */
static int64_t put_item(struct fixture *f, int64_t sweep, const char *obj,
			const char *kid, int64_t end)
{
	struct inv_item it = {.kind = SECRET_KIND_SECRET, .expires_at = end};
	struct err e;

	snprintf(it.object_kind, sizeof(it.object_kind), "application");
	snprintf(it.object_id, sizeof(it.object_id), "%s", obj);
	snprintf(it.app_id, sizeof(it.app_id), "%s", obj);
	snprintf(it.display_name, sizeof(it.display_name), "app %s", obj);
	snprintf(it.key_id, sizeof(it.key_id), "%s", kid);
	assert_int_equal(store_inventory_put(f->s, sweep, 100, &it, &e), 0);
	return it.id;
}

static int count_rows(void *ctx, const struct inv_item *it)
{
	(void)it;
	++*(int *)ctx;
	return 0;
}

static int rows_of(struct fixture *f, const struct inv_query *q)
{
	struct err e;
	int n = 0;

	assert_int_equal(store_inventory_each(f->s, q, count_rows, &n, &e), 0);
	return n;
}

/* Sweeps conclude only whole and newest: a failed sweep takes nothing
 * out; of two overlapping sweeps only the later one finishes, and a row
 * the earlier one saw after it is still the later one's (not removed);
 * a scheduled start is refused while another began moments ago. */
static void test_sweeps(void **state)
{
	struct fixture *f = *state;
	struct inv_query all = {f->c.id, 0, -1, false, NULL};
	int64_t a, b, c, id;
	struct err e;

	f->c.sweep = 1;
	assert_int_equal(store_sweep_begin(f->s, f->c.id, 100, 0, &a, &e), 0);
	id = put_item(f, a, "o1", "k1", 5000);
	put_item(f, a, "o2", "k2", 6000);
	assert_int_equal(
	    store_sweep_finish(f->s, a, 110, 2, 2, 1, NULL, NULL, &e), 0);
	assert_int_equal(store_sweep_last(f->s, f->c.id), 110);
	assert_int_equal(rows_of(f, &all), 2);

	/* Failed: o2 not seen, but kept. */
	assert_int_equal(store_sweep_begin(f->s, f->c.id, 200, 0, &b, &e), 0);
	assert_int_equal(put_item(f, b, "o1", "k1", 5000), id);
	assert_int_equal(store_sweep_fail(f->s, b, 210, "HTTP 429", &e), 0);
	assert_int_equal(rows_of(f, &all), 2);

	/* Overlap: b then c begin; b saw o1 after c did. */
	assert_int_equal(store_sweep_begin(f->s, f->c.id, 300, 0, &b, &e), 0);
	assert_int_equal(store_sweep_begin(f->s, f->c.id, 301, 0, &c, &e), 0);
	assert_int_equal(store_sweep_begin(f->s, f->c.id, 302, 60, &a, &e), 1);
	put_item(f, c, "o1", "k1", 5000);
	put_item(f, b, "o1", "k1", 5000);
	assert_int_equal(
	    store_sweep_finish(f->s, b, 310, 1, 1, 1, NULL, NULL, &e), 1);
	assert_int_equal(
	    store_sweep_finish(f->s, c, 320, 1, 1, 1, NULL, NULL, &e), 0);
	assert_int_equal(rows_of(f, &all), 1); /* o2 is gone, o1 stays */
	all.object_id = "o1";
	assert_int_equal(rows_of(f, &all), 1);
	all.object_id = "o2";
	assert_int_equal(rows_of(f, &all), 0);

	/* A step is marked once. */
	static const int days[] = {30, 7};
	assert_int_equal(store_inventory_mark(f->s, id, 7, days, 2, 400, &e),
			 0);
	assert_int_equal(store_inventory_mark(f->s, id, 7, days, 2, 401, &e),
			 1);
	assert_int_equal(store_inventory_mark(f->s, id, 30, days, 2, 401, &e),
			 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_secret_roundtrip, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_swapped_ciphertexts_fail,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_active_enforced, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_key_detected, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_reencrypt, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_view_and_unknown, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_duplicate_credential, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_unmarked_database_adopted,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_transitions_compare_and_set,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sweeps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_outbox_claim_once, setup,
					    teardown),
	    cmocka_unit_test(test_foreign_database_untouched),
	    cmocka_unit_test(test_missing_database),
	};
	struct err e;
	char cmd[300];
	int rc;

	if (mkdtemp(dir) == NULL || vault_process_init(&e) != 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) != 0 ? 1 : rc;
}
