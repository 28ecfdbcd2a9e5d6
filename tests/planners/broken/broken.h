/* broken.h - pieces shared by the deliberately broken planners the loader
 * tests must refuse. Each broken_*.c is one mistake away from a good
 * planner; the callbacks here are never meant to run. */
#ifndef FUGUE_TEST_BROKEN_H
#define FUGUE_TEST_BROKEN_H

#include "fugue/planner.h"

static inline int broken_create(fugue_ctx *ctx, const struct json_object *props,
                                struct json_object **out)
{
	(void)ctx;
	(void)props;
	*out = NULL;
	return FUGUE_EINVAL;
}

static inline int broken_remove(fugue_ctx *ctx, const struct json_object *state)
{
	(void)ctx;
	(void)state;
	return FUGUE_EINVAL;
}

static inline int broken_observe(fugue_ctx *ctx, fugue_observation *items, size_t n)
{
	(void)ctx;
	(void)items;
	(void)n;
	return FUGUE_EINVAL;
}

static const fugue_prop broken_props[] = { { .name = NULL } };

/* A complete type named NAME. */
#define BROKEN_TYPE(NAME)                                                                  \
	{ .struct_size = sizeof(fugue_type_ops), .name = (NAME), .props = broken_props,       \
	  .create = broken_create, .remove = broken_remove, .observe = broken_observe }

#endif
