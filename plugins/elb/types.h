/* types.h - the elb planner's resource types and the classic ELB API
 * (2012-06-01, AWS query protocol) they share (elb_api.c). */
#ifndef FUGUE_ELB_TYPES_H
#define FUGUE_ELB_TYPES_H

#include <stddef.h>

#include "fugue/planner.h"

struct json_object;

extern const fugue_type_ops fugue_elb_load_balancer; /* AWS.ELB.LoadBalancer */

/* One elasticloadbalancing call in ctx->region. On success *OUT is the
 * <ActionResult> tree (caller's; OUT may be NULL: dropped). A failure is
 * recorded with fail() ("ACTION: message (Code)"). PARAMS borrowed. */
int fugue_elb_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params);

/* The same, recording nothing: the error is in ERR (a NotFound probe, a
 * throttle to wait through). */
int fugue_elb_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const struct json_object *params, fugue_aws_error *err);

/* Every load balancer of the region (DescribeLoadBalancers paged by
 * Marker): *OUT is the array of LoadBalancerDescriptions (caller's, maybe
 * empty). Recorded on failure. */
int fugue_elb_describe_all(struct json_object **out, fugue_ctx *ctx);

/* One load balancer's description by NAME: 0 and *OUT (caller's),
 * FUGUE_ENOTFOUND (not recorded) or another error (recorded). */
int fugue_elb_describe_one(struct json_object **out, fugue_ctx *ctx, const char *name);

/* The tags of N load balancers (DescribeTags, 20 names a call): *OUT maps
 * each name to its Tags array (caller's). Recorded on failure. */
int fugue_elb_describe_tags(struct json_object **out, fugue_ctx *ctx, const char *const *names,
                            size_t n);

/* The LoadBalancerAttributes of NAME (caller's). Recorded on failure;
 * FUGUE_ENOTFOUND when it is gone. */
int fugue_elb_attributes(struct json_object **out, fugue_ctx *ctx, const char *name);

/* AddTags / RemoveTags to bring NAME from CURRENT (a Tags array) to the
 * tags it should carry: ctx->tags plus USER (the `tags` property). fugue:*
 * and aws:* are never removed. Recorded on failure. */
int fugue_elb_sync_tags(fugue_ctx *ctx, const char *name, const struct json_object *current,
                        const struct json_object *user);

#endif
