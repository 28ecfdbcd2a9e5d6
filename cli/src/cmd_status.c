/* cmd_status.c - `fugue status [PROCESS]` and `fugue history PROCESS`. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cli.h"
#include "cmd_util.h"

#define TIME_SIZE 64

static fugue_cli_color state_color(const char *state)
{
	if (!state)
		return FUGUE_COLOR_NONE;
	if (strcmp(state, "Running") == 0)
		return FUGUE_COLOR_GREEN;
	if (strcmp(state, "Failed") == 0)
		return FUGUE_COLOR_RED;
	return FUGUE_COLOR_YELLOW;
}

static fugue_cli_color status_color(const char *status)
{
	if (!status)
		return FUGUE_COLOR_NONE;
	if (strcmp(status, "Ready") == 0)
		return FUGUE_COLOR_GREEN;
	if (strcmp(status, "Failed") == 0 || strcmp(status, "Deleted") == 0 ||
	    strcmp(status, "Unknown") == 0)
		return FUGUE_COLOR_RED;
	return FUGUE_COLOR_YELLOW;
}

/* "l" lock on, "e" enforcement on, "-" otherwise: "-e". */
static const char *flags(char buf[3], const struct json_object *p)
{
	buf[0] = fugue_j_bool(p, "lock", 0) ? 'l' : '-';
	buf[1] = fugue_j_bool(p, "enforcement", 0) ? 'e' : '-';
	buf[2] = '\0';
	return buf;
}

/* "FID/alias", or the FID alone. */
static const char *fid_alias(char *buf, size_t size, const struct json_object *p)
{
	const char *alias = fugue_j_str(p, "alias");

	snprintf(buf, size, "%s%s%s", fugue_j_str(p, "fid") ? fugue_j_str(p, "fid") : "?",
	         alias ? "/" : "", alias ? alias : "");
	return buf;
}

/* --- status (all processes) ---------------------------------------------------------- */

static const char *const state_order[] = { "Running", "Failed", "Suspended", "Killing", NULL };

/* The position of STATE in the listing (unknown states last). */
static size_t state_rank(const char *state)
{
	size_t i;

	for (i = 0; state_order[i]; i++) {
		if (state && strcmp(state, state_order[i]) == 0)
			return i;
	}
	return i; /* unknown states (and NULL) sort last */
}

static void add_process_row(const fugue_cli *cli, fugue_table *t, const struct json_object *p)
{
	const struct json_object *counts = fugue_j_get(p, "resources");
	char updated[TIME_SIZE];
	char created[TIME_SIZE];
	char enforced[TIME_SIZE];
	char id[160];
	char fl[3];
	char res[48];
	char drift[24];
	const char *cells[9];
	fugue_cli_color colors[9] = { state_color(fugue_j_str(p, "state")) };
	long ndrift = (long)fugue_j_int(p, "drift", 0);

	(void)cli;
	snprintf(res, sizeof(res), "%lld/%lld", (long long)fugue_j_int(counts, "ready", 0),
	         (long long)fugue_j_int(counts, "total", 0));
	snprintf(drift, sizeof(drift), "%ld", ndrift);
	if (ndrift > 0)
		colors[6] = FUGUE_COLOR_YELLOW;
	cells[0] = fugue_j_str(p, "state");
	cells[1] = fugue_cli_time(updated, sizeof(updated), fugue_j_str(p, "updated"));
	cells[2] = fugue_cli_time(created, sizeof(created), fugue_j_str(p, "created"));
	cells[3] = fid_alias(id, sizeof(id), p);
	cells[4] = flags(fl, p);
	cells[5] = res;
	cells[6] = drift;
	cells[7] = fugue_cli_time(enforced, sizeof(enforced), fugue_j_str(p, "lastEnforced"));
	cells[8] = fugue_j_str(p, "message");
	fugue_table_add(t, cells, colors);
}

static void print_processes(const fugue_cli *cli, const struct json_object *result)
{
	static const char *const headers[] = { "STATE",     "UPDATED", "CREATED",
		                               "FID/ALIAS", "FLAGS",   "RESOURCES",
		                               "DRIFT",     "LAST ENFORCED", "MESSAGE" };
	struct json_object *list = fugue_j_array(result, "processes");
	size_t n = fugue_j_len(list);
	fugue_table *t;
	size_t rank;
	size_t i;

	if (n == 0) {
		printf("No processes. Start one with `fugue run FILE`.\n");
		return;
	}
	t = fugue_table_new(9, headers);
	if (!t)
		return;
	/* Grouped by state, in creation order within a group. */
	for (rank = 0; rank <= state_rank(NULL); rank++) {
		for (i = 0; i < n; i++) {
			const struct json_object *p = fugue_j_at(list, i);

			if (state_rank(fugue_j_str(p, "state")) == rank)
				add_process_row(cli, t, p);
		}
	}
	fugue_table_print(cli, t, stdout);
	fugue_table_free(t);
}

/* --- status PROCESS ---------------------------------------------------------------- */

/* The drifted property names of a resource ("cidr, name"; "(gone)" for the
 * resource itself), or NULL when none. Writes BUF. */
static const char *drift_names(char *buf, size_t size, const struct json_object *r)
{
	struct json_object *drift = fugue_j_array(r, "drift");
	size_t len = 0;
	size_t i;

	buf[0] = '\0';
	for (i = 0; i < fugue_j_len(drift) && len < size; i++) {
		const struct json_object *d = fugue_j_at(drift, i);
		const char *name;

		if (json_object_is_type(fugue_j_unconst(d), json_type_string))
			name = json_object_get_string(fugue_j_unconst(d));
		else
			name = fugue_j_str(d, "property");
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
		                        name ? name : "(gone)");
	}
	return buf[0] ? buf : NULL;
}

static void print_header(const fugue_cli *cli, const struct json_object *p)
{
	const struct json_object *counts = fugue_j_get(p, "counts");
	const char *alias = fugue_j_str(p, "alias");
	const char *state = fugue_j_str(p, "state");
	const char *fid = fugue_j_str(p, "fid");
	char t[TIME_SIZE];

	if (!fid)
		fid = "?";
	printf("%sprocess %s%s (%s)\n", fugue_cli_color_on(cli, FUGUE_COLOR_BOLD),
	       alias ? alias : fid, fugue_cli_reset(cli), fid);
	printf("  state          %s%s%s\n", fugue_cli_color_on(cli, state_color(state)),
	       state ? state : "-", fugue_cli_reset(cli));
	printf("  message        %s\n",
	       fugue_j_str(p, "message") ? fugue_j_str(p, "message") : "-");
	printf("  source         %s\n",
	       fugue_j_str(p, "sourceName") ? fugue_j_str(p, "sourceName") : "-");
	printf("  lock           %s\n", fugue_j_bool(p, "lock", 0) ? "on" : "off");
	printf("  enforcement    %s\n", fugue_j_bool(p, "enforcement", 0) ? "on" : "off");
	printf("  created        %s\n", fugue_cli_time(t, sizeof(t), fugue_j_str(p, "created")));
	printf("  updated        %s\n", fugue_cli_time(t, sizeof(t), fugue_j_str(p, "updated")));
	printf("  resources      %lld/%lld ready\n", (long long)fugue_j_int(counts, "ready", 0),
	       (long long)fugue_j_int(counts, "total", 0));
	printf("  drift          %lld\n", (long long)fugue_j_int(p, "drift", 0));
	printf("  last enforced  %s\n",
	       fugue_cli_time(t, sizeof(t), fugue_j_str(p, "lastEnforced")));
}

/* A resource's last error, or NULL. */
static const char *last_error(char *buf, size_t size, const struct json_object *r)
{
	const char *code = fugue_j_str(r, "errorCode");
	const char *message = fugue_j_str(r, "error");

	if (!code && !message)
		return NULL;
	return fugue_cli_describe_error(buf, size, code, message, fugue_j_str(r, "requestId"));
}

static void print_process(const fugue_cli *cli, const struct json_object *p)
{
	static const char *const headers[] = { "NAME", "TYPE", "AWS ID", "STATUS", "DRIFT" };
	struct json_object *list = fugue_j_array(p, "resources");
	size_t n = fugue_j_len(list);
	int errors = 0;
	fugue_table *t;
	size_t i;

	print_header(cli, p);
	if (n == 0) {
		printf("\nNo resources.\n");
		return;
	}
	t = fugue_table_new(5, headers);
	if (!t)
		return;
	for (i = 0; i < n; i++) {
		const struct json_object *r = fugue_j_at(list, i);
		const char *status = fugue_j_str(r, "status");
		char drift[512];
		const char *cells[5];
		fugue_cli_color colors[5] = { FUGUE_COLOR_NONE };

		cells[0] = fugue_j_str(r, "name");
		cells[1] = fugue_j_str(r, "type");
		cells[2] = fugue_j_str(r, "id");
		cells[3] = status;
		cells[4] = drift_names(drift, sizeof(drift), r);
		colors[3] = status_color(status);
		colors[4] = cells[4] ? FUGUE_COLOR_YELLOW : FUGUE_COLOR_NONE;
		errors += fugue_j_str(r, "error") || fugue_j_str(r, "errorCode");
		fugue_table_add(t, cells, colors);
	}
	fputc('\n', stdout);
	fugue_table_print(cli, t, stdout);
	fugue_table_free(t);
	if (!errors)
		return;
	printf("\nLast errors:\n");
	for (i = 0; i < n; i++) {
		const struct json_object *r = fugue_j_at(list, i);
		char why[1024];

		if (last_error(why, sizeof(why), r))
			printf("  %s%s%s: %s\n", fugue_cli_color_on(cli, FUGUE_COLOR_RED),
			       fugue_j_str(r, "name"), fugue_cli_reset(cli), why);
	}
}

int fugue_cmd_status(const fugue_cli *cli, int argc, char **argv)
{
	struct json_object *args = NULL;
	struct json_object *final = NULL;
	const struct json_object *result;
	int rc = fugue_cli_no_options(cli, argc, argv);

	if (rc >= 0)
		return rc;
	if (argc - optind > 1)
		return fugue_cli_usage_error(cli, argv[0], "too many arguments");
	if (argc - optind == 1) {
		args = json_object_new_object();
		fugue_j_put(args, "process", json_object_new_string(argv[optind]));
	}
	rc = fugue_cli_call_ok(cli, "status", args, &final);
	json_object_put(args);
	if (rc >= 0)
		return rc;
	result = fugue_cli_result(final);
	if (cli->json)
		fugue_cli_print_json(cli, result);
	else if (fugue_j_array(result, "processes"))
		print_processes(cli, result);
	else
		print_process(cli, result);
	json_object_put(final);
	return FUGUE_EXIT_OK;
}

/* --- history ----------------------------------------------------------------------- */

/* The user name of UID (the number when it has none), "conductor" for
 * entries the Conductor made itself (null). */
static const char *who(char *buf, size_t size, const struct json_object *entry)
{
	struct json_object *v = fugue_j_get(entry, "uid");
	struct passwd pw;
	struct passwd *found = NULL;
	char scratch[4096];
	uid_t uid;

	if (!v || !json_object_is_type(v, json_type_int))
		return "conductor";
	uid = (uid_t)json_object_get_int64(v);
	if (getpwuid_r(uid, &pw, scratch, sizeof(scratch), &found) == 0 && found)
		snprintf(buf, size, "%s", found->pw_name);
	else
		snprintf(buf, size, "%lu", (unsigned long)uid);
	return buf;
}

/* A drift item as a line: "vpc.cidr: DECLARED → ACTUAL (corrected)". */
static void drift_line(const fugue_cli *cli, char *buf, size_t size, const struct json_object *d)
{
	struct json_object *declared = fugue_j_get(d, "declared");
	struct json_object *actual = fugue_j_get(d, "actual");
	const char *property = fugue_j_str(d, "property");
	const char *resource = fugue_j_str(d, "resource");
	const char *reason = fugue_j_str(d, "reason");
	const char *arrow = cli->utf8 ? " \u2192 " : " -> ";

	if (!property) {
		snprintf(buf, size, "  %s: gone%s%s", resource ? resource : "?", reason ? ": " : "",
		         reason ? reason : "");
		return;
	}
	snprintf(buf, size, "  %s.%s: %s%s%s", resource ? resource : "?", property,
	         declared ? fugue_j_text(declared) : "(unset)", arrow,
	         actual ? fugue_j_text(actual) : "(none)");
}

/* An error of a failed job: "  web (create): Code: message (request id R)". */
static void error_line(char *buf, size_t size, const struct json_object *e)
{
	const char *code = fugue_j_str(e, "code");
	const char *message = fugue_j_str(e, "message");
	const char *request = fugue_j_str(e, "requestId");
	const char *res = fugue_j_str(e, "resource");
	const char *action = fugue_j_str(e, "action");
	char why[1024];

	if (fugue_j_bool(e, "skipped", 0)) {
		snprintf(buf, size, "  %s (%s): skipped: %s", res ? res : "?",
		         action ? action : "?", message ? message : "not run");
		return;
	}
	snprintf(buf, size, "  %s (%s): %s", res ? res : "?", action ? action : "?",
	         fugue_cli_describe_error(why, sizeof(why), code, message, request));
}

/* Rows under an entry: its drift items or the errors of a failed job, in
 * the SUMMARY column. */
static void add_detail_rows(const fugue_cli *cli, fugue_table *t, const struct json_object *entry)
{
	struct json_object *details = fugue_j_get(entry, "details");
	const char *kind = fugue_j_str(entry, "kind");
	size_t i;

	if (!details || !json_object_is_type(details, json_type_array))
		return;
	for (i = 0; i < fugue_j_len(details); i++) {
		const struct json_object *d = fugue_j_at(details, i);
		char line[2048];
		const char *cells[4] = { "", "", "", line };

		if (kind && strcmp(kind, "drift") == 0)
			drift_line(cli, line, sizeof(line), d);
		else if (fugue_j_str(d, "resource"))
			error_line(line, sizeof(line), d);
		else
			continue;
		fugue_table_add(t, cells, NULL);
	}
}

static void print_history(const fugue_cli *cli, const struct json_object *result)
{
	static const char *const headers[] = { "TIME", "KIND", "WHO", "SUMMARY" };
	struct json_object *entries = fugue_j_array(result, "entries");
	fugue_table *t;
	size_t i;

	if (fugue_j_len(entries) == 0) {
		printf("No history for %s.\n", fugue_j_str(result, "fid"));
		return;
	}
	t = fugue_table_new(4, headers);
	if (!t)
		return;
	for (i = 0; i < fugue_j_len(entries); i++) {
		const struct json_object *e = fugue_j_at(entries, i);
		const char *kind = fugue_j_str(e, "kind");
		const char *summary = fugue_j_str(e, "summary");
		char time[TIME_SIZE];
		char user[64];
		const char *cells[4];
		fugue_cli_color colors[4] = { FUGUE_COLOR_NONE };

		cells[0] = fugue_cli_time(time, sizeof(time), fugue_j_str(e, "time"));
		cells[1] = kind;
		cells[2] = who(user, sizeof(user), e);
		cells[3] = summary;
		if (kind && (strcmp(kind, "drift") == 0 || strcmp(kind, "error") == 0))
			colors[1] = FUGUE_COLOR_YELLOW;
		if (summary && strstr(summary, "FAILED"))
			colors[3] = FUGUE_COLOR_RED;
		fugue_table_add(t, cells, colors);
		add_detail_rows(cli, t, e);
	}
	fugue_table_print(cli, t, stdout);
	fugue_table_free(t);
}

/* N from -n N: a whole number >= 0. Returns 0 or -1. */
static int parse_limit(long *out, const char *s)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		return -1;
	*out = v;
	return 0;
}

int fugue_cmd_history(const fugue_cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args;
	struct json_object *final = NULL;
	long limit = -1;
	int rc;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":n:", longs, NULL)) != -1) {
		if (c != 'n')
			return fugue_cli_bad_option(cli, argv[0], c, argc, argv);
		if (parse_limit(&limit, optarg) != 0)
			return fugue_cli_usage_error(cli, argv[0],
			                             "-n takes a whole number >= 0, not '%s'",
			                             optarg);
	}
	rc = fugue_cli_positionals(cli, argc, argv, 1, "ALIAS");
	if (rc >= 0)
		return rc;
	args = json_object_new_object();
	fugue_j_put(args, "process", json_object_new_string(argv[optind]));
	if (limit >= 0)
		fugue_j_put(args, "limit", json_object_new_int64(limit));
	rc = fugue_cli_call_ok(cli, "history", args, &final);
	json_object_put(args);
	if (rc >= 0)
		return rc;
	if (cli->json)
		fugue_cli_print_json(cli, fugue_cli_result(final));
	else
		print_history(cli, fugue_cli_result(final));
	json_object_put(final);
	return FUGUE_EXIT_OK;
}
