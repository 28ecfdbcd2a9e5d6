/* instance_profile.c - AWS.IAM.InstanceProfile: the container that hands a
 * role to EC2 instances.
 *
 * The state's id is the InstanceProfileId (AIPA...); calls take the name,
 * kept in the attributes. The role is given by name (`role: !ref
 * ROLE.name`) and changes in place (remove the old, add the new). Observation
 * is one paged ListInstanceProfiles per cycle plus one
 * ListInstanceProfileTags per profile (the list does not carry tags). */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define PROFILE_NAME_MAX 128

static const fugue_prop profile_props[] = {
	{ .name = "instanceProfileName", .kind = FUGUE_KIND_STRING,
	  .doc = "the profile's name (default: the resource's name and 8 characters of the "
	         "process id); replaces" },
	{ .name = "path", .kind = FUGUE_KIND_STRING, .default_json = "\"/\"",
	  .doc = "the profile's path; replaces" },
	{ .name = "role", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_UPDATABLE,
	  .ref_types = "AWS.IAM.Role", .doc = "the role's NAME: `!ref ROLE.name`" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr profile_attrs[] = {
	{ "arn", "the profile's ARN" },
	{ "name", "the profile's name (what an instance's iamInstanceProfile takes)" },
	{ NULL, NULL },
};

static int profile_validate(fugue_ctx *ctx, const struct json_object *props)
{
	struct json_object *role = fugue_kit_get(props, "role");
	int bad;

	bad = fugue_iam_check_name_path(ctx, props, "instanceProfileName", "profile", PROFILE_NAME_MAX);
	/* the profile takes the role's name, not its id */
	if (fugue_kit_ref_name(role) && !fugue_kit_streq(fugue_kit_str(role, "attr"), "name")) {
		ctx->host->report(ctx, "role", "expected the role's name: !ref %s.name",
		                  fugue_kit_ref_name(role));
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* The state of a ListInstanceProfiles / GetInstanceProfile element P with
 * its TAGS (an IAM tag list, may be NULL). */
static struct json_object *profile_state(fugue_ctx *ctx, const struct json_object *p,
                                         const struct json_object *tags,
                                         const struct json_object *declared)
{
	struct json_object *props = json_object_new_object(), *attrs = json_object_new_object();
	struct json_object *state;

	if (fugue_kit_get(declared, "instanceProfileName"))
		fugue_kit_put(props, "instanceProfileName",
		              fugue_kit_aws_str(p, "InstanceProfileName"));
	fugue_kit_put(props, "path", fugue_kit_aws_str(p, "Path"));
	fugue_kit_put(props, "role", fugue_kit_aws_str(p, "Roles.0.RoleName"));
	fugue_kit_put(props, "tags", fugue_kit_tags_map(tags, 1));
	fugue_kit_put(attrs, "arn", fugue_kit_aws_str(p, "Arn"));
	fugue_kit_put(attrs, "name", fugue_kit_aws_str(p, "InstanceProfileName"));
	state = fugue_kit_state(fugue_aws_get_string(p, "InstanceProfileId"), props, attrs);
	if (state)
		fugue_kit_fix_tags(ctx, state, declared);
	return state;
}

/* The tags of profile P (a GetInstanceProfile / ListInstanceProfiles
 * element): its Tags when the answer carries them (GetInstanceProfile does;
 * moto's ListInstanceProfiles too), else ListInstanceProfileTags. *OUT is
 * an IAM tag list, caller's. */
static int profile_tags(struct json_object **out, fugue_ctx *ctx, const struct json_object *p)
{
	return fugue_iam_tags(out, ctx, "InstanceProfile", "InstanceProfileName",
	                      fugue_aws_get_string(p, "InstanceProfileName"), p);
}

/* GetInstanceProfile NAME: 0 and *OUT (caller's), FUGUE_ENOTFOUND (not
 * recorded), or another error (recorded). */
static int get_profile(struct json_object **out, fugue_ctx *ctx, const char *name)
{
	return fugue_iam_get(out, ctx, "GetInstanceProfile", "InstanceProfileName", name, "InstanceProfile");
}

static int read_state(struct json_object **out, fugue_ctx *ctx, const char *name,
                      const struct json_object *props)
{
	struct json_object *p = NULL, *tags = NULL;
	int rc = get_profile(&p, ctx, name);

	*out = NULL;
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "instance profile %s not found", name);
	if (rc == 0)
		rc = profile_tags(&tags, ctx, p);
	if (rc == 0) {
		*out = profile_state(ctx, p, tags, props);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(p);
	json_object_put(tags);
	return rc;
}

struct profile_wait {
	const char *name;
};

static int poll_profile(fugue_ctx *ctx, void *arg, int *done)
{
	struct profile_wait *w = arg;
	struct json_object *p = NULL;
	int rc = get_profile(&p, ctx, w->name);

	json_object_put(p);
	*done = rc == 0;
	return rc;
}

/* AddRoleToInstanceProfile / RemoveRoleFromInstanceProfile. A removal of
 * what is gone is done; an add of a role IAM does not show yet is waited
 * for (a role made a moment ago). */
static int role_op(fugue_ctx *ctx, const char *action, const char *profile, const char *role)
{
	struct json_object *params = json_object_new_object();
	fugue_aws_error err;
	int rc, tries;

	fugue_kit_put_str(params, "InstanceProfileName", profile);
	fugue_kit_put_str(params, "RoleName", role);
	for (tries = 0;; tries++) {
		rc = fugue_iam_try(NULL, ctx, action, params, &err);
		if (rc != FUGUE_ENOTFOUND || action[0] != 'A' || tries >= 10)
			break;
		rc = ctx->host->sleep(ctx, 1000L << (tries < 3 ? tries : 3));
		if (rc != 0)
			break;
	}
	json_object_put(params);
	if (rc == FUGUE_ENOTFOUND && action[0] == 'R')
		rc = 0;
	if (rc == FUGUE_ECANCELED)
		return rc;
	return rc ? fugue_kit_fail_aws(ctx, rc, &err, action) : 0;
}

static int create_call(struct json_object **p, fugue_ctx *ctx, const char *name,
                       const struct json_object *props)
{
	struct json_object *params = json_object_new_object(), *res = NULL, *tags = NULL;
	fugue_aws_error err;
	int rc;

	*p = NULL;
	fugue_kit_put_str(params, "InstanceProfileName", name);
	fugue_kit_put_str(params, "Path", fugue_kit_str(props, "path"));
	fugue_iam_put_tags(params, ctx, fugue_kit_get(props, "tags"));
	rc = fugue_iam_try(&res, ctx, "CreateInstanceProfile", params, &err);
	json_object_put(params);
	if (rc == 0)
		*p = fugue_kit_copy(fugue_aws_get(res, "InstanceProfile"));
	json_object_put(res);
	if (rc == FUGUE_ECONFLICT && get_profile(p, ctx, name) == 0 &&
	    profile_tags(&tags, ctx, *p) == 0 && fugue_iam_tagged(tags, ctx->fid, ctx->resource)) {
		json_object_put(tags);
		return 0; /* made by an earlier attempt whose answer was lost */
	}
	json_object_put(tags);
	if (rc != 0) {
		json_object_put(*p);
		*p = NULL;
		return fugue_kit_fail_aws(ctx, rc, &err, "CreateInstanceProfile");
	}
	return 0;
}

static int profile_create(fugue_ctx *ctx, const struct json_object *props,
                          struct json_object **out)
{
	char name[PROFILE_NAME_MAX + 1];
	const char *role = fugue_kit_str(props, "role");
	struct json_object *p = NULL;
	struct profile_wait w = { name };
	fugue_kit_wait wait = { .what = "the instance profile to be visible",
	                        .deadline_ms = 120000, .notfound_is_wait = 1 };
	int rc;

	*out = NULL;
	fugue_iam_name(name, sizeof(name), ctx->resource, ctx->fid, props, "instanceProfileName", PROFILE_NAME_MAX);
	rc = create_call(&p, ctx, name, props);
	if (rc != 0)
		return rc;
	rc = fugue_kit_wait_for(ctx, &wait, poll_profile, &w);
	if (rc == 0 && role && !fugue_kit_streq(fugue_aws_get_string(p, "Roles.0.RoleName"), role))
		rc = role_op(ctx, "AddRoleToInstanceProfile", name, role);
	if (rc == 0)
		rc = read_state(out, ctx, name, props);
	if (rc != 0 && !*out) {
		struct json_object *attrs = json_object_new_object();

		fugue_kit_put_str(attrs, "name", name);
		fugue_kit_put(attrs, "arn", fugue_kit_aws_str(p, "Arn"));
		*out = fugue_kit_state(fugue_aws_get_string(p, "InstanceProfileId"), NULL, attrs);
	}
	json_object_put(p);
	return rc;
}

static const char *state_name(const struct json_object *state)
{
	const char *name = fugue_kit_str(fugue_kit_state_attrs(state), "name");

	return name ? name : fugue_kit_str(fugue_kit_state_props(state), "instanceProfileName");
}

static int sync_tags(fugue_ctx *ctx, const char *name, const struct json_object *tags)
{
	struct json_object *list = NULL, *p = NULL;
	int rc = get_profile(&p, ctx, name);

	if (rc == 0)
		rc = profile_tags(&list, ctx, p);
	if (rc == 0)
		rc = fugue_iam_sync_tags(ctx, "InstanceProfile", "InstanceProfileName", name, list,
		                         tags);
	json_object_put(p);
	json_object_put(list);
	return rc;
}

static int profile_update(fugue_ctx *ctx, const struct json_object *state,
                          const struct json_object *props, const struct json_object *changed,
                          struct json_object **out)
{
	const char *name = state_name(state);
	const char *role = fugue_kit_str(props, "role");
	struct json_object *p = NULL, *roles;
	size_t i;
	int rc;

	*out = NULL;
	if (!name) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "the recorded state has no profile name");
		return FUGUE_EINVAL;
	}
	rc = get_profile(&p, ctx, name);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "instance profile %s not found", name);
	roles = fugue_aws_list(p, "Roles");
	/* a profile holds one role: the old one goes before the new one comes */
	for (i = 0; rc == 0 && fugue_kit_has_string(changed, "role") && i < fugue_kit_len(roles);
	     i++) {
		const char *old = fugue_aws_get_string(fugue_kit_at(roles, i), "RoleName");

		if (!fugue_kit_streq(old, role))
			rc = role_op(ctx, "RemoveRoleFromInstanceProfile", name, old);
	}
	if (rc == 0 && fugue_kit_has_string(changed, "role") && role) {
		int has = 0;

		for (i = 0; i < fugue_kit_len(roles); i++)
			has |= fugue_kit_streq(fugue_aws_get_string(fugue_kit_at(roles, i),
			                                            "RoleName"), role);
		if (!has)
			rc = role_op(ctx, "AddRoleToInstanceProfile", name, role);
	}
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = sync_tags(ctx, name, fugue_kit_get(props, "tags"));
	json_object_put(p);
	if (rc == 0)
		rc = read_state(out, ctx, name, props);
	return rc;
}

static int profile_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *name = state_name(state);
	struct json_object *p = NULL, *roles;
	size_t i;
	int rc;

	if (!name)
		return 0;
	rc = get_profile(&p, ctx, name);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	roles = fugue_aws_list(p, "Roles");
	for (i = 0; rc == 0 && i < fugue_kit_len(roles); i++)
		rc = role_op(ctx, "RemoveRoleFromInstanceProfile", name,
		             fugue_aws_get_string(fugue_kit_at(roles, i), "RoleName"));
	json_object_put(p);
	if (rc != 0)
		return rc;
	return fugue_iam_delete(ctx, "DeleteInstanceProfile", "InstanceProfileName", name);
}

/* A recorded profile the list did not show: the list lags behind a
 * create, so it is gone only when GetInstanceProfile by its name says so
 * too (or finds another profile of that name). Returns 0 or an error. */
static int confirm_gone(fugue_observation *it, fugue_ctx *ctx, const char *name)
{
	struct json_object *p = NULL, *tags = NULL;
	int rc = get_profile(&p, ctx, name);

	if (rc == 0 && !fugue_kit_streq(fugue_aws_get_string(p, "InstanceProfileId"), it->id))
		rc = FUGUE_ENOTFOUND;
	if (rc == 0)
		rc = profile_tags(&tags, ctx, p);
	if (rc == 0) {
		it->state = profile_state(ctx, p, tags, it->declared);
		rc = it->state ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(p);
	json_object_put(tags);
	it->status = rc;
	return rc == FUGUE_ENOTFOUND ? 0 : rc;
}

static int profile_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	struct json_object *all = NULL;
	size_t i;
	int rc = fugue_iam_list(&all, ctx, "ListInstanceProfiles", NULL, "InstanceProfiles");

	for (i = 0; rc == 0 && i < n; i++) {
		struct json_object *p, *tags = NULL;
		char name[PROFILE_NAME_MAX + 1];

		fugue_iam_name(name, sizeof(name), items[i].resource, ctx->fid, items[i].declared, "instanceProfileName", PROFILE_NAME_MAX);
		p = fugue_iam_find_by(all, "InstanceProfileId", items[i].id);
		if (!items[i].id)
			p = fugue_iam_find_by(all, "InstanceProfileName", name);
		if (!p && items[i].id) {
			rc = confirm_gone(&items[i], ctx, name);
			continue;
		}
		if (!p) {
			items[i].status = FUGUE_ENOTFOUND;
			continue;
		}
		rc = profile_tags(&tags, ctx, p);
		if (rc == FUGUE_ENOTFOUND) { /* deleted between the two calls */
			items[i].status = rc;
			rc = 0;
		} else if (rc == 0 && !items[i].id &&
		           !fugue_iam_tagged(tags, ctx->fid, items[i].resource)) {
			items[i].status = FUGUE_ENOTFOUND;
		} else if (rc == 0) {
			items[i].state = profile_state(ctx, p, tags, items[i].declared);
			items[i].status = items[i].state ? 0 : FUGUE_ENOMEM;
		}
		json_object_put(tags);
	}
	json_object_put(all);
	return rc;
}

const fugue_type_ops fugue_iam_instance_profile = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.IAM.InstanceProfile",
	.doc = "an instance profile: hands a role to EC2 instances",
	.props = profile_props,
	.attrs = profile_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = profile_validate,
	.create = profile_create,
	.update = profile_update,
	.remove = profile_remove,
	.observe = profile_observe,
};
