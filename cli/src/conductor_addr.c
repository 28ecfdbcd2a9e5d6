/* conductor_addr.c - where the Conductor's socket is (DESIGN §6):
 * --conductor, else $FUGUE_CONDUCTOR, else conductor.socket of ./fugue.yaml,
 * else the default socket.
 *
 * The path is kept in static storage: the fugue_cli struct borrows it for
 * the life of the process, and one `fugue` run resolves it once. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "file_util.h"
#include "fugue/common.h"
#include "yaml_doc.h"

#define FUGUE_YAML "fugue.yaml"

static char socket_path[4096];

static void report_at(const fugue_cli *cli, const char *file, fugue_yaml_pos pos,
                      const char *message)
{
	if (pos.line > 0)
		fugue_cli_error(cli, "%s:%d:%d: %s", file, pos.line, pos.col, message);
	else
		fugue_cli_error(cli, "%s: %s", file, message);
}

static int bad_file(const fugue_cli *cli, const char *file, fugue_yaml_pos pos,
                    const char *message)
{
	report_at(cli, file, pos, message);
	fugue_cli_hint(cli, "fix %s (`fugue init --force` writes a fresh one), or name the "
	                    "conductor with --conductor PATH or FUGUE_CONDUCTOR",
	               file);
	return FUGUE_EXIT_USAGE;
}

/* Reads conductor.socket of FILE's DOC into socket_path. Returns 1 when
 * found, 0 when the file does not name a socket, FUGUE_EXIT_USAGE when it
 * is malformed (printed). */
static int socket_of(const fugue_cli *cli, const char *file, const fugue_yaml_doc *doc)
{
	struct json_object *root = fugue_yaml_root(doc);
	struct json_object *conductor = NULL;
	struct json_object *sock = NULL;
	fugue_yaml_pos pos = { 0, 0 };
	const fugue_yaml_error *errors;
	size_t nerrors;

	nerrors = fugue_yaml_errors(doc, &errors);
	if (nerrors > 0)
		return bad_file(cli, file, errors[0].pos, errors[0].message);
	if (!root)
		return 0;
	if (!json_object_is_type(root, json_type_object))
		return bad_file(cli, file, fugue_yaml_root_pos(doc), "expected a mapping at the top");
	if (!json_object_object_get_ex(root, "conductor", &conductor) || !conductor)
		return 0;
	fugue_yaml_member_pos(doc, root, "conductor", NULL, &pos);
	if (!json_object_is_type(conductor, json_type_object))
		return bad_file(cli, file, pos, "conductor must be a mapping (socket, region, ...)");
	if (!json_object_object_get_ex(conductor, "socket", &sock) || !sock)
		return 0;
	fugue_yaml_member_pos(doc, conductor, "socket", NULL, &pos);
	if (!json_object_is_type(sock, json_type_string))
		return bad_file(cli, file, pos, "conductor.socket must be a path (a string)");
	if (json_object_get_string_len(sock) == 0)
		return bad_file(cli, file, pos, "conductor.socket is empty");
	if ((size_t)json_object_get_string_len(sock) >= sizeof(socket_path))
		return bad_file(cli, file, pos, "conductor.socket is too long");
	memcpy(socket_path, json_object_get_string(sock), (size_t)json_object_get_string_len(sock) + 1);
	return 1;
}

/* Looks at ./fugue.yaml. Returns 1 (socket_path filled), 0 (no file, or
 * it names no socket) or FUGUE_EXIT_USAGE. */
static int from_file(const fugue_cli *cli)
{
	fugue_yaml_doc *doc = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc;

	rc = fugue_read_file(&text, &len, FUGUE_YAML);
	if (rc == ENOENT)
		return 0;
	if (rc != 0) {
		fugue_cli_error(cli, "cannot read %s: %s", FUGUE_YAML, fugue_cli_strerror(rc));
		fugue_cli_hint(cli, "name the conductor with --conductor PATH or FUGUE_CONDUCTOR");
		return FUGUE_EXIT_USAGE;
	}
	rc = fugue_yaml_parse(&doc, text, len);
	free(text);
	if (!doc) {
		fugue_cli_error(cli, "cannot read %s: %s", FUGUE_YAML, fugue_strerror(rc));
		return FUGUE_EXIT_USAGE;
	}
	rc = socket_of(cli, FUGUE_YAML, doc);
	fugue_yaml_doc_free(doc);
	return rc;
}

int fugue_cli_find_conductor(fugue_cli *cli, const char *flag)
{
	const char *env = getenv("FUGUE_CONDUCTOR");
	int rc;

	cli->conductor_file = NULL;
	if (flag && *flag) {
		cli->conductor = flag;
		cli->conductor_from = "--conductor";
		return 0;
	}
	if (env && *env) {
		cli->conductor = env;
		cli->conductor_from = "FUGUE_CONDUCTOR";
		return 0;
	}
	rc = from_file(cli);
	if (rc == FUGUE_EXIT_USAGE)
		return rc;
	if (rc == 1) {
		cli->conductor = socket_path;
		cli->conductor_from = "fugue.yaml";
		cli->conductor_file = FUGUE_YAML;
		return 0;
	}
	cli->conductor = FUGUE_CLI_DEFAULT_SOCKET;
	cli->conductor_from = "default";
	return 0;
}
