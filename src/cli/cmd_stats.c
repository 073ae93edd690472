/*
 * cmd_stats.c - `mnemo stats`: what the memory holds (observations by project, type and scope,
 * archived and superseded counts, vectors by model) and how large the database is. The counts
 * come from the worker when one runs and its answer has them all, else from the library; both
 * become one JSON object, which is what gets printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "util/fs.h"

/* Prints a group object {name: count} in its order. */
static void print_group(const char *title, const json_t *g)
{
    const char *name;
    const json_t *v;

    printf("%s:\n", title);
    if (json_object_size(g) == 0)
        printf("  (none)\n");
    json_object_foreach((json_t *)g, name, v)
    {
        printf("  %-32s %8lld\n", name, (long long)json_integer_value(v));
    }
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

/* j[key] as an integer (0 when absent). */
static json_int_t int_of(const json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

/*
 * The stats from the worker's /v1/stats, in the shape `mnemo stats --json` prints. An answer
 * without the groups the CLI shows (observations.by_scope, vectors) counts as no worker, so
 * the library answers instead and the output stays the same.
 */
static int worker_stats(struct mnemo_cli *cli, json_t **out, struct mnemo_err *err)
{
    json_t *ans = NULL;

    *out = NULL;
    int rc = mnemo__cli_worker_json(cli, "GET", "/v1/stats", NULL, &ans, err);
    if (rc != 0)
        return rc;
    const json_t *o = json_object_get(ans, "observations");
    const json_t *by_scope = json_object_get(o, "by_scope");
    const json_t *vectors = json_object_get(ans, "vectors");
    if (!json_is_object(by_scope) || !json_is_object(vectors)) {
        json_decref(ans);
        mnemo_log_write(cli->log, MNEMO_LOG_DEBUG, "worker stats lack by_scope or vectors", NULL);
        return MNEMO_ECLOSED;
    }
    *out = json_pack("{s:I,s:I,s:I,s:I,s:O,s:O,s:O,s:O,s:I}", "observations", int_of(o, "total"),
                     "live", int_of(o, "live"), "archived", int_of(o, "archived"), "superseded",
                     int_of(o, "superseded"), "by_project", json_object_get(o, "by_project"),
                     "by_type", json_object_get(o, "by_type"), "by_scope", by_scope, "vectors",
                     vectors, "wal_bytes", int_of(ans, "wal_bytes"));
    json_decref(ans);
    return *out != NULL ? 0 : mnemo_err_set(err, MNEMO_EIO, "unexpected stats from the worker");
}

/* The same stats through the library. */
static int library_stats(struct mnemo_cli *cli, json_t **out, struct mnemo_err *err)
{
    struct mnemo_cli_mem m;
    struct mnemo_obs_stats g;

    *out = NULL;
    memset(&g, 0, sizeof g);
    if (mnemo__cli_mem_open(cli, 0, &m) != 0)
        return MNEMO_CLI_FAIL;
    int rc = mnemo_obs_stats(m.st, &g, err);
    int64_t wal_bytes = mnemo_store_wal_size(m.st);
    mnemo__cli_mem_close(cli, &m);
    if (rc != 0)
        return rc;
    *out = json_pack(
        "{s:I,s:I,s:I,s:I,s:o?,s:o?,s:o?,s:o?,s:I}", "observations", (json_int_t)g.total, "live",
        (json_int_t)g.live, "archived", (json_int_t)g.archived, "superseded",
        (json_int_t)g.superseded, "by_project", group_json(g.by_project, g.n_by_project), "by_type",
        group_json(g.by_type, g.n_by_type), "by_scope", group_json(g.by_scope, g.n_by_scope),
        "vectors", group_json(g.vectors_by_model, g.n_vectors_by_model), "wal_bytes",
        (json_int_t)wal_bytes);
    mnemo_obs_stats_release(&g);
    return *out != NULL ? 0 : mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
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

    json_t *j = NULL;
    struct mnemo_err err;
    int64_t db_bytes = 0;

    mnemo_err_clear(&err);
    if (mnemo__cli_home(cli) != 0)
        return MNEMO_CLI_FAIL;
    int rc = worker_stats(cli, &j, &err);
    if (rc == MNEMO_ECLOSED) {
        mnemo_err_clear(&err);
        rc = library_stats(cli, &j, &err);
    }
    /* The size is a stat() of the file, which is safe beside a running worker. */
    if (rc == 0)
        rc = mnemo_fs_size(cli->db_path, &db_bytes, &err);
    if (rc == 0 && json_object_set_new(j, "db_bytes", json_integer(db_bytes)) != 0)
        rc = mnemo_err_set(&err, MNEMO_ENOMEM, "out of memory");
    if (rc == MNEMO_CLI_FAIL)
        return MNEMO_CLI_FAIL;
    if (rc != 0) {
        json_decref(j);
        return mnemo__cli_fail_err(NULL, &err, rc);
    }
    if (json) {
        /* db_bytes before wal_bytes, as before. */
        json_t *wal = json_incref(json_object_get(j, "wal_bytes"));
        json_object_del(j, "wal_bytes");
        json_object_set_new(j, "wal_bytes", wal);
        return mnemo__cli_print_json(j);
    }
    char b1[32], b2[32];
    printf("observations  %lld (%lld live, %lld archived, %lld superseded)\n",
           (long long)int_of(j, "observations"), (long long)int_of(j, "live"),
           (long long)int_of(j, "archived"), (long long)int_of(j, "superseded"));
    print_group("by project", json_object_get(j, "by_project"));
    print_group("by type", json_object_get(j, "by_type"));
    print_group("by scope", json_object_get(j, "by_scope"));
    print_group("vectors by model", json_object_get(j, "vectors"));
    printf("database      %s (WAL %s)\n", mnemo__cli_fmt_bytes(db_bytes, b1, sizeof b1),
           mnemo__cli_fmt_bytes(int_of(j, "wal_bytes"), b2, sizeof b2));
    json_decref(j);
    int status = MNEMO_CLI_OK;
    return status;
}
