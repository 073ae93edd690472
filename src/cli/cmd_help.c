/*
 * cmd_help.c - `mnemo help [<command> [<subcommand>]]`: the command list, or one command's
 * help by way of that command's own --help, so the two can never disagree.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

int cmd_help(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "+:h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }

    int nargs = argc - optind;
    if (nargs == 0) {
        mnemo__cli_print_usage(cli, stdout);
        return MNEMO_CLI_OK;
    }
    if (nargs > 2)
        return mnemo__cli_usage_error(cli, self, "too many arguments");

    char *name = argv[optind];
    const struct mnemo_cli_cmd *cmd = mnemo__cli_find(cli->commands, cli->n_commands, name);
    if (cmd == NULL)
        return mnemo__cli_usage_error(cli, NULL, "'%s' is not a mnemo command", name);

    /* Run the command as `<command> [<subcommand>] --help`. */
    char help_opt[] = "--help";
    char *sub_argv[4];
    int sub_argc = 0;
    sub_argv[sub_argc++] = name;
    if (nargs == 2)
        sub_argv[sub_argc++] = argv[optind + 1];
    sub_argv[sub_argc++] = help_opt;
    sub_argv[sub_argc] = NULL;
    return cmd->fn(cli, cmd, sub_argc, sub_argv);
}
