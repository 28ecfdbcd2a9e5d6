/* planner_kit.h - what every planner of ours needs beyond the ABI: state
 * objects, reading JSON (declarations, states, AWS's string leaves as typed
 * values), the `tags` property, waiting with backoff and a deadline,
 * failures with the AWS error, CIDR and zone checks.
 *
 * A static library (PIC) linked into each planner's .so; not part of the
 * installed SDK (yet). Everything here is thread-safe and keeps no state:
 * planners call it from several threads at once. Sources: planner_kit.c
 * (state, JSON, tags, failures), kit_wait.c, kit_network.c. */
#ifndef FUGUE_PLANNER_KIT_H
#define FUGUE_PLANNER_KIT_H

#include <stddef.h>
#include <stdint.h>

#include "fugue/planner.h"

struct json_object;

/* --- state objects ------------------------------------------------------------ */

/* {"id": ID, "properties": PROPS, "attributes": ATTRS} (planner.h's resource
 * state). PROPS and ATTRS are transferred (NULL: {}). NULL on allocation
 * failure (PROPS and ATTRS are then freed). */
struct json_object *fugue_kit_state(const char *id, struct json_object *props,
                                    struct json_object *attrs);

/* The "properties" / "attributes" object of STATE (a resource state as
 * fugue_kit_state makes it); borrowed, NULL when missing. */
struct json_object *fugue_kit_state_props(const struct json_object *state);
struct json_object *fugue_kit_state_attrs(const struct json_object *state);

/* --- reading declared properties (borrowed results; NULL/defaults when absent) -- */

/* O[KEY] of any kind, NULL when O is not an object or has no KEY. */
struct json_object *fugue_kit_get(const struct json_object *o, const char *key);
/* O[KEY] when it has that kind; else NULL / DFLT. */
const char *fugue_kit_str(const struct json_object *o, const char *key);
int fugue_kit_bool(const struct json_object *o, const char *key, int dflt);
int64_t fugue_kit_int(const struct json_object *o, const char *key, int64_t dflt);

/* The resource name a declared, unresolved reference V points at
 * ({"$ref": NAME, ...}, as validate() and host->declared() see it), or NULL
 * when V is not a reference. */
const char *fugue_kit_ref_name(const struct json_object *v);

/* The declared string property KEY of the resource that reference REF
 * names (validate(): the VPC's "cidrBlock" for a subnet), through
 * ctx->host->declared(); NULL when REF is not a reference to a resource of
 * the composition, or KEY is not a plain string there. */
const char *fugue_kit_declared_str(fugue_ctx *ctx, const struct json_object *ref,
                                   const char *key);

/* --- JSON values and arrays (borrowed results) ------------------------------------ */

/* json-c's getters take non-const pointers without changing anything: the
 * one place the const is dropped. */
struct json_object *fugue_kit_unconst(const struct json_object *o);
/* The length of array A; 0 when A is NULL or not an array. */
size_t fugue_kit_len(const struct json_object *a);
/* Element I of array A, NULL when out of range or A is not an array. */
struct json_object *fugue_kit_at(const struct json_object *a, size_t i);
/* V's text when V is a JSON string, else NULL. */
const char *fugue_kit_as_str(const struct json_object *v);
/* Nonzero when A and B are both set and equal. */
int fugue_kit_streq(const char *a, const char *b);
/* Nonzero when array LIST holds the string S (update()'s `changed`:
 * fugue_kit_has_string(changed, "tags")). */
int fugue_kit_has_string(const struct json_object *list, const char *s);
/* A deep copy of O (caller's); NULL for NULL or on allocation failure. */
struct json_object *fugue_kit_copy(const struct json_object *o);

/* The element of every `tags` map (and any list or map of plain strings)
 * in a schema: .items = fugue_kit_string_item. */
extern const fugue_prop fugue_kit_string_item[];

/* --- AWS's XML leaves are strings: typed copies for observed properties -------- */

/* The leaf at PATH of an AWS response (fugue_aws_get path syntax) as a new
 * JSON string / boolean ("true"/"false") / int; NULL when absent or empty
 * (leave the property out of the state: not observed). Caller's. */
struct json_object *fugue_kit_aws_str(const struct json_object *root, const char *path);
struct json_object *fugue_kit_aws_bool(const struct json_object *root, const char *path);
struct json_object *fugue_kit_aws_int(const struct json_object *root, const char *path);

/* Adds KEY = V (transferred) to O when V is not NULL. */
void fugue_kit_put(struct json_object *o, const char *key, struct json_object *v);
/* Adds KEY = a copy of S to O; nothing when S is NULL. */
void fugue_kit_put_str(struct json_object *o, const char *key, const char *s);

/* --- the tags property ----------------------------------------------------------- */

/* The difference between the tags a resource HAS and the ones it should
 * WANT (maps of strings): *PUT gets an array of {"Key", "Value"} to set
 * (new or different values), *GONE an array of the keys to remove, never
 * fugue:* or aws:* ones. Both are the caller's (empty arrays when nothing
 * is to do); 0 or FUGUE_ENOMEM. */
int fugue_kit_tag_changes(struct json_object **put, struct json_object **gone,
                          const struct json_object *have, const struct json_object *want);
/* One tagging call of a sync: ADD nonzero to set TAGS (an array of {"Key",
 * "Value"}), zero to remove them (keys, as fugue_kit_tag_changes() or
 * fugue_kit_key_items() made them). TAGS borrowed. 0 or the error, recorded. */
typedef int (*fugue_kit_tag_call_fn)(fugue_ctx *ctx, void *arg, int add,
                                     struct json_object *tags);

/* Brings a resource from the tags it HAS (AWS's list, fugue_kit_tags_map()
 * shapes) to ctx->tags plus USER_TAGS (declared): CALL(.., 1, put) for what
 * is missing or different, then CALL(.., 0, gone) for what is no longer
 * wanted (never fugue:* or aws:*), the keys as {"Key"} items when
 * KEYS_AS_ITEMS (EC2, ELB) or plain strings (IAM, Lambda). No call when
 * nothing is to do. 0 or the error, recorded. */
int fugue_kit_sync_tags(fugue_ctx *ctx, const struct json_object *has,
                        const struct json_object *user_tags, int keys_as_items,
                        fugue_kit_tag_call_fn call, void *arg);

/* [{"Key": K}, ...] for an array of keys (EC2 DeleteTags, ELB RemoveTags
 * take the keys that way). New (caller's), NULL on no memory. */
struct json_object *fugue_kit_key_items(const struct json_object *keys);

/* Nonzero for a tag AWS or the Conductor owns (fugue:*, aws:*): never shown
 * as the `tags` property, never deleted by a sync (AWS refuses aws:*). */
int fugue_kit_reserved_tag(const char *key);

/* The tags a resource should carry: USER_TAGS (map of strings, may be NULL;
 * its fugue:* and aws:* keys ignored) over ctx->tags' composition tags, and
 * ctx->tags' fugue:* tags always. A new map (caller's), NULL on no memory. */
struct json_object *fugue_kit_desired_tags(const fugue_ctx *ctx,
                                           const struct json_object *user_tags);

/* The tags AWS returned, a list of {Key, Value} (or EC2's {key, value}), as
 * a map; USER_ONLY drops the reserved keys. New (caller's). */
struct json_object *fugue_kit_tags_map(const struct json_object *list, int user_only);

/* Makes the "tags" property of STATE (changed in place) comparable with
 * DECLARED's `tags` (the resource's declared properties; NULL: none): AWS
 * also carries the composition's tags, which are not the resource's own. A
 * key declared in `tags` is kept; another is dropped when ctx->tags has it
 * (the composition's tags, fugue:*), kept otherwise (someone added it:
 * drift). Without ctx->tags (observe() is not given them) only declared
 * keys are kept, so a tag added by hand is not drift there, while a
 * declared one changed or removed is. fugue_ec2_observe() applies it. */
void fugue_kit_fix_tags(const fugue_ctx *ctx, struct json_object *state,
                        const struct json_object *declared);

/* --- observe(): the host's ABI 1.1 services, safe with an older host ----------- */

/* ctx->host->duplicate(ctx, ITEM, STATE): STATE (transferred) is another
 * resource carrying ITEM's tags. With a host too old to take it, it is
 * logged and freed. */
void fugue_kit_duplicate(fugue_ctx *ctx, const fugue_observation *item,
                         struct json_object *state);

/* ctx->host->details_due(ctx, ITEM); 1 with a host too old to say. */
int fugue_kit_details_due(fugue_ctx *ctx, const fugue_observation *item);

/* --- text ----------------------------------------------------------------------- */

/* The base64 (RFC 4648, padded) of LEN bytes at DATA (user data, a key's
 * material): a NUL-terminated string the caller frees, NULL on no memory. */
char *fugue_kit_base64(const void *data, size_t len);

/* --- failures ------------------------------------------------------------------ */

/* ctx->host->fail(ctx, CODE, ERR, "WHAT: AWS message (CODE)") for a failed
 * AWS call (ERR may be NULL); returns CODE. */
int fugue_kit_fail_aws(fugue_ctx *ctx, int code, const fugue_aws_error *err, const char *what);

/* --- calls -------------------------------------------------------------------- */

/* fugue_aws_call(OUT, ctx->aws, REQ, ERR), or with PAGER every page of it
 * through fugue_aws_call_all() (OUT may be NULL: the answer is dropped);
 * FUGUE_ECONFIG with a NoAwsClient error when the Conductor runs without
 * AWS (offline validation, --no-aws). Records nothing: the planner decides
 * whether the error is an answer (NotFound) or a failure. */
int fugue_kit_aws_try(struct json_object **out, fugue_ctx *ctx, const fugue_aws_request *req,
                      const fugue_aws_paginator *pager, fugue_aws_error *err);
/* The same, a failure recorded with fugue_kit_fail_aws(.., REQ->action). */
int fugue_kit_aws_call(struct json_object **out, fugue_ctx *ctx, const fugue_aws_request *req,
                       const fugue_aws_paginator *pager);

/* --- waiting ------------------------------------------------------------------- */

/* One poll of a wait: sets *DONE when the resource is where it should be.
 * Returns 0, FUGUE_ENOTFOUND (counted as "not yet" while the wait allows
 * it: eventual consistency right after a create), or another error (the
 * wait ends with it; the poll has called fail()). */
typedef int (*fugue_kit_poll_fn)(fugue_ctx *ctx, void *arg, int *done);

typedef struct fugue_kit_wait {
	const char *what;        /* "vpc-0abc to be available", for progress and errors */
	long deadline_ms;        /* 0: 300000 */
	long first_ms;           /* first pause; 0: 250; doubles up to max_ms */
	long max_ms;             /* 0: 5000 */
	int notfound_is_wait;    /* FUGUE_ENOTFOUND means "not yet" (after a create) */
} fugue_kit_wait;

/* Polls POLL(ctx, ARG) until done, sleeping through ctx->host->sleep
 * (cancellable) with exponential backoff, reporting progress now and then.
 * Returns 0; the poll's error; FUGUE_ECANCELED; or FUGUE_ETIMEOUT at the
 * deadline, after fail("timed out after N s waiting for WHAT"). */
int fugue_kit_wait_for(fugue_ctx *ctx, const fugue_kit_wait *w, fugue_kit_poll_fn poll,
                       void *arg);

/* Reads resource ID into *OUT (the caller's): 0, FUGUE_ENOTFOUND when it
 * is gone, or another error (fail() called). */
typedef int (*fugue_kit_read_fn)(struct json_object **out, fugue_ctx *ctx, const char *id);

/* fugue_kit_wait_for() until READ says ID is gone: the wait after a delete. */
int fugue_kit_wait_gone(fugue_ctx *ctx, const fugue_kit_wait *w, fugue_kit_read_fn read,
                        const char *id);

/* --- networks ------------------------------------------------------------------ */

/* An IPv4 CIDR "10.0.1.0/24": 0 with *ADDR (host order) and *PREFIX, or
 * FUGUE_EINVAL (also when host bits are set: "10.0.1.5/24"). */
int fugue_kit_cidr_parse(const char *s, uint32_t *addr, int *prefix);
/* Nonzero when INNER lies within OUTER (both valid CIDRs). */
int fugue_kit_cidr_contains(const char *outer, const char *inner);
/* Nonzero when A and B share an address. */
int fugue_kit_cidr_overlap(const char *a, const char *b);
/* Nonzero when AZ ("us-east-1a") belongs to REGION ("us-east-1"): the region
 * name followed by one lower-case letter (or a local-zone suffix). */
int fugue_kit_az_in_region(const char *az, const char *region);

#endif
