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

static const fugue_vpc_kind nat_kind = { "DescribeNatGateways", "natGatewaySet", "NatGatewayId",
	                                 "nat gateway" };

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
	  .items = fugue_vpc_tag_value, .doc = "tags besides Fugue's own" },
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
	int has_eip = fugue_vpc_member(props, "elasticIp") != NULL;
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
	fugue_kit_put(props, "tags", fugue_vpc_user_tags(d));
	fugue_kit_put(attrs, "publicIp", fugue_kit_aws_str(d, "natGatewayAddressSet.0.publicIp"));
	fugue_kit_put(attrs, "privateIp", fugue_kit_aws_str(d, "natGatewayAddressSet.0.privateIp"));
	return fugue_kit_state(id, props, attrs);
}

static int nat_read(fugue_ctx *ctx, const char *id, struct json_object **out,
                    struct json_object **d)
{
	struct json_object *item = NULL;
	int rc = fugue_vpc_describe_one(&item, ctx, &nat_kind, id);

	if (rc == 0 && nat_skip(item)) {
		json_object_put(item);
		rc = FUGUE_ENOTFOUND;
	}
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "nat gateway %s not found", id);
	if (rc != 0)
		return rc;
	if (out) {
		*out = nat_state(ctx, item);
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

static int nat_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	const char *type = fugue_kit_str(props, "connectivityType");
	const char *eip = fugue_kit_str(props, "elasticIp");
	const char *got;
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "SubnetId",
	                       json_object_new_string(fugue_kit_str(props, "subnet")));
	if (eip)
		json_object_object_add(params, "AllocationId", json_object_new_string(eip));
	json_object_object_add(params, "ConnectivityType",
	                       json_object_new_string(type ? type : "public"));
	if (ctx->client_token)
		json_object_object_add(params, "ClientToken",
		                       json_object_new_string(ctx->client_token));
	fugue_ec2_tag_spec(params, "natgateway", ctx, fugue_vpc_member(props, "tags"));
	rc = fugue_ec2_call(&res, ctx, "CreateNatGateway", params);
	json_object_put(params);
	if (rc != 0)
		return rc;
	got = fugue_aws_get_string(res, "natGateway.natGatewayId");
	snprintf(id, sizeof(id), "%s", got ? got : "");
	json_object_put(res);
	if (!id[0]) {
		ctx->host->fail(ctx, FUGUE_EPROTO, NULL,
		                "createnatgateway answered without a gateway id");
		return FUGUE_EPROTO;
	}
	ctx->host->progress(ctx, "created %s, waiting for it to be available", id);
	rc = fugue_vpc_wait_state(NULL, ctx, &nat_kind, id, "available");
	if (rc == 0)
		rc = nat_read(ctx, id, out, NULL);
	if (rc == 0)
		fugue_vpc_fix_tags(ctx, *out, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int nat_update(fugue_ctx *ctx, const struct json_object *state,
                      const struct json_object *props, const struct json_object *changed,
                      struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *d = NULL;
	int rc = 0;

	*out = NULL;
	if (fugue_vpc_changed(changed, "tags")) {
		rc = nat_read(ctx, id, NULL, &d);
		if (rc == 0)
			rc = fugue_ec2_sync_tags(ctx, id, fugue_aws_list(d, "tagSet"),
			                         fugue_vpc_member(props, "tags"));
		json_object_put(d);
	}
	if (rc == 0)
		rc = nat_read(ctx, id, out, NULL);
	if (rc == 0)
		fugue_vpc_fix_tags(ctx, *out, props);
	return rc;
}

static int nat_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *params = json_object_new_object();
	struct json_object *out = NULL;
	fugue_aws_error err;
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "NatGatewayId", json_object_new_string(id));
	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_try(&out, ctx, "DeleteNatGateway", params, &err);
	json_object_put(out);
	json_object_put(params);
	if (rc != 0 && fugue_ec2_is_notfound(&err))
		return 0;
	if (rc != 0)
		return fugue_kit_fail_aws(ctx, rc, &err, "DeleteNatGateway");
	/* its address and subnet are free only once it is deleted */
	return fugue_vpc_wait_state(NULL, ctx, &nat_kind, id, NULL);
}

static int nat_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_vpc_observe(ctx, items, n, "DescribeNatGateways", "natGatewaySet",
	                         "NatGatewayId", "natGatewayId", nat_state, nat_skip);
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
