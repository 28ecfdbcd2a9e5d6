/* fuzz_compiler.c - libFuzzer target: the composition compiler
 * (daemon/src/compiler.c, yaml_doc.c) on arbitrary YAML text, with the
 * types of the fake test planner (Fake.*, compiled in) and of the AWS
 * planners of this build (AWS.*, loaded from FUGUE_FUZZ_PLANNERS_DIR, so
 * their validate() callbacks are fuzzed too). A composition that compiles
 * goes through what the Conductor does next: its stored JSON form and back,
 * and a plan against nothing.
 *
 * Relative file paths (a Lambda function's code) resolve in an empty
 * directory of our own. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "fugue/log.h"
#include "fugue/planner.h"
#include "host.h"
#include "live.h"
#include "plan.h"
#include "registry.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fake planner's entry (tests/planners/fake/fake_planner.c, linked in). */
const fugue_planner *fugue_planner_entry_v1(void);

static fugue_registry *reg;
static char base_dir[] = "/tmp/fugue-fuzz-compiler-XXXXXX";

/* At the end of a run: the directory is empty (nothing writes to it). */
static void cleanup(void)
{
	rmdir(base_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUGUE_FUZZ_PLANNERS_DIR");
	size_t refused = 0;

	(void)argc;
	(void)argv;
	fugue_log_set_level(FUGUE_LOG_ERROR);
	if (!mkdtemp(base_dir) || fugue_registry_new(&reg, fugue_kernel_host()) != 0 ||
	    fugue_registry_add(reg, fugue_planner_entry_v1(), "fake") != 0) {
		fprintf(stderr, "fuzz_compiler: cannot set up\n");
		abort();
	}
	if (fugue_registry_load_dir(reg, dir ? dir : FUGUE_FUZZ_PLANNERS_DIR, &refused) != 0 ||
	    refused) {
		fprintf(stderr, "fuzz_compiler: cannot load the planners of %s\n",
		        dir ? dir : FUGUE_FUZZ_PLANNERS_DIR);
		abort();
	}
	atexit(cleanup);
	return 0;
}

static void after_compile(const fugue_composition *comp)
{
	fugue_composition *back = NULL;
	struct json_object *j = NULL;
	struct json_object *pj = NULL;
	fugue_live live = FUGUE_LIVE_INIT;
	fugue_plan plan = FUGUE_PLAN_INIT;
	fugue_plan_input in = { comp, NULL, &live };

	if (fugue_composition_to_json(&j, comp) == 0) {
		/* what the state store keeps must load again, as the same graph */
		if (fugue_composition_from_json(&back, j, reg) != 0 ||
		    back->nresources != comp->nresources)
			abort();
		fugue_composition_free(back);
	}
	json_object_put(j);
	if (fugue_plan_compute(&plan, &in) == 0 && fugue_plan_to_json(&pj, &plan) == 0)
		(void)json_object_to_json_string(pj);
	json_object_put(pj);
	fugue_plan_clear(&plan);
	fugue_live_clear(&live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_diags diags = FUGUE_DIAGS_INIT;
	fugue_composition *comp = NULL;
	struct json_object *dj = NULL;

	opts.registry = reg;
	opts.default_region = "us-east-1";
	opts.base_dir = base_dir;
	if (fugue_compile_buffer(&comp, &diags, &opts, "fuzz.yaml", (const char *)data, size) == 0)
		after_compile(comp);
	else if (fugue_diags_to_json(&dj, &diags) == 0)
		(void)json_object_to_json_string(dj);
	json_object_put(dj);
	fugue_composition_free(comp);
	fugue_diags_clear(&diags);
	return 0;
}
