/* dup_type.c - claims Fake.Net.Network, which the fake planner owns. */
#include "broken.h"

static const fugue_type_ops own = BROKEN_TYPE("Broken.DupType.Own");
static const fugue_type_ops network = BROKEN_TYPE("Fake.Net.Network");
static const fugue_type_ops *const types[] = { &own, &network, NULL };
static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "imposter",
	.version = "1.0.0",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
