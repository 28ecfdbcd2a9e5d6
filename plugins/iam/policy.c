/* policy.c - AWS.IAM.Policy: a customer managed policy.
 *
 * The state's id is the PolicyId (ANPA...); every call takes the ARN, kept
 * in the attributes. A new document becomes a new default version
 * (CreatePolicyVersion); at AWS's limit of five versions the oldest
 * non-default one is deleted first. Observation per cycle: ListPolicies
 * (Scope=Local) and GetAccountAuthorizationDetails(Filter=LocalManagedPolicy),
 * both paged (ids, names, descriptions, documents), plus ListPolicyTags
 * per policy whose details are due (neither list carries tags; the
 * Conductor spreads these over its enforcement passes). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define POLICY_NAME_MAX 128
#define POLICY_VERSIONS_MAX 5

static const fugue_prop policy_props[] = {
	{ .name = "policyName", .kind = FUGUE_KIND_STRING,
	  .doc = "the policy's name (default: the resource's name and 8 characters of the "
	         "process id); replaces" },
	{ .name = "path", .kind = FUGUE_KIND_STRING, .default_json = "\"/\"",
	  .doc = "the policy's path; replaces" },
	{ .name = "description", .kind = FUGUE_KIND_STRING,
	  .doc = "a description (IAM cannot change it); replaces" },
	{ .name = "document", .kind = FUGUE_KIND_DOCUMENT,
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE,
	  .doc = "the policy document; a change makes a new default version" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr policy_attrs[] = {
	{ "arn", "the policy's ARN (what a role's managedPolicyArns takes)" },
	{ "name", "the policy's name" },
	{ NULL, NULL },
};

static int policy_validate(fugue_ctx *ctx, const struct json_object *props)
{
	int bad;

	bad = fugue_iam_check_name_path(ctx, props, "policyName", "policy", POLICY_NAME_MAX);
	if (!json_object_is_type(fugue_kit_get(props, "document"), json_type_object)) {
		ctx->host->report(ctx, "document", "expected a policy document (a mapping)");
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

static int policy_compare(const char *name, const struct json_object *a,
                          const struct json_object *b)
{
	(void)name;
	return fugue_iam_doc_equal(a, b);
}

/* The state of policy P (GetPolicy's Policy or a ListPolicies element)
 * with its default version's DOCUMENT text and TAGS (an IAM tag list;
 * NULL: not read, the tags are left out). */
static struct json_object *policy_state(fugue_ctx *ctx, const struct json_object *p,
                                        const char *document, const char *description,
                                        const struct json_object *tags,
                                        const struct json_object *declared)
{
	struct json_object *props = json_object_new_object(), *attrs = json_object_new_object();
	struct json_object *state;

	if (fugue_kit_get(declared, "policyName"))
		fugue_kit_put(props, "policyName", fugue_kit_aws_str(p, "PolicyName"));
	fugue_kit_put(props, "path", fugue_kit_aws_str(p, "Path"));
	if (description && description[0])
		fugue_kit_put_str(props, "description", description);
	fugue_kit_put(props, "document", fugue_iam_doc_parse(document));
	if (tags)
		fugue_kit_put(props, "tags", fugue_kit_tags_map(tags, 1));
	fugue_kit_put(attrs, "arn", fugue_kit_aws_str(p, "Arn"));
	fugue_kit_put(attrs, "name", fugue_kit_aws_str(p, "PolicyName"));
	state = fugue_kit_state(fugue_aws_get_string(p, "PolicyId"), props, attrs);
	if (state)
		fugue_kit_fix_tags(ctx, state, declared);
	return state;
}

/* One call with PolicyArn = ARN (and KEY = VALUE when KEY is set). */
static int arn_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                    const char *arn, const char *key, const char *value, fugue_aws_error *err)
{
	struct json_object *params = json_object_new_object();
	int rc;

	fugue_kit_put_str(params, "PolicyArn", arn);
	if (key)
		fugue_kit_put_str(params, key, value);
	rc = fugue_iam_try(out, ctx, action, params, err);
	json_object_put(params);
	return rc;
}

/* GetPolicy ARN: 0 and *OUT (the Policy, caller's), FUGUE_ENOTFOUND (not
 * recorded), or another error (recorded). */
static int get_policy(struct json_object **out, fugue_ctx *ctx, const char *arn)
{
	return fugue_iam_get(out, ctx, "GetPolicy", "PolicyArn", arn, "Policy");
}

/* The tags of P: its Tags when the answer has them (GetPolicy does), else
 * ListPolicyTags. *OUT an IAM tag list, caller's. */
static int policy_tags(struct json_object **out, fugue_ctx *ctx, const struct json_object *p)
{
	return fugue_iam_tags(out, ctx, "Policy", "PolicyArn", fugue_aws_get_string(p, "Arn"), p);
}

static int read_state(struct json_object **out, fugue_ctx *ctx, const char *arn,
                      const struct json_object *props)
{
	struct json_object *p = NULL, *v = NULL, *tags = NULL;
	fugue_aws_error err;
	int rc = get_policy(&p, ctx, arn);

	*out = NULL;
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "policy %s not found", arn);
	if (rc == 0) {
		rc = arn_call(&v, ctx, "GetPolicyVersion", arn, "VersionId",
		              fugue_aws_get_string(p, "DefaultVersionId"), &err);
		if (rc != 0)
			fugue_kit_fail_aws(ctx, rc, &err, "GetPolicyVersion");
	}
	if (rc == 0)
		rc = policy_tags(&tags, ctx, p);
	if (rc == 0) {
		*out = policy_state(ctx, p, fugue_aws_get_string(v, "PolicyVersion.Document"),
		                    fugue_aws_get_string(p, "Description"), tags, props);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(p);
	json_object_put(v);
	json_object_put(tags);
	return rc;
}

struct policy_wait {
	const char *arn;
};

static int poll_policy(fugue_ctx *ctx, void *arg, int *done)
{
	struct policy_wait *w = arg;
	struct json_object *p = NULL;
	int rc = get_policy(&p, ctx, w->arn);

	json_object_put(p);
	*done = rc == 0;
	return rc;
}

/* After a CreatePolicy answered EntityAlreadyExists: the ARN of the local
 * policy NAME when an earlier attempt of this resource made it. */
static int find_own(char *arn, size_t size, fugue_ctx *ctx, const char *name)
{
	struct json_object *all = NULL, *params = json_object_new_object(), *p = NULL;
	struct json_object *tags = NULL;
	size_t i;
	int rc, found = 0;

	fugue_kit_put_str(params, "Scope", "Local");
	rc = fugue_iam_list(&all, ctx, "ListPolicies", params, "Policies");
	json_object_put(params);
	for (i = 0; rc == 0 && i < fugue_kit_len(all); i++) {
		struct json_object *e = fugue_kit_at(all, i);

		if (!fugue_kit_streq(fugue_aws_get_string(e, "PolicyName"), name))
			continue;
		if (get_policy(&p, ctx, fugue_aws_get_string(e, "Arn")) == 0 &&
		    policy_tags(&tags, ctx, p) == 0 &&
		    fugue_iam_tagged(tags, ctx->fid, ctx->resource)) {
			snprintf(arn, size, "%s", fugue_aws_get_string(e, "Arn"));
			found = 1;
		}
		break;
	}
	json_object_put(p);
	json_object_put(tags);
	json_object_put(all);
	return found ? 0 : FUGUE_ENOTFOUND;
}

static int policy_create(fugue_ctx *ctx, const struct json_object *props,
                         struct json_object **out)
{
	char name[POLICY_NAME_MAX + 1], arn[512] = "", id[128] = "";
	struct json_object *params = json_object_new_object(), *res = NULL;
	struct policy_wait w = { arn };
	fugue_kit_wait wait = { .what = "the policy to be visible", .deadline_ms = 120000,
	                        .notfound_is_wait = 1 };
	fugue_aws_error err;
	int rc;

	*out = NULL;
	fugue_iam_name(name, sizeof(name), ctx->resource, ctx->fid, props, "policyName", POLICY_NAME_MAX);
	fugue_kit_put_str(params, "PolicyName", name);
	fugue_kit_put_str(params, "Path", fugue_kit_str(props, "path"));
	fugue_kit_put_str(params, "Description", fugue_kit_str(props, "description"));
	fugue_kit_put_str(params, "PolicyDocument",
	                  fugue_iam_doc_text(fugue_kit_get(props, "document")));
	fugue_iam_put_tags(params, ctx, fugue_kit_get(props, "tags"));
	rc = fugue_iam_try(&res, ctx, "CreatePolicy", params, &err);
	json_object_put(params);
	if (rc == 0 && fugue_aws_get_string(res, "Policy.Arn")) {
		snprintf(arn, sizeof(arn), "%s", fugue_aws_get_string(res, "Policy.Arn"));
		snprintf(id, sizeof(id), "%s", fugue_aws_get_string(res, "Policy.PolicyId"));
	} else if (rc == 0)
		rc = FUGUE_EPROTO;
	json_object_put(res);
	if (rc == FUGUE_ECONFLICT && find_own(arn, sizeof(arn), ctx, name) == 0)
		rc = 0; /* made by an earlier attempt whose answer was lost */
	if (rc != 0)
		return fugue_kit_fail_aws(ctx, rc, &err, "CreatePolicy");
	rc = fugue_kit_wait_for(ctx, &wait, poll_policy, &w);
	if (rc == 0)
		rc = read_state(out, ctx, arn, props);
	if (rc != 0 && !*out) {
		struct json_object *attrs = json_object_new_object();

		fugue_kit_put_str(attrs, "arn", arn);
		fugue_kit_put_str(attrs, "name", name);
		*out = fugue_kit_state(id[0] ? id : arn, NULL, attrs);
	}
	return rc;
}

/* The version number of VersionId "v12": 12. */
static long version_number(const char *id)
{
	return id && id[0] == 'v' ? strtol(id + 1, NULL, 10) : 0;
}

/* Makes DOC the default version, deleting the oldest non-default version
 * first when the policy already has five. */
static int new_version(fugue_ctx *ctx, const char *arn, const struct json_object *doc)
{
	struct json_object *list = NULL, *params;
	const char *oldest = NULL;
	fugue_aws_error err;
	size_t i;
	int rc;

	params = json_object_new_object();
	fugue_kit_put_str(params, "PolicyArn", arn);
	rc = fugue_iam_list(&list, ctx, "ListPolicyVersions", params, "Versions");
	json_object_put(params);
	for (i = 0; rc == 0 && i < fugue_kit_len(list); i++) {
		struct json_object *v = fugue_kit_at(list, i);
		const char *id = fugue_aws_get_string(v, "VersionId");

		if (fugue_kit_streq(fugue_aws_get_string(v, "IsDefaultVersion"), "true"))
			continue;
		if (!oldest || version_number(id) < version_number(oldest))
			oldest = id;
	}
	if (rc == 0 && fugue_kit_len(list) >= POLICY_VERSIONS_MAX && oldest) {
		rc = arn_call(NULL, ctx, "DeletePolicyVersion", arn, "VersionId", oldest, &err);
		if (rc == FUGUE_ENOTFOUND)
			rc = 0;
		else if (rc != 0)
			fugue_kit_fail_aws(ctx, rc, &err, "DeletePolicyVersion");
	}
	json_object_put(list);
	if (rc != 0)
		return rc;
	params = json_object_new_object();
	fugue_kit_put_str(params, "PolicyArn", arn);
	fugue_kit_put_str(params, "PolicyDocument", fugue_iam_doc_text(doc));
	json_object_object_add(params, "SetAsDefault", json_object_new_boolean(1));
	return fugue_iam_do(ctx, "CreatePolicyVersion", params);
}

static int sync_tags(fugue_ctx *ctx, const char *arn, const struct json_object *tags)
{
	struct json_object *list = NULL, *p = NULL;
	int rc = get_policy(&p, ctx, arn);

	if (rc == 0)
		rc = policy_tags(&list, ctx, p);
	if (rc == 0)
		rc = fugue_iam_sync_tags(ctx, "Policy", "PolicyArn", arn, list, tags);
	json_object_put(p);
	json_object_put(list);
	return rc;
}

static int policy_update(fugue_ctx *ctx, const struct json_object *state,
                         const struct json_object *props, const struct json_object *changed,
                         struct json_object **out)
{
	const char *arn = fugue_kit_str(fugue_kit_state_attrs(state), "arn");
	int rc = 0;

	*out = NULL;
	if (!arn) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "the recorded state has no policy arn");
		return FUGUE_EINVAL;
	}
	if (fugue_kit_has_string(changed, "document"))
		rc = new_version(ctx, arn, fugue_kit_get(props, "document"));
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = sync_tags(ctx, arn, fugue_kit_get(props, "tags"));
	if (rc == 0)
		rc = read_state(out, ctx, arn, props);
	return rc;
}

/* Detaches the policy from every group, user and role that has it. */
static int detach_all(fugue_ctx *ctx, const char *arn)
{
	static const char *const kinds[][4] = {
		{ "PolicyGroups", "GroupName", "DetachGroupPolicy", "GroupName" },
		{ "PolicyUsers", "UserName", "DetachUserPolicy", "UserName" },
		{ "PolicyRoles", "RoleName", "DetachRolePolicy", "RoleName" },
	};
	struct json_object *res = NULL, *params = json_object_new_object();
	fugue_aws_error err;
	size_t k, i;
	int rc;

	fugue_kit_put_str(params, "PolicyArn", arn);
	json_object_object_add(params, "MaxItems", json_object_new_int(1000));
	rc = fugue_iam_try(&res, ctx, "ListEntitiesForPolicy", params, &err);
	json_object_put(params);
	if (rc != 0 && rc != FUGUE_ENOTFOUND)
		fugue_kit_fail_aws(ctx, rc, &err, "ListEntitiesForPolicy");
	for (k = 0; rc == 0 && k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct json_object *list = fugue_aws_list(res, kinds[k][0]);

		for (i = 0; rc == 0 && i < fugue_kit_len(list); i++) {
			const char *who = fugue_aws_get_string(fugue_kit_at(list, i), kinds[k][1]);

			rc = arn_call(NULL, ctx, kinds[k][2], arn, kinds[k][3], who, &err);
			if (rc == FUGUE_ENOTFOUND)
				rc = 0;
			else if (rc != 0)
				fugue_kit_fail_aws(ctx, rc, &err, kinds[k][2]);
		}
	}
	json_object_put(res);
	return rc;
}

static int delete_versions(fugue_ctx *ctx, const char *arn)
{
	struct json_object *list = NULL, *params = json_object_new_object();
	fugue_aws_error err;
	size_t i;
	int rc;

	fugue_kit_put_str(params, "PolicyArn", arn);
	rc = fugue_iam_list(&list, ctx, "ListPolicyVersions", params, "Versions");
	json_object_put(params);
	for (i = 0; rc == 0 && i < fugue_kit_len(list); i++) {
		struct json_object *v = fugue_kit_at(list, i);

		if (fugue_kit_streq(fugue_aws_get_string(v, "IsDefaultVersion"), "true"))
			continue;
		rc = arn_call(NULL, ctx, "DeletePolicyVersion", arn, "VersionId",
		              fugue_aws_get_string(v, "VersionId"), &err);
		if (rc == FUGUE_ENOTFOUND)
			rc = 0;
		else if (rc != 0)
			fugue_kit_fail_aws(ctx, rc, &err, "DeletePolicyVersion");
	}
	json_object_put(list);
	return rc;
}

static int policy_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *arn = fugue_kit_str(fugue_kit_state_attrs(state), "arn");
	fugue_aws_error err;
	int rc;

	if (!arn)
		return 0; /* nothing was made that we could name */
	rc = detach_all(ctx, arn);
	if (rc == 0)
		rc = delete_versions(ctx, arn);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc; /* recorded */
	rc = arn_call(NULL, ctx, "DeletePolicy", arn, NULL, NULL, &err);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	return rc ? fugue_kit_fail_aws(ctx, rc, &err, "DeletePolicy") : 0;
}

/* The default version's document of a ManagedPolicyDetail D. */
static const char *default_document(const struct json_object *d)
{
	struct json_object *versions = fugue_aws_list(d, "PolicyVersionList");
	size_t i;

	for (i = 0; i < fugue_kit_len(versions); i++)
		if (fugue_kit_streq(fugue_aws_get_string(fugue_kit_at(versions, i),
		                                         "IsDefaultVersion"), "true"))
			return fugue_aws_get_string(fugue_kit_at(versions, i), "Document");
	return NULL;
}

static void observe_one(fugue_ctx *ctx, fugue_observation *item, const struct json_object *all,
                        const struct json_object *details, int *rc)
{
	char name[POLICY_NAME_MAX + 1];
	struct json_object *p = fugue_iam_find_by(all, "PolicyId", item->id), *d, *tags = NULL;

	if (!item->id) { /* a create whose answer was lost: by name, then tags */
		fugue_iam_name(name, sizeof(name), item->resource, ctx->fid, item->declared, "policyName", POLICY_NAME_MAX);
		p = fugue_iam_find_by(all, "PolicyName", name);
	}
	if (!p) {
		item->status = FUGUE_ENOTFOUND;
		return;
	}
	d = fugue_iam_find_by(details, "Arn", fugue_aws_get_string(p, "Arn"));
	/* The tags cost a call per policy: read when its details are due (and
	 * always to find it by its tags). */
	*rc = item->id && !fugue_kit_details_due(ctx, item) ? 0 : policy_tags(&tags, ctx, p);
	if (*rc == FUGUE_ENOTFOUND) { /* deleted between the calls */
		item->status = FUGUE_ENOTFOUND;
		*rc = 0;
	} else if (*rc == 0 && !item->id && !fugue_iam_tagged(tags, ctx->fid, item->resource)) {
		item->status = FUGUE_ENOTFOUND;
	} else if (*rc == 0) {
		item->state = policy_state(ctx, p, default_document(d),
		                           fugue_aws_get_string(d, "Description"), tags,
		                           item->declared);
		item->status = item->state ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(tags);
}

static int policy_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	struct json_object *all = NULL, *details = NULL, *params = json_object_new_object();
	struct json_object *filter = json_object_new_array();
	size_t i;
	int rc;

	fugue_kit_put_str(params, "Scope", "Local");
	rc = fugue_iam_list(&all, ctx, "ListPolicies", params, "Policies");
	json_object_put(params);
	params = json_object_new_object();
	json_object_array_add(filter, json_object_new_string("LocalManagedPolicy"));
	json_object_object_add(params, "Filter", filter);
	if (rc == 0)
		rc = fugue_iam_list(&details, ctx, "GetAccountAuthorizationDetails", params,
		                    "Policies");
	json_object_put(params);
	for (i = 0; rc == 0 && i < n; i++)
		observe_one(ctx, &items[i], all, details, &rc);
	json_object_put(all);
	json_object_put(details);
	return rc;
}

const fugue_type_ops fugue_iam_policy = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.IAM.Policy",
	.doc = "a customer managed IAM policy",
	.props = policy_props,
	.attrs = policy_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = policy_validate,
	.create = policy_create,
	.update = policy_update,
	.remove = policy_remove,
	.observe = policy_observe,
	.compare = policy_compare,
};
