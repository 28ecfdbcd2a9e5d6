/* util.c - see util.h. */
#include "util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

struct json_object *fugue_ec2u_unconst(const struct json_object *o)
{
	return (struct json_object *)(uintptr_t)o;
}

struct json_object *fugue_ec2u_get(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

int fugue_ec2u_changed(const struct json_object *changed, const char *name)
{
	size_t i;
	size_t n;

	if (!changed || !json_object_is_type(changed, json_type_array))
		return 0;
	n = json_object_array_length(changed);
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(changed, i));

		if (s && strcmp(s, name) == 0)
			return 1;
	}
	return 0;
}

void fugue_ec2u_put_str(struct json_object *o, const char *key, const char *s)
{
	if (s)
		json_object_object_add(o, key, json_object_new_string(s));
}

void fugue_ec2u_put_id(struct json_object *o, const char *key, const char *id)
{
	struct json_object *list = json_object_new_array();

	json_object_array_add(list, json_object_new_string(id));
	json_object_object_add(o, key, list);
}

struct json_object *fugue_ec2u_copy(const struct json_object *o)
{
	struct json_object *out = NULL;

	if (!o || json_object_deep_copy(fugue_ec2u_unconst(o), &out, NULL) != 0)
		return NULL;
	return out;
}

char *fugue_ec2u_base64(const void *data, size_t len)
{
	static const char digits[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *in = data;
	char *out = malloc(4 * ((len + 2) / 3) + 1);
	char *p = out;
	size_t i;

	if (!out)
		return NULL;
	for (i = 0; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		*p++ = digits[v >> 18 & 63];
		*p++ = digits[v >> 12 & 63];
		*p++ = digits[v >> 6 & 63];
		*p++ = digits[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		*p++ = digits[v >> 18 & 63];
		*p++ = digits[v >> 12 & 63];
		*p++ = i + 1 < len ? digits[v >> 6 & 63] : '=';
		*p++ = '=';
	}
	*p = '\0';
	return out;
}

void fugue_ec2u_fix_tags(const fugue_ctx *ctx, struct json_object *state,
                         const struct json_object *declared)
{
	struct json_object *tags = fugue_ec2u_get(fugue_ec2u_get(state, "properties"), "tags");
	const struct json_object *wanted = fugue_ec2u_get(declared, "tags");
	struct json_object *drop = json_object_new_array();
	size_t i;

	if (!tags || !drop || !json_object_is_type(tags, json_type_object)) {
		json_object_put(drop);
		return;
	}
	json_object_object_foreach(tags, key, value) {
		(void)value;
		if (fugue_ec2u_get(wanted, key))
			continue;
		if (!ctx->tags || fugue_ec2u_get(ctx->tags, key))
			json_object_array_add(drop, json_object_new_string(key));
	}
	for (i = 0; i < json_object_array_length(drop); i++)
		json_object_object_del(tags,
		                       json_object_get_string(json_object_array_get_idx(drop, i)));
	json_object_put(drop);
}

void fugue_ec2u_fix_batch_tags(const fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (items[i].status == 0 && items[i].state)
			fugue_ec2u_fix_tags(ctx, items[i].state, items[i].declared);
	}
}
