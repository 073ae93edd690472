/*
 * cmd_stats.c - `mnemo stats`: what the memory holds (observations by project, type and scope,
 * archived and superseded counts, vectors by model) and how large the database is.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/fs.h"

static void print_group(const char *title, const struct mnemo_obs_group *g, size_t n)
{
    printf("%s:\n", title);
    if (n == 0)
        printf("  (none)\n");
    for (size_t i = 0; i < n; i++)
        printf("  %-32s %8lld\n", g[i].name, (long long)g[i].count);
}

/* A JSON object mapping each group's name to its count (NULL when out of memory). */
static json_t *group_json(const struct mnemo_obs_group *g, size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        if (json_object_set_new(o, g[i].name, json_integer(g[i].count)) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

int cmd_stats(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, 'j'},
        {NULL, 0, NULL, 0},
    };
    int json = 0;

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
    if (optind < argc)
        return mnemo__cli_usage_error(cli, self, "unexpected argument '%s'", argv[optind]);

    struct mnemo_cli_mem m;
    struct mnemo_err err;
    struct mnemo_obs_stats g;
    int64_t db_bytes = 0;
    int status = MNEMO_CLI_OK;

    memset(&g, 0, sizeof g);
    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    mnemo_err_clear(&err);
    int rc = mnemo_obs_stats(m.st, &g, &err);
    if (rc == 0)
        rc = mnemo_fs_size(cli->db_path, &db_bytes, &err);
    int64_t wal_bytes = mnemo_store_wal_size(m.st);
    mnemo__cli_mem_close(cli, &m);
    if (rc != 0) {
        status = mnemo__cli_fail_err(NULL, &err, rc);
        goto out;
    }

    if (json) {
        json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:o?,s:o?,s:o?,s:o?,s:I,s:I}", "observations",
                              (json_int_t)g.total, "live", (json_int_t)g.live, "archived",
                              (json_int_t)g.archived, "superseded", (json_int_t)g.superseded,
                              "by_project", group_json(g.by_project, g.n_by_project), "by_type",
                              group_json(g.by_type, g.n_by_type), "by_scope",
                              group_json(g.by_scope, g.n_by_scope), "vectors",
                              group_json(g.vectors_by_model, g.n_vectors_by_model), "db_bytes",
                              (json_int_t)db_bytes, "wal_bytes", (json_int_t)wal_bytes);
        status = mnemo__cli_print_json(j);
        goto out;
    }
    char b1[32], b2[32];
    printf("observations  %lld (%lld live, %lld archived, %lld superseded)\n", (long long)g.total,
           (long long)g.live, (long long)g.archived, (long long)g.superseded);
    print_group("by project", g.by_project, g.n_by_project);
    print_group("by type", g.by_type, g.n_by_type);
    print_group("by scope", g.by_scope, g.n_by_scope);
    print_group("vectors by model", g.vectors_by_model, g.n_vectors_by_model);
    printf("database      %s (WAL %s)\n", mnemo__cli_fmt_bytes(db_bytes, b1, sizeof b1),
           mnemo__cli_fmt_bytes(wal_bytes, b2, sizeof b2));
out:
    mnemo_obs_stats_release(&g);
    return status;
}
