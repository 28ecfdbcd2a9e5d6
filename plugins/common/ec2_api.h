/* ec2_api.h - the EC2 Query API as the vpc and ec2 planners use it: calls
 * that record failures, paged Describes, TagSpecifications, tag sync,
 * filters, and matching a Describe's answer to an observe() batch.
 *
 * Parameters use the wire names of the botocore model (ec2/2016-11-15),
 * lists as JSON arrays that the SDK flattens (Filter.1.Value.1); answers
 * are the SDK's tree of the XML (every leaf a string; lists as arrays,
 * read with fugue_aws_list). */
#ifndef FUGUE_EC2_API_H
#define FUGUE_EC2_API_H

#include <stddef.h>

#include "fugue/planner.h"

struct json_object;

/* Calls ACTION in ctx->region with PARAMS (borrowed; NULL: none). On success
 * 0 and *OUT (caller's). On failure records it (fugue_kit_fail_aws with
 * "ACTION" as what) and returns the SDK's code; *OUT NULL. */
int fugue_ec2_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params);

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

/* Appends {"Name": NAME, "Value": [VALUE]} to PARAMS["Filter"]; when a
 * filter NAME is already there, VALUE is added to its values instead (AWS
 * ORs the values of one filter and ANDs the filters). */
void fugue_ec2_filter(struct json_object *params, const char *name, const char *value);

/* Appends a TagSpecification for RESOURCE_TYPE ("vpc", "subnet",
 * "instance", ...) with ctx->tags plus USER_TAGS (a map of strings, may be
 * NULL; the composition's `tags` property) to PARAMS["TagSpecification"]. */
void fugue_ec2_tag_spec(struct json_object *params, const char *resource_type,
                        const fugue_ctx *ctx, const struct json_object *user_tags);

/* The tags a resource should carry: USER_TAGS (map of strings, may be NULL;
 * its fugue:* and aws:* keys ignored) over ctx->tags' composition tags, and
 * ctx->tags' fugue:* tags always. A new map (caller's), NULL on no memory. */
struct json_object *fugue_ec2_desired_tags(const fugue_ctx *ctx,
                                           const struct json_object *user_tags);

/* A tagSet ([{"key", "value"}]) as a map object (caller's). USER_ONLY
 * leaves out the fugue:* and aws:* tags (what a `tags` property shows). */
struct json_object *fugue_ec2_tags_map(const struct json_object *tag_set, int user_only);

/* Brings the tags of ID from CURRENT (a tagSet as described, may be NULL) to
 * ctx->tags + USER_TAGS: CreateTags for what is new or changed, DeleteTags
 * for what is no longer wanted; fugue:* tags are never deleted. */
int fugue_ec2_sync_tags(fugue_ctx *ctx, const char *id, const struct json_object *current,
                        const struct json_object *user_tags);

/* Builds the state of one described resource (an element of the Describe's
 * list): its id, properties as declared-shaped values, attributes. Returns
 * a new state (fugue_kit_state) or NULL on allocation failure. */
typedef struct json_object *(*fugue_ec2_state_fn)(fugue_ctx *ctx,
                                                  const struct json_object *described);

/* Fills an observe() batch from DESCRIBED (all the resources the Describe
 * returned, e.g. filtered by tag:fugue:fid = ctx->fid): an item with an id
 * is matched by ID_KEY ("vpcId"); one without, by its tags fugue:fid =
 * ctx->fid and fugue:resource = item->resource. SKIP (may be NULL) rejects
 * described elements that do not count (a terminated instance, a deleted
 * NAT gateway). Found: status 0 and state = MAKE_STATE(...); else
 * FUGUE_ENOTFOUND. Returns 0 or FUGUE_ENOMEM. */
int fugue_ec2_match(fugue_ctx *ctx, fugue_observation *items, size_t n,
                    const struct json_object *described, const char *id_key,
                    fugue_ec2_state_fn make_state,
                    int (*skip)(const struct json_object *described));

/* The usual observe(): Describe ACTION filtered by tag:fugue:fid = ctx->fid
 * (plus, for items with recorded ids, a second Describe by ID_PARAM of
 * those ids not found, since a resource may have lost its tags), then
 * fugue_ec2_match. Two calls at most per batch (plus one per id gone with
 * an id list, below). ID_PARAM (NULL: no second call) is either a filter
 * name, which has a dash ("vpc-id", "instance-id": preferred, since a
 * filter never fails for an id that is gone), or the Describe's id list
 * parameter ("VpcId"), whose NotFound answer drops the ids its message
 * names and asks again. On an error every item's status is that error
 * (nothing is believed gone) and it is returned, after fail(). */
int fugue_ec2_observe(fugue_ctx *ctx, fugue_observation *items, size_t n, const char *action,
                      const char *result_key, const char *id_param, const char *id_key,
                      fugue_ec2_state_fn make_state,
                      int (*skip)(const struct json_object *described));

/* EC2 error codes that mean "gone": InvalidVpcID.NotFound,
 * InvalidSubnetID.NotFound, InvalidInstanceID.NotFound, ... (any code
 * ending in ".NotFound" or "NotFound"). */
int fugue_ec2_is_notfound(const fugue_aws_error *err);

#endif
