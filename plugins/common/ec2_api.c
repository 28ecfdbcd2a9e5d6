/* ec2_api.c - see ec2_api.h: calls, paged Describes, filters, ids, ARNs
 * (tags: ec2_tags.c; observe: ec2_observe.c; one resource: ec2_resource.c).
 *
 * Wire names: the EC2 Query protocol sends a member by its locationName
 * with the first letter capitalized ("ResourceId", "Tag", "Key"), and the
 * SDK sends the names it is given, so everything below is written that
 * way. */
#include "ec2_api.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_internal.h"
#include "planner_kit.h"

/* --- calls ---------------------------------------------------------------------- */

int fugue_ec2_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const struct json_object *params, fugue_aws_error *err)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;

	req.service = "ec2";
	req.region = ctx->region;
	req.action = action;
	req.params = params;
	return fugue_kit_aws_try(out, ctx, &req, NULL, err);
}

int fugue_ec2_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params)
{
	fugue_aws_error err;
	int rc = fugue_ec2_try(out, ctx, action, params, &err);

	if (rc != 0)
		fugue_kit_fail_aws(ctx, rc, &err, action);
	return rc;
}

int fugue_ec2_do(fugue_ctx *ctx, const char *action, struct json_object *params)
{
	struct json_object *out = NULL;
	int rc = fugue_ec2_call(&out, ctx, action, params);

	json_object_put(out);
	json_object_put(params);
	return rc;
}

/* The elements of the INNER list of every element of OUTER, in one new array. */
static struct json_object *flatten(const struct json_object *outer, const char *inner)
{
	struct json_object *all = json_object_new_array();
	size_t i, j, n, m;

	if (!all || !outer)
		return all;
	n = json_object_array_length(outer);
	for (i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(outer, i);
		struct json_object *list = fugue_aws_list(el, inner);

		m = list ? json_object_array_length(list) : 0;
		for (j = 0; j < m; j++)
			json_object_array_add(all,
			                      json_object_get(json_object_array_get_idx(list, j)));
	}
	return all;
}

int fugue_ec2_describe_try(struct json_object **items, fugue_ctx *ctx, const char *action,
                           const struct json_object *params, const char *result_key,
                           fugue_aws_error *err)
{
	fugue_aws_paginator pager = { "NextToken", "nextToken", NULL, NULL };
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;
	char outer[128];
	const char *inner = strchr(result_key, '/');
	int rc;

	*items = NULL;
	/* "reservationSet/instancesSet": pages of reservations, items the
	 * instances of every reservation. */
	snprintf(outer, sizeof(outer), "%.*s",
	         (int)(inner ? (size_t)(inner - result_key) : strlen(result_key)), result_key);
	pager.result_key = outer;
	req.service = "ec2";
	req.region = ctx->region;
	req.action = action;
	req.params = params;
	rc = fugue_kit_aws_try(&out, ctx, &req, &pager, err);
	if (rc != 0)
		return rc;
	list = fugue_aws_list(out, outer);
	if (inner)
		*items = flatten(list, inner + 1);
	else /* the list outlives the response: take a reference before putting it */
		*items = list ? json_object_get(list) : json_object_new_array();
	json_object_put(out);
	return *items ? 0 : FUGUE_ENOMEM;
}

int fugue_ec2_describe(struct json_object **items, fugue_ctx *ctx, const char *action,
                       const struct json_object *params, const char *result_key)
{
	fugue_aws_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_describe_try(items, ctx, action, params, result_key, &err);
	if (rc == FUGUE_ENOMEM)
		ctx->host->fail(ctx, rc, NULL, "%s: out of memory", action);
	else if (rc != 0)
		fugue_kit_fail_aws(ctx, rc, &err, action);
	return rc;
}

struct json_object *fugue_ec2_array_member(struct json_object *params, const char *key)
{
	struct json_object *a = NULL;

	if (json_object_object_get_ex(params, key, &a) && json_object_is_type(a, json_type_array))
		return a;
	a = json_object_new_array();
	if (a)
		json_object_object_add(params, key, a);
	return a;
}

void fugue_ec2_filter(struct json_object *params, const char *name, const char *value)
{
	struct json_object *filters, *f, *values;
	size_t i, n;

	if (!params || !name || !value || !(filters = fugue_ec2_array_member(params, "Filter")))
		return;
	/* A second value for a filter already there widens it (AWS ORs the
	 * values of one filter and ANDs filters). */
	n = json_object_array_length(filters);
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(filters, i);
		if (fugue_kit_str(f, "Name") && strcmp(fugue_kit_str(f, "Name"), name) == 0) {
			values = fugue_ec2_array_member(f, "Value");
			if (values)
				json_object_array_add(values, json_object_new_string(value));
			return;
		}
	}
	f = json_object_new_object();
	values = json_object_new_array();
	if (!f || !values) {
		json_object_put(f);
		json_object_put(values);
		return;
	}
	json_object_array_add(values, json_object_new_string(value));
	json_object_object_add(f, "Name", json_object_new_string(name));
	json_object_object_add(f, "Value", values);
	json_object_array_add(filters, f);
}

void fugue_ec2_put_id(struct json_object *params, const char *key, const char *id)
{
	struct json_object *list = json_object_new_array();

	if (list && id)
		json_object_array_add(list, json_object_new_string(id));
	fugue_kit_put(params, key, list);
}

const char *fugue_ec2_arn(char *buf, size_t size, const char *region, const char *owner,
                          const char *type, const char *id)
{
	const char *partition = "aws";

	if (region && strncmp(region, "cn-", 3) == 0)
		partition = "aws-cn";
	else if (region && strncmp(region, "us-gov-", 7) == 0)
		partition = "aws-us-gov";
	snprintf(buf, size, "arn:%s:ec2:%s:%s:%s/%s", partition, region ? region : "",
	         owner ? owner : "", type, id ? id : "");
	return buf;
}

int fugue_ec2_is_notfound(const fugue_aws_error *err)
{
	size_t n;

	if (!err)
		return 0;
	n = strlen(err->code);
	return n >= 8 && strcmp(err->code + n - 8, "NotFound") == 0;
}
