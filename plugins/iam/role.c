/* role.c - AWS.IAM.Role: a role with its trust policy, inline policies,
 * attached managed policies and tags.
 *
 * The state's id is the RoleId (AROA...); every call takes the name, kept
 * in the attributes (and in the properties when declared). roleName
 * defaults to "RESOURCE-" plus 8 characters of the process id. Observation
 * is two paged calls per cycle, whatever the number of roles:
 * GetAccountAuthorizationDetails(Filter=Role) for documents, policies and
 * tags, and ListRoles for description and maxSessionDuration. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define ROLE_NAME_MAX 64

static const fugue_prop doc_item[] = {
	{ .name = "document", .kind = FUGUE_KIND_DOCUMENT },
	{ .name = NULL },
};

static const fugue_prop role_props[] = {
	{ .name = "roleName", .kind = FUGUE_KIND_STRING,
	  .doc = "the role's name (default: the resource's name and 8 characters of the "
	         "process id); replaces" },
	{ .name = "assumeRolePolicy", .kind = FUGUE_KIND_DOCUMENT,
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE,
	  .doc = "the trust policy: who may assume the role" },
	{ .name = "path", .kind = FUGUE_KIND_STRING, .default_json = "\"/\"",
	  .doc = "the role's path; replaces" },
	{ .name = "description", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE,
	  .doc = "a description" },
	{ .name = "maxSessionDuration", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "3600", .doc = "seconds a session lasts at most (3600 to 43200)" },
	{ .name = "inlinePolicies", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = doc_item, .doc = "inline policies: name -> policy document" },
	{ .name = "managedPolicyArns", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "ARNs of the managed policies attached" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr role_attrs[] = {
	{ "arn", "the role's ARN (a Lambda function's role, a policy's principal)" },
	{ "name", "the role's name (what an instance profile takes)" },
	{ NULL, NULL },
};

static int role_validate(fugue_ctx *ctx, const struct json_object *props)
{
	int64_t msd = fugue_kit_int(props, "maxSessionDuration", 3600);
	int bad;

	bad = fugue_iam_check_name_path(ctx, props, "roleName", "role", ROLE_NAME_MAX);
	if (msd < 3600 || msd > 43200) {
		ctx->host->report(ctx, "maxSessionDuration", "expected 3600 to 43200 seconds");
		bad = 1;
	}
	if (!json_object_is_type(fugue_kit_get(props, "assumeRolePolicy"), json_type_object)) {
		ctx->host->report(ctx, "assumeRolePolicy",
		                  "expected a policy document (a mapping)");
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

static int role_compare(const char *name, const struct json_object *a, const struct json_object *b)
{
	size_t i;

	if (strcmp(name, "managedPolicyArns") == 0) {
		/* a set: AWS lists attachments in its own order */
		if (fugue_kit_len(a) != fugue_kit_len(b))
			return 0;
		for (i = 0; i < fugue_kit_len(a); i++)
			if (!fugue_kit_has_string(b, fugue_kit_as_str(fugue_kit_at(a, i))))
				return 0;
		return 1;
	}
	return fugue_iam_doc_equal(a, b);
}

/* The state of a role DETAIL (GetAccountAuthorizationDetails' RoleDetail
 * shape: a Role plus RolePolicyList, AttachedManagedPolicies, Tags).
 * DECLARED (may be NULL) decides whether roleName is shown. */
static struct json_object *role_state(fugue_ctx *ctx, const struct json_object *d,
                                      const struct json_object *declared)
{
	struct json_object *props = json_object_new_object(), *attrs = json_object_new_object();
	struct json_object *inl = json_object_new_object(), *arns = json_object_new_array();
	struct json_object *list, *state;
	size_t i;

	if (fugue_kit_get(declared, "roleName"))
		fugue_kit_put(props, "roleName", fugue_kit_aws_str(d, "RoleName"));
	fugue_kit_put(props, "assumeRolePolicy",
	              fugue_iam_doc_parse(fugue_aws_get_string(d, "AssumeRolePolicyDocument")));
	fugue_kit_put(props, "path", fugue_kit_aws_str(d, "Path"));
	fugue_kit_put(props, "description", fugue_kit_aws_str(d, "Description"));
	fugue_kit_put(props, "maxSessionDuration", fugue_kit_aws_int(d, "MaxSessionDuration"));
	list = fugue_aws_list(d, "RolePolicyList");
	for (i = 0; i < fugue_kit_len(list); i++) {
		const char *pn = fugue_aws_get_string(fugue_kit_at(list, i), "PolicyName");
		struct json_object *doc = fugue_iam_doc_parse(
			fugue_aws_get_string(fugue_kit_at(list, i), "PolicyDocument"));

		if (pn && doc)
			json_object_object_add(inl, pn, doc);
		else
			json_object_put(doc);
	}
	json_object_object_add(props, "inlinePolicies", inl);
	list = fugue_aws_list(d, "AttachedManagedPolicies");
	for (i = 0; i < fugue_kit_len(list); i++) {
		struct json_object *arn = fugue_kit_aws_str(fugue_kit_at(list, i), "PolicyArn");

		if (arn)
			json_object_array_add(arns, arn);
	}
	json_object_object_add(props, "managedPolicyArns", arns);
	fugue_kit_put(props, "tags", fugue_kit_tags_map(fugue_aws_list(d, "Tags"), 1));
	fugue_kit_put(attrs, "arn", fugue_kit_aws_str(d, "Arn"));
	fugue_kit_put(attrs, "name", fugue_kit_aws_str(d, "RoleName"));
	state = fugue_kit_state(fugue_aws_get_string(d, "RoleId"), props, attrs);
	if (state)
		fugue_kit_fix_tags(ctx, state, declared);
	return state;
}

/* GetRole NAME: 0 and *OUT (the Role, caller's), FUGUE_ENOTFOUND (not
 * recorded), or another error (recorded). */
static int get_role(struct json_object **out, fugue_ctx *ctx, const char *name)
{
	return fugue_iam_get(out, ctx, "GetRole", "RoleName", name, "Role");
}

/* Every page of a per-role list call (ListRolePolicies, ...). */
static int role_list(struct json_object **out, fugue_ctx *ctx, const char *action,
                     const char *name, const char *key)
{
	struct json_object *params = json_object_new_object();
	int rc;

	fugue_kit_put_str(params, "RoleName", name);
	rc = fugue_iam_list(out, ctx, action, params, key);
	json_object_put(params);
	return rc;
}

/* The role NAME now, in the RoleDetail shape (GetRole + its inline
 * policies + its attached policies): *OUT caller's. FUGUE_ENOTFOUND from
 * GetRole is not recorded. */
static int read_detail(struct json_object **out, fugue_ctx *ctx, const char *name)
{
	struct json_object *d = NULL, *names = NULL, *inl = NULL, *att = NULL;
	size_t i;
	int rc;

	*out = NULL;
	rc = get_role(&d, ctx, name);
	if (rc == 0)
		rc = role_list(&names, ctx, "ListRolePolicies", name, "PolicyNames");
	inl = json_object_new_array();
	for (i = 0; rc == 0 && i < fugue_kit_len(names); i++) {
		struct json_object *params = json_object_new_object(), *res = NULL;

		fugue_kit_put_str(params, "RoleName", name);
		fugue_kit_put_str(params, "PolicyName", fugue_kit_as_str(fugue_kit_at(names, i)));
		rc = fugue_iam_call(&res, ctx, "GetRolePolicy", params);
		json_object_put(params);
		if (rc == 0)
			json_object_array_add(inl, fugue_kit_copy(res));
		json_object_put(res);
	}
	if (rc == 0)
		rc = role_list(&att, ctx, "ListAttachedRolePolicies", name, "AttachedPolicies");
	if (rc == 0) {
		json_object_object_add(d, "RolePolicyList", inl);
		json_object_object_add(d, "AttachedManagedPolicies", att);
		*out = d;
		inl = att = d = NULL;
	}
	json_object_put(d);
	json_object_put(names);
	json_object_put(inl);
	json_object_put(att);
	return rc;
}

static int read_state(struct json_object **out, fugue_ctx *ctx, const char *name,
                      const struct json_object *props)
{
	struct json_object *d = NULL;
	int rc = read_detail(&d, ctx, name);

	*out = NULL;
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "role %s not found", name);
	if (rc == 0) {
		*out = role_state(ctx, d, props);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(d);
	return rc;
}

struct role_wait {
	const char *name;
};

static int poll_role(fugue_ctx *ctx, void *arg, int *done)
{
	struct role_wait *w = arg;
	struct json_object *r = NULL;
	int rc = get_role(&r, ctx, w->name);

	json_object_put(r);
	*done = rc == 0;
	return rc;
}

static int put_policy(fugue_ctx *ctx, const char *role, const char *name,
                      const struct json_object *doc)
{
	struct json_object *params = json_object_new_object();

	fugue_kit_put_str(params, "RoleName", role);
	fugue_kit_put_str(params, "PolicyName", name);
	fugue_kit_put_str(params, "PolicyDocument", fugue_iam_doc_text(doc));
	return fugue_iam_do(ctx, "PutRolePolicy", params);
}

static int role_policy_op(fugue_ctx *ctx, const char *action, const char *role,
                          const char *key, const char *value)
{
	struct json_object *params = json_object_new_object();
	fugue_aws_error err;
	int rc;

	fugue_kit_put_str(params, "RoleName", role);
	fugue_kit_put_str(params, key, value);
	rc = fugue_iam_try(NULL, ctx, action, params, &err);
	json_object_put(params);
	/* removing what is already gone is done */
	if (rc == FUGUE_ENOTFOUND && strncmp(action, "Attach", 6) != 0)
		rc = 0;
	return rc ? fugue_kit_fail_aws(ctx, rc, &err, action) : 0;
}

/* Inline policies: put what is new or different, delete what is gone. */
static int sync_inline(fugue_ctx *ctx, const char *role, const struct json_object *cur,
                       const struct json_object *want)
{
	int rc = 0;

	if (json_object_is_type(fugue_kit_unconst(want), json_type_object)) {
		json_object_object_foreach(fugue_kit_unconst(want), key, doc) {
			struct json_object *have = fugue_kit_get(cur, key);

			if (rc == 0 && (!have || !fugue_iam_doc_equal(have, doc)))
				rc = put_policy(ctx, role, key, doc);
		}
	}
	if (json_object_is_type(fugue_kit_unconst(cur), json_type_object)) {
		json_object_object_foreach(fugue_kit_unconst(cur), key, doc) {
			(void)doc;
			if (rc == 0 && !fugue_kit_get(want, key))
				rc = role_policy_op(ctx, "DeleteRolePolicy", role, "PolicyName",
				                    key);
		}
	}
	return rc;
}

/* Managed policies: attach what is new, detach what is gone. */
static int sync_managed(fugue_ctx *ctx, const char *role, const struct json_object *cur,
                        const struct json_object *want)
{
	size_t i;
	int rc = 0;

	for (i = 0; rc == 0 && i < fugue_kit_len(want); i++) {
		const char *arn = fugue_kit_as_str(fugue_kit_at(want, i));

		if (arn && !fugue_kit_has_string(cur, arn))
			rc = role_policy_op(ctx, "AttachRolePolicy", role, "PolicyArn", arn);
	}
	for (i = 0; rc == 0 && i < fugue_kit_len(cur); i++) {
		const char *arn = fugue_kit_as_str(fugue_kit_at(cur, i));

		if (arn && !fugue_kit_has_string(want, arn))
			rc = role_policy_op(ctx, "DetachRolePolicy", role, "PolicyArn", arn);
	}
	return rc;
}

/* Tags: TagRole what is missing or different, UntagRole what is no longer
 * wanted (fugue:* and aws:* are never removed). */
static int sync_tags(fugue_ctx *ctx, const char *role, const struct json_object *tags)
{
	struct json_object *list = NULL;
	int rc = fugue_iam_tags(&list, ctx, "Role", "RoleName", role, NULL);

	if (rc == 0)
		rc = fugue_iam_sync_tags(ctx, "Role", "RoleName", role, list, tags);
	json_object_put(list);
	return rc;
}

static int create_role_call(struct json_object **role, fugue_ctx *ctx, const char *name,
                            const struct json_object *props)
{
	struct json_object *params = json_object_new_object(), *res = NULL;
	fugue_aws_error err;
	int rc;

	*role = NULL;
	fugue_kit_put_str(params, "RoleName", name);
	fugue_kit_put_str(params, "Path", fugue_kit_str(props, "path"));
	fugue_kit_put_str(params, "AssumeRolePolicyDocument",
	                  fugue_iam_doc_text(fugue_kit_get(props, "assumeRolePolicy")));
	fugue_kit_put_str(params, "Description", fugue_kit_str(props, "description"));
	if (fugue_kit_get(props, "maxSessionDuration"))
		json_object_object_add(params, "MaxSessionDuration", json_object_new_int64(
			fugue_kit_int(props, "maxSessionDuration", 3600)));
	fugue_iam_put_tags(params, ctx, fugue_kit_get(props, "tags"));
	rc = fugue_iam_try(&res, ctx, "CreateRole", params, &err);
	json_object_put(params);
	if (rc == 0)
		*role = fugue_kit_copy(fugue_aws_get(res, "Role"));
	json_object_put(res);
	if (rc == FUGUE_ECONFLICT && get_role(role, ctx, name) == 0 &&
	    fugue_iam_tagged(fugue_aws_list(*role, "Tags"), ctx->fid, ctx->resource))
		return 0; /* made by an earlier attempt whose answer was lost */
	if (rc != 0) {
		json_object_put(*role);
		*role = NULL;
		return fugue_kit_fail_aws(ctx, rc, &err, "CreateRole");
	}
	return 0;
}

static int role_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	char name[ROLE_NAME_MAX + 1];
	struct json_object *role = NULL;
	struct role_wait w = { name };
	fugue_kit_wait wait = { .what = "the role to be visible", .deadline_ms = 120000,
	                        .notfound_is_wait = 1 };
	int rc;

	*out = NULL;
	fugue_iam_name(name, sizeof(name), ctx->resource, ctx->fid, props, "roleName", ROLE_NAME_MAX);
	rc = create_role_call(&role, ctx, name, props);
	if (rc != 0)
		return rc;
	/* IAM is eventually consistent: GetRole may not know it yet */
	rc = fugue_kit_wait_for(ctx, &wait, poll_role, &w);
	if (rc == 0)
		rc = sync_inline(ctx, name, NULL, fugue_kit_get(props, "inlinePolicies"));
	if (rc == 0)
		rc = sync_managed(ctx, name, NULL, fugue_kit_get(props, "managedPolicyArns"));
	if (rc == 0)
		rc = read_state(out, ctx, name, props);
	if (rc != 0 && !*out) {
		struct json_object *attrs = json_object_new_object();

		fugue_kit_put_str(attrs, "name", name);
		fugue_kit_put(attrs, "arn", fugue_kit_aws_str(role, "Arn"));
		*out = fugue_kit_state(fugue_aws_get_string(role, "RoleId"), NULL, attrs);
	}
	json_object_put(role);
	return rc;
}

static const char *state_name(const struct json_object *state)
{
	const char *name = fugue_kit_str(fugue_kit_state_attrs(state), "name");

	return name ? name : fugue_kit_str(fugue_kit_state_props(state), "roleName");
}

static int role_update(fugue_ctx *ctx, const struct json_object *state,
                       const struct json_object *props, const struct json_object *changed,
                       struct json_object **out)
{
	const char *name = state_name(state);
	const char *desc = fugue_kit_str(props, "description");
	struct json_object *cur = NULL, *params, *cur_props;
	int rc;

	*out = NULL;
	if (!name) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "the recorded state has no role name");
		return FUGUE_EINVAL;
	}
	rc = read_state(&cur, ctx, name, props);
	if (rc == 0 && (fugue_kit_has_string(changed, "description") ||
	                fugue_kit_has_string(changed, "maxSessionDuration"))) {
		params = json_object_new_object();
		fugue_kit_put_str(params, "RoleName", name);
		json_object_object_add(params, "Description",
		                       json_object_new_string(desc ? desc : ""));
		json_object_object_add(params, "MaxSessionDuration", json_object_new_int64(
			fugue_kit_int(props, "maxSessionDuration", 3600)));
		rc = fugue_iam_do(ctx, "UpdateRole", params);
	}
	if (rc == 0 && fugue_kit_has_string(changed, "assumeRolePolicy")) {
		params = json_object_new_object();
		fugue_kit_put_str(params, "RoleName", name);
		fugue_kit_put_str(params, "PolicyDocument",
		                  fugue_iam_doc_text(fugue_kit_get(props, "assumeRolePolicy")));
		rc = fugue_iam_do(ctx, "UpdateAssumeRolePolicy", params);
	}
	cur_props = fugue_kit_state_props(cur);
	if (rc == 0 && fugue_kit_has_string(changed, "inlinePolicies"))
		rc = sync_inline(ctx, name, fugue_kit_get(cur_props, "inlinePolicies"),
		                 fugue_kit_get(props, "inlinePolicies"));
	if (rc == 0 && fugue_kit_has_string(changed, "managedPolicyArns"))
		rc = sync_managed(ctx, name, fugue_kit_get(cur_props, "managedPolicyArns"),
		                  fugue_kit_get(props, "managedPolicyArns"));
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = sync_tags(ctx, name, fugue_kit_get(props, "tags"));
	json_object_put(cur);
	if (rc == 0)
		rc = read_state(out, ctx, name, props);
	return rc;
}

/* Empties the role NAME: detaches managed policies, deletes inline ones,
 * takes it out of instance profiles (DeleteRole refuses otherwise). */
static int empty_role(fugue_ctx *ctx, const char *name)
{
	struct json_object *list = NULL;
	size_t i;
	int rc = role_list(&list, ctx, "ListAttachedRolePolicies", name, "AttachedPolicies");

	for (i = 0; rc == 0 && i < fugue_kit_len(list); i++)
		rc = role_policy_op(ctx, "DetachRolePolicy", name, "PolicyArn",
		                    fugue_aws_get_string(fugue_kit_at(list, i), "PolicyArn"));
	json_object_put(list);
	list = NULL;
	if (rc == 0)
		rc = role_list(&list, ctx, "ListRolePolicies", name, "PolicyNames");
	for (i = 0; rc == 0 && i < fugue_kit_len(list); i++)
		rc = role_policy_op(ctx, "DeleteRolePolicy", name, "PolicyName",
		                    fugue_kit_as_str(fugue_kit_at(list, i)));
	json_object_put(list);
	list = NULL;
	if (rc == 0)
		rc = role_list(&list, ctx, "ListInstanceProfilesForRole", name, "InstanceProfiles");
	for (i = 0; rc == 0 && i < fugue_kit_len(list); i++) {
		struct json_object *params = json_object_new_object();
		struct json_object *p = fugue_kit_at(list, i);
		fugue_aws_error err;

		fugue_kit_put_str(params, "RoleName", name);
		fugue_kit_put_str(params, "InstanceProfileName",
		                  fugue_aws_get_string(p, "InstanceProfileName"));
		rc = fugue_iam_try(NULL, ctx, "RemoveRoleFromInstanceProfile", params, &err);
		json_object_put(params);
		if (rc == FUGUE_ENOTFOUND)
			rc = 0;
		else if (rc != 0)
			fugue_kit_fail_aws(ctx, rc, &err, "RemoveRoleFromInstanceProfile");
	}
	json_object_put(list);
	return rc;
}

static int role_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *name = state_name(state);
	int rc;

	if (!name)
		return 0; /* nothing was made that we could name */
	rc = empty_role(ctx, name);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	return fugue_iam_delete(ctx, "DeleteRole", "RoleName", name);
}

/* A recorded role the lists did not show: IAM's lists lag behind a
 * create, so it is gone only when GetRole by its name says so too (or
 * finds another role of that name). Returns 0 (IT answered) or an error. */
static int confirm_gone(fugue_observation *it, fugue_ctx *ctx, const char *name)
{
	struct json_object *d = NULL;
	int rc = read_detail(&d, ctx, name);

	if (rc == 0 && !fugue_kit_streq(fugue_aws_get_string(d, "RoleId"), it->id))
		rc = FUGUE_ENOTFOUND;
	if (rc == 0) {
		it->state = role_state(ctx, d, it->declared);
		rc = it->state ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(d);
	it->status = rc;
	return rc == FUGUE_ENOTFOUND ? 0 : rc;
}

static int role_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	struct json_object *details = NULL, *roles = NULL;
	struct json_object *params = json_object_new_object(), *filter = json_object_new_array();
	size_t i;
	int rc;

	json_object_array_add(filter, json_object_new_string("Role"));
	json_object_object_add(params, "Filter", filter);
	rc = fugue_iam_list(&details, ctx, "GetAccountAuthorizationDetails", params,
	                    "RoleDetailList");
	json_object_put(params);
	if (rc == 0)
		rc = fugue_iam_list(&roles, ctx, "ListRoles", NULL, "Roles");
	for (i = 0; rc == 0 && i < n; i++) {
		fugue_observation *it = &items[i];
		struct json_object *d, *r, *merged;
		char name[ROLE_NAME_MAX + 1];

		fugue_iam_name(name, sizeof(name), it->resource, ctx->fid, it->declared, "roleName", ROLE_NAME_MAX);
		d = fugue_iam_find_by(details, "RoleId", it->id);
		if (!it->id) { /* a create whose answer was lost: by name and tags */
			d = fugue_iam_find_by(details, "RoleName", name);
			if (d && !fugue_iam_tagged(fugue_aws_list(d, "Tags"), ctx->fid,
			                           it->resource))
				d = NULL;
		}
		if (!d && it->id) {
			rc = confirm_gone(it, ctx, name);
			continue;
		}
		if (!d) {
			items[i].status = FUGUE_ENOTFOUND;
			continue;
		}
		/* RoleDetail lacks Description and MaxSessionDuration: ListRoles has them */
		merged = fugue_kit_copy(d);
		r = fugue_iam_find_by(roles, "RoleId", fugue_aws_get_string(d, "RoleId"));
		fugue_kit_put(merged, "Description", fugue_kit_aws_str(r, "Description"));
		fugue_kit_put(merged, "MaxSessionDuration",
		              fugue_kit_aws_str(r, "MaxSessionDuration"));
		items[i].state = role_state(ctx, merged, items[i].declared);
		items[i].status = items[i].state ? 0 : FUGUE_ENOMEM;
		json_object_put(merged);
	}
	json_object_put(details);
	json_object_put(roles);
	return rc;
}

const fugue_type_ops fugue_iam_role = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.IAM.Role",
	.doc = "an IAM role: a trust policy, permissions and tags",
	.props = role_props,
	.attrs = role_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = role_validate,
	.create = role_create,
	.update = role_update,
	.remove = role_remove,
	.observe = role_observe,
	.compare = role_compare,
};
