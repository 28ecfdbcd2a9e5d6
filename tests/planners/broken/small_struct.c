/* small_struct.c - a struct_size smaller than any published fugue_planner. */
#include "broken.h"

static const fugue_type_ops thing = BROKEN_TYPE("Broken.SmallStruct.Thing");
static const fugue_type_ops *const types[] = { &thing, NULL };
static const fugue_planner planner = {
	.abi_major = FUGUE_PLANNER_ABI_MAJOR,
	.abi_minor = FUGUE_PLANNER_ABI_MINOR,
	.struct_size = 24,
	.signature = FUGUE_PLANNER_SIGNATURE,
	.name = "small-struct",
	.version = "1.0.0",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
