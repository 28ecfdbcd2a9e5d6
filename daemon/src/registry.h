/* registry.h - the planners the Conductor has loaded and the types they own.
 *
 * Used by conductord and, offline, by `fugue validate`. Loading checks, in
 * order, before any planner code other than the entry function runs: the
 * entry symbol exists, the signature string matches, the ABI major matches,
 * struct_size is at least the first published size, mandatory callbacks
 * (create, remove, observe) are set, the planner name and every type name
 * are unique. A refused planner is logged with the reason ("planner
 * /x/vpc.so refused: built for planner ABI 2, this Conductor speaks 1") and
 * the others load. Structs are copied with min(struct_size, sizeof) into
 * zeroed memory, so members an older planner does not know read as NULL. */
#ifndef FUGUE_REGISTRY_H
#define FUGUE_REGISTRY_H

#include <stddef.h>

#include "fugue/planner.h"

typedef struct fugue_registry fugue_registry;

/* One loaded planner. All pointers are owned by the registry. */
typedef struct fugue_planner_info {
	const char *name;
	const char *version;
	const char *description;
	const char *path;                     /* the .so, or "(built in)" */
	size_t ntypes;
	const fugue_type_ops *const *types;   /* the registry's normalized copies */
} fugue_planner_info;

/* An empty registry whose planners will get HOST (borrowed; must outlive
 * the registry). HOST may be NULL (listing planners): their init() then
 * gets a bare host that logs, never cancels and knows no declarations.
 * Returns 0 or FUGUE_ENOMEM. */
int fugue_registry_new(fugue_registry **out, const fugue_host *host);

/* Loads every *.so in DIR (sorted by name, so the result does not depend on
 * the directory order). Refusals are logged and counted in *REFUSED (may be
 * NULL); they are not errors. Returns 0, or FUGUE_ECONFIG when DIR cannot
 * be read. */
int fugue_registry_load_dir(fugue_registry *reg, const char *dir, size_t *refused);

/* Adds a planner that is already in memory (tests, built-ins), with the
 * same checks as a loaded one. ORIGIN names it in log lines. Returns 0, or
 * FUGUE_EINVAL when refused (the reason is logged). */
int fugue_registry_add(fugue_registry *reg, const fugue_planner *planner, const char *origin);

/* The type named NAME, or NULL; *PLANNER_DATA (may be NULL) receives the
 * owning planner's init() data. Borrowed from the registry. */
const fugue_type_ops *fugue_registry_type(const fugue_registry *reg, const char *name,
                                          void **planner_data);

/* Names of all types, for did-you-mean hints: *OUT is borrowed. */
size_t fugue_registry_type_names(const fugue_registry *reg, const char *const **out);

size_t fugue_registry_count(const fugue_registry *reg);
const fugue_planner_info *fugue_registry_planner(const fugue_registry *reg, size_t i);

/* Calls every planner's shutdown() in reverse load order, dlcloses, frees. */
void fugue_registry_free(fugue_registry *reg);

#endif
