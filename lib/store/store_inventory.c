/* store_inventory.c - a tenant's credentials as its reader's sweeps
 * found them (schema 010): metadata only. */
#include <stdio.h>
#include <string.h>

#include "store_impl.h"

#define INV_COLS                                                               \
	"i.id, i.credential_id, i.object_kind, i.object_id, i.app_id, "        \
	"i.display_name, i.key_id, i.kind, i.usage, i.name, i.hint, "          \
	"i.starts_at, i.expires_at, i.microsoft, i.saml, "                     \
	"coalesce(i.owners, -1), "                                             \
	"EXISTS (SELECT 1 FROM secret m WHERE m.key_id = i.key_id "            \
	"AND m.key_id != ''), "                                                \
	"coalesce((SELECT min(threshold) FROM inventory_warning w "            \
	"WHERE w.item_id = i.id), -1), i.first_seen_at"

static void read_item(sqlite3_stmt *st, struct inv_item *it)
{
	char kind[16];

	memset(it, 0, sizeof(*it));
	it->id = sqlite3_column_int64(st, 0);
	it->reader_id = sqlite3_column_int64(st, 1);
	store_col_text(st, 2, it->object_kind, sizeof(it->object_kind));
	store_col_text(st, 3, it->object_id, sizeof(it->object_id));
	store_col_text(st, 4, it->app_id, sizeof(it->app_id));
	store_col_text(st, 5, it->display_name, sizeof(it->display_name));
	store_col_text(st, 6, it->key_id, sizeof(it->key_id));
	store_col_text(st, 7, kind, sizeof(kind));
	it->kind = secret_kind_parse(kind);
	store_col_text(st, 8, it->usage, sizeof(it->usage));
	store_col_text(st, 9, it->name, sizeof(it->name));
	store_col_text(st, 10, it->hint, sizeof(it->hint));
	it->starts_at = sqlite3_column_int64(st, 11);
	it->expires_at = sqlite3_column_int64(st, 12);
	it->microsoft = sqlite3_column_int(st, 13) != 0;
	it->saml = sqlite3_column_int(st, 14) != 0;
	it->owners = sqlite3_column_int(st, 15);
	it->managed = sqlite3_column_int(st, 16) != 0;
	it->warned_min = sqlite3_column_int(st, 17);
	it->first_seen_at = sqlite3_column_int64(st, 18);
}

int store_sweep_begin(struct store *s, int64_t reader_id, int64_t now,
		      int64_t claim_s, int64_t *ret_id, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* A compare-and-set: no sweep of the reader began within claim_s. */
	if (store_prepare(s,
			  "INSERT INTO sweep (credential_id, started_at) "
			  "SELECT ?1, ?2 WHERE ?3 = 0 OR NOT EXISTS (SELECT 1 "
			  "FROM sweep WHERE credential_id = ?1 AND "
			  "started_at > ?2 - ?3)",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, reader_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, claim_s);
	rc = store_step_cas(s, st, "begin sweep", e);
	if (rc == 0)
		*ret_id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int store_reader_of(struct store *s, const char *tenant, const char *cloud,
		    int64_t not_id, char *name, size_t size, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "SELECT name FROM credential WHERE sweep AND "
			  "lower(tenant) = lower(?1) AND cloud = ?2 AND id != "
			  "?3 LIMIT 1",
			  &st, e))
		return -1;
	sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cloud, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, not_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		store_col_text(st, 0, name, size);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		return rc == SQLITE_ROW;
	return store_fail(s, "find the tenant's reader", e);
}

#define INV_PUT_SQL                                                            \
	"INSERT INTO inventory (credential_id, object_kind, object_id, "       \
	"app_id, display_name, key_id, kind, usage, name, hint, starts_at, "   \
	"expires_at, microsoft, saml, seen_sweep, first_seen_at) VALUES "      \
	"((SELECT credential_id FROM sweep WHERE id = ?15), ?1, ?2, ?3, ?4, "  \
	"?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?15, ?14) ON CONFLICT "       \
	"(credential_id, object_id, key_id) DO UPDATE SET object_kind = ?1, "  \
	"app_id = ?3, display_name = ?4, kind = ?6, usage = ?7, name = ?8, "   \
	"hint = ?9, starts_at = ?10, expires_at = ?11, microsoft = ?12, "      \
	"saml = ?13, seen_sweep = max(seen_sweep, ?15) RETURNING id"

static void bind_item(sqlite3_stmt *st, int64_t sweep, int64_t now,
		      const struct inv_item *it)
{
	sqlite3_bind_text(st, 1, it->object_kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, it->object_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, it->app_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, it->display_name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, it->key_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, secret_kind_name(it->kind), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, it->usage, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 8, it->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 9, it->hint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, it->starts_at);
	sqlite3_bind_int64(st, 11, it->expires_at);
	sqlite3_bind_int(st, 12, it->microsoft);
	sqlite3_bind_int(st, 13, it->saml);
	sqlite3_bind_int64(st, 14, now);
	sqlite3_bind_int64(st, 15, sweep);
}

int store_inventory_put(struct store *s, int64_t sweep, int64_t now,
			struct inv_item *it, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	/* The reader's own sweep row says which reader it is. */
	if (s->inv_put == NULL &&
	    sqlite3_prepare_v3(s->db, INV_PUT_SQL, -1,
			       SQLITE_PREPARE_PERSISTENT, &s->inv_put,
			       NULL) != SQLITE_OK)
		return store_fail(s, "keep inventory", e);
	st = s->inv_put;
	bind_item(st, sweep, now, it);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		it->id = sqlite3_column_int64(st, 0);
	/* Run to its end, so that the statement holds nothing open. */
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "keep inventory", e);
}

/* Tell gone about each row of the sweep's reader it did not see. */
static int tell_gone(struct store *s, int64_t sweep, store_inv_fn gone,
		     void *ctx, struct err *e)
{
	sqlite3_stmt *st;
	struct inv_item it;
	int rc;

	if (gone == NULL)
		return 0;
	if (store_prepare(s,
			  "SELECT " INV_COLS " FROM inventory i, sweep w "
			  "WHERE w.id = ? AND i.credential_id = "
			  "w.credential_id AND i.seen_sweep < w.id",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, sweep);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_item(st, &it);
		if (gone(ctx, &it) != 0) {
			sqlite3_finalize(st);
			return -1;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "read inventory", e);
}

/* The sweep is done, as a compare-and-set: it is running and no sweep
 * of its reader began after it (and is running or done): a row the later
 * one saw is the later one's to keep or take out. */
static int mark_done(struct store *s, int64_t sweep, int64_t now, int objects,
		     int items, int requests, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE sweep SET state = 'done', finished_at = ?2, "
			  "objects = ?3, items = ?4, requests = ?5 WHERE id = "
			  "?1 AND state = 'running' AND NOT EXISTS (SELECT 1 "
			  "FROM sweep n WHERE n.credential_id = "
			  "sweep.credential_id AND n.id > ?1 AND n.state != "
			  "'failed')",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, sweep);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int(st, 3, objects);
	sqlite3_bind_int(st, 4, items);
	sqlite3_bind_int(st, 5, requests);
	return store_step_cas(s, st, "finish sweep", e);
}

int store_sweep_finish(struct store *s, int64_t sweep, int64_t now, int objects,
		       int items, int requests, store_inv_fn gone, void *ctx,
		       struct err *e)
{
	sqlite3_stmt *st;
	int rc = mark_done(s, sweep, now, objects, items, requests, e);

	if (rc != 0 || tell_gone(s, sweep, gone, ctx, e))
		return rc != 0 ? rc : -1;
	if (store_prepare(s,
			  "DELETE FROM inventory WHERE credential_id = "
			  "(SELECT credential_id FROM sweep WHERE id = ?1) "
			  "AND seen_sweep < ?1",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, sweep);
	return store_step_done(s, st, "clear inventory", e);
}

int store_sweep_fail(struct store *s, int64_t sweep, int64_t now,
		     const char *error, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE sweep SET state = 'failed', finished_at = ?, "
			  "error = ? WHERE id = ? AND state = 'running'",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, sweep);
	return store_step_done(s, st, "fail sweep", e);
}

int64_t store_sweep_last(struct store *s, int64_t reader_id)
{
	sqlite3_stmt *st;
	struct err e;
	int64_t at = 0;

	if (store_prepare(s,
			  "SELECT max(finished_at) FROM sweep WHERE "
			  "credential_id = ? AND state = 'done'",
			  &st, &e))
		return 0;
	sqlite3_bind_int64(st, 1, reader_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		at = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return at;
}

/* The WHERE of q, only with the terms it asks for (so that SQLite can
 * use the inventory's indexes), its parameters numbered as in bind_q. */
static void where_of(const struct inv_query *q, char *out, size_t size)
{
	snprintf(out, size, "WHERE 1%s%s%s%s%s",
		 q->reader_id ? " AND i.credential_id = ?1" : "",
		 q->expires_by ? " AND i.expires_at <= ?2" : "",
		 q->kind >= 0 ? " AND i.kind = ?3" : "",
		 q->owner_none ? " AND i.owners = 0" : "",
		 q->object_id ? " AND i.object_id = ?4" : "");
}

static void bind_q(sqlite3_stmt *st, const struct inv_query *q)
{
	if (q->reader_id)
		sqlite3_bind_int64(st, 1, q->reader_id);
	if (q->expires_by)
		sqlite3_bind_int64(st, 2, q->expires_by);
	if (q->kind >= 0)
		sqlite3_bind_text(st, 3,
				  secret_kind_name((enum secret_kind)q->kind),
				  -1, SQLITE_STATIC);
	if (q->object_id)
		sqlite3_bind_text(st, 4, q->object_id, -1, SQLITE_STATIC);
}

int store_inventory_each(struct store *s, const struct inv_query *q,
			 store_inv_fn fn, void *ctx, struct err *e)
{
	char where[192], sql[sizeof(where) + 1024];
	sqlite3_stmt *st;
	struct inv_item it;
	int rc;

	where_of(q, where, sizeof(where));
	/* One object's few rows come by its key; "+" keeps SQLite from
	 * walking the reader's expiry index for the order instead. */
	snprintf(sql, sizeof(sql),
		 "SELECT " INV_COLS " FROM inventory i %s ORDER BY "
		 "%si.expires_at, i.display_name, i.key_id",
		 where, q->object_id ? "+" : "");
	if (store_prepare(s, sql, &st, e))
		return -1;
	bind_q(st, q);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_item(st, &it);
		if (fn(ctx, &it) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "read inventory", e);
}

int store_inventory_mark(struct store *s, int64_t id, int threshold,
			 const int *thresholds, int n, int64_t now,
			 struct err *e)
{
	return store_mark_thresholds(s,
				     "INSERT OR IGNORE INTO inventory_warning "
				     "(item_id, threshold, sent_at) VALUES "
				     "(?, ?, ?)",
				     id, threshold, thresholds, n, now, e);
}

int store_inventory_owners(struct store *s, int64_t reader_id,
			   const char *object_id, int owners, int64_t now,
			   struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE inventory SET owners = ?, owners_at = ? "
			  "WHERE credential_id = ? AND object_id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_int(st, 1, owners);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, reader_id);
	sqlite3_bind_text(st, 4, object_id, -1, SQLITE_STATIC);
	return store_step_done(s, st, "keep owners", e);
}

int store_inventory_counts(struct store *s, int64_t reader_id, int64_t now,
			   int64_t level_critical, int64_t level_warning,
			   struct inv_counts *ret, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (store_prepare(s,
			  "SELECT count(*) FILTER (WHERE expires_at <= ?2), "
			  "count(*) FILTER (WHERE expires_at > ?2 AND "
			  "expires_at <= ?2 + ?3), count(*) FILTER (WHERE "
			  "expires_at > ?2 + ?3 AND expires_at <= ?2 + ?4), "
			  "count(*) FILTER (WHERE expires_at > ?2 + ?4) FROM "
			  "inventory WHERE ?1 = 0 OR credential_id = ?1",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, reader_id);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, level_critical);
	sqlite3_bind_int64(st, 4, level_warning);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret->expired = sqlite3_column_int64(st, 0);
		ret->critical = sqlite3_column_int64(st, 1);
		ret->warning = sqlite3_column_int64(st, 2);
		ret->ok = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_fail(s, "count inventory", e);
}
