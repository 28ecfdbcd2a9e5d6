/* planner_kit.c - see planner_kit.h: state objects, reading JSON, the tags
 * property, failures, base64 (waits: kit_wait.c; networks: kit_network.c).
 *
 * Nothing here keeps state between calls: every function works on its
 * arguments only, so planners call it from any thread. */
#include "planner_kit.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

const fugue_prop fugue_kit_string_item[] = { { .name = "value", .kind = FUGUE_KIND_STRING } };

/* --- state objects ------------------------------------------------------------ */

struct json_object *fugue_kit_state(const char *id, struct json_object *props,
                                    struct json_object *attrs)
{
	struct json_object *state = NULL;
	struct json_object *jid = NULL;

	if (!props)
		props = json_object_new_object();
	if (!attrs)
		attrs = json_object_new_object();
	if (id)
		jid = json_object_new_string(id);
	if (id && props && attrs && jid)
		state = json_object_new_object();
	if (!state) {
		json_object_put(props);
		json_object_put(attrs);
		json_object_put(jid);
		return NULL;
	}
	json_object_object_add(state, "id", jid);
	json_object_object_add(state, "properties", props);
	json_object_object_add(state, "attributes", attrs);
	return state;
}

struct json_object *fugue_kit_state_props(const struct json_object *state)
{
	return fugue_kit_get(state, "properties");
}

struct json_object *fugue_kit_state_attrs(const struct json_object *state)
{
	return fugue_kit_get(state, "attributes");
}

/* --- reading declared properties ------------------------------------------------ */

struct json_object *fugue_kit_get(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !key || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *fugue_kit_str(const struct json_object *o, const char *key)
{
	struct json_object *v = fugue_kit_get(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int fugue_kit_bool(const struct json_object *o, const char *key, int dflt)
{
	struct json_object *v = fugue_kit_get(o, key);

	return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : dflt;
}

int64_t fugue_kit_int(const struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v = fugue_kit_get(o, key);

	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : dflt;
}

const char *fugue_kit_ref_name(const struct json_object *v)
{
	return fugue_kit_str(v, "$ref");
}

const char *fugue_kit_declared_str(fugue_ctx *ctx, const struct json_object *ref,
                                   const char *key)
{
	const char *name = fugue_kit_ref_name(ref);

	if (!name || !ctx->host->declared)
		return NULL;
	return fugue_kit_str(ctx->host->declared(ctx, name), key);
}

/* --- JSON values and arrays -------------------------------------------------------- */

struct json_object *fugue_kit_unconst(const struct json_object *o)
{
	return (struct json_object *)(uintptr_t)o;
}

size_t fugue_kit_len(const struct json_object *a)
{
	return json_object_is_type(a, json_type_array) ? json_object_array_length(a) : 0;
}

struct json_object *fugue_kit_at(const struct json_object *a, size_t i)
{
	return i < fugue_kit_len(a) ? json_object_array_get_idx(a, i) : NULL;
}

const char *fugue_kit_as_str(const struct json_object *v)
{
	if (!json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(fugue_kit_unconst(v));
}

int fugue_kit_streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

int fugue_kit_has_string(const struct json_object *list, const char *s)
{
	size_t i, n = fugue_kit_len(list);

	for (i = 0; i < n; i++)
		if (fugue_kit_streq(fugue_kit_as_str(fugue_kit_at(list, i)), s))
			return 1;
	return 0;
}

struct json_object *fugue_kit_copy(const struct json_object *o)
{
	struct json_object *out = NULL;

	if (!o || json_object_deep_copy(fugue_kit_unconst(o), &out, NULL) != 0)
		return NULL;
	return out;
}

/* --- AWS leaves ------------------------------------------------------------------ */

/* The non-empty string leaf at PATH, or NULL. */
static const char *leaf(const struct json_object *root, const char *path)
{
	const char *s;

	if (!root || !path)
		return NULL;
	s = fugue_aws_get_string(root, path);
	return s && *s ? s : NULL;
}

struct json_object *fugue_kit_aws_str(const struct json_object *root, const char *path)
{
	const char *s = leaf(root, path);

	return s ? json_object_new_string(s) : NULL;
}

struct json_object *fugue_kit_aws_bool(const struct json_object *root, const char *path)
{
	const char *s = leaf(root, path);

	if (!s)
		return NULL;
	if (strcmp(s, "true") == 0)
		return json_object_new_boolean(1);
	if (strcmp(s, "false") == 0)
		return json_object_new_boolean(0);
	return NULL;
}

struct json_object *fugue_kit_aws_int(const struct json_object *root, const char *path)
{
	const char *s = leaf(root, path);
	char *end;
	long long v;

	if (!s)
		return NULL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		return NULL;
	return json_object_new_int64(v);
}

void fugue_kit_put(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return;
	if (!o || !key) {
		json_object_put(v);
		return;
	}
	json_object_object_add(o, key, v);
}

void fugue_kit_put_str(struct json_object *o, const char *key, const char *s)
{
	if (s)
		fugue_kit_put(o, key, json_object_new_string(s));
}

/* --- observe(): the host's ABI 1.1 services ------------------------------------- */

/* Whether HOST's table reaches MEMBER (a host built for an older minor has
 * a shorter one) and it is set. */
#define HOST_HAS(host, member)                                                             \
	((host)->struct_size >= offsetof(fugue_host, member) + sizeof((host)->member) &&     \
	 (host)->member)

void fugue_kit_duplicate(fugue_ctx *ctx, const fugue_observation *item,
                         struct json_object *state)
{
	if (HOST_HAS(ctx->host, duplicate)) {
		ctx->host->duplicate(ctx, item, state);
		return;
	}
	ctx->host->log(ctx, FUGUE_LOG_WARN, "%s: %s also carries its tags: a duplicate (this "
	               "Conductor is too old to delete it)", item->resource,
	               fugue_kit_str(state, "id") ? fugue_kit_str(state, "id") : "?");
	json_object_put(state);
}

int fugue_kit_details_due(fugue_ctx *ctx, const fugue_observation *item)
{
	return HOST_HAS(ctx->host, details_due) ? ctx->host->details_due(ctx, item) : 1;
}

/* --- the tags property ----------------------------------------------------------- */

void fugue_kit_fix_tags(const fugue_ctx *ctx, struct json_object *state,
                        const struct json_object *declared)
{
	struct json_object *tags = fugue_kit_get(fugue_kit_state_props(state), "tags");
	const struct json_object *wanted = fugue_kit_get(declared, "tags");
	struct json_object *drop = json_object_new_array();
	size_t i;

	if (!tags || !drop || !json_object_is_type(tags, json_type_object)) {
		json_object_put(drop);
		return;
	}
	/* collected first: deleting while iterating would break the iteration */
	json_object_object_foreach(tags, key, value) {
		(void)value;
		if (fugue_kit_get(wanted, key))
			continue;
		if (!ctx->tags || fugue_kit_get(ctx->tags, key))
			json_object_array_add(drop, json_object_new_string(key));
	}
	for (i = 0; i < json_object_array_length(drop); i++)
		json_object_object_del(tags,
		                       json_object_get_string(json_object_array_get_idx(drop, i)));
	json_object_put(drop);
}

/* --- failures ------------------------------------------------------------------ */

int fugue_kit_fail_aws(fugue_ctx *ctx, int code, const fugue_aws_error *err, const char *what)
{
	if (!what)
		what = "aws call";
	if (err && err->code[0])
		ctx->host->fail(ctx, code, err, "%s: %s (%s)", what,
		                err->message[0] ? err->message : fugue_strerror(code), err->code);
	else if (err && err->message[0])
		ctx->host->fail(ctx, code, err, "%s: %s", what, err->message);
	else
		ctx->host->fail(ctx, code, err, "%s: %s", what, fugue_strerror(code));
	return code;
}

/* --- calls -------------------------------------------------------------------- */

int fugue_kit_aws_try(struct json_object **out, fugue_ctx *ctx, const fugue_aws_request *req,
                      const fugue_aws_paginator *pager, fugue_aws_error *err)
{
	struct json_object *res = NULL;
	int rc;

	if (out)
		*out = NULL;
	memset(err, 0, sizeof(*err));
	if (!ctx->aws) {
		snprintf(err->code, sizeof(err->code), "%s", "NoAwsClient");
		snprintf(err->message, sizeof(err->message), "%s",
		         "no aws client: the conductor runs without aws (--no-aws)");
		snprintf(err->service, sizeof(err->service), "%s", req->service ? req->service : "");
		snprintf(err->action, sizeof(err->action), "%s", req->action ? req->action : "");
		return FUGUE_ECONFIG;
	}
	if (pager)
		rc = fugue_aws_call_all(&res, ctx->aws, req, pager, 0, err);
	else
		rc = fugue_aws_call(&res, ctx->aws, req, err);
	if (out)
		*out = res;
	else
		json_object_put(res);
	return rc;
}

int fugue_kit_aws_call(struct json_object **out, fugue_ctx *ctx, const fugue_aws_request *req,
                       const fugue_aws_paginator *pager)
{
	fugue_aws_error err;
	int rc = fugue_kit_aws_try(out, ctx, req, pager, &err);

	if (rc != 0)
		fugue_kit_fail_aws(ctx, rc, &err, req->action);
	return rc;
}

int fugue_kit_sync_tags(fugue_ctx *ctx, const struct json_object *has,
                        const struct json_object *user_tags, int keys_as_items,
                        fugue_kit_tag_call_fn call, void *arg)
{
	struct json_object *have = fugue_kit_tags_map(has, 0);
	struct json_object *want = fugue_kit_desired_tags(ctx, user_tags);
	struct json_object *put = NULL, *gone = NULL, *del = NULL;
	int rc = have && want ? fugue_kit_tag_changes(&put, &gone, have, want) : FUGUE_ENOMEM;

	if (rc == 0 && !(del = keys_as_items ? fugue_kit_key_items(gone) : json_object_get(gone)))
		rc = FUGUE_ENOMEM;
	if (rc == FUGUE_ENOMEM)
		ctx->host->fail(ctx, rc, NULL, "tags: out of memory");
	if (rc == 0 && json_object_array_length(put) > 0)
		rc = call(ctx, arg, 1, put);
	if (rc == 0 && json_object_array_length(del) > 0)
		rc = call(ctx, arg, 0, del);
	json_object_put(have);
	json_object_put(want);
	json_object_put(put);
	json_object_put(gone);
	json_object_put(del);
	return rc;
}

/* --- text ----------------------------------------------------------------------- */

char *fugue_kit_base64(const void *data, size_t len)
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

int fugue_kit_reserved_tag(const char *key)
{
	return key && (strncmp(key, "fugue:", 6) == 0 || strncmp(key, "aws:", 4) == 0);
}

struct json_object *fugue_kit_desired_tags(const fugue_ctx *ctx,
                                           const struct json_object *user_tags)
{
	struct json_object *map = json_object_new_object();

	if (!map)
		return NULL;
	/* The resource's own tags override the composition's; ours (fugue:*)
	 * come last so that nothing overrides them. */
	if (json_object_is_type(user_tags, json_type_object)) {
		json_object_object_foreach(fugue_kit_unconst(user_tags), key, val) {
			if (!fugue_kit_reserved_tag(key) && json_object_is_type(val, json_type_string))
				json_object_object_add(map, key, json_object_get(val));
		}
	}
	if (ctx && json_object_is_type(ctx->tags, json_type_object)) {
		json_object_object_foreach(ctx->tags, key, val) {
			if (!json_object_is_type(val, json_type_string))
				continue;
			if (fugue_kit_reserved_tag(key) || !json_object_object_get_ex(map, key, NULL))
				json_object_object_add(map, key, json_object_get(val));
		}
	}
	return map;
}

struct json_object *fugue_kit_tags_map(const struct json_object *list, int user_only)
{
	struct json_object *map = json_object_new_object();
	size_t i;

	for (i = 0; map && i < fugue_kit_len(list); i++) {
		const struct json_object *t = fugue_kit_at(list, i);
		const char *k = fugue_aws_get_string(t, "Key");
		const char *v = k ? fugue_aws_get_string(t, "Value") : NULL;

		if (!k) {
			k = fugue_aws_get_string(t, "key");
			v = fugue_aws_get_string(t, "value");
		}
		if (!k || (user_only && fugue_kit_reserved_tag(k)))
			continue;
		json_object_object_add(map, k, json_object_new_string(v ? v : ""));
	}
	return map;
}

struct json_object *fugue_kit_key_items(const struct json_object *keys)
{
	struct json_object *items = json_object_new_array();
	size_t i;

	for (i = 0; items && i < fugue_kit_len(keys); i++) {
		struct json_object *t = json_object_new_object();

		if (!t || json_object_array_add(items, t) != 0) {
			json_object_put(t);
			json_object_put(items);
			return NULL;
		}
		fugue_kit_put_str(t, "Key", fugue_kit_as_str(fugue_kit_at(keys, i)));
	}
	return items;
}

int fugue_kit_tag_changes(struct json_object **put, struct json_object **gone,
                          const struct json_object *have, const struct json_object *want)
{
	*put = json_object_new_array();
	*gone = json_object_new_array();
	if (!*put || !*gone)
		goto nomem;
	if (json_object_is_type(want, json_type_object)) {
		json_object_object_foreach(fugue_kit_unconst(want), k, v) {
			struct json_object *t;

			if (fugue_kit_streq(fugue_kit_str(have, k), fugue_kit_as_str(v)))
				continue;
			t = json_object_new_object();
			if (!t || json_object_array_add(*put, t) != 0) {
				json_object_put(t);
				goto nomem;
			}
			fugue_kit_put_str(t, "Key", k);
			fugue_kit_put_str(t, "Value", fugue_kit_as_str(v));
		}
	}
	if (json_object_is_type(have, json_type_object)) {
		json_object_object_foreach(fugue_kit_unconst(have), hk, hv) {
			(void)hv;
			if (fugue_kit_get(want, hk) || fugue_kit_reserved_tag(hk))
				continue;
			if (json_object_array_add(*gone, json_object_new_string(hk)) != 0)
				goto nomem;
		}
	}
	return 0;
nomem:
	json_object_put(*put);
	json_object_put(*gone);
	*put = *gone = NULL;
	return FUGUE_ENOMEM;
}
