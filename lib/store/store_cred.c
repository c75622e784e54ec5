#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_impl.h"

/* The rotation columns are read only for credentials that rotate
 * automatically: four lookups per row cost a cycle over 100,000
 * credentials a third of its time. What a rotation left (an open intent,
 * unused material) only for those that ever rotated, automatically or
 * not: one index probe instead of two counts. */
#define ROTATED                                                                \
	"(c.rotate OR EXISTS (SELECT 1 FROM rotation x WHERE "                 \
	"x.credential_id = c.id))"
#define CRED_COLS                                                              \
	"c.id, c.name, c.tenant, c.client_id, c.sender, c.object_id, "         \
	"c.test_to, c.cloud, c.authority_url, c.smtp_url, c.graph_url, "       \
	"c.created_at, c.last_check_at, c.switches, c.test_failures, "         \
	"c.token_file, c.token_file_secret_id, c.token_file_expires_at, "      \
	"c.token_file_failed_at, c.rotate, "                                   \
	"CASE WHEN " ROTATED " THEN (SELECT count(*) FROM rotation r "         \
	"WHERE r.credential_id = c.id AND r.state = 'open') ELSE 0 END, "      \
	"CASE WHEN c.rotate THEN (SELECT max(r.created_at) FROM rotation r "   \
	"WHERE r.credential_id = c.id AND r.state != 'open') ELSE 0 END, "     \
	"CASE WHEN c.rotate THEN (SELECT count(*) FROM secret p "              \
	"WHERE p.credential_id = c.id AND p.state = 'previous' "               \
	"AND p.key_id != '' AND p.removed_in_entra_at = 0) ELSE 0 END, "       \
	"CASE WHEN c.rotate THEN (SELECT max(CASE WHEN o.failed_at IS NOT "    \
	"NULL THEN 2 WHEN o.done_at IS NULL THEN 1 ELSE 0 END) FROM secret a " \
	"JOIN outbox o ON o.secret_id = a.id AND o.kind = 'deploy' "           \
	"WHERE a.credential_id = c.id AND a.state = 'active') ELSE 0 END, "    \
	"CASE WHEN c.rotate THEN (SELECT max(e.at) FROM event e "              \
	"WHERE e.credential = c.name AND e.kind = 'graph-read') ELSE 0 END, "  \
	"c.app_object_id, c.lifetime_max, "                                    \
	"CASE WHEN " ROTATED " THEN (SELECT count(*) FROM secret f WHERE "     \
	"f.credential_id = c.id AND f.state = 'failed' AND "                   \
	"f.made_by_rotation AND f.key_id != '') ELSE 0 END, "                  \
	"c.sweep, CASE WHEN c.sweep THEN (SELECT max(w.finished_at) FROM "     \
	"sweep w WHERE w.credential_id = c.id AND w.state = 'done') ELSE 0 "   \
	"END, CASE WHEN c.sweep THEN (SELECT max(t.started_at) FROM sweep t "  \
	"WHERE t.credential_id = c.id) ELSE 0 END"
#define CRED_NCOLS 31

/* Every field is read (no memset: a cycle reads 100,000 of them). */
static void read_cred(sqlite3_stmt *st, struct cred *c)
{
	c->id = sqlite3_column_int64(st, 0);
	store_col_text(st, 1, c->name, sizeof(c->name));
	store_col_text(st, 2, c->tenant, sizeof(c->tenant));
	store_col_text(st, 3, c->client_id, sizeof(c->client_id));
	store_col_text(st, 4, c->sender, sizeof(c->sender));
	store_col_text(st, 5, c->object_id, sizeof(c->object_id));
	store_col_text(st, 6, c->test_to, sizeof(c->test_to));
	store_col_text(st, 7, c->cloud, sizeof(c->cloud));
	store_col_text(st, 8, c->authority_url, sizeof(c->authority_url));
	store_col_text(st, 9, c->smtp_url, sizeof(c->smtp_url));
	store_col_text(st, 10, c->graph_url, sizeof(c->graph_url));
	c->created_at = sqlite3_column_int64(st, 11);
	c->last_check_at = sqlite3_column_int64(st, 12);
	c->switches = sqlite3_column_int64(st, 13);
	c->test_failures = sqlite3_column_int64(st, 14);
	c->token_file = sqlite3_column_int(st, 15);
	c->token_file_secret_id = sqlite3_column_int64(st, 16);
	c->token_file_expires_at = sqlite3_column_int64(st, 17);
	c->token_file_failed_at = sqlite3_column_int64(st, 18);
	c->rotate_auto = sqlite3_column_int(st, 19);
	c->rotate_open = sqlite3_column_int(st, 20);
	c->last_rotation_at = sqlite3_column_int64(st, 21);
	c->revocable = sqlite3_column_int(st, 22);
	c->active_deploy = (enum cred_deploy)sqlite3_column_int(st, 23);
	c->last_graph_read_at = sqlite3_column_int64(st, 24);
	store_col_text(st, 25, c->app_object_id, sizeof(c->app_object_id));
	c->lifetime_max = sqlite3_column_int64(st, 26);
	c->unused_made = sqlite3_column_int(st, 27);
	c->sweep = sqlite3_column_int(st, 28);
	c->last_sweep_at = sqlite3_column_int64(st, 29);
	c->last_sweep_try_at = sqlite3_column_int64(st, 30);
}

int store_cred_set_lifetime_max(struct store *s, int64_t id, int64_t secs,
				struct err *e)
{
	sqlite3_stmt *st;

	if (store_prepare(s,
			  "UPDATE credential SET lifetime_max = ? WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, secs);
	sqlite3_bind_int64(st, 2, id);
	return store_step_done(s, st, "change credential", e);
}

int store_cred_set_app_object_id(struct store *s, int64_t id, const char *oid,
				 struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "UPDATE credential SET app_object_id = ? "
			  "WHERE id = ?",
			  &st, e))
		return -1;
	sqlite3_bind_text(st, 1, oid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "change credential", e);
}

void store_read_secret(sqlite3_stmt *st, int f, struct secret_info *si)
{
	char state[16];

	memset(si, 0, sizeof(*si));
	si->id = sqlite3_column_int64(st, f + 0);
	si->credential_id = sqlite3_column_int64(st, f + 1);
	store_col_text(st, f + 2, state, sizeof(state));
	if (secret_state_parse(state, &si->state))
		si->state = SECRET_FAILED;
	store_col_text(st, f + 3, si->hint, sizeof(si->hint));
	store_col_text(st, f + 4, si->key_id, sizeof(si->key_id));
	store_col_text(st, f + 5, si->note, sizeof(si->note));
	si->expires_at = sqlite3_column_int64(st, f + 6);
	si->created_at = sqlite3_column_int64(st, f + 7);
	si->activated_at = sqlite3_column_int64(st, f + 8);
	si->last_test_at = sqlite3_column_int64(st, f + 9);
	si->last_test_ok = sqlite3_column_int(st, f + 10);
	store_col_text(st, f + 11, si->last_test_detail,
		       sizeof(si->last_test_detail));
	si->first_try_at = sqlite3_column_int64(st, f + 12);
	si->next_try_at = sqlite3_column_int64(st, f + 13);
	store_col_text(st, f + 14, state, sizeof(state));
	si->kind = strcmp(state, "certificate") == 0 ? SECRET_KIND_CERTIFICATE
						     : SECRET_KIND_SECRET;
	store_col_text(st, f + 15, si->assertion_alg,
		       sizeof(si->assertion_alg));
	si->made_by_rotation = sqlite3_column_int(st, f + 16) != 0;
	si->warned_min = -1;
}

/* Bind the fields a person sets (tenant ... graph_url, token_file,
 * rotate, sweep) to parameters first .. first + 11 of st, in that
 * order. */
static void bind_fields(sqlite3_stmt *st, int first, const struct cred *c)
{
	sqlite3_bind_text(st, first, c->tenant, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 1, c->client_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, first + 2, c->sender, -1, SQLITE_STATIC);
	store_bind_text_or_null(st, first + 3, c->object_id);
	store_bind_text_or_null(st, first + 4, c->test_to);
	sqlite3_bind_text(st, first + 5, c->cloud, -1, SQLITE_STATIC);
	store_bind_text_or_null(st, first + 6, c->authority_url);
	store_bind_text_or_null(st, first + 7, c->smtp_url);
	store_bind_text_or_null(st, first + 8, c->graph_url);
	sqlite3_bind_int(st, first + 9, c->token_file != 0);
	sqlite3_bind_int(st, first + 10, c->rotate_auto != 0);
	sqlite3_bind_int(st, first + 11, c->sweep != 0);
}

int store_cred_add(struct store *s, struct cred *c, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "INSERT INTO credential (name, tenant, client_id, "
			  "sender, object_id, test_to, cloud, authority_url, "
			  "smtp_url, graph_url, token_file, rotate, sweep, "
			  "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
			  &st, e))
		return -1;
	sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
	bind_fields(st, 2, c);
	sqlite3_bind_int64(st, 14, c->created_at);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		err_set(e,
			"a credential named '%s' exists already: pick "
			"another name, or see it with 'secretwatch cred show "
			"%s'",
			c->name, c->name);
		return -1;
	}
	if (rc != SQLITE_DONE)
		return store_fail(s, "add credential", e);
	c->id = sqlite3_last_insert_rowid(s->db);
	return 0;
}

/* Run sql, a SELECT of CRED_COLS with name (unless NULL) bound to its
 * one parameter, and hand each row to fn until it returns nonzero.
 * Returns the last sqlite3_step() code, or -1 with e when sql did not
 * prepare. */
static int each_row(struct store *s, const char *sql, const char *name,
		    store_cred_fn fn, void *ctx, struct err *e)
{
	sqlite3_stmt *st;
	struct cred c;
	int rc;

	if (store_prepare(s, sql, &st, e))
		return -1;
	if (name != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		read_cred(st, &c);
		if (fn(ctx, &c))
			break;
	}
	sqlite3_finalize(st);
	return rc;
}

static int copy_first(void *ctx, const struct cred *c)
{
	*(struct cred *)ctx = *c;
	return 1;
}

int store_cred_get(struct store *s, const char *name, struct cred *ret,
		   struct err *e)
{
	int rc = each_row(s,
			  "SELECT " CRED_COLS " FROM credential c "
			  "WHERE c.name = ?",
			  name, copy_first, ret, e);

	if (rc == SQLITE_ROW)
		return 0;
	if (rc == -1)
		return -1;
	if (rc != SQLITE_DONE)
		return store_fail(s, "read credential", e);
	err_set(e, "no credential named '%s': see 'secretwatch cred list'",
		name);
	return -1;
}

int store_cred_update(struct store *s, const struct cred *c, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "UPDATE credential SET tenant = ?, client_id = ?, "
			  "sender = ?, object_id = ?, test_to = ?, cloud = ?, "
			  "authority_url = ?, smtp_url = ?, graph_url = ?, "
			  "token_file = ?, rotate = ?, sweep = ? WHERE id = ?",
			  &st, e))
		return -1;
	bind_fields(st, 1, c);
	sqlite3_bind_int64(st, 13, c->id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE || sqlite3_changes(s->db) != 1)
		return store_fail(s, "change credential", e);
	return 0;
}

static void bind_or_null(sqlite3_stmt *st, int i, int64_t v)
{
	if (v != 0)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

int store_cred_token_file(struct store *s, int64_t id, int64_t secret_id,
			  int64_t expires_at, int64_t failed_at, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s,
			  "UPDATE credential SET token_file_secret_id = ?, "
			  "token_file_expires_at = ?, token_file_failed_at = ? "
			  "WHERE id = ?",
			  &st, e))
		return -1;
	bind_or_null(st, 1, secret_id);
	bind_or_null(st, 2, expires_at);
	bind_or_null(st, 3, failed_at);
	sqlite3_bind_int64(st, 4, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "record token file", e);
}

int store_cred_rm(struct store *s, int64_t id, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s, "DELETE FROM credential WHERE id = ?", &st, e))
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "remove credential", e);
}

int store_cred_each(struct store *s, store_cred_fn fn, void *ctx, struct err *e)
{
	int rc = each_row(s,
			  "SELECT " CRED_COLS " FROM credential c "
			  "ORDER BY c.name",
			  NULL, fn, ctx, e);

	if (rc == -1)
		return -1;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "list credentials", e);
	return 0;
}

/* One row per (credential, active-or-pending secret), grouped in C. Two
 * statements, so that the one-name form is an index lookup, not a scan. */
#define VIEW_SQL(where)                                                        \
	"SELECT " CRED_COLS ", " STORE_SECRET_COLS(                            \
	    "s.") ", "                                                         \
		  "(SELECT min(threshold) FROM warning w WHERE w.secret_id = " \
		  "s.id) "                                                     \
		  "FROM credential c "                                         \
		  "LEFT JOIN secret s ON s.credential_id = c.id "              \
		  "AND s.state IN ('active', 'pending') " where                \
		  " ORDER BY c.name"

static int newer(const struct secret_info *a, const struct secret_info *b)
{
	return a->created_at != b->created_at ? a->created_at > b->created_at
					      : a->id > b->id;
}

/* Keep pending[] newest first, and only the newest few: sorting here
 * lets the query walk the name index instead of sorting every row. */
static void pending_insert(struct cred_view *v, const struct secret_info *si)
{
	int i = v->npending;

	if (i == CRED_VIEW_PENDING_MAX) {
		if (!newer(si, &v->pending[i - 1]))
			return;
		i--;
	} else {
		v->npending++;
	}
	for (; i > 0 && newer(si, &v->pending[i - 1]); i--)
		v->pending[i] = v->pending[i - 1];
	v->pending[i] = *si;
}

static void view_add_secret(struct cred_view *v, sqlite3_stmt *st)
{
	struct secret_info si;

	if (sqlite3_column_type(st, CRED_NCOLS) == SQLITE_NULL)
		return;
	store_read_secret(st, CRED_NCOLS, &si);
	si.warned_min =
	    sqlite3_column_type(st, CRED_NCOLS + STORE_SECRET_NCOLS) ==
		    SQLITE_NULL
		? -1
		: sqlite3_column_int(st, CRED_NCOLS + STORE_SECRET_NCOLS);
	if (si.state == SECRET_ACTIVE) {
		v->has_active = 1;
		v->active = si;
	} else {
		pending_insert(v, &si);
	}
}

int store_view_each(struct store *s, const char *name, store_view_fn fn,
		    void *ctx, struct err *e)
{
	struct cred_view *v; /* one at a time: the output is streamed */
	sqlite3_stmt *st;
	int rc, have = 0, stop = 0, ret = -1;

	v = malloc(sizeof(*v));
	if (v == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	if (store_prepare(
		s, name ? VIEW_SQL("WHERE c.name = ?1") : VIEW_SQL(""), &st, e))
		goto out;
	if (name != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (have && id != v->cred.id) {
			stop = fn(ctx, v);
			have = 0;
		}
		if (!have) {
			read_cred(st, &v->cred);
			v->has_active = 0;
			v->npending = 0;
			have = 1;
		}
		view_add_secret(v, st);
	}
	sqlite3_finalize(st);
	if (!stop && rc != SQLITE_DONE) {
		store_fail(s, "read status", e);
		goto out;
	}
	if (name != NULL && !have) {
		err_set(e,
			"no credential named '%s': see 'secretwatch cred "
			"list'",
			name);
		goto out;
	}
	if (have && !stop)
		fn(ctx, v);
	ret = 0;
out:
	free(v);
	return ret;
}

static int copy_view(void *ctx, const struct cred_view *v)
{
	**(struct cred_view **)ctx = *v;
	return 1;
}

int store_view_get(struct store *s, const char *name, struct cred_view **ret,
		   struct err *e)
{
	struct cred_view *v = malloc(sizeof(*v));

	if (v == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	if (store_view_each(s, name, copy_view, &v, e)) {
		free(v);
		return -1;
	}
	*ret = v;
	return 0;
}
