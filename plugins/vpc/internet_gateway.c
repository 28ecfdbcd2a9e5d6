/* internet_gateway.c - AWS.VPC.InternetGateway: a VPC's way to the internet.
 *
 * Everything changes in place: another vpc is a detach from the old one
 * and an attach to the new one (the gateway keeps its id), tags with
 * CreateTags / DeleteTags. remove() detaches, then deletes.
 *
 * A detached gateway is observed with vpc "" so that the plan sees the
 * difference from the declared vpc (leaving it out would compare the
 * declaration with what was applied, and miss the drift). */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const fugue_prop igw_props[] = {
	{ .name = "vpc", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_UPDATABLE,
	  .ref_types = "AWS.VPC.Vpc", .doc = "the VPC it is attached to (none: detached)" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr igw_attrs[] = {
	{ "arn", "arn:aws:ec2:REGION:OWNER:internet-gateway/ID" },
	{ NULL, NULL },
};

/* The VPC D (a described gateway) is attached to, or NULL. Borrowed. */
static const char *attached_vpc(const struct json_object *d)
{
	struct json_object *list = fugue_aws_list(d, "attachmentSet");
	size_t i, n = list ? json_object_array_length(list) : 0;

	for (i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(list, i);
		const char *state = fugue_aws_get_string(a, "state");

		/* "available" is what AWS says of an attached internet gateway */
		if (state && (strcmp(state, "detached") == 0 || strcmp(state, "detaching") == 0))
			continue;
		return fugue_aws_get_string(a, "vpcId");
	}
	return NULL;
}

static struct json_object *igw_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	const char *id = fugue_aws_get_string(d, "internetGatewayId");
	const char *vpc = attached_vpc(d);
	const char *owner = fugue_aws_get_string(d, "ownerId");
	char arn[256];

	if (!props || !attrs || !id) {
		json_object_put(props);
		json_object_put(attrs);
		return NULL;
	}
	fugue_kit_put(props, "vpc", json_object_new_string(vpc ? vpc : ""));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	if (owner) {
		fugue_ec2_arn(arn, sizeof(arn), ctx->region, owner, "internet-gateway", id);
		fugue_kit_put(attrs, "arn", json_object_new_string(arn));
	}
	return fugue_kit_state(id, props, attrs);
}

static const fugue_ec2_kind igw_kind = {
	.noun = "internet gateway", .action = "DescribeInternetGateways",
	.result_key = "internetGatewaySet", .id_param = "InternetGatewayId",
	.id_key = "internetGatewayId", .make_state = igw_state,
};

static struct json_object *attach_params(const char *id, const char *vpc)
{
	struct json_object *params = json_object_new_object();

	if (!params)
		return NULL;
	json_object_object_add(params, "InternetGatewayId", json_object_new_string(id));
	json_object_object_add(params, "VpcId", json_object_new_string(vpc));
	return params;
}

static int attach(fugue_ctx *ctx, const char *id, const char *vpc)
{
	struct json_object *params = attach_params(id, vpc);

	if (!params)
		return FUGUE_ENOMEM;
	ctx->host->progress(ctx, "attaching %s to %s", id, vpc);
	return fugue_ec2_do(ctx, "AttachInternetGateway", params);
}

/* Detaches ID from VPC; not attached (any more) is success. Retries while
 * AWS says the VPC still has public addresses mapped (a NAT gateway being
 * deleted at the same time). */
static int detach(fugue_ctx *ctx, const char *id, const char *vpc)
{
	struct json_object *params = attach_params(id, vpc);
	char what[128];
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	ctx->host->progress(ctx, "detaching %s from %s", id, vpc);
	snprintf(what, sizeof(what), "internet gateway %s", id);
	rc = fugue_ec2_delete_retry(ctx, "DetachInternetGateway", params, what, NULL);
	json_object_put(params);
	return rc;
}

int fugue_vpc_detach_gateways(fugue_ctx *ctx, const char *vpc)
{
	struct json_object *params = json_object_new_object();
	struct json_object *found = NULL;
	size_t i;
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	fugue_ec2_filter(params, "attachment.vpc-id", vpc);
	rc = fugue_ec2_describe(&found, ctx, "DescribeInternetGateways", params,
	                        "internetGatewaySet");
	json_object_put(params);
	for (i = 0; rc == 0 && i < json_object_array_length(found); i++) {
		const char *id = fugue_aws_get_string(json_object_array_get_idx(found, i),
		                                      "internetGatewayId");

		if (id)
			rc = detach(ctx, id, vpc);
	}
	json_object_put(found);
	return rc;
}

static int igw_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	const char *vpc = fugue_kit_str(props, "vpc");
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	fugue_ec2_tag_spec(params, "internet-gateway", ctx, fugue_kit_get(props, "tags"));
	rc = fugue_ec2_create(id, sizeof(id), ctx, "CreateInternetGateway", params,
	                      "internetGateway.internetGatewayId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	/* the gateway may not be visible to Attach at once */
	rc = fugue_ec2_wait_state(NULL, ctx, &igw_kind, id, "");
	if (rc == 0 && vpc && vpc[0])
		rc = attach(ctx, id, vpc);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &igw_kind, id, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

static int igw_update(fugue_ctx *ctx, const struct json_object *state,
                      const struct json_object *props, const struct json_object *changed,
                      struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	const char *want = fugue_kit_str(props, "vpc");
	struct json_object *d = NULL;
	const char *now;
	int rc;

	*out = NULL;
	rc = fugue_ec2_describe_one(&d, ctx, &igw_kind, id);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "internet gateway %s not found", id);
	if (rc != 0)
		return rc;
	now = attached_vpc(d);
	if (fugue_kit_has_string(changed, "vpc")) {
		if (now && (!want || strcmp(now, want) != 0))
			rc = detach(ctx, id, now);
		if (rc == 0 && want && want[0] && !(now && strcmp(now, want) == 0))
			rc = attach(ctx, id, want);
	}
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_sync_tags(ctx, id, fugue_aws_list(d, "tagSet"),
		                         fugue_kit_get(props, "tags"));
	json_object_put(d);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &igw_kind, id, props);
	return rc;
}

static int igw_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *d = NULL;
	int rc;

	rc = fugue_ec2_describe_one(&d, ctx, &igw_kind, id);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (attached_vpc(d))
		rc = detach(ctx, id, attached_vpc(d));
	json_object_put(d);
	return rc ? rc : fugue_ec2_remove(ctx, &igw_kind, "DeleteInternetGateway", id, NULL);
}

static int igw_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &igw_kind);
}

const fugue_type_ops fugue_vpc_internet_gateway = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.VPC.InternetGateway",
	.doc = "a VPC's gateway to the internet",
	.props = igw_props,
	.attrs = igw_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = NULL,
	.create = igw_create,
	.update = igw_update,
	.remove = igw_remove,
	.observe = igw_observe,
};
