/*
 * cmd_obs_state.c - `mnemo archive ID [--reason R]`, `mnemo unarchive ID` and `mnemo forget ID`:
 * hide an observation from lists and search, bring it back, or delete it with its vectors.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

enum state_op { OP_ARCHIVE, OP_UNARCHIVE, OP_FORGET };

/* Parses "ID [--reason R]" (reason only for archive) and applies op. */
static int run_state(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv,
                     enum state_op op)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"reason", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    static const struct option opts_noreason[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const struct option *o = op == OP_ARCHIVE ? opts : opts_noreason;
    const char *reason = NULL;
    int64_t id;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", o, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'r') {
            reason = optarg;
            continue;
        }
        return mnemo__cli_bad_option(cli, self, c, argv, o);
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, self, "%s needs an observation id", argv[0]);
    if (optind + 1 < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind + 1]);
    if (mnemo__cli_parse_id(argv[optind], &id) != 0)
        return mnemo__cli_usage_error(cli, self, "invalid observation id '%s'", argv[optind]);

    struct mnemo_cli_mem m;
    struct mnemo_err err;
    if (mnemo__cli_mem_open(cli, op == OP_ARCHIVE ? MNEMO_CLI_MEM_PRIVACY : 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    int rc = 0;
    char *clean = NULL;
    const char *done = "";
    switch (op) {
    case OP_ARCHIVE:
        /* The reason is stored text like any other: it is cleaned first. */
        if (reason != NULL)
            rc = mnemo_privacy_redact(m.priv, reason, strlen(reason), &clean, NULL, NULL, &err);
        if (rc == 0)
            rc = mnemo_obs_archive(m.st, id, clean, &err);
        done = "archived";
        break;
    case OP_UNARCHIVE:
        rc = mnemo_obs_unarchive(m.st, id, &err);
        done = "unarchived";
        break;
    case OP_FORGET:
        rc = mnemo_obs_delete(m.st, id, &err);
        done = "forgot";
        break;
    }
    free(clean);
    int status = MNEMO_CLI_OK;
    if (rc == MNEMO_ENOTFOUND)
        status = mnemo__cli_fail("no observation #%lld", (long long)id);
    else if (rc != 0)
        status = mnemo__cli_fail_err(NULL, &err, rc);
    else
        printf("%s #%lld\n", done, (long long)id);
    mnemo__cli_mem_close(cli, &m);
    return status;
}

int cmd_archive(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    return run_state(cli, self, argc, argv, OP_ARCHIVE);
}

int cmd_unarchive(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    return run_state(cli, self, argc, argv, OP_UNARCHIVE);
}

int cmd_forget(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    return run_state(cli, self, argc, argv, OP_FORGET);
}
