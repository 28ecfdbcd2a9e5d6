/* planner_kit.c - see planner_kit.h.
 *
 * Nothing here keeps state between calls: every function works on its
 * arguments only, so planners call it from any thread. */
#include "planner_kit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define WAIT_DEADLINE_MS 300000L
#define WAIT_FIRST_MS 250L
#define WAIT_MAX_MS 5000L
/* The first progress line after this long, then one per interval: an
 * operator sees that a long wait is alive without a line per poll. */
#define WAIT_PROGRESS_FIRST_MS 5000L
#define WAIT_PROGRESS_EVERY_MS 15000L

/* --- state objects ------------------------------------------------------------ */

struct json_object *fugue_kit_state(const char *id, struct json_object *props,
                                    struct json_object *attrs)
{
	struct json_object *state = NULL;
	struct json_object *jid = NULL;

	if (!props)
		props = json_object_new_object();
	if (!attrs)
		attrs = json_object_new_object();
	if (id)
		jid = json_object_new_string(id);
	if (id && props && attrs && jid)
		state = json_object_new_object();
	if (!state) {
		json_object_put(props);
		json_object_put(attrs);
		json_object_put(jid);
		return NULL;
	}
	json_object_object_add(state, "id", jid);
	json_object_object_add(state, "properties", props);
	json_object_object_add(state, "attributes", attrs);
	return state;
}

/* --- reading declared properties ------------------------------------------------ */

static struct json_object *member(const struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!o || !key || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

const char *fugue_kit_str(const struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int fugue_kit_bool(const struct json_object *o, const char *key, int dflt)
{
	struct json_object *v = member(o, key);

	return json_object_is_type(v, json_type_boolean) ? json_object_get_boolean(v) : dflt;
}

int64_t fugue_kit_int(const struct json_object *o, const char *key, int64_t dflt)
{
	struct json_object *v = member(o, key);

	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : dflt;
}

/* --- AWS leaves ------------------------------------------------------------------ */

/* The non-empty string leaf at PATH, or NULL. */
static const char *leaf(const struct json_object *root, const char *path)
{
	const char *s;

	if (!root || !path)
		return NULL;
	s = fugue_aws_get_string(root, path);
	return s && *s ? s : NULL;
}

struct json_object *fugue_kit_aws_str(const struct json_object *root, const char *path)
{
	const char *s = leaf(root, path);

	return s ? json_object_new_string(s) : NULL;
}

struct json_object *fugue_kit_aws_bool(const struct json_object *root, const char *path)
{
	const char *s = leaf(root, path);

	if (!s)
		return NULL;
	if (strcmp(s, "true") == 0)
		return json_object_new_boolean(1);
	if (strcmp(s, "false") == 0)
		return json_object_new_boolean(0);
	return NULL;
}

struct json_object *fugue_kit_aws_int(const struct json_object *root, const char *path)
{
	const char *s = leaf(root, path);
	char *end;
	long long v;

	if (!s)
		return NULL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s)
		return NULL;
	return json_object_new_int64(v);
}

void fugue_kit_put(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return;
	if (!o || !key) {
		json_object_put(v);
		return;
	}
	json_object_object_add(o, key, v);
}

/* --- failures ------------------------------------------------------------------ */

int fugue_kit_fail_aws(fugue_ctx *ctx, int code, const fugue_aws_error *err, const char *what)
{
	if (!what)
		what = "aws call";
	if (err && err->code[0])
		ctx->host->fail(ctx, code, err, "%s: %s (%s)", what,
		                err->message[0] ? err->message : fugue_strerror(code), err->code);
	else if (err && err->message[0])
		ctx->host->fail(ctx, code, err, "%s: %s", what, err->message);
	else
		ctx->host->fail(ctx, code, err, "%s: %s", what, fugue_strerror(code));
	return code;
}

/* --- waiting ------------------------------------------------------------------- */

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int fugue_kit_wait_for(fugue_ctx *ctx, const fugue_kit_wait *w, fugue_kit_poll_fn poll,
                       void *arg)
{
	const char *what = w->what ? w->what : "the resource";
	long deadline = w->deadline_ms > 0 ? w->deadline_ms : WAIT_DEADLINE_MS;
	long delay = w->first_ms > 0 ? w->first_ms : WAIT_FIRST_MS;
	long max = w->max_ms > 0 ? w->max_ms : WAIT_MAX_MS;
	long next_progress = WAIT_PROGRESS_FIRST_MS;
	long start = now_ms();

	for (;;) {
		long elapsed, pause;
		int done = 0;
		int rc;

		if (ctx->host->cancelled(ctx))
			return FUGUE_ECANCELED;
		rc = poll(ctx, arg, &done);
		if (rc == FUGUE_ENOTFOUND && w->notfound_is_wait) {
			done = 0;
		} else if (rc == FUGUE_ENOTFOUND) {
			ctx->host->fail(ctx, rc, NULL, "%s: gone while waiting", what);
			return rc;
		} else if (rc != 0) {
			return rc;
		}
		if (done)
			return 0;
		elapsed = now_ms() - start;
		if (elapsed >= deadline) { /* rounded up: a 300 ms deadline reads "1 s" */
			ctx->host->fail(ctx, FUGUE_ETIMEOUT, NULL,
			                "timed out after %ld s waiting for %s",
			                (deadline + 999) / 1000, what);
			return FUGUE_ETIMEOUT;
		}
		if (elapsed >= next_progress) {
			ctx->host->progress(ctx, "waiting for %s (%ld s)", what, elapsed / 1000);
			next_progress = elapsed + WAIT_PROGRESS_EVERY_MS;
		}
		pause = delay < deadline - elapsed ? delay : deadline - elapsed;
		if (ctx->host->sleep(ctx, pause) != 0)
			return FUGUE_ECANCELED;
		delay = delay * 2 < max ? delay * 2 : max;
	}
}

/* --- networks ------------------------------------------------------------------ */

/* A decimal number of 1-3 digits at *S, no leading zero (so "010" is not
 * read as octal by someone else and ten by us); advances *S. */
static int decimal(const char **s, unsigned int max, unsigned int *out)
{
	const char *p = *s;
	unsigned int v = 0;
	int digits = 0;

	while (*p >= '0' && *p <= '9' && digits < 4) {
		v = v * 10 + (unsigned int)(*p - '0');
		p++;
		digits++;
	}
	if (digits == 0 || digits > 3 || (digits > 1 && **s == '0') || v > max)
		return FUGUE_EINVAL;
	*s = p;
	*out = v;
	return 0;
}

static uint32_t prefix_mask(int prefix)
{
	return prefix <= 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int fugue_kit_cidr_parse(const char *s, uint32_t *addr, int *prefix)
{
	uint32_t a = 0;
	unsigned int v;
	int i;

	if (!s)
		return FUGUE_EINVAL;
	for (i = 0; i < 4; i++) {
		if (decimal(&s, 255, &v) != 0)
			return FUGUE_EINVAL;
		a = a << 8 | v;
		if (*s++ != (i < 3 ? '.' : '/'))
			return FUGUE_EINVAL;
	}
	if (decimal(&s, 32, &v) != 0 || *s != '\0')
		return FUGUE_EINVAL;
	if (a & ~prefix_mask((int)v))
		return FUGUE_EINVAL;
	*addr = a;
	*prefix = (int)v;
	return 0;
}

int fugue_kit_cidr_contains(const char *outer, const char *inner)
{
	uint32_t oa, ia;
	int op, ip;

	if (fugue_kit_cidr_parse(outer, &oa, &op) != 0 ||
	    fugue_kit_cidr_parse(inner, &ia, &ip) != 0)
		return 0;
	return ip >= op && (ia & prefix_mask(op)) == oa;
}

int fugue_kit_cidr_overlap(const char *a, const char *b)
{
	uint32_t aa, ba, mask;
	int ap, bp;

	if (fugue_kit_cidr_parse(a, &aa, &ap) != 0 || fugue_kit_cidr_parse(b, &ba, &bp) != 0)
		return 0;
	mask = prefix_mask(ap < bp ? ap : bp);
	return (aa & mask) == (ba & mask);
}

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A local or Wavelength zone's suffix after the region: "-lax-1a",
 * "-wl1-bos-wlz-1": dash-separated groups of [a-z0-9], the first starting
 * with a letter and at least two long (so "us-east" + "-1a" is refused). */
static int local_zone_suffix(const char *s)
{
	size_t group = 0;
	int first = 1;

	if (*s != '-')
		return 0;
	for (s++;; s++) {
		if (*s == '-' || *s == '\0') {
			if (group == 0 || (first && group < 2))
				return 0;
			if (*s == '\0')
				return 1;
			first = 0;
			group = 0;
		} else if (is_lower(*s) || (is_digit(*s) && !(first && group == 0))) {
			group++;
		} else {
			return 0;
		}
	}
}

int fugue_kit_az_in_region(const char *az, const char *region)
{
	size_t n;

	if (!az || !region || !*region)
		return 0;
	n = strlen(region);
	if (strncmp(az, region, n) != 0)
		return 0;
	az += n;
	if (is_lower(az[0]) && az[1] == '\0')
		return 1;
	return local_zone_suffix(az);
}
