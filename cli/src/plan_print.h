/* plan_print.h - a plan as people read it, from its JSON form (the `plan`
 * of docs/protocol.md, made by fugue_plan_to_json):
 *
 *   ~ net (Fake.Net.Network): 1 property changed
 *       name: "main" -> "prod"
 *   + sub (Fake.Net.Subnet): not created yet
 *   -/+ web (Fake.Compute.Server): replace, create before delete
 *       subnet: "subnet-0abc" -> !ref sub (known after apply) (forces replacement)
 *   - old (Fake.Net.Subnet): no longer declared
 *
 *   Plan: 1 to create, 1 to update, 1 to replace, 1 to delete.
 *
 * or "No changes." Actions of kind none are left out. Each change is
 * `property: ACTUAL -> DECLARED`, values as compact JSON, "(none)" when there
 * is no actual value, "(unset)" when the property is no longer declared.
 *
 * This is the one plan renderer: the CLI prints every plan with it. It needs
 * nothing but json-c and stdio (no cli.h), so the kernel can link it too. */
#ifndef FUGUE_CLI_PLAN_PRINT_H
#define FUGUE_CLI_PLAN_PRINT_H

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;

/* How to draw: the arrow, and the escape sequences around each kind of
 * action (NULL or "": none). Zeroed (or a NULL style): ASCII, no colour. */
typedef struct fugue_plan_style {
	int utf8;            /* "→" rather than "->" */
	const char *create;  /* "+" lines (green) */
	const char *update;  /* "~" lines (yellow) */
	const char *replace; /* "-/+" lines (red) */
	const char *remove;  /* "-" lines (red) */
	const char *reset;   /* ends any of them */
} fugue_plan_style;

/* Writes PLAN (borrowed) to F: every action but none, a blank line and the
 * summary line; "No changes." alone when nothing is to be done. A PLAN
 * that is not an object prints "No changes." too. */
void fugue_plan_render(FILE *f, const struct json_object *plan, const fugue_plan_style *style);

/* Writes only the summary line of PLAN to F ("Plan: ..." or "No changes."). */
void fugue_plan_render_summary(FILE *f, const struct json_object *plan);

/* The counts of PLAN's summary (computed from its actions when the summary
 * is missing). OUT[0..4]: create, update, replace, delete, none. */
void fugue_plan_counts(long out[5], const struct json_object *plan);

#ifdef __cplusplus
}
#endif
#endif
