/* elastic_ip.c - AWS.VPC.ElasticIp: a public IPv4 address kept across
 * instances and NAT gateways.
 *
 * Its id is the allocation id (what a NAT gateway's elasticIp refers to);
 * tags change in place; remove() releases it, retrying while whatever held
 * it (a NAT gateway deleted just before) lets go. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const fugue_vpc_kind eip_kind = { "DescribeAddresses", "addressesSet", "AllocationId",
	                                 "elastic ip" };

static const char *const domains[] = { "vpc", NULL };

static const fugue_prop eip_props[] = {
	{ .name = "domain", .kind = FUGUE_KIND_STRING, .default_json = "\"vpc\"",
	  .enum_values = domains, .doc = "vpc (EC2-Classic addresses no longer exist)" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_vpc_tag_value, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr eip_attrs[] = {
	{ "publicIp", "the address" },
	{ "allocationId", "the allocation id (also the id)" },
	{ NULL, NULL },
};

static struct json_object *eip_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	const char *id = fugue_aws_get_string(d, "allocationId");

	(void)ctx;
	if (!props || !attrs || !id) {
		json_object_put(props);
		json_object_put(attrs);
		return NULL;
	}
	fugue_kit_put(props, "domain", fugue_kit_aws_str(d, "domain"));
	fugue_kit_put(props, "tags", fugue_vpc_user_tags(d));
	fugue_kit_put(attrs, "publicIp", fugue_kit_aws_str(d, "publicIp"));
	fugue_kit_put(attrs, "allocationId", json_object_new_string(id));
	return fugue_kit_state(id, props, attrs);
}

static int eip_read(fugue_ctx *ctx, const char *id, struct json_object **out,
                    struct json_object **d)
{
	struct json_object *item = NULL;
	int rc = fugue_vpc_describe_one(&item, ctx, &eip_kind, id);

	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "elastic ip %s not found", id);
	if (rc != 0)
		return rc;
	if (out) {
		*out = eip_state(ctx, item);
		if (!*out) {
			json_object_put(item);
			return FUGUE_ENOMEM;
		}
	}
	if (d)
		*d = item;
	else
		json_object_put(item);
	return 0;
}

static int eip_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	const char *got;
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "Domain", json_object_new_string("vpc"));
	fugue_ec2_tag_spec(params, "elastic-ip", ctx, fugue_vpc_member(props, "tags"));
	rc = fugue_ec2_call(&res, ctx, "AllocateAddress", params);
	json_object_put(params);
	if (rc != 0)
		return rc;
	got = fugue_aws_get_string(res, "allocationId");
	snprintf(id, sizeof(id), "%s", got ? got : "");
	json_object_put(res);
	if (!id[0]) {
		ctx->host->fail(ctx, FUGUE_EPROTO, NULL,
		                "allocateaddress answered without an allocation id");
		return FUGUE_EPROTO;
	}
	ctx->host->progress(ctx, "allocated %s", id);
	rc = fugue_vpc_wait_state(NULL, ctx, &eip_kind, id, "");
	if (rc == 0)
		rc = eip_read(ctx, id, out, NULL);
	if (rc == 0)
		fugue_vpc_fix_tags(ctx, *out, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int eip_update(fugue_ctx *ctx, const struct json_object *state,
                      const struct json_object *props, const struct json_object *changed,
                      struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *d = NULL;
	int rc = 0;

	*out = NULL;
	if (fugue_vpc_changed(changed, "tags")) {
		rc = eip_read(ctx, id, NULL, &d);
		if (rc == 0)
			rc = fugue_ec2_sync_tags(ctx, id, fugue_aws_list(d, "tagSet"),
			                         fugue_vpc_member(props, "tags"));
		json_object_put(d);
	}
	if (rc == 0)
		rc = eip_read(ctx, id, out, NULL);
	if (rc == 0)
		fugue_vpc_fix_tags(ctx, *out, props);
	return rc;
}

static int eip_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *params = json_object_new_object();
	char what[96];
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "AllocationId", json_object_new_string(id));
	snprintf(what, sizeof(what), "elastic ip %s", id);
	rc = fugue_vpc_delete_call(ctx, "ReleaseAddress", params, what);
	json_object_put(params);
	return rc;
}

static int eip_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_vpc_observe(ctx, items, n, "DescribeAddresses", "addressesSet", "AllocationId",
	                         "allocationId", eip_state, NULL);
}

const fugue_type_ops fugue_vpc_elastic_ip = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.VPC.ElasticIp",
	.doc = "an elastic IPv4 address for a VPC",
	.props = eip_props,
	.attrs = eip_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = NULL,
	.create = eip_create,
	.update = eip_update,
	.remove = eip_remove,
	.observe = eip_observe,
};
