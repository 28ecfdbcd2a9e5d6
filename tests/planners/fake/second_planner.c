/* second_planner.c - a second well-formed planner ("second", one type,
 * Fake.Other.Thing) for the loader tests: with the fake it records its
 * init() and shutdown() in FUGUE_FAKE_DIR/_lifecycle.log, so a test can
 * see that planners shut down in reverse load order. Its callbacks are
 * never meant to be called and fail if they are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fugue/planner.h"

static void record(const char *event)
{
	const char *dir = getenv("FUGUE_FAKE_DIR");
	char path[4096];
	FILE *f;

	if (!dir || !*dir)
		return;
	snprintf(path, sizeof(path), "%s/_lifecycle.log", dir);
	f = fopen(path, "a");
	if (!f)
		return;
	fprintf(f, "%s second\n", event);
	fclose(f);
}

static int unsupported(fugue_ctx *ctx)
{
	ctx->host->fail(ctx, FUGUE_EINVAL, NULL, "the second planner does nothing");
	return FUGUE_EINVAL;
}

static int thing_create(fugue_ctx *ctx, const struct json_object *props, struct json_object **out)
{
	(void)props;
	*out = NULL;
	return unsupported(ctx);
}

static int thing_remove(fugue_ctx *ctx, const struct json_object *state)
{
	(void)state;
	return unsupported(ctx);
}

static int thing_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	(void)items;
	(void)n;
	return unsupported(ctx);
}

static const fugue_prop thing_props[] = {
	{ .name = "label", .kind = FUGUE_KIND_STRING, .flags = FUGUE_PROP_UPDATABLE },
	{ .name = NULL },
};

static const fugue_type_ops thing = {
	.struct_size = sizeof(fugue_type_ops),
	.name = "Fake.Other.Thing",
	.props = thing_props,
	.create = thing_create,
	.remove = thing_remove,
	.observe = thing_observe,
};

static const fugue_type_ops *const types[] = { &thing, NULL };

/* The data is a marker the test can compare with fugue_registry_type()'s. */
static int second_init(const fugue_host *host, void **data)
{
	(void)host;
	*data = strdup("second-data");
	if (!*data)
		return FUGUE_ENOMEM;
	record("init");
	return 0;
}

static void second_shutdown(void *data)
{
	record("shutdown");
	free(data);
}

static const fugue_planner planner = {
	FUGUE_PLANNER_HEADER,
	.name = "second",
	.version = "0.2.0",
	.description = "a second planner for loader tests",
	.init = second_init,
	.shutdown = second_shutdown,
	.types = types,
};

FUGUE_PLANNER_EXPORT const fugue_planner *fugue_planner_entry_v1(void)
{
	return &planner;
}
