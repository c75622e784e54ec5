#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

static int set_ciphertext(struct store *s, const char *table, const char *where,
			  int64_t id, const char *scope, const uint8_t *blob,
			  size_t len, struct err *e)
{
	char sql[160];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql), "UPDATE %s SET ciphertext = ? WHERE %s",
		 table, where);
	if (store_prepare(s, sql, &st, e))
		return -1;
	sqlite3_bind_blob(st, 1, blob, (int)len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	if (scope != NULL)
		sqlite3_bind_text(st, 3, scope, -1, SQLITE_STATIC);
	return store_step_done(s, st, "store ciphertext", e);
}

/* The row is inserted first so that its id can be bound into the
 * ciphertext's associated data; the caller's transaction covers both. */
int store_secret_add(struct store *s, const struct vault *v,
		     struct secret_info *info, const char *value, size_t len,
		     struct err *e)
{
	char ad[VAULT_AD_MAX];
	sqlite3_stmt *st;
	uint8_t *blob;
	size_t blen;
	int rc;

	if (store_prepare(s,
			  "INSERT INTO secret (credential_id, state, hint, "
			  "key_id, note, expires_at, created_at, "
			  "made_by_rotation, ciphertext) "
			  "VALUES (?, 'pending', ?, ?, ?, ?, ?, ?, x'')",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, info->credential_id);
	sqlite3_bind_text(st, 2, info->hint, -1, SQLITE_STATIC);
	store_bind_text_or_null(st, 3, info->key_id);
	store_bind_text_or_null(st, 4, info->note);
	sqlite3_bind_int64(st, 5, info->expires_at);
	sqlite3_bind_int64(st, 6, info->created_at);
	sqlite3_bind_int(st, 7, info->made_by_rotation);
	if (store_step_done(s, st, "add secret", e))
		return -1;
	info->id = sqlite3_last_insert_rowid(s->db);
	info->state = SECRET_PENDING;
	vault_ad_secret(ad, info->credential_id, info->id);
	if (vault_encrypt(v, value, len, ad, &blob, &blen, e))
		return -1;
	rc = set_ciphertext(s, "secret", "id = ?", info->id, NULL, blob, blen,
			    e);
	free(blob);
	return rc;
}

int store_secret_one(struct store *s, sqlite3_stmt *st, struct secret_info *ret,
		     struct err *e)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		store_read_secret(st, 0, ret);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? 1 : store_fail(s, "read secret", e);
}

int store_secret_get(struct store *s, int64_t id, struct secret_info *ret,
		     struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "SELECT " STORE_SECRET_COLS("") " FROM secret "
							  "WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = store_secret_one(s, st, ret, e)) != 1)
		return rc;
	err_set(e, "no secret with ID %lld: see 'secretwatch secret list'",
		(long long)id);
	return -1;
}

int store_secret_each(struct store *s, int64_t credential_id,
		      store_secret_fn fn, void *ctx, struct err *e)
{
	sqlite3_stmt *st;
	struct secret_info si;
	int rc;

	if (store_prepare(
		s,
		"SELECT " STORE_SECRET_COLS(
		    "") " FROM secret "
			"WHERE ?1 = 0 OR credential_id = ?1 "
			"ORDER BY credential_id, created_at DESC, id DESC",
		&st, e))
		return -1;
	sqlite3_bind_int64(st, 1, credential_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		store_read_secret(st, 0, &si);
		if (fn(ctx, &si))
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "list secrets", e);
	return 0;
}

int store_secret_value(struct store *s, const struct vault *v, int64_t id,
		       struct vbuf *ret, struct err *e)
{
	char ad[VAULT_AD_MAX];
	sqlite3_stmt *st;
	int rc, out = -1;

	if (store_prepare(s,
			  "SELECT credential_id, ciphertext FROM secret "
			  "WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		vault_ad_secret(ad, sqlite3_column_int64(st, 0), id);
		out = vault_decrypt(v, sqlite3_column_blob(st, 1),
				    (size_t)sqlite3_column_bytes(st, 1), ad,
				    ret, e);
		if (out)
			err_prefix(e, "secret %lld", (long long)id);
	} else if (rc == SQLITE_DONE) {
		err_set(e, "no secret with ID %lld", (long long)id);
	} else {
		store_fail(s, "read secret", e);
	}
	sqlite3_finalize(st);
	return out;
}

int store_secret_set_state(struct store *s, int64_t id, enum secret_state state,
			   struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s, "UPDATE secret SET state = ? WHERE id = ?", &st,
			  e))
		return -1;
	sqlite3_bind_text(st, 1, secret_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return store_step_done(s, st, "change secret state", e);
}

int store_secret_fail(struct store *s, int64_t id, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE secret SET state = 'failed' "
			  "WHERE id = ? AND state = 'pending'",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return store_step_cas(s, st, "mark secret failed", e);
}

int store_secret_activate(struct store *s, int64_t credential_id, int64_t id,
			  int64_t now, struct err *e)
{
	sqlite3_stmt *st;

	/* Compare and set: nothing changes unless id is still pending (not
	 * retired, nor switched to by another process, since it was read). */
	if (store_prepare(s,
			  "UPDATE secret SET state = 'previous' "
			  "WHERE credential_id = ?1 AND state = 'active' "
			  "AND EXISTS (SELECT 1 FROM secret WHERE id = ?2 "
			  "AND credential_id = ?1 AND state = 'pending')",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, credential_id);
	sqlite3_bind_int64(st, 2, id);
	if (store_step_done(s, st, "retire active secret", e))
		return -1;
	if (store_prepare(
		s,
		"UPDATE secret SET state = 'active', activated_at = ?,"
		" first_try_at = NULL, next_try_at = NULL "
		"WHERE id = ? AND credential_id = ? "
		"AND state = 'pending'",
		&st, e))
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, id);
	sqlite3_bind_int64(st, 3, credential_id);
	return store_step_cas(s, st, "activate secret", e);
}

int store_secret_record_test(struct store *s, int64_t id, int64_t at, int ok,
			     const char *detail, struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(
		s,
		"UPDATE secret SET last_test_at = ?, last_test_ok = ?,"
		" last_test_detail = ? WHERE id = ?",
		&st, e))
		return -1;
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int(st, 2, ok ? 1 : 0);
	store_bind_text_or_null(st, 3, detail);
	sqlite3_bind_int64(st, 4, id);
	return store_step_done(s, st, "record test", e);
}

/* Decrypt one blob under old and encrypt it under new_key, same ad. */
static int reencrypt_blob(const struct vault *old, const struct vault *new_key,
			  sqlite3_stmt *row, int col, const char *ad,
			  uint8_t **ret_blob, size_t *ret_len, struct err *e)
{
	struct vbuf pt;
	int rc;

	if (vault_decrypt(old, sqlite3_column_blob(row, col),
			  (size_t)sqlite3_column_bytes(row, col), ad, &pt, e))
		return -1;
	rc = vault_encrypt(new_key, pt.p, pt.len, ad, ret_blob, ret_len, e);
	vbuf_free(&pt);
	return rc;
}

static int reencrypt_table(struct store *s, const struct vault *old,
			   const struct vault *new_key, int tokens,
			   struct err *e)
{
	sqlite3_stmt *st;
	char ad[VAULT_AD_MAX];
	uint8_t *blob;
	size_t len;
	int rc, fail = 0;

	if (store_prepare(s,
			  tokens ? "SELECT secret_id, scope, ciphertext FROM "
				   "token_cache"
				 : "SELECT id, credential_id, ciphertext FROM "
				   "secret WHERE state != 'revoked'",
			  &st, e))
		return -1;
	while (!fail && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		const char *scope = (const char *)sqlite3_column_text(st, 1);
		if (tokens)
			vault_ad_token(ad, id, scope);
		else
			vault_ad_secret(ad, sqlite3_column_int64(st, 1), id);
		fail = reencrypt_blob(old, new_key, st, 2, ad, &blob, &len, e);
		if (!fail) {
			fail = set_ciphertext(
			    s, tokens ? "token_cache" : "secret",
			    tokens ? "secret_id = ? AND scope = ?" : "id = ?",
			    id, tokens ? scope : NULL, blob, len, e);
			free(blob);
		}
	}
	if (!fail && rc != SQLITE_DONE)
		fail = store_fail(s, "read for rekey", e);
	sqlite3_finalize(st);
	return fail ? -1 : 0;
}

int store_reencrypt_all(struct store *s, const struct vault *old,
			const struct vault *new_key, struct err *e)
{
	if (reencrypt_table(s, old, new_key, 0, e) ||
	    reencrypt_table(s, old, new_key, 1, e))
		return -1;
	return store_kcv_rewrite(s, new_key, e);
}
