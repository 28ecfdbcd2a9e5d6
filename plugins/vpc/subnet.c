/* subnet.c - AWS.VPC.Subnet: a range of a VPC in one availability zone.
 *
 * vpc, cidrBlock and availabilityZone force replacement (AWS cannot move
 * or resize a subnet); mapPublicIpOnLaunch changes in place with
 * ModifySubnetAttribute; tags with CreateTags / DeleteTags. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const fugue_vpc_kind subnet_kind = { "DescribeSubnets", "subnetSet", "SubnetId", "subnet" };

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
	  .items = fugue_vpc_tag_value, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr subnet_attrs[] = {
	{ "arn", "the subnet's ARN" },
	{ "availabilityZone", "the zone it is in (also when AWS picked it)" },
	{ "cidrBlock", "its IPv4 range" },
	{ NULL, NULL },
};

/* --- validate ------------------------------------------------------------------------ */

/* The containing VPC's declared block, when it is a plain string. */
static const char *vpc_block(fugue_ctx *ctx, const struct json_object *props)
{
	const char *vpc = fugue_vpc_ref_name(fugue_vpc_member(props, "vpc"));
	const struct json_object *declared;
	struct json_object *block;

	if (!vpc || !ctx->host->declared)
		return NULL;
	declared = ctx->host->declared(ctx, vpc);
	block = fugue_vpc_member(declared, "cidrBlock");
	return block && json_object_is_type(block, json_type_string) ? json_object_get_string(block)
	                                                             : NULL;
}

static int subnet_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *cidr = fugue_kit_str(props, "cidrBlock");
	const char *az = fugue_kit_str(props, "availabilityZone");
	const char *outer = vpc_block(ctx, props);
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
	fugue_kit_put(props, "tags", fugue_vpc_user_tags(d));
	if (!arn && fugue_aws_get_string(d, "ownerId"))
		arn = json_object_new_string(fugue_vpc_arn(buf, sizeof(buf), ctx->region,
		                                           fugue_aws_get_string(d, "ownerId"),
		                                           "subnet", id));
	fugue_kit_put(attrs, "arn", arn);
	fugue_kit_put(attrs, "availabilityZone", fugue_kit_aws_str(d, "availabilityZone"));
	fugue_kit_put(attrs, "cidrBlock", fugue_kit_aws_str(d, "cidrBlock"));
	return fugue_kit_state(id, props, attrs);
}

/* The state of subnet ID now; *D (may be NULL) gets its description. */
static int subnet_read(fugue_ctx *ctx, const char *id, struct json_object **out,
                       struct json_object **d)
{
	struct json_object *item = NULL;
	int rc = fugue_vpc_describe_one(&item, ctx, &subnet_kind, id);

	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "subnet %s not found", id);
	if (rc != 0)
		return rc;
	if (out) {
		*out = subnet_state(ctx, item);
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

/* --- create / update / remove -------------------------------------------------------- */

static int set_map_public(fugue_ctx *ctx, const char *id, int on)
{
	struct json_object *params = json_object_new_object();
	struct json_object *value = json_object_new_object();
	struct json_object *out = NULL;
	int rc;

	if (!params || !value) {
		json_object_put(params);
		json_object_put(value);
		return FUGUE_ENOMEM;
	}
	json_object_object_add(value, "Value", json_object_new_boolean(on));
	json_object_object_add(params, "SubnetId", json_object_new_string(id));
	json_object_object_add(params, "MapPublicIpOnLaunch", value);
	rc = fugue_ec2_call(&out, ctx, "ModifySubnetAttribute", params);
	json_object_put(out);
	json_object_put(params);
	return rc;
}

static int subnet_create(fugue_ctx *ctx, const struct json_object *props,
                         struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	const char *az = fugue_kit_str(props, "availabilityZone");
	const char *got;
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "VpcId",
	                       json_object_new_string(fugue_kit_str(props, "vpc")));
	json_object_object_add(params, "CidrBlock",
	                       json_object_new_string(fugue_kit_str(props, "cidrBlock")));
	if (az)
		json_object_object_add(params, "AvailabilityZone", json_object_new_string(az));
	fugue_ec2_tag_spec(params, "subnet", ctx, fugue_vpc_member(props, "tags"));
	rc = fugue_ec2_call(&res, ctx, "CreateSubnet", params);
	json_object_put(params);
	if (rc != 0)
		return rc;
	got = fugue_aws_get_string(res, "subnet.subnetId");
	snprintf(id, sizeof(id), "%s", got ? got : "");
	json_object_put(res);
	if (!id[0]) {
		ctx->host->fail(ctx, FUGUE_EPROTO, NULL,
		                "createsubnet answered without a subnet id");
		return FUGUE_EPROTO;
	}
	ctx->host->progress(ctx, "created %s", id);
	rc = fugue_vpc_wait_state(NULL, ctx, &subnet_kind, id, "available");
	if (rc == 0 && fugue_kit_bool(props, "mapPublicIpOnLaunch", 0))
		rc = set_map_public(ctx, id, 1);
	if (rc == 0)
		rc = subnet_read(ctx, id, out, NULL);
	if (rc == 0)
		fugue_vpc_fix_tags(ctx, *out, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int subnet_update(fugue_ctx *ctx, const struct json_object *state,
                         const struct json_object *props, const struct json_object *changed,
                         struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *d = NULL;
	int rc = 0;

	*out = NULL;
	if (fugue_vpc_changed(changed, "mapPublicIpOnLaunch"))
		rc = set_map_public(ctx, id, fugue_kit_bool(props, "mapPublicIpOnLaunch", 0));
	if (rc == 0 && fugue_vpc_changed(changed, "tags")) {
		rc = subnet_read(ctx, id, NULL, &d);
		if (rc == 0)
			rc = fugue_ec2_sync_tags(ctx, id, fugue_aws_list(d, "tagSet"),
			                         fugue_vpc_member(props, "tags"));
		json_object_put(d);
	}
	if (rc == 0)
		rc = subnet_read(ctx, id, out, NULL);
	if (rc == 0)
		fugue_vpc_fix_tags(ctx, *out, props);
	return rc;
}

static int subnet_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *params = json_object_new_object();
	char what[96];
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "SubnetId", json_object_new_string(id));
	snprintf(what, sizeof(what), "subnet %s", id);
	/* A NAT gateway's or a load balancer's interfaces linger a while after
	 * it is deleted: DependencyViolation until they are gone. */
	rc = fugue_vpc_delete_call(ctx, "DeleteSubnet", params, what);
	json_object_put(params);
	return rc;
}

static int subnet_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_vpc_observe(ctx, items, n, "DescribeSubnets", "subnetSet", "SubnetId",
	                         "subnetId", subnet_state, NULL);
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
