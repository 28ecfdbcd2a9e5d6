/* xml.c - XML responses and errors of the query protocols, as json-c trees.
 *
 * The conversion needs no service model (see fugue/aws.h):
 *  - an element whose child elements are all <item>, <member> or <entry>
 *    becomes an array of its converted children;
 *  - an element with other child elements becomes an object keyed by local
 *    name; a name that repeats becomes an array of its occurrences;
 *  - any other element becomes the string of its text, exactly as sent
 *    ("" when empty).
 * Namespaces are ignored: libxml2's node names are local names.
 *
 * Responses are untrusted: the parser never touches the network, never
 * loads or applies a DTD, never substitutes entities, and a body carrying a
 * DOCTYPE is refused outright (AWS never sends one; it is how XXE and entity
 * bombs get in). Bodies over 64 MiB are refused before parsing. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "fugue/common.h"
#include "protocol.h"

#define XML_MAX_BODY ((size_t)64 * 1024 * 1024)

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

static int has_doctype(const char *body, size_t len)
{
	static const char marker[] = "<!DOCTYPE";

	return memmem(body, len, marker, sizeof(marker) - 1) != NULL;
}

#define XML_OPTIONS (XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)

/* Parses BODY into *OUT (free with xmlFreeDoc). Returns 0 or FUGUE_EPROTO. */
static int xml_parse(xmlDoc **out, const char *body, size_t len)
{
	xmlDoc *doc;

	*out = NULL;
	if (!body || len == 0 || len > XML_MAX_BODY)
		return FUGUE_EPROTO;
	if (has_doctype(body, len))
		return FUGUE_EPROTO;
	pthread_once(&xml_once, xml_init);
	/* AWS answers in UTF-8; forcing it also keeps a UTF-16 body from
	 * slipping a DOCTYPE past the check above. */
	doc = xmlReadMemory(body, (int)len, NULL, "UTF-8", XML_OPTIONS);
	if (!doc)
		return FUGUE_EPROTO;
	if (!xmlDocGetRootElement(doc) || doc->intSubset || doc->extSubset) {
		xmlFreeDoc(doc);
		return FUGUE_EPROTO;
	}
	*out = doc;
	return 0;
}

static int name_is(const xmlNode *node, const char *name)
{
	return node && strcmp((const char *)node->name, name) == 0;
}

static xmlNode *first_element(const xmlNode *node)
{
	xmlNode *c;

	for (c = node->children; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return c;
	}
	return NULL;
}

static xmlNode *next_element(const xmlNode *node)
{
	xmlNode *c;

	for (c = node->next; c; c = c->next) {
		if (c->type == XML_ELEMENT_NODE)
			return c;
	}
	return NULL;
}

/* The first child element of NODE called NAME, or NULL. */
static xmlNode *child_named(const xmlNode *node, const char *name)
{
	xmlNode *c;

	if (!node)
		return NULL;
	for (c = first_element(node); c; c = next_element(c)) {
		if (name_is(c, name))
			return c;
	}
	return NULL;
}

static int is_list_item(const xmlNode *node)
{
	return name_is(node, "item") || name_is(node, "member") || name_is(node, "entry");
}

/* Appends the text and CDATA directly under NODE. Entity references are
 * left out on purpose: they are never expanded. */
static int leaf_text(fugue_buf *b, const xmlNode *node)
{
	const xmlNode *c;

	for (c = node->children; c; c = c->next) {
		if (c->type != XML_TEXT_NODE && c->type != XML_CDATA_SECTION_NODE)
			continue;
		if (c->content && fugue_buf_puts(b, (const char *)c->content) < 0)
			return FUGUE_ENOMEM;
	}
	return 0;
}

static int convert(struct json_object **out, const xmlNode *node);

static int convert_leaf(struct json_object **out, const xmlNode *node)
{
	fugue_buf b = FUGUE_BUF_INIT;
	int rc = leaf_text(&b, node);

	if (rc == 0) {
		*out = json_object_new_string_len(b.data ? b.data : "", (int)b.len);
		if (!*out)
			rc = FUGUE_ENOMEM;
	}
	fugue_buf_free(&b);
	return rc;
}

static int convert_array(struct json_object **out, const xmlNode *node)
{
	struct json_object *arr = json_object_new_array();
	const xmlNode *c;

	if (!arr)
		return FUGUE_ENOMEM;
	for (c = first_element(node); c; c = next_element(c)) {
		struct json_object *v = NULL;
		int rc = convert(&v, c);

		if (rc == 0 && json_object_array_add(arr, v) != 0) {
			json_object_put(v);
			rc = FUGUE_ENOMEM;
		}
		if (rc < 0) {
			json_object_put(arr);
			return rc;
		}
	}
	*out = arr;
	return 0;
}

/* Adds V (owned) to OBJ under NAME; the second occurrence of a name turns
 * the member into an array of occurrences, remembered in *REPEATED so that
 * a value that is itself an array is never mistaken for one. */
static int object_add(struct json_object *obj, struct json_object **repeated, const char *name,
                      struct json_object *v)
{
	struct json_object *prev = NULL;
	struct json_object *arr;

	if (!json_object_object_get_ex(obj, name, &prev))
		return json_object_object_add(obj, name, v) == 0 ? 0 : FUGUE_ENOMEM;
	if (*repeated && json_object_object_get_ex(*repeated, name, NULL))
		return json_object_array_add(prev, v) == 0 ? 0 : FUGUE_ENOMEM;
	if (!*repeated) {
		*repeated = json_object_new_object();
		if (!*repeated)
			return FUGUE_ENOMEM;
	}
	arr = json_object_new_array();
	if (!arr)
		return FUGUE_ENOMEM;
	if (json_object_array_add(arr, json_object_get(prev)) != 0) {
		json_object_put(prev);
		json_object_put(arr);
		return FUGUE_ENOMEM;
	}
	if (json_object_object_add(obj, name, arr) != 0) {
		json_object_put(arr);
		return FUGUE_ENOMEM;
	}
	if (json_object_object_add(*repeated, name, NULL) != 0)
		return FUGUE_ENOMEM;
	return json_object_array_add(arr, v) == 0 ? 0 : FUGUE_ENOMEM;
}

/* The object of NODE's child elements (used for every element with
 * non-list children, and for the result root whatever its children). */
static int convert_object(struct json_object **out, const xmlNode *node)
{
	struct json_object *obj = json_object_new_object();
	struct json_object *repeated = NULL;
	const xmlNode *c;
	int rc = 0;

	if (!obj)
		return FUGUE_ENOMEM;
	for (c = first_element(node); c; c = next_element(c)) {
		struct json_object *v = NULL;

		rc = convert(&v, c);
		if (rc < 0)
			break;
		rc = object_add(obj, &repeated, (const char *)c->name, v);
		if (rc < 0) {
			json_object_put(v);
			break;
		}
	}
	json_object_put(repeated);
	if (rc < 0) {
		json_object_put(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

static int all_list_items(const xmlNode *first)
{
	const xmlNode *c;

	for (c = first; c; c = next_element(c)) {
		if (!is_list_item(c))
			return 0;
	}
	return 1;
}

static int convert(struct json_object **out, const xmlNode *node)
{
	const xmlNode *first = first_element(node);

	if (!first)
		return convert_leaf(out, node);
	if (all_list_items(first))
		return convert_array(out, node);
	return convert_object(out, node);
}

/* "<ACTION>Result" under the document element, or NULL. */
static xmlNode *find_result(const xmlNode *root, const char *action)
{
	char name[256];
	int n = snprintf(name, sizeof(name), "%sResult", action);

	if (n < 0 || (size_t)n >= sizeof(name))
		return NULL;
	return child_named(root, name);
}

/* Every EC2 and query answer is an <ACTIONResponse> document. Anything
 * else that parses (a proxy's XHTML page, an error document with a 2xx
 * status) is not an answer: reading it as one would make an empty result
 * of it, and "nothing found" must never come from a page nobody parsed. */
static int is_response_root(const xmlNode *root)
{
	static const char suffix[] = "Response";
	const char *name = (const char *)root->name;
	size_t n = strlen(name);

	return n > sizeof(suffix) - 1 && strcmp(name + n - (sizeof(suffix) - 1), suffix) == 0 &&
	       strcmp(name, "ErrorResponse") != 0;
}

int fugue_xml_response(struct json_object **out, const char *body, size_t len, const char *action,
                       int unwrap_result)
{
	xmlDoc *doc = NULL;
	const xmlNode *start;
	int rc;

	if (!out)
		return FUGUE_EINVAL;
	*out = NULL;
	if (unwrap_result && !action)
		return FUGUE_EINVAL;
	rc = xml_parse(&doc, body, len);
	if (rc < 0)
		return rc;
	start = xmlDocGetRootElement(doc);
	if (!is_response_root(start)) {
		xmlFreeDoc(doc);
		return FUGUE_EPROTO;
	}
	if (unwrap_result)
		start = find_result(start, action);
	if (start) {
		rc = convert_object(out, start);
	} else {
		/* An action without a result element (DeleteRole): nothing to say. */
		*out = json_object_new_object();
		rc = *out ? 0 : FUGUE_ENOMEM;
	}
	xmlFreeDoc(doc);
	return rc;
}

/* Copies the text of NODE into DST; returns nonzero when it was non-empty. */
static int copy_node_text(char *dst, size_t size, const xmlNode *node)
{
	fugue_buf b = FUGUE_BUF_INIT;

	if (!node || size == 0)
		return 0;
	if (leaf_text(&b, node) < 0 || !b.data) {
		fugue_buf_free(&b);
		return 0;
	}
	fugue_copy_trimmed(dst, size, b.data, b.len);
	fugue_buf_free(&b);
	return dst[0] != '\0';
}

/* The <Error> element of an error body: <Response><Errors><Error> (EC2),
 * <ErrorResponse><Error> (query) or a bare <Error> document (S3 style). */
static const xmlNode *find_error(const xmlNode *root)
{
	const xmlNode *e;

	if (name_is(root, "Error"))
		return root;
	e = child_named(root, "Error");
	if (e)
		return e;
	return child_named(child_named(root, "Errors"), "Error");
}

static const xmlNode *find_request_id(const xmlNode *node)
{
	static const char *const names[] = { "RequestId", "RequestID", "requestId" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const xmlNode *id = child_named(node, names[i]);

		if (id)
			return id;
	}
	return child_named(child_named(node, "ResponseMetadata"), "RequestId");
}

int fugue_xml_error(fugue_aws_error *err, const char *body, size_t len)
{
	char code[sizeof(err->code)] = "";
	xmlDoc *doc = NULL;
	const xmlNode *root;
	const xmlNode *error;
	const xmlNode *id;

	if (!err || xml_parse(&doc, body, len) < 0)
		return FUGUE_EPROTO;
	root = xmlDocGetRootElement(doc);
	error = find_error(root);
	if (!error || !copy_node_text(code, sizeof(code), child_named(error, "Code"))) {
		xmlFreeDoc(doc);
		return FUGUE_EPROTO;
	}
	memcpy(err->code, code, sizeof(code));
	err->message[0] = '\0';
	copy_node_text(err->message, sizeof(err->message), child_named(error, "Message"));
	id = find_request_id(root);
	if (!id && error != root)
		id = find_request_id(error);
	err->request_id[0] = '\0';
	copy_node_text(err->request_id, sizeof(err->request_id), id);
	xmlFreeDoc(doc);
	return 0;
}

void fugue_xml_request_id(char *out, size_t size, const char *body, size_t len)
{
	xmlDoc *doc = NULL;

	if (!out || size == 0)
		return;
	out[0] = '\0';
	if (xml_parse(&doc, body, len) < 0)
		return;
	copy_node_text(out, size, find_request_id(xmlDocGetRootElement(doc)));
	xmlFreeDoc(doc);
}

static int all_blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return 0;
	}
	return 1;
}

/* libxml2's reason for refusing BODY, with its line and column. */
static void explain_parse_error(char *buf, size_t size, const char *body, size_t len)
{
	xmlParserCtxt *ctxt = xmlNewParserCtxt();
	const xmlError *e = NULL;
	xmlDoc *doc;
	char msg[160];

	if (!ctxt) {
		snprintf(buf, size, "out of memory reading the XML");
		return;
	}
	doc = xmlCtxtReadMemory(ctxt, body, (int)len, NULL, "UTF-8", XML_OPTIONS);
	if (!doc)
		e = xmlCtxtGetLastError(ctxt);
	if (e && e->message) {
		fugue_copy_trimmed(msg, sizeof(msg), e->message, strlen(e->message));
		snprintf(buf, size, "malformed XML at line %d, column %d: %s", e->line, e->int2, msg);
	} else if (!doc) {
		snprintf(buf, size, "malformed XML");
	} else if (!xmlDocGetRootElement(doc)) {
		snprintf(buf, size, "XML without a document element");
	} else {
		snprintf(buf, size, "root element <%.64s> is not an AWS answer (<ACTIONResponse>)",
		         (const char *)xmlDocGetRootElement(doc)->name);
	}
	xmlFreeDoc(doc);
	xmlFreeParserCtxt(ctxt);
}

void fugue_xml_explain(char *buf, size_t size, const char *body, size_t len)
{
	if (!buf || size == 0)
		return;
	if (!body || all_blank(body, len))
		snprintf(buf, size, "empty body, expected XML");
	else if (len > XML_MAX_BODY)
		snprintf(buf, size, "XML body larger than %zu MiB", XML_MAX_BODY >> 20);
	else if (has_doctype(body, len))
		snprintf(buf, size, "XML with a DOCTYPE, which no AWS answer carries: refused");
	else {
		pthread_once(&xml_once, xml_init);
		explain_parse_error(buf, size, body, len);
	}
}
