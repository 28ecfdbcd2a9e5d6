/* no_observe.c - a type without the mandatory observe callback. */
#include "broken.h"

static const fugue_type_ops good = BROKEN_TYPE("Broken.NoObserve.Good");
static const fugue_type_ops blind = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Broken.NoObserve.Blind",
	.props = broken_props,
	.create = broken_create,
	.remove = broken_remove,
};
static const fugue_type_ops *const types[] = { &good, &blind, NULL };
static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "no-observe",
	.version = "1.0.0",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
