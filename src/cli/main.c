/*
 * main.c - mnemo's entry point: the command table, global options and dispatch.
 *
 * `mnemo [--help] [--version] <command> [<args>]`. Global options stop at the first
 * non-option ("+" in the option string), so each command parses the rest with its own
 * getopt_long. Exit statuses: 0 success, 1 failure, 2 usage error.
 */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/log.h"

/* The top-level commands, sorted by name (mnemo__cli_find searches them with bsearch). */
static const struct mnemo_cli_cmd commands[] = {
    {
        "db",
        cmd_db,
        "mnemo db <check|checkpoint|optimize|stats> [<options>]",
        "inspect and maintain the database: check, checkpoint, optimize, stats",
        "Inspects and maintains the database in $MNEMO_HOME/mnemo.db. Each subcommand opens the\n"
        "existing database (run `mnemo init` first), does its work through the store and closes\n"
        "it again; SQLite's locks make this safe while other mnemo processes use the database.\n",
    },
    {
        "doctor",
        cmd_doctor,
        "mnemo doctor",
        "check the home, the database and the disk, and say how to fix problems",
        "Checks mnemo's home directory, database and disk and prints one line per check,\n"
        "marked ok, warn or FAIL, with the fix for anything that is not ok:\n"
        "\n"
        "  home       the home directory exists, is yours and has mode 0700\n"
        "  database   the database file exists (doctor never creates it)\n"
        "  store      the database opens, and its schema version\n"
        "  health     the store's health check and the latency of its probe query\n"
        "  wal        the write-ahead log is within the checkpoint threshold\n"
        "  disk       free space on the home's file system (warns under 1 GiB or 5 %)\n"
        "  sqlite     the SQLite library in use\n"
        "\n"
        "The last line sums up: healthy, degraded (warnings only) or the number of problems.\n"
        "Exits 0 when no check failed, 1 otherwise.\n",
    },
    {
        "help",
        cmd_help,
        "mnemo help [<command> [<subcommand>]]",
        "show the list of commands, or one command's help",
        "Without arguments prints the usage and the list of commands. With a command (and, for\n"
        "`db`, a subcommand) prints that command's help, like `mnemo <command> --help`.\n",
    },
    {
        "init",
        cmd_init,
        "mnemo init",
        "create the mnemo home and the database",
        "Creates the mnemo home directory with mode 0700 and the database in it, and prints\n"
        "the database's path. Running it again is safe: an existing home and database are kept\n"
        "as they are (a home with looser permissions gets a warning, not a change).\n"
        "\n"
        "The home is $MNEMO_HOME, or ~/.mnemo when MNEMO_HOME is not set.\n",
    },
    {
        "version",
        cmd_version,
        "mnemo version",
        "print the versions of mnemo and of SQLite",
        "Prints mnemo's version and the version of the SQLite library it runs with, as\n"
        "`mnemo <version> (sqlite <version>)`. `mnemo --version` does the same.\n",
    },
};

/*
 * Opens the stderr logger at MNEMO_LOG_LEVEL (default warn). An unknown level is reported
 * and replaced by the default rather than refused: a typo in the environment should not
 * stop a command that hooks may depend on.
 */
static int open_logger(struct mnemo_cli *cli)
{
    enum mnemo_log_level level = MNEMO_LOG_WARN;
    const char *env = getenv("MNEMO_LOG_LEVEL");
    if (env != NULL && env[0] != '\0' && mnemo_log_level_parse(env, &level) != 0) {
        fprintf(stderr,
                "mnemo: ignoring MNEMO_LOG_LEVEL='%s' (expected debug, info, warn or error)\n",
                env);
        level = MNEMO_LOG_WARN;
    }

    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = mnemo_log_open(NULL, level, &cli->log, &err);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    return 0;
}

/*
 * Flushes stdout and reports a failed write (a full disk, a closed pipe): a command whose
 * output was lost must not exit 0.
 */
static int finish_stdout(int status)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        mnemo__cli_fail("cannot write to standard output: %s", strerror(e));
        if (status == MNEMO_CLI_OK)
            status = MNEMO_CLI_FAIL;
    }
    return status;
}

/* Parses the global options and runs the command. Returns the exit status. */
static int dispatch(struct mnemo_cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *forced = NULL;

    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "+:hV", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h' || c == 'V') {
            forced = c == 'h' ? "help" : "version";
            break;
        }
        return mnemo__cli_bad_option(cli, NULL, c, argv, opts);
    }

    if (forced != NULL) {
        /*
         * `mnemo --help [<command>]` is `mnemo help [<command>]`. The option itself stands in
         * as the command's argv[0], which getopt_long never looks at.
         */
        const struct mnemo_cli_cmd *cmd = mnemo__cli_find(cli->commands, cli->n_commands, forced);
        assert(cmd != NULL);
        return cmd->fn(cli, cmd, argc - optind + 1, argv + optind - 1);
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, NULL, "no command given");

    const char *name = argv[optind];
    const struct mnemo_cli_cmd *cmd = mnemo__cli_find(cli->commands, cli->n_commands, name);
    if (cmd == NULL)
        return mnemo__cli_usage_error(cli, NULL, "'%s' is not a mnemo command", name);
    return cmd->fn(cli, cmd, argc - optind, argv + optind);
}

int main(int argc, char **argv)
{
    struct mnemo_cli cli;

    /* Memories are private: the database, its -wal/-shm and anything else mnemo creates are
     * readable by the user alone, whatever the login shell's umask. */
    umask(077);
    memset(&cli, 0, sizeof cli);
    cli.commands = commands;
    cli.n_commands = sizeof commands / sizeof commands[0];
    assert(mnemo__cli_table_sorted(cli.commands, cli.n_commands));

    int status = open_logger(&cli);
    if (status == 0)
        status = dispatch(&cli, argc, argv);
    status = finish_stdout(status);
    mnemo_log_close(cli.log);
    return status;
}
