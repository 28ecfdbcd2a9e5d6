/* testmain.h - the shared main() of every CUnit test executable.
 *
 * A test file defines fugue_test_register(), adding its suites with
 * CU_add_suite / CU_add_test; testmain.c runs them with the basic runner
 * and exits 1 when any assertion failed or a suite could not start, so
 * CTest sees the failure. `./test_x SUITE` runs one suite alone. */
#ifndef FUGUE_TESTMAIN_H
#define FUGUE_TESTMAIN_H

#include <CUnit/CUnit.h>

/* Defined by each test file. Returns 0, or nonzero if registration failed. */
int fugue_test_register(void);

/* The value of environment variable NAME. A test that needs it and finds it
 * missing fails loudly with WHY (e.g. "run me through tests/tools/with_moto.py"),
 * never passes by skipping: the process exits 1 with the message on stderr. */
const char *fugue_test_require_env(const char *name, const char *why);

/* S, or "(null)": CUnit's string assertions crash on NULL, and a missing
 * value must fail the assertion instead. */
const char *fugue_test_nn(const char *s);

/* A fresh temporary directory (mkdtemp under TMPDIR), removed recursively
 * by fugue_test_rmtree(). Returns a malloc'd path. */
char *fugue_test_tmpdir(void);
void fugue_test_rmtree(const char *path);

/* Writes CONTENT to DIR/NAME; returns a malloc'd full path. */
char *fugue_test_write_file(const char *dir, const char *name, const char *content);

#endif
