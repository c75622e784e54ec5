/* store_sync.c - what reconciling with Entra changes (watch_sync.c). */
#include <sqlite3.h>

#include "store_impl.h"

int store_sync_correct(struct store *s, int64_t id, int64_t expires_at,
		       const char *key_id, struct err *e)
{
	sqlite3_stmt *st;

	/* Compare and set: the key ID is only filled in, never replaced. */
	if (store_prepare(s,
			  "UPDATE secret SET expires_at = ?2, key_id = "
			  "CASE WHEN key_id IS NULL OR key_id = '' THEN ?3 "
			  "ELSE key_id END WHERE id = ?1 AND (expires_at != ?2 "
			  "OR key_id IS NULL OR key_id = '')",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, expires_at);
	store_bind_text_or_null(st, 3, key_id);
	return store_step_cas(s, st, "correct secret from Entra", e);
}

int store_sync_mark_removed(struct store *s, int64_t id, int64_t at,
			    struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE secret SET removed_in_entra_at = ?2 "
			  "WHERE id = ?1 AND removed_in_entra_at = 0",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, at);
	return store_step_cas(s, st, "mark secret removed in Entra", e);
}
