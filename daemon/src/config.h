/* config.h - conductord's settings: defaults, then the config file
 * (/etc/fugue/conductor.yaml), then the environment (FUGUE_PLANNERS_DIR),
 * then the command-line flags, each overriding the one before.
 *
 * The file is YAML (read with yaml_doc.h, so every error has a position):
 *
 *   state:       {backend: sqlite, directory: /var/lib/fugue}
 *   transport:   {type: unix, socket: /run/fugue/conductor.sock, group: fugue}
 *   planners:    {directory: <libdir>/fugue/planners}
 *   enforcement: {interval: 30, mode: enforce}     # seconds > 0; enforce | report
 *   concurrency: 16                                # 1 .. 1024
 *   region:      us-east-1                         # default: none
 *   logLevel:    info                              # error | warn | info | debug
 *
 * Every key is optional; an empty file means the defaults. Unknown keys
 * (with a did-you-mean), values of the wrong kind and bad values are
 * errors `FILE:LINE:COL: message`, all of them reported in one pass.
 * Relative paths in the file are relative to the file's directory. The
 * full reference is docs/conductor.md. */
#ifndef FUGUE_DAEMON_CONFIG_H
#define FUGUE_DAEMON_CONFIG_H

#include <stddef.h>

#include "compiler.h"
#include "conductor.h"
#include "fugue/log.h"

#define FUGUE_DEFAULT_CONFIG "/etc/fugue/conductor.yaml"
#define FUGUE_DEFAULT_STATE_DIR "/var/lib/fugue"
#define FUGUE_DEFAULT_SOCKET "/run/fugue/conductor.sock"
#define FUGUE_DEFAULT_GROUP "fugue"
#define FUGUE_DEFAULT_ENFORCE_INTERVAL_MS 30000L
#define FUGUE_DEFAULT_CONCURRENCY 16
#define FUGUE_MAX_CONCURRENCY 1024
#define FUGUE_MAX_ENFORCE_INTERVAL_S 86400.0

/* Every string is owned by the struct (fugue_daemon_config_clear frees them). */
typedef struct fugue_daemon_config {
	char *state_backend;      /* "sqlite" (the only backend for now) */
	char *state_dir;
	char *transport;          /* "unix" (the only transport for now) */
	char *socket;
	char *group;              /* the socket's group; NULL: the process's group */
	char *planners_dir;
	long enforce_interval_ms; /* > 0 */
	int report_only;          /* enforcement.mode: report */
	size_t concurrency;       /* 1 .. FUGUE_MAX_CONCURRENCY */
	char *region;             /* NULL: none */
	fugue_log_level log_level;
} fugue_daemon_config;

/* The command line's say; every member borrowed (from argv), NULL when the
 * flag was not given. */
typedef struct fugue_daemon_flags {
	const char *config;           /* --config; NULL: FUGUE_DEFAULT_CONFIG, may be missing */
	const char *socket;           /* --socket */
	const char *state_dir;        /* --state-dir */
	const char *planners_dir;     /* --planners-dir */
	const char *enforce_interval; /* --enforce-interval, seconds */
	const char *log_level;        /* --log-level */
} fugue_daemon_flags;

/* Fills *OUT with the built-in defaults (the planners directory is
 * DEFAULT_PLANNERS_DIR, borrowed). Returns 0 or FUGUE_ENOMEM (*OUT is then
 * cleared). */
int fugue_daemon_config_defaults(fugue_daemon_config *out, const char *default_planners_dir);

/* Applies the settings of the YAML in TEXT (LEN bytes) to CFG; FILE names
 * it in diagnostics and anchors relative paths (its directory). Every
 * problem is appended to DIAGS, sorted by position. Returns 0, FUGUE_EINVAL
 * (DIAGS says why; CFG may be half-applied: parse into a scratch copy) or
 * FUGUE_ENOMEM. */
int fugue_daemon_config_parse(fugue_daemon_config *cfg, fugue_diags *diags, const char *file,
                              const char *text, size_t len);

/* The whole chain: defaults, the file (FLAGS->config, else DEFAULT_CONFIG,
 * normally FUGUE_DEFAULT_CONFIG; a missing file is only an error when named
 * by --config), FUGUE_PLANNERS_DIR from the environment, the flags. On 0
 * *OUT is the caller's (fugue_daemon_config_clear). On FUGUE_EINVAL or
 * FUGUE_EIO (unreadable file) DIAGS says why and *OUT is cleared;
 * FUGUE_ENOMEM. */
int fugue_daemon_config_load(fugue_daemon_config *out, fugue_diags *diags,
                             const fugue_daemon_flags *flags, const char *default_config,
                             const char *default_planners_dir);

/* Frees every string; *CFG is zeroed. */
void fugue_daemon_config_clear(fugue_daemon_config *cfg);

/* Parses a positive number of seconds ("30", "0.5"; at most
 * FUGUE_MAX_ENFORCE_INTERVAL_S, at least 1 ms) into milliseconds. Returns 0
 * or FUGUE_EINVAL. */
int fugue_daemon_parse_interval(long *out_ms, const char *text);

/* The kernel's view of CFG: *OUT borrows CFG's strings (keep CFG alive). */
void fugue_daemon_config_to_conductor(fugue_conductor_config *out, const fugue_daemon_config *cfg);

/* One line describing CFG for the startup log ("state=... socket=..."),
 * into BUF. */
void fugue_daemon_config_describe(const fugue_daemon_config *cfg, char *buf, size_t size);

#endif
