/* planner.c - the elb planner: AWS.ELB.* through the classic Elastic Load
 * Balancing API (2012-06-01). */
#include "types.h"

static const fugue_type_ops *const types[] = {
	&fugue_elb_load_balancer,
	NULL,
};

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "elb",
	.version = "0.1.0",
	.description = "Elastic Load Balancing (classic): load balancers, listeners, health checks",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
