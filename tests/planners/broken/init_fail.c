/* init_fail.c - a planner whose init() fails; its shutdown() must never run
 * (it would write "shutdown init-fail" to FUGUE_FAKE_DIR/_lifecycle.log). */
#include <stdio.h>
#include <stdlib.h>

#include "broken.h"

static const fugue_type_ops thing = BROKEN_TYPE("Broken.InitFail.Thing");
static const fugue_type_ops *const types[] = { &thing, NULL };

static int failing_init(const fugue_host *host, void **data)
{
	(void)host;
	*data = NULL;
	return FUGUE_ECONFIG;
}

static void tattling_shutdown(void *data)
{
	const char *dir = getenv("FUGUE_FAKE_DIR");
	char path[4096];
	FILE *f;

	(void)data;
	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/_lifecycle.log", dir);
	f = fopen(path, "a");
	if (!f)
		return;
	fputs("shutdown init-fail\n", f);
	fclose(f);
}

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "init-fail",
	.version = "1.0.0",
	.init = failing_init,
	.shutdown = tattling_shutdown,
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
