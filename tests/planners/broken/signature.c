/* signature.c - built (it claims) for a 32-bit machine. */
#include "broken.h"

static const fugue_type_ops thing = BROKEN_TYPE("Broken.Signature.Thing");
static const fugue_type_ops *const types[] = { &thing, NULL };
static const fugue_planner planner = {
	.abi_major = FUGUE_PLANNER_ABI_MAJOR,
	.abi_minor = FUGUE_PLANNER_ABI_MINOR,
	.struct_size = sizeof(fugue_planner),
	.signature = "fugue-planner/1 ptr4 long4 size4 le",
	.name = "signature",
	.version = "1.0.0",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
