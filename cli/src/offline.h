/* offline.h - compiling a composition in the `fugue` process itself, with
 * the kernel's registry and compiler: what `validate` and `graph FILE` share. */
#ifndef FUGUE_CLI_OFFLINE_H
#define FUGUE_CLI_OFFLINE_H

#include "cli.h"
#include "compiler.h"
#include "registry.h"

/* The planners directory: FLAG (--planners-dir, may be NULL), else
 * $FUGUE_PLANNERS_DIR, else the installed one. Borrowed (static or FLAG). */
const char *fugue_cli_planners_dir(const char *flag);

/* Loads the planners of DIR into a new registry (*OUT the caller's,
 * fugue_registry_free). Refused planners are printed as warnings on
 * stderr. Returns 0, or FUGUE_EXIT_FAILED when DIR cannot be read (printed,
 * with a hint). */
int fugue_cli_load_planners(fugue_registry **out, const fugue_cli *cli, const char *dir);

/* Compiles the file at PATH with REG. Returns 0 with *OUT the caller's
 * (fugue_composition_free), or nonzero with the errors in DIAGS (*OUT NULL). */
int fugue_cli_compile(fugue_composition **out, fugue_diags *diags, const fugue_registry *reg,
                      const char *path);

#endif
