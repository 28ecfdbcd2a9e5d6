/* registry.c - loads planner shared objects, checks them against this
 * Conductor's ABI and indexes the types they own.
 *
 * Every planner is checked in full before any of its code other than the
 * entry function runs (init() comes last), and the registry keeps
 * normalized copies of the planner and type structs, so later code never
 * has to think about a planner built against an older minor. */
#include "registry.h"

#include <assert.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The sizes of the structs as first published (ABI 1.0): anything smaller
 * was not built from any fugue/planner.h. */
#define PLANNER_SIZE_1_0 (offsetof(fugue_planner, types) + sizeof(void *))
#define TYPE_SIZE_1_0 (offsetof(fugue_type_ops, compare) + sizeof(void *))

#define BUILTIN_ORIGIN "(built in)"

/* One loaded planner; everything in it is owned by the registry except
 * the descriptor strings and schema arrays, which live in the planner's
 * (still loaded) object. */
struct loaded_planner {
	fugue_planner_info info;   /* the public view; info.types == types */
	fugue_planner planner;     /* normalized copy */
	fugue_type_ops *ops;       /* normalized copies, ntypes of them */
	const fugue_type_ops **types; /* pointers into ops, NULL-terminated */
	char *path;
	void *handle;              /* dlopen handle, NULL for fugue_registry_add */
	void *data;                /* what init() returned */
};

/* One entry of the type index, sorted by name for bsearch. */
struct type_entry {
	const char *name;
	const fugue_type_ops *ops;
	const struct loaded_planner *owner;
};

struct fugue_registry {
	const fugue_host *host;
	struct loaded_planner **planners; /* in load order */
	size_t nplanners;
	struct type_entry *index;         /* sorted by name */
	const char **names;               /* the same order as index */
	size_t ntypes;
};

/* --- a bare host for when the caller has none ---------------------------- */

static void bare_vlog(fugue_log_level level, const char *fmt, va_list ap)
{
	char line[1024];

	vsnprintf(line, sizeof(line), fmt, ap);
	fugue_log(level, "%s", line);
}

static void bare_fail(fugue_ctx *ctx, int code, const fugue_aws_error *aws, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	(void)code;
	(void)aws;
	va_start(ap, fmt);
	bare_vlog(FUGUE_LOG_ERROR, fmt, ap);
	va_end(ap);
}

static void bare_report(fugue_ctx *ctx, const char *path, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	(void)path;
	va_start(ap, fmt);
	bare_vlog(FUGUE_LOG_ERROR, fmt, ap);
	va_end(ap);
}

static void bare_progress(fugue_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	bare_vlog(FUGUE_LOG_INFO, fmt, ap);
	va_end(ap);
}

static void bare_log(fugue_ctx *ctx, fugue_log_level level, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	va_start(ap, fmt);
	bare_vlog(level, fmt, ap);
	va_end(ap);
}

static int bare_sleep(fugue_ctx *ctx, long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	(void)ctx;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

static int bare_cancelled(fugue_ctx *ctx)
{
	(void)ctx;
	return 0;
}

static const struct json_object *bare_declared(fugue_ctx *ctx, const char *resource)
{
	(void)ctx;
	(void)resource;
	return NULL;
}

static const fugue_host bare_host = {
	.struct_size = sizeof(fugue_host),
	.abi_major = FUGUE_PLANNER_ABI_MAJOR,
	.abi_minor = FUGUE_PLANNER_ABI_MINOR,
	.fail = bare_fail,
	.report = bare_report,
	.progress = bare_progress,
	.log = bare_log,
	.sleep = bare_sleep,
	.cancelled = bare_cancelled,
	.declared = bare_declared,
};

/* --- refusals --------------------------------------------------------------- */

/* Logs "planner ORIGIN refused: REASON" with the planner's path as a field. */
__attribute__((format(printf, 3, 4)))
static void refuse(fugue_log_level level, const char *origin, const char *fmt, ...)
{
	fugue_log_field field = { "FUGUE_PLANNER", origin };
	char reason[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	fugue_log_fields(level, &field, 1, "planner %s refused: %s", origin, reason);
}

/* --- lifecycle of one loaded planner --------------------------------------- */

static void planner_free(struct loaded_planner *p)
{
	if (!p)
		return;
	free(p->ops);
	free(p->types);
	free(p->path);
	free(p);
}

static void planner_unload(struct loaded_planner *p)
{
	if (p->planner.shutdown)
		p->planner.shutdown(p->data);
	if (p->handle)
		dlclose(p->handle);
	planner_free(p);
}

/* --- checks ----------------------------------------------------------------- */

/* The header members every planner has, whatever its struct_size. Returns
 * 0 or FUGUE_EINVAL (logged). */
static int check_header(const fugue_planner *src, const char *origin)
{
	if (!src) {
		refuse(FUGUE_LOG_ERROR, origin, "no planner (the entry function returned NULL)");
		return FUGUE_EINVAL;
	}
	if (!src->signature || strcmp(src->signature, FUGUE_PLANNER_SIGNATURE) != 0) {
		refuse(FUGUE_LOG_ERROR, origin,
		       "signature '%s' does not match this conductor's '%s' "
		       "(built for another planner ABI or another machine)",
		       src->signature ? src->signature : "(none)", FUGUE_PLANNER_SIGNATURE);
		return FUGUE_EINVAL;
	}
	if (src->abi_major != FUGUE_PLANNER_ABI_MAJOR) {
		refuse(FUGUE_LOG_ERROR, origin,
		       "built for planner ABI %u.%u, this conductor speaks %u.%u", src->abi_major,
		       src->abi_minor, FUGUE_PLANNER_ABI_MAJOR, FUGUE_PLANNER_ABI_MINOR);
		return FUGUE_EINVAL;
	}
	if (src->struct_size < PLANNER_SIZE_1_0) {
		refuse(FUGUE_LOG_ERROR, origin,
		       "struct_size %u is smaller than the first published fugue_planner (%zu)",
		       src->struct_size, (size_t)PLANNER_SIZE_1_0);
		return FUGUE_EINVAL;
	}
	return 0;
}

/* Copies the min of both sizes into zeroed memory, so members a planner
 * built against an older minor does not know read as NULL/0. */
static void copy_sized(void *dst, size_t dst_size, const void *src, size_t src_size)
{
	memset(dst, 0, dst_size);
	memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
}

/* A type with no properties gets an empty list rather than NULL. */
static const fugue_prop no_props[] = { { .name = NULL } };

static int check_type(const fugue_type_ops *src, fugue_type_ops *dst, const char *origin)
{
	const char *missing = NULL;

	if (src->struct_size < TYPE_SIZE_1_0) {
		refuse(FUGUE_LOG_ERROR, origin,
		       "type %s has struct_size %u, smaller than the first published fugue_type_ops (%zu)",
		       src->struct_size >= offsetof(fugue_type_ops, doc) && src->name ? src->name
		                                                                      : "(unnamed)",
		       src->struct_size, (size_t)TYPE_SIZE_1_0);
		return FUGUE_EINVAL;
	}
	copy_sized(dst, sizeof(*dst), src, src->struct_size);
	if (!dst->name || !*dst->name) {
		refuse(FUGUE_LOG_ERROR, origin, "a type has no name");
		return FUGUE_EINVAL;
	}
	if (!dst->create)
		missing = "create";
	else if (!dst->remove)
		missing = "remove";
	else if (!dst->observe)
		missing = "observe";
	if (missing) {
		refuse(FUGUE_LOG_ERROR, origin, "type %s has no %s callback", dst->name, missing);
		return FUGUE_EINVAL;
	}
	if (!dst->props)
		dst->props = no_props;
	return 0;
}

static int cmp_entry_name(const void *key, const void *elem)
{
	const struct type_entry *e = elem;

	return strcmp(key, e->name);
}

static const struct type_entry *find_type(const fugue_registry *reg, const char *name)
{
	if (reg->ntypes == 0)
		return NULL;
	return bsearch(name, reg->index, reg->ntypes, sizeof(reg->index[0]), cmp_entry_name);
}

static const struct loaded_planner *find_planner(const fugue_registry *reg, const char *name)
{
	size_t i;

	for (i = 0; i < reg->nplanners; i++) {
		if (strcmp(reg->planners[i]->planner.name, name) == 0)
			return reg->planners[i];
	}
	return NULL;
}

/* Names unique among loaded planners and among the planner's own types. */
static int check_names(const fugue_registry *reg, const struct loaded_planner *p,
                       const char *origin)
{
	const struct loaded_planner *other = find_planner(reg, p->planner.name);
	size_t i;
	size_t j;

	if (other) {
		refuse(FUGUE_LOG_ERROR, origin, "planner name %s is already taken by %s",
		       p->planner.name, other->path);
		return FUGUE_EINVAL;
	}
	for (i = 0; i < p->info.ntypes; i++) {
		const char *name = p->ops[i].name;
		const struct type_entry *owned = find_type(reg, name);

		if (owned) {
			refuse(FUGUE_LOG_ERROR, origin, "type %s is already owned by planner %s (%s)",
			       name, owned->owner->planner.name, owned->owner->path);
			return FUGUE_EINVAL;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(p->ops[j].name, name) == 0) {
				refuse(FUGUE_LOG_ERROR, origin, "type %s is declared twice", name);
				return FUGUE_EINVAL;
			}
		}
	}
	return 0;
}

/* Builds the normalized copy of SRC. On success *OUT is owned by the caller
 * (planner_free); nothing of the planner has run but its entry function. */
static int normalize(struct loaded_planner **out, const fugue_planner *src, const char *origin)
{
	struct loaded_planner *p;
	size_t n = 0;
	size_t i;

	*out = NULL;
	if (check_header(src, origin) != 0)
		return FUGUE_EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return FUGUE_ENOMEM;
	copy_sized(&p->planner, sizeof(p->planner), src, src->struct_size);
	if (!p->planner.name || !*p->planner.name) {
		refuse(FUGUE_LOG_ERROR, origin, "it has no name");
		planner_free(p);
		return FUGUE_EINVAL;
	}
	while (p->planner.types && p->planner.types[n])
		n++;
	p->ops = calloc(n ? n : 1, sizeof(*p->ops));
	p->types = calloc(n + 1, sizeof(*p->types));
	p->path = strdup(origin);
	if (!p->ops || !p->types || !p->path) {
		planner_free(p);
		return FUGUE_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		if (check_type(p->planner.types[i], &p->ops[i], origin) != 0) {
			planner_free(p);
			return FUGUE_EINVAL;
		}
		p->types[i] = &p->ops[i];
	}
	p->info.name = p->planner.name;
	p->info.version = p->planner.version ? p->planner.version : "";
	p->info.description = p->planner.description ? p->planner.description : "";
	p->info.path = p->path;
	p->info.ntypes = n;
	p->info.types = p->types;
	*out = p;
	return 0;
}

/* --- the index ------------------------------------------------------------- */

static int cmp_entries(const void *a, const void *b)
{
	const struct type_entry *x = a;
	const struct type_entry *y = b;

	return strcmp(x->name, y->name);
}

/* Adds P's types to the index and P to the planners. Nothing changes on
 * failure (FUGUE_ENOMEM). */
static int commit(fugue_registry *reg, struct loaded_planner *p)
{
	size_t total = reg->ntypes + p->info.ntypes;
	struct type_entry *index;
	struct loaded_planner **planners;
	const char **names;
	size_t i;

	index = realloc(reg->index, (total ? total : 1) * sizeof(*index));
	if (!index)
		return FUGUE_ENOMEM;
	reg->index = index;
	names = realloc(reg->names, (total ? total : 1) * sizeof(*names));
	if (!names)
		return FUGUE_ENOMEM;
	reg->names = names;
	planners = realloc(reg->planners, (reg->nplanners + 1) * sizeof(*planners));
	if (!planners)
		return FUGUE_ENOMEM;
	reg->planners = planners;

	for (i = 0; i < p->info.ntypes; i++) {
		index[reg->ntypes + i].name = p->ops[i].name;
		index[reg->ntypes + i].ops = &p->ops[i];
		index[reg->ntypes + i].owner = p;
	}
	reg->ntypes = total;
	qsort(index, total, sizeof(*index), cmp_entries);
	for (i = 0; i < total; i++)
		names[i] = index[i].name;
	planners[reg->nplanners++] = p;
	return 0;
}

/* Checks names, runs init() and commits. Takes P and HANDLE: on refusal
 * both are released (HANDLE dlclosed). */
static int admit(fugue_registry *reg, struct loaded_planner *p, void *handle, const char *origin)
{
	int rc;

	p->handle = handle;
	rc = check_names(reg, p, origin);
	if (rc == 0 && p->planner.init) {
		rc = p->planner.init(reg->host, &p->data);
		if (rc != 0) {
			refuse(FUGUE_LOG_ERROR, origin, "init() failed: %s", fugue_strerror(rc));
			rc = FUGUE_EINVAL;
		}
	}
	if (rc != 0) {
		/* init() failed or never ran: there is nothing to shut down. */
		p->planner.shutdown = NULL;
		planner_unload(p);
		return rc;
	}
	rc = commit(reg, p);
	if (rc != 0) {
		planner_unload(p);
		return rc;
	}
	fugue_log_debug("planner %s %s loaded from %s with %zu types", p->info.name,
	                p->info.version, origin, p->info.ntypes);
	return 0;
}

/* --- public ------------------------------------------------------------------ */

int fugue_registry_new(fugue_registry **out, const fugue_host *host)
{
	fugue_registry *reg = calloc(1, sizeof(*reg));

	*out = NULL;
	if (!reg)
		return FUGUE_ENOMEM;
	reg->host = host ? host : &bare_host;
	*out = reg;
	return 0;
}

int fugue_registry_add(fugue_registry *reg, const fugue_planner *planner, const char *origin)
{
	struct loaded_planner *p;
	int rc;

	if (!origin)
		origin = BUILTIN_ORIGIN;
	rc = normalize(&p, planner, origin);
	if (rc != 0)
		return rc;
	return admit(reg, p, NULL, origin);
}

/* Loads one object. Returns 0, FUGUE_EINVAL when refused (logged) or
 * FUGUE_ENOMEM. */
static int load_file(fugue_registry *reg, const char *path)
{
	fugue_planner_entry_fn entry;
	struct loaded_planner *p;
	void *handle;
	void *sym;
	int rc;

	handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!handle) {
		refuse(FUGUE_LOG_ERROR, path, "cannot load: %s", dlerror());
		return FUGUE_EINVAL;
	}
	dlerror();
	sym = dlsym(handle, FUGUE_PLANNER_ENTRY_SYMBOL);
	if (!sym) {
		refuse(FUGUE_LOG_WARN, path,
		       "no symbol " FUGUE_PLANNER_ENTRY_SYMBOL
		       " (not a fugue planner, or built for another ABI major)");
		dlclose(handle);
		return FUGUE_EINVAL;
	}
	/* POSIX guarantees a function pointer survives the round trip. */
	memcpy(&entry, &sym, sizeof(entry));
	rc = normalize(&p, entry(), path);
	if (rc != 0) {
		dlclose(handle);
		return rc;
	}
	return admit(reg, p, handle, path);
}

static int is_planner_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static int cmp_strings(const void *a, const void *b)
{
	const char *const *x = a;
	const char *const *y = b;

	return strcmp(*x, *y);
}

static void free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The *.so names in DIR, sorted. *OUT is the caller's (free_strings). */
static int list_dir(char ***out, size_t *count, const char *dir)
{
	char **names = NULL;
	size_t n = 0;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*count = 0;
	d = opendir(dir);
	if (!d) {
		fugue_log_error("cannot read planners directory %s: %s", dir, strerror(errno));
		return FUGUE_ECONFIG;
	}
	for (de = readdir(d); de; de = readdir(d)) {
		if (!is_planner_file(de->d_name))
			continue;
		if (n == cap) {
			char **grown = realloc(names, (cap ? cap * 2 : 16) * sizeof(*names));

			if (!grown)
				goto nomem;
			names = grown;
			cap = cap ? cap * 2 : 16;
		}
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
			goto nomem;
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_strings);
	*out = names;
	*count = n;
	return 0;
nomem:
	closedir(d);
	free_strings(names, n);
	return FUGUE_ENOMEM;
}

int fugue_registry_load_dir(fugue_registry *reg, const char *dir, size_t *refused)
{
	char **paths;
	size_t npaths;
	size_t nrefused = 0;
	size_t i;
	int rc;

	if (refused)
		*refused = 0;
	rc = list_dir(&paths, &npaths, dir);
	if (rc != 0)
		return rc;
	for (i = 0; i < npaths; i++) {
		rc = load_file(reg, paths[i]);
		if (rc == FUGUE_ENOMEM)
			break;
		if (rc != 0)
			nrefused++;
		rc = 0;
	}
	free_strings(paths, npaths);
	if (refused)
		*refused = nrefused;
	return rc;
}

const fugue_type_ops *fugue_registry_type(const fugue_registry *reg, const char *name,
                                          void **planner_data)
{
	const struct type_entry *e = name ? find_type(reg, name) : NULL;

	if (planner_data)
		*planner_data = e ? e->owner->data : NULL;
	return e ? e->ops : NULL;
}

size_t fugue_registry_type_names(const fugue_registry *reg, const char *const **out)
{
	*out = reg->names;
	return reg->ntypes;
}

size_t fugue_registry_count(const fugue_registry *reg)
{
	return reg->nplanners;
}

const fugue_planner_info *fugue_registry_planner(const fugue_registry *reg, size_t i)
{
	return i < reg->nplanners ? &reg->planners[i]->info : NULL;
}

void fugue_registry_free(fugue_registry *reg)
{
	size_t i;

	if (!reg)
		return;
	for (i = reg->nplanners; i > 0; i--)
		planner_unload(reg->planners[i - 1]);
	free(reg->planners);
	free(reg->index);
	free(reg->names);
	free(reg);
}
