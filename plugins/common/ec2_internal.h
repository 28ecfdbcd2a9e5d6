/* ec2_internal.h - what the kit's EC2 sources share among themselves and
 * planners do not call. */
#ifndef FUGUE_EC2_INTERNAL_H
#define FUGUE_EC2_INTERNAL_H

#include "fugue/planner.h"

struct json_object;

/* fugue_ec2_describe() without recording a failure: ERR gets the details
 * (no client: FUGUE_ECONFIG). */
int fugue_ec2_describe_try(struct json_object **items, fugue_ctx *ctx, const char *action,
                           const struct json_object *params, const char *result_key,
                           fugue_aws_error *err);

/* PARAMS[KEY] as an array, created when missing; NULL on allocation failure. */
struct json_object *fugue_ec2_array_member(struct json_object *params, const char *key);

#endif
