/*
 * cmd_version.c - `mnemo version`: mnemo's version and the SQLite library's.
 */
#include <stdio.h>

#include <sqlite3.h>

#include "cli/cli.h"

#ifndef MNEMO_VERSION
#error "MNEMO_VERSION must be defined by the build (CMakeLists.txt does)"
#endif

int cmd_version(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    /*
     * The library version, not the header's: a distribution upgrade can change the shared
     * library under an installed binary. This asks SQLite for a string; it opens nothing.
     */
    printf("mnemo %s (sqlite %s)\n", MNEMO_VERSION, sqlite3_libversion());
    return MNEMO_CLI_OK;
}
