/* flaky.h - drive tests/tools/flaky_server.py from a C test: start it on a
 * free loopback port, script its answers, read back what it received.
 * Shared by test_http, test_retry_client and test_malformed. */
#ifndef FUGUE_TEST_FLAKY_H
#define FUGUE_TEST_FLAKY_H

#include <json-c/json.h>

#include "buf.h"

/* "http://127.0.0.1:PORT" once flaky_start() returned. */
extern char flaky_base_url[64];

/* Starts the server (python3 $FUGUE_TEST_TOOLS/flaky_server.py); exits the
 * test process with the reason when it cannot. Returns 0. */
int flaky_start(void);
void flaky_stop(void);

/* A CUnit suite's setup for SDK calls against the server: libcurl
 * initialised, the server started, and the environment pointed at it
 * with dummy keys (KEY_ID, SECRET) and no shared config files, profile,
 * session token or attempt count from the machine. Returns 0 or -1. */
int flaky_suite_init(const char *key_id, const char *secret);
/* Stops the server and undoes what flaky_suite_init() set up. */
int flaky_suite_cleanup(void);

/* Sends METHOD PATH (BODY may be NULL) to a control endpoint with plain
 * libcurl, not the code under test; the answer's body goes to OUT (may be
 * NULL). Returns the HTTP status, 0 when nothing answered. */
long flaky_control(const char *method, const char *path, const char *body, fugue_buf *out);

/* Forgets what was recorded and loads JSON as the answer script. */
void flaky_script(const char *json);

/* The requests received since the last script, as a new array. */
struct json_object *flaky_recorded(void);

/* The string member KEY of OBJ, or NULL. Borrowed. */
const char *json_member(struct json_object *obj, const char *key);

#endif
