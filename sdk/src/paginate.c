/* paginate.c - fugue_aws_call_all: follow NextToken / Marker until the last
 * page and merge the result lists, so planners never page by hand. */
#include <json-c/json.h>
#include <string.h>

#include "fugue/aws.h"
#include "endpoints.h"

/* Replaces the member at dot-separated PATH of ROOT with VALUE (taking
 * the caller's reference). Intermediate objects must exist. */
static int set_path(struct json_object *root, const char *path, struct json_object *value)
{
	char parent_path[256];
	const char *dot = strrchr(path, '.');
	struct json_object *parent = root;

	if (dot) {
		size_t n = (size_t)(dot - path);

		if (n >= sizeof(parent_path))
			return FUGUE_EINVAL;
		memcpy(parent_path, path, n);
		parent_path[n] = '\0';
		parent = fugue_aws_get(root, parent_path);
		path = dot + 1;
	}
	if (!parent || !json_object_is_type(parent, json_type_object))
		return FUGUE_EPROTO;
	json_object_object_add(parent, path, value);
	return 0;
}

static int append_items(struct json_object *merged, const struct json_object *page,
                        const char *key)
{
	struct json_object *list = fugue_aws_list(page, key);
	size_t i;
	size_t n;

	if (!list)
		return 0;
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		struct json_object *item = json_object_array_get_idx(list, i);

		if (json_object_array_add(merged, json_object_get(item)) < 0) {
			json_object_put(item);
			return FUGUE_ENOMEM;
		}
	}
	return 0;
}

/* The token of the next page, or NULL when PAGE is the last. */
static const char *next_token(const struct json_object *page, const fugue_aws_paginator *pager)
{
	const char *token = fugue_aws_get_string(page, pager->output_token);

	if (pager->more_results) {
		const char *more = fugue_aws_get_string(page, pager->more_results);

		if (!more || strcmp(more, "true") != 0)
			return NULL;
	}
	return token && token[0] ? token : NULL;
}

static int same_token(const struct json_object *args, const char *name, const char *token)
{
	const char *previous = fugue_aws_get_string(args, name);

	return previous && strcmp(previous, token) == 0;
}

int fugue_aws_call_all(struct json_object **out, fugue_aws_client *client,
                       const fugue_aws_request *req, const fugue_aws_paginator *pager,
                       int max_pages, fugue_aws_error *err)
{
	const fugue_service *svc = fugue_service_find(req->service);
	int token_in_query = svc && svc->protocol == FUGUE_PROTO_REST_JSON;
	struct json_object *args;
	struct json_object *first = NULL;
	struct json_object *merged;
	fugue_aws_request page_req = *req;
	int pages = 0;
	int rc;

	*out = NULL;
	if (!pager || !pager->input_token || !pager->output_token || !pager->result_key)
		return FUGUE_EINVAL;
	/* A private copy of the parameters (or query) to carry the token. */
	{
		struct json_object *given = (struct json_object *)(token_in_query ? req->query : req->params);

		args = NULL;
		if (given)
			rc = json_object_deep_copy(given, &args, NULL) == 0 ? 0 : FUGUE_ENOMEM;
		else
			rc = (args = json_object_new_object()) ? 0 : FUGUE_ENOMEM;
	}
	merged = json_object_new_array();
	if (rc < 0 || !merged) {
		json_object_put(args);
		json_object_put(merged);
		return FUGUE_ENOMEM;
	}
	if (token_in_query)
		page_req.query = args;
	else
		page_req.params = args;

	for (;;) {
		struct json_object *page = NULL;
		const char *token;

		rc = fugue_aws_call(&page, client, &page_req, err);
		if (rc < 0)
			break;
		pages++;
		rc = append_items(merged, page, pager->result_key);
		if (rc < 0) {
			json_object_put(page);
			break;
		}
		token = next_token(page, pager);
		if (token && same_token(args, pager->input_token, token)) {
			/* A service that hands back the token it was given would page forever. */
			json_object_put(page);
			rc = FUGUE_EPROTO;
			break;
		}
		if (token)
			json_object_object_add(args, pager->input_token, json_object_new_string(token));
		if (!first)
			first = page;
		else
			json_object_put(page);
		if (!token || (max_pages > 0 && pages >= max_pages))
			break;
	}
	json_object_put(args);
	if (rc == 0)
		rc = set_path(first, pager->result_key, merged);
	if (rc < 0) {
		json_object_put(first);
		json_object_put(merged);
		return rc;
	}
	*out = first;
	return 0;
}
