/* plan.h - what must be done to bring one process's resources to its
 * declaration: the diff of the declared composition against what is known
 * (recorded and, when fresh, observed) per resource.
 *
 * For each declared resource, in dependency order (composition->order):
 *   create   nothing of it exists (never created, or deleted outside Fugue)
 *   update   properties differ and every differing one is FUGUE_PROP_UPDATABLE
 *            and the type has update()
 *   replace  a differing property forces replacement: create-before-delete
 *            when the type has FUGUE_TYPE_CREATE_BEFORE_DELETE, else
 *            delete-then-create
 *   none     nothing differs
 * then, for each known resource that is no longer declared, in reverse
 * dependency order of the previous composition: delete.
 *
 * How a property is compared: the declared value (references resolved
 * against LIVE; a reference to a resource that is itself created or
 * replaced by this plan is "known after apply" and counts as a change) with
 *   - the observed value, when LIVE's state has it in "properties" and the
 *     property is not FUGUE_PROP_WRITE_ONLY, through the type's compare()
 *     or JSON equality;
 *   - else the applied value (LIVE's applied), sensitive ones by digest;
 *   - else it is not compared (AWS does not tell, and we never set it).
 * A property declared before (in applied) and no longer declared is a change
 * to "unset". Sensitive values never appear in a plan: fugue_change holds
 * them masked ("(sensitive)").
 *
 * A plan is a value: computing it does nothing, so it is what --dry-run
 * prints, and the scheduler executes exactly it. */
#ifndef FUGUE_PLAN_H
#define FUGUE_PLAN_H

#include <stddef.h>
#include <stdio.h>

#include "compiler.h"
#include "live.h"
#include "registry.h"

struct json_object;

typedef enum fugue_action_kind {
	FUGUE_ACTION_NONE,
	FUGUE_ACTION_CREATE,
	FUGUE_ACTION_UPDATE,
	FUGUE_ACTION_REPLACE,
	FUGUE_ACTION_DELETE
} fugue_action_kind;

#define FUGUE_ACTION_KINDS 5

/* "none", "create", "update", "replace", "delete"; static. */
const char *fugue_action_kind_name(fugue_action_kind k);
/* "  ", "+ ", "~ ", "-/+", "- ": the plan's margin; static. */
const char *fugue_action_kind_symbol(fugue_action_kind k);

/* One property that differs. Values are masked when sensitive. */
typedef struct fugue_change {
	char *property;                /* owned; top-level property name */
	struct json_object *declared;  /* owned; NULL: no longer declared (unset) */
	struct json_object *actual;    /* owned; NULL: AWS does not have it */
	int known_after_apply;         /* declared is a reference to a resource this plan
	                                  creates or replaces: declared holds the
	                                  reference text ("!ref vpc") */
	int forces_replacement;        /* the property is not updatable (or no update()) */
} fugue_change;

typedef struct fugue_action {
	char *resource;                /* owned */
	char *type;                    /* owned; type name */
	fugue_action_kind kind;
	int create_before_delete;      /* REPLACE: create the new one first */
	char *reason;                  /* owned, one line: "not created yet", "deleted outside
	                                  Fugue", "2 properties changed", "no longer declared" */
	fugue_change *changes;         /* owned; UPDATE and REPLACE */
	size_t nchanges;
	/* Names of the resources this one references (declared ones: from the
	 * composition; deleted ones: from the previous composition). Owned. */
	char **deps;
	size_t ndeps;
} fugue_action;

typedef struct fugue_plan {
	fugue_action *actions;         /* owned; declared in dependency order, then deletes */
	size_t nactions;
	size_t counts[FUGUE_ACTION_KINDS]; /* actions per kind */
} fugue_plan;

#define FUGUE_PLAN_INIT { NULL, 0, { 0, 0, 0, 0, 0 } }

typedef struct fugue_plan_input {
	/* The declaration; NULL plans the deletion of everything (kill). */
	const fugue_composition *declared;
	/* The declaration the resources were made from, for the dependencies of
	 * resources no longer declared; may be NULL (deletes are then unordered
	 * among themselves). */
	const fugue_composition *previous;
	const fugue_live *live;        /* required; an empty one for a new process */
} fugue_plan_input;

/* Computes the plan into an empty PLAN. Returns 0 or FUGUE_ENOMEM. */
int fugue_plan_compute(fugue_plan *plan, const fugue_plan_input *in);

/* Nonzero when the plan changes nothing. */
int fugue_plan_is_empty(const fugue_plan *plan);

/* The action for RESOURCE, or NULL. Borrowed. */
const fugue_action *fugue_plan_find(const fugue_plan *plan, const char *resource);

void fugue_plan_clear(fugue_plan *plan);

/* Human form, what `--dry-run` prints; actions of kind none are left out:
 *
 *     + vpc (Fake.Net.Network): not created yet
 *     ~ web (Fake.Compute.Server): 1 property changed
 *         size: "small" -> "large"
 *     -/+ subnet (Fake.Net.Subnet): replace, create before delete
 *         cidr: "10.0.1.0/24" -> "10.0.2.0/24" (forces replacement)
 *     - old (Fake.Net.Subnet): no longer declared
 *
 *     Plan: 1 to create, 1 to update, 1 to replace, 1 to delete.
 *
 * ("No changes." when empty.) */
void fugue_plan_print(FILE *f, const fugue_plan *plan);

/* JSON form (for --json and the wire):
 * {"actions": [{"resource", "type", "action", "reason", "createBeforeDelete",
 *   "changes": [{"property", "declared", "actual", "knownAfterApply",
 *   "forcesReplacement"}], "deps": [...]}],
 *  "summary": {"create": N, "update": N, "replace": N, "delete": N, "none": N}}
 * Actions of kind none are included. *OUT is the caller's. 0 or FUGUE_ENOMEM. */
int fugue_plan_to_json(struct json_object **out, const fugue_plan *plan);

#endif
