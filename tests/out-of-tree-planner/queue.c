/* queue.c - "example-sqs", a planner built outside the Fugue tree: one
 * type, Example.SQS.Queue, an Amazon SQS queue.
 *
 * It needs only what the libfugue-dev package installs: <fugue/planner.h>
 * (the ABI) and <fugue/aws.h> (the AWS client), linked with
 * `pkg-config --cflags --libs fugue`. docs/planner-guide.md walks through it.
 *
 *   Example.SQS.Queue
 *     queueName          string, required; a change replaces the queue
 *     delaySeconds       int 0-900, default 0, updatable
 *     visibilityTimeout  int 0-43200, default 30, updatable
 *   id: the queue URL; attributes: arn, url
 *
 * The type is "Example.", not "AWS.SQS.", so that it can never collide with
 * a real SQS planner: the Conductor refuses a type two planners register.
 *
 * No global mutable state and no init(): every callback works from its
 * arguments, so any number may run at once on different threads. */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include <fugue/planner.h>

#define QUEUE_TYPE "Example.SQS.Queue"

/* The properties SQS keeps as queue attributes: our name, SQS's name and
 * the allowed range (from the SQS API reference). */
struct queue_attr {
	const char *prop;
	const char *sqs;
	int min;
	int max;
};

static const struct queue_attr queue_attrs[] = {
	{ "delaySeconds", "DelaySeconds", 0, 900 },
	{ "visibilityTimeout", "VisibilityTimeout", 0, 43200 },
};

#define NATTRS (sizeof(queue_attrs) / sizeof(queue_attrs[0]))

/* --- AWS calls ----------------------------------------------------------- */

/* SQS answers a missing queue with QueueDoesNotExist (JSON protocol) or,
 * from older endpoints, the query-protocol code. */
static int is_missing_queue(const fugue_aws_error *err)
{
	return strcmp(err->code, "QueueDoesNotExist") == 0 ||
	       strcmp(err->code, "AWS.SimpleQueueService.NonExistentQueue") == 0;
}

/* One SQS call in the resource's region. PARAMS is borrowed; *OUT (may be
 * NULL) is the caller's. The diagnostics go to ERR; nothing is recorded, so
 * the caller decides whether a failure is one. */
static int sqs_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                   struct json_object *params, fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	struct json_object *res = NULL;
	int rc;

	memset(err, 0, sizeof(*err));
	if (!ctx->aws) {
		snprintf(err->message, sizeof(err->message), "no aws client");
		return FUGUE_ECONFIG;
	}
	req.service = "sqs";
	req.region = ctx->region;
	req.action = action;
	req.params = params;
	rc = fugue_aws_call(&res, ctx->aws, &req, err);
	if (rc == 0 && out)
		*out = res;
	else
		json_object_put(res);
	return rc;
}

/* Records a failed call the way the operator reads it in `fugue status`:
 * "CreateQueue: MESSAGE (CODE)", with the request id in the AWS error. */
static int fail_aws(fugue_ctx *ctx, int rc, const fugue_aws_error *err, const char *action)
{
	ctx->host->fail(ctx, rc, err->code[0] ? err : NULL, "%s: %s%s%s%s", action,
	                err->message[0] ? err->message : fugue_strerror(rc),
	                err->code[0] ? " (" : "", err->code, err->code[0] ? ")" : "");
	return rc;
}

/* The same call, recording a failure. */
static int sqs_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                    struct json_object *params)
{
	fugue_aws_error err;
	int rc = sqs_try(out, ctx, action, params, &err);

	if (rc != 0)
		fail_aws(ctx, rc, &err, action);
	return rc;
}

/* --- state ------------------------------------------------------------------ */

/* The integer an SQS attribute holds ("30"), or -1 when missing. */
static int sqs_int(const struct json_object *attributes, const char *name)
{
	const char *s = fugue_aws_get_string(attributes, name);

	return s ? (int)strtol(s, NULL, 10) : -1;
}

/* The state of the queue at URL: GetQueueAttributes, then the properties
 * in their declared kinds (ints as ints) so the Conductor sees no false
 * drift. FUGUE_ENOTFOUND when it is gone (not recorded: observe() asks). */
static int queue_read(struct json_object **out, fugue_ctx *ctx, const char *url)
{
	struct json_object *params = json_object_new_object();
	struct json_object *names = json_object_new_array();
	struct json_object *res = NULL, *props, *attrs, *state;
	const struct json_object *a;
	const char *arn, *slash;
	fugue_aws_error err;
	size_t i;
	int rc;

	json_object_array_add(names, json_object_new_string("All"));
	json_object_object_add(params, "QueueUrl", json_object_new_string(url));
	json_object_object_add(params, "AttributeNames", names);
	rc = sqs_try(&res, ctx, "GetQueueAttributes", params, &err);
	json_object_put(params);
	if (rc != 0)
		return is_missing_queue(&err) ? FUGUE_ENOTFOUND
		                              : fail_aws(ctx, rc, &err, "GetQueueAttributes");

	a = fugue_aws_get(res, "Attributes");
	props = json_object_new_object();
	attrs = json_object_new_object();
	slash = strrchr(url, '/');
	json_object_object_add(props, "queueName", json_object_new_string(slash ? slash + 1 : url));
	for (i = 0; i < NATTRS; i++) {
		int v = sqs_int(a, queue_attrs[i].sqs);

		if (v >= 0)
			json_object_object_add(props, queue_attrs[i].prop, json_object_new_int(v));
	}
	arn = fugue_aws_get_string(a, "QueueArn");
	if (arn)
		json_object_object_add(attrs, "arn", json_object_new_string(arn));
	json_object_object_add(attrs, "url", json_object_new_string(url));

	state = json_object_new_object();
	json_object_object_add(state, "id", json_object_new_string(url));
	json_object_object_add(state, "properties", props);
	json_object_object_add(state, "attributes", attrs);
	json_object_put(res);
	*out = state;
	return 0;
}

/* SQS's Attributes map (strings) for the declared properties in WHICH (an
 * array of property names), or all of them when WHICH is NULL. */
static struct json_object *sqs_attributes(const struct json_object *props,
                                          const struct json_object *which)
{
	struct json_object *out = json_object_new_object();
	struct json_object *v;
	size_t i, j;

	for (i = 0; i < NATTRS; i++) {
		int wanted = which == NULL;

		for (j = 0; which && j < json_object_array_length(which); j++) {
			const char *name = json_object_get_string(
				json_object_array_get_idx(which, j));

			if (name && strcmp(name, queue_attrs[i].prop) == 0)
				wanted = 1;
		}
		if (wanted && json_object_object_get_ex(props, queue_attrs[i].prop, &v))
			json_object_object_add(out, queue_attrs[i].sqs,
			                       json_object_new_string(json_object_get_string(v)));
	}
	return out;
}

/* --- callbacks ---------------------------------------------------------------- */

/* What the schema cannot say: SQS's name rules and the attributes' ranges. */
static int queue_validate(fugue_ctx *ctx, const struct json_object *props)
{
	struct json_object *v;
	const char *name = NULL;
	int bad = 0;
	size_t i;

	if (json_object_object_get_ex(props, "queueName", &v))
		name = json_object_get_string(v);
	if (name && (strlen(name) == 0 || strlen(name) > 80 ||
	             strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                          "0123456789-_") != strlen(name))) {
		ctx->host->report(ctx, "queueName",
		                  "'%s' is not a queue name: 1 to 80 letters, digits, '-' or '_'",
		                  name);
		bad = 1;
	}
	for (i = 0; i < NATTRS; i++) {
		int n;

		if (!json_object_object_get_ex(props, queue_attrs[i].prop, &v))
			continue;
		n = json_object_get_int(v);
		if (n < queue_attrs[i].min || n > queue_attrs[i].max) {
			ctx->host->report(ctx, queue_attrs[i].prop, "%d is out of range %d to %d", n,
			                  queue_attrs[i].min, queue_attrs[i].max);
			bad = 1;
		}
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* CreateQueue is idempotent by name (same name and attributes: the same
 * queue back), which is what a retried create needs; SQS takes no client
 * token. The tags (fugue:fid, fugue:resource, the composition's) go in the
 * same call. */
static int queue_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL, *v;
	const char *url;
	int rc;

	json_object_object_get_ex(props, "queueName", &v);
	json_object_object_add(params, "QueueName", json_object_new_string(json_object_get_string(v)));
	json_object_object_add(params, "Attributes", sqs_attributes(props, NULL));
	if (ctx->tags) {
		struct json_object *tags = NULL;

		/* A copy: ctx->tags is borrowed and const. */
		if (json_object_deep_copy((struct json_object *)ctx->tags, &tags, NULL) == 0)
			json_object_object_add(params, "tags", tags);
	}
	rc = sqs_call(&res, ctx, "CreateQueue", params);
	json_object_put(params);
	if (rc != 0)
		return rc;
	url = fugue_aws_get_string(res, "QueueUrl");
	if (!url) {
		json_object_put(res);
		ctx->host->fail(ctx, FUGUE_EPROTO, NULL, "CreateQueue: no QueueUrl in the answer");
		return FUGUE_EPROTO;
	}
	/* A queue is usable as soon as CreateQueue answers. If reading it back
	 * fails, hand back its id anyway: it exists and the Conductor must know. */
	rc = queue_read(out, ctx, url);
	if (rc != 0) {
		if (rc == FUGUE_ENOTFOUND)
			ctx->host->fail(ctx, FUGUE_ERETRY, NULL, "queue %s not visible yet", url);
		*out = json_object_new_object();
		json_object_object_add(*out, "id", json_object_new_string(url));
		rc = rc == FUGUE_ENOTFOUND ? FUGUE_ERETRY : rc;
	}
	json_object_put(res);
	return rc;
}

/* Only the attributes in CHANGED (queueName never is: it is not updatable). */
static int queue_update(fugue_ctx *ctx, const struct json_object *state,
                        const struct json_object *props, const struct json_object *changed,
                        struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	struct json_object *id;
	const char *url;
	int rc;

	json_object_object_get_ex(state, "id", &id);
	url = json_object_get_string(id);
	json_object_object_add(params, "QueueUrl", json_object_new_string(url));
	json_object_object_add(params, "Attributes", sqs_attributes(props, changed));
	rc = sqs_call(NULL, ctx, "SetQueueAttributes", params);
	json_object_put(params);
	if (rc == 0)
		rc = queue_read(out, ctx, url);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "queue %s not found", url);
	return rc;
}

/* Already gone is success. */
static int queue_remove(fugue_ctx *ctx, const struct json_object *state)
{
	struct json_object *params = json_object_new_object();
	struct json_object *id;
	fugue_aws_error err;
	int rc;

	json_object_object_get_ex(state, "id", &id);
	json_object_object_add(params, "QueueUrl", json_object_new_string(json_object_get_string(id)));
	rc = sqs_try(NULL, ctx, "DeleteQueue", params, &err);
	json_object_put(params);
	if (rc != 0 && is_missing_queue(&err))
		return 0;
	return rc == 0 ? 0 : fail_aws(ctx, rc, &err, "DeleteQueue");
}

/* The queue URL of a resource whose create may have happened without the
 * Conductor learning the id (a crash): queue names are unique per account
 * and region, so the declared name finds it. NULL when there is none. */
static char *find_by_name(fugue_ctx *ctx, const struct json_object *declared, int *rc)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL, *v;
	fugue_aws_error err;
	char *url = NULL;

	*rc = 0;
	if (!json_object_object_get_ex(declared, "queueName", &v)) {
		json_object_put(params);
		return NULL;
	}
	json_object_object_add(params, "QueueName", json_object_new_string(json_object_get_string(v)));
	*rc = sqs_try(&res, ctx, "GetQueueUrl", params, &err);
	json_object_put(params);
	if (*rc == 0 && fugue_aws_get_string(res, "QueueUrl"))
		url = strdup(fugue_aws_get_string(res, "QueueUrl"));
	else if (*rc != 0 && is_missing_queue(&err))
		*rc = 0;
	else if (*rc != 0)
		fail_aws(ctx, *rc, &err, "GetQueueUrl");
	json_object_put(res);
	return url;
}

/* SQS has no Describe for many queues at once, so this is the rare
 * planner that asks once per resource; a service with a filtered Describe
 * must use it instead. An error that is not "gone" fails the whole batch, so
 * that no queue is believed deleted because AWS could not be asked. */
static int queue_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char *found = NULL;
		const char *url = items[i].id;
		int rc = 0;

		if (!url) {
			found = find_by_name(ctx, items[i].declared, &rc);
			url = found;
		}
		if (rc == 0 && url)
			rc = queue_read(&items[i].state, ctx, url);
		else if (rc == 0)
			rc = FUGUE_ENOTFOUND;
		free(found);
		if (rc != 0 && rc != FUGUE_ENOTFOUND)
			return rc;
		items[i].status = rc;
	}
	return 0;
}

/* --- the planner ----------------------------------------------------------------- */

static const fugue_prop queue_props[] = {
	{ .name = "queueName", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the queue's name, unique in the account and region" },
	{ .name = "delaySeconds", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "0", .doc = "seconds each new message stays invisible (0-900)" },
	{ .name = "visibilityTimeout", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "30", .doc = "seconds a received message stays hidden (0-43200)" },
	{ .name = NULL },
};

static const fugue_attr queue_attrs_published[] = {
	{ .name = "arn", .doc = "the queue's ARN" },
	{ .name = "url", .doc = "the queue's URL (also its id)" },
	{ .name = NULL },
};

static const fugue_type_ops queue_type = {
	.struct_size = sizeof(fugue_type_ops),
	.name = QUEUE_TYPE,
	.doc = "an Amazon SQS queue",
	.props = queue_props,
	.attrs = queue_attrs_published,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = queue_validate,
	.create = queue_create,
	.update = queue_update,
	.remove = queue_remove,
	.observe = queue_observe,
};

static const fugue_type_ops *const queue_types[] = { &queue_type, NULL };

static const fugue_planner queue_planner = {
	FUGUE_PLANNER_HEADER,
	.name = "example-sqs",
	.version = "1.0.0",
	.description = "an out-of-tree example: Amazon SQS queues",
	.types = queue_types,
};

/* The one exported symbol (the build uses -fvisibility=hidden). */
FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &queue_planner;
}
