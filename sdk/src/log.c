/* log.c - levelled, structured logging to stderr or the systemd journal. */
#include "fugue/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>
#include <time.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "buf.h"

#define LOG_MAX_FIELDS 16

static _Atomic int log_level = FUGUE_LOG_INFO;
static _Atomic int log_sink = FUGUE_LOG_SINK_AUTO;

void fugue_log_set_level(fugue_log_level level)
{
	atomic_store(&log_level, (int)level);
}

fugue_log_level fugue_log_get_level(void)
{
	return (fugue_log_level)atomic_load(&log_level);
}

void fugue_log_set_sink(fugue_log_sink sink)
{
	atomic_store(&log_sink, (int)sink);
}

int fugue_log_enabled(fugue_log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

int fugue_log_level_parse(fugue_log_level *out, const char *name)
{
	static const struct {
		const char *name;
		fugue_log_level level;
	} names[] = {
		{ "error", FUGUE_LOG_ERROR }, { "warn", FUGUE_LOG_WARN },
		{ "warning", FUGUE_LOG_WARN }, { "info", FUGUE_LOG_INFO },
		{ "debug", FUGUE_LOG_DEBUG },
	};
	size_t i;

	for (i = 0; name && i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(name, names[i].name) == 0) {
			*out = names[i].level;
			return 0;
		}
	}
	return FUGUE_EINVAL;
}

const char *fugue_log_level_name(fugue_log_level level)
{
	switch (level) {
	case FUGUE_LOG_ERROR:
		return "error";
	case FUGUE_LOG_WARN:
		return "warn";
	case FUGUE_LOG_INFO:
		return "info";
	case FUGUE_LOG_DEBUG:
		return "debug";
	}
	return "info";
}

/* systemd sets JOURNAL_STREAM when stderr is connected to the journal. */
static int use_journal(void)
{
	int sink = atomic_load(&log_sink);

	if (sink == FUGUE_LOG_SINK_AUTO)
		return getenv("JOURNAL_STREAM") != NULL;
	return sink == FUGUE_LOG_SINK_JOURNAL;
}

static void write_journal(fugue_log_level level, const fugue_log_field *fields, size_t nfields,
                          const char *message)
{
	struct iovec iov[LOG_MAX_FIELDS + 2];
	fugue_buf parts[LOG_MAX_FIELDS + 2];
	size_t n = 0;
	size_t i;

	memset(parts, 0, sizeof(parts));
	fugue_buf_printf(&parts[n++], "PRIORITY=%d", (int)level);
	fugue_buf_printf(&parts[n++], "MESSAGE=%s", message);
	for (i = 0; i < nfields && i < LOG_MAX_FIELDS; i++) {
		if (fields[i].key && fields[i].value)
			fugue_buf_printf(&parts[n++], "%s=%s", fields[i].key, fields[i].value);
	}
	for (i = 0; i < n; i++) {
		iov[i].iov_base = parts[i].data ? parts[i].data : (char *)"";
		iov[i].iov_len = parts[i].len;
	}
	sd_journal_sendv(iov, (int)n);
	for (i = 0; i < n; i++)
		fugue_buf_free(&parts[i]);
}

/* Values with spaces or quotes are quoted so a line stays machine-readable. */
static void put_field_value(fugue_buf *b, const char *value)
{
	const char *p;

	if (*value && !strpbrk(value, " \t\"=")) {
		fugue_buf_puts(b, value);
		return;
	}
	fugue_buf_putc(b, '"');
	for (p = value; *p; p++) {
		if (*p == '"' || *p == '\\')
			fugue_buf_putc(b, '\\');
		fugue_buf_putc(b, *p);
	}
	fugue_buf_putc(b, '"');
}

static void write_stderr(fugue_log_level level, const fugue_log_field *fields, size_t nfields,
                         const char *message)
{
	fugue_buf line = FUGUE_BUF_INIT;
	struct timespec ts;
	struct tm tm;
	char stamp[32];
	size_t i;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fugue_buf_printf(&line, "%s.%03ldZ %-5s %s", stamp, ts.tv_nsec / 1000000L,
	                 fugue_log_level_name(level), message);
	for (i = 0; i < nfields; i++) {
		if (!fields[i].key || !fields[i].value)
			continue;
		fugue_buf_printf(&line, " %s=", fields[i].key);
		put_field_value(&line, fields[i].value);
	}
	fugue_buf_putc(&line, '\n');
	if (line.data)
		fwrite(line.data, 1, line.len, stderr);
	fugue_buf_free(&line);
}

void fugue_log_fields(fugue_log_level level, const fugue_log_field *fields, size_t nfields,
                      const char *fmt, ...)
{
	fugue_buf message = FUGUE_BUF_INIT;
	va_list ap;

	if (!fugue_log_enabled(level))
		return;
	va_start(ap, fmt);
	fugue_buf_vprintf(&message, fmt, ap);
	va_end(ap);
	if (!message.data) {
		fugue_buf_free(&message);
		return;
	}
	if (use_journal())
		write_journal(level, fields, nfields, message.data);
	else
		write_stderr(level, fields, nfields, message.data);
	fugue_buf_free(&message);
}
