/* fake_planner.c - "fake", a cloud service that lives in a directory, for
 * testing the Conductor without AWS.
 *
 * Types (they reference each other as VPC, subnet and instance do):
 *   Fake.Net.Network    cidr (replaces), name (updatable)
 *   Fake.Net.Subnet     network: !ref Network, cidr (replaces), public (updatable)
 *   Fake.Compute.Server subnet: !ref Subnet, size small|medium|large, tags: map,
 *                       userData (write-only), password (sensitive) - all but
 *                       subnet updatable; publishes privateIp
 *
 * The service's state is the directory named by FUGUE_FAKE_DIR when init()
 * runs (read once; the callbacks fail with FUGUE_ECONFIG without it):
 *
 *   <id>.json         one resource (id, type, properties, tags, clientToken,
 *                     attributes), replaced atomically with rename(2), so it
 *                     survives the Conductor being killed at any point
 *   _calls.json       calls per operation and type: {"observe": {"Fake.Net.Subnet": 3}}
 *                     (observe lists the directory once per call, as one
 *                     filtered Describe would; "details" counts the networks
 *                     whose name observe read: a network's name is its
 *                     per-resource detail, read only when the host says it
 *                     is due)
 *   _faults.json      injected faults, read on every call:
 *                     {"create": {"Fake.Compute.Server": {"fail": 2, "code": "Throttling",
 *                      "delay_ms": 200, "delay_after_ms": 0, "after": false}}}
 *                     "fail": the next N calls fail with CODE (default
 *                     InternalError), counted down in the file; "after": the
 *                     call takes effect first, then fails (a lost answer);
 *                     "delay_ms" / "delay_after_ms": waits before / after the
 *                     effect, through ctx->host->sleep. The type "*" matches
 *                     every type. Operations: create, update, remove, observe.
 *   _lifecycle.log    "init fake" / "shutdown fake" lines, for load-order tests
 *   _lock             flock(2)ed around every read-modify-write of the above
 *
 * observe() tells the host of duplicates: records of the type that carry
 * an item's fugue:fid and fugue:resource tags but are not the item's.
 *
 * Like EC2, create() with a client token already used returns the resource
 * made the first time, remove() of a resource already gone succeeds, and a
 * resource that others still reference cannot be removed (DependencyViolation).
 *
 * No global mutable state: the directory and its lock are the state, the
 * init() data is read-only after init(), so callbacks run on any thread. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fugue/planner.h"

/* What init() returns; never changed afterwards. */
struct fake {
	char *dir; /* owned; NULL when FUGUE_FAKE_DIR was not set */
};

/* How one type behaves beyond its schema. */
struct fake_kind {
	const char *type;
	const char *id_prefix;
	const char *arn_kind;
	const char *parent_prop; /* property holding the parent's id, or NULL */
	const char *parent_type;
	const char *parent_missing_code;
};

static const struct fake_kind kinds[] = {
	{ "Fake.Net.Network", "net", "network", NULL, NULL, NULL },
	{ "Fake.Net.Subnet", "subnet", "subnet", "network", "Fake.Net.Network",
	  "InvalidNetworkID.NotFound" },
	{ "Fake.Compute.Server", "srv", "server", "subnet", "Fake.Net.Subnet",
	  "InvalidSubnetID.NotFound" },
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static const struct fake_kind *kind_of(const char *type)
{
	size_t i;

	for (i = 0; type && i < NKINDS; i++) {
		if (strcmp(kinds[i].type, type) == 0)
			return &kinds[i];
	}
	return NULL;
}

/* --- small json helpers -------------------------------------------------------- */

/* json-c's getters and deep copy take non-const pointers without changing
 * anything; this is the one place the const is dropped. */
static struct json_object *unconst(const struct json_object *o)
{
	return (struct json_object *)(uintptr_t)o;
}

static struct json_object *get(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_is_type(o, json_type_object))
		return NULL;
	json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *get_str(const struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static struct json_object *copy(const struct json_object *o)
{
	struct json_object *out = NULL;

	if (!o)
		return NULL;
	if (json_object_deep_copy(unconst(o), &out, NULL) != 0)
		return NULL;
	return out;
}

/* --- files ------------------------------------------------------------------ */

static char *path_in(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* The parsed JSON of DIR/NAME; NULL when missing or unreadable. Caller puts. */
static struct json_object *read_json(const char *dir, const char *name)
{
	char *path = path_in(dir, name);
	struct json_object *o = NULL;
	int fd;

	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return NULL;
	o = json_object_from_fd(fd);
	close(fd);
	return o;
}

static void random_hex(char *out, size_t nbytes)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char raw[16];
	size_t i;

	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes)
		memset(raw, 0x5a, nbytes);
	for (i = 0; i < nbytes; i++) {
		out[2 * i] = digits[raw[i] >> 4];
		out[2 * i + 1] = digits[raw[i] & 15];
	}
	out[2 * nbytes] = '\0';
}

/* Replaces DIR/NAME with O in one rename, so a reader (or a crash) sees the
 * old file or the new one, never half of one. Returns 0 or FUGUE_EIO. */
static int write_json(const char *dir, const char *name, const struct json_object *o)
{
	char suffix[17];
	char *tmp = NULL;
	char *path = path_in(dir, name);
	int rc = FUGUE_EIO;
	int fd;

	random_hex(suffix, 8);
	if (!path || asprintf(&tmp, "%s/.tmp-%s-%s", dir, name, suffix) < 0) {
		free(path);
		return FUGUE_ENOMEM;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd >= 0) {
		int wrote = json_object_to_fd(fd, unconst(o), JSON_C_TO_STRING_PLAIN);

		if (close(fd) == 0 && wrote == 0 && rename(tmp, path) == 0)
			rc = 0;
		else
			unlink(tmp);
	}
	free(tmp);
	free(path);
	return rc;
}

/* Takes the directory's lock; returns the fd to pass to unlock(), or -1. */
static int lock_dir(const char *dir)
{
	char *path = path_in(dir, "_lock");
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(path);
	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void unlock_dir(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

static void append_line(const char *dir, const char *name, const char *line)
{
	char *path = path_in(dir, name);
	FILE *f;

	if (!path)
		return;
	f = fopen(path, "a");
	free(path);
	if (!f)
		return;
	fprintf(f, "%s\n", line);
	fclose(f);
}

static int is_resource_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '_' && name[0] != '.' && n > 5 && strcmp(name + n - 5, ".json") == 0;
}

/* Every resource record in DIR, as a json array (caller puts), or NULL. */
static struct json_object *list_resources(const char *dir)
{
	struct json_object *all = json_object_new_array();
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		json_object_put(all);
		return NULL;
	}
	for (de = readdir(d); de; de = readdir(d)) {
		struct json_object *rec;

		if (!is_resource_file(de->d_name))
			continue;
		rec = read_json(dir, de->d_name);
		if (rec)
			json_object_array_add(all, rec);
	}
	closedir(d);
	return all;
}

/* --- errors ---------------------------------------------------------------- */

static int fail_code(fugue_ctx *ctx, const char *op, const char *code, const char *message)
{
	fugue_aws_error err;
	int rc = fugue_aws_error_classify(code, 400);

	memset(&err, 0, sizeof(err));
	err.http_status = 400;
	snprintf(err.code, sizeof(err.code), "%s", code);
	snprintf(err.message, sizeof(err.message), "%s", message);
	snprintf(err.service, sizeof(err.service), "fake");
	snprintf(err.action, sizeof(err.action), "%s", op);
	memcpy(err.request_id, "fake-", 5);
	random_hex(err.request_id + 5, 8);
	err.attempts = 1;
	ctx->host->fail(ctx, rc, &err, "%s %s: %s: %s", op, ctx->type, code, message);
	return rc;
}

static int fail_io(fugue_ctx *ctx, const char *what)
{
	ctx->host->fail(ctx, FUGUE_EIO, NULL, "fake service: cannot %s: %s", what, strerror(errno));
	return FUGUE_EIO;
}

static const char *fake_dir(fugue_ctx *ctx)
{
	const struct fake *f = ctx->planner_data;

	if (!f || !f->dir) {
		ctx->host->fail(ctx, FUGUE_ECONFIG, NULL,
		                "fake service: FUGUE_FAKE_DIR was not set when the planner loaded");
		return NULL;
	}
	return f->dir;
}

/* --- call accounting and injected faults ---------------------------------- */

/* A fault to apply to this call, read from _faults.json. */
struct fault {
	int fail;          /* nonzero: this call fails */
	int after;         /* fail after taking effect */
	long delay_ms;
	long delay_after_ms;
	char code[128];
	char message[256];
};

static void count_call(const char *dir, const char *op, const char *type)
{
	struct json_object *calls = read_json(dir, "_calls.json");
	struct json_object *per_op;
	struct json_object *n;

	if (!calls || !json_object_is_type(calls, json_type_object)) {
		json_object_put(calls);
		calls = json_object_new_object();
	}
	per_op = get(calls, op);
	if (!per_op) {
		per_op = json_object_new_object();
		json_object_object_add(calls, op, per_op);
	}
	n = get(per_op, type);
	json_object_object_add(per_op, type, json_object_new_int64(n ? json_object_get_int64(n) + 1 : 1));
	write_json(dir, "_calls.json", calls);
	json_object_put(calls);
}

/* Reads the fault for OP on TYPE into *OUT, counting "fail" down. */
static void take_fault(struct fault *out, const char *dir, const char *op, const char *type)
{
	struct json_object *faults = read_json(dir, "_faults.json");
	struct json_object *spec = get(get(faults, op), type);
	struct json_object *left;
	const char *s;

	memset(out, 0, sizeof(*out));
	if (!spec)
		spec = get(get(faults, op), "*");
	if (!spec) {
		json_object_put(faults);
		return;
	}
	out->delay_ms = json_object_get_int64(get(spec, "delay_ms"));
	out->delay_after_ms = json_object_get_int64(get(spec, "delay_after_ms"));
	out->after = json_object_get_boolean(get(spec, "after"));
	s = get_str(spec, "code");
	snprintf(out->code, sizeof(out->code), "%s", s ? s : "InternalError");
	s = get_str(spec, "message");
	snprintf(out->message, sizeof(out->message), "%s", s ? s : "injected fault");
	left = get(spec, "fail");
	if (left && json_object_get_int64(left) > 0) {
		out->fail = 1;
		json_object_set_int64(left, json_object_get_int64(left) - 1);
		write_json(dir, "_faults.json", faults);
	}
	json_object_put(faults);
}

/* Starts an operation: counts it and reads its fault (*F). Returns 0, or
 * an error already reported with ctx->host->fail(). */
static int enter(fugue_ctx *ctx, const char *dir, const char *op, struct fault *f)
{
	int lock = lock_dir(dir);

	memset(f, 0, sizeof(*f));
	if (lock < 0)
		return fail_io(ctx, "lock the service directory");
	count_call(dir, op, ctx->type);
	take_fault(f, dir, op, ctx->type);
	unlock_dir(lock);
	if (f->delay_ms > 0 && ctx->host->sleep(ctx, f->delay_ms) != 0)
		return FUGUE_ECANCELED;
	if (f->fail && !f->after)
		return fail_code(ctx, op, f->code, f->message);
	return 0;
}

/* Ends an operation that took effect: the "after" half of the fault. */
static int leave(fugue_ctx *ctx, const char *op, const struct fault *f)
{
	if (f->delay_after_ms > 0 && ctx->host->sleep(ctx, f->delay_after_ms) != 0)
		return FUGUE_ECANCELED;
	if (f->fail && f->after)
		return fail_code(ctx, op, f->code, f->message);
	return 0;
}

/* --- CIDR arithmetic -------------------------------------------------------- */

static int parse_cidr(const char *s, unsigned long *addr, unsigned int *prefix)
{
	unsigned int a, b, c, d, p;
	char extra;

	if (!s || sscanf(s, "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &p, &extra) != 5)
		return -1;
	if (a > 255 || b > 255 || c > 255 || d > 255 || p > 32)
		return -1;
	*addr = ((unsigned long)a << 24) | (b << 16) | (c << 8) | d;
	*prefix = p;
	return 0;
}

static unsigned long mask_of(unsigned int prefix)
{
	return prefix == 0 ? 0 : (0xffffffffUL << (32 - prefix)) & 0xffffffffUL;
}

/* Nonzero when INNER lies inside OUTER. */
static int cidr_inside(const char *inner, const char *outer)
{
	unsigned long ia, oa;
	unsigned int ip, op;

	if (parse_cidr(inner, &ia, &ip) != 0 || parse_cidr(outer, &oa, &op) != 0)
		return 0;
	return ip >= op && (ia & mask_of(op)) == (oa & mask_of(op));
}

/* --- records and states ------------------------------------------------------ */

static int is_write_only(const fugue_type_ops *ops, const char *prop);
static const fugue_type_ops *ops_of(const char *type);

/* The state of REC as create/update/observe hand it back (caller puts):
 * what the service would tell, so write-only properties are left out. */
static struct json_object *state_of(const struct json_object *rec)
{
	const fugue_type_ops *ops = ops_of(get_str(rec, "type"));
	struct json_object *state = json_object_new_object();
	struct json_object *props = json_object_new_object();
	struct json_object *stored = get(rec, "properties");
	struct json_object *attrs = copy(get(rec, "attributes"));

	if (stored) {
		json_object_object_foreach(stored, key, val) {
			if (!is_write_only(ops, key))
				json_object_object_add(props, key, copy(val));
		}
	}
	json_object_object_add(state, "id", copy(get(rec, "id")));
	json_object_object_add(state, "attributes", attrs ? attrs : json_object_new_object());
	json_object_object_add(state, "properties", props);
	return state;
}

static char *record_name(const char *id)
{
	char *name = NULL;

	if (asprintf(&name, "%s.json", id) < 0)
		return NULL;
	return name;
}

static struct json_object *read_record(const char *dir, const char *id)
{
	char *name;
	struct json_object *rec;

	if (!id || strchr(id, '/') || id[0] == '.' || id[0] == '_')
		return NULL;
	name = record_name(id);
	if (!name)
		return NULL;
	rec = read_json(dir, name);
	free(name);
	return rec;
}

static int write_record(const char *dir, const struct json_object *rec)
{
	char *name = record_name(get_str(rec, "id"));
	int rc;

	if (!name)
		return FUGUE_ENOMEM;
	rc = write_json(dir, name, rec);
	free(name);
	return rc;
}

/* A private address inside the subnet's block, derived from the id. */
static void private_ip(char *out, size_t size, const char *subnet_cidr, const char *id)
{
	unsigned long addr = 0x0a000000UL;
	unsigned int prefix = 24;
	unsigned long hosts;
	unsigned long h = 5381;
	const char *p;

	if (parse_cidr(subnet_cidr, &addr, &prefix) != 0 || prefix > 28) {
		addr = 0x0a000000UL;
		prefix = 24;
	}
	for (p = id; *p; p++)
		h = h * 33 + (unsigned char)*p;
	hosts = (1UL << (32 - prefix)) - 5; /* AWS keeps 4 at the start, 1 at the end */
	addr = (addr & mask_of(prefix)) + 4 + h % hosts;
	snprintf(out, size, "%lu.%lu.%lu.%lu", (addr >> 24) & 255, (addr >> 16) & 255,
	         (addr >> 8) & 255, addr & 255);
}

/* --- create -------------------------------------------------------------------- */

/* The record of type TYPE created with client token TOKEN, or NULL. */
static struct json_object *find_by_token(const char *dir, const char *type, const char *token)
{
	struct json_object *all = list_resources(dir);
	struct json_object *found = NULL;
	size_t i;

	for (i = 0; all && i < json_object_array_length(all); i++) {
		struct json_object *rec = json_object_array_get_idx(all, i);
		if (str_eq(get_str(rec, "clientToken"), token) && str_eq(get_str(rec, "type"), type)) {
			found = json_object_get(rec);
			break;
		}
	}
	json_object_put(all);
	return found;
}

static struct json_object *new_record(fugue_ctx *ctx, const struct fake_kind *kind,
                                      const struct json_object *props,
                                      const struct json_object *parent)
{
	struct json_object *rec = json_object_new_object();
	struct json_object *attrs = json_object_new_object();
	struct json_object *tags = copy(ctx->tags);
	char hex[17];
	char id[64];
	char arn[256];

	random_hex(hex, 8);
	snprintf(id, sizeof(id), "%s-%s", kind->id_prefix, hex);
	snprintf(arn, sizeof(arn), "arn:fake:%s:%s:000000000000:%s/%s", kind->id_prefix,
	         ctx->region ? ctx->region : "local", kind->arn_kind, id);
	json_object_object_add(attrs, "arn", json_object_new_string(arn));
	if (strcmp(kind->type, "Fake.Compute.Server") == 0) {
		char ip[32];

		private_ip(ip, sizeof(ip), get_str(get(parent, "properties"), "cidr"), id);
		json_object_object_add(attrs, "privateIp", json_object_new_string(ip));
	}
	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "type", json_object_new_string(kind->type));
	json_object_object_add(rec, "properties", props ? copy(props) : json_object_new_object());
	json_object_object_add(rec, "tags", tags ? tags : json_object_new_object());
	if (ctx->client_token)
		json_object_object_add(rec, "clientToken", json_object_new_string(ctx->client_token));
	json_object_object_add(rec, "attributes", attrs);
	return rec;
}

/* Under the lock: the existing record for the client token, or a new one
 * written to the directory. *OUT is the record (caller puts). */
static int create_locked(fugue_ctx *ctx, const char *dir, const struct fake_kind *kind,
                         const struct json_object *props, struct json_object **out)
{
	struct json_object *parent = NULL;
	struct json_object *rec;
	int rc;

	*out = NULL;
	if (ctx->client_token) {
		*out = find_by_token(dir, kind->type, ctx->client_token);
		if (*out)
			return 0;
	}
	if (kind->parent_prop) {
		const char *parent_id = get_str(props, kind->parent_prop);

		parent = read_record(dir, parent_id);
		if (!parent || !str_eq(get_str(parent, "type"), kind->parent_type)) {
			char msg[256];

			json_object_put(parent);
			snprintf(msg, sizeof(msg), "the %s '%s' does not exist", kind->parent_prop,
			         parent_id ? parent_id : "");
			return fail_code(ctx, "create", kind->parent_missing_code, msg);
		}
	}
	rec = new_record(ctx, kind, props, parent);
	json_object_put(parent);
	rc = write_record(dir, rec);
	if (rc != 0) {
		json_object_put(rec);
		return fail_io(ctx, "write a resource");
	}
	*out = rec;
	return 0;
}

static int fake_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	const struct fake_kind *kind = kind_of(ctx->type);
	const char *dir = fake_dir(ctx);
	struct json_object *rec = NULL;
	struct fault f;
	int lock;
	int rc;

	*out = NULL;
	if (!dir)
		return FUGUE_ECONFIG;
	if (!kind) {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "fake service: no type %s", ctx->type);
		return FUGUE_EINVAL;
	}
	rc = enter(ctx, dir, "create", &f);
	if (rc != 0)
		return rc;
	lock = lock_dir(dir);
	if (lock < 0)
		return fail_io(ctx, "lock the service directory");
	rc = create_locked(ctx, dir, kind, props, &rec);
	unlock_dir(lock);
	if (rc != 0)
		return rc;
	rc = leave(ctx, "create", &f);
	if (rc == 0)
		*out = state_of(rec);
	json_object_put(rec);
	return rc;
}

/* --- update -------------------------------------------------------------------- */

static int apply_changes(struct json_object *rec, const struct json_object *props,
                         const struct json_object *changed)
{
	struct json_object *stored = get(rec, "properties");
	size_t i;

	if (!stored)
		return FUGUE_EPROTO;
	for (i = 0; changed && i < json_object_array_length(changed); i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(changed, i));
		struct json_object *v = get(props, name);

		if (!name)
			continue;
		if (v)
			json_object_object_add(stored, name, copy(v));
		else
			json_object_object_del(stored, name);
	}
	return 0;
}

static int fake_update(fugue_ctx *ctx, const struct json_object *state,
                       const struct json_object *props, const struct json_object *changed,
                       struct json_object **out)
{
	const char *dir = fake_dir(ctx);
	const char *id = get_str(state, "id");
	struct json_object *rec;
	struct fault f;
	int lock;
	int rc;

	*out = NULL;
	if (!dir)
		return FUGUE_ECONFIG;
	rc = enter(ctx, dir, "update", &f);
	if (rc != 0)
		return rc;
	lock = lock_dir(dir);
	if (lock < 0)
		return fail_io(ctx, "lock the service directory");
	rec = read_record(dir, id);
	if (!rec) {
		unlock_dir(lock);
		return fail_code(ctx, "update", "InvalidID.NotFound", "the resource does not exist");
	}
	rc = apply_changes(rec, props, changed);
	if (rc == 0)
		rc = write_record(dir, rec);
	unlock_dir(lock);
	if (rc != 0) {
		json_object_put(rec);
		return fail_io(ctx, "write a resource");
	}
	rc = leave(ctx, "update", &f);
	if (rc == 0)
		*out = state_of(rec);
	json_object_put(rec);
	return rc;
}

/* --- remove -------------------------------------------------------------------- */

/* The id of a resource that references ID through its parent property. */
static int find_dependent(const char *dir, const char *id, char *out, size_t size)
{
	struct json_object *all = list_resources(dir);
	size_t i;
	int found = 0;

	for (i = 0; all && i < json_object_array_length(all) && !found; i++) {
		struct json_object *rec = json_object_array_get_idx(all, i);
		const struct fake_kind *kind = kind_of(get_str(rec, "type"));
		const char *ref;

		if (!kind || !kind->parent_prop)
			continue;
		ref = get_str(get(rec, "properties"), kind->parent_prop);
		if (ref && strcmp(ref, id) == 0) {
			snprintf(out, size, "%s", get_str(rec, "id") ? get_str(rec, "id") : "?");
			found = 1;
		}
	}
	json_object_put(all);
	return found;
}

static int remove_locked(fugue_ctx *ctx, const char *dir, const char *id)
{
	char dependent[128];
	char msg[256];
	char *name;
	char *path;
	int rc = 0;

	if (find_dependent(dir, id, dependent, sizeof(dependent))) {
		snprintf(msg, sizeof(msg), "%s has a dependent object %s", id, dependent);
		return fail_code(ctx, "remove", "DependencyViolation", msg);
	}
	name = record_name(id);
	path = name ? path_in(dir, name) : NULL;
	if (!path)
		rc = FUGUE_ENOMEM;
	else if (unlink(path) != 0 && errno != ENOENT)
		rc = fail_io(ctx, "delete a resource");
	free(path);
	free(name);
	return rc;
}

static int fake_remove(fugue_ctx *ctx, const struct json_object *state)
{
	const char *dir = fake_dir(ctx);
	const char *id = get_str(state, "id");
	struct fault f;
	int lock;
	int rc;

	if (!dir)
		return FUGUE_ECONFIG;
	if (!id || strchr(id, '/') || id[0] == '.' || id[0] == '_') {
		ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "fake service: the state has no valid id");
		return FUGUE_EINVAL;
	}
	rc = enter(ctx, dir, "remove", &f);
	if (rc != 0)
		return rc;
	lock = lock_dir(dir);
	if (lock < 0)
		return fail_io(ctx, "lock the service directory");
	rc = remove_locked(ctx, dir, id);
	unlock_dir(lock);
	if (rc != 0)
		return rc;
	return leave(ctx, "remove", &f);
}

/* --- observe ------------------------------------------------------------------- */

static int matches(const struct json_object *rec, const fugue_ctx *ctx,
                   const fugue_observation *item)
{
	const char *type = get_str(rec, "type");
	const char *id = get_str(rec, "id");
	const struct json_object *tags = get(rec, "tags");
	const char *fid = get_str(tags, "fugue:fid");
	const char *resource = get_str(tags, "fugue:resource");

	if (!str_eq(type, ctx->type) || !id)
		return 0;
	if (item->id)
		return str_eq(item->id, id);
	return str_eq(fid, ctx->fid) && str_eq(resource, item->resource);
}

/* Whether the host is new enough to offer MEMBER (ABI 1.1). */
#define HOST_HAS(host, member)                                                             \
	((host)->struct_size >= offsetof(fugue_host, member) + sizeof((host)->member) &&     \
	 (host)->member)

/* A network's name is its "detail": as a VPC's DNS attributes, it costs a
 * call per resource in a real service, so it is read (and counted as a
 * "details" call) only when the host says the item's details are due. */
static void observe_details(fugue_ctx *ctx, const char *dir, const fugue_observation *item)
{
	struct json_object *props = get(item->state, "properties");

	if (!str_eq(ctx->type, "Fake.Net.Network") || !props)
		return;
	if (item->id && HOST_HAS(ctx->host, details_due) && !ctx->host->details_due(ctx, item)) {
		json_object_object_del(props, "name");
		return;
	}
	count_call(dir, "details", ctx->type);
}

/* The item of ITEMS whose resource is NAME, or NULL. */
static const fugue_observation *item_named(const fugue_observation *items, size_t n,
                                           const char *name)
{
	size_t i;

	for (i = 0; name && i < n; i++)
		if (str_eq(items[i].resource, name))
			return &items[i];
	return NULL;
}

/* Records of this type that no item matched (MATCHED) but that carry an
 * item's tags: duplicates, told to the host. */
static void report_duplicates(fugue_ctx *ctx, const fugue_observation *items, size_t n,
                              const struct json_object *all, const unsigned char *matched)
{
	size_t j;

	for (j = 0; j < json_object_array_length(all); j++) {
		const struct json_object *rec = json_object_array_get_idx(all, j);
		const struct json_object *tags = get(rec, "tags");
		const fugue_observation *item =
		        item_named(items, n, get_str(tags, "fugue:resource"));

		if (matched[j] || !item || !str_eq(get_str(rec, "type"), ctx->type) ||
		    !str_eq(get_str(tags, "fugue:fid"), ctx->fid))
			continue;
		if (HOST_HAS(ctx->host, duplicate))
			ctx->host->duplicate(ctx, item, state_of(rec));
	}
}

static int fake_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	const char *dir = fake_dir(ctx);
	unsigned char *matched;
	struct json_object *all;
	struct fault f;
	size_t i;
	size_t j;
	int rc;

	if (!dir)
		return FUGUE_ECONFIG;
	rc = enter(ctx, dir, "observe", &f);
	if (rc != 0)
		return rc;
	all = list_resources(dir); /* the one "Describe" of this batch */
	matched = all ? calloc(json_object_array_length(all) + 1, 1) : NULL;
	if (!matched) {
		json_object_put(all);
		for (i = 0; i < n; i++)
			items[i].status = FUGUE_EIO;
		return fail_io(ctx, "list the service directory");
	}
	for (i = 0; i < n; i++) {
		items[i].status = FUGUE_ENOTFOUND;
		items[i].state = NULL;
		for (j = 0; j < json_object_array_length(all); j++) {
			struct json_object *rec = json_object_array_get_idx(all, j);

			if (matches(rec, ctx, &items[i])) {
				items[i].status = 0;
				items[i].state = state_of(rec);
				matched[j] = 1;
				observe_details(ctx, dir, &items[i]);
				break;
			}
		}
	}
	rc = leave(ctx, "observe", &f);
	if (rc == 0)
		report_duplicates(ctx, items, n, all, matched);
	free(matched);
	json_object_put(all);
	for (i = 0; rc != 0 && i < n; i++) {
		json_object_put(items[i].state);
		items[i].state = NULL;
		items[i].status = rc;
	}
	return rc;
}

/* --- validate ------------------------------------------------------------------ */

static int check_cidr(fugue_ctx *ctx, const struct json_object *props, unsigned int min_prefix,
                      unsigned int max_prefix)
{
	const char *cidr = get_str(props, "cidr");
	unsigned long addr;
	unsigned int prefix;

	if (!cidr)
		return 0; /* missing: the schema's error, not ours */
	if (parse_cidr(cidr, &addr, &prefix) != 0 || prefix < min_prefix || prefix > max_prefix) {
		ctx->host->report(ctx, "cidr", "'%s' is not an IPv4 CIDR block from /%u to /%u", cidr,
		                  min_prefix, max_prefix);
		return FUGUE_EINVAL;
	}
	if ((addr & ~mask_of(prefix)) != 0) {
		ctx->host->report(ctx, "cidr", "'%s' has host bits set", cidr);
		return FUGUE_EINVAL;
	}
	return 0;
}

static int validate_network(fugue_ctx *ctx, const struct json_object *props)
{
	return check_cidr(ctx, props, 16, 28);
}

static int validate_subnet(fugue_ctx *ctx, const struct json_object *props)
{
	struct json_object *ref = get(props, "network");
	const char *network = get_str(ref, "$ref");
	const struct json_object *declared;
	const char *outer;
	const char *cidr = get_str(props, "cidr");
	int rc = check_cidr(ctx, props, 16, 28);

	if (rc != 0 || !network)
		return rc; /* an id rather than a reference: nothing declared to check */
	declared = ctx->host->declared(ctx, network);
	outer = get_str(declared, "cidr");
	if (outer && cidr && !cidr_inside(cidr, outer)) {
		ctx->host->report(ctx, "cidr", "%s is not inside network %s's %s", cidr, network, outer);
		return FUGUE_EINVAL;
	}
	return 0;
}

static int validate_server(fugue_ctx *ctx, const struct json_object *props)
{
	const char *size = get_str(props, "size");
	const char *user_data = get_str(props, "userData");
	int rc = 0;

	if (size && strcmp(size, "large") == 0 && !get_str(props, "password")) {
		ctx->host->report(ctx, "password", "a large server needs a password");
		rc = FUGUE_EINVAL;
	}
	if (user_data && strlen(user_data) > 16384) {
		ctx->host->report(ctx, "userData", "user data is longer than 16384 bytes");
		rc = FUGUE_EINVAL;
	}
	return rc;
}

/* --- schema -------------------------------------------------------------------- */

static const fugue_prop string_item[] = { { .name = "value", .kind = FUGUE_KIND_STRING } };

static const char *const sizes[] = { "small", "medium", "large", NULL };

static const fugue_prop network_props[] = {
	{ .name = "cidr", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "the network's IPv4 block; a change replaces the network" },
	{ .name = "name", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE,
	  .doc = "the Name tag" },
	{ .name = NULL },
};

static const fugue_prop subnet_props[] = {
	{ .name = "network", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "Fake.Net.Network", .doc = "the network it is part of" },
	{ .name = "cidr", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_REQUIRED,
	  .doc = "a block inside the network's" },
	{ .name = "public", .kind = FUGUE_KIND_BOOL, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "false", .doc = "whether servers get public addresses" },
	{ .name = NULL },
};

static const fugue_prop server_props[] = {
	{ .name = "subnet", .kind = FUGUE_KIND_REF, .flags = FUGUE_PROP_REQUIRED,
	  .ref_types = "Fake.Net.Subnet", .doc = "where the server runs" },
	{ .name = "size", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE,
	  .default_json = "\"small\"", .enum_values = sizes, .doc = "small, medium or large" },
	{ .name = "tags", .kind = FUGUE_KIND_MAP, .flags = FUGUE_PROP_UPDATABLE,
	  .items = string_item, .doc = "free-form tags" },
	{ .name = "userData", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_UPDATABLE | FUGUE_PROP_WRITE_ONLY,
	  .doc = "a script run at first boot; never read back" },
	{ .name = "password", .kind = FUGUE_KIND_STRING,
	  .flags = FUGUE_PROP_UPDATABLE | FUGUE_PROP_SENSITIVE,
	  .doc = "the administrator password; required for a large server" },
	{ .name = NULL },
};

static const fugue_attr arn_attrs[] = {
	{ .name = "arn", .doc = "the resource's ARN" },
	{ .name = NULL },
};

static const fugue_attr server_attrs[] = {
	{ .name = "arn", .doc = "the server's ARN" },
	{ .name = "privateIp", .doc = "its address inside the subnet" },
	{ .name = NULL },
};

static const fugue_type_ops network_ops = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Fake.Net.Network",
	.doc = "an isolated network",
	.props = network_props,
	.attrs = arn_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = validate_network,
	.create = fake_create,
	.update = fake_update,
	.remove = fake_remove,
	.observe = fake_observe,
};

static const fugue_type_ops subnet_ops = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Fake.Net.Subnet",
	.doc = "a block of a network",
	.props = subnet_props,
	.attrs = arn_attrs,
	.flags = FUGUE_TYPE_TAGGABLE,
	.validate = validate_subnet,
	.create = fake_create,
	.update = fake_update,
	.remove = fake_remove,
	.observe = fake_observe,
};

static const fugue_type_ops server_ops = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Fake.Compute.Server",
	.doc = "a virtual machine",
	.props = server_props,
	.attrs = server_attrs,
	.flags = FUGUE_TYPE_TAGGABLE | FUGUE_TYPE_CREATE_BEFORE_DELETE,
	.validate = validate_server,
	.create = fake_create,
	.update = fake_update,
	.remove = fake_remove,
	.observe = fake_observe,
};

static const fugue_type_ops *const types[] = { &network_ops, &subnet_ops, &server_ops, NULL };

static const fugue_type_ops *ops_of(const char *type)
{
	size_t i;

	for (i = 0; type && types[i]; i++) {
		if (strcmp(types[i]->name, type) == 0)
			return types[i];
	}
	return NULL;
}

static int is_write_only(const fugue_type_ops *ops, const char *prop)
{
	const fugue_prop *p;

	for (p = ops ? ops->props : NULL; p && p->name; p++) {
		if (strcmp(p->name, prop) == 0)
			return (p->flags & FUGUE_PROP_WRITE_ONLY) != 0;
	}
	return 0;
}

/* --- lifecycle ----------------------------------------------------------------- */

static int fake_init(const fugue_host *host, void **data)
{
	const char *dir = getenv("FUGUE_FAKE_DIR");
	struct fake *f = calloc(1, sizeof(*f));

	(void)host;
	if (!f)
		return FUGUE_ENOMEM;
	if (dir && *dir) {
		f->dir = strdup(dir);
		if (!f->dir) {
			free(f);
			return FUGUE_ENOMEM;
		}
		append_line(f->dir, "_lifecycle.log", "init fake");
	}
	*data = f;
	return 0;
}

static void fake_shutdown(void *data)
{
	struct fake *f = data;

	if (!f)
		return;
	if (f->dir)
		append_line(f->dir, "_lifecycle.log", "shutdown fake");
	free(f->dir);
	free(f);
}

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "fake",
	.version = "1.0.0",
	.description = "a cloud service in a directory, for tests",
	.init = fake_init,
	.shutdown = fake_shutdown,
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
