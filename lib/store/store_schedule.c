/* store_schedule.c - the watchdog's marks in the store: warnings sent per
 * threshold, switch attempts, credential and store-wide counters. */
#include "store_impl.h"
#include <stdlib.h>
#include <string.h>

/* Insert (secret_id, t) unless it is there; *ret_new says whether it was
 * inserted. */
static int mark_one(struct store *s, sqlite3_stmt *st, int64_t secret_id, int t,
		    int64_t now, int *ret_new, struct err *e)
{
	int rc;

	sqlite3_bind_int64(st, 1, secret_id);
	sqlite3_bind_int(st, 2, t);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_fail(s, "mark warning", e);
	*ret_new = sqlite3_changes(s->db) == 1;
	return 0;
}

int store_mark_thresholds(struct store *s, const char *insert, int64_t id,
			  int threshold, const int *thresholds, int n,
			  int64_t now, struct err *e)
{
	sqlite3_stmt *st;
	int fresh = 0, ignored, rc;

	if (store_prepare(s, insert, &st, e))
		return -1;
	rc = mark_one(s, st, id, threshold, now, &fresh, e);
	for (int i = 0; i < n && rc == 0; i++)
		if (thresholds[i] > threshold)
			rc = mark_one(s, st, id, thresholds[i], now, &ignored,
				      e);
	sqlite3_finalize(st);
	if (rc)
		return -1;
	return fresh ? 0 : 1;
}

int store_warning_mark(struct store *s, int64_t secret_id, int threshold,
		       const int *thresholds, int n, int64_t now, struct err *e)
{
	return store_mark_thresholds(s,
				     "INSERT OR IGNORE INTO warning (secret_id,"
				     " threshold, sent_at) VALUES (?, ?, ?)",
				     secret_id, threshold, thresholds, n, now,
				     e);
}

int store_secret_schedule(struct store *s, int64_t id, int64_t first_try_at,
			  int64_t next_try_at, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE secret SET first_try_at = ?, next_try_at = ? "
			  "WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, first_try_at);
	sqlite3_bind_int64(st, 2, next_try_at);
	sqlite3_bind_int64(st, 3, id);
	return store_step_done(s, st, "schedule switch", e);
}

int store_cred_count(struct store *s, int64_t credential_id,
		     enum cred_counter counter, int64_t delta, int64_t check_at,
		     struct err *e)
{
	static const char *const sql[] = {
	    [CRED_SWITCHES] = "UPDATE credential SET switches = switches + ?1, "
			      "last_check_at = coalesce(nullif(?2, 0), "
			      "last_check_at) WHERE id = ?3",
	    [CRED_TEST_FAILURES] = "UPDATE credential SET test_failures = "
				   "test_failures + ?1, last_check_at = "
				   "coalesce(nullif(?2, 0), last_check_at) "
				   "WHERE id = ?3",
	};
	sqlite3_stmt *st;

	if (store_prepare(s, sql[counter], &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, delta);
	sqlite3_bind_int64(st, 2, check_at);
	sqlite3_bind_int64(st, 3, credential_id);
	return store_step_done(s, st, "count", e);
}

/* The meta key of a store-wide counter. */
static const char *counter_key(enum store_counter c)
{
	switch (c) {
	case COUNTER_ALERT_DELIVERY_FAILURES:
		return "alert_delivery_failures";
	case COUNTER_ROTATIONS:
		return "rotations";
	case COUNTER_GRAPH_FAILURES:
		return "graph_failures";
	}
	return "unknown";
}

int store_counter_add(struct store *s, enum store_counter c, int64_t delta,
		      struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "INSERT INTO meta (key, value) VALUES (?1, ?2) "
			  "ON CONFLICT (key) DO UPDATE SET value = value + ?2",
			  &st, e))
		return -1;
	sqlite3_bind_text(st, 1, counter_key(c), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, delta);
	return store_step_done(s, st, "count", e);
}

int64_t store_counter_get(struct store *s, enum store_counter c)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (store_prepare(s, "SELECT value FROM meta WHERE key = ?", &st, NULL))
		return 0;
	sqlite3_bind_text(st, 1, counter_key(c), -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}
