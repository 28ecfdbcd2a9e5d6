/* creds.c - the credential provider chain of the AWS SDKs: environment,
 * shared credentials file, shared config file, instance role (IMDSv2).
 *
 * The first source that has credentials wins; one that has only half of
 * them (a key id without its secret) stops the chain with an error, as
 * botocore's PartialCredentialsError does, rather than quietly falling
 * through to another identity. The result is cached; credentials with an
 * expiration (the instance role's) are fetched again, through the whole
 * chain, once they expire within five minutes.
 *
 * Not supported (the profile is reported as such): role_arn/source_profile
 * assume-role profiles, credential_process, SSO, web identity tokens, and
 * the ECS container endpoint (AWS_CONTAINER_CREDENTIALS_*). */
#include "creds.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fugue/common.h"
#include "fugue/log.h"
#include "imds.h"
#include "ini.h"

#define REFRESH_WINDOW_SECONDS 300

struct fugue_creds_provider {
	pthread_mutex_t lock;
	char *profile;             /* the profile name, resolved at creation */
	int cached;
	fugue_credentials creds;
};

/* What the sources said. REASONS collects why each gave nothing; FATAL,
 * when set, is an error that ends the chain (partial credentials). */
typedef struct chain_report {
	char reasons[2048];
	size_t len;
	char fatal[512];
} chain_report;

/* A source's answer. */
enum { SOURCE_NONE = 0, SOURCE_FOUND = 1 };

static void add_reason(chain_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fatal(chain_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_reason(chain_report *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (r->len + 3 >= sizeof(r->reasons))
		return;
	if (r->len > 0) {
		memcpy(r->reasons + r->len, "; ", 3);
		r->len += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(r->reasons + r->len, sizeof(r->reasons) - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n;
	if (r->len >= sizeof(r->reasons))
		r->len = sizeof(r->reasons) - 1;
}

static void set_fatal(chain_report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->fatal, sizeof(r->fatal), fmt, ap);
	va_end(ap);
}

void fugue_credentials_wipe(fugue_credentials *c)
{
	if (c)
		explicit_bzero(c, sizeof(*c));
}

static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* Copies VALUE into OUT; -1 when it does not fit. */
static int copy_field(char *out, size_t size, const char *value)
{
	size_t n = strlen(value);

	if (n >= size)
		return -1;
	memcpy(out, value, n + 1);
	return 0;
}

/* --- the environment -------------------------------------------------- */

static int from_environment(fugue_credentials *out, chain_report *r)
{
	const char *id = env_value("AWS_ACCESS_KEY_ID");
	const char *secret = env_value("AWS_SECRET_ACCESS_KEY");
	const char *token = env_value("AWS_SESSION_TOKEN");

	if (!token)
		token = env_value("AWS_SECURITY_TOKEN");   /* the older name, still honoured */
	if (!id && !secret) {
		add_reason(r, "environment: AWS_ACCESS_KEY_ID not set");
		return SOURCE_NONE;
	}
	if (!secret) {
		set_fatal(r, "partial aws credentials in the environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not");
		return FUGUE_EAUTH;
	}
	if (!id) {
		set_fatal(r, "partial aws credentials in the environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not");
		return FUGUE_EAUTH;
	}
	if (copy_field(out->access_key_id, sizeof(out->access_key_id), id) < 0 ||
	    copy_field(out->secret_access_key, sizeof(out->secret_access_key), secret) < 0 ||
	    copy_field(out->session_token, sizeof(out->session_token), token ? token : "") < 0) {
		set_fatal(r, "aws credentials in the environment are too long");
		return FUGUE_EAUTH;
	}
	snprintf(out->source, sizeof(out->source), "environment");
	return SOURCE_FOUND;
}

/* --- the shared files -------------------------------------------------- */

/* One of the two shared files. */
typedef struct shared_file {
	const char *label;        /* "shared-credentials-file" */
	int is_config;            /* sections are "[profile NAME]" */
	char path[4096];
} shared_file;

static int file_get(char *out, size_t size, const shared_file *f, const char *profile, const char *key)
{
	if (f->is_config)
		return fugue_aws_profile_get(out, size, profile, key);
	return fugue_ini_lookup(out, size, f->path, profile, key);
}

/* Says why a file that exists gave no key id: an unsupported kind of
 * profile, or no key id at all. */
static void explain_no_key(chain_report *r, const shared_file *f, const char *profile)
{
	static const char *const unsupported[] = {
		"role_arn", "credential_process", "sso_session", "sso_start_url", "web_identity_token_file"
	};
	char value[512];
	size_t i;

	for (i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
		if (file_get(value, sizeof(value), f, profile, unsupported[i]) != FUGUE_ENOTFOUND) {
			add_reason(r, "%s %s: profile '%s' uses %s, which is not supported", f->label,
			           f->path, profile, unsupported[i]);
			return;
		}
	}
	add_reason(r, "%s %s: no aws_access_key_id in profile '%s'", f->label, f->path, profile);
}

/* 0 when the file can be read, else a reason. */
static int check_readable(chain_report *r, const shared_file *f)
{
	struct stat st;

	if (stat(f->path, &st) != 0) {
		if (errno == ENOENT)
			add_reason(r, "%s %s: no such file", f->label, f->path);
		else
			add_reason(r, "%s %s: cannot stat it (errno %d)", f->label, f->path, errno);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		add_reason(r, "%s %s: not a regular file", f->label, f->path);
		return -1;
	}
	if (access(f->path, R_OK) != 0) {
		add_reason(r, "%s %s: not readable", f->label, f->path);
		return -1;
	}
	return 0;
}

/* Reads KEY, which must be there once the key id is. */
static int required_field(char *out, size_t size, chain_report *r, const shared_file *f,
                          const char *profile, const char *key)
{
	int rc = file_get(out, size, f, profile, key);

	if (rc == 0 && out[0])
		return 0;
	if (rc == FUGUE_EINVAL)
		set_fatal(r, "%s %s: %s of profile '%s' is too long", f->label, f->path, key, profile);
	else
		set_fatal(r, "partial aws credentials in %s %s: profile '%s' has aws_access_key_id but no %s",
		          f->label, f->path, profile, key);
	return FUGUE_EAUTH;
}

/* The session token, under its current name or the older one; "" if none. */
static int session_token(fugue_credentials *out, chain_report *r, const shared_file *f,
                         const char *profile)
{
	char *t = out->session_token;
	size_t size = sizeof(out->session_token);
	int rc = file_get(t, size, f, profile, "aws_session_token");

	if (rc == FUGUE_ENOTFOUND)
		rc = file_get(t, size, f, profile, "aws_security_token");
	if (rc == FUGUE_ENOTFOUND) {
		t[0] = '\0';
		rc = 0;
	}
	if (rc < 0) {
		set_fatal(r, "%s %s: aws_session_token of profile '%s' is too long", f->label, f->path, profile);
		return FUGUE_EAUTH;
	}
	return 0;
}

static int from_file(fugue_credentials *out, chain_report *r, shared_file *f, const char *profile)
{
	int rc;

	if (check_readable(r, f) < 0)
		return SOURCE_NONE;
	rc = file_get(out->access_key_id, sizeof(out->access_key_id), f, profile, "aws_access_key_id");
	if (rc == FUGUE_EINVAL) {
		set_fatal(r, "%s %s: aws_access_key_id of profile '%s' is too long", f->label, f->path, profile);
		return FUGUE_EAUTH;
	}
	if (rc < 0 || !out->access_key_id[0]) {
		explain_no_key(r, f, profile);
		return SOURCE_NONE;
	}
	rc = required_field(out->secret_access_key, sizeof(out->secret_access_key), r, f, profile,
	                    "aws_secret_access_key");
	if (rc == 0)
		rc = session_token(out, r, f, profile);
	if (rc < 0)
		return rc;
	out->expiration = 0;
	snprintf(out->source, sizeof(out->source), "%s (profile %.24s)", f->label, profile);
	return SOURCE_FOUND;
}

static int from_shared_file(fugue_credentials *out, chain_report *r, int is_config, const char *profile)
{
	shared_file f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.is_config = is_config;
	f.label = is_config ? "shared-config-file" : "shared-credentials-file";
	if (is_config)
		rc = fugue_aws_config_path(f.path, sizeof(f.path));
	else
		rc = fugue_aws_credentials_path(f.path, sizeof(f.path));
	if (rc < 0) {
		add_reason(r, "%s: no path (set HOME or %s)", f.label,
		           is_config ? "AWS_CONFIG_FILE" : "AWS_SHARED_CREDENTIALS_FILE");
		return SOURCE_NONE;
	}
	return from_file(out, r, &f, profile);
}

/* --- the instance role --------------------------------------------------- */

static int from_imds(fugue_credentials *out, chain_report *r)
{
	const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
	char why[512];
	int rc;

	if (disabled && strcasecmp(disabled, "true") == 0) {
		add_reason(r, "imds: disabled by AWS_EC2_METADATA_DISABLED");
		return SOURCE_NONE;
	}
	why[0] = '\0';
	rc = fugue_imds_credentials(out, why, sizeof(why));
	if (rc == FUGUE_ENOMEM)
		return rc;
	if (rc < 0) {
		add_reason(r, "imds: %s", why[0] ? why : fugue_strerror(rc));
		return SOURCE_NONE;
	}
	return SOURCE_FOUND;
}

/* --- the chain ------------------------------------------------------------ */

/* Runs the chain. Returns 0 with *OUT set, or an error with ERRBUF set. */
static int resolve(fugue_credentials *out, const char *profile, char *errbuf, size_t errsize)
{
	chain_report r;
	int rc;

	memset(&r, 0, sizeof(r));
	memset(out, 0, sizeof(*out));
	rc = from_environment(out, &r);
	if (rc == SOURCE_NONE)
		rc = from_shared_file(out, &r, 0, profile);
	if (rc == SOURCE_NONE)
		rc = from_shared_file(out, &r, 1, profile);
	if (rc == SOURCE_NONE)
		rc = from_imds(out, &r);
	if (rc == SOURCE_FOUND)
		return 0;
	fugue_credentials_wipe(out);
	if (rc == FUGUE_ENOMEM) {
		snprintf(errbuf, errsize, "out of memory while looking for aws credentials");
		return rc;
	}
	if (r.fatal[0])
		snprintf(errbuf, errsize, "%s", r.fatal);
	else
		snprintf(errbuf, errsize, "no aws credentials found: %s", r.reasons);
	return FUGUE_EAUTH;
}

int fugue_creds_provider_new(fugue_creds_provider **out, const char *profile)
{
	fugue_creds_provider *p;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return FUGUE_ENOMEM;
	p->profile = strdup(fugue_aws_profile_name(profile));
	if (!p->profile) {
		free(p);
		return FUGUE_ENOMEM;
	}
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

void fugue_creds_provider_free(fugue_creds_provider *p)
{
	if (!p)
		return;
	fugue_credentials_wipe(&p->creds);
	pthread_mutex_destroy(&p->lock);
	free(p->profile);
	free(p);
}

static int needs_refresh(const fugue_creds_provider *p, time_t now)
{
	if (!p->cached)
		return 1;
	return p->creds.expiration != 0 && p->creds.expiration - now <= REFRESH_WINDOW_SECONDS;
}

/* Re-runs the chain under the lock. A failed refresh keeps credentials
 * that have not expired yet, as the SDKs do. */
static int refresh(fugue_creds_provider *p, time_t now, char *errbuf, size_t errsize)
{
	fugue_credentials fresh;
	int rc;

	rc = resolve(&fresh, p->profile, errbuf, errsize);
	if (rc == 0) {
		fugue_credentials_wipe(&p->creds);
		p->creds = fresh;
		p->cached = 1;
		fugue_credentials_wipe(&fresh);
		fugue_log_debug("aws credentials from %s", p->creds.source);
		return 0;
	}
	if (p->cached && p->creds.expiration > now) {
		fugue_log_warn("refreshing aws credentials failed, using the current ones until they expire: %s",
		               errbuf);
		errbuf[0] = '\0';
		return 0;
	}
	p->cached = 0;
	fugue_credentials_wipe(&p->creds);
	return rc;
}

int fugue_creds_get(fugue_credentials *out, fugue_creds_provider *p, char *errbuf, size_t errsize)
{
	char local[1024];
	time_t now = time(NULL);
	int rc = 0;

	if (!errbuf || errsize == 0) {
		errbuf = local;
		errsize = sizeof(local);
	}
	errbuf[0] = '\0';
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&p->lock);
	if (needs_refresh(p, now))
		rc = refresh(p, now, errbuf, errsize);
	if (rc == 0)
		*out = p->creds;
	pthread_mutex_unlock(&p->lock);
	return rc;
}
