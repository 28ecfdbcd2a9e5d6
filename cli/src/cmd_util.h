/* cmd_util.h - small helpers the process commands share (cmd_run.c,
 * cmd_status.c, cmd_process.c, cmd_settings.c, watch.c):
 * one-shot requests, option checks, AWS errors as text (and, through
 * json_get.h, reading the Conductor's JSON answers).
 *
 * Everything here is static inline. */
#ifndef FUGUE_CLI_CMD_UTIL_H
#define FUGUE_CLI_CMD_UTIL_H

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "json_get.h"

/* "Code: message (request id R)" of an AWS error, without saying the code
 * twice when the message already holds it; "failed" when all are NULL.
 * Writes BUF and returns it. */
static inline const char *fugue_cli_describe_error(char *buf, size_t size, const char *code,
                                                   const char *message, const char *request_id)
{
	size_t len = 0;

	buf[0] = '\0';
	if (code && (!message || !strstr(message, code)))
		len = (size_t)snprintf(buf, size, "%s%s", code, message ? ": " : "");
	if (message && len < size)
		len += (size_t)snprintf(buf + len, size - len, "%s", message);
	if (request_id && len < size)
		snprintf(buf + len, size - len, " (request id %s)", request_id);
	if (!buf[0])
		snprintf(buf, size, "failed");
	return buf;
}

/* Makes one request; when its answer is ok, stores it in *FINAL (the
 * caller's, json_object_put) and returns -1; else prints the error (or the
 * unreachable Conductor), leaves *FINAL NULL and returns the exit code. */
static inline int fugue_cli_call_ok(const fugue_cli *cli, const char *command,
                                    const struct json_object *args, struct json_object **final)
{
	int rc = fugue_cli_call(cli, command, args, NULL, NULL, final);

	if (rc != 0) {
		json_object_put(*final);
		*final = NULL;
		return rc;
	}
	if (!fugue_cli_result(*final)) {
		rc = fugue_cli_report_error(cli, *final);
		json_object_put(*final);
		*final = NULL;
		return rc;
	}
	return -1;
}

/* Checks that the positional arguments ARGV[OPTIND..ARGC) are WANT in
 * number: returns -1 when they are, else the usage error "missing WHAT" or
 * "unexpected argument 'X'" (the first one too many). */
static inline int fugue_cli_positionals(const fugue_cli *cli, int argc, char **argv, int want,
                                        const char *what)
{
	int have = argc - optind;

	if (have < want)
		return fugue_cli_usage_error(cli, argv[0], "missing %s", what);
	if (have > want)
		return fugue_cli_usage_error(cli, argv[0], "unexpected argument '%s'",
		                             argv[optind + want]);
	return -1;
}

/* Returns -1 when ARGV has no options (--help is main.c's), else the exit
 * code of the usage error. */
static inline int fugue_cli_no_options(const fugue_cli *cli, int argc, char **argv)
{
	static const struct option longs[] = { { NULL, 0, NULL, 0 } };
	int c;

	optind = 0;
	opterr = 0;
	c = getopt_long(argc, argv, ":", longs, NULL);
	if (c != -1)
		return fugue_cli_bad_option(cli, argv[0], c, argc, argv);
	return -1;
}

#endif
