/* route_table.c - AWS.VPC.RouteTable: a VPC route table, its routes and the
 * subnets associated with it.
 *
 * Routes and associations change in place, one by one (CreateRoute /
 * ReplaceRoute / DeleteRoute, AssociateRouteTable / DisassociateRouteTable),
 * always against a fresh DescribeRouteTables of the table, so a stale state
 * never makes us delete what is not there. The local route (gatewayId
 * "local") and propagated routes belong to AWS: they are neither declared
 * nor observed. Observed routes and subnets are sorted (routes by
 * destination address, then prefix; subnets by id) and compare() ignores
 * order, so a declaration in any order is not drift. */
#include "types.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"

/* A route's targets: the property (as AWS's Route names it) and the wire
 * name of CreateRoute / ReplaceRoute. The first one AWS reports wins when
 * observing (a route to an instance also names its network interface). */
static const struct target {
	const char *prop;
	const char *wire;
} targets[] = {
	{ "gatewayId", "GatewayId" },
	{ "natGatewayId", "NatGatewayId" },
	{ "instanceId", "InstanceId" },
	{ "networkInterfaceId", "NetworkInterfaceId" },
	{ "vpcPeeringConnectionId", "VpcPeeringConnectionId" },
	{ "transitGatewayId", "TransitGatewayId" },
	{ NULL, NULL },
};

/* --- a route, declared or observed ---------------------------------------------- */

/* The target of ROUTE: *PROP the property set, *VALUE its id (a string, or
 * a reference object when validating). 0, or -1 when none is set. */
static int route_target(const struct target **prop, const struct json_object **value,
                        const struct json_object *route)
{
	const struct target *t;

	for (t = targets; t->prop; t++) {
		struct json_object *v = fugue_kit_get(route, t->prop);

		if (v && !(json_object_is_type(v, json_type_string) &&
		           json_object_get_string_len(v) == 0)) {
			*prop = t;
			*value = v;
			return 0;
		}
	}
	return -1;
}

/* "10.0.0.0/16>natGatewayId=nat-1": what identifies a route for compare(). */
static char *route_key(const struct json_object *route)
{
	const struct target *t = NULL;
	const struct json_object *v = NULL;
	const char *dest = fugue_kit_str(route, "destinationCidrBlock");
	char *key = NULL;

	if (route_target(&t, &v, route) != 0)
		return asprintf(&key, "%s>", dest ? dest : "") < 0 ? NULL : key;
	if (asprintf(&key, "%s>%s=%s", dest ? dest : "", t->prop,
	             json_object_to_json_string_ext(fugue_kit_unconst(v),
	                                            JSON_C_TO_STRING_PLAIN)) < 0)
		return NULL;
	return key;
}

/* Whether AWS owns ROUTE (an element of routeSet): the local route, routes
 * propagated from a virtual private gateway, anything not IPv4. */
static int route_is_aws(const struct json_object *route)
{
	const char *origin = fugue_kit_str(route, "origin");

	if (!fugue_kit_str(route, "destinationCidrBlock"))
		return 1;
	if (fugue_kit_streq(fugue_kit_str(route, "gatewayId"), "local"))
		return 1;
	return fugue_kit_streq(origin, "CreateRouteTable") ||
	       fugue_kit_streq(origin, "EnableVgwRoutePropagation");
}

/* Sorts routes by destination address, then prefix. */
static int route_order(const void *a, const void *b)
{
	const struct json_object *ra = *(const struct json_object *const *)a;
	const struct json_object *rb = *(const struct json_object *const *)b;
	const char *da = fugue_kit_str(ra, "destinationCidrBlock");
	const char *db = fugue_kit_str(rb, "destinationCidrBlock");
	uint32_t aa = 0;
	uint32_t ab = 0;
	int pa = 0;
	int pb = 0;

	if (fugue_kit_cidr_parse(da ? da : "", &aa, &pa) != 0 ||
	    fugue_kit_cidr_parse(db ? db : "", &ab, &pb) != 0)
		return strcmp(da ? da : "", db ? db : "");
	if (aa != ab)
		return aa < ab ? -1 : 1;
	return pa - pb;
}

/* The declared-shaped routes of a described table: [{destinationCidrBlock,
 * TARGET}], AWS's own left out, sorted. New array (caller's), or NULL. */
static struct json_object *observed_routes(const struct json_object *rt)
{
	struct json_object *routes = fugue_aws_list(rt, "routeSet");
	struct json_object *out = json_object_new_array();
	size_t i;

	for (i = 0; out && i < fugue_kit_len(routes); i++) {
		const struct json_object *r = fugue_kit_at(routes, i);
		const struct target *t = NULL;
		const struct json_object *v = NULL;
		struct json_object *o;

		if (route_is_aws(r) || route_target(&t, &v, r) != 0)
			continue;
		o = json_object_new_object();
		if (!o) {
			json_object_put(out);
			return NULL;
		}
		json_object_object_add(o, "destinationCidrBlock",
		                       json_object_get(fugue_kit_get(r, "destinationCidrBlock")));
		json_object_object_add(o, t->prop, json_object_get(fugue_kit_unconst(v)));
		json_object_array_add(out, o);
	}
	if (out)
		json_object_array_sort(out, route_order);
	return out;
}

/* Whether ASSOC (an element of associationSet) is a live subnet association. */
static int assoc_is_subnet(const struct json_object *assoc)
{
	const char *state = fugue_aws_get_string(assoc, "associationState.state");

	if (fugue_kit_streq(fugue_kit_str(assoc, "main"), "true"))
		return 0;
	if (fugue_kit_streq(state, "disassociating") || fugue_kit_streq(state, "disassociated") ||
	    fugue_kit_streq(state, "failed"))
		return 0;
	return fugue_kit_str(assoc, "subnetId") != NULL;
}

static int string_order(const void *a, const void *b)
{
	const char *sa = json_object_get_string(*(struct json_object *const *)a);
	const char *sb = json_object_get_string(*(struct json_object *const *)b);

	return strcmp(sa ? sa : "", sb ? sb : "");
}

/* The ids of the subnets associated with a described table, sorted. */
static struct json_object *observed_subnets(const struct json_object *rt)
{
	struct json_object *assocs = fugue_aws_list(rt, "associationSet");
	struct json_object *out = json_object_new_array();
	size_t i;

	for (i = 0; out && i < fugue_kit_len(assocs); i++) {
		const struct json_object *a = fugue_kit_at(assocs, i);

		if (assoc_is_subnet(a))
			json_object_array_add(out, json_object_get(fugue_kit_get(a, "subnetId")));
	}
	if (out)
		json_object_array_sort(out, string_order);
	return out;
}

/* --- state ----------------------------------------------------------------------- */

static struct json_object *make_state(fugue_ctx *ctx, const struct json_object *rt)
{
	const char *id = fugue_aws_get_string(rt, "routeTableId");
	const char *owner = fugue_aws_get_string(rt, "ownerId");
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	char arn[256];

	if (!props || !attrs) {
		json_object_put(props);
		json_object_put(attrs);
		return NULL;
	}
	fugue_kit_put(props, "vpc", fugue_kit_aws_str(rt, "vpcId"));
	fugue_kit_put(props, "routes", observed_routes(rt));
	fugue_kit_put(props, "subnets", observed_subnets(rt));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(rt));
	if (owner) {
		fugue_ec2_arn(arn, sizeof(arn), ctx->region, owner, "route-table", id);
		json_object_object_add(attrs, "arn", json_object_new_string(arn));
		json_object_object_add(attrs, "ownerId", json_object_new_string(owner));
	}
	fugue_kit_put(attrs, "vpcId", fugue_kit_aws_str(rt, "vpcId"));
	return fugue_kit_state(id, props, attrs);
}

static const fugue_ec2_kind rt_kind = {
	.noun = "route table", .action = "DescribeRouteTables", .result_key = "routeTableSet",
	.id_param = "RouteTableId", .id_key = "routeTableId", .make_state = make_state,
};

/* --- AWS calls ---------------------------------------------------------------------- */

/* ACTION on table ID with one more parameter KEY = VALUE (NULL: none) plus
 * the route's target when ROUTE is given. */
static int route_call(fugue_ctx *ctx, const char *action, const char *id,
                      const struct json_object *route)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	const struct target *t = NULL;
	const struct json_object *v = NULL;
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "RouteTableId", json_object_new_string(id));
	json_object_object_add(params, "DestinationCidrBlock",
	                       json_object_get(fugue_kit_get(route, "destinationCidrBlock")));
	if (strcmp(action, "DeleteRoute") != 0 && route_target(&t, &v, route) == 0)
		json_object_object_add(params, t->wire, json_object_get(fugue_kit_unconst(v)));
	/* a route already gone is what DeleteRoute wanted */
	if (strcmp(action, "DeleteRoute") == 0)
		rc = fugue_ec2_delete(ctx, action, params);
	else
		rc = fugue_ec2_call(&res, ctx, action, params);
	json_object_put(params);
	json_object_put(res);
	return rc;
}

static const struct json_object *find_route(const struct json_object *routes, const char *dest)
{
	size_t i;

	for (i = 0; i < fugue_kit_len(routes); i++) {
		const struct json_object *r = fugue_kit_at(routes, i);

		if (fugue_kit_streq(fugue_kit_str(r, "destinationCidrBlock"), dest))
			return r;
	}
	return NULL;
}

/* Brings the routes of described table RT (id ID) to WANT, route by route. */
static int sync_routes(fugue_ctx *ctx, const char *id, const struct json_object *rt,
                       const struct json_object *want)
{
	struct json_object *have = observed_routes(rt);
	size_t i;
	int rc = 0;

	if (!have)
		return FUGUE_ENOMEM;
	for (i = 0; rc == 0 && i < fugue_kit_len(want); i++) {
		const struct json_object *w = fugue_kit_at(want, i);
		const char *dest = fugue_kit_str(w, "destinationCidrBlock");
		const struct json_object *h = find_route(have, dest);
		char *kw;
		char *kh;

		if (!h) {
			ctx->host->log(ctx, FUGUE_LOG_INFO, "%s: creating route to %s", id, dest);
			rc = route_call(ctx, "CreateRoute", id, w);
			continue;
		}
		kw = route_key(w);
		kh = route_key(h);
		if (!kw || !kh)
			rc = FUGUE_ENOMEM;
		else if (strcmp(kw, kh) != 0)
			rc = route_call(ctx, "ReplaceRoute", id, w);
		free(kw);
		free(kh);
	}
	for (i = 0; rc == 0 && i < fugue_kit_len(have); i++) {
		const struct json_object *h = fugue_kit_at(have, i);

		if (!find_route(want, fugue_kit_str(h, "destinationCidrBlock")))
			rc = route_call(ctx, "DeleteRoute", id, h);
	}
	json_object_put(have);
	return rc;
}

/* The association of SUBNET with whatever table holds it, or NULL (caller's). */
static char *association_of(fugue_ctx *ctx, const char *subnet)
{
	struct json_object *params = json_object_new_object();
	struct json_object *tables = NULL;
	char *found = NULL;
	size_t i;
	size_t j;

	if (!params)
		return NULL;
	fugue_ec2_filter(params, "association.subnet-id", subnet);
	if (fugue_ec2_describe(&tables, ctx, "DescribeRouteTables", params, "routeTableSet") != 0) {
		json_object_put(params);
		return NULL;
	}
	json_object_put(params);
	for (i = 0; !found && i < fugue_kit_len(tables); i++) {
		struct json_object *assocs =
			fugue_aws_list(fugue_kit_at(tables, i), "associationSet");

		for (j = 0; !found && j < fugue_kit_len(assocs); j++) {
			const struct json_object *a = fugue_kit_at(assocs, j);

			if (assoc_is_subnet(a) &&
			    fugue_kit_streq(fugue_kit_str(a, "subnetId"), subnet))
				found = strdup(fugue_kit_str(a, "routeTableAssociationId"));
		}
	}
	json_object_put(tables);
	return found;
}

/* Associates SUBNET with table ID; a subnet held by another table is moved
 * (ReplaceRouteTableAssociation), since a subnet has exactly one table. */
static int associate(fugue_ctx *ctx, const char *id, const char *subnet)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	fugue_aws_error err;
	char *assoc;
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, "RouteTableId", json_object_new_string(id));
	json_object_object_add(params, "SubnetId", json_object_new_string(subnet));
	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_try(&res, ctx, "AssociateRouteTable", params, &err);
	json_object_put(res);
	res = NULL;
	if (rc == 0 || !strstr(err.code, "AlreadyAssociated")) {
		json_object_put(params);
		return rc == 0 ? 0 : fugue_kit_fail_aws(ctx, rc, &err, "AssociateRouteTable");
	}
	assoc = association_of(ctx, subnet);
	if (!assoc) {
		json_object_put(params);
		return fugue_kit_fail_aws(ctx, rc, &err, "AssociateRouteTable");
	}
	json_object_object_del(params, "SubnetId");
	json_object_object_add(params, "AssociationId", json_object_new_string(assoc));
	ctx->host->log(ctx, FUGUE_LOG_INFO, "moving %s from association %s to %s", subnet, assoc,
	               id);
	free(assoc);
	return fugue_ec2_do(ctx, "ReplaceRouteTableAssociation", params);
}

static int disassociate(fugue_ctx *ctx, const char *assoc)
{
	struct json_object *params = json_object_new_object();
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "AssociationId", assoc);
	rc = fugue_ec2_delete(ctx, "DisassociateRouteTable", params);
	json_object_put(params);
	return rc;
}

/* Brings the subnet associations of described table RT (id ID) to WANT. */
static int sync_subnets(fugue_ctx *ctx, const char *id, const struct json_object *rt,
                        const struct json_object *want)
{
	struct json_object *assocs = fugue_aws_list(rt, "associationSet");
	struct json_object *have = observed_subnets(rt);
	size_t i;
	int rc = 0;

	if (!have)
		return FUGUE_ENOMEM;
	for (i = 0; rc == 0 && i < fugue_kit_len(want); i++) {
		const char *s = fugue_kit_as_str(fugue_kit_at(want, i));

		if (s && !fugue_kit_has_string(have, s))
			rc = associate(ctx, id, s);
	}
	for (i = 0; rc == 0 && i < fugue_kit_len(assocs); i++) {
		const struct json_object *a = fugue_kit_at(assocs, i);

		if (assoc_is_subnet(a) && !fugue_kit_has_string(want, fugue_kit_str(a, "subnetId")))
			rc = disassociate(ctx, fugue_kit_str(a, "routeTableAssociationId"));
	}
	json_object_put(have);
	return rc;
}

/* Brings table ID to PROPS (routes, associations, tags), then reads it
 * into *OUT (even after a failure, when it can: the partial state). */
static int converge(fugue_ctx *ctx, const char *id, const struct json_object *props,
                    struct json_object **out)
{
	struct json_object *rt = NULL;
	int rc;

	*out = NULL;
	rc = fugue_ec2_describe_one(&rt, ctx, &rt_kind, id);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "route table %s does not exist", id);
	if (rc != 0)
		return rc;
	rc = sync_routes(ctx, id, rt, fugue_kit_get(props, "routes"));
	if (rc == 0)
		rc = sync_subnets(ctx, id, rt, fugue_kit_get(props, "subnets"));
	if (rc == 0)
		rc = fugue_ec2_sync_tags(ctx, id, fugue_kit_get(rt, "tagSet"),
		                         fugue_kit_get(props, "tags"));
	json_object_put(rt);
	if (rc == 0)
		return fugue_ec2_read(out, ctx, &rt_kind, id, props);
	*out = fugue_ec2_state_or_id(ctx, &rt_kind, id, props);
	return rc;
}

/* --- callbacks ---------------------------------------------------------------------- */

static int rt_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	struct json_object *params = json_object_new_object();
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "VpcId", fugue_kit_str(props, "vpc"));
	fugue_kit_put_str(params, "ClientToken", ctx->client_token);
	fugue_ec2_tag_spec(params, "route-table", ctx, fugue_kit_get(props, "tags"));
	rc = fugue_ec2_create(id, sizeof(id), ctx, "CreateRouteTable", params,
	                      "routeTable.routeTableId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	rc = fugue_ec2_wait_state(NULL, ctx, &rt_kind, id, "");
	if (rc == 0)
		rc = converge(ctx, id, props, out);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(id, NULL, NULL); /* made: record it, never orphan it */
	return rc;
}

static int rt_update(fugue_ctx *ctx, const struct json_object *state,
                     const struct json_object *props, const struct json_object *changed,
                     struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	int rc;

	(void)changed; /* every updatable property is diffed against AWS anyway */
	*out = NULL;
	if (!id) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "route table state has no id");
		return FUGUE_EINVAL;
	}
	rc = converge(ctx, id, props, out);
	if (rc != 0) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}

static int rt_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *rt = NULL;
	struct json_object *assocs;
	struct json_object *params;
	size_t i;
	int rc;

	if (!id)
		return 0; /* never made */
	rc = fugue_ec2_describe_one(&rt, ctx, &rt_kind, id);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	assocs = fugue_aws_list(rt, "associationSet");
	for (i = 0; rc == 0 && i < fugue_kit_len(assocs); i++) {
		const struct json_object *a = fugue_kit_at(assocs, i);

		if (fugue_kit_streq(fugue_kit_str(a, "main"), "true")) {
			ctx->host->fail(ctx, FUGUE_ECONFLICT, NULL,
			                "route table %s is its vpc's main route table: cannot delete it",
			                id);
			rc = FUGUE_ECONFLICT;
		} else if (assoc_is_subnet(a)) {
			rc = disassociate(ctx, fugue_kit_str(a, "routeTableAssociationId"));
		}
	}
	json_object_put(rt);
	if (rc != 0)
		return rc;
	params = json_object_new_object();
	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, "RouteTableId", id);
	rc = fugue_ec2_delete(ctx, "DeleteRouteTable", params);
	json_object_put(params);
	return rc ? rc : fugue_ec2_wait_state(NULL, ctx, &rt_kind, id, NULL);
}

static int rt_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &rt_kind);
}

/* --- validation --------------------------------------------------------------------- */

/* Reports what is wrong with routes.I; returns the number of errors. */
static int validate_route(fugue_ctx *ctx, const struct json_object *routes, size_t i)
{
	const struct json_object *r = fugue_kit_at(routes, i);
	const char *dest = fugue_kit_str(r, "destinationCidrBlock");
	const struct target *t;
	const char *first = NULL;
	char path[64];
	uint32_t addr;
	int prefix;
	size_t j;
	int bad = 0;

	if (dest && fugue_kit_cidr_parse(dest, &addr, &prefix) != 0) {
		bad++;
		snprintf(path, sizeof(path), "routes.%zu.destinationCidrBlock", i);
		ctx->host->report(ctx, path, "'%s' is not an ipv4 cidr block (a.b.c.d/n, no host bits)",
		                  dest);
	}
	for (j = 0; dest && j < i; j++) {
		const char *other = fugue_kit_str(fugue_kit_at(routes, j), "destinationCidrBlock");

		if (fugue_kit_streq(other, dest)) {
			bad++;
			snprintf(path, sizeof(path), "routes.%zu.destinationCidrBlock", i);
			ctx->host->report(ctx, path, "destination %s is already routed by routes.%zu",
			                  dest, j);
			break;
		}
	}
	for (t = targets; t->prop; t++) {
		if (!fugue_kit_get(r, t->prop))
			continue;
		snprintf(path, sizeof(path), "routes.%zu.%s", i, t->prop);
		if (first || fugue_kit_streq(fugue_kit_str(r, t->prop), "local"))
			bad++;
		if (first)
			ctx->host->report(ctx, path, "a route has exactly one target: %s and %s both set",
			                  first, t->prop);
		else if (fugue_kit_streq(fugue_kit_str(r, t->prop), "local"))
			ctx->host->report(ctx, path, "the local route is aws's: do not declare it");
		first = first ? first : t->prop;
	}
	if (!first) {
		bad++;
		snprintf(path, sizeof(path), "routes.%zu", i);
		ctx->host->report(ctx, path,
		                  "a route needs one target: gatewayId, natGatewayId, instanceId, "
		                  "networkInterfaceId, vpcPeeringConnectionId or transitGatewayId");
	}
	return bad;
}

/* The text of a subnet entry (an id, or a reference not yet resolved). */
static const char *subnet_text(const struct json_object *v)
{
	return json_object_to_json_string_ext(fugue_kit_unconst(v), JSON_C_TO_STRING_PLAIN);
}

static int rt_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const struct json_object *routes = fugue_kit_get(props, "routes");
	const struct json_object *subnets = fugue_kit_get(props, "subnets");
	int bad = 0;
	size_t i;
	size_t j;

	for (i = 0; i < fugue_kit_len(routes); i++)
		bad += validate_route(ctx, routes, i);
	for (i = 0; i < fugue_kit_len(subnets); i++) {
		char *a = strdup(subnet_text(fugue_kit_at(subnets, i)));

		for (j = 0; a && j < i; j++) {
			if (strcmp(a, subnet_text(fugue_kit_at(subnets, j))) == 0) {
				char path[64];

				snprintf(path, sizeof(path), "subnets.%zu", i);
				ctx->host->report(ctx, path, "subnet listed twice (also subnets.%zu)", j);
				bad++;
				break;
			}
		}
		free(a);
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* --- compare ------------------------------------------------------------------------- */

static int key_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_keys(char **keys, size_t n)
{
	size_t i;

	for (i = 0; keys && i < n; i++)
		free(keys[i]);
	free(keys);
}

/* The sorted keys of LIST's elements (routes by route_key, strings as they
 * are); NULL on allocation failure. */
static char **keys_of(const struct json_object *list, int routes)
{
	size_t n = fugue_kit_len(list);
	char **keys = calloc(n + 1, sizeof(*keys));
	size_t i;

	for (i = 0; keys && i < n; i++) {
		const struct json_object *v = fugue_kit_at(list, i);

		keys[i] = routes ? route_key(v) : strdup(subnet_text(v));
		if (!keys[i]) {
			free_keys(keys, n);
			return NULL;
		}
	}
	if (keys)
		qsort(keys, n, sizeof(*keys), key_order);
	return keys;
}

static int same_set(const struct json_object *a, const struct json_object *b, int routes)
{
	size_t n = fugue_kit_len(a);
	char **ka;
	char **kb;
	size_t i;
	int same;

	if (!json_object_is_type(a, json_type_array) || !json_object_is_type(b, json_type_array))
		return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
	if (n != fugue_kit_len(b))
		return 0;
	ka = keys_of(a, routes);
	kb = keys_of(b, routes);
	same = ka && kb;
	for (i = 0; same && i < n; i++)
		same = strcmp(ka[i], kb[i]) == 0;
	free_keys(ka, n);
	free_keys(kb, n);
	return same;
}

static int rt_compare(const char *name, const struct json_object *a, const struct json_object *b)
{
	if (strcmp(name, "routes") == 0)
		return same_set(a, b, 1);
	if (strcmp(name, "subnets") == 0)
		return same_set(a, b, 0);
	return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
}

/* --- schema -------------------------------------------------------------------------- */

static const fugue_prop route_fields[] = {
	{ .name = "destinationCidrBlock", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the IPv4 block the route sends, e.g. 0.0.0.0/0" },
	{ .name = "gatewayId", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.InternetGateway",
	  .doc = "target: an internet gateway" },
	{ .name = "natGatewayId", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.NatGateway",
	  .doc = "target: a NAT gateway" },
	{ .name = "instanceId", .kind = FUGUE_KIND_REF, .ref_types = "AWS.EC2.Instance",
	  .doc = "target: an instance (a NAT instance)" },
	{ .name = "networkInterfaceId", .kind = FUGUE_KIND_STRING,
	  .doc = "target: a network interface id" },
	{ .name = "vpcPeeringConnectionId", .kind = FUGUE_KIND_STRING,
	  .doc = "target: a VPC peering connection id" },
	{ .name = "transitGatewayId", .kind = FUGUE_KIND_STRING,
	  .doc = "target: a transit gateway id" },
	{ .name = NULL },
};

static const fugue_prop route_item[] = {
	{ .name = "route", .kind = FUGUE_KIND_OBJECT, .fields = route_fields },
};

static const fugue_prop subnet_item[] = {
	{ .name = "subnet", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.Subnet" },
};

static const fugue_prop rt_props[] = {
	{ .name = "vpc", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "AWS.VPC.Vpc", .doc = "the VPC of the table; a change replaces it" },
	{ .name = "routes", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "[]", .items = route_item,
	  .doc = "routes besides the local one: a destination and exactly one target" },
	{ .name = "subnets", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "[]", .items = subnet_item, .doc = "subnets associated with the table" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides fugue's own" },
	{ .name = NULL },
};

static const fugue_attr rt_attrs[] = {
	{ .name = "arn", .doc = "the route table's ARN" },
	{ .name = "vpcId", .doc = "the VPC's id" },
	{ .name = "ownerId", .doc = "the owning account" },
	{ .name = NULL },
};

const fugue_type_ops fugue_vpc_route_table = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.VPC.RouteTable",
	.doc = "a route table: routes to gateways and instances, associated subnets",
	.props = rt_props,
	.attrs = rt_attrs,
	.flags = FUGUE_TYPE_TAGGABLE | FUGUE_TYPE_CREATE_BEFORE_DELETE,
	.validate = rt_validate,
	.create = rt_create,
	.update = rt_update,
	.remove = rt_remove,
	.observe = rt_observe,
	.compare = rt_compare,
};
