/* function_state.c - a Lambda function as a resource state: GetFunction's
 * answer in the shapes AWS.Lambda.Function declares, so that a function
 * nobody touched compares equal to its declaration and one changed by
 * hand does not. */
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

/* A copy of D[KEY] when it is of kind TYPE, else NULL. */
static struct json_object *member(const struct json_object *d, const char *key, json_type type)
{
	struct json_object *v = fugue_kit_get(d, key);

	return v && json_object_is_type(v, type) ? fugue_kit_copy(v) : NULL;
}

/* The strings of D[KEY] as an array ([] when none). */
static struct json_object *strings(const struct json_object *d, const char *key)
{
	struct json_object *list = fugue_kit_get(d, key), *out = json_object_new_array();
	size_t i;

	for (i = 0; out && i < fugue_kit_len(list); i++) {
		const char *s = fugue_kit_as_str(fugue_kit_at(list, i));

		if (s)
			json_object_array_add(out, json_object_new_string(s));
	}
	return out;
}

/* Splits the function's variables VARS between PLAIN (the keys DECLARED's
 * `environment` has) and SECRET (the rest: declared sensitive, or set by
 * someone else, whose value may well be a secret too). */
static void split_environment(struct json_object *plain, struct json_object *secret,
                              const struct json_object *vars, const struct json_object *declared)
{
	const struct json_object *shown = fugue_kit_get(declared, "environment");

	if (!json_object_is_type(vars, json_type_object))
		return;
	json_object_object_foreach(fugue_kit_unconst(vars), key, value) {
		struct json_object *to = fugue_kit_get(shown, key) ? plain : secret;

		if (json_object_is_type(value, json_type_string))
			json_object_object_add(to, key, json_object_get(value));
	}
}

static struct json_object *vpc_config(const struct json_object *c)
{
	const struct json_object *v = fugue_kit_get(c, "VpcConfig");
	struct json_object *o = json_object_new_object();

	fugue_kit_put(o, "subnets", strings(v, "SubnetIds"));
	fugue_kit_put(o, "securityGroups", strings(v, "SecurityGroupIds"));
	return o;
}

/* The user's tags of a Tags map: fugue:* and aws:* left out. */
static struct json_object *user_tags(const struct json_object *tags)
{
	struct json_object *map = json_object_new_object();

	if (map && json_object_is_type(tags, json_type_object)) {
		json_object_object_foreach(fugue_kit_unconst(tags), key, value) {
			if (!fugue_kit_reserved_tag(key) && json_object_is_type(value, json_type_string))
				json_object_object_add(map, key, json_object_get(value));
		}
	}
	return map;
}

static struct json_object *props_of(const struct json_object *c, const struct json_object *tags,
                                    const struct json_object *declared)
{
	struct json_object *props = json_object_new_object();
	struct json_object *plain = json_object_new_object(), *secret = json_object_new_object();
	struct json_object *desc = member(c, "Description", json_type_string);

	if (fugue_kit_get(declared, "functionName"))
		fugue_kit_put(props, "functionName", member(c, "FunctionName", json_type_string));
	fugue_kit_put(props, "runtime", member(c, "Runtime", json_type_string));
	fugue_kit_put(props, "handler", member(c, "Handler", json_type_string));
	fugue_kit_put(props, "role", member(c, "Role", json_type_string));
	fugue_kit_put(props, "memorySize", member(c, "MemorySize", json_type_int));
	fugue_kit_put(props, "timeout", member(c, "Timeout", json_type_int));
	/* no description is "" (the declared default) */
	fugue_kit_put(props, "description", desc ? desc : json_object_new_string(""));
	split_environment(plain, secret, fugue_kit_get(fugue_kit_get(c, "Environment"), "Variables"),
	                  declared);
	fugue_kit_put(props, "environment", plain);
	fugue_kit_put(props, "sensitiveEnvironment", secret);
	fugue_kit_put(props, "vpcConfig", vpc_config(c));
	/* the code's identity: its SHA-256 against the declared zip's (compare()) */
	if (fugue_kit_get(declared, "zipFile")) {
		struct json_object *zip = json_object_new_object();

		fugue_kit_put(zip, "sha256", member(c, "CodeSha256", json_type_string));
		fugue_kit_put(props, "zipFile", zip);
	}
	fugue_kit_put(props, "tags", user_tags(tags));
	return props;
}

struct json_object *fugue_lambda_function_state(fugue_ctx *ctx, const struct json_object *g,
                                                const struct json_object *declared)
{
	const struct json_object *c = fugue_kit_get(g, "Configuration");
	struct json_object *attrs = json_object_new_object();
	struct json_object *state;

	fugue_kit_put_str(attrs, "arn", fugue_kit_str(c, "FunctionArn"));
	fugue_kit_put_str(attrs, "name", fugue_kit_str(c, "FunctionName"));
	fugue_kit_put_str(attrs, "version", fugue_kit_str(c, "Version"));
	state = fugue_kit_state(fugue_kit_str(c, "FunctionName"),
	                        props_of(c, fugue_kit_get(g, "Tags"), declared), attrs);
	if (state)
		fugue_kit_fix_tags(ctx, state, declared);
	return state;
}
