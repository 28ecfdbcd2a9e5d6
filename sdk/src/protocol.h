/* protocol.h - wire formats: query serialization, XML and JSON responses and
 * errors. Internal. */
#ifndef FUGUE_PROTOCOL_H
#define FUGUE_PROTOCOL_H

#include <stddef.h>

#include "buf.h"
#include "fugue/aws.h"

struct json_object;

/* Appends the form body "Action=A&Version=V&..." for PARAMS (may be NULL):
 * objects flatten as Name.Member, arrays as Name.N (EC2_STYLE) or
 * Name.member.N (AWS query), numbers and booleans as their text ("true").
 * Names and values are URI-encoded. Returns 0, FUGUE_EINVAL for a value that
 * is null or a nested array in an array, FUGUE_ENOMEM. */
int fugue_query_serialize(fugue_buf *out, const char *action, const char *api_version,
                          const struct json_object *params, int ec2_style);

/* Parses an XML response body into a tree (see fugue/aws.h for the rules):
 * with UNWRAP_RESULT the tree is rooted at <ACTIONResult> (query services),
 * else at the document element's children (EC2). Namespaces are ignored.
 * Returns 0, or FUGUE_EPROTO for malformed XML. */
int fugue_xml_response(struct json_object **out, const char *body, size_t len, const char *action,
                       int unwrap_result);

/* Why fugue_xml_response() refused BODY, in a few words for an error
 * message: "empty body, expected XML", "malformed XML at line 1, column
 * 58: Premature end of data in tag vpcSet", "root element <html> is not an
 * AWS answer ...". Never quotes the body. Always NUL-terminates BUF. */
void fugue_xml_explain(char *buf, size_t size, const char *body, size_t len);

/* Fills ERR's code, message and request id from an XML error body: EC2's
 * <Response><Errors><Error> with <RequestID>, and the query services'
 * <ErrorResponse><Error> with <RequestId>. Returns 0 when one was found,
 * FUGUE_EPROTO otherwise (ERR untouched). */
int fugue_xml_error(fugue_aws_error *err, const char *body, size_t len);

/* The request id of an XML success body (<requestId> or
 * <ResponseMetadata><RequestId>), copied into OUT; "" when none. */
void fugue_xml_request_id(char *out, size_t size, const char *body, size_t len);

/* Parses a JSON body; an empty body is {}. Returns 0 or FUGUE_EPROTO. */
int fugue_json_response(struct json_object **out, const char *body, size_t len);

/* Why fugue_json_response() refused BODY: "truncated JSON: the body ends
 * inside a value (byte 57)", "malformed JSON at byte 3: unexpected
 * character" (text after the value too), "a JSON string, expected an
 * object or an array", ... Never
 * quotes the body. Always NUL-terminates BUF. */
void fugue_json_explain(char *buf, size_t size, const char *body, size_t len);

/* Nonzero when BODY is an HTML page (a proxy's or a gateway's, not AWS's):
 * it starts, after blanks, with <!DOCTYPE html or <html. */
int fugue_body_is_html(const char *body, size_t len);

/* Why a response body could not be read, for an error message: for an HTML
 * page "an HTML page, not an AWS answer (...): TITLE" (the page's <title>
 * only, never the rest), else fugue_xml_explain() (XML) or
 * fugue_json_explain(). Always NUL-terminates BUF. */
void fugue_response_explain(char *buf, size_t size, const char *body, size_t len, int xml);

/* Fills ERR from a rest-json / json error: the code from ERROR_TYPE_HEADER
 * (x-amzn-ErrorType, may be NULL; text after ':' dropped), else the body's
 * "__type" / "code" / "Code" (text up to '#' dropped); the message from
 * "message" / "Message" / "errorMessage". Returns 0 when a code was found,
 * FUGUE_EPROTO otherwise. */
int fugue_json_error(fugue_aws_error *err, const char *error_type_header, const char *body,
                     size_t len);

#endif
