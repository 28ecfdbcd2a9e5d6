/* kit_wait.c - fugue_kit_wait_for() and fugue_kit_wait_gone() (planner_kit.h):
 * polls with backoff, a deadline and progress lines, cancellable through the
 * host's sleep. */
#include "planner_kit.h"

#include <time.h>

#include <json-c/json.h>

#define WAIT_DEADLINE_MS 300000L
#define WAIT_FIRST_MS 250L
#define WAIT_MAX_MS 5000L
/* The first progress line after this long, then one per interval: an
 * operator sees that a long wait is alive without a line per poll. */
#define WAIT_PROGRESS_FIRST_MS 5000L
#define WAIT_PROGRESS_EVERY_MS 15000L

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

/* What one poll of fugue_kit_wait_gone() reads. */
struct gone_poll {
	fugue_kit_read_fn read;
	const char *id;
};

static int poll_gone(fugue_ctx *ctx, void *arg, int *done)
{
	const struct gone_poll *g = arg;
	struct json_object *out = NULL;
	int rc = g->read(&out, ctx, g->id);

	json_object_put(out);
	*done = rc == FUGUE_ENOTFOUND;
	return *done ? 0 : rc;
}

int fugue_kit_wait_gone(fugue_ctx *ctx, const fugue_kit_wait *w, fugue_kit_read_fn read,
                        const char *id)
{
	struct gone_poll g = { read, id };

	return fugue_kit_wait_for(ctx, w, poll_gone, &g);
}
