/* fuzz_protocol.c - libFuzzer target: the Conductor's socket protocol above
 * the socket. The input is what a client writes: lines, each a request
 * envelope (daemon/src/envelope.c parses it); a blank line is skipped as the
 * server skips it. Every request that parses is handled by a real Conductor
 * (fugue_conductor_handle: commands.c's argument decoding, lookups,
 * compiling and planning a `run`), opened once on a private state directory
 * with the AWS planners of this build and no AWS client.
 *
 * Kept deterministic and free of side effects that would make runs differ:
 * run, update, resume and kill get dryRun = true (nothing is created, so no
 * process ever exists and no job thread starts), and `runtime set/unset`
 * only has its key and value checked (fugue_core_setting_check), not
 * applied.
 *
 * Checked on every message the Conductor sends: one line (no raw newline),
 * valid JSON, an object with "protocol": 1 and the request's id; and
 * exactly one final message per request, sent before the handler returns. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conductor.h"
#include "conductor_internal.h"
#include "envelope.h"
#include "fugue/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fugue_conductor *conductor;
static char state_dir[] = "/tmp/fugue-fuzz-protocol-XXXXXX";

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* At the end of a run (libFuzzer exits through exit()): nothing left in /tmp. */
static void cleanup(void)
{
	fugue_conductor_free(conductor);
	conductor = NULL;
	nftw(state_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fugue_conductor_config cfg = FUGUE_CONDUCTOR_CONFIG_INIT;
	const char *planners = getenv("FUGUE_FUZZ_PLANNERS_DIR");
	char err[512];

	(void)argc;
	(void)argv;
	fugue_log_set_level(FUGUE_LOG_ERROR);
	if (!mkdtemp(state_dir)) {
		perror("fuzz_protocol: mkdtemp");
		abort();
	}
	cfg.state_dir = state_dir;
	cfg.planners_dir = planners ? planners : FUGUE_FUZZ_PLANNERS_DIR;
	cfg.no_aws = 1;
	cfg.concurrency = 1;
	cfg.region = "us-east-1";
	cfg.log_level = FUGUE_LOG_ERROR;
	if (fugue_conductor_open(&conductor, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_protocol: cannot open a conductor: %s\n", err);
		abort();
	}
	atexit(cleanup);
	return 0;
}

/* What one reply sent. */
struct sink {
	const char *id; /* the request's id, or NULL */
	int finals;
};

static const char *string_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The transport: checks each message as the client would read it. */
static int check_line(const char *line, size_t len, void *transport)
{
	struct sink *s = transport;
	struct json_object *msg, *v;
	const char *id;

	if (memchr(line, '\n', len) || strlen(line) != len)
		abort(); /* a message is one line, without NULs */
	msg = json_tokener_parse(line);
	if (!msg || !json_object_is_type(msg, json_type_object))
		abort();
	if (!json_object_object_get_ex(msg, "protocol", &v) || json_object_get_int(v) != 1)
		abort();
	id = string_member(msg, "id");
	if ((s->id == NULL) != (id == NULL) || (id && strcmp(id, s->id) != 0))
		abort(); /* every message carries the request's id */
	if (json_object_object_get_ex(msg, "ok", NULL))
		s->finals++;
	json_object_put(msg);
	return 0;
}

/* Keeps the request free of lasting effects (see the header comment).
 * Returns nonzero when the harness answered it itself. */
static int tame(fugue_request *req, fugue_reply *reply)
{
	static const char *const jobs[] = { "run", "update", "resume", "kill" };
	const char *op = string_member(req->args, "op");
	size_t i;
	int planner;
	char why[256];

	for (i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++) {
		if (strcmp(req->command, jobs[i]) == 0)
			json_object_object_add(req->args, "dryRun", json_object_new_boolean(1));
	}
	if (strcmp(req->command, "runtime") != 0 || !op ||
	    (strcmp(op, "set") != 0 && strcmp(op, "unset") != 0))
		return 0;
	if (fugue_core_setting_check(conductor, string_member(req->args, "key") ?
	                                                string_member(req->args, "key") : "",
	                             string_member(req->args, "value"), &planner, why,
	                             sizeof(why)) != 0)
		fugue_reply_error(reply, FUGUE_ERR_BAD_ARGS, NULL, "%s", why);
	else
		fugue_reply_ok(reply, NULL);
	return 1;
}

static void one_line(const char *line, size_t len)
{
	struct sink sink = { NULL, 0 };
	fugue_request req;
	fugue_reply *reply;
	const char *code;
	char msg[256];
	int bad = fugue_request_parse(&req, line, len, &code, msg, sizeof(msg));

	sink.id = req.id;
	reply = fugue_reply_new(req.id, check_line, &sink);
	if (!reply)
		abort();
	if (bad)
		fugue_reply_error(reply, code, NULL, "%s", msg);
	else {
		req.uid = getuid();
		req.pid = getpid();
		if (!tame(&req, reply))
			fugue_conductor_handle(&req, reply, conductor);
	}
	if (sink.finals != 1 || !fugue_reply_finished(reply))
		abort(); /* one final message, at once: nothing here starts a job */
	fugue_reply_detach(reply);
	fugue_reply_unref(reply);
	fugue_request_clear(&req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	const char *end = p + size;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *stop = nl ? nl : end;
		size_t len = (size_t)(stop - p);

		if (!fugue_request_line_is_blank(p, len)) /* as the server */
			one_line(p, len);
		p = nl ? nl + 1 : end;
	}
	return 0;
}
