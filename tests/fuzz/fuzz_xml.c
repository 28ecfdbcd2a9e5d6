/* fuzz_xml.c - libFuzzer target: the SDK's XML response reader (sdk/src/xml.c)
 * on arbitrary bytes, as an answer of the EC2 protocol (the whole document),
 * of the query protocol (unwrapped at <ACTIONResult>) and as an error body,
 * plus the request-id lookup and the explanation of a refused body. A
 * document that is accepted is read back the way planners read it (paths,
 * lists) and serialized. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "fugue/aws.h"
#include "fugue/common.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_back(struct json_object *root)
{
	static const char *const paths[] = {
		"vpcSet.0.vpcId", "reservationSet.0.instancesSet.0.instanceId", "Role.Arn",
		"LoadBalancerDescriptions.0.DNSName", "requestId", "nextToken", "IsTruncated",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		(void)fugue_aws_get_string(root, paths[i]);
	(void)fugue_aws_list(root, "vpcSet");
	(void)fugue_aws_list(root, "Roles");
	(void)json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct json_object *out = NULL;
	fugue_aws_error err;
	char buf[512];

	if (fugue_xml_response(&out, body, size, "DescribeVpcs", 0) == 0)
		read_back(out);
	json_object_put(out);
	out = NULL;
	if (fugue_xml_response(&out, body, size, "GetRole", 1) == 0)
		read_back(out);
	json_object_put(out);
	memset(&err, 0, sizeof(err));
	if (fugue_xml_error(&err, body, size) == 0) {
		/* what the client makes of it: a bounded, terminated line */
		(void)fugue_aws_error_classify(err.code, 400);
		fugue_aws_error_format(buf, sizeof(buf), &err);
	}
	fugue_xml_request_id(buf, sizeof(buf), body, size);
	fugue_xml_explain(buf, sizeof(buf), body, size);
	fugue_response_explain(buf, sizeof(buf), body, size, 1);
	return 0;
}
