/* elastic_ip.c - AWS.VPC.ElasticIp: a public IPv4 address kept across
 * instances and NAT gateways.
 *
 * Its id is the allocation id (what a NAT gateway's elasticIp refers to);
 * tags change in place; remove() releases it, retrying while whatever held
 * it (a NAT gateway deleted just before) lets go. */
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const char *const domains[] = { "vpc", NULL };

static const fugue_prop eip_props[] = {
	{ .name = "domain", .kind = FUGUE_KIND_STRING, .default_json = "\"vpc\"",
	  .enum_values = domains, .doc = "vpc (EC2-Classic addresses no longer exist)" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
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
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	fugue_kit_put(attrs, "publicIp", fugue_kit_aws_str(d, "publicIp"));
	fugue_kit_put(attrs, "allocationId", json_object_new_string(id));
	return fugue_kit_state(id, props, attrs);
}

static const fugue_ec2_kind eip_kind = {
	.noun = "elastic ip", .action = "DescribeAddresses", .result_key = "addressesSet",
	.id_param = "AllocationId", .id_key = "allocationId", .make_state = eip_state,
};

static int eip_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "Domain", "vpc");
	fugue_ec2_tag_spec(params, "elastic-ip", ctx, fugue_kit_get(props, "tags"));
	rc = fugue_ec2_create(id, sizeof(id), ctx, "AllocateAddress", params, "allocationId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	rc = fugue_ec2_wait_state(NULL, ctx, &eip_kind, id, "");
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &eip_kind, id, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int eip_update(fugue_ctx *ctx, const struct json_object *state,
                      const struct json_object *props, const struct json_object *changed,
                      struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	int rc = 0;

	*out = NULL;
	if (fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_update_tags(ctx, &eip_kind, id, props);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &eip_kind, id, props);
	return rc;
}

static int eip_remove(fugue_ctx *ctx, const struct json_object *state)
{
	/* whatever held it (a NAT gateway deleted just before) lets go slowly */
	return fugue_ec2_remove(ctx, &eip_kind, "ReleaseAddress", fugue_kit_str(state, "id"),
	                        NULL);
}

static int eip_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &eip_kind);
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
