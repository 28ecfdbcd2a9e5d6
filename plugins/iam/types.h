/* types.h - the resource types of the iam planner and the IAM helpers
 * they share (iam_api.c). IAM speaks the AWS query protocol: lists go out
 * as Name.member.N (the SDK flattens arrays), answers are <ActionResult>. */
#ifndef FUGUE_IAM_TYPES_H
#define FUGUE_IAM_TYPES_H

#include <stddef.h>

#include "fugue/planner.h"

struct json_object;

extern const fugue_type_ops fugue_iam_role;             /* AWS.IAM.Role (role.c) */
extern const fugue_type_ops fugue_iam_instance_profile; /* AWS.IAM.InstanceProfile */
extern const fugue_type_ops fugue_iam_policy;           /* AWS.IAM.Policy (policy.c) */

/* One IAM call (global: signed for us-east-1). *OUT (may be NULL) is the
 * answer, caller's. fugue_iam_try records nothing (the error in ERR);
 * fugue_iam_call records a failure with fail(). PARAMS borrowed. */
int fugue_iam_try(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const struct json_object *params, fugue_aws_error *err);
int fugue_iam_call(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params);
/* The same, PARAMS transferred and the answer dropped. */
int fugue_iam_do(fugue_ctx *ctx, const char *action, struct json_object *params);

/* ACTION (GetRole, GetInstanceProfile, GetPolicy) of the entity whose
 * PARAM ("RoleName", "PolicyArn") is VALUE: 0 and *OUT (the answer's
 * RESULT_KEY member, "Role", caller's), FUGUE_ENOTFOUND (not recorded: an
 * answer), or another error (recorded). */
int fugue_iam_get(struct json_object **out, fugue_ctx *ctx, const char *action,
                  const char *param, const char *value, const char *result_key);

/* Every page (Marker / IsTruncated) of ACTION: *OUT is a new array of the
 * RESULT_KEY elements (caller's). A failure is recorded. */
int fugue_iam_list(struct json_object **out, fugue_ctx *ctx, const char *action,
                   const struct json_object *params, const char *result_key);

/* A policy document as IAM returns it (URL-encoded JSON, or plain JSON)
 * as a new JSON tree (caller's); NULL when it cannot be parsed. */
struct json_object *fugue_iam_doc_parse(const char *text);
/* A declared document as the JSON text IAM takes (borrowed from DOC). */
const char *fugue_iam_doc_text(const struct json_object *doc);
/* Whether two policy documents mean the same: key order ignored, a single
 * value equals a one-element list. */
int fugue_iam_doc_equal(const struct json_object *a, const struct json_object *b);

/* Adds Tags (a list of {Key, Value}) for ctx->tags plus TAGS (declared). */
void fugue_iam_put_tags(struct json_object *params, const fugue_ctx *ctx,
                        const struct json_object *tags);
/* The tags (an IAM list of {Key, Value}) of the entity PARAM = VALUE
 * ("RoleName", ...) of KIND ("Role", "InstanceProfile", "Policy"): ENTITY's
 * Tags member when a Get or List answer holds it (ENTITY may be NULL), else
 * every page of ListKINDTags. *OUT caller's; a failure is recorded. */
int fugue_iam_tags(struct json_object **out, fugue_ctx *ctx, const char *kind, const char *param,
                   const char *value, const struct json_object *entity);
/* TagKIND what is missing or different, UntagKIND what is no longer wanted
 * (never fugue:* or aws:*), to bring the entity PARAM = VALUE from the tags
 * it has (HAVE_LIST, an IAM tag list) to ctx->tags plus TAGS (declared).
 * 0 or the error, recorded. */
int fugue_iam_sync_tags(fugue_ctx *ctx, const char *kind, const char *param, const char *value,
                        const struct json_object *have_list, const struct json_object *tags);
/* Nonzero when the IAM tag list carries fugue:fid = FID (and, when
 * RESOURCE is set, fugue:resource = RESOURCE). */
int fugue_iam_tagged(const struct json_object *list, const char *fid, const char *resource);
/* The default IAM name of RESOURCE in process FID: "RESOURCE-" and up to
 * 8 characters of the fid, cut to MAX characters. */
void fugue_iam_default_name(char *buf, size_t size, const char *resource, const char *fid,
                            size_t max);
/* The IAM name of RESOURCE: its declared KEY ("roleName") in PROPS, else
 * fugue_iam_default_name(). */
void fugue_iam_name(char *buf, size_t size, const char *resource, const char *fid,
                    const struct json_object *props, const char *key, size_t max);
/* validate(): the declared KEY name is 1 to MAX characters ("a NOUN name has
 * ...") and `path` begins and ends with '/'. Reports each error; returns
 * nonzero when there was one. */
int fugue_iam_check_name_path(fugue_ctx *ctx, const struct json_object *props, const char *key,
                              const char *noun, size_t max);
/* ACTION (DeleteRole, ...) of the entity PARAM = VALUE; already gone is
 * success. 0 or the error, recorded. */
int fugue_iam_delete(fugue_ctx *ctx, const char *action, const char *param, const char *value);
/* The element of LIST whose KEY is VALUE (borrowed), or NULL. */
struct json_object *fugue_iam_find_by(const struct json_object *list, const char *key,
                                      const char *value);

#endif
