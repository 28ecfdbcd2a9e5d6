/* planner.c - the ec2 planner: AWS.EC2.* (instances, volumes, key pairs). */
#include "types.h"

static const fugue_type_ops *const types[] = {
	&fugue_ec2_instance,
	&fugue_ec2_volume,
	&fugue_ec2_key_pair,
	NULL,
};

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "ec2",
	.version = "0.1.0",
	.description = "Amazon EC2: instances, EBS volumes, key pairs",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
