/* test_registry.c - the planner loader (daemon/src/registry.c) against the
 * fake planner, a second good planner and one broken .so per mistake, and
 * the fake planner's own behaviour (the kernel tests rely on it).
 *
 * The .so paths come from CTest: FUGUE_TEST_FAKE_SO, FUGUE_TEST_SECOND_SO
 * and FUGUE_TEST_BROKEN_<name>. Each test links them into a fresh
 * directory under names that fix the load order. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fugue/log.h"
#include "fugue/planner.h"
#include "registry.h"
#include "testmain.h"

/* --- fixtures ------------------------------------------------------------------ */

static char *planners_dir; /* the .so links */
static char *fake_dir;     /* FUGUE_FAKE_DIR */

static char *join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static void link_planner(const char *env, const char *name)
{
	const char *target = fugue_test_require_env(env, "run me through ctest (tests/CMakeLists.txt)");
	char *link = join(planners_dir, name);

	if (symlink(target, link) != 0) {
		perror(link);
		abort();
	}
	free(link);
}

/* The broken variants, their link names (loaded after the fake and second,
 * in this order) and the reason each must be refused for. */
static const struct {
	const char *env;
	const char *file;
	const char *reason;
} broken[] = {
	{ "FUGUE_TEST_BROKEN_abi_major", "30-abi_major.so",
	  "refused: built for planner ABI 2.0, this conductor speaks 1.1" },
	{ "FUGUE_TEST_BROKEN_signature", "31-signature.so",
	  "refused: signature 'fugue-planner/1 ptr4 long4 size4 le' does not match this "
	  "conductor's '" FUGUE_PLANNER_SIGNATURE "'" },
	{ "FUGUE_TEST_BROKEN_no_entry", "32-no_entry.so",
	  "refused: no symbol fugue_planner_entry_v1 (not a fugue planner, or built for another "
	  "ABI major)" },
	{ "FUGUE_TEST_BROKEN_no_observe", "33-no_observe.so",
	  "refused: type Broken.NoObserve.Blind has no observe callback" },
	{ "FUGUE_TEST_BROKEN_dup_type", "34-dup_type.so",
	  "refused: type Fake.Net.Network is already owned by planner fake (" },
	{ "FUGUE_TEST_BROKEN_init_fail", "35-init_fail.so",
	  "refused: init() failed: " },
	{ "FUGUE_TEST_BROKEN_small_struct", "36-small_struct.so",
	  "refused: struct_size 24 is smaller than the first published fugue_planner" },
	{ "FUGUE_TEST_BROKEN_dup_name", "37-dup_name.so",
	  "refused: planner name fake is already taken by " },
};

#define NBROKEN (sizeof(broken) / sizeof(broken[0]))

static int setup(void)
{
	size_t i;
	char *junk;

	planners_dir = fugue_test_tmpdir();
	fake_dir = fugue_test_tmpdir();
	setenv("FUGUE_FAKE_DIR", fake_dir, 1);
	link_planner("FUGUE_TEST_FAKE_SO", "10-fugue_fake.so");
	link_planner("FUGUE_TEST_SECOND_SO", "20-fugue_second.so");
	for (i = 0; i < NBROKEN; i++)
		link_planner(broken[i].env, broken[i].file);
	free(fugue_test_write_file(planners_dir, "40-garbage.so", "not an ELF file\n"));
	free(fugue_test_write_file(planners_dir, "README", "not a planner, not even named like one\n"));
	junk = join(planners_dir, "50-dir.so.d");
	mkdir(junk, 0755);
	free(junk);
	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	fugue_log_set_level(FUGUE_LOG_WARN);
	return 0;
}

static int cleanup(void)
{
	fugue_test_rmtree(planners_dir);
	fugue_test_rmtree(fake_dir);
	free(planners_dir);
	free(fake_dir);
	unsetenv("FUGUE_FAKE_DIR");
	return 0;
}

/* --- capturing stderr (where the log goes) -------------------------------------- */

struct capture {
	int saved;
	char *path;
};

static void capture_begin(struct capture *c)
{
	int fd;

	c->path = join(fake_dir, "_stderr.txt");
	fflush(stderr);
	c->saved = dup(2);
	fd = open(c->path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CU_ASSERT_FATAL(fd >= 0 && c->saved >= 0);
	dup2(fd, 2);
	close(fd);
}

/* Restores stderr, echoes what was captured (for the test log), returns it
 * (caller frees). */
static char *capture_end(struct capture *c)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	f = fopen(c->path, "r");
	CU_ASSERT_FATAL(f != NULL);
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	unlink(c->path);
	free(c->path);
	fputs(text, stderr);
	return text;
}

static char *read_text(const char *dir, const char *name)
{
	char *path = join(dir, name);
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "r");

	free(path);
	if (!f)
		return strdup("");
	if (getdelim(&text, &len, '\0', f) < 0) {
		free(text);
		text = strdup("");
	}
	fclose(f);
	return text;
}

/* Loads the planners directory; *LOG receives what was logged. */
static fugue_registry *load_all(char **log, size_t *refused)
{
	fugue_registry *reg = NULL;
	struct capture c;
	int rc;

	CU_ASSERT_FATAL(fugue_registry_new(&reg, NULL) == 0);
	capture_begin(&c);
	rc = fugue_registry_load_dir(reg, planners_dir, refused);
	*log = capture_end(&c);
	CU_ASSERT_EQUAL(rc, 0);
	return reg;
}

/* The log line about PATH (in PLANNERS_DIR) contains REASON. */
static int refused_for(const char *log, const char *file, const char *reason)
{
	char *path = join(planners_dir, file);
	char *prefix;
	const char *line;
	int found = 0;

	if (asprintf(&prefix, "planner %s %s", path, reason) < 0)
		abort();
	line = strstr(log, prefix);
	found = line != NULL;
	if (!found)
		fprintf(stderr, "missing log line: %s\n", prefix);
	free(prefix);
	free(path);
	return found;
}

/* --- loader ------------------------------------------------------------------- */

static void test_loads_good_refuses_broken(void)
{
	size_t refused = 0;
	char *log;
	fugue_registry *reg = load_all(&log, &refused);
	const fugue_planner_info *fake;
	const fugue_planner_info *second;
	char *fake_path = join(planners_dir, "10-fugue_fake.so");
	size_t i;

	CU_ASSERT_EQUAL(refused, NBROKEN + 1); /* + the garbage file */
	CU_ASSERT_EQUAL_FATAL(fugue_registry_count(reg), 2);
	fake = fugue_registry_planner(reg, 0);
	second = fugue_registry_planner(reg, 1);
	CU_ASSERT_PTR_NULL(fugue_registry_planner(reg, 2));
	CU_ASSERT_STRING_EQUAL(fake->name, "fake");
	CU_ASSERT_STRING_EQUAL(fake->version, "1.0.0");
	CU_ASSERT_STRING_EQUAL(fake->path, fake_path);
	CU_ASSERT_EQUAL_FATAL(fake->ntypes, 3);
	CU_ASSERT_STRING_EQUAL(fake->types[0]->name, "Fake.Net.Network");
	CU_ASSERT_STRING_EQUAL(fake->types[1]->name, "Fake.Net.Subnet");
	CU_ASSERT_STRING_EQUAL(fake->types[2]->name, "Fake.Compute.Server");
	CU_ASSERT_PTR_NULL(fake->types[3]);
	CU_ASSERT_STRING_EQUAL(second->name, "second");
	CU_ASSERT_EQUAL(second->ntypes, 1);

	for (i = 0; i < NBROKEN; i++)
		CU_ASSERT(refused_for(log, broken[i].file, broken[i].reason));
	CU_ASSERT(refused_for(log, "40-garbage.so", "refused: cannot load: "));
	/* the duplicate type names its owner's path */
	CU_ASSERT_PTR_NOT_NULL(strstr(log, fake_path));
	CU_ASSERT_PTR_NULL(strstr(log, "README"));
	CU_ASSERT_PTR_NULL(strstr(log, "50-dir.so.d"));

	/* a refused planner contributes nothing, not even its good types */
	CU_ASSERT_PTR_NULL(fugue_registry_type(reg, "Broken.NoObserve.Good", NULL));
	CU_ASSERT_PTR_NULL(fugue_registry_type(reg, "Broken.DupType.Own", NULL));
	CU_ASSERT_PTR_NULL(fugue_registry_type(reg, "Broken.InitFail.Thing", NULL));
	CU_ASSERT_PTR_NULL(fugue_registry_type(reg, "Broken.DupName.Thing", NULL));
	fugue_registry_free(reg);
	free(fake_path);
	free(log);
}

static void test_types_resolve(void)
{
	size_t refused;
	char *log;
	fugue_registry *reg = load_all(&log, &refused);
	const char *const *names = NULL;
	const fugue_type_ops *ops;
	void *data = (void *)1;
	size_t n;

	ops = fugue_registry_type(reg, "Fake.Net.Network", &data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
	CU_ASSERT_STRING_EQUAL(ops->name, "Fake.Net.Network");
	CU_ASSERT_PTR_NOT_NULL(ops->create);
	CU_ASSERT_PTR_NOT_NULL(data); /* the fake's init() data */
	/* the owner of an imposter's claim is still the fake */
	CU_ASSERT_PTR_EQUAL(fugue_registry_planner(reg, 0)->types[0], ops);

	ops = fugue_registry_type(reg, "Fake.Other.Thing", &data);
	CU_ASSERT_PTR_NOT_NULL(ops);
	CU_ASSERT_STRING_EQUAL((const char *)data, "second-data");

	CU_ASSERT_PTR_NULL(fugue_registry_type(reg, "Fake.Net.Nope", &data));
	CU_ASSERT_PTR_NULL(data);
	CU_ASSERT_PTR_NULL(fugue_registry_type(reg, "", NULL));

	n = fugue_registry_type_names(reg, &names);
	CU_ASSERT_EQUAL_FATAL(n, 4);
	CU_ASSERT_STRING_EQUAL(names[0], "Fake.Compute.Server");
	CU_ASSERT_STRING_EQUAL(names[1], "Fake.Net.Network");
	CU_ASSERT_STRING_EQUAL(names[2], "Fake.Net.Subnet");
	CU_ASSERT_STRING_EQUAL(names[3], "Fake.Other.Thing");
	fugue_registry_free(reg);
	free(log);
}

static void test_shutdown_reverse_order(void)
{
	size_t refused;
	char *log;
	fugue_registry *reg;
	char *events;

	free(fugue_test_write_file(fake_dir, "_lifecycle.log", ""));
	reg = load_all(&log, &refused);
	events = read_text(fake_dir, "_lifecycle.log");
	CU_ASSERT_STRING_EQUAL(events, "init fake\ninit second\n");
	free(events);
	fugue_registry_free(reg);
	events = read_text(fake_dir, "_lifecycle.log");
	/* and init-fail's shutdown never ran */
	CU_ASSERT_STRING_EQUAL(events, "init fake\ninit second\nshutdown second\nshutdown fake\n");
	free(events);
	free(log);
}

static void test_unreadable_dir(void)
{
	fugue_registry *reg = NULL;
	char *missing = join(planners_dir, "no-such-dir");
	char *file = join(planners_dir, "README");
	size_t refused = 7;
	struct capture c;
	char *log;

	CU_ASSERT_FATAL(fugue_registry_new(&reg, NULL) == 0);
	capture_begin(&c);
	CU_ASSERT_EQUAL(fugue_registry_load_dir(reg, missing, &refused), FUGUE_ECONFIG);
	CU_ASSERT_EQUAL(fugue_registry_load_dir(reg, file, NULL), FUGUE_ECONFIG);
	log = capture_end(&c);
	CU_ASSERT_EQUAL(refused, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, missing));
	CU_ASSERT_EQUAL(fugue_registry_count(reg), 0);
	fugue_registry_free(reg);
	free(log);
	free(missing);
	free(file);
}

/* --- in-memory planners ---------------------------------------------------------- */

static int mem_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	(void)ctx;
	(void)props;
	*out = NULL;
	return 0;
}

static int mem_remove(fugue_ctx *ctx, const struct json_object *state)
{
	(void)ctx;
	(void)state;
	return 0;
}

static int mem_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	(void)ctx;
	(void)items;
	(void)n;
	return 0;
}

/* A type as a planner built against a newer minor sends it: longer. */
struct newer_type {
	fugue_type_ops ops;
	void *appended[4];
};

static const struct newer_type mem_newer = {
	.ops = { .struct_size = sizeof(struct newer_type), .name = "Mem.Store.Newer",
	         .props = NULL, .create = mem_create, .remove = mem_remove,
	         .observe = mem_observe },
	.appended = { (void *)1, (void *)2, (void *)3, (void *)4 },
};

static const fugue_prop mem_props[] = {
	{ .name = "size", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE },
	{ .name = NULL },
};

static const fugue_type_ops mem_bucket = {
	.struct_size = sizeof(fugue_type_ops), .name = "Mem.Store.Bucket", .props = mem_props,
	.create = mem_create, .remove = mem_remove, .observe = mem_observe,
};

static const fugue_type_ops *const mem_types[] = { &mem_bucket, &mem_newer.ops, NULL };

/* Where init() tells the test which host it got. */
struct host_probe {
	const fugue_host *seen;
};

static int mem_init(const fugue_host *host, void **data)
{
	static struct host_probe probe; /* test only: one registry at a time */

	probe.seen = host;
	*data = &probe;
	return 0;
}

static const fugue_planner mem_planner = {
	FUGUE_PLANNER_HEADER, .name = "mem", .version = "0.0.1", .init = mem_init,
	.types = mem_types,
};

static void test_add_in_memory(void)
{
	fugue_registry *reg = NULL;
	const fugue_planner_info *info;
	const fugue_type_ops *ops;
	struct host_probe *probe;
	struct capture c;
	char *log;

	CU_ASSERT_FATAL(fugue_registry_new(&reg, NULL) == 0);
	CU_ASSERT_EQUAL_FATAL(fugue_registry_add(reg, &mem_planner, NULL), 0);
	info = fugue_registry_planner(reg, 0);
	CU_ASSERT_STRING_EQUAL(info->name, "mem");
	CU_ASSERT_STRING_EQUAL(info->path, "(built in)");
	CU_ASSERT_STRING_EQUAL(info->description, "");
	CU_ASSERT_EQUAL(info->ntypes, 2);

	/* normalized copies: not the planner's structs, the size of ours,
	 * NULL props made an empty list */
	ops = fugue_registry_type(reg, "Mem.Store.Newer", (void **)&probe);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
	CU_ASSERT_PTR_NOT_EQUAL(ops, &mem_newer.ops);
	CU_ASSERT_PTR_EQUAL(ops->create, mem_create);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ops->props);
	CU_ASSERT_PTR_NULL(ops->props[0].name);
	/* init() got the bare host, which speaks this ABI */
	CU_ASSERT_PTR_NOT_NULL_FATAL(probe->seen);
	CU_ASSERT_EQUAL(probe->seen->abi_major, FUGUE_PLANNER_ABI_MAJOR);
	CU_ASSERT_PTR_NOT_NULL(probe->seen->log);
	CU_ASSERT_PTR_NOT_NULL(probe->seen->sleep);

	/* the same planner again is refused by name */
	capture_begin(&c);
	CU_ASSERT_EQUAL(fugue_registry_add(reg, &mem_planner, "again"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_registry_add(reg, NULL, "nothing"), FUGUE_EINVAL);
	log = capture_end(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "planner again refused: planner name mem is already taken by (built in)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "planner nothing refused: no planner"));
	CU_ASSERT_EQUAL(fugue_registry_count(reg), 1);
	fugue_registry_free(reg);
	free(log);
}

static const fugue_host custom_host = {
	.struct_size = sizeof(fugue_host),
	.abi_major = FUGUE_PLANNER_ABI_MAJOR,
	.abi_minor = FUGUE_PLANNER_ABI_MINOR,
};

static void test_host_reaches_init(void)
{
	fugue_registry *reg = NULL;
	struct host_probe *probe = NULL;

	CU_ASSERT_FATAL(fugue_registry_new(&reg, &custom_host) == 0);
	CU_ASSERT_EQUAL_FATAL(fugue_registry_add(reg, &mem_planner, "mem"), 0);
	CU_ASSERT_PTR_NOT_NULL(fugue_registry_type(reg, "Mem.Store.Bucket", (void **)&probe));
	CU_ASSERT_PTR_EQUAL(probe->seen, &custom_host);
	fugue_registry_free(reg);
}

/* A type struct too small, and an unnamed planner. */
static const fugue_type_ops mem_tiny = {
	.struct_size = 8, .name = "Mem.Tiny.Thing", .create = mem_create, .remove = mem_remove,
	.observe = mem_observe,
};
static const fugue_type_ops *const tiny_types[] = { &mem_tiny, NULL };
static const fugue_planner tiny_planner = {
	FUGUE_PLANNER_HEADER, .name = "tiny", .types = tiny_types,
};
static const fugue_type_ops *const twice_types[] = { &mem_bucket, &mem_bucket, NULL };
static const fugue_planner twice_planner = {
	FUGUE_PLANNER_HEADER, .name = "twice", .types = twice_types,
};
static const fugue_planner unnamed_planner = { FUGUE_PLANNER_HEADER, .types = mem_types };

static void test_add_refusals(void)
{
	fugue_registry *reg = NULL;
	struct capture c;
	char *log;

	CU_ASSERT_FATAL(fugue_registry_new(&reg, NULL) == 0);
	capture_begin(&c);
	CU_ASSERT_EQUAL(fugue_registry_add(reg, &tiny_planner, "tiny"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_registry_add(reg, &twice_planner, "twice"), FUGUE_EINVAL);
	CU_ASSERT_EQUAL(fugue_registry_add(reg, &unnamed_planner, "unnamed"), FUGUE_EINVAL);
	log = capture_end(&c);
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "planner tiny refused: type (unnamed) has struct_size 8"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "planner twice refused: type Mem.Store.Bucket is declared twice"));
	CU_ASSERT_PTR_NOT_NULL(strstr(log, "planner unnamed refused: it has no name"));
	CU_ASSERT_EQUAL(fugue_registry_count(reg), 0);
	CU_ASSERT_EQUAL(fugue_registry_type_names(reg, &(const char *const *){ NULL }), 0);
	fugue_registry_free(reg);
	free(log);
}

/* --- the fake planner's behaviour ------------------------------------------------ */

/* What a test host records; reached through ctx->host_private. */
struct record {
	int fails;
	int last_code;
	char last_aws_code[128];
	char last_fail[512];
	int reports;
	char last_path[64];
	char last_report[512];
	long slept_ms;
	json_object *declared; /* resource name -> properties */
};

static void t_fail(fugue_ctx *ctx, int code, const fugue_aws_error *aws, const char *fmt, ...)
{
	struct record *r = ctx->host_private;
	va_list ap;

	r->fails++;
	r->last_code = code;
	snprintf(r->last_aws_code, sizeof(r->last_aws_code), "%s", aws ? aws->code : "");
	va_start(ap, fmt);
	vsnprintf(r->last_fail, sizeof(r->last_fail), fmt, ap);
	va_end(ap);
}

static void t_report(fugue_ctx *ctx, const char *path, const char *fmt, ...)
{
	struct record *r = ctx->host_private;
	va_list ap;

	r->reports++;
	snprintf(r->last_path, sizeof(r->last_path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(r->last_report, sizeof(r->last_report), fmt, ap);
	va_end(ap);
}

static void t_progress(fugue_ctx *ctx, const char *fmt, ...)
{
	(void)ctx;
	(void)fmt;
}

static void t_log(fugue_ctx *ctx, fugue_log_level level, const char *fmt, ...)
{
	(void)ctx;
	(void)level;
	(void)fmt;
}

static int t_sleep(fugue_ctx *ctx, long ms)
{
	struct record *r = ctx->host_private;

	r->slept_ms += ms;
	return 0;
}

static int t_cancelled(fugue_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static const struct json_object *t_declared(fugue_ctx *ctx, const char *resource)
{
	struct record *r = ctx->host_private;
	json_object *v = NULL;

	json_object_object_get_ex(r->declared, resource, &v);
	return v;
}

static const fugue_host test_host = {
	.struct_size = sizeof(fugue_host),
	.abi_major = FUGUE_PLANNER_ABI_MAJOR,
	.abi_minor = FUGUE_PLANNER_ABI_MINOR,
	.fail = t_fail,
	.report = t_report,
	.progress = t_progress,
	.log = t_log,
	.sleep = t_sleep,
	.cancelled = t_cancelled,
	.declared = t_declared,
};

/* A registry holding only the fake, with the test host. */
struct fake_env {
	fugue_registry *reg;
	struct record rec;
	json_object *tags;
};

static void fake_open(struct fake_env *e)
{
	const char *so = fugue_test_require_env("FUGUE_TEST_FAKE_SO", "run me through ctest");
	char *dir = fugue_test_tmpdir();
	char *link = join(dir, "fugue_fake.so");

	memset(e, 0, sizeof(*e));
	CU_ASSERT_FATAL(symlink(so, link) == 0);
	CU_ASSERT_FATAL(fugue_registry_new(&e->reg, &test_host) == 0);
	CU_ASSERT_FATAL(fugue_registry_load_dir(e->reg, dir, NULL) == 0);
	CU_ASSERT_FATAL(fugue_registry_count(e->reg) == 1);
	e->rec.declared = json_object_new_object();
	e->tags = json_tokener_parse("{\"fugue:fid\": \"fid-1\", \"fugue:resource\": \"r\"}");
	fugue_test_rmtree(dir);
	free(dir);
	free(link);
}

static void fake_close(struct fake_env *e)
{
	fugue_registry_free(e->reg);
	json_object_put(e->rec.declared);
	json_object_put(e->tags);
	/* each test starts from an empty service */
	fugue_test_rmtree(fake_dir);
	mkdir(fake_dir, 0700);
}

static const fugue_type_ops *fake_ctx(struct fake_env *e, fugue_ctx *ctx, const char *type,
                                      const char *resource, const char *token)
{
	const fugue_type_ops *ops;

	memset(ctx, 0, sizeof(*ctx));
	ctx->struct_size = sizeof(*ctx);
	ctx->host = &test_host;
	ctx->host_private = &e->rec;
	ctx->region = "us-east-1";
	ctx->fid = "fid-1";
	ctx->resource = resource;
	ctx->type = type;
	ctx->client_token = token;
	json_object_object_add(e->tags, "fugue:resource",
	                       json_object_new_string(resource ? resource : ""));
	ctx->tags = e->tags;
	ops = fugue_registry_type(e->reg, type, &ctx->planner_data);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
	return ops;
}

/* Creates TYPE from the JSON text PROPS; returns the new id (caller frees) or NULL. */
static char *create(struct fake_env *e, const char *type, const char *resource, const char *token,
                    const char *props, int expect)
{
	fugue_ctx ctx;
	const fugue_type_ops *ops = fake_ctx(e, &ctx, type, resource, token);
	json_object *p = json_tokener_parse(props);
	json_object *out = NULL;
	json_object *id = NULL;
	char *result = NULL;
	int rc;

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	rc = ops->create(&ctx, p, &out);
	CU_ASSERT_EQUAL(rc, expect);
	if (rc == 0 && json_object_object_get_ex(out, "id", &id))
		result = strdup(json_object_get_string(id));
	json_object_put(out);
	json_object_put(p);
	return result;
}

static int count_resources(void)
{
	char *cmd;
	FILE *f;
	int n = -1;

	if (asprintf(&cmd, "ls '%s' | grep -c '^[a-z].*\\.json$'", fake_dir) < 0)
		abort();
	f = popen(cmd, "r");
	if (f && fscanf(f, "%d", &n) != 1)
		n = -1;
	if (f)
		pclose(f);
	free(cmd);
	return n;
}

static long calls_of(const char *op, const char *type)
{
	char *path = join(fake_dir, "_calls.json");
	json_object *calls = json_object_from_file(path);
	json_object *per_op = NULL;
	json_object *n = NULL;
	long v = 0;

	if (json_object_object_get_ex(calls, op, &per_op) &&
	    json_object_object_get_ex(per_op, type, &n))
		v = (long)json_object_get_int64(n);
	json_object_put(calls);
	free(path);
	return v;
}

static void test_fake_create_idempotent(void)
{
	struct fake_env e;
	char *a;
	char *b;
	char *c;

	fake_open(&e);
	a = create(&e, "Fake.Net.Network", "net", "tok-1", "{\"cidr\": \"10.0.0.0/16\"}", 0);
	b = create(&e, "Fake.Net.Network", "net", "tok-1", "{\"cidr\": \"10.0.0.0/16\"}", 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(b);
	CU_ASSERT_STRING_EQUAL(a, b);
	CU_ASSERT_EQUAL(count_resources(), 1);
	c = create(&e, "Fake.Net.Network", "net2", "tok-2", "{\"cidr\": \"10.1.0.0/16\"}", 0);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_EQUAL(count_resources(), 2);
	CU_ASSERT_EQUAL(calls_of("create", "Fake.Net.Network"), 3);
	free(a);
	free(b);
	free(c);
	fake_close(&e);
}

static void test_fake_references_and_remove(void)
{
	struct fake_env e;
	fugue_ctx ctx;
	const fugue_type_ops *ops;
	char *net;
	char *sub;
	char props[256];
	json_object *state;

	fake_open(&e);
	CU_ASSERT_PTR_NULL(create(&e, "Fake.Net.Subnet", "sub", NULL,
	                          "{\"network\": \"net-missing\", \"cidr\": \"10.0.1.0/24\"}",
	                          FUGUE_ENOTFOUND));
	CU_ASSERT_STRING_EQUAL(e.rec.last_aws_code, "InvalidNetworkID.NotFound");
	net = create(&e, "Fake.Net.Network", "net", NULL, "{\"cidr\": \"10.0.0.0/16\"}", 0);
	snprintf(props, sizeof(props), "{\"network\": \"%s\", \"cidr\": \"10.0.1.0/24\"}", net);
	sub = create(&e, "Fake.Net.Subnet", "sub", NULL, props, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sub);

	/* the network is still in use */
	ops = fake_ctx(&e, &ctx, "Fake.Net.Network", "net", NULL);
	snprintf(props, sizeof(props), "{\"id\": \"%s\"}", net);
	state = json_tokener_parse(props);
	CU_ASSERT_EQUAL(ops->remove(&ctx, state), FUGUE_ECONFLICT);
	CU_ASSERT_STRING_EQUAL(e.rec.last_aws_code, "DependencyViolation");
	json_object_put(state);

	ops = fake_ctx(&e, &ctx, "Fake.Net.Subnet", "sub", NULL);
	snprintf(props, sizeof(props), "{\"id\": \"%s\"}", sub);
	state = json_tokener_parse(props);
	CU_ASSERT_EQUAL(ops->remove(&ctx, state), 0);
	CU_ASSERT_EQUAL(ops->remove(&ctx, state), 0); /* already gone */
	json_object_put(state);
	CU_ASSERT_EQUAL(count_resources(), 1);
	free(net);
	free(sub);
	fake_close(&e);
}

static void test_fake_observe_batch(void)
{
	struct fake_env e;
	fugue_ctx ctx;
	const fugue_type_ops *ops;
	fugue_observation items[3];
	json_object *v = NULL;
	char *a;
	char *b;

	fake_open(&e);
	a = create(&e, "Fake.Net.Network", "a", NULL, "{\"cidr\": \"10.0.0.0/16\"}", 0);
	b = create(&e, "Fake.Net.Network", "b", NULL, "{\"cidr\": \"10.1.0.0/16\"}", 0);
	ops = fake_ctx(&e, &ctx, "Fake.Net.Network", NULL, NULL);
	memset(items, 0, sizeof(items));
	items[0].resource = "a";
	items[0].id = a;
	items[1].resource = "b"; /* id unknown: found by its tags */
	items[2].resource = "c";
	items[2].id = "net-00000000";
	CU_ASSERT_EQUAL(ops->observe(&ctx, items, 3), 0);
	CU_ASSERT_EQUAL(items[0].status, 0);
	CU_ASSERT_EQUAL(items[1].status, 0);
	CU_ASSERT_EQUAL(items[2].status, FUGUE_ENOTFOUND);
	CU_ASSERT(json_object_object_get_ex(items[1].state, "id", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), b);
	CU_ASSERT_EQUAL(calls_of("observe", "Fake.Net.Network"), 1);
	json_object_put(items[0].state);
	json_object_put(items[1].state);
	CU_ASSERT_PTR_NULL(items[2].state);
	free(a);
	free(b);
	fake_close(&e);
}

static void test_fake_faults(void)
{
	struct fake_env e;
	char *id;
	char *faults;

	fake_open(&e);
	free(fugue_test_write_file(fake_dir, "_faults.json",
	                           "{\"create\": {\"Fake.Net.Network\": {\"fail\": 2, "
	                           "\"code\": \"Throttling\", \"delay_ms\": 200}}}"));
	CU_ASSERT_PTR_NULL(create(&e, "Fake.Net.Network", "n", "t", "{\"cidr\": \"10.0.0.0/16\"}",
	                          FUGUE_ERETRY));
	CU_ASSERT_STRING_EQUAL(e.rec.last_aws_code, "Throttling");
	CU_ASSERT_PTR_NULL(create(&e, "Fake.Net.Network", "n", "t", "{\"cidr\": \"10.0.0.0/16\"}",
	                          FUGUE_ERETRY));
	CU_ASSERT_EQUAL(count_resources(), 0);
	id = create(&e, "Fake.Net.Network", "n", "t", "{\"cidr\": \"10.0.0.0/16\"}", 0);
	CU_ASSERT_PTR_NOT_NULL(id);
	CU_ASSERT_EQUAL(e.rec.slept_ms, 600); /* the delay applies to every call */
	faults = read_text(fake_dir, "_faults.json");
	CU_ASSERT_PTR_NOT_NULL(strstr(faults, "\"fail\":0"));
	free(faults);
	free(id);

	/* "after": the resource is made, the answer lost */
	free(fugue_test_write_file(fake_dir, "_faults.json",
	                           "{\"create\": {\"*\": {\"fail\": 1, \"after\": true}}}"));
	CU_ASSERT_PTR_NULL(create(&e, "Fake.Net.Network", "m", "u", "{\"cidr\": \"10.2.0.0/16\"}",
	                          FUGUE_EAWS));
	CU_ASSERT_EQUAL(count_resources(), 2);
	fake_close(&e);
}

static void test_fake_update_and_write_only(void)
{
	struct fake_env e;
	fugue_ctx ctx;
	const fugue_type_ops *ops;
	char *net;
	char *sub;
	char *srv;
	char text[512];
	json_object *state;
	json_object *props;
	json_object *changed;
	json_object *out = NULL;
	json_object *p = NULL;
	json_object *v = NULL;

	fake_open(&e);
	net = create(&e, "Fake.Net.Network", "net", NULL, "{\"cidr\": \"10.0.0.0/16\"}", 0);
	snprintf(text, sizeof(text), "{\"network\": \"%s\", \"cidr\": \"10.0.1.0/24\"}", net);
	sub = create(&e, "Fake.Net.Subnet", "sub", NULL, text, 0);
	snprintf(text, sizeof(text),
	         "{\"subnet\": \"%s\", \"size\": \"small\", \"userData\": \"#!/bin/sh\"}", sub);
	srv = create(&e, "Fake.Compute.Server", "srv", NULL, text, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(srv);

	ops = fake_ctx(&e, &ctx, "Fake.Compute.Server", "srv", NULL);
	snprintf(text, sizeof(text), "{\"id\": \"%s\"}", srv);
	state = json_tokener_parse(text);
	snprintf(text, sizeof(text), "{\"subnet\": \"%s\", \"size\": \"medium\"}", sub);
	props = json_tokener_parse(text);
	changed = json_tokener_parse("[\"size\"]");
	CU_ASSERT_EQUAL(ops->update(&ctx, state, props, changed, &out), 0);
	CU_ASSERT(json_object_object_get_ex(out, "properties", &p));
	CU_ASSERT(json_object_object_get_ex(p, "size", &v));
	CU_ASSERT_STRING_EQUAL(json_object_get_string(v), "medium");
	CU_ASSERT_FALSE(json_object_object_get_ex(p, "userData", NULL)); /* write-only */
	CU_ASSERT(json_object_object_get_ex(out, "attributes", &p));
	CU_ASSERT(json_object_object_get_ex(p, "privateIp", &v));
	CU_ASSERT_EQUAL(strncmp(json_object_get_string(v), "10.0.1.", 7), 0);
	json_object_put(out);
	json_object_put(state);
	json_object_put(props);
	json_object_put(changed);
	free(net);
	free(sub);
	free(srv);
	fake_close(&e);
}

static void test_fake_validate(void)
{
	struct fake_env e;
	fugue_ctx ctx;
	const fugue_type_ops *ops;
	json_object *props;

	fake_open(&e);
	json_object_object_add(e.rec.declared, "net",
	                       json_tokener_parse("{\"cidr\": \"10.0.0.0/16\"}"));
	ops = fake_ctx(&e, &ctx, "Fake.Net.Subnet", "sub", NULL);
	props = json_tokener_parse("{\"network\": {\"$ref\": \"net\", \"attr\": \"id\"}, "
	                           "\"cidr\": \"10.0.1.0/24\", \"public\": false}");
	CU_ASSERT_EQUAL(ops->validate(&ctx, props), 0);
	json_object_put(props);
	props = json_tokener_parse("{\"network\": {\"$ref\": \"net\", \"attr\": \"id\"}, "
	                           "\"cidr\": \"10.9.1.0/24\", \"public\": false}");
	CU_ASSERT_EQUAL(ops->validate(&ctx, props), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.rec.last_path, "cidr");
	CU_ASSERT_PTR_NOT_NULL(strstr(e.rec.last_report, "not inside network net's 10.0.0.0/16"));
	json_object_put(props);

	ops = fake_ctx(&e, &ctx, "Fake.Compute.Server", "srv", NULL);
	props = json_tokener_parse("{\"subnet\": {\"$ref\": \"sub\"}, \"size\": \"large\"}");
	CU_ASSERT_EQUAL(ops->validate(&ctx, props), FUGUE_EINVAL);
	CU_ASSERT_STRING_EQUAL(e.rec.last_path, "password");
	json_object_put(props);
	props = json_tokener_parse("{\"subnet\": {\"$ref\": \"sub\"}, \"size\": \"large\", "
	                           "\"password\": \"hunter2\"}");
	CU_ASSERT_EQUAL(ops->validate(&ctx, props), 0);
	json_object_put(props);
	fake_close(&e);
}

int fugue_test_register(void)
{
	CU_pSuite loader = CU_add_suite("loader", setup, cleanup);
	CU_pSuite fake = CU_add_suite("fake", setup, cleanup);

	if (!loader || !fake)
		return 1;
	if (!CU_add_test(loader, "loads good, refuses broken", test_loads_good_refuses_broken) ||
	    !CU_add_test(loader, "types resolve", test_types_resolve) ||
	    !CU_add_test(loader, "shutdown in reverse order", test_shutdown_reverse_order) ||
	    !CU_add_test(loader, "unreadable directory", test_unreadable_dir) ||
	    !CU_add_test(loader, "add in memory", test_add_in_memory) ||
	    !CU_add_test(loader, "host reaches init", test_host_reaches_init) ||
	    !CU_add_test(loader, "add refusals", test_add_refusals))
		return 1;
	if (!CU_add_test(fake, "create is idempotent", test_fake_create_idempotent) ||
	    !CU_add_test(fake, "references and remove", test_fake_references_and_remove) ||
	    !CU_add_test(fake, "observe in batch", test_fake_observe_batch) ||
	    !CU_add_test(fake, "faults", test_fake_faults) ||
	    !CU_add_test(fake, "update, write-only", test_fake_update_and_write_only) ||
	    !CU_add_test(fake, "validate", test_fake_validate))
		return 1;
	return 0;
}
