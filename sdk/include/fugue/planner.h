/* fugue/planner.h - the planner ABI: how a shared object teaches the
 * Conductor one AWS service.
 *
 * A planner is a .so in the planners directory exporting one symbol,
 * FUGUE_PLANNER_ENTRY_SYMBOL ("fugue_planner_entry_v1"), a function that
 * returns a static fugue_planner. The planner declares its resource types:
 * each has a schema (so the Conductor validates, diffs and prints plans
 * generically) and callbacks that do the service's API calls: validate,
 * create, update, remove, and observe in batch.
 *
 * The smallest planner:
 *
 *     static const fugue_prop bucket_props[] = {
 *         { .name = "size", .kind = FUGUE_KIND_INT, .flags = FUGUE_PROP_UPDATABLE },
 *         { .name = NULL }
 *     };
 *     static const fugue_type_ops bucket = {
 *         .struct_size = sizeof(fugue_type_ops), .name = "Example.Store.Bucket",
 *         .props = bucket_props, .create = bucket_create, .update = bucket_update,
 *         .remove = bucket_remove, .observe = bucket_observe,
 *     };
 *     static const fugue_type_ops *const types[] = { &bucket, NULL };
 *     static const fugue_planner planner = {
 *         FUGUE_PLANNER_HEADER, .name = "example", .version = "1.0.0", .types = types,
 *     };
 *     FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void) { return &planner; }
 *
 * Versioning (as SQLite's and nginx's module ABIs): FUGUE_PLANNER_ABI_MAJOR
 * changes only on an incompatible change and is part of the entry symbol's
 * name; FUGUE_PLANNER_ABI_MINOR grows when members are appended to the end
 * of a struct. Every struct that crosses the boundary starts with its
 * struct_size: the loader copies min(struct_size, sizeof) into a zeroed
 * struct, so a member an older planner does not know reads as NULL/0, and a
 * planner checks ctx->struct_size / host->struct_size before touching a
 * member newer than the minor it was built against. The signature string
 * (pointer, long and size_t sizes, byte order) is checked before anything
 * else: a planner built for another ABI or another machine is refused with
 * a log line, never called.
 *
 * Ownership, everywhere below: arguments are borrowed for the duration of
 * the call and must not be kept or freed; what a callback hands back through
 * an `out` parameter is transferred to the Conductor, which frees it
 * (json_object_put). Trees are json-c objects, created with json-c's own
 * constructors (the planner and the Conductor share libjson-c, so there is
 * one allocator). Descriptor strings (names, docs) are static.
 *
 * Threads: callbacks may run on several threads at once, for different
 * resources. A planner keeps no global mutable state; what it needs across
 * calls lives in the data init() returned (ctx->planner_data), and that data
 * must be safe to use from several threads.
 *
 * Results: 0, or a negative FUGUE_E* code from fugue/common.h. Say why with
 * ctx->host->fail() before returning: its message (and the AWS error, with
 * its code and request id) is what the operator sees in `fugue status` and
 * history. FUGUE_ERETRY means "not now": the Conductor tries again later.
 */
#ifndef FUGUE_PLANNER_H
#define FUGUE_PLANNER_H

#include <stddef.h>

#include "fugue/aws.h"
#include "fugue/common.h"
#include "fugue/log.h"

#ifdef __cplusplus
extern "C" {
#endif

struct json_object;
struct fugue_observation;

#define FUGUE_PLANNER_ABI_MAJOR 1
#define FUGUE_PLANNER_ABI_MINOR 1

#define FUGUE_STR_(x) #x
#define FUGUE_STR(x) FUGUE_STR_(x)

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define FUGUE_BUILD_ENDIAN "be"
#else
#define FUGUE_BUILD_ENDIAN "le"
#endif

/* Build facts that must match between the Conductor and a planner. */
#define FUGUE_PLANNER_SIGNATURE                                                                    \
	"fugue-planner/" FUGUE_STR(FUGUE_PLANNER_ABI_MAJOR) " ptr" FUGUE_STR(__SIZEOF_POINTER__)   \
		" long" FUGUE_STR(__SIZEOF_LONG__) " size" FUGUE_STR(__SIZEOF_SIZE_T__)             \
		" " FUGUE_BUILD_ENDIAN

#define FUGUE_PLANNER_ENTRY_SYMBOL "fugue_planner_entry_v" FUGUE_STR(FUGUE_PLANNER_ABI_MAJOR)

#define FUGUE_PLANNER_EXPORT __attribute__((visibility("default")))

/* --- schema ------------------------------------------------------------ */

typedef enum fugue_kind {
	FUGUE_KIND_STRING = 1,
	FUGUE_KIND_INT,       /* a whole number (JSON int) */
	FUGUE_KIND_NUMBER,    /* int or float */
	FUGUE_KIND_BOOL,
	FUGUE_KIND_LIST,      /* elements described by `items` */
	FUGUE_KIND_OBJECT,    /* members described by `fields` (unknown members are errors) */
	FUGUE_KIND_MAP,       /* free string keys, values described by `items` (tags) */
	FUGUE_KIND_DOCUMENT,  /* any tree (a policy document); compared by the type's compare() */
	FUGUE_KIND_REF        /* `!ref NAME[.ATTR]` to another resource; a string once resolved */
} fugue_kind;

/* Property flags. */
#define FUGUE_PROP_REQUIRED 0x01u   /* must be declared (unless it has a default) */
#define FUGUE_PROP_UPDATABLE 0x02u  /* changes in place; without it a change forces replacement */
#define FUGUE_PROP_SENSITIVE 0x04u  /* never printed, logged or returned by --json */
#define FUGUE_PROP_WRITE_ONLY 0x08u /* AWS never returns it (userData, a password): not diffed against observation */
/* A local file (a STRING property, or a field of an OBJECT one): a path,
 * relative to the composition file's directory unless absolute. The
 * compiler reads the file and the compiled value becomes
 * {"path": as declared, "file": its absolute path, "sha256": the base64 of
 * the SHA-256 of its content}, so a plan sees a new content at the same
 * path; a file that cannot be read is a compile error at the value. A
 * Conductor older than this flag leaves the declared string: a planner
 * tells by the value's kind. */
#define FUGUE_PROP_FILE 0x10u

/* One property of a type (or a field of an OBJECT, or the element of a
 * LIST / MAP). Arrays of fugue_prop end with a member whose name is NULL. */
typedef struct fugue_prop {
	const char *name;               /* lowerCamelCase, as the AWS API names it */
	fugue_kind kind;
	unsigned int flags;             /* FUGUE_PROP_* */
	const char *default_json;       /* default as JSON text ("true", "\"default\""), or NULL */
	const char *const *enum_values; /* NULL-terminated allowed strings, or NULL */
	const char *ref_types;          /* REF: comma-separated types it may point at, NULL = any */
	const struct fugue_prop *items; /* LIST / MAP: a single element description */
	const struct fugue_prop *fields;/* OBJECT: members, NULL-name terminated */
	const char *doc;                /* one line for docs and `fugue validate` hints */
} fugue_prop;

/* An attribute a type publishes for `!ref NAME.ATTR` and for people
 * (arn, publicIp, dnsName). "id" is always published and not listed. */
typedef struct fugue_attr {
	const char *name;
	const char *doc;
} fugue_attr;

/* --- the per-call context -------------------------------------------------- */

typedef struct fugue_host fugue_host;

/* Handed to every callback; everything in it is borrowed for the call. */
typedef struct fugue_ctx {
	unsigned int struct_size;
	const fugue_host *host;          /* the Conductor's services, below */
	void *planner_data;              /* what the planner's init() returned */
	fugue_aws_client *aws;           /* the Conductor's AWS client; NULL when validating offline */
	const char *region;              /* the resource's region (or the process's, for observe) */
	const char *fid;                 /* the process id, also the value of tag fugue:fid */
	const char *resource;            /* the resource's name (NULL in observe: per item) */
	const char *type;                /* the type name */
	/* Tags to put on what create() makes, in the same call where the API
	 * allows (TagSpecifications): fugue:fid, fugue:resource and the
	 * composition's tags, as an object of strings. In observe(): fugue:fid
	 * and the composition's tags (no fugue:resource), so that the tags
	 * Fugue puts on everything can be told from a resource's own `tags`. */
	const struct json_object *tags;
	/* An idempotency token for create(): the same for every retry of this
	 * resource's creation, across Conductor restarts. Pass it as ClientToken
	 * where the API takes one. At most 64 ASCII characters. */
	const char *client_token;
	void *host_private;              /* the Conductor's; do not touch */
} fugue_ctx;

/* What the Conductor offers planners. Call through ctx->host. */
struct fugue_host {
	unsigned int struct_size;
	unsigned int abi_major;
	unsigned int abi_minor;
	/* Records why the call failed: CODE is the FUGUE_E* result about to be
	 * returned, AWS the SDK's diagnostics of the failed call (NULL when the
	 * failure is not an AWS answer). The message is one line, lower case. */
	void (*fail)(fugue_ctx *ctx, int code, const fugue_aws_error *aws, const char *fmt, ...)
		__attribute__((format(printf, 4, 5)));
	/* validate(): one error about property PATH ("ingress.2.fromPort", or NULL
	 * for the resource as a whole). The compiler turns it into
	 * FILE:LINE:COL of that property. Report every error, then return
	 * FUGUE_EINVAL. */
	void (*report)(fugue_ctx *ctx, const char *path, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* A progress line for the operator ("waiting for i-0abc to be running"). */
	void (*progress)(fugue_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
	/* Logs with FUGUE_FID, FUGUE_RESOURCE and FUGUE_TYPE fields added. */
	void (*log)(fugue_ctx *ctx, fugue_log_level level, const char *fmt, ...)
		__attribute__((format(printf, 3, 4)));
	/* Waits MS milliseconds; returns 0, or FUGUE_ECANCELED as soon as the
	 * job is cancelled (kill, suspend, shutdown): return it at once. Use it
	 * for every wait and poll. */
	int (*sleep)(fugue_ctx *ctx, long ms);
	/* Nonzero once the job is cancelled. */
	int (*cancelled)(fugue_ctx *ctx);
	/* validate(): the declared properties of another resource of the same
	 * composition (a subnet checking its CIDR against its VPC's), or NULL.
	 * Borrowed; references in it are unresolved ({"$ref": "NAME", "attr": "id"}). */
	const struct json_object *(*declared)(fugue_ctx *ctx, const char *resource);

	/* --- ABI 1.1: check host->struct_size before calling these. --- */

	/* observe(): another resource in AWS that carries ITEM's tags
	 * (fugue:fid = ctx->fid, fugue:resource = ITEM's resource) but is not
	 * the one ITEM was matched to: a duplicate, which a create AWS acted on
	 * after its answer was lost can leave when the API takes no
	 * ClientToken. STATE (its state, as an item's) is transferred. The
	 * Conductor tracks it and deletes it. ITEM points into the batch. */
	void (*duplicate)(fugue_ctx *ctx, const struct fugue_observation *item,
	                  struct json_object *state);
	/* observe(): whether to read ITEM's details now - the properties that
	 * cost a call per resource (a VPC's DNS attributes). The Conductor
	 * spreads those reads over its enforcement passes so that a pass costs
	 * calls per type and page, not per resource. When 0, leave those
	 * properties out of the state (not diffed this time). ITEM points into
	 * the batch. */
	int (*details_due)(fugue_ctx *ctx, const struct fugue_observation *item);
};

/* --- resource state ----------------------------------------------------------
 *
 * create(), update() and observe() describe a resource as it is in AWS with
 * one object, the *state*:
 *
 *   { "id": "vpc-0abc",                        AWS's primary id (required)
 *     "attributes": { "arn": "...", ... },      published attributes
 *     "properties": { "cidrBlock": "...", ... } the schema's properties as AWS
 *                                               has them now, same shapes as
 *                                               declared; what AWS cannot tell
 *                                               is left out (not diffed) }
 *
 * The Conductor compares "properties" with the declaration to find drift.
 */

/* One resource in an observe() batch. */
typedef struct fugue_observation {
	const char *resource;               /* in: the resource's name */
	const char *id;                     /* in: the recorded AWS id, or NULL when a
	                                       create may have happened without us
	                                       learning the id (crash): find it by the
	                                       tags fugue:fid = ctx->fid and
	                                       fugue:resource = RESOURCE */
	const struct json_object *declared; /* in: declared properties, references resolved */
	int status;                         /* out: 0 found, FUGUE_ENOTFOUND gone (it
	                                       really is: not merely unanswered), or
	                                       another FUGUE_E* when it could not tell */
	struct json_object *state;          /* out: the state when found; transferred */
} fugue_observation;

/* Type flags. */
#define FUGUE_TYPE_CREATE_BEFORE_DELETE 0x01u /* a replacement may create the new one first */
#define FUGUE_TYPE_TAGGABLE 0x02u             /* takes ctx->tags */

/* A resource type: a table of callbacks, like sqlite3_module. */
typedef struct fugue_type_ops {
	unsigned int struct_size;     /* sizeof(fugue_type_ops) */
	const char *name;             /* "AWS.VPC.Vpc": AWS.<Service>.<Kind> */
	const char *doc;              /* one line */
	const fugue_prop *props;      /* NULL-name terminated */
	const fugue_attr *attrs;      /* NULL-name terminated, or NULL */
	unsigned int flags;           /* FUGUE_TYPE_* */

	/* Optional. Cross-field rules the schema cannot say (CIDR inside the
	 * VPC's, port ranges, mutually exclusive targets). PROPS has defaults
	 * applied and references unresolved. Report with ctx->host->report();
	 * no AWS calls (ctx->aws is NULL offline). */
	int (*validate)(fugue_ctx *ctx, const struct json_object *props);

	/* Required. Creates the resource from PROPS (references resolved,
	 * defaults applied), tagged with ctx->tags in the same call where the API
	 * allows and with ctx->client_token where it takes one; waits until it is
	 * usable (available, running, attached). On success *OUT is its state.
	 * If it fails after AWS created something, remove what it made or return
	 * the partial state in *OUT with the error so nothing is orphaned. */
	int (*create)(fugue_ctx *ctx, const struct json_object *props, struct json_object **out);

	/* Optional (NULL: every property forces replacement). Brings the resource
	 * in STATE from its current properties to PROPS. CHANGED is an array of
	 * the names of the properties that differ (all updatable). On success
	 * *OUT is the new state. */
	int (*update)(fugue_ctx *ctx, const struct json_object *state, const struct json_object *props,
	              const struct json_object *changed, struct json_object **out);

	/* Required. Deletes the resource in STATE, in the order AWS needs
	 * (detach, disassociate, terminate) and waits until it is gone. Already
	 * gone is success. */
	int (*remove)(fugue_ctx *ctx, const struct json_object *state);

	/* Required. Observes N resources of this type of process ctx->fid at once:
	 * one filtered, paginated Describe (by the fugue:fid tag or by ids), never
	 * one call per resource. Fills each item's status and state. Returns 0
	 * when the batch was answered (items may still be ENOTFOUND), or an error
	 * when AWS could not be asked (then no item is believed gone). */
	int (*observe)(fugue_ctx *ctx, fugue_observation *items, size_t n);

	/* Optional. Whether the declared value A and the observed value B of
	 * property NAME mean the same (policy documents, CIDR spellings). Return
	 * 1 same, 0 different. NULL: JSON equality. */
	int (*compare)(const char *name, const struct json_object *a, const struct json_object *b);
} fugue_type_ops;

/* --- the planner ----------------------------------------------------------- */

typedef struct fugue_planner {
	unsigned int abi_major;          /* FUGUE_PLANNER_ABI_MAJOR */
	unsigned int abi_minor;          /* FUGUE_PLANNER_ABI_MINOR */
	unsigned int struct_size;        /* sizeof(fugue_planner) */
	const char *signature;           /* FUGUE_PLANNER_SIGNATURE */
	const char *name;                /* "vpc": unique among planners */
	const char *version;             /* the planner's own version, "1.2.0" */
	const char *description;         /* one line */
	/* Optional. Called once after loading, before any callback. *DATA is
	 * the planner's (ctx->planner_data), freed by shutdown(). Return 0, or
	 * an error: the planner is then unloaded and its types unavailable. */
	int (*init)(const fugue_host *host, void **data);
	/* Optional. Called once at unload, after every callback returned. */
	void (*shutdown)(void *data);
	const fugue_type_ops *const *types; /* NULL-terminated */
} fugue_planner;

/* The first four members of every planner, in order. */
#define FUGUE_PLANNER_HEADER                                                               \
	.abi_major = FUGUE_PLANNER_ABI_MAJOR, .abi_minor = FUGUE_PLANNER_ABI_MINOR,           \
	.struct_size = sizeof(fugue_planner), .signature = FUGUE_PLANNER_SIGNATURE

/* The entry point every planner exports. Returns a pointer to static data. */
typedef const fugue_planner *(*fugue_planner_entry_fn)(void);

/* Declared here so that a planner defining it compiles cleanly under
 * -Wmissing-prototypes; its name carries the ABI major (see
 * FUGUE_PLANNER_ENTRY_SYMBOL). */
FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void);

#ifdef __cplusplus
}
#endif
#endif
