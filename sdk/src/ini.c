/* ini.c - the AWS shared config and credentials files.
 *
 * The files are read the way botocore's configparser reads them: section
 * headers "[name]" (whitespace inside collapsed, so "[profile  x]" is
 * "[profile x]"), "key = value" lines with keys compared without case,
 * whole-line comments starting with '#' or ';', and lines indented deeper
 * than the key before them continuing that key: this is how nested
 * sub-sections ("s3 =" then "  max_concurrent_requests = 10") are written,
 * and they never leak into the section's own keys. As in the other AWS SDKs
 * a '#' or ';' preceded by whitespace starts a comment inside a value too
 * (access keys, secrets and URLs never contain one). A key defined twice
 * takes its last value. Not supported: "$VAR" and "~user" in paths,
 * ':' as the key delimiter, multi-line values (only their first line is
 * returned). */
#include "ini.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fugue/common.h"

/* One lookup, and where the scan stands. */
typedef struct ini_scan {
	const char *section;
	const char *key;
	const char *subkey;   /* NULL: a key of the section itself */
	char *out;
	size_t size;
	int result;           /* FUGUE_ENOTFOUND until found; FUGUE_EINVAL if too long */
	int in_section;       /* the current section is the one wanted */
	int have_key;         /* a key line was seen since the section header */
	size_t key_indent;    /* its indentation */
	int in_nested;        /* it is KEY with an empty value: a nested sub-section */
} ini_scan;

static int is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Strips trailing whitespace (and the line end) in place. */
static void rtrim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	s[n] = '\0';
}

static const char *skip_blanks(const char *s)
{
	while (is_blank(*s))
		s++;
	return s;
}

static char *ltrim(char *s)
{
	return s + (skip_blanks(s) - s);
}

/* Cuts a value at a '#' or ';' that follows whitespace. */
static void strip_inline_comment(char *value)
{
	char *p;

	for (p = value; *p; p++) {
		if ((*p == '#' || *p == ';') && p > value && is_blank(p[-1])) {
			*p = '\0';
			break;
		}
	}
	rtrim(value);
}

/* Compares a section name from the file with the wanted one, each run of
 * whitespace counting as one space. */
static int section_equal(const char *have, const char *want)
{
	for (;;) {
		if (is_blank(*have) && is_blank(*want)) {
			have = skip_blanks(have);
			want = skip_blanks(want);
			continue;
		}
		if (*have != *want)
			return 0;
		if (!*have)
			return 1;
		have++;
		want++;
	}
}

static void store_value(ini_scan *s, const char *value)
{
	size_t n = strlen(value);

	if (n >= s->size) {
		s->result = FUGUE_EINVAL;
		return;
	}
	memcpy(s->out, value, n + 1);
	s->result = 0;
}

/* Splits "key = value" in place. Returns 0, or -1 when there is no '='. */
static int split_pair(char *line, char **key, char **value)
{
	char *eq = strchr(line, '=');

	if (!eq)
		return -1;
	*eq = '\0';
	rtrim(line);
	*key = line;
	*value = ltrim(eq + 1);
	strip_inline_comment(*value);
	return 0;
}

static void on_header(ini_scan *s, char *p)
{
	char *end = strchr(p + 1, ']');

	s->have_key = 0;
	s->in_nested = 0;
	if (!end) {
		/* Not a header configparser accepts: what follows belongs to no section. */
		s->in_section = 0;
		return;
	}
	*end = '\0';
	p = ltrim(p + 1);
	rtrim(p);
	s->in_section = section_equal(p, s->section);
}

/* An indented line continuing the key before it. */
static void on_continuation(ini_scan *s, char *p)
{
	char *key;
	char *value;

	if (!s->subkey || !s->in_nested)
		return;
	if (split_pair(p, &key, &value) < 0)
		return;
	if (strcasecmp(key, s->subkey) == 0)
		store_value(s, value);
}

static void on_pair(ini_scan *s, char *p, size_t indent)
{
	char *key;
	char *value;
	int match;

	s->in_nested = 0;
	if (split_pair(p, &key, &value) < 0) {
		s->have_key = 0;
		return;
	}
	s->have_key = 1;
	s->key_indent = indent;
	match = s->in_section && strcasecmp(key, s->key) == 0;
	if (!match)
		return;
	if (s->subkey)
		s->in_nested = value[0] == '\0';
	else
		store_value(s, value);
}

static void on_line(ini_scan *s, char *line)
{
	char *p = ltrim(line);
	size_t indent = (size_t)(p - line);

	rtrim(p);
	if (*p == '\0' || *p == '#' || *p == ';')
		return;
	if (s->have_key && indent > s->key_indent) {
		on_continuation(s, p);
		return;
	}
	if (*p == '[') {
		on_header(s, p);
		return;
	}
	on_pair(s, p, indent);
}

static int scan_file(ini_scan *s, const char *path)
{
	char iobuf[4096];
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return FUGUE_ENOTFOUND;
	/* Our own stdio buffer, so that the secrets it held can be wiped. */
	setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
	while (getline(&line, &cap, f) >= 0)
		on_line(s, line);
	fclose(f);
	if (line)
		explicit_bzero(line, cap);
	free(line);
	explicit_bzero(iobuf, sizeof(iobuf));
	return s->result;
}

static int lookup(char *out, size_t size, const char *path, const char *section,
                  const char *key, const char *subkey)
{
	ini_scan s;

	if (!out || size == 0 || !path || !section || !key)
		return FUGUE_EINVAL;
	memset(&s, 0, sizeof(s));
	s.section = section;
	s.key = key;
	s.subkey = subkey;
	s.out = out;
	s.size = size;
	s.result = FUGUE_ENOTFOUND;
	return scan_file(&s, path);
}

int fugue_ini_lookup(char *out, size_t size, const char *path, const char *section, const char *key)
{
	return lookup(out, size, path, section, key, NULL);
}

int fugue_ini_lookup_sub(char *out, size_t size, const char *path, const char *section,
                         const char *key, const char *subkey)
{
	if (!subkey)
		return FUGUE_EINVAL;
	return lookup(out, size, path, section, key, subkey);
}

/* --- paths and profiles ---------------------------------------------------- */

/* The home directory: $HOME, else the passwd entry. */
static int home_dir(char *out, size_t size)
{
	const char *home = getenv("HOME");
	struct passwd pw;
	struct passwd *found = NULL;
	char buf[4096];
	int n;

	if (!home || !*home) {
		if (getpwuid_r(getuid(), &pw, buf, sizeof(buf), &found) != 0 || !found)
			return FUGUE_ENOTFOUND;
		home = found->pw_dir;
	}
	n = snprintf(out, size, "%s", home);
	if (n < 0 || (size_t)n >= size)
		return FUGUE_EINVAL;
	return 0;
}

/* VALUE with a leading "~" or "~/" replaced by the home directory. */
static int expand_home(char *out, size_t size, const char *value)
{
	char home[1024];
	int rc;
	int n;

	if (value[0] != '~' || (value[1] != '\0' && value[1] != '/')) {
		n = snprintf(out, size, "%s", value);
		return n < 0 || (size_t)n >= size ? FUGUE_EINVAL : 0;
	}
	rc = home_dir(home, sizeof(home));
	if (rc < 0)
		return rc;
	n = snprintf(out, size, "%s%s", home, value + 1);
	return n < 0 || (size_t)n >= size ? FUGUE_EINVAL : 0;
}

static int shared_file_path(char *out, size_t size, const char *env, const char *fallback)
{
	const char *value = getenv(env);

	if (!out || size == 0)
		return FUGUE_EINVAL;
	if (!value || !*value)
		value = fallback;
	return expand_home(out, size, value);
}

int fugue_aws_config_path(char *out, size_t size)
{
	return shared_file_path(out, size, "AWS_CONFIG_FILE", "~/.aws/config");
}

int fugue_aws_credentials_path(char *out, size_t size)
{
	return shared_file_path(out, size, "AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials");
}

const char *fugue_aws_profile_name(const char *profile)
{
	const char *env;

	if (profile && *profile)
		return profile;
	env = getenv("AWS_PROFILE");
	if (env && *env)
		return env;
	return "default";
}

int fugue_aws_profile_get(char *out, size_t size, const char *profile, const char *key)
{
	char path[4096];
	char section[512];
	const char *name = fugue_aws_profile_name(profile);
	int rc;
	int n;

	rc = fugue_aws_config_path(path, sizeof(path));
	if (rc < 0)
		return rc == FUGUE_EINVAL ? FUGUE_ENOTFOUND : rc;
	n = snprintf(section, sizeof(section), "profile %s", name);
	if (n < 0 || (size_t)n >= sizeof(section))
		return FUGUE_ENOTFOUND;
	rc = fugue_ini_lookup(out, size, path, section, key);
	/* The default profile may be written "[default]" or "[profile default]";
	 * the latter wins as in the other SDKs. */
	if (rc == FUGUE_ENOTFOUND && strcmp(name, "default") == 0)
		rc = fugue_ini_lookup(out, size, path, "default", key);
	return rc;
}
