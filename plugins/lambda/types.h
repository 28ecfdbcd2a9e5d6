/* types.h - the lambda planner's resource types and the Lambda API they
 * share (lambda_api.c: calls, waits, tags, code; function_schema.c and
 * function_state.c: a function's schema and what it looks like as a
 * state). Lambda speaks rest-json: a method, a
 * path under /2015-03-31 (tags under /2017-03-31), a JSON body. */
#ifndef FUGUE_LAMBDA_TYPES_H
#define FUGUE_LAMBDA_TYPES_H

#include <stddef.h>

#include "fugue/planner.h"

struct json_object;

extern const fugue_type_ops fugue_lambda_function;   /* AWS.Lambda.Function (function.c) */
extern const fugue_type_ops fugue_lambda_permission; /* AWS.Lambda.Permission (permission.c) */

/* Function names: 1 to 64 of [A-Za-z0-9-_] (what moto's router takes too). */
#define FUGUE_LAMBDA_NAME_MAX 64

/* --- calls --------------------------------------------------------------------- */

/* One Lambda operation: ACTION (for errors and rate limits), METHOD, PATH
 * (already encoded: fugue_lambda_path()), QUERY (object of strings or NULL)
 * and BODY (or NULL). */
typedef struct fugue_lambda_op {
	const char *action;
	const char *method;
	char path[1024];
	const struct json_object *query;
	const struct json_object *body;
} fugue_lambda_op;

/* OP's path: "/2015-03-31/functions/NAME" + SUFFIX ("", "/configuration",
 * "/policy/SID"...), NAME percent-encoded. 0, or FUGUE_EINVAL when too long. */
int fugue_lambda_path(fugue_lambda_op *op, const char *name, const char *suffix);
/* OP's path for the tags of ARN: "/2017-03-31/tags/ARN" (encoded). */
int fugue_lambda_tags_path(fugue_lambda_op *op, const char *arn);

/* OP in ctx->region. *OUT (OUT may be NULL: dropped) is the JSON answer,
 * caller's. fugue_lambda_try records nothing (the error in ERR);
 * fugue_lambda_call records a failure ("ACTION: message (Code)"). */
int fugue_lambda_try(struct json_object **out, fugue_ctx *ctx, const fugue_lambda_op *op,
                     fugue_aws_error *err);
int fugue_lambda_call(struct json_object **out, fugue_ctx *ctx, const fugue_lambda_op *op);

/* OP, made again while Lambda says "not now": ResourceConflictException
 * (the function is still being created or updated; "... already exists" is
 * an answer, FUGUE_ECONFLICT) and, with ROLE_IS_WAIT,
 * InvalidParameterValueException about the role (a new role Lambda cannot
 * assume yet: IAM is eventually consistent). Backoff and a deadline
 * (fugue_kit_wait_for). Records only a timeout (with what AWS said last)
 * or a cancellation; any other error is in ERR for the caller. */
typedef struct fugue_lambda_retry {
	int role_is_wait;
	long deadline_ms;      /* 0: 300000 */
} fugue_lambda_retry;
int fugue_lambda_retry_call(struct json_object **out, fugue_ctx *ctx, const fugue_lambda_op *op,
                            const fugue_lambda_retry *how, fugue_aws_error *err);

/* GetFunction NAME: 0 and *OUT ({"Configuration", "Code", "Tags"},
 * caller's), FUGUE_ENOTFOUND (not recorded), or another error (recorded). */
int fugue_lambda_get_function(struct json_object **out, fugue_ctx *ctx, const char *name);

/* Waits until function NAME is ready for the next call: after a create,
 * State Active (NotFound meanwhile is "not yet"); after an update,
 * LastUpdateStatus Successful. Failed ends the wait with Lambda's reason.
 * 0 or the error, recorded. */
int fugue_lambda_wait_active(fugue_ctx *ctx, const char *name);
int fugue_lambda_wait_updated(fugue_ctx *ctx, const char *name);

/* TagResource / UntagResource to bring function ARN from HAVE (its Tags
 * map, as GetFunction answers) to ctx->tags plus USER (the `tags`
 * property); fugue:* and aws:* are never removed. Recorded on failure. */
int fugue_lambda_sync_tags(fugue_ctx *ctx, const char *arn, const struct json_object *have,
                           const struct json_object *user);

/* --- names --------------------------------------------------------------------- */

/* RESOURCE and 8 characters of FID ("web-3f2a9c1d"), characters Lambda
 * refuses in names made '-', at most MAX characters. */
void fugue_lambda_default_name(char *buf, size_t size, const char *resource, const char *fid,
                               size_t max);
/* The function's name: PROPS' functionName, else the default name. The
 * same in create and observe (a create whose answer was lost is found by
 * it). */
void fugue_lambda_function_name(char *buf, size_t size, const char *resource, const char *fid,
                                const struct json_object *props);
/* Nonzero when S is 1 to MAX characters of [A-Za-z0-9-_]. */
int fugue_lambda_valid_name(const char *s, size_t max);
/* The function name in a reference value: a name, or a function ARN
 * (arn:...:function:NAME[:QUALIFIER]) cut to NAME, into BUF. */
void fugue_lambda_name_of(char *buf, size_t size, const char *name_or_arn);

/* Nonzero when the Tags map of a function carries fugue:fid = FID and
 * fugue:resource = RESOURCE: made by that resource (an earlier attempt). */
int fugue_lambda_tagged_for(const struct json_object *tags, const char *fid, const char *resource);

/* --- code ---------------------------------------------------------------------- */

/* The base64 of the zip ZIPFILE names (the compiled FUGUE_PROP_FILE value
 * {"path", "file", "sha256"}), checked against its sha256: a file changed
 * since the composition was compiled is refused (its new content was
 * never planned). *OUT is the caller's (free). 0 or the error, recorded. */
int fugue_lambda_read_zip(char **out, fugue_ctx *ctx, const struct json_object *zipfile);

/* --- AWS.Lambda.Function's schema (function_schema.c) ------------------------------- */

extern const fugue_prop fugue_lambda_function_props[];
extern const fugue_attr fugue_lambda_function_attrs[];
/* validate(): code, role, ranges, variable names, VPC configuration. */
int fugue_lambda_function_validate(fugue_ctx *ctx, const struct json_object *props);

/* --- function states (function_state.c) --------------------------------------------- */

/* The state of function G (GetFunction's answer), properties shaped as
 * DECLARED declares them (environment split into the declared plain and
 * sensitive variables; an undeclared variable counts as sensitive, so a
 * value set by hand is never shown). NULL on no memory. */
struct json_object *fugue_lambda_function_state(fugue_ctx *ctx, const struct json_object *g,
                                                const struct json_object *declared);

#endif
