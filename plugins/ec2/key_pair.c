/* key_pair.c - AWS.EC2.KeyPair: an imported public key (ImportKeyPair).
 *
 * The key's name and material cannot change in place (EC2 has no call for
 * it): both replace. Tags change in place. The state's id is the key pair id
 * ("key-0abc"); instances name keys by name, so the type publishes keyName:
 * an instance writes `keyName: !ref deployer.keyName`. */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const fugue_prop key_pair_props[] = {
	{ .name = "keyName", .kind = FUGUE_KIND_STRING,
	  .doc = "the key's name in EC2 (default: the resource's name); replaces" },
	{ .name = "publicKeyMaterial", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the public key, OpenSSH format (\"ssh-ed25519 AAAA...\"); replaces" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr key_pair_attrs[] = {
	{ "keyName", "the key's name, what an instance's keyName takes" },
	{ "fingerprint", "the key's fingerprint as EC2 computes it" },
	{ NULL, NULL },
};

static const char *key_name_of(const fugue_ctx *ctx, const struct json_object *props)
{
	const char *name = fugue_kit_str(props, "keyName");

	return name ? name : ctx->resource;
}

static int key_pair_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *name = key_name_of(ctx, props);
	const char *material = fugue_kit_str(props, "publicKeyMaterial");
	int bad = 0;

	if (name && (strlen(name) == 0 || strlen(name) > 255)) {
		ctx->host->report(ctx, "keyName", "a key name has 1 to 255 characters");
		bad = 1;
	}
	if (material && strncmp(material, "ssh-", 4) != 0 && strncmp(material, "ecdsa-", 6) != 0) {
		ctx->host->report(ctx, "publicKeyMaterial", "expected an OpenSSH public key "
		                  "(ssh-rsa, ssh-ed25519, ecdsa-...)");
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* The state of one element of DescribeKeyPairs' keySet. */
static struct json_object *key_pair_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();

	(void)ctx;
	fugue_kit_put(props, "keyName", fugue_kit_aws_str(d, "keyName"));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	fugue_kit_put(attrs, "keyName", fugue_kit_aws_str(d, "keyName"));
	fugue_kit_put(attrs, "fingerprint", fugue_kit_aws_str(d, "keyFingerprint"));
	return fugue_kit_state(fugue_aws_get_string(d, "keyPairId"), props, attrs);
}

/* observe() goes by the key pair id (the state's id); create() and update()
 * by the name, which is what the caller knows. */
static const fugue_ec2_kind key_pair_kind = {
	.noun = "key pair", .action = "DescribeKeyPairs", .result_key = "keySet",
	.id_param = "KeyPairId", .id_key = "keyPairId", .make_state = key_pair_state,
};

static const fugue_ec2_kind key_name_kind = {
	.noun = "key pair", .action = "DescribeKeyPairs", .result_key = "keySet",
	.id_param = "KeyName", .id_key = "keyName", .make_state = key_pair_state,
};

/* DescribeKeyPairs by name: 0 and *OUT (the keySet element, caller's),
 * FUGUE_ENOTFOUND (not recorded as a failure), or another error (recorded). */
static int describe_key(struct json_object **out, fugue_ctx *ctx, const char *name)
{
	return fugue_ec2_describe_one(out, ctx, &key_name_kind, name);
}

struct key_wait {
	const char *name;
	struct json_object *found; /* the described key once there */
};

static int poll_key(fugue_ctx *ctx, void *arg, int *done)
{
	struct key_wait *w = arg;
	int rc = describe_key(&w->found, ctx, w->name);

	*done = rc == 0;
	return rc;
}

static int key_pair_create(fugue_ctx *ctx, const struct json_object *props,
                           struct json_object **out)
{
	const char *name = key_name_of(ctx, props);
	const char *material = fugue_kit_str(props, "publicKeyMaterial");
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	struct key_wait w = { name, NULL };
	fugue_kit_wait wait = { .what = "the key pair to be described", .deadline_ms = 60000,
	                        .notfound_is_wait = 1 };
	fugue_aws_error err;
	char *b64;
	int rc;

	*out = NULL;
	b64 = fugue_kit_base64(material, strlen(material));
	if (!b64) {
		json_object_put(params);
		return FUGUE_ENOMEM;
	}
	/* PublicKeyMaterial is a blob in the model: base64 on the wire. */
	fugue_kit_put_str(params, "KeyName", name);
	fugue_kit_put_str(params, "PublicKeyMaterial", b64);
	fugue_ec2_tag_spec(params, "key-pair", ctx, fugue_kit_get(props, "tags"));
	free(b64);
	rc = fugue_ec2_try(&res, ctx, "ImportKeyPair", params, &err);
	json_object_put(params);
	json_object_put(res);
	if (rc == FUGUE_ECONFLICT && describe_key(&w.found, ctx, name) == 0 &&
	    fugue_ec2_tagged_for(ctx, w.found)) {
		rc = 0; /* imported by an earlier attempt whose answer was lost */
	} else if (rc != 0) {
		json_object_put(w.found);
		return fugue_kit_fail_aws(ctx, rc, &err, "ImportKeyPair");
	}
	if (!w.found)
		rc = fugue_kit_wait_for(ctx, &wait, poll_key, &w);
	if (rc == 0) {
		*out = key_pair_state(ctx, w.found);
		fugue_kit_fix_tags(ctx, *out, props);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(w.found);
	return rc;
}

/* The name of the key in STATE: its properties', else its attributes'. */
static const char *state_key_name(const struct json_object *state)
{
	const char *name = fugue_kit_str(fugue_kit_state_props(state), "keyName");

	return name ? name : fugue_kit_str(fugue_kit_state_attrs(state), "keyName");
}

static int key_pair_update(fugue_ctx *ctx, const struct json_object *state,
                           const struct json_object *props, const struct json_object *changed,
                           struct json_object **out)
{
	const char *name = state_key_name(state);
	struct json_object *cur = NULL;
	int rc;

	*out = NULL;
	if (!name) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "the recorded state has no key name");
		return FUGUE_EINVAL;
	}
	rc = describe_key(&cur, ctx, name);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "key pair %s no longer exists", name);
	if (rc != 0)
		return rc;
	if (fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_sync_tags(ctx, fugue_aws_get_string(cur, "keyPairId"),
		                         fugue_aws_list(cur, "tagSet"),
		                         fugue_kit_get(props, "tags"));
	json_object_put(cur);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &key_name_kind, name, props);
	return rc;
}

static int key_pair_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *name = state_key_name(state);
	struct json_object *params = json_object_new_object();
	int rc;

	/* By name: moto deletes by KeyName only, and AWS takes either. */
	if (name)
		fugue_kit_put_str(params, "KeyName", name);
	else
		fugue_kit_put_str(params, "KeyPairId", fugue_kit_str(state, "id"));
	rc = fugue_ec2_delete(ctx, "DeleteKeyPair", params);
	json_object_put(params);
	return rc;
}

static int key_pair_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &key_pair_kind);
}

const fugue_type_ops fugue_ec2_key_pair = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.EC2.KeyPair",
	.doc = "an SSH public key imported into EC2 for instances to use",
	.props = key_pair_props,
	.attrs = key_pair_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = key_pair_validate,
	.create = key_pair_create,
	.update = key_pair_update,
	.remove = key_pair_remove,
	.observe = key_pair_observe,
};
