/* iam_api.c - IAM calls, paging, policy documents and tags for the iam
 * planner's types. IAM is global: every call is signed for us-east-1,
 * whatever the resource's region (the SDK picks the global endpoint). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define IAM_SERVICE "iam"
#define IAM_REGION "us-east-1"

static fugue_aws_request request(const char *action, const struct json_object *params)
{
	fugue_aws_request req = FUGUE_AWS_REQUEST_INIT;

	req.service = IAM_SERVICE;
	req.region = IAM_REGION;
	req.action = action;
	req.params = params;
	return req;
}

int fugue_iam_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const struct json_object *params, fugue_aws_error *err)
{
	fugue_aws_request req = request(action, params);

	return fugue_kit_aws_try(out, ctx, &req, NULL, err);
}

int fugue_iam_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params)
{
	fugue_aws_request req = request(action, params);

	return fugue_kit_aws_call(out, ctx, &req, NULL);
}

int fugue_iam_get(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const char *param, const char *value, const char *result_key)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	fugue_aws_error err;
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, param, value);
	memset(&err, 0, sizeof(err));
	rc = fugue_iam_try(&res, ctx, action, params, &err);
	json_object_put(params);
	if (rc == 0) {
		*out = fugue_kit_copy(fugue_aws_get(res, result_key));
		rc = *out ? 0 : FUGUE_EPROTO;
	}
	json_object_put(res);
	if (rc != 0 && rc != FUGUE_ENOTFOUND)
		fugue_kit_fail_aws(ctx, rc, &err, action);
	return rc;
}

int fugue_iam_do(fugue_ctx *ctx, const char *action, struct json_object *params)
{
	int rc = fugue_iam_call(NULL, ctx, action, params);

	json_object_put(params);
	return rc;
}

int fugue_iam_list(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params, const char *result_key)
{
	fugue_aws_paginator pager = { "Marker", "Marker", result_key, "IsTruncated" };
	fugue_aws_request req = request(action, params);
	struct json_object *res = NULL, *list;
	int rc = fugue_kit_aws_call(&res, ctx, &req, &pager);

	*out = NULL;
	if (rc != 0)
		return rc;
	list = fugue_aws_list(res, result_key);
	*out = list ? fugue_kit_copy(list) : json_object_new_array();
	json_object_put(res);
	return *out ? 0 : FUGUE_ENOMEM;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

struct json_object *fugue_iam_doc_parse(const char *text)
{
	struct json_object *doc;
	char *plain;
	size_t i, j, n;

	if (!text)
		return NULL;
	n = strlen(text);
	plain = malloc(n + 1);
	if (!plain)
		return NULL;
	/* IAM answers documents URL-encoded (RFC 3986: '+' stays '+'). */
	for (i = j = 0; i < n; i++) {
		if (text[i] == '%' && i + 2 < n && hexval(text[i + 1]) >= 0 &&
		    hexval(text[i + 2]) >= 0) {
			plain[j++] = (char)(hexval(text[i + 1]) * 16 + hexval(text[i + 2]));
			i += 2;
		} else {
			plain[j++] = text[i];
		}
	}
	plain[j] = '\0';
	doc = json_tokener_parse(plain);
	free(plain);
	return doc;
}

const char *fugue_iam_doc_text(const struct json_object *doc)
{
	return json_object_to_json_string_ext(fugue_kit_unconst(doc), JSON_C_TO_STRING_PLAIN);
}

static int doc_equal_objects(const struct json_object *a, const struct json_object *b)
{
	struct json_object *oa = fugue_kit_unconst(a), *ob = fugue_kit_unconst(b);

	if (json_object_object_length(oa) != json_object_object_length(ob))
		return 0;
	json_object_object_foreach(oa, key, va) {
		struct json_object *vb;

		if (!json_object_object_get_ex(ob, key, &vb) || !fugue_iam_doc_equal(va, vb))
			return 0;
	}
	return 1;
}

/* Lists in a policy are sets (Statement, Action, Resource...): IAM does not
 * keep their order meaningful, so each element of A is matched with an
 * equal, not yet matched element of B. */
static int doc_equal_lists(const struct json_object *a, const struct json_object *b)
{
	size_t n = fugue_kit_len(a), i, j;
	unsigned char *used;
	int same = 1;

	if (n != fugue_kit_len(b))
		return 0;
	if (n == 0)
		return 1;
	used = calloc(n, 1);
	if (!used)
		return 0;
	for (i = 0; same && i < n; i++) {
		for (j = 0; j < n; j++)
			if (!used[j] && fugue_iam_doc_equal(fugue_kit_at(a, i), fugue_kit_at(b, j)))
				break;
		if (j == n)
			same = 0;
		else
			used[j] = 1;
	}
	free(used);
	return same;
}

int fugue_iam_doc_equal(const struct json_object *a, const struct json_object *b)
{
	json_type ta = json_object_get_type(fugue_kit_unconst(a));
	json_type tb = json_object_get_type(fugue_kit_unconst(b));

	/* "Action": "s3:GetObject" means ["s3:GetObject"]. */
	if (ta == json_type_array && tb != json_type_array && fugue_kit_len(a) == 1)
		return fugue_iam_doc_equal(fugue_kit_at(a, 0), b);
	if (tb == json_type_array && ta != json_type_array && fugue_kit_len(b) == 1)
		return fugue_iam_doc_equal(a, fugue_kit_at(b, 0));
	if (ta != tb)
		return 0;
	switch (ta) {
	case json_type_object:
		return doc_equal_objects(a, b);
	case json_type_array:
		return doc_equal_lists(a, b);
	case json_type_null:
		return 1;
	default:
		return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
	}
}

static void add_tag(struct json_object *list, const char *key, const char *value)
{
	struct json_object *t = json_object_new_object();

	fugue_kit_put_str(t, "Key", key);
	fugue_kit_put_str(t, "Value", value);
	json_object_array_add(list, t);
}

void fugue_iam_put_tags(struct json_object *params, const fugue_ctx *ctx,
                        const struct json_object *tags)
{
	struct json_object *list = json_object_new_array();
	struct json_object *base = fugue_kit_unconst(ctx->tags);
	struct json_object *own = fugue_kit_unconst(tags);

	if (json_object_is_type(base, json_type_object)) {
		json_object_object_foreach(base, key, v) {
			if (!json_object_is_type(own, json_type_object) ||
			    !json_object_object_get_ex(own, key, NULL))
				add_tag(list, key, fugue_kit_as_str(v));
		}
	}
	if (json_object_is_type(own, json_type_object)) {
		json_object_object_foreach(own, key, v)
			add_tag(list, key, fugue_kit_as_str(v));
	}
	if (json_object_array_length(list) > 0)
		json_object_object_add(params, "Tags", list);
	else
		json_object_put(list);
}

int fugue_iam_tags(struct json_object **out, fugue_ctx *ctx, const char *kind, const char *param,
                   const char *value, const struct json_object *entity)
{
	struct json_object *params;
	char action[64];
	int rc;

	*out = NULL;
	if (fugue_kit_get(entity, "Tags")) {
		struct json_object *list = fugue_aws_list(entity, "Tags");

		*out = list ? fugue_kit_copy(list) : json_object_new_array();
		return *out ? 0 : FUGUE_ENOMEM;
	}
	params = json_object_new_object();
	fugue_kit_put_str(params, param, value);
	snprintf(action, sizeof(action), "List%sTags", kind);
	rc = fugue_iam_list(out, ctx, action, params, "Tags");
	json_object_put(params);
	return rc;
}

/* TagKIND / UntagKIND of the entity PARAM = VALUE with KEY = LIST (borrowed). */
static int tags_call(fugue_ctx *ctx, const char *verb, const char *kind, const char *param,
                     const char *value, const char *key, struct json_object *list)
{
	struct json_object *params = json_object_new_object();
	char action[64];

	snprintf(action, sizeof(action), "%s%s", verb, kind);
	fugue_kit_put_str(params, param, value);
	json_object_object_add(params, key, json_object_get(list));
	return fugue_iam_do(ctx, action, params);
}

struct iam_tagging {
	const char *kind, *param, *value;
};

static int iam_tag_call(fugue_ctx *ctx, void *arg, int add, struct json_object *tags)
{
	const struct iam_tagging *t = arg;

	return tags_call(ctx, add ? "Tag" : "Untag", t->kind, t->param, t->value,
	                 add ? "Tags" : "TagKeys", tags);
}

int fugue_iam_sync_tags(fugue_ctx *ctx, const char *kind, const char *param, const char *value,
                        const struct json_object *have_list, const struct json_object *tags)
{
	struct iam_tagging t = { kind, param, value };

	return fugue_kit_sync_tags(ctx, have_list, tags, 0, iam_tag_call, &t);
}

int fugue_iam_tagged(const struct json_object *list, const char *fid, const char *resource)
{
	struct json_object *map = fugue_kit_tags_map(list, 0);
	int ok = fugue_kit_streq(fugue_kit_str(map, "fugue:fid"), fid) &&
	         (!resource || fugue_kit_streq(fugue_kit_str(map, "fugue:resource"), resource));

	json_object_put(map);
	return ok;
}

void fugue_iam_default_name(char *buf, size_t size, const char *resource, const char *fid,
                            size_t max)
{
	char suffix[9];
	size_t i, j;

	/* The fid's first characters IAM allows in names: unique per process,
	 * so two processes of one composition do not fight over a name. */
	for (i = j = 0; fid && fid[i] && j < 8; i++)
		if (isalnum((unsigned char)fid[i]))
			suffix[j++] = fid[i];
	suffix[j] = '\0';
	if (max >= size)
		max = size - 1;
	snprintf(buf, max + 1, "%s-%s", resource ? resource : "fugue", suffix);
}

void fugue_iam_name(char *buf, size_t size, const char *resource, const char *fid,
                    const struct json_object *props, const char *key, size_t max)
{
	const char *name = fugue_kit_str(props, key);

	if (name)
		snprintf(buf, size, "%s", name);
	else
		fugue_iam_default_name(buf, size, resource, fid, max);
}

int fugue_iam_check_name_path(fugue_ctx *ctx, const struct json_object *props, const char *key,
                              const char *noun, size_t max)
{
	const char *name = fugue_kit_str(props, key);
	const char *path = fugue_kit_str(props, "path");
	int bad = 0;

	if (name && (strlen(name) == 0 || strlen(name) > max)) {
		ctx->host->report(ctx, key, "a %s name has 1 to %zu characters", noun, max);
		bad = 1;
	}
	if (path && (path[0] != '/' || path[strlen(path) - 1] != '/')) {
		ctx->host->report(ctx, "path", "a path begins and ends with '/'");
		bad = 1;
	}
	return bad;
}

int fugue_iam_delete(fugue_ctx *ctx, const char *action, const char *param, const char *value)
{
	struct json_object *params = json_object_new_object();
	fugue_aws_error err;
	int rc;

	if (!params)
		return FUGUE_ENOMEM;
	fugue_kit_put_str(params, param, value);
	memset(&err, 0, sizeof(err));
	rc = fugue_iam_try(NULL, ctx, action, params, &err);
	json_object_put(params);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	return rc ? fugue_kit_fail_aws(ctx, rc, &err, action) : 0;
}

struct json_object *fugue_iam_find_by(const struct json_object *list, const char *key,
                                      const char *value)
{
	size_t i;

	for (i = 0; value && i < fugue_kit_len(list); i++) {
		if (fugue_kit_streq(fugue_aws_get_string(fugue_kit_at(list, i), key), value))
			return fugue_kit_at(list, i);
	}
	return NULL;
}
