/* permission.c - AWS.Lambda.Permission: one statement of a function's
 * resource policy (AddPermission), letting a principal (a service, an
 * account) invoke it.
 *
 * Lambda has no call that changes a statement: every change replaces it
 * (RemovePermission, then AddPermission). The state's id is
 * "FUNCTION/STATEMENT-ID/N": a statement id is unique only within its
 * function's policy, and a replacement takes the same statement id again,
 * so N (8 hex digits of the creation's client token) tells one creation
 * from the next. Observation is one GetPolicy per function and cycle,
 * whatever the number of its permissions: the policy's Statement list,
 * matched by Sid. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define SID_MAX 100

static const fugue_prop permission_props[] = {
	{ .name = "function", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "AWS.Lambda.Function",
	  .doc = "the function: !ref FUNCTION, or a function's name or ARN; replaces" },
	{ .name = "principal", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "who may call it: a service (s3.amazonaws.com), an account id or ARN; "
	         "replaces" },
	{ .name = "action", .kind = FUGUE_KIND_STRING, .default_json = "\"lambda:InvokeFunction\"",
	  .doc = "the action allowed (lambda:InvokeFunction, lambda:*); replaces" },
	{ .name = "sourceArn", .kind = FUGUE_KIND_STRING,
	  .doc = "only for calls on behalf of this resource (a bucket, a rule); replaces" },
	{ .name = "sourceAccount", .kind = FUGUE_KIND_STRING,
	  .doc = "only for calls on behalf of this account (12 digits); replaces" },
	{ .name = "statementId", .kind = FUGUE_KIND_STRING,
	  .doc = "the statement's Sid, 1-100 of [A-Za-z0-9-_] (default: the resource's name and "
	         "8 characters of the process id); replaces" },
	{ .name = NULL },
};

static const fugue_attr permission_attrs[] = {
	{ "statementId", "the statement's Sid in the function's policy" },
	{ "function", "the function's name" },
	{ NULL, NULL },
};

/* --- names ---------------------------------------------------------------------- */

static void statement_id(char *buf, size_t size, const char *resource, const char *fid,
                         const struct json_object *props)
{
	const char *declared = fugue_kit_str(props, "statementId");

	if (declared)
		snprintf(buf, size, "%s", declared);
	else
		fugue_lambda_default_name(buf, size, resource, fid, SID_MAX);
}

/* The function and the Sid of a state's id "FUNCTION/SID[/N]". 0, or
 * FUGUE_EINVAL when ID is not one. */
static int split_id(char *fn, size_t fn_size, char *sid, size_t sid_size, const char *id)
{
	const char *slash = id ? strchr(id, '/') : NULL;

	if (!slash || slash == id || !slash[1] || slash[1] == '/')
		return FUGUE_EINVAL;
	snprintf(fn, fn_size, "%.*s", (int)(slash - id), id);
	snprintf(sid, sid_size, "%.*s", (int)strcspn(slash + 1, "/"), slash + 1);
	return 0;
}

/* The id of statement SID of FN made by the creation whose client token is
 * TOKEN (NULL: unknown, a create whose answer was lost). */
static void make_id(char *buf, size_t size, const char *fn, const char *sid, const char *token)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	const char *p;

	if (!token) {
		snprintf(buf, size, "%s/%s", fn, sid);
		return;
	}
	for (p = token; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(buf, size, "%s/%s/%08x", fn, sid, (unsigned)h);
}

/* --- validate ------------------------------------------------------------------- */

static int valid_action(const char *s)
{
	size_t i;

	if (strcmp(s, "*") == 0 || strcmp(s, "lambda:*") == 0)
		return 1;
	if (strncmp(s, "lambda:", 7) != 0 || !s[7])
		return 0;
	for (i = 7; s[i]; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z'))
			return 0;
	return 1;
}

static int valid_account(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return i == 12;
}

static int permission_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const struct json_object *fn = fugue_kit_get(props, "function");
	const char *attr = fugue_kit_str(fn, "attr");
	const char *sid = fugue_kit_str(props, "statementId");
	const char *action = fugue_kit_str(props, "action");
	const char *principal = fugue_kit_str(props, "principal");
	const char *arn = fugue_kit_str(props, "sourceArn");
	const char *account = fugue_kit_str(props, "sourceAccount");
	int bad = 0;

	if (fugue_kit_ref_name(fn) && attr && strcmp(attr, "id") && strcmp(attr, "name") &&
	    strcmp(attr, "arn")) {
		ctx->host->report(ctx, "function", "a permission takes the function: write !ref %s",
		                  fugue_kit_ref_name(fn));
		bad = 1;
	}
	if (sid && !fugue_lambda_valid_name(sid, SID_MAX)) {
		ctx->host->report(ctx, "statementId", "1 to %d letters, digits, '-' or '_'", SID_MAX);
		bad = 1;
	}
	if (action && !valid_action(action)) {
		ctx->host->report(ctx, "action", "expected lambda:ACTION, lambda:* or *, not '%s'",
		                  action);
		bad = 1;
	}
	if (principal && (!*principal || strpbrk(principal, " \t\n"))) {
		ctx->host->report(ctx, "principal", "expected a service, an account id or an ARN");
		bad = 1;
	}
	if (arn && strncmp(arn, "arn:", 4) != 0) {
		ctx->host->report(ctx, "sourceArn", "expected an ARN, not '%s'", arn);
		bad = 1;
	}
	if (account && !valid_account(account)) {
		ctx->host->report(ctx, "sourceAccount", "expected a 12-digit account id, not '%s'",
		                  account);
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* --- the policy ---------------------------------------------------------------- */

/* GetPolicy FN: 0 and *OUT the policy's Statement list (caller's; [] when
 * the function has no policy), FUGUE_ENOTFOUND when the function is gone
 * (not recorded), or another error (recorded). */
static int get_statements(struct json_object **out, fugue_ctx *ctx, const char *fn)
{
	fugue_lambda_op op = { .action = "GetPolicy", .method = "GET" };
	struct json_object *res = NULL, *doc, *list;
	fugue_aws_error err;
	int rc;

	*out = NULL;
	if (fugue_lambda_path(&op, fn, "/policy") != 0) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "function name too long");
		return FUGUE_EINVAL;
	}
	rc = fugue_lambda_try(&res, ctx, &op, &err);
	if (rc == FUGUE_ENOTFOUND) {
		/* a function without a policy answers NotFound too */
		struct json_object *g = NULL;

		rc = fugue_lambda_get_function(&g, ctx, fn);
		json_object_put(g);
		if (rc == 0)
			*out = json_object_new_array();
		return rc;
	}
	if (rc != 0)
		return fugue_kit_fail_aws(ctx, rc, &err, op.action);
	doc = json_tokener_parse(fugue_aws_get_string(res, "Policy") ?
	                         fugue_aws_get_string(res, "Policy") : "{}");
	json_object_put(res);
	list = fugue_kit_get(doc, "Statement");
	if (json_object_is_type(list, json_type_array))
		*out = fugue_kit_copy(list);
	else if (list) /* a single statement */
		json_object_array_add(*out = json_object_new_array(), fugue_kit_copy(list));
	else
		*out = json_object_new_array();
	json_object_put(doc);
	return 0;
}

static const struct json_object *find_statement(const struct json_object *list, const char *sid)
{
	size_t i;

	for (i = 0; i < fugue_kit_len(list); i++)
		if (fugue_kit_streq(fugue_kit_str(fugue_kit_at(list, i), "Sid"), sid))
			return fugue_kit_at(list, i);
	return NULL;
}

/* The principal of statement S as declared: "*", the service, the account
 * or ARN. */
static const char *principal_of(const struct json_object *s)
{
	const struct json_object *p = fugue_kit_get(s, "Principal");
	const struct json_object *v;

	if (fugue_kit_as_str(p))
		return fugue_kit_as_str(p);
	v = fugue_kit_get(p, "Service");
	if (!v)
		v = fugue_kit_get(p, "AWS");
	if (json_object_is_type(v, json_type_array))
		v = fugue_kit_at(v, 0);
	return fugue_kit_as_str(v);
}

/* The state of statement S of function FN, whose id is ID; DECLARED
 * decides whether statementId is shown (as functionName for functions). */
static struct json_object *permission_state(const struct json_object *s, const char *fn,
                                            const char *id, const struct json_object *declared)
{
	struct json_object *props = json_object_new_object(), *attrs = json_object_new_object();
	const struct json_object *cond = fugue_kit_get(s, "Condition");
	const char *sid = fugue_kit_str(s, "Sid");
	const struct json_object *action = fugue_kit_get(s, "Action");

	if (json_object_is_type(action, json_type_array))
		action = fugue_kit_at(action, 0);
	fugue_kit_put_str(props, "function", fn);
	fugue_kit_put_str(props, "principal", principal_of(s));
	fugue_kit_put_str(props, "action", fugue_kit_as_str(action));
	fugue_kit_put_str(props, "sourceArn",
	                  fugue_kit_str(fugue_kit_get(cond, "ArnLike"), "AWS:SourceArn"));
	fugue_kit_put_str(props, "sourceAccount",
	                  fugue_kit_str(fugue_kit_get(cond, "StringEquals"), "AWS:SourceAccount"));
	if (fugue_kit_get(declared, "statementId"))
		fugue_kit_put_str(props, "statementId", sid);
	fugue_kit_put_str(attrs, "statementId", sid);
	fugue_kit_put_str(attrs, "function", fn);
	return fugue_kit_state(id, props, attrs);
}

/* The state of statement SID of FN now, as the creation of ctx's client
 * token made it. NotFound is recorded. */
static int read_state(struct json_object **out, fugue_ctx *ctx, const char *fn, const char *sid,
                      const struct json_object *declared)
{
	char id[FUGUE_LAMBDA_NAME_MAX + SID_MAX + 16];
	struct json_object *list = NULL;
	const struct json_object *s;
	int rc = get_statements(&list, ctx, fn);

	*out = NULL;
	s = rc == 0 ? find_statement(list, sid) : NULL;
	if (rc == FUGUE_ENOTFOUND || (rc == 0 && !s)) {
		rc = FUGUE_ENOTFOUND;
		ctx->host->fail(ctx, rc, NULL, "statement %s of function %s not found", sid, fn);
	}
	if (rc == 0) {
		make_id(id, sizeof(id), fn, sid, ctx->client_token);
		*out = permission_state(s, fn, id, declared);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(list);
	return rc;
}

/* --- create, remove -------------------------------------------------------------- */

struct visible {
	const char *fn;
	const char *sid;
};

static int poll_visible(fugue_ctx *ctx, void *arg, int *done)
{
	struct visible *v = arg;
	struct json_object *list = NULL;
	int rc = get_statements(&list, ctx, v->fn);

	*done = rc == 0 && find_statement(list, v->sid);
	json_object_put(list);
	return rc;
}

static int permission_compare(const char *name, const struct json_object *a,
                              const struct json_object *b);

/* After AddPermission answered "the statement id exists": whether that
 * statement is the declared one (an earlier attempt whose answer was lost);
 * then *OUT is its state. Statements carry no tags: it is ours when it
 * says what we asked for. */
static int adopt(struct json_object **out, fugue_ctx *ctx, const char *fn, const char *sid,
                 const struct json_object *props)
{
	static const char *const keys[] = { "principal", "action", "sourceArn", "sourceAccount" };
	const struct json_object *have;
	size_t i;

	if (read_state(out, ctx, fn, sid, props) != 0)
		return 0;
	have = fugue_kit_state_props(*out);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct json_object *a = fugue_kit_get(props, keys[i]);
		const struct json_object *b = fugue_kit_get(have, keys[i]);

		if ((a || b) && (!a || !b || !permission_compare(keys[i], a, b))) {
			json_object_put(*out);
			*out = NULL;
			return 0;
		}
	}
	return 1;
}

static int permission_create(fugue_ctx *ctx, const struct json_object *props,
                             struct json_object **out)
{
	char fn[FUGUE_LAMBDA_NAME_MAX + 1], sid[SID_MAX + 1];
	fugue_lambda_op op = { .action = "AddPermission", .method = "POST" };
	fugue_lambda_retry how = { .deadline_ms = 180000 };
	struct json_object *body = json_object_new_object();
	struct visible v = { fn, sid };
	fugue_kit_wait wait = { .what = "the statement to be in the policy", .deadline_ms = 60000,
		                .notfound_is_wait = 1 };
	fugue_aws_error err;
	int rc;

	*out = NULL;
	memset(&err, 0, sizeof(err));
	fugue_lambda_name_of(fn, sizeof(fn), fugue_kit_str(props, "function"));
	statement_id(sid, sizeof(sid), ctx->resource, ctx->fid, props);
	fugue_kit_put_str(body, "StatementId", sid);
	fugue_kit_put_str(body, "Action", fugue_kit_str(props, "action"));
	fugue_kit_put_str(body, "Principal", fugue_kit_str(props, "principal"));
	fugue_kit_put_str(body, "SourceArn", fugue_kit_str(props, "sourceArn"));
	fugue_kit_put_str(body, "SourceAccount", fugue_kit_str(props, "sourceAccount"));
	op.body = body;
	rc = fugue_lambda_path(&op, fn, "/policy");
	/* the function busy (being created or updated) is waited through; a
	 * statement id taken answers ResourceConflictException too */
	if (rc == 0)
		rc = fugue_lambda_retry_call(NULL, ctx, &op, &how, &err);
	json_object_put(body);
	if (rc == FUGUE_ECONFLICT && adopt(out, ctx, fn, sid, props))
		return 0; /* made by an earlier attempt whose answer was lost */
	if (rc != 0 && rc != FUGUE_ETIMEOUT && rc != FUGUE_ECANCELED)
		return fugue_kit_fail_aws(ctx, rc, &err, op.action);
	if (rc == 0) /* GetPolicy may lag behind AddPermission */
		rc = fugue_kit_wait_for(ctx, &wait, poll_visible, &v);
	if (rc == 0)
		rc = read_state(out, ctx, fn, sid, props);
	if (rc != 0 && !*out) {
		char id[sizeof(fn) + sizeof(sid) + 16];

		make_id(id, sizeof(id), fn, sid, ctx->client_token);
		*out = fugue_kit_state(id, NULL, NULL);
	}
	return rc;
}

static int permission_remove(fugue_ctx *ctx, const struct json_object *state)
{
	char fn[FUGUE_LAMBDA_NAME_MAX + 1], sid[SID_MAX + 1], suffix[SID_MAX + 16];
	fugue_lambda_op op = { .action = "RemovePermission", .method = "DELETE" };
	fugue_lambda_retry how = { .deadline_ms = 180000 };
	fugue_aws_error err;
	int rc;

	memset(&err, 0, sizeof(err));
	if (split_id(fn, sizeof(fn), sid, sizeof(sid), fugue_kit_str(state, "id")) != 0)
		return 0; /* nothing was made that we could name */
	snprintf(suffix, sizeof(suffix), "/policy/%s", sid);
	rc = fugue_lambda_path(&op, fn, suffix);
	if (rc == 0)
		rc = fugue_lambda_retry_call(NULL, ctx, &op, &how, &err);
	if (rc == FUGUE_ENOTFOUND) /* the statement, or the whole function, is gone */
		return 0;
	if (rc != 0 && rc != FUGUE_ETIMEOUT && rc != FUGUE_ECANCELED)
		return fugue_kit_fail_aws(ctx, rc, &err, op.action);
	return rc;
}

/* --- observe ------------------------------------------------------------------- */

/* Where item I's statement is: its recorded id, else the declared function
 * and the statement id create() gives it. */
static void locate(char *fn, size_t fn_size, char *sid, size_t sid_size, fugue_ctx *ctx,
                   const fugue_observation *it)
{
	if (split_id(fn, fn_size, sid, sid_size, it->id) == 0)
		return;
	fugue_lambda_name_of(fn, fn_size, fugue_kit_str(it->declared, "function"));
	statement_id(sid, sid_size, it->resource, ctx->fid, it->declared);
}

static int permission_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	size_t i, j;
	int rc = 0;

	for (i = 0; i < n; i++)
		items[i].status = 1; /* not answered yet */
	/* one GetPolicy per function, answering all of its statements */
	for (i = 0; rc == 0 && i < n; i++) {
		char fn[FUGUE_LAMBDA_NAME_MAX + 1], sid[SID_MAX + 1];
		struct json_object *list = NULL;

		if (items[i].status != 1)
			continue;
		locate(fn, sizeof(fn), sid, sizeof(sid), ctx, &items[i]);
		rc = get_statements(&list, ctx, fn);
		if (rc == FUGUE_ENOTFOUND) /* the function is gone, and its policy with it */
			rc = 0;
		for (j = i; rc == 0 && j < n; j++) {
			char fn2[FUGUE_LAMBDA_NAME_MAX + 1], sid2[SID_MAX + 1];
			const struct json_object *s;

			if (items[j].status != 1)
				continue;
			locate(fn2, sizeof(fn2), sid2, sizeof(sid2), ctx, &items[j]);
			if (strcmp(fn, fn2) != 0)
				continue;
			s = find_statement(list, sid2);
			items[j].status = FUGUE_ENOTFOUND;
			if (s) {
				char id[FUGUE_LAMBDA_NAME_MAX + SID_MAX + 16];

				if (items[j].id) /* the id it was recorded with */
					snprintf(id, sizeof(id), "%s", items[j].id);
				else
					make_id(id, sizeof(id), fn2, sid2, NULL);
				items[j].state = permission_state(s, fn2, id, items[j].declared);
				items[j].status = items[j].state ? 0 : FUGUE_ENOMEM;
			}
		}
		json_object_put(list);
	}
	return rc;
}

/* --- compare ------------------------------------------------------------------- */

/* An account id and its root ARN (arn:aws:iam::ACCOUNT:root, as AWS
 * writes an account principal) are the same principal. */
static int same_principal(const char *a, const char *b)
{
	const char *arn = strncmp(a, "arn:", 4) == 0 ? a : b;
	const char *account = arn == a ? b : a;
	const char *p = strstr(arn, ":iam::");
	size_t n = strlen(account);

	if (strcmp(a, b) == 0)
		return 1;
	return p && strncmp(p + 6, account, n) == 0 && strcmp(p + 6 + n, ":root") == 0;
}

static int permission_compare(const char *name, const struct json_object *a,
                              const struct json_object *b)
{
	const char *x = fugue_kit_as_str(a), *y = fugue_kit_as_str(b);
	char fa[256], fb[256];

	if (!x || !y)
		return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
	if (strcmp(name, "function") == 0) { /* a name, or its ARN */
		fugue_lambda_name_of(fa, sizeof(fa), x);
		fugue_lambda_name_of(fb, sizeof(fb), y);
		return strcmp(fa, fb) == 0;
	}
	if (strcmp(name, "principal") == 0)
		return same_principal(x, y);
	return strcmp(x, y) == 0;
}

const fugue_type_ops fugue_lambda_permission = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.Lambda.Permission",
	.doc = "a statement of a function's resource policy: who may invoke it",
	.props = permission_props,
	.attrs = permission_attrs,
	.validate = permission_validate,
	.create = permission_create,
	.remove = permission_remove,
	.observe = permission_observe,
	.compare = permission_compare,
};
