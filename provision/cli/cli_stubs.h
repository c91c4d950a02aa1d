/* The default flasher stubs, for the CLI commands that talk to boards. */
#ifndef ESPPROV_CLI_STUBS_H
#define ESPPROV_CLI_STUBS_H

#include <stdbool.h>
#include <stdio.h>

#include "flasher/flasher.h"

/* Finds the `family` stubs next to this binary, in ../share/espprov/stubs,
 * or under $ESPPROV_STUB_DIR. None found: one note on stderr (with the
 * command that fixes it) and *found = false; the run uses the ROM loader.
 * A broken stub file fails (CLI_FAILED, printed). */
int cli_stubs_find(struct fl_stub_set *set, enum fl_stub_family family, bool *found);
/* "--stub-family" argument; prints the usage error itself. */
bool cli_stubs_parse_family(const char *usage, const char *text, enum fl_stub_family *out);
/* The stub packages this binary would use, for --version. */
void cli_stubs_print_version(FILE *out);

#endif
