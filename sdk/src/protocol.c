/* protocol.c - JSON responses and errors of the json and rest-json
 * protocols (DynamoDB, SQS, Lambda), and what to say about a body that
 * cannot be read (JSON, XML or a proxy's HTML page).
 *
 * Error codes come in several spellings, which botocore's parsers also
 * accept: a header "x-amzn-ErrorType: ResourceNotFoundException:http://..."
 * (text after ':' is a URL to drop), or a body member "__type" / "code" /
 * "Code" that may be namespaced as "com.amazonaws.dynamodb.v20120810#Name"
 * (only the part after the last '#' is the code). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "fugue/common.h"
#include "protocol.h"

/* Deep enough for DynamoDB's 32 levels of nested attribute values (two JSON
 * levels each) plus the envelope; shallow enough to bound the work. */
#define JSON_MAX_DEPTH 128

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int all_space(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!is_space(s[i]))
			return 0;
	}
	return 1;
}

/* Parses exactly one JSON value from BODY; trailing text other than white
 * space is an error. *OUT may be NULL on success for a JSON "null". */
static int parse_json(struct json_object **out, const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t end;
	int ok;

	*out = NULL;
	if (len > INT_MAX)
		return FUGUE_EPROTO;
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok)
		return FUGUE_ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	ok = json_tokener_get_error(tok) == json_tokener_success;
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!ok || end > len || !all_space(body + end, len - end)) {
		json_object_put(obj);
		return FUGUE_EPROTO;
	}
	*out = obj;
	return 0;
}

int fugue_json_response(struct json_object **out, const char *body, size_t len)
{
	struct json_object *obj = NULL;
	int rc;

	if (!out)
		return FUGUE_EINVAL;
	*out = NULL;
	if (!body || all_space(body, len)) {
		*out = json_object_new_object();
		return *out ? 0 : FUGUE_ENOMEM;
	}
	rc = parse_json(&obj, body, len);
	if (rc < 0)
		return rc;
	if (!json_object_is_type(obj, json_type_object) && !json_object_is_type(obj, json_type_array)) {
		json_object_put(obj);
		return FUGUE_EPROTO;
	}
	*out = obj;
	return 0;
}

/* Copies SRC[0..LEN) into DST (SIZE bytes), trimmed of surrounding white
 * space and truncated at a UTF-8 character boundary when it does not fit. */
/* Writes the bare code of RAW ("A:url" -> "A", "ns#A" -> "A") into DST;
 * returns nonzero when it is non-empty. */
static int copy_code(char *dst, size_t size, const char *raw)
{
	const char *colon = strchr(raw, ':');
	size_t len = colon ? (size_t)(colon - raw) : strlen(raw);
	const char *hash = memrchr(raw, '#', len);

	if (hash) {
		len -= (size_t)(hash + 1 - raw);
		raw = hash + 1;
	}
	fugue_copy_trimmed(dst, size, raw, len);
	return dst[0] != '\0';
}

/* The string member NAME of OBJ, or NULL. */
static const char *string_member(struct json_object *obj, const char *name)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static const char *first_member(struct json_object *obj, const char *const *names, size_t n)
{
	size_t i;

	if (!json_object_is_type(obj, json_type_object))
		return NULL;
	for (i = 0; i < n; i++) {
		const char *s = string_member(obj, names[i]);

		if (s)
			return s;
	}
	return NULL;
}

int fugue_json_error(fugue_aws_error *err, const char *error_type_header, const char *body,
                     size_t len)
{
	static const char *const code_names[] = { "__type", "code", "Code" };
	static const char *const message_names[] = { "message", "Message", "errorMessage" };
	char code[sizeof(err->code)] = "";
	struct json_object *obj = NULL;
	const char *raw;
	const char *message;
	int found = 0;

	if (!err)
		return FUGUE_EPROTO;
	if (body && len > 0 && parse_json(&obj, body, len) < 0)
		obj = NULL;
	if (error_type_header)
		found = copy_code(code, sizeof(code), error_type_header);
	if (!found) {
		raw = first_member(obj, code_names, 3);
		found = raw && copy_code(code, sizeof(code), raw);
	}
	if (!found) {
		json_object_put(obj);
		return FUGUE_EPROTO;
	}
	memcpy(err->code, code, sizeof(code));
	message = first_member(obj, message_names, 3);
	if (message)
		fugue_copy_trimmed(err->message, sizeof(err->message), message, strlen(message));
	else if (!obj && body)
		/* Not JSON (a proxy's HTML page, say): the text is all we have. */
		fugue_copy_trimmed(err->message, sizeof(err->message), body, len);
	else
		err->message[0] = '\0';
	json_object_put(obj);
	return 0;
}

/* --- explaining a body that cannot be read ------------------------------------ */

void fugue_json_explain(char *buf, size_t size, const char *body, size_t len)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error e;
	size_t end;

	if (!buf || size == 0)
		return;
	if (!body || all_space(body, len)) {
		snprintf(buf, size, "empty body");
		return;
	}
	if (len > INT_MAX) {
		snprintf(buf, size, "JSON body larger than %d bytes", INT_MAX);
		return;
	}
	tok = json_tokener_new_ex(JSON_MAX_DEPTH);
	if (!tok) {
		snprintf(buf, size, "out of memory reading the JSON");
		return;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, body, (int)len);
	e = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (e == json_tokener_continue && !obj) {
		/* A number at the very end may go on: a NUL ends it, and tells a
		 * bare number from a document cut short. */
		obj = json_tokener_parse_ex(tok, "", 1);
		if (json_tokener_get_error(tok) == json_tokener_success)
			e = json_tokener_success;
		end = len;
	}
	if (e == json_tokener_continue)
		snprintf(buf, size, "truncated JSON: the body ends inside a value (byte %zu)", len);
	else if (e == json_tokener_error_depth)
		snprintf(buf, size, "JSON nested deeper than %d levels", JSON_MAX_DEPTH);
	else if (e != json_tokener_success)
		snprintf(buf, size, "malformed JSON at byte %zu: %s", end, json_tokener_error_desc(e));
	else if (!json_object_is_type(obj, json_type_object) &&
	         !json_object_is_type(obj, json_type_array))
		snprintf(buf, size, "a JSON %s, expected an object or an array",
		         json_type_to_name(json_object_get_type(obj)));
	else
		snprintf(buf, size, "unreadable JSON");
	json_object_put(obj);
	json_tokener_free(tok);
}

/* Skips blanks and a UTF-8 byte order mark. */
static size_t skip_lead(const char *body, size_t len)
{
	size_t i = 0;

	if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len && is_space(body[i]))
		i++;
	return i;
}

static int starts_nocase(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && strncasecmp(s, prefix, n) == 0;
}

int fugue_body_is_html(const char *body, size_t len)
{
	size_t i;

	if (!body)
		return 0;
	i = skip_lead(body, len);
	return starts_nocase(body + i, len - i, "<!doctype html") ||
	       starts_nocase(body + i, len - i, "<html");
}

/* The position of the first NEEDLE in HAY[0..LEN), ignoring case, or NULL. */
static const char *find_nocase(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	size_t i;

	for (i = 0; i + n <= len; i++) {
		if (strncasecmp(hay + i, needle, n) == 0)
			return hay + i;
	}
	return NULL;
}

/* The text of the page's <title> (at most 100 bytes, control characters as
 * blanks) into DST; "" when there is none. */
static void html_title(char *dst, size_t size, const char *body, size_t len)
{
	const char *end = body + len;
	const char *p = find_nocase(body, len, "<title");
	const char *stop;
	char text[101];
	size_t n = 0;

	dst[0] = '\0';
	if (!p)
		return;
	p = memchr(p, '>', (size_t)(end - p));
	if (!p)
		return;
	p++;
	stop = find_nocase(p, (size_t)(end - p), "</title");
	if (!stop)
		stop = end;
	for (; p < stop && n < sizeof(text) - 1; p++)
		text[n++] = (unsigned char)*p < 0x20 || *p == 0x7f ? ' ' : *p;
	fugue_copy_trimmed(dst, size, text, n);
}

void fugue_response_explain(char *buf, size_t size, const char *body, size_t len, int xml)
{
	char title[128];

	if (!buf || size == 0)
		return;
	if (fugue_body_is_html(body, len)) {
		html_title(title, sizeof(title), body, len);
		snprintf(buf, size, "an HTML page, not an AWS answer (a proxy or gateway in the way?)%s%s",
		         title[0] ? ": " : "", title);
	} else if (xml) {
		fugue_xml_explain(buf, size, body, len);
	} else {
		fugue_json_explain(buf, size, body, len);
	}
}
