/* util.h - small helpers the ec2 planner's types share (not the kit's:
 * only what these three files need). All stateless and thread-safe. */
#ifndef FUGUE_EC2_UTIL_H
#define FUGUE_EC2_UTIL_H

#include <stddef.h>

#include "fugue/planner.h"

struct json_object;

/* json-c's getters take non-const pointers without changing anything; the
 * one place the const is dropped. */
struct json_object *fugue_ec2u_unconst(const struct json_object *o);

/* O[KEY] (borrowed), NULL when O is not an object or KEY is absent. */
struct json_object *fugue_ec2u_get(const struct json_object *o, const char *key);

/* Nonzero when NAME is one of the strings of array CHANGED (update()). */
int fugue_ec2u_changed(const struct json_object *changed, const char *name);

/* Adds KEY = S (copied) to O; nothing when S is NULL. */
void fugue_ec2u_put_str(struct json_object *o, const char *key, const char *s);

/* Adds KEY = [ID] (a one-element list, as InstanceId.1) to O. */
void fugue_ec2u_put_id(struct json_object *o, const char *key, const char *id);

/* A deep copy of O (caller's), NULL for NULL or on allocation failure. */
struct json_object *fugue_ec2u_copy(const struct json_object *o);

/* The base64 (RFC 4648, padded) of LEN bytes at DATA: a NUL-terminated
 * string the caller frees, or NULL on allocation failure. */
char *fugue_ec2u_base64(const void *data, size_t len);

/* Makes the "tags" property of STATE (a resource state, changed in place)
 * comparable with DECLARED's `tags`: the tagSet also holds the
 * composition's tags, which are not the resource's own. A key declared in
 * `tags` is kept; another is dropped when ctx->tags has it (the
 * composition's tags), kept otherwise (someone added it: drift). observe()
 * has no ctx->tags, so there only declared keys are kept: a tag added by
 * hand is not drift, a declared one changed or removed is. (The vpc
 * planner does the same.) */
void fugue_ec2u_fix_tags(const fugue_ctx *ctx, struct json_object *state,
                         const struct json_object *declared);

/* fugue_ec2u_fix_tags() for every item of an observe() batch found. */
void fugue_ec2u_fix_batch_tags(const fugue_ctx *ctx, fugue_observation *items, size_t n);

#endif
