/* live.h - what the Conductor knows, right now, about each resource of one
 * process: its recorded status, its state in AWS ({"id", "attributes",
 * "properties"}, see fugue/planner.h) and the declared properties it was
 * last created or updated with. Plans are computed from it, the scheduler
 * resolves `!ref`s from it and updates it as actions finish, enforcement
 * refreshes it from observe().
 *
 * Also here, because plan, scheduler and enforcement all need them: reference
 * resolution and redaction of sensitive properties.
 *
 * Threads: a fugue_live is not locked; the scheduler serialises access to it
 * (one job at a time per process, one mutex per job). */
#ifndef FUGUE_LIVE_H
#define FUGUE_LIVE_H

#include <stddef.h>

#include "compiler.h"
#include "fugue/planner.h"
#include "state.h"

struct json_object;

typedef struct fugue_live_entry {
	char *name;                   /* owned */
	char *type;                   /* owned; the type name */
	fugue_resource_status status; /* as recorded */
	/* Owned, or NULL when nothing of it is known to exist in AWS (never
	 * created, deleted, observed gone). {"id", "attributes", "properties"}. */
	struct json_object *state;
	/* Owned, or NULL. The declared properties (references resolved) of its
	 * last successful create or update, as stored: sensitive values are
	 * "sha256:<hex>" digests (fugue_redact FUGUE_REDACT_DIGEST). Diffed
	 * against for what AWS does not return (write-only properties). */
	struct json_object *applied;
	int gone;                     /* the last observe said ENOTFOUND */
	/* The last error, owned, NULL when none: for status and plans. */
	char *error;
} fugue_live_entry;

typedef struct fugue_live {
	fugue_live_entry *entries;    /* owned; sorted by name */
	size_t n;
	size_t cap;
} fugue_live;

#define FUGUE_LIVE_INIT { NULL, 0, 0 }

/* Loads the resource records of a process (from fugue_state_resource_list)
 * into an empty LIVE: state from r->observed (with aws_id and attributes
 * merged in when observed lacks them), applied from r->declared; a record of
 * status DELETED has no state and gone set. Returns 0, FUGUE_ENOMEM, or
 * FUGUE_EINVAL for a record whose JSON does not parse (LIVE is then empty). */
int fugue_live_load(fugue_live *live, const fugue_state_resource *records, size_t n);

/* The entry named NAME, or NULL. Borrowed (valid until LIVE changes). */
fugue_live_entry *fugue_live_find(const fugue_live *live, const char *name);

/* The entry named NAME, added (status PENDING, nothing known) when missing.
 * TYPE is copied when adding. NULL on allocation failure. */
fugue_live_entry *fugue_live_ensure(fugue_live *live, const char *name, const char *type);

/* Removes the entry named NAME (no-op when absent). */
void fugue_live_remove(fugue_live *live, const char *name);

/* The primary id of NAME's state, or NULL. Borrowed. */
const char *fugue_live_id(const fugue_live *live, const char *name);

void fugue_live_clear(fugue_live *live);

/* --- references ------------------------------------------------------------ */

/* A deep copy of PROPS (declared properties, references as {"$ref": NAME,
 * "attr": ATTR}) with every reference replaced by the string it denotes in
 * LIVE: the referenced resource's state "id" (attr "id") or
 * state.attributes[ATTR]. Returns 0 with *OUT the caller's; FUGUE_ERETRY
 * when a referenced resource has no state yet or lacks the attribute (then
 * *MISSING, when not NULL, gets "NAME" or "NAME.ATTR", malloc'd, and *OUT
 * is NULL); FUGUE_ENOMEM. */
int fugue_resolve_refs(struct json_object **out, char **missing, const struct json_object *props,
                       const fugue_live *live);

/* Nonzero when V is an unresolved reference object. */
int fugue_is_ref(const struct json_object *v);

/* --- sensitive values -------------------------------------------------------- */

typedef enum fugue_redact_mode {
	FUGUE_REDACT_MASK,   /* sensitive values become the string "(sensitive)": output, history */
	FUGUE_REDACT_DIGEST  /* sensitive values become "sha256:<hex of their JSON>": the state store,
	                        so a change is still detected without keeping the secret */
} fugue_redact_mode;

/* A deep copy of PROPS (properties of TYPE; a state's "properties" too) with
 * every property whose schema (at any depth: object fields, list items, map
 * values) is FUGUE_PROP_SENSITIVE replaced per MODE. TYPE NULL: copied as
 * is. Returns the copy (caller's), NULL on allocation failure. */
struct json_object *fugue_redact(const struct json_object *props, const fugue_type_ops *type,
                                 fugue_redact_mode mode);

/* The same for a whole state object {"id", "attributes", "properties"}. */
struct json_object *fugue_redact_state(const struct json_object *state, const fugue_type_ops *type,
                                       fugue_redact_mode mode);

#endif
