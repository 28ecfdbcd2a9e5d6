/* dup_name.c - another planner calling itself "fake". */
#include "broken.h"

static const fugue_type_ops thing = BROKEN_TYPE("Broken.DupName.Thing");
static const fugue_type_ops *const types[] = { &thing, NULL };
static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "fake",
	.version = "9.9.9",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
