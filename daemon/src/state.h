/* state.h - the Conductor's local state store (SQLite, WAL) in DIR/conductor.db.
 *
 * What is kept: processes, their resources, each process's history, the
 * journal of in-flight mutating AWS calls, and the runtime settings. See
 * docs/state.md for the schema, the migration rule and crash recovery.
 *
 * Threads: one fugue_state handle holds one SQLite connection guarded by a
 * recursive mutex, so any thread may call any function. A transaction
 * (fugue_state_tx_begin) keeps the mutex until its commit or rollback, which
 * must come from the same thread; other threads wait for it, they never see
 * SQLITE_BUSY. Several handles (or processes) on one directory also work:
 * writers take the lock up front (BEGIN IMMEDIATE) and wait up to the busy
 * timeout.
 *
 * Times are UTC milliseconds since the Unix epoch (int64_t).
 *
 * Errors: every function returns 0 or a negative fugue_result:
 *   FUGUE_ENOTFOUND  unknown FID, alias, resource, journal entry or setting
 *   FUGUE_ECONFLICT  duplicate (alias in use, entry already ended, ...)
 *   FUGUE_EINVAL     bad argument (invalid JSON, empty name, ...)
 *   FUGUE_ENOMEM     allocation failed
 *   FUGUE_ECONFIG    the database's schema is newer than this code
 *   FUGUE_EIO        anything else SQLite reports
 * with a one-line reason (SQLite's message for FUGUE_EIO) in the optional
 * per-call DIAG. Nothing here aborts the process.
 *
 * SECRETS: a process's source and compiled form are kept as declared (the
 * Conductor must be able to re-create a resource after a restart, password
 * and all), which is why DIR is 0700 and the file 0600, like Terraform's
 * state. Everything else written through this API - resource records,
 * history, journal, settings - must be redacted by the caller already
 * (fugue_redact: digests in records, masks in history); those are what
 * status, history and --json show. The store writes what it is given. */
#ifndef FUGUE_STATE_H
#define FUGUE_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fugue/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fugue_state fugue_state;

/* The schema version this code writes (PRAGMA user_version). */
#define FUGUE_STATE_SCHEMA_VERSION 2

/* A FID is a lower-case UUIDv4, 36 characters; with its NUL, 37 bytes. */
#define FUGUE_FID_SIZE 37

/* "No uid": the Conductor itself asked (stored as NULL). */
#define FUGUE_STATE_NO_UID ((uid_t)-1)

/* Per-call diagnostics, filled on failure. May be NULL everywhere. */
typedef struct fugue_state_diag {
	char message[512];
} fugue_state_diag;

/* ---- opening ------------------------------------------------------------ */

/* Opens (creating when needed) DIR/conductor.db: DIR is made with mode 0700
 * when missing, the file with mode 0600; the schema is brought to
 * FUGUE_STATE_SCHEMA_VERSION, one migration a transaction. *OUT is the
 * caller's, closed with fugue_state_close. FUGUE_ECONFIG when the file's
 * schema is newer than this code (it is then left untouched). */
int fugue_state_open(fugue_state **out, const char *dir, fugue_state_diag *diag);

/* As fugue_state_open with another list of migrations: MIGRATIONS[i] takes
 * the schema from version i to i+1. For tests of the migration machinery. */
int fugue_state_open_migrations(fugue_state **out, const char *dir,
                                const char *const *migrations, size_t count,
                                fugue_state_diag *diag);

/* The real list of migrations (static), FUGUE_STATE_SCHEMA_VERSION of them
 * in *COUNT: with fugue_state_open_migrations and a smaller count, a test
 * makes a database of an older version and checks that migrating it keeps
 * its data. */
const char *const *fugue_state_migrations(size_t *count);

/* Rolls back a transaction left open, closes and frees. NULL is a no-op. */
void fugue_state_close(fugue_state *st);

/* The schema version of the open database. */
int fugue_state_schema_version(fugue_state *st);

/* A new random FID (UUIDv4 from getrandom) in OUT. 0 or FUGUE_EIO. */
int fugue_state_new_fid(char out[FUGUE_FID_SIZE]);

/* ---- transactions ------------------------------------------------------- */

/* Starts a transaction (BEGIN IMMEDIATE; a savepoint when nested). Until the
 * matching commit or rollback, made by the same thread, the handle belongs to
 * this thread. */
int fugue_state_tx_begin(fugue_state *st, fugue_state_diag *diag);
/* Commits (releases, when nested). On failure the transaction is rolled
 * back and the error returned; either way it is over. */
int fugue_state_tx_commit(fugue_state *st, fugue_state_diag *diag);
/* Rolls back the innermost transaction. */
int fugue_state_tx_rollback(fugue_state *st, fugue_state_diag *diag);

/* Runs FN(ST, PAYLOAD) in a transaction: committed when FN returns 0, rolled
 * back otherwise (FN's code is then returned). */
int fugue_state_atomic(fugue_state *st, fugue_state_diag *diag,
                       int (*fn)(fugue_state *st, void *payload), void *payload);

/* ---- processes ---------------------------------------------------------- */

typedef enum fugue_process_state {
	FUGUE_PROCESS_RUNNING,
	FUGUE_PROCESS_SUSPENDED,
	FUGUE_PROCESS_KILLING,
	FUGUE_PROCESS_FAILED,
	FUGUE_PROCESS_RELEASED
} fugue_process_state;

/* "Running", ...; static. */
const char *fugue_process_state_name(fugue_process_state s);
/* FUGUE_EINVAL for an unknown name (case-sensitive, as stored). */
int fugue_process_state_parse(fugue_process_state *out, const char *name);

/* A process as stored. Strings are owned by the struct (NULL where absent)
 * and freed by fugue_state_process_clear. */
typedef struct fugue_state_process {
	char fid[FUGUE_FID_SIZE];
	char *alias;               /* NULL: none */
	fugue_process_state state;
	char *source;              /* composition text, as declared (see SECRETS above) */
	char *source_name;         /* the file it came from; NULL when unknown */
	char *compiled;            /* compiled form, JSON text; NULL before compiling */
	int lock;                  /* 1: every command for it is refused */
	int enforcement;           /* 0: drift is recorded, not corrected */
	int64_t created_ms;
	int64_t updated_ms;
	char *message;             /* last message ("SUCCEEDED", "FAILED: ..."); NULL: none */
	uid_t owner_uid;
	/* The last enforcement pass (schema 2), written only by
	 * fugue_state_process_set_enforced. */
	int64_t last_enforced_ms;  /* 0: never */
	long drift;                /* resources with drift left uncorrected */
} fugue_state_process;

void fugue_state_process_clear(fugue_state_process *p);
/* Clears COUNT processes and frees the array. */
void fugue_state_process_list_free(fugue_state_process *list, size_t count);

/* What a new process is made of; all borrowed for the call. */
typedef struct fugue_state_process_spec {
	const char *alias;         /* NULL: none; must not look like a FID */
	const char *source;        /* required */
	const char *source_name;   /* may be NULL */
	const char *compiled;      /* JSON text or NULL */
	const char *message;       /* may be NULL */
	uid_t owner_uid;
} fugue_state_process_spec;

/* Creates a process in state Running with lock off and enforcement on, and
 * writes its new FID into OUT. FUGUE_ECONFLICT when the alias is taken. */
int fugue_state_process_create(char out[FUGUE_FID_SIZE], fugue_state *st,
                               const fugue_state_process_spec *spec,
                               fugue_state_diag *diag);

/* The FID of REF, which is a FID or an alias. FUGUE_ENOTFOUND when neither. */
int fugue_state_resolve(char out[FUGUE_FID_SIZE], fugue_state *st, const char *ref,
                        fugue_state_diag *diag);

/* Reads the process REF (FID or alias) into OUT (cleared by the caller with
 * fugue_state_process_clear; untouched on error). */
int fugue_state_process_get(fugue_state_process *out, fugue_state *st, const char *ref,
                            fugue_state_diag *diag);

/* Every process, in creation order, in *OUT (the caller's: free it with
 * fugue_state_process_list_free) and *COUNT. */
int fugue_state_process_list(fugue_state_process **out, size_t *count, fugue_state *st,
                             fugue_state_diag *diag);

/* The following take the exact FID (resolve aliases first) and bump
 * updated_ms. FUGUE_ENOTFOUND for an unknown FID. */

/* Renames; ALIAS NULL removes the alias. FUGUE_ECONFLICT when taken. */
int fugue_state_process_set_alias(fugue_state *st, const char *fid, const char *alias,
                                  fugue_state_diag *diag);
/* Changes the state; MESSAGE (may be NULL: kept) becomes the last message. */
int fugue_state_process_set_state(fugue_state *st, const char *fid, fugue_process_state state,
                                  const char *message, fugue_state_diag *diag);
/* Sets the last message (NULL clears it). */
int fugue_state_process_set_message(fugue_state *st, const char *fid, const char *message,
                                    fugue_state_diag *diag);
/* Properties: ON is 0 or 1. */
int fugue_state_process_set_lock(fugue_state *st, const char *fid, int on,
                                 fugue_state_diag *diag);
int fugue_state_process_set_enforcement(fugue_state *st, const char *fid, int on,
                                        fugue_state_diag *diag);
/* Replaces the declaration (fugue update). SOURCE required; others may be NULL. */
int fugue_state_process_set_source(fugue_state *st, const char *fid, const char *source,
                                   const char *source_name, const char *compiled,
                                   fugue_state_diag *diag);

/* Records an enforcement pass: when it ran (WHEN_MS) and how many of the
 * process's resources it left drifted (DRIFT >= 0). Does not bump
 * updated_ms: a pass every few seconds is not a change of the process. */
int fugue_state_process_set_enforced(fugue_state *st, const char *fid, int64_t when_ms,
                                     long drift, fugue_state_diag *diag);

/* Deletes the process and its resources, and its finished journal entries
 * (the end of kill and release). Its history stays. FUGUE_ECONFLICT while
 * the journal still has entries of it in flight. */
int fugue_state_process_delete(fugue_state *st, const char *fid, fugue_state_diag *diag);

/* ---- resources ---------------------------------------------------------- */

typedef enum fugue_resource_status {
	FUGUE_RESOURCE_PENDING,
	FUGUE_RESOURCE_CREATING,
	FUGUE_RESOURCE_READY,
	FUGUE_RESOURCE_UPDATING,
	FUGUE_RESOURCE_DELETING,
	FUGUE_RESOURCE_DELETED,
	FUGUE_RESOURCE_FAILED,
	FUGUE_RESOURCE_UNKNOWN
} fugue_resource_status;

const char *fugue_resource_status_name(fugue_resource_status s);
int fugue_resource_status_parse(fugue_resource_status *out, const char *name);

/* A resource of a process. Strings are owned by the struct (NULL where
 * absent) and freed by fugue_state_resource_clear. */
typedef struct fugue_state_resource {
	char fid[FUGUE_FID_SIZE];
	char *name;                /* the composition's name for it */
	char *type;                /* "AWS.VPC.Subnet" */
	char *aws_id;              /* NULL until known */
	fugue_resource_status status;
	char *declared;            /* declared properties, JSON (redacted) */
	char *observed;            /* last observed state, JSON (redacted) */
	char *error_code;          /* last error; all three NULL when none */
	char *error_message;
	char *error_request_id;
	char *attributes;          /* computed attributes, JSON */
	int64_t updated_ms;        /* set by the store */
	char *client_token;        /* read only here: see fugue_state_resource_token */
	/* Schema 2. When it was last observed (found or found gone); 0: never.
	 * fugue_state_resource_put writes it when nonzero, else keeps it. */
	int64_t last_observed_ms;
	/* Schema 2. The drift the last enforcement pass found and left, JSON
	 * [{"property", "declared", "actual", "action", "reason"}] (masked
	 * like history); NULL: none. Read only here: see
	 * fugue_state_resource_set_drift. */
	char *drift;
} fugue_state_resource;

void fugue_state_resource_clear(fugue_state_resource *r);
void fugue_state_resource_list_free(fugue_state_resource *list, size_t count);

/* Inserts or replaces the resource (R->fid, R->name) of an existing process
 * with every field of R (borrowed), except updated_ms (now), client_token
 * and drift (kept as stored) and last_observed_ms (kept when 0).
 * FUGUE_ENOTFOUND when the process does not exist; FUGUE_EINVAL for JSON
 * that does not parse. */
int fugue_state_resource_put(fugue_state *st, const fugue_state_resource *r,
                             fugue_state_diag *diag);

int fugue_state_resource_get(fugue_state_resource *out, fugue_state *st, const char *fid,
                             const char *name, fugue_state_diag *diag);

/* The resources of FID, by name, in *OUT (free with
 * fugue_state_resource_list_free). An unknown FID gives an empty list. */
int fugue_state_resource_list(fugue_state_resource **out, size_t *count, fugue_state *st,
                              const char *fid, fugue_state_diag *diag);

/* Sets the resource's drift: DRIFT is a JSON array (redacted), or NULL
 * when it has none. Does not bump updated_ms. FUGUE_EINVAL for JSON that
 * does not parse, FUGUE_ENOTFOUND for an unknown resource. */
int fugue_state_resource_set_drift(fugue_state *st, const char *fid, const char *name,
                                   const char *drift, fugue_state_diag *diag);

/* Removes one resource record (it left the declaration). */
int fugue_state_resource_delete(fugue_state *st, const char *fid, const char *name,
                                fugue_state_diag *diag);

/* The client token for creating the resource: generated and stored on the
 * first call, then the same one every time (so a create retried after a
 * crash is recognised by AWS), until fugue_state_resource_token_reset. */
int fugue_state_resource_token(char out[FUGUE_FID_SIZE], fugue_state *st, const char *fid,
                               const char *name, fugue_state_diag *diag);
/* Forgets the token: call when the resource is gone, so that a later
 * re-creation (a replacement) is a new request. */
int fugue_state_resource_token_reset(fugue_state *st, const char *fid, const char *name,
                                     fugue_state_diag *diag);

/* ---- history ------------------------------------------------------------ */

typedef enum fugue_history_kind {
	FUGUE_HISTORY_RUN,
	FUGUE_HISTORY_UPDATE,
	FUGUE_HISTORY_ENFORCE,
	FUGUE_HISTORY_DRIFT,
	FUGUE_HISTORY_SUSPEND,
	FUGUE_HISTORY_RESUME,
	FUGUE_HISTORY_KILL,
	FUGUE_HISTORY_RELEASE,
	FUGUE_HISTORY_PROPERTY,
	FUGUE_HISTORY_ERROR
} fugue_history_kind;

const char *fugue_history_kind_name(fugue_history_kind k);
int fugue_history_kind_parse(fugue_history_kind *out, const char *name);

/* One history entry; strings owned, freed by fugue_state_history_clear. */
typedef struct fugue_state_history {
	int64_t id;
	char fid[FUGUE_FID_SIZE];
	int64_t time_ms;
	fugue_history_kind kind;
	uid_t uid;                 /* FUGUE_STATE_NO_UID: the Conductor */
	char *summary;
	char *details;             /* JSON or NULL */
} fugue_state_history;

void fugue_state_history_clear(fugue_state_history *h);
void fugue_state_history_list_free(fugue_state_history *list, size_t count);

/* Appends an entry for FID (which need not exist any more: history outlives
 * its process). UID is who asked, FUGUE_STATE_NO_UID for the Conductor.
 * SUMMARY and DETAILS (JSON, e.g. drift items {resource, property,
 * declared, actual, action}; may be NULL) must be redacted already: this
 * store never sees secrets. *OUT_ID (may be NULL) gets the entry's id. */
int fugue_state_history_append(int64_t *out_id, fugue_state *st, const char *fid,
                               fugue_history_kind kind, uid_t uid, const char *summary,
                               const char *details, fugue_state_diag *diag);

/* Entries of FID (NULL: of every process), newest first, skipping OFFSET
 * and returning at most LIMIT (0: no limit), in *OUT (free with
 * fugue_state_history_list_free). */
int fugue_state_history_list(fugue_state_history **out, size_t *count, fugue_state *st,
                             const char *fid, size_t limit, size_t offset,
                             fugue_state_diag *diag);

/* ---- journal of mutating AWS calls ------------------------------------- */

typedef enum fugue_journal_action {
	FUGUE_JOURNAL_CREATE,
	FUGUE_JOURNAL_UPDATE,
	FUGUE_JOURNAL_DELETE
} fugue_journal_action;

const char *fugue_journal_action_name(fugue_journal_action a);

typedef struct fugue_state_journal {
	int64_t id;
	char fid[FUGUE_FID_SIZE];
	char *resource;
	fugue_journal_action action;
	int64_t started_ms;
	int64_t finished_ms;       /* 0 while in flight */
	char *result;              /* NULL in flight; "ok" or an error code */
	char *aws_id;              /* NULL unless learned */
} fugue_state_journal;

void fugue_state_journal_clear(fugue_state_journal *j);
void fugue_state_journal_list_free(fugue_state_journal *list, size_t count);

/* Records, durably, that ACTION on RESOURCE of FID is about to be sent to
 * AWS. Call it BEFORE the call; *OUT_ID names the entry for _end. AWS_ID
 * (may be NULL) is known for update and delete. */
int fugue_state_journal_begin(int64_t *out_id, fugue_state *st, const char *fid,
                              const char *resource, fugue_journal_action action,
                              const char *aws_id, fugue_state_diag *diag);

/* Records the outcome: RESULT "ok" or the error code ("unknown" when the
 * Conductor stops without an answer); AWS_ID (may be NULL: kept) when
 * learned. FUGUE_ENOTFOUND for an unknown id, FUGUE_ECONFLICT if ended. */
int fugue_state_journal_end(fugue_state *st, int64_t id, const char *result,
                            const char *aws_id, fugue_state_diag *diag);

/* Entries begun and never ended, oldest first: what a restart must resolve
 * by observing AWS (by tags and client token). Free with
 * fugue_state_journal_list_free. */
int fugue_state_journal_open_entries(fugue_state_journal **out, size_t *count,
                                     fugue_state *st, fugue_state_diag *diag);

/* Deletes finished entries that finished before BEFORE_MS; *OUT_DELETED (may
 * be NULL) gets how many. Entries in flight are never pruned. */
int fugue_state_journal_prune(size_t *out_deleted, fugue_state *st, int64_t before_ms,
                              fugue_state_diag *diag);

/* ---- runtime settings --------------------------------------------------- */

typedef struct fugue_state_setting {
	char *key;
	char *value;
} fugue_state_setting;

void fugue_state_setting_list_free(fugue_state_setting *list, size_t count);

/* *OUT is a malloc'd copy (the caller frees it). FUGUE_ENOTFOUND when unset. */
int fugue_state_setting_get(char **out, fugue_state *st, const char *key,
                            fugue_state_diag *diag);
int fugue_state_setting_set(fugue_state *st, const char *key, const char *value,
                            fugue_state_diag *diag);
/* FUGUE_ENOTFOUND when it was not set. */
int fugue_state_setting_unset(fugue_state *st, const char *key, fugue_state_diag *diag);
/* Every setting, by key. */
int fugue_state_setting_list(fugue_state_setting **out, size_t *count, fugue_state *st,
                             fugue_state_diag *diag);

#ifdef __cplusplus
}
#endif
#endif
