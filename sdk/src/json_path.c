/* json_path.c - reading response trees by dotted path
 * ("instancesSet.0.instanceId"), and URI encoding for rest-json paths. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/aws.h"
#include "fugue/common.h"

/* The member NAME[0..LEN) of OBJ, or NULL. */
static struct json_object *object_member(const struct json_object *obj, const char *name,
                                         size_t len)
{
	char small[128];
	char *key = small;
	struct json_object *v = NULL;

	if (len >= sizeof(small)) {
		key = malloc(len + 1);
		if (!key)
			return NULL;
	}
	memcpy(key, name, len);
	key[len] = '\0';
	if (!json_object_object_get_ex(obj, key, &v))
		v = NULL;
	if (key != small)
		free(key);
	return v;
}

/* Element NAME[0..LEN) (all decimal digits) of ARR, or NULL. */
static struct json_object *array_element(const struct json_object *arr, const char *name,
                                         size_t len)
{
	size_t n = json_object_array_length(arr);
	size_t idx = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9')
			return NULL;
		idx = idx * 10 + (size_t)(name[i] - '0');
		if (idx >= n)
			return NULL;
	}
	return json_object_array_get_idx(arr, idx);
}

/* One step down from CUR by segment SEG[0..LEN), or NULL. */
static struct json_object *step(const struct json_object *cur, const char *seg, size_t len)
{
	if (len == 0)
		return NULL;
	if (json_object_is_type(cur, json_type_object))
		return object_member(cur, seg, len);
	if (json_object_is_type(cur, json_type_array))
		return array_element(cur, seg, len);
	return NULL;
}

struct json_object *fugue_aws_get(const struct json_object *root, const char *path)
{
	struct json_object *cur = (struct json_object *)root;
	const char *p = path;

	if (!root || !path)
		return NULL;
	if (!*path)
		return cur;
	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		cur = step(cur, p, len);
		if (!cur || !dot)
			return cur;
		p = dot + 1;
	}
}

const char *fugue_aws_get_string(const struct json_object *root, const char *path)
{
	struct json_object *v = fugue_aws_get(root, path);

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

struct json_object *fugue_aws_list(const struct json_object *root, const char *path)
{
	struct json_object *v = fugue_aws_get(root, path);

	/* An empty XML element reads as "", and json-c's null as NULL: both,
	 * and an empty array, mean "no items". */
	if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) == 0)
		return NULL;
	return v;
}

static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

int fugue_aws_uri_encode(char *buf, size_t size, const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = 0;

	if (!buf || size == 0 || !s)
		return FUGUE_EINVAL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int keep = is_unreserved(c) || (keep_slash && c == '/');
		size_t need = keep ? 1 : 3;

		if (len + need >= size || len + need > (size_t)INT_MAX) {
			buf[0] = '\0';
			return FUGUE_EINVAL;
		}
		if (keep) {
			buf[len++] = (char)c;
		} else {
			buf[len++] = '%';
			buf[len++] = hex[c >> 4];
			buf[len++] = hex[c & 15];
		}
	}
	buf[len] = '\0';
	return (int)len;
}
