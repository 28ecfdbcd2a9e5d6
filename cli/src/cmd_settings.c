/* cmd_settings.c - `fugue property` (per process: alias, lock, enforcement)
 * and `fugue runtime` (Conductor-wide settings). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli.h"
#include "cmd_util.h"

static const char *const property_keys[] = { "alias", "lock", "enforcement", NULL };

static int known_property(const char *key)
{
	size_t i;

	for (i = 0; property_keys[i]; i++) {
		if (strcmp(key, property_keys[i]) == 0)
			return 1;
	}
	return 0;
}

/* The value of property KEY of result R for people: "on"/"off", the alias,
 * or "-" for none. */
static const char *property_text(const struct json_object *r, const char *key)
{
	struct json_object *v = fugue_j_get(r, key);

	if (!v)
		return "-";
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? "on" : "off";
	return json_object_get_string(v);
}

static void print_properties(const fugue_cli *cli, const struct json_object *r)
{
	static const char *const headers[] = { "PROPERTY", "VALUE" };
	fugue_table *t = fugue_table_new(2, headers);
	size_t i;

	if (!t)
		return;
	for (i = 0; property_keys[i]; i++) {
		const char *cells[2] = { property_keys[i], property_text(r, property_keys[i]) };

		fugue_table_add(t, cells, NULL);
	}
	fugue_table_print(cli, t, stdout);
	fugue_table_free(t);
}

int fugue_cmd_property(const fugue_cli *cli, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "set", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args;
	struct json_object *final = NULL;
	const struct json_object *r;
	const char *value = NULL;
	const char *key = NULL;
	const char *name;
	int rc;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
		if (c != 's')
			return fugue_cli_bad_option(cli, argv[0], c, argc, argv);
		value = optarg;
	}
	rc = fugue_cli_positionals(cli, argc, argv, argc - optind < 2 ? 1 : 2, "ALIAS");
	if (rc >= 0)
		return rc;
	if (argc - optind == 2)
		key = argv[optind + 1];
	if (value && !key)
		return fugue_cli_usage_error(cli, argv[0],
		                             "--set needs a KEY (alias, lock, enforcement)");
	if (key && !known_property(key))
		return fugue_cli_usage_error(
		        cli, argv[0], "unknown property '%s': alias, lock or enforcement", key);
	args = json_object_new_object();
	fugue_j_put(args, "process", json_object_new_string(argv[optind]));
	if (key)
		fugue_j_put(args, "key", json_object_new_string(key));
	if (value)
		fugue_j_put(args, "value", json_object_new_string(value));
	rc = fugue_cli_call_ok(cli, "property", args, &final);
	json_object_put(args);
	if (rc >= 0)
		return rc;
	r = fugue_cli_result(final);
	name = fugue_j_str(r, "alias") ? fugue_j_str(r, "alias") : fugue_j_str(r, "fid");
	if (cli->json)
		fugue_cli_print_json(cli, r);
	else if (!key)
		print_properties(cli, r);
	else if (!value)
		printf("%s\n", property_text(r, key));
	else
		printf("process %s: %s %s\n", name ? name : "?", key, property_text(r, key));
	json_object_put(final);
	return FUGUE_EXIT_OK;
}

/* --- runtime ------------------------------------------------------------------------ */

/* A setting's value for people: strings as they are, numbers as JSON. */
static const char *setting_text(const struct json_object *v)
{
	if (!v)
		return "-";
	if (json_object_is_type(fugue_j_unconst(v), json_type_string))
		return json_object_get_string(fugue_j_unconst(v));
	return fugue_j_text(v);
}

static void print_settings(const fugue_cli *cli, const struct json_object *r)
{
	static const char *const headers[] = { "KEY", "VALUE", "DEFAULT" };
	struct json_object *settings = fugue_j_get(r, "settings");
	struct json_object *defaults = fugue_j_get(r, "defaults");
	fugue_table *t;

	if (!settings || !json_object_is_type(settings, json_type_object))
		return;
	t = fugue_table_new(3, headers);
	if (!t)
		return;
	json_object_object_foreach(settings, key, value) {
		char v[256];
		const char *cells[3] = { key, v, setting_text(fugue_j_get(defaults, key)) };

		/* Both texts may live in one json-c buffer: copy the first. */
		snprintf(v, sizeof(v), "%s", setting_text(value));
		fugue_table_add(t, cells, NULL);
	}
	fugue_table_print(cli, t, stdout);
	fugue_table_free(t);
}

/* What `runtime OP` takes after OP: the number of further arguments. */
static int runtime_arity(const char *op)
{
	if (strcmp(op, "list") == 0)
		return 0;
	if (strcmp(op, "get") == 0 || strcmp(op, "unset") == 0)
		return 1;
	if (strcmp(op, "set") == 0)
		return 2;
	return -1;
}

static void print_runtime(const fugue_cli *cli, const char *op, const char *key,
                          const struct json_object *r)
{
	struct json_object *settings = fugue_j_get(r, "settings");
	char value[256];
	char def[256];

	if (strcmp(op, "list") == 0) {
		print_settings(cli, r);
		return;
	}
	snprintf(value, sizeof(value), "%s", setting_text(fugue_j_get(settings, key)));
	snprintf(def, sizeof(def), "%s",
	         setting_text(fugue_j_get(fugue_j_get(r, "defaults"), key)));
	if (strcmp(op, "get") == 0)
		printf("%s\n", value);
	else if (strcmp(op, "set") == 0)
		printf("%s set to %s (default %s)\n", key, value, def);
	else
		printf("%s back to its default: %s\n", key, value);
}

int fugue_cmd_runtime(const fugue_cli *cli, int argc, char **argv)
{
	struct json_object *args;
	struct json_object *final = NULL;
	const char *op;
	const char *key;
	int arity;
	int rc;
	int c;

	/* "+": options stop at the operation, so that a VALUE may start with
	 * '-'. */
	optind = 0;
	opterr = 0;
	c = getopt(argc, argv, "+:");
	if (c != -1)
		return fugue_cli_bad_option(cli, argv[0], c, argc, argv);
	if (argc - optind < 1)
		return fugue_cli_usage_error(cli, argv[0], "missing list, get, set or unset");
	op = argv[optind];
	arity = runtime_arity(op);
	if (arity < 0)
		return fugue_cli_usage_error(cli, argv[0],
		                             "unknown operation '%s': list, get, set or unset", op);
	if (argc - optind - 1 != arity)
		return fugue_cli_usage_error(cli, argv[0], "%s takes %s", op,
		                             arity == 0 ? "nothing more"
		                             : arity == 1 ? "KEY"
		                                          : "KEY VALUE");
	key = arity > 0 ? argv[optind + 1] : NULL;
	args = json_object_new_object();
	fugue_j_put(args, "op", json_object_new_string(op));
	if (key)
		fugue_j_put(args, "key", json_object_new_string(key));
	if (arity == 2)
		fugue_j_put(args, "value", json_object_new_string(argv[optind + 2]));
	rc = fugue_cli_call_ok(cli, "runtime", args, &final);
	json_object_put(args);
	if (rc >= 0)
		return rc;
	if (cli->json)
		fugue_cli_print_json(cli, fugue_cli_result(final));
	else
		print_runtime(cli, op, key, fugue_cli_result(final));
	json_object_put(final);
	return FUGUE_EXIT_OK;
}
