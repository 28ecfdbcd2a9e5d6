/* query.c - the form body of the query protocols (EC2 and "AWS query").
 *
 * PARAMS is a json-c tree using the wire names; it is flattened the way
 * botocore's QuerySerializer and EC2Serializer do it:
 *  - object members:  Prefix.Member
 *  - array elements:  Prefix.N (EC2) or Prefix.member.N (AWS query), 1-based
 *  - an empty array:  nothing (EC2) or "Prefix=" (AWS query, which is how the
 *                     query services learn that a list is to be emptied)
 *  - strings as they are, numbers as their JSON text, booleans "true"/"false".
 * Pairs come out in the tree's member order, so a body is deterministic. */
#include <string.h>

#include <json-c/json.h>

#include "fugue/common.h"
#include "protocol.h"

/* The state of one serialization: the body being appended to, the key of the
 * value being visited (grown and cut back as the walk goes down and up) and
 * the list style. */
typedef struct query_ctx {
	fugue_buf *out;
	fugue_buf key;
	int ec2_style;
} query_ctx;

static int serialize_value(query_ctx *ctx, const struct json_object *value);

/* Appends "&KEY=VALUE" with both sides URI-encoded. */
static int put_pair(query_ctx *ctx, const char *value, size_t len)
{
	if (fugue_buf_putc(ctx->out, '&') < 0)
		return FUGUE_ENOMEM;
	if (fugue_buf_put_uri_encoded(ctx->out, ctx->key.data, ctx->key.len, 0) < 0)
		return FUGUE_ENOMEM;
	if (fugue_buf_putc(ctx->out, '=') < 0)
		return FUGUE_ENOMEM;
	if (fugue_buf_put_uri_encoded(ctx->out, value, len, 0) < 0)
		return FUGUE_ENOMEM;
	return 0;
}

/* Cuts the key back to LEN bytes (after visiting a child). */
static void key_truncate(query_ctx *ctx, size_t len)
{
	ctx->key.len = len;
	if (ctx->key.data)
		ctx->key.data[len] = '\0';
}

static int serialize_scalar(query_ctx *ctx, const struct json_object *value)
{
	struct json_object *v = (struct json_object *)value;
	const char *text;

	switch (json_object_get_type(v)) {
	case json_type_string:
		return put_pair(ctx, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	case json_type_boolean:
		text = json_object_get_boolean(v) ? "true" : "false";
		return put_pair(ctx, text, strlen(text));
	case json_type_int:
	case json_type_double:
		/* json-c's own text of the number: integers in decimal, doubles
		 * as parsed or as "%.17g" trimmed ("1.5", "Infinity"). */
		text = json_object_get_string(v);
		if (!text)
			return FUGUE_ENOMEM;
		return put_pair(ctx, text, strlen(text));
	default:
		return FUGUE_EINVAL;
	}
}

static int serialize_object(query_ctx *ctx, const struct json_object *obj)
{
	size_t mark = ctx->key.len;
	int rc = 0;

	json_object_object_foreach((struct json_object *)obj, name, member) {
		if (mark > 0 && fugue_buf_putc(&ctx->key, '.') < 0)
			return FUGUE_ENOMEM;
		if (fugue_buf_puts(&ctx->key, name) < 0)
			return FUGUE_ENOMEM;
		rc = serialize_value(ctx, member);
		key_truncate(ctx, mark);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int serialize_array(query_ctx *ctx, const struct json_object *arr)
{
	size_t n = json_object_array_length(arr);
	size_t mark = ctx->key.len;
	size_t i;
	int rc;

	if (n == 0)
		return ctx->ec2_style ? 0 : put_pair(ctx, "", 0);
	for (i = 0; i < n; i++) {
		const struct json_object *elem = json_object_array_get_idx(arr, i);

		if (elem && json_object_is_type(elem, json_type_array))
			return FUGUE_EINVAL;
		if (fugue_buf_printf(&ctx->key, ctx->ec2_style ? ".%zu" : ".member.%zu", i + 1) < 0)
			return FUGUE_ENOMEM;
		rc = serialize_value(ctx, elem);
		key_truncate(ctx, mark);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int serialize_value(query_ctx *ctx, const struct json_object *value)
{
	/* json-c represents a JSON null as a NULL pointer. */
	if (!value)
		return FUGUE_EINVAL;
	if (json_object_is_type(value, json_type_object))
		return serialize_object(ctx, value);
	if (json_object_is_type(value, json_type_array))
		return serialize_array(ctx, value);
	return serialize_scalar(ctx, value);
}

static int put_header(fugue_buf *out, const char *action, const char *api_version)
{
	if (fugue_buf_puts(out, "Action=") < 0)
		return FUGUE_ENOMEM;
	if (fugue_buf_put_uri_encoded(out, action, strlen(action), 0) < 0)
		return FUGUE_ENOMEM;
	if (fugue_buf_puts(out, "&Version=") < 0)
		return FUGUE_ENOMEM;
	if (fugue_buf_put_uri_encoded(out, api_version, strlen(api_version), 0) < 0)
		return FUGUE_ENOMEM;
	return 0;
}

int fugue_query_serialize(fugue_buf *out, const char *action, const char *api_version,
                          const struct json_object *params, int ec2_style)
{
	query_ctx ctx = { out, FUGUE_BUF_INIT, ec2_style };
	size_t start;
	int rc;

	if (!out || !action || !api_version)
		return FUGUE_EINVAL;
	if (params && !json_object_is_type(params, json_type_object))
		return FUGUE_EINVAL;
	start = out->len;
	rc = put_header(out, action, api_version);
	if (rc == 0 && params)
		rc = serialize_object(&ctx, params);
	fugue_buf_free(&ctx.key);
	if (rc < 0 && out->data) {
		/* Leave the buffer as it was: no half-written body. */
		out->len = start;
		out->data[start] = '\0';
	}
	return rc;
}
