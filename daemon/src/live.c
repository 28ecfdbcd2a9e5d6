/* live.c - what the Conductor knows about each resource of a process, the
 * resolution of `!ref`s against it, and the redaction of sensitive values
 * (see live.h and docs/plans.md). */
#include "live.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "fugue/common.h"
#include "json_util.h"
#include "yaml_doc.h"

#define MASKED "(sensitive)"
#define DIGEST_PREFIX "sha256:"
/* Scalars in a digest's text: no whitespace, "/" not escaped. */
#define CANONICAL (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* A deep copy of O (NULL stays NULL); *FAILED is set when allocation fails. */
static struct json_object *copy(const struct json_object *o, int *failed)
{
	struct json_object *c = NULL;

	if (!o)
		return NULL;
	if (json_object_deep_copy(fugue_json_unconst(o), &c, NULL) != 0) {
		*failed = 1;
		return NULL;
	}
	return c;
}

/* --- entries ----------------------------------------------------------------- */

static void entry_clear(fugue_live_entry *e)
{
	free(e->name);
	free(e->type);
	json_object_put(e->state);
	json_object_put(e->applied);
	free(e->error);
	memset(e, 0, sizeof(*e));
}

/* The index of NAME in LIVE, or where it would be inserted (*FOUND 0). */
static size_t search(const fugue_live *live, const char *name, int *found)
{
	size_t lo = 0;
	size_t hi = live->n;

	*found = 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(live->entries[mid].name, name);

		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

fugue_live_entry *fugue_live_find(const fugue_live *live, const char *name)
{
	int found;
	size_t i;

	if (!live || !name)
		return NULL;
	i = search(live, name, &found);
	return found ? &live->entries[i] : NULL;
}

static int reserve(fugue_live *live)
{
	size_t cap;
	fugue_live_entry *entries;

	if (live->n < live->cap)
		return 0;
	cap = live->cap ? live->cap * 2 : 8;
	entries = realloc(live->entries, cap * sizeof(*entries));
	if (!entries)
		return FUGUE_ENOMEM;
	live->entries = entries;
	live->cap = cap;
	return 0;
}

fugue_live_entry *fugue_live_ensure(fugue_live *live, const char *name, const char *type)
{
	int found;
	size_t i = search(live, name, &found);
	fugue_live_entry e;

	if (found)
		return &live->entries[i];
	if (reserve(live) != 0)
		return NULL;
	memset(&e, 0, sizeof(e));
	e.status = FUGUE_RESOURCE_PENDING;
	e.name = strdup(name);
	e.type = strdup(type ? type : "");
	if (!e.name || !e.type) {
		entry_clear(&e);
		return NULL;
	}
	memmove(&live->entries[i + 1], &live->entries[i], (live->n - i) * sizeof(e));
	live->entries[i] = e;
	live->n++;
	return &live->entries[i];
}

void fugue_live_remove(fugue_live *live, const char *name)
{
	int found;
	size_t i;

	if (!live || !name)
		return;
	i = search(live, name, &found);
	if (!found)
		return;
	entry_clear(&live->entries[i]);
	memmove(&live->entries[i], &live->entries[i + 1],
	        (live->n - i - 1) * sizeof(live->entries[0]));
	live->n--;
}

const char *fugue_live_id(const fugue_live *live, const char *name)
{
	const fugue_live_entry *e = fugue_live_find(live, name);
	struct json_object *id;

	if (!e || e->gone)
		return NULL;
	id = fugue_json_member(e->state, "id");
	if (!id || !json_object_is_type(id, json_type_string))
		return NULL;
	return json_object_get_string(id);
}

void fugue_live_clear(fugue_live *live)
{
	size_t i;

	if (!live)
		return;
	for (i = 0; i < live->n; i++)
		entry_clear(&live->entries[i]);
	free(live->entries);
	live->entries = NULL;
	live->n = 0;
	live->cap = 0;
}

/* --- loading ------------------------------------------------------------------ */

/* TEXT parsed into *OUT (NULL for NULL or empty text). FUGUE_EINVAL when it
 * does not parse, FUGUE_ENOMEM. */
static int parse(struct json_object **out, const char *text)
{
	struct json_tokener *tok;
	enum json_tokener_error err;

	*out = NULL;
	if (!text || !*text)
		return 0;
	tok = json_tokener_new();
	if (!tok)
		return FUGUE_ENOMEM;
	*out = json_tokener_parse_ex(tok, text, (int)strlen(text));
	err = json_tokener_get_error(tok);
	json_tokener_free(tok);
	if (err != json_tokener_success || !*out) {
		json_object_put(*out);
		*out = NULL;
		return err == json_tokener_success ? 0 : FUGUE_EINVAL;
	}
	return 0;
}

/* The state of record R: its observed state, completed with the recorded
 * AWS id and attributes, or just those when nothing was observed. */
static int load_state(struct json_object **out, const fugue_state_resource *r)
{
	struct json_object *state = NULL;
	struct json_object *attrs = NULL;
	int rc;

	*out = NULL;
	rc = parse(&state, r->observed);
	if (rc == 0)
		rc = parse(&attrs, r->attributes);
	if (rc != 0)
		goto fail;
	if (state && !json_object_is_type(state, json_type_object)) {
		rc = FUGUE_EINVAL;
		goto fail;
	}
	if (!state && !r->aws_id)
		goto done;
	if (!state && !(state = json_object_new_object())) {
		rc = FUGUE_ENOMEM;
		goto fail;
	}
	if (!fugue_json_member(state, "id") && r->aws_id &&
	    json_object_object_add(state, "id", json_object_new_string(r->aws_id)) != 0) {
		rc = FUGUE_ENOMEM;
		goto fail;
	}
	if (!fugue_json_member(state, "attributes")) {
		if (!attrs && !(attrs = json_object_new_object())) {
			rc = FUGUE_ENOMEM;
			goto fail;
		}
		if (json_object_object_add(state, "attributes", attrs) != 0) {
			rc = FUGUE_ENOMEM;
			goto fail;
		}
		attrs = NULL;
	}
done:
	json_object_put(attrs);
	*out = state;
	return 0;
fail:
	json_object_put(attrs);
	json_object_put(state);
	return rc;
}

static int load_one(fugue_live *live, const fugue_state_resource *r)
{
	fugue_live_entry *e;
	struct json_object *state = NULL;
	struct json_object *applied = NULL;
	const char *error = r->error_message ? r->error_message : r->error_code;
	int rc;

	if (!r->name || !*r->name)
		return FUGUE_EINVAL;
	rc = load_state(&state, r);
	if (rc == 0)
		rc = parse(&applied, r->declared);
	if (rc != 0) {
		json_object_put(state);
		return rc;
	}
	e = fugue_live_ensure(live, r->name, r->type);
	if (!e) {
		json_object_put(state);
		json_object_put(applied);
		return FUGUE_ENOMEM;
	}
	e->status = r->status;
	/* A resource recorded as deleted is known not to exist, whatever
	 * observation was kept with it. */
	if (r->status == FUGUE_RESOURCE_DELETED) {
		json_object_put(state);
		state = NULL;
		e->gone = 1;
	}
	json_object_put(e->state);
	e->state = state;
	json_object_put(e->applied);
	e->applied = applied;
	free(e->error);
	e->error = NULL;
	if (error && !(e->error = strdup(error)))
		return FUGUE_ENOMEM;
	return 0;
}

int fugue_live_load(fugue_live *live, const fugue_state_resource *records, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		rc = load_one(live, &records[i]);
		if (rc != 0) {
			fugue_live_clear(live);
			return rc;
		}
	}
	return 0;
}

/* --- references ------------------------------------------------------------------ */

int fugue_is_ref(const struct json_object *v)
{
	return v && fugue_yaml_is_ref(v, NULL, NULL);
}

/* The string NAME.ATTR denotes in LIVE as a new json string, or NULL with
 * *RC set (FUGUE_ERETRY and *MISSING, or FUGUE_ENOMEM). */
static struct json_object *ref_value(const fugue_live *live, const char *name, const char *attr,
                                     char **missing, int *rc)
{
	const fugue_live_entry *e = fugue_live_find(live, name);
	struct json_object *v = NULL;
	struct json_object *s;
	int is_id = strcmp(attr, "id") == 0;

	if (e && e->state && !e->gone)
		v = is_id ? fugue_json_member(e->state, "id") : fugue_json_member(fugue_json_member(e->state, "attributes"), attr);
	if (!v || json_object_is_type(v, json_type_null)) {
		*rc = FUGUE_ERETRY;
		if (missing && !*missing) {
			int n = (e && e->state && !e->gone) ? asprintf(missing, "%s.%s", name, attr)
			                                     : asprintf(missing, "%s", name);

			if (n < 0) {
				*missing = NULL;
				*rc = FUGUE_ENOMEM;
			}
		}
		return NULL;
	}
	if (json_object_is_type(v, json_type_string))
		s = json_object_new_string(json_object_get_string(v));
	else
		s = json_object_new_string(
			json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	if (!s)
		*rc = FUGUE_ENOMEM;
	return s;
}

/* V with every reference resolved, as a new tree; NULL with *RC set. */
static struct json_object *resolve(const struct json_object *v, const fugue_live *live,
                                   char **missing, int *rc)
{
	const char *name;
	const char *attr;
	struct json_object *out;
	size_t i;
	size_t n;
	int failed = 0;

	if (fugue_yaml_is_ref(v, &name, &attr))
		return ref_value(live, name, attr, missing, rc);
	if (json_object_is_type(v, json_type_object)) {
		out = json_object_new_object();
		if (!out)
			goto nomem;
		json_object_object_foreach(fugue_json_unconst(v), key, val) {
			struct json_object *r = val ? resolve(val, live, missing, rc) : NULL;

			if (val && !r) {
				json_object_put(out);
				return NULL;
			}
			if (json_object_object_add(out, key, r) != 0) {
				json_object_put(r);
				json_object_put(out);
				goto nomem;
			}
		}
		return out;
	}
	if (json_object_is_type(v, json_type_array)) {
		n = json_object_array_length(v);
		out = json_object_new_array_ext((int)n);
		if (!out)
			goto nomem;
		for (i = 0; i < n; i++) {
			struct json_object *el = json_object_array_get_idx(v, i);
			struct json_object *r = el ? resolve(el, live, missing, rc) : NULL;

			if (el && !r) {
				json_object_put(out);
				return NULL;
			}
			if (json_object_array_add(out, r) != 0) {
				json_object_put(r);
				json_object_put(out);
				goto nomem;
			}
		}
		return out;
	}
	out = copy(v, &failed);
	if (!failed)
		return out;
nomem:
	*rc = FUGUE_ENOMEM;
	return NULL;
}

int fugue_resolve_refs(struct json_object **out, char **missing, const struct json_object *props,
                       const fugue_live *live)
{
	int rc = 0;

	*out = NULL;
	if (missing)
		*missing = NULL;
	if (!props)
		return 0;
	*out = resolve(props, live, missing, &rc);
	if (!*out && rc == 0)
		rc = FUGUE_ENOMEM;
	if (rc != 0) {
		json_object_put(*out);
		*out = NULL;
		if (rc != FUGUE_ERETRY && missing) {
			free(*missing);
			*missing = NULL;
		}
	}
	return rc;
}

/* --- sensitive values ---------------------------------------------------------------- */

/* Feeds the canonical JSON text of V (object keys sorted at every depth,
 * no whitespace) to CTX, so equal trees digest the same whatever the order
 * their members were added in. Returns 0 or -1. */
static int digest_value(EVP_MD_CTX *ctx, const struct json_object *v);

static int digest_text(EVP_MD_CTX *ctx, const char *s)
{
	return EVP_DigestUpdate(ctx, s, strlen(s)) == 1 ? 0 : -1;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int digest_key(EVP_MD_CTX *ctx, const char *key)
{
	struct json_object *k = json_object_new_string(key);
	int rc;

	if (!k)
		return -1;
	rc = digest_text(ctx, json_object_to_json_string_ext(k, CANONICAL));
	json_object_put(k);
	return rc;
}

static int digest_object(EVP_MD_CTX *ctx, const struct json_object *v)
{
	size_t n = (size_t)json_object_object_length(v);
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	size_t i = 0;
	int rc = 0;

	if (!keys)
		return -1;
	json_object_object_foreach(fugue_json_unconst(v), key, val) {
		(void)val;
		keys[i++] = key;
	}
	qsort(keys, n, sizeof(*keys), key_cmp);
	rc = digest_text(ctx, "{");
	for (i = 0; rc == 0 && i < n; i++) {
		if (i > 0)
			rc = digest_text(ctx, ",");
		if (rc == 0)
			rc = digest_key(ctx, keys[i]);
		if (rc == 0)
			rc = digest_text(ctx, ":");
		if (rc == 0)
			rc = digest_value(ctx, fugue_json_member(v, keys[i]));
	}
	if (rc == 0)
		rc = digest_text(ctx, "}");
	free(keys);
	return rc;
}

static int digest_value(EVP_MD_CTX *ctx, const struct json_object *v)
{
	size_t i;
	size_t n;
	int rc;

	if (json_object_is_type(v, json_type_object))
		return digest_object(ctx, v);
	if (!json_object_is_type(v, json_type_array))
		return digest_text(ctx, json_object_to_json_string_ext(fugue_json_unconst(v), CANONICAL));
	n = json_object_array_length(v);
	rc = digest_text(ctx, "[");
	for (i = 0; rc == 0 && i < n; i++) {
		if (i > 0)
			rc = digest_text(ctx, ",");
		if (rc == 0)
			rc = digest_value(ctx, json_object_array_get_idx(v, i));
	}
	return rc == 0 ? digest_text(ctx, "]") : rc;
}

/* "sha256:<hex>" of V's canonical JSON as a new json string, or NULL. */
static struct json_object *digest_of(const struct json_object *v)
{
	static const char hex[] = "0123456789abcdef";
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char text[sizeof(DIGEST_PREFIX) + 2 * EVP_MAX_MD_SIZE];
	size_t off = sizeof(DIGEST_PREFIX) - 1;
	unsigned int i;
	int ok;

	if (!ctx)
		return NULL;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 && digest_value(ctx, v) == 0 &&
	     EVP_DigestFinal_ex(ctx, md, &len) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return NULL;
	memcpy(text, DIGEST_PREFIX, off);
	for (i = 0; i < len; i++) {
		text[off++] = hex[md[i] >> 4];
		text[off++] = hex[md[i] & 0xf];
	}
	text[off] = '\0';
	return json_object_new_string(text);
}

static const fugue_prop *find_prop(const fugue_prop *props, const char *name)
{
	const fugue_prop *p;

	for (p = props; p && p->name; p++) {
		if (strcmp(p->name, name) == 0)
			return p;
	}
	return NULL;
}

static struct json_object *redact_value(const struct json_object *v, const fugue_prop *prop,
                                        fugue_redact_mode mode, int *failed);

/* The members of object V redacted with FIELDS (OBJECT) or with ITEM for
 * every value (MAP). */
static struct json_object *redact_members(const struct json_object *v, const fugue_prop *fields,
                                          const fugue_prop *item, fugue_redact_mode mode,
                                          int *failed)
{
	struct json_object *out = json_object_new_object();

	if (!out) {
		*failed = 1;
		return NULL;
	}
	json_object_object_foreach(fugue_json_unconst(v), key, val) {
		const fugue_prop *p = item ? item : find_prop(fields, key);
		struct json_object *r = redact_value(val, p, mode, failed);

		if (*failed || json_object_object_add(out, key, r) != 0) {
			json_object_put(r);
			json_object_put(out);
			*failed = 1;
			return NULL;
		}
	}
	return out;
}

static struct json_object *redact_items(const struct json_object *v, const fugue_prop *item,
                                        fugue_redact_mode mode, int *failed)
{
	size_t n = json_object_array_length(v);
	struct json_object *out = json_object_new_array_ext((int)n);
	size_t i;

	if (!out) {
		*failed = 1;
		return NULL;
	}
	for (i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(v, i);
		struct json_object *r = redact_value(el, item, mode, failed);

		if (*failed || json_object_array_add(out, r) != 0) {
			json_object_put(r);
			json_object_put(out);
			*failed = 1;
			return NULL;
		}
	}
	return out;
}

/* V (of property PROP, NULL when the schema does not describe it) with its
 * sensitive parts replaced, as a new tree. */
static struct json_object *redact_value(const struct json_object *v, const fugue_prop *prop,
                                        fugue_redact_mode mode, int *failed)
{
	struct json_object *r;

	if (!v)
		return NULL;
	if (prop && (prop->flags & FUGUE_PROP_SENSITIVE)) {
		r = mode == FUGUE_REDACT_MASK ? json_object_new_string(MASKED) : digest_of(v);
		if (!r)
			*failed = 1;
		return r;
	}
	if (prop && prop->kind == FUGUE_KIND_OBJECT && prop->fields &&
	    json_object_is_type(v, json_type_object))
		return redact_members(v, prop->fields, NULL, mode, failed);
	if (prop && prop->kind == FUGUE_KIND_MAP && prop->items &&
	    json_object_is_type(v, json_type_object))
		return redact_members(v, NULL, prop->items, mode, failed);
	if (prop && prop->kind == FUGUE_KIND_LIST && prop->items &&
	    json_object_is_type(v, json_type_array))
		return redact_items(v, prop->items, mode, failed);
	return copy(v, failed);
}

struct json_object *fugue_redact(const struct json_object *props, const fugue_type_ops *type,
                                 fugue_redact_mode mode)
{
	int failed = 0;
	struct json_object *out;

	if (!props)
		return NULL;
	if (!type || !json_object_is_type(props, json_type_object))
		return copy(props, &failed);
	out = redact_members(props, type->props, NULL, mode, &failed);
	return failed ? NULL : out;
}

struct json_object *fugue_redact_state(const struct json_object *state, const fugue_type_ops *type,
                                       fugue_redact_mode mode)
{
	struct json_object *out;
	struct json_object *props;
	struct json_object *redacted;
	int failed = 0;

	out = copy(state, &failed);
	props = fugue_json_member(state, "properties");
	if (!out || !props || !type)
		return out;
	redacted = fugue_redact(props, type, mode);
	if (!redacted || json_object_object_add(out, "properties", redacted) != 0) {
		json_object_put(redacted);
		json_object_put(out);
		return NULL;
	}
	return out;
}
