/* volume.c - AWS.EC2.Volume: an EBS volume, optionally attached to an
 * instance.
 *
 * In place: size (grow only: EBS cannot shrink a volume, so a smaller size
 * is refused with an error rather than silently replacing the data),
 * volumeType and iops (ModifyVolume, waited until the volume shows them),
 * the attachment (DetachVolume, wait available, AttachVolume, wait
 * attached) and tags. The zone and encryption replace. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

static const char *const volume_types[] = { "gp2", "gp3", "io1", "io2", "st1", "sc1",
	                                    "standard", NULL };

static const fugue_prop attachment_fields[] = {
	{ .name = "instance", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "AWS.EC2.Instance", .doc = "the instance to attach to" },
	{ .name = "device", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the device name the instance sees, \"/dev/sdf\"" },
	{ .name = NULL },
};

static const fugue_prop volume_props[] = {
	{ .name = "availabilityZone", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the zone (of the instance it attaches to); replaces" },
	{ .name = "size", .kind = FUGUE_KIND_INT,
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE,
	  .doc = "GiB; grows in place (ModifyVolume), never shrinks" },
	{ .name = "volumeType", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "\"gp3\"", .enum_values = volume_types,
	  .doc = "EBS volume type; in place (ModifyVolume)" },
	{ .name = "iops", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE,
	  .doc = "provisioned IOPS (io1, io2, gp3 only); in place" },
	{ .name = "encrypted", .kind = FUGUE_KIND_BOOL, .default_json = "false",
	  .doc = "encrypted with the account's default EBS key; replaces" },
	{ .name = "attachment", .kind = FUGUE_KIND_OBJECT, .flags = FUGUE_PROP_UPDATABLE,
	  .fields = attachment_fields, .doc = "where the volume is attached; in place" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr volume_attrs[] = {
	{ "availabilityZone", "the volume's zone" },
	{ NULL, NULL },
};

/* --- validation -------------------------------------------------------------- */

/* EBS's limits per volume type (GiB; IOPS and IOPS per GiB; 0: no IOPS). */
struct ebs_limits {
	const char *type;
	int64_t min_size, max_size;
	int64_t min_iops, max_iops, iops_per_gib;
	int iops_required;
};

static const struct ebs_limits limits[] = {
	{ "gp2", 1, 16384, 0, 0, 0, 0 },
	{ "gp3", 1, 16384, 3000, 16000, 500, 0 },
	{ "io1", 4, 16384, 100, 64000, 50, 1 },
	{ "io2", 4, 65536, 100, 256000, 1000, 1 },
	{ "st1", 125, 16384, 0, 0, 0, 0 },
	{ "sc1", 125, 16384, 0, 0, 0, 0 },
	{ "standard", 1, 1024, 0, 0, 0, 0 },
};

static const struct ebs_limits *limits_of(const char *type)
{
	size_t i;

	for (i = 0; type && i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (strcmp(limits[i].type, type) == 0)
			return &limits[i];
	}
	return NULL;
}

/* Size and IOPS rules for TYPE (IOPS < 0: not declared), reported under
 * PREFIX ("" or "rootVolume."). Returns the number of errors. Shared with
 * instance.c's root volume (whose IOPS are not declared). */
int fugue_ec2_check_ebs(fugue_ctx *ctx, const char *prefix, const char *type, int64_t size,
                        int64_t iops)
{
	const struct ebs_limits *l = limits_of(type);
	char size_path[64];
	char iops_path[64];
	long long per_gib;
	int bad = 0;

	if (!l)
		return 0;
	snprintf(size_path, sizeof(size_path), "%ssize", prefix);
	snprintf(iops_path, sizeof(iops_path), "%siops", prefix);
	per_gib = (long long)(size * l->iops_per_gib);
	if (size >= 0 && (size < l->min_size || size > l->max_size)) {
		ctx->host->report(ctx, size_path, "a %s volume has %lld to %lld GiB", type,
		                  (long long)l->min_size, (long long)l->max_size);
		bad++;
	}
	if (iops >= 0 && l->max_iops == 0) {
		ctx->host->report(ctx, iops_path, "a %s volume takes no iops", type);
		bad++;
	} else if (iops >= 0 && (iops < l->min_iops || iops > l->max_iops)) {
		ctx->host->report(ctx, iops_path, "a %s volume has %lld to %lld iops", type,
		                  (long long)l->min_iops, (long long)l->max_iops);
		bad++;
	} else if (iops > l->min_iops && size > 0 && iops > per_gib) {
		ctx->host->report(ctx, iops_path, "a %s volume of %lld GiB has at most %lld iops "
		                  "(%lld per GiB)", type, (long long)size, per_gib,
		                  (long long)l->iops_per_gib);
		bad++;
	} else if (iops < 0 && l->iops_required && prefix[0] == '\0') {
		ctx->host->report(ctx, iops_path, "a %s volume needs iops", type);
		bad++;
	}
	return bad;
}

/* "/dev/sdf", "/dev/xvdf", "/dev/xvdba": what EC2 accepts for an EBS volume
 * on Linux instances. */
static int device_ok(const char *d)
{
	const char *p;
	size_t n;

	if (strncmp(d, "/dev/sd", 7) == 0)
		p = d + 7;
	else if (strncmp(d, "/dev/xvd", 8) == 0)
		p = d + 8;
	else
		return 0;
	n = strlen(p);
	if (n < 1 || n > 2)
		return 0;
	return p[0] >= 'a' && p[0] <= 'z' && (n == 1 || (p[1] >= 'a' && p[1] <= 'z'));
}

static int volume_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *az = fugue_kit_str(props, "availabilityZone");
	const struct json_object *att = fugue_kit_get(props, "attachment");
	const char *device = fugue_kit_str(att, "device");
	int bad = 0;

	if (az && ctx->region && !fugue_kit_az_in_region(az, ctx->region)) {
		ctx->host->report(ctx, "availabilityZone", "zone '%s' is not in region %s", az,
		                  ctx->region);
		bad++;
	}
	bad += fugue_ec2_check_ebs(ctx, "", fugue_kit_str(props, "volumeType"),
	                           fugue_kit_int(props, "size", -1),
	                           fugue_kit_int(props, "iops", -1));
	if (device && !device_ok(device)) {
		ctx->host->report(ctx, "attachment.device", "'%s' is not a device name EC2 "
		                  "takes (/dev/sdf../dev/sdp, /dev/xvdf)", device);
		bad++;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* --- state ------------------------------------------------------------------- */

/* The attachment of a described volume: {"instance", "device"} while
 * attached or attaching, {} otherwise, so that a volume detached behind
 * our back differs from its declaration. */
static struct json_object *attachment_of(const struct json_object *d)
{
	struct json_object *att = json_object_new_object();
	const char *status = fugue_aws_get_string(d, "attachmentSet.0.status");

	if (status && (strcmp(status, "attached") == 0 || strcmp(status, "attaching") == 0)) {
		fugue_kit_put(att, "instance", fugue_kit_aws_str(d, "attachmentSet.0.instanceId"));
		fugue_kit_put(att, "device", fugue_kit_aws_str(d, "attachmentSet.0.device"));
	}
	return att;
}

static struct json_object *volume_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();

	(void)ctx;
	fugue_kit_put(props, "availabilityZone", fugue_kit_aws_str(d, "availabilityZone"));
	fugue_kit_put(props, "size", fugue_kit_aws_int(d, "size"));
	fugue_kit_put(props, "volumeType", fugue_kit_aws_str(d, "volumeType"));
	fugue_kit_put(props, "iops", fugue_kit_aws_int(d, "iops"));
	fugue_kit_put(props, "encrypted", fugue_kit_aws_bool(d, "encrypted"));
	fugue_kit_put(props, "attachment", attachment_of(d));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	fugue_kit_put(attrs, "availabilityZone", fugue_kit_aws_str(d, "availabilityZone"));
	return fugue_kit_state(fugue_aws_get_string(d, "volumeId"), props, attrs);
}

/* Deleted and deleting volumes are gone. */
static int volume_gone(const struct json_object *d)
{
	const char *status = fugue_aws_get_string(d, "status");

	return status && (strcmp(status, "deleted") == 0 || strcmp(status, "deleting") == 0);
}

/* --- calls and waits ------------------------------------------------------------ */

static const fugue_ec2_kind volume_kind = {
	.noun = "volume", .action = "DescribeVolumes", .result_key = "volumeSet",
	.id_param = "VolumeId", .id_key = "volumeId", .make_state = volume_state,
	.skip = volume_gone,
};

/* DescribeVolumes of ID: 0 and *OUT (caller's); FUGUE_ENOTFOUND (also when
 * deleted or deleting), not recorded; or another error, recorded. */
static int describe_volume(struct json_object **out, fugue_ctx *ctx, const char *id)
{
	int rc = fugue_ec2_describe_one(out, ctx, &volume_kind, id);

	if (rc == 0 && volume_gone(*out)) {
		json_object_put(*out);
		*out = NULL;
		rc = FUGUE_ENOTFOUND;
	}
	return rc;
}

enum vol_goal { VOL_AVAILABLE, VOL_ATTACHED, VOL_GONE, VOL_MODIFIED };

struct vol_wait {
	const char *id;
	enum vol_goal goal;
	int after_create;              /* NotFound is "not yet" */
	const struct json_object *want; /* VOL_MODIFIED: size, volumeType, iops wanted */
	struct json_object *found;     /* the last description (owned) */
};

static int modified(const struct json_object *d, const struct json_object *want)
{
	const char *type = fugue_kit_str(want, "volumeType");
	const char *has = fugue_aws_get_string(d, "volumeType");
	struct json_object *size = fugue_kit_aws_int(d, "size");
	int ok = !type || (has && strcmp(type, has) == 0);

	ok = ok && size && json_object_get_int64(size) >= fugue_kit_int(want, "size", 0);
	json_object_put(size);
	return ok;
}

static int poll_volume(fugue_ctx *ctx, void *arg, int *done)
{
	struct vol_wait *w = arg;
	const char *s;
	int rc;

	json_object_put(w->found);
	rc = describe_volume(&w->found, ctx, w->id);
	*done = 0;
	if (rc == FUGUE_ENOTFOUND && w->goal == VOL_GONE) {
		*done = 1;
		return 0;
	}
	if (rc == FUGUE_ENOTFOUND && !w->after_create)
		ctx->host->fail(ctx, rc, NULL, "volume %s no longer exists", w->id);
	if (rc != 0)
		return rc;
	s = fugue_aws_get_string(w->found, "status");
	switch (w->goal) {
	case VOL_AVAILABLE:
		*done = s && strcmp(s, "available") == 0;
		break;
	case VOL_ATTACHED:
		s = fugue_aws_get_string(w->found, "attachmentSet.0.status");
		*done = s && strcmp(s, "attached") == 0;
		break;
	case VOL_MODIFIED:
		*done = modified(w->found, w->want);
		break;
	case VOL_GONE:
		break;
	}
	if (s && strcmp(s, "error") == 0) {
		ctx->host->fail(ctx, FUGUE_EAWS, NULL, "volume %s is in state error", w->id);
		return FUGUE_EAWS;
	}
	return 0;
}

/* Waits for volume ID to reach GOAL; *FOUND (may be NULL) gets the last
 * description (caller's). */
static int wait_volume(struct json_object **found, fugue_ctx *ctx, const char *id,
                       enum vol_goal goal, int after_create, const struct json_object *want)
{
	static const char *const what[] = { "available", "attached", "deleted", "modified" };
	struct vol_wait w = { id, goal, after_create, want, NULL };
	char text[128];
	fugue_kit_wait wait = { .what = text, .notfound_is_wait = after_create };
	int rc;

	snprintf(text, sizeof(text), "volume %s to be %s", id, what[goal]);
	ctx->host->progress(ctx, "waiting for %s", text);
	rc = fugue_kit_wait_for(ctx, &wait, poll_volume, &w);
	if (found && rc == 0)
		*found = w.found;
	else
		json_object_put(w.found);
	return rc;
}

static int attach(fugue_ctx *ctx, const char *id, const struct json_object *att)
{
	struct json_object *params = json_object_new_object();
	int rc;

	fugue_kit_put_str(params, "Device", fugue_kit_str(att, "device"));
	fugue_kit_put_str(params, "InstanceId", fugue_kit_str(att, "instance"));
	fugue_kit_put_str(params, "VolumeId", id);
	rc = fugue_ec2_do(ctx, "AttachVolume", params);
	return rc ? rc : wait_volume(NULL, ctx, id, VOL_ATTACHED, 0, NULL);
}

/* Detaches volume ID (described as D) when it is attached; waits available. */
static int detach(fugue_ctx *ctx, const char *id, const struct json_object *d)
{
	const char *status = fugue_aws_get_string(d, "attachmentSet.0.status");
	struct json_object *params;
	int rc;

	if (!status || strcmp(status, "detached") == 0)
		return 0;
	params = json_object_new_object();
	fugue_kit_put_str(params, "VolumeId", id);
	fugue_kit_put_str(params, "InstanceId",
	                   fugue_aws_get_string(d, "attachmentSet.0.instanceId"));
	rc = fugue_ec2_do(ctx, "DetachVolume", params);
	return rc ? rc : wait_volume(NULL, ctx, id, VOL_AVAILABLE, 0, NULL);
}

/* --- create, update, remove, observe ------------------------------------------- */

static int volume_create(fugue_ctx *ctx, const struct json_object *props,
                         struct json_object **out)
{
	const struct json_object *att = fugue_kit_get(props, "attachment");
	struct json_object *params = json_object_new_object();
	struct json_object *found = NULL;
	char id[64];
	int rc;

	*out = NULL;
	fugue_kit_put_str(params, "AvailabilityZone", fugue_kit_str(props, "availabilityZone"));
	json_object_object_add(params, "Size",
	                       json_object_new_int64(fugue_kit_int(props, "size", 1)));
	fugue_kit_put_str(params, "VolumeType", fugue_kit_str(props, "volumeType"));
	if (fugue_kit_get(props, "iops"))
		json_object_object_add(params, "Iops",
		                       json_object_new_int64(fugue_kit_int(props, "iops", 0)));
	if (fugue_kit_bool(props, "encrypted", 0))
		json_object_object_add(params, "Encrypted", json_object_new_boolean(1));
	fugue_kit_put_str(params, "ClientToken", ctx->client_token);
	fugue_ec2_tag_spec(params, "volume", ctx, fugue_kit_get(props, "tags"));
	rc = fugue_ec2_create(id, sizeof(id), ctx, "CreateVolume", params, "volumeId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	rc = wait_volume(&found, ctx, id, VOL_AVAILABLE, 1, NULL);
	if (rc == 0 && att)
		rc = attach(ctx, id, att);
	/* Made, even if attaching failed: hand back what exists so nothing is
	 * orphaned; the next plan attaches it. */
	json_object_put(found);
	*out = fugue_ec2_state_or_id(ctx, &volume_kind, id, props);
	return rc;
}

/* ModifyVolume for what changed among size, volumeType and iops, then waits
 * until the volume shows the new size and type. */
static int modify(fugue_ctx *ctx, const char *id, const struct json_object *cur,
                  const struct json_object *props, const struct json_object *changed)
{
	struct json_object *params;
	struct json_object *size = fugue_kit_aws_int(cur, "size");
	int64_t want = fugue_kit_int(props, "size", 0);
	int64_t has = size ? json_object_get_int64(size) : 0;
	int rc;

	json_object_put(size);
	if (want < has) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "volume %s cannot shrink from %lld to "
		                "%lld GiB; declare a new volume to replace it", id, (long long)has,
		                (long long)want);
		return FUGUE_EINVAL;
	}
	params = json_object_new_object();
	fugue_kit_put_str(params, "VolumeId", id);
	if (want > has)
		json_object_object_add(params, "Size", json_object_new_int64(want));
	if (fugue_kit_has_string(changed, "volumeType"))
		fugue_kit_put_str(params, "VolumeType", fugue_kit_str(props, "volumeType"));
	if (fugue_kit_get(props, "iops") &&
	    (fugue_kit_has_string(changed, "iops") || fugue_kit_has_string(changed, "volumeType")))
		json_object_object_add(params, "Iops",
		                       json_object_new_int64(fugue_kit_int(props, "iops", 0)));
	if (json_object_object_length(params) == 1) {
		json_object_put(params);
		return 0;
	}
	rc = fugue_ec2_do(ctx, "ModifyVolume", params);
	return rc ? rc : wait_volume(NULL, ctx, id, VOL_MODIFIED, 0, props);
}

static int same_attachment(const struct json_object *cur, const struct json_object *want)
{
	struct json_object *has = attachment_of(cur);
	const char *i = fugue_kit_str(has, "instance");
	const char *d = fugue_kit_str(has, "device");
	int same = want && i && d && strcmp(i, fugue_kit_str(want, "instance")) == 0 &&
	           strcmp(d, fugue_kit_str(want, "device")) == 0;

	json_object_put(has);
	return same;
}

static int reattach(fugue_ctx *ctx, const char *id, const struct json_object *cur,
                    const struct json_object *want)
{
	int rc;

	if (same_attachment(cur, want))
		return 0;
	rc = detach(ctx, id, cur);
	if (rc == 0 && want)
		rc = attach(ctx, id, want);
	return rc;
}

static int volume_update(fugue_ctx *ctx, const struct json_object *state,
                         const struct json_object *props, const struct json_object *changed,
                         struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *cur = NULL;
	int rc;

	*out = NULL;
	rc = describe_volume(&cur, ctx, id);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "volume %s no longer exists", id);
	if (rc != 0)
		return rc;
	if (fugue_kit_has_string(changed, "size") || fugue_kit_has_string(changed, "volumeType") ||
	    fugue_kit_has_string(changed, "iops"))
		rc = modify(ctx, id, cur, props, changed);
	if (rc == 0 && fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_sync_tags(ctx, id, fugue_aws_list(cur, "tagSet"),
		                         fugue_kit_get(props, "tags"));
	if (rc == 0 && fugue_kit_has_string(changed, "attachment"))
		rc = reattach(ctx, id, cur, fugue_kit_get(props, "attachment"));
	json_object_put(cur);
	if (rc == 0)
		rc = fugue_ec2_read(out, ctx, &volume_kind, id, props);
	return rc;
}

static int volume_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *cur = NULL;
	struct json_object *params;
	int rc;

	rc = describe_volume(&cur, ctx, id);
	if (rc == FUGUE_ENOTFOUND)
		return 0;
	if (rc == 0)
		rc = detach(ctx, id, cur);
	json_object_put(cur);
	if (rc != 0)
		return rc;
	params = json_object_new_object();
	fugue_kit_put_str(params, "VolumeId", id);
	rc = fugue_ec2_delete(ctx, "DeleteVolume", params);
	json_object_put(params);
	return rc ? rc : wait_volume(NULL, ctx, id, VOL_GONE, 0, NULL);
}

static int volume_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	return fugue_ec2_observe(ctx, items, n, &volume_kind);
}

const fugue_type_ops fugue_ec2_volume = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.EC2.Volume",
	.doc = "an EBS volume, optionally attached to an instance",
	.props = volume_props,
	.attrs = volume_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = volume_validate,
	.create = volume_create,
	.update = volume_update,
	.remove = volume_remove,
	.observe = volume_observe,
};
