/* planner.c - the iam planner: AWS.IAM.* (roles, instance profiles, managed policies). */
#include "types.h"

static const fugue_type_ops *const types[] = {
	&fugue_iam_role,
	&fugue_iam_instance_profile,
	&fugue_iam_policy,
	NULL,
};

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "iam",
	.version = "0.1.0",
	.description = "AWS IAM: roles, instance profiles, managed policies",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
