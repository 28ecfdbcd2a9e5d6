/* ec2_tags.c - tags through the EC2 API (ec2_api.h): TagSpecifications for
 * creates, the `tags` property of a described resource, CreateTags /
 * DeleteTags to bring a resource's tags where they should be. */
#include "ec2_api.h"

#include <string.h>

#include <json-c/json.h>

#include "ec2_internal.h"
#include "planner_kit.h"

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

	if (!params || !resource_type)
		return;
	if (!(specs = fugue_ec2_array_member(params, "TagSpecification")))
		return;
	tags = fugue_kit_desired_tags(ctx, user_tags);
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

struct json_object *fugue_ec2_user_tags(const struct json_object *described)
{
	return fugue_ec2_tags_map(fugue_aws_list(described, "tagSet"), 1);
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

		if (!key || (user_only && fugue_kit_reserved_tag(key)))
			continue;
		json_object_object_add(map, key, json_object_new_string(value ? value : ""));
	}
	return map;
}

int fugue_ec2_tagged_for(const fugue_ctx *ctx, const struct json_object *described)
{
	struct json_object *tags = fugue_ec2_tags_map(fugue_aws_list(described, "tagSet"), 0);
	int ours = fugue_kit_streq(fugue_kit_str(tags, "fugue:fid"), ctx->fid) &&
	           fugue_kit_streq(fugue_kit_str(tags, "fugue:resource"), ctx->resource);

	json_object_put(tags);
	return ours;
}

/* CreateTags / DeleteTags of ID with TAGS (an array of tag items, borrowed). */
static int tags_call(fugue_ctx *ctx, const char *action, const char *id, struct json_object *tags)
{
	struct json_object *params = json_object_new_object();
	struct json_object *ids = json_object_new_array();

	if (!params || !ids) {
		json_object_put(params);
		json_object_put(ids);
		ctx->host->fail(ctx, FUGUE_ENOMEM, NULL, "%s: out of memory", action);
		return FUGUE_ENOMEM;
	}
	json_object_array_add(ids, json_object_new_string(id));
	json_object_object_add(params, "ResourceId", ids);
	json_object_object_add(params, "Tag", json_object_get(tags));
	return fugue_ec2_do(ctx, action, params);
}

int fugue_ec2_sync_tags(fugue_ctx *ctx, const char *id, const struct json_object *current,
                        const struct json_object *user_tags)
{
	struct json_object *want = fugue_kit_desired_tags(ctx, user_tags);
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
		if (!fugue_kit_reserved_tag(hkey) && !json_object_object_get_ex(want, hkey, NULL))
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

