/* vpc.c - AWS.VPC.Vpc: a virtual network.
 *
 * cidrBlock and instanceTenancy force replacement (ModifyVpcTenancy only
 * goes from dedicated to default, so we do not use it); the two DNS
 * attributes change in place with ModifyVpcAttribute, one per call; tags
 * with CreateTags / DeleteTags.
 *
 * DescribeVpcs does not say the DNS attributes: observe() asks
 * DescribeVpcAttribute twice per VPC whose details are due (the only
 * per-resource calls of this planner's observe; the Conductor spreads them
 * over its enforcement passes), and finds the default security group and the
 * main route table of every VPC of the batch with one call each. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const char *const tenancies[] = { "default", "dedicated", NULL };

static const fugue_prop vpc_props[] = {
	{ .name = "cidrBlock", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the IPv4 range, /16 to /28 (e.g. 10.0.0.0/16); replaces" },
	{ .name = "enableDnsSupport", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "true", .doc = "the Amazon DNS server answers in the VPC" },
	{ .name = "enableDnsHostnames", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "false",
	  .doc = "instances get public DNS names (needs enableDnsSupport)" },
	{ .name = "instanceTenancy", .kind = FUGUE_KIND_STRING, .default_json = "\"default\"",
	  .enum_values = tenancies, .doc = "default or dedicated hardware; replaces" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr vpc_attrs[] = {
	{ "arn", "arn:aws:ec2:REGION:OWNER:vpc/ID" },
	{ "cidrBlock", "the IPv4 range" },
	{ "defaultSecurityGroupId", "the security group AWS made with the VPC" },
	{ "mainRouteTableId", "the route table AWS made with the VPC" },
	{ NULL, NULL },
};

/* --- validate ------------------------------------------------------------------------ */

static int vpc_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *cidr = fugue_kit_str(props, "cidrBlock");
	uint32_t addr;
	int prefix;
	int bad = 0;

	if (cidr && fugue_kit_cidr_parse(cidr, &addr, &prefix) != 0) {
		ctx->host->report(ctx, "cidrBlock",
		                  "'%s' is not an IPv4 CIDR block (e.g. 10.0.0.0/16)", cidr);
		bad = 1;
	} else if (cidr && (prefix < 16 || prefix > 28)) {
		ctx->host->report(ctx, "cidrBlock", "a vpc's block must be /16 to /28, not /%d",
		                  prefix);
		bad = 1;
	}
	if (fugue_kit_bool(props, "enableDnsHostnames", 0) &&
	    !fugue_kit_bool(props, "enableDnsSupport", 1)) {
		ctx->host->report(ctx, "enableDnsHostnames",
		                  "enableDnsHostnames needs enableDnsSupport: true");
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* --- state --------------------------------------------------------------------------- */

static struct json_object *vpc_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	const char *id = fugue_aws_get_string(d, "vpcId");
	char arn[256];

	if (!props || !attrs || !id) {
		json_object_put(props);
		json_object_put(attrs);
		return NULL;
	}
	fugue_kit_put(props, "cidrBlock", fugue_kit_aws_str(d, "cidrBlock"));
	fugue_kit_put(props, "instanceTenancy", fugue_kit_aws_str(d, "instanceTenancy"));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	fugue_ec2_arn(arn, sizeof(arn), ctx->region, fugue_aws_get_string(d, "ownerId"), "vpc", id);
	fugue_kit_put(attrs, "arn", json_object_new_string(arn));
	fugue_kit_put(attrs, "cidrBlock", fugue_kit_aws_str(d, "cidrBlock"));
	return fugue_kit_state(id, props, attrs);
}

static const fugue_ec2_kind vpc_kind = {
	.noun = "vpc", .action = "DescribeVpcs", .result_key = "vpcSet", .id_param = "VpcId",
	.id_key = "vpcId", .make_state = vpc_state,
};

/* Adds enableDnsSupport / enableDnsHostnames to STATE's properties. A
 * failed call leaves the property out (not observed this time) rather than
 * failing the whole batch. */
static void add_dns(fugue_ctx *ctx, struct json_object *state)
{
	static const char *const names[][2] = {
		{ "enableDnsSupport", "enableDnsSupport.value" },
		{ "enableDnsHostnames", "enableDnsHostnames.value" },
	};
	struct json_object *props = fugue_kit_state_props(state);
	const char *id = fugue_kit_str(state, "id");
	size_t i;

	for (i = 0; i < 2 && props && id; i++) {
		struct json_object *params = json_object_new_object();
		struct json_object *out = NULL;

		if (!params)
			return;
		json_object_object_add(params, "VpcId", json_object_new_string(id));
		json_object_object_add(params, "Attribute", json_object_new_string(names[i][0]));
		if (fugue_ec2_call(&out, ctx, "DescribeVpcAttribute", params) == 0)
			fugue_kit_put(props, names[i][0], fugue_kit_aws_bool(out, names[i][1]));
		else
			ctx->host->log(ctx, FUGUE_LOG_WARN, "%s: %s not observed", id, names[i][0]);
		json_object_put(out);
		json_object_put(params);
	}
}

/* Sets attribute ATTR of each state in STATES (N of them, NULLs skipped)
 * from one Describe ACTION filtered by their vpc-ids and EXTRA = VALUE:
 * ID_KEY of the element whose vpcId is the state's id. */
static void add_vpc_children(fugue_ctx *ctx, struct json_object **states, size_t n,
                             const char *action, const char *result_key, const char *extra,
                             const char *value, const char *id_key, const char *attr)
{
	struct json_object *params = json_object_new_object();
	struct json_object *items = NULL;
	size_t i, j, found = 0;

	for (i = 0; i < n && params; i++) {
		const char *id = states[i] ? fugue_kit_str(states[i], "id") : NULL;

		if (id) {
			fugue_ec2_filter(params, "vpc-id", id);
			found++;
		}
	}
	if (!params || found == 0) {
		json_object_put(params);
		return;
	}
	fugue_ec2_filter(params, extra, value);
	if (fugue_ec2_describe(&items, ctx, action, params, result_key) != 0) {
		json_object_put(params);
		return;
	}
	for (i = 0; i < n; i++) {
		const char *id = states[i] ? fugue_kit_str(states[i], "id") : NULL;

		for (j = 0; id && j < json_object_array_length(items); j++) {
			struct json_object *it = json_object_array_get_idx(items, j);
			const char *vpc = fugue_aws_get_string(it, "vpcId");

			if (vpc && strcmp(vpc, id) == 0)
				fugue_kit_put(fugue_kit_state_attrs(states[i]), attr,
				              fugue_kit_aws_str(it, id_key));
		}
	}
	json_object_put(items);
	json_object_put(params);
}

/* Everything DescribeVpcs does not say, for N states at once; the DNS
 * attributes (calls per VPC) of those whose details are due (ITEMS, the
 * observe() batch the states are of; NULL: all). */
static void enrich(fugue_ctx *ctx, struct json_object **states, size_t n,
                   const fugue_observation *items)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (states[i] && (!items || fugue_kit_details_due(ctx, &items[i])))
			add_dns(ctx, states[i]);
	}
	add_vpc_children(ctx, states, n, "DescribeSecurityGroups", "securityGroupInfo",
	                 "group-name", "default", "groupId", "defaultSecurityGroupId");
	add_vpc_children(ctx, states, n, "DescribeRouteTables", "routeTableSet", "association.main",
	                 "true", "routeTableId", "mainRouteTableId");
}

/* The state of vpc ID as AWS has it now, tags fixed against PROPS. */
static int vpc_read(fugue_ctx *ctx, const char *id, const struct json_object *props,
                    struct json_object **out)
{
	int rc = fugue_ec2_read(out, ctx, &vpc_kind, id, props);

	if (rc == 0)
		enrich(ctx, out, 1, NULL);
	return rc;
}

/* --- create / update / remove -------------------------------------------------------- */

/* ModifyVpcAttribute NAME = ON for ID (the API takes one attribute a call). */
static int set_attribute(fugue_ctx *ctx, const char *id, const char *name, int on)
{
	return fugue_ec2_set_attribute(ctx, "ModifyVpcAttribute", "VpcId", id, name,
	                               json_object_new_boolean(on));
}

/* Sets the DNS attributes named in WHICH (NULL: those that differ from
 * AWS's defaults, after a create) in the order AWS accepts: hostnames need
 * support, so support goes on first and comes off last. */
static int set_dns(fugue_ctx *ctx, const char *id, const struct json_object *props,
                   const struct json_object *which)
{
	int support = fugue_kit_bool(props, "enableDnsSupport", 1);
	int hostnames = fugue_kit_bool(props, "enableDnsHostnames", 0);
	int do_support = which ? fugue_kit_has_string(which, "enableDnsSupport") : !support;
	int do_hostnames = which ? fugue_kit_has_string(which, "enableDnsHostnames") : hostnames;
	int rc = 0;

	if (do_support && support)
		rc = set_attribute(ctx, id, "EnableDnsSupport", 1);
	if (rc == 0 && do_hostnames)
		rc = set_attribute(ctx, id, "EnableDnsHostnames", hostnames);
	if (rc == 0 && do_support && !support)
		rc = set_attribute(ctx, id, "EnableDnsSupport", 0);
	return rc;
}

static int vpc_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	const char *tenancy = fugue_kit_str(props, "instanceTenancy");
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "CidrBlock", fugue_kit_str(props, "cidrBlock"));
	fugue_kit_put_str(params, "InstanceTenancy", tenancy ? tenancy : "default");
	fugue_ec2_tag_spec(params, "vpc", ctx, fugue_kit_get(props, "tags"));
	rc = fugue_ec2_create(id, sizeof(id), ctx, "CreateVpc", params, "vpc.vpcId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	rc = fugue_ec2_wait_state(NULL, ctx, &vpc_kind, id, "available");
	if (rc == 0)
		rc = set_dns(ctx, id, props, NULL);
	if (rc == 0)
		rc = vpc_read(ctx, id, props, out);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int vpc_update(fugue_ctx *ctx, const struct json_object *state,
                      const struct json_object *props, const struct json_object *changed,
                      struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	int rc;

	*out = NULL;
	rc = set_dns(ctx, id, props, changed);
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_update_tags(ctx, &vpc_kind, id, props);
	if (rc == 0)
		rc = vpc_read(ctx, id, props, out);
	return rc;
}

static int vpc_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	/* a gateway still attached (ours, moving to the VPC that replaces this
	 * one, or anyone's) would hold the delete back for ever */
	int rc = fugue_vpc_detach_gateways(ctx, id);

	return rc ? rc : fugue_ec2_remove(ctx, &vpc_kind, "DeleteVpc", id, NULL);
}

static int vpc_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	struct json_object **states;
	size_t i;
	int rc;

	rc = fugue_ec2_observe(ctx, items, n, &vpc_kind);
	if (rc != 0)
		return rc;
	states = calloc(n ? n : 1, sizeof(*states));
	if (!states)
		return FUGUE_ENOMEM;
	for (i = 0; i < n; i++)
		states[i] = items[i].status == 0 ? items[i].state : NULL;
	enrich(ctx, states, n, items);
	free(states);
	return 0;
}

const fugue_type_ops fugue_vpc_vpc = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.VPC.Vpc",
	.doc = "a virtual private cloud: an isolated IPv4 network",
	.props = vpc_props,
	.attrs = vpc_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = vpc_validate,
	.create = vpc_create,
	.update = vpc_update,
	.remove = vpc_remove,
	.observe = vpc_observe,
};
