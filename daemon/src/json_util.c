/* json_util.c - see json_util.h. */
#include "json_util.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

struct json_object *fugue_json_member(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *fugue_json_state_id(const struct json_object *state)
{
	struct json_object *id = fugue_json_member(state, "id");

	if (!id || !json_object_is_type(id, json_type_string))
		return NULL;
	return json_object_get_string(id);
}

char *fugue_json_text(const struct json_object *o)
{
	const char *s;

	if (!o)
		return NULL;
	s = json_object_to_json_string_ext(fugue_json_unconst(o), JSON_C_TO_STRING_PLAIN |
	                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
	return s ? strdup(s) : NULL;
}
