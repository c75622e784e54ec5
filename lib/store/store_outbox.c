/* store_outbox.c - what is owed, written in the transaction that owes it:
 * alerts per channel and deploys, claimed before delivery. */
#include "store_impl.h"
#include <stdlib.h>
#include <string.h>

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
