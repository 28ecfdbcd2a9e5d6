/* lambda_api.c - the Lambda API (2015-03-31, rest-json) as the lambda
 * planner's types call it: paths, one call, calls made again while Lambda
 * says "not now" (a function still updating, a role not yet assumable),
 * the waits for a function to be ready, tags, names and zip files. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "planner_kit.h"
#include "types.h"

#define LAMBDA_SERVICE "lambda"
#define FUNCTIONS "/2015-03-31/functions/"
#define TAGS "/2017-03-31/tags/"
/* What CreateFunction and UpdateFunctionCode take inline (zipped). */
#define ZIP_MAX (50L * 1024 * 1024)

/* --- paths and calls ----------------------------------------------------------- */

static int put_path(fugue_lambda_op *op, const char *prefix, const char *segment,
                    const char *suffix)
{
	size_t n = strlen(prefix);
	int len;

	if (n >= sizeof(op->path))
		return FUGUE_EINVAL;
	memcpy(op->path, prefix, n + 1);
	len = fugue_aws_uri_encode(op->path + n, sizeof(op->path) - n, segment, 0);
	if (len < 0 || n + (size_t)len + strlen(suffix) >= sizeof(op->path))
		return FUGUE_EINVAL;
	strcat(op->path, suffix);
	return 0;
}

int fugue_lambda_path(fugue_lambda_op *op, const char *name, const char *suffix)
{
	return put_path(op, FUNCTIONS, name ? name : "", suffix ? suffix : "");
}

int fugue_lambda_tags_path(fugue_lambda_op *op, const char *arn)
{
	return put_path(op, TAGS, arn ? arn : "", "");
}

int fugue_lambda_try(struct json_object **out, fugue_ctx *ctx, const fugue_lambda_op *op,
                     fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;

	req.service = LAMBDA_SERVICE;
	req.region = ctx->region;
	req.action = op->action;
	req.method = op->method;
	req.path = op->path;
	req.query = op->query;
	req.params = op->body;
	return fugue_kit_aws_try(out, ctx, &req, NULL, err);
}

int fugue_lambda_call(struct json_object **out, fugue_ctx *ctx, const fugue_lambda_op *op)
{
	fugue_aws_error err;
	int rc = fugue_lambda_try(out, ctx, op, &err);

	if (rc != 0)
		fugue_kit_fail_aws(ctx, rc, &err, op->action);
	return rc;
}

/* --- calls made again while Lambda says "not now" -------------------------------- */

struct retry_call {
	const fugue_lambda_op *op;
	const fugue_lambda_retry *how;
	struct json_object *res;
	fugue_aws_error *err;
	int rc;
};

/* Whether ERR is Lambda refusing a role it cannot use yet: a role made a
 * moment ago, or its policy not yet propagated (ENIs for a VPC). */
static int role_not_ready(const fugue_aws_error *err)
{
	return strcmp(err->code, "InvalidParameterValueException") == 0 &&
	       (strstr(err->message, "cannot be assumed by Lambda") ||
	        strstr(err->message, "execution role does not have permissions"));
}

/* Whether a ResourceConflictException means "busy": the function is being
 * created or updated. "Function already exist" (CreateFunction) and "The
 * statement id ... already exists" (AddPermission) are answers. */
static int busy(int rc, const fugue_aws_error *err)
{
	return rc == FUGUE_ECONFLICT && strcmp(err->code, "ResourceConflictException") == 0 &&
	       !strstr(err->message, "already exist");
}

static int poll_call(fugue_ctx *ctx, void *arg, int *done)
{
	struct retry_call *c = arg;

	json_object_put(c->res);
	c->res = NULL;
	c->rc = fugue_lambda_try(&c->res, ctx, c->op, c->err);
	*done = !busy(c->rc, c->err) &&
	        !(c->rc != 0 && c->how->role_is_wait && role_not_ready(c->err));
	return 0;
}

int fugue_lambda_retry_call(struct json_object **out, fugue_ctx *ctx, const fugue_lambda_op *op,
                            const fugue_lambda_retry *how, fugue_aws_error *err)
{
	struct retry_call c = { op, how, NULL, err, 0 };
	char what[160];
	fugue_kit_wait wait = { .what = what, .deadline_ms = how->deadline_ms, .first_ms = 500 };
	int rc;

	snprintf(what, sizeof(what), "%s to be accepted (%s)", op->action,
	         how->role_is_wait ? "function busy or role not usable yet" : "function busy");
	rc = fugue_kit_wait_for(ctx, &wait, poll_call, &c);
	if (rc == 0)
		rc = c.rc;
	else if (rc == FUGUE_ETIMEOUT && c.rc != 0) /* what AWS said last, too */
		ctx->host->fail(ctx, rc, err, "timed out waiting for %s to be accepted: %s (%s)",
		                op->action, err->message, err->code);
	if (out && rc == 0)
		*out = c.res;
	else
		json_object_put(c.res);
	return rc;
}

/* --- reading and waiting ---------------------------------------------------------- */

int fugue_lambda_get_function(struct json_object **out, fugue_ctx *ctx, const char *name)
{
	fugue_lambda_op op = { .action = "GetFunction", .method = "GET" };
	fugue_aws_error err;
	int rc;

	*out = NULL;
	if (fugue_lambda_path(&op, name, "") != 0) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "function name too long");
		return FUGUE_EINVAL;
	}
	rc = fugue_lambda_try(out, ctx, &op, &err);
	if (rc != 0 && rc != FUGUE_ENOTFOUND)
		fugue_kit_fail_aws(ctx, rc, &err, op.action);
	return rc;
}

struct ready_wait {
	const char *name;
	const char *key;     /* "State" or "LastUpdateStatus" */
	const char *ready;   /* "Active" or "Successful" */
	const char *pending; /* "Pending" or "InProgress" */
	const char *reason;  /* the member saying why it failed */
};

static int poll_ready(fugue_ctx *ctx, void *arg, int *done)
{
	struct ready_wait *w = arg;
	fugue_lambda_op op = { .action = "GetFunctionConfiguration", .method = "GET" };
	struct json_object *c = NULL;
	fugue_aws_error err;
	const char *status;
	int rc;

	*done = 0;
	if (fugue_lambda_path(&op, w->name, "/configuration") != 0)
		return FUGUE_EINVAL;
	rc = fugue_lambda_try(&c, ctx, &op, &err);
	if (rc != 0) {
		if (rc != FUGUE_ENOTFOUND)
			fugue_kit_fail_aws(ctx, rc, &err, op.action);
		return rc;
	}
	status = fugue_aws_get_string(c, w->key);
	/* No status (an older Lambda, some emulators) is ready. */
	if (!status || strcmp(status, w->ready) == 0 || strcmp(status, "Inactive") == 0) {
		*done = 1;
	} else if (strcmp(status, w->pending) != 0) {
		const char *why = fugue_aws_get_string(c, w->reason);

		ctx->host->fail(ctx, FUGUE_EAWS, NULL, "function %s is %s: %s", w->name, status,
		                why ? why : "no reason given");
		rc = FUGUE_EAWS;
	}
	json_object_put(c);
	return rc;
}

int fugue_lambda_wait_active(fugue_ctx *ctx, const char *name)
{
	struct ready_wait w = { name, "State", "Active", "Pending", "StateReason" };
	char what[128];
	fugue_kit_wait wait = { .what = what, .notfound_is_wait = 1 };

	snprintf(what, sizeof(what), "function %s to be active", name);
	return fugue_kit_wait_for(ctx, &wait, poll_ready, &w);
}

int fugue_lambda_wait_updated(fugue_ctx *ctx, const char *name)
{
	struct ready_wait w = { name, "LastUpdateStatus", "Successful", "InProgress",
		                "LastUpdateStatusReason" };
	char what[128];
	fugue_kit_wait wait = { .what = what };

	snprintf(what, sizeof(what), "the update of function %s", name);
	return fugue_kit_wait_for(ctx, &wait, poll_ready, &w);
}

/* --- tags -------------------------------------------------------------------------- */

/* One tagging call of fugue_kit_sync_tags(): TagResource with TAGS ({"Key",
 * "Value"} items) as Lambda's map, or one UntagResource per key (its
 * tagKeys is a repeated query parameter; the SDK's query is one value a
 * key). */
static int tag_call(fugue_ctx *ctx, void *arg, int add, struct json_object *tags)
{
	const char *arn = arg;
	fugue_lambda_op op = { .action = add ? "TagResource" : "UntagResource",
		               .method = add ? "POST" : "DELETE" };
	struct json_object *body = NULL, *map, *query = NULL;
	size_t i;
	int rc = fugue_lambda_tags_path(&op, arn);

	if (rc != 0) {
		ctx->host->fail(ctx, rc, NULL, "function arn too long");
		return rc;
	}
	if (add) {
		body = json_object_new_object();
		map = json_object_new_object();
		json_object_object_add(body, "Tags", map);
		for (i = 0; i < fugue_kit_len(tags); i++)
			fugue_kit_put_str(map, fugue_kit_str(fugue_kit_at(tags, i), "Key"),
			                  fugue_kit_str(fugue_kit_at(tags, i), "Value"));
		op.body = body;
		rc = fugue_lambda_call(NULL, ctx, &op);
		json_object_put(body);
		return rc;
	}
	for (i = 0; rc == 0 && i < fugue_kit_len(tags); i++) {
		query = json_object_new_object();
		fugue_kit_put_str(query, "tagKeys", fugue_kit_as_str(fugue_kit_at(tags, i)));
		op.query = query;
		rc = fugue_lambda_call(NULL, ctx, &op);
		json_object_put(query);
	}
	return rc;
}

int fugue_lambda_sync_tags(fugue_ctx *ctx, const char *arn, const struct json_object *have,
                           const struct json_object *user)
{
	struct json_object *list = json_object_new_array();
	int rc;

	/* the kit diffs AWS's {Key, Value} lists; Lambda answers a map */
	if (json_object_is_type(have, json_type_object)) {
		json_object_object_foreach(fugue_kit_unconst(have), k, v) {
			struct json_object *t = json_object_new_object();

			fugue_kit_put_str(t, "Key", k);
			fugue_kit_put_str(t, "Value", json_object_get_string(v));
			json_object_array_add(list, t);
		}
	}
	rc = fugue_kit_sync_tags(ctx, list, user, 0, tag_call, (void *)arn);
	json_object_put(list);
	return rc;
}

int fugue_lambda_tagged_for(const struct json_object *tags, const char *fid, const char *resource)
{
	return fugue_kit_streq(fugue_kit_str(tags, "fugue:fid"), fid) &&
	       fugue_kit_streq(fugue_kit_str(tags, "fugue:resource"), resource);
}

/* --- names ------------------------------------------------------------------------- */

static int name_char(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

int fugue_lambda_valid_name(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0, i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char((unsigned char)s[i]))
			return 0;
	return 1;
}

void fugue_lambda_default_name(char *buf, size_t size, const char *resource, const char *fid,
                               size_t max)
{
	char suffix[9];
	size_t i, j, room;

	if (max > size - 1)
		max = size - 1;
	/* 8 characters of the process id: two processes of one composition
	 * do not fight over a name (as the iam planner's names) */
	for (i = j = 0; fid && fid[i] && j < 8; i++)
		if (isalnum((unsigned char)fid[i]))
			suffix[j++] = fid[i];
	suffix[j] = '\0';
	room = j > 0 && j + 1 < max ? max - (j + 1) : max;
	snprintf(buf, room + 1, "%s", resource ? resource : "fugue");
	for (i = 0; buf[i]; i++)
		if (!name_char((unsigned char)buf[i]))
			buf[i] = '-';
	if (j > 0)
		snprintf(buf + strlen(buf), size - strlen(buf), "-%s", suffix);
}

void fugue_lambda_function_name(char *buf, size_t size, const char *resource, const char *fid,
                                const struct json_object *props)
{
	const char *declared = fugue_kit_str(props, "functionName");

	if (declared)
		snprintf(buf, size, "%s", declared);
	else
		fugue_lambda_default_name(buf, size, resource, fid, FUGUE_LAMBDA_NAME_MAX);
}

void fugue_lambda_name_of(char *buf, size_t size, const char *name_or_arn)
{
	const char *s = name_or_arn ? name_or_arn : "";
	const char *p = strstr(s, ":function:");
	size_t n;

	if (strncmp(s, "arn:", 4) == 0 && p)
		s = p + strlen(":function:");
	n = strcspn(s, ":");
	snprintf(buf, size, "%.*s", (int)n, s);
}

/* --- code -------------------------------------------------------------------------- */

/* The base64 SHA-256 of LEN bytes at DATA into B64 (45 bytes at least). */
static int sha256_b64(char *b64, const void *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1)
		return FUGUE_ENOMEM;
	EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	return 0;
}

/* Reads FILE whole: *OUT (caller's) and *LEN. 0 or an errno value. */
static int read_file(unsigned char **out, size_t *len, const char *file)
{
	FILE *f = fopen(file, "rb");
	long size;
	int err = 0;

	*out = NULL;
	*len = 0;
	if (!f)
		return errno;
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		err = errno ? errno : EIO;
	else if (size > ZIP_MAX)
		err = EFBIG;
	else if (!(*out = malloc(size > 0 ? (size_t)size : 1)))
		err = ENOMEM;
	else if (fread(*out, 1, (size_t)size, f) != (size_t)size)
		err = ferror(f) ? (errno ? errno : EIO) : EIO;
	fclose(f);
	if (err) {
		free(*out);
		*out = NULL;
		return err;
	}
	*len = (size_t)size;
	return 0;
}

int fugue_lambda_read_zip(char **out, fugue_ctx *ctx, const struct json_object *zipfile)
{
	const char *file = fugue_kit_str(zipfile, "file");
	const char *want = fugue_kit_str(zipfile, "sha256");
	unsigned char *data = NULL;
	char sha[64];
	size_t len = 0;
	int err;

	*out = NULL;
	if (!file || !want) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "zipFile was not resolved by the conductor "
		                "(it needs one that knows FUGUE_PROP_FILE)");
		return FUGUE_EINVAL;
	}
	err = read_file(&data, &len, file);
	if (err == EFBIG) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "%s is larger than the 50 MB lambda takes "
		                "in a call: upload it to s3 and give s3Bucket and s3Key", file);
		return FUGUE_EINVAL;
	}
	if (err) {
		ctx->host->fail(ctx, FUGUE_EIO, NULL, "cannot read %s: %s", file, strerror(err));
		return FUGUE_EIO;
	}
	if (sha256_b64(sha, data, len) != 0 || strcmp(sha, want) != 0) {
		free(data);
		ctx->host->fail(ctx, FUGUE_ECONFLICT, NULL, "%s changed since the composition was "
		                "compiled: run `fugue update` with it to deploy the new content",
		                file);
		return FUGUE_ECONFLICT;
	}
	*out = fugue_kit_base64(data, len);
	free(data);
	if (!*out) {
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "out of memory encoding %s", file);
		return FUGUE_ENOMEM;
	}
	return 0;
}
