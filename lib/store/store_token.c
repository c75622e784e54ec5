/* store_token.c - the cache of access tokens, encrypted like secrets. */
#include "store_impl.h"
#include <stdlib.h>
#include <string.h>

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
