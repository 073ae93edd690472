/*
 * cmd_search.c - `mnemo search QUERY`: hybrid (full-text + vector) search over the live
 * observations of a project and the global ones, as a table, JSON Lines, or with each result's
 * score components (--explain). The worker answers when it runs; otherwise the library builds
 * the same answer, and one printer turns either into the output.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/client.h"
#include "search/hybrid.h"

/*
 * The score of a hit as the worker's /v1/search answers it with explain, so the library path
 * builds the very JSON the worker sends.
 */
static json_t *api_score_json(const struct mnemo_fusion_result *s)
{
    return json_pack("{s:f,s:i,s:f,s:i,s:f,s:f,s:f,s:f,s:f,s:i}", "total", s->final, "fts_rank",
                     s->bm25_rank, "fts_bm25", s->bm25, "vec_rank", s->vec_rank, "vec_sim",
                     (double)s->vec_sim, "rrf", s->rrf, "rrf_norm", s->rrf_norm, "importance_boost",
                     s->importance_boost, "recency_boost", s->recency_boost, "duplicates",
                     s->duplicates);
}

/* A number of the score object (0 when absent). */
static double num(const json_t *score, const char *key)
{
    return json_number_value(json_object_get(score, key));
}

static int inum(const json_t *score, const char *key)
{
    return (int)json_integer_value(json_object_get(score, key));
}

/* The score components as `mnemo search --json` prints them. */
static json_t *cli_score_json(const json_t *s)
{
    return json_pack("{s:f,s:i,s:f,s:i,s:f,s:f,s:f,s:f,s:i}", "final", num(s, "total"), "bm25_rank",
                     inum(s, "fts_rank"), "bm25", num(s, "fts_bm25"), "vec_rank",
                     inum(s, "vec_rank"), "vec_sim", num(s, "vec_sim"), "rrf_norm",
                     num(s, "rrf_norm"), "importance_boost", num(s, "importance_boost"),
                     "recency_boost", num(s, "recency_boost"), "duplicates", inum(s, "duplicates"));
}

static void print_explain(const json_t *s)
{
    char bm[32] = "-", vec[32] = "-";
    if (inum(s, "fts_rank") > 0)
        snprintf(bm, sizeof bm, "#%d (%.3f)", inum(s, "fts_rank"), num(s, "fts_bm25"));
    if (inum(s, "vec_rank") > 0)
        snprintf(vec, sizeof vec, "#%d (%.3f)", inum(s, "vec_rank"), num(s, "vec_sim"));
    printf("        keyword %s  vector %s  rrf %.4f  x importance %.3f  x recency %.3f"
           "  folded %d\n",
           bm, vec, num(s, "rrf_norm"), num(s, "importance_boost"), num(s, "recency_boost"),
           inum(s, "duplicates"));
}

/* Builds the index of the current model's vectors (when embeddings are on) and searches. */
static int run_search(struct mnemo_cli_mem *m, const char *project, const char *query, int limit,
                      struct mnemo_search_results *res, struct mnemo_err *err)
{
    struct mnemo_vindex *vx = NULL;
    int rc = mnemo__cli_vindex_build(m, &vx, err);
    if (rc == 0)
        rc = mnemo_search_hybrid(m->st, vx, vx != NULL ? m->emb : NULL, project, query, limit, 1, 0,
                                 NULL, res, err);
    mnemo_vindex_close(vx);
    return rc;
}

/* The library's answer in the worker's shape: {results:[{observation, score}], vec_used,
 * vec_error?}. */
static int library_search(struct mnemo_cli *cli, const char *project, const char *query, int limit,
                          json_t **ans, struct mnemo_err *err)
{
    struct mnemo_cli_mem m;
    struct mnemo_search_results res;

    if (mnemo__cli_mem_open_config(cli, MNEMO_CLI_MEM_EMBED, &m) != 0)
        return MNEMO_CLI_FAIL;
    int rc = run_search(&m, project, query, limit, &res, err);
    mnemo__cli_mem_close(cli, &m);
    if (rc != 0)
        return rc;
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < res.n; i++) {
        json_t *hit = json_pack("{s:o,s:o}", "observation", mnemo_obs_to_json(&res.items[i].obs),
                                "score", api_score_json(&res.items[i].score));
        if (json_array_append_new(a, hit) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    *ans = a != NULL ? json_pack("{s:o,s:b}", "results", a, "vec_used", res.vec_used) : NULL;
    if (*ans != NULL && res.vec_error[0] != '\0' &&
        json_object_set_new(*ans, "vec_error", json_string(res.vec_error)) != 0) {
        json_decref(*ans);
        *ans = NULL;
    }
    mnemo_search_results_release(&res);
    return *ans != NULL ? 0 : mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
}

/* Asks the worker, or the library when none runs. Same return convention as the library. */
static int search(struct mnemo_cli *cli, const char *project, const char *query, int limit,
                  json_t **ans, struct mnemo_err *err)
{
    *ans = NULL;
    json_t *body = json_pack("{s:s,s:s,s:i,s:b,s:b}", "query", query, "project", project, "limit",
                             limit, "include_global", 1, "explain", 1);
    if (body == NULL)
        return mnemo_err_set(err, MNEMO_ENOMEM, "out of memory");
    int rc = mnemo__cli_worker_json(cli, "POST", "/v1/search", body, ans, err);
    json_decref(body);
    if (rc == 0 && !json_is_array(json_object_get(*ans, "results"))) {
        json_decref(*ans);
        *ans = NULL;
        return mnemo_err_set(err, MNEMO_EIO, "the worker's search answer has no results");
    }
    if (rc != MNEMO_ECLOSED)
        return rc;
    mnemo_err_clear(err);
    return library_search(cli, project, query, limit, ans, err);
}

/* Prints a search answer as a table (with --explain lines) or as JSON Lines. */
static int print_results(struct mnemo_cli *cli, const json_t *ans, int json, int explain)
{
    const json_t *results = json_object_get(ans, "results");
    const char *vec_error = json_string_value(json_object_get(ans, "vec_error"));
    int status = MNEMO_CLI_OK;
    size_t i;
    json_t *hit;

    if (vec_error != NULL && vec_error[0] != '\0') {
        char q[2 * MNEMO_ERR_MSG_MAX + 8];
        mnemo_log_write(cli->log, MNEMO_LOG_WARN, "keyword-only search", "reason=%s",
                        mnemo_log_quote(q, sizeof q, vec_error));
    }
    if (!json && json_array_size(results) > 0)
        mnemo__cli_obs_table_header(1);
    json_array_foreach(results, i, hit)
    {
        const json_t *obs = json_object_get(hit, "observation");
        const json_t *score = json_object_get(hit, "score");
        if (json) {
            json_t *j = json_deep_copy(obs);
            if (j != NULL && json_object_set_new(j, "score", cli_score_json(score)) != 0) {
                json_decref(j);
                j = NULL;
            }
            status = mnemo__cli_print_json(j);
            if (status != MNEMO_CLI_OK)
                break;
            continue;
        }
        struct mnemo_obs o;
        char msg[256];
        if (mnemo__cli_obs_from_json(obs, &o, msg, sizeof msg) != 0)
            return mnemo__cli_fail("unexpected observation JSON: %s", msg);
        mnemo__cli_obs_table_row(&o, 1, num(score, "total"));
        mnemo_obs_release(&o);
        if (explain)
            print_explain(score);
    }
    if (!json && json_array_size(results) == 0)
        fputs("no matches\n", stderr);
    return status;
}

int cmd_search(struct mnemo_cli *cli, const struct mnemo_cli_cmd *self, int argc, char **argv)
{
    enum { OPT_PROJECT = 256, OPT_LIMIT, OPT_JSON, OPT_EXPLAIN };
    static const struct option opts[] = {
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"help", no_argument, NULL, 'h'},
        {"json", no_argument, NULL, OPT_JSON},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"project", required_argument, NULL, OPT_PROJECT},
        {NULL, 0, NULL, 0},
    };
    const char *project_flag = NULL;
    int json = 0, explain = 0;
    int64_t limit = 10;

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
        case OPT_LIMIT:
            if (mnemo__cli_parse_int(optarg, 1, MNEMO_FUSION_MAX_RESULTS, &limit) != 0)
                return mnemo__cli_usage_error(cli, self, "--limit must be 1..%d",
                                              MNEMO_FUSION_MAX_RESULTS);
            break;
        case OPT_JSON:
            json = 1;
            break;
        case OPT_EXPLAIN:
            explain = 1;
            break;
        default:
            return mnemo__cli_bad_option(cli, self, c, argv, opts);
        }
    }
    if (optind >= argc)
        return mnemo__cli_usage_error(cli, self, "search needs a query");
    if (optind + 1 < argc)
        return mnemo__cli_usage_error(cli, self, "give the query as one argument (quote it)");
    const char *query = argv[optind];
    if (strlen(query) > MNEMO_SEARCH_MAX_QUERY)
        return mnemo__cli_usage_error(cli, self, "the query is longer than %d bytes",
                                      MNEMO_SEARCH_MAX_QUERY);

    char project[MNEMO_PROJECT_SIZE];
    if (mnemo__cli_project(project_flag, project) != 0)
        return MNEMO_CLI_FAIL;

    json_t *ans = NULL;
    struct mnemo_err err;
    mnemo_err_clear(&err);
    int rc = search(cli, project, query, (int)limit, &ans, &err);
    if (rc == MNEMO_CLI_FAIL)
        return MNEMO_CLI_FAIL;
    if (rc != 0)
        return mnemo__cli_fail_err(NULL, &err, rc);
    int status = print_results(cli, ans, json, explain);
    json_decref(ans);
    return status;
}
