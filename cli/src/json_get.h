/* json_get.h - reading members of the Conductor's JSON answers: the
 * getters the CLI's commands and the plan renderer share. Only json-c, so
 * that plan_print.c (linked into the kernel too) can use them.
 *
 * Everything here is static inline: borrowed pointers in, borrowed pointers
 * out, nothing allocated. */
#ifndef FUGUE_CLI_JSON_GET_H
#define FUGUE_CLI_JSON_GET_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* json-c's getters take non-const objects although they do not change them. */
static inline struct json_object *fugue_j_unconst(const struct json_object *o)
{
	union {
		const struct json_object *c;
		struct json_object *m;
	} u = { o };

	return u.m;
}

/* Member KEY of object O (borrowed), or NULL when O is not an object, the
 * member is missing or it is JSON null. */
static inline struct json_object *fugue_j_get(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(fugue_j_unconst(o), json_type_object))
		return NULL;
	if (!json_object_object_get_ex(fugue_j_unconst(o), key, &v))
		return NULL;
	return v;
}

/* Member KEY as a string (borrowed), or NULL when it is not a string. */
static inline const char *fugue_j_str(const struct json_object *o, const char *key)
{
	struct json_object *v = fugue_j_get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* Member KEY as an integer, DEF when it is not a number. */
static inline int64_t fugue_j_int(const struct json_object *o, const char *key, int64_t def)
{
	struct json_object *v = fugue_j_get(o, key);

	if (v && json_object_is_type(v, json_type_int))
		return json_object_get_int64(v);
	if (v && json_object_is_type(v, json_type_double))
		return (int64_t)json_object_get_double(v);
	return def;
}

/* Member KEY as a boolean (0/1), DEF when it is not a boolean. */
static inline int fugue_j_bool(const struct json_object *o, const char *key, int def)
{
	struct json_object *v = fugue_j_get(o, key);

	if (v && json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? 1 : 0;
	return def;
}

/* Member KEY when it is an array (borrowed), else NULL. */
static inline struct json_object *fugue_j_array(const struct json_object *o, const char *key)
{
	struct json_object *v = fugue_j_get(o, key);

	return v && json_object_is_type(v, json_type_array) ? v : NULL;
}

/* Length of array A (0 for NULL). */
static inline size_t fugue_j_len(const struct json_object *a)
{
	return a ? json_object_array_length(fugue_j_unconst(a)) : 0;
}

/* Item I of array A (borrowed). */
static inline struct json_object *fugue_j_at(const struct json_object *a, size_t i)
{
	return json_object_array_get_idx(fugue_j_unconst(a), i);
}

/* Adds KEY: V to O, taking V's reference (a NULL V adds JSON null). */
static inline void fugue_j_put(struct json_object *o, const char *key, struct json_object *v)
{
	if (json_object_object_add(o, key, v) != 0)
		json_object_put(v);
}

/* The compact JSON text of V (borrowed from V, valid until V changes). */
static inline const char *fugue_j_text(const struct json_object *v)
{
	return json_object_to_json_string_ext(fugue_j_unconst(v),
	                                      JSON_C_TO_STRING_PLAIN |
	                                              JSON_C_TO_STRING_NOSLASHESCAPE);
}

#endif
