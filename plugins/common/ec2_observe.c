/* ec2_observe.c - observe() batches through the EC2 API (ec2_api.h): one
 * Describe by the composition's tag, one more by id for what lost its
 * tags, and matching the answer to the batch's items. */
#include "ec2_api.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_internal.h"
#include "planner_kit.h"

#define FID_TAG "fugue:fid"
#define RESOURCE_TAG "fugue:resource"

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

/* The index in DESCRIBED of the element that is ITEM, or -1. */
static long find(const fugue_ctx *ctx, const fugue_observation *item,
                 const struct json_object *described, const fugue_ec2_kind *kind)
{
	size_t i, n = json_object_array_length(described);

	for (i = 0; i < n; i++) {
		const struct json_object *d = json_object_array_get_idx(described, i);

		if (kind->skip && kind->skip(d))
			continue;
		if (item->id ? fugue_kit_streq(fugue_kit_str(d, kind->id_key), item->id)
		             : fugue_kit_streq(tag_value(d, FID_TAG), ctx->fid) &&
		                       fugue_kit_streq(tag_value(d, RESOURCE_TAG), item->resource))
			return (long)i;
	}
	return -1;
}

/* The item of ITEMS whose resource is NAME, or NULL. */
static const fugue_observation *item_named(const fugue_observation *items, size_t n,
                                           const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (strcmp(items[i].resource, name) == 0)
			return &items[i];
	return NULL;
}

/* Reports each element of DESCRIBED that no item matched (MATCHED says
 * which did) but that carries the tags of an item: a duplicate. */
static void report_duplicates(fugue_ctx *ctx, const fugue_observation *items, size_t n,
                              const struct json_object *described, const unsigned char *matched,
                              const fugue_ec2_kind *kind)
{
	size_t i, m = json_object_array_length(described);

	for (i = 0; i < m; i++) {
		const struct json_object *d = json_object_array_get_idx(described, i);
		const fugue_observation *item;
		struct json_object *state;

		if (matched[i] || (kind->skip && kind->skip(d)) ||
		    !fugue_kit_streq(tag_value(d, FID_TAG), ctx->fid))
			continue;
		item = item_named(items, n, tag_value(d, RESOURCE_TAG));
		if (!item)
			continue;
		state = kind->make_state(ctx, d);
		if (state)
			fugue_kit_duplicate(ctx, item, state);
	}
}

int fugue_ec2_match(fugue_ctx *ctx, fugue_observation *items, size_t n,
                    const struct json_object *described, const fugue_ec2_kind *kind)
{
	int is_list = json_object_is_type(described, json_type_array);
	size_t m = is_list ? json_object_array_length(described) : 0;
	unsigned char *matched = calloc(m ? m : 1, 1);
	int rc = matched ? 0 : FUGUE_ENOMEM;
	size_t i;

	for (i = 0; matched && i < n; i++) {
		long at = is_list ? find(ctx, &items[i], described, kind) : -1;

		items[i].state = NULL;
		items[i].status = FUGUE_ENOTFOUND;
		if (at < 0)
			continue;
		matched[at] = 1;
		items[i].state = kind->make_state(ctx, json_object_array_get_idx(described, (size_t)at));
		items[i].status = items[i].state ? 0 : FUGUE_ENOMEM;
		if (!items[i].state)
			rc = FUGUE_ENOMEM;
		/* the composition's tags are not the resource's `tags` */
		fugue_kit_fix_tags(ctx, items[i].state, items[i].declared);
	}
	if (rc == 0)
		report_duplicates(ctx, items, n, described, matched, kind);
	free(matched);
	if (rc != 0)
		ctx->host->fail(ctx, rc, NULL, "observe: out of memory");
	return rc;
}

/* Whether ID is the id (ID_KEY) of an element of DESCRIBED. */
static int described_has(const struct json_object *described, const char *id_key, const char *id)
{
	size_t i, n = json_object_array_length(described);

	for (i = 0; i < n; i++)
		if (fugue_kit_streq(fugue_kit_str(fugue_kit_at(described, i), id_key), id))
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
	rc = fugue_ec2_describe_try(out, ctx, action, params, result_key, err);
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

int fugue_ec2_observe(fugue_ctx *ctx, fugue_observation *items, size_t n,
                      const fugue_ec2_kind *kind)
{
	struct json_object *params, *all = NULL, *ids, *more = NULL;
	const char *action = kind->action;
	int rc;

	if (n == 0)
		return 0;
	params = json_object_new_object();
	if (!params) {
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "%s: out of memory", action);
		return unanswered(items, n, FUGUE_ENOMEM);
	}
	fugue_ec2_filter(params, "tag:" FID_TAG, ctx->fid);
	rc = fugue_ec2_describe(&all, ctx, action, params, kind->result_key);
	json_object_put(params);
	if (rc != 0)
		return unanswered(items, n, rc);
	/* A resource that lost its tags (someone edited them) is still ours:
	 * ask for the recorded ids the tag filter did not bring back. */
	ids = kind->id_param ? missing_ids(items, n, all, kind->id_key) : NULL;
	if (ids) {
		rc = describe_ids(&more, ctx, action, kind->result_key, kind->id_param, ids);
		json_object_put(ids);
		if (rc != 0) {
			json_object_put(all);
			return unanswered(items, n, rc);
		}
		append_all(all, more);
		json_object_put(more);
	}
	rc = fugue_ec2_match(ctx, items, n, all, kind);
	json_object_put(all);
	return rc;
}
