/*
 * cmd_list.c - `mnemo list`: the newest observations of a project (or of all), filtered by type
 * and age, as an aligned table or one JSON object per line.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/clock.h"

/*
 * The observations matching f as a JSON array, from the worker or, when none runs, from the
 * library. Returns 0 with *obs (the caller owns it), a negative code with err, or
 * MNEMO_CLI_FAIL after printing why.
 */
static int fetch(struct mnemo_cli *cli, const struct mnemo_obs_filter *f, json_t **obs,
                 struct mnemo_err *err)
{
    char path[1024] = "/v1/observations";
    char num[32];
    json_t *ans = NULL;

    *obs = NULL;
    snprintf(num, sizeof num, "%lld", (long long)f->limit);
    int bad = mnemo__cli_query_add(path, sizeof path, "limit", num);
    if (f->project != NULL)
        bad |= mnemo__cli_query_add(path, sizeof path, "project", f->project);
    if (f->type != NULL)
        bad |= mnemo__cli_query_add(path, sizeof path, "type", f->type);
    if (f->since_ms > 0) {
        snprintf(num, sizeof num, "%lld", (long long)f->since_ms);
        bad |= mnemo__cli_query_add(path, sizeof path, "since", num);
    }
    if (f->include_archived)
        bad |= mnemo__cli_query_add(path, sizeof path, "archived", "1");
    int rc = bad != 0 ? MNEMO_ECLOSED : mnemo__cli_worker_json(cli, "GET", path, NULL, &ans, err);
    if (rc == 0) {
        *obs = json_incref(json_object_get(ans, "observations"));
        json_decref(ans);
        return json_is_array(*obs) ? 0 : mnemo_err_set(err, MNEMO_EIO, "the worker sent no list");
    }
    if (rc != MNEMO_ECLOSED)
        return rc;

    struct mnemo_cli_mem m;
    struct mnemo_obs_list l;
    mnemo_err_clear(err);
    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    rc = mnemo_obs_list(m.st, f, &l, err);
    mnemo__cli_mem_close(cli, &m);
    if (rc != 0)
        return rc;
    *obs = json_array();
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        if (*obs == NULL || json_array_append_new(*obs, mnemo_obs_to_json(&l.items[i])) != 0)
            rc = mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    }
    mnemo_obs_list_release(&l);
    if (rc != 0) {
        json_decref(*obs);
        *obs = NULL;
    }
    return rc;
}

/* Prints the observations (a JSON array) as a table or as JSON Lines. */
static int print_list(const json_t *obs, int json)
{
    size_t i;
    json_t *j;
    int status = MNEMO_CLI_OK;

    if (!json && json_array_size(obs) > 0)
        mnemo__cli_obs_table_header(0);
    json_array_foreach(obs, i, j)
    {
        if (json) {
            status = mnemo__cli_print_json(json_incref(j));
        } else {
            struct mnemo_obs o;
            char msg[256];
            if (mnemo__cli_obs_from_json(j, &o, msg, sizeof msg) != 0)
                return mnemo__cli_fail("unexpected observation JSON: %s", msg);
            mnemo__cli_obs_table_row(&o, 0, 0.0);
            mnemo_obs_release(&o);
        }
        if (status != MNEMO_CLI_OK)
            break;
    }
    if (!json && json_array_size(obs) == 0)
        fputs("no observations\n", stderr);
    return status;
}

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

    json_t *obs = NULL;
    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = fetch(cli, &f, &obs, &err);
    if (rc == MNEMO_CLI_FAIL)
        return MNEMO_CLI_FAIL;
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    int status = print_list(obs, json);
    json_decref(obs);
    return status;
}
