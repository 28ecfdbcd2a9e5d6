/* function_schema.c - AWS.Lambda.Function's properties, attributes and the
 * checks the schema cannot say (validate()). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define MEMORY_MIN 128
#define MEMORY_MAX 10240
#define TIMEOUT_MAX 900
#define DESCRIPTION_MAX 256
#define ENVIRONMENT_MAX 4096 /* bytes of keys and values together */
#define SUBNETS_MAX 16
#define GROUPS_MAX 5

static const fugue_prop subnet_item[] = {
	{ .name = "subnet", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.Subnet" },
};
static const fugue_prop group_item[] = {
	{ .name = "group", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.SecurityGroup" },
};
/* The values of sensitiveEnvironment: masked in plans, status, history and
 * logs, digested in the state store. The keys stay visible. */
static const fugue_prop secret_item[] = {
	{ .name = "value", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_SENSITIVE },
};

static const fugue_prop vpc_fields[] = {
	{ .name = "subnets", .kind = FUGUE_KIND_LIST, .default_json = "[]", .items = subnet_item,
	  .doc = "subnets the function's network interfaces go in" },
	{ .name = "securityGroups", .kind = FUGUE_KIND_LIST, .default_json = "[]",
	  .items = group_item, .doc = "security groups of those interfaces" },
	{ .name = NULL },
};

const fugue_prop fugue_lambda_function_props[] = {
	{ .name = "functionName", .kind = FUGUE_KIND_STRING,
	  .doc = "1-64 of [A-Za-z0-9-_] (default: the resource's name and 8 characters of the "
	         "process id); replaces" },
	{ .name = "runtime", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE,
	  .doc = "the runtime, e.g. python3.12, nodejs20.x" },
	{ .name = "handler", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE,
	  .doc = "the entry point, e.g. index.handler" },
	{ .name = "role", .kind = FUGUE_KIND_REF, .ref_types = "AWS.IAM.Role",
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE,
	  .doc = "the execution role's ARN: !ref ROLE.arn, or an ARN" },
	{ .name = "zipFile", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_FILE | FUGUE_PROP_UPDATABLE,
	  .doc = "a local zip, relative to the composition; a new content is deployed" },
	{ .name = "s3Bucket", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_UPDATABLE | FUGUE_PROP_WRITE_ONLY,
	  .doc = "the bucket of the code's zip (instead of zipFile)" },
	{ .name = "s3Key", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_UPDATABLE | FUGUE_PROP_WRITE_ONLY, .doc = "its key" },
	{ .name = "s3ObjectVersion", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_UPDATABLE | FUGUE_PROP_WRITE_ONLY,
	  .doc = "its version (versioned buckets)" },
	{ .name = "memorySize", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "128", .doc = "MB, 128 to 10240" },
	{ .name = "timeout", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "3", .doc = "seconds, 1 to 900" },
	{ .name = "environment", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "{}", .items = fugue_kit_string_item,
	  .doc = "environment variables, shown in plans and status" },
	{ .name = "sensitiveEnvironment", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "{}", .items = secret_item,
	  .doc = "environment variables whose values are never shown, logged or stored" },
	{ .name = "vpcConfig", .kind = FUGUE_KIND_OBJECT, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "{\"subnets\": [], \"securityGroups\": []}", .fields = vpc_fields,
	  .doc = "subnets and security groups (a function in a VPC)" },
	{ .name = "description", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "\"\"", .doc = "a description, at most 256 characters" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

const fugue_attr fugue_lambda_function_attrs[] = {
	{ "arn", "the function's ARN (what a trigger or a policy names)" },
	{ "name", "the function's name (also its id)" },
	{ "version", "the version the configuration is of ($LATEST)" },
	{ NULL, NULL },
};

/* --- validate ---------------------------------------------------------------------- */

/* Lambda's variable names: a letter, then letters, digits and '_'. */
static int valid_variable(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]) || !s[1])
		return 0;
	for (i = 1; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* The keys of map KEY: names, no key in both maps; adds their size to
 * *SIZE. Values are never quoted: they may be secrets. */
static int check_variables(fugue_ctx *ctx, const struct json_object *props, const char *key,
                           const char *other, size_t *size)
{
	const struct json_object *vars = fugue_kit_get(props, key);
	char path[320];
	int bad = 0;

	if (!json_object_is_type(vars, json_type_object))
		return 0;
	json_object_object_foreach(fugue_kit_unconst(vars), name, value) {
		const char *v = json_object_get_string(value);

		snprintf(path, sizeof(path), "%s.%s", key, name);
		*size += strlen(name) + (v ? strlen(v) : 0);
		if (!valid_variable(name)) {
			ctx->host->report(ctx, path, "a variable name is a letter, then letters, "
			                  "digits or '_' (at least two characters)");
			bad = 1;
		}
		if (other && fugue_kit_get(fugue_kit_get(props, other), name)) {
			ctx->host->report(ctx, path, "'%s' is in %s too: a variable is either plain "
			                  "or sensitive", name, other);
			bad = 1;
		}
	}
	return bad;
}

static int check_code(fugue_ctx *ctx, const struct json_object *props)
{
	const struct json_object *zip = fugue_kit_get(props, "zipFile");
	int s3 = fugue_kit_str(props, "s3Bucket") || fugue_kit_str(props, "s3Key");

	if (zip && s3) {
		ctx->host->report(ctx, "zipFile", "give zipFile or s3Bucket and s3Key, not both");
		return 1;
	}
	if (!zip && !s3) {
		ctx->host->report(ctx, NULL, "a function needs its code: zipFile, or s3Bucket and "
		                  "s3Key");
		return 1;
	}
	if (s3 && (!fugue_kit_str(props, "s3Bucket") || !fugue_kit_str(props, "s3Key"))) {
		ctx->host->report(ctx, fugue_kit_str(props, "s3Bucket") ? "s3Bucket" : "s3Key",
		                  "s3Bucket and s3Key go together");
		return 1;
	}
	if (fugue_kit_str(props, "s3ObjectVersion") && !s3) {
		ctx->host->report(ctx, "s3ObjectVersion", "s3ObjectVersion needs s3Bucket and s3Key");
		return 1;
	}
	if (zip && !json_object_is_type(zip, json_type_object)) {
		ctx->host->report(ctx, "zipFile", "this conductor does not read local files "
		                  "(FUGUE_PROP_FILE): upgrade it, or use s3Bucket and s3Key");
		return 1;
	}
	return 0;
}

/* The role: a reference to a role's arn, or an ARN. */
static int check_role(fugue_ctx *ctx, const struct json_object *role)
{
	const char *attr = fugue_kit_str(role, "attr");
	const char *arn = fugue_kit_as_str(role);

	if (fugue_kit_ref_name(role) && !fugue_kit_streq(attr, "arn")) {
		ctx->host->report(ctx, "role", "a function takes its role's ARN: write !ref %s.arn",
		                  fugue_kit_ref_name(role));
		return 1;
	}
	if (arn && (strncmp(arn, "arn:", 4) != 0 || !strstr(arn, ":role/"))) {
		ctx->host->report(ctx, "role", "expected a role ARN (arn:aws:iam::ACCOUNT:role/NAME) "
		                  "or !ref ROLE.arn, not '%s'", arn);
		return 1;
	}
	return 0;
}

static int check_vpc(fugue_ctx *ctx, const struct json_object *vpc)
{
	size_t subnets = fugue_kit_len(fugue_kit_get(vpc, "subnets"));
	size_t groups = fugue_kit_len(fugue_kit_get(vpc, "securityGroups"));

	if ((subnets == 0) != (groups == 0)) {
		ctx->host->report(ctx, "vpcConfig", "a function in a VPC needs subnets and "
		                  "security groups");
		return 1;
	}
	if (subnets > SUBNETS_MAX || groups > GROUPS_MAX) {
		ctx->host->report(ctx, "vpcConfig", "at most %d subnets and %d security groups",
		                  SUBNETS_MAX, GROUPS_MAX);
		return 1;
	}
	return 0;
}

int fugue_lambda_function_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *name = fugue_kit_str(props, "functionName");
	const char *desc = fugue_kit_str(props, "description");
	int64_t memory = fugue_kit_int(props, "memorySize", MEMORY_MIN);
	int64_t timeout = fugue_kit_int(props, "timeout", 3);
	size_t size = 0;
	int bad = 0;

	if (name && !fugue_lambda_valid_name(name, FUGUE_LAMBDA_NAME_MAX)) {
		ctx->host->report(ctx, "functionName", "1 to %d letters, digits, '-' or '_'",
		                  FUGUE_LAMBDA_NAME_MAX);
		bad = 1;
	}
	bad |= check_code(ctx, props);
	bad |= check_role(ctx, fugue_kit_get(props, "role"));
	if (memory < MEMORY_MIN || memory > MEMORY_MAX) {
		ctx->host->report(ctx, "memorySize", "expected %d to %d MB", MEMORY_MIN, MEMORY_MAX);
		bad = 1;
	}
	if (timeout < 1 || timeout > TIMEOUT_MAX) {
		ctx->host->report(ctx, "timeout", "expected 1 to %d seconds", TIMEOUT_MAX);
		bad = 1;
	}
	bad |= check_variables(ctx, props, "environment", "sensitiveEnvironment", &size);
	bad |= check_variables(ctx, props, "sensitiveEnvironment", NULL, &size);
	if (size > ENVIRONMENT_MAX) {
		ctx->host->report(ctx, "environment", "the variables take %zu bytes; lambda takes "
		                  "at most %d", size, ENVIRONMENT_MAX);
		bad = 1;
	}
	bad |= check_vpc(ctx, fugue_kit_get(props, "vpcConfig"));
	if (desc && strlen(desc) > DESCRIPTION_MAX) {
		ctx->host->report(ctx, "description", "at most %d characters", DESCRIPTION_MAX);
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}
