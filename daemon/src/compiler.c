/* compiler.c - composition YAML into a fugue_composition, with every error
 * of the file reported in one pass. */
#include "compiler.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "file_util.h"
#include "fugue/common.h"
#include "host.h"
#include "yaml_doc.h"

#define STORED_FORMAT 1

/* ==== diagnostics ========================================================= */

static int diags_reserve(fugue_diags *d)
{
	size_t cap;
	fugue_diag *items;

	if (d->n < d->cap)
		return 0;
	cap = d->cap ? d->cap * 2 : 16;
	items = realloc(d->items, cap * sizeof(*items));
	if (!items)
		return FUGUE_ENOMEM;
	d->items = items;
	d->cap = cap;
	return 0;
}

static int diags_vadd(fugue_diags *d, const char *file, int line, int col, const char *fmt,
                      va_list ap)
{
	fugue_diag *g;
	char *msg = NULL;
	char *f;

	if (diags_reserve(d) != 0)
		return FUGUE_ENOMEM;
	if (vasprintf(&msg, fmt, ap) < 0)
		return FUGUE_ENOMEM;
	f = strdup(file ? file : "-");
	if (!f) {
		free(msg);
		return FUGUE_ENOMEM;
	}
	g = &d->items[d->n++];
	g->file = f;
	g->line = line;
	g->col = col;
	g->message = msg;
	return 0;
}

int fugue_diags_add(fugue_diags *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = diags_vadd(d, file, line, col, fmt, ap);
	va_end(ap);
	return rc;
}

void fugue_diags_clear(fugue_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].message);
	}
	free(d->items);
	d->items = NULL;
	d->n = 0;
	d->cap = 0;
}

void fugue_diags_print(FILE *f, const fugue_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const fugue_diag *g = &d->items[i];

		if (g->line > 0)
			fprintf(f, "%s:%d:%d: %s\n", g->file, g->line, g->col, g->message);
		else
			fprintf(f, "%s: %s\n", g->file, g->message);
	}
}

int fugue_diags_to_json(struct json_object **out, const fugue_diags *d)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	*out = NULL;
	if (!arr)
		return FUGUE_ENOMEM;
	for (i = 0; i < d->n; i++) {
		struct json_object *o = json_object_new_object();

		if (!o || json_object_array_add(arr, o) != 0) {
			json_object_put(o);
			json_object_put(arr);
			return FUGUE_ENOMEM;
		}
		json_object_object_add(o, "file", json_object_new_string(d->items[i].file));
		json_object_object_add(o, "line", json_object_new_int(d->items[i].line));
		json_object_object_add(o, "col", json_object_new_int(d->items[i].col));
		json_object_object_add(o, "message", json_object_new_string(d->items[i].message));
	}
	*out = arr;
	return 0;
}

/* ==== did you mean ========================================================= */

/* Optimal string alignment distance of the lower-cased strings. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a);
	size_t lb = strlen(b);
	size_t *row0 = calloc(lb + 1, sizeof(size_t));
	size_t *row1 = calloc(lb + 1, sizeof(size_t));
	size_t *row2 = calloc(lb + 1, sizeof(size_t));
	size_t i;
	size_t j;
	size_t d;

	if (!row0 || !row1 || !row2) {
		free(row0);
		free(row1);
		free(row2);
		return SIZE_MAX;
	}
	/* row0 = i-2, row1 = i-1, row2 = i */
	for (j = 0; j <= lb; j++)
		row1[j] = j;
	for (i = 1; i <= la; i++) {
		size_t *t;

		row2[0] = i;
		for (j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			size_t cost = ca == cb ? 0 : 1;
			size_t best = row1[j - 1] + cost;

			if (row1[j] + 1 < best)
				best = row1[j] + 1;
			if (row2[j - 1] + 1 < best)
				best = row2[j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && row0[j - 2] + 1 < best)
				best = row0[j - 2] + 1;
			row2[j] = best;
		}
		t = row0;
		row0 = row1;
		row1 = row2;
		row2 = t;
	}
	d = row1[lb];
	free(row0);
	free(row1);
	free(row2);
	return d;
}

static int starts_with_nocase(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

const char *fugue_did_you_mean(const char *word, const char *const *candidates, size_t n)
{
	size_t len = strlen(word);
	size_t limit = len / 3;
	size_t best_score = SIZE_MAX;
	const char *best = NULL;
	size_t i;

	if (limit < 1)
		limit = 1;
	if (limit > 4)
		limit = 4;
	for (i = 0; i < n; i++) {
		size_t d = edit_distance(word, candidates[i]);
		size_t score;

		if (d <= limit)
			score = 2 * d;
		else if (len >= 3 && (starts_with_nocase(candidates[i], word) ||
		                      starts_with_nocase(word, candidates[i])))
			score = 2 * limit + 1; /* a prefix: worse than any close spelling */
		else
			continue;
		if (score < best_score) {
			best_score = score;
			best = candidates[i];
		}
	}
	return best;
}

/* ==== the compiler ========================================================= */

/* A dependency edge with the position of its first reference. */
typedef struct edge {
	size_t to;
	fugue_pos pos;
} edge;

/* What the compiler knows of a resource while compiling. */
typedef struct rinfo {
	struct json_object *decl; /* the resource's mapping in the tree (borrowed), or NULL */
	int broken;               /* has an error: not validated, not declared() */
	edge *edges;
	size_t nedges;
	size_t edges_cap;
} rinfo;

typedef struct compiler {
	const fugue_compile_options *opts;
	const char *file;
	fugue_yaml_doc *doc;
	fugue_diags diags;        /* this file's, sorted at the end */
	int oom;
	fugue_composition *c;
	rinfo *ri;
	struct json_object *index; /* resource name -> index */
	const char **names;       /* resource names, for hints */
} compiler;

static void error_at(compiler *cc, fugue_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Whether the YAML reader already reported an error at POS: a later error
 * there (an alias read as null, a !ref mapping) is only its consequence. */
static int yaml_error_at(const compiler *cc, fugue_pos pos)
{
	const fugue_yaml_error *errs;
	size_t n = cc->doc ? fugue_yaml_errors(cc->doc, &errs) : 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (errs[i].pos.line == pos.line && errs[i].pos.col == pos.col)
			return 1;
	return 0;
}

static void error_at(compiler *cc, fugue_pos pos, const char *fmt, ...)
{
	va_list ap;

	if (yaml_error_at(cc, pos))
		return;
	va_start(ap, fmt);
	if (diags_vadd(&cc->diags, cc->file, pos.line, pos.col, fmt, ap) != 0)
		cc->oom = 1;
	va_end(ap);
}

static fugue_pos to_pos(fugue_yaml_pos p)
{
	fugue_pos q = { p.line, p.col };

	return q;
}

/* Where member KEY of OBJ sits: its key (*KP) and value (*VP); FALLBACK
 * for members the document did not have. */
static void member_pos(compiler *cc, const struct json_object *obj, const char *key,
                       fugue_pos fallback, fugue_pos *kp, fugue_pos *vp)
{
	fugue_yaml_pos k;
	fugue_yaml_pos v;

	if (fugue_yaml_member_pos(cc->doc, obj, key, &k, &v) != 0) {
		*kp = fallback;
		*vp = fallback;
		return;
	}
	*kp = to_pos(k);
	*vp = to_pos(v);
}

static fugue_pos element_pos(compiler *cc, const struct json_object *arr, size_t i,
                             fugue_pos fallback)
{
	fugue_yaml_pos v;

	if (fugue_yaml_element_pos(cc->doc, arr, i, &v) != 0)
		return fallback;
	return to_pos(v);
}

static char *join_path(compiler *cc, const char *prefix, const char *key)
{
	char *s = NULL;
	int n;

	if (prefix && *prefix)
		n = asprintf(&s, "%s.%s", prefix, key);
	else
		n = asprintf(&s, "%s", key);
	if (n < 0) {
		cc->oom = 1;
		return NULL;
	}
	return s;
}

static char *index_path(compiler *cc, const char *prefix, size_t i)
{
	char key[32];

	snprintf(key, sizeof(key), "%zu", i);
	return join_path(cc, prefix, key);
}

static void record_pos(compiler *cc, fugue_resource *r, const char *path, fugue_pos pos)
{
	struct json_object *p = json_object_new_array_ext(2);

	if (!p) {
		cc->oom = 1;
		return;
	}
	json_object_array_add(p, json_object_new_int(pos.line));
	json_object_array_add(p, json_object_new_int(pos.col));
	json_object_object_add(r->positions, path, p);
}

static const char *value_kind(const struct json_object *v)
{
	if (!v)
		return "null";
	if (fugue_yaml_is_ref(v, NULL, NULL))
		return "a reference";
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
		return "an integer";
	case json_type_double:
		return "a number";
	case json_type_string:
		return json_object_get_string_len(v) ? "a string" : "an empty string";
	case json_type_array:
		return "a list";
	case json_type_object:
		return "a mapping";
	default:
		return "null";
	}
}

static const char *kind_name(fugue_kind k)
{
	switch (k) {
	case FUGUE_KIND_STRING:
		return "a string";
	case FUGUE_KIND_INT:
		return "an integer";
	case FUGUE_KIND_NUMBER:
		return "a number";
	case FUGUE_KIND_BOOL:
		return "a boolean";
	case FUGUE_KIND_LIST:
		return "a list";
	case FUGUE_KIND_OBJECT:
	case FUGUE_KIND_MAP:
		return "a mapping";
	case FUGUE_KIND_DOCUMENT:
		return "a document";
	case FUGUE_KIND_REF:
		return "a reference (!ref NAME)";
	}
	return "a value";
}

static size_t find_resource(const compiler *cc, const char *name)
{
	struct json_object *i;

	if (!json_object_object_get_ex(cc->index, name, &i))
		return SIZE_MAX;
	return (size_t)json_object_get_int64(i);
}

/* --- references ------------------------------------------------------------- */

static void add_edge(compiler *cc, size_t from, size_t to, fugue_pos pos)
{
	rinfo *ri = &cc->ri[from];
	size_t i;

	for (i = 0; i < ri->nedges; i++)
		if (ri->edges[i].to == to)
			return;
	if (ri->nedges == ri->edges_cap) {
		size_t cap = ri->edges_cap ? ri->edges_cap * 2 : 4;
		edge *e = realloc(ri->edges, cap * sizeof(*e));

		if (!e) {
			cc->oom = 1;
			return;
		}
		ri->edges = e;
		ri->edges_cap = cap;
	}
	ri->edges[ri->nedges].to = to;
	ri->edges[ri->nedges].pos = pos;
	ri->nedges++;
}

/* Whether TYPE is in the comma-separated LIST. */
static int in_type_list(const char *list, const char *type)
{
	size_t len = strlen(type);
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");
		const char *s = p;
		size_t m = n;

		while (m && isspace((unsigned char)*s)) {
			s++;
			m--;
		}
		while (m && isspace((unsigned char)s[m - 1]))
			m--;
		if (m == len && strncmp(s, type, len) == 0)
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

static void check_ref_type(compiler *cc, size_t ri, const fugue_prop *prop, const char *path,
                           size_t t, fugue_pos pos)
{
	const fugue_resource *target = &cc->c->resources[t];

	if (!prop || !prop->ref_types || in_type_list(prop->ref_types, target->type_name))
		return;
	cc->ri[ri].broken = 1;
	if (strchr(prop->ref_types, ','))
		error_at(cc, pos, "property '%s' of %s must refer to one of %s, not %s ('%s')", path,
		         cc->c->resources[ri].type_name, prop->ref_types, target->type_name,
		         target->name);
	else
		error_at(cc, pos, "property '%s' of %s must refer to %s, not %s ('%s')", path,
		         cc->c->resources[ri].type_name, prop->ref_types, target->type_name,
		         target->name);
}

static void check_ref_attr(compiler *cc, size_t ri, const char *attr, size_t t, fugue_pos pos)
{
	const fugue_resource *target = &cc->c->resources[t];
	const fugue_attr *a = target->type->attrs;
	const char *names[64];
	size_t n = 0;
	const char *hint;

	if (strcmp(attr, "id") == 0)
		return;
	names[n++] = "id";
	for (; a && a->name && n < 64; a++) {
		if (strcmp(a->name, attr) == 0)
			return;
		names[n++] = a->name;
	}
	cc->ri[ri].broken = 1;
	hint = fugue_did_you_mean(attr, names, n);
	if (hint) {
		error_at(cc, pos, "resource '%s' (%s) does not publish attribute '%s' (did you mean '%s'?)",
		         target->name, target->type_name, attr, hint);
	} else {
		char list[512] = "";
		size_t i;

		for (i = 0; i < n; i++) {
			if (i)
				strncat(list, ", ", sizeof(list) - strlen(list) - 1);
			strncat(list, names[i], sizeof(list) - strlen(list) - 1);
		}
		error_at(cc, pos, "resource '%s' (%s) does not publish attribute '%s' (it publishes %s)",
		         target->name, target->type_name, attr, list);
	}
}

/* A `!ref NAME.ATTR` at PATH of resource RI; PROP is the REF property, or
 * NULL inside a document (any type). */
static void check_ref(compiler *cc, size_t ri, const fugue_prop *prop, const char *path,
                      const struct json_object *v, fugue_pos pos)
{
	const char *name;
	const char *attr;
	size_t t;

	fugue_yaml_is_ref(v, &name, &attr);
	if (!*name)
		return; /* reported by the parser */
	t = find_resource(cc, name);
	if (t == SIZE_MAX) {
		const char *hint = fugue_did_you_mean(name, cc->names, cc->c->nresources);

		cc->ri[ri].broken = 1;
		if (hint)
			error_at(cc, pos, "reference to unknown resource '%s' (did you mean '%s'?)", name,
			         hint);
		else
			error_at(cc, pos, "reference to unknown resource '%s'", name);
		return;
	}
	add_edge(cc, ri, t, pos);
	if (!cc->c->resources[t].type)
		return; /* its unknown type is reported where it is declared */
	check_ref_type(cc, ri, prop, path, t, pos);
	check_ref_attr(cc, ri, attr, t, pos);
}

/* --- values ----------------------------------------------------------------- */

typedef struct walk {
	compiler *cc;
	size_t ri;
	fugue_resource *r;
} walk;

static void check_value(walk *w, const fugue_prop *prop, struct json_object *v, const char *path,
                        fugue_pos pos);
static void check_members(walk *w, const fugue_prop *fields, struct json_object *obj,
                          const char *prefix, fugue_pos pos);

static void wrong_kind(walk *w, const fugue_prop *prop, const struct json_object *v,
                       const char *path, fugue_pos pos)
{
	const char *hint = "";
	json_type t = json_object_get_type(v);

	if (prop->kind == FUGUE_KIND_STRING && v &&
	    (t == json_type_int || t == json_type_double || t == json_type_boolean))
		hint = " (quote it to make it a string)";
	else if (prop->kind != FUGUE_KIND_REF && fugue_yaml_is_ref(v, NULL, NULL))
		hint = " (!ref is allowed only in reference properties and documents)";
	w->cc->ri[w->ri].broken = 1;
	error_at(w->cc, pos, "property '%s' of %s must be %s, not %s%s", path, w->r->type_name,
	         kind_name(prop->kind), value_kind(v), hint);
}

static void check_enum(walk *w, const fugue_prop *prop, const char *s, const char *path,
                       fugue_pos pos)
{
	char list[1024] = "";
	const char *const *e;

	for (e = prop->enum_values; *e; e++)
		if (strcmp(*e, s) == 0)
			return;
	for (e = prop->enum_values; *e; e++) {
		size_t used = strlen(list);

		snprintf(list + used, sizeof(list) - used, "%s'%s'", e == prop->enum_values ? "" : ", ",
		         *e);
	}
	w->cc->ri[w->ri].broken = 1;
	if (prop->flags & FUGUE_PROP_SENSITIVE)
		error_at(w->cc, pos, "property '%s' of %s must be one of %s", path, w->r->type_name,
		         list);
	else
		error_at(w->cc, pos, "property '%s' of %s must be one of %s, not '%s'", path,
		         w->r->type_name, list, s);
}

/* Any tree: only references are checked. Every value's position is kept. */
static void walk_document(walk *w, struct json_object *v, const char *path, fugue_pos pos)
{
	if (fugue_yaml_is_ref(v, NULL, NULL)) {
		check_ref(w->cc, w->ri, NULL, path, v, pos);
		return;
	}
	if (json_object_is_type(v, json_type_array)) {
		size_t i;

		for (i = 0; i < json_object_array_length(v); i++) {
			fugue_pos p = element_pos(w->cc, v, i, pos);
			char *sub = index_path(w->cc, path, i);

			if (!sub)
				return;
			record_pos(w->cc, w->r, sub, p);
			walk_document(w, json_object_array_get_idx(v, i), sub, p);
			free(sub);
		}
	} else if (json_object_is_type(v, json_type_object)) {
		struct json_object_iterator it = json_object_iter_begin(v);
		struct json_object_iterator end = json_object_iter_end(v);

		for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
			const char *key = json_object_iter_peek_name(&it);
			fugue_pos kp;
			fugue_pos vp;
			char *sub = join_path(w->cc, path, key);

			if (!sub)
				return;
			member_pos(w->cc, v, key, pos, &kp, &vp);
			record_pos(w->cc, w->r, sub, vp);
			walk_document(w, json_object_iter_peek_value(&it), sub, vp);
			free(sub);
		}
	}
}

static void check_list(walk *w, const fugue_prop *prop, struct json_object *v, const char *path,
                       fugue_pos pos)
{
	size_t i;

	for (i = 0; i < json_object_array_length(v); i++) {
		fugue_pos p = element_pos(w->cc, v, i, pos);
		char *sub = index_path(w->cc, path, i);

		if (!sub)
			return;
		record_pos(w->cc, w->r, sub, p);
		check_value(w, prop->items, json_object_array_get_idx(v, i), sub, p);
		free(sub);
	}
}

static void check_map(walk *w, const fugue_prop *prop, struct json_object *v, const char *path,
                      fugue_pos pos)
{
	struct json_object_iterator it = json_object_iter_begin(v);
	struct json_object_iterator end = json_object_iter_end(v);

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		fugue_pos kp;
		fugue_pos vp;
		char *sub = join_path(w->cc, path, key);

		if (!sub)
			return;
		member_pos(w->cc, v, key, pos, &kp, &vp);
		record_pos(w->cc, w->r, sub, vp);
		check_value(w, prop->items, json_object_iter_peek_value(&it), sub, vp);
		free(sub);
	}
}

static int is_plain_object(const struct json_object *v)
{
	return json_object_is_type(v, json_type_object) && !fugue_yaml_is_ref(v, NULL, NULL);
}

static void check_ref_value(walk *w, const fugue_prop *prop, struct json_object *v,
                            const char *path, fugue_pos pos)
{
	const char *s;

	if (fugue_yaml_is_ref(v, NULL, NULL)) {
		check_ref(w->cc, w->ri, prop, path, v, pos);
		return;
	}
	if (!json_object_is_type(v, json_type_string)) {
		wrong_kind(w, prop, v, path, pos);
		return;
	}
	/* A string is an existing AWS id; one that names a resource of the
	 * composition is almost certainly a forgotten !ref. */
	s = json_object_get_string(v);
	if (find_resource(w->cc, s) != SIZE_MAX) {
		w->cc->ri[w->ri].broken = 1;
		error_at(w->cc, pos,
		         "property '%s' of %s is the string '%s'; write !ref %s to refer to resource '%s'",
		         path, w->r->type_name, s, s, s);
	}
}

/* VALUE at PATH checked against PROP (NULL: any value, as a document). */
static void check_value(walk *w, const fugue_prop *prop, struct json_object *v, const char *path,
                        fugue_pos pos)
{
	json_type t = json_object_get_type(v);
	int is_ref = fugue_yaml_is_ref(v, NULL, NULL);

	if (!prop || prop->kind == FUGUE_KIND_DOCUMENT) {
		walk_document(w, v, path, pos);
		return;
	}
	switch (prop->kind) {
	case FUGUE_KIND_STRING:
		if (!v || t != json_type_string)
			wrong_kind(w, prop, v, path, pos);
		else if (prop->enum_values)
			check_enum(w, prop, json_object_get_string(v), path, pos);
		return;
	case FUGUE_KIND_INT:
		if (!v || t != json_type_int)
			wrong_kind(w, prop, v, path, pos);
		return;
	case FUGUE_KIND_NUMBER:
		if (!v || (t != json_type_int && t != json_type_double))
			wrong_kind(w, prop, v, path, pos);
		return;
	case FUGUE_KIND_BOOL:
		if (!v || t != json_type_boolean)
			wrong_kind(w, prop, v, path, pos);
		return;
	case FUGUE_KIND_LIST:
		if (!v || t != json_type_array)
			wrong_kind(w, prop, v, path, pos);
		else
			check_list(w, prop, v, path, pos);
		return;
	case FUGUE_KIND_OBJECT:
		if (!v || is_ref || t != json_type_object)
			wrong_kind(w, prop, v, path, pos);
		else
			check_members(w, prop->fields, v, path, pos);
		return;
	case FUGUE_KIND_MAP:
		if (!v || is_ref || t != json_type_object)
			wrong_kind(w, prop, v, path, pos);
		else
			check_map(w, prop, v, path, pos);
		return;
	case FUGUE_KIND_REF:
		check_ref_value(w, prop, v, path, pos);
		return;
	case FUGUE_KIND_DOCUMENT:
		return;
	}
	wrong_kind(w, prop, v, path, pos);
}

static const fugue_prop *find_field(const fugue_prop *fields, const char *name)
{
	for (; fields && fields->name; fields++)
		if (strcmp(fields->name, name) == 0)
			return fields;
	return NULL;
}

static void unknown_member(walk *w, const fugue_prop *fields, const char *key, const char *prefix,
                           fugue_pos kp)
{
	const char *names[256];
	size_t n = 0;
	const char *hint;
	char in[1024];

	for (; fields && fields->name && n < 256; fields++)
		names[n++] = fields->name;
	hint = fugue_did_you_mean(key, names, n);
	if (prefix)
		snprintf(in, sizeof(in), "%s of %s", prefix, w->r->type_name);
	else
		snprintf(in, sizeof(in), "%s", w->r->type_name);
	w->cc->ri[w->ri].broken = 1;
	if (hint)
		error_at(w->cc, kp, "unknown property '%s' in %s (did you mean '%s'?)", key, in, hint);
	else
		error_at(w->cc, kp, "unknown property '%s' in %s", key, in);
}

/* Drops members declared as null: a null is the same as not declaring. */
static void drop_nulls(compiler *cc, struct json_object *obj)
{
	struct json_object_iterator it = json_object_iter_begin(obj);
	struct json_object_iterator end = json_object_iter_end(obj);
	char **keys = NULL;
	size_t n = 0;
	size_t i;

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		char **k;

		if (json_object_iter_peek_value(&it))
			continue;
		k = realloc(keys, (n + 1) * sizeof(*keys));
		if (!k) {
			cc->oom = 1;
			break;
		}
		keys = k;
		keys[n] = strdup(json_object_iter_peek_name(&it));
		if (!keys[n]) {
			cc->oom = 1;
			break;
		}
		n++;
	}
	for (i = 0; i < n; i++) {
		json_object_object_del(obj, keys[i]);
		free(keys[i]);
	}
	free(keys);
}

static void apply_default(walk *w, const fugue_prop *f, struct json_object *obj, fugue_pos pos)
{
	struct json_object *d = json_tokener_parse(f->default_json);

	if (!d && strcmp(f->default_json, "null") != 0) {
		error_at(w->cc, pos, "the schema of %s is broken: the default of '%s' is not json",
		         w->r->type_name, f->name);
		w->cc->ri[w->ri].broken = 1;
		return;
	}
	if (d)
		json_object_object_add(obj, f->name, d);
}

/* The directory relative FUGUE_PROP_FILE paths are resolved against, or NULL. */
static const char *base_dir(const compiler *cc)
{
	return cc->opts->version >= 2 ? cc->opts->base_dir : NULL;
}

/* 0 when the user who asked may read the file at ABS (resolved), or the
 * errno value that says why not. */
static int reader_may_read(const compiler *cc, const char *abs)
{
	uid_t reader = cc->opts->version >= 2 ? cc->opts->reader : FUGUE_COMPILE_ANY_READER;

	return reader == FUGUE_COMPILE_ANY_READER ? 0 : fugue_file_readable_by(abs, reader);
}

/* A FUGUE_PROP_FILE value, OBJ[KEY] (a string): the file is read now and
 * the value becomes {"path": as declared, "file": absolute, "sha256": the
 * content's}, so that a new content at the same path is a change. */
static void resolve_file(walk *w, struct json_object *obj, const char *key, const char *path,
                         fugue_pos pos)
{
	const char *declared = json_object_get_string(json_object_object_get(obj, key));
	const char *dir = base_dir(w->cc);
	char *joined = NULL;
	char *abs = NULL;
	char sha[64];
	struct json_object *v;
	int err;

	if (!*declared) {
		w->cc->ri[w->ri].broken = 1;
		error_at(w->cc, pos, "property '%s' of %s is an empty path", path, w->r->type_name);
		return;
	}
	if (declared[0] != '/' && !dir) {
		w->cc->ri[w->ri].broken = 1;
		error_at(w->cc, pos, "property '%s' of %s: '%s' is relative and the composition's "
		         "directory is not known (give an absolute path)", path, w->r->type_name,
		         declared);
		return;
	}
	if (declared[0] == '/')
		joined = strdup(declared);
	else if (asprintf(&joined, "%s/%s", dir, declared) < 0)
		joined = NULL;
	if (!joined) {
		w->cc->oom = 1;
		return;
	}
	abs = realpath(joined, NULL);
	err = abs ? reader_may_read(w->cc, abs) : errno;
	if (!err)
		err = fugue_file_sha256(sha, sizeof(sha), abs);
	if (err) {
		char reason[256];

		snprintf(reason, sizeof(reason), "%s", strerror(err));
		reason[0] = (char)tolower((unsigned char)reason[0]);
		w->cc->ri[w->ri].broken = 1;
		error_at(w->cc, pos, "property '%s' of %s: cannot read '%s': %s", path,
		         w->r->type_name, joined, reason);
		free(joined);
		free(abs);
		return;
	}
	v = json_object_new_object();
	if (!v || json_object_object_add(v, "path", json_object_new_string(declared)) != 0 ||
	    json_object_object_add(v, "file", json_object_new_string(abs)) != 0 ||
	    json_object_object_add(v, "sha256", json_object_new_string(sha)) != 0 ||
	    json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		w->cc->oom = 1;
	}
	free(joined);
	free(abs);
}

/* The members of OBJ against FIELDS: unknown ones, then missing required
 * ones and defaults. PREFIX is NULL for the resource's top level. */
static void check_members(walk *w, const fugue_prop *fields, struct json_object *obj,
                          const char *prefix, fugue_pos pos)
{
	struct json_object_iterator it;
	struct json_object_iterator end;
	const fugue_prop *f;

	drop_nulls(w->cc, obj);
	it = json_object_iter_begin(obj);
	end = json_object_iter_end(obj);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		const fugue_prop *field = find_field(fields, key);
		fugue_pos kp;
		fugue_pos vp;
		char *path;

		member_pos(w->cc, obj, key, pos, &kp, &vp);
		if (!field) {
			unknown_member(w, fields, key, prefix, kp);
			continue;
		}
		path = join_path(w->cc, prefix, key);
		if (!path)
			return;
		record_pos(w->cc, w->r, path, vp);
		check_value(w, field, json_object_iter_peek_value(&it), path, vp);
		if ((field->flags & FUGUE_PROP_FILE) &&
		    json_object_is_type(json_object_iter_peek_value(&it), json_type_string))
			resolve_file(w, obj, key, path, vp);
		free(path);
	}
	for (f = fields; f && f->name; f++) {
		if (json_object_object_get_ex(obj, f->name, NULL))
			continue;
		if (f->default_json) {
			apply_default(w, f, obj, pos);
		} else if (f->flags & FUGUE_PROP_REQUIRED) {
			w->cc->ri[w->ri].broken = 1;
			if (prefix)
				error_at(w->cc, pos, "missing required property '%s' in %s of %s", f->name,
				         prefix, w->r->type_name);
			else
				error_at(w->cc, pos, "missing required property '%s' in %s", f->name,
				         w->r->type_name);
		}
	}
}

/* --- the top level ------------------------------------------------------------ */

static const char *const top_keys[] = { "composition", "region", "tags", "resources" };

static struct json_object *top_member(compiler *cc, struct json_object *root, const char *key,
                                      fugue_pos *kp, fugue_pos *vp)
{
	struct json_object *v = NULL;
	fugue_pos root_pos = to_pos(fugue_yaml_root_pos(cc->doc));

	json_object_object_get_ex(root, key, &v);
	member_pos(cc, root, key, root_pos, kp, vp);
	return v;
}

static void check_top_keys(compiler *cc, struct json_object *root)
{
	struct json_object_iterator it = json_object_iter_begin(root);
	struct json_object_iterator end = json_object_iter_end(root);
	fugue_pos root_pos = to_pos(fugue_yaml_root_pos(cc->doc));

	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		const char *hint;
		fugue_pos kp;
		fugue_pos vp;
		size_t i;

		for (i = 0; i < 4; i++)
			if (strcmp(key, top_keys[i]) == 0)
				break;
		if (i < 4)
			continue;
		member_pos(cc, root, key, root_pos, &kp, &vp);
		hint = fugue_did_you_mean(key, top_keys, 4);
		if (hint)
			error_at(cc, kp, "unknown top-level key '%s' (did you mean '%s'?)", key, hint);
		else
			error_at(cc, kp,
			         "unknown top-level key '%s' (expected composition, region, tags or resources)",
			         key);
	}
}

/* A top-level string member KEY into *OUT (strdup'd), or an error. */
static void top_string(compiler *cc, struct json_object *root, const char *key, char **out)
{
	fugue_pos kp;
	fugue_pos vp;
	struct json_object *v = top_member(cc, root, key, &kp, &vp);

	if (!json_object_object_get_ex(root, key, NULL))
		return;
	if (!json_object_is_type(v, json_type_string) || !*json_object_get_string(v)) {
		error_at(cc, vp, "'%s' must be a non-empty string, not %s", key, value_kind(v));
		return;
	}
	*out = strdup(json_object_get_string(v));
	if (!*out)
		cc->oom = 1;
}

static void check_tags(compiler *cc, struct json_object *root)
{
	fugue_pos kp;
	fugue_pos vp;
	struct json_object *tags = top_member(cc, root, "tags", &kp, &vp);
	struct json_object_iterator it;
	struct json_object_iterator end;

	if (!json_object_object_get_ex(root, "tags", NULL))
		return;
	if (!is_plain_object(tags)) {
		error_at(cc, vp, "'tags' must be a mapping of strings, not %s", value_kind(tags));
		return;
	}
	it = json_object_iter_begin(tags);
	end = json_object_iter_end(tags);
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it)) {
		const char *key = json_object_iter_peek_name(&it);
		struct json_object *v = json_object_iter_peek_value(&it);
		fugue_pos tk;
		fugue_pos tv;

		member_pos(cc, tags, key, vp, &tk, &tv);
		if (starts_with_nocase(key, "aws:") || starts_with_nocase(key, "fugue:"))
			error_at(cc, tk, "tag key '%s' is reserved (keys starting with 'aws:' or 'fugue:')",
			         key);
		else if (!json_object_is_type(v, json_type_string))
			error_at(cc, tv, "tag '%s' must be a string, not %s", key, value_kind(v));
		else
			json_object_object_add(cc->c->tags, key, json_object_get(v));
	}
}

static int valid_resource_name(const char *s)
{
	if (!isalnum((unsigned char)*s))
		return 0;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
			return 0;
	return 1;
}

/* The resource's own `region:`, removed from its properties. */
static void resource_region(compiler *cc, fugue_resource *r, struct json_object *decl)
{
	struct json_object *v;
	fugue_pos kp;
	fugue_pos vp;
	const char *region = cc->c->region;

	if (json_object_object_get_ex(decl, "region", &v)) {
		member_pos(cc, decl, "region", r->pos, &kp, &vp);
		if (json_object_is_type(v, json_type_string) && *json_object_get_string(v))
			region = json_object_get_string(v);
		else
			error_at(cc, vp, "'region' of resource '%s' must be a non-empty string, not %s",
			         r->name, value_kind(v));
	}
	if (region) {
		r->region = strdup(region);
		if (!r->region)
			cc->oom = 1;
	}
	json_object_object_del(decl, "region");
}

/* The resource's `type:`, looked up and removed from its properties. */
static void resource_type(compiler *cc, size_t i, struct json_object *decl)
{
	fugue_resource *r = &cc->c->resources[i];
	struct json_object *v;
	fugue_pos kp;
	fugue_pos vp;
	const char *name;

	if (!json_object_object_get_ex(decl, "type", &v)) {
		error_at(cc, r->pos, "resource '%s' has no 'type'", r->name);
		cc->ri[i].broken = 1;
		return;
	}
	member_pos(cc, decl, "type", r->pos, &kp, &vp);
	if (!json_object_is_type(v, json_type_string)) {
		error_at(cc, vp, "'type' of resource '%s' must be a string, not %s", r->name,
		         value_kind(v));
		cc->ri[i].broken = 1;
		json_object_object_del(decl, "type");
		return;
	}
	name = json_object_get_string(v);
	r->type_name = strdup(name);
	if (!r->type_name) {
		cc->oom = 1;
		return;
	}
	r->type = fugue_registry_type(cc->opts->registry, name, &r->planner_data);
	if (!r->type) {
		const char *const *names;
		size_t n = fugue_registry_type_names(cc->opts->registry, &names);
		const char *hint = fugue_did_you_mean(name, names, n);

		cc->ri[i].broken = 1;
		if (hint)
			error_at(cc, vp, "unknown type '%s' (did you mean '%s'?)", name, hint);
		else
			error_at(cc, vp, "unknown type '%s'", name);
	}
	json_object_object_del(decl, "type");
}

/* First pass over `resources:`: names, types, regions, so that references
 * can be checked whatever the order of declaration. */
static void collect_resources(compiler *cc, struct json_object *resources, fugue_pos pos)
{
	size_t n = (size_t)json_object_object_length(resources);
	struct json_object_iterator it = json_object_iter_begin(resources);
	struct json_object_iterator end = json_object_iter_end(resources);
	size_t i = 0;

	cc->c->resources = calloc(n ? n : 1, sizeof(fugue_resource));
	cc->ri = calloc(n ? n : 1, sizeof(rinfo));
	cc->names = calloc(n ? n : 1, sizeof(char *));
	if (!cc->c->resources || !cc->ri || !cc->names) {
		cc->oom = 1;
		return;
	}
	for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it), i++) {
		const char *name = json_object_iter_peek_name(&it);
		struct json_object *decl = json_object_iter_peek_value(&it);
		fugue_resource *r = &cc->c->resources[i];
		fugue_pos kp;
		fugue_pos vp;

		cc->c->nresources = i + 1;
		member_pos(cc, resources, name, pos, &kp, &vp);
		r->pos = kp;
		r->name = strdup(name);
		r->positions = json_object_new_object();
		if (!r->name || !r->positions) {
			cc->oom = 1;
			return;
		}
		cc->names[i] = r->name;
		json_object_object_add(cc->index, name, json_object_new_int64((int64_t)i));
		if (!valid_resource_name(name)) {
			error_at(cc, kp,
			         "invalid resource name '%s': use letters, digits, '_' and '-', "
			         "starting with a letter or digit",
			         name);
			cc->ri[i].broken = 1;
		}
		if (!is_plain_object(decl)) {
			error_at(cc, vp, "resource '%s' must be a mapping with a 'type', not %s", name,
			         value_kind(decl));
			cc->ri[i].broken = 1;
			continue;
		}
		cc->ri[i].decl = decl;
		resource_type(cc, i, decl);
		resource_region(cc, r, decl);
	}
}

/* Second pass: properties against the schema; references; defaults. */
static void check_resources(compiler *cc)
{
	size_t i;

	for (i = 0; i < cc->c->nresources && !cc->oom; i++) {
		fugue_resource *r = &cc->c->resources[i];
		walk w = { cc, i, r };

		if (!cc->ri[i].decl)
			continue;
		r->props = json_object_get(cc->ri[i].decl);
		if (r->type) {
			check_members(&w, r->type->props, r->props, NULL, r->pos);
		} else {
			/* Without a schema, at least its references are checked. */
			walk_document(&w, r->props, "", r->pos);
		}
	}
}

/* --- the graph ---------------------------------------------------------------- */

typedef struct tarjan {
	compiler *cc;
	long *index;
	long *low;
	char *on_stack;
	size_t *stack;
	size_t sp;
	long counter;
	size_t norder;
	long *scc;      /* SCC number of each node, -1 while open */
	long nscc;
} tarjan;

static int has_self_edge(const rinfo *ri, size_t v)
{
	size_t i;

	for (i = 0; i < ri->nedges; i++)
		if (ri->edges[i].to == v)
			return 1;
	return 0;
}

/* One error for the strongly connected component containing START (its
 * earliest-declared member): the shortest cycle through START, in order,
 * at START's reference to the next resource of the cycle. */
static void report_cycle(tarjan *t, size_t start)
{
	compiler *cc = t->cc;
	size_t n = cc->c->nresources;
	size_t *prev = malloc(n * sizeof(size_t));
	size_t *queue = malloc(n * sizeof(size_t));
	size_t *path = malloc((n + 1) * sizeof(size_t));
	size_t head = 0;
	size_t tail = 0;
	size_t last = SIZE_MAX;
	size_t len = 0;
	size_t i;
	char *msg = NULL;
	size_t msg_len = 0;
	FILE *f;

	if (!prev || !queue || !path) {
		cc->oom = 1;
		goto out;
	}
	for (i = 0; i < n; i++)
		prev[i] = SIZE_MAX;
	queue[tail++] = start;
	while (head < tail && last == SIZE_MAX) {
		size_t u = queue[head++];
		const rinfo *ri = &cc->ri[u];

		for (i = 0; i < ri->nedges; i++) {
			size_t v = ri->edges[i].to;

			if (t->scc[v] != t->scc[start])
				continue;
			if (v == start) {
				last = u;
				break;
			}
			if (prev[v] == SIZE_MAX) {
				prev[v] = u;
				queue[tail++] = v;
			}
		}
	}
	for (i = last; i != start && len < n; i = prev[i])
		path[len++] = i;
	path[len++] = start;
	/* PATH is LAST .. START backwards: the cycle is START, reversed rest, START. */
	f = open_memstream(&msg, &msg_len);
	if (!f) {
		cc->oom = 1;
		goto out;
	}
	fprintf(f, "cycle: %s", cc->c->resources[start].name);
	for (i = len - 1; i-- > 0;)
		fprintf(f, " -> %s", cc->c->resources[path[i]].name);
	fprintf(f, " -> %s", cc->c->resources[start].name);
	fclose(f);
	{
		size_t next = len > 1 ? path[len - 2] : start;
		const rinfo *ri = &cc->ri[start];
		fugue_pos pos = cc->c->resources[start].pos;

		for (i = 0; i < ri->nedges; i++)
			if (ri->edges[i].to == next)
				pos = ri->edges[i].pos;
		error_at(cc, pos, "%s", msg);
	}
out:
	free(msg);
	free(prev);
	free(queue);
	free(path);
}

static void strongconnect(tarjan *t, size_t v)
{
	const rinfo *ri = &t->cc->ri[v];
	size_t i;

	t->index[v] = t->low[v] = t->counter++;
	t->stack[t->sp++] = v;
	t->on_stack[v] = 1;
	for (i = 0; i < ri->nedges; i++) {
		size_t w = ri->edges[i].to;

		if (t->index[w] < 0) {
			strongconnect(t, w);
			if (t->low[w] < t->low[v])
				t->low[v] = t->low[w];
		} else if (t->on_stack[w] && t->index[w] < t->low[v]) {
			t->low[v] = t->index[w];
		}
	}
	if (t->low[v] != t->index[v])
		return;
	{
		size_t first = SIZE_MAX;
		size_t count = 0;
		size_t w;

		do {
			w = t->stack[--t->sp];
			t->on_stack[w] = 0;
			t->scc[w] = t->nscc;
			t->cc->c->order[t->norder++] = w;
			if (w < first)
				first = w;
			count++;
		} while (w != v);
		t->nscc++;
		if (count > 1 || has_self_edge(ri, v))
			report_cycle(t, first);
	}
}

/* The order (dependencies first: Tarjan emits a component after every
 * component it reaches) and one error per cycle. */
static void order_resources(compiler *cc)
{
	size_t n = cc->c->nresources;
	tarjan t = { cc, NULL, NULL, NULL, NULL, 0, 0, 0, NULL, 0 };
	size_t i;

	cc->c->order = calloc(n ? n : 1, sizeof(size_t));
	t.index = malloc((n ? n : 1) * sizeof(long));
	t.low = malloc((n ? n : 1) * sizeof(long));
	t.on_stack = calloc(n ? n : 1, 1);
	t.stack = malloc((n ? n : 1) * sizeof(size_t));
	t.scc = malloc((n ? n : 1) * sizeof(long));
	if (!cc->c->order || !t.index || !t.low || !t.on_stack || !t.stack || !t.scc) {
		cc->oom = 1;
	} else {
		for (i = 0; i < n; i++) {
			t.index[i] = -1;
			t.scc[i] = -1;
		}
		for (i = 0; i < n; i++)
			if (t.index[i] < 0)
				strongconnect(&t, i);
	}
	free(t.index);
	free(t.low);
	free(t.on_stack);
	free(t.stack);
	free(t.scc);
}

static void finish_deps(compiler *cc)
{
	size_t i;
	size_t j;

	for (i = 0; i < cc->c->nresources; i++) {
		fugue_resource *r = &cc->c->resources[i];
		const rinfo *ri = &cc->ri[i];

		if (!ri->nedges)
			continue;
		r->deps = malloc(ri->nedges * sizeof(size_t));
		if (!r->deps) {
			cc->oom = 1;
			return;
		}
		for (j = 0; j < ri->nedges; j++)
			r->deps[j] = ri->edges[j].to;
		r->ndeps = ri->nedges;
	}
}

/* --- the types' own validate() ------------------------------------------------- */

static const struct json_object *declared_of(const char *resource, void *payload)
{
	compiler *cc = payload;
	size_t i = find_resource(cc, resource);

	if (i == SIZE_MAX || cc->ri[i].broken)
		return NULL;
	return cc->c->resources[i].props;
}

static void validate_one(compiler *cc, size_t i)
{
	fugue_resource *r = &cc->c->resources[i];
	fugue_call call;
	fugue_ctx ctx;
	size_t k;
	int rc;

	fugue_call_init(&call);
	call.resource = r->name;
	call.type = r->type_name;
	call.declared = declared_of;
	call.declared_payload = cc;
	fugue_call_ctx(&ctx, &call);
	ctx.planner_data = r->planner_data;
	ctx.region = r->region;
	ctx.tags = cc->c->tags;
	rc = r->type->validate(&ctx, r->props);
	for (k = 0; k < call.nreports; k++) {
		const fugue_report *rep = &call.reports[k];
		fugue_pos pos = fugue_resource_pos(r, rep->path);

		if (rep->path && *rep->path)
			error_at(cc, pos, "resource '%s': %s: %s", r->name, rep->path, rep->message);
		else
			error_at(cc, pos, "resource '%s': %s", r->name, rep->message);
	}
	if (rc != 0 && call.nreports == 0)
		error_at(cc, r->pos, "resource '%s': %s", r->name,
		         call.message ? call.message : fugue_strerror(rc));
	fugue_call_clear(&call);
}

static void validate_resources(compiler *cc)
{
	size_t i;

	for (i = 0; i < cc->c->nresources && !cc->oom; i++) {
		const fugue_resource *r = &cc->c->resources[i];

		if (cc->ri[i].broken || !r->type || !r->type->validate || !r->props)
			continue;
		validate_one(cc, i);
	}
}

/* --- putting it together -------------------------------------------------------- */

static void add_yaml_errors(compiler *cc)
{
	const fugue_yaml_error *errs;
	size_t n = fugue_yaml_errors(cc->doc, &errs);
	size_t i;

	for (i = 0; i < n; i++)
		if (fugue_diags_add(&cc->diags, cc->file, errs[i].pos.line, errs[i].pos.col, "%s",
		                    errs[i].message) != 0)
			cc->oom = 1;
}

static void compile_root(compiler *cc, struct json_object *root)
{
	fugue_pos root_pos = to_pos(fugue_yaml_root_pos(cc->doc));
	struct json_object *resources;
	fugue_pos kp;
	fugue_pos vp;

	if (!root) {
		fugue_pos top = { 1, 1 };

		error_at(cc, top, "empty composition: expected a mapping with 'resources'");
		return;
	}
	if (!is_plain_object(root)) {
		error_at(cc, root_pos, "a composition must be a mapping with 'resources', not %s",
		         value_kind(root));
		return;
	}
	check_top_keys(cc, root);
	top_string(cc, root, "composition", &cc->c->alias);
	top_string(cc, root, "region", &cc->c->region);
	if (!cc->c->region && cc->opts->default_region) {
		cc->c->region = strdup(cc->opts->default_region);
		if (!cc->c->region)
			cc->oom = 1;
	}
	check_tags(cc, root);
	resources = top_member(cc, root, "resources", &kp, &vp);
	if (!json_object_object_get_ex(root, "resources", NULL)) {
		error_at(cc, root_pos, "composition has no 'resources'");
		return;
	}
	if (!is_plain_object(resources)) {
		error_at(cc, vp, "'resources' must be a mapping of resource names, not %s",
		         value_kind(resources));
		return;
	}
	collect_resources(cc, resources, vp);
	if (cc->oom)
		return;
	check_resources(cc);
	order_resources(cc);
	finish_deps(cc);
	validate_resources(cc);
}

/* Sorts DIAGS by position, keeping the order of equal positions. */
static int diag_cmp(const void *a, const void *b)
{
	const fugue_diag *x = *(const fugue_diag *const *)a;
	const fugue_diag *y = *(const fugue_diag *const *)b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x < y ? -1 : (x > y);
}

static int move_diags(fugue_diags *dst, fugue_diags *src)
{
	const fugue_diag **sorted = malloc((src->n ? src->n : 1) * sizeof(*sorted));
	size_t i;

	if (!sorted)
		return FUGUE_ENOMEM;
	for (i = 0; i < src->n; i++)
		sorted[i] = &src->items[i];
	qsort(sorted, src->n, sizeof(*sorted), diag_cmp);
	for (i = 0; i < src->n; i++) {
		const fugue_diag *g = sorted[i];

		if (fugue_diags_add(dst, g->file, g->line, g->col, "%s", g->message) != 0) {
			free(sorted);
			return FUGUE_ENOMEM;
		}
	}
	free(sorted);
	return 0;
}

static void free_rinfo(compiler *cc)
{
	size_t i;

	if (cc->ri && cc->c)
		for (i = 0; i < cc->c->nresources; i++)
			free(cc->ri[i].edges);
	free(cc->ri);
	free(cc->names);
	json_object_put(cc->index);
}

static fugue_composition *composition_new(const char *file)
{
	fugue_composition *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->file = strdup(file);
	c->tags = json_object_new_object();
	if (!c->file || !c->tags) {
		fugue_composition_free(c);
		return NULL;
	}
	return c;
}

int fugue_compile_buffer(fugue_composition **out, fugue_diags *diags,
                         const fugue_compile_options *opts, const char *file, const char *text,
                         size_t len)
{
	compiler cc;
	int rc;

	*out = NULL;
	memset(&cc, 0, sizeof(cc));
	cc.opts = opts;
	cc.file = file;
	cc.c = composition_new(file);
	cc.index = json_object_new_object();
	if (!cc.c || !cc.index) {
		fugue_composition_free(cc.c);
		json_object_put(cc.index);
		return FUGUE_ENOMEM;
	}
	rc = fugue_yaml_parse(&cc.doc, text, len);
	if (rc == FUGUE_ENOMEM) {
		cc.oom = 1;
	} else {
		add_yaml_errors(&cc);
		if (rc == 0)
			compile_root(&cc, fugue_yaml_root(cc.doc));
	}
	free_rinfo(&cc);
	fugue_yaml_doc_free(cc.doc);
	rc = cc.oom ? FUGUE_ENOMEM : cc.diags.n ? FUGUE_EINVAL : 0;
	if (!cc.oom && move_diags(diags, &cc.diags) != 0)
		rc = FUGUE_ENOMEM;
	fugue_diags_clear(&cc.diags);
	if (rc != 0) {
		fugue_composition_free(cc.c);
		return rc;
	}
	*out = cc.c;
	return 0;
}

/* OPTS into *O, with base_dir (a copy, the caller frees it) the given one,
 * else PATH's directory made absolute. Returns 0 or FUGUE_ENOMEM. */
static int base_dir_of(fugue_compile_options *o, const fugue_compile_options *opts,
                       const char *path)
{
	const char *given = opts->version >= 2 ? opts->base_dir : NULL;
	char *abs;
	char *slash;

	o->version = FUGUE_COMPILE_OPTIONS_VERSION;
	o->registry = opts->registry;
	o->default_region = opts->default_region;
	o->reader = opts->version >= 2 ? opts->reader : FUGUE_COMPILE_ANY_READER;
	o->base_dir = NULL;
	if (given) {
		o->base_dir = strdup(given);
		return o->base_dir ? 0 : FUGUE_ENOMEM;
	}
	abs = realpath(path, NULL);
	if (!abs) /* the file was just read: only memory can fail here */
		return errno == ENOMEM ? FUGUE_ENOMEM : 0;
	slash = strrchr(abs, '/');
	if (slash == abs)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	o->base_dir = abs;
	return 0;
}

int fugue_compile_file(fugue_composition **out, fugue_diags *diags,
                       const fugue_compile_options *opts, const char *path)
{
	fugue_compile_options o;
	char *text = NULL;
	size_t len = 0;
	int err = fugue_read_file(&text, &len, path);
	int rc;

	*out = NULL;
	if (err) {
		char reason[256];

		snprintf(reason, sizeof(reason), "%s", strerror(err));
		reason[0] = (char)tolower((unsigned char)reason[0]);
		if (fugue_diags_add(diags, path, 0, 0, "cannot read the composition: %s", reason) != 0)
			return FUGUE_ENOMEM;
		return err == ENOMEM ? FUGUE_ENOMEM : FUGUE_EIO;
	}
	if (base_dir_of(&o, opts, path) != 0) {
		free(text);
		return FUGUE_ENOMEM;
	}
	rc = fugue_compile_buffer(out, diags, &o, path, text, len);
	free((char *)o.base_dir);
	free(text);
	return rc;
}

/* ==== the composition ========================================================= */

static void resource_clear(fugue_resource *r)
{
	free(r->name);
	free(r->type_name);
	free(r->region);
	json_object_put(r->props);
	free(r->deps);
	json_object_put(r->positions);
}

void fugue_composition_free(fugue_composition *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->nresources; i++)
		resource_clear(&c->resources[i]);
	free(c->resources);
	free(c->order);
	free(c->file);
	free(c->alias);
	free(c->region);
	json_object_put(c->tags);
	free(c);
}

const fugue_resource *fugue_composition_find(const fugue_composition *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nresources; i++)
		if (strcmp(c->resources[i].name, name) == 0)
			return &c->resources[i];
	return NULL;
}

const fugue_resource *fugue_composition_origin(const fugue_composition *c, const char *name)
{
	const char *mark = name ? strstr(name, FUGUE_DUPLICATE_MARK) : NULL;
	size_t len = mark ? (size_t)(mark - name) : 0;
	size_t i;

	if (!c || !name)
		return NULL;
	if (!mark)
		return fugue_composition_find(c, name);
	for (i = 0; i < c->nresources; i++)
		if (strncmp(c->resources[i].name, name, len) == 0 &&
		    c->resources[i].name[len] == '\0')
			return &c->resources[i];
	return NULL;
}

fugue_pos fugue_resource_pos(const fugue_resource *r, const char *path)
{
	char buf[1024];
	struct json_object *p;

	if (!path || !*path || !r->positions)
		return r->pos;
	snprintf(buf, sizeof(buf), "%s", path);
	for (;;) {
		char *dot;

		if (json_object_object_get_ex(r->positions, buf, &p) &&
		    json_object_array_length(p) == 2) {
			fugue_pos pos = { json_object_get_int(json_object_array_get_idx(p, 0)),
			                  json_object_get_int(json_object_array_get_idx(p, 1)) };

			return pos;
		}
		dot = strrchr(buf, '.');
		if (!dot)
			return r->pos;
		*dot = '\0';
	}
}

/* --- the stored form ------------------------------------------------------------- */

static struct json_object *string_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *pos_json(fugue_pos pos)
{
	struct json_object *p = json_object_new_array_ext(2);

	if (p) {
		json_object_array_add(p, json_object_new_int(pos.line));
		json_object_array_add(p, json_object_new_int(pos.col));
	}
	return p;
}

static struct json_object *resource_json(const fugue_composition *c, const fugue_resource *r)
{
	struct json_object *o = json_object_new_object();
	struct json_object *deps = json_object_new_array();
	size_t i;

	if (!o || !deps) {
		json_object_put(o);
		json_object_put(deps);
		return NULL;
	}
	for (i = 0; i < r->ndeps; i++)
		json_object_array_add(deps, json_object_new_string(c->resources[r->deps[i]].name));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "type", json_object_new_string(r->type_name));
	json_object_object_add(o, "region", string_or_null(r->region));
	json_object_object_add(o, "props", json_object_get(r->props));
	json_object_object_add(o, "deps", deps);
	json_object_object_add(o, "pos", pos_json(r->pos));
	json_object_object_add(o, "positions", json_object_get(r->positions));
	return o;
}

int fugue_composition_to_json(struct json_object **out, const fugue_composition *c)
{
	struct json_object *o = json_object_new_object();
	struct json_object *res = json_object_new_array();
	struct json_object *order = json_object_new_array();
	size_t i;

	*out = NULL;
	if (!o || !res || !order)
		goto oom;
	json_object_object_add(o, "format", json_object_new_int(STORED_FORMAT));
	json_object_object_add(o, "file", string_or_null(c->file));
	json_object_object_add(o, "alias", string_or_null(c->alias));
	json_object_object_add(o, "region", string_or_null(c->region));
	json_object_object_add(o, "tags", json_object_get(c->tags));
	for (i = 0; i < c->nresources; i++) {
		struct json_object *r = resource_json(c, &c->resources[i]);

		if (!r || json_object_array_add(res, r) != 0) {
			json_object_put(r);
			goto oom;
		}
	}
	for (i = 0; i < c->nresources; i++)
		json_object_array_add(order, json_object_new_string(c->resources[c->order[i]].name));
	json_object_object_add(o, "resources", res);
	json_object_object_add(o, "order", order);
	*out = o;
	return 0;
oom:
	json_object_put(o);
	json_object_put(res);
	json_object_put(order);
	return FUGUE_ENOMEM;
}

static const char *get_str(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int dup_opt(char **out, const char *s)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : FUGUE_ENOMEM;
}

static fugue_pos pos_from_json(const struct json_object *o)
{
	struct json_object *p;
	fugue_pos pos = { 0, 0 };

	if (json_object_object_get_ex(o, "pos", &p) && json_object_is_type(p, json_type_array) &&
	    json_object_array_length(p) == 2) {
		pos.line = json_object_get_int(json_object_array_get_idx(p, 0));
		pos.col = json_object_get_int(json_object_array_get_idx(p, 1));
	}
	return pos;
}

/* Index of the resource named by string V, or SIZE_MAX. */
static size_t index_of(const struct json_object *index, struct json_object *v)
{
	struct json_object *i;

	if (!json_object_is_type(v, json_type_string) ||
	    !json_object_object_get_ex(index, json_object_get_string(v), &i))
		return SIZE_MAX;
	return (size_t)json_object_get_int64(i);
}

static int resource_from_json(fugue_resource *r, const struct json_object *o,
                              const fugue_registry *reg)
{
	struct json_object *v;
	const char *name = get_str(o, "name");
	const char *type = get_str(o, "type");

	if (!name || !type)
		return FUGUE_EINVAL;
	if (dup_opt(&r->name, name) || dup_opt(&r->type_name, type) ||
	    dup_opt(&r->region, get_str(o, "region")))
		return FUGUE_ENOMEM;
	if (reg)
		r->type = fugue_registry_type(reg, type, &r->planner_data);
	if (!json_object_object_get_ex(o, "props", &v) || !json_object_is_type(v, json_type_object))
		return FUGUE_EINVAL;
	r->props = json_object_get(v);
	if (json_object_object_get_ex(o, "positions", &v) && json_object_is_type(v, json_type_object))
		r->positions = json_object_get(v);
	else
		r->positions = json_object_new_object();
	r->pos = pos_from_json(o);
	return r->positions ? 0 : FUGUE_ENOMEM;
}

static int deps_from_json(fugue_resource *r, const struct json_object *o,
                          const struct json_object *index)
{
	struct json_object *deps;
	size_t i;
	size_t n;

	if (!json_object_object_get_ex(o, "deps", &deps) || !json_object_is_type(deps, json_type_array))
		return FUGUE_EINVAL;
	n = json_object_array_length(deps);
	if (!n)
		return 0;
	r->deps = malloc(n * sizeof(size_t));
	if (!r->deps)
		return FUGUE_ENOMEM;
	for (i = 0; i < n; i++) {
		size_t d = index_of(index, json_object_array_get_idx(deps, i));

		if (d == SIZE_MAX)
			return FUGUE_EINVAL;
		r->deps[r->ndeps++] = d;
	}
	return 0;
}

static int order_from_json(fugue_composition *c, const struct json_object *j,
                           const struct json_object *index)
{
	struct json_object *order;
	char *seen;
	size_t i;

	if (!json_object_object_get_ex(j, "order", &order) ||
	    !json_object_is_type(order, json_type_array) ||
	    json_object_array_length(order) != c->nresources)
		return FUGUE_EINVAL;
	c->order = calloc(c->nresources ? c->nresources : 1, sizeof(size_t));
	seen = calloc(c->nresources ? c->nresources : 1, 1);
	if (!c->order || !seen) {
		free(seen);
		return FUGUE_ENOMEM;
	}
	for (i = 0; i < c->nresources; i++) {
		size_t k = index_of(index, json_object_array_get_idx(order, i));

		if (k == SIZE_MAX || seen[k]) {
			free(seen);
			return FUGUE_EINVAL;
		}
		seen[k] = 1;
		c->order[i] = k;
	}
	free(seen);
	return 0;
}

static int composition_from_json(fugue_composition *c, const struct json_object *j,
                                 const fugue_registry *reg)
{
	struct json_object *res;
	struct json_object *tags;
	struct json_object *index;
	size_t n;
	size_t i;
	int rc = 0;

	if (!json_object_object_get_ex(j, "resources", &res) ||
	    !json_object_is_type(res, json_type_array))
		return FUGUE_EINVAL;
	if (dup_opt(&c->alias, get_str(j, "alias")) || dup_opt(&c->region, get_str(j, "region")))
		return FUGUE_ENOMEM;
	if (json_object_object_get_ex(j, "tags", &tags) && json_object_is_type(tags, json_type_object)) {
		json_object_put(c->tags);
		c->tags = json_object_get(tags);
	}
	n = json_object_array_length(res);
	c->resources = calloc(n ? n : 1, sizeof(fugue_resource));
	index = json_object_new_object();
	if (!c->resources || !index) {
		json_object_put(index);
		return FUGUE_ENOMEM;
	}
	for (i = 0; i < n && rc == 0; i++) {
		struct json_object *o = json_object_array_get_idx(res, i);

		c->nresources = i + 1;
		if (!json_object_is_type(o, json_type_object)) {
			rc = FUGUE_EINVAL;
			break;
		}
		rc = resource_from_json(&c->resources[i], o, reg);
		if (rc == 0)
			json_object_object_add(index, c->resources[i].name,
			                       json_object_new_int64((int64_t)i));
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = deps_from_json(&c->resources[i], json_object_array_get_idx(res, i), index);
	if (rc == 0)
		rc = order_from_json(c, j, index);
	json_object_put(index);
	return rc;
}

int fugue_composition_from_json(fugue_composition **out, const struct json_object *j,
                                const fugue_registry *reg)
{
	struct json_object *format;
	fugue_composition *c;
	int rc;

	*out = NULL;
	if (!json_object_is_type(j, json_type_object) ||
	    !json_object_object_get_ex(j, "format", &format) ||
	    json_object_get_int(format) != STORED_FORMAT || !get_str(j, "file"))
		return FUGUE_EINVAL;
	c = composition_new(get_str(j, "file"));
	if (!c)
		return FUGUE_ENOMEM;
	rc = composition_from_json(c, j, reg);
	if (rc != 0) {
		fugue_composition_free(c);
		return rc;
	}
	*out = c;
	return 0;
}
