/* ec2_resource.c - the life of one EC2 resource (ec2_api.h): describe it by
 * id, read its state, retag it, create it, wait for a state, delete it
 * (once, or through the delays of what still depends on it), set one
 * attribute. */
#include "ec2_api.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"

/* Deleting what something let go of a moment ago: AWS needs a while. */
#define DELETE_DEADLINE_MS 180000L

/* --- describe, read ----------------------------------------------------------------- */

int fugue_ec2_describe_one(struct json_object **item, fugue_ctx *ctx, const fugue_ec2_kind *kind,
                           const char *id)
{
	struct json_object *params = json_object_new_object();
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_error err;
	int rc;

	*item = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	if (strchr(kind->id_param, '-'))
		fugue_ec2_filter(params, kind->id_param, id);
	else
		fugue_ec2_put_id(params, kind->id_param, id);
	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_try(&out, ctx, kind->action, params, &err);
	json_object_put(params);
	if (rc != 0) {
		if (fugue_ec2_is_notfound(&err))
			return FUGUE_ENOTFOUND;
		return fugue_kit_fail_aws(ctx, rc, &err, kind->action);
	}
	list = fugue_aws_list(out, kind->result_key);
	if (!list || json_object_array_length(list) == 0) {
		json_object_put(out);
		return FUGUE_ENOTFOUND;
	}
	*item = json_object_get(json_object_array_get_idx(list, 0));
	json_object_put(out);
	return 0;
}

/* Describes ID as fugue_ec2_describe_one, KIND's skip counting as gone,
 * and records a NotFound: for update() and reads, where it is a failure. */
static int describe_live(struct json_object **item, fugue_ctx *ctx, const fugue_ec2_kind *kind,
                         const char *id)
{
	int rc = fugue_ec2_describe_one(item, ctx, kind, id);

	if (rc == 0 && kind->skip && kind->skip(*item)) {
		json_object_put(*item);
		*item = NULL;
		rc = FUGUE_ENOTFOUND;
	}
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "%s %s not found", kind->noun, id);
	return rc;
}

int fugue_ec2_read(struct json_object **state, fugue_ctx *ctx, const fugue_ec2_kind *kind,
                   const char *id, const struct json_object *declared)
{
	struct json_object *item = NULL;
	int rc = describe_live(&item, ctx, kind, id);

	*state = NULL;
	if (rc != 0)
		return rc;
	*state = kind->make_state(ctx, item);
	json_object_put(item);
	if (!*state)
		return FUGUE_ENOMEM;
	/* the composition's tags are not the resource's `tags` */
	fugue_kit_fix_tags(ctx, *state, declared);
	return 0;
}

struct json_object *fugue_ec2_state_or_id(fugue_ctx *ctx, const fugue_ec2_kind *kind,
                                          const char *id, const struct json_object *declared)
{
	struct json_object *item = NULL;
	struct json_object *state = NULL;

	if (fugue_ec2_describe_one(&item, ctx, kind, id) == 0 && !(kind->skip && kind->skip(item)))
		state = kind->make_state(ctx, item);
	json_object_put(item);
	if (!state)
		return fugue_kit_state(id, NULL, NULL);
	fugue_kit_fix_tags(ctx, state, declared);
	return state;
}

int fugue_ec2_update_tags(fugue_ctx *ctx, const fugue_ec2_kind *kind, const char *id,
                          const struct json_object *declared)
{
	struct json_object *item = NULL;
	int rc = describe_live(&item, ctx, kind, id);

	if (rc == 0)
		rc = fugue_ec2_sync_tags(ctx, id, fugue_aws_list(item, "tagSet"),
		                         fugue_kit_get(declared, "tags"));
	json_object_put(item);
	return rc;
}

/* --- wait for a state ------------------------------------------------------------------ */

struct state_wait {
	const fugue_ec2_kind *kind;
	const char *id;
	const char *want;         /* NULL: gone */
	struct json_object *last; /* owned */
};

static int poll_state(fugue_ctx *ctx, void *arg, int *done)
{
	struct state_wait *w = arg;
	struct json_object *item = NULL;
	const char *state;
	int rc;

	rc = fugue_ec2_describe_one(&item, ctx, w->kind, w->id);
	if (rc == FUGUE_ENOTFOUND && !w->want) {
		*done = 1;
		return 0;
	}
	if (rc != 0)
		return rc;
	state = fugue_aws_get_string(item, "state");
	json_object_put(w->last);
	w->last = item;
	if (w->want && !w->want[0])
		*done = 1;
	else if (w->want)
		*done = fugue_kit_streq(state, w->want);
	else
		*done = fugue_kit_streq(state, "deleted");
	if (w->want && fugue_kit_streq(state, "failed")) {
		const char *why = fugue_aws_get_string(item, "failureMessage");

		ctx->host->fail(ctx, FUGUE_EAWS, NULL, "%s %s failed: %s", w->kind->noun, w->id,
		                why ? why : "no reason given");
		return FUGUE_EAWS;
	}
	return 0;
}

int fugue_ec2_wait_state(struct json_object **item, fugue_ctx *ctx, const fugue_ec2_kind *kind,
                         const char *id, const char *want)
{
	struct state_wait w = { kind, id, want, NULL };
	fugue_kit_wait wait;
	char what[160];
	int rc;

	snprintf(what, sizeof(what), "%s %s to be %s", kind->noun, id,
	         !want ? "deleted" : want[0] ? want : "visible");
	memset(&wait, 0, sizeof(wait));
	wait.what = what;
	wait.notfound_is_wait = want != NULL;
	rc = fugue_kit_wait_for(ctx, &wait, poll_state, &w);
	if (item && rc == 0)
		*item = w.last;
	else
		json_object_put(w.last);
	return rc;
}

/* --- create, delete, modify --------------------------------------------------------- */

/* An IAM instance profile made a moment ago is not visible to EC2 for a
 * few seconds: RunInstances answers InvalidParameterValue "... parameter
 * iamInstanceProfile.name is invalid". That is a wait, not a failure. */
#define PROFILE_DEADLINE_MS 120000L

static int profile_not_visible(const fugue_aws_error *err)
{
	return strcmp(err->code, "InvalidParameterValue") == 0 &&
	       strstr(err->message, "iamInstanceProfile") != NULL;
}

struct create_call {
	const char *action;
	const struct json_object *params;
	struct json_object *res;
	char what[640]; /* the wait, with EC2's last answer: a wrong name reads as one */
};

static int poll_create(fugue_ctx *ctx, void *arg, int *done)
{
	struct create_call *c = arg;
	fugue_aws_error err;
	int rc = fugue_ec2_try(&c->res, ctx, c->action, c->params, &err);

	if (rc != 0 && profile_not_visible(&err)) {
		snprintf(c->what, sizeof(c->what),
		         "the instance profile to be visible to EC2 (%.100s: %.400s)", err.code, err.message);
		return 0;
	}
	if (rc != 0)
		return fugue_kit_fail_aws(ctx, rc, &err, c->action);
	*done = 1;
	return 0;
}

int fugue_ec2_create(char *id, size_t size, fugue_ctx *ctx, const char *action,
                     const struct json_object *params, const char *id_path)
{
	struct create_call call = { action, params, NULL, "the instance profile" };
	fugue_kit_wait wait = { 0 };
	const char *got;
	int rc;

	id[0] = '\0';
	wait.what = call.what;
	wait.deadline_ms = PROFILE_DEADLINE_MS;
	wait.first_ms = 1000;
	rc = fugue_kit_wait_for(ctx, &wait, poll_create, &call);
	if (rc != 0)
		return rc;
	got = fugue_aws_get_string(call.res, id_path);
	snprintf(id, size, "%s", got ? got : "");
	json_object_put(call.res);
	if (!id[0]) {
		ctx->host->fail(ctx, FUGUE_EPROTO, NULL, "%s answered without an id", action);
		return FUGUE_EPROTO;
	}
	ctx->host->progress(ctx, "created %s", id);
	return 0;
}

int fugue_ec2_delete(fugue_ctx *ctx, const char *action, const struct json_object *params)
{
	struct json_object *out = NULL;
	fugue_aws_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_try(&out, ctx, action, params, &err);
	json_object_put(out);
	if (rc != 0 && !fugue_ec2_is_notfound(&err))
		return fugue_kit_fail_aws(ctx, rc, &err, action);
	return 0;
}

struct delete_wait {
	const char *action;
	const struct json_object *params;
};

/* Answers meaning "something still holds it; it will let go". */
static int is_dependency(int rc, const fugue_aws_error *err)
{
	return rc == FUGUE_ERETRY || strcmp(err->code, "DependencyViolation") == 0 ||
	       strcmp(err->code, "InvalidIPAddress.InUse") == 0 ||
	       strcmp(err->code, "InvalidNetworkInterface.InUse") == 0;
}

static int poll_delete(fugue_ctx *ctx, void *arg, int *done)
{
	struct delete_wait *w = arg;
	struct json_object *out = NULL;
	fugue_aws_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_try(&out, ctx, w->action, w->params, &err);
	json_object_put(out);
	/* gone, or (a detach) no longer attached: what the call was for */
	if (rc == 0 || fugue_ec2_is_notfound(&err) ||
	    strcmp(err.code, "Gateway.NotAttached") == 0) {
		*done = 1;
		return 0;
	}
	if (is_dependency(rc, &err)) {
		*done = 0;
		return 0;
	}
	return fugue_kit_fail_aws(ctx, rc, &err, w->action);
}

int fugue_ec2_delete_retry(fugue_ctx *ctx, const char *action, const struct json_object *params,
                           const char *what, const fugue_kit_wait *wait)
{
	struct delete_wait w = { action, params };
	fugue_kit_wait tuned;
	char text[160];

	snprintf(text, sizeof(text), "%s to be free to delete", what);
	memset(&tuned, 0, sizeof(tuned));
	if (wait) {
		tuned.deadline_ms = wait->deadline_ms;
		tuned.first_ms = wait->first_ms;
		tuned.max_ms = wait->max_ms;
	}
	tuned.what = text;
	if (tuned.deadline_ms <= 0)
		tuned.deadline_ms = DELETE_DEADLINE_MS;
	return fugue_kit_wait_for(ctx, &tuned, poll_delete, &w);
}

int fugue_ec2_remove(fugue_ctx *ctx, const fugue_ec2_kind *kind, const char *action,
                     const char *id, const fugue_kit_wait *wait)
{
	struct json_object *params = json_object_new_object();
	char what[128];
	int rc;

	if (!params) {
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "%s: out of memory", action);
		return FUGUE_ENOMEM;
	}
	fugue_kit_put_str(params, kind->id_param, id);
	snprintf(what, sizeof(what), "%s %s", kind->noun, id);
	rc = fugue_ec2_delete_retry(ctx, action, params, what, wait);
	json_object_put(params);
	return rc;
}

int fugue_ec2_set_attribute(fugue_ctx *ctx, const char *action, const char *id_param,
                            const char *id, const char *attr, struct json_object *value)
{
	struct json_object *params = json_object_new_object();
	struct json_object *wrapped = json_object_new_object();

	if (!params || !wrapped || !value) {
		json_object_put(params);
		json_object_put(wrapped);
		json_object_put(value);
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "%s: out of memory", action);
		return FUGUE_ENOMEM;
	}
	json_object_object_add(wrapped, "Value", value);
	fugue_kit_put_str(params, id_param, id);
	json_object_object_add(params, attr, wrapped);
	return fugue_ec2_do(ctx, action, params);
}
