/* test_compiler.c - the composition compiler, the YAML reader under it and
 * the kernel's host table, against an in-memory planner defined here.
 *
 * Corpus: every tests/compositions/bad/NAME.yaml must fail with exactly the
 * diagnostics in NAME.expected; every tests/compositions/good/NAME.yaml must
 * compile without one. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "fugue/planner.h"
#include "host.h"
#include "registry.h"
#include "testmain.h"
#include "yaml_doc.h"

/* ==== the in-memory planner ============================================== */

static int stub_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	(void)ctx;
	(void)props;
	*out = NULL;
	return FUGUE_EINVAL;
}

static int stub_remove(fugue_ctx *ctx, const struct json_object *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

static int stub_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	(void)ctx;
	(void)items;
	(void)n;
	return 0;
}

static const char *member_string(const struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* "a.b.c.d/n" into *ADDR and *BITS; 0 or -1. */
static int parse_cidr(const char *s, unsigned long *addr, int *bits)
{
	unsigned int a, b, c, d;
	int n;

	if (!s || sscanf(s, "%u.%u.%u.%u/%d", &a, &b, &c, &d, &n) != 5 || a > 255 || b > 255 ||
	    c > 255 || d > 255 || n < 0 || n > 32)
		return -1;
	*addr = ((unsigned long)a << 24) | (b << 16) | (c << 8) | d;
	*bits = n;
	return 0;
}

static int cidr_inside(const char *inner, const char *outer)
{
	unsigned long ia, oa, mask;
	int ib, ob;

	if (parse_cidr(inner, &ia, &ib) || parse_cidr(outer, &oa, &ob))
		return 1; /* not ours to judge */
	if (ib < ob)
		return 0;
	mask = ob ? (0xfffffffful << (32 - ob)) & 0xfffffffful : 0;
	return (ia & mask) == (oa & mask);
}

/* The subnet's CIDR must be inside its network's (found with declared()). */
static int subnet_validate(fugue_ctx *ctx, const struct json_object *props)
{
	struct json_object *ref;
	const char *name;
	const struct json_object *net;
	const char *cidr = member_string(props, "cidrBlock");
	const char *net_cidr;

	if (!json_object_object_get_ex(props, "network", &ref) || !fugue_yaml_is_ref(ref, &name, NULL))
		return 0;
	net = ctx->host->declared(ctx, name);
	if (!net)
		return 0;
	net_cidr = member_string(net, "cidrBlock");
	if (cidr_inside(cidr, net_cidr))
		return 0;
	ctx->host->report(ctx, "cidrBlock", "%s is not inside %s of network '%s'", cidr, net_cidr,
	                  name);
	return FUGUE_EINVAL;
}

static int64_t member_int(const struct json_object *o, const char *key)
{
	struct json_object *v;

	json_object_object_get_ex(o, key, &v);
	return json_object_get_int64(v);
}

/* Port ranges of every ingress rule; a whole-resource rule for weight. */
static int server_validate(fugue_ctx *ctx, const struct json_object *props)
{
	struct json_object *ingress;
	struct json_object *weight;
	int bad = 0;
	size_t i;

	if (json_object_object_get_ex(props, "ingress", &ingress)) {
		for (i = 0; i < json_object_array_length(ingress); i++) {
			const struct json_object *rule = json_object_array_get_idx(ingress, i);
			int64_t from = member_int(rule, "fromPort");
			int64_t to = member_int(rule, "toPort");
			char path[64];

			if (to > 65535) {
				snprintf(path, sizeof(path), "ingress.%zu.toPort", i);
				ctx->host->report(ctx, path, "port %lld is above 65535", (long long)to);
				bad = 1;
			}
			if (from > to) {
				snprintf(path, sizeof(path), "ingress.%zu.fromPort", i);
				ctx->host->report(ctx, path, "from port %lld is above to port %lld",
				                  (long long)from, (long long)to);
				bad = 1;
			}
		}
	}
	if (json_object_object_get_ex(props, "weight", &weight) && json_object_get_double(weight) < 0) {
		ctx->host->report(ctx, NULL, "weight must not be negative");
		bad = 1;
	}
	return bad ? FUGUE_EINVAL : 0;
}

/* Fails through fail() without a report. */
static int group_validate(fugue_ctx *ctx, const struct json_object *props)
{
	const char *name = member_string(props, "groupName");

	if (name && strcmp(name, "default") == 0) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "group name 'default' is reserved by aws");
		return FUGUE_EINVAL;
	}
	return 0;
}

static const fugue_prop string_item = { .name = "item", .kind = FUGUE_KIND_STRING };
static const fugue_prop group_ref_item = { .name = "item", .kind = FUGUE_KIND_REF,
	                                   .ref_types = "Test.Compute.Group" };

static const fugue_prop network_props[] = {
	{ .name = "cidrBlock", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "enableDns", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "true" },
	{ .name = "labels", .kind = FUGUE_KIND_MAP, .items = &string_item },
	{ .name = NULL }
};
static const fugue_attr network_attrs[] = { { "arn", NULL }, { "defaultRouteTable", NULL },
	                                    { NULL, NULL } };

static const char *const zones[] = { "zone-a", "zone-b", "zone-c", NULL };
static const fugue_prop subnet_props[] = {
	{ .name = "network", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "Test.Net.Network" },
	{ .name = "cidrBlock", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "zone", .kind = FUGUE_KIND_STRING, .default_json = "\"zone-a\"",
	  .enum_values = zones },
	{ .name = "mapPublicIp", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "false" },
	{ .name = NULL }
};
static const fugue_attr subnet_attrs[] = { { "arn", NULL }, { NULL, NULL } };

static const fugue_prop group_props[] = {
	{ .name = "groupName", .kind = FUGUE_KIND_STRING },
	{ .name = "network", .kind = FUGUE_KIND_REF, .ref_types = "Test.Net.Network" },
	{ .name = NULL }
};
static const fugue_attr group_attrs[] = { { "arn", NULL }, { NULL, NULL } };

static const char *const sizes[] = { "small", "medium", "large", NULL };
static const char *const protocols[] = { "tcp", "udp", NULL };
static const char *const tenancies[] = { "default", "dedicated", NULL };
static const fugue_prop rule_fields[] = {
	{ .name = "fromPort", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "toPort", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "protocol", .kind = FUGUE_KIND_STRING, .default_json = "\"tcp\"",
	  .enum_values = protocols },
	{ .name = "cidr", .kind = FUGUE_KIND_STRING },
	{ .name = NULL }
};
static const fugue_prop rule_item = { .name = "rule", .kind = FUGUE_KIND_OBJECT,
	                              .fields = rule_fields };
static const fugue_prop placement_fields[] = {
	{ .name = "zone", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "tenancy", .kind = FUGUE_KIND_STRING, .default_json = "\"default\"",
	  .enum_values = tenancies },
	{ .name = NULL }
};
static const fugue_prop server_props[] = {
	{ .name = "imageId", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED },
	{ .name = "instanceType", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "\"small\"", .enum_values = sizes },
	{ .name = "count", .kind = FUGUE_KIND_INT, .default_json = "1" },
	{ .name = "weight", .kind = FUGUE_KIND_NUMBER },
	{ .name = "monitoring", .kind = FUGUE_KIND_BOOL },
	{ .name = "subnet", .kind = FUGUE_KIND_REF, .ref_types = "Test.Net.Subnet" },
	{ .name = "securityGroups", .kind = FUGUE_KIND_LIST, .items = &group_ref_item },
	{ .name = "ingress", .kind = FUGUE_KIND_LIST, .items = &rule_item },
	{ .name = "labels", .kind = FUGUE_KIND_MAP, .items = &string_item },
	{ .name = "policy", .kind = FUGUE_KIND_DOCUMENT },
	{ .name = "password", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_SENSITIVE },
	{ .name = "placement", .kind = FUGUE_KIND_OBJECT, .fields = placement_fields },
	{ .name = "profileArn", .kind = FUGUE_KIND_REF },
	{ .name = NULL }
};
static const fugue_attr server_attrs[] = { { "publicIp", NULL }, { "privateIp", NULL },
	                                   { "arn", NULL }, { NULL, NULL } };

#define TEST_TYPE(var, tname, tprops, tattrs, tvalidate)                                     \
	static const fugue_type_ops var = {                                                 \
		.struct_size = sizeof(fugue_type_ops), .name = tname, .props = tprops,      \
		.attrs = tattrs, .flags = FUGUE_TYPE_TAGGABLE, .validate = tvalidate,       \
		.create = stub_create, .remove = stub_remove, .observe = stub_observe,      \
	}

TEST_TYPE(network_type, "Test.Net.Network", network_props, network_attrs, NULL);
TEST_TYPE(subnet_type, "Test.Net.Subnet", subnet_props, subnet_attrs, subnet_validate);
TEST_TYPE(group_type, "Test.Compute.Group", group_props, group_attrs, group_validate);
TEST_TYPE(server_type, "Test.Compute.Server", server_props, server_attrs, server_validate);

static const fugue_type_ops *const test_types[] = { &network_type, &subnet_type, &group_type,
	                                            &server_type, NULL };

static const fugue_planner test_planner = {
	FUGUE_PLANNER_HEADER,
	.name = "test",
	.version = "1.0.0",
	.description = "types for the compiler's tests",
	.types = test_types,
};

/* ==== fixtures ============================================================= */

static fugue_registry *reg;

static int suite_init(void)
{
	if (fugue_registry_new(&reg, fugue_kernel_host()) != 0)
		return 1;
	return fugue_registry_add(reg, &test_planner, "test") != 0;
}

static int suite_cleanup(void)
{
	fugue_registry_free(reg);
	reg = NULL;
	return 0;
}

static char *compositions_dir(const char *sub)
{
	const char *src = fugue_test_require_env("FUGUE_SOURCE_DIR", "run me through ctest");
	char *path;

	if (asprintf(&path, "%s/tests/compositions/%s", src, sub) < 0)
		abort();
	return path;
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static char *diags_text(const fugue_diags *d)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	fugue_diags_print(f, d);
	fclose(f);
	return text;
}

/* Compiles TEXT (named "test.yaml"); *DIAGS_OUT (may be NULL) gets the
 * printed diagnostics. */
static int compile_text(fugue_composition **out, const char *text, char **diags_out)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags d = FUGUE_DIAGS_INIT;
	int rc;

	opts.registry = reg;
	opts.default_region = "eu-west-1";
	rc = fugue_compile_buffer(out, &d, &opts, "test.yaml", text, strlen(text));
	if (diags_out)
		*diags_out = diags_text(&d);
	fugue_diags_clear(&d);
	return rc;
}

static int compile_good(fugue_composition **out, const char *name)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags d = FUGUE_DIAGS_INIT;
	char *dir = compositions_dir("good");
	char *path;
	int rc;

	opts.registry = reg;
	opts.default_region = "eu-west-1";
	if (asprintf(&path, "%s/%s", dir, name) < 0)
		abort();
	rc = fugue_compile_file(out, &d, &opts, path);
	if (d.n)
		fugue_diags_print(stderr, &d);
	fugue_diags_clear(&d);
	free(path);
	free(dir);
	return rc;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s);
	size_t m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* ==== the corpus ============================================================ */

/* One bad composition: fails, with exactly the expected diagnostics. */
static int check_bad(const char *name)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags d = FUGUE_DIAGS_INIT;
	fugue_composition *c = NULL;
	char expected_name[512];
	char *expected;
	char *got;
	int rc;
	int ok;

	opts.registry = reg;
	snprintf(expected_name, sizeof(expected_name), "%.*s.expected", (int)(strlen(name) - 5), name);
	expected = read_text(expected_name);
	rc = fugue_compile_file(&c, &d, &opts, name);
	got = diags_text(&d);
	ok = expected && rc == FUGUE_EINVAL && !c && d.n > 0 && strcmp(got, expected) == 0;
	if (!ok)
		fprintf(stderr, "\n%s: rc %d\n--- expected\n%s--- got\n%s", name, rc,
		        expected ? expected : "(no .expected file)\n", got);
	fugue_composition_free(c);
	fugue_diags_clear(&d);
	free(expected);
	free(got);
	return ok;
}

static void test_bad_corpus(void)
{
	char *dir = compositions_dir("bad");
	char cwd[4096];
	DIR *dh;
	struct dirent *e;
	int cases = 0;
	int failed = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(getcwd(cwd, sizeof(cwd)));
	CU_ASSERT_EQUAL_FATAL(chdir(dir), 0);
	dh = opendir(".");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
	for (e = readdir(dh); e; e = readdir(dh)) {
		if (!ends_with(e->d_name, ".yaml"))
			continue;
		cases++;
		if (!check_bad(e->d_name))
			failed++;
	}
	closedir(dh);
	CU_ASSERT_EQUAL(chdir(cwd), 0);
	CU_ASSERT(cases >= 25);
	CU_ASSERT_EQUAL(failed, 0);
	free(dir);
}

static void test_good_corpus(void)
{
	char *dir = compositions_dir("good");
	DIR *dh = opendir(dir);
	struct dirent *e;
	int cases = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(dh);
	for (e = readdir(dh); e; e = readdir(dh)) {
		fugue_composition *c = NULL;

		if (!ends_with(e->d_name, ".yaml"))
			continue;
		cases++;
		CU_ASSERT_EQUAL(compile_good(&c, e->d_name), 0);
		CU_ASSERT_PTR_NOT_NULL(c);
		fugue_composition_free(c);
	}
	closedir(dh);
	free(dir);
	CU_ASSERT(cases >= 3);
}

/* ==== the compiled composition ================================================ */

static size_t index_of(const fugue_composition *c, const char *name)
{
	const fugue_resource *r = fugue_composition_find(c, name);

	return r ? (size_t)(r - c->resources) : SIZE_MAX;
}

static size_t order_pos(const fugue_composition *c, const char *name)
{
	size_t k = index_of(c, name);
	size_t i;

	for (i = 0; i < c->nresources; i++)
		if (c->order[i] == k)
			return i;
	return SIZE_MAX;
}

static int has_dep(const fugue_composition *c, const char *from, const char *to)
{
	const fugue_resource *r = fugue_composition_find(c, from);
	size_t k = index_of(c, to);
	size_t i;

	for (i = 0; r && i < r->ndeps; i++)
		if (r->deps[i] == k)
			return 1;
	return 0;
}

static const char *prop_json(const fugue_resource *r, const char *key)
{
	struct json_object *v;

	if (!r || !json_object_object_get_ex(r->props, key, &v))
		return "(absent)";
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void test_order(void)
{
	fugue_composition *c = NULL;
	size_t i;
	size_t j;

	CU_ASSERT_EQUAL_FATAL(compile_good(&c, "reverse.yaml"), 0);
	CU_ASSERT_EQUAL(c->nresources, 4);
	/* declared web, sub, grp, net; web -> sub, grp; sub -> net; grp -> net */
	CU_ASSERT_STRING_EQUAL(c->resources[0].name, "web");
	CU_ASSERT_STRING_EQUAL(c->resources[c->order[0]].name, "net");
	CU_ASSERT_STRING_EQUAL(c->resources[c->order[1]].name, "sub");
	CU_ASSERT_STRING_EQUAL(c->resources[c->order[2]].name, "grp");
	CU_ASSERT_STRING_EQUAL(c->resources[c->order[3]].name, "web");
	/* Every dependency comes before its dependent. */
	for (i = 0; i < c->nresources; i++) {
		const fugue_resource *r = &c->resources[c->order[i]];

		for (j = 0; j < r->ndeps; j++)
			CU_ASSERT(order_pos(c, c->resources[r->deps[j]].name) < i);
	}
	fugue_composition_free(c);
}

static void test_dependencies(void)
{
	fugue_composition *c = NULL;
	const fugue_resource *web;

	CU_ASSERT_EQUAL_FATAL(compile_good(&c, "webapp.yaml"), 0);
	web = fugue_composition_find(c, "web");
	CU_ASSERT_PTR_NOT_NULL_FATAL(web);
	/* subnet, security groups, the profile's arn and the policy document's refs */
	CU_ASSERT_EQUAL(web->ndeps, 5);
	CU_ASSERT(has_dep(c, "web", "public-a"));
	CU_ASSERT(has_dep(c, "web", "web-sg"));
	CU_ASSERT(has_dep(c, "web", "admin-sg"));
	CU_ASSERT(has_dep(c, "web", "profile"));
	CU_ASSERT(has_dep(c, "web", "vpc"));
	CU_ASSERT(has_dep(c, "public-a", "vpc"));
	CU_ASSERT(!has_dep(c, "vpc", "public-a"));
	CU_ASSERT_EQUAL(fugue_composition_find(c, "vpc")->ndeps, 0);
	CU_ASSERT_PTR_EQUAL(web->type, fugue_registry_type(reg, "Test.Compute.Server", NULL));
	CU_ASSERT_STRING_EQUAL(web->type_name, "Test.Compute.Server");
	fugue_composition_free(c);
}

static void test_defaults_and_refs(void)
{
	fugue_composition *c = NULL;
	const fugue_resource *web;
	const fugue_resource *sub;
	struct json_object *ingress;

	CU_ASSERT_EQUAL_FATAL(compile_good(&c, "webapp.yaml"), 0);
	web = fugue_composition_find(c, "web");
	sub = fugue_composition_find(c, "public-a");
	CU_ASSERT_PTR_NOT_NULL_FATAL(web);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);
	/* defaults */
	CU_ASSERT_STRING_EQUAL(prop_json(web, "instanceType"), "\"small\"");
	CU_ASSERT_STRING_EQUAL(prop_json(web, "count"), "1");
	CU_ASSERT_STRING_EQUAL(prop_json(sub, "zone"), "\"zone-a\"");
	CU_ASSERT_STRING_EQUAL(prop_json(sub, "mapPublicIp"), "false");
	CU_ASSERT_STRING_EQUAL(prop_json(fugue_composition_find(c, "vpc"), "enableDns"), "false");
	CU_ASSERT_FATAL(json_object_object_get_ex(web->props, "ingress", &ingress));
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(json_object_array_get_idx(ingress, 0),
	                                                      JSON_C_TO_STRING_PLAIN),
	                       "{\"fromPort\":80,\"toPort\":80,\"protocol\":\"tcp\"}");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(json_object_array_get_idx(ingress, 1),
	                                                      JSON_C_TO_STRING_PLAIN),
	                       "{\"fromPort\":22,\"toPort\":22,\"protocol\":\"udp\","
	                       "\"cidr\":\"10.0.0.0\\/8\"}");
	/* type and region are not properties */
	CU_ASSERT_STRING_EQUAL(prop_json(web, "type"), "(absent)");
	CU_ASSERT_STRING_EQUAL(prop_json(web, "region"), "(absent)");
	/* references stay references */
	CU_ASSERT_STRING_EQUAL(prop_json(web, "subnet"), "{\"$ref\":\"public-a\",\"attr\":\"id\"}");
	CU_ASSERT_STRING_EQUAL(prop_json(web, "profileArn"), "{\"$ref\":\"profile\",\"attr\":\"arn\"}");
	CU_ASSERT_STRING_EQUAL(prop_json(web, "securityGroups"),
	                       "[{\"$ref\":\"web-sg\",\"attr\":\"id\"},"
	                       "{\"$ref\":\"admin-sg\",\"attr\":\"id\"}]");
	/* plain scalars typed, quoted ones strings */
	CU_ASSERT_STRING_EQUAL(prop_json(web, "weight"), "2.5");
	CU_ASSERT_STRING_EQUAL(prop_json(web, "imageId"), "\"ami-12c6146b\"");
	CU_ASSERT_STRING_EQUAL(prop_json(web, "labels"), "{\"tier\":\"web\",\"build\":\"42\"}");
	fugue_composition_free(c);
}

static void test_region_and_tags(void)
{
	fugue_composition *c = NULL;

	CU_ASSERT_EQUAL_FATAL(compile_good(&c, "webapp.yaml"), 0);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(c->alias), "webapp");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(c->region), "us-east-1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_composition_find(c, "vpc")->region), "us-east-1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_composition_find(c, "profile")->region),
	                       "us-west-2");
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(c->tags, JSON_C_TO_STRING_PLAIN),
	                       "{\"team\":\"web\",\"cost-center\":\"1234\"}");
	/* tags are the composition's, not merged into properties */
	CU_ASSERT_STRING_EQUAL(prop_json(fugue_composition_find(c, "vpc"), "team"), "(absent)");
	fugue_composition_free(c);

	/* No region: the caller's. */
	CU_ASSERT_EQUAL_FATAL(compile_good(&c, "minimal.yaml"), 0);
	CU_ASSERT_PTR_NULL(c->alias);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(c->region), "eu-west-1");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(c->resources[0].region), "eu-west-1");
	CU_ASSERT_EQUAL(json_object_object_length(c->tags), 0);
	fugue_composition_free(c);
}

static void test_positions(void)
{
	fugue_composition *c = NULL;
	const fugue_resource *web;
	fugue_pos p;

	CU_ASSERT_EQUAL_FATAL(compile_good(&c, "webapp.yaml"), 0);
	web = fugue_composition_find(c, "web");
	CU_ASSERT_PTR_NOT_NULL_FATAL(web);
	CU_ASSERT_EQUAL(web->pos.line, 40);
	CU_ASSERT_EQUAL(web->pos.col, 3);
	p = fugue_resource_pos(web, "imageId");
	CU_ASSERT_EQUAL(p.line, 42);
	CU_ASSERT_EQUAL(p.col, 14);
	p = fugue_resource_pos(web, "ingress.1.cidr");
	CU_ASSERT_EQUAL(p.line, 56);
	CU_ASSERT_EQUAL(p.col, 15);
	/* a defaulted member: its object's position */
	p = fugue_resource_pos(web, "ingress.0.protocol");
	CU_ASSERT_EQUAL(p.line, 51);
	CU_ASSERT_EQUAL(p.col, 9);
	p = fugue_resource_pos(web, "policy.Statement.0.Resource");
	CU_ASSERT_EQUAL(p.line, 66);
	CU_ASSERT_EQUAL(p.col, 21);
	p = fugue_resource_pos(web, NULL);
	CU_ASSERT_EQUAL(p.line, 40);
	fugue_composition_free(c);
}

static void test_json_round_trip(void)
{
	fugue_composition *c = NULL;
	fugue_composition *back = NULL;
	struct json_object *j = NULL;
	struct json_object *j2 = NULL;
	struct json_object *parsed;
	char *first;
	size_t i;

	CU_ASSERT_EQUAL_FATAL(compile_good(&c, "webapp.yaml"), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_composition_to_json(&j, c), 0);
	first = strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
	parsed = json_tokener_parse(first);
	CU_ASSERT_PTR_NOT_NULL_FATAL(parsed);
	CU_ASSERT_EQUAL_FATAL(fugue_composition_from_json(&back, parsed, reg), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_composition_to_json(&j2, back), 0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(j2, JSON_C_TO_STRING_PLAIN), first);
	CU_ASSERT_EQUAL(back->nresources, c->nresources);
	for (i = 0; i < c->nresources; i++) {
		CU_ASSERT_EQUAL(back->order[i], c->order[i]);
		CU_ASSERT_PTR_EQUAL(back->resources[i].type, c->resources[i].type);
		CU_ASSERT_EQUAL(back->resources[i].ndeps, c->resources[i].ndeps);
		CU_ASSERT_EQUAL(back->resources[i].pos.line, c->resources[i].pos.line);
	}
	CU_ASSERT_EQUAL(fugue_resource_pos(fugue_composition_find(back, "web"), "imageId").line, 42);
	fugue_composition_free(back);
	back = NULL;
	/* Without a registry the types are unbound; a broken document is refused. */
	CU_ASSERT_EQUAL(fugue_composition_from_json(&back, parsed, NULL), 0);
	CU_ASSERT_PTR_NULL(back ? back->resources[0].type : (void *)1);
	fugue_composition_free(back);
	json_object_object_add(parsed, "order", json_object_new_array());
	CU_ASSERT_EQUAL(fugue_composition_from_json(&back, parsed, reg), FUGUE_EINVAL);
	CU_ASSERT_PTR_NULL(back);
	CU_ASSERT_EQUAL(fugue_composition_from_json(&back, j2, reg), 0);
	fugue_composition_free(back);
	json_object_object_add(j2, "format", json_object_new_int(99));
	CU_ASSERT_EQUAL(fugue_composition_from_json(&back, j2, reg), FUGUE_EINVAL);
	json_object_put(parsed);
	json_object_put(j);
	json_object_put(j2);
	free(first);
	fugue_composition_free(c);
}

static void test_validate_sees_declared(void)
{
	const char *text = "resources:\n"
	                   "  net: {type: Test.Net.Network, cidrBlock: 10.0.0.0/16}\n"
	                   "  ok: {type: Test.Net.Subnet, network: !ref net, cidrBlock: 10.0.1.0/24}\n"
	                   "  out: {type: Test.Net.Subnet, network: !ref net, cidrBlock: 10.9.0.0/8}\n";
	fugue_composition *c = NULL;
	char *diags = NULL;

	CU_ASSERT_EQUAL(compile_text(&c, text, &diags), FUGUE_EINVAL);
	CU_ASSERT_PTR_NULL(c);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(diags),
	                       "test.yaml:4:62: resource 'out': cidrBlock: 10.9.0.0/8 is not inside "
	                       "10.0.0.0/16 of network 'net'\n");
	free(diags);
}

static void test_missing_file(void)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags d = FUGUE_DIAGS_INIT;
	fugue_composition *c = NULL;
	struct json_object *j = NULL;
	char *text;

	opts.registry = reg;
	CU_ASSERT_EQUAL(fugue_compile_file(&c, &d, &opts, "/nonexistent/x.yaml"), FUGUE_EIO);
	CU_ASSERT_PTR_NULL(c);
	text = diags_text(&d);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(text),
	                       "/nonexistent/x.yaml: cannot read the composition: no such file or "
	                       "directory\n");
	free(text);
	CU_ASSERT_EQUAL(fugue_diags_to_json(&j, &d), 0);
	CU_ASSERT_STRING_EQUAL(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
	                       "[{\"file\":\"\\/nonexistent\\/x.yaml\",\"line\":0,\"col\":0,"
	                       "\"message\":\"cannot read the composition: no such file or directory\"}]");
	json_object_put(j);
	fugue_diags_clear(&d);
}

static void test_did_you_mean(void)
{
	const char *const props[] = { "cidrBlock", "enableDnsHostnames", "vpc", "availabilityZone" };
	const char *const types[] = { "AWS.VPC.Vpc", "AWS.VPC.Subnet", "AWS.EC2.Instance" };

	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_did_you_mean("cidr", props, 4)), "cidrBlock");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_did_you_mean("cidrblock", props, 4)), "cidrBlock");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_did_you_mean("vcp", props, 4)), "vpc");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_did_you_mean("enableDnsHostname", props, 4)),
	                       "enableDnsHostnames");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_did_you_mean("AWS.VPC.Subnt", types, 3)),
	                       "AWS.VPC.Subnet");
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(fugue_did_you_mean("AWS.EC2.Instnace", types, 3)),
	                       "AWS.EC2.Instance");
	CU_ASSERT_PTR_NULL(fugue_did_you_mean("imageId", props, 4));
	CU_ASSERT_PTR_NULL(fugue_did_you_mean("x", props, 4));
	CU_ASSERT_PTR_NULL(fugue_did_you_mean("anything", props, 0));
}

/* ==== the YAML reader ======================================================== */

static const char *member_json(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return "(absent)";
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static void test_yaml_scalars(void)
{
	const char *text = "a: 12\n"
	                   "b: -7\n"
	                   "c: 0x1f\n"
	                   "d: 0o17\n"
	                   "e: 2.50\n"
	                   "f: 1e3\n"
	                   "g: true\n"
	                   "h: False\n"
	                   "i: ~\n"
	                   "j:\n"
	                   "k: yes\n"
	                   "l: \"12\"\n"
	                   "m: 'true'\n"
	                   "n: !!str 12\n"
	                   "o: 10.0.0.0/16\n"
	                   "p: 2012-10-17\n"
	                   "q: .inf\n"
	                   "r: !ref vpc\n"
	                   "s: !ref role.arn\n"
	                   "t: |\n  two\n  lines\n"
	                   "u: null\n";
	fugue_yaml_doc *doc = NULL;
	struct json_object *root;
	const fugue_yaml_error *errs;

	CU_ASSERT_EQUAL_FATAL(fugue_yaml_parse(&doc, text, strlen(text)), 0);
	CU_ASSERT_EQUAL(fugue_yaml_errors(doc, &errs), 0);
	root = fugue_yaml_root(doc);
	CU_ASSERT_STRING_EQUAL(member_json(root, "a"), "12");
	CU_ASSERT_STRING_EQUAL(member_json(root, "b"), "-7");
	CU_ASSERT_STRING_EQUAL(member_json(root, "c"), "31");
	CU_ASSERT_STRING_EQUAL(member_json(root, "d"), "15");
	CU_ASSERT_STRING_EQUAL(member_json(root, "e"), "2.50");
	CU_ASSERT(json_object_is_type(json_object_object_get(root, "f"), json_type_double));
	CU_ASSERT_STRING_EQUAL(member_json(root, "g"), "true");
	CU_ASSERT_STRING_EQUAL(member_json(root, "h"), "false");
	CU_ASSERT_STRING_EQUAL(member_json(root, "i"), "null");
	CU_ASSERT_STRING_EQUAL(member_json(root, "j"), "null");
	CU_ASSERT_STRING_EQUAL(member_json(root, "k"), "\"yes\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "l"), "\"12\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "m"), "\"true\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "n"), "\"12\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "o"), "\"10.0.0.0\\/16\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "p"), "\"2012-10-17\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "q"), "\".inf\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "r"), "{\"$ref\":\"vpc\",\"attr\":\"id\"}");
	CU_ASSERT_STRING_EQUAL(member_json(root, "s"), "{\"$ref\":\"role\",\"attr\":\"arn\"}");
	CU_ASSERT_STRING_EQUAL(member_json(root, "t"), "\"two\\nlines\\n\"");
	CU_ASSERT_STRING_EQUAL(member_json(root, "u"), "null");
	fugue_yaml_doc_free(doc);
}

static void test_yaml_positions(void)
{
	const char *text = "top:\n"
	                   "  list:\n"
	                   "    - one\n"
	                   "    -   two\n"
	                   "  empty:\n"
	                   "  \"quoted key\": {x: 1}\n";
	fugue_yaml_doc *doc = NULL;
	struct json_object *root;
	struct json_object *top;
	struct json_object *list;
	fugue_yaml_pos k;
	fugue_yaml_pos v;

	CU_ASSERT_EQUAL_FATAL(fugue_yaml_parse(&doc, text, strlen(text)), 0);
	root = fugue_yaml_root(doc);
	CU_ASSERT_EQUAL(fugue_yaml_root_pos(doc).line, 1);
	top = json_object_object_get(root, "top");
	list = json_object_object_get(top, "list");
	CU_ASSERT_EQUAL(fugue_yaml_member_pos(doc, root, "top", &k, &v), 0);
	CU_ASSERT(k.line == 1 && k.col == 1 && v.line == 2 && v.col == 3);
	CU_ASSERT_EQUAL(fugue_yaml_element_pos(doc, list, 1, &v), 0);
	CU_ASSERT(v.line == 4 && v.col == 9);
	/* null values have positions too */
	CU_ASSERT_EQUAL(fugue_yaml_member_pos(doc, top, "empty", &k, NULL), 0);
	CU_ASSERT(k.line == 5 && k.col == 3);
	CU_ASSERT_EQUAL(fugue_yaml_member_pos(doc, top, "quoted key", &k, &v), 0);
	CU_ASSERT(k.line == 6 && k.col == 3 && v.line == 6 && v.col == 17);
	CU_ASSERT_EQUAL(fugue_yaml_member_pos(doc, top, "missing", &k, &v), FUGUE_ENOTFOUND);
	CU_ASSERT_EQUAL(fugue_yaml_element_pos(doc, list, 2, &v), FUGUE_ENOTFOUND);
	fugue_yaml_doc_free(doc);
}

static void test_yaml_errors(void)
{
	const char *dup = "a: 1\nb: 2\na: 3\n";
	const char *bad = "a: [1, 2\nb: 3\n";
	fugue_yaml_doc *doc = NULL;
	const fugue_yaml_error *errs;

	CU_ASSERT_EQUAL_FATAL(fugue_yaml_parse(&doc, dup, strlen(dup)), 0);
	CU_ASSERT_EQUAL_FATAL(fugue_yaml_errors(doc, &errs), 1);
	CU_ASSERT_STRING_EQUAL(errs[0].message, "duplicate key 'a' (first at line 1)");
	CU_ASSERT(errs[0].pos.line == 3 && errs[0].pos.col == 1);
	/* the first value is kept */
	CU_ASSERT_STRING_EQUAL(member_json(fugue_yaml_root(doc), "a"), "1");
	fugue_yaml_doc_free(doc);

	CU_ASSERT_EQUAL_FATAL(fugue_yaml_parse(&doc, bad, strlen(bad)), FUGUE_EINVAL);
	CU_ASSERT_PTR_NULL(fugue_yaml_root(doc));
	CU_ASSERT_EQUAL_FATAL(fugue_yaml_errors(doc, &errs), 1);
	CU_ASSERT(strncmp(errs[0].message, "syntax error: ", 14) == 0);
	fugue_yaml_doc_free(doc);
}

/* ==== the host ================================================================= */

static void test_host_records(void)
{
	const fugue_host *host = fugue_kernel_host();
	fugue_aws_error aws;
	fugue_call call;
	fugue_ctx ctx;

	CU_ASSERT_EQUAL(host->struct_size, sizeof(fugue_host));
	CU_ASSERT_EQUAL(host->abi_major, FUGUE_PLANNER_ABI_MAJOR);
	fugue_call_init(&call);
	call.fid = "fid-1";
	call.resource = "web";
	call.type = "Test.Compute.Server";
	fugue_call_ctx(&ctx, &call);
	CU_ASSERT_PTR_EQUAL(ctx.host, host);
	CU_ASSERT_PTR_EQUAL(ctx.host_private, &call);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(ctx.resource), "web");
	CU_ASSERT_PTR_NULL(ctx.aws);

	memset(&aws, 0, sizeof(aws));
	aws.http_status = 400;
	snprintf(aws.code, sizeof(aws.code), "InvalidAMIID.Malformed");
	ctx.host->fail(&ctx, FUGUE_EAWS, NULL, "first %d", 1);
	ctx.host->fail(&ctx, FUGUE_EAWS, &aws, "image %s is malformed", "ami-x");
	CU_ASSERT(call.failed);
	CU_ASSERT_EQUAL(call.code, FUGUE_EAWS);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(call.message), "image ami-x is malformed");
	CU_ASSERT(call.has_aws);
	CU_ASSERT_STRING_EQUAL(call.aws.code, "InvalidAMIID.Malformed");
	CU_ASSERT_EQUAL(call.aws.http_status, 400);

	ctx.host->report(&ctx, "ingress.2.fromPort", "port %d is too high", 70000);
	ctx.host->report(&ctx, NULL, "whole resource");
	CU_ASSERT_EQUAL_FATAL(call.nreports, 2);
	CU_ASSERT_STRING_EQUAL(fugue_test_nn(call.reports[0].path), "ingress.2.fromPort");
	CU_ASSERT_STRING_EQUAL(call.reports[0].message, "port 70000 is too high");
	CU_ASSERT_PTR_NULL(call.reports[1].path);

	/* no declared() callback, no cancel object: NULL, never cancelled, sleeps */
	CU_ASSERT_PTR_NULL(ctx.host->declared(&ctx, "net"));
	CU_ASSERT_EQUAL(ctx.host->cancelled(&ctx), 0);
	CU_ASSERT_EQUAL(ctx.host->sleep(&ctx, 1), 0);
	ctx.host->log(&ctx, FUGUE_LOG_DEBUG, "a debug line %d", 1);
	fugue_call_clear(&call);
	CU_ASSERT_EQUAL(call.nreports, 0);
	CU_ASSERT_PTR_NULL(call.message);
}

static char progress_seen[256];

static void on_progress(const char *resource, const char *message, void *payload)
{
	snprintf(progress_seen, sizeof(progress_seen), "%s|%s|%s", resource, message,
	         (const char *)payload);
}

static const struct json_object *declared_fixed(const char *resource, void *payload)
{
	return strcmp(resource, "net") == 0 ? payload : NULL;
}

static void test_host_callbacks(void)
{
	struct json_object *net = json_object_new_object();
	fugue_call call;
	fugue_ctx ctx;

	fugue_call_init(&call);
	call.resource = "web";
	call.progress = on_progress;
	call.progress_payload = "job";
	call.declared = declared_fixed;
	call.declared_payload = net;
	fugue_call_ctx(&ctx, &call);
	ctx.host->progress(&ctx, "waiting for %s", "i-0abc");
	CU_ASSERT_STRING_EQUAL(progress_seen, "web|waiting for i-0abc|job");
	CU_ASSERT_PTR_EQUAL(ctx.host->declared(&ctx, "net"), net);
	CU_ASSERT_PTR_NULL(ctx.host->declared(&ctx, "other"));
	fugue_call_clear(&call);
	json_object_put(net);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *cancel_later(void *arg)
{
	struct timespec t = { 0, 100 * 1000000L };

	nanosleep(&t, NULL);
	fugue_cancel_set(arg);
	return NULL;
}

static void test_host_sleep_cancel(void)
{
	fugue_cancel cancel;
	fugue_call a;
	fugue_call b;
	fugue_ctx ca;
	fugue_ctx cb;
	pthread_t th;
	double start;
	double took;

	fugue_cancel_init(&cancel);
	fugue_call_init(&a);
	fugue_call_init(&b);
	a.cancel = &cancel;
	b.cancel = &cancel;
	fugue_call_ctx(&ca, &a);
	fugue_call_ctx(&cb, &b);

	start = now_s();
	CU_ASSERT_EQUAL(ca.host->sleep(&ca, 50), 0);
	took = now_s() - start;
	CU_ASSERT(took >= 0.045 && took < 5.0);

	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, cancel_later, &cancel), 0);
	start = now_s();
	CU_ASSERT_EQUAL(ca.host->sleep(&ca, 30000), FUGUE_ECANCELED);
	took = now_s() - start;
	pthread_join(th, NULL);
	CU_ASSERT(took < 10.0);
	/* the whole job is cancelled: the other call too, at once */
	CU_ASSERT(cb.host->cancelled(&cb));
	start = now_s();
	CU_ASSERT_EQUAL(cb.host->sleep(&cb, 30000), FUGUE_ECANCELED);
	CU_ASSERT(now_s() - start < 1.0);
	fugue_call_clear(&a);
	fugue_call_clear(&b);
	fugue_cancel_destroy(&cancel);
}

static void *report_many(void *arg)
{
	fugue_ctx *ctx = arg;
	int i;

	for (i = 0; i < 500; i++)
		ctx->host->report(ctx, "p", "report %d", i);
	return NULL;
}

static void test_host_threads(void)
{
	fugue_call call;
	fugue_ctx ctx;
	pthread_t th[4];
	int i;

	fugue_call_init(&call);
	fugue_call_ctx(&ctx, &call);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, report_many, &ctx), 0);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(call.nreports, 2000);
	fugue_call_clear(&call);
}

/* ==== registration ================================================================ */

int fugue_test_register(void)
{
	CU_pSuite compiler = CU_add_suite("compiler", suite_init, suite_cleanup);
	CU_pSuite yaml = CU_add_suite("yaml", NULL, NULL);
	CU_pSuite host = CU_add_suite("host", NULL, NULL);

	if (!compiler || !yaml || !host)
		return 1;
	CU_add_test(compiler, "bad compositions give exactly the expected diagnostics", test_bad_corpus);
	CU_add_test(compiler, "good compositions compile", test_good_corpus);
	CU_add_test(compiler, "topological order", test_order);
	CU_add_test(compiler, "dependencies", test_dependencies);
	CU_add_test(compiler, "defaults and references", test_defaults_and_refs);
	CU_add_test(compiler, "region and tags", test_region_and_tags);
	CU_add_test(compiler, "positions", test_positions);
	CU_add_test(compiler, "json round trip", test_json_round_trip);
	CU_add_test(compiler, "validate() sees declared()", test_validate_sees_declared);
	CU_add_test(compiler, "unreadable file", test_missing_file);
	CU_add_test(compiler, "did you mean", test_did_you_mean);
	CU_add_test(yaml, "scalar typing and !ref", test_yaml_scalars);
	CU_add_test(yaml, "positions", test_yaml_positions);
	CU_add_test(yaml, "errors", test_yaml_errors);
	CU_add_test(host, "fail and report are recorded", test_host_records);
	CU_add_test(host, "progress and declared callbacks", test_host_callbacks);
	CU_add_test(host, "sleep wakes on cancel", test_host_sleep_cancel);
	CU_add_test(host, "reports from many threads", test_host_threads);
	return 0;
}
