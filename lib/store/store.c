#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "path.h"
#include "schema.h"

#define BUSY_TIMEOUT_MS 15000
/* PRAGMA application_id of a secretwatch database: "SWch". */
#define STORE_APPLICATION_ID 0x53576368
#define STR_(x)		     #x
#define STR(x)		     STR_(x)

int store_fail(struct store *s, const char *what, struct err *e)
{
	int code = sqlite3_extended_errcode(s->db);

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		err_set(e,
			"%s: the database %s stayed locked by another "
			"process for %d s: try again",
			what, s->path, BUSY_TIMEOUT_MS / 1000);
	else if ((code & 0xff) == SQLITE_READONLY ||
		 (code & 0xff) == SQLITE_CANTOPEN)
		err_set(e,
			"%s: cannot write %s (%s): check its owner and "
			"permissions",
			what, s->path, sqlite3_errmsg(s->db));
	else if ((code & 0xff) == SQLITE_NOTADB ||
		 (code & 0xff) == SQLITE_CORRUPT)
		err_set(e,
			"%s: %s is not a secretwatch database or is "
			"damaged: restore it from a backup",
			what, s->path);
	else
		err_set(e, "%s: %s", what, sqlite3_errmsg(s->db));
	return -1;
}

int store_prepare(struct store *s, const char *sql, sqlite3_stmt **ret,
		  struct err *e)
{
	if (sqlite3_prepare_v2(s->db, sql, -1, ret, NULL) != SQLITE_OK)
		return store_fail(s, "query", e);
	return 0;
}

int store_step_done(struct store *s, sqlite3_stmt *st, const char *what,
		    struct err *e)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, what, e);
}

int store_step_cas(struct store *s, sqlite3_stmt *st, const char *what,
		   struct err *e)
{
	if (store_step_done(s, st, what, e))
		return -1;
	return sqlite3_changes(s->db) == 1 ? 0 : 1;
}

void store_col_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	size_t n = t ? (size_t)sqlite3_column_bytes(st, col) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, t, n);
	dst[n] = '\0';
}

int store_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return sqlite3_bind_null(st, idx);
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_TRANSIENT);
}

static int exec(struct store *s, const char *sql, const char *what,
		struct err *e)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(s, what, e);
	return 0;
}

int store_begin(struct store *s, struct err *e)
{
	return exec(s, "BEGIN IMMEDIATE", "begin transaction", e);
}

int store_commit(struct store *s, struct err *e)
{
	if (exec(s, "COMMIT", "commit", e)) {
		store_rollback(s);
		return -1;
	}
	return 0;
}

void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The one integer that sql returns. */
static int query_int(struct store *s, const char *sql, int *ret, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(s, sql, &st, e))
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_fail(s, "read database header", e);
}

static int user_version(struct store *s, int *ret, struct err *e)
{
	return query_int(s, "PRAGMA user_version", ret, e);
}

int store_schema_latest(void)
{
	return schema_migrations[schema_migration_count - 1].version;
}

int store_schema_version(struct store *s)
{
	int v = -1;

	user_version(s, &v, NULL);
	return v;
}

static int apply_migration(struct store *s, const struct schema_migration *m,
			   struct err *e)
{
	char sql[160];

	if (exec(s, m->sql, m->name, e))
		return -1;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO schema_version (version, name, applied_at) "
		 "VALUES (%d, '%s', strftime('%%s','now'));"
		 "PRAGMA user_version = %d;",
		 m->version, m->name, m->version);
	return exec(s, sql, "record migration", e);
}

/* Apply every migration newer than the database, in one transaction. */
static int migrate_tx(struct store *s, struct err *e)
{
	int have, broken = 0;

	if (user_version(s, &have, e))
		return -1;
	if (have == store_schema_latest() && s->app_id == STORE_APPLICATION_ID)
		return 0;
	if (store_begin(s, e))
		return -1;
	if (user_version(s, &have, e) ||
	    exec(s, "PRAGMA application_id = " STR(STORE_APPLICATION_ID),
		 "mark database", e) ||
	    exec(s,
		 "CREATE TABLE IF NOT EXISTS schema_version ("
		 "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
		 "applied_at INTEGER NOT NULL)",
		 "create schema_version", e))
		goto fail;
	for (int i = 0; i < schema_migration_count; i++)
		if (schema_migrations[i].version > have &&
		    apply_migration(s, &schema_migrations[i], e))
			goto fail;
	if (query_int(s, "SELECT count(*) FROM pragma_foreign_key_check",
		      &broken, e))
		goto fail;
	if (broken) {
		err_set(e, "migration left %d broken references", broken);
		goto fail;
	}
	return store_commit(s, e);
fail:
	store_rollback(s);
	return -1;
}

/* Migrations may rebuild a table (SQLite cannot alter a constraint): with
 * foreign keys on, dropping the old table would cascade, so they are off
 * while migrating (they cannot change inside a transaction), and checked
 * before the commit. */
static int migrate(struct store *s, struct err *e)
{
	int rc;

	if (exec(s, "PRAGMA foreign_keys = OFF", "configure database", e))
		return -1;
	rc = migrate_tx(s, e);
	if (exec(s, "PRAGMA foreign_keys = ON", "configure database", e))
		return -1;
	return rc;
}

/* Set path's mode to want when it has more bits; note what changed. */
static int tighten(const char *path, mode_t want, char *note, size_t size,
		   struct err *e)
{
	struct stat st;
	size_t used = strlen(note);

	if (lstat(path, &st) != 0 || S_ISLNK(st.st_mode) ||
	    (st.st_mode & 0777 & ~want) == 0)
		return 0;
	if (chmod(path, want) != 0) {
		err_set(e,
			"%s is mode %04o, open to others: cannot change it "
			"to %04o (%s); fix it by hand",
			path, (unsigned)(st.st_mode & 07777), (unsigned)want,
			strerror(errno));
		return -1;
	}
	if (used < size)
		snprintf(note + used, size - used, "%s%s was %04o, now %04o",
			 used ? "; " : "", path, (unsigned)(st.st_mode & 07777),
			 (unsigned)want);
	return 0;
}

int store_tighten_modes(const char *path, char *ret_note, size_t size,
			struct err *e)
{
	static const char *const sidecars[] = {"", "-wal", "-shm"};
	char buf[4096];

	ret_note[0] = '\0';
	path_dir(path, buf, sizeof(buf));
	if (tighten(buf, 0700, ret_note, size, e))
		return -1;
	for (size_t i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		snprintf(buf, sizeof(buf), "%s%s", path, sidecars[i]);
		if (tighten(buf, 0600, ret_note, size, e))
			return -1;
	}
	return 0;
}

/* A file of another user that this one may not use as mode asks: say
 * whose it is, so that the remedy is to run as that user. */
static int check_owner(const char *path, const struct stat *st,
		       enum store_mode mode, struct err *e)
{
	int need = mode == STORE_READONLY ? R_OK : R_OK | W_OK;
	struct passwd *pw;

	if (st->st_uid == geteuid() ||
	    faccessat(AT_FDCWD, path, need, AT_EACCESS) == 0)
		return 0;
	pw = getpwuid(st->st_uid);
	err_set(e,
		"database %s belongs to %s (uid %u) and is mode %04o: this "
		"user (uid %u) may not %s it; run secretwatch as %s (sudo -u "
		"%s secretwatch ...)",
		path, pw != NULL ? pw->pw_name : "another user",
		(unsigned)st->st_uid, (unsigned)(st->st_mode & 07777),
		(unsigned)geteuid(), mode == STORE_READONLY ? "read" : "write",
		pw != NULL ? pw->pw_name : "its owner",
		pw != NULL ? pw->pw_name : "OWNER");
	return -1;
}

/* What SQLite would report only as "cannot write" or "disk I/O error":
 * a symbolic link (refused, never followed), a directory or another
 * non-file, or another user's file. A missing path is left to the
 * caller. Returns 0, or -1 with e. */
static int check_path(const char *path, enum store_mode mode, struct err *e)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(path, &st) != 0)
		return 0;
	if (S_ISLNK(st.st_mode)) {
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		err_set(e,
			"database %s is a symbolic link (to %s), and links "
			"are refused: set [store] database to the file itself",
			path, n > 0 ? target : "?");
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		err_set(e,
			"database %s is a directory, not a database file: set "
			"[store] database to a file in it, such as "
			"%s/secretwatch.db",
			path, path);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		err_set(e,
			"database %s is not a regular file (a device, FIFO or "
			"socket): set [store] database to a database file",
			path);
		return -1;
	}
	return check_owner(path, &st, mode, e);
}

/* Create path 0600 (and its directory 0700) unless it exists. */
static int create_file(const char *path, struct err *e)
{
	char buf[4096];
	int fd;

	path_dir(path, buf, sizeof(buf));
	if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
		err_set(e, "cannot create the directory of %s: %s", path,
			strerror(errno));
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set(e, "cannot create database %s: %s", path,
			strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int check_exists(const char *path, struct err *e)
{
	struct stat st;
	int missing = stat(path, &st) != 0;

	if (!missing && st.st_size > 0)
		return 0;
	err_set(e,
		"database %s %s: run 'secretwatch init' or set [store] "
		"database in the config",
		path, missing ? "cannot be found" : "is empty");
	return -1;
}

/* A reader that may not write needs the -wal and -shm files to exist:
 * SQLite cannot create them for it, and fails as if asked to write. */
static int check_readable(const char *path, struct err *e)
{
	char wal[PATH_MAX], shm[PATH_MAX], dir[PATH_MAX];

	snprintf(wal, sizeof(wal), "%s-wal", path);
	snprintf(shm, sizeof(shm), "%s-shm", path);
	if ((access(wal, F_OK) == 0 && access(shm, F_OK) == 0) ||
	    (path_dir(path, dir, sizeof(dir)) == 0 && access(dir, W_OK) == 0))
		return 0;
	err_set(e,
		"cannot read %s as this user: its -wal and -shm files are "
		"missing and only its owner may create them: start "
		"secretwatchd, or run 'secretwatch check' once as the owner",
		path);
	return -1;
}

/* Refuse, before anything is written to it, a file that is not ours: one
 * marked by another program, one holding tables of another program, or a
 * secretwatch database newer than this binary. A database from before
 * the mark (our schema_version table, application_id 0) is ours. */
static int identify(struct store *s, struct err *e)
{
	int tables, ours, version;

	if (query_int(s, "PRAGMA application_id", &s->app_id, e) ||
	    query_int(s,
		      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
		      "AND name NOT LIKE 'sqlite_%'",
		      &tables, e) ||
	    query_int(s,
		      "SELECT count(*) FROM sqlite_schema WHERE type = 'table' "
		      "AND name = 'schema_version'",
		      &ours, e) ||
	    user_version(s, &version, e))
		return -1;
	if (s->app_id != STORE_APPLICATION_ID &&
	    (s->app_id != 0 || (tables > 0 && !ours))) {
		err_set(e,
			"%s is not a secretwatch database (it belongs to "
			"another program; nothing was changed): point "
			"[store] database at a file of its own",
			s->path);
		return -1;
	}
	if (version > store_schema_latest()) {
		err_set(e,
			"%s has schema version %d, newer than this "
			"secretwatch (%d): upgrade secretwatch",
			s->path, version, store_schema_latest());
		return -1;
	}
	return 0;
}

/* A read-only store cannot be migrated: it must be current already. */
static int check_current(struct store *s, struct err *e)
{
	int have;

	if (user_version(s, &have, e))
		return -1;
	if (have == store_schema_latest())
		return 0;
	err_set(e,
		"%s has schema version %d, this secretwatch needs %d: run "
		"any command that writes (or the daemon) as the database's "
		"owner once to upgrade it",
		s->path, have, store_schema_latest());
	return -1;
}

static int configure(struct store *s, struct err *e)
{
	int persist = 1;

	/* Keep the -wal and -shm files between processes: each short CLI
	 * run would otherwise create, sync and delete them again. The WAL is
	 * truncated to nothing at the last close (journal_size_limit = 0),
	 * so the next process has no old frames to recover and copy back. */
	sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	return exec(s,
		    "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
		    "PRAGMA journal_mode = WAL; PRAGMA journal_size_limit = 0; "
		    "PRAGMA secure_delete = ON",
		    "configure database", e);
}

int store_open(const char *path, enum store_mode mode, struct store **ret,
	       struct err *e)
{
	struct store *s;

	if (check_path(path, mode, e) ||
	    (mode == STORE_CREATE ? create_file(path, e)
				  : check_exists(path, e)))
		return -1;
	if (mode == STORE_READONLY && check_readable(path, e))
		return -1;
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err_set(e, "out of memory");
		return -1;
	}
	snprintf(s->path, sizeof(s->path), "%s", path);
	if (sqlite3_open_v2(path, &s->db,
			    (mode == STORE_READONLY ? SQLITE_OPEN_READONLY
						    : SQLITE_OPEN_READWRITE) |
				SQLITE_OPEN_NOFOLLOW |
				SQLITE_OPEN_NOMUTEX, /* one thread each */
			    NULL) != SQLITE_OK) {
		store_fail(s, "open database", e);
		goto fail;
	}
	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(s->db, 1);
	if (identify(s, e))
		goto fail;
	if (mode == STORE_READONLY ? check_current(s, e)
				   : configure(s, e) || migrate(s, e))
		goto fail;
	*ret = s;
	return 0;
fail:
	store_close(s);
	return -1;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	sqlite3_finalize(s->inv_put);
	sqlite3_close_v2(s->db);
	free(s);
}

static int meta_get(struct store *s, const char *key, void **ret,
		    size_t *ret_len, struct err *e)
{
	sqlite3_stmt *st;
	int rc, found = 0;

	*ret = NULL;
	if (store_prepare(s, "SELECT value FROM meta WHERE key = ?", &st, e))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		*ret = malloc(n ? n : 1);
		if (*ret != NULL) {
			memcpy(*ret, sqlite3_column_blob(st, 0), n);
			*ret_len = n;
			found = 1;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(s, "read key check", e);
	return found;
}

static int meta_set(struct store *s, const char *key, const void *val,
		    size_t len, struct err *e)
{
	sqlite3_stmt *st;
	int rc;

	if (store_prepare(
		s,
		"INSERT INTO meta (key, value) VALUES (?, ?) "
		"ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		&st, e))
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, val, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_fail(s, "write key check", e);
}

int store_key_init(struct store *s, const struct vault *v, int *ret_written,
		   struct err *e)
{
	void *kcv;
	size_t len;
	uint8_t *blob;
	int found, rc;

	*ret_written = 0;
	found = meta_get(s, "kcv", &kcv, &len, e);
	if (found < 0)
		return -1;
	if (found) {
		free(kcv);
		return store_key_check(s, v, e);
	}
	if (vault_kcv_make(v, &blob, &len, e))
		return -1;
	rc = meta_set(s, "kcv", blob, len, e);
	free(blob);
	*ret_written = rc == 0;
	return rc;
}

int store_key_present(struct store *s, struct err *e)
{
	void *kcv;
	size_t len;
	int found = meta_get(s, "kcv", &kcv, &len, e);

	if (found > 0)
		free(kcv);
	return found;
}

int store_key_check(struct store *s, const struct vault *v, struct err *e)
{
	void *kcv;
	size_t len;
	int found, rc;

	found = meta_get(s, "kcv", &kcv, &len, e);
	if (found < 0)
		return -1;
	if (!found) {
		err_set(e,
			"database %s has no key check: run 'secretwatch "
			"init'",
			s->path);
		return -1;
	}
	rc = vault_kcv_check(v, kcv, len);
	free(kcv);
	if (rc != 0)
		err_set(e,
			"the master key does not match database %s: restore "
			"the key file that was made with it (see [store] "
			"key_file); nothing was changed",
			s->path);
	return rc;
}

int store_kcv_rewrite(struct store *s, const struct vault *v, struct err *e)
{
	uint8_t *blob;
	size_t len;
	int rc;

	if (vault_kcv_make(v, &blob, &len, e))
		return -1;
	rc = meta_set(s, "kcv", blob, len, e);
	free(blob);
	return rc;
}
