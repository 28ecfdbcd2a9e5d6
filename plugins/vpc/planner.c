/* planner.c - the vpc planner: AWS.VPC.* through the EC2 API (the types'
 * shared helpers are the kit's: plugins/common). */
#include "types.h"

static const fugue_type_ops *const types[] = {
	&fugue_vpc_vpc,
	&fugue_vpc_subnet,
	&fugue_vpc_internet_gateway,
	&fugue_vpc_route_table,
	&fugue_vpc_security_group,
	&fugue_vpc_elastic_ip,
	&fugue_vpc_nat_gateway,
	NULL,
};

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "vpc",
	.version = "0.1.0",
	.description = "Amazon VPC: networks, subnets, gateways, route tables, security groups, addresses",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
