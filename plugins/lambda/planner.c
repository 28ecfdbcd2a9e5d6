/* planner.c - the lambda planner: AWS.Lambda.* through the Lambda API
 * (2015-03-31, rest-json). */
#include "types.h"

static const fugue_type_ops *const types[] = {
	&fugue_lambda_function,
	&fugue_lambda_permission,
	NULL,
};

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "lambda",
	.version = "0.1.0",
	.description = "AWS Lambda: functions (code, configuration, tags) and invoke permissions",
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
