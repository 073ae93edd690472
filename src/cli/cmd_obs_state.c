/*
 * cmd_obs_state.c - `mnemo archive ID [--reason R]`, `mnemo unarchive ID` and `mnemo forget ID`:
 * hide an observation from lists and search, bring it back, or delete it with its vectors.
 * Through the worker when one runs (it also updates its vector index), else the library.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"

enum state_op { OP_ARCHIVE, OP_UNARCHIVE, OP_FORGET };

/* Parses "ID [--reason R]" (reason only for archive) and applies op. */
/* Asks the worker. 0, MNEMO_ECLOSED (no worker) or the worker's error code with err. */
static int via_worker(struct mnemo_cli *cli, enum state_op op, int64_t id, const char *reason,
                      struct mnemo_err *err)
{
    static const char *const verbs[] = {"archive", "unarchive", ""};
    char path[96];
    json_t *body = NULL, *ans = NULL;

    if (op == OP_FORGET)
        snprintf(path, sizeof path, "/v1/observations/%lld", (long long)id);
    else
        snprintf(path, sizeof path, "/v1/observations/%lld/%s", (long long)id, verbs[op]);
    if (reason != NULL) {
        body = json_pack("{s:s}", "reason", reason);
        if (body == NULL)
            return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    int rc =
        mnemo__cli_worker_json(cli, op == OP_FORGET ? "DELETE" : "POST", path, body, &ans, err);
    json_decref(body);
    json_decref(ans);
    return rc;
}

/* Does the same through the library. 0, a code with err, or MNEMO_CLI_FAIL (printed). */
static int via_library(struct mnemo_cli *cli, enum state_op op, int64_t id, const char *reason,
                       struct mnemo_err *err)
{
    struct mnemo_cli_mem m;
    int rc = 0;

    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    switch (op) {
    case OP_ARCHIVE:
        rc = mnemo_obs_archive(m.st, id, reason, err);
        break;
    case OP_UNARCHIVE:
        rc = mnemo_obs_unarchive(m.st, id, err);
        break;
    case OP_FORGET:
        rc = mnemo_obs_delete(m.st, id, err);
        break;
    }
    mnemo__cli_mem_close(cli, &m);
    return rc;
}

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

    struct mnemo_err err;
    char *clean = NULL;
    mnemo_err_clear(&err);
    int rc = 0;
    /* The reason is stored text like any other: it is cleaned first. */
    if (reason != NULL) {
        struct mnemo_privacy *priv = NULL;
        rc = mnemo__cli_privacy_open(cli, &priv, &err);
        if (rc == 0)
            rc = mnemo_privacy_redact(priv, reason, strlen(reason), &clean, NULL, NULL, &err);
        mnemo_privacy_free(priv);
        if (rc != 0)
            return mnemo__cli_fail_err(NULL, &err, rc);
    }
    rc = via_worker(cli, op, id, clean, &err);
    if (rc == MNEMO_ECLOSED) {
        mnemo_err_clear(&err);
        rc = via_library(cli, op, id, clean, &err);
    }
    free(clean);
    if (rc == MNEMO_CLI_FAIL)
        return MNEMO_CLI_FAIL;
    static const char *const done[] = {"archived", "unarchived", "forgot"};
    int status = MNEMO_CLI_OK;
    if (rc == MNEMO_ENOTFOUND)
        status = mnemo__cli_fail("no observation #%lld", (long long)id);
    else if (rc != 0)
        status = mnemo__cli_fail_err(NULL, &err, rc);
    else
        printf("%s #%lld\n", done[op], (long long)id);
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
