/* types.h - the resource types of the vpc planner, one file each, and the
 * few helpers they share (planner.c). */
#ifndef FUGUE_VPC_TYPES_H
#define FUGUE_VPC_TYPES_H

#include <stddef.h>

#include "ec2_api.h"
#include "fugue/planner.h"

struct json_object;

/* One per file: vpc.c, subnet.c, internet_gateway.c, ... */
extern const fugue_type_ops fugue_vpc_vpc;              /* AWS.VPC.Vpc */
extern const fugue_type_ops fugue_vpc_subnet;           /* AWS.VPC.Subnet */
extern const fugue_type_ops fugue_vpc_internet_gateway; /* AWS.VPC.InternetGateway */
extern const fugue_type_ops fugue_vpc_route_table;      /* AWS.VPC.RouteTable */
extern const fugue_type_ops fugue_vpc_security_group;   /* AWS.VPC.SecurityGroup */
extern const fugue_type_ops fugue_vpc_elastic_ip;       /* AWS.VPC.ElasticIp */
extern const fugue_type_ops fugue_vpc_nat_gateway;      /* AWS.VPC.NatGateway */

/* --- shared by the types (planner.c) ----------------------------------------------- */

/* The element of every `tags` map: a string. */
extern const fugue_prop fugue_vpc_tag_value[];

/* How to Describe one kind of resource by its id. */
typedef struct fugue_vpc_kind {
	const char *action;     /* "DescribeSubnets" */
	const char *result_key; /* "subnetSet" */
	const char *id_param;   /* "SubnetId": the request's id list (.1 appended by the SDK) */
	const char *noun;       /* "subnet", for messages */
} fugue_vpc_kind;

/* Describes the one resource ID of KIND. 0 and *ITEM (a copy, caller's);
 * FUGUE_ENOTFOUND when AWS does not know it (nothing recorded: right after
 * a create that is an answer, not a failure); else the error, recorded. */
int fugue_vpc_describe_one(struct json_object **item, fugue_ctx *ctx, const fugue_vpc_kind *kind,
                           const char *id);

/* Waits until the resource ID of KIND has "state" WANT ("": until AWS knows
 * it, whatever its state; NULL: until AWS no longer knows it, or its state
 * is "deleted"). A "failed" state ends the wait with FUGUE_EAWS. NotFound counts as "not yet"
 * when WANT is set (eventual consistency after a create). *ITEM (may be
 * NULL) gets the last description (caller's). 0 or the wait's error. */
int fugue_vpc_wait_state(struct json_object **item, fugue_ctx *ctx, const fugue_vpc_kind *kind,
                         const char *id, const char *want);

/* Calls a delete-like ACTION (DeleteSubnet, ReleaseAddress, a detach) with
 * PARAMS until it succeeds, retrying while AWS answers that something still
 * depends on the resource (DependencyViolation, InvalidIPAddress.InUse:
 * what was deleted just before takes a moment to let go). Already gone (a
 * detach: not attached) is success. WHAT names the resource in messages.
 * 0 or the error, recorded. Waits at most 3 minutes. */
int fugue_vpc_delete_call(fugue_ctx *ctx, const char *action, const struct json_object *params,
                          const char *what);

/* Detaches every internet gateway attached to VPC (internet_gateway.c):
 * AWS deletes no VPC with a gateway attached, and a VPC replaced
 * delete-then-create is deleted before its gateway moves to the new one.
 * 0 or the error, recorded. */
int fugue_vpc_detach_gateways(fugue_ctx *ctx, const char *vpc);

/* "arn:PARTITION:ec2:REGION:OWNER:KIND/ID" into BUF (partition from the
 * region: aws, aws-cn, aws-us-gov). Returns BUF. */
const char *fugue_vpc_arn(char *buf, size_t size, const char *region, const char *owner,
                          const char *kind, const char *id);

/* The resource name a declared, unresolved reference points at
 * ({"$ref": NAME, ...} as validate() and host->declared() see it), or NULL
 * when V is not a reference. Borrowed. */
const char *fugue_vpc_ref_name(const struct json_object *v);

/* Member KEY of object O, or NULL (O may be NULL). Borrowed. */
struct json_object *fugue_vpc_member(const struct json_object *o, const char *key);

/* Whether the JSON array of strings CHANGED (update()'s) holds NAME. */
int fugue_vpc_changed(const struct json_object *changed, const char *name);

/* The "properties" / "attributes" object of STATE (made by
 * fugue_kit_state); borrowed, NULL when missing. */
struct json_object *fugue_vpc_state_props(const struct json_object *state);
struct json_object *fugue_vpc_state_attrs(const struct json_object *state);

/* A tags property for a state: the user tags of DESCRIBED's tagSet (a new
 * map, caller's; {} when none). */
struct json_object *fugue_vpc_user_tags(const struct json_object *described);

/* Makes STATE's "tags" property comparable with the declaration DECLARED
 * (the resource's declared properties): AWS also carries the composition's
 * tags, which are not the resource's `tags`. A key declared in `tags` is
 * kept; another is dropped when it is one of ctx->tags (the composition's
 * tags and fugue:*), kept otherwise (someone added it: drift). Without
 * ctx->tags (observe() is not given them) only declared keys are kept, so
 * tags added by hand are not seen as drift there. */
void fugue_vpc_fix_tags(fugue_ctx *ctx, struct json_object *state,
                        const struct json_object *declared);

/* fugue_ec2_observe(), then fugue_vpc_fix_tags() on every state found. */
int fugue_vpc_observe(fugue_ctx *ctx, fugue_observation *items, size_t n, const char *action,
                      const char *result_key, const char *id_param, const char *id_key,
                      fugue_ec2_state_fn make_state,
                      int (*skip)(const struct json_object *described));

#endif
