/* abi_major.c - exports the v1 entry but says it speaks planner ABI 2. */
#include "broken.h"

static const fugue_type_ops thing = BROKEN_TYPE("Broken.AbiMajor.Thing");
static const fugue_type_ops *const types[] = { &thing, NULL };
static const fugue_planner planner = {
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(fugue_planner),
	.signature = FUGUE_PLANNER_SIGNATURE,
	.name = "abi-major",
	.version = "1.0.0",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
