/*
 * cmd_show.c - `mnemo show ID`: every field of one observation, whatever its state (archived
 * and superseded rows included), as text or JSON. Asks the worker when one runs, else reads
 * the database; both give the observation's JSON, which is what gets printed.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "cli/client.h"

/*
 * The observation's JSON from the worker, or from the library when no worker runs. Returns 0
 * with *obs (the caller owns it), a negative code with err (not printed yet), or
 * MNEMO_CLI_FAIL after printing why.
 */
static int fetch(struct mnemo_cli *cli, int64_t id, json_t **obs, struct mnemo_err *err)
{
    char path[64];
    json_t *ans = NULL;

    *obs = NULL;
    snprintf(path, sizeof path, "/v1/observations/%lld", (long long)id);
    int rc = mnemo__cli_worker_json(cli, "GET", path, NULL, &ans, err);
    if (rc == 0) {
        *obs = json_incref(json_object_get(ans, "observation"));
        json_decref(ans);
        return *obs != NULL ? 0 : mnemo_err_set(err, MNEMO_EIO, "the worker sent no observation");
    }
    if (rc != MNEMO_ECLOSED)
        return rc;

    struct mnemo_cli_mem m;
    struct mnemo_obs o;
    mnemo_err_clear(err);
    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    rc = mnemo_obs_get(m.st, id, &o, err);
    if (rc == 0) {
        *obs = mnemo_obs_to_json(&o);
        mnemo_obs_release(&o);
        if (*obs == NULL)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    mnemo__cli_mem_close(cli, &m);
    return rc;
}

int cmd_show(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int json = 0;
    int64_t id;

    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        if (c == 'h')
            return mnemo__cli_help(self);
        if (c == 'j') {
            json = 1;
            continue;
        }
        return mnemo__cli_bad_option(cli, self, c, argv, opts);
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, self, "show needs an observation id");
    if (optind + 1 < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind + 1]);
    if (mnemo__cli_parse_id(argv[optind], &id) != 0)
        return mnemo__cli_usage_error(cli, self, "invalid observation id '%s'", argv[optind]);

    json_t *obs = NULL;
    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = fetch(cli, id, &obs, &err);
    if (rc == MNEMO_CLI_FAIL)
        return MNEMO_CLI_FAIL;
    if (rc == MNEMO_ENOTFOUND)
        return mnemo__cli_fail("no observation #%lld", (long long)id);
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    if (json)
        return mnemo__cli_print_json(obs);

    struct mnemo_obs o;
    char msg[256];
    int status = MNEMO_CLI_OK;
    if (mnemo__cli_obs_from_json(obs, &o, msg, sizeof msg) != 0) {
        status = mnemo__cli_fail("unexpected observation JSON: %s", msg);
    } else {
        mnemo__cli_obs_print_full(&o);
        mnemo_obs_release(&o);
    }
    json_decref(obs);
    return status;
}
