/* fugue/log.h - levelled, structured logging for the Conductor and planners.
 *
 * Lines go to stderr ("LEVEL message key=value ...") or, under systemd, to the
 * journal with each field as a journal field (FUGUE_FID=..., AWS_REQUEST_ID=...).
 * Thread-safe. Never pass a credential or a value marked sensitive. */
#ifndef FUGUE_LOG_H
#define FUGUE_LOG_H

#include <stddef.h>
#include "fugue/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Syslog priorities, so the journal sink can pass them through. */
typedef enum fugue_log_level {
	FUGUE_LOG_ERROR = 3,
	FUGUE_LOG_WARN = 4,
	FUGUE_LOG_INFO = 6,
	FUGUE_LOG_DEBUG = 7
} fugue_log_level;

typedef enum fugue_log_sink {
	FUGUE_LOG_SINK_AUTO = 0, /* the journal when JOURNAL_STREAM says stderr is it, else stderr */
	FUGUE_LOG_SINK_STDERR,
	FUGUE_LOG_SINK_JOURNAL
} fugue_log_sink;

/* One structured field. KEY is upper-case ASCII, as journal fields must be
 * (FUGUE_FID, FUGUE_RESOURCE, AWS_SERVICE, AWS_ACTION, AWS_REQUEST_ID, ...).
 * Both strings are borrowed for the call. */
typedef struct fugue_log_field {
	const char *key;
	const char *value;
} fugue_log_field;

FUGUE_API void fugue_log_set_level(fugue_log_level level);
FUGUE_API fugue_log_level fugue_log_get_level(void);
FUGUE_API void fugue_log_set_sink(fugue_log_sink sink);

/* Parses "error", "warn"/"warning", "info" or "debug" (any case).
 * Returns 0, or FUGUE_EINVAL for anything else. */
FUGUE_API int fugue_log_level_parse(fugue_log_level *out, const char *name);
FUGUE_API const char *fugue_log_level_name(fugue_log_level level);

/* Nonzero when a message at LEVEL would be written: test it before building
 * an expensive message. */
FUGUE_API int fugue_log_enabled(fugue_log_level level);

/* Writes one line. FIELDS (may be NULL when NFIELDS is 0) are borrowed. */
FUGUE_API void fugue_log_fields(fugue_log_level level, const fugue_log_field *fields,
                                size_t nfields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define fugue_log(level, ...) fugue_log_fields((level), NULL, 0, __VA_ARGS__)
#define fugue_log_error(...) fugue_log(FUGUE_LOG_ERROR, __VA_ARGS__)
#define fugue_log_warn(...) fugue_log(FUGUE_LOG_WARN, __VA_ARGS__)
#define fugue_log_info(...) fugue_log(FUGUE_LOG_INFO, __VA_ARGS__)
#define fugue_log_debug(...) fugue_log(FUGUE_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
