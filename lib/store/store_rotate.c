/* store_rotate.c - rotation intents and revoked secrets (watch_rotate.c). */
#include <sqlite3.h>
#include <string.h>

#include "store_impl.h"

#define ROTATION_COLS                                                          \
	"id, credential_id, display_name, requested_end, created_at"

int store_rotation_open(struct store *s, int64_t credential_id,
			const char *base, int64_t requested_end, int64_t now,
			struct rotation *ret, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* The display name is made unique with the intent's own number:
	 * inside the caller's (immediate) transaction, max(id) + 1 is it. */
	if (store_prepare(s,
			  "INSERT INTO rotation (credential_id, display_name, "
			  "requested_end, created_at) VALUES (?1, ?2 || ' #' "
			  "|| (SELECT coalesce(max(id), 0) + 1 FROM rotation),"
			  " ?3, ?4)",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, credential_id);
	sqlite3_bind_text(st, 2, base, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, requested_end);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return 1; /* one is open already */
	if (rc != SQLITE_DONE)
		return store_fail(s, "open rotation", e);
	rc = store_rotation_get_open(s, credential_id, ret, e);
	return rc == 0 ? 0 : -1;
}

int store_rotation_get_open(struct store *s, int64_t credential_id,
			    struct rotation *ret, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "SELECT " ROTATION_COLS " FROM rotation WHERE "
			  "credential_id = ? AND state = 'open'",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, credential_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		memset(ret, 0, sizeof(*ret));
		ret->id = sqlite3_column_int64(st, 0);
		ret->credential_id = sqlite3_column_int64(st, 1);
		store_col_text(st, 2, ret->display_name,
			       sizeof(ret->display_name));
		ret->requested_end = sqlite3_column_int64(st, 3);
		ret->created_at = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : store_fail(s, "read rotation", e);
}

int store_rotation_in_flight(struct store *s, int64_t credential_id,
			     struct secret_info *ret, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(
		s,
		"SELECT " STORE_SECRET_COLS(
		    "") " FROM secret WHERE "
			"credential_id = ? AND state = 'pending' AND "
			"made_by_rotation ORDER BY created_at DESC, id DESC "
			"LIMIT 1",
		&st, e))
		return -1;
	sqlite3_bind_int64(st, 1, credential_id);
	return store_secret_one(s, st, ret, e);
}

int store_rotation_close(struct store *s, int64_t id, bool done,
			 int64_t secret_id, const char *key_id, int64_t now,
			 struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE rotation SET state = ?2, closed_at = ?3, "
			  "secret_id = ?4, key_id = ?5 "
			  "WHERE id = ?1 AND state = 'open'",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, done ? "done" : "abandoned", -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	if (secret_id > 0)
		sqlite3_bind_int64(st, 4, secret_id);
	else
		sqlite3_bind_null(st, 4);
	store_bind_text_or_null(st, 5, key_id);
	return store_step_cas(s, st, "close rotation", e);
}

int store_secret_revoke(struct store *s, int64_t id, int64_t now, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* Compare and set; with secure_delete on, the old ciphertext's
	 * bytes are overwritten in the file too. */
	if (store_prepare(s,
			  "UPDATE secret SET state = 'revoked', revoked_at = "
			  "?2, ciphertext = x'' WHERE id = ?1 AND (state = "
			  "'previous' OR (state = 'failed' AND "
			  "made_by_rotation))",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if ((rc = store_step_cas(s, st, "revoke secret", e)) != 0)
		return rc;
	if (store_prepare(s, "DELETE FROM token_cache WHERE secret_id = ?", &st,
			  e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, "drop revoked secret's tokens", e);
}
