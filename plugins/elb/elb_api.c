/* elb_api.c - the classic Elastic Load Balancing API (2012-06-01) as the
 * elb planner's types call it: one call, the paged Describe, tags in
 * batches of 20, attributes, tag sync. AWS query protocol: lists go out as
 * Name.member.N (the SDK flattens arrays), answers are the <ActionResult>. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define ELB_SERVICE "elasticloadbalancing"
#define TAGS_PER_CALL 20 /* DescribeTags' LoadBalancerNames limit */

static fugue_aws_request request(const fugue_ctx *ctx, const char *action,
                                 const struct json_object *params)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;

	req.service = ELB_SERVICE;
	req.region = ctx->region;
	req.action = action;
	req.params = params;
	return req;
}

int fugue_elb_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const struct json_object *params, fugue_aws_error *err)
{
	fugue_aws_request req = request(ctx, action, params);

	return fugue_kit_aws_try(out, ctx, &req, NULL, err);
}

int fugue_elb_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params)
{
	fugue_aws_request req = request(ctx, action, params);

	return fugue_kit_aws_call(out, ctx, &req, NULL);
}

/* A copy of the LoadBalancerDescriptions array of RES (empty when none). */
static struct json_object *descriptions(const struct json_object *res)
{
	struct json_object *list = fugue_aws_list(res, "LoadBalancerDescriptions");

	return list ? fugue_kit_copy(list) : json_object_new_array();
}

int fugue_elb_describe_all(struct json_object **out, fugue_ctx *ctx)
{
	static const fugue_aws_paginator pager = { "Marker", "NextMarker",
		                                   "LoadBalancerDescriptions", NULL };
	struct json_object *params = json_object_new_object();
	fugue_aws_request req = request(ctx, "DescribeLoadBalancers", params);
	struct json_object *res = NULL;
	int rc;

	*out = NULL;
	/* PageSize 400 is the largest AWS allows: fewest calls per cycle. */
	json_object_object_add(params, "PageSize", json_object_new_int(400));
	rc = fugue_kit_aws_call(&res, ctx, &req, &pager);
	json_object_put(params);
	if (rc != 0)
		return rc;
	*out = descriptions(res);
	json_object_put(res);
	return *out ? 0 : FUGUE_ENOMEM;
}

int fugue_elb_describe_one(struct json_object **out, fugue_ctx *ctx, const char *name)
{
	struct json_object *params = json_object_new_object();
	struct json_object *names = json_object_new_array();
	struct json_object *res = NULL;
	fugue_aws_error err;
	int rc;

	*out = NULL;
	json_object_array_add(names, json_object_new_string(name));
	json_object_object_add(params, "LoadBalancerNames", names);
	rc = fugue_elb_try(&res, ctx, "DescribeLoadBalancers", params, &err);
	json_object_put(params);
	if (rc == 0 && !fugue_aws_list(res, "LoadBalancerDescriptions"))
		rc = FUGUE_ENOTFOUND;
	else if (rc == 0)
		*out = json_object_get(fugue_aws_get(res, "LoadBalancerDescriptions.0"));
	else if (rc != FUGUE_ENOTFOUND)
		fugue_kit_fail_aws(ctx, rc, &err, "DescribeLoadBalancers");
	json_object_put(res);
	return rc;
}

/* DescribeTags for NAMES[0..N) (at most 20), added to MAP by name. */
static int describe_tags_chunk(fugue_ctx *ctx, struct json_object *map, const char *const *names,
                               size_t n)
{
	struct json_object *params = json_object_new_object();
	struct json_object *list = json_object_new_array();
	struct json_object *res = NULL, *descs;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		json_object_array_add(list, json_object_new_string(names[i]));
	json_object_object_add(params, "LoadBalancerNames", list);
	rc = fugue_elb_call(&res, ctx, "DescribeTags", params);
	json_object_put(params);
	descs = fugue_aws_list(res, "TagDescriptions");
	for (i = 0; rc == 0 && i < fugue_kit_len(descs); i++) {
		struct json_object *d = fugue_kit_at(descs, i);
		const char *name = fugue_aws_get_string(d, "LoadBalancerName");
		struct json_object *tags = fugue_aws_list(d, "Tags");

		if (name)
			json_object_object_add(map, name, tags ? fugue_kit_copy(tags)
			                                       : json_object_new_array());
	}
	json_object_put(res);
	return rc;
}

int fugue_elb_describe_tags(struct json_object **out, fugue_ctx *ctx, const char *const *names,
                            size_t n)
{
	struct json_object *map = json_object_new_object();
	size_t i;
	int rc = 0;

	*out = NULL;
	if (!map)
		return FUGUE_ENOMEM;
	for (i = 0; rc == 0 && i < n; i += TAGS_PER_CALL)
		rc = describe_tags_chunk(ctx, map, names + i,
		                         n - i < TAGS_PER_CALL ? n - i : TAGS_PER_CALL);
	if (rc != 0) {
		json_object_put(map);
		return rc;
	}
	*out = map;
	return 0;
}

int fugue_elb_attributes(struct json_object **out, fugue_ctx *ctx, const char *name)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	fugue_aws_error err;
	int rc;

	*out = NULL;
	json_object_object_add(params, "LoadBalancerName", json_object_new_string(name));
	rc = fugue_elb_try(&res, ctx, "DescribeLoadBalancerAttributes", params, &err);
	json_object_put(params);
	if (rc == 0) {
		*out = json_object_get(fugue_aws_get(res, "LoadBalancerAttributes"));
		if (!*out)
			*out = json_object_new_object();
	} else if (rc != FUGUE_ENOTFOUND) {
		fugue_kit_fail_aws(ctx, rc, &err, "DescribeLoadBalancerAttributes");
	}
	json_object_put(res);
	return rc;
}

/* AddTags / RemoveTags of the load balancer NAME with TAGS (borrowed). */
static int tags_call(fugue_ctx *ctx, const char *action, const char *name,
                     struct json_object *tags)
{
	struct json_object *params = json_object_new_object();
	struct json_object *names = json_object_new_array();
	int rc;

	json_object_array_add(names, json_object_new_string(name));
	json_object_object_add(params, "LoadBalancerNames", names);
	json_object_object_add(params, "Tags", json_object_get(tags));
	rc = fugue_elb_call(NULL, ctx, action, params);
	json_object_put(params);
	return rc;
}

static int elb_tag_call(fugue_ctx *ctx, void *name, int add, struct json_object *tags)
{
	return tags_call(ctx, add ? "AddTags" : "RemoveTags", name, tags);
}

int fugue_elb_sync_tags(fugue_ctx *ctx, const char *name, const struct json_object *current,
                        const struct json_object *user)
{
	return fugue_kit_sync_tags(ctx, current, user, 1, elb_tag_call, (void *)name);
}
