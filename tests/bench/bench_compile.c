/* bench_compile.c - the Conductor's offline costs of a composition: compile
 * (YAML to the typed graph, every planner validating its types) and plan,
 * with the kernel's own code (libfugue_kernel), the planners loaded from a
 * directory as conductord loads them. No AWS, no daemon, no state store.
 *
 *     bench_compile PLANNERS_DIR FILE [REPEAT]
 *
 * Prints one JSON object on stdout:
 *   {"resources": N, "repeat": R,
 *    "compile_ms": median, "plan_new_ms": median, "plan_converged_ms": median,
 *    "converged_changes": actions that are not "none" in the converged plan}
 * plan_new plans against nothing (what `run` does); plan_converged against a
 * LIVE in which every resource exists exactly as declared (what every
 * enforcement pass does after observing), so it must find nothing to do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "compiler.h"
#include "fugue/common.h"
#include "fugue/log.h"
#include "live.h"
#include "plan.h"
#include "registry.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) == (size_t)n) {
			buf[n] = '\0';
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* Adds to ATTRS[name] every attribute that a reference in V asks of
 * resource `name` ({"$ref": NAME, "attr": ATTR}), so that the converged
 * LIVE can answer it. ATTRS: {name: {attr: value}}. */
static void want_attrs(struct json_object *attrs, struct json_object *v)
{
	struct json_object *ref;
	struct json_object *attr;
	struct json_object *mine;
	size_t i;

	if (json_object_is_type(v, json_type_array)) {
		for (i = 0; i < json_object_array_length(v); i++)
			want_attrs(attrs, json_object_array_get_idx(v, i));
		return;
	}
	if (!json_object_is_type(v, json_type_object))
		return;
	if (json_object_object_get_ex(v, "$ref", &ref)) {
		if (json_object_object_get_ex(v, "attr", &attr) && json_object_get_string(attr) &&
		    strcmp(json_object_get_string(attr), "id") != 0) {
			const char *name = json_object_get_string(ref);
			char value[512];

			if (!json_object_object_get_ex(attrs, name, &mine)) {
				mine = json_object_new_object();
				json_object_object_add(attrs, name, mine);
			}
			snprintf(value, sizeof(value), "%s-%s", name, json_object_get_string(attr));
			json_object_object_add(mine, json_object_get_string(attr),
			                       json_object_new_string(value));
		}
		return;
	}
	json_object_object_foreach(v, key, val)
	{
		(void)key;
		want_attrs(attrs, val);
	}
}

/* LIVE as if every resource of COMP existed exactly as declared. */
static int converged_live(fugue_live *live, const fugue_composition *comp)
{
	struct json_object *attrs = json_object_new_object();
	size_t i;
	int rc = 0;

	for (i = 0; i < comp->nresources; i++)
		want_attrs(attrs, comp->resources[i].props);
	for (i = 0; rc == 0 && i < comp->nresources; i++) {
		const fugue_resource *r = &comp->resources[comp->order[i]];
		fugue_live_entry *e = fugue_live_ensure(live, r->name, r->type_name);
		struct json_object *props = NULL;
		struct json_object *state;
		struct json_object *a;
		char id[512];

		if (!e)
			return FUGUE_ENOMEM;
		rc = fugue_resolve_refs(&props, NULL, r->props, live);
		if (rc != 0)
			break;
		snprintf(id, sizeof(id), "id-%s", r->name);
		state = json_object_new_object();
		json_object_object_add(state, "id", json_object_new_string(id));
		json_object_object_add(state, "attributes",
		                       json_object_object_get_ex(attrs, r->name, &a)
		                               ? json_object_get(a)
		                               : json_object_new_object());
		json_object_object_add(state, "properties", json_object_get(props));
		e->state = state;
		e->applied = props;
		e->status = FUGUE_RESOURCE_READY;
	}
	json_object_put(attrs);
	return rc;
}

int main(int argc, char **argv)
{
	fugue_compile_options opts = FUGUE_COMPILE_OPTIONS_INIT;
	fugue_registry *reg = NULL;
	size_t len = 0;
	char *text;
	int repeat = argc > 3 ? atoi(argv[3]) : 3;
	double *t_compile, *t_new, *t_conv;
	size_t nres = 0, changes = 0;
	int i, rc;

	if (argc < 3 || repeat < 1) {
		fprintf(stderr, "usage: bench_compile PLANNERS_DIR FILE [REPEAT]\n");
		return 2;
	}
	fugue_log_set_sink(FUGUE_LOG_SINK_STDERR);
	fugue_log_set_level(FUGUE_LOG_WARN);
	text = read_all(argv[2], &len);
	if (!text) {
		fprintf(stderr, "bench_compile: cannot read %s\n", argv[2]);
		return 1;
	}
	rc = fugue_registry_new(&reg, NULL);
	if (rc == 0)
		rc = fugue_registry_load_dir(reg, argv[1], NULL);
	if (rc != 0 || fugue_registry_count(reg) == 0) {
		fprintf(stderr, "bench_compile: no planners loaded from %s: %s\n", argv[1],
		        fugue_strerror(rc));
		return 1;
	}
	opts.registry = reg;
	t_compile = calloc((size_t)repeat, sizeof(double));
	t_new = calloc((size_t)repeat, sizeof(double));
	t_conv = calloc((size_t)repeat, sizeof(double));
	for (i = 0; i < repeat; i++) {
		fugue_diags diags = FUGUE_DIAGS_INIT;
		fugue_composition *comp = NULL;
		fugue_live empty = FUGUE_LIVE_INIT;
		fugue_live live = FUGUE_LIVE_INIT;
		fugue_plan plan = FUGUE_PLAN_INIT;
		fugue_plan_input in = { 0 };
		double t0 = now_ms();
		size_t k;

		rc = fugue_compile_buffer(&comp, &diags, &opts, argv[2], text, len);
		t_compile[i] = now_ms() - t0;
		if (rc != 0) {
			fugue_diags_print(stderr, &diags);
			fprintf(stderr, "bench_compile: %s does not compile\n", argv[2]);
			return 1;
		}
		fugue_diags_clear(&diags);
		nres = comp->nresources;

		in.declared = comp;
		in.live = &empty;
		t0 = now_ms();
		rc = fugue_plan_compute(&plan, &in);
		t_new[i] = now_ms() - t0;
		fugue_plan_clear(&plan);

		if (rc == 0)
			rc = converged_live(&live, comp);
		if (rc != 0) {
			fprintf(stderr, "bench_compile: %s\n", fugue_strerror(rc));
			return 1;
		}
		in.live = &live;
		t0 = now_ms();
		rc = fugue_plan_compute(&plan, &in);
		t_conv[i] = now_ms() - t0;
		changes = 0;
		for (k = 0; k < plan.nactions; k++) {
			const fugue_action *a = &plan.actions[k];

			if (a->kind == FUGUE_ACTION_NONE)
				continue;
			/* the first one says why, on stderr */
			if (changes++ == 0 && i == 0)
				fprintf(stderr, "bench_compile: converged plan: %s %s: %s%s%s\n",
				        fugue_action_kind_name(a->kind), a->resource,
				        a->reason ? a->reason : "", a->nchanges ? ": " : "",
				        a->nchanges ? a->changes[0].property : "");
		}
		fugue_plan_clear(&plan);
		fugue_live_clear(&live);
		fugue_composition_free(comp);
	}
	printf("{\"resources\": %zu, \"repeat\": %d, \"compile_ms\": %.1f, \"plan_new_ms\": %.1f, "
	       "\"plan_converged_ms\": %.1f, \"converged_changes\": %zu}\n",
	       nres, repeat, median(t_compile, repeat), median(t_new, repeat),
	       median(t_conv, repeat), changes);
	free(t_compile);
	free(t_new);
	free(t_conv);
	free(text);
	fugue_registry_free(reg);
	return 0;
}
