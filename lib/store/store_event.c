#include "store_impl.h"

int store_event_add(struct store *s, int64_t at, const char *credential,
		    int64_t secret_id, const char *kind,
		    const char *detail_json, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "INSERT INTO event (at, credential, secret_id, kind, "
			  "detail) VALUES (?, ?, ?, ?, json(?))",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, at);
	store_bind_text_or_null(st, 2, credential);
	if (secret_id > 0)
		sqlite3_bind_int64(st, 3, secret_id);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail_json ? detail_json : "{}", -1,
			  SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "record event", e);
}

int store_event_each(struct store *s, const char *credential, int64_t since,
		     store_event_fn fn, void *ctx, struct err *e)
{
	sqlite3_stmt *st;
	struct event_row ev;
	int rc;

	if (store_prepare(s,
			  "SELECT id, at, credential, secret_id, kind, detail "
			  "FROM event WHERE (?1 IS NULL OR credential = ?1) "
			  "AND at >= ?2 ORDER BY at, id",
			  &st, e))
		return -1;
	if (credential != NULL)
		sqlite3_bind_text(st, 1, credential, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev.id = sqlite3_column_int64(st, 0);
		ev.at = sqlite3_column_int64(st, 1);
		ev.credential = (const char *)sqlite3_column_text(st, 2);
		ev.secret_id = sqlite3_column_int64(st, 3);
		ev.kind = (const char *)sqlite3_column_text(st, 4);
		ev.detail = (const char *)sqlite3_column_text(st, 5);
		if (fn(ctx, &ev))
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "read audit trail", e);
	return 0;
}

int store_event_passed_at(struct store *s, const char *credential,
			  int64_t secret_id, int64_t *ret_at, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "SELECT coalesce(max(at), 0) FROM event WHERE "
			  "credential = ? AND secret_id = ? AND kind IN "
			  "('test-passed', 'switched')",
			  &st, e))
		return -1;
	sqlite3_bind_text(st, 1, credential, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, secret_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_at = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_fail(s, "read audit trail", e);
}
