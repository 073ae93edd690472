/*
 * cmd_list.c - `mnemo list`: the newest observations of a project (or of all), filtered by type
 * and age, as an aligned table or one JSON object per line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/clock.h"

int cmd_list(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    enum { OPT_PROJECT = 256, OPT_TYPE, OPT_SINCE, OPT_LIMIT, OPT_ALL, OPT_ARCHIVED, OPT_JSON };
    static const struct option opts[] = {
        {"all-projects", no_argument, NULL, OPT_ALL},
        {"archived", no_argument, NULL, OPT_ARCHIVED},
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"project", required_argument, NULL, OPT_PROJECT},
        {"since", required_argument, NULL, OPT_SINCE},
        {"type", required_argument, NULL, OPT_TYPE},
        {NULL, 0, NULL, 0},
    };
    struct mnemo_obs_filter f;
    const char *project_flag = NULL;
    int all = 0, json = 0;
    int64_t v;

    mnemo_obs_filter_init(&f);
    f.limit = 50;
    optind = 0;
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, ":h", opts, NULL);
        if (c == -1)
            break;
        switch (c) {
        case 'h':
            return mnemo__cli_help(self);
        case OPT_PROJECT:
            project_flag = optarg;
            break;
        case OPT_TYPE:
            if (!mnemo_obs_type_valid(optarg))
                return mnemo__cli_usage_error(cli, self, "unknown type '%s'", optarg);
            f.type = optarg;
            break;
        case OPT_SINCE:
            if (mnemo__cli_parse_since(optarg, mnemo_clock_wall_ms(), &v) != 0)
                return mnemo__cli_usage_error(cli, self,
                                              "invalid --since '%s' (a date YYYY-MM-DD or a "
                                              "duration such as 30m, 12h, 7d, 2w)",
                                              optarg);
            f.since_ms = v;
            break;
        case OPT_LIMIT:
            if (mnemo__cli_parse_int(optarg, 1, MNEMO_OBS_LIST_MAX, &v) != 0)
                return mnemo__cli_usage_error(cli, self, "--limit must be 1..%d",
                                              MNEMO_OBS_LIST_MAX);
            f.limit = v;
            break;
        case OPT_ALL:
            all = 1;
            break;
        case OPT_ARCHIVED:
            f.include_archived = 1;
            break;
        case OPT_JSON:
            json = 1;
            break;
        default:
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
        }
    }
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);
    if (all && project_flag != NULL)
        return mnemo__cli_usage_error(cli, self, "--project and --all-projects exclude each other");

    char project[MNEMO_PROJECT_SIZE];
    if (!all) {
        if (mnemo__cli_project(project_flag, project) != 0)
            return MNEMO_CLI_FAIL;
        f.project = project;
    }

    struct mnemo_cli_mem m;
    struct mnemo_obs_list l;
    struct mnemo_err err;
    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    int status = MNEMO_CLI_OK;
    int rc = mnemo_obs_list(m.st, &f, &l, &err);
    if (rc != 0) {
        status = mnemo__cli_fail_err(NULL, &err, rc);
    } else {
        if (!json && l.n > 0)
            mnemo__cli_obs_table_header(0);
        for (size_t i = 0; i < l.n && status == MNEMO_CLI_OK; i++) {
            if (json)
                status = mnemo__cli_print_json(mnemo_obs_to_json(&l.items[i]));
            else
                mnemo__cli_obs_table_row(&l.items[i], 0, 0.0);
        }
        if (!json && l.n == 0)
            fputs("no observations\n", stderr);
        mnemo_obs_list_release(&l);
    }
    mnemo__cli_mem_close(cli, &m);
    return status;
}
