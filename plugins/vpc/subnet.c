/* subnet.c - AWS.VPC.Subnet: a range of a VPC in one availability zone.
 *
 * vpc, cidrBlock and availabilityZone force replacement (AWS cannot move
 * or resize a subnet); mapPublicIpOnLaunch changes in place with
 * ModifySubnetAttribute; tags with CreateTags / DeleteTags. */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const fugue_prop subnet_props[] = {
	{ .name = "vpc", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "AWS.VPC.Vpc", .doc = "the VPC it divides; replaces" },
	{ .name = "cidrBlock", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "its IPv4 range, inside the VPC's, /16 to /28; replaces" },
	{ .name = "availabilityZone", .kind = FUGUE_KIND_STRING,
	  .doc = "the zone (e.g. us-east-1a; default: AWS picks one); replaces" },
	{ .name = "mapPublicIpOnLaunch", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "false", .doc = "instances launched in it get a public IPv4 address" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr subnet_attrs[] = {
	{ "arn", "the subnet's ARN" },
	{ "availabilityZone", "the zone it is in (also when AWS picked it)" },
	{ "cidrBlock", "its IPv4 range" },
	{ NULL, NULL },
};

/* --- validate ------------------------------------------------------------------------ */

static int subnet_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *cidr = fugue_kit_str(props, "cidrBlock");
	const char *az = fugue_kit_str(props, "availabilityZone");
	const char *outer = fugue_kit_declared_str(ctx, fugue_kit_get(props, "vpc"), "cidrBlock");
	uint32_t addr;
	int prefix;
	int bad = 0;

	if (cidr && fugue_kit_cidr_parse(cidr, &addr, &prefix) != 0) {
		ctx->host->report(ctx, "cidrBlock",
		                  "'%s' is not an IPv4 CIDR block (e.g. 10.0.1.0/24)", cidr);
		bad = 1;
	} else if (cidr && (prefix < 16 || prefix > 28)) {
		ctx->host->report(ctx, "cidrBlock", "a subnet's block must be /16 to /28, not /%d",
		                  prefix);
		bad = 1;
	} else if (cidr && outer && fugue_kit_cidr_parse(outer, &addr, &prefix) == 0 &&
	           !fugue_kit_cidr_contains(outer, cidr)) {
		ctx->host->report(ctx, "cidrBlock", "%s is not inside the vpc's block %s", cidr,
		                  outer);
		bad = 1;
	}
	if (az && ctx->region && !fugue_kit_az_in_region(az, ctx->region)) {
		ctx->host->report(ctx, "availabilityZone", "'%s' is not a zone of region %s", az,
		                  ctx->region);
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* --- state --------------------------------------------------------------------------- */

static struct json_object *subnet_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	const char *id = fugue_aws_get_string(d, "subnetId");
	struct json_object *arn = fugue_kit_aws_str(d, "subnetArn");
	char buf[256];

	if (!props || !attrs || !id) {
		json_object_put(props);
		json_object_put(attrs);
		json_object_put(arn);
		return NULL;
	}
	fugue_kit_put(props, "vpc", fugue_kit_aws_str(d, "vpcId"));
	fugue_kit_put(props, "cidrBlock", fugue_kit_aws_str(d, "cidrBlock"));
	fugue_kit_put(props, "availabilityZone", fugue_kit_aws_str(d, "availabilityZone"));
	fugue_kit_put(props, "mapPublicIpOnLaunch", fugue_kit_aws_bool(d, "mapPublicIpOnLaunch"));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	if (!arn && fugue_aws_get_string(d, "ownerId"))
		arn = json_object_new_string(fugue_ec2_arn(buf, sizeof(buf), ctx->region,
		                                           fugue_aws_get_string(d, "ownerId"),
		                                           "subnet", id));
	fugue_kit_put(attrs, "arn", arn);
	fugue_kit_put(attrs, "availabilityZone", fugue_kit_aws_str(d, "availabilityZone"));
	fugue_kit_put(attrs, "cidrBlock", fugue_kit_aws_str(d, "cidrBlock"));
	return fugue_kit_state(id, props, attrs);
}

static const fugue_ec2_kind subnet_kind = {
	.noun = "subnet", .action = "DescribeSubnets", .result_key = "subnetSet",
	.id_param = "SubnetId", .id_key = "subnetId", .make_state = subnet_state,
};

/* --- create / update / remove -------------------------------------------------------- */

static int set_map_public(fugue_ctx *ctx, const char *id, int on)
{
	return fugue_ec2_set_attribute(ctx, "ModifySubnetAttribute", "SubnetId", id,
	                               "MapPublicIpOnLaunch", json_object_new_boolean(on));
}

static int subnet_create(fugue_ctx *ctx, const struct json_object *props,
                         struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "VpcId", fugue_kit_str(props, "vpc"));
	fugue_kit_put_str(params, "CidrBlock", fugue_kit_str(props, "cidrBlock"));
	fugue_kit_put_str(params, "AvailabilityZone", fugue_kit_str(props, "availabilityZone"));
	fugue_ec2_tag_spec(params, "subnet", ctx, fugue_kit_get(props, "tags"));
	rc = fugue_ec2_create(id, sizeof(id), ctx, "CreateSubnet", params, "subnet.subnetId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	rc = fugue_ec2_wait_state(NULL, ctx, &subnet_kind, id, "available");
	if (rc == 0 && fugue_kit_bool(props, "mapPublicIpOnLaunch", 0))
		rc = set_map_public(ctx, id, 1);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &subnet_kind, id, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int subnet_update(fugue_ctx *ctx, const struct json_object *state,
                         const struct json_object *props, const struct json_object *changed,
                         struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	int rc = 0;

	*out = NULL;
	if (fugue_kit_has_string(changed, "mapPublicIpOnLaunch"))
		rc = set_map_public(ctx, id, fugue_kit_bool(props, "mapPublicIpOnLaunch", 0));
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_update_tags(ctx, &subnet_kind, id, props);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &subnet_kind, id, props);
	return rc;
}

static int subnet_remove(fugue_ctx *ctx, const struct json_object *state)
{
	/* A NAT gateway's or a load balancer's interfaces linger a while after
	 * it is deleted: DependencyViolation until they are gone. */
	return fugue_ec2_remove(ctx, &subnet_kind, "DeleteSubnet", fugue_kit_str(state, "id"),
	                        NULL);
}

static int subnet_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &subnet_kind);
}

const fugue_type_ops fugue_vpc_subnet = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.VPC.Subnet",
	.doc = "a range of a VPC's addresses in one availability zone",
	.props = subnet_props,
	.attrs = subnet_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = subnet_validate,
	.create = subnet_create,
	.update = subnet_update,
	.remove = subnet_remove,
	.observe = subnet_observe,
};
