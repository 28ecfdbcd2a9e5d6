/* ec2_api.h - the EC2 Query API as the vpc and ec2 planners use it: calls
 * that record failures, paged Describes, filters, TagSpecifications, tag
 * sync, matching a Describe's answer to an observe() batch, and the life
 * of one resource (describe by id, create, wait for a state, delete).
 *
 * Parameters use the wire names of the botocore model (ec2/2016-11-15),
 * lists as JSON arrays that the SDK flattens (Filter.1.Value.1); answers
 * are the SDK's tree of the XML (every leaf a string; lists as arrays,
 * read with fugue_aws_list). Sources: ec2_api.c (calls, Describes,
 * filters), ec2_tags.c, ec2_observe.c, ec2_resource.c. */
#ifndef FUGUE_EC2_API_H
#define FUGUE_EC2_API_H

#include <stddef.h>

#include "fugue/planner.h"
#include "planner_kit.h"

struct json_object;

/* --- calls, Describes, parameters (ec2_api.c) ------------------------------------ */

/* Calls ACTION in ctx->region with PARAMS (borrowed; NULL: none). On success
 * 0 and *OUT (caller's). On failure records it (fugue_kit_fail_aws with
 * "ACTION" as what) and returns the SDK's code; *OUT NULL. */
int fugue_ec2_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params);

/* fugue_ec2_call() for a call whose answer is not needed (a modify, an
 * attach): PARAMS are transferred (freed here; NULL: none). 0 or the
 * error, recorded. */
int fugue_ec2_do(fugue_ctx *ctx, const char *action, struct json_object *params);

/* The same without recording a failure: for calls whose error is an answer
 * (a NotFound probe). ERR (may be NULL) gets the details. */
int fugue_ec2_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const struct json_object *params, fugue_aws_error *err);

/* A Describe that pages (NextToken -> nextToken), every page's RESULT_KEY
 * ("vpcSet", "reservationSet") merged into *ITEMS (a JSON array, caller's;
 * empty when none). RESULT_KEY "OUTER/INNER" ("reservationSet/instancesSet")
 * pages by OUTER and returns the INNER lists of all its elements in one
 * array (the instances themselves). Failures recorded as fugue_ec2_call
 * (no client: FUGUE_ECONFIG, "no aws client"). */
int fugue_ec2_describe(struct json_object **items, fugue_ctx *ctx, const char *action,
                       const struct json_object *params, const char *result_key);

/* Sets PARAMS[KEY] = [ID]: a one-element id list (InstanceId.1), the way
 * most EC2 calls take ids. */
void fugue_ec2_put_id(struct json_object *params, const char *key, const char *id);

/* Appends {"Name": NAME, "Value": [VALUE]} to PARAMS["Filter"]; when a
 * filter NAME is already there, VALUE is added to its values instead (AWS
 * ORs the values of one filter and ANDs the filters). */
void fugue_ec2_filter(struct json_object *params, const char *name, const char *value);

/* "arn:PARTITION:ec2:REGION:OWNER:TYPE/ID" into BUF (partition from the
 * region: aws, aws-cn, aws-us-gov; TYPE "vpc", "security-group", ...).
 * Returns BUF. */
const char *fugue_ec2_arn(char *buf, size_t size, const char *region, const char *owner,
                          const char *type, const char *id);

/* EC2 error codes that mean "gone": InvalidVpcID.NotFound,
 * InvalidSubnetID.NotFound, InvalidInstanceID.NotFound, ... (any code
 * ending in ".NotFound" or "NotFound"). */
int fugue_ec2_is_notfound(const fugue_aws_error *err);

/* --- tags (ec2_tags.c) ------------------------------------------------------------- */

/* Appends a TagSpecification for RESOURCE_TYPE ("vpc", "subnet",
 * "instance", ...) with ctx->tags plus USER_TAGS (a map of strings, may be
 * NULL; the composition's `tags` property) to PARAMS["TagSpecification"]. */
void fugue_ec2_tag_spec(struct json_object *params, const char *resource_type,
                        const fugue_ctx *ctx, const struct json_object *user_tags);

/* The `tags` property of a described resource: the user tags of its
 * tagSet (fugue_kit_tags_map(tagSet, 1)); {} when none. Caller's. */
struct json_object *fugue_ec2_user_tags(const struct json_object *described);

/* Nonzero when DESCRIBED carries the tags of ctx's resource (fugue:fid =
 * ctx->fid and fugue:resource = ctx->resource): this resource made it, e.g.
 * a create whose answer was lost (a retry adopts it). */
int fugue_ec2_tagged_for(const fugue_ctx *ctx, const struct json_object *described);

/* Brings the tags of ID from CURRENT (a tagSet as described, may be NULL) to
 * ctx->tags + USER_TAGS: CreateTags for what is new or changed, DeleteTags
 * for what is no longer wanted; fugue:* tags are never deleted. */
int fugue_ec2_sync_tags(fugue_ctx *ctx, const char *id, const struct json_object *current,
                        const struct json_object *user_tags);

/* --- observe (ec2_observe.c) ------------------------------------------------------- */

/* Builds the state of one described resource (an element of the Describe's
 * list): its id, properties as declared-shaped values, attributes. Returns
 * a new state (fugue_kit_state) or NULL on allocation failure. */
typedef struct json_object *(*fugue_ec2_state_fn)(fugue_ctx *ctx,
                                                  const struct json_object *described);

/* How one type of resource is described: one static const per type,
 * shared by its describe-by-id, waits, reads and observe(). */
typedef struct fugue_ec2_kind {
	const char *noun;              /* "subnet": messages say "subnet subnet-0abc ..." */
	const char *action;            /* "DescribeSubnets" */
	const char *result_key;        /* "subnetSet" (see fugue_ec2_describe) */
	const char *id_param;          /* "SubnetId": the Describe's id list; observe() also
	                                * takes a filter name ("subnet-id", see there) */
	const char *id_key;            /* "subnetId": the id in a described element */
	fugue_ec2_state_fn make_state; /* a described element's state */
	/* NULL, or nonzero for a described element that no longer counts (a
	 * terminated instance, a deleted NAT gateway): not found */
	int (*skip)(const struct json_object *described);
} fugue_ec2_kind;

/* Fills an observe() batch from DESCRIBED (all the resources the Describe
 * returned, e.g. filtered by tag:fugue:fid = ctx->fid): an item with an id
 * is matched by KIND's id_key; one without, by its tags fugue:fid =
 * ctx->fid and fugue:resource = item->resource; elements KIND's skip
 * rejects do not count. Found: status 0 and state = KIND's make_state(...)
 * with fugue_kit_fix_tags() against the item's declaration; else
 * FUGUE_ENOTFOUND. Returns 0 or FUGUE_ENOMEM. */
int fugue_ec2_match(fugue_ctx *ctx, fugue_observation *items, size_t n,
                    const struct json_object *described, const fugue_ec2_kind *kind);

/* The usual observe(): KIND's Describe filtered by tag:fugue:fid = ctx->fid
 * (plus, for items with recorded ids, a second Describe by KIND's id_param
 * of those ids not found, since a resource may have lost its tags), then
 * fugue_ec2_match (tags fixed). Two calls at most per batch (plus one per
 * id gone with an id list, below). id_param (NULL: no second call) is
 * either a filter name, which has a dash ("vpc-id", "instance-id":
 * preferred, since a filter never fails for an id that is gone), or the
 * Describe's id list parameter ("VpcId"), whose NotFound answer drops the
 * ids its message names and asks again. On an error every item's status
 * is that error (nothing is believed gone) and it is returned, after
 * fail(). */
int fugue_ec2_observe(fugue_ctx *ctx, fugue_observation *items, size_t n,
                      const fugue_ec2_kind *kind);

/* --- one resource (ec2_resource.c) ------------------------------------------------- */

/* Describes the one resource ID of KIND by its id list (id_param). 0 and
 * *ITEM (the element, caller's); FUGUE_ENOTFOUND when AWS does not know it
 * (nothing recorded: right after a create that is an answer, not a
 * failure; KIND's skip is not applied); else the error, recorded. */
int fugue_ec2_describe_one(struct json_object **item, fugue_ctx *ctx, const fugue_ec2_kind *kind,
                           const char *id);

/* The state of resource ID of KIND as AWS has it now: described, KIND's
 * skip applied, KIND's make_state, then fugue_kit_fix_tags() against
 * DECLARED (the declared properties; NULL: none). 0 and *STATE (caller's);
 * FUGUE_ENOTFOUND after fail("NOUN ID not found"); or the error, recorded. */
int fugue_ec2_read(struct json_object **state, fugue_ctx *ctx, const fugue_ec2_kind *kind,
                   const char *id, const struct json_object *declared);

/* What to hand back after a create or update that failed part way, or
 * whose resource AWS may not show yet: the state as fugue_ec2_read() makes
 * it when AWS describes ID, else {"id": ID} (what was made is never
 * orphaned). A NotFound is not recorded. NULL only on no memory. Caller's. */
struct json_object *fugue_ec2_state_or_id(fugue_ctx *ctx, const fugue_ec2_kind *kind,
                                          const char *id, const struct json_object *declared);

/* update() of `tags`: brings the tags of resource ID of KIND to DECLARED's
 * `tags` (fugue_ec2_sync_tags against a fresh Describe). 0 or the error,
 * recorded (FUGUE_ENOTFOUND: "NOUN ID not found"). */
int fugue_ec2_update_tags(fugue_ctx *ctx, const fugue_ec2_kind *kind, const char *id,
                          const struct json_object *declared);

/* Waits until the resource ID of KIND has "state" WANT ("": until AWS knows
 * it, whatever its state; NULL: until AWS no longer knows it, or its state
 * is "deleted"). A "failed" state ends the wait with FUGUE_EAWS (its
 * failureMessage recorded). NotFound counts as "not yet" when WANT is set
 * (eventual consistency after a create). *ITEM (may be NULL) gets the last
 * description (caller's). 0 or the wait's error. */
int fugue_ec2_wait_state(struct json_object **item, fugue_ctx *ctx, const fugue_ec2_kind *kind,
                         const char *id, const char *want);

/* A create: ACTION with PARAMS, then the new resource's id, the answer's
 * leaf at ID_PATH ("vpc.vpcId"), copied into ID (SIZE bytes) and reported
 * as progress ("created vpc-0abc"). 0; the call's error (recorded); or
 * FUGUE_EPROTO when the answer has no id (recorded). */
int fugue_ec2_create(char *id, size_t size, fugue_ctx *ctx, const char *action,
                     const struct json_object *params, const char *id_path);

/* A delete (or a detach, a revoke) made once: ACTION with PARAMS; success
 * or a NotFound answer (already gone) is 0; another error is recorded and
 * returned. */
int fugue_ec2_delete(fugue_ctx *ctx, const char *action, const struct json_object *params);

/* A delete-like ACTION (DeleteSubnet, ReleaseAddress, a detach) with PARAMS
 * called until it succeeds, again while AWS answers that something still
 * depends on the resource (DependencyViolation, InvalidIPAddress.InUse,
 * InvalidNetworkInterface.InUse, or throttling: FUGUE_ERETRY), since what
 * was deleted just before takes a moment to let go. Gone (NotFound) or not
 * attached (Gateway.NotAttached) is success. WHAT names the resource
 * ("subnet subnet-0abc"): messages say "WHAT to be free to delete". WAIT
 * (may be NULL: 3 minutes, the default backoff) sets deadline_ms, first_ms
 * and max_ms; its other fields are not used. 0 or the error, recorded. */
int fugue_ec2_delete_retry(fugue_ctx *ctx, const char *action, const struct json_object *params,
                           const char *what, const fugue_kit_wait *wait);

/* remove() of resource ID of KIND: fugue_ec2_delete_retry() of ACTION
 * ("DeleteSubnet") with KIND's id_param = ID (the delete calls name the id
 * as the Describe does, one id: "SubnetId"), "NOUN ID" in messages. */
int fugue_ec2_remove(fugue_ctx *ctx, const fugue_ec2_kind *kind, const char *action,
                     const char *id, const fugue_kit_wait *wait);

/* One attribute of a Modify*Attribute call (ModifyVpcAttribute,
 * ModifySubnetAttribute, ModifyInstanceAttribute take one a call): ACTION
 * with ID_PARAM = ID and ATTR = {"Value": VALUE} (VALUE transferred). 0 or
 * the error, recorded. */
int fugue_ec2_set_attribute(fugue_ctx *ctx, const char *action, const char *id_param,
                            const char *id, const char *attr, struct json_object *value);

#endif
