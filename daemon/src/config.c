/* config.c - see config.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "file_util.h"
#include "fugue/common.h"
#include "yaml_doc.h"

/* One walk over a parsed file. */
struct parser {
	fugue_daemon_config *cfg;
	fugue_diags *diags;
	const fugue_yaml_doc *doc;
	const char *file;
	char *dir;   /* the file's directory, for relative paths; NULL: none */
	int nomem;   /* an allocation failed somewhere */
	int invalid; /* at least one diagnostic */
};

/* Where a member is: its key and its value. */
struct member {
	const char *section; /* "transport", or NULL at the top */
	const char *key;
	struct json_object *value;
	fugue_yaml_pos key_pos;
	fugue_yaml_pos value_pos;
};

typedef void (*member_fn)(struct parser *p, const struct member *m);

struct key {
	const char *name;
	member_fn apply;
};

static void add_diag(struct parser *p, fugue_yaml_pos pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_diag(struct parser *p, fugue_yaml_pos pos, const char *fmt, ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	p->invalid = 1;
	if (fugue_diags_add(p->diags, p->file, pos.line, pos.col, "%s", message) != 0)
		p->nomem = 1;
}

/* "transport.socket", or "concurrency" at the top, into BUF. */
static const char *qualified(const struct member *m, char *buf, size_t size)
{
	if (m->section)
		snprintf(buf, size, "%s.%s", m->section, m->key);
	else
		snprintf(buf, size, "%s", m->key);
	return buf;
}

static const char *kind_name(const struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
		return "an integer";
	case json_type_double:
		return "a number";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "a list";
	case json_type_object:
		return fugue_yaml_is_ref(v, NULL, NULL) ? "a !ref" : "a mapping";
	}
	return "something else";
}

static void wrong_kind(struct parser *p, const struct member *m, const char *expected)
{
	char name[128];

	add_diag(p, m->value_pos, "%s: expected %s, got %s", qualified(m, name, sizeof(name)),
	         expected, kind_name(m->value));
}

/* Replaces *DST with a copy of SRC (NULL allowed). */
static void set_string(struct parser *p, char **dst, const char *src)
{
	char *copy = NULL;

	if (src) {
		copy = strdup(src);
		if (!copy) {
			p->nomem = 1;
			return;
		}
	}
	free(*dst);
	*dst = copy;
}

/* The member's string value, or NULL after a diagnostic. Empty strings are
 * refused: every string setting names something. */
static const char *string_value(struct parser *p, const struct member *m)
{
	char name[128];
	const char *s;

	if (!json_object_is_type(m->value, json_type_string)) {
		wrong_kind(p, m, "a string");
		return NULL;
	}
	s = json_object_get_string(m->value);
	if (*s == '\0') {
		add_diag(p, m->value_pos, "%s: must not be empty",
		         qualified(m, name, sizeof(name)));
		return NULL;
	}
	return s;
}

/* A path setting; relative paths are anchored at the file's directory so
 * that the meaning of a file does not depend on the daemon's cwd. */
static void apply_path(struct parser *p, const struct member *m, char **dst)
{
	const char *s = string_value(p, m);
	char *joined;

	if (!s)
		return;
	if (s[0] == '/' || !p->dir) {
		set_string(p, dst, s);
		return;
	}
	if (asprintf(&joined, "%s/%s", p->dir, s) < 0) {
		p->nomem = 1;
		return;
	}
	free(*dst);
	*dst = joined;
}

/* One of CHOICES (N of them), or a diagnostic with the closest one. */
static const char *choice_value(struct parser *p, const struct member *m,
                                const char *const *choices, size_t n, const char *expected)
{
	const char *s = string_value(p, m);
	const char *close;
	char name[128];
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < n; i++) {
		if (strcmp(s, choices[i]) == 0)
			return choices[i];
	}
	close = fugue_did_you_mean(s, choices, n);
	if (close)
		add_diag(p, m->value_pos, "%s: bad value '%s', expected %s (did you mean '%s'?)",
		         qualified(m, name, sizeof(name)), s, expected, close);
	else
		add_diag(p, m->value_pos, "%s: bad value '%s', expected %s",
		         qualified(m, name, sizeof(name)), s, expected);
	return NULL;
}

/* --- the keys ------------------------------------------------------------- */

static void apply_state_backend(struct parser *p, const struct member *m)
{
	static const char *const backends[] = { "sqlite" };

	if (choice_value(p, m, backends, 1, "sqlite (the only backend for now)"))
		set_string(p, &p->cfg->state_backend, "sqlite");
}

static void apply_state_directory(struct parser *p, const struct member *m)
{
	apply_path(p, m, &p->cfg->state_dir);
}

static void apply_transport_type(struct parser *p, const struct member *m)
{
	static const char *const types[] = { "unix" };

	if (choice_value(p, m, types, 1, "unix (the only transport for now)"))
		set_string(p, &p->cfg->transport, "unix");
}

static void apply_transport_socket(struct parser *p, const struct member *m)
{
	apply_path(p, m, &p->cfg->socket);
}

/* null: the process's own group. */
static void apply_transport_group(struct parser *p, const struct member *m)
{
	const char *s;

	if (json_object_is_type(m->value, json_type_null)) {
		set_string(p, &p->cfg->group, NULL);
		return;
	}
	s = string_value(p, m);
	if (s)
		set_string(p, &p->cfg->group, s);
}

static void apply_planners_directory(struct parser *p, const struct member *m)
{
	apply_path(p, m, &p->cfg->planners_dir);
}

static void apply_enforcement_interval(struct parser *p, const struct member *m)
{
	double seconds;
	double ms;

	if (!json_object_is_type(m->value, json_type_int) &&
	    !json_object_is_type(m->value, json_type_double)) {
		wrong_kind(p, m, "a number of seconds");
		return;
	}
	seconds = json_object_get_double(m->value);
	ms = floor(seconds * 1000.0 + 0.5);
	if (!(seconds > 0) || seconds > FUGUE_MAX_ENFORCE_INTERVAL_S || ms < 1) {
		add_diag(p, m->value_pos,
		         "enforcement.interval: expected seconds from 0.001 to %.0f, got %s",
		         FUGUE_MAX_ENFORCE_INTERVAL_S, json_object_to_json_string(m->value));
		return;
	}
	p->cfg->enforce_interval_ms = (long)ms;
}

static void apply_enforcement_mode(struct parser *p, const struct member *m)
{
	static const char *const modes[] = { "enforce", "report" };
	const char *mode = choice_value(p, m, modes, 2, "enforce or report");

	if (mode)
		p->cfg->report_only = strcmp(mode, "report") == 0;
}

static void apply_concurrency(struct parser *p, const struct member *m)
{
	int64_t n;

	if (!json_object_is_type(m->value, json_type_int)) {
		wrong_kind(p, m, "an integer");
		return;
	}
	n = json_object_get_int64(m->value);
	if (n < 1 || n > FUGUE_MAX_CONCURRENCY) {
		add_diag(p, m->value_pos, "concurrency: expected an integer from 1 to %d, got %lld",
		         FUGUE_MAX_CONCURRENCY, (long long)n);
		return;
	}
	p->cfg->concurrency = (size_t)n;
}

/* AWS region names are lower-case letters, digits and dashes. */
static int region_name_ok(const char *s)
{
	for (; *s; s++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return 0;
	}
	return 1;
}

static void apply_region(struct parser *p, const struct member *m)
{
	const char *s;

	if (json_object_is_type(m->value, json_type_null)) {
		set_string(p, &p->cfg->region, NULL);
		return;
	}
	s = string_value(p, m);
	if (!s)
		return;
	if (!region_name_ok(s)) {
		add_diag(p, m->value_pos, "region: '%s' is not a region name (e.g. us-east-1)", s);
		return;
	}
	set_string(p, &p->cfg->region, s);
}

static void apply_log_level(struct parser *p, const struct member *m)
{
	static const char *const levels[] = { "error", "warn", "warning", "info", "debug" };
	fugue_log_level level;

	if (!choice_value(p, m, levels, 5, "error, warn, info or debug"))
		return;
	if (fugue_log_level_parse(&level, json_object_get_string(m->value)) == 0)
		p->cfg->log_level = level;
}

static const struct key state_keys[] = {
	{ "backend", apply_state_backend },
	{ "directory", apply_state_directory },
};

static const struct key transport_keys[] = {
	{ "type", apply_transport_type },
	{ "socket", apply_transport_socket },
	{ "group", apply_transport_group },
};

static const struct key planners_keys[] = {
	{ "directory", apply_planners_directory },
};

static const struct key enforcement_keys[] = {
	{ "interval", apply_enforcement_interval },
	{ "mode", apply_enforcement_mode },
};

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/* --- sections -------------------------------------------------------------- */

/* Applies every member of the mapping OBJ through KEYS; SECTION names it in
 * messages (NULL at the top). */
static void apply_mapping(struct parser *p, const struct json_object *obj, const char *section,
                          const struct key *keys, size_t nkeys)
{
	const char *names[16];
	size_t i;

	for (i = 0; i < nkeys && i < NKEYS(names); i++)
		names[i] = keys[i].name;
	json_object_object_foreach((struct json_object *)obj, key, value) {
		struct member m = { section, key, value, { 0, 0 }, { 0, 0 } };
		const char *close;

		fugue_yaml_member_pos(p->doc, obj, key, &m.key_pos, &m.value_pos);
		for (i = 0; i < nkeys; i++) {
			if (strcmp(keys[i].name, key) == 0)
				break;
		}
		if (i < nkeys) {
			keys[i].apply(p, &m);
			continue;
		}
		close = fugue_did_you_mean(key, names, nkeys);
		if (section && close)
			add_diag(p, m.key_pos, "unknown key '%s' in %s (did you mean '%s'?)", key,
			         section, close);
		else if (section)
			add_diag(p, m.key_pos, "unknown key '%s' in %s", key, section);
		else if (close)
			add_diag(p, m.key_pos, "unknown key '%s' (did you mean '%s'?)", key, close);
		else
			add_diag(p, m.key_pos, "unknown key '%s'", key);
	}
}

static void apply_section(struct parser *p, const struct member *m, const struct key *keys,
                          size_t nkeys)
{
	/* `state:` with nothing under it is an empty section, not an error. */
	if (json_object_is_type(m->value, json_type_null))
		return;
	if (!json_object_is_type(m->value, json_type_object) ||
	    fugue_yaml_is_ref(m->value, NULL, NULL)) {
		wrong_kind(p, m, "a mapping");
		return;
	}
	apply_mapping(p, m->value, m->key, keys, nkeys);
}

static void apply_state(struct parser *p, const struct member *m)
{
	apply_section(p, m, state_keys, NKEYS(state_keys));
}

static void apply_transport(struct parser *p, const struct member *m)
{
	apply_section(p, m, transport_keys, NKEYS(transport_keys));
}

static void apply_planners(struct parser *p, const struct member *m)
{
	apply_section(p, m, planners_keys, NKEYS(planners_keys));
}

static void apply_enforcement(struct parser *p, const struct member *m)
{
	apply_section(p, m, enforcement_keys, NKEYS(enforcement_keys));
}

static const struct key top_keys[] = {
	{ "state", apply_state },
	{ "transport", apply_transport },
	{ "planners", apply_planners },
	{ "enforcement", apply_enforcement },
	{ "concurrency", apply_concurrency },
	{ "region", apply_region },
	{ "logLevel", apply_log_level },
};

/* --- parsing --------------------------------------------------------------- */

static int compare_diags(const void *a, const void *b)
{
	const fugue_diag *x = a;
	const fugue_diag *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return 0;
}

/* The directory part of FILE, or NULL when FILE has none (relative paths
 * then stay relative to the cwd, which is where FILE is too). */
static int file_dir(char **out, const char *file)
{
	const char *slash = strrchr(file, '/');

	*out = NULL;
	if (!slash)
		return 0;
	*out = slash == file ? strdup("/") : strndup(file, (size_t)(slash - file));
	return *out ? 0 : FUGUE_ENOMEM;
}

static void apply_root(struct parser *p)
{
	struct json_object *root = fugue_yaml_root(p->doc);
	const fugue_yaml_error *errors;
	size_t nerrors = fugue_yaml_errors(p->doc, &errors);
	size_t i;

	for (i = 0; i < nerrors; i++)
		add_diag(p, errors[i].pos, "%s", errors[i].message);
	/* An empty file (or one holding only comments) means the defaults. */
	if (!root)
		return;
	if (!json_object_is_type(root, json_type_object) || fugue_yaml_is_ref(root, NULL, NULL)) {
		add_diag(p, fugue_yaml_root_pos(p->doc), "expected a mapping of settings, got %s",
		         kind_name(root));
		return;
	}
	apply_mapping(p, root, NULL, top_keys, NKEYS(top_keys));
}

int fugue_daemon_config_parse(fugue_daemon_config *cfg, fugue_diags *diags, const char *file,
                              const char *text, size_t len)
{
	struct parser p = { cfg, diags, NULL, file, NULL, 0, 0 };
	fugue_yaml_doc *doc = NULL;
	size_t first = diags->n;
	int rc;

	if (file_dir(&p.dir, file) != 0)
		return FUGUE_ENOMEM;
	rc = fugue_yaml_parse(&doc, text, len);
	if (rc == FUGUE_ENOMEM) {
		free(p.dir);
		return rc;
	}
	p.doc = doc;
	apply_root(&p);
	fugue_yaml_doc_free(doc);
	free(p.dir);
	if (p.nomem)
		return FUGUE_ENOMEM;
	if (diags->n > first)
		qsort(diags->items + first, diags->n - first, sizeof(diags->items[0]),
		      compare_diags);
	return p.invalid || rc != 0 ? FUGUE_EINVAL : 0;
}

/* --- defaults, files, flags ------------------------------------------------ */

void fugue_daemon_config_clear(fugue_daemon_config *cfg)
{
	free(cfg->state_backend);
	free(cfg->state_dir);
	free(cfg->transport);
	free(cfg->socket);
	free(cfg->group);
	free(cfg->planners_dir);
	free(cfg->region);
	memset(cfg, 0, sizeof(*cfg));
}

int fugue_daemon_config_defaults(fugue_daemon_config *out, const char *default_planners_dir)
{
	memset(out, 0, sizeof(*out));
	out->state_backend = strdup("sqlite");
	out->state_dir = strdup(FUGUE_DEFAULT_STATE_DIR);
	out->transport = strdup("unix");
	out->socket = strdup(FUGUE_DEFAULT_SOCKET);
	out->group = strdup(FUGUE_DEFAULT_GROUP);
	out->planners_dir = strdup(default_planners_dir);
	out->enforce_interval_ms = FUGUE_DEFAULT_ENFORCE_INTERVAL_MS;
	out->report_only = 0;
	out->concurrency = FUGUE_DEFAULT_CONCURRENCY;
	out->region = NULL;
	out->log_level = FUGUE_LOG_INFO;
	if (!out->state_backend || !out->state_dir || !out->transport || !out->socket ||
	    !out->group || !out->planners_dir) {
		fugue_daemon_config_clear(out);
		return FUGUE_ENOMEM;
	}
	return 0;
}

int fugue_daemon_parse_interval(long *out_ms, const char *text)
{
	char *end;
	double seconds;
	double ms;

	errno = 0;
	seconds = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !isfinite(seconds))
		return FUGUE_EINVAL;
	ms = floor(seconds * 1000.0 + 0.5);
	if (!(seconds > 0) || seconds > FUGUE_MAX_ENFORCE_INTERVAL_S || ms < 1)
		return FUGUE_EINVAL;
	*out_ms = (long)ms;
	return 0;
}

static int load_file(fugue_daemon_config *cfg, fugue_diags *diags, const char *path,
                     int must_exist)
{
	char *text;
	size_t len;
	int err = fugue_read_file(&text, &len, path);
	int rc;

	if (err == ENOENT && !must_exist)
		return 0;
	if (err == ENOMEM)
		return FUGUE_ENOMEM;
	if (err) {
		char reason[256];

		snprintf(reason, sizeof(reason), "%s", strerror(err));
		reason[0] = (char)tolower((unsigned char)reason[0]);
		rc = fugue_diags_add(diags, path, 0, 0, "cannot read the config file: %s", reason);
		return rc != 0 ? FUGUE_ENOMEM : FUGUE_EIO;
	}
	rc = fugue_daemon_config_parse(cfg, diags, path, text, len);
	free(text);
	return rc;
}

/* Copies VALUE into *DST when VALUE is set. */
static int override(char **dst, const char *value)
{
	char *copy;

	if (!value)
		return 0;
	copy = strdup(value);
	if (!copy)
		return FUGUE_ENOMEM;
	free(*dst);
	*dst = copy;
	return 0;
}

static int apply_flags(fugue_daemon_config *cfg, fugue_diags *diags,
                       const fugue_daemon_flags *flags)
{
	const char *env = getenv("FUGUE_PLANNERS_DIR");
	int rc = 0;

	if (env && *env)
		rc = override(&cfg->planners_dir, env);
	if (rc == 0)
		rc = override(&cfg->socket, flags->socket);
	if (rc == 0)
		rc = override(&cfg->state_dir, flags->state_dir);
	if (rc == 0)
		rc = override(&cfg->planners_dir, flags->planners_dir);
	if (rc != 0)
		return rc;
	if (flags->enforce_interval &&
	    fugue_daemon_parse_interval(&cfg->enforce_interval_ms, flags->enforce_interval) != 0) {
		fugue_diags_add(diags, "--enforce-interval", 0, 0,
		                "expected seconds from 0.001 to %.0f, got '%s'",
		                FUGUE_MAX_ENFORCE_INTERVAL_S, flags->enforce_interval);
		return FUGUE_EINVAL;
	}
	if (flags->log_level && fugue_log_level_parse(&cfg->log_level, flags->log_level) != 0) {
		fugue_diags_add(diags, "--log-level", 0, 0,
		                "bad value '%s', expected error, warn, info or debug",
		                flags->log_level);
		return FUGUE_EINVAL;
	}
	return 0;
}

int fugue_daemon_config_load(fugue_daemon_config *out, fugue_diags *diags,
                             const fugue_daemon_flags *flags, const char *default_config,
                             const char *default_planners_dir)
{
	const char *path = flags->config ? flags->config : default_config;
	int rc = fugue_daemon_config_defaults(out, default_planners_dir);

	if (rc == 0)
		rc = load_file(out, diags, path, flags->config != NULL);
	if (rc == 0)
		rc = apply_flags(out, diags, flags);
	if (rc != 0)
		fugue_daemon_config_clear(out);
	return rc;
}

void fugue_daemon_config_to_conductor(fugue_conductor_config *out, const fugue_daemon_config *cfg)
{
	fugue_conductor_config init = FUGUE_CONDUCTOR_CONFIG_INIT;

	*out = init;
	out->state_dir = cfg->state_dir;
	out->planners_dir = cfg->planners_dir;
	out->region = cfg->region;
	out->enforce_interval_ms = cfg->enforce_interval_ms;
	out->report_only = cfg->report_only;
	out->concurrency = cfg->concurrency;
	out->log_level = (int)cfg->log_level;
}

void fugue_daemon_config_describe(const fugue_daemon_config *cfg, char *buf, size_t size)
{
	snprintf(buf, size,
	         "state=%s:%s socket=%s group=%s planners=%s interval=%.3gs mode=%s "
	         "concurrency=%zu region=%s log=%s",
	         cfg->state_backend, cfg->state_dir, cfg->socket, cfg->group ? cfg->group : "(own)",
	         cfg->planners_dir, (double)cfg->enforce_interval_ms / 1000.0,
	         cfg->report_only ? "report" : "enforce", cfg->concurrency,
	         cfg->region ? cfg->region : "(none)", fugue_log_level_name(cfg->log_level));
}
