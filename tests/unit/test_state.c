/* test_state.c - the state store: schema and migrations, every record kind,
 * transactions, crash safety (SIGKILL mid-transaction) and concurrency. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "fugue/log.h"
#include "state.h"
#include "testmain.h"

/* The suite "records" opens a fresh store for every test. */
static char *g_dir;
static fugue_state *g_st;

static void setup(void)
{
	fugue_state_diag diag = { "" };

	g_dir = fugue_test_tmpdir();
	g_st = NULL;
	if (fugue_state_open(&g_st, g_dir, &diag) != 0)
		fprintf(stderr, "setup: %s\n", diag.message);
}

static void teardown(void)
{
	fugue_state_close(g_st);
	g_st = NULL;
	fugue_test_rmtree(g_dir);
	free(g_dir);
	g_dir = NULL;
}

static char *db_path(const char *dir)
{
	char *p;

	if (asprintf(&p, "%s/conductor.db", dir) < 0)
		abort();
	return p;
}

/* The first integer of SQL on the database in DIR, through a connection of
 * the test's own (-1 on any error). */
static long long raw_int(const char *dir, const char *sql)
{
	char *path = db_path(dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	long long v = -1;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(path);
	return v;
}

/* Text of the first column of SQL's first row, malloc'd, or NULL. */
static char *raw_text(const char *dir, const char *sql)
{
	char *path = db_path(dir);
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *v = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
	    sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
		v = strdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	free(path);
	return v;
}

static int raw_exec(const char *dir, const char *sql)
{
	char *path = db_path(dir);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	free(path);
	return rc;
}

static int file_mode(const char *dir, const char *name)
{
	char *path;
	struct stat sb;
	int mode = -1;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	if (stat(path, &sb) == 0)
		mode = (int)(sb.st_mode & 07777);
	free(path);
	return mode;
}

/* A new process with ALIAS (may be NULL) in ST; its FID in FID. */
static int make_process(fugue_state *st, char fid[FUGUE_FID_SIZE], const char *alias)
{
	fugue_state_process_spec spec = { 0 };

	spec.alias = alias;
	spec.source = "composition: {}\n";
	spec.source_name = "app.yaml";
	spec.compiled = "{\"resources\":[]}";
	spec.owner_uid = 1000;
	return fugue_state_process_create(fid, st, &spec, NULL);
}

static int put_resource(fugue_state *st, const char *fid, const char *name,
                        fugue_resource_status status)
{
	fugue_state_resource r = { .status = status };

	snprintf(r.fid, sizeof(r.fid), "%s", fid);
	r.name = (char *)name;
	r.type = (char *)"AWS.VPC.Subnet";
	r.declared = (char *)"{\"cidrBlock\":\"10.0.1.0/24\"}";
	return fugue_state_resource_put(st, &r, NULL);
}

static long long count_rows(const char *dir, const char *table)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	return raw_int(dir, sql);
}

/* ---- opening, files, migrations ----------------------------------------- */

static void test_open_creates_private_files(void)
{
	fugue_state_diag diag = { "" };
	fugue_state *st = NULL;
	char *top = fugue_test_tmpdir();
	char *dir;
	char fid[FUGUE_FID_SIZE];
	struct stat sb;
	char *mode;

	if (asprintf(&dir, "%s/a/b/state", top) < 0)
		abort();
	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&st, dir, &diag), 0);
	CU_ASSERT_EQUAL(stat(dir, &sb), 0);
	CU_ASSERT_TRUE(S_ISDIR(sb.st_mode));
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0700);
	CU_ASSERT_EQUAL(make_process(st, fid, "web"), 0);
	CU_ASSERT_EQUAL(file_mode(dir, "conductor.db"), 0600);
	CU_ASSERT_EQUAL(file_mode(dir, "conductor.db-wal"), 0600);
	CU_ASSERT_EQUAL(file_mode(dir, "conductor.db-shm"), 0600);
	CU_ASSERT_EQUAL(fugue_state_schema_version(st), FUGUE_STATE_SCHEMA_VERSION);
	mode = raw_text(dir, "PRAGMA journal_mode");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(mode), "wal");
	free(mode);
	fugue_state_close(st);

	/* An existing file readable by others is made private. */
	CU_ASSERT_EQUAL(chmod(dir, 0755), 0);
	{
		char *path = db_path(dir);

		CU_ASSERT_EQUAL(chmod(path, 0644), 0);
		free(path);
	}
	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&st, dir, &diag), 0);
	CU_ASSERT_EQUAL(file_mode(dir, "conductor.db"), 0600);
	fugue_state_close(st);
	fugue_test_rmtree(top);
	free(top);
	free(dir);
}

static void test_open_errors(void)
{
	fugue_state_diag diag = { "" };
	fugue_state *st = (fugue_state *)&diag;
	char *dir = fugue_test_tmpdir();
	char *path;

	CU_ASSERT_EQUAL(fugue_state_open(&st, "", &diag), FUGUE_EINVAL);
	CU_ASSERT_PTR_NULL(st);
	/* Not a database: SQLite's own reason reaches the diagnostics. */
	path = fugue_test_write_file(dir, "conductor.db",
	                             "this is certainly not an SQLite database file, "
	                             "but it is long enough to have a header of one.......\n");
	CU_ASSERT_EQUAL(fugue_state_open(&st, dir, &diag), FUGUE_EIO);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "not a database"));
	unlink(path);
	free(path);
	/* The database path is a directory. */
	path = db_path(dir);
	CU_ASSERT_EQUAL(mkdir(path, 0700), 0);
	diag.message[0] = '\0';
	CU_ASSERT_EQUAL(fugue_state_open(&st, dir, &diag), FUGUE_EIO);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "conductor.db"));
	free(path);
	fugue_test_rmtree(dir);
	free(dir);
}

static const char *const MIG_A[] = {
	"CREATE TABLE a (x INTEGER);",
	"CREATE TABLE b (y INTEGER); INSERT INTO b VALUES (7);",
};
/* Fails half-way: c is created, then a clashes. */
static const char *const MIG_BAD[] = {
	"CREATE TABLE a (x INTEGER);",
	"CREATE TABLE c (z INTEGER); CREATE TABLE a (x INTEGER);",
};

static void test_migrations(void)
{
	fugue_state_diag diag = { "" };
	fugue_state *st = NULL;
	char *dir = fugue_test_tmpdir();

	/* From version 0 to 1, then re-opened: nothing re-applied. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_open_migrations(&st, dir, MIG_A, 1, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_schema_version(st), 1);
	fugue_state_close(st);
	CU_ASSERT_EQUAL(raw_exec(dir, "INSERT INTO a VALUES (1)"), SQLITE_OK);
	CU_ASSERT_EQUAL_FATAL(fugue_state_open_migrations(&st, dir, MIG_A, 1, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_schema_version(st), 1);
	fugue_state_close(st);
	CU_ASSERT_EQUAL(count_rows(dir, "a"), 1);

	/* A failing migration leaves the previous version, with nothing of it. */
	CU_ASSERT_EQUAL(fugue_state_open_migrations(&st, dir, MIG_BAD, 2, &diag), FUGUE_EIO);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "already exists"));
	CU_ASSERT_EQUAL(raw_int(dir, "PRAGMA user_version"), 1);
	CU_ASSERT_EQUAL(raw_int(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'c'"), 0);

	/* From 1 to 2. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_open_migrations(&st, dir, MIG_A, 2, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_schema_version(st), 2);
	fugue_state_close(st);
	CU_ASSERT_EQUAL(raw_int(dir, "SELECT y FROM b"), 7);
	CU_ASSERT_EQUAL(count_rows(dir, "a"), 1);

	/* Code that knows only version 1 refuses a version 2 file. */
	diag.message[0] = '\0';
	CU_ASSERT_EQUAL(fugue_state_open_migrations(&st, dir, MIG_A, 1, &diag), FUGUE_ECONFIG);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "newer"));
	fugue_test_rmtree(dir);
	free(dir);
}

static void test_real_schema_reopen_and_future(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_process p;
	fugue_state *st = NULL;
	char *dir = fugue_test_tmpdir();
	char fid[FUGUE_FID_SIZE];
	char sql[64];

	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&st, dir, &diag), 0);
	CU_ASSERT_EQUAL(raw_int(dir, "PRAGMA user_version"), FUGUE_STATE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(make_process(st, fid, "kept"), 0);
	fugue_state_close(st);
	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&st, dir, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_schema_version(st), FUGUE_STATE_SCHEMA_VERSION);
	CU_ASSERT_EQUAL(fugue_state_process_get(&p, st, "kept", &diag), 0);
	CU_ASSERT_STRING_EQUAL(p.fid, fid);
	fugue_state_process_clear(&p);
	fugue_state_close(st);

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", FUGUE_STATE_SCHEMA_VERSION + 5);
	CU_ASSERT_EQUAL(raw_exec(dir, sql), SQLITE_OK);
	st = NULL;
	CU_ASSERT_EQUAL(fugue_state_open(&st, dir, &diag), FUGUE_ECONFIG);
	CU_ASSERT_PTR_NULL(st);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "newer"));
	CU_ASSERT_EQUAL(raw_int(dir, "PRAGMA user_version"), FUGUE_STATE_SCHEMA_VERSION + 5);
	CU_ASSERT_EQUAL(count_rows(dir, "processes"), 1);
	fugue_test_rmtree(dir);
	free(dir);
}

/* A version 1 file (the first migration only) with a process and a
 * resource is migrated to version 2: the rows are kept, the new columns
 * read as "never" and "none". */
static void test_migration_1_to_2(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_process p;
	fugue_state_resource r;
	fugue_state *st = NULL;
	char *dir = fugue_test_tmpdir();
	const char *const *all;
	const char *fid = "0f0e0d0c-0b0a-4908-8706-050403020100";
	size_t count = 0;

	all = fugue_state_migrations(&count);
	CU_ASSERT_EQUAL_FATAL(count, FUGUE_STATE_SCHEMA_VERSION);
	CU_ASSERT_FATAL(count >= 2);
	CU_ASSERT_EQUAL_FATAL(fugue_state_open_migrations(&st, dir, all, 1, &diag), 0);
	fugue_state_close(st);
	st = NULL;
	CU_ASSERT_EQUAL(raw_int(dir, "PRAGMA user_version"), 1);
	CU_ASSERT_EQUAL(raw_exec(dir, "INSERT INTO processes (fid, alias, state, source, "
	                              "compiled, enforcement, created_ms, updated_ms, message, "
	                              "owner_uid) VALUES ('0f0e0d0c-0b0a-4908-8706-050403020100', "
	                              "'old', 'Suspended', 'resources: {}', '{}', 0, 11, 22, "
	                              "'SUSPENDED', 1000)"),
	                SQLITE_OK);
	CU_ASSERT_EQUAL(raw_exec(dir, "INSERT INTO resources (fid, name, type, aws_id, status, "
	                              "declared, updated_ms, client_token) VALUES "
	                              "('0f0e0d0c-0b0a-4908-8706-050403020100', 'vpc', "
	                              "'AWS.VPC.Vpc', 'vpc-1', 'Ready', '{\"a\":1}', 33, 'tok')"),
	                SQLITE_OK);

	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&st, dir, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_schema_version(st), 2);
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_get(&p, st, "old", &diag), 0);
	CU_ASSERT_STRING_EQUAL(p.fid, fid);
	CU_ASSERT_EQUAL(p.state, FUGUE_PROCESS_SUSPENDED);
	CU_ASSERT_EQUAL(p.enforcement, 0);
	CU_ASSERT_EQUAL(p.created_ms, 11);
	CU_ASSERT_EQUAL(p.updated_ms, 22);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.message), "SUSPENDED");
	CU_ASSERT_EQUAL(p.last_enforced_ms, 0);
	CU_ASSERT_EQUAL(p.drift, 0);
	fugue_state_process_clear(&p);
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&r, st, fid, "vpc", &diag), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(r.aws_id), "vpc-1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(r.declared), "{\"a\":1}");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(r.client_token), "tok");
	CU_ASSERT_EQUAL(r.updated_ms, 33);
	CU_ASSERT_EQUAL(r.last_observed_ms, 0);
	CU_ASSERT_PTR_NULL(r.drift);
	fugue_state_resource_clear(&r);
	/* The new columns work on the migrated rows. */
	CU_ASSERT_EQUAL(fugue_state_process_set_enforced(st, fid, 44, 1, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resource_set_drift(st, fid, "vpc", "[]", &diag), 0);
	fugue_state_close(st);
	CU_ASSERT_EQUAL(raw_int(dir, "SELECT last_enforced_ms FROM processes"), 44);
	fugue_test_rmtree(dir);
	free(dir);
}

static void test_new_fid(void)
{
	char a[FUGUE_FID_SIZE];
	char b[FUGUE_FID_SIZE];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(fugue_state_new_fid(a), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_new_fid(b), 0);
	CU_ASSERT_EQUAL(strlen(a), 36);
	CU_ASSERT_STRING_NOT_EQUAL(a, b);
	CU_ASSERT_EQUAL(a[14], '4');
	CU_ASSERT_PTR_NOT_NULL(strchr("89ab", a[19]));
	for (i = 0; i < 36; i++) {
		int dash = (i == 8 || i == 13 || i == 18 || i == 23);

		CU_ASSERT_TRUE(dash ? a[i] == '-' : strchr("0123456789abcdef", a[i]) != NULL);
	}
}

/* ---- processes ---------------------------------------------------------- */

static void test_process_create_defaults(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_process p;
	fugue_state_process_spec spec = { 0 };
	char fid[FUGUE_FID_SIZE];
	char fid2[FUGUE_FID_SIZE];
	char fid3[FUGUE_FID_SIZE];
	char got[FUGUE_FID_SIZE];

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, fid, "webapp"), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_get(&p, g_st, fid, &diag), 0);
	CU_ASSERT_STRING_EQUAL(p.fid, fid);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.alias), "webapp");
	CU_ASSERT_EQUAL(p.state, FUGUE_PROCESS_RUNNING);
	CU_ASSERT_EQUAL(p.lock, 0);
	CU_ASSERT_EQUAL(p.enforcement, 1);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.source), "composition: {}\n");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.source_name), "app.yaml");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.compiled), "{\"resources\":[]}");
	CU_ASSERT_PTR_NULL(p.message);
	CU_ASSERT_EQUAL(p.owner_uid, 1000);
	CU_ASSERT_TRUE(p.created_ms > 1600000000000LL);
	CU_ASSERT_EQUAL(p.created_ms, p.updated_ms);
	fugue_state_process_clear(&p);
	CU_ASSERT_PTR_NULL(p.source);

	/* Lookups by alias or FID. */
	CU_ASSERT_EQUAL(fugue_state_resolve(got, g_st, "webapp", &diag), 0);
	CU_ASSERT_STRING_EQUAL(got, fid);
	CU_ASSERT_EQUAL(fugue_state_resolve(got, g_st, fid, &diag), 0);
	CU_ASSERT_STRING_EQUAL(got, fid);
	CU_ASSERT_EQUAL(fugue_state_resolve(got, g_st, "nope", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "nope"));
	CU_ASSERT_EQUAL(fugue_state_process_get(&p, g_st, "00000000-0000-4000-8000-000000000000",
	                                        &diag), FUGUE_ENOTFOUND);

	/* Any number of processes without an alias. */
	CU_ASSERT_EQUAL(make_process(g_st, fid2, NULL), 0);
	CU_ASSERT_EQUAL(make_process(g_st, fid3, NULL), 0);
	CU_ASSERT_STRING_NOT_EQUAL(fid2, fid3);
	CU_ASSERT_EQUAL(fugue_state_process_get(&p, g_st, fid2, &diag), 0);
	CU_ASSERT_PTR_NULL(p.alias);
	fugue_state_process_clear(&p);

	/* Bad input. */
	CU_ASSERT_EQUAL(fugue_state_process_create(got, g_st, &spec, &diag), FUGUE_EINVAL);
	spec.source = "x";
	spec.compiled = "{not json";
	CU_ASSERT_EQUAL(fugue_state_process_create(got, g_st, &spec, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(count_rows(g_dir, "processes"), 3);
}

static void test_alias_uniqueness(void)
{
	fugue_state_diag diag = { "" };
	char a[FUGUE_FID_SIZE];
	char b[FUGUE_FID_SIZE];
	char got[FUGUE_FID_SIZE];
	fugue_state_process_spec spec = { 0 };

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, a, "webapp"), 0);
	spec.alias = "webapp";
	spec.source = "x";
	CU_ASSERT_EQUAL(fugue_state_process_create(b, g_st, &spec, &diag), FUGUE_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "'webapp' is already in use"));
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, b, "db"), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_alias(g_st, b, "webapp", &diag), FUGUE_ECONFLICT);
	CU_ASSERT_EQUAL(fugue_state_resolve(got, g_st, "db", &diag), 0);
	CU_ASSERT_STRING_EQUAL(got, b);

	/* Rename, then the old name is free. */
	CU_ASSERT_EQUAL(fugue_state_process_set_alias(g_st, a, "frontend", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resolve(got, g_st, "webapp", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_process_set_alias(g_st, b, "webapp", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resolve(got, g_st, "webapp", &diag), 0);
	CU_ASSERT_STRING_EQUAL(got, b);
	CU_ASSERT_EQUAL(fugue_state_process_set_alias(g_st, b, NULL, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resolve(got, g_st, "webapp", &diag), FUGUE_ENOTFOUND);

	/* Aliases never look like FIDs, and are not empty. */
	CU_ASSERT_EQUAL(fugue_state_process_set_alias(g_st, b, a, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_process_set_alias(g_st, b, "", &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_process_set_alias(g_st, "no-such-fid", "x", &diag),
	                FUGUE_ENOTFOUND);
}

static void test_process_updates(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_process p;
	fugue_state_process *list = NULL;
	size_t n = 0;
	char a[FUGUE_FID_SIZE];
	char b[FUGUE_FID_SIZE];
	const char *unknown = "00000000-0000-4000-8000-000000000000";

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, a, "one"), 0);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, b, "two"), 0);

	CU_ASSERT_EQUAL(fugue_state_process_set_state(g_st, a, FUGUE_PROCESS_FAILED,
	                                              "FAILED: subnet: InvalidParameter", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_state(g_st, a, FUGUE_PROCESS_SUSPENDED, NULL,
	                                              &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_lock(g_st, a, 1, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_enforcement(g_st, a, 0, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_source(g_st, a, "v2", "v2.yaml", "{\"v\":2}",
	                                               &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_get(&p, g_st, "one", &diag), 0);
	CU_ASSERT_EQUAL(p.state, FUGUE_PROCESS_SUSPENDED);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.message), "FAILED: subnet: InvalidParameter");
	CU_ASSERT_EQUAL(p.lock, 1);
	CU_ASSERT_EQUAL(p.enforcement, 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.source), "v2");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.source_name), "v2.yaml");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.compiled), "{\"v\":2}");
	CU_ASSERT_TRUE(p.updated_ms >= p.created_ms);
	fugue_state_process_clear(&p);

	CU_ASSERT_EQUAL(fugue_state_process_set_message(g_st, a, "SUCCEEDED", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_lock(g_st, a, 0, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_enforcement(g_st, a, 1, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_set_state(g_st, a, FUGUE_PROCESS_KILLING, NULL,
	                                              &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_get(&p, g_st, a, &diag), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(p.message), "SUCCEEDED");
	CU_ASSERT_EQUAL(p.lock, 0);
	CU_ASSERT_EQUAL(p.enforcement, 1);
	CU_ASSERT_EQUAL(p.state, FUGUE_PROCESS_KILLING);
	fugue_state_process_clear(&p);

	/* Unknown FIDs, bad values. */
	CU_ASSERT_EQUAL(fugue_state_process_set_state(g_st, unknown, FUGUE_PROCESS_RUNNING, NULL,
	                                              &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, unknown));
	CU_ASSERT_EQUAL(fugue_state_process_set_message(g_st, unknown, "x", &diag),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_process_set_lock(g_st, unknown, 1, &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_process_set_enforcement(g_st, unknown, 1, &diag),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_process_set_source(g_st, unknown, "s", NULL, NULL, &diag),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_process_set_source(g_st, a, NULL, NULL, NULL, &diag),
	                FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_process_set_state(g_st, a, (fugue_process_state)42, NULL,
	                                              &diag), FUGUE_EINVAL);

	/* Oldest first. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_list(&list, &n, g_st, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(list[0].fid, a);
	CU_ASSERT_STRING_EQUAL(list[1].fid, b);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[1].alias), "two");
	fugue_state_process_list_free(list, n);
}

static void test_enum_names(void)
{
	fugue_process_state ps;
	fugue_resource_status rs;
	fugue_history_kind hk;

	CU_ASSERT_STRING_EQUAL(fugue_process_state_name(FUGUE_PROCESS_RELEASED), "Released");
	CU_ASSERT_EQUAL(fugue_process_state_parse(&ps, "Killing"), 0);
	CU_ASSERT_EQUAL(ps, FUGUE_PROCESS_KILLING);
	CU_ASSERT_EQUAL(fugue_process_state_parse(&ps, "running"), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(fugue_resource_status_name(FUGUE_RESOURCE_UNKNOWN), "Unknown");
	CU_ASSERT_EQUAL(fugue_resource_status_parse(&rs, "Deleting"), 0);
	CU_ASSERT_EQUAL(rs, FUGUE_RESOURCE_DELETING);
	CU_ASSERT_EQUAL(fugue_resource_status_parse(&rs, NULL), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(fugue_history_kind_name(FUGUE_HISTORY_PROPERTY), "property");
	CU_ASSERT_EQUAL(fugue_history_kind_parse(&hk, "drift"), 0);
	CU_ASSERT_EQUAL(hk, FUGUE_HISTORY_DRIFT);
	CU_ASSERT_STRING_EQUAL(fugue_journal_action_name(FUGUE_JOURNAL_DELETE), "delete");
	CU_ASSERT_STRING_EQUAL(fugue_journal_action_name((fugue_journal_action)9), "?");
}

/* ---- resources ---------------------------------------------------------- */

static void test_resources(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_resource r = { .status = FUGUE_RESOURCE_READY };
	fugue_state_resource got;
	fugue_state_resource *list = NULL;
	size_t n = 0;
	char fid[FUGUE_FID_SIZE];
	char tok[FUGUE_FID_SIZE];
	char tok2[FUGUE_FID_SIZE];

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, fid, "net"), 0);
	CU_ASSERT_EQUAL(put_resource(g_st, fid, "vpc", FUGUE_RESOURCE_PENDING), 0);
	CU_ASSERT_EQUAL(put_resource(g_st, fid, "subnet", FUGUE_RESOURCE_CREATING), 0);

	/* The client token is made once and kept, also across a re-open. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_token(tok, g_st, fid, "vpc", &diag), 0);
	CU_ASSERT_EQUAL(strlen(tok), 36);
	CU_ASSERT_EQUAL(fugue_state_resource_token(tok2, g_st, fid, "vpc", &diag), 0);
	CU_ASSERT_STRING_EQUAL(tok, tok2);
	fugue_state_close(g_st);
	g_st = NULL;
	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&g_st, g_dir, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resource_token(tok2, g_st, fid, "vpc", &diag), 0);
	CU_ASSERT_STRING_EQUAL(tok, tok2);

	/* A full update keeps the token. */
	snprintf(r.fid, sizeof(r.fid), "%s", fid);
	r.name = (char *)"vpc";
	r.type = (char *)"AWS.VPC.Vpc";
	r.aws_id = (char *)"vpc-123";
	r.declared = (char *)"{\"cidrBlock\":\"10.0.0.0/16\"}";
	r.observed = (char *)"{\"cidrBlock\":\"10.0.0.0/16\",\"state\":\"available\"}";
	r.error_code = (char *)"Throttling";
	r.error_message = (char *)"Rate exceeded";
	r.error_request_id = (char *)"req-1";
	r.attributes = (char *)"{\"vpcId\":\"vpc-123\"}";
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&got, g_st, fid, "vpc", &diag), 0);
	CU_ASSERT_STRING_EQUAL(got.fid, fid);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.type), "AWS.VPC.Vpc");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.aws_id), "vpc-123");
	CU_ASSERT_EQUAL(got.status, FUGUE_RESOURCE_READY);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.declared), r.declared);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.observed), r.observed);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.error_code), "Throttling");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.error_message), "Rate exceeded");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.error_request_id), "req-1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.attributes), r.attributes);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(got.client_token), tok);
	CU_ASSERT_TRUE(got.updated_ms > 0);
	fugue_state_resource_clear(&got);

	/* Reset: a replacement gets a new token. */
	CU_ASSERT_EQUAL(fugue_state_resource_token_reset(g_st, fid, "vpc", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resource_token(tok2, g_st, fid, "vpc", &diag), 0);
	CU_ASSERT_STRING_NOT_EQUAL(tok, tok2);

	/* By name. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_list(&list, &n, g_st, fid, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[0].name), "subnet");
	CU_ASSERT_EQUAL(list[0].status, FUGUE_RESOURCE_CREATING);
	CU_ASSERT_PTR_NULL(list[0].aws_id);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[1].name), "vpc");
	fugue_state_resource_list_free(list, n);
	CU_ASSERT_EQUAL(fugue_state_resource_list(&list, &n, g_st, "nope", &diag), 0);
	CU_ASSERT_EQUAL(n, 0);
	fugue_state_resource_list_free(list, n);

	/* Errors. */
	r.declared = (char *)"{broken";
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), FUGUE_EINVAL);
	r.declared = NULL;
	r.status = (fugue_resource_status)77;
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), FUGUE_EINVAL);
	r.status = FUGUE_RESOURCE_READY;
	snprintf(r.fid, sizeof(r.fid), "%s", "00000000-0000-4000-8000-000000000000");
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "no process"));
	r.fid[0] = '\0';
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_resource_get(&got, g_st, fid, "nope", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_resource_token(tok, g_st, fid, "nope", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_resource_token_reset(g_st, fid, "nope", &diag),
	                FUGUE_ENOTFOUND);

	CU_ASSERT_EQUAL(fugue_state_resource_delete(g_st, fid, "subnet", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resource_delete(g_st, fid, "subnet", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(count_rows(g_dir, "resources"), 1);
}

/* ---- process deletion --------------------------------------------------- */

/* What enforcement records (schema 2): the pass on the process, the drift
 * and observation time of a resource; none of it bumps updated_ms, and a
 * full put of the resource keeps the drift. */
static void test_enforcement_records(void)
{
	static const char drift[] = "[{\"property\":\"cidr\",\"declared\":\"10.0.0.0/16\","
	                            "\"actual\":\"10.1.0.0/16\",\"action\":\"update\","
	                            "\"reason\":null}]";
	fugue_state_diag diag = { "" };
	fugue_state_resource r;
	fugue_state_process p;
	char fid[FUGUE_FID_SIZE];

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, fid, "enf"), 0);
	CU_ASSERT_EQUAL_FATAL(put_resource(g_st, fid, "sub", FUGUE_RESOURCE_READY), 0);
	CU_ASSERT_EQUAL(raw_exec(g_dir, "UPDATE processes SET updated_ms = 5"), SQLITE_OK);
	CU_ASSERT_EQUAL(raw_exec(g_dir, "UPDATE resources SET updated_ms = 6"), SQLITE_OK);

	/* The process: a new one has none, then the pass as written. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_get(&p, g_st, fid, &diag), 0);
	CU_ASSERT_EQUAL(p.last_enforced_ms, 0);
	CU_ASSERT_EQUAL(p.drift, 0);
	fugue_state_process_clear(&p);
	CU_ASSERT_EQUAL(fugue_state_process_set_enforced(g_st, fid, 1700000000123LL, 2, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_get(&p, g_st, "enf", &diag), 0);
	CU_ASSERT_EQUAL(p.last_enforced_ms, 1700000000123LL);
	CU_ASSERT_EQUAL(p.drift, 2);
	CU_ASSERT_EQUAL(p.updated_ms, 5);
	fugue_state_process_clear(&p);
	CU_ASSERT_EQUAL(fugue_state_process_set_enforced(g_st, fid, 1, -1, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_process_set_enforced(g_st, "nope", 1, 0, &diag),
	                FUGUE_ENOTFOUND);

	/* The resource's drift: an array or nothing. */
	CU_ASSERT_EQUAL(fugue_state_resource_set_drift(g_st, fid, "sub", drift, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_resource_set_drift(g_st, fid, "sub", "{\"a\":1}", &diag),
	                FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_resource_set_drift(g_st, fid, "sub", "[", &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_resource_set_drift(g_st, fid, "none", drift, &diag),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&r, g_st, fid, "sub", &diag), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(r.drift), drift);
	CU_ASSERT_EQUAL(r.updated_ms, 6);
	CU_ASSERT_EQUAL(r.last_observed_ms, 0);

	/* A put keeps the drift; its observation time when 0, else sets it. */
	free(r.drift);
	r.drift = NULL;
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), 0);
	r.last_observed_ms = 1700000000456LL;
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), 0);
	r.last_observed_ms = 0;
	CU_ASSERT_EQUAL(fugue_state_resource_put(g_st, &r, &diag), 0);
	fugue_state_resource_clear(&r);
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&r, g_st, fid, "sub", &diag), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(r.drift), drift);
	CU_ASSERT_EQUAL(r.last_observed_ms, 1700000000456LL);
	fugue_state_resource_clear(&r);

	/* NULL clears it; all of it survives a re-open. */
	CU_ASSERT_EQUAL(fugue_state_resource_set_drift(g_st, fid, "sub", NULL, &diag), 0);
	fugue_state_close(g_st);
	g_st = NULL;
	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&g_st, g_dir, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_resource_get(&r, g_st, fid, "sub", &diag), 0);
	CU_ASSERT_PTR_NULL(r.drift);
	CU_ASSERT_EQUAL(r.last_observed_ms, 1700000000456LL);
	fugue_state_resource_clear(&r);
	CU_ASSERT_EQUAL_FATAL(fugue_state_process_get(&p, g_st, fid, &diag), 0);
	CU_ASSERT_EQUAL(p.last_enforced_ms, 1700000000123LL);
	CU_ASSERT_EQUAL(p.drift, 2);
	fugue_state_process_clear(&p);
}

static void test_process_delete(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_process p;
	fugue_state_history *h = NULL;
	size_t n = 0;
	char fid[FUGUE_FID_SIZE];
	char other[FUGUE_FID_SIZE];
	int64_t j1 = 0;
	int64_t j2 = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, fid, "doomed"), 0);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, other, "other"), 0);
	CU_ASSERT_EQUAL(put_resource(g_st, fid, "a", FUGUE_RESOURCE_READY), 0);
	CU_ASSERT_EQUAL(put_resource(g_st, fid, "b", FUGUE_RESOURCE_READY), 0);
	CU_ASSERT_EQUAL(put_resource(g_st, other, "a", FUGUE_RESOURCE_READY), 0);
	CU_ASSERT_EQUAL(fugue_state_history_append(NULL, g_st, fid, FUGUE_HISTORY_RUN, 1000,
	                                           "run", NULL, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&j1, g_st, fid, "a", FUGUE_JOURNAL_DELETE,
	                                          "subnet-1", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&j2, g_st, fid, "b", FUGUE_JOURNAL_DELETE,
	                                          "subnet-2", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, j1, "ok", NULL, &diag), 0);

	/* Refused while a call is in flight; nothing is lost. */
	CU_ASSERT_EQUAL(fugue_state_process_delete(g_st, fid, &diag), FUGUE_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "in flight"));
	CU_ASSERT_EQUAL(count_rows(g_dir, "journal"), 2);
	CU_ASSERT_EQUAL(count_rows(g_dir, "resources"), 3);

	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, j2, "ok", NULL, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_delete(g_st, fid, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_get(&p, g_st, "doomed", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(count_rows(g_dir, "resources"), 1);
	CU_ASSERT_EQUAL(count_rows(g_dir, "journal"), 0);
	CU_ASSERT_EQUAL(count_rows(g_dir, "processes"), 1);
	/* History outlives the process. */
	CU_ASSERT_EQUAL(fugue_state_history_list(&h, &n, g_st, fid, 0, 0, &diag), 0);
	CU_ASSERT_EQUAL(n, 1);
	fugue_state_history_list_free(h, n);
	CU_ASSERT_EQUAL(fugue_state_process_delete(g_st, fid, &diag), FUGUE_ENOTFOUND);
}

/* ---- history ------------------------------------------------------------ */

static void test_history(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_history *h = NULL;
	size_t n = 0;
	size_t i;
	char a[FUGUE_FID_SIZE];
	char b[FUGUE_FID_SIZE];
	char summary[32];
	int64_t id = 0;
	int64_t last = 0;
	const char *drift = "[{\"resource\":\"sg\",\"property\":\"ingress\",\"declared\":[],"
	                    "\"actual\":[{\"port\":22}],\"action\":\"corrected\"}]";

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, a, "a"), 0);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, b, "b"), 0);
	for (i = 0; i < 25; i++) {
		snprintf(summary, sizeof(summary), "entry %zu", i);
		CU_ASSERT_EQUAL_FATAL(fugue_state_history_append(&id, g_st, a, FUGUE_HISTORY_ENFORCE,
		                                                 FUGUE_STATE_NO_UID, summary, NULL,
		                                                 &diag), 0);
		CU_ASSERT_TRUE(id > last);
		last = id;
	}
	CU_ASSERT_EQUAL(fugue_state_history_append(&id, g_st, b, FUGUE_HISTORY_DRIFT, 1001,
	                                           "1 drift corrected", drift, &diag), 0);

	/* Newest first, paged. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_history_list(&h, &n, g_st, a, 10, 0, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(n, 10);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h[0].summary), "entry 24");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h[9].summary), "entry 15");
	CU_ASSERT_TRUE(h[0].id > h[1].id);
	CU_ASSERT_TRUE(h[0].time_ms >= h[9].time_ms);
	CU_ASSERT_EQUAL(h[0].kind, FUGUE_HISTORY_ENFORCE);
	CU_ASSERT_EQUAL(h[0].uid, FUGUE_STATE_NO_UID);
	CU_ASSERT_PTR_NULL(h[0].details);
	CU_ASSERT_STRING_EQUAL(h[0].fid, a);
	fugue_state_history_list_free(h, n);
	CU_ASSERT_EQUAL_FATAL(fugue_state_history_list(&h, &n, g_st, a, 10, 20, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(n, 5);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h[4].summary), "entry 0");
	fugue_state_history_list_free(h, n);
	CU_ASSERT_EQUAL(fugue_state_history_list(&h, &n, g_st, a, 10, 30, &diag), 0);
	CU_ASSERT_EQUAL(n, 0);
	fugue_state_history_list_free(h, n);
	CU_ASSERT_EQUAL(fugue_state_history_list(&h, &n, g_st, a, 0, 0, &diag), 0);
	CU_ASSERT_EQUAL(n, 25);
	fugue_state_history_list_free(h, n);

	/* Every process; details and uid kept. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_history_list(&h, &n, g_st, NULL, 2, 0, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_STRING_EQUAL(h[0].fid, b);
	CU_ASSERT_EQUAL(h[0].kind, FUGUE_HISTORY_DRIFT);
	CU_ASSERT_EQUAL(h[0].uid, 1001);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(h[0].details), drift);
	CU_ASSERT_STRING_EQUAL(h[1].fid, a);
	fugue_state_history_list_free(h, n);

	/* Bad input. */
	CU_ASSERT_EQUAL(fugue_state_history_append(NULL, g_st, a, FUGUE_HISTORY_ERROR, 0, "x",
	                                           "{bad", &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_history_append(NULL, g_st, a, (fugue_history_kind)99, 0, "x",
	                                           NULL, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_history_append(NULL, g_st, a, FUGUE_HISTORY_RUN, 0, NULL,
	                                           NULL, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(count_rows(g_dir, "history"), 26);
}

/* ---- journal ------------------------------------------------------------ */

static void test_journal(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_journal *j = NULL;
	size_t n = 0;
	size_t pruned = 99;
	char fid[FUGUE_FID_SIZE];
	int64_t create = 0;
	int64_t update = 0;
	int64_t del = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL_FATAL(make_process(g_st, fid, "j"), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&create, g_st, fid, "vpc", FUGUE_JOURNAL_CREATE,
	                                          NULL, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&update, g_st, fid, "sg", FUGUE_JOURNAL_UPDATE,
	                                          "sg-1", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&del, g_st, fid, "igw", FUGUE_JOURNAL_DELETE,
	                                          "igw-1", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, update, "ok", NULL, &diag), 0);

	/* As after kill -9: close without ending, re-open. */
	fugue_state_close(g_st);
	g_st = NULL;
	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&g_st, g_dir, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_journal_open_entries(&j, &n, g_st, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(n, 2);
	CU_ASSERT_EQUAL(j[0].id, create);
	CU_ASSERT_STRING_EQUAL(j[0].fid, fid);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(j[0].resource), "vpc");
	CU_ASSERT_EQUAL(j[0].action, FUGUE_JOURNAL_CREATE);
	CU_ASSERT_EQUAL(j[0].finished_ms, 0);
	CU_ASSERT_PTR_NULL(j[0].result);
	CU_ASSERT_PTR_NULL(j[0].aws_id);
	CU_ASSERT_TRUE(j[0].started_ms > 0);
	CU_ASSERT_EQUAL(j[1].id, del);
	CU_ASSERT_EQUAL(j[1].action, FUGUE_JOURNAL_DELETE);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(j[1].aws_id), "igw-1");
	fugue_state_journal_list_free(j, n);

	/* The create learns its id; the delete failed but keeps its id. */
	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, create, "ok", "vpc-9", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, del, "DependencyViolation", NULL, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_open_entries(&j, &n, g_st, &diag), 0);
	CU_ASSERT_EQUAL(n, 0);
	fugue_state_journal_list_free(j, n);
	CU_ASSERT_EQUAL(raw_int(g_dir, "SELECT count(*) FROM journal WHERE aws_id = 'vpc-9' "
	                        "AND result = 'ok' AND finished_ms >= started_ms"), 1);
	CU_ASSERT_EQUAL(raw_int(g_dir, "SELECT count(*) FROM journal WHERE aws_id = 'igw-1' "
	                        "AND result = 'DependencyViolation'"), 1);

	/* Errors. */
	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, create, "ok", NULL, &diag), FUGUE_ECONFLICT);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "already ended"));
	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, 12345, "ok", NULL, &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_journal_end(g_st, create, NULL, NULL, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&create, g_st,
	                                          "00000000-0000-4000-8000-000000000000", "x",
	                                          FUGUE_JOURNAL_CREATE, NULL, &diag),
	                FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&create, g_st, fid, "",
	                                          FUGUE_JOURNAL_CREATE, NULL, &diag),
	                FUGUE_EINVAL);

	/* Pruning keeps what is in flight. */
	CU_ASSERT_EQUAL(fugue_state_journal_begin(&create, g_st, fid, "late", FUGUE_JOURNAL_CREATE,
	                                          NULL, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_journal_prune(&pruned, g_st, 0, &diag), 0);
	CU_ASSERT_EQUAL(pruned, 0);
	CU_ASSERT_EQUAL(fugue_state_journal_prune(&pruned, g_st, INT64_MAX, &diag), 0);
	CU_ASSERT_EQUAL(pruned, 3);
	CU_ASSERT_EQUAL(count_rows(g_dir, "journal"), 1);
}

/* ---- settings ----------------------------------------------------------- */

static void test_settings(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_setting *list = NULL;
	size_t n = 0;
	char *v = NULL;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	CU_ASSERT_EQUAL(fugue_state_setting_get(&v, g_st, "concurrency", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(diag.message, "concurrency"));
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "concurrency", "8", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "enforce.interval.vpc", "300", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "log.level", "info", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "concurrency", "16", &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_setting_get(&v, g_st, "concurrency", &diag), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(v), "16");
	free(v);
	CU_ASSERT_EQUAL_FATAL(fugue_state_setting_list(&list, &n, g_st, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(n, 3);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[0].key), "concurrency");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[1].key), "enforce.interval.vpc");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[1].value), "300");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[2].key), "log.level");
	fugue_state_setting_list_free(list, n);
	CU_ASSERT_EQUAL(fugue_state_setting_unset(g_st, "log.level", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_unset(g_st, "log.level", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_setting_get(&v, g_st, "log.level", &diag), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "", "x", &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "k", NULL, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(count_rows(g_dir, "settings"), 2);
}

/* ---- transactions ------------------------------------------------------- */

static int atomic_two_then_fail(fugue_state *st, void *payload)
{
	char fid[FUGUE_FID_SIZE];
	int *fail = payload;

	if (make_process(st, fid, "atomic") != 0)
		return FUGUE_EIO;
	if (put_resource(st, fid, "r", FUGUE_RESOURCE_PENDING) != 0)
		return FUGUE_EIO;
	return *fail ? FUGUE_ECANCELED : 0;
}

static void test_transactions(void)
{
	fugue_state_diag diag = { "" };
	char fid[FUGUE_FID_SIZE];
	int fail = 1;

	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	/* Rolled back: nothing. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_tx_begin(g_st, &diag), 0);
	CU_ASSERT_EQUAL(make_process(g_st, fid, "t1"), 0);
	CU_ASSERT_EQUAL(put_resource(g_st, fid, "r", FUGUE_RESOURCE_PENDING), 0);
	CU_ASSERT_EQUAL(fugue_state_tx_rollback(g_st, &diag), 0);
	CU_ASSERT_EQUAL(count_rows(g_dir, "processes"), 0);
	CU_ASSERT_EQUAL(count_rows(g_dir, "resources"), 0);

	/* Committed: everything. Not visible to another connection before. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_tx_begin(g_st, &diag), 0);
	CU_ASSERT_EQUAL(make_process(g_st, fid, "t2"), 0);
	CU_ASSERT_EQUAL(put_resource(g_st, fid, "r", FUGUE_RESOURCE_PENDING), 0);
	CU_ASSERT_EQUAL(count_rows(g_dir, "processes"), 0);
	CU_ASSERT_EQUAL(fugue_state_tx_commit(g_st, &diag), 0);
	CU_ASSERT_EQUAL(count_rows(g_dir, "processes"), 1);
	CU_ASSERT_EQUAL(count_rows(g_dir, "resources"), 1);

	/* Nested: the inner one rolled back, the outer one committed. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_tx_begin(g_st, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "outer", "1", &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_tx_begin(g_st, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "inner", "1", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_tx_rollback(g_st, &diag), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_state_tx_begin(g_st, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "inner2", "1", &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_tx_commit(g_st, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_tx_commit(g_st, &diag), 0);
	CU_ASSERT_EQUAL(raw_int(g_dir, "SELECT count(*) FROM settings WHERE key = 'outer'"), 1);
	CU_ASSERT_EQUAL(raw_int(g_dir, "SELECT count(*) FROM settings WHERE key = 'inner'"), 0);
	CU_ASSERT_EQUAL(raw_int(g_dir, "SELECT count(*) FROM settings WHERE key = 'inner2'"), 1);

	/* Callback style. */
	CU_ASSERT_EQUAL(fugue_state_atomic(g_st, &diag, atomic_two_then_fail, &fail),
	                FUGUE_ECANCELED);
	CU_ASSERT_EQUAL(count_rows(g_dir, "processes"), 1);
	fail = 0;
	CU_ASSERT_EQUAL(fugue_state_atomic(g_st, &diag, atomic_two_then_fail, &fail), 0);
	CU_ASSERT_EQUAL(count_rows(g_dir, "processes"), 2);
	CU_ASSERT_EQUAL(count_rows(g_dir, "resources"), 2);

	/* Misuse is an error, not a crash. */
	CU_ASSERT_EQUAL(fugue_state_tx_commit(g_st, &diag), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_state_tx_rollback(g_st, &diag), FUGUE_EINVAL);

	/* Close with a transaction open rolls it back. */
	CU_ASSERT_EQUAL_FATAL(fugue_state_tx_begin(g_st, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_setting_set(g_st, "lost", "1", &diag), 0);
	fugue_state_close(g_st);
	g_st = NULL;
	CU_ASSERT_EQUAL(raw_int(g_dir, "SELECT count(*) FROM settings WHERE key = 'lost'"), 0);
}

/* ---- crash safety ------------------------------------------------------- */

#define CRASH_RESOURCES 20

/* In a child: commits one process, then opens a transaction, writes a
 * process with CRASH_RESOURCES resources, reports on FD and waits to be
 * killed. Never returns. */
static void child_mid_transaction(const char *dir, int fd)
{
	fugue_state *st = NULL;
	char fid[FUGUE_FID_SIZE];
	char name[32];
	int i;

	if (fugue_state_open(&st, dir, NULL) != 0 || make_process(st, fid, "committed") != 0)
		_exit(2);
	if (fugue_state_tx_begin(st, NULL) != 0 || make_process(st, fid, "half") != 0)
		_exit(3);
	for (i = 0; i < CRASH_RESOURCES; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		if (put_resource(st, fid, name, FUGUE_RESOURCE_CREATING) != 0)
			_exit(4);
	}
	if (write(fd, "x", 1) != 1)
		_exit(5);
	for (;;)
		pause();
}

/* In a child: writes whole transactions (a process, its resources and a
 * history entry) as fast as it can, reporting each commit on FD. */
static void child_write_loop(const char *dir, int fd)
{
	fugue_state *st = NULL;
	char fid[FUGUE_FID_SIZE];
	char name[32];
	int i;

	if (fugue_state_open(&st, dir, NULL) != 0)
		_exit(2);
	for (;;) {
		if (fugue_state_tx_begin(st, NULL) != 0 || make_process(st, fid, NULL) != 0)
			_exit(3);
		for (i = 0; i < CRASH_RESOURCES; i++) {
			snprintf(name, sizeof(name), "r%d", i);
			if (put_resource(st, fid, name, FUGUE_RESOURCE_READY) != 0)
				_exit(4);
		}
		if (fugue_state_history_append(NULL, st, fid, FUGUE_HISTORY_RUN, 0, "run", NULL,
		                               NULL) != 0 || fugue_state_tx_commit(st, NULL) != 0)
			_exit(5);
		if (write(fd, "c", 1) != 1)
			_exit(6);
	}
}

static pid_t spawn(const char *dir, void (*child)(const char *, int), int *rfd)
{
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		child(dir, p[1]);
	}
	close(p[1]);
	*rfd = p[0];
	return pid;
}

static void kill_and_reap(pid_t pid)
{
	int status = 0;

	kill(pid, SIGKILL);
	CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
	/* Killed by us, not exited on an error of its own. */
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void assert_consistent(const char *dir)
{
	char *check = raw_text(dir, "PRAGMA integrity_check");

	CU_ASSERT_STRING_EQUAL(fugue_test_nn(check), "ok");
	free(check);
	CU_ASSERT_EQUAL(raw_int(dir, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
}

static void test_crash_mid_transaction(void)
{
	fugue_state_diag diag = { "" };
	fugue_state_process *list = NULL;
	fugue_state *st = NULL;
	char *dir = fugue_test_tmpdir();
	size_t n = 0;
	char c = 0;
	int fd = -1;
	pid_t pid = spawn(dir, child_mid_transaction, &fd);

	CU_ASSERT_TRUE_FATAL(pid > 0);
	CU_ASSERT_EQUAL(read(fd, &c, 1), 1);
	close(fd);
	kill_and_reap(pid);

	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&st, dir, &diag), 0);
	CU_ASSERT_EQUAL(fugue_state_process_list(&list, &n, st, &diag), 0);
	CU_ASSERT_EQUAL(n, 1);
	if (n == 1)
		CU_ASSERT_STRING_EQUAL(fugue_test_nn(list[0].alias), "committed");
	fugue_state_process_list_free(list, n);
	CU_ASSERT_EQUAL(count_rows(dir, "resources"), 0);
	fugue_state_close(st);
	assert_consistent(dir);
	fugue_test_rmtree(dir);
	free(dir);
}

static void test_crash_during_writes(void)
{
	fugue_state_diag diag = { "" };
	fugue_state *st = NULL;
	char *dir = fugue_test_tmpdir();
	struct timespec pause_ts = { 0, 0 };
	long long procs;
	char c = 0;
	int commits = 0;
	int fd = -1;
	pid_t pid = spawn(dir, child_write_loop, &fd);

	CU_ASSERT_TRUE_FATAL(pid > 0);
	while (commits < 5 && read(fd, &c, 1) == 1)
		commits++;
	CU_ASSERT_EQUAL(commits, 5);
	/* Somewhere inside a later transaction. */
	srand((unsigned int)time(NULL));
	pause_ts.tv_nsec = (long)(rand() % 20) * 1000000L;
	nanosleep(&pause_ts, NULL);
	kill_and_reap(pid);
	close(fd);

	CU_ASSERT_EQUAL_FATAL(fugue_state_open(&st, dir, &diag), 0);
	fugue_state_close(st);
	procs = count_rows(dir, "processes");
	CU_ASSERT_TRUE(procs >= 5);
	/* All or nothing: every process has all its resources and its entry. */
	CU_ASSERT_EQUAL(count_rows(dir, "resources"), procs * CRASH_RESOURCES);
	CU_ASSERT_EQUAL(count_rows(dir, "history"), procs);
	CU_ASSERT_EQUAL(raw_int(dir, "SELECT count(*) FROM processes p WHERE (SELECT count(*) "
	                        "FROM resources r WHERE r.fid = p.fid) <> 20"), 0);
	assert_consistent(dir);
	fugue_test_rmtree(dir);
	free(dir);
}

/* ---- concurrency -------------------------------------------------------- */

#define THREADS 4
#define ROUNDS 25

typedef struct worker {
	fugue_state *st;      /* shared handle, or NULL to open one */
	const char *dir;
	const char *fid;
	int index;
	int errors;
	char last_error[512];
} worker;

static int worker_tx(fugue_state *st, void *payload)
{
	worker *w = payload;
	char name[32];
	int rc;

	snprintf(name, sizeof(name), "tx-%d", w->index);
	rc = put_resource(st, w->fid, name, FUGUE_RESOURCE_UPDATING);
	if (rc == 0)
		rc = fugue_state_history_append(NULL, st, w->fid, FUGUE_HISTORY_UPDATE, 0,
		                                "in a transaction", NULL, NULL);
	return rc;
}

static void worker_fail(worker *w, const fugue_state_diag *diag)
{
	w->errors++;
	snprintf(w->last_error, sizeof(w->last_error), "%s", diag->message);
}

static void *worker_main(void *arg)
{
	worker *w = arg;
	fugue_state_diag diag = { "" };
	fugue_state *st = w->st;
	char name[32];
	int i;

	if (st == NULL && fugue_state_open(&st, w->dir, &diag) != 0) {
		worker_fail(w, &diag);
		return NULL;
	}
	for (i = 0; i < ROUNDS; i++) {
		snprintf(name, sizeof(name), "w%d-r%d", w->index, i);
		if (fugue_state_history_append(NULL, st, w->fid, FUGUE_HISTORY_ENFORCE,
		                               FUGUE_STATE_NO_UID, name, "{\"ok\":true}", &diag) != 0)
			worker_fail(w, &diag);
		if (put_resource(st, w->fid, name, FUGUE_RESOURCE_READY) != 0)
			worker_fail(w, &diag);
		if (i % 5 == 0 && fugue_state_atomic(st, &diag, worker_tx, w) != 0)
			worker_fail(w, &diag);
	}
	if (w->st == NULL)
		fugue_state_close(st);
	return NULL;
}

static void run_workers(fugue_state *shared)
{
	pthread_t t[THREADS];
	worker w[THREADS];
	char fid[FUGUE_FID_SIZE];
	fugue_state *setup_st = shared;
	int i;

	if (setup_st == NULL)
		CU_ASSERT_EQUAL_FATAL(fugue_state_open(&setup_st, g_dir, NULL), 0);
	CU_ASSERT_EQUAL_FATAL(make_process(setup_st, fid, "busy"), 0);
	if (shared == NULL)
		fugue_state_close(setup_st);
	for (i = 0; i < THREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].st = shared;
		w[i].dir = g_dir;
		w[i].fid = fid;
		w[i].index = i;
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < THREADS; i++) {
		if (w[i].errors != 0)
			fprintf(stderr, "worker %d: %d errors, last: %s\n", i, w[i].errors,
			        w[i].last_error);
		CU_ASSERT_EQUAL(w[i].errors, 0);
	}
	/* ROUNDS entries a worker, plus one every fifth round in a transaction. */
	CU_ASSERT_EQUAL(count_rows(g_dir, "history"), THREADS * (ROUNDS + ROUNDS / 5));
	CU_ASSERT_EQUAL(count_rows(g_dir, "resources"), THREADS * (ROUNDS + 1));
}

static void test_threads_shared_handle(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	run_workers(g_st);
}

static void test_threads_own_handles(void)
{
	CU_ASSERT_PTR_NOT_NULL_FATAL(g_st);
	/* Each thread opens its own connection: SQLite's locking and our busy
	 * timeout, not our mutex, keep them apart. */
	run_workers(NULL);
}

int fugue_test_register(void)
{
	CU_pSuite open = CU_add_suite("open", NULL, NULL);
	CU_pSuite rec = CU_add_suite_with_setup_and_teardown("records", NULL, NULL, setup,
	                                                     teardown);
	CU_pSuite crash = CU_add_suite("crash", NULL, NULL);
	CU_pSuite conc = CU_add_suite_with_setup_and_teardown("concurrency", NULL, NULL, setup,
	                                                      teardown);

	if (open == NULL || rec == NULL || crash == NULL || conc == NULL)
		return 1;
	/* Quiet the "schema migrated" lines; warnings and errors still show. */
	fugue_log_set_level(FUGUE_LOG_WARN);
	if (!CU_add_test(open, "files are private", test_open_creates_private_files) ||
	    !CU_add_test(open, "open errors", test_open_errors) ||
	    !CU_add_test(open, "migrations", test_migrations) ||
	    !CU_add_test(open, "re-open and future schema", test_real_schema_reopen_and_future) ||
	    !CU_add_test(open, "migration 1 -> 2 keeps data", test_migration_1_to_2) ||
	    !CU_add_test(open, "fid", test_new_fid) ||
	    !CU_add_test(rec, "process defaults", test_process_create_defaults) ||
	    !CU_add_test(rec, "alias uniqueness", test_alias_uniqueness) ||
	    !CU_add_test(rec, "process updates", test_process_updates) ||
	    !CU_add_test(rec, "enum names", test_enum_names) ||
	    !CU_add_test(rec, "resources", test_resources) ||
	    !CU_add_test(rec, "enforcement records", test_enforcement_records) ||
	    !CU_add_test(rec, "process delete", test_process_delete) ||
	    !CU_add_test(rec, "history", test_history) ||
	    !CU_add_test(rec, "journal", test_journal) ||
	    !CU_add_test(rec, "settings", test_settings) ||
	    !CU_add_test(rec, "transactions", test_transactions) ||
	    !CU_add_test(crash, "kill -9 mid-transaction", test_crash_mid_transaction) ||
	    !CU_add_test(crash, "kill -9 during writes", test_crash_during_writes) ||
	    !CU_add_test(conc, "threads, one handle", test_threads_shared_handle) ||
	    !CU_add_test(conc, "threads, own handles", test_threads_own_handles))
		return 1;
	return 0;
}
