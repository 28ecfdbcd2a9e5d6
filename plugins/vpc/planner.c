/* planner.c - the vpc planner: AWS.VPC.* through the EC2 API, and the
 * helpers its types share (describing one resource by id, waiting for a
 * state, deleting through dependency delays, ARNs). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const fugue_type_ops *const types[] = {
	&fugue_vpc_vpc,
	&fugue_vpc_subnet,
	&fugue_vpc_internet_gateway,
	&fugue_vpc_route_table,
	&fugue_vpc_security_group,
	&fugue_vpc_elastic_ip,
	&fugue_vpc_nat_gateway,
	NULL,
};

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "vpc",
	.version = "0.1.0",
	.description = "Amazon VPC: networks, subnets, gateways, route tables, security groups, addresses",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}

/* --- shared helpers ------------------------------------------------------------------ */

const fugue_prop fugue_vpc_tag_value[] = { { .name = "value", .kind = FUGUE_KIND_STRING } };

struct json_object *fugue_vpc_member(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

int fugue_vpc_describe_one(struct json_object **item, fugue_ctx *ctx, const fugue_vpc_kind *kind,
                           const char *id)
{
	struct json_object *params = json_object_new_object();
	struct json_object *ids = json_object_new_array();
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_error err;
	int rc;

	*item = NULL;
	if (!params || !ids) {
		json_object_put(params);
		json_object_put(ids);
		return FUGUE_ENOMEM;
	}
	json_object_array_add(ids, json_object_new_string(id));
	json_object_object_add(params, kind->id_param, ids);
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

struct state_wait {
	const fugue_vpc_kind *kind;
	const char *id;
	const char *want;           /* NULL: gone */
	struct json_object *last;   /* owned */
};

static int poll_state(fugue_ctx *ctx, void *arg, int *done)
{
	struct state_wait *w = arg;
	struct json_object *item = NULL;
	const char *state;
	int rc;

	rc = fugue_vpc_describe_one(&item, ctx, w->kind, w->id);
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
		*done = state && strcmp(state, w->want) == 0;
	else
		*done = state && strcmp(state, "deleted") == 0;
	if (w->want && state && strcmp(state, "failed") == 0) {
		const char *why = fugue_aws_get_string(item, "failureMessage");

		ctx->host->fail(ctx, FUGUE_EAWS, NULL, "%s %s failed: %s", w->kind->noun, w->id,
		                why ? why : "no reason given");
		return FUGUE_EAWS;
	}
	return 0;
}

int fugue_vpc_wait_state(struct json_object **item, fugue_ctx *ctx, const fugue_vpc_kind *kind,
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

struct delete_wait {
	const char *action;
	const struct json_object *params;
};

/* Codes meaning "something still holds it; it will let go". */
static int is_dependency(const fugue_aws_error *err)
{
	return strcmp(err->code, "DependencyViolation") == 0 ||
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
	if (is_dependency(&err)) {
		*done = 0;
		return 0;
	}
	return fugue_kit_fail_aws(ctx, rc, &err, w->action);
}

int fugue_vpc_delete_call(fugue_ctx *ctx, const char *action, const struct json_object *params,
                          const char *what)
{
	struct delete_wait w = { action, params };
	fugue_kit_wait wait;
	char text[160];

	snprintf(text, sizeof(text), "%s to be free to delete", what);
	memset(&wait, 0, sizeof(wait));
	wait.what = text;
	wait.deadline_ms = 180000;
	return fugue_kit_wait_for(ctx, &wait, poll_delete, &w);
}

const char *fugue_vpc_arn(char *buf, size_t size, const char *region, const char *owner,
                          const char *kind, const char *id)
{
	const char *partition = "aws";

	if (region && strncmp(region, "cn-", 3) == 0)
		partition = "aws-cn";
	else if (region && strncmp(region, "us-gov-", 7) == 0)
		partition = "aws-us-gov";
	snprintf(buf, size, "arn:%s:ec2:%s:%s:%s/%s", partition, region ? region : "",
	         owner ? owner : "", kind, id);
	return buf;
}

const char *fugue_vpc_ref_name(const struct json_object *v)
{
	struct json_object *name = fugue_vpc_member(v, "$ref");

	return name && json_object_is_type(name, json_type_string) ? json_object_get_string(name)
	                                                           : NULL;
}

struct json_object *fugue_vpc_state_props(const struct json_object *state)
{
	return fugue_vpc_member(state, "properties");
}

struct json_object *fugue_vpc_state_attrs(const struct json_object *state)
{
	return fugue_vpc_member(state, "attributes");
}

struct json_object *fugue_vpc_user_tags(const struct json_object *described)
{
	struct json_object *set = fugue_aws_list(described, "tagSet");

	return set ? fugue_ec2_tags_map(set, 1) : json_object_new_object();
}

int fugue_vpc_changed(const struct json_object *changed, const char *name)
{
	size_t i, n;

	if (!changed || !json_object_is_type(changed, json_type_array))
		return 0;
	n = json_object_array_length(changed);
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(changed, i));

		if (s && strcmp(s, name) == 0)
			return 1;
	}
	return 0;
}

void fugue_vpc_fix_tags(fugue_ctx *ctx, struct json_object *state,
                        const struct json_object *declared)
{
	struct json_object *tags = fugue_vpc_member(fugue_vpc_state_props(state), "tags");
	const struct json_object *wanted = fugue_vpc_member(declared, "tags");
	struct json_object *drop = json_object_new_array();
	size_t i;

	if (!tags || !drop || !json_object_is_type(tags, json_type_object)) {
		json_object_put(drop);
		return;
	}
	json_object_object_foreach(tags, key, value) {
		(void)value;
		if (fugue_vpc_member(wanted, key))
			continue;
		if (!ctx->tags || fugue_vpc_member(ctx->tags, key))
			json_object_array_add(drop, json_object_new_string(key));
	}
	for (i = 0; i < json_object_array_length(drop); i++)
		json_object_object_del(tags,
		                       json_object_get_string(json_object_array_get_idx(drop, i)));
	json_object_put(drop);
}

int fugue_vpc_observe(fugue_ctx *ctx, fugue_observation *items, size_t n, const char *action,
                      const char *result_key, const char *id_param, const char *id_key,
                      fugue_ec2_state_fn make_state,
                      int (*skip)(const struct json_object *described))
{
	size_t i;
	int rc;

	rc = fugue_ec2_observe(ctx, items, n, action, result_key, id_param, id_key, make_state,
	                       skip);
	for (i = 0; rc == 0 && i < n; i++) {
		if (items[i].status == 0 && items[i].state)
			fugue_vpc_fix_tags(ctx, items[i].state, items[i].declared);
	}
	return rc;
}
