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
	return fugue_kit_tags_map(fugue_aws_list(described, "tagSet"), 1);
}

int fugue_ec2_tagged_for(const fugue_ctx *ctx, const struct json_object *described)
{
	struct json_object *tags = fugue_kit_tags_map(fugue_aws_list(described, "tagSet"), 0);
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

static int ec2_tag_call(fugue_ctx *ctx, void *id, int add, struct json_object *tags)
{
	return tags_call(ctx, add ? "CreateTags" : "DeleteTags", id, tags);
}

int fugue_ec2_sync_tags(fugue_ctx *ctx, const char *id, const struct json_object *current,
                        const struct json_object *user_tags)
{
	return fugue_kit_sync_tags(ctx, current, user_tags, 1, ec2_tag_call, (void *)id);
}
