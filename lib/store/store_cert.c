/* store_cert.c - certificate rows of the secret table (schema 007). */
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"
#include "x509.h"

int store_cert_add(struct store *s, const struct vault *v,
		   struct secret_info *info, const struct x509_key *key,
		   const uint8_t *cert, size_t cert_len, struct err *e)
{
	sqlite3_stmt *st;

	if (store_secret_add(s, v, info, key->der.p, key->der.len, e) ||
	    store_prepare(s,
			  "UPDATE secret SET kind = 'certificate', "
			  "certificate = ? WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_blob(st, 1, cert, (int)cert_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, info->id);
	if (store_step_done(s, st, "store certificate", e))
		return -1;
	info->kind = SECRET_KIND_CERTIFICATE;
	return 0;
}

int store_cert_get(struct store *s, int64_t id, uint8_t **ret, size_t *ret_len,
		   struct err *e)
{
	sqlite3_stmt *st;
	int rc, n, out = -1;

	if (store_prepare(s, "SELECT certificate FROM secret WHERE id = ?", &st,
			  e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	n = rc == SQLITE_ROW ? sqlite3_column_bytes(st, 0) : 0;
	if (rc == SQLITE_ROW && n > 0 && (*ret = malloc((size_t)n)) != NULL) {
		memcpy(*ret, sqlite3_column_blob(st, 0), (size_t)n);
		*ret_len = (size_t)n;
		out = 0;
	} else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
		err_set(e, "secret #%lld has no certificate", (long long)id);
	} else {
		store_fail(s, "read certificate", e);
	}
	sqlite3_finalize(st);
	return out;
}

int store_cert_set_key_id(struct store *s, int64_t id, const char *key_id,
			  struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE secret SET key_id = ?2 WHERE id = ?1 AND "
			  "state = 'pending' AND kind = 'certificate' AND "
			  "key_id IS NOT ?2",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, key_id, -1, SQLITE_STATIC);
	return store_step_cas(s, st, "record the certificate's key ID", e);
}

int store_cert_set_alg(struct store *s, int64_t id, const char *alg,
		       struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s, "UPDATE secret SET assertion_alg = ? WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_text(st, 1, alg, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return store_step_done(s, st, "record assertion algorithm", e);
}
