/* watch.c - following a job's events (see watch.h).
 *
 * Events arrive on the main thread, inside fugue_client_request. On a
 * terminal a ticker thread redraws the progress line every 100 ms when its
 * text changed (the elapsed seconds tick even while no event comes); the
 * event callback only prints the permanent lines above it. Both hold the
 * watch's mutex while they write to stdout. */
#include "watch.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cmd_util.h"
#include "plan_print.h"

#define TICK_MS 100
#define ERASE_LINE "\r\033[K"

/* A resource of the plan and how many of its calls have not ended yet (a
 * replace makes two: create and delete). */
typedef struct tracked {
	char *name;
	int remaining;
} tracked;

typedef struct watch {
	const fugue_cli *cli;
	const fugue_job_spec *spec;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	pthread_t ticker;
	int ticking;      /* the ticker thread runs */
	int stop;         /* tells it to end */
	int line_shown;   /* the progress line is on the screen */
	char drawn[1024]; /* its text */
	struct timespec t0;
	char *fid;
	char *alias;
	int accepted;     /* "accepted: ..." printed */
	tracked *res;
	size_t nres;
	long total;       /* resources the plan acts on */
	long done;        /* ... whose calls all ended */
	char **flight;    /* resources with a call in flight (owned strings) */
	size_t nflight;
	size_t capflight;
} watch;

static double elapsed(const watch *w)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - w->t0.tv_sec) + (double)(now.tv_nsec - w->t0.tv_nsec) / 1e9;
}

static void set_text(char **dst, const char *s)
{
	if (!s)
		return;
	free(*dst);
	*dst = strdup(s);
}

/* How the process is called in messages: its alias, else its FID, else what
 * the user typed, else the file. */
static const char *process_name(const watch *w)
{
	if (w->alias)
		return w->alias;
	if (w->fid)
		return w->fid;
	if (w->spec->process)
		return w->spec->process;
	return w->spec->source_name ? w->spec->source_name : "?";
}

static const char *color(const watch *w, fugue_cli_color c)
{
	return fugue_cli_color_on(w->cli, c);
}

static const char *reset(const watch *w)
{
	return fugue_cli_reset(w->cli);
}

/* --- the progress line (terminal only) ------------------------------------------ */

static int terminal_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

/* "[4s] 3/12 resources done, 2 in flight: vpc, web", cut to the terminal's
 * width so that it never wraps (a wrapped line cannot be redrawn with \r). */
static void compose(const watch *w, char *buf, size_t size)
{
	size_t max = (size_t)terminal_width() - 1;
	size_t len;
	size_t i;

	if (max >= size)
		max = size - 1;
	if (w->total > 0)
		snprintf(buf, size, "[%lds] %ld/%ld resources done", (long)elapsed(w), w->done,
		         w->total);
	else
		snprintf(buf, size, "[%lds] waiting for the Conductor", (long)elapsed(w));
	len = strlen(buf);
	if (w->nflight > 0)
		len += (size_t)snprintf(buf + len, size - len, ", %zu in flight:", w->nflight);
	for (i = 0; i < w->nflight && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s %s", i ? "," : "", w->flight[i]);
	if (len > max) {
		const char *more = w->cli->utf8 ? "\u2026" : "...";

		buf[max - 3] = '\0';
		strcat(buf, more);
	}
}

/* Redraws the line when its text changed. Called with the mutex held. */
static void draw(watch *w)
{
	char text[sizeof(w->drawn)];

	compose(w, text, sizeof(text));
	if (w->line_shown && strcmp(text, w->drawn) == 0)
		return;
	fputs(ERASE_LINE, stdout);
	fputs(text, stdout);
	fflush(stdout);
	memcpy(w->drawn, text, sizeof(text));
	w->line_shown = 1;
}

static void erase(watch *w)
{
	if (!w->line_shown)
		return;
	fputs(ERASE_LINE, stdout);
	fflush(stdout);
	w->line_shown = 0;
}

static void *tick(void *arg)
{
	watch *w = arg;
	struct timespec until;

	pthread_mutex_lock(&w->mu);
	while (!w->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += TICK_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->mu, &until);
		if (!w->stop)
			draw(w);
	}
	erase(w);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Starts the ticker with every signal blocked in it, so that Ctrl-C reaches
 * the main thread waiting in fugue_client_request. */
static void start_ticker(watch *w)
{
	sigset_t all;
	sigset_t old;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	w->ticking = pthread_create(&w->ticker, NULL, tick, w) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void stop_ticker(watch *w)
{
	if (!w->ticking)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->ticker, NULL);
	w->ticking = 0;
}

/* --- permanent lines ------------------------------------------------------------ */

/* Prints one line (no newline in FMT) on stdout, above the progress line.
 * Called with the mutex held. */
static void say(watch *w, fugue_cli_color c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(watch *w, fugue_cli_color c, const char *fmt, ...)
{
	va_list ap;

	erase(w);
	if (c != FUGUE_COLOR_NONE)
		fputs(color(w, c), stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (c != FUGUE_COLOR_NONE)
		fputs(reset(w), stdout);
	fputc('\n', stdout);
	fflush(stdout);
}

/* --- what the plan does ---------------------------------------------------------- */

static void track_plan(watch *w, const struct json_object *plan)
{
	struct json_object *actions = fugue_j_array(plan, "actions");
	size_t n = fugue_j_len(actions);
	size_t i;

	if (w->res)
		return; /* one plan per job */
	w->res = calloc(n ? n : 1, sizeof(*w->res));
	if (!w->res)
		return;
	for (i = 0; i < n; i++) {
		const struct json_object *a = fugue_j_at(actions, i);
		const char *kind = fugue_j_str(a, "action");
		const char *name = fugue_j_str(a, "resource");

		if (!kind || !name || strcmp(kind, "none") == 0)
			continue;
		w->res[w->nres].name = strdup(name);
		w->res[w->nres].remaining = strcmp(kind, "replace") == 0 ? 2 : 1;
		w->nres++;
	}
	w->total = (long)w->nres;
}

/* A call of RESOURCE ended (done, failed or skipped). */
static void call_ended(watch *w, const char *resource)
{
	size_t i;

	for (i = 0; resource && i < w->nres; i++) {
		if (w->res[i].name && strcmp(w->res[i].name, resource) == 0 &&
		    w->res[i].remaining > 0) {
			if (--w->res[i].remaining == 0)
				w->done++;
			return;
		}
	}
}

static void flight_add(watch *w, const char *resource)
{
	char **grown;

	if (!resource)
		return;
	if (w->nflight == w->capflight) {
		size_t cap = w->capflight ? w->capflight * 2 : 16;

		grown = realloc(w->flight, cap * sizeof(*grown));
		if (!grown)
			return;
		w->flight = grown;
		w->capflight = cap;
	}
	w->flight[w->nflight] = strdup(resource);
	if (w->flight[w->nflight])
		w->nflight++;
}

static void flight_remove(watch *w, const char *resource)
{
	size_t i;

	for (i = 0; resource && i < w->nflight; i++) {
		if (strcmp(w->flight[i], resource) == 0) {
			free(w->flight[i]);
			memmove(&w->flight[i], &w->flight[i + 1],
			        (w->nflight - i - 1) * sizeof(*w->flight));
			w->nflight--;
			return;
		}
	}
}

/* --- events ---------------------------------------------------------------------- */

static void print_accepted(watch *w)
{
	if (w->accepted || w->cli->json || w->spec->dry_run || !w->fid)
		return;
	w->accepted = 1;
	if (w->alias)
		say(w, FUGUE_COLOR_NONE, "accepted: process %s (%s)", w->alias, w->fid);
	else
		say(w, FUGUE_COLOR_NONE, "accepted: process %s", w->fid);
}

static void on_plan(watch *w, const struct json_object *plan)
{
	track_plan(w, plan);
	if (w->cli->json || w->spec->dry_run)
		return;
	erase(w);
	if (w->spec->full_plan) {
		fugue_cli_plan_print(w->cli, plan);
		fputc('\n', stdout);
	} else {
		fugue_plan_render_summary(stdout, plan);
	}
	fflush(stdout);
}

static void on_progress(watch *w, const struct json_object *d)
{
	const char *res = fugue_j_str(d, "resource");
	const char *action = fugue_j_str(d, "action");
	const char *phase = fugue_j_str(d, "phase");
	const char *message = fugue_j_str(d, "message");
	const char *id = fugue_j_str(d, "id");
	int tty = w->cli->tty_out;
	char why[1024];

	if (!phase || !res)
		return;
	if (!action)
		action = "?";
	if (strcmp(phase, "start") == 0) {
		flight_add(w, res);
		if (!tty && !w->cli->json)
			say(w, FUGUE_COLOR_NONE, "%s %s ...", action, res);
		return;
	}
	if (strcmp(phase, "done") == 0 || strcmp(phase, "failed") == 0)
		flight_remove(w, res);
	if (strcmp(phase, "done") == 0 || strcmp(phase, "failed") == 0 ||
	    strcmp(phase, "skipped") == 0)
		call_ended(w, res);
	if (w->cli->json)
		return;
	if (strcmp(phase, "done") == 0) {
		say(w, FUGUE_COLOR_GREEN, "%s %s ... done%s%s", action, res, id ? " " : "",
		    id ? id : "");
	} else if (strcmp(phase, "failed") == 0 && message && strncmp(message, "cancel", 6) == 0) {
		/* A call in flight when another command stopped the job. */
		say(w, FUGUE_COLOR_YELLOW, "%s %s ... cancelled", action, res);
	} else if (strcmp(phase, "failed") == 0) {
		say(w, FUGUE_COLOR_RED, "%s %s ... failed: %s", action, res,
		    fugue_cli_describe_error(why, sizeof(why), fugue_j_str(d, "errorCode"), message,
		                   fugue_j_str(d, "requestId")));
	} else if (strcmp(phase, "retry") == 0) {
		say(w, FUGUE_COLOR_YELLOW, "%s %s ... retrying: %s", action, res,
		    fugue_cli_describe_error(why, sizeof(why), fugue_j_str(d, "errorCode"), message,
		                   fugue_j_str(d, "requestId")));
	} else if (strcmp(phase, "skipped") == 0) {
		say(w, FUGUE_COLOR_YELLOW, "%s %s ... skipped%s%s", action, res,
		    message ? ": " : "", message ? message : "");
	} else if (message) {
		say(w, FUGUE_COLOR_DIM, "%s %s ... %s", action, res, message);
	}
}

static void on_event(const char *event, const struct json_object *data, void *payload)
{
	watch *w = payload;

	pthread_mutex_lock(&w->mu);
	if (strcmp(event, "accepted") == 0 || strcmp(event, "job") == 0) {
		if (!w->fid)
			set_text(&w->fid, fugue_j_str(data, "fid"));
		if (!w->alias)
			set_text(&w->alias, fugue_j_str(data, "alias"));
		if (strcmp(event, "accepted") == 0)
			print_accepted(w);
	} else if (strcmp(event, "plan") == 0) {
		on_plan(w, data);
	} else if (strcmp(event, "progress") == 0) {
		on_progress(w, data);
	}
	pthread_mutex_unlock(&w->mu);
}

/* --- the outcome ------------------------------------------------------------------ */

static void learn(watch *w, const struct json_object *result)
{
	set_text(&w->fid, fugue_j_str(result, "fid"));
	set_text(&w->alias, fugue_j_str(result, "alias"));
}

static int converged(watch *w, const struct json_object *result)
{
	const struct json_object *plan = fugue_j_get(result, "plan");
	const char *name = process_name(w);
	const char *state = fugue_j_str(result, "state");
	double secs = elapsed(w);
	long n[5];

	print_accepted(w);
	if (w->spec->dry_run) {
		fugue_cli_plan_print(w->cli, plan);
		return FUGUE_EXIT_OK;
	}
	if (!w->spec->wait) {
		printf("process %s goes on in the Conductor%s%s; "
		       "follow it with `fugue status %s`\n",
		       name, state ? ": " : "", state ? state : "", name);
		return FUGUE_EXIT_OK;
	}
	fugue_plan_counts(n, plan);
	if (strcmp(w->spec->command, "kill") == 0) {
		printf("%sprocess %s killed%s: %ld resource%s deleted in %.1fs\n",
		       color(w, FUGUE_COLOR_GREEN), name, reset(w), n[3] + n[2],
		       n[3] + n[2] == 1 ? "" : "s", secs);
		return FUGUE_EXIT_OK;
	}
	printf("%sprocess %s converged%s: %ld resource%s ready in %.1fs\n",
	       color(w, FUGUE_COLOR_GREEN), name, reset(w), n[0] + n[1] + n[2] + n[4],
	       n[0] + n[1] + n[2] + n[4] == 1 ? "" : "s", secs);
	return FUGUE_EXIT_OK;
}

/* A job that did not converge: each failing resource with the AWS code,
 * message and request id, then the skipped ones, on stderr. */
static int failed(watch *w, const struct json_object *error)
{
	const struct json_object *details = fugue_j_get(error, "details");
	struct json_object *errors = fugue_j_array(details, "errors");
	const char *message = fugue_j_str(error, "message");
	const char *name;
	long nfailed = 0;
	size_t i;
	char why[1024];

	learn(w, details);
	name = process_name(w);
	for (i = 0; i < fugue_j_len(errors); i++)
		nfailed += !fugue_j_bool(fugue_j_at(errors, i), "skipped", 0);
	if (nfailed > 0)
		fugue_cli_error(w->cli, "process %s failed after %.1fs: %ld resource%s failed",
		                name, elapsed(w), nfailed, nfailed == 1 ? "" : "s");
	else
		fugue_cli_error(w->cli, "process %s failed after %.1fs: %s", name, elapsed(w),
		                message ? message : "failed");
	for (i = 0; i < fugue_j_len(errors); i++) {
		const struct json_object *e = fugue_j_at(errors, i);
		const char *res = fugue_j_str(e, "resource");
		const char *action = fugue_j_str(e, "action");

		const char *what = fugue_j_str(e, "message");

		if (fugue_j_bool(e, "skipped", 0)) {
			fprintf(stderr, "  %s (%s): skipped: %s\n", res ? res : "?",
			        action ? action : "?", what ? what : "not run");
			continue;
		}
		fprintf(stderr, "  %s (%s): %s\n", res ? res : "?", action ? action : "?",
		        fugue_cli_describe_error(why, sizeof(why), fugue_j_str(e, "code"), what,
		                       fugue_j_str(e, "requestId")));
	}
	if (strcmp(w->spec->command, "kill") == 0)
		fugue_cli_hint(w->cli, "the Conductor retries the kill with a backoff; "
		                       "follow it with `fugue status %s`", name);
	else
		fugue_cli_hint(w->cli, "the Conductor retries it with a backoff; `fugue status %s` "
		                       "and `fugue history %s` tell more", name, name);
	return FUGUE_EXIT_FAILED;
}

static int detached(watch *w)
{
	const char *name = process_name(w);

	if (w->cli->json) {
		struct json_object *o = json_object_new_object();

		fugue_j_put(o, "fid", w->fid ? json_object_new_string(w->fid) : NULL);
		fugue_j_put(o, "alias", w->alias ? json_object_new_string(w->alias) : NULL);
		fugue_j_put(o, "detached", json_object_new_boolean(1));
		fugue_cli_print_json(w->cli, o);
		json_object_put(o);
		return FUGUE_EXIT_DETACHED;
	}
	if (!w->fid && !w->spec->process)
		fprintf(stderr, "detached: the Conductor may still start the process; "
		                "see `fugue status`\n");
	else if (strcmp(w->spec->command, "kill") == 0)
		fprintf(stderr, "detached: the kill of process %s goes on in the Conductor; "
		                "follow it with `fugue status %s`\n", name, name);
	else
		fprintf(stderr, "detached: process %s goes on in the Conductor; follow it with "
		                "`fugue status %s`\n", name, name);
	return FUGUE_EXIT_DETACHED;
}

static int outcome(watch *w, const struct json_object *final)
{
	const struct json_object *result = fugue_cli_result(final);
	const struct json_object *error = fugue_j_get(final, "error");
	const char *code = fugue_j_str(error, "code");

	if (result) {
		learn(w, result);
		if (w->cli->json) {
			fugue_cli_print_json(w->cli, result);
			return FUGUE_EXIT_OK;
		}
		return converged(w, result);
	}
	if (!w->cli->json && code && strcmp(code, "failed") == 0 && fugue_j_get(error, "details"))
		return failed(w, error);
	return fugue_cli_report_error(w->cli, final);
}

static void announce(const watch *w)
{
	const fugue_job_spec *s = w->spec;

	if (w->cli->json || s->dry_run)
		return;
	if (s->source_name)
		printf("sending %s to the Conductor\n", s->source_name);
	else if (strcmp(s->command, "kill") == 0)
		printf("killing process %s\n", s->process);
	else if (strcmp(s->command, "resume") == 0)
		printf("resuming process %s\n", s->process);
	fflush(stdout);
}

int fugue_cli_job(const fugue_cli *cli, const fugue_job_spec *spec,
                  const struct json_object *args)
{
	struct json_object *final = NULL;
	watch w;
	size_t i;
	int rc;

	memset(&w, 0, sizeof(w));
	w.cli = cli;
	w.spec = spec;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cond, NULL);
	announce(&w);
	clock_gettime(CLOCK_MONOTONIC, &w.t0);
	if (cli->tty_out && !cli->json && spec->wait && !spec->dry_run)
		start_ticker(&w);
	rc = fugue_cli_call(cli, spec->command, args, on_event, &w, &final);
	stop_ticker(&w);
	if (rc == FUGUE_EXIT_DETACHED)
		rc = detached(&w);
	else if (rc == 0)
		rc = outcome(&w, final);
	fflush(stdout);
	json_object_put(final);
	for (i = 0; i < w.nres; i++)
		free(w.res[i].name);
	free(w.res);
	for (i = 0; i < w.nflight; i++)
		free(w.flight[i]);
	free(w.flight);
	free(w.fid);
	free(w.alias);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.mu);
	return rc;
}

void fugue_cli_plan_print(const fugue_cli *cli, const struct json_object *plan)
{
	fugue_plan_style st;

	memset(&st, 0, sizeof(st));
	st.utf8 = cli->utf8;
	st.create = fugue_cli_color_on(cli, FUGUE_COLOR_GREEN);
	st.update = fugue_cli_color_on(cli, FUGUE_COLOR_YELLOW);
	st.replace = fugue_cli_color_on(cli, FUGUE_COLOR_RED);
	st.remove = fugue_cli_color_on(cli, FUGUE_COLOR_RED);
	st.reset = fugue_cli_reset(cli);
	fugue_plan_render(stdout, plan, &st);
}
