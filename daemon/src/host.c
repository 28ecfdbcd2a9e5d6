/* host.c - the fugue_host table planners call through ctx->host. */
#include "host.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "clock.h"
#include "fugue/log.h"

/* --- cancellation --------------------------------------------------------- */

void fugue_cancel_init(fugue_cancel *c)
{
	pthread_condattr_t attr;

	atomic_init(&c->cancelled, 0);
	pthread_mutex_init(&c->mutex, NULL);
	/* CLOCK_MONOTONIC: a wall clock change must not stretch a sleep. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
}

void fugue_cancel_set(fugue_cancel *c)
{
	pthread_mutex_lock(&c->mutex);
	atomic_store(&c->cancelled, 1);
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->mutex);
}

int fugue_cancel_is_set(fugue_cancel *c)
{
	return c && atomic_load(&c->cancelled);
}

void fugue_cancel_destroy(fugue_cancel *c)
{
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->mutex);
}

/* --- the call ------------------------------------------------------------- */

void fugue_call_init(fugue_call *call)
{
	memset(call, 0, sizeof(*call));
	pthread_mutex_init(&call->mutex, NULL);
}

void fugue_call_clear(fugue_call *call)
{
	size_t i;

	for (i = 0; i < call->nreports; i++) {
		free(call->reports[i].path);
		free(call->reports[i].message);
	}
	free(call->reports);
	for (i = 0; i < call->nduplicates; i++)
		json_object_put(call->duplicates[i].state);
	free(call->duplicates);
	free(call->message);
	pthread_mutex_destroy(&call->mutex);
	memset(call, 0, sizeof(*call));
}

void fugue_call_lock(fugue_call *call)
{
	pthread_mutex_lock(&call->mutex);
}

void fugue_call_unlock(fugue_call *call)
{
	pthread_mutex_unlock(&call->mutex);
}

static fugue_call *call_of(fugue_ctx *ctx)
{
	return ctx ? (fugue_call *)ctx->host_private : NULL;
}

/* Log fields naming the call: FUGUE_FID, FUGUE_RESOURCE, FUGUE_TYPE (NULL
 * values are skipped by the logger). */
static size_t call_fields(fugue_log_field *fields, const fugue_ctx *ctx)
{
	fields[0].key = "FUGUE_FID";
	fields[0].value = ctx ? ctx->fid : NULL;
	fields[1].key = "FUGUE_RESOURCE";
	fields[1].value = ctx ? ctx->resource : NULL;
	fields[2].key = "FUGUE_TYPE";
	fields[2].value = ctx ? ctx->type : NULL;
	return 3;
}

static char *vformat(const char *fmt, va_list ap)
{
	char *s = NULL;

	if (vasprintf(&s, fmt, ap) < 0)
		return NULL;
	return s;
}

static void host_fail(fugue_ctx *ctx, int code, const fugue_aws_error *aws, const char *fmt, ...)
{
	fugue_call *call = call_of(ctx);
	fugue_log_field fields[3];
	size_t n = call_fields(fields, ctx);
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	fugue_log_fields(FUGUE_LOG_DEBUG, fields, n, "planner failed (%s): %s", fugue_strerror(code),
	                 msg ? msg : "(out of memory)");
	if (!call) {
		free(msg);
		return;
	}
	pthread_mutex_lock(&call->mutex);
	call->failed = 1;
	call->code = code;
	free(call->message);
	call->message = msg;
	call->has_aws = aws != NULL;
	if (aws)
		call->aws = *aws;
	else
		memset(&call->aws, 0, sizeof(call->aws));
	pthread_mutex_unlock(&call->mutex);
}

static void add_report(fugue_call *call, const char *path, char *msg)
{
	char *p = path ? strdup(path) : NULL;

	pthread_mutex_lock(&call->mutex);
	if (call->nreports == call->reports_cap) {
		size_t cap = call->reports_cap ? call->reports_cap * 2 : 8;
		fugue_report *r = realloc(call->reports, cap * sizeof(*r));

		if (!r) {
			pthread_mutex_unlock(&call->mutex);
			free(p);
			free(msg);
			return;
		}
		call->reports = r;
		call->reports_cap = cap;
	}
	call->reports[call->nreports].path = p;
	call->reports[call->nreports].message = msg;
	call->nreports++;
	pthread_mutex_unlock(&call->mutex);
}

static void host_report(fugue_ctx *ctx, const char *path, const char *fmt, ...)
{
	fugue_call *call = call_of(ctx);
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (!msg)
		msg = strdup("(out of memory)");
	if (!call || !msg) {
		free(msg);
		return;
	}
	add_report(call, path, msg);
}

static void host_progress(fugue_ctx *ctx, const char *fmt, ...)
{
	fugue_call *call = call_of(ctx);
	fugue_log_field fields[3];
	size_t n = call_fields(fields, ctx);
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (!msg)
		return;
	fugue_log_fields(FUGUE_LOG_DEBUG, fields, n, "%s", msg);
	if (call && call->progress)
		call->progress(ctx->resource, msg, call->progress_payload);
	free(msg);
}

static void host_log(fugue_ctx *ctx, fugue_log_level level, const char *fmt, ...)
{
	fugue_log_field fields[3];
	size_t n = call_fields(fields, ctx);
	va_list ap;
	char *msg;

	if (!fugue_log_enabled(level))
		return;
	va_start(ap, fmt);
	msg = vformat(fmt, ap);
	va_end(ap);
	if (!msg)
		return;
	fugue_log_fields(level, fields, n, "%s", msg);
	free(msg);
}

/* Without a cancel object there is nothing to wake us: a plain nanosleep. */
static int plain_sleep(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
	return 0;
}

static int host_sleep(fugue_ctx *ctx, long ms)
{
	fugue_call *call = call_of(ctx);
	fugue_cancel *c = call ? call->cancel : NULL;
	struct timespec deadline;
	int rc = 0;

	if (ms < 0)
		ms = 0;
	if (!c)
		return plain_sleep(ms);
	deadline = fugue_clock_deadline(ms);
	pthread_mutex_lock(&c->mutex);
	while (!atomic_load(&c->cancelled) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&c->cond, &c->mutex, &deadline);
	pthread_mutex_unlock(&c->mutex);
	return atomic_load(&c->cancelled) ? FUGUE_ECANCELED : 0;
}

static int host_cancelled(fugue_ctx *ctx)
{
	fugue_call *call = call_of(ctx);

	return call ? fugue_cancel_is_set(call->cancel) : 0;
}

static const struct json_object *host_declared(fugue_ctx *ctx, const char *resource)
{
	fugue_call *call = call_of(ctx);

	if (!call || !call->declared || !resource)
		return NULL;
	return call->declared(resource, call->declared_payload);
}

/* The batch index of ITEM, or CALL->nitems when it does not point into
 * the batch. */
static size_t item_index(const fugue_call *call, const fugue_observation *item)
{
	uintptr_t base = (uintptr_t)call->items;
	uintptr_t at = (uintptr_t)item;

	if (!call->items || at < base || (at - base) % sizeof(*item) != 0 ||
	    (at - base) / sizeof(*item) >= call->nitems)
		return call->nitems;
	return (at - base) / sizeof(*item);
}

static void host_duplicate(fugue_ctx *ctx, const fugue_observation *item,
                           struct json_object *state)
{
	fugue_call *call = call_of(ctx);
	size_t k = item_index(call, item);

	pthread_mutex_lock(&call->mutex);
	if (k < call->nitems && state && call->nduplicates == call->duplicates_cap) {
		size_t cap = call->duplicates_cap ? 2 * call->duplicates_cap : 4;
		fugue_duplicate *grown = realloc(call->duplicates, cap * sizeof(*grown));

		if (grown) {
			call->duplicates = grown;
			call->duplicates_cap = cap;
		}
	}
	if (k < call->nitems && state && call->nduplicates < call->duplicates_cap) {
		call->duplicates[call->nduplicates].item = k;
		call->duplicates[call->nduplicates].state = state;
		call->nduplicates++;
		state = NULL;
	}
	pthread_mutex_unlock(&call->mutex);
	if (state)
		fugue_log(FUGUE_LOG_WARN, "%s: a duplicate reported outside the batch, or out of "
		          "memory: not tracked", ctx->type ? ctx->type : "observe");
	json_object_put(state);
}

static int host_details_due(fugue_ctx *ctx, const fugue_observation *item)
{
	const fugue_call *call = call_of(ctx);
	size_t k = item_index(call, item);

	return !call->details || k >= call->nitems || call->details[k];
}

static const fugue_host kernel_host = {
	.struct_size = sizeof(fugue_host),
	.abi_major = FUGUE_PLANNER_ABI_MAJOR,
	.abi_minor = FUGUE_PLANNER_ABI_MINOR,
	.fail = host_fail,
	.report = host_report,
	.progress = host_progress,
	.log = host_log,
	.sleep = host_sleep,
	.cancelled = host_cancelled,
	.declared = host_declared,
	.duplicate = host_duplicate,
	.details_due = host_details_due,
};

const fugue_host *fugue_kernel_host(void)
{
	return &kernel_host;
}

void fugue_call_ctx(fugue_ctx *ctx, fugue_call *call)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->struct_size = sizeof(*ctx);
	ctx->host = &kernel_host;
	ctx->host_private = call;
	ctx->fid = call->fid;
	ctx->resource = call->resource;
	ctx->type = call->type;
}
