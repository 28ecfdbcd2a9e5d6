/* security_group.c - AWS.VPC.SecurityGroup: a VPC security group and its
 * ingress and egress rules.
 *
 * A rule here is one (protocol, ports, peer) with one peer: a CIDR block or
 * another group. AWS groups several peers under one IpPermission; observing
 * flattens them, one rule per peer, sorted, and compare() ignores order, so
 * a declaration in any order and grouping is not drift. Updates diff rule by
 * rule against a fresh Describe: Authorize what is missing, Revoke what is
 * not declared, UpdateSecurityGroupRuleDescriptions* where only a declared
 * description differs.
 *
 * Egress: AWS gives every new group an allow-all egress rule. When `egress`
 * is not declared that rule (and whatever else is there) is left alone and
 * not compared; when it is declared, exactly the declared set is kept (the
 * default rule is revoked unless declared). */
#include "types.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"

/* Deleting a group still used by network interfaces (an instance being
 * terminated) fails with DependencyViolation until they are gone. */
static const fugue_kit_wait delete_wait = { .deadline_ms = 600000, .first_ms = 1000,
	                                    .max_ms = 15000 };

/* Marks a group with the client token of the creation that made it. */
#define TOKEN_TAG "fugue:token"

/* --- rules ----------------------------------------------------------------------- */

/* Which list: the declared property, its group-peer field, and the API
 * actions for it. */
typedef struct direction {
	const char *prop;        /* "ingress", "egress" */
	const char *group_field; /* "sourceSecurityGroupId", "destinationSecurityGroupId" */
	const char *described;   /* "ipPermissions", "ipPermissionsEgress" */
	const char *authorize;
	const char *revoke;
	const char *describe_rule;
} direction;

static const direction ingress = { "ingress", "sourceSecurityGroupId", "ipPermissions",
	                           "AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress",
	                           "UpdateSecurityGroupRuleDescriptionsIngress" };
static const direction egress = { "egress", "destinationSecurityGroupId", "ipPermissionsEgress",
	                          "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupEgress",
	                          "UpdateSecurityGroupRuleDescriptionsEgress" };

/* One rule, its strings borrowed from the tree it was read from. */
typedef struct rule {
	const char *proto; /* "tcp", "udp", "icmp", "-1" */
	long from;         /* -1 when it does not apply (all traffic; any ICMP type) */
	long to;
	const char *peer;  /* a CIDR block or a group id */
	int group;         /* peer is a group */
	const char *desc;  /* NULL: none */
} rule;

/* AWS answers with names for the common protocols; numbers are accepted on
 * the way in, so read them back as names. */
static const char *proto_name(const char *p)
{
	if (fugue_kit_streq(p, "6"))
		return "tcp";
	if (fugue_kit_streq(p, "17"))
		return "udp";
	if (fugue_kit_streq(p, "1"))
		return "icmp";
	return p ? p : "";
}

static long int_or(const struct json_object *v, long dflt)
{
	if (!v)
		return dflt;
	if (json_object_is_type(v, json_type_string))
		return json_object_get_string_len(v) ? strtol(fugue_kit_as_str(v), NULL, 10) : dflt;
	return (long)json_object_get_int64(fugue_kit_unconst(v));
}

/* Ports as AWS keeps them: none for all traffic. */
static void canonical_ports(rule *r)
{
	if (strcmp(r->proto, "-1") == 0) {
		r->from = -1;
		r->to = -1;
	}
}

static int rule_order(const void *a, const void *b)
{
	const rule *x = a;
	const rule *y = b;
	int c = strcmp(x->proto, y->proto);

	if (c)
		return c;
	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	if (x->group != y->group)
		return x->group - y->group;
	return strcmp(x->peer, y->peer);
}

/* Declared-shaped rules (a declaration, or a state made by rules_json()):
 * *OUT (caller's, free()) sorted, *N set. 0 or FUGUE_ENOMEM. Elements
 * without a peer are skipped (validate() refused them). */
static int rules_declared(rule **out, size_t *n, const struct json_object *list,
                          const direction *d)
{
	size_t len = fugue_kit_len(list);
	rule *rules = calloc(len + 1, sizeof(*rules));
	size_t i;

	*out = NULL;
	*n = 0;
	if (!rules)
		return FUGUE_ENOMEM;
	for (i = 0; i < len; i++) {
		const struct json_object *e = fugue_kit_at(list, i);
		rule *r = &rules[*n];

		r->proto = proto_name(fugue_kit_str(e, "ipProtocol"));
		r->from = int_or(fugue_kit_get(e, "fromPort"), -1);
		r->to = int_or(fugue_kit_get(e, "toPort"), -1);
		r->peer = fugue_kit_str(e, "cidrIp");
		if (!r->peer) {
			r->peer = fugue_kit_str(e, d->group_field);
			r->group = 1;
		}
		r->desc = fugue_kit_str(e, "description");
		if (!r->peer)
			continue;
		canonical_ports(r);
		(*n)++;
	}
	qsort(rules, *n, sizeof(*rules), rule_order);
	*out = rules;
	return 0;
}

/* The rules of a described group's IpPermissions list, one per peer. */
static int rules_described(rule **out, size_t *n, const struct json_object *perms)
{
	size_t cap = 1;
	rule *rules;
	size_t i;
	size_t j;

	for (i = 0; i < fugue_kit_len(perms); i++)
		cap += fugue_kit_len(fugue_aws_list(fugue_kit_at(perms, i), "ipRanges")) +
		       fugue_kit_len(fugue_aws_list(fugue_kit_at(perms, i), "groups"));
	rules = calloc(cap, sizeof(*rules));
	*out = NULL;
	*n = 0;
	if (!rules)
		return FUGUE_ENOMEM;
	for (i = 0; i < fugue_kit_len(perms); i++) {
		const struct json_object *p = fugue_kit_at(perms, i);
		struct json_object *ranges = fugue_aws_list(p, "ipRanges");
		struct json_object *groups = fugue_aws_list(p, "groups");
		rule base = { 0 };

		base.proto = proto_name(fugue_kit_str(p, "ipProtocol"));
		base.from = int_or(fugue_kit_get(p, "fromPort"), -1);
		base.to = int_or(fugue_kit_get(p, "toPort"), -1);
		canonical_ports(&base);
		for (j = 0; j < fugue_kit_len(ranges); j++) {
			rule *r = &rules[*n];

			*r = base;
			r->peer = fugue_kit_str(fugue_kit_at(ranges, j), "cidrIp");
			r->desc = fugue_kit_str(fugue_kit_at(ranges, j), "description");
			*n += r->peer != NULL;
		}
		for (j = 0; j < fugue_kit_len(groups); j++) {
			rule *r = &rules[*n];

			*r = base;
			r->peer = fugue_kit_str(fugue_kit_at(groups, j), "groupId");
			r->group = 1;
			r->desc = fugue_kit_str(fugue_kit_at(groups, j), "description");
			*n += r->peer != NULL;
		}
	}
	qsort(rules, *n, sizeof(*rules), rule_order);
	*out = rules;
	return 0;
}

/* Whether R is among the N sorted RULES; its match in *FOUND. */
static int rule_find(const rule **found, const rule *rules, size_t n, const rule *r)
{
	const rule *hit = bsearch(r, rules, n, sizeof(*rules), rule_order);

	if (found)
		*found = hit;
	return hit != NULL;
}

static int desc_differs(const rule *want, const rule *have)
{
	return want->desc && strcmp(want->desc, have->desc ? have->desc : "") != 0;
}

/* One rule as declared: {ipProtocol, fromPort, toPort, cidrIp | GROUP_FIELD,
 * description}; ports left out for all traffic. */
static struct json_object *rule_json(const rule *r, const direction *d)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return NULL;
	json_object_object_add(o, "ipProtocol", json_object_new_string(r->proto));
	if (strcmp(r->proto, "-1") != 0) {
		json_object_object_add(o, "fromPort", json_object_new_int64(r->from));
		json_object_object_add(o, "toPort", json_object_new_int64(r->to));
	}
	json_object_object_add(o, r->group ? d->group_field : "cidrIp",
	                       json_object_new_string(r->peer));
	if (r->desc && *r->desc)
		json_object_object_add(o, "description", json_object_new_string(r->desc));
	return o;
}

/* The observed `ingress` / `egress` of a described group. */
static struct json_object *observed_rules(const struct json_object *sg, const direction *d)
{
	struct json_object *out;
	rule *rules = NULL;
	size_t n = 0;
	size_t i;

	if (rules_described(&rules, &n, fugue_aws_list(sg, d->described)) != 0)
		return NULL;
	out = json_object_new_array_ext((int)n);
	for (i = 0; out && i < n; i++)
		json_object_array_add(out, rule_json(&rules[i], d));
	free(rules);
	return out;
}

/* An IpPermission (wire names) for R; the description only when WITH_DESC. */
static struct json_object *permission(const rule *r, int with_desc)
{
	struct json_object *p = json_object_new_object();
	struct json_object *peers = json_object_new_array();
	struct json_object *peer = json_object_new_object();

	if (!p || !peers || !peer) {
		json_object_put(p);
		json_object_put(peers);
		json_object_put(peer);
		return NULL;
	}
	json_object_object_add(p, "IpProtocol", json_object_new_string(r->proto));
	if (strcmp(r->proto, "-1") != 0) {
		json_object_object_add(p, "FromPort", json_object_new_int64(r->from));
		json_object_object_add(p, "ToPort", json_object_new_int64(r->to));
	}
	json_object_object_add(peer, r->group ? "GroupId" : "CidrIp",
	                       json_object_new_string(r->peer));
	if (with_desc && r->desc && *r->desc)
		json_object_object_add(peer, "Description", json_object_new_string(r->desc));
	json_object_array_add(peers, peer);
	/* UserIdGroupPairs is "Groups" on the wire (its locationName) */
	json_object_object_add(p, r->group ? "Groups" : "IpRanges", peers);
	return p;
}

/* ACTION on group ID with the permissions in PERMS (an array, borrowed).
 * A revoke of what is already gone is success. */
static int rules_call(fugue_ctx *ctx, const char *action, const char *id,
                      struct json_object *perms)
{
	struct json_object *params;
	struct json_object *res = NULL;
	int rc;

	if (fugue_kit_len(perms) == 0)
		return 0;
	params = json_object_new_object();
	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "GroupId", id);
	json_object_object_add(params, "IpPermissions", json_object_get(perms));
	if (strncmp(action, "Revoke", 6) == 0)
		rc = fugue_ec2_delete(ctx, action, params);
	else
		rc = fugue_ec2_call(&res, ctx, action, params);
	json_object_put(params);
	json_object_put(res);
	if (rc != 0)
		return rc;
	ctx->host->log(ctx, FUGUE_LOG_INFO, "%s %s: %zu rule(s)", action, id, fugue_kit_len(perms));
	return 0;
}

/* Brings the D rules of described group SG (id ID) to WANT (declared). */
static int sync_rules(fugue_ctx *ctx, const char *id, const struct json_object *sg,
                      const struct json_object *want_list, const direction *d)
{
	struct json_object *add = json_object_new_array();
	struct json_object *del = json_object_new_array();
	struct json_object *desc = json_object_new_array();
	rule *want = NULL;
	rule *have = NULL;
	size_t nw = 0;
	size_t nh = 0;
	size_t i;
	int rc;

	rc = add && del && desc ? 0 : FUGUE_ENOMEM;
	if (rc == 0)
		rc = rules_declared(&want, &nw, want_list, d);
	if (rc == 0)
		rc = rules_described(&have, &nh, fugue_aws_list(sg, d->described));
	for (i = 0; rc == 0 && i < nw; i++) {
		const rule *h = NULL;

		if (!rule_find(&h, have, nh, &want[i]))
			json_object_array_add(add, permission(&want[i], 1));
		else if (desc_differs(&want[i], h))
			json_object_array_add(desc, permission(&want[i], 1));
	}
	for (i = 0; rc == 0 && i < nh; i++) {
		if (!rule_find(NULL, want, nw, &have[i]))
			json_object_array_add(del, permission(&have[i], 0));
	}
	/* new rules first: a changed rule never leaves a moment without access */
	if (rc == 0)
		rc = rules_call(ctx, d->authorize, id, add);
	if (rc == 0)
		rc = rules_call(ctx, d->describe_rule, id, desc);
	if (rc == 0)
		rc = rules_call(ctx, d->revoke, id, del);
	free(want);
	free(have);
	json_object_put(add);
	json_object_put(del);
	json_object_put(desc);
	return rc;
}

/* --- state ----------------------------------------------------------------------- */

static struct json_object *make_state(fugue_ctx *ctx, const struct json_object *sg)
{
	const char *id = fugue_aws_get_string(sg, "groupId");
	const char *owner = fugue_aws_get_string(sg, "ownerId");
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	char arn[256];

	if (!props || !attrs) {
		json_object_put(props);
		json_object_put(attrs);
		return NULL;
	}
	fugue_kit_put(props, "vpc", fugue_kit_aws_str(sg, "vpcId"));
	fugue_kit_put(props, "groupName", fugue_kit_aws_str(sg, "groupName"));
	fugue_kit_put(props, "description", fugue_kit_aws_str(sg, "groupDescription"));
	fugue_kit_put(props, "ingress", observed_rules(sg, &ingress));
	fugue_kit_put(props, "egress", observed_rules(sg, &egress));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(sg));
	if (fugue_aws_get_string(sg, "securityGroupArn")) {
		fugue_kit_put(attrs, "arn", fugue_kit_aws_str(sg, "securityGroupArn"));
	} else if (owner) {
		fugue_ec2_arn(arn, sizeof(arn), ctx->region, owner, "security-group", id);
		json_object_object_add(attrs, "arn", json_object_new_string(arn));
	}
	fugue_kit_put(attrs, "groupName", fugue_kit_aws_str(sg, "groupName"));
	fugue_kit_put(attrs, "vpcId", fugue_kit_aws_str(sg, "vpcId"));
	fugue_kit_put(attrs, "ownerId", fugue_kit_aws_str(sg, "ownerId"));
	return fugue_kit_state(id, props, attrs);
}

static const fugue_ec2_kind sg_kind = {
	.noun = "security group", .action = "DescribeSecurityGroups",
	.result_key = "securityGroupInfo", .id_param = "GroupId", .id_key = "groupId",
	.make_state = make_state,
};

/* --- AWS calls ---------------------------------------------------------------------- */

/* Brings group ID to PROPS (rules, tags), then reads it into *OUT (also
 * after a failure, when it can: the partial state). */
static int converge(fugue_ctx *ctx, const char *id, const struct json_object *props,
                    struct json_object **out)
{
	struct json_object *sg = NULL;
	int rc;

	*out = NULL;
	rc = fugue_ec2_describe_one(&sg, ctx, &sg_kind, id);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "security group %s does not exist", id);
	if (rc != 0)
		return rc;
	rc = sync_rules(ctx, id, sg, fugue_kit_get(props, "ingress"), &ingress);
	if (rc == 0 && fugue_kit_get(props, "egress"))
		rc = sync_rules(ctx, id, sg, fugue_kit_get(props, "egress"), &egress);
	if (rc == 0)
		rc = fugue_ec2_sync_tags(ctx, id, fugue_kit_get(sg, "tagSet"),
		                         fugue_kit_get(props, "tags"));
	json_object_put(sg);
	if (rc == 0)
		return fugue_ec2_read(out, ctx, &sg_kind, id, props);
	*out = fugue_ec2_state_or_id(ctx, &sg_kind, id, props);
	return rc;
}

/* The group named NAME in VPC when this very creation made it (tags
 * fugue:fid, fugue:resource and fugue:token = ctx->client_token): a retry
 * after a lost answer. *OLD is set when the name is held by an earlier
 * version of the resource (a replacement that keeps a declared name).
 * NULL otherwise (caller's). */
static char *adopt(fugue_ctx *ctx, int *old, const char *vpc, const char *name)
{
	struct json_object *params = json_object_new_object();
	struct json_object *groups = NULL;
	struct json_object *tags;
	char *id = NULL;
	int rc;

	*old = 0;
	if (!params)
		return NULL;
	fugue_ec2_filter(params, "vpc-id", vpc);
	fugue_ec2_filter(params, "group-name", name);
	rc = fugue_ec2_describe(&groups, ctx, "DescribeSecurityGroups", params, "securityGroupInfo");
	json_object_put(params);
	if (rc != 0 || fugue_kit_len(groups) != 1) {
		json_object_put(groups);
		return NULL;
	}
	tags = fugue_kit_tags_map(fugue_aws_list(fugue_kit_at(groups, 0), "tagSet"), 0);
	if (fugue_ec2_tagged_for(ctx, fugue_kit_at(groups, 0))) {
		if (fugue_kit_streq(fugue_kit_str(tags, TOKEN_TAG), ctx->client_token))
			id = strdup(fugue_aws_get_string(fugue_kit_at(groups, 0), "groupId"));
		else
			*old = 1;
	}
	json_object_put(tags);
	json_object_put(groups);
	return id;
}

/* Adds fugue:token = ctx->client_token to the TagSpecification that
 * fugue_ec2_tag_spec() put in PARAMS: how a retry knows its own group. */
static void add_token_tag(struct json_object *params, const fugue_ctx *ctx)
{
	struct json_object *list = fugue_aws_get(params, "TagSpecification.0.Tag");
	struct json_object *t;

	if (!ctx->client_token || !list || !json_object_is_type(list, json_type_array))
		return;
	t = json_object_new_object();
	if (!t)
		return;
	json_object_object_add(t, "Key", json_object_new_string(TOKEN_TAG));
	json_object_object_add(t, "Value", json_object_new_string(ctx->client_token));
	json_object_array_add(list, t);
}

/* CreateSecurityGroup: 0 and *ID (caller's), or a recorded error. The call
 * takes no ClientToken; the group name is unique in its VPC, so a retry
 * finds the first attempt's group by name and its fugue:token tag. */
static int create_group(char **id, fugue_ctx *ctx, const struct json_object *props,
                        const char *name)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	const char *vpc = fugue_kit_str(props, "vpc");
	fugue_aws_error err;
	int old = 0;
	int rc;

	*id = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "GroupName", json_object_new_string(name));
	json_object_object_add(params, "GroupDescription",
	                       json_object_get(fugue_kit_get(props, "description")));
	json_object_object_add(params, "VpcId", json_object_get(fugue_kit_get(props, "vpc")));
	fugue_ec2_tag_spec(params, "security-group", ctx, fugue_kit_get(props, "tags"));
	add_token_tag(params, ctx);
	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_try(&res, ctx, "CreateSecurityGroup", params, &err);
	json_object_put(params);
	if (rc == 0 && fugue_aws_get_string(res, "groupId"))
		*id = strdup(fugue_aws_get_string(res, "groupId"));
	json_object_put(res);
	if (rc != 0 && strcmp(err.code, "InvalidGroup.Duplicate") == 0 && vpc) {
		*id = adopt(ctx, &old, vpc, name);
		if (*id) {
			ctx->host->log(ctx, FUGUE_LOG_INFO, "found %s made by an earlier attempt", *id);
			return 0;
		}
		if (old) {
			ctx->host->fail(ctx, FUGUE_ECONFLICT, &err,
			                "group name '%s' is still held by the version being replaced: "
			                "change groupName too, or leave it out",
			                name);
			return FUGUE_ECONFLICT;
		}
	}
	if (rc != 0)
		return fugue_kit_fail_aws(ctx, rc, &err, "CreateSecurityGroup");
	if (!*id) {
		ctx->host->fail(ctx, FUGUE_EPROTO, NULL, "CreateSecurityGroup answered without an id");
		return FUGUE_EPROTO;
	}
	return 0;
}

/* --- callbacks ---------------------------------------------------------------------- */

static int sg_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	const char *declared_name = fugue_kit_str(props, "groupName");
	char name[256];
	char *id = NULL;
	int rc;

	*out = NULL;
	/* The default name carries the creation's token too, so that a
	 * replacement (created before the old group is deleted) has a name of
	 * its own. */
	if (declared_name)
		snprintf(name, sizeof(name), "%s", declared_name);
	else if (ctx->client_token)
		snprintf(name, sizeof(name), "%s-%.8s-%.8s", ctx->resource ? ctx->resource : "group",
		         ctx->fid ? ctx->fid : "", ctx->client_token);
	else
		snprintf(name, sizeof(name), "%s-%.8s", ctx->resource ? ctx->resource : "group",
		         ctx->fid ? ctx->fid : "");
	rc = create_group(&id, ctx, props, name);
	if (rc != 0)
		return rc;
	rc = fugue_ec2_wait_state(NULL, ctx, &sg_kind, id, "");
	if (rc == 0)
		rc = converge(ctx, id, props, out);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: record it, never orphan it */
	free(id);
	return rc;
}

static int sg_update(fugue_ctx *ctx, const struct json_object *state,
                     const struct json_object *props, const struct json_object *changed,
                     struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	int rc;

	(void)changed; /* the rules are diffed against AWS anyway */
	*out = NULL;
	if (!id) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "security group state has no id");
		return FUGUE_EINVAL;
	}
	rc = converge(ctx, id, props, out);
	if (rc != 0) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}

static int sg_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");

	if (!id)
		return 0; /* never made */
	return fugue_ec2_remove(ctx, &sg_kind, "DeleteSecurityGroup", id, &delete_wait);
}

static int sg_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &sg_kind);
}

/* --- validation --------------------------------------------------------------------- */

/* Reports at D.I.FIELD; counts it in *BAD. */
static void report_at(fugue_ctx *ctx, int *bad, const direction *d, size_t i, const char *field,
                      const char *msg)
{
	char path[96];

	if (field)
		snprintf(path, sizeof(path), "%s.%zu.%s", d->prop, i, field);
	else
		snprintf(path, sizeof(path), "%s.%zu", d->prop, i);
	ctx->host->report(ctx, path, "%s", msg);
	(*bad)++;
}

static void validate_ports(fugue_ctx *ctx, int *bad, const direction *d, size_t i,
                           const struct json_object *e)
{
	const char *proto = fugue_kit_str(e, "ipProtocol");
	const struct json_object *fv = fugue_kit_get(e, "fromPort");
	const struct json_object *tv = fugue_kit_get(e, "toPort");
	long from = int_or(fv, -1);
	long to = int_or(tv, -1);

	if (fugue_kit_streq(proto, "-1")) {
		if (fv || tv)
			report_at(ctx, bad, d, i, fv ? "fromPort" : "toPort",
			          "ports do not apply to ipProtocol -1 (all traffic): leave them out");
	} else if (fugue_kit_streq(proto, "icmp")) {
		if (from < -1 || from > 255)
			report_at(ctx, bad, d, i, "fromPort", "the icmp type must be -1 (any) to 255");
		if (to < -1 || to > 255)
			report_at(ctx, bad, d, i, "toPort", "the icmp code must be -1 (any) to 255");
		if (from == -1 && to != -1)
			report_at(ctx, bad, d, i, "toPort", "any icmp type (-1) needs any code (-1)");
	} else if (proto) {
		if (!fv || !tv)
			report_at(ctx, bad, d, i, fv ? "toPort" : "fromPort",
			          "tcp and udp rules need fromPort and toPort");
		else if (from < 0 || from > 65535)
			report_at(ctx, bad, d, i, "fromPort", "a port is 0 to 65535");
		else if (to < 0 || to > 65535)
			report_at(ctx, bad, d, i, "toPort", "a port is 0 to 65535");
		else if (from > to)
			report_at(ctx, bad, d, i, "toPort", "toPort is below fromPort");
	}
}

/* Text that identifies rule E for the duplicate check (references as text). */
static char *rule_text(const struct json_object *e, const direction *d)
{
	const struct json_object *peer = fugue_kit_get(e, "cidrIp");
	const char *proto = fugue_kit_str(e, "ipProtocol");
	long from = fugue_kit_streq(proto, "-1") ? -1 : int_or(fugue_kit_get(e, "fromPort"), -1);
	long to = fugue_kit_streq(proto, "-1") ? -1 : int_or(fugue_kit_get(e, "toPort"), -1);
	char *s = NULL;

	if (!peer)
		peer = fugue_kit_get(e, d->group_field);
	if (asprintf(&s, "%s|%ld|%ld|%s", proto ? proto : "", from, to,
	             json_object_to_json_string_ext(fugue_kit_unconst(peer),
	                                            JSON_C_TO_STRING_PLAIN)) < 0)
		return NULL;
	return s;
}

static void validate_rule(fugue_ctx *ctx, int *bad, const direction *d,
                          const struct json_object *list, size_t i)
{
	const struct json_object *e = fugue_kit_at(list, i);
	const char *cidr = fugue_kit_str(e, "cidrIp");
	const struct json_object *group = fugue_kit_get(e, d->group_field);
	char *text;
	size_t j;
	uint32_t addr;
	int prefix;

	validate_ports(ctx, bad, d, i, e);
	if ((cidr != NULL) == (group != NULL)) {
		char msg[128];

		snprintf(msg, sizeof(msg), "a rule has exactly one peer: cidrIp or %s",
		         d->group_field);
		report_at(ctx, bad, d, i, NULL, msg);
		return;
	}
	if (cidr && fugue_kit_cidr_parse(cidr, &addr, &prefix) != 0)
		report_at(ctx, bad, d, i, "cidrIp",
		          "not an ipv4 cidr block (a.b.c.d/n, no host bits set)");
	text = rule_text(e, d);
	for (j = 0; text && j < i; j++) {
		char *other = rule_text(fugue_kit_at(list, j), d);

		if (other && strcmp(text, other) == 0) {
			char msg[64];

			snprintf(msg, sizeof(msg), "the same rule as %s.%zu", d->prop, j);
			report_at(ctx, bad, d, i, NULL, msg);
			free(other);
			break;
		}
		free(other);
	}
	free(text);
}

/* AWS allows a-z A-Z 0-9 spaces and ._-:/()#,@[]+=&;{}!$* in a VPC group's
 * name and description. */
static int aws_text_ok(const char *s)
{
	for (; s && *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || strchr(" ._-:/()#,@[]+=&;{}!$*", *s)))
			return 0;
	return 1;
}

static int sg_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *name = fugue_kit_str(props, "groupName");
	const char *desc = fugue_kit_str(props, "description");
	int bad = 0;
	size_t i;

	if (name && (strlen(name) == 0 || strlen(name) > 255 || strncmp(name, "sg-", 3) == 0 ||
	             !aws_text_ok(name))) {
		ctx->host->report(ctx, "groupName",
		                  "a group name is 1 to 255 of a-z A-Z 0-9 space ._-:/()#,@[]+=&;{}!$* "
		                  "and does not start with sg-");
		bad++;
	}
	if (desc && (strlen(desc) > 255 || !aws_text_ok(desc))) {
		ctx->host->report(ctx, "description",
		                  "a description is up to 255 of a-z A-Z 0-9 space "
		                  "._-:/()#,@[]+=&;{}!$*");
		bad++;
	}
	for (i = 0; i < fugue_kit_len(fugue_kit_get(props, "ingress")); i++)
		validate_rule(ctx, &bad, &ingress, fugue_kit_get(props, "ingress"), i);
	for (i = 0; i < fugue_kit_len(fugue_kit_get(props, "egress")); i++)
		validate_rule(ctx, &bad, &egress, fugue_kit_get(props, "egress"), i);
	return bad ? FUGUE_EINVAL : 0;
}

/* --- compare ------------------------------------------------------------------------- */

/* Declared rules A against observed B: the same set of (protocol, ports,
 * peer), in any order; a description counts only where A declares one. */
static int same_rules(const struct json_object *a, const struct json_object *b,
                      const direction *d)
{
	rule *ra = NULL;
	rule *rb = NULL;
	size_t na = 0;
	size_t nb = 0;
	size_t i;
	int same;

	same = rules_declared(&ra, &na, a, d) == 0 && rules_declared(&rb, &nb, b, d) == 0 &&
	       na == nb && na == fugue_kit_len(a) && nb == fugue_kit_len(b);
	for (i = 0; same && i < na; i++)
		same = rule_order(&ra[i], &rb[i]) == 0 && !desc_differs(&ra[i], &rb[i]);
	free(ra);
	free(rb);
	return same;
}

static int sg_compare(const char *name, const struct json_object *a, const struct json_object *b)
{
	if (strcmp(name, "ingress") == 0)
		return same_rules(a, b, &ingress);
	if (strcmp(name, "egress") == 0)
		return same_rules(a, b, &egress);
	return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
}

/* --- schema -------------------------------------------------------------------------- */

static const char *const protocols[] = { "tcp", "udp", "icmp", "-1", NULL };

#define RULE_FIELDS(GROUP_FIELD, GROUP_DOC)                                                        \
	{ .name = "ipProtocol", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,          \
	  .enum_values = protocols, .doc = "tcp, udp, icmp, or -1 for all traffic" },             \
	{ .name = "fromPort", .kind = FUGUE_KIND_INT,                                             \
	  .doc = "first port (tcp, udp) or icmp type (-1: any)" },                               \
	{ .name = "toPort", .kind = FUGUE_KIND_INT,                                               \
	  .doc = "last port (tcp, udp) or icmp code (-1: any)" },                                 \
	{ .name = "cidrIp", .kind = FUGUE_KIND_STRING, .doc = "the peer: an IPv4 CIDR block" },  \
	{ .name = GROUP_FIELD, .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.SecurityGroup",     \
	  .doc = GROUP_DOC },                                                                     \
	{ .name = "description", .kind = FUGUE_KIND_STRING, .doc = "the rule's description" },   \
	{ .name = NULL }

static const fugue_prop ingress_fields[] = {
	RULE_FIELDS("sourceSecurityGroupId", "the peer: traffic from members of this group"),
};

static const fugue_prop egress_fields[] = {
	RULE_FIELDS("destinationSecurityGroupId", "the peer: traffic to members of this group"),
};

static const fugue_prop ingress_item[] = {
	{ .name = "rule", .kind = FUGUE_KIND_OBJECT, .fields = ingress_fields },
};

static const fugue_prop egress_item[] = {
	{ .name = "rule", .kind = FUGUE_KIND_OBJECT, .fields = egress_fields },
};

static const fugue_prop sg_props[] = {
	{ .name = "vpc", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "AWS.VPC.Vpc", .doc = "the VPC of the group; a change replaces it" },
	{ .name = "groupName", .kind = FUGUE_KIND_STRING,
	  .doc = "unique in the VPC; default RESOURCE-FID8-TOKEN8; a change replaces it" },
	{ .name = "description", .kind = FUGUE_KIND_STRING, .default_json = "\"managed by Fugue\"",
	  .doc = "the group's description; a change replaces it" },
	{ .name = "ingress", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "[]", .items = ingress_item, .doc = "inbound rules, one peer each" },
	{ .name = "egress", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .items = egress_item,
	  .doc = "outbound rules, one peer each; not declared: AWS's allow-all is left alone" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides fugue's own" },
	{ .name = NULL },
};

static const fugue_attr sg_attrs[] = {
	{ .name = "arn", .doc = "the group's ARN" },
	{ .name = "groupName", .doc = "the group's name" },
	{ .name = "vpcId", .doc = "the VPC's id" },
	{ .name = "ownerId", .doc = "the owning account" },
	{ .name = NULL },
};

const fugue_type_ops fugue_vpc_security_group = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.VPC.SecurityGroup",
	.doc = "a security group: inbound and outbound rules by protocol, ports and peer",
	.props = sg_props,
	.attrs = sg_attrs,
	.flags = FUGUE_TYPE_TAGGABLE | FUGUE_TYPE_CREATE_BEFORE_DELETE,
	.validate = sg_validate,
	.create = sg_create,
	.update = sg_update,
	.remove = sg_remove,
	.observe = sg_observe,
	.compare = sg_compare,
};
