/* yaml_doc.c - libyaml events into a json-c tree with a position table. */
#include "yaml_doc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <yaml.h>

#include "fugue/common.h"

#define TAG_PREFIX "tag:yaml.org,2002:"

/* One remembered member or element: (PARENT, KEY) for mappings, (PARENT,
 * INDEX) with KEY NULL for sequences. */
typedef struct pos_entry {
	const void *parent;
	char *key;
	size_t index;
	fugue_yaml_pos key_pos;
	fugue_yaml_pos value_pos;
} pos_entry;

struct fugue_yaml_doc {
	struct json_object *root;
	fugue_yaml_pos root_pos;
	int have_root;
	fugue_yaml_error *errors;
	size_t nerrors;
	size_t errors_cap;
	pos_entry *entries;
	size_t nentries;
	size_t entries_cap;
	size_t *slots;  /* open addressing: entry index + 1, 0 = empty */
	size_t nslots;  /* a power of two */
	int oom;
};

/* A container being filled while its events arrive. */
typedef struct frame {
	struct json_object *node;
	int is_map;
	int discard;    /* NODE belongs nowhere (a bad key, a duplicate's value): put it at the end */
	int have_key;   /* maps: a key was read, its value is next */
	int skip_value; /* maps: drop the value of the current key */
	char *key;
	fugue_yaml_pos key_pos;
	size_t index;   /* sequences: the next element's index */
} frame;

typedef struct builder {
	fugue_yaml_doc *doc;
	const char *text;
	size_t len;
	frame *stack;
	size_t depth;
	size_t cap;
	int documents;
} builder;

/* --- errors ------------------------------------------------------------- */

static void add_error(fugue_yaml_doc *doc, fugue_yaml_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_error(fugue_yaml_doc *doc, fugue_yaml_pos pos, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;
	int n;

	if (doc->nerrors == doc->errors_cap) {
		size_t cap = doc->errors_cap ? doc->errors_cap * 2 : 8;
		fugue_yaml_error *e = realloc(doc->errors, cap * sizeof(*e));

		if (!e) {
			doc->oom = 1;
			return;
		}
		doc->errors = e;
		doc->errors_cap = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0) {
		doc->oom = 1;
		return;
	}
	doc->errors[doc->nerrors].pos = pos;
	doc->errors[doc->nerrors].message = msg;
	doc->nerrors++;
}

static fugue_yaml_pos mark_pos(yaml_mark_t mark)
{
	fugue_yaml_pos p = { (int)mark.line + 1, (int)mark.column + 1 };

	return p;
}

/* --- the position table ------------------------------------------------- */

static size_t hash_key(const void *parent, const char *key, size_t index)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ull;

	if (key) {
		const unsigned char *p;

		for (p = (const unsigned char *)key; *p; p++)
			h = (h ^ *p) * 0x100000001b3ull;
	} else {
		h ^= (uint64_t)index * 0xff51afd7ed558ccdull;
	}
	h ^= h >> 29;
	return (size_t)h;
}

static int entry_matches(const pos_entry *e, const void *parent, const char *key, size_t index)
{
	if (e->parent != parent)
		return 0;
	if (key)
		return e->key && strcmp(e->key, key) == 0;
	return !e->key && e->index == index;
}

static const pos_entry *lookup(const fugue_yaml_doc *doc, const void *parent, const char *key,
                               size_t index)
{
	size_t mask;
	size_t i;

	if (!doc->nslots)
		return NULL;
	mask = doc->nslots - 1;
	for (i = hash_key(parent, key, index) & mask; doc->slots[i]; i = (i + 1) & mask) {
		const pos_entry *e = &doc->entries[doc->slots[i] - 1];

		if (entry_matches(e, parent, key, index))
			return e;
	}
	return NULL;
}

static void slot_insert(size_t *slots, size_t nslots, const pos_entry *e, size_t value)
{
	size_t mask = nslots - 1;
	size_t i = hash_key(e->parent, e->key, e->index) & mask;

	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = value;
}

static int grow_slots(fugue_yaml_doc *doc)
{
	size_t n = doc->nslots ? doc->nslots * 2 : 256;
	size_t *slots = calloc(n, sizeof(*slots));
	size_t i;

	if (!slots)
		return FUGUE_ENOMEM;
	for (i = 0; i < doc->nentries; i++)
		slot_insert(slots, n, &doc->entries[i], i + 1);
	free(doc->slots);
	doc->slots = slots;
	doc->nslots = n;
	return 0;
}

static void remember(fugue_yaml_doc *doc, const void *parent, const char *key, size_t index,
                     fugue_yaml_pos key_pos, fugue_yaml_pos value_pos)
{
	pos_entry *e;

	if (doc->nentries == doc->entries_cap) {
		size_t cap = doc->entries_cap ? doc->entries_cap * 2 : 64;
		pos_entry *entries = realloc(doc->entries, cap * sizeof(*entries));

		if (!entries) {
			doc->oom = 1;
			return;
		}
		doc->entries = entries;
		doc->entries_cap = cap;
	}
	if ((doc->nentries + 1) * 2 > doc->nslots && grow_slots(doc) != 0) {
		doc->oom = 1;
		return;
	}
	e = &doc->entries[doc->nentries];
	e->parent = parent;
	e->key = NULL;
	e->index = index;
	e->key_pos = key_pos;
	e->value_pos = value_pos;
	if (key) {
		e->key = strdup(key);
		if (!e->key) {
			doc->oom = 1;
			return;
		}
	}
	doc->nentries++;
	slot_insert(doc->slots, doc->nslots, e, doc->nentries);
}

/* --- scalars ------------------------------------------------------------ */

static int is_null_text(const char *s)
{
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

/* 1 true, 0 false, -1 neither. */
static int bool_text(const char *s)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
		return 1;
	if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
		return 0;
	return -1;
}

static int all_in(const char *s, const char *set)
{
	if (!*s)
		return 0;
	return s[strspn(s, set)] == '\0';
}

/* 1 an integer in *OUT, 0 not integer syntax, -1 integer syntax out of range. */
static int int_text(const char *s, int64_t *out)
{
	const char *digits = s;
	int base = 10;
	char *end;
	long long v;

	if (strncmp(s, "0x", 2) == 0 && all_in(s + 2, "0123456789abcdefABCDEF")) {
		digits = s + 2;
		base = 16;
	} else if (strncmp(s, "0o", 2) == 0 && all_in(s + 2, "01234567")) {
		digits = s + 2;
		base = 8;
	} else {
		const char *p = (*s == '-' || *s == '+') ? s + 1 : s;

		if (!all_in(p, "0123456789"))
			return 0;
	}
	errno = 0;
	v = strtoll(digits, &end, base);
	if (errno == ERANGE)
		return -1;
	*out = v;
	return 1;
}

static int float_text(const char *s, double *out)
{
	const char *p = (*s == '-' || *s == '+') ? s + 1 : s;
	size_t int_digits = strspn(p, "0123456789");
	size_t frac_digits = 0;
	char *end;

	p += int_digits;
	if (*p == '.') {
		p++;
		frac_digits = strspn(p, "0123456789");
		p += frac_digits;
	}
	if (int_digits + frac_digits == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!all_in(p, "0123456789"))
			return 0;
		p += strlen(p);
	}
	if (*p)
		return 0;
	*out = strtod(s, &end);
	return 1;
}

/* A plain scalar typed by the core schema. *OK is 0 when S could not be
 * represented (integer out of range). */
static struct json_object *typed_scalar(const char *s, int *ok)
{
	int64_t i;
	double d;
	int b;
	int r;

	*ok = 1;
	if (is_null_text(s))
		return NULL;
	b = bool_text(s);
	if (b >= 0)
		return json_object_new_boolean(b);
	r = int_text(s, &i);
	if (r > 0)
		return json_object_new_int64(i);
	if (r < 0) {
		*ok = 0;
		return json_object_new_string(s);
	}
	if (float_text(s, &d))
		return json_object_new_double_s(d, s);
	return json_object_new_string(s);
}

static struct json_object *make_ref(fugue_yaml_doc *doc, const char *s, fugue_yaml_pos pos)
{
	struct json_object *ref = json_object_new_object();
	const char *dot = strchr(s, '.');
	size_t name_len = dot ? (size_t)(dot - s) : strlen(s);
	const char *attr = dot ? dot + 1 : "id";

	if (!ref)
		return NULL;
	if (name_len == 0 || !*attr)
		add_error(doc, pos, "!ref needs a resource name and an optional attribute: "
		                    "!ref NAME or !ref NAME.ATTR");
	json_object_object_add(ref, "$ref", json_object_new_string_len(s, (int)name_len));
	json_object_object_add(ref, "attr", json_object_new_string(attr));
	return ref;
}

/* A scalar with an explicit standard tag (!!str, !!int, ...). */
static struct json_object *tagged_scalar(fugue_yaml_doc *doc, const char *tag, const char *s,
                                         fugue_yaml_pos pos)
{
	const char *t = tag + strlen(TAG_PREFIX);
	struct json_object *v;
	int ok;

	if (strcmp(t, "str") == 0)
		return json_object_new_string(s);
	v = typed_scalar(s, &ok);
	if (strcmp(t, "null") == 0 && is_null_text(s))
		return v;
	if (strcmp(t, "bool") == 0 && json_object_is_type(v, json_type_boolean))
		return v;
	if (strcmp(t, "int") == 0 && ok && json_object_is_type(v, json_type_int))
		return v;
	if (strcmp(t, "float") == 0 && (json_object_is_type(v, json_type_double) ||
	                                json_object_is_type(v, json_type_int)))
		return v;
	add_error(doc, pos, "'%s' is not a valid !!%s", s, t);
	return v;
}

static struct json_object *scalar_node(fugue_yaml_doc *doc, const yaml_event_t *ev)
{
	const char *s = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	fugue_yaml_pos pos = mark_pos(ev->start_mark);
	struct json_object *v;
	int ok;

	if (tag && strcmp(tag, "!ref") == 0)
		return make_ref(doc, s, pos);
	if (tag && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0)
		return tagged_scalar(doc, tag, s, pos);
	if (tag && strcmp(tag, "!") != 0)
		add_error(doc, pos, "unknown tag '%s' (the only tag is !ref)", tag);
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return json_object_new_string(s);
	v = typed_scalar(s, &ok);
	if (!ok)
		add_error(doc, pos, "integer '%s' is out of range", s);
	return v;
}

/* --- building ------------------------------------------------------------ */

static frame *top(builder *b)
{
	return b->depth ? &b->stack[b->depth - 1] : NULL;
}

/* Takes a scalar key into the mapping frame F. */
static void take_key(builder *b, frame *f, const yaml_event_t *ev)
{
	const char *key = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;
	fugue_yaml_pos pos = mark_pos(ev->start_mark);
	const pos_entry *first;

	f->have_key = 1;
	f->skip_value = 0;
	f->key_pos = pos;
	free(f->key);
	f->key = strdup(key);
	if (!f->key) {
		b->doc->oom = 1;
		f->skip_value = 1;
		return;
	}
	if (tag && strcmp(tag, "!ref") == 0)
		add_error(b->doc, pos, "a reference cannot be a mapping key");
	first = lookup(b->doc, f->node, key, 0);
	if (first) {
		add_error(b->doc, pos, "duplicate key '%s' (first at line %d)", key,
		          first->key_pos.line);
		f->skip_value = 1;
	}
}

/* Places NODE (which started at POS) into the current container. Returns
 * nonzero when NODE has no place and must be put by whoever holds it. */
static int place(builder *b, struct json_object *node, fugue_yaml_pos pos)
{
	frame *f = top(b);

	if (!f) {
		if (b->doc->have_root)
			return 1;
		b->doc->root = node;
		b->doc->root_pos = pos;
		b->doc->have_root = 1;
		return 0;
	}
	if (!f->is_map) {
		size_t index = f->index++;

		if (f->discard)
			return 1;
		json_object_array_add(f->node, node);
		remember(b->doc, f->node, NULL, index, pos, pos);
		return 0;
	}
	if (!f->have_key) {
		add_error(b->doc, pos, "mapping keys must be scalars");
		f->have_key = 1;
		f->skip_value = 1;
		free(f->key);
		f->key = NULL;
		return 1;
	}
	f->have_key = 0;
	if (f->skip_value || f->discard || !f->key)
		return 1;
	json_object_object_add(f->node, f->key, node);
	remember(b->doc, f->node, f->key, 0, f->key_pos, pos);
	return 0;
}

static void check_anchor(builder *b, const yaml_char_t *anchor, yaml_mark_t mark)
{
	if (anchor)
		add_error(b->doc, mark_pos(mark), "anchors and aliases are not supported ('&%s')",
		          (const char *)anchor);
}

static void on_scalar(builder *b, const yaml_event_t *ev)
{
	frame *f = top(b);
	struct json_object *v;

	check_anchor(b, ev->data.scalar.anchor, ev->start_mark);
	if (f && f->is_map && !f->have_key) {
		take_key(b, f, ev);
		return;
	}
	v = scalar_node(b->doc, ev);
	if (place(b, v, mark_pos(ev->start_mark)))
		json_object_put(v);
}

static void on_alias(builder *b, const yaml_event_t *ev)
{
	frame *f = top(b);

	add_error(b->doc, mark_pos(ev->start_mark), "anchors and aliases are not supported ('*%s')",
	          (const char *)ev->data.alias.anchor);
	if (f && f->is_map && !f->have_key) {
		/* An alias as a key: take it as a key that is never stored. */
		f->have_key = 1;
		f->skip_value = 1;
		return;
	}
	place(b, NULL, mark_pos(ev->start_mark));
}

static void on_start(builder *b, const yaml_event_t *ev, int is_map)
{
	const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
	                                   : ev->data.sequence_start.anchor;
	const char *tag = (const char *)(is_map ? ev->data.mapping_start.tag
	                                        : ev->data.sequence_start.tag);
	fugue_yaml_pos pos = mark_pos(ev->start_mark);
	struct json_object *node = is_map ? json_object_new_object() : json_object_new_array();
	frame *f;

	check_anchor(b, anchor, ev->start_mark);
	if (tag && strcmp(tag, "!ref") == 0)
		add_error(b->doc, pos, "!ref takes a scalar: !ref NAME or !ref NAME.ATTR");
	else if (tag && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) != 0)
		add_error(b->doc, pos, "unknown tag '%s' (the only tag is !ref)", tag);
	if (!node || (b->depth == b->cap && b->cap > SIZE_MAX / 2)) {
		b->doc->oom = 1;
		json_object_put(node);
		return;
	}
	if (b->depth == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 16;
		frame *s = realloc(b->stack, cap * sizeof(*s));

		if (!s) {
			b->doc->oom = 1;
			json_object_put(node);
			return;
		}
		b->stack = s;
		b->cap = cap;
	}
	{
		int discard = place(b, node, pos);

		f = &b->stack[b->depth++];
		memset(f, 0, sizeof(*f));
		f->node = node;
		f->is_map = is_map;
		f->discard = discard;
	}
}

static void on_end(builder *b)
{
	frame *f = top(b);

	if (!f)
		return;
	if (f->discard)
		json_object_put(f->node);
	free(f->key);
	b->depth--;
}

static void on_event(builder *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->documents == 2)
			add_error(b->doc, mark_pos(ev->start_mark),
			          "a composition is one YAML document; found a second one");
		break;
	case YAML_SCALAR_EVENT:
		on_scalar(b, ev);
		break;
	case YAML_ALIAS_EVENT:
		on_alias(b, ev);
		break;
	case YAML_MAPPING_START_EVENT:
		on_start(b, ev, 1);
		break;
	case YAML_SEQUENCE_START_EVENT:
		on_start(b, ev, 0);
		break;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		on_end(b);
		break;
	default:
		break;
	}
}

/* libyaml's reason, with a hint for the most common cause: a tab. */
static void syntax_error(builder *b, const yaml_parser_t *p)
{
	fugue_yaml_pos pos = mark_pos(p->problem_mark);
	size_t off = p->problem_mark.index;
	const char *hint = "";

	if (off < b->len && b->text[off] == '\t')
		hint = " (tabs cannot indent YAML; use spaces)";
	/* The context ("while parsing a flow sequence") helps only when it
	 * points elsewhere: to the bracket that was never closed. */
	if (p->context && p->context_mark.index != p->problem_mark.index)
		add_error(b->doc, pos, "syntax error: %s (%s from line %d, column %d)%s", p->problem,
		          p->context, (int)p->context_mark.line + 1, (int)p->context_mark.column + 1,
		          hint);
	else
		add_error(b->doc, pos, "syntax error: %s%s", p->problem ? p->problem : "invalid YAML",
		          hint);
}

static void unwind(builder *b)
{
	/* Attached containers belong to their parent (or the root); on_end()
	 * puts only the discarded ones. */
	while (b->depth)
		on_end(b);
	free(b->stack);
}

int fugue_yaml_parse(fugue_yaml_doc **out, const char *text, size_t len)
{
	fugue_yaml_doc *doc = calloc(1, sizeof(*doc));
	builder b = { doc, text, len, NULL, 0, 0, 0 };
	yaml_parser_t parser;
	int rc = 0;
	int done = 0;

	*out = NULL;
	if (!doc)
		return FUGUE_ENOMEM;
	if (!yaml_parser_initialize(&parser)) {
		free(doc);
		return FUGUE_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			if (parser.error == YAML_MEMORY_ERROR)
				doc->oom = 1;
			else
				syntax_error(&b, &parser);
			rc = FUGUE_EINVAL;
			break;
		}
		if ((ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT) &&
		    b.depth >= FUGUE_YAML_MAX_DEPTH) {
			add_error(doc, mark_pos(ev.start_mark), "nested deeper than %d levels",
			          FUGUE_YAML_MAX_DEPTH);
			yaml_event_delete(&ev);
			rc = FUGUE_EINVAL;
			break;
		}
		on_event(&b, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	unwind(&b);
	if (rc != 0) {
		json_object_put(doc->root);
		doc->root = NULL;
	}
	if (doc->oom) {
		fugue_yaml_doc_free(doc);
		return FUGUE_ENOMEM;
	}
	*out = doc;
	return rc;
}

struct json_object *fugue_yaml_root(const fugue_yaml_doc *doc)
{
	return doc->root;
}

size_t fugue_yaml_errors(const fugue_yaml_doc *doc, const fugue_yaml_error **out)
{
	*out = doc->errors;
	return doc->nerrors;
}

fugue_yaml_pos fugue_yaml_root_pos(const fugue_yaml_doc *doc)
{
	return doc->root_pos;
}

int fugue_yaml_member_pos(const fugue_yaml_doc *doc, const struct json_object *parent,
                          const char *key, fugue_yaml_pos *key_pos, fugue_yaml_pos *value_pos)
{
	const pos_entry *e = lookup(doc, parent, key, 0);

	if (!e)
		return FUGUE_ENOTFOUND;
	if (key_pos)
		*key_pos = e->key_pos;
	if (value_pos)
		*value_pos = e->value_pos;
	return 0;
}

int fugue_yaml_element_pos(const fugue_yaml_doc *doc, const struct json_object *parent,
                           size_t index, fugue_yaml_pos *value_pos)
{
	const pos_entry *e = lookup(doc, parent, NULL, index);

	if (!e)
		return FUGUE_ENOTFOUND;
	if (value_pos)
		*value_pos = e->value_pos;
	return 0;
}

int fugue_yaml_is_ref(const struct json_object *obj, const char **name, const char **attr)
{
	struct json_object *n;
	struct json_object *a = NULL;
	int members;

	if (!json_object_is_type(obj, json_type_object))
		return 0;
	if (!json_object_object_get_ex(obj, "$ref", &n) || !json_object_is_type(n, json_type_string))
		return 0;
	members = json_object_object_length(obj);
	if (json_object_object_get_ex(obj, "attr", &a)) {
		if (!json_object_is_type(a, json_type_string))
			return 0;
	} else {
		a = NULL;
	}
	if (members != (a ? 2 : 1))
		return 0;
	if (name)
		*name = json_object_get_string(n);
	if (attr)
		*attr = a ? json_object_get_string(a) : "id";
	return 1;
}

void fugue_yaml_doc_free(fugue_yaml_doc *doc)
{
	size_t i;

	if (!doc)
		return;
	json_object_put(doc->root);
	for (i = 0; i < doc->nerrors; i++)
		free(doc->errors[i].message);
	free(doc->errors);
	for (i = 0; i < doc->nentries; i++)
		free(doc->entries[i].key);
	free(doc->entries);
	free(doc->slots);
	free(doc);
}
