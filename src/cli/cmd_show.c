/*
 * cmd_show.c - `mnemo show ID`: every field of one observation, whatever its state (archived
 * and superseded rows included), as text or JSON.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"

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

    struct mnemo_cli_mem m;
    struct mnemo_obs o;
    struct mnemo_err err;
    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    int status;
    int rc = mnemo_obs_get(m.st, id, &o, &err);
    if (rc == MNEMO_ENOTFOUND) {
        status = mnemo__cli_fail("no observation #%lld", (long long)id);
    } else if (rc != 0) {
        status = mnemo__cli_fail_err(NULL, &err, rc);
    } else {
        if (json) {
            status = mnemo__cli_print_json(mnemo_obs_to_json(&o));
        } else {
            mnemo__cli_obs_print_full(&o);
            status = MNEMO_CLI_OK;
        }
        mnemo_obs_release(&o);
    }
    mnemo__cli_mem_close(cli, &m);
    return status;
}
