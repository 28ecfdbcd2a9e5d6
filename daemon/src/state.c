/* state.c - the Conductor's local state store on SQLite (see state.h and
 * docs/state.md).
 *
 * One connection per handle, serialized by a recursive mutex: a thread that
 * began a transaction keeps the mutex and may call every other function
 * inside it. Every statement is prepared with bound parameters; the only SQL
 * built at run time is "PRAGMA user_version = <int>". */
#include "state.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "clock.h"
#include "fugue/log.h"

#define DB_NAME "conductor.db"
#define BUSY_TIMEOUT_MS 10000
#define ALIAS_MAX 255

struct fugue_state {
	sqlite3 *db;
	pthread_mutex_t mu;  /* recursive; held across a transaction */
	int depth;           /* transaction nesting of the thread holding mu */
	char *path;
};

/* ---- schema ------------------------------------------------------------- */

/* MIGRATIONS[i] takes the schema from version i to i+1. Append only: a
 * released entry is never edited (see docs/state.md). */
static const char *const MIGRATIONS[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE processes ("
	"  fid TEXT PRIMARY KEY NOT NULL CHECK (length(fid) = 36),"
	"  alias TEXT UNIQUE CHECK (alias IS NULL OR length(alias) > 0),"
	"  state TEXT NOT NULL DEFAULT 'Running'"
	"    CHECK (state IN ('Running','Suspended','Killing','Failed','Released')),"
	"  source TEXT NOT NULL,"
	"  source_name TEXT,"
	"  compiled TEXT CHECK (compiled IS NULL OR json_valid(compiled)),"
	"  locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),"
	"  enforcement INTEGER NOT NULL DEFAULT 1 CHECK (enforcement IN (0, 1)),"
	"  created_ms INTEGER NOT NULL,"
	"  updated_ms INTEGER NOT NULL,"
	"  message TEXT,"
	"  owner_uid INTEGER NOT NULL"
	");"
	"CREATE TABLE resources ("
	"  fid TEXT NOT NULL REFERENCES processes(fid) ON DELETE CASCADE,"
	"  name TEXT NOT NULL CHECK (length(name) > 0),"
	"  type TEXT NOT NULL CHECK (length(type) > 0),"
	"  aws_id TEXT,"
	"  status TEXT NOT NULL DEFAULT 'Pending'"
	"    CHECK (status IN ('Pending','Creating','Ready','Updating','Deleting',"
	"                      'Deleted','Failed','Unknown')),"
	"  declared TEXT CHECK (declared IS NULL OR json_valid(declared)),"
	"  observed TEXT CHECK (observed IS NULL OR json_valid(observed)),"
	"  error_code TEXT,"
	"  error_message TEXT,"
	"  error_request_id TEXT,"
	"  attributes TEXT CHECK (attributes IS NULL OR json_valid(attributes)),"
	"  updated_ms INTEGER NOT NULL,"
	"  client_token TEXT,"
	"  PRIMARY KEY (fid, name)"
	") WITHOUT ROWID;"
	"CREATE INDEX resources_aws_id ON resources(aws_id) WHERE aws_id IS NOT NULL;"
	"CREATE TABLE history ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  fid TEXT NOT NULL,"
	"  time_ms INTEGER NOT NULL,"
	"  kind TEXT NOT NULL CHECK (kind IN ('run','update','enforce','drift','suspend',"
	"    'resume','kill','release','property','error')),"
	"  uid INTEGER,"
	"  summary TEXT NOT NULL,"
	"  details TEXT CHECK (details IS NULL OR json_valid(details))"
	");"
	"CREATE INDEX history_fid ON history(fid, id);"
	"CREATE TABLE journal ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  fid TEXT NOT NULL REFERENCES processes(fid),"
	"  resource TEXT NOT NULL CHECK (length(resource) > 0),"
	"  action TEXT NOT NULL CHECK (action IN ('create','update','delete')),"
	"  started_ms INTEGER NOT NULL,"
	"  finished_ms INTEGER,"
	"  result TEXT,"
	"  aws_id TEXT,"
	"  CHECK ((finished_ms IS NULL) = (result IS NULL))"
	");"
	"CREATE INDEX journal_fid ON journal(fid);"
	"CREATE INDEX journal_open ON journal(id) WHERE finished_ms IS NULL;"
	"CREATE TABLE settings ("
	"  key TEXT PRIMARY KEY NOT NULL CHECK (length(key) > 0),"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;",
	/* 1 -> 2: what enforcement found, kept across restarts (fugue status). */
	"ALTER TABLE processes ADD COLUMN last_enforced_ms INTEGER;"
	"ALTER TABLE processes ADD COLUMN drift INTEGER NOT NULL DEFAULT 0 CHECK (drift >= 0);"
	"ALTER TABLE resources ADD COLUMN last_observed_ms INTEGER;"
	"ALTER TABLE resources ADD COLUMN drift TEXT"
	"  CHECK (drift IS NULL OR (json_valid(drift) AND json_type(drift) = 'array'));",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(NELEM(MIGRATIONS) == FUGUE_STATE_SCHEMA_VERSION,
               "FUGUE_STATE_SCHEMA_VERSION must count the migrations");

const char *const *fugue_state_migrations(size_t *count)
{
	*count = NELEM(MIGRATIONS);
	return MIGRATIONS;
}

/* ---- small helpers ------------------------------------------------------ */

static void set_diag(fugue_state_diag *diag, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_diag(fugue_state_diag *diag, const char *fmt, ...)
{
	va_list ap;

	if (diag == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(diag->message, sizeof(diag->message), fmt, ap);
	va_end(ap);
}

static void lock(fugue_state *st)
{
	int rc = pthread_mutex_lock(&st->mu);

	assert(rc == 0);
	(void)rc;
}

static void unlock(fugue_state *st)
{
	int rc = pthread_mutex_unlock(&st->mu);

	assert(rc == 0);
	(void)rc;
}

static int map_rc(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return FUGUE_ECONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return FUGUE_ENOTFOUND;
	case SQLITE_CONSTRAINT_CHECK:
	case SQLITE_CONSTRAINT_NOTNULL:
		return FUGUE_EINVAL;
	case SQLITE_NOMEM:
		return FUGUE_ENOMEM;
	default:
		return FUGUE_EIO;
	}
}

/* Maps the connection's last error to a result code, with SQLite's message
 * in DIAG. Call before finalizing the statement that failed. */
static int db_fail(fugue_state *st, int rc, const char *what, fugue_state_diag *diag)
{
	set_diag(diag, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
	return map_rc(rc);
}

static int exec_sql(fugue_state *st, const char *sql, const char *what, fugue_state_diag *diag)
{
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(st, sqlite3_extended_errcode(st->db), what, diag);
	return 0;
}

static int fill_random(unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(buf + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FUGUE_EIO;
		got += (size_t)n;
	}
	return 0;
}

static int is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Nonzero for anything shaped like a UUID (any case). */
static int looks_like_fid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);

		if (dash && s[i] != '-')
			return 0;
		if (!dash && !is_hex(s[i]))
			return 0;
	}
	return 1;
}

static int empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static void copy_fid(char out[FUGUE_FID_SIZE], const char *fid)
{
	snprintf(out, FUGUE_FID_SIZE, "%s", fid);
}

/* ---- bound statements --------------------------------------------------- */

enum { ARG_TEXT, ARG_INT, ARG_NULL };

/* One bound parameter; a TEXT with s == NULL binds NULL. */
typedef struct arg {
	int kind;
	const char *s;
	int64_t i;
} arg;

#define TEXT(x) { ARG_TEXT, (x), 0 }
#define INT(x) { ARG_INT, NULL, (int64_t)(x) }
#define NUL() { ARG_NULL, NULL, 0 }

static int bind_args(sqlite3_stmt *s, const arg *a, size_t n)
{
	size_t i;
	int rc = SQLITE_OK;

	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		int at = (int)i + 1;

		if (a[i].kind == ARG_INT)
			rc = sqlite3_bind_int64(s, at, a[i].i);
		else if (a[i].kind == ARG_TEXT && a[i].s != NULL)
			rc = sqlite3_bind_text(s, at, a[i].s, -1, SQLITE_STATIC);
		else
			rc = sqlite3_bind_null(s, at);
	}
	return rc;
}

/* Prepares SQL and binds A. On failure *OUT is NULL. The caller holds the
 * lock. */
static int prepare(fugue_state *st, sqlite3_stmt **out, const char *sql, const arg *a,
                   size_t n, const char *what, fugue_state_diag *diag)
{
	int rc = sqlite3_prepare_v2(st->db, sql, -1, out, NULL);

	if (rc == SQLITE_OK)
		rc = bind_args(*out, a, n);
	if (rc != SQLITE_OK) {
		int code = db_fail(st, rc, what, diag);

		sqlite3_finalize(*out);
		*out = NULL;
		return code;
	}
	return 0;
}

/* Runs a statement that returns no rows. *CHANGES and *ROWID may be NULL. */
static int run(fugue_state *st, const char *sql, const arg *a, size_t n, int *changes,
               int64_t *rowid, const char *what, fugue_state_diag *diag)
{
	sqlite3_stmt *s = NULL;
	int rc;

	lock(st);
	rc = prepare(st, &s, sql, a, n, what, diag);
	if (rc == 0) {
		int step = sqlite3_step(s);

		if (step == SQLITE_DONE || step == SQLITE_ROW) {
			if (changes != NULL)
				*changes = sqlite3_changes(st->db);
			if (rowid != NULL)
				*rowid = sqlite3_last_insert_rowid(st->db);
		} else {
			rc = db_fail(st, step, what, diag);
		}
	}
	sqlite3_finalize(s);
	unlock(st);
	return rc;
}

/* Reads columns left to right; the first allocation failure sticks. */
typedef struct row {
	sqlite3_stmt *s;
	int col;
	int err;
} row;

static char *row_text(row *r)
{
	const unsigned char *v = sqlite3_column_text(r->s, r->col);
	char *copy;

	r->col++;
	if (v == NULL)
		return NULL;
	copy = strdup((const char *)v);
	if (copy == NULL)
		r->err = FUGUE_ENOMEM;
	return copy;
}

static int row_is_null(row *r)
{
	return sqlite3_column_type(r->s, r->col) == SQLITE_NULL;
}

static int64_t row_int(row *r)
{
	return sqlite3_column_int64(r->s, r->col++);
}

static void row_fid(row *r, char out[FUGUE_FID_SIZE])
{
	const unsigned char *v = sqlite3_column_text(r->s, r->col++);

	copy_fid(out, v != NULL ? (const char *)v : "");
}

/* A stored enum name that no longer parses: the file was edited by hand. */
static void row_bad_enum(row *r)
{
	if (r->err == 0)
		r->err = FUGUE_EIO;
}

typedef void (*read_fn)(row *r, void *elem);
typedef void (*clear_fn)(void *elem);

/* Runs a query and collects every row into a malloc'd array of SIZE-byte
 * elements made by READ. On failure nothing is returned. */
static int collect(void **out, size_t *count, fugue_state *st, const char *sql, const arg *a,
                   size_t n, size_t size, read_fn read, clear_fn clear, const char *what,
                   fugue_state_diag *diag)
{
	sqlite3_stmt *s = NULL;
	unsigned char *items = NULL;
	size_t len = 0;
	size_t cap = 0;
	int rc;
	int step;

	*out = NULL;
	*count = 0;
	lock(st);
	rc = prepare(st, &s, sql, a, n, what, diag);
	while (rc == 0) {
		row r = { s, 0, 0 };

		step = sqlite3_step(s);
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = db_fail(st, step, what, diag);
			break;
		}
		if (len == cap) {
			size_t ncap = cap == 0 ? 8 : cap * 2;
			unsigned char *grown = realloc(items, ncap * size);

			if (grown == NULL) {
				rc = FUGUE_ENOMEM;
				break;
			}
			items = grown;
			cap = ncap;
		}
		memset(items + len * size, 0, size);
		read(&r, items + len * size);
		len++;
		if (r.err != 0) {
			rc = r.err;
			set_diag(diag, "%s: %s: %s", st->path, what,
			         rc == FUGUE_ENOMEM ? "out of memory" : "a stored value is invalid");
		}
	}
	sqlite3_finalize(s);
	unlock(st);
	if (rc != 0) {
		size_t i;

		for (i = 0; i < len; i++)
			clear(items + i * size);
		free(items);
		return rc;
	}
	*out = items;
	*count = len;
	return 0;
}

/* Like collect for a query of one row: copied into OUT (SIZE bytes);
 * FUGUE_ENOTFOUND with NOTFOUND_MSG when there is none. */
static int fetch_one(void *out, fugue_state *st, const char *sql, const arg *a, size_t n,
                     size_t size, read_fn read, clear_fn clear, const char *what,
                     const char *notfound_msg, fugue_state_diag *diag)
{
	void *items;
	size_t count;
	size_t i;
	int rc = collect(&items, &count, st, sql, a, n, size, read, clear, what, diag);

	if (rc != 0)
		return rc;
	if (count == 0) {
		free(items);
		set_diag(diag, "%s", notfound_msg);
		return FUGUE_ENOTFOUND;
	}
	memcpy(out, items, size);
	for (i = 1; i < count; i++)
		clear((unsigned char *)items + i * size);
	free(items);
	return 0;
}

/* One integer from a query; FUGUE_ENOTFOUND when there is no row. */
static int query_int(int64_t *out, fugue_state *st, const char *sql, const arg *a, size_t n,
                     const char *what, fugue_state_diag *diag)
{
	sqlite3_stmt *s = NULL;
	int rc;

	lock(st);
	rc = prepare(st, &s, sql, a, n, what, diag);
	if (rc == 0) {
		int step = sqlite3_step(s);

		if (step == SQLITE_ROW)
			*out = sqlite3_column_int64(s, 0);
		else if (step == SQLITE_DONE)
			rc = FUGUE_ENOTFOUND;
		else
			rc = db_fail(st, step, what, diag);
	}
	sqlite3_finalize(s);
	unlock(st);
	return rc;
}

/* ---- transactions ------------------------------------------------------- */

int fugue_state_tx_begin(fugue_state *st, fugue_state_diag *diag)
{
	int rc;

	lock(st);
	if (st->depth == 0)
		rc = exec_sql(st, "BEGIN IMMEDIATE", "begin transaction", diag);
	else
		rc = exec_sql(st, "SAVEPOINT fugue_tx", "begin nested transaction", diag);
	if (rc != 0) {
		unlock(st);
		return rc;
	}
	st->depth++;
	return 0;
}

/* Ends the innermost transaction and gives back the mutex it held. */
static void tx_end(fugue_state *st)
{
	st->depth--;
	unlock(st);
}

int fugue_state_tx_commit(fugue_state *st, fugue_state_diag *diag)
{
	int rc;

	lock(st);
	if (st->depth == 0) {
		unlock(st);
		set_diag(diag, "commit without a transaction");
		return FUGUE_EINVAL;
	}
	if (sqlite3_get_autocommit(st->db)) {
		/* SQLite rolled it back itself after an I/O or memory error. */
		set_diag(diag, "%s: transaction was rolled back by an earlier error", st->path);
		rc = FUGUE_EIO;
	} else if (st->depth == 1) {
		rc = exec_sql(st, "COMMIT", "commit", diag);
		if (rc != 0 && !sqlite3_get_autocommit(st->db))
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	} else {
		rc = exec_sql(st, "RELEASE fugue_tx", "commit nested transaction", diag);
	}
	tx_end(st);
	unlock(st);
	return rc;
}

int fugue_state_tx_rollback(fugue_state *st, fugue_state_diag *diag)
{
	int rc = 0;

	lock(st);
	if (st->depth == 0) {
		unlock(st);
		set_diag(diag, "rollback without a transaction");
		return FUGUE_EINVAL;
	}
	if (sqlite3_get_autocommit(st->db))
		rc = 0; /* already rolled back by SQLite */
	else if (st->depth == 1)
		rc = exec_sql(st, "ROLLBACK", "rollback", diag);
	else
		rc = exec_sql(st, "ROLLBACK TO fugue_tx; RELEASE fugue_tx", "rollback nested", diag);
	tx_end(st);
	unlock(st);
	return rc;
}

int fugue_state_atomic(fugue_state *st, fugue_state_diag *diag,
                       int (*fn)(fugue_state *st, void *payload), void *payload)
{
	int rc = fugue_state_tx_begin(st, diag);

	if (rc != 0)
		return rc;
	rc = fn(st, payload);
	if (rc != 0) {
		fugue_state_tx_rollback(st, NULL);
		return rc;
	}
	return fugue_state_tx_commit(st, diag);
}

/* Commits when RC is 0, else rolls back; returns the first error. */
static int tx_finish(fugue_state *st, int rc, fugue_state_diag *diag)
{
	if (rc == 0)
		return fugue_state_tx_commit(st, diag);
	fugue_state_tx_rollback(st, NULL);
	return rc;
}

/* ---- opening ------------------------------------------------------------ */

static int mkdir_p(const char *dir, fugue_state_diag *diag)
{
	char *copy = strdup(dir);
	char *p;
	int rc = 0;

	if (copy == NULL)
		return FUGUE_ENOMEM;
	for (p = copy + 1; rc == 0; p++) {
		int last = (*p == '\0');

		if (*p != '/' && !last)
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
			set_diag(diag, "%s: cannot create directory: %s", copy, strerror(errno));
			rc = FUGUE_EIO;
		}
		if (last)
			break;
		*p = '/';
	}
	free(copy);
	return rc;
}

/* Creates the database file with mode 0600 before SQLite opens it: SQLite
 * gives its -wal and -shm files the main file's mode. */
static int create_db_file(const char *path, fugue_state_diag *diag)
{
	struct stat sb;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc = 0;

	if (fd < 0) {
		set_diag(diag, "%s: cannot open: %s", path, strerror(errno));
		return FUGUE_EIO;
	}
	if (fstat(fd, &sb) != 0 || ((sb.st_mode & 077) != 0 && fchmod(fd, 0600) != 0)) {
		set_diag(diag, "%s: cannot make it private: %s", path, strerror(errno));
		rc = FUGUE_EIO;
	}
	close(fd);
	return rc;
}

static int read_user_version(fugue_state *st, int *out, fugue_state_diag *diag)
{
	int64_t v = 0;
	int rc = query_int(&v, st, "PRAGMA user_version", NULL, 0, "read schema version", diag);

	*out = (int)v;
	return rc;
}

/* *OUT is nonzero when the first column of SQL's first row is WANT. */
static int query_text_is(int *out, fugue_state *st, const char *sql, const char *want,
                         const char *what, fugue_state_diag *diag)
{
	sqlite3_stmt *s = NULL;
	int rc;

	lock(st);
	rc = prepare(st, &s, sql, NULL, 0, what, diag);
	if (rc == 0) {
		int step = sqlite3_step(s);
		const unsigned char *v = step == SQLITE_ROW ? sqlite3_column_text(s, 0) : NULL;

		if (step != SQLITE_ROW && step != SQLITE_DONE)
			rc = db_fail(st, step, what, diag);
		*out = v != NULL && strcmp((const char *)v, want) == 0;
	}
	sqlite3_finalize(s);
	unlock(st);
	return rc;
}

static int apply_pragmas(fugue_state *st, fugue_state_diag *diag)
{
	int wal = 0;
	int rc;

	/* FULL: a commit is on disk before it returns, so a journal entry
	 * exists before its AWS call even across a power loss (docs/state.md).
	 * trusted_schema stays on: the CHECKs call json_valid(), which SQLite
	 * 3.40 does not mark innocuous, and the file is private to us anyway. */
	rc = exec_sql(st, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON",
	              "set pragmas", diag);
	if (rc != 0)
		return rc;
	rc = query_text_is(&wal, st, "PRAGMA journal_mode = WAL", "wal", "enable WAL", diag);
	if (rc == 0 && !wal) {
		set_diag(diag, "%s: cannot switch to WAL journal mode", st->path);
		rc = FUGUE_EIO;
	}
	return rc;
}

static int refuse_newer(fugue_state *st, int version, size_t known, fugue_state_diag *diag)
{
	set_diag(diag, "%s: schema version %d is newer than this Conductor knows (%zu); "
	         "upgrade fugue or restore an older state directory", st->path, version, known);
	return FUGUE_ECONFIG;
}

/* Applies MIGRATIONS[version..count-1], each in its own transaction that
 * also sets user_version, re-reading the version under the write lock so
 * that two processes opening at once do not both migrate. */
static int migrate(fugue_state *st, const char *const *migrations, size_t count,
                   fugue_state_diag *diag)
{
	for (;;) {
		char set[64];
		int version = 0;
		int rc = fugue_state_tx_begin(st, diag);

		if (rc != 0)
			return rc;
		rc = read_user_version(st, &version, diag);
		if (rc == 0 && version >= 0 && (size_t)version == count)
			return fugue_state_tx_commit(st, diag);
		if (rc == 0 && (version < 0 || (size_t)version > count))
			rc = refuse_newer(st, version, count, diag);
		if (rc == 0)
			rc = exec_sql(st, migrations[version], "migrate schema", diag);
		if (rc == 0) {
			snprintf(set, sizeof(set), "PRAGMA user_version = %d", version + 1);
			rc = exec_sql(st, set, "set schema version", diag);
		}
		rc = tx_finish(st, rc, diag);
		if (rc != 0)
			return rc;
		fugue_log_info("state: %s: schema migrated to version %d", st->path, version + 1);
	}
}

static int open_db(fugue_state *st, const char *const *migrations, size_t count,
                   fugue_state_diag *diag)
{
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int version = 0;
	int rc;

#ifdef SQLITE_OPEN_NOFOLLOW
	flags |= SQLITE_OPEN_NOFOLLOW;
#endif
	rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		set_diag(diag, "%s: cannot open: %s", st->path,
		         st->db != NULL ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		return rc == SQLITE_NOMEM ? FUGUE_ENOMEM : FUGUE_EIO;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	/* Refuse a newer schema before any pragma writes to the file. */
	rc = read_user_version(st, &version, diag);
	if (rc == 0 && (version < 0 || (size_t)version > count))
		rc = refuse_newer(st, version, count, diag);
	if (rc == 0)
		rc = apply_pragmas(st, diag);
	if (rc == 0)
		rc = migrate(st, migrations, count, diag);
	return rc;
}

int fugue_state_open_migrations(fugue_state **out, const char *dir,
                                const char *const *migrations, size_t count,
                                fugue_state_diag *diag)
{
	pthread_mutexattr_t attr;
	fugue_state *st;
	int rc;

	*out = NULL;
	if (empty(dir)) {
		set_diag(diag, "state directory is empty");
		return FUGUE_EINVAL;
	}
	rc = mkdir_p(dir, diag);
	if (rc != 0)
		return rc;
	st = calloc(1, sizeof(*st));
	if (st == NULL || asprintf(&st->path, "%s/%s", dir, DB_NAME) < 0) {
		free(st);
		return FUGUE_ENOMEM;
	}
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&st->mu, &attr);
	pthread_mutexattr_destroy(&attr);
	rc = create_db_file(st->path, diag);
	if (rc == 0)
		rc = open_db(st, migrations, count, diag);
	if (rc != 0) {
		fugue_state_close(st);
		return rc;
	}
	*out = st;
	return 0;
}

int fugue_state_open(fugue_state **out, const char *dir, fugue_state_diag *diag)
{
	return fugue_state_open_migrations(out, dir, MIGRATIONS, NELEM(MIGRATIONS), diag);
}

void fugue_state_close(fugue_state *st)
{
	if (st == NULL)
		return;
	lock(st);
	if (st->depth > 0 && st->db != NULL && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	st->depth = 0;
	unlock(st);
	sqlite3_close(st->db);
	pthread_mutex_destroy(&st->mu);
	free(st->path);
	free(st);
}

int fugue_state_schema_version(fugue_state *st)
{
	int version = -1;

	if (read_user_version(st, &version, NULL) != 0)
		return -1;
	return version;
}

int fugue_state_new_fid(char out[FUGUE_FID_SIZE])
{
	unsigned char b[16];

	if (fill_random(b, sizeof(b)) != 0)
		return FUGUE_EIO;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, FUGUE_FID_SIZE,
	         "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
	         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
	         b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

/* ---- enum names --------------------------------------------------------- */

static const char *const PROCESS_STATES[] = {
	"Running", "Suspended", "Killing", "Failed", "Released"
};
static const char *const RESOURCE_STATUSES[] = {
	"Pending", "Creating", "Ready", "Updating", "Deleting", "Deleted", "Failed", "Unknown"
};
static const char *const HISTORY_KINDS[] = {
	"run", "update", "enforce", "drift", "suspend", "resume", "kill", "release",
	"property", "error"
};
static const char *const JOURNAL_ACTIONS[] = { "create", "update", "delete" };

static const char *name_of(const char *const *names, size_t n, int v)
{
	if (v < 0 || (size_t)v >= n)
		return "?";
	return names[v];
}

static int parse_name(int *out, const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < n; i++) {
		if (strcmp(names[i], name) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return FUGUE_EINVAL;
}

const char *fugue_process_state_name(fugue_process_state s)
{
	return name_of(PROCESS_STATES, NELEM(PROCESS_STATES), (int)s);
}

int fugue_process_state_parse(fugue_process_state *out, const char *name)
{
	int v = 0;
	int rc = parse_name(&v, PROCESS_STATES, NELEM(PROCESS_STATES), name);

	if (rc == 0)
		*out = (fugue_process_state)v;
	return rc;
}

const char *fugue_resource_status_name(fugue_resource_status s)
{
	return name_of(RESOURCE_STATUSES, NELEM(RESOURCE_STATUSES), (int)s);
}

int fugue_resource_status_parse(fugue_resource_status *out, const char *name)
{
	int v = 0;
	int rc = parse_name(&v, RESOURCE_STATUSES, NELEM(RESOURCE_STATUSES), name);

	if (rc == 0)
		*out = (fugue_resource_status)v;
	return rc;
}

const char *fugue_history_kind_name(fugue_history_kind k)
{
	return name_of(HISTORY_KINDS, NELEM(HISTORY_KINDS), (int)k);
}

int fugue_history_kind_parse(fugue_history_kind *out, const char *name)
{
	int v = 0;
	int rc = parse_name(&v, HISTORY_KINDS, NELEM(HISTORY_KINDS), name);

	if (rc == 0)
		*out = (fugue_history_kind)v;
	return rc;
}

const char *fugue_journal_action_name(fugue_journal_action a)
{
	return name_of(JOURNAL_ACTIONS, NELEM(JOURNAL_ACTIONS), (int)a);
}

/* Reads an enum column; the CHECK constraints keep it valid unless the file
 * was edited by hand. */
static int row_enum(row *r, const char *const *names, size_t n)
{
	const unsigned char *v = sqlite3_column_text(r->s, r->col++);
	int out = 0;

	if (parse_name(&out, names, n, (const char *)v) != 0)
		row_bad_enum(r);
	return out;
}

/* ---- processes ---------------------------------------------------------- */

#define PROCESS_COLUMNS \
	"fid, alias, state, source, source_name, compiled, locked, enforcement, " \
	"created_ms, updated_ms, message, owner_uid, last_enforced_ms, drift"

void fugue_state_process_clear(fugue_state_process *p)
{
	if (p == NULL)
		return;
	free(p->alias);
	free(p->source);
	free(p->source_name);
	free(p->compiled);
	free(p->message);
	memset(p, 0, sizeof(*p));
}

void fugue_state_process_list_free(fugue_state_process *list, size_t count)
{
	size_t i;

	for (i = 0; list != NULL && i < count; i++)
		fugue_state_process_clear(&list[i]);
	free(list);
}

static void read_process(row *r, void *elem)
{
	fugue_state_process *p = elem;

	row_fid(r, p->fid);
	p->alias = row_text(r);
	p->state = (fugue_process_state)row_enum(r, PROCESS_STATES, NELEM(PROCESS_STATES));
	p->source = row_text(r);
	p->source_name = row_text(r);
	p->compiled = row_text(r);
	p->lock = (int)row_int(r);
	p->enforcement = (int)row_int(r);
	p->created_ms = row_int(r);
	p->updated_ms = row_int(r);
	p->message = row_text(r);
	p->owner_uid = (uid_t)row_int(r);
	p->last_enforced_ms = row_int(r); /* NULL reads as 0 */
	p->drift = (long)row_int(r);
}

static void clear_process(void *elem)
{
	fugue_state_process_clear(elem);
}

static int check_alias(const char *alias, fugue_state_diag *diag)
{
	if (alias == NULL)
		return 0;
	if (alias[0] == '\0' || strlen(alias) > ALIAS_MAX) {
		set_diag(diag, "alias must be 1 to %d characters", ALIAS_MAX);
		return FUGUE_EINVAL;
	}
	if (looks_like_fid(alias)) {
		set_diag(diag, "alias '%s' looks like a FID; choose another", alias);
		return FUGUE_EINVAL;
	}
	return 0;
}

static int alias_conflict(int rc, const char *alias, fugue_state_diag *diag)
{
	if (rc == FUGUE_ECONFLICT)
		set_diag(diag, "alias '%s' is already in use", alias != NULL ? alias : "");
	return rc;
}

int fugue_state_process_create(char out[FUGUE_FID_SIZE], fugue_state *st,
                               const fugue_state_process_spec *spec,
                               fugue_state_diag *diag)
{
	char fid[FUGUE_FID_SIZE];
	int64_t now = fugue_clock_wall_ms();
	int rc;

	if (spec == NULL || spec->source == NULL) {
		set_diag(diag, "a process needs its composition source");
		return FUGUE_EINVAL;
	}
	rc = check_alias(spec->alias, diag);
	if (rc == 0)
		rc = fugue_state_new_fid(fid);
	if (rc != 0)
		return rc;
	{
		const arg a[] = {
			TEXT(fid), TEXT(spec->alias), TEXT(spec->source), TEXT(spec->source_name),
			TEXT(spec->compiled), TEXT(spec->message), INT(now), INT(now),
			INT(spec->owner_uid)
		};

		rc = run(st, "INSERT INTO processes (fid, alias, source, source_name, compiled, "
		         "message, created_ms, updated_ms, owner_uid) "
		         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		         a, NELEM(a), NULL, NULL, "create process", diag);
	}
	rc = alias_conflict(rc, spec->alias, diag);
	if (rc == 0)
		copy_fid(out, fid);
	return rc;
}

int fugue_state_resolve(char out[FUGUE_FID_SIZE], fugue_state *st, const char *ref,
                        fugue_state_diag *diag)
{
	fugue_state_process p;
	int rc = fugue_state_process_get(&p, st, ref, diag);

	if (rc == 0) {
		copy_fid(out, p.fid);
		fugue_state_process_clear(&p);
	}
	return rc;
}

int fugue_state_process_get(fugue_state_process *out, fugue_state *st, const char *ref,
                            fugue_state_diag *diag)
{
	char msg[320];
	const arg a[] = { TEXT(ref) };

	if (empty(ref)) {
		set_diag(diag, "no process named ''");
		return FUGUE_ENOTFOUND;
	}
	snprintf(msg, sizeof(msg), "no process with FID or alias '%s'", ref);
	/* Aliases cannot look like FIDs, so at most one row matches. */
	return fetch_one(out, st, "SELECT " PROCESS_COLUMNS " FROM processes "
	                 "WHERE fid = ?1 OR alias = ?1 LIMIT 1",
	                 a, NELEM(a), sizeof(*out), read_process, clear_process,
	                 "read process", msg, diag);
}

int fugue_state_process_list(fugue_state_process **out, size_t *count, fugue_state *st,
                             fugue_state_diag *diag)
{
	return collect((void **)out, count, st, "SELECT " PROCESS_COLUMNS " FROM processes "
	               "ORDER BY rowid", NULL, 0, sizeof(**out), read_process,
	               clear_process, "list processes", diag);
}

/* Runs an UPDATE of one process, whose ?1 is FID; no row changed means no
 * such process. */
static int update_process(fugue_state *st, const char *fid, const char *sql, const arg *a,
                          size_t n, const char *what, fugue_state_diag *diag)
{
	int changes = 0;
	int rc;

	if (empty(fid)) {
		set_diag(diag, "no process with FID ''");
		return FUGUE_ENOTFOUND;
	}
	rc = run(st, sql, a, n, &changes, NULL, what, diag);
	if (rc == 0 && changes == 0) {
		set_diag(diag, "no process with FID '%s'", fid);
		rc = FUGUE_ENOTFOUND;
	}
	return rc;
}

int fugue_state_process_set_alias(fugue_state *st, const char *fid, const char *alias,
                                  fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), TEXT(alias), INT(fugue_clock_wall_ms()) };
	int rc = check_alias(alias, diag);

	if (rc != 0)
		return rc;
	rc = update_process(st, fid, "UPDATE processes SET alias = ?2, updated_ms = ?3 "
	                    "WHERE fid = ?1", a, NELEM(a), "rename process", diag);
	return alias_conflict(rc, alias, diag);
}

int fugue_state_process_set_state(fugue_state *st, const char *fid, fugue_process_state state,
                                  const char *message, fugue_state_diag *diag)
{
	const char *name = fugue_process_state_name(state);
	const arg a[] = { TEXT(fid), TEXT(name), TEXT(message), INT(fugue_clock_wall_ms()) };

	if (strcmp(name, "?") == 0) {
		set_diag(diag, "unknown process state %d", (int)state);
		return FUGUE_EINVAL;
	}
	return update_process(st, fid, "UPDATE processes SET state = ?2, "
	                      "message = coalesce(?3, message), updated_ms = ?4 WHERE fid = ?1",
	                      a, NELEM(a), "change process state", diag);
}

int fugue_state_process_set_message(fugue_state *st, const char *fid, const char *message,
                                    fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), TEXT(message), INT(fugue_clock_wall_ms()) };

	return update_process(st, fid, "UPDATE processes SET message = ?2, updated_ms = ?3 "
	                      "WHERE fid = ?1", a, NELEM(a), "set process message", diag);
}

int fugue_state_process_set_lock(fugue_state *st, const char *fid, int on,
                                 fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), INT(on != 0), INT(fugue_clock_wall_ms()) };

	return update_process(st, fid, "UPDATE processes SET locked = ?2, updated_ms = ?3 "
	                      "WHERE fid = ?1", a, NELEM(a), "set lock", diag);
}

int fugue_state_process_set_enforcement(fugue_state *st, const char *fid, int on,
                                        fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), INT(on != 0), INT(fugue_clock_wall_ms()) };

	return update_process(st, fid, "UPDATE processes SET enforcement = ?2, updated_ms = ?3 "
	                      "WHERE fid = ?1", a, NELEM(a), "set enforcement", diag);
}

int fugue_state_process_set_source(fugue_state *st, const char *fid, const char *source,
                                   const char *source_name, const char *compiled,
                                   fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), TEXT(source), TEXT(source_name), TEXT(compiled),
	                  INT(fugue_clock_wall_ms()) };

	if (source == NULL) {
		set_diag(diag, "a process needs its composition source");
		return FUGUE_EINVAL;
	}
	return update_process(st, fid, "UPDATE processes SET source = ?2, source_name = ?3, "
	                      "compiled = ?4, updated_ms = ?5 WHERE fid = ?1",
	                      a, NELEM(a), "replace declaration", diag);
}

int fugue_state_process_set_enforced(fugue_state *st, const char *fid, int64_t when_ms,
                                     long drift, fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), when_ms > 0 ? (arg)INT(when_ms) : (arg)NUL(), INT(drift) };

	if (drift < 0) {
		set_diag(diag, "a drift count cannot be negative");
		return FUGUE_EINVAL;
	}
	return update_process(st, fid, "UPDATE processes SET last_enforced_ms = ?2, drift = ?3 "
	                      "WHERE fid = ?1", a, NELEM(a), "record enforcement pass", diag);
}

static int delete_process_tx(fugue_state *st, const char *fid, fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid) };
	int64_t open_calls = 0;
	int rc;

	rc = query_int(&open_calls, st, "SELECT count(*) FROM journal "
	               "WHERE fid = ?1 AND finished_ms IS NULL", a, NELEM(a),
	               "count calls in flight", diag);
	if (rc == 0 && open_calls > 0) {
		set_diag(diag, "process %s has %lld AWS calls in flight", fid,
		         (long long)open_calls);
		return FUGUE_ECONFLICT;
	}
	if (rc == 0)
		rc = run(st, "DELETE FROM journal WHERE fid = ?1", a, NELEM(a), NULL, NULL,
		         "delete journal of process", diag);
	if (rc == 0)
		rc = update_process(st, fid, "DELETE FROM processes WHERE fid = ?1", a, NELEM(a),
		                    "delete process", diag);
	return rc;
}

int fugue_state_process_delete(fugue_state *st, const char *fid, fugue_state_diag *diag)
{
	int rc = fugue_state_tx_begin(st, diag);

	if (rc != 0)
		return rc;
	rc = delete_process_tx(st, fid, diag);
	return tx_finish(st, rc, diag);
}

/* ---- resources ---------------------------------------------------------- */

#define RESOURCE_COLUMNS \
	"fid, name, type, aws_id, status, declared, observed, error_code, error_message, " \
	"error_request_id, attributes, updated_ms, client_token, last_observed_ms, drift"

void fugue_state_resource_clear(fugue_state_resource *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->type);
	free(r->aws_id);
	free(r->declared);
	free(r->observed);
	free(r->error_code);
	free(r->error_message);
	free(r->error_request_id);
	free(r->attributes);
	free(r->client_token);
	free(r->drift);
	memset(r, 0, sizeof(*r));
}

void fugue_state_resource_list_free(fugue_state_resource *list, size_t count)
{
	size_t i;

	for (i = 0; list != NULL && i < count; i++)
		fugue_state_resource_clear(&list[i]);
	free(list);
}

static void read_resource(row *r, void *elem)
{
	fugue_state_resource *res = elem;

	row_fid(r, res->fid);
	res->name = row_text(r);
	res->type = row_text(r);
	res->aws_id = row_text(r);
	res->status = (fugue_resource_status)row_enum(r, RESOURCE_STATUSES,
	                                              NELEM(RESOURCE_STATUSES));
	res->declared = row_text(r);
	res->observed = row_text(r);
	res->error_code = row_text(r);
	res->error_message = row_text(r);
	res->error_request_id = row_text(r);
	res->attributes = row_text(r);
	res->updated_ms = row_int(r);
	res->client_token = row_text(r);
	res->last_observed_ms = row_int(r); /* NULL reads as 0 */
	res->drift = row_text(r);
}

static void clear_resource(void *elem)
{
	fugue_state_resource_clear(elem);
}

int fugue_state_resource_put(fugue_state *st, const fugue_state_resource *r,
                             fugue_state_diag *diag)
{
	const char *status;
	int rc;

	if (r == NULL || empty(r->fid) || empty(r->name) || empty(r->type)) {
		set_diag(diag, "a resource needs a FID, a name and a type");
		return FUGUE_EINVAL;
	}
	status = fugue_resource_status_name(r->status);
	if (strcmp(status, "?") == 0) {
		set_diag(diag, "unknown resource status %d", (int)r->status);
		return FUGUE_EINVAL;
	}
	{
		const arg a[] = {
			TEXT(r->fid), TEXT(r->name), TEXT(r->type), TEXT(r->aws_id), TEXT(status),
			TEXT(r->declared), TEXT(r->observed), TEXT(r->error_code),
			TEXT(r->error_message), TEXT(r->error_request_id), TEXT(r->attributes),
			INT(fugue_clock_wall_ms()),
			r->last_observed_ms > 0 ? (arg)INT(r->last_observed_ms) : (arg)NUL()
		};

		rc = run(st, "INSERT INTO resources (fid, name, type, aws_id, status, declared, "
		         "observed, error_code, error_message, error_request_id, attributes, "
		         "updated_ms, last_observed_ms) "
		         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
		         "ON CONFLICT (fid, name) DO UPDATE SET type = excluded.type, "
		         "last_observed_ms = "
		         "coalesce(excluded.last_observed_ms, last_observed_ms), "
		         "aws_id = excluded.aws_id, status = excluded.status, "
		         "declared = excluded.declared, observed = excluded.observed, "
		         "error_code = excluded.error_code, error_message = excluded.error_message, "
		         "error_request_id = excluded.error_request_id, "
		         "attributes = excluded.attributes, updated_ms = excluded.updated_ms",
		         a, NELEM(a), NULL, NULL, "store resource", diag);
	}
	if (rc == FUGUE_ENOTFOUND)
		set_diag(diag, "no process with FID '%s'", r->fid);
	return rc;
}

int fugue_state_resource_get(fugue_state_resource *out, fugue_state *st, const char *fid,
                             const char *name, fugue_state_diag *diag)
{
	char msg[320];
	const arg a[] = { TEXT(fid), TEXT(name) };

	snprintf(msg, sizeof(msg), "no resource '%s' in process '%s'",
	         name != NULL ? name : "", fid != NULL ? fid : "");
	return fetch_one(out, st, "SELECT " RESOURCE_COLUMNS " FROM resources "
	                 "WHERE fid = ?1 AND name = ?2", a, NELEM(a), sizeof(*out),
	                 read_resource, clear_resource, "read resource", msg, diag);
}

int fugue_state_resource_list(fugue_state_resource **out, size_t *count, fugue_state *st,
                              const char *fid, fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid) };

	return collect((void **)out, count, st, "SELECT " RESOURCE_COLUMNS " FROM resources "
	               "WHERE fid = ?1 ORDER BY name", a, NELEM(a), sizeof(**out),
	               read_resource, clear_resource, "list resources", diag);
}

/* Runs a statement on one resource (?1 fid, ?2 name); no row changed means
 * no such resource. */
static int update_resource(fugue_state *st, const char *fid, const char *name,
                           const char *sql, const arg *a, size_t n, const char *what,
                           fugue_state_diag *diag)
{
	int changes = 0;
	int rc = run(st, sql, a, n, &changes, NULL, what, diag);

	if (rc == 0 && changes == 0) {
		set_diag(diag, "no resource '%s' in process '%s'",
		         name != NULL ? name : "", fid != NULL ? fid : "");
		rc = FUGUE_ENOTFOUND;
	}
	return rc;
}

int fugue_state_resource_set_drift(fugue_state *st, const char *fid, const char *name,
                                   const char *drift, fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), TEXT(name), TEXT(drift) };
	int rc = update_resource(st, fid, name, "UPDATE resources SET drift = ?3 "
	                         "WHERE fid = ?1 AND name = ?2", a, NELEM(a), "set drift", diag);

	if (rc == FUGUE_EINVAL)
		set_diag(diag, "drift of '%s' is not a JSON array", name != NULL ? name : "");
	return rc;
}

int fugue_state_resource_delete(fugue_state *st, const char *fid, const char *name,
                                fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), TEXT(name) };

	return update_resource(st, fid, name, "DELETE FROM resources WHERE fid = ?1 AND name = ?2",
	                       a, NELEM(a), "delete resource", diag);
}

static int token_tx(char out[FUGUE_FID_SIZE], fugue_state *st, const char *fid,
                    const char *name, fugue_state_diag *diag)
{
	fugue_state_resource r;
	int rc = fugue_state_resource_get(&r, st, fid, name, diag);

	if (rc != 0)
		return rc;
	if (r.client_token != NULL) {
		copy_fid(out, r.client_token);
	} else {
		rc = fugue_state_new_fid(out);
		if (rc == 0) {
			const arg a[] = { TEXT(fid), TEXT(name), TEXT(out) };

			rc = update_resource(st, fid, name, "UPDATE resources SET client_token = ?3 "
			                     "WHERE fid = ?1 AND name = ?2", a, NELEM(a),
			                     "store client token", diag);
		}
	}
	fugue_state_resource_clear(&r);
	return rc;
}

int fugue_state_resource_token(char out[FUGUE_FID_SIZE], fugue_state *st, const char *fid,
                               const char *name, fugue_state_diag *diag)
{
	char token[FUGUE_FID_SIZE];
	int rc = fugue_state_tx_begin(st, diag);

	if (rc != 0)
		return rc;
	rc = token_tx(token, st, fid, name, diag);
	rc = tx_finish(st, rc, diag);
	if (rc == 0)
		copy_fid(out, token);
	return rc;
}

int fugue_state_resource_token_reset(fugue_state *st, const char *fid, const char *name,
                                     fugue_state_diag *diag)
{
	const arg a[] = { TEXT(fid), TEXT(name) };

	return update_resource(st, fid, name, "UPDATE resources SET client_token = NULL "
	                       "WHERE fid = ?1 AND name = ?2", a, NELEM(a),
	                       "reset client token", diag);
}

/* ---- history ------------------------------------------------------------ */

#define HISTORY_COLUMNS "id, fid, time_ms, kind, uid, summary, details"

void fugue_state_history_clear(fugue_state_history *h)
{
	if (h == NULL)
		return;
	free(h->summary);
	free(h->details);
	memset(h, 0, sizeof(*h));
}

void fugue_state_history_list_free(fugue_state_history *list, size_t count)
{
	size_t i;

	for (i = 0; list != NULL && i < count; i++)
		fugue_state_history_clear(&list[i]);
	free(list);
}

static void read_history(row *r, void *elem)
{
	fugue_state_history *h = elem;

	h->id = row_int(r);
	row_fid(r, h->fid);
	h->time_ms = row_int(r);
	h->kind = (fugue_history_kind)row_enum(r, HISTORY_KINDS, NELEM(HISTORY_KINDS));
	if (row_is_null(r)) {
		h->uid = FUGUE_STATE_NO_UID;
		r->col++;
	} else {
		h->uid = (uid_t)row_int(r);
	}
	h->summary = row_text(r);
	h->details = row_text(r);
}

static void clear_history(void *elem)
{
	fugue_state_history_clear(elem);
}

int fugue_state_history_append(int64_t *out_id, fugue_state *st, const char *fid,
                               fugue_history_kind kind, uid_t uid, const char *summary,
                               const char *details, fugue_state_diag *diag)
{
	const char *name = fugue_history_kind_name(kind);
	int64_t id = 0;
	int rc;

	if (empty(fid) || summary == NULL || strcmp(name, "?") == 0) {
		set_diag(diag, "a history entry needs a FID, a known kind and a summary");
		return FUGUE_EINVAL;
	}
	{
		const arg who = uid == FUGUE_STATE_NO_UID ? (arg)NUL() : (arg)INT(uid);
		const arg a[] = { TEXT(fid), INT(fugue_clock_wall_ms()), TEXT(name), who, TEXT(summary),
		                  TEXT(details) };

		rc = run(st, "INSERT INTO history (fid, time_ms, kind, uid, summary, details) "
		         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)", a, NELEM(a), NULL, &id,
		         "append history", diag);
	}
	if (rc == 0 && out_id != NULL)
		*out_id = id;
	return rc;
}

/* SQLite's LIMIT and OFFSET are signed 64-bit; -1 is "no limit". */
static int64_t sql_count(size_t v, int64_t none)
{
	if (v == 0)
		return none;
	if (v > (size_t)INT64_MAX)
		return INT64_MAX;
	return (int64_t)v;
}

int fugue_state_history_list(fugue_state_history **out, size_t *count, fugue_state *st,
                             const char *fid, size_t limit, size_t offset,
                             fugue_state_diag *diag)
{
	const arg a[] = { INT(sql_count(limit, -1)), INT(sql_count(offset, 0)), TEXT(fid) };

	if (fid == NULL)
		return collect((void **)out, count, st, "SELECT " HISTORY_COLUMNS " FROM history "
		               "ORDER BY id DESC LIMIT ?1 OFFSET ?2", a, 2, sizeof(**out),
		               read_history, clear_history, "list history", diag);
	return collect((void **)out, count, st, "SELECT " HISTORY_COLUMNS " FROM history "
	               "WHERE fid = ?3 ORDER BY id DESC LIMIT ?1 OFFSET ?2", a, NELEM(a),
	               sizeof(**out), read_history, clear_history, "list history", diag);
}

/* ---- journal ------------------------------------------------------------ */

#define JOURNAL_COLUMNS "id, fid, resource, action, started_ms, finished_ms, result, aws_id"

void fugue_state_journal_clear(fugue_state_journal *j)
{
	if (j == NULL)
		return;
	free(j->resource);
	free(j->result);
	free(j->aws_id);
	memset(j, 0, sizeof(*j));
}

void fugue_state_journal_list_free(fugue_state_journal *list, size_t count)
{
	size_t i;

	for (i = 0; list != NULL && i < count; i++)
		fugue_state_journal_clear(&list[i]);
	free(list);
}

static void read_journal(row *r, void *elem)
{
	fugue_state_journal *j = elem;

	j->id = row_int(r);
	row_fid(r, j->fid);
	j->resource = row_text(r);
	j->action = (fugue_journal_action)row_enum(r, JOURNAL_ACTIONS, NELEM(JOURNAL_ACTIONS));
	j->started_ms = row_int(r);
	j->finished_ms = row_int(r); /* NULL reads as 0 */
	j->result = row_text(r);
	j->aws_id = row_text(r);
}

static void clear_journal(void *elem)
{
	fugue_state_journal_clear(elem);
}

int fugue_state_journal_begin(int64_t *out_id, fugue_state *st, const char *fid,
                              const char *resource, fugue_journal_action action,
                              const char *aws_id, fugue_state_diag *diag)
{
	const char *name = fugue_journal_action_name(action);
	int64_t id = 0;
	int rc;

	if (empty(fid) || empty(resource) || strcmp(name, "?") == 0) {
		set_diag(diag, "a journal entry needs a FID, a resource and a known action");
		return FUGUE_EINVAL;
	}
	{
		const arg a[] = { TEXT(fid), TEXT(resource), TEXT(name), INT(fugue_clock_wall_ms()),
		                  TEXT(aws_id) };

		rc = run(st, "INSERT INTO journal (fid, resource, action, started_ms, aws_id) "
		         "VALUES (?1, ?2, ?3, ?4, ?5)", a, NELEM(a), NULL, &id,
		         "journal call", diag);
	}
	if (rc == FUGUE_ENOTFOUND)
		set_diag(diag, "no process with FID '%s'", fid);
	if (rc == 0)
		*out_id = id;
	return rc;
}

static int journal_end_locked(fugue_state *st, int64_t id, const char *result,
                              const char *aws_id, fugue_state_diag *diag)
{
	const arg a[] = { INT(id), INT(fugue_clock_wall_ms()), TEXT(result), TEXT(aws_id) };
	const arg b[] = { INT(id) };
	int64_t found = 0;
	int changes = 0;
	int rc;

	rc = run(st, "UPDATE journal SET finished_ms = ?2, result = ?3, "
	         "aws_id = coalesce(?4, aws_id) WHERE id = ?1 AND finished_ms IS NULL",
	         a, NELEM(a), &changes, NULL, "end journal entry", diag);
	if (rc != 0 || changes > 0)
		return rc;
	rc = query_int(&found, st, "SELECT 1 FROM journal WHERE id = ?1", b, NELEM(b),
	               "read journal entry", diag);
	if (rc == FUGUE_ENOTFOUND) {
		set_diag(diag, "no journal entry %lld", (long long)id);
		return rc;
	}
	if (rc == 0) {
		set_diag(diag, "journal entry %lld has already ended", (long long)id);
		rc = FUGUE_ECONFLICT;
	}
	return rc;
}

int fugue_state_journal_end(fugue_state *st, int64_t id, const char *result,
                            const char *aws_id, fugue_state_diag *diag)
{
	int rc;

	if (empty(result)) {
		set_diag(diag, "a journal entry ends with a result ('ok' or an error code)");
		return FUGUE_EINVAL;
	}
	lock(st);
	rc = journal_end_locked(st, id, result, aws_id, diag);
	unlock(st);
	return rc;
}

int fugue_state_journal_open_entries(fugue_state_journal **out, size_t *count,
                                     fugue_state *st, fugue_state_diag *diag)
{
	return collect((void **)out, count, st, "SELECT " JOURNAL_COLUMNS " FROM journal "
	               "WHERE finished_ms IS NULL ORDER BY id", NULL, 0, sizeof(**out),
	               read_journal, clear_journal, "list journal", diag);
}

int fugue_state_journal_prune(size_t *out_deleted, fugue_state *st, int64_t before_ms,
                              fugue_state_diag *diag)
{
	const arg a[] = { INT(before_ms) };
	int changes = 0;
	int rc = run(st, "DELETE FROM journal WHERE finished_ms IS NOT NULL AND finished_ms < ?1",
	             a, NELEM(a), &changes, NULL, "prune journal", diag);

	if (rc == 0 && out_deleted != NULL)
		*out_deleted = (size_t)changes;
	return rc;
}

/* ---- settings ----------------------------------------------------------- */

void fugue_state_setting_list_free(fugue_state_setting *list, size_t count)
{
	size_t i;

	for (i = 0; list != NULL && i < count; i++) {
		free(list[i].key);
		free(list[i].value);
	}
	free(list);
}

static void read_setting(row *r, void *elem)
{
	fugue_state_setting *s = elem;

	s->key = row_text(r);
	s->value = row_text(r);
}

static void clear_setting(void *elem)
{
	fugue_state_setting *s = elem;

	free(s->key);
	free(s->value);
}

int fugue_state_setting_get(char **out, fugue_state *st, const char *key,
                            fugue_state_diag *diag)
{
	fugue_state_setting s;
	char msg[320];
	const arg a[] = { TEXT(key) };
	int rc;

	snprintf(msg, sizeof(msg), "runtime setting '%s' is not set", key != NULL ? key : "");
	rc = fetch_one(&s, st, "SELECT key, value FROM settings WHERE key = ?1", a, NELEM(a),
	               sizeof(s), read_setting, clear_setting, "read setting", msg, diag);
	if (rc != 0)
		return rc;
	free(s.key);
	*out = s.value;
	return 0;
}

int fugue_state_setting_set(fugue_state *st, const char *key, const char *value,
                            fugue_state_diag *diag)
{
	const arg a[] = { TEXT(key), TEXT(value) };

	if (empty(key) || value == NULL) {
		set_diag(diag, "a runtime setting needs a key and a value");
		return FUGUE_EINVAL;
	}
	return run(st, "INSERT INTO settings (key, value) VALUES (?1, ?2) "
	           "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	           a, NELEM(a), NULL, NULL, "store setting", diag);
}

int fugue_state_setting_unset(fugue_state *st, const char *key, fugue_state_diag *diag)
{
	const arg a[] = { TEXT(key) };
	int changes = 0;
	int rc = run(st, "DELETE FROM settings WHERE key = ?1", a, NELEM(a), &changes, NULL,
	             "unset setting", diag);

	if (rc == 0 && changes == 0) {
		set_diag(diag, "runtime setting '%s' is not set", key != NULL ? key : "");
		rc = FUGUE_ENOTFOUND;
	}
	return rc;
}

int fugue_state_setting_list(fugue_state_setting **out, size_t *count, fugue_state *st,
                             fugue_state_diag *diag)
{
	return collect((void **)out, count, st, "SELECT key, value FROM settings ORDER BY key",
	               NULL, 0, sizeof(**out), read_setting, clear_setting, "list settings",
	               diag);
}
