/*
 * cmd_init.c - `mnemo init`: creates the home directory (0700) and the database.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/fs.h"

/* Mode of a newly created home: memories can hold code and secrets, so only the user. */
#define HOME_MODE 0700

int cmd_init(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    struct mnemo_err err;
    struct mnemo_store *st = NULL;
    struct stat sb;

    int status = mnemo__cli_parse_no_options(cli, self, argc, argv);
    if (status >= 0)
        return status;
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;

    mnemo_err_clear(&err);
    int rc = mnemo_fs_mkdir_p(cli->home, HOME_MODE, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(cli->home, &err, rc);

    /*
     * An existing home keeps the mode its owner gave it; changing permissions behind the
     * user's back would be a surprise, so looser ones get a warning with the fix instead.
     */
    if (stat(cli->home, &sb) != 0) {
        int e = errno;
        return mnemo__cli_fail("cannot stat '%s': %s", cli->home, strerror(e));
    }
    if ((sb.st_mode & 07777) != HOME_MODE)
        fprintf(stderr, "mnemo: warning: '%s' has mode %04o; run `chmod 700 '%s'`\n", cli->home,
                (unsigned)(sb.st_mode & 07777), cli->home);

    int existed = mnemo_fs_exists(cli->db_path);
    status = mnemo__cli_store_open(cli, MNEMO_STORE_CREATE | MNEMO_STORE_NO_CHECKPOINTER, &st);
    if (status != 0)
        return status;
    mnemo__cli_store_close(cli, st);

    if (existed)
        printf("mnemo store already initialized at %s\n", cli->db_path);
    else
        printf("initialized mnemo store at %s\n", cli->db_path);
    return MNEMO_CLI_OK;
}
