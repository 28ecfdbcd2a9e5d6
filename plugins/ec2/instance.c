/* instance.c - AWS.EC2.Instance: one EC2 instance (RunInstances with
 * MinCount = MaxCount = 1).
 *
 * In place: securityGroups and sourceDestCheck (ModifyInstanceAttribute on
 * the running instance), tags, and instanceType / ebsOptimized by stop,
 * modify, start. EC2 changes the type only of a stopped instance; stopping
 * keeps the instance's id, private IP, EBS volumes and everything that
 * references it (volumes, routes, target groups), at the price of a minute
 * or two of downtime, a new public IP (unless it is an Elastic IP) and the
 * loss of instance-store data. A replacement would cost all of that and a
 * new id, new private IP and new root volume besides, so stop/modify/start
 * is the cheaper honest answer. Everything else (image, subnet, key, user
 * data, IAM profile, root volume, private IP) replaces. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ec2_api.h"
#include "planner_kit.h"
#include "types.h"

/* AWS's limit on user data, before base64. */
#define USER_DATA_MAX 16384

static const char *const volume_types[] = { "gp2", "gp3", "io1", "io2", "st1", "sc1",
	                                    "standard", NULL };

static const fugue_prop security_group = { .name = "securityGroup", .kind = FUGUE_KIND_REF,
	                                   .ref_types = "AWS.VPC.SecurityGroup" };

static const fugue_prop root_volume_fields[] = {
	{ .name = "size", .kind = FUGUE_KIND_INT, .doc = "GiB (default: the image's)" },
	{ .name = "volumeType", .kind = FUGUE_KIND_STRING, .enum_values = volume_types,
	  .doc = "EBS volume type (default: the image's)" },
	{ .name = NULL },
};

static const fugue_prop instance_props[] = {
	{ .name = "imageId", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the AMI; replaces" },
	{ .name = "instanceType", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE,
	  .doc = "\"t3.micro\"; in place by stop, modify, start" },
	{ .name = "subnet", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "AWS.VPC.Subnet", .doc = "the subnet to launch in; replaces" },
	{ .name = "securityGroups", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .items = &security_group,
	  .doc = "security group ids (default: the VPC's default group)" },
	{ .name = "keyName", .kind = FUGUE_KIND_REF, .ref_types = "AWS.EC2.KeyPair",
	  .doc = "the key pair's name: !ref KEY.keyName or an existing key's name; replaces" },
	{ .name = "iamInstanceProfile", .kind = FUGUE_KIND_REF, .ref_types = "AWS.IAM.InstanceProfile",
	  .doc = "an instance profile's name or ARN: !ref PROFILE.name or .arn, or an existing "
	         "profile's; replaces" },
	{ .name = "userData", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_WRITE_ONLY,
	  .doc = "the user data as text (base64-encoded for EC2, at most 16 KiB); replaces" },
	{ .name = "rootVolume", .kind = FUGUE_KIND_OBJECT, .fields = root_volume_fields,
	  .doc = "the root EBS volume's size and type; replaces" },
	{ .name = "ebsOptimized", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "false", .doc = "EBS-optimized; in place by stop, modify, start" },
	{ .name = "sourceDestCheck", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "true", .doc = "false for NAT or routing instances; in place" },
	{ .name = "privateIpAddress", .kind = FUGUE_KIND_STRING,
	  .doc = "a fixed private IPv4 address in the subnet; replaces" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item,
	  .doc = "tags besides Fugue's own (also put on the root volume)" },
	{ .name = NULL },
};

static const fugue_attr instance_attrs[] = {
	{ "arn", "arn:aws:ec2:REGION:ACCOUNT:instance/ID" },
	{ "privateIp", "the primary private IPv4 address" },
	{ "publicIp", "the public IPv4 address, when it has one" },
	{ "privateDnsName", "the private DNS name" },
	{ "publicDnsName", "the public DNS name, when it has one" },
	{ "availabilityZone", "the instance's zone (for volumes to attach)" },
	{ NULL, NULL },
};

/* --- validation -------------------------------------------------------------- */

/* Nonzero for a dotted-quad IPv4 address. */
static int ipv4_ok(const char *s)
{
	char cidr[32];
	uint32_t addr;
	int prefix;

	if (strlen(s) > 15)
		return 0;
	snprintf(cidr, sizeof(cidr), "%s/32", s);
	return fugue_kit_cidr_parse(cidr, &addr, &prefix) == 0;
}

static int instance_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *user_data = fugue_kit_str(props, "userData");
	const char *ip = fugue_kit_str(props, "privateIpAddress");
	const struct json_object *root = fugue_kit_get(props, "rootVolume");
	const char *cidr;
	int bad = 0;

	if (user_data && strlen(user_data) > USER_DATA_MAX) {
		ctx->host->report(ctx, "userData", "user data is %zu bytes; EC2 takes at most %d",
		                  strlen(user_data), USER_DATA_MAX);
		bad++;
	}
	if (ip && !ipv4_ok(ip)) {
		ctx->host->report(ctx, "privateIpAddress", "'%s' is not an IPv4 address", ip);
		bad++;
	} else if (ip && (cidr = fugue_kit_declared_str(ctx, fugue_kit_get(props, "subnet"),
	                                                 "cidrBlock")) != NULL) {
		char host[32];

		snprintf(host, sizeof(host), "%s/32", ip);
		if (!fugue_kit_cidr_contains(cidr, host)) {
			ctx->host->report(ctx, "privateIpAddress", "%s is not in the subnet's %s",
			                  ip, cidr);
			bad++;
		}
	}
	if (root)
		bad += fugue_ec2_check_ebs(ctx, "rootVolume.", fugue_kit_str(root, "volumeType"),
		                           fugue_kit_int(root, "size", -1), -1);
	return bad ? FUGUE_EINVAL : 0;
}

/* --- state ------------------------------------------------------------------- */

static struct json_object *group_ids(const struct json_object *d)
{
	struct json_object *ids = json_object_new_array();
	struct json_object *set = fugue_aws_list(d, "groupSet");
	size_t i;
	size_t n = set ? json_object_array_length(set) : 0;

	for (i = 0; i < n; i++) {
		const char *g = fugue_aws_get_string(json_object_array_get_idx(set, i), "groupId");

		if (g)
			json_object_array_add(ids, json_object_new_string(g));
	}
	return ids;
}

/* D is an element of a reservation's instancesSet with the reservation's
 * ownerId copied in (see add_instances()). */
static struct json_object *instance_state(fugue_ctx *ctx, const struct json_object *d)
{
	struct json_object *props = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	const char *id = fugue_aws_get_string(d, "instanceId");
	const char *owner = fugue_aws_get_string(d, "ownerId");
	char arn[256];

	fugue_kit_put(props, "imageId", fugue_kit_aws_str(d, "imageId"));
	fugue_kit_put(props, "instanceType", fugue_kit_aws_str(d, "instanceType"));
	fugue_kit_put(props, "subnet", fugue_kit_aws_str(d, "subnetId"));
	fugue_kit_put(props, "securityGroups", group_ids(d));
	fugue_kit_put(props, "keyName", fugue_kit_aws_str(d, "keyName"));
	fugue_kit_put(props, "iamInstanceProfile", fugue_kit_aws_str(d, "iamInstanceProfile.arn"));
	fugue_kit_put(props, "ebsOptimized", fugue_kit_aws_bool(d, "ebsOptimized"));
	fugue_kit_put(props, "sourceDestCheck", fugue_kit_aws_bool(d, "sourceDestCheck"));
	fugue_kit_put(props, "privateIpAddress", fugue_kit_aws_str(d, "privateIpAddress"));
	fugue_kit_put(props, "tags", fugue_ec2_user_tags(d));
	if (owner && ctx->region) {
		fugue_ec2_arn(arn, sizeof(arn), ctx->region, owner, "instance", id);
		fugue_kit_put(attrs, "arn", json_object_new_string(arn));
	}
	fugue_kit_put(attrs, "privateIp", fugue_kit_aws_str(d, "privateIpAddress"));
	fugue_kit_put(attrs, "publicIp", fugue_kit_aws_str(d, "ipAddress"));
	fugue_kit_put(attrs, "privateDnsName", fugue_kit_aws_str(d, "privateDnsName"));
	fugue_kit_put(attrs, "publicDnsName", fugue_kit_aws_str(d, "dnsName"));
	fugue_kit_put(attrs, "availabilityZone",
	              fugue_kit_aws_str(d, "placement.availabilityZone"));
	return fugue_kit_state(id, props, attrs);
}

static int has_state(const struct json_object *d, const char *name)
{
	const char *s = fugue_aws_get_string(d, "instanceState.name");

	return s && strcmp(s, name) == 0;
}

/* Terminated and shutting-down instances are gone. */
static int instance_gone(const struct json_object *d)
{
	return has_state(d, "terminated") || has_state(d, "shutting-down");
}

/* The instances of RESERVATION appended to INSTANCES, each a copy with the
 * reservation's ownerId (for the ARN). */
static void add_instances(struct json_object *instances, const struct json_object *reservation)
{
	struct json_object *set = fugue_aws_list(reservation, "instancesSet");
	const char *owner = fugue_aws_get_string(reservation, "ownerId");
	size_t j;

	for (j = 0; j < fugue_kit_len(set); j++) {
		struct json_object *inst = fugue_kit_copy(fugue_kit_at(set, j));

		if (!inst)
			continue;
		if (owner && !fugue_kit_get(inst, "ownerId"))
			fugue_kit_put_str(inst, "ownerId", owner);
		json_object_array_add(instances, inst);
	}
}

/* observe() matches instances (flattened by add_instances), not reservations. */
static const fugue_ec2_kind instance_kind = {
	.noun = "instance", .action = "DescribeInstances", .result_key = "reservationSet",
	.id_param = "instance-id", .id_key = "instanceId", .make_state = instance_state,
	.skip = instance_gone,
};

/* Describing one instance by id answers its reservation. */
static const fugue_ec2_kind reservation_kind = {
	.noun = "instance", .action = "DescribeInstances", .result_key = "reservationSet",
	.id_param = "InstanceId",
};

/* --- calls and waits ------------------------------------------------------------ */

/* DescribeInstances of ID: 0 and *OUT (caller's, with its reservation's
 * ownerId); FUGUE_ENOTFOUND (also when terminated), not recorded; or
 * another error, recorded. */
static int describe_instance(struct json_object **out, fugue_ctx *ctx, const char *id)
{
	struct json_object *reservation = NULL;
	struct json_object *all = json_object_new_array();
	int rc = fugue_ec2_describe_one(&reservation, ctx, &reservation_kind, id);

	*out = NULL;
	if (rc == 0 && !all)
		rc = FUGUE_ENOMEM;
	if (rc == 0) {
		add_instances(all, reservation);
		*out = json_object_get(fugue_kit_at(all, 0));
		if (*out && has_state(*out, "terminated")) {
			json_object_put(*out);
			*out = NULL;
		}
		rc = *out ? 0 : FUGUE_ENOTFOUND;
	}
	json_object_put(reservation);
	json_object_put(all);
	return rc;
}

struct inst_wait {
	const char *id;
	const char *goal;          /* "running", "stopped", "terminated" */
	int after_create;          /* NotFound is "not yet" */
	struct json_object *found; /* the last description (owned) */
};

static int poll_instance(fugue_ctx *ctx, void *arg, int *done)
{
	struct inst_wait *w = arg;
	int terminate = strcmp(w->goal, "terminated") == 0;
	int rc;

	json_object_put(w->found);
	rc = describe_instance(&w->found, ctx, w->id);
	*done = 0;
	if (rc == FUGUE_ENOTFOUND && terminate) {
		*done = 1;
		return 0;
	}
	if (rc == FUGUE_ENOTFOUND && !w->after_create)
		ctx->host->fail(ctx, rc, NULL, "instance %s no longer exists", w->id);
	if (rc != 0)
		return rc;
	*done = has_state(w->found, w->goal);
	if (!terminate && instance_gone(w->found)) {
		const char *why = fugue_aws_get_string(w->found, "stateReason.message");

		ctx->host->fail(ctx, FUGUE_EAWS, NULL, "instance %s is %s (%s)", w->id,
		                fugue_aws_get_string(w->found, "instanceState.name"),
		                why ? why : "no reason");
		return FUGUE_EAWS;
	}
	return 0;
}

/* Waits for instance ID to be GOAL; *FOUND (may be NULL) gets the last
 * description (caller's). */
static int wait_instance(struct json_object **found, fugue_ctx *ctx, const char *id,
                         const char *goal, int after_create)
{
	struct inst_wait w = { id, goal, after_create, NULL };
	char text[128];
	fugue_kit_wait wait = { .what = text, .deadline_ms = 600000,
	                        .notfound_is_wait = after_create };
	int rc;

	snprintf(text, sizeof(text), "instance %s to be %s", id, goal);
	ctx->host->progress(ctx, "waiting for %s", text);
	rc = fugue_kit_wait_for(ctx, &wait, poll_instance, &w);
	if (found && rc == 0)
		*found = w.found;
	else
		json_object_put(w.found);
	return rc;
}

/* StopInstances / StartInstances of ID. */
static int start_stop(fugue_ctx *ctx, const char *action, const char *id)
{
	struct json_object *params = json_object_new_object();

	fugue_ec2_put_id(params, "InstanceId", id);
	return fugue_ec2_do(ctx, action, params);
}

/* ModifyInstanceAttribute of one attribute ATTR = {"Value": V} (V
 * transferred): EC2 takes one attribute per call. */
static int modify_attr(fugue_ctx *ctx, const char *id, const char *attr, struct json_object *v)
{
	return fugue_ec2_set_attribute(ctx, "ModifyInstanceAttribute", "InstanceId", id, attr, v);
}

/* --- create ------------------------------------------------------------------- */

/* The root device name of IMAGE ("/dev/xvda", "/dev/sda1"), which a block
 * device mapping for the root volume must name. Caller frees. */
static char *root_device(fugue_ctx *ctx, const char *image)
{
	struct json_object *params = json_object_new_object();
	struct json_object *res = NULL;
	const char *name;
	char *out = NULL;

	fugue_ec2_put_id(params, "ImageId", image);
	if (fugue_ec2_call(&res, ctx, "DescribeImages", params) == 0) {
		name = fugue_aws_get_string(res, "imagesSet.0.rootDeviceName");
		out = strdup(name ? name : "/dev/xvda");
	}
	json_object_put(params);
	json_object_put(res);
	return out;
}

static int add_root_volume(fugue_ctx *ctx, struct json_object *params,
                           const struct json_object *root, const char *image)
{
	struct json_object *mappings;
	struct json_object *mapping;
	struct json_object *ebs;
	char *device;

	if (!root)
		return 0;
	device = root_device(ctx, image);
	if (!device)
		return FUGUE_EAWS;
	ebs = json_object_new_object();
	if (fugue_kit_get(root, "size"))
		json_object_object_add(ebs, "VolumeSize",
		                       json_object_new_int64(fugue_kit_int(root, "size", 8)));
	fugue_kit_put_str(ebs, "VolumeType", fugue_kit_str(root, "volumeType"));
	json_object_object_add(ebs, "DeleteOnTermination", json_object_new_boolean(1));
	mapping = json_object_new_object();
	fugue_kit_put_str(mapping, "DeviceName", device);
	json_object_object_add(mapping, "Ebs", ebs);
	mappings = json_object_new_array();
	json_object_array_add(mappings, mapping);
	json_object_object_add(params, "BlockDeviceMapping", mappings);
	free(device);
	return 0;
}

/* The RunInstances parameters for PROPS, or NULL after fail(). Caller's. */
static struct json_object *run_params(fugue_ctx *ctx, const struct json_object *props)
{
	struct json_object *params = json_object_new_object();
	const char *image = fugue_kit_str(props, "imageId");
	const char *user_data = fugue_kit_str(props, "userData");
	const char *profile = fugue_kit_str(props, "iamInstanceProfile");
	const struct json_object *groups = fugue_kit_get(props, "securityGroups");

	fugue_kit_put_str(params, "ImageId", image);
	fugue_kit_put_str(params, "InstanceType", fugue_kit_str(props, "instanceType"));
	json_object_object_add(params, "MinCount", json_object_new_int(1));
	json_object_object_add(params, "MaxCount", json_object_new_int(1));
	fugue_kit_put_str(params, "ClientToken", ctx->client_token);
	fugue_kit_put_str(params, "SubnetId", fugue_kit_str(props, "subnet"));
	if (groups && json_object_array_length(groups) > 0)
		json_object_object_add(params, "SecurityGroupId", fugue_kit_copy(groups));
	fugue_kit_put_str(params, "KeyName", fugue_kit_str(props, "keyName"));
	fugue_kit_put_str(params, "PrivateIpAddress", fugue_kit_str(props, "privateIpAddress"));
	if (profile) {
		struct json_object *spec = json_object_new_object();

		const char *key = strncmp(profile, "arn:", 4) == 0 ? "Arn" : "Name";

		fugue_kit_put_str(spec, key, profile);
		json_object_object_add(params, "IamInstanceProfile", spec);
	}
	if (user_data) {
		char *b64 = fugue_kit_base64(user_data, strlen(user_data));

		fugue_kit_put_str(params, "UserData", b64);
		free(b64);
	}
	if (fugue_kit_bool(props, "ebsOptimized", 0))
		json_object_object_add(params, "EbsOptimized", json_object_new_boolean(1));
	if (add_root_volume(ctx, params, fugue_kit_get(props, "rootVolume"), image) != 0) {
		json_object_put(params);
		return NULL;
	}
	/* The root volume carries our tags too, so that it is found and counted. */
	fugue_ec2_tag_spec(params, "instance", ctx, fugue_kit_get(props, "tags"));
	fugue_ec2_tag_spec(params, "volume", ctx, fugue_kit_get(props, "tags"));
	return params;
}

static int instance_create(fugue_ctx *ctx, const struct json_object *props,
                           struct json_object **out)
{
	struct json_object *params = run_params(ctx, props);
	struct json_object *found = NULL;
	char id[64];
	int rc;

	*out = NULL;
	if (!params)
		return FUGUE_EAWS;
	rc = fugue_ec2_create(id, sizeof(id), ctx, "RunInstances", params,
	                      "instancesSet.0.instanceId");
	json_object_put(params);
	if (rc != 0)
		return rc;
	rc = wait_instance(&found, ctx, id, "running", 1);
	/* sourceDestCheck is not a RunInstances parameter. */
	if (rc == 0 && !fugue_kit_bool(props, "sourceDestCheck", 1))
		rc = modify_attr(ctx, id, "SourceDestCheck", json_object_new_boolean(0));
	json_object_put(found);
	found = NULL;
	/* What exists is handed back even after a failure, so it is not orphaned. */
	if (describe_instance(&found, ctx, id) == 0) {
		*out = instance_state(ctx, found);
		fugue_kit_fix_tags(ctx, *out, props);
	} else {
		*out = fugue_kit_state(id, NULL, NULL);
	}
	json_object_put(found);
	return rc;
}

/* --- update ------------------------------------------------------------------- */

/* instanceType and ebsOptimized: only a stopped instance takes them. Stops
 * it when running, modifies, and starts it again even when the modification
 * failed (an instance is not left stopped by us). */
static int stop_modify_start(fugue_ctx *ctx, const char *id, const struct json_object *cur,
                             const struct json_object *props, const struct json_object *changed)
{
	int was_running = !has_state(cur, "stopped");
	int rc = 0;
	int rc2;

	if (was_running) {
		ctx->host->progress(ctx, "stopping %s to change its type", id);
		rc = start_stop(ctx, "StopInstances", id);
		if (rc == 0)
			rc = wait_instance(NULL, ctx, id, "stopped", 0);
		if (rc != 0)
			return rc;
	}
	if (fugue_kit_has_string(changed, "instanceType"))
		rc = modify_attr(ctx, id, "InstanceType",
		                 json_object_new_string(fugue_kit_str(props, "instanceType")));
	if (rc == 0 && fugue_kit_has_string(changed, "ebsOptimized"))
		rc = modify_attr(ctx, id, "EbsOptimized",
		                 json_object_new_boolean(fugue_kit_bool(props, "ebsOptimized", 0)));
	if (!was_running)
		return rc;
	rc2 = start_stop(ctx, "StartInstances", id);
	if (rc2 == 0)
		rc2 = wait_instance(NULL, ctx, id, "running", 0);
	return rc ? rc : rc2;
}

static int set_groups(fugue_ctx *ctx, const char *id, const struct json_object *groups)
{
	struct json_object *params = json_object_new_object();

	fugue_kit_put_str(params, "InstanceId", id);
	json_object_object_add(params, "GroupId",
	                       groups ? fugue_kit_copy(groups) : json_object_new_array());
	return fugue_ec2_do(ctx, "ModifyInstanceAttribute", params);
}

static int instance_update(fugue_ctx *ctx, const struct json_object *state,
                           const struct json_object *props, const struct json_object *changed,
                           struct json_object **out)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *cur = NULL;
	int rc;

	*out = NULL;
	rc = describe_instance(&cur, ctx, id);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "instance %s no longer exists", id);
	if (rc != 0)
		return rc;
	if (fugue_kit_has_string(changed, "tags"))
		rc = fugue_ec2_sync_tags(ctx, id, fugue_aws_list(cur, "tagSet"),
		                         fugue_kit_get(props, "tags"));
	if (rc == 0 && fugue_kit_has_string(changed, "securityGroups") &&
	    fugue_kit_get(props, "securityGroups"))
		rc = set_groups(ctx, id, fugue_kit_get(props, "securityGroups"));
	if (rc == 0 && fugue_kit_has_string(changed, "sourceDestCheck"))
		rc = modify_attr(ctx, id, "SourceDestCheck", json_object_new_boolean(
		                         fugue_kit_bool(props, "sourceDestCheck", 1)));
	if (rc == 0 && (fugue_kit_has_string(changed, "instanceType") ||
	                fugue_kit_has_string(changed, "ebsOptimized")))
		rc = stop_modify_start(ctx, id, cur, props, changed);
	json_object_put(cur);
	cur = NULL;
	if (rc == 0)
		rc = describe_instance(&cur, ctx, id);
	if (rc == 0) {
		*out = instance_state(ctx, cur);
		fugue_kit_fix_tags(ctx, *out, props);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(cur);
	return rc;
}

/* --- remove, observe ------------------------------------------------------------ */

static int instance_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *id = fugue_kit_str(state, "id");
	struct json_object *params = json_object_new_object();
	int rc;

	fugue_ec2_put_id(params, "InstanceId", id);
	rc = fugue_ec2_delete(ctx, "TerminateInstances", params);
	json_object_put(params);
	return rc ? rc : wait_instance(NULL, ctx, id, "terminated", 0);
}

/* Nonzero when INSTANCES holds a live instance with id ID. */
static int listed(const struct json_object *instances, const char *id)
{
	size_t i;
	size_t n = json_object_array_length(instances);

	for (i = 0; i < n; i++) {
		const struct json_object *d = json_object_array_get_idx(instances, i);
		const char *has = fugue_aws_get_string(d, "instanceId");

		if (has && strcmp(has, id) == 0 && !instance_gone(d))
			return 1;
	}
	return 0;
}

/* DescribeInstances filtered by FILTER = VALUES (an array of strings), the
 * instances appended to INSTANCES. Failures recorded. */
static int describe_into(struct json_object *instances, fugue_ctx *ctx, const char *filter,
                         const struct json_object *values)
{
	struct json_object *params = json_object_new_object();
	struct json_object *reservations = NULL;
	size_t i;
	int rc;

	for (i = 0; i < fugue_kit_len(values); i++)
		fugue_ec2_filter(params, filter, fugue_kit_as_str(fugue_kit_at(values, i)));
	rc = fugue_ec2_describe(&reservations, ctx, "DescribeInstances", params, "reservationSet");
	json_object_put(params);
	for (i = 0; rc == 0 && i < fugue_kit_len(reservations); i++)
		add_instances(instances, fugue_kit_at(reservations, i));
	json_object_put(reservations);
	return rc;
}

/* DescribeInstances answers reservations, not instances, so this is
 * fugue_ec2_observe() with the reservations flattened first: one Describe
 * by tag:fugue:fid, and one by instance-id (a filter, which unlike the
 * InstanceId parameter does not fail on an id that is gone) for recorded
 * ids the first did not find (an instance whose tags were removed). */
static int instance_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	struct json_object *instances = json_object_new_array();
	struct json_object *fid = json_object_new_array();
	struct json_object *missing = json_object_new_array();
	size_t i;
	int rc;

	json_object_array_add(fid, json_object_new_string(ctx->fid));
	rc = describe_into(instances, ctx, "tag:fugue:fid", fid);
	json_object_put(fid);
	for (i = 0; rc == 0 && i < n; i++) {
		if (items[i].id && !listed(instances, items[i].id))
			json_object_array_add(missing, json_object_new_string(items[i].id));
	}
	if (rc == 0 && json_object_array_length(missing) > 0)
		rc = describe_into(instances, ctx, "instance-id", missing);
	if (rc == 0)
		rc = fugue_ec2_match(ctx, items, n, instances, &instance_kind);
	json_object_put(missing);
	json_object_put(instances);
	return rc;
}

/* --- comparing ------------------------------------------------------------------ */

/* Every string of A is in B. */
static int subset(const struct json_object *a, const struct json_object *b)
{
	size_t i;
	size_t n = json_object_array_length(a);

	for (i = 0; i < n; i++) {
		if (!fugue_kit_has_string(b, json_object_get_string(fugue_kit_at(a, i))))
			return 0;
	}
	return 1;
}

/* securityGroups are a set (EC2 lists them in its own order); an instance
 * profile may be declared by name and is observed as an ARN
 * (arn:aws:iam::ACCOUNT:instance-profile/PATH/NAME). */
static int instance_compare(const char *name, const struct json_object *a,
                            const struct json_object *b)
{
	if (strcmp(name, "securityGroups") == 0 && json_object_is_type(a, json_type_array) &&
	    json_object_is_type(b, json_type_array))
		return subset(a, b) && subset(b, a);
	if (strcmp(name, "iamInstanceProfile") == 0 && json_object_is_type(a, json_type_string) &&
	    json_object_is_type(b, json_type_string)) {
		const char *decl = json_object_get_string(fugue_kit_unconst(a));
		const char *arn = json_object_get_string(fugue_kit_unconst(b));
		const char *slash = strrchr(arn, '/');

		if (strcmp(decl, arn) == 0)
			return 1;
		return strncmp(decl, "arn:", 4) != 0 && slash && strcmp(slash + 1, decl) == 0;
	}
	return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
}

const fugue_type_ops fugue_ec2_instance = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.EC2.Instance",
	.doc = "one EC2 instance in a subnet",
	.props = instance_props,
	.attrs = instance_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = instance_validate,
	.create = instance_create,
	.update = instance_update,
	.remove = instance_remove,
	.observe = instance_observe,
	.compare = instance_compare,
};
