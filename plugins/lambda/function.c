/* function.c - AWS.Lambda.Function: a function, its code, configuration
 * and tags.
 *
 * The state's id is the function's name (unique in its region; every call
 * takes it). The name replaces; everything else changes in place: the code
 * (UpdateFunctionCode, when the zip's SHA-256 is not the function's
 * CodeSha256, or the S3 object changed), the configuration
 * (UpdateFunctionConfiguration) and tags (TagResource / UntagResource).
 * Lambda refuses a call while the function is being created or updated
 * (ResourceConflictException) and a role it cannot assume yet: both are
 * waited through. Observation is one GetFunction per function and cycle:
 * Lambda has no filtered list, and only GetFunction answers the tags with
 * the configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

/* Properties UpdateFunctionConfiguration changes; the code's are the rest. */
static const char *const config_props[] = {
	"runtime", "handler", "role", "memorySize", "timeout", "environment",
	"sensitiveEnvironment", "vpcConfig", "description", NULL,
};
static const char *const code_props[] = {
	"zipFile", "s3Bucket", "s3Key", "s3ObjectVersion", NULL,
};

static int any_changed(const struct json_object *changed, const char *const *names)
{
	for (; *names; names++)
		if (fugue_kit_has_string(changed, *names))
			return 1;
	return 0;
}

/* --- request bodies -------------------------------------------------------------- */

/* Environment.Variables: the plain and the sensitive variables together. */
static struct json_object *environment(const struct json_object *props)
{
	struct json_object *env = json_object_new_object(), *vars = json_object_new_object();
	const char *const maps[] = { "environment", "sensitiveEnvironment" };
	size_t i;

	for (i = 0; i < 2; i++) {
		const struct json_object *m = fugue_kit_get(props, maps[i]);

		if (!json_object_is_type(m, json_type_object))
			continue;
		json_object_object_foreach(fugue_kit_unconst(m), k, v)
			json_object_object_add(vars, k, json_object_get(v));
	}
	json_object_object_add(env, "Variables", vars);
	return env;
}

static struct json_object *vpc_config(const struct json_object *props)
{
	const struct json_object *vpc = fugue_kit_get(props, "vpcConfig");
	struct json_object *o = json_object_new_object();
	struct json_object *subnets = fugue_kit_copy(fugue_kit_get(vpc, "subnets"));
	struct json_object *groups = fugue_kit_copy(fugue_kit_get(vpc, "securityGroups"));

	json_object_object_add(o, "SubnetIds", subnets ? subnets : json_object_new_array());
	json_object_object_add(o, "SecurityGroupIds", groups ? groups : json_object_new_array());
	return o;
}

/* The configuration members of CreateFunction / UpdateFunctionConfiguration. */
static struct json_object *config_body(const struct json_object *props, int creating)
{
	struct json_object *b = json_object_new_object();

	fugue_kit_put_str(b, "Runtime", fugue_kit_str(props, "runtime"));
	fugue_kit_put_str(b, "Handler", fugue_kit_str(props, "handler"));
	fugue_kit_put_str(b, "Role", fugue_kit_str(props, "role"));
	json_object_object_add(b, "MemorySize",
	                       json_object_new_int64(fugue_kit_int(props, "memorySize", 128)));
	json_object_object_add(b, "Timeout",
	                       json_object_new_int64(fugue_kit_int(props, "timeout", 3)));
	fugue_kit_put_str(b, "Description", fugue_kit_str(props, "description"));
	json_object_object_add(b, "Environment", environment(props));
	/* an empty VpcConfig on an update takes the function out of its VPC */
	if (!creating || fugue_kit_len(fugue_kit_get(fugue_kit_get(props, "vpcConfig"), "subnets")))
		json_object_object_add(b, "VpcConfig", vpc_config(props));
	return b;
}

/* The code members (ZipFile, or S3Bucket / S3Key / S3ObjectVersion) into
 * B. 0 or the error, recorded. */
static int put_code(struct json_object *b, fugue_ctx *ctx, const struct json_object *props)
{
	const struct json_object *zip = fugue_kit_get(props, "zipFile");
	char *data = NULL;
	int rc;

	if (!zip) {
		fugue_kit_put_str(b, "S3Bucket", fugue_kit_str(props, "s3Bucket"));
		fugue_kit_put_str(b, "S3Key", fugue_kit_str(props, "s3Key"));
		fugue_kit_put_str(b, "S3ObjectVersion", fugue_kit_str(props, "s3ObjectVersion"));
		return 0;
	}
	rc = fugue_lambda_read_zip(&data, ctx, zip);
	if (rc == 0)
		json_object_object_add(b, "ZipFile", json_object_new_string(data));
	free(data);
	return rc;
}

/* --- reading ------------------------------------------------------------------- */

/* The state of function NAME now (GetFunction). NotFound is recorded. */
static int read_state(struct json_object **out, fugue_ctx *ctx, const char *name,
                      const struct json_object *declared)
{
	struct json_object *g = NULL;
	int rc = fugue_lambda_get_function(&g, ctx, name);

	*out = NULL;
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "function %s not found", name);
	if (rc == 0) {
		*out = fugue_lambda_function_state(ctx, g, declared);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(g);
	return rc;
}

/* --- create --------------------------------------------------------------------- */

/* After CreateFunction answered "exists": whether this resource made it
 * (an earlier attempt whose answer was lost, or a crash). */
static int made_by_us(fugue_ctx *ctx, const char *name)
{
	struct json_object *g = NULL;
	int ours = fugue_lambda_get_function(&g, ctx, name) == 0 &&
	           fugue_lambda_tagged_for(fugue_kit_get(g, "Tags"), ctx->fid, ctx->resource);

	json_object_put(g);
	return ours;
}

static int create_call(fugue_ctx *ctx, const char *name, const struct json_object *props)
{
	fugue_lambda_op op = { .action = "CreateFunction", .method = "POST" };
	fugue_lambda_retry how = { .role_is_wait = 1, .deadline_ms = 180000 };
	struct json_object *body = config_body(props, 1);
	fugue_aws_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	snprintf(op.path, sizeof(op.path), "/2015-03-31/functions");
	fugue_kit_put_str(body, "FunctionName", name);
	fugue_kit_put_str(body, "PackageType", "Zip");
	json_object_object_add(body, "Tags",
	                       fugue_kit_desired_tags(ctx, fugue_kit_get(props, "tags")));
	json_object_object_add(body, "Code", json_object_new_object());
	rc = put_code(json_object_object_get(body, "Code"), ctx, props);
	op.body = body;
	if (rc == 0)
		rc = fugue_lambda_retry_call(NULL, ctx, &op, &how, &err);
	json_object_put(body); /* it held the code and the secrets: gone at once */
	if (rc == FUGUE_ECONFLICT && made_by_us(ctx, name))
		return 0;
	if (rc == FUGUE_ECONFLICT)
		ctx->host->fail(ctx, rc, &err, "function %s already exists and is not this "
		                "resource's (give another functionName)", name);
	else if (rc != 0 && rc != FUGUE_ETIMEOUT && rc != FUGUE_ECANCELED && err.code[0])
		fugue_kit_fail_aws(ctx, rc, &err, op.action);
	return rc;
}

static int fn_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	char name[FUGUE_LAMBDA_NAME_MAX + 1];
	int rc;

	*out = NULL;
	fugue_lambda_function_name(name, sizeof(name), ctx->resource, ctx->fid, props);
	rc = create_call(ctx, name, props);
	if (rc != 0)
		return rc;
	rc = fugue_lambda_wait_active(ctx, name);
	if (rc == 0)
		rc = read_state(out, ctx, name, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(name, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

/* --- update --------------------------------------------------------------------- */

/* ACTION (PUT on NAME's SUFFIX) with BODY, waited through while the function
 * is busy, then until the update is done. */
static int update_call(fugue_ctx *ctx, const char *name, const char *action, const char *suffix,
                       const struct json_object *body, int role_is_wait)
{
	fugue_lambda_op op = { .action = action, .method = "PUT", .body = body };
	fugue_lambda_retry how = { .role_is_wait = role_is_wait, .deadline_ms = 180000 };
	fugue_aws_error err;
	int rc = fugue_lambda_path(&op, name, suffix);

	memset(&err, 0, sizeof(err));
	if (rc != 0) {
		ctx->host->fail(ctx, rc, NULL, "function name too long");
		return rc;
	}
	rc = fugue_lambda_retry_call(NULL, ctx, &op, &how, &err);
	if (rc != 0 && rc != FUGUE_ETIMEOUT && rc != FUGUE_ECANCELED)
		return fugue_kit_fail_aws(ctx, rc, &err, action);
	return rc ? rc : fugue_lambda_wait_updated(ctx, name);
}

static int update_code(fugue_ctx *ctx, const char *name, const struct json_object *props,
                       const struct json_object *g)
{
	const char *have = fugue_kit_str(fugue_kit_get(g, "Configuration"), "CodeSha256");
	struct json_object *body;
	int rc;

	if (fugue_kit_streq(have, fugue_kit_str(fugue_kit_get(props, "zipFile"), "sha256")))
		return 0; /* only the zip's path changed: the code is the same */
	body = json_object_new_object();
	rc = put_code(body, ctx, props);
	if (rc == 0)
		rc = update_call(ctx, name, "UpdateFunctionCode", "/code", body, 0);
	json_object_put(body);
	return rc;
}

static int fn_update(fugue_ctx *ctx, const struct json_object *state,
                     const struct json_object *props, const struct json_object *changed,
                     struct json_object **out)
{
	const char *name = fugue_kit_str(state, "id");
	struct json_object *g = NULL, *body;
	int rc;

	*out = NULL;
	if (!name) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "the recorded state has no function name");
		return FUGUE_EINVAL;
	}
	rc = fugue_lambda_get_function(&g, ctx, name); /* against AWS now, not the record */
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "function %s not found", name);
	if (rc == 0 && any_changed(changed, code_props))
		rc = update_code(ctx, name, props, g);
	if (rc == 0 && any_changed(changed, config_props)) {
		body = config_body(props, 0);
		rc = update_call(ctx, name, "UpdateFunctionConfiguration", "/configuration", body, 1);
		json_object_put(body);
	}
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = fugue_lambda_sync_tags(
			ctx, fugue_kit_str(fugue_kit_get(g, "Configuration"), "FunctionArn"),
			fugue_kit_get(g, "Tags"), fugue_kit_get(props, "tags"));
	json_object_put(g);
	if (rc == 0)
		rc = read_state(out, ctx, name, props);
	return rc;
}

/* --- remove --------------------------------------------------------------------- */

static int fn_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *name = fugue_kit_str(state, "id");
	fugue_lambda_op op = { .action = "DeleteFunction", .method = "DELETE" };
	fugue_lambda_retry how = { .deadline_ms = 180000 };
	fugue_kit_wait wait = { .what = "the function to be deleted", .deadline_ms = 60000 };
	fugue_aws_error err;
	int rc;

	if (!name)
		return 0; /* nothing was made that we could name */
	memset(&err, 0, sizeof(err));
	rc = fugue_lambda_path(&op, name, "");
	if (rc == 0)
		rc = fugue_lambda_retry_call(NULL, ctx, &op, &how, &err);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	if (rc != 0 && rc != FUGUE_ETIMEOUT && rc != FUGUE_ECANCELED)
		return fugue_kit_fail_aws(ctx, rc, &err, op.action);
	return rc ? rc : fugue_kit_wait_gone(ctx, &wait, fugue_lambda_get_function, name);
}

/* --- observe -------------------------------------------------------------------- */

static int fn_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < n; i++) {
		fugue_observation *it = &items[i];
		char name[FUGUE_LAMBDA_NAME_MAX + 1];
		struct json_object *g = NULL;

		if (it->id)
			snprintf(name, sizeof(name), "%s", it->id);
		else /* a create whose answer was lost: by its name, then its tags */
			fugue_lambda_function_name(name, sizeof(name), it->resource, ctx->fid,
			                           it->declared);
		rc = fugue_lambda_get_function(&g, ctx, name);
		it->status = FUGUE_ENOTFOUND;
		if (rc == FUGUE_ENOTFOUND)
			rc = 0;
		else if (rc == 0 && (it->id || fugue_lambda_tagged_for(fugue_kit_get(g, "Tags"),
		                                                        ctx->fid, it->resource))) {
			it->state = fugue_lambda_function_state(ctx, g, it->declared);
			it->status = it->state ? 0 : FUGUE_ENOMEM;
		}
		json_object_put(g);
	}
	return rc;
}

/* --- compare -------------------------------------------------------------------- */

/* Every string of A is in B and the other way round. */
static int same_set(const struct json_object *a, const struct json_object *b)
{
	size_t i;

	for (i = 0; i < fugue_kit_len(a); i++)
		if (!fugue_kit_has_string(b, fugue_kit_as_str(fugue_kit_at(a, i))))
			return 0;
	for (i = 0; i < fugue_kit_len(b); i++)
		if (!fugue_kit_has_string(a, fugue_kit_as_str(fugue_kit_at(b, i))))
			return 0;
	return 1;
}

static int fn_compare(const char *name, const struct json_object *a, const struct json_object *b)
{
	/* the code is its content: the declared zip's SHA-256 against the
	 * function's CodeSha256, wherever the zip lies */
	if (strcmp(name, "zipFile") == 0)
		return fugue_kit_str(a, "sha256") &&
		       fugue_kit_streq(fugue_kit_str(a, "sha256"), fugue_kit_str(b, "sha256"));
	/* AWS keeps no order in a VPC configuration's lists */
	if (strcmp(name, "vpcConfig") == 0)
		return same_set(fugue_kit_get(a, "subnets"), fugue_kit_get(b, "subnets")) &&
		       same_set(fugue_kit_get(a, "securityGroups"),
		                fugue_kit_get(b, "securityGroups"));
	return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
}

const fugue_type_ops fugue_lambda_function = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.Lambda.Function",
	.doc = "a Lambda function: its code, configuration and tags",
	.props = fugue_lambda_function_props,
	.attrs = fugue_lambda_function_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = fugue_lambda_function_validate,
	.create = fn_create,
	.update = fn_update,
	.remove = fn_remove,
	.observe = fn_observe,
	.compare = fn_compare,
};
