/* compiler.h - a composition (YAML) into a typed, ordered resource graph.
 *
 * The compiler checks a composition against the schemas of the registered
 * types and reports every error of the file in one pass, sorted by position,
 * as `file:line:col: message` (see docs/compositions.md for the format and
 * every error). What it produces, a fugue_composition, is what the planner,
 * the scheduler and the state store work from:
 *
 *   - resources in declaration order, each with its type (borrowed from the
 *     registry), its effective region, its properties with the schema's
 *     defaults applied and references left as {"$ref": NAME, "attr": ATTR},
 *     its dependencies (indices), and the source position of every declared
 *     value;
 *   - a topological order, dependencies first;
 *   - the composition's alias, region and tags. The tags are kept here, not
 *     merged into each resource's properties: the Conductor adds them to the
 *     ctx->tags of every taggable type.
 *
 * The structs are transparent and read-only for users; they are built by
 * the compiler or by fugue_composition_from_json() and freed with
 * fugue_composition_free(). */
#ifndef FUGUE_COMPILER_H
#define FUGUE_COMPILER_H

#include <stddef.h>
#include <sys/types.h>
#include <stdio.h>

#include "fugue/planner.h"
#include "registry.h"

struct json_object;

/* --- diagnostics ------------------------------------------------------------ */

typedef struct fugue_diag {
	char *file;    /* owned; as the caller named the file */
	int line;      /* 1-based; 0 when the error is about the whole file */
	int col;       /* 1-based; 0 when unknown */
	char *message; /* owned; one lower-case line */
} fugue_diag;

typedef struct fugue_diags {
	fugue_diag *items; /* owned */
	size_t n;
	size_t cap;
} fugue_diags;

#define FUGUE_DIAGS_INIT { NULL, 0, 0 }

/* Appends one diagnostic (strings copied). Returns 0 or FUGUE_ENOMEM. */
int fugue_diags_add(fugue_diags *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Frees every diagnostic; D is empty and reusable afterwards. */
void fugue_diags_clear(fugue_diags *d);
/* Writes `file:line:col: message` lines (`file: message` when line is 0). */
void fugue_diags_print(FILE *f, const fugue_diags *d);
/* The same as a JSON array of {"file", "line", "col", "message"}; *OUT is
 * the caller's. Returns 0 or FUGUE_ENOMEM. */
int fugue_diags_to_json(struct json_object **out, const fugue_diags *d);

/* --- the compiled composition ---------------------------------------------- */

typedef struct fugue_pos {
	int line;
	int col;
} fugue_pos;

typedef struct fugue_resource {
	char *name;                     /* owned */
	char *type_name;                /* owned */
	/* Borrowed from the registry the composition was compiled (or loaded)
	 * with; NULL after fugue_composition_from_json() when no loaded planner
	 * owns the type any more. */
	const fugue_type_ops *type;
	void *planner_data;             /* borrowed: the owning planner's init() data */
	char *region;                   /* owned; the resource's, else the composition's, may be NULL */
	/* Owned. Declared properties with defaults applied; references are
	 * {"$ref": NAME, "attr": ATTR} objects, unresolved. */
	struct json_object *props;
	size_t *deps;                   /* owned; indices into resources[], unique, in order of first reference */
	size_t ndeps;
	fugue_pos pos;                  /* the resource's name in the file */
	/* Owned. {"path": [line, col]} for every declared value ("cidrBlock",
	 * "ingress.2.fromPort"); read with fugue_resource_pos(). */
	struct json_object *positions;
} fugue_resource;

typedef struct fugue_composition {
	char *file;                     /* owned; the file as named by the caller */
	char *alias;                    /* owned; `composition:`, or NULL */
	char *region;                   /* owned; `region:`, else the caller's default, or NULL */
	struct json_object *tags;       /* owned; an object of strings, {} when none */
	fugue_resource *resources;      /* owned; in declaration order */
	size_t nresources;
	size_t *order;                  /* owned; nresources indices, dependencies first */
} fugue_composition;

#define FUGUE_COMPILE_OPTIONS_VERSION 2

typedef struct fugue_compile_options {
	unsigned int version;           /* FUGUE_COMPILE_OPTIONS_VERSION */
	const fugue_registry *registry; /* the types; borrowed, must outlive the result */
	const char *default_region;     /* when the composition has no `region:`; may be NULL */
	/* Version 2. The absolute directory relative FUGUE_PROP_FILE paths are
	 * resolved against: the composition file's. NULL: fugue_compile_file()
	 * takes its PATH's directory; for fugue_compile_buffer() a relative
	 * path is then an error. */
	const char *base_dir;
	/* Version 2. Who asked (the socket peer): a FUGUE_PROP_FILE that this
	 * user could not read is an error, so that the Conductor does not read
	 * a file for someone who may not (its state, its credentials).
	 * FUGUE_COMPILE_ANY_READER (offline: the reader is the caller). */
	uid_t reader;
} fugue_compile_options;

#define FUGUE_COMPILE_ANY_READER ((uid_t)-1)
#define FUGUE_COMPILE_OPTIONS_INIT \
	{ FUGUE_COMPILE_OPTIONS_VERSION, NULL, NULL, NULL, FUGUE_COMPILE_ANY_READER }

/* Compiles LEN bytes of TEXT; FILE names it in diagnostics (and becomes
 * composition->file). Every error found is appended to DIAGS (sorted by
 * position). FUGUE_PROP_FILE values are read (opts->base_dir) and compiled
 * to {"path", "file", "sha256"} (planner.h). Returns 0 with *OUT the caller's (fugue_composition_free());
 * FUGUE_EINVAL when the composition has errors (*OUT NULL, DIAGS holds
 * them); FUGUE_ENOMEM. */
int fugue_compile_buffer(fugue_composition **out, fugue_diags *diags,
                         const fugue_compile_options *opts, const char *file, const char *text,
                         size_t len);

/* The same for the file at PATH (named PATH in diagnostics). A file that
 * cannot be read is one diagnostic and FUGUE_EIO. */
int fugue_compile_file(fugue_composition **out, fugue_diags *diags,
                       const fugue_compile_options *opts, const char *path);

void fugue_composition_free(fugue_composition *c);

/* The resource named NAME, or NULL. Borrowed. Linear. */
const fugue_resource *fugue_composition_find(const fugue_composition *c, const char *name);

/* A second AWS resource found with the tags of resource NAME (a create AWS
 * acted on after its answer was lost) is tracked as "NAME~ID" until it is
 * deleted; resource names cannot hold the mark. */
#define FUGUE_DUPLICATE_MARK "~"

/* The resource NAME is, or for a duplicate's "NAME~ID", the resource it
 * duplicates; NULL when none. Borrowed. C may be NULL. */
const fugue_resource *fugue_composition_origin(const fugue_composition *c, const char *name);

/* Where property PATH ("ingress.2.fromPort", NULL or "" for the resource)
 * of R was declared; the nearest declared ancestor when PATH itself was not
 * (a default), the resource's name at worst. */
fugue_pos fugue_resource_pos(const fugue_resource *r, const char *path);

/* --- the stored form ---------------------------------------------------------- */

/* C as JSON, for the state store: {"format": 1, "file", "alias", "region",
 * "tags", "resources": [{"name", "type", "region", "props", "deps": [names],
 * "pos": [line, col], "positions"}], "order": [names]}. *OUT is the
 * caller's. Returns 0 or FUGUE_ENOMEM. */
int fugue_composition_to_json(struct json_object **out, const fugue_composition *c);

/* The inverse. Types are looked up in REG (may be NULL: all types NULL).
 * Returns 0 with *OUT the caller's, FUGUE_EINVAL for a document that is not
 * a stored composition, FUGUE_ENOMEM. */
int fugue_composition_from_json(fugue_composition **out, const struct json_object *j,
                                const fugue_registry *reg);

/* --- helpers shared with the CLI -------------------------------------------- */

/* The candidate closest to WORD (edit distance with transpositions, case
 * ignored, or a prefix of three characters or more), or NULL when none is
 * close enough to be a likely typo. Borrowed from CANDIDATES. */
const char *fugue_did_you_mean(const char *word, const char *const *candidates, size_t n);

#endif
