/* json_util.h - the few json-c helpers every kernel module needs, in one
 * place: const-safe member lookup, a resource state's id, canonical text.
 *
 * json-c's getters, serializer and deep copy take non-const pointers
 * without changing the object (apart from the serializer's text cache);
 * fugue_json_unconst is the one place the kernel drops that const. The
 * text cache is why one object must not be serialized from two threads at
 * once: give each thread its own copy. */
#ifndef FUGUE_JSON_UTIL_H
#define FUGUE_JSON_UTIL_H

#include <stdint.h>

struct json_object;

static inline struct json_object *fugue_json_unconst(const struct json_object *o)
{
	return (struct json_object *)(uintptr_t)o;
}

/* Member KEY of O, borrowed; NULL when O is NULL or not an object, or KEY is
 * absent or JSON null. */
struct json_object *fugue_json_member(const struct json_object *o, const char *key);

/* The "id" string of a resource state {"id", "attributes", "properties"},
 * borrowed; NULL when STATE is NULL or has no string id. */
const char *fugue_json_state_id(const struct json_object *state);

/* O as compact JSON text (no whitespace, '/' not escaped), malloc'd (the
 * caller frees it); NULL when O is NULL or on allocation failure. */
char *fugue_json_text(const struct json_object *o);

#endif
