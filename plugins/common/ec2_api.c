/* ec2_api.c - see ec2_api.h.
 *
 * Wire names: the EC2 Query protocol sends a member by its locationName
 * with the first letter capitalized ("ResourceId", "Tag", "Key"), and the
 * SDK sends the names it is given, so everything below is written that
 * way. */
#include "ec2_api.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"

#define FID_TAG "fugue:fid"
#define RESOURCE_TAG "fugue:resource"

static int has_prefix(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Tags AWS or the Conductor own: never shown as the `tags` property,
 * never deleted by a sync (AWS refuses to delete aws:*). */
static int reserved_tag(const char *key)
{
	return has_prefix(key, "fugue:") || has_prefix(key, "aws:");
}

/* --- calls ---------------------------------------------------------------------- */

/* Without a client (validation offline, conductord --no-aws) every call is
 * a configuration error that says so. */
static void no_client(fugue_aws_error *err, const char *action)
{
	if (!err)
		return;
	memset(err, 0, sizeof(*err));
	snprintf(err->code, sizeof(err->code), "%s", "NoAwsClient");
	snprintf(err->message, sizeof(err->message), "%s",
	         "no aws client: the conductor runs without aws (--no-aws)");
	snprintf(err->service, sizeof(err->service), "%s", "ec2");
	snprintf(err->action, sizeof(err->action), "%s", action ? action : "");
}

static void request_init(fugue_aws_request *req, const fugue_ctx *ctx, const char *action,
                         const struct json_object *params)
{
	fugue_aws_request init = FUGUE_AWS_REQUEST_INIT;

	*req = init;
	req->service = "ec2";
	req->region = ctx->region;
	req->action = action;
	req->params = params;
}

int fugue_ec2_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const struct json_object *params, fugue_aws_error *err)
{
	fugue_aws_request req;

	*out = NULL;
	if (!ctx->aws) {
		no_client(err, action);
		return FUGUE_ECONFIG;
	}
	request_init(&req, ctx, action, params);
	return fugue_aws_call(out, ctx->aws, &req, err);
}

int fugue_ec2_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params)
{
	fugue_aws_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = fugue_ec2_try(out, ctx, action, params, &err);
	if (rc != 0)
		fugue_kit_fail_aws(ctx, rc, &err, action);
	return rc;
}

/* The elements of the INNER list of every element of OUTER, in one new array. */
static struct json_object *flatten(const struct json_object *outer, const char *inner)
{
	struct json_object *all = json_object_new_array();
	size_t i, j, n, m;

	if (!all || !outer)
		return all;
	n = json_object_array_length(outer);
	for (i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(outer, i);
		struct json_object *list = fugue_aws_list(el, inner);

		m = list ? json_object_array_length(list) : 0;
		for (j = 0; j < m; j++)
			json_object_array_add(all,
			                      json_object_get(json_object_array_get_idx(list, j)));
	}
	return all;
}

/* A paged Describe without recording a failure. RESULT_KEY may name a list
 * inside each element of the paged list ("reservationSet/instancesSet"). */
static int describe_try(struct json_object **items, fugue_ctx *ctx, const char *action,
                        const struct json_object *params, const char *result_key,
                        fugue_aws_error *err)
{
	fugue_aws_paginator pager = { "NextToken", "nextToken", NULL, NULL };
	struct json_object *out = NULL;
	struct json_object *list;
	fugue_aws_request req;
	char outer[128];
	const char *inner = strchr(result_key, '/');
	int rc;

	*items = NULL;
	if (!ctx->aws) {
		no_client(err, action);
		return FUGUE_ECONFIG;
	}
	/* "reservationSet/instancesSet": pages of reservations, items the
	 * instances of every reservation. */
	snprintf(outer, sizeof(outer), "%.*s",
	         (int)(inner ? (size_t)(inner - result_key) : strlen(result_key)), result_key);
	pager.result_key = outer;
	request_init(&req, ctx, action, params);
	rc = fugue_aws_call_all(&out, ctx->aws, &req, &pager, 0, err);
	if (rc != 0)
		return rc;
	list = fugue_aws_list(out, outer);
	if (inner)
		*items = flatten(list, inner + 1);
	else /* the list outlives the response: take a reference before putting it */
		*items = list ? json_object_get(list) : json_object_new_array();
	json_object_put(out);
	return *items ? 0 : FUGUE_ENOMEM;
}

int fugue_ec2_describe(struct json_object **items, fugue_ctx *ctx, const char *action,
                       const struct json_object *params, const char *result_key)
{
	fugue_aws_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = describe_try(items, ctx, action, params, result_key, &err);
	if (rc == FUGUE_ENOMEM)
		ctx->host->fail(ctx, rc, NULL, "%s: out of memory", action);
	else if (rc != 0)
		fugue_kit_fail_aws(ctx, rc, &err, action);
	return rc;
}

/* PARAMS[KEY] as an array, created when missing; NULL on allocation failure. */
static struct json_object *array_member(struct json_object *params, const char *key)
{
	struct json_object *a = NULL;

	if (json_object_object_get_ex(params, key, &a) && json_object_is_type(a, json_type_array))
		return a;
	a = json_object_new_array();
	if (a)
		json_object_object_add(params, key, a);
	return a;
}

void fugue_ec2_filter(struct json_object *params, const char *name, const char *value)
{
	struct json_object *filters, *f, *values;
	size_t i, n;

	if (!params || !name || !value || !(filters = array_member(params, "Filter")))
		return;
	/* A second value for a filter already there widens it (AWS ORs the
	 * values of one filter and ANDs filters). */
	n = json_object_array_length(filters);
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(filters, i);
		if (fugue_kit_str(f, "Name") && strcmp(fugue_kit_str(f, "Name"), name) == 0) {
			values = array_member(f, "Value");
			if (values)
				json_object_array_add(values, json_object_new_string(value));
			return;
		}
	}
	f = json_object_new_object();
	values = json_object_new_array();
	if (!f || !values) {
		json_object_put(f);
		json_object_put(values);
		return;
	}
	json_object_array_add(values, json_object_new_string(value));
	json_object_object_add(f, "Name", json_object_new_string(name));
	json_object_object_add(f, "Value", values);
	json_object_array_add(filters, f);
}

/* --- tags -------------------------------------------------------------------------- */

struct json_object *fugue_ec2_desired_tags(const fugue_ctx *ctx,
                                           const struct json_object *user_tags)
{
	struct json_object *map = json_object_new_object();

	if (!map)
		return NULL;
	/* The resource's own tags override the composition's; ours (fugue:*)
	 * come last so that nothing overrides them. */
	if (json_object_is_type(user_tags, json_type_object)) {
		json_object_object_foreach((struct json_object *)user_tags, key, val) {
			if (!reserved_tag(key) && json_object_is_type(val, json_type_string))
				json_object_object_add(map, key, json_object_get(val));
		}
	}
	if (ctx && json_object_is_type(ctx->tags, json_type_object)) {
		json_object_object_foreach((struct json_object *)ctx->tags, key, val) {
			if (!json_object_is_type(val, json_type_string))
				continue;
			if (reserved_tag(key) || !json_object_object_get_ex(map, key, NULL))
				json_object_object_add(map, key, json_object_get(val));
		}
	}
	return map;
}

static struct json_object *tag_item(const char *key, const char *value)
{
	struct json_object *t = json_object_new_object();

	if (!t)
		return NULL;
	json_object_object_add(t, "Key", json_object_new_string(key));
	if (value)
		json_object_object_add(t, "Value", json_object_new_string(value));
	return t;
}

void fugue_ec2_tag_spec(struct json_object *params, const char *resource_type,
                        const fugue_ctx *ctx, const struct json_object *user_tags)
{
	struct json_object *specs, *spec, *list, *tags;

	if (!params || !resource_type || !(specs = array_member(params, "TagSpecification")))
		return;
	tags = fugue_ec2_desired_tags(ctx, user_tags);
	spec = json_object_new_object();
	list = json_object_new_array();
	if (!tags || !spec || !list) {
		json_object_put(tags);
		json_object_put(spec);
		json_object_put(list);
		return;
	}
	json_object_object_foreach(tags, key, val)
		json_object_array_add(list, tag_item(key, json_object_get_string(val)));
	json_object_put(tags);
	json_object_object_add(spec, "ResourceType", json_object_new_string(resource_type));
	json_object_object_add(spec, "Tag", list);
	json_object_array_add(specs, spec);
}

struct json_object *fugue_ec2_tags_map(const struct json_object *tag_set, int user_only)
{
	struct json_object *map = json_object_new_object();
	size_t i, n;

	if (!map || !json_object_is_type(tag_set, json_type_array))
		return map;
	n = json_object_array_length(tag_set);
	for (i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(tag_set, i);
		const char *key = fugue_kit_str(t, "key");
		const char *value = fugue_kit_str(t, "value");

		if (!key || (user_only && reserved_tag(key)))
			continue;
		json_object_object_add(map, key, json_object_new_string(value ? value : ""));
	}
	return map;
}

/* CreateTags / DeleteTags of ID with TAGS (an array of tag items, borrowed). */
static int tags_call(fugue_ctx *ctx, const char *action, const char *id, struct json_object *tags)
{
	struct json_object *params = json_object_new_object();
	struct json_object *ids = json_object_new_array();
	struct json_object *out = NULL;
	int rc;

	if (!params || !ids) {
		json_object_put(params);
		json_object_put(ids);
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "%s: out of memory", action);
		return FUGUE_ENOMEM;
	}
	json_object_array_add(ids, json_object_new_string(id));
	json_object_object_add(params, "ResourceId", ids);
	json_object_object_add(params, "Tag", json_object_get(tags));
	rc = fugue_ec2_call(&out, ctx, action, params);
	json_object_put(out);
	json_object_put(params);
	return rc;
}

int fugue_ec2_sync_tags(fugue_ctx *ctx, const char *id, const struct json_object *current,
                        const struct json_object *user_tags)
{
	struct json_object *want = fugue_ec2_desired_tags(ctx, user_tags);
	struct json_object *have = fugue_ec2_tags_map(current, 0);
	struct json_object *add = json_object_new_array();
	struct json_object *del = json_object_new_array();
	int rc = 0;

	if (!want || !have || !add || !del) {
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "tags of %s: out of memory", id);
		rc = FUGUE_ENOMEM;
		goto out;
	}
	json_object_object_foreach(want, wkey, wval) {
		const char *now = fugue_kit_str(have, wkey);

		if (!now || strcmp(now, json_object_get_string(wval)) != 0)
			json_object_array_add(add, tag_item(wkey, json_object_get_string(wval)));
	}
	json_object_object_foreach(have, hkey, hval) {
		(void)hval;
		if (!reserved_tag(hkey) && !json_object_object_get_ex(want, hkey, NULL))
			json_object_array_add(del, tag_item(hkey, NULL));
	}
	if (json_object_array_length(add) > 0)
		rc = tags_call(ctx, "CreateTags", id, add);
	if (rc == 0 && json_object_array_length(del) > 0)
		rc = tags_call(ctx, "DeleteTags", id, del);
out:
	json_object_put(want);
	json_object_put(have);
	json_object_put(add);
	json_object_put(del);
	return rc;
}

/* --- observe ------------------------------------------------------------------------ */

/* The value of tag KEY in a described element's tagSet, or NULL. */
static const char *tag_value(const struct json_object *described, const char *key)
{
	struct json_object *set = fugue_aws_list(described, "tagSet");
	size_t i, n;

	if (!set)
		return NULL;
	n = json_object_array_length(set);
	for (i = 0; i < n; i++) {
		struct json_object *t = json_object_array_get_idx(set, i);
		const char *k = fugue_kit_str(t, "key");

		if (k && strcmp(k, key) == 0)
			return fugue_kit_str(t, "value");
	}
	return NULL;
}

static int str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The element of DESCRIBED that is ITEM, or NULL. */
static const struct json_object *find(const fugue_ctx *ctx, const fugue_observation *item,
                                      const struct json_object *described, const char *id_key,
                                      int (*skip)(const struct json_object *described))
{
	size_t i, n = json_object_array_length(described);

	for (i = 0; i < n; i++) {
		const struct json_object *d = json_object_array_get_idx(described, i);

		if (skip && skip(d))
			continue;
		if (item->id ? str_eq(fugue_kit_str(d, id_key), item->id)
		             : str_eq(tag_value(d, FID_TAG), ctx->fid) &&
		                       str_eq(tag_value(d, RESOURCE_TAG), item->resource))
			return d;
	}
	return NULL;
}

int fugue_ec2_match(fugue_ctx *ctx, fugue_observation *items, size_t n,
                    const struct json_object *described, const char *id_key,
                    fugue_ec2_state_fn make_state,
                    int (*skip)(const struct json_object *described))
{
	int rc = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct json_object *d = NULL;

		items[i].state = NULL;
		items[i].status = FUGUE_ENOTFOUND;
		if (json_object_is_type(described, json_type_array))
			d = find(ctx, &items[i], described, id_key, skip);
		if (!d)
			continue;
		items[i].state = make_state(ctx, d);
		items[i].status = items[i].state ? 0 : FUGUE_ENOMEM;
		if (!items[i].state)
			rc = FUGUE_ENOMEM;
	}
	if (rc != 0)
		ctx->host->fail(ctx, rc, NULL, "observe: out of memory");
	return rc;
}

/* Whether ID is the id (ID_KEY) of an element of DESCRIBED. */
static int described_has(const struct json_object *described, const char *id_key, const char *id)
{
	size_t i, n = json_object_array_length(described);

	for (i = 0; i < n; i++)
		if (str_eq(fugue_kit_str(json_object_array_get_idx(described, i), id_key), id))
			return 1;
	return 0;
}

/* Appends every element of MORE to ALL. */
static void append_all(struct json_object *all, const struct json_object *more)
{
	size_t i, n = json_object_array_length(more);

	for (i = 0; i < n; i++)
		json_object_array_add(all, json_object_get(json_object_array_get_idx(more, i)));
}

/* The ids of ITEMS that ALL does not hold, as a JSON array; NULL when none. */
static struct json_object *missing_ids(const fugue_observation *items, size_t n,
                                       const struct json_object *all, const char *id_key)
{
	struct json_object *ids = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!items[i].id || !*items[i].id || described_has(all, id_key, items[i].id))
			continue;
		if (!ids && !(ids = json_object_new_array()))
			return NULL;
		json_object_array_add(ids, json_object_new_string(items[i].id));
	}
	return ids;
}

/* How many of IDS MESSAGE names (AWS's NotFound for an id list: "The vpc
 * ID 'vpc-1' does not exist"); with DROP, those are removed from IDS. */
static size_t named_ids(struct json_object *ids, const char *message, int drop)
{
	size_t named = 0;
	size_t i = json_object_array_length(ids);

	while (i-- > 0) {
		if (!strstr(message, json_object_get_string(json_object_array_get_idx(ids, i))))
			continue;
		named++;
		if (drop)
			json_object_array_del_idx(ids, i, 1);
	}
	return named;
}

/* Describe by the id list parameter ID_PARAM with IDS (borrowed). NotFound
 * with exactly one id: *OUT is empty (it is gone). */
static int describe_list(struct json_object **out, fugue_ctx *ctx, const char *action,
                         const char *result_key, const char *id_param,
                         struct json_object *ids, fugue_aws_error *err)
{
	struct json_object *params = json_object_new_object();
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_ENOMEM;
	json_object_object_add(params, id_param, json_object_get(ids));
	memset(err, 0, sizeof(*err));
	rc = describe_try(out, ctx, action, params, result_key, err);
	json_object_put(params);
	if (rc == FUGUE_ENOTFOUND && json_object_array_length(ids) == 1 &&
	    named_ids(ids, err->message, 0) == 1) {
		*out = json_object_new_array();
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	return rc;
}

/* One Describe per id: the last resort when a NotFound names every id
 * asked for, not only the missing ones (moto does). */
static int describe_each(struct json_object **out, fugue_ctx *ctx, const char *action,
                         const char *result_key, const char *id_param,
                         const struct json_object *ids, fugue_aws_error *err)
{
	size_t i, n = json_object_array_length(ids);
	int rc = 0;

	*out = json_object_new_array();
	for (i = 0; *out && rc == 0 && i < n; i++) {
		struct json_object *one = json_object_new_array();
		struct json_object *got = NULL;

		if (!one)
			break;
		json_object_array_add(one, json_object_get(json_object_array_get_idx(ids, i)));
		rc = describe_list(&got, ctx, action, result_key, id_param, one, err);
		if (rc == 0)
			append_all(*out, got);
		json_object_put(got);
		json_object_put(one);
	}
	if (rc == 0 && (!*out || i < n))
		rc = FUGUE_ENOMEM;
	if (rc != 0) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}

/* Describe by the id list ID_PARAM ("VpcId"): AWS answers NotFound when an
 * id is gone, naming the missing ones; those are dropped and the call made
 * again (at most once per id). IDS is changed. */
static int describe_id_list(struct json_object **out, fugue_ctx *ctx, const char *action,
                            const char *result_key, const char *id_param,
                            struct json_object *ids, fugue_aws_error *err)
{
	int rc;

	for (;;) {
		size_t n = json_object_array_length(ids);
		size_t named;

		if (n == 0) {
			*out = json_object_new_array();
			return *out ? 0 : FUGUE_ENOMEM;
		}
		rc = describe_list(out, ctx, action, result_key, id_param, ids, err);
		if (rc != FUGUE_ENOTFOUND)
			return rc;
		named = named_ids(ids, err->message, 0);
		if (named == 0)
			return rc;
		if (named == n)
			return describe_each(out, ctx, action, result_key, id_param, ids, err);
		named_ids(ids, err->message, 1);
	}
}

/* The Describe by ids: ID_PARAM is a filter name when it has a dash
 * ("vpc-id": never an error, the answer simply lacks what is gone), else
 * the Describe's id list ("VpcId", see describe_id_list). */
static int describe_ids(struct json_object **out, fugue_ctx *ctx, const char *action,
                        const char *result_key, const char *id_param, struct json_object *ids)
{
	fugue_aws_error err;
	size_t i, n = json_object_array_length(ids);
	struct json_object *params;
	int rc;

	*out = NULL;
	if (strchr(id_param, '-')) {
		if (!(params = json_object_new_object())) {
			ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "%s: out of memory", action);
			return FUGUE_ENOMEM;
		}
		for (i = 0; i < n; i++)
			fugue_ec2_filter(params, id_param,
			                 json_object_get_string(json_object_array_get_idx(ids, i)));
		rc = fugue_ec2_describe(out, ctx, action, params, result_key);
		json_object_put(params);
		return rc;
	}
	memset(&err, 0, sizeof(err));
	rc = describe_id_list(out, ctx, action, result_key, id_param, ids, &err);
	if (rc == FUGUE_ENOMEM)
		ctx->host->fail(ctx, rc, NULL, "%s: out of memory", action);
	else if (rc != 0)
		fugue_kit_fail_aws(ctx, rc, &err, action);
	return rc;
}

/* Every item gets CODE: AWS could not be asked, so nothing is believed gone. */
static int unanswered(fugue_observation *items, size_t n, int code)
{
	size_t i;

	for (i = 0; i < n; i++) {
		items[i].status = code;
		items[i].state = NULL;
	}
	return code;
}

int fugue_ec2_observe(fugue_ctx *ctx, fugue_observation *items, size_t n, const char *action,
                      const char *result_key, const char *id_param, const char *id_key,
                      fugue_ec2_state_fn make_state,
                      int (*skip)(const struct json_object *described))
{
	struct json_object *params, *all = NULL, *ids, *more = NULL;
	int rc;

	if (n == 0)
		return 0;
	params = json_object_new_object();
	if (!params) {
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "%s: out of memory", action);
		return unanswered(items, n, FUGUE_ENOMEM);
	}
	fugue_ec2_filter(params, "tag:" FID_TAG, ctx->fid);
	rc = fugue_ec2_describe(&all, ctx, action, params, result_key);
	json_object_put(params);
	if (rc != 0)
		return unanswered(items, n, rc);
	/* A resource that lost its tags (someone edited them) is still ours:
	 * ask for the recorded ids the tag filter did not bring back. */
	ids = id_param ? missing_ids(items, n, all, id_key) : NULL;
	if (ids) {
		rc = describe_ids(&more, ctx, action, result_key, id_param, ids);
		json_object_put(ids);
		if (rc != 0) {
			json_object_put(all);
			return unanswered(items, n, rc);
		}
		append_all(all, more);
		json_object_put(more);
	}
	rc = fugue_ec2_match(ctx, items, n, all, id_key, make_state, skip);
	json_object_put(all);
	return rc;
}

int fugue_ec2_is_notfound(const fugue_aws_error *err)
{
	size_t n;

	if (!err)
		return 0;
	n = strlen(err->code);
	return n >= 8 && strcmp(err->code + n - 8, "NotFound") == 0;
}
