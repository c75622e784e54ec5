/* store_impl.h - shared by the store*.c files only. */
#ifndef SW_STORE_IMPL_H
#define SW_STORE_IMPL_H

#include <sqlite3.h>

#include "store.h"

struct store {
	sqlite3 *db;
	char path[4096];
	int app_id; /* PRAGMA application_id when opened */
	/* Kept prepared: a sweep keeps 300,000 rows of a large tenant, and
	 * parsing the statement again for each cost a third of its time.
	 * Finalized by store_close. */
	sqlite3_stmt *inv_put;
};

/* Prepare sql; on failure fill e with the SQLite message. */
int store_prepare(struct store *s, const char *sql, sqlite3_stmt **ret,
		  struct err *e);
/* Step a statement that returns no rows, finalize it; 0 or -1 with e. */
int store_step_done(struct store *s, sqlite3_stmt *st, const char *what,
		    struct err *e);
/* Step a compare-and-set UPDATE, finalize it: 0 when it changed one row,
 * 1 when it changed none (the condition no longer held), -1 with e. */
int store_step_cas(struct store *s, sqlite3_stmt *st, const char *what,
		   struct err *e);
/* Fill e from the connection's last error, prefixed with what. */
int store_fail(struct store *s, const char *what, struct err *e);
/* Copy a text column into a fixed buffer ("" for NULL). */
void store_col_text(sqlite3_stmt *st, int col, char *dst, size_t size);
/* Bind text, or NULL when s is empty. */
int store_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s);
/* Step st, a prepared SELECT of STORE_SECRET_COLS, and finalize it:
 * 0 with the first row in *ret, 1 when there is none, -1 with e. */
int store_secret_one(struct store *s, sqlite3_stmt *st, struct secret_info *ret,
		     struct err *e);
/* Read the secret_info columns starting at column first. */
void store_read_secret(sqlite3_stmt *st, int first, struct secret_info *si);
/* The column list store_read_secret expects, with a table alias prefix. */
#define STORE_SECRET_COLS(p)                                                   \
	p "id, " p "credential_id, " p "state, " p "hint, " p "key_id, " p     \
	  "note, " p "expires_at, " p "created_at, " p "activated_at, " p      \
	  "last_test_at, " p "last_test_ok, " p "last_test_detail, " p         \
	  "first_try_at, " p "next_try_at, " p "kind, " p "assertion_alg, " p  \
	  "made_by_rotation"
#define STORE_SECRET_NCOLS 17
/* Mark threshold and every larger one of thresholds[] for row id with
 * insert (an INSERT OR IGNORE of (id, threshold, sent_at)): 0 when this
 * call marked threshold, 1 when it was marked already, -1 with e. */
int store_mark_thresholds(struct store *s, const char *insert, int64_t id,
			  int threshold, const int *thresholds, int n,
			  int64_t now, struct err *e);
/* Replace the key-check value with one made by v (rekey). */
int store_kcv_rewrite(struct store *s, const struct vault *v, struct err *e);

#endif
