/* yaml_doc.h - one YAML document as a json-c tree that remembers where
 * every node came from.
 *
 * The parser (libyaml's event API) builds a json-c tree and, beside it, a
 * position table keyed by (parent container, member key or element index),
 * so positions survive for every value, null included (json-c's null is a
 * NULL pointer and cannot be a key itself).
 *
 * Typing of plain (unquoted) scalars follows the YAML 1.2 core schema:
 * null, ~ and the empty scalar are null; true/false (any of three
 * capitalizations) are booleans; decimal, 0o octal and 0x hex integers are
 * integers (out of int64 range is an error); decimal floats are doubles.
 * Everything else, and every quoted or block scalar, is a string ("yes",
 * "on", ".inf" and "2012-10-17" stay strings). The standard tags !!str,
 * !!int, !!float, !!bool and !!null force a type.
 *
 * The one custom tag: `!ref NAME` and `!ref NAME.ATTR` become the object
 * {"$ref": "NAME", "attr": "ATTR"}, ATTR "id" when absent.
 *
 * Errors. A syntax error stops the parse and is the only error reported
 * ("syntax error: <libyaml's problem>", at libyaml's problem mark); so does
 * a collection nested deeper than FUGUE_YAML_MAX_DEPTH ("nested deeper
 * than 64 levels", at the collection that goes too deep). Other
 * problems are collected and parsing goes on, so a caller can report them
 * all at once: duplicate keys (the first value is kept), anchors and
 * aliases (not supported; the alias reads as null), unknown tags, !ref on a
 * collection or with an empty name, non-scalar keys, a second document. */
#ifndef FUGUE_YAML_DOC_H
#define FUGUE_YAML_DOC_H

#include <stddef.h>

struct json_object;

/* Mappings and sequences inside each other, the root included. A
 * composition needs a dozen (an IAM policy document in a resource); the
 * limit keeps a hostile text small in bytes from costing its readers
 * stack (the compiler walks the tree recursively) and quadratic time and
 * memory (libyaml's flow scanning, every value's path). */
#define FUGUE_YAML_MAX_DEPTH 64

typedef struct fugue_yaml_pos {
	int line; /* 1-based; 0 when unknown */
	int col;  /* 1-based, in characters */
} fugue_yaml_pos;

typedef struct fugue_yaml_error {
	fugue_yaml_pos pos;
	char *message; /* owned by the document; one lower-case line */
} fugue_yaml_error;

typedef struct fugue_yaml_doc fugue_yaml_doc;

/* Parses LEN bytes of TEXT (need not be NUL-terminated). On 0 or
 * FUGUE_EINVAL *OUT is a document (the caller's, fugue_yaml_doc_free())
 * holding the tree and the errors: 0 when the text parsed, perhaps with
 * collected errors (fugue_yaml_errors); FUGUE_EINVAL after a syntax error
 * (the tree is then NULL). FUGUE_ENOMEM leaves *OUT NULL. */
int fugue_yaml_parse(fugue_yaml_doc **out, const char *text, size_t len);

/* The root node, NULL for an empty document or after a syntax error.
 * Borrowed from the document; the caller may modify the tree (members it
 * adds simply have no position). */
struct json_object *fugue_yaml_root(const fugue_yaml_doc *doc);

/* The errors collected, in document order. Borrowed. */
size_t fugue_yaml_errors(const fugue_yaml_doc *doc, const fugue_yaml_error **out);

/* Where the root node starts. */
fugue_yaml_pos fugue_yaml_root_pos(const fugue_yaml_doc *doc);

/* Position of member KEY of mapping PARENT: its key (KEY_POS) and its value
 * (VALUE_POS); either out pointer may be NULL. Returns 0, or
 * FUGUE_ENOTFOUND when the member was not in the document. */
int fugue_yaml_member_pos(const fugue_yaml_doc *doc, const struct json_object *parent,
                          const char *key, fugue_yaml_pos *key_pos, fugue_yaml_pos *value_pos);

/* Position of element INDEX of sequence PARENT. Returns 0 or FUGUE_ENOTFOUND. */
int fugue_yaml_element_pos(const fugue_yaml_doc *doc, const struct json_object *parent,
                           size_t index, fugue_yaml_pos *value_pos);

/* Nonzero when OBJ has the shape of a reference ({"$ref": string, optional
 * "attr": string, nothing else}); *NAME and *ATTR (may be NULL) are then
 * borrowed from OBJ, *ATTR "id" when absent. */
int fugue_yaml_is_ref(const struct json_object *obj, const char **name, const char **attr);

void fugue_yaml_doc_free(fugue_yaml_doc *doc);

#endif
