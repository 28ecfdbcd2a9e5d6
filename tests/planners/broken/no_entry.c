/* no_entry.c - a planner for ABI major 2: its entry is fugue_planner_entry_v2,
 * so a v1 Conductor finds no entry at all. */
#include "broken.h"

static const fugue_type_ops thing = BROKEN_TYPE("Broken.NoEntry.Thing");
static const fugue_type_ops *const types[] = { &thing, NULL };
static const fugue_planner planner = {
	.abi_major = 2,
	.abi_minor = 0,
	.struct_size = sizeof(fugue_planner),
	.signature = "fugue-planner/2 ptr8 long8 size8 le",
	.name = "no-entry",
	.version = "2.0.0",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v2(void);

const fugue_planner *fugue_planner_entry_v2(void)
{
	return &planner;
}
