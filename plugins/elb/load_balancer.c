/* load_balancer.c - AWS.ELB.LoadBalancer: a classic load balancer.
 *
 * The name and the scheme replace (AWS changes neither). In place: subnets
 * (Attach/DetachLoadBalancerToSubnets), zones (Enable/Disable...), security
 * groups (ApplySecurityGroupsToLoadBalancer), listeners diffed by port
 * (Delete/CreateLoadBalancerListeners), the health check
 * (ConfigureHealthCheck), instances (Register/Deregister...), attributes
 * (ModifyLoadBalancerAttributes) and tags (AddTags/RemoveTags). The state's
 * id is the name. Lists are compared as sets (compare()): AWS keeps no
 * order. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "planner_kit.h"
#include "types.h"

#define NAME_MAX_LEN 32

static const char *const schemes[] = { "internet-facing", "internal", NULL };
static const char *const protocols[] = { "HTTP", "HTTPS", "TCP", "SSL", NULL };

static const fugue_prop subnet_item[] = {
	{ .name = "subnet", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.Subnet" },
};
static const fugue_prop group_item[] = {
	{ .name = "group", .kind = FUGUE_KIND_REF, .ref_types = "AWS.VPC.SecurityGroup" },
};
static const fugue_prop instance_item[] = {
	{ .name = "instance", .kind = FUGUE_KIND_REF, .ref_types = "AWS.EC2.Instance" },
};

static const fugue_prop listener_fields[] = {
	{ .name = "protocol", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .enum_values = protocols, .doc = "the front end's protocol" },
	{ .name = "loadBalancerPort", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the port clients connect to (identifies the listener)" },
	{ .name = "instanceProtocol", .kind = FUGUE_KIND_STRING, .enum_values = protocols,
	  .doc = "the back end's protocol (default: as protocol)" },
	{ .name = "instancePort", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the instances' port" },
	{ .name = "sslCertificateId", .kind = FUGUE_KIND_STRING,
	  .doc = "the certificate's ARN (HTTPS and SSL)" },
	{ .name = NULL },
};
static const fugue_prop listener_item[] = {
	{ .name = "listener", .kind = FUGUE_KIND_OBJECT, .fields = listener_fields },
};

static const fugue_prop health_fields[] = {
	{ .name = "target", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "PROTOCOL:PORT[/PATH], e.g. HTTP:80/health" },
	{ .name = "interval", .kind = FUGUE_KIND_INT,
	  .doc = "seconds between checks (default 30)" },
	{ .name = "timeout", .kind = FUGUE_KIND_INT, .doc = "seconds per check (default 5)" },
	{ .name = "unhealthyThreshold", .kind = FUGUE_KIND_INT, .doc = "failures (default 2)" },
	{ .name = "healthyThreshold", .kind = FUGUE_KIND_INT, .doc = "successes (default 10)" },
	{ .name = NULL },
};

static const fugue_prop draining_fields[] = {
	{ .name = "enabled", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "timeout", .kind = FUGUE_KIND_INT, .doc = "seconds (default 300)" },
	{ .name = NULL },
};

static const fugue_prop access_log_fields[] = {
	{ .name = "enabled", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "s3BucketName", .kind = FUGUE_KIND_STRING },
	{ .name = "emitInterval", .kind = FUGUE_KIND_INT, .doc = "5 or 60 minutes" },
	{ .name = "s3BucketPrefix", .kind = FUGUE_KIND_STRING },
	{ .name = NULL },
};

static const fugue_prop lb_props[] = {
	{ .name = "loadBalancerName", .kind = FUGUE_KIND_STRING,
	  .doc = "1-32 of [a-zA-Z0-9-] (default: the resource's name and a process suffix); "
	         "replaces" },
	{ .name = "subnets", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .items = subnet_item, .doc = "subnets, one per zone (VPC); or availabilityZones" },
	{ .name = "availabilityZones", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "zones (EC2-Classic style); or subnets" },
	{ .name = "securityGroups", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .items = group_item, .doc = "security groups (VPC)" },
	{ .name = "scheme", .kind = FUGUE_KIND_STRING, .default_json = "\"internet-facing\"",
	  .enum_values = schemes, .doc = "internet-facing or internal; replaces" },
	{ .name = "listeners", .kind = FUGUE_KIND_LIST,
	  .flags = FUGUE_PROP_REQUIRED | FUGUE_PROP_UPDATABLE, .items = listener_item,
	  .doc = "listeners, one per loadBalancerPort" },
	{ .name = "healthCheck", .kind = FUGUE_KIND_OBJECT, .flags = FUGUE_PROP_UPDATABLE,
	  .fields = health_fields, .doc = "how instances are checked" },
	{ .name = "instances", .kind = FUGUE_KIND_LIST, .flags = FUGUE_PROP_UPDATABLE,
	  .items = instance_item, .doc = "registered instances" },
	{ .name = "crossZone", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .doc = "cross-zone load balancing" },
	{ .name = "idleTimeout", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE,
	  .doc = "idle connection timeout, seconds (1-4000; AWS's default 60)" },
	{ .name = "connectionDraining", .kind = FUGUE_KIND_OBJECT, .flags = FUGUE_PROP_UPDATABLE,
	  .fields = draining_fields, .doc = "connection draining" },
	{ .name = "accessLog", .kind = FUGUE_KIND_OBJECT, .flags = FUGUE_PROP_UPDATABLE,
	  .fields = access_log_fields, .doc = "access logs to S3" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = fugue_kit_string_item, .doc = "tags besides Fugue's own" },
	{ .name = NULL },
};

static const fugue_attr lb_attrs[] = {
	{ "name", "the load balancer's name (also its id)" },
	{ "dnsName", "its DNS name" },
	{ "canonicalHostedZoneNameId", "the Route 53 zone of its DNS name (alias records)" },
	{ NULL, NULL },
};

/* --- the name -------------------------------------------------------------------------- */

/* The load balancer's name: declared, else RESOURCE's letters, digits and
 * dashes (at most 23) + "-" + 8 hex digits of the creation's client token:
 * at most 32 characters, the same for every retry of one creation, and
 * another for a replacement (AWS names are unique and the name is the id:
 * a replacement must not come back with the id it replaces). */
static void lb_name(char *buf, size_t size, const fugue_ctx *ctx,
                    const struct json_object *props)
{
	const char *declared = fugue_kit_str(props, "loadBalancerName");
	const char *p;
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t n = 0;

	if (declared) {
		snprintf(buf, size, "%s", declared);
		return;
	}
	for (p = ctx->resource ? ctx->resource : "lb"; *p && n < 23 && n + 1 < size; p++)
		if (isalnum((unsigned char)*p) || (*p == '-' && n > 0 && buf[n - 1] != '-'))
			buf[n++] = *p;
	while (n > 0 && buf[n - 1] == '-')
		n--;
	if (n == 0)
		n = (size_t)snprintf(buf, size, "lb");
	for (p = ctx->client_token ? ctx->client_token : (ctx->fid ? ctx->fid : ""); *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	snprintf(buf + n, size - n, "-%08x", (unsigned)h);
}

/* --- validate -------------------------------------------------------------------------- */

static int valid_name(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > NAME_MAX_LEN || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

static int validate_listeners(fugue_ctx *ctx, const struct json_object *listeners)
{
	size_t i, j, n = fugue_kit_len(listeners);
	char path[64];
	int bad = 0;

	if (n == 0) {
		ctx->host->report(ctx, "listeners", "a load balancer needs at least one listener");
		return 1;
	}
	for (i = 0; i < n; i++) {
		const struct json_object *l = fugue_kit_at(listeners, i);
		int64_t port = fugue_kit_int(l, "loadBalancerPort", 0);
		int64_t iport = fugue_kit_int(l, "instancePort", 0);
		const char *proto = fugue_kit_str(l, "protocol");

		snprintf(path, sizeof(path), "listeners.%zu", i);
		if (port < 1 || port > 65535 || iport < 1 || iport > 65535) {
			ctx->host->report(ctx, path, "ports must be 1 to 65535");
			bad = 1;
		}
		if (proto && (!strcmp(proto, "HTTPS") || !strcmp(proto, "SSL")) &&
		    !fugue_kit_str(l, "sslCertificateId")) {
			ctx->host->report(ctx, path, "an %s listener needs sslCertificateId",
			                  proto);
			bad = 1;
		}
		for (j = 0; j < i; j++)
			if (fugue_kit_int(fugue_kit_at(listeners, j), "loadBalancerPort", -1) ==
			    port) {
				ctx->host->report(ctx, path, "two listeners on port %lld",
				                  (long long)port);
				bad = 1;
			}
	}
	return bad;
}

static int validate_health(fugue_ctx *ctx, const struct json_object *hc)
{
	const char *target = fugue_kit_str(hc, "target");
	int64_t interval = fugue_kit_int(hc, "interval", 30);
	int64_t timeout = fugue_kit_int(hc, "timeout", 5);
	int64_t h = fugue_kit_int(hc, "healthyThreshold", 10);
	int64_t u = fugue_kit_int(hc, "unhealthyThreshold", 2);
	int bad = 0;

	if (!hc)
		return 0;
	if (target && (!strchr(target, ':') ||
	               (strncmp(target, "HTTP:", 5) && strncmp(target, "HTTPS:", 6) &&
	                strncmp(target, "TCP:", 4) && strncmp(target, "SSL:", 4)))) {
		ctx->host->report(ctx, "healthCheck.target",
		                  "expected PROTOCOL:PORT[/PATH] (HTTP, HTTPS, TCP, SSL), not '%s'",
		                  target);
		bad = 1;
	}
	if (interval < 5 || interval > 300 || timeout < 2 || timeout > 60 || timeout >= interval) {
		ctx->host->report(ctx, "healthCheck", "interval must be 5-300 s, timeout 2-60 s "
		                  "and less than the interval");
		bad = 1;
	}
	if (h < 2 || h > 10 || u < 2 || u > 10) {
		ctx->host->report(ctx, "healthCheck", "thresholds must be 2 to 10");
		bad = 1;
	}
	return bad;
}

static int lb_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const struct json_object *subnets = fugue_kit_get(props, "subnets");
	const struct json_object *zones = fugue_kit_get(props, "availabilityZones");
	const struct json_object *log = fugue_kit_get(props, "accessLog");
	const char *name = fugue_kit_str(props, "loadBalancerName");
	int64_t idle = fugue_kit_int(props, "idleTimeout", 60);
	size_t i;
	int bad = 0;

	if (name && !valid_name(name)) {
		ctx->host->report(ctx, "loadBalancerName", "1 to 32 letters, digits and dashes, "
		                  "not starting or ending with a dash");
		bad = 1;
	}
	if (fugue_kit_len(subnets) > 0 && fugue_kit_len(zones) > 0) {
		ctx->host->report(ctx, "availabilityZones", "give subnets or availabilityZones, "
		                  "not both");
		bad = 1;
	} else if (fugue_kit_len(subnets) == 0 && fugue_kit_len(zones) == 0) {
		ctx->host->report(ctx, NULL, "a load balancer needs subnets or availabilityZones");
		bad = 1;
	}
	for (i = 0; i < fugue_kit_len(zones); i++) {
		const char *az = fugue_kit_as_str(fugue_kit_at(zones, i));

		if (az && ctx->region && !fugue_kit_az_in_region(az, ctx->region)) {
			ctx->host->report(ctx, "availabilityZones",
			                  "'%s' is not a zone of region %s", az, ctx->region);
			bad = 1;
		}
	}
	if (fugue_kit_len(subnets) == 0 && fugue_kit_len(fugue_kit_get(props, "securityGroups"))) {
		ctx->host->report(ctx, "securityGroups", "security groups need subnets (a VPC)");
		bad = 1;
	}
	bad |= validate_listeners(ctx, fugue_kit_get(props, "listeners"));
	bad |= validate_health(ctx, fugue_kit_get(props, "healthCheck"));
	if (idle < 1 || idle > 4000) {
		ctx->host->report(ctx, "idleTimeout", "must be 1 to 4000 seconds");
		bad = 1;
	}
	if (fugue_kit_bool(log, "enabled", 0) && !fugue_kit_str(log, "s3BucketName")) {
		ctx->host->report(ctx, "accessLog", "an enabled access log needs s3BucketName");
		bad = 1;
	}
	if (fugue_kit_get(log, "emitInterval") && fugue_kit_int(log, "emitInterval", 0) != 5 &&
	    fugue_kit_int(log, "emitInterval", 0) != 60) {
		ctx->host->report(ctx, "accessLog.emitInterval", "must be 5 or 60 minutes");
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* --- state ------------------------------------------------------------------------------ */

/* A copy of the string list at PATH of D ([] when none). */
static struct json_object *str_list(const struct json_object *d, const char *path)
{
	struct json_object *list = fugue_aws_list(d, path);

	return list ? fugue_kit_copy(list) : json_object_new_array();
}

static struct json_object *listener_state(const struct json_object *l)
{
	struct json_object *o = json_object_new_object();

	fugue_kit_put(o, "protocol", fugue_kit_aws_str(l, "Protocol"));
	fugue_kit_put(o, "loadBalancerPort", fugue_kit_aws_int(l, "LoadBalancerPort"));
	fugue_kit_put(o, "instanceProtocol", fugue_kit_aws_str(l, "InstanceProtocol"));
	fugue_kit_put(o, "instancePort", fugue_kit_aws_int(l, "InstancePort"));
	fugue_kit_put(o, "sslCertificateId", fugue_kit_aws_str(l, "SSLCertificateId"));
	return o;
}

static struct json_object *props_of(const struct json_object *d, const struct json_object *tags,
                                    const struct json_object *a)
{
	struct json_object *props = json_object_new_object();
	struct json_object *listeners = json_object_new_array();
	struct json_object *instances = json_object_new_array();
	struct json_object *ls = fugue_aws_list(d, "ListenerDescriptions");
	struct json_object *is = fugue_aws_list(d, "Instances");
	struct json_object *hc = fugue_aws_get(d, "HealthCheck");
	size_t i;

	fugue_kit_put(props, "loadBalancerName", fugue_kit_aws_str(d, "LoadBalancerName"));
	fugue_kit_put(props, "subnets", str_list(d, "Subnets"));
	fugue_kit_put(props, "availabilityZones", str_list(d, "AvailabilityZones"));
	fugue_kit_put(props, "securityGroups", str_list(d, "SecurityGroups"));
	fugue_kit_put(props, "scheme", fugue_kit_aws_str(d, "Scheme"));
	for (i = 0; i < fugue_kit_len(ls); i++) {
		struct json_object *l = fugue_aws_get(fugue_kit_at(ls, i), "Listener");

		json_object_array_add(listeners, listener_state(l));
	}
	fugue_kit_put(props, "listeners", listeners);
	if (hc && json_object_is_type(hc, json_type_object)) {
		struct json_object *h = json_object_new_object();

		fugue_kit_put(h, "target", fugue_kit_aws_str(hc, "Target"));
		fugue_kit_put(h, "interval", fugue_kit_aws_int(hc, "Interval"));
		fugue_kit_put(h, "timeout", fugue_kit_aws_int(hc, "Timeout"));
		fugue_kit_put(h, "unhealthyThreshold", fugue_kit_aws_int(hc, "UnhealthyThreshold"));
		fugue_kit_put(h, "healthyThreshold", fugue_kit_aws_int(hc, "HealthyThreshold"));
		fugue_kit_put(props, "healthCheck", h);
	}
	for (i = 0; i < fugue_kit_len(is); i++) {
		const char *id = fugue_aws_get_string(fugue_kit_at(is, i), "InstanceId");

		if (id)
			json_object_array_add(instances, json_object_new_string(id));
	}
	fugue_kit_put(props, "instances", instances);
	if (a) {
		struct json_object *cd = json_object_new_object(), *al = json_object_new_object();

		fugue_kit_put(props, "crossZone",
		              fugue_kit_aws_bool(a, "CrossZoneLoadBalancing.Enabled"));
		fugue_kit_put(props, "idleTimeout",
		              fugue_kit_aws_int(a, "ConnectionSettings.IdleTimeout"));
		fugue_kit_put(cd, "enabled", fugue_kit_aws_bool(a, "ConnectionDraining.Enabled"));
		fugue_kit_put(cd, "timeout", fugue_kit_aws_int(a, "ConnectionDraining.Timeout"));
		fugue_kit_put(props, "connectionDraining", cd);
		fugue_kit_put(al, "enabled", fugue_kit_aws_bool(a, "AccessLog.Enabled"));
		fugue_kit_put(al, "s3BucketName", fugue_kit_aws_str(a, "AccessLog.S3BucketName"));
		fugue_kit_put(al, "emitInterval", fugue_kit_aws_int(a, "AccessLog.EmitInterval"));
		fugue_kit_put(al, "s3BucketPrefix",
		              fugue_kit_aws_str(a, "AccessLog.S3BucketPrefix"));
		fugue_kit_put(props, "accessLog", al);
	}
	if (tags)
		fugue_kit_put(props, "tags", fugue_kit_tags_map(tags, 1));
	return props;
}

/* The state of description D with its Tags array and attributes (both
 * may be NULL: not told), tags made comparable with DECLARED. */
static struct json_object *lb_state(fugue_ctx *ctx, const struct json_object *d,
                                    const struct json_object *tags, const struct json_object *a,
                                    const struct json_object *declared)
{
	struct json_object *attrs = json_object_new_object();
	struct json_object *state;

	fugue_kit_put(attrs, "name", fugue_kit_aws_str(d, "LoadBalancerName"));
	fugue_kit_put(attrs, "dnsName", fugue_kit_aws_str(d, "DNSName"));
	fugue_kit_put(attrs, "canonicalHostedZoneNameId",
	              fugue_kit_aws_str(d, "CanonicalHostedZoneNameID"));
	state = fugue_kit_state(fugue_aws_get_string(d, "LoadBalancerName"),
	                        props_of(d, tags, a), attrs);
	if (state && tags)
		fugue_kit_fix_tags(ctx, state, declared);
	return state;
}

/* The state of NAME now: Describe, DescribeTags, attributes. */
static int lb_read(struct json_object **out, fugue_ctx *ctx, const char *name,
                   const struct json_object *declared)
{
	struct json_object *d = NULL, *tags = NULL, *a = NULL;
	int rc;

	*out = NULL;
	rc = fugue_elb_describe_one(&d, ctx, name);
	if (rc == FUGUE_ENOTFOUND)
		ctx->host->fail(ctx, rc, NULL, "load balancer %s not found", name);
	if (rc == 0)
		rc = fugue_elb_describe_tags(&tags, ctx, &name, 1);
	if (rc == 0)
		rc = fugue_elb_attributes(&a, ctx, name);
	if (rc == 0) {
		*out = lb_state(ctx, d, fugue_kit_get(tags, name), a, declared);
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	json_object_put(d);
	json_object_put(tags);
	json_object_put(a);
	return rc;
}

/* --- calls ------------------------------------------------------------------------------ */

static struct json_object *name_params(const char *name)
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "LoadBalancerName", json_object_new_string(name));
	return p;
}

/* ACTION with LoadBalancerName = NAME and KEY = VALUE (transferred). */
static int lb_do(fugue_ctx *ctx, const char *action, const char *name, const char *key,
                 struct json_object *value)
{
	struct json_object *p = name_params(name);
	int rc;

	if (key)
		json_object_object_add(p, key, value);
	rc = fugue_elb_call(NULL, ctx, action, p);
	json_object_put(p);
	return rc;
}

static struct json_object *wire_listener(const struct json_object *l)
{
	struct json_object *o = json_object_new_object();
	const char *proto = fugue_kit_str(l, "protocol");
	const char *iproto = fugue_kit_str(l, "instanceProtocol");

	fugue_kit_put_str(o, "Protocol", proto);
	json_object_object_add(o, "LoadBalancerPort",
	                       json_object_new_int64(fugue_kit_int(l, "loadBalancerPort", 0)));
	fugue_kit_put_str(o, "InstanceProtocol", iproto ? iproto : proto);
	json_object_object_add(o, "InstancePort",
	                       json_object_new_int64(fugue_kit_int(l, "instancePort", 0)));
	fugue_kit_put_str(o, "SSLCertificateId", fugue_kit_str(l, "sslCertificateId"));
	return o;
}

/* [{"InstanceId": id}, ...] of the strings in IDS. */
static struct json_object *wire_instances(const struct json_object *ids)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < fugue_kit_len(ids); i++) {
		struct json_object *o = json_object_new_object();

		fugue_kit_put_str(o, "InstanceId", fugue_kit_as_str(fugue_kit_at(ids, i)));
		json_object_array_add(a, o);
	}
	return a;
}

/* The strings of A that are not in B (new array). */
static struct json_object *minus(const struct json_object *a, const struct json_object *b)
{
	struct json_object *out = json_object_new_array();
	size_t i;

	for (i = 0; i < fugue_kit_len(a); i++) {
		const char *s = fugue_kit_as_str(fugue_kit_at(a, i));

		if (s && !fugue_kit_has_string(b, s))
			json_object_array_add(out, json_object_new_string(s));
	}
	return out;
}

static int configure_health(fugue_ctx *ctx, const char *name, const struct json_object *hc)
{
	struct json_object *w = json_object_new_object();

	fugue_kit_put_str(w, "Target", fugue_kit_str(hc, "target"));
	json_object_object_add(w, "Interval",
	                       json_object_new_int64(fugue_kit_int(hc, "interval", 30)));
	json_object_object_add(w, "Timeout",
	                       json_object_new_int64(fugue_kit_int(hc, "timeout", 5)));
	json_object_object_add(w, "UnhealthyThreshold",
	                       json_object_new_int64(fugue_kit_int(hc, "unhealthyThreshold", 2)));
	json_object_object_add(w, "HealthyThreshold",
	                       json_object_new_int64(fugue_kit_int(hc, "healthyThreshold", 10)));
	return lb_do(ctx, "ConfigureHealthCheck", name, "HealthCheck", w);
}

/* ModifyLoadBalancerAttributes with the declared ones; nothing when none. */
static int modify_attributes(fugue_ctx *ctx, const char *name, const struct json_object *props)
{
	const struct json_object *cd = fugue_kit_get(props, "connectionDraining");
	const struct json_object *log = fugue_kit_get(props, "accessLog");
	struct json_object *a = json_object_new_object(), *o;

	if (fugue_kit_get(props, "crossZone")) {
		o = json_object_new_object();
		json_object_object_add(o, "Enabled", json_object_new_boolean(
		                       fugue_kit_bool(props, "crossZone", 0)));
		json_object_object_add(a, "CrossZoneLoadBalancing", o);
	}
	if (fugue_kit_get(props, "idleTimeout")) {
		o = json_object_new_object();
		json_object_object_add(o, "IdleTimeout", json_object_new_int64(
		                       fugue_kit_int(props, "idleTimeout", 60)));
		json_object_object_add(a, "ConnectionSettings", o);
	}
	if (cd) {
		o = json_object_new_object();
		json_object_object_add(o, "Enabled",
		                       json_object_new_boolean(fugue_kit_bool(cd, "enabled", 0)));
		if (fugue_kit_get(cd, "timeout"))
			json_object_object_add(o, "Timeout", json_object_new_int64(
			                       fugue_kit_int(cd, "timeout", 300)));
		json_object_object_add(a, "ConnectionDraining", o);
	}
	if (log) {
		o = json_object_new_object();
		json_object_object_add(o, "Enabled",
		                       json_object_new_boolean(fugue_kit_bool(log, "enabled", 0)));
		fugue_kit_put_str(o, "S3BucketName", fugue_kit_str(log, "s3BucketName"));
		if (fugue_kit_get(log, "emitInterval"))
			json_object_object_add(o, "EmitInterval", json_object_new_int64(
			                       fugue_kit_int(log, "emitInterval", 60)));
		fugue_kit_put_str(o, "S3BucketPrefix", fugue_kit_str(log, "s3BucketPrefix"));
		json_object_object_add(a, "AccessLog", o);
	}
	if (json_object_object_length(a) == 0) {
		json_object_put(a);
		return 0;
	}
	return lb_do(ctx, "ModifyLoadBalancerAttributes", name, "LoadBalancerAttributes", a);
}

/* Register / deregister the difference between WANT and HAVE (ids). */
static int sync_instances(fugue_ctx *ctx, const char *name, const struct json_object *want,
                          const struct json_object *have)
{
	struct json_object *add = minus(want, have), *del = minus(have, want);
	int rc = 0;

	if (fugue_kit_len(add) > 0)
		rc = lb_do(ctx, "RegisterInstancesWithLoadBalancer", name, "Instances",
		           wire_instances(add));
	if (rc == 0 && fugue_kit_len(del) > 0)
		rc = lb_do(ctx, "DeregisterInstancesFromLoadBalancer", name, "Instances",
		           wire_instances(del));
	json_object_put(add);
	json_object_put(del);
	return rc;
}

/* Attach what is new first, then detach what is gone (a load balancer in a
 * VPC keeps at least one subnet). */
static int sync_list(fugue_ctx *ctx, const char *name, const struct json_object *want,
                     const struct json_object *have, const char *attach, const char *detach,
                     const char *key)
{
	struct json_object *add = minus(want, have), *del = minus(have, want);
	int rc = 0;

	if (fugue_kit_len(add) > 0)
		rc = lb_do(ctx, attach, name, key, json_object_get(add));
	if (rc == 0 && fugue_kit_len(del) > 0)
		rc = lb_do(ctx, detach, name, key, json_object_get(del));
	json_object_put(add);
	json_object_put(del);
	return rc;
}

/* --- listeners ---------------------------------------------------------------------------- */

static int ieq(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

/* Whether observed listener O is declared listener D. */
static int listener_same(const struct json_object *d, const struct json_object *o)
{
	const char *ip = fugue_kit_str(d, "instanceProtocol");
	const char *cert = fugue_kit_str(d, "sslCertificateId");

	return fugue_kit_int(d, "loadBalancerPort", -1) ==
	               fugue_kit_int(o, "loadBalancerPort", -2) &&
	       fugue_kit_int(d, "instancePort", -1) == fugue_kit_int(o, "instancePort", -2) &&
	       ieq(fugue_kit_str(d, "protocol"), fugue_kit_str(o, "protocol")) &&
	       ieq(ip ? ip : fugue_kit_str(d, "protocol"), fugue_kit_str(o, "instanceProtocol")) &&
	       (!cert || fugue_kit_streq(cert, fugue_kit_str(o, "sslCertificateId")));
}

/* The listener of LIST on PORT, or NULL. */
static const struct json_object *listener_on(const struct json_object *list, int64_t port)
{
	size_t i;

	for (i = 0; i < fugue_kit_len(list); i++)
		if (fugue_kit_int(fugue_kit_at(list, i), "loadBalancerPort", -1) == port)
			return fugue_kit_at(list, i);
	return NULL;
}

/* Deletes the listeners of HAVE (observed) not declared alike in WANT, then
 * creates the declared ones not there. */
static int sync_listeners(fugue_ctx *ctx, const char *name, const struct json_object *want,
                          const struct json_object *have)
{
	struct json_object *del = json_object_new_array(), *add = json_object_new_array();
	size_t i;
	int rc = 0;

	for (i = 0; i < fugue_kit_len(have); i++) {
		const struct json_object *o = fugue_kit_at(have, i);
		int64_t port = fugue_kit_int(o, "loadBalancerPort", -1);
		const struct json_object *d = listener_on(want, port);

		if (!d || !listener_same(d, o))
			json_object_array_add(del, json_object_new_int64(port));
	}
	for (i = 0; i < fugue_kit_len(want); i++) {
		const struct json_object *d = fugue_kit_at(want, i);
		const struct json_object *o =
			listener_on(have, fugue_kit_int(d, "loadBalancerPort", -1));

		if (!o || !listener_same(d, o))
			json_object_array_add(add, wire_listener(d));
	}
	if (fugue_kit_len(del) > 0)
		rc = lb_do(ctx, "DeleteLoadBalancerListeners", name, "LoadBalancerPorts",
		           json_object_get(del));
	if (rc == 0 && fugue_kit_len(add) > 0)
		rc = lb_do(ctx, "CreateLoadBalancerListeners", name, "Listeners",
		           json_object_get(add));
	json_object_put(del);
	json_object_put(add);
	return rc;
}

/* --- create ------------------------------------------------------------------------------- */

struct create_call {
	const struct json_object *params;
	const char *name;
	int rc;
	fugue_aws_error err;
};

/* One CreateLoadBalancer: throttled (the 0.2/s bucket) is "not yet". */
static int poll_create(fugue_ctx *ctx, void *arg, int *done)
{
	struct create_call *c = arg;

	c->rc = fugue_elb_try(NULL, ctx, "CreateLoadBalancer", c->params, &c->err);
	*done = c->rc != FUGUE_ERETRY;
	if (!*done)
		ctx->host->progress(ctx, "CreateLoadBalancer throttled; waiting");
	return 0;
}

/* Whether the Tags array T says process FID's resource RESOURCE (NULL: any
 * of FID's). */
static int tagged_for(const struct json_object *t, const char *fid, const char *resource)
{
	struct json_object *map = fugue_kit_tags_map(t, 0);
	int ours = fugue_kit_streq(fugue_kit_str(map, "fugue:fid"), fid) &&
	           (!resource || fugue_kit_streq(fugue_kit_str(map, "fugue:resource"), resource));

	json_object_put(map);
	return ours;
}

/* Whether the load balancer NAME carries this process's and resource's
 * tags (a create whose answer was lost, or a retry). */
static int made_by_us(fugue_ctx *ctx, const char *name)
{
	struct json_object *tags = NULL;
	int ours;

	if (fugue_elb_describe_tags(&tags, ctx, &name, 1) != 0)
		return 0;
	ours = tagged_for(fugue_kit_get(tags, name), ctx->fid, ctx->resource);
	json_object_put(tags);
	return ours;
}

static struct json_object *create_params(fugue_ctx *ctx, const char *name,
                                         const struct json_object *props)
{
	struct json_object *p = name_params(name);
	struct json_object *listeners = json_object_new_array();
	struct json_object *want = fugue_kit_desired_tags(ctx, fugue_kit_get(props, "tags"));
	struct json_object *tags = json_object_new_array();
	const struct json_object *decl = fugue_kit_get(props, "listeners");
	size_t i;

	for (i = 0; i < fugue_kit_len(decl); i++)
		json_object_array_add(listeners, wire_listener(fugue_kit_at(decl, i)));
	json_object_object_add(p, "Listeners", listeners);
	if (fugue_kit_len(fugue_kit_get(props, "subnets")) > 0)
		json_object_object_add(p, "Subnets",
		                       fugue_kit_copy(fugue_kit_get(props, "subnets")));
	else
		json_object_object_add(p, "AvailabilityZones",
		                       fugue_kit_copy(fugue_kit_get(props, "availabilityZones")));
	if (fugue_kit_len(fugue_kit_get(props, "securityGroups")) > 0)
		json_object_object_add(p, "SecurityGroups",
		                       fugue_kit_copy(fugue_kit_get(props, "securityGroups")));
	fugue_kit_put_str(p, "Scheme", fugue_kit_str(props, "scheme"));
	json_object_object_foreach(want, k, v) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "Key", json_object_new_string(k));
		json_object_object_add(t, "Value", json_object_get(v));
		json_object_array_add(tags, t);
	}
	json_object_put(want);
	json_object_object_add(p, "Tags", tags);
	return p;
}

/* What create() does after CreateLoadBalancer: health check, attributes,
 * instances. */
static int configure(fugue_ctx *ctx, const char *name, const struct json_object *props)
{
	int rc = 0;

	if (fugue_kit_get(props, "healthCheck"))
		rc = configure_health(ctx, name, fugue_kit_get(props, "healthCheck"));
	if (rc == 0)
		rc = modify_attributes(ctx, name, props);
	if (rc == 0 && fugue_kit_len(fugue_kit_get(props, "instances")) > 0)
		rc = sync_instances(ctx, name, fugue_kit_get(props, "instances"), NULL);
	return rc;
}

static int lb_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	char name[64];
	struct create_call c;
	fugue_kit_wait wait = { .what = "the CreateLoadBalancer rate limit", .deadline_ms = 600000,
	                        .first_ms = 1000, .max_ms = 10000 };
	int rc;

	*out = NULL;
	lb_name(name, sizeof(name), ctx, props);
	memset(&c, 0, sizeof(c));
	c.params = create_params(ctx, name, props);
	c.name = name;
	rc = fugue_kit_wait_for(ctx, &wait, poll_create, &c);
	json_object_put((struct json_object *)c.params);
	if (rc != 0)
		return rc;
	rc = c.rc;
	if (rc == FUGUE_ECONFLICT && made_by_us(ctx, name))
		rc = 0; /* made by an earlier attempt whose answer was lost */
	if (rc != 0)
		return fugue_kit_fail_aws(ctx, rc, &c.err, "CreateLoadBalancer");
	rc = configure(ctx, name, props);
	if (rc == 0)
		rc = lb_read(out, ctx, name, props);
	if (rc != 0 && !*out)
		*out = fugue_kit_state(name, NULL, NULL); /* made: the Conductor must know it */
	return rc;
}

/* --- update ------------------------------------------------------------------------------- */

static int lb_update(fugue_ctx *ctx, const struct json_object *state,
                     const struct json_object *props, const struct json_object *changed,
                     struct json_object **out)
{
	const char *name = fugue_kit_str(state, "id");
	struct json_object *now = NULL, *cur;
	int rc;

	*out = NULL;
	rc = lb_read(&now, ctx, name, props); /* diff against AWS now, not the record */
	if (rc != 0)
		return rc;
	cur = fugue_kit_state_props(now);
	if (fugue_kit_has_string(changed, "subnets"))
		rc = sync_list(ctx, name, fugue_kit_get(props, "subnets"),
		               fugue_kit_get(cur, "subnets"), "AttachLoadBalancerToSubnets",
		               "DetachLoadBalancerFromSubnets", "Subnets");
	if (rc == 0 && fugue_kit_has_string(changed, "availabilityZones"))
		rc = sync_list(ctx, name, fugue_kit_get(props, "availabilityZones"),
		               fugue_kit_get(cur, "availabilityZones"),
		               "EnableAvailabilityZonesForLoadBalancer",
		               "DisableAvailabilityZonesForLoadBalancer", "AvailabilityZones");
	if (rc == 0 && fugue_kit_has_string(changed, "securityGroups"))
		rc = lb_do(ctx, "ApplySecurityGroupsToLoadBalancer", name, "SecurityGroups",
		           fugue_kit_copy(fugue_kit_get(props, "securityGroups")));
	if (rc == 0 && fugue_kit_has_string(changed, "listeners"))
		rc = sync_listeners(ctx, name, fugue_kit_get(props, "listeners"),
		                    fugue_kit_get(cur, "listeners"));
	if (rc == 0 && fugue_kit_has_string(changed, "healthCheck") &&
	    fugue_kit_get(props, "healthCheck"))
		rc = configure_health(ctx, name, fugue_kit_get(props, "healthCheck"));
	if (rc == 0 && fugue_kit_has_string(changed, "instances"))
		rc = sync_instances(ctx, name, fugue_kit_get(props, "instances"),
		                    fugue_kit_get(cur, "instances"));
	if (rc == 0 && (fugue_kit_has_string(changed, "crossZone") ||
	                fugue_kit_has_string(changed, "idleTimeout") ||
	                fugue_kit_has_string(changed, "connectionDraining") ||
	                fugue_kit_has_string(changed, "accessLog")))
		rc = modify_attributes(ctx, name, props);
	if (rc == 0 && fugue_kit_has_string(changed, "tags")) {
		struct json_object *tags = NULL;

		rc = fugue_elb_describe_tags(&tags, ctx, &name, 1);
		if (rc == 0)
			rc = fugue_elb_sync_tags(ctx, name, fugue_kit_get(tags, name),
			                         fugue_kit_get(props, "tags"));
		json_object_put(tags);
	}
	json_object_put(now);
	if (rc == 0)
		rc = lb_read(out, ctx, name, props);
	return rc;
}

/* --- remove ------------------------------------------------------------------------------- */

static int lb_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *name = fugue_kit_str(state, "id");
	fugue_kit_wait wait = { .what = "the load balancer to be deleted", .deadline_ms = 120000 };
	int rc;

	if (!name)
		return 0;
	/* DeleteLoadBalancer is idempotent: gone already answers success. */
	rc = lb_do(ctx, "DeleteLoadBalancer", name, NULL, NULL);
	if (rc == FUGUE_ENOTFOUND)
		rc = 0;
	if (rc == 0)
		rc = fugue_kit_wait_gone(ctx, &wait, fugue_elb_describe_one, name);
	return rc;
}

/* --- observe ------------------------------------------------------------------------------ */

/* The description named NAME in ALL, or NULL. */
static const struct json_object *find(const struct json_object *all, const char *name)
{
	size_t i;

	for (i = 0; i < fugue_kit_len(all); i++)
		if (fugue_kit_streq(fugue_aws_get_string(fugue_kit_at(all, i), "LoadBalancerName"),
		                    name))
			return fugue_kit_at(all, i);
	return NULL;
}

/* The name of the load balancer of ALL tagged for RESOURCE (a create whose
 * answer was lost), or NULL. */
static const char *find_tagged(const struct json_object *all, const struct json_object *tags,
                               const char *fid, const char *resource)
{
	size_t i;

	for (i = 0; i < fugue_kit_len(all); i++) {
		const char *name = fugue_aws_get_string(fugue_kit_at(all, i), "LoadBalancerName");

		if (name && tagged_for(fugue_kit_get(tags, name), fid, resource))
			return name;
	}
	return NULL;
}

/* The names to ask DescribeTags about: the recorded ones that exist, or
 * every one of the region when some item has no id recorded. */
static const char **tag_names(size_t *m, const struct json_object *all,
                              const fugue_observation *items, size_t n)
{
	size_t i, count = fugue_kit_len(all);
	const char **names = calloc(count ? count : 1, sizeof(*names));
	int every = 0;

	*m = 0;
	for (i = 0; i < n; i++)
		every |= !items[i].id;
	for (i = 0; names && i < count; i++) {
		const char *name = fugue_aws_get_string(fugue_kit_at(all, i), "LoadBalancerName");
		size_t j;
		int want = every;

		for (j = 0; !want && j < n; j++)
			want = fugue_kit_streq(items[j].id, name);
		if (name && want)
			names[(*m)++] = name;
	}
	return names;
}

static int lb_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	struct json_object *all = NULL, *tags = NULL;
	const char **names = NULL;
	size_t i, m = 0;
	int rc;

	/* One paged DescribeLoadBalancers lists the region's load balancers
	 * (asking by name fails the whole call when one is gone). */
	rc = fugue_elb_describe_all(&all, ctx);
	if (rc == 0) {
		names = tag_names(&m, all, items, n);
		rc = names ? fugue_elb_describe_tags(&tags, ctx, names, m) : FUGUE_ENOMEM;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		const char *name = items[i].id;
		const struct json_object *d;
		struct json_object *a = NULL;

		if (!name) /* a create whose answer was lost: found by its tags */
			name = find_tagged(all, tags, ctx->fid, items[i].resource);
		d = name ? find(all, name) : NULL;
		items[i].status = FUGUE_ENOTFOUND;
		if (!d)
			continue;
		/* No batch form: one DescribeLoadBalancerAttributes per resource,
		 * when its details are due (else its attributes are not diffed). */
		items[i].status = fugue_kit_details_due(ctx, &items[i])
		                          ? fugue_elb_attributes(&a, ctx, name)
		                          : 0;
		if (items[i].status == 0) {
			items[i].state = lb_state(ctx, d, fugue_kit_get(tags, name), a,
			                          items[i].declared);
			if (!items[i].state)
				items[i].status = FUGUE_ENOMEM;
		}
		json_object_put(a);
	}
	json_object_put(all);
	json_object_put(tags);
	free(names);
	return rc;
}

/* --- compare ------------------------------------------------------------------------------ */

/* Every string of A is in B and the other way round. */
static int same_set(const struct json_object *a, const struct json_object *b)
{
	size_t i;

	for (i = 0; i < fugue_kit_len(a); i++)
		if (!fugue_kit_has_string(b, fugue_kit_as_str(fugue_kit_at(a, i))))
			return 0;
	for (i = 0; i < fugue_kit_len(b); i++)
		if (!fugue_kit_has_string(a, fugue_kit_as_str(fugue_kit_at(b, i))))
			return 0;
	return 1;
}

/* Every member declared in A has B's value (AWS fills in the rest). */
static int declared_subset(const struct json_object *a, const struct json_object *b)
{
	if (!a || !b || !json_object_is_type(a, json_type_object))
		return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
	json_object_object_foreach(fugue_kit_unconst(a), k, v) {
		if (!json_object_equal(v, fugue_kit_get(b, k)))
			return 0;
	}
	return 1;
}

static int lb_compare(const char *name, const struct json_object *a, const struct json_object *b)
{
	size_t i;

	if (!strcmp(name, "subnets") || !strcmp(name, "availabilityZones") ||
	    !strcmp(name, "securityGroups") || !strcmp(name, "instances"))
		return same_set(a, b);
	if (!strcmp(name, "listeners")) {
		if (fugue_kit_len(a) != fugue_kit_len(b))
			return 0;
		for (i = 0; i < fugue_kit_len(a); i++) {
			const struct json_object *d = fugue_kit_at(a, i);
			const struct json_object *o =
				listener_on(b, fugue_kit_int(d, "loadBalancerPort", -1));

			if (!o || !listener_same(d, o))
				return 0;
		}
		return 1;
	}
	if (!strcmp(name, "healthCheck") || !strcmp(name, "connectionDraining") ||
	    !strcmp(name, "accessLog"))
		return declared_subset(a, b);
	return json_object_equal(fugue_kit_unconst(a), fugue_kit_unconst(b));
}

const fugue_type_ops fugue_elb_load_balancer = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "AWS.ELB.LoadBalancer",
	.doc = "a classic load balancer",
	.props = lb_props,
	.attrs = lb_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = lb_validate,
	.create = lb_create,
	.update = lb_update,
	.remove = lb_remove,
	.observe = lb_observe,
	.compare = lb_compare,
};
