/* cmd_graph.c - `fugue graph ALIAS|FILE`: a composition's dependency graph
 * as Graphviz dot (or JSON), from a file compiled offline or from a process
 * the Conductor runs.
 *
 * Both sources become the same list of nodes and edges, sorted by name, so
 * that the output is stable and diffs well. */
#include "offline.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "cmd_util.h"
#include "fugue/common.h"

struct node {
	char *name;
	char *type;
};

struct edge {
	char *from;
	char *to;
};

struct graph {
	char *name;
	struct node *nodes;
	size_t nnodes;
	struct edge *edges;
	size_t nedges;
	size_t edges_cap;
};

static void graph_free(struct graph *g)
{
	size_t i;

	for (i = 0; i < g->nnodes; i++) {
		free(g->nodes[i].name);
		free(g->nodes[i].type);
	}
	for (i = 0; i < g->nedges; i++) {
		free(g->edges[i].from);
		free(g->edges[i].to);
	}
	free(g->nodes);
	free(g->edges);
	free(g->name);
	memset(g, 0, sizeof(*g));
}

static int add_edge(struct graph *g, const char *from, const char *to)
{
	struct edge *e;

	if (g->nedges == g->edges_cap) {
		size_t cap = g->edges_cap ? g->edges_cap * 2 : 16;

		e = realloc(g->edges, cap * sizeof(*e));
		if (!e)
			return FUGUE_ENOMEM;
		g->edges = e;
		g->edges_cap = cap;
	}
	e = &g->edges[g->nedges];
	e->from = strdup(from);
	e->to = strdup(to);
	if (!e->from || !e->to) {
		free(e->from);
		free(e->to);
		return FUGUE_ENOMEM;
	}
	g->nedges++;
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct node *)a)->name, ((const struct node *)b)->name);
}

static int cmp_edge(const void *a, const void *b)
{
	const struct edge *x = a;
	const struct edge *y = b;
	int c = strcmp(x->from, y->from);

	return c ? c : strcmp(x->to, y->to);
}

static void graph_sort(struct graph *g)
{
	size_t i;
	size_t n = 0;

	if (g->nnodes > 1)
		qsort(g->nodes, g->nnodes, sizeof(*g->nodes), cmp_node);
	if (g->nedges > 1)
		qsort(g->edges, g->nedges, sizeof(*g->edges), cmp_edge);
	/* A resource that names the same dependency twice is one edge. */
	for (i = 0; i < g->nedges; i++) {
		if (n > 0 && cmp_edge(&g->edges[n - 1], &g->edges[i]) == 0) {
			free(g->edges[i].from);
			free(g->edges[i].to);
			continue;
		}
		g->edges[n++] = g->edges[i];
	}
	g->nedges = n;
}

/* --- from a file ----------------------------------------------------------------- */

/* The graph's name for a file: its `composition:`, else the file's name
 * without directory and extension. */
static char *file_graph_name(const fugue_composition *comp, const char *path)
{
	const char *base = strrchr(path, '/');
	const char *dot;

	if (comp->alias && *comp->alias)
		return strdup(comp->alias);
	base = base ? base + 1 : path;
	dot = strrchr(base, '.');
	if (!dot || dot == base)
		return strdup(base);
	return strndup(base, (size_t)(dot - base));
}

static int graph_of_composition(struct graph *g, const fugue_composition *comp, const char *path)
{
	size_t i;
	size_t d;

	g->name = file_graph_name(comp, path);
	g->nodes = calloc(comp->nresources ? comp->nresources : 1, sizeof(*g->nodes));
	if (!g->name || !g->nodes)
		return FUGUE_ENOMEM;
	for (i = 0; i < comp->nresources; i++) {
		const fugue_resource *r = &comp->resources[i];

		g->nodes[i].name = strdup(r->name);
		g->nodes[i].type = strdup(r->type_name);
		g->nnodes++;
		if (!g->nodes[i].name || !g->nodes[i].type)
			return FUGUE_ENOMEM;
		for (d = 0; d < r->ndeps; d++) {
			if (add_edge(g, r->name, comp->resources[r->deps[d]].name) != 0)
				return FUGUE_ENOMEM;
		}
	}
	return 0;
}

static int graph_from_file(struct graph *g, const fugue_cli *cli, const char *path,
                           const char *dir_flag)
{
	fugue_diags diags = FUGUE_DIAGS_INIT;
	fugue_composition *comp = NULL;
	fugue_registry *reg = NULL;
	int rc;

	rc = fugue_cli_load_planners(&reg, cli, fugue_cli_planners_dir(dir_flag));
	if (rc != 0)
		return rc;
	fugue_cli_compile(&comp, &diags, reg, path);
	if (!comp) {
		fugue_diags_print(stderr, &diags);
		fugue_cli_error(cli, "%s is not valid (%zu error%s)", path, diags.n,
		                diags.n == 1 ? "" : "s");
		fugue_cli_hint(cli, "`fugue validate %s` checks it alone", path);
		rc = FUGUE_EXIT_FAILED;
	} else if (graph_of_composition(g, comp, path) != 0) {
		fugue_cli_error(cli, "out of memory");
		rc = FUGUE_EXIT_FAILED;
	}
	fugue_composition_free(comp);
	fugue_diags_clear(&diags);
	fugue_registry_free(reg);
	return rc;
}

/* --- from the Conductor -------------------------------------------------------------- */

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int graph_of_status(struct graph *g, struct json_object *result, const char *process)
{
	struct json_object *resources = NULL;
	const char *alias = jstr(result, "alias");
	size_t n;
	size_t i;
	size_t d;

	json_object_object_get_ex(result, "resources", &resources);
	n = resources && json_object_is_type(resources, json_type_array) ?
	            json_object_array_length(resources) :
	            0;
	g->name = strdup(alias ? alias : process);
	g->nodes = calloc(n ? n : 1, sizeof(*g->nodes));
	if (!g->name || !g->nodes)
		return FUGUE_ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(resources, i);
		struct json_object *deps = NULL;
		const char *name = jstr(r, "name");
		const char *type = jstr(r, "type");

		if (!name)
			continue;
		g->nodes[g->nnodes].name = strdup(name);
		g->nodes[g->nnodes].type = strdup(type ? type : "?");
		g->nnodes++;
		if (!g->nodes[g->nnodes - 1].name || !g->nodes[g->nnodes - 1].type)
			return FUGUE_ENOMEM;
		json_object_object_get_ex(r, "dependsOn", &deps);
		if (!deps || !json_object_is_type(deps, json_type_array))
			continue;
		for (d = 0; d < json_object_array_length(deps); d++) {
			struct json_object *to = json_object_array_get_idx(deps, d);

			if (json_object_is_type(to, json_type_string) &&
			    add_edge(g, name, json_object_get_string(to)) != 0)
				return FUGUE_ENOMEM;
		}
	}
	return 0;
}

static int graph_from_conductor(struct graph *g, const fugue_cli *cli, const char *process)
{
	fugue_cli local = *cli;
	struct json_object *args;
	struct json_object *final = NULL;
	const struct json_object *result;
	int rc;

	/* main.c leaves offline commands unresolved unless --conductor was given. */
	if (!local.conductor) {
		rc = fugue_cli_find_conductor(&local, NULL);
		if (rc != 0)
			return rc;
	}
	args = json_object_new_object();
	json_object_object_add(args, "process", json_object_new_string(process));
	rc = fugue_cli_call(&local, "status", args, NULL, NULL, &final);
	json_object_put(args);
	if (rc != 0)
		return rc;
	result = fugue_cli_result(final);
	if (!result) {
		struct json_object *err = json_object_object_get(final, "error");
		const char *code = jstr(err, "code");

		rc = fugue_cli_report_error(&local, final);
		if (code && strcmp(code, "not_found") == 0 && !cli->json)
			fugue_cli_hint(&local, "no file '%s' exists either", process);
		json_object_put(final);
		return rc;
	}
	rc = graph_of_status(g, (struct json_object *)(uintptr_t)result, process);
	json_object_put(final);
	if (rc != 0) {
		fugue_cli_error(cli, "out of memory");
		return FUGUE_EXIT_FAILED;
	}
	return 0;
}

/* --- output ----------------------------------------------------------------------- */

/* S inside a dot double-quoted string: quotes and backslashes escaped,
 * control characters (which dot would take literally) as spaces. */
static void put_dot_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			fputc('\\', f);
			fputc(ch, f);
		} else if (ch < 0x20 || ch == 0x7F) {
			fputc(' ', f);
		} else {
			fputc(ch, f);
		}
	}
}

static void put_dot_id(FILE *f, const char *s)
{
	fputc('"', f);
	put_dot_text(f, s);
	fputc('"', f);
}

static void print_dot(const struct graph *g)
{
	size_t i;

	fputs("digraph ", stdout);
	put_dot_id(stdout, g->name);
	fputs(" {\n  rankdir=LR;\n  node [shape=box];\n", stdout);
	for (i = 0; i < g->nnodes; i++) {
		fputs("  ", stdout);
		put_dot_id(stdout, g->nodes[i].name);
		fputs(" [label=\"", stdout);
		put_dot_text(stdout, g->nodes[i].name);
		fputs("\\n", stdout);
		put_dot_text(stdout, g->nodes[i].type);
		fputs("\"];\n", stdout);
	}
	for (i = 0; i < g->nedges; i++) {
		fputs("  ", stdout);
		put_dot_id(stdout, g->edges[i].from);
		fputs(" -> ", stdout);
		put_dot_id(stdout, g->edges[i].to);
		fputs(";\n", stdout);
	}
	fputs("}\n", stdout);
}

static void print_graph_json(const fugue_cli *cli, const struct graph *g)
{
	struct json_object *doc = json_object_new_object();
	struct json_object *nodes = json_object_new_array();
	struct json_object *edges = json_object_new_array();
	size_t i;

	for (i = 0; i < g->nnodes; i++) {
		struct json_object *n = json_object_new_object();

		json_object_object_add(n, "name", json_object_new_string(g->nodes[i].name));
		json_object_object_add(n, "type", json_object_new_string(g->nodes[i].type));
		json_object_array_add(nodes, n);
	}
	for (i = 0; i < g->nedges; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "from", json_object_new_string(g->edges[i].from));
		json_object_object_add(e, "to", json_object_new_string(g->edges[i].to));
		json_object_array_add(edges, e);
	}
	json_object_object_add(doc, "name", json_object_new_string(g->name));
	json_object_object_add(doc, "nodes", nodes);
	json_object_object_add(doc, "edges", edges);
	fugue_cli_print_json(cli, doc);
	json_object_put(doc);
}

/* An argument that names an existing file (or anything with a path
 * separator or a YAML extension) is a FILE; else an ALIAS or FID. */
static int is_file_arg(const char *arg)
{
	struct stat st;
	size_t n = strlen(arg);

	if (stat(arg, &st) == 0)
		return !S_ISDIR(st.st_mode);
	return strchr(arg, '/') != NULL || (n > 5 && strcmp(arg + n - 5, ".yaml") == 0) ||
	       (n > 4 && strcmp(arg + n - 4, ".yml") == 0);
}

int fugue_cmd_graph(const fugue_cli *cli, int argc, char **argv)
{
	static const struct option options[] = {
		{ "planners-dir", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct graph g;
	const char *dir_flag = NULL;
	const char *arg;
	int opt;
	int rc;

	memset(&g, 0, sizeof(g));
	opterr = 0;
	optind = 0;
	while ((opt = getopt_long(argc, argv, ":p:", options, NULL)) != -1) {
		if (opt == 'p')
			dir_flag = optarg;
		else
			return fugue_cli_bad_option(cli, "graph", opt, argc, argv);
	}
	rc = fugue_cli_positionals(cli, argc, argv, 1, "ALIAS or FILE");
	if (rc >= 0)
		return rc;
	arg = argv[optind];

	if (is_file_arg(arg))
		rc = graph_from_file(&g, cli, arg, dir_flag);
	else
		rc = graph_from_conductor(&g, cli, arg);
	if (rc == 0) {
		graph_sort(&g);
		if (cli->json)
			print_graph_json(cli, &g);
		else
			print_dot(&g);
	}
	graph_free(&g);
	return rc;
}
