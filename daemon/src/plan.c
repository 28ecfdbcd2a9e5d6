/* plan.c - the diff of a declared composition against what is known of its
 * resources (see plan.h and docs/plans.md). Computing a plan calls no
 * planner except a type's compare(), which is pure. */
#include "plan.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/common.h"
#include "json_util.h"
#include "plan_print.h"
#include "yaml_doc.h"

#define MASKED "(sensitive)"

static const char *const kind_names[FUGUE_ACTION_KINDS] = {
	"none", "create", "update", "replace", "delete"
};

static const char *const kind_symbols[FUGUE_ACTION_KINDS] = { "  ", "+ ", "~ ", "-/+", "- " };

const char *fugue_action_kind_name(fugue_action_kind k)
{
	return (unsigned int)k < FUGUE_ACTION_KINDS ? kind_names[k] : "unknown";
}

const char *fugue_action_kind_symbol(fugue_action_kind k)
{
	return (unsigned int)k < FUGUE_ACTION_KINDS ? kind_symbols[k] : "? ";
}

/* --- json helpers ----------------------------------------------------------- */

static int is_number(const struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

/* JSON equality, except that numbers compare by value (3 and 3.0 are the
 * same): YAML and AWS do not always agree on which one a number is. */
static int json_eq(const struct json_object *a, const struct json_object *b)
{
	size_t i;
	size_t n;

	if (!a || !b)
		return a == b;
	if (is_number(a) && is_number(b)) {
		if (json_object_is_type(a, json_type_int) && json_object_is_type(b, json_type_int))
			return json_object_get_int64(a) == json_object_get_int64(b);
		return json_object_get_double(a) == json_object_get_double(b);
	}
	if (json_object_get_type(a) != json_object_get_type(b))
		return 0;
	if (json_object_is_type(a, json_type_object)) {
		if (json_object_object_length(a) != json_object_object_length(b))
			return 0;
		json_object_object_foreach(fugue_json_unconst(a), key, val) {
			struct json_object *other;

			if (!json_object_object_get_ex(b, key, &other) || !json_eq(val, other))
				return 0;
		}
		return 1;
	}
	if (json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		if (n != json_object_array_length(b))
			return 0;
		for (i = 0; i < n; i++) {
			struct json_object *x = json_object_array_get_idx(a, i);

			if (!json_eq(x, json_object_array_get_idx(b, i)))
				return 0;
		}
		return 1;
	}
	return json_object_equal(fugue_json_unconst(a), fugue_json_unconst(b));
}

static const fugue_prop *find_prop(const fugue_type_ops *type, const char *name)
{
	const fugue_prop *p;

	for (p = type ? type->props : NULL; p && p->name; p++) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

/* Nonzero when P or anything inside it is sensitive. */
static int has_sensitive(const fugue_prop *p)
{
	const fugue_prop *f;

	if (!p)
		return 0;
	if (p->flags & FUGUE_PROP_SENSITIVE)
		return 1;
	if (p->items && has_sensitive(p->items))
		return 1;
	for (f = p->fields; f && f->name; f++) {
		if (has_sensitive(f))
			return 1;
	}
	return 0;
}

/* V, the value of property NAME of TYPE, redacted per MODE, as a new tree
 * (NULL for NULL; *FAILED on allocation failure). fugue_redact works on
 * whole property sets, so V is wrapped in one for the call. A resource
 * whose type is unknown has no schema to tell what is secret: everything
 * of it is masked. */
static struct json_object *redact_one(const fugue_type_ops *type, const char *name,
                                      const struct json_object *v, fugue_redact_mode mode,
                                      int *failed)
{
	struct json_object *wrap;
	struct json_object *red;
	struct json_object *out = NULL;

	if (!v)
		return NULL;
	if (!type) {
		out = json_object_new_string(MASKED);
		if (!out)
			*failed = 1;
		return out;
	}
	wrap = json_object_new_object();
	if (!wrap || json_object_object_add(wrap, name, json_object_get(fugue_json_unconst(v))) != 0) {
		json_object_put(wrap);
		*failed = 1;
		return NULL;
	}
	red = fugue_redact(wrap, type, mode);
	json_object_put(wrap);
	if (red)
		out = json_object_get(fugue_json_member(red, name));
	json_object_put(red);
	if (!out)
		*failed = 1;
	return out;
}

/* --- the plan being built ------------------------------------------------------- */

typedef struct builder {
	fugue_plan *plan;
	const fugue_plan_input *in;
	int failed;      /* an allocation failed */
	/* resource name -> index of its action so far: references are looked
	 * up once per reference, and a linear search made a plan of 10,000
	 * resources take seconds */
	struct json_object *index;
} builder;

static void change_clear(fugue_change *c)
{
	free(c->property);
	json_object_put(c->declared);
	json_object_put(c->actual);
}

static void action_clear(fugue_action *a)
{
	size_t i;

	free(a->resource);
	free(a->type);
	free(a->reason);
	for (i = 0; i < a->nchanges; i++)
		change_clear(&a->changes[i]);
	free(a->changes);
	for (i = 0; i < a->ndeps; i++)
		free(a->deps[i]);
	free(a->deps);
	memset(a, 0, sizeof(*a));
}

void fugue_plan_clear(fugue_plan *plan)
{
	size_t i;

	if (!plan)
		return;
	for (i = 0; i < plan->nactions; i++)
		action_clear(&plan->actions[i]);
	free(plan->actions);
	memset(plan, 0, sizeof(*plan));
}

const fugue_action *fugue_plan_find(const fugue_plan *plan, const char *resource)
{
	size_t i;

	for (i = 0; plan && resource && i < plan->nactions; i++) {
		if (strcmp(plan->actions[i].resource, resource) == 0)
			return &plan->actions[i];
	}
	return NULL;
}

int fugue_plan_is_empty(const fugue_plan *plan)
{
	size_t i;

	for (i = 0; plan && i < plan->nactions; i++) {
		if (plan->actions[i].kind != FUGUE_ACTION_NONE)
			return 0;
	}
	return 1;
}

/* The next action slot (the array is sized up front), with its names. */
static fugue_action *add_action(builder *b, const char *resource, const char *type,
                                fugue_action_kind kind)
{
	size_t k = b->plan->nactions++;
	fugue_action *a = &b->plan->actions[k];
	struct json_object *at = json_object_new_int64((int64_t)k);

	a->kind = kind;
	a->resource = strdup(resource);
	a->type = strdup(type ? type : "");
	if (!a->resource || !a->type || !at ||
	    json_object_object_add(b->index, resource, at) != 0)
		b->failed = 1;
	return a;
}

static void set_reason(builder *b, fugue_action *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_reason(builder *b, fugue_action *a, const char *fmt, ...)
{
	va_list ap;

	free(a->reason);
	va_start(ap, fmt);
	if (vasprintf(&a->reason, fmt, ap) < 0) {
		a->reason = NULL;
		b->failed = 1;
	}
	va_end(ap);
}

/* The names of R's dependencies in C into A->deps. */
static void set_deps(builder *b, fugue_action *a, const fugue_composition *c,
                     const fugue_resource *r)
{
	size_t i;

	if (!r || r->ndeps == 0)
		return;
	a->deps = calloc(r->ndeps, sizeof(*a->deps));
	if (!a->deps) {
		b->failed = 1;
		return;
	}
	for (i = 0; i < r->ndeps; i++) {
		a->deps[i] = strdup(c->resources[r->deps[i]].name);
		if (!a->deps[i]) {
			b->failed = 1;
			return;
		}
		a->ndeps++;
	}
}

/* --- references that are known after apply --------------------------------------- */

/* Nonzero when the resource NAME gets a new identity from this plan (it is
 * created or replaced before its dependents run) or LIVE cannot say yet
 * what NAME.ATTR is. */
static int ref_unknown(const builder *b, const char *name, const char *attr)
{
	struct json_object *at = NULL;
	const fugue_action *a = NULL;
	const fugue_live_entry *e;

	if (json_object_object_get_ex(b->index, name, &at))
		a = &b->plan->actions[json_object_get_int64(at)];

	if (a && (a->kind == FUGUE_ACTION_CREATE || a->kind == FUGUE_ACTION_REPLACE))
		return 1;
	e = fugue_live_find(b->in->live, name);
	if (!e || !e->state || e->gone)
		return 1;
	if (strcmp(attr, "id") == 0)
		return fugue_json_member(e->state, "id") == NULL;
	return fugue_json_member(fugue_json_member(e->state, "attributes"), attr) == NULL;
}

/* Nonzero when V holds a reference whose value is not known before apply. */
static int has_unknown_ref(const builder *b, const struct json_object *v)
{
	const char *name;
	const char *attr;
	size_t i;
	size_t n;

	if (!v)
		return 0;
	if (fugue_yaml_is_ref(v, &name, &attr))
		return ref_unknown(b, name, attr);
	if (json_object_is_type(v, json_type_object)) {
		json_object_object_foreach(fugue_json_unconst(v), key, val) {
			(void)key;
			if (has_unknown_ref(b, val))
				return 1;
		}
		return 0;
	}
	if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (has_unknown_ref(b, json_object_array_get_idx(v, i)))
				return 1;
		}
	}
	return 0;
}

/* V with every reference replaced by its text ("!ref vpc", "!ref vpc.arn"),
 * as a new tree; NULL with *FAILED on allocation failure. */
static struct json_object *refs_as_text(const struct json_object *v, int *failed)
{
	const char *name;
	const char *attr;
	struct json_object *out;
	char *text;
	size_t i;
	size_t n;

	if (!v)
		return NULL;
	if (fugue_yaml_is_ref(v, &name, &attr)) {
		if (strcmp(attr, "id") == 0 ? asprintf(&text, "!ref %s", name) < 0
		                            : asprintf(&text, "!ref %s.%s", name, attr) < 0) {
			*failed = 1;
			return NULL;
		}
		out = json_object_new_string(text);
		free(text);
	} else if (json_object_is_type(v, json_type_object)) {
		out = json_object_new_object();
		json_object_object_foreach(fugue_json_unconst(v), key, val) {
			if (out && json_object_object_add(out, key, refs_as_text(val, failed)) != 0)
				*failed = 1;
		}
	} else if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		out = json_object_new_array_ext((int)n);
		for (i = 0; out && i < n; i++) {
			struct json_object *el;

			el = refs_as_text(json_object_array_get_idx(v, i), failed);

			if (json_object_array_add(out, el) != 0) {
				json_object_put(el);
				*failed = 1;
			}
		}
	} else {
		out = json_object_get(fugue_json_unconst(v));
	}
	if (!out)
		*failed = 1;
	return out;
}

/* --- comparing one property ----------------------------------------------------------- */

/* Whether the declared value DECL (references resolved) of property NAME
 * means the same as ACTUAL. ACTUAL may hold sensitive values either as they
 * are (a fresh observation) or as digests (the state store, applied
 * values), so sensitive properties are compared digest to digest.
 * OBSERVED: ACTUAL comes from AWS, so the type's compare() applies. */
static int same_value(builder *b, const fugue_type_ops *type, const char *name,
                      const struct json_object *decl, const struct json_object *actual,
                      int observed)
{
	struct json_object *d;
	struct json_object *a;
	int same;

	if (!has_sensitive(find_prop(type, name))) {
		if (observed && type && type->compare && decl && actual)
			return type->compare(name, decl, actual) == 1;
		return json_eq(decl, actual);
	}
	d = redact_one(type, name, decl, FUGUE_REDACT_DIGEST, &b->failed);
	same = json_eq(d, actual);
	if (!same) {
		a = redact_one(type, name, actual, FUGUE_REDACT_DIGEST, &b->failed);
		same = json_eq(d, a);
		json_object_put(a);
	}
	json_object_put(d);
	return same;
}

/* What property NAME of entry E is compared against: the observed value
 * (*OBSERVED 1), else the applied one (NULL when it was not declared then).
 * Returns 0 when there is neither: AWS does not tell, and no record says
 * what was declared. */
static int actual_of(const struct json_object **actual, int *observed, const fugue_live_entry *e,
                     const fugue_prop *p, const char *name)
{
	const struct json_object *props = fugue_json_member(e->state, "properties");

	*actual = NULL;
	*observed = 0;
	if (!(p && (p->flags & FUGUE_PROP_WRITE_ONLY)) && fugue_json_member(props, name)) {
		*actual = fugue_json_member(props, name);
		*observed = 1;
		return 1;
	}
	if (!e->applied || !json_object_is_type(e->applied, json_type_object))
		return 0;
	*actual = fugue_json_member(e->applied, name);
	return 1;
}

static fugue_change *add_change(builder *b, fugue_action *a, const fugue_type_ops *type,
                                const char *name)
{
	fugue_change *changes = realloc(a->changes, (a->nchanges + 1) * sizeof(*changes));
	fugue_change *c;
	const fugue_prop *p = find_prop(type, name);

	if (!changes) {
		b->failed = 1;
		return NULL;
	}
	a->changes = changes;
	c = &changes[a->nchanges];
	memset(c, 0, sizeof(*c));
	c->property = strdup(name);
	if (!c->property) {
		b->failed = 1;
		return NULL;
	}
	a->nchanges++;
	c->forces_replacement =
		!type || !type->update || !p || !(p->flags & FUGUE_PROP_UPDATABLE);
	return c;
}

/* Diffs property NAME of declared resource R against entry E. */
static void diff_property(builder *b, fugue_action *a, const fugue_resource *r,
                          const fugue_live_entry *e, const char *name)
{
	const fugue_type_ops *type = r->type;
	const fugue_prop *p = find_prop(type, name);
	const struct json_object *raw = fugue_json_member(r->props, name);
	const struct json_object *actual;
	struct json_object *resolved = NULL;
	struct json_object *shown;
	fugue_change *c;
	int observed;
	int comparable;
	int unknown;
	int rc;

	comparable = actual_of(&actual, &observed, e, p, name);
	unknown = raw && has_unknown_ref(b, raw);
	if (!raw) {
		/* declared before and no longer: a change to unset */
		if (!fugue_json_member(e->applied, name))
			return;
	} else if (!unknown) {
		if (!comparable)
			return;
		rc = fugue_resolve_refs(&resolved, NULL, raw, b->in->live);
		if (rc == FUGUE_ERETRY) {
			unknown = 1;
		} else if (rc != 0) {
			b->failed = 1;
			return;
		} else if (same_value(b, type, name, resolved, actual, observed)) {
			json_object_put(resolved);
			return;
		}
	}
	c = add_change(b, a, type, name);
	if (c) {
		c->known_after_apply = unknown;
		/* what it will be: the resolved value, or the references' text */
		shown = unknown ? refs_as_text(raw, &b->failed) : json_object_get(resolved);
		c->declared = redact_one(type, name, shown, FUGUE_REDACT_MASK, &b->failed);
		json_object_put(shown);
		c->actual = redact_one(type, name, actual, FUGUE_REDACT_MASK, &b->failed);
	}
	json_object_put(resolved);
}

/* Nonzero when NAME is in the first N of NAMES. */
static int seen(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(names[i], name) == 0)
			return 1;
	}
	return 0;
}

/* Every property name to look at, each once: the schema's in its order,
 * then any other declared or applied one. Borrowed strings; *N set. */
static const char **property_names(size_t *n, const fugue_resource *r,
                                   const fugue_live_entry *e)
{
	int declared = r->props && json_object_is_type(r->props, json_type_object);
	size_t cap = 1 + (declared ? (size_t)json_object_object_length(r->props) : 0);
	const fugue_prop *p;
	const char **names;

	for (p = r->type ? r->type->props : NULL; p && p->name; p++)
		cap++;
	if (e->applied && json_object_is_type(e->applied, json_type_object))
		cap += (size_t)json_object_object_length(e->applied);
	names = calloc(cap, sizeof(*names));
	*n = 0;
	if (!names)
		return NULL;
	for (p = r->type ? r->type->props : NULL; p && p->name; p++)
		names[(*n)++] = p->name;
	if (declared) {
		json_object_object_foreach(r->props, key, val) {
			(void)val;
			if (!seen(names, *n, key))
				names[(*n)++] = key;
		}
	}
	if (e->applied && json_object_is_type(e->applied, json_type_object)) {
		json_object_object_foreach(e->applied, akey, aval) {
			(void)aval;
			if (!seen(names, *n, akey))
				names[(*n)++] = akey;
		}
	}
	return names;
}

/* --- declared resources ---------------------------------------------------------------- */

static void plan_changed(builder *b, fugue_action *a, const fugue_resource *r)
{
	size_t i;
	int replace = 0;

	for (i = 0; i < a->nchanges; i++)
		replace |= a->changes[i].forces_replacement;
	if (a->nchanges == 0) {
		a->kind = FUGUE_ACTION_NONE;
		set_reason(b, a, "up to date");
	} else if (!replace) {
		a->kind = FUGUE_ACTION_UPDATE;
		set_reason(b, a, "%zu propert%s changed", a->nchanges,
		           a->nchanges == 1 ? "y" : "ies");
	} else {
		a->kind = FUGUE_ACTION_REPLACE;
		a->create_before_delete =
			r->type && (r->type->flags & FUGUE_TYPE_CREATE_BEFORE_DELETE) ? 1 : 0;
		set_reason(b, a, "replace, %s",
		           a->create_before_delete ? "create before delete" : "delete then create");
	}
}

static void plan_declared(builder *b, const fugue_resource *r)
{
	const fugue_live_entry *e = fugue_live_find(b->in->live, r->name);
	fugue_action *a = add_action(b, r->name, r->type_name, FUGUE_ACTION_CREATE);
	const char **names;
	size_t n = 0;
	size_t i;

	set_deps(b, a, b->in->declared, r);
	if (!e || !e->state || e->gone) {
		set_reason(b, a, "%s", e && e->gone ? "deleted outside Fugue" : "not created yet");
		return;
	}
	if (e->type && *e->type && strcmp(e->type, r->type_name) != 0) {
		/* Another type under the same name: the old one goes first, as
		 * both may claim the same AWS name. */
		a->kind = FUGUE_ACTION_REPLACE;
		set_reason(b, a, "replace, type changed from %s, delete then create", e->type);
		return;
	}
	names = property_names(&n, r, e);
	if (!names) {
		b->failed = 1;
		return;
	}
	for (i = 0; i < n && !b->failed; i++)
		diff_property(b, a, r, e, names[i]);
	free(names);
	plan_changed(b, a, r);
}

/* --- deletes ------------------------------------------------------------------------------ */

static int is_declared(const builder *b, const char *name)
{
	struct json_object *at;

	/* every declared resource got its action first (plan_declared) */
	return b->in->declared && json_object_object_get_ex(b->index, name, &at) &&
	       b->plan->actions[json_object_get_int64(at)].kind != FUGUE_ACTION_DELETE;
}

static void plan_delete(builder *b, const fugue_live_entry *e)
{
	const fugue_composition *prev = b->in->previous;
	const fugue_composition *decl = prev ? prev : b->in->declared;
	const char *mark = strstr(e->name, FUGUE_DUPLICATE_MARK);
	fugue_action *a = add_action(b, e->name, e->type, FUGUE_ACTION_DELETE);

	if (mark)
		set_reason(b, a, "a duplicate of %.*s (same tags, another id)",
		           (int)(mark - e->name), e->name);
	else
		set_reason(b, a, "no longer declared");
	/* A duplicate goes before what its origin depends on. */
	if (decl && (prev || mark))
		set_deps(b, a, decl, fugue_composition_origin(decl, e->name));
}

/* Entries no longer declared: dependents before what they depend on, by the
 * previous composition's order reversed; then any it does not know, by name. */
static void plan_deletes(builder *b)
{
	const fugue_live *live = b->in->live;
	const fugue_composition *prev = b->in->previous;
	char *done = calloc(live->n ? live->n : 1, 1);
	size_t i;

	if (!done) {
		b->failed = 1;
		return;
	}
	for (i = prev ? prev->nresources : 0; i > 0 && !b->failed; i--) {
		const char *name = prev->resources[prev->order[i - 1]].name;
		const fugue_live_entry *e = fugue_live_find(live, name);

		if (!e || is_declared(b, name) || done[e - live->entries])
			continue;
		done[e - live->entries] = 1;
		plan_delete(b, e);
	}
	for (i = 0; i < live->n && !b->failed; i++) {
		if (!done[i] && !is_declared(b, live->entries[i].name))
			plan_delete(b, &live->entries[i]);
	}
	free(done);
}

int fugue_plan_compute(fugue_plan *plan, const fugue_plan_input *in)
{
	builder b = { plan, in, 0, json_object_new_object() };
	size_t ndeclared = in->declared ? in->declared->nresources : 0;
	size_t i;

	memset(plan, 0, sizeof(*plan));
	plan->actions = calloc(ndeclared + in->live->n + 1, sizeof(*plan->actions));
	if (!plan->actions || !b.index) {
		free(plan->actions);
		plan->actions = NULL;
		json_object_put(b.index);
		return FUGUE_ENOMEM;
	}
	for (i = 0; i < ndeclared && !b.failed; i++)
		plan_declared(&b, &in->declared->resources[in->declared->order[i]]);
	if (!b.failed)
		plan_deletes(&b);
	json_object_put(b.index);
	if (b.failed) {
		fugue_plan_clear(plan);
		return FUGUE_ENOMEM;
	}
	for (i = 0; i < plan->nactions; i++)
		plan->counts[plan->actions[i].kind]++;
	return 0;
}

/* --- output --------------------------------------------------------------------------------- */

/* The one plan renderer is the CLI's (cli/src/plan_print.c, linked into
 * the kernel): the text is made from the plan's JSON, as `fugue` shows it. */
void fugue_plan_print(FILE *f, const fugue_plan *plan)
{
	struct json_object *j = NULL;

	if (fugue_plan_to_json(&j, plan) != 0) {
		fputs("(out of memory)\n", f);
		return;
	}
	fugue_plan_render(f, j, NULL);
	json_object_put(j);
}

/* Adds KEY: V to O (V's reference taken over, also on failure); -1 on
 * failure, which includes a NULL V: a constructor that failed. */
static int put(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* The same for a value that may be JSON null. */
static int put_null(struct json_object *o, const char *key, struct json_object *v)
{
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

static struct json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *change_json(const fugue_change *c)
{
	struct json_object *o = json_object_new_object();

	if (!o || put(o, "property", json_object_new_string(c->property)) ||
	    put_null(o, "declared", json_object_get(c->declared)) ||
	    put_null(o, "actual", json_object_get(c->actual)) ||
	    put(o, "knownAfterApply", json_object_new_boolean(c->known_after_apply)) ||
	    put(o, "forcesReplacement", json_object_new_boolean(c->forces_replacement))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *action_json(const fugue_action *a)
{
	struct json_object *o = json_object_new_object();
	struct json_object *changes = json_object_new_array();
	struct json_object *deps = json_object_new_array();
	size_t i;
	int bad = !o || !changes || !deps;

	for (i = 0; !bad && i < a->nchanges; i++) {
		struct json_object *c = change_json(&a->changes[i]);

		bad = !c || json_object_array_add(changes, c) != 0;
		if (bad)
			json_object_put(c);
	}
	for (i = 0; !bad && i < a->ndeps; i++) {
		struct json_object *d = json_object_new_string(a->deps[i]);

		bad = !d || json_object_array_add(deps, d) != 0;
		if (bad)
			json_object_put(d);
	}
	if (bad || put(o, "resource", json_object_new_string(a->resource)) ||
	    put(o, "type", json_object_new_string(a->type)) ||
	    put(o, "action", json_object_new_string(fugue_action_kind_name(a->kind))) ||
	    put_null(o, "reason", string_or_null(a->reason)) ||
	    put(o, "createBeforeDelete", json_object_new_boolean(a->create_before_delete))) {
		json_object_put(changes);
		json_object_put(deps);
		json_object_put(o);
		return NULL;
	}
	if (put(o, "changes", changes)) {
		json_object_put(deps);
		json_object_put(o);
		return NULL;
	}
	if (put(o, "deps", deps)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *summary_json(const fugue_plan *plan)
{
	struct json_object *o = json_object_new_object();
	size_t k;

	for (k = FUGUE_ACTION_CREATE; o && k < FUGUE_ACTION_KINDS; k++) {
		if (put(o, kind_names[k], json_object_new_int64((int64_t)plan->counts[k])) != 0) {
			json_object_put(o);
			return NULL;
		}
	}
	if (o && put(o, "none", json_object_new_int64((int64_t)plan->counts[FUGUE_ACTION_NONE]))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int fugue_plan_to_json(struct json_object **out, const fugue_plan *plan)
{
	struct json_object *root = json_object_new_object();
	struct json_object *actions = json_object_new_array();
	size_t i;
	int bad = !root || !actions;

	*out = NULL;
	for (i = 0; !bad && i < plan->nactions; i++) {
		struct json_object *a = action_json(&plan->actions[i]);

		bad = !a || json_object_array_add(actions, a) != 0;
		if (bad)
			json_object_put(a);
	}
	if (bad) {
		json_object_put(actions);
		json_object_put(root);
		return FUGUE_ENOMEM;
	}
	if (put(root, "actions", actions) || put(root, "summary", summary_json(plan))) {
		json_object_put(root);
		return FUGUE_ENOMEM;
	}
	*out = root;
	return 0;
}
