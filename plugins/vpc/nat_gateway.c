/* nat_gateway.c - AWS.VPC.NatGateway: outbound internet (public) or
 * private address translation for a VPC's private subnets.
 *
 * subnet, elasticIp and connectivityType force replacement (the API has no
 * way to move or re-address a NAT gateway); tags change in place. Create
 * takes a ClientToken and waits until "available" (minutes on AWS);
 * remove() deletes and waits until "deleted". A deleted, deleting or failed
 * gateway does not count as existing: AWS lists deleted ones for an hour. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const char *const connectivity[] = { "public", "private", NULL };

static const fugue_prop nat_props[] = {
	{ .name = "subnet", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "AWS.VPC.Subnet",
	  .doc = "the subnet it lives in (a public one for public); replaces" },
	{ .name = "elasticIp", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.ElasticIp",
	  .doc = "its public address (public only; required there); replaces" },
	{ .name = "connectivityType", .kind = FUGUE_KIND_STRING, .default_json = "\"public\"",
	  .enum_values = connectivity, .doc = "public (to the internet) or private; replaces" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr nat_attrs[] = {
	{ "publicIp", "its public address (public gateways)" },
	{ "privateIp", "its address in the subnet" },
	{ NULL, NULL },
};

static int nat_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *type = fugue_kit_str(props, "connectivityType");
	int has_eip = fugue_kit_get(props, "elasticIp") != NULL;
	int is_private = type && strcmp(type, "private") == 0;

	if (!is_private && !has_eip) {
		ctx->host->report(ctx, "elasticIp", "a public nat gateway needs an elasticIp");
		return FUGUE_EINVAL;
	}
	if (is_private && has_eip) {
		ctx->host->report(ctx, "elasticIp", "a private nat gateway takes no elasticIp");
		return FUGUE_EINVAL;
	}
	return 0;
}

/* Gateways that no longer count (AWS keeps listing deleted ones). */
static int nat_skip(const struct json_object *d)
{
	const char *state = fugue_aws_get_string(d, "state");

	return state && (strcmp(state, "deleted") == 0 || strcmp(state, "deleting") == 0 ||
	                 strcmp(state, "failed") == 0);
}

static struct json_object *nat_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	const char *id = fugue_aws_get_string(d, "natGatewayId");
	const char *type = fugue_aws_get_string(d, "connectivityType");

	(void)ctx;
	if (!props || !attrs || !id) {
		json_object_put(props);
		json_object_put(attrs);
		return NULL;
	}
	fugue_kit_put(props, "subnet", fugue_kit_aws_str(d, "subnetId"));
	if (!type || strcmp(type, "private") != 0)
		fugue_kit_put(props, "elasticIp",
		              fugue_kit_aws_str(d, "natGatewayAddressSet.0.allocationId"));
	fugue_kit_put(props, "connectivityType", fugue_kit_aws_str(d, "connectivityType"));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	fugue_kit_put(attrs, "publicIp", fugue_kit_aws_str(d, "natGatewayAddressSet.0.publicIp"));
	fugue_kit_put(attrs, "privateIp", fugue_kit_aws_str(d, "natGatewayAddressSet.0.privateIp"));
	return fugue_kit_state(id, props, attrs);
}

static const fugue_ec2_kind nat_kind = {
	.noun = "nat gateway", .action = "DescribeNatGateways", .result_key = "natGatewaySet",
	.id_param = "NatGatewayId", .id_key = "natGatewayId", .make_state = nat_state,
	.skip = nat_skip,
};

/* A public NAT gateway needs an internet gateway attached to its VPC when
 * it is made, or AWS fails it ("Network vpc-... has no Internet gateway
 * attached"). Nothing in a composition orders the two (the NAT gateway
 * references its subnet and address, not the gateway), so the planner
 * waits for the attachment, as for any eventual consistency. */
struct igw_wait {
	const char *vpc;
};

static int igw_attached(fugue_ctx *ctx, void *arg, int *done)
{
	const struct igw_wait *w = arg;
	struct json_object *params = json_object_new_object();
	struct json_object *found = NULL;
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	fugue_ec2_filter(params, "attachment.vpc-id", w->vpc);
	rc = fugue_ec2_describe(&found, ctx, "DescribeInternetGateways", params,
	                        "internetGatewaySet");
	json_object_put(params);
	if (rc == 0)
		*done = fugue_kit_len(found) > 0;
	json_object_put(found);
	return rc;
}

static int wait_for_internet_gateway(fugue_ctx *ctx, const char *subnet_id)
{
	struct json_object *params = json_object_new_object();
	struct json_object *subnets = NULL;
	struct igw_wait arg;
	fugue_kit_wait w = { 0 };
	char what[128];
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	fugue_ec2_filter(params, "subnet-id", subnet_id);
	rc = fugue_ec2_describe(&subnets, ctx, "DescribeSubnets", params, "subnetSet");
	json_object_put(params);
	if (rc != 0)
		return rc;
	arg.vpc = fugue_kit_str(fugue_kit_at(subnets, 0), "vpcId");
	if (!arg.vpc) {
		/* the create says what is wrong with the subnet */
		json_object_put(subnets);
		return 0;
	}
	snprintf(what, sizeof(what), "an internet gateway attached to %s", arg.vpc);
	w.what = what;
	rc = fugue_kit_wait_for(ctx, &w, igw_attached, &arg);
	json_object_put(subnets);
	return rc;
}

static int nat_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	const char *type = fugue_kit_str(props, "connectivityType");
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	if (!type || strcmp(type, "public") == 0) {
		rc = wait_for_internet_gateway(ctx, fugue_kit_str(props, "subnet"));
		if (rc != 0) {
			json_object_put(params);
			return rc;
		}
	}
	fugue_kit_put_str(params, "SubnetId", fugue_kit_str(props, "subnet"));
	fugue_kit_put_str(params, "AllocationId", fugue_kit_str(props, "elasticIp"));
	fugue_kit_put_str(params, "ConnectivityType", type ? type : "public");
	fugue_kit_put_str(params, "ClientToken", ctx->client_token);
	fugue_ec2_tag_spec(params, "natgateway", ctx, fugue_kit_get(props, "tags"));
	rc = fugue_ec2_create(id, sizeof(id), ctx, "CreateNatGateway", params,
	                      "natGateway.natGatewayId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	rc = fugue_ec2_wait_state(NULL, ctx, &nat_kind, id, "available");
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &nat_kind, id, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int nat_update(fugue_ctx *ctx, const struct json_object *state,
                      const struct json_object *props, const struct json_object *changed,
                      struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	int rc = 0;

	*out = NULL;
	if (fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_update_tags(ctx, &nat_kind, id, props);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &nat_kind, id, props);
	return rc;
}

static int nat_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *params = json_object_new_object();
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "NatGatewayId", id);
	rc = fugue_ec2_delete(ctx, "DeleteNatGateway", params);
	json_object_put(params);
	/* its address and subnet are free only once it is deleted */
	if (rc == 0)
		rc = fugue_ec2_wait_state(NULL, ctx, &nat_kind, id, NULL);
	return rc;
}

static int nat_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &nat_kind);
}

const fugue_type_ops fugue_vpc_nat_gateway = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.VPC.NatGateway",
	.doc = "a NAT gateway: private subnets reach out, nothing reaches in",
	.props = nat_props,
	.attrs = nat_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = nat_validate,
	.create = nat_create,
	.update = nat_update,
	.remove = nat_remove,
	.observe = nat_observe,
};
