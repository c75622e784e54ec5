#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

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

int store_warning_mark(struct store *s, int64_t secret_id, int threshold,
		       const int *thresholds, int n, int64_t now, struct err *e)
{
	sqlite3_stmt *st;
	int fresh = 0, ignored, rc;

	if (store_prepare(s,
			  "INSERT OR IGNORE INTO warning (secret_id, threshold,"
			  " sent_at) VALUES (?, ?, ?)",
			  &st, e))
		return -1;
	rc = mark_one(s, st, secret_id, threshold, now, &fresh, e);
	for (int i = 0; i < n && rc == 0; i++)
		if (thresholds[i] > threshold)
			rc = mark_one(s, st, secret_id, thresholds[i], now,
				      &ignored, e);
	sqlite3_finalize(st);
	if (rc)
		return -1;
	return fresh ? 0 : 1;
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

int store_outbox_add(struct store *s, enum outbox_kind kind,
		     const char *channel, int64_t credential_id,
		     int64_t secret_id, const char *payload, int64_t now,
		     struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "INSERT INTO outbox (created_at, kind, channel, "
			  "credential_id, secret_id, payload, next_at) "
			  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?1)",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, kind == OUTBOX_ALERT ? "alert" : "deploy", -1,
			  SQLITE_STATIC);
	store_bind_text_or_null(st, 3, channel);
	sqlite3_bind_int64(st, 4, credential_id);
	if (secret_id > 0)
		sqlite3_bind_int64(st, 5, secret_id);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_text(st, 6, payload ? payload : "{}", -1, SQLITE_STATIC);
	return store_step_done(s, st, "queue delivery", e);
}

int store_outbox_due(struct store *s, int64_t now, size_t max,
		     struct outbox_row **ret, size_t *ret_n, struct err *e)
{
	sqlite3_stmt *st;
	struct outbox_row *rows;
	size_t n = 0;
	int rc;

	*ret = NULL;
	*ret_n = 0;
	rows = calloc(max ? max : 1, sizeof(*rows));
	if (rows == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	if (store_prepare(s,
			  "SELECT id, created_at, kind, channel, credential_id,"
			  " secret_id, payload, attempts FROM outbox "
			  "WHERE done_at IS NULL AND failed_at IS NULL "
			  "AND next_at <= ?1 "
			  "AND (claimed_until IS NULL OR claimed_until <= ?1) "
			  "ORDER BY next_at, id LIMIT ?2",
			  &st, e)) {
		free(rows);
		return -1;
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, (int64_t)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < max) {
		struct outbox_row *r = &rows[n++];
		char kind[16];
		r->id = sqlite3_column_int64(st, 0);
		r->created_at = sqlite3_column_int64(st, 1);
		store_col_text(st, 2, kind, sizeof(kind));
		r->kind =
		    strcmp(kind, "deploy") == 0 ? OUTBOX_DEPLOY : OUTBOX_ALERT;
		store_col_text(st, 3, r->channel, sizeof(r->channel));
		r->credential_id = sqlite3_column_int64(st, 4);
		r->secret_id = sqlite3_column_int64(st, 5);
		store_col_text(st, 6, r->payload, sizeof(r->payload));
		r->attempts = sqlite3_column_int(st, 7);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		free(rows);
		return store_fail(s, "read deliveries", e);
	}
	*ret = rows;
	*ret_n = n;
	return 0;
}

int64_t store_outbox_next(struct store *s)
{
	sqlite3_stmt *st;
	int64_t v = 0;

	if (store_prepare(s,
			  "SELECT min(next_at) FROM outbox WHERE done_at IS "
			  "NULL AND failed_at IS NULL",
			  &st, NULL))
		return 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int store_outbox_claim(struct store *s, int64_t id, int64_t now, int64_t until,
		       struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE outbox SET claimed_until = ?1 WHERE id = ?2 "
			  "AND done_at IS NULL AND failed_at IS NULL "
			  "AND next_at <= ?3 "
			  "AND (claimed_until IS NULL OR claimed_until <= ?3)",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, until);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int64(st, 3, now);
	return store_step_cas(s, st, "claim delivery", e);
}

int store_outbox_done(struct store *s, int64_t id, int64_t now, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE outbox SET done_at = ?, attempts = attempts "
			  "+ 1, last_error = NULL, claimed_until = NULL "
			  "WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	return store_step_done(s, st, "mark delivered", e);
}

int store_outbox_retry(struct store *s, int64_t id, int64_t now,
		       int64_t next_at, const char *error, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(
		s,
		"UPDATE outbox SET attempts = attempts + 1, "
		"last_error = ?1, next_at = CASE WHEN ?2 > 0 THEN ?2 "
		"ELSE next_at END, failed_at = CASE WHEN ?2 > 0 THEN "
		"NULL ELSE ?3 END, claimed_until = NULL WHERE id = ?4",
		&st, e))
		return -1;
	sqlite3_bind_text(st, 1, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, next_at);
	sqlite3_bind_int64(st, 3, now);
	sqlite3_bind_int64(st, 4, id);
	return store_step_done(s, st, "reschedule delivery", e);
}

int store_token_get(struct store *s, const struct vault *v, int64_t secret_id,
		    const char *scope, int64_t min_valid_until,
		    struct vbuf *ret, int64_t *ret_expires_at, struct err *e)
{
	char ad[VAULT_AD_MAX];
	sqlite3_stmt *st;
	int rc, found = 0;

	if (store_prepare(
		s,
		"SELECT expires_at, ciphertext FROM token_cache "
		"WHERE secret_id = ? AND scope = ? AND expires_at > ?",
		&st, e))
		return -1;
	sqlite3_bind_int64(st, 1, secret_id);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, min_valid_until);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		vault_ad_token(ad, secret_id, scope);
		*ret_expires_at = sqlite3_column_int64(st, 0);
		found = vault_decrypt(v, sqlite3_column_blob(st, 1),
				      (size_t)sqlite3_column_bytes(st, 1), ad,
				      ret, e) == 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "read token cache", e);
	return found;
}

int store_token_put(struct store *s, const struct vault *v, int64_t secret_id,
		    const char *scope, const char *token, size_t len,
		    int64_t expires_at, struct err *e)
{
	char ad[VAULT_AD_MAX];
	sqlite3_stmt *st;
	uint8_t *blob;
	size_t blen;
	int rc;

	vault_ad_token(ad, secret_id, scope);
	if (vault_encrypt(v, token, len, ad, &blob, &blen, e))
		return -1;
	if (store_prepare(
		s,
		"INSERT OR REPLACE INTO token_cache (secret_id, scope,"
		" expires_at, ciphertext) VALUES (?, ?, ?, ?)",
		&st, e)) {
		free(blob);
		return -1;
	}
	sqlite3_bind_int64(st, 1, secret_id);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, expires_at);
	sqlite3_bind_blob(st, 4, blob, (int)blen, free);
	/* A cached token lost to a power cut is simply fetched again: no
	 * need for the full sync that registered secrets get. */
	sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
	rc = store_step_done(s, st, "cache token", e);
	sqlite3_exec(s->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL);
	return rc;
}
