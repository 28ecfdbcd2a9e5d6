/* plan_print.c - the plan as people read it (see plan_print.h). */
#include "plan_print.h"

#include <string.h>

#include <json-c/json.h>

#include "json_get.h"

enum { K_CREATE, K_UPDATE, K_REPLACE, K_DELETE, K_NONE, K_COUNT };

static const char *const kind_names[K_COUNT] = { "create", "update", "replace", "delete",
	                                         "none" };
static const char *const kind_symbols[K_COUNT] = { "+", "~", "-/+", "-", "" };

static int kind_of(const char *name)
{
	int k;

	for (k = 0; name && k < K_COUNT; k++) {
		if (strcmp(name, kind_names[k]) == 0)
			return k;
	}
	return -1;
}

static const char *esc(const char *s)
{
	return s ? s : "";
}

static const char *kind_color(const fugue_plan_style *st, int kind)
{
	switch (kind) {
	case K_CREATE:
		return esc(st->create);
	case K_UPDATE:
		return esc(st->update);
	case K_REPLACE:
		return esc(st->replace);
	default:
		return esc(st->remove);
	}
}

void fugue_plan_counts(long out[5], const struct json_object *plan)
{
	struct json_object *summary = fugue_j_get(plan, "summary");
	struct json_object *actions = fugue_j_array(plan, "actions");
	size_t i;
	int k;

	memset(out, 0, sizeof(long) * K_COUNT);
	if (summary) {
		for (k = 0; k < K_COUNT; k++)
			out[k] = (long)fugue_j_int(summary, kind_names[k], 0);
		return;
	}
	for (i = 0; i < fugue_j_len(actions); i++) {
		k = kind_of(fugue_j_str(fugue_j_at(actions, i), "action"));
		if (k >= 0)
			out[k]++;
	}
}

void fugue_plan_render_summary(FILE *f, const struct json_object *plan)
{
	long n[K_COUNT];

	fugue_plan_counts(n, plan);
	if (n[K_CREATE] + n[K_UPDATE] + n[K_REPLACE] + n[K_DELETE] == 0) {
		fputs("No changes.\n", f);
		return;
	}
	fprintf(f, "Plan: %ld to create, %ld to update, %ld to replace, %ld to delete.\n",
	        n[K_CREATE], n[K_UPDATE], n[K_REPLACE], n[K_DELETE]);
}

static void print_change(FILE *f, const struct json_object *c, int kind,
                         const fugue_plan_style *st)
{
	struct json_object *actual = fugue_j_get(c, "actual");
	struct json_object *declared = fugue_j_get(c, "declared");
	int later = fugue_j_bool(c, "knownAfterApply", 0);

	fprintf(f, "    %s: ", esc(fugue_j_str(c, "property")));
	fputs(actual ? fugue_j_text(actual) : "(none)", f);
	fputs(st->utf8 ? " \u2192 " : " -> ", f);
	/* A value known after apply is the reference's text ("!ref sub"), not a
	 * JSON string. */
	if (later && json_object_is_type(declared, json_type_string))
		fputs(json_object_get_string(declared), f);
	else
		fputs(declared ? fugue_j_text(declared) : "(unset)", f);
	if (later)
		fputs(" (known after apply)", f);
	if (kind == K_REPLACE && fugue_j_bool(c, "forcesReplacement", 0))
		fputs(" (forces replacement)", f);
	fputc('\n', f);
}

static void print_action(FILE *f, const struct json_object *a, const fugue_plan_style *st)
{
	struct json_object *changes = fugue_j_array(a, "changes");
	const char *reason = fugue_j_str(a, "reason");
	int kind = kind_of(fugue_j_str(a, "action"));
	size_t i;

	if (kind < 0 || kind == K_NONE)
		return;
	fprintf(f, "%s%s %s%s (%s)", kind_color(st, kind), kind_symbols[kind],
	        esc(fugue_j_str(a, "resource")), esc(st->reset), esc(fugue_j_str(a, "type")));
	if (reason)
		fprintf(f, ": %s", reason);
	fputc('\n', f);
	for (i = 0; i < fugue_j_len(changes); i++)
		print_change(f, fugue_j_at(changes, i), kind, st);
}

void fugue_plan_render(FILE *f, const struct json_object *plan, const fugue_plan_style *style)
{
	static const fugue_plan_style plain = { 0, NULL, NULL, NULL, NULL, NULL };
	struct json_object *actions = fugue_j_array(plan, "actions");
	const fugue_plan_style *st = style ? style : &plain;
	long n[K_COUNT];
	size_t i;

	fugue_plan_counts(n, plan);
	if (n[K_CREATE] + n[K_UPDATE] + n[K_REPLACE] + n[K_DELETE] == 0) {
		fputs("No changes.\n", f);
		return;
	}
	for (i = 0; i < fugue_j_len(actions); i++)
		print_action(f, fugue_j_at(actions, i), st);
	fputc('\n', f);
	fugue_plan_render_summary(f, plan);
}
